//! Event time, shared by every daemon that reads it: an event's time field
//! (epoch seconds, epoch millis or RFC 3339) as milliseconds since the
//! epoch, and a one-pass lookup of that field in a JSON event for daemons
//! that need nothing else from it (the archiver).

use std::fmt;

use chrono::{DateTime, NaiveDateTime};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// Largest event time accepted: 9999-12-31T23:59:59.999Z (DATETIME's range).
pub const MAX_MILLIS: Millis = 253_402_300_799_999;

/// How an event's time field is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// Seconds since the epoch, integer or fractional (`1712345678.25`), as
    /// the seed's producer writes.
    #[default]
    EpochSeconds,
    /// Milliseconds since the epoch (integer).
    EpochMillis,
    /// An RFC 3339 string (`2024-04-05T19:34:38.250Z`, any offset).
    Rfc3339,
}

/// A time field's value as read from an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeValue<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// Any other JSON value; the text names its type ("a boolean", …).
    Other(&'static str),
}

impl TimeValue<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            TimeValue::Int(_) => "an integer",
            TimeValue::Float(_) => "a float",
            TimeValue::Str(_) => "a string",
            TimeValue::Other(t) => t,
        }
    }
}

/// Why a time field could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeErrorKind {
    /// The event is not a JSON object, or not valid JSON.
    NotAnObject,
    /// The field is absent.
    Missing,
    /// The field holds a value of the wrong type for the format.
    WrongType,
    /// The value has the right type but is no valid time in range.
    Invalid,
}

/// A time field that could not be read, with a message naming the field
/// and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    pub kind: TimeErrorKind,
    pub message: String,
}

impl TimeError {
    fn new(kind: TimeErrorKind, message: String) -> Self {
        Self { kind, message }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TimeError {}

/// Parse `value` (the field `name`) as an event time.
pub fn parse(value: TimeValue<'_>, format: TimeFormat, name: &str) -> Result<Millis, TimeError> {
    let wrong_type = |expected: &str| {
        TimeError::new(
            TimeErrorKind::WrongType,
            format!(
                "field `{name}`: expected {expected}, got {}",
                value.type_name()
            ),
        )
    };
    let ms = match (format, value) {
        (TimeFormat::EpochSeconds, TimeValue::Int(s)) => s
            .checked_mul(1000)
            .ok_or_else(|| out_of_range(name, value))?,
        (TimeFormat::EpochSeconds, TimeValue::Float(s)) => float_ms(s * 1000.0, name, value)?,
        (TimeFormat::EpochSeconds, _) => return Err(wrong_type("epoch seconds (a number)")),
        (TimeFormat::EpochMillis, TimeValue::Int(ms)) => ms,
        (TimeFormat::EpochMillis, TimeValue::Float(ms)) => float_ms(ms, name, value)?,
        (TimeFormat::EpochMillis, _) => return Err(wrong_type("epoch milliseconds (a number)")),
        (TimeFormat::Rfc3339, TimeValue::Str(s)) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                TimeError::new(
                    TimeErrorKind::Invalid,
                    format!(
                        "field `{name}`: \"{}\" is not an RFC 3339 time ({e})",
                        truncate(s)
                    ),
                )
            })?
            .timestamp_millis(),
        (TimeFormat::Rfc3339, _) => return Err(wrong_type("an RFC 3339 string")),
    };
    if !(0..=MAX_MILLIS).contains(&ms) {
        return Err(out_of_range(name, value));
    }
    Ok(ms)
}

fn float_ms(ms: f64, name: &str, value: TimeValue<'_>) -> Result<Millis, TimeError> {
    if !ms.is_finite() || !(0.0..=MAX_MILLIS as f64).contains(&ms) {
        return Err(out_of_range(name, value));
    }
    Ok(ms.floor() as Millis)
}

fn out_of_range(name: &str, value: TimeValue<'_>) -> TimeError {
    let shown = match value {
        TimeValue::Int(i) => i.to_string(),
        TimeValue::Float(f) => f.to_string(),
        TimeValue::Str(s) => format!("\"{}\"", truncate(s)),
        TimeValue::Other(t) => t.to_string(),
    };
    TimeError::new(
        TimeErrorKind::Invalid,
        format!("field `{name}`: {shown} is outside 1970-01-01 … 9999-12-31"),
    )
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The event time in `json` (an object) under the top-level key `field`,
/// found in one pass without building a tree (other values are skipped).
pub fn field_time(json: &[u8], field: &str, format: TimeFormat) -> Result<Millis, TimeError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = de.deserialize_map(FindField { field }).map_err(|e| {
        TimeError::new(
            TimeErrorKind::NotAnObject,
            format!("not a JSON object with a `{field}` field ({e})"),
        )
    })?;
    match found {
        Some(Found::Int(i)) => parse(TimeValue::Int(i), format, field),
        Some(Found::Float(f)) => parse(TimeValue::Float(f), format, field),
        Some(Found::Str(s)) => parse(TimeValue::Str(&s), format, field),
        Some(Found::Other(t)) => parse(TimeValue::Other(t), format, field),
        None => Err(TimeError::new(
            TimeErrorKind::Missing,
            format!("field `{field}` is missing"),
        )),
    }
}

enum Found {
    Int(i64),
    Float(f64),
    Str(String),
    Other(&'static str),
}

struct FindField<'f> {
    field: &'f str,
}

impl<'de> Visitor<'de> for FindField<'_> {
    type Value = Option<Found>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<KeyIs>()? {
            if found.is_none() && key.0 == self.field {
                found = Some(map.next_value_seed(ScalarSeed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A key, borrowed when it has no escapes.
struct KeyIs<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for KeyIs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyIs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(KeyIs(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyIs(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Found;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Found;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a time value")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Found, E> {
        Ok(Found::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Found, E> {
        Ok(i64::try_from(v).map_or(Found::Float(v as f64), Found::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Found, E> {
        Ok(Found::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Found, E> {
        Ok(Found::Str(v.to_owned()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found, E> {
        Ok(Found::Other("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Found, E> {
        Ok(Found::Other("null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Found::Other("an object"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::Other("an array"))
    }
}

/// A UTC timestamp as stored in DATETIME(3) columns.
pub fn to_datetime(ms: Millis) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms)
        .expect("event times are range-checked")
        .naive_utc()
}

/// Seconds since the epoch as a float (for gauges).
pub fn to_seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_to_millis() {
        let secs = TimeFormat::EpochSeconds;
        assert_eq!(
            parse(TimeValue::Float(1712345678.25), secs, "t"),
            Ok(1_712_345_678_250)
        );
        assert_eq!(
            parse(TimeValue::Int(1712345678), secs, "t"),
            Ok(1_712_345_678_000)
        );
        let millis = TimeFormat::EpochMillis;
        assert_eq!(
            parse(TimeValue::Int(1_712_345_678_250), millis, "t"),
            Ok(1_712_345_678_250)
        );
        let s = TimeValue::Str("2024-04-05T21:34:38.250+02:00");
        assert_eq!(parse(s, TimeFormat::Rfc3339, "t"), Ok(1_712_345_678_250));
    }

    #[test]
    fn bad_times_name_the_field() {
        let e = parse(
            TimeValue::Str("yesterday"),
            TimeFormat::EpochSeconds,
            "timestamp",
        )
        .unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::WrongType);
        assert!(
            e.message
                .contains("field `timestamp`: expected epoch seconds"),
            "{}",
            e.message
        );
        let e = parse(TimeValue::Str("2024-13-01"), TimeFormat::Rfc3339, "ts").unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::Invalid);
        let e = parse(TimeValue::Float(-5.0), TimeFormat::EpochSeconds, "ts").unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::Invalid);
        assert!(parse(
            TimeValue::Float(f64::INFINITY),
            TimeFormat::EpochMillis,
            "ts"
        )
        .is_err());
    }

    #[test]
    fn field_time_finds_the_top_level_key_only() {
        let json = br#"{"nested":{"timestamp":1},"message":"a \"timestamp\": 2","timestamp":1712345678.5,"x":[1,2]}"#;
        assert_eq!(
            field_time(json, "timestamp", TimeFormat::EpochSeconds),
            Ok(1_712_345_678_500)
        );
        let e = field_time(br#"{"ts":1}"#, "timestamp", TimeFormat::EpochSeconds).unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::Missing);
        let e = field_time(b"plain text", "timestamp", TimeFormat::EpochSeconds).unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::NotAnObject);
        let e = field_time(
            br#"{"timestamp":true}"#,
            "timestamp",
            TimeFormat::EpochSeconds,
        )
        .unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::WrongType);
        assert!(e.message.contains("got a boolean"), "{}", e.message);
        let esc = br#"{"time\u0073tamp":"2024-04-05T19:34:38Z"}"#;
        assert_eq!(
            field_time(esc, "timestamp", TimeFormat::Rfc3339),
            Ok(1_712_345_678_000)
        );
    }

    #[test]
    fn datetime_round_trip() {
        assert_eq!(
            to_datetime(1_712_345_678_250).to_string(),
            "2024-04-05 19:34:38.250"
        );
    }
}
