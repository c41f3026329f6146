//! The hot path's JSON decoding: one pass over an event's bytes that keeps
//! only the fields some aggregation or table needs (borrowing strings from
//! the payload when they have no escapes) and skips everything else with
//! `IgnoredAny`, without building a JSON tree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::config::MAX_FIELDS_PER_TOPIC;

/// Why an event was rejected; the `reason` label of the DLQ counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    NonUtf8,
    Oversized,
    InvalidJson,
    NotAnObject,
    MissingField,
    WrongType,
    InvalidTimestamp,
    /// Event time further ahead of the processing clock than `max_future_skew`.
    FutureTimestamp,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        RejectReason::NonUtf8,
        RejectReason::Oversized,
        RejectReason::InvalidJson,
        RejectReason::NotAnObject,
        RejectReason::MissingField,
        RejectReason::WrongType,
        RejectReason::InvalidTimestamp,
        RejectReason::FutureTimestamp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NonUtf8 => "non_utf8",
            RejectReason::Oversized => "oversized",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::NotAnObject => "not_an_object",
            RejectReason::MissingField => "missing_field",
            RejectReason::WrongType => "wrong_type",
            RejectReason::InvalidTimestamp => "invalid_timestamp",
            RejectReason::FutureTimestamp => "future_timestamp",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// An event that cannot be processed: the reason and a message naming the
/// field and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub reason: RejectReason,
    pub message: String,
}

impl Rejected {
    pub fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.message)
    }
}

/// A scalar field value, borrowed from the payload where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    /// An object or array (skipped; only scalars are usable).
    Nested,
}

impl FieldValue<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Str(_) => "a string",
            FieldValue::Int(_) => "an integer",
            FieldValue::Float(_) => "a float",
            FieldValue::Bool(_) => "a boolean",
            FieldValue::Null => "null",
            FieldValue::Nested => "an object or array",
        }
    }

    /// Numeric value for sum/min/max.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            FieldValue::Int(i) => Some(i as f64),
            FieldValue::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// The fields one topic's consumers read, in slot order.
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    names: Vec<String>,
}

impl FieldSet {
    /// Slot of `name`, adding it when new.
    pub fn slot(&mut self, name: &str) -> usize {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            return i;
        }
        assert!(
            self.names.len() < MAX_FIELDS_PER_TOPIC,
            "config validation limits fields per topic"
        );
        self.names.push(name.to_owned());
        self.names.len() - 1
    }

    pub fn name(&self, slot: usize) -> &str {
        &self.names[slot]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|n| n.len() == key.len() && n == key)
    }
}

/// The wanted fields of one decoded event, by slot.
pub struct Fields<'a> {
    /// One entry per field of the topic's [`FieldSet`], by slot. A Vec sized
    /// to the set (a few entries) rather than a `MAX_FIELDS_PER_TOPIC` array:
    /// the array made every decoded event a 1 KiB value copied on each
    /// return, a fifth of the hot path's time.
    values: Vec<Option<FieldValue<'a>>>,
}

impl<'a> Fields<'a> {
    pub fn get(&self, slot: usize) -> Option<&FieldValue<'a>> {
        match self.values.get(slot).and_then(Option::as_ref) {
            None | Some(FieldValue::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// The value at `slot`, or a `missing_field` rejection naming it.
    pub fn require(&self, slot: usize, set: &FieldSet) -> Result<&FieldValue<'a>, Rejected> {
        self.get(slot).ok_or_else(|| {
            Rejected::new(
                RejectReason::MissingField,
                format!("field `{}` is missing or null", set.name(slot)),
            )
        })
    }
}

/// Decode one event's payload, keeping the fields in `set`.
pub fn decode<'a>(
    payload: &'a [u8],
    set: &FieldSet,
    max_size: usize,
) -> Result<Fields<'a>, Rejected> {
    if payload.len() > max_size {
        return Err(Rejected::new(
            RejectReason::Oversized,
            format!(
                "event is {} bytes; max_event_size is {max_size}",
                payload.len()
            ),
        ));
    }
    let text = std::str::from_utf8(payload).map_err(|e| {
        Rejected::new(
            RejectReason::NonUtf8,
            format!(
                "event is not UTF-8: invalid byte at offset {}",
                e.valid_up_to()
            ),
        )
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de
        .deserialize_any(EventVisitor { set })
        .map_err(json_error)?;
    de.end().map_err(json_error)?;
    Ok(fields)
}

fn json_error(e: serde_json::Error) -> Rejected {
    if e.is_data() && e.to_string().starts_with(NOT_OBJECT) {
        Rejected::new(RejectReason::NotAnObject, e.to_string())
    } else {
        Rejected::new(RejectReason::InvalidJson, format!("invalid JSON: {e}"))
    }
}

const NOT_OBJECT: &str = "event is not a JSON object";

struct EventVisitor<'s> {
    set: &'s FieldSet,
}

impl<'de> Visitor<'de> for EventVisitor<'_> {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_OBJECT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut fields = Fields {
            values: std::iter::repeat_with(|| None)
                .take(self.set.len())
                .collect(),
        };
        while let Some(slot) = map.next_key_seed(KeySeed { set: self.set })? {
            match slot {
                Some(i) => fields.values[i] = Some(map.next_value_seed(ValueSeed)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }

    // Anything but an object: report one clear reason.
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Fields<'de>, A::Error> {
        Err(de::Error::custom(format!("{NOT_OBJECT} (got an array)")))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got a string)")))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got a number)")))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got a number)")))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got a number)")))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got a boolean)")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Fields<'de>, E> {
        Err(E::custom(format!("{NOT_OBJECT} (got null)")))
    }
}

/// Matches an object key against the wanted names without allocating.
struct KeySeed<'s> {
    set: &'s FieldSet,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.set.find(key))
    }
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = FieldValue<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FieldValue<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = FieldValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Str(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue<'de>, E> {
        Ok(i64::try_from(v).map_or(FieldValue::Float(v as f64), FieldValue::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<FieldValue<'de>, E> {
        Ok(FieldValue::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Nested)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Nested)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> FieldSet {
        let mut s = FieldSet::default();
        for n in names {
            s.slot(n);
        }
        s
    }

    #[test]
    fn keeps_wanted_fields_and_skips_the_rest() {
        let s = set(&["timestamp", "level"]);
        let p = br#"{"timestamp": 1712345678.25, "message": {"nested": [1,2]}, "level": "WARN", "x": null}"#;
        let f = decode(p, &s, 1024).unwrap();
        assert_eq!(f.get(0), Some(&FieldValue::Float(1712345678.25)));
        assert_eq!(f.get(1), Some(&FieldValue::Str(Cow::Borrowed("WARN"))));
        assert!(
            matches!(f.get(1), Some(FieldValue::Str(Cow::Borrowed(_)))),
            "no copy for plain strings"
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let s = set(&["m"]);
        let f = decode(br#"{"m": "a\"b\u00e9"}"#, &s, 1024).unwrap();
        assert_eq!(
            f.get(0),
            Some(&FieldValue::Str(Cow::Owned("a\"b\u{e9}".into())))
        );
    }

    #[test]
    fn each_bad_input_class_has_its_reason() {
        let s = set(&["timestamp"]);
        let reason = |p: &[u8]| decode(p, &s, 64).err().map(|e| e.reason);
        assert_eq!(
            reason(b"{\"timestamp\": 1, \"m\": \"\xff\"}"),
            Some(RejectReason::NonUtf8)
        );
        assert_eq!(reason(&[b' '; 65]), Some(RejectReason::Oversized));
        assert_eq!(
            reason(b"{\"timestamp\": 1,"),
            Some(RejectReason::InvalidJson)
        );
        assert_eq!(
            reason(b"{\"timestamp\": 1} trailing"),
            Some(RejectReason::InvalidJson)
        );
        assert_eq!(reason(b"[1, 2]"), Some(RejectReason::NotAnObject));
        assert_eq!(reason(b"\"text\""), Some(RejectReason::NotAnObject));
        let e = decode(b"{\"a\":1}", &s, 64).unwrap();
        let missing = e.require(0, &s).unwrap_err();
        assert_eq!(missing.reason, RejectReason::MissingField);
        assert!(
            missing.message.contains("`timestamp`"),
            "{}",
            missing.message
        );
    }
}
