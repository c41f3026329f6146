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
/// The scan stops at the first top-level `field`: what follows it is not
/// parsed, so an object that is malformed only after its time field still
/// has that time (the archiver writes values byte for byte either way).
///
/// A direct scan handles the usual shape (keys without escapes, the field
/// a number, a plain string or a literal); anything else is left to a
/// serde walk, which decodes escapes and names what is malformed. The scan
/// checks the structure it walks through, not the contents of the values
/// it skips.
pub fn field_time(json: &[u8], field: &str, format: TimeFormat) -> Result<Millis, TimeError> {
    let found = match scan::field(json, field) {
        Some(Some(found)) => found,
        Some(None) => {
            return Err(TimeError::new(
                TimeErrorKind::Missing,
                format!("field `{field}` is missing"),
            ))
        }
        None => walk_field(json, field)?,
    };
    match found {
        Found::Int(i) => parse(TimeValue::Int(i), format, field),
        Found::Float(f) => parse(TimeValue::Float(f), format, field),
        Found::Str(s) => parse(TimeValue::Str(&s), format, field),
        Found::Other(t) => parse(TimeValue::Other(t), format, field),
    }
}

/// The serde path of [`field_time`].
fn walk_field<'a>(json: &'a [u8], field: &str) -> Result<Found<'a>, TimeError> {
    let found = std::cell::Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(json);
    let scanned = de.deserialize_map(FindField {
        field,
        found: &found,
    });
    match (found.into_inner(), scanned) {
        (Some(f), _) => Ok(f),
        (None, Ok(())) => Err(TimeError::new(
            TimeErrorKind::Missing,
            format!("field `{field}` is missing"),
        )),
        (None, Err(e)) => Err(TimeError::new(
            TimeErrorKind::NotAnObject,
            format!("not a JSON object with a `{field}` field ({e})"),
        )),
    }
}

#[derive(Debug, PartialEq)]
enum Found<'a> {
    Int(i64),
    Float(f64),
    Str(std::borrow::Cow<'a, str>),
    Other(&'static str),
}

/// Walks the top-level keys until `field`; its value lands in `found` and
/// the walk ends there with [`STOP`] (serde has no other way to leave a map
/// early).
struct FindField<'f, 'de> {
    field: &'f str,
    found: &'f std::cell::Cell<Option<Found<'de>>>,
}

/// The error text that ends the walk once the field is found.
const STOP: &str = "logpipe: time field found";

impl<'de> Visitor<'de> for FindField<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<KeyIs>()? {
            if key.0 == self.field {
                self.found.set(Some(map.next_value_seed(ScalarSeed)?));
                return Err(de::Error::custom(STOP));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
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
    type Value = Found<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Found<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a time value")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Found<'de>, E> {
        Ok(Found::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Found<'de>, E> {
        Ok(i64::try_from(v).map_or(Found::Float(v as f64), Found::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Found<'de>, E> {
        Ok(Found::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Found<'de>, E> {
        Ok(Found::Str(std::borrow::Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Found<'de>, E> {
        Ok(Found::Str(std::borrow::Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(Found::Other("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Found<'de>, E> {
        Ok(Found::Other("null"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Found::Other("an object"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Found<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::Other("an array"))
    }
}

/// The direct scan of [`field_time`]. `None` means "not sure": the serde
/// walk decides.
mod scan {
    use super::Found;

    /// The first top-level `field` of the object `json`: `Some(None)` if
    /// the object has none.
    pub(super) fn field<'a>(json: &'a [u8], field: &str) -> Option<Option<Found<'a>>> {
        let mut i = ws(json, 0);
        if json.get(i) != Some(&b'{') {
            return None;
        }
        i = ws(json, i + 1);
        if json.get(i) == Some(&b'}') {
            return Some(None);
        }
        loop {
            if json.get(i) != Some(&b'"') {
                return None;
            }
            let end = i + 1 + memchr::memchr2(b'"', b'\\', &json[i + 1..])?;
            if json[end] == b'\\' {
                return None; // an escaped key: decoded by serde
            }
            let key = &json[i + 1..end];
            i = ws(json, end + 1);
            if json.get(i) != Some(&b':') {
                return None;
            }
            i = ws(json, i + 1);
            if key == field.as_bytes() {
                return scalar(json, i).map(Some);
            }
            i = ws(json, skip_value(json, i)?);
            match json.get(i)? {
                b',' => i = ws(json, i + 1),
                b'}' => return Some(None),
                _ => return None,
            }
        }
    }

    fn ws(json: &[u8], mut i: usize) -> usize {
        while matches!(json.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// The index after the string that starts at `i` (a `"`).
    fn skip_string(json: &[u8], mut i: usize) -> Option<usize> {
        i += 1;
        loop {
            i += memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
            if json[i] == b'"' {
                return Some(i + 1);
            }
            i += 2; // the escaped character
        }
    }

    /// The index after the value that starts at `i`.
    fn skip_value(json: &[u8], i: usize) -> Option<usize> {
        match json.get(i)? {
            b'"' => skip_string(json, i),
            b'{' | b'[' => {
                let (mut depth, mut j) = (0usize, i);
                loop {
                    match json.get(j)? {
                        b'"' => {
                            j = skip_string(json, j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                let len = json[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .unwrap_or(json.len() - i);
                (len > 0).then_some(i + len)
            }
        }
    }

    /// The time value at `i`: a number, a string without escapes or a
    /// literal; objects, arrays and escaped strings go to serde.
    fn scalar(json: &[u8], i: usize) -> Option<Found<'_>> {
        let rest = json.get(i..)?;
        match rest.first()? {
            b'"' => {
                let end = memchr::memchr2(b'"', b'\\', &rest[1..])? + 1;
                let text = &rest[1..end];
                if rest[end] != b'"' || text.iter().any(|b| *b < 0x20) {
                    return None;
                }
                std::str::from_utf8(text)
                    .ok()
                    .map(|s| Found::Str(std::borrow::Cow::Borrowed(s)))
            }
            b't' if rest.starts_with(b"true") => Some(Found::Other("a boolean")),
            b'f' if rest.starts_with(b"false") => Some(Found::Other("a boolean")),
            b'n' if rest.starts_with(b"null") => Some(Found::Other("null")),
            b'-' | b'0'..=b'9' => {
                let len = rest
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                number(std::str::from_utf8(&rest[..len]).ok()?)
            }
            _ => None,
        }
    }

    /// A JSON number as serde_json reads it: an integer when it has no
    /// fraction or exponent and fits, a float otherwise.
    fn number(text: &str) -> Option<Found<'static>> {
        let b = text.as_bytes();
        let mut i = usize::from(b.first() == Some(&b'-'));
        let digits = |i: &mut usize| {
            let start = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > start
        };
        let int_start = i;
        if !digits(&mut i) || (b[int_start] == b'0' && i - int_start > 1) {
            return None;
        }
        let integral = i == b.len();
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        if i != b.len() {
            return None;
        }
        // serde_json reads `-0` as the float -0.0.
        if integral && text != "-0" {
            if let Ok(v) = text.parse::<i64>() {
                return Some(Found::Int(v));
            }
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Found::Float)
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
        // The first top-level occurrence counts; nothing after it is read.
        let after = br#"{"timestamp":1712345678,"timestamp":5,"broken":"#;
        assert_eq!(
            field_time(after, "timestamp", TimeFormat::EpochSeconds),
            Ok(1_712_345_678_000)
        );
        let e = field_time(br#"{"a":1,"b":"#, "timestamp", TimeFormat::EpochSeconds).unwrap_err();
        assert_eq!(e.kind, TimeErrorKind::NotAnObject);
        assert!(!e.message.contains(STOP), "{}", e.message);
        let esc = br#"{"time\u0073tamp":"2024-04-05T19:34:38Z"}"#;
        assert_eq!(
            field_time(esc, "timestamp", TimeFormat::Rfc3339),
            Ok(1_712_345_678_000)
        );
    }

    /// On valid JSON the direct scan and the serde walk find the same value
    /// (or both none); where the scan is unsure it defers.
    #[test]
    fn the_scan_agrees_with_the_serde_walk() {
        let before = [
            "",
            r#""a":1,"#,
            r#""msg":"x \"timestamp\": 2 {[","#,
            r#""n":{"timestamp":1,"b":[1,{"c":"]}"}]},"#,
            r#""arr":[1,2] , "t":true,"z":null,"#,
            " \"sp\" : -1.5e3 ,",
        ];
        let values = [
            "1712000000",
            "1712000000.000000",
            "-5",
            "0",
            "-0",
            "1e3",
            "1.5E+2",
            "01",
            "1.",
            "-",
            "9223372036854775808",
            "18446744073709551616",
            "1e400",
            r#""2024-04-05T19:34:38Z""#,
            r#""2024\u002d04-05T19:34:38Z""#,
            "true",
            "false",
            "null",
            "{}",
            "[1]",
        ];
        let after = ["}", r#","b":2}"#, " }", r#","timestamp":7}"#];
        let mut scanned = 0;
        let mut check = |json: &str| {
            let walked = walk_field(json.as_bytes(), "timestamp");
            match scan::field(json.as_bytes(), "timestamp") {
                None => {}
                Some(Some(found)) => {
                    scanned += 1;
                    assert_eq!(walked.as_ref().ok(), Some(&found), "{json}");
                }
                Some(None) => {
                    scanned += 1;
                    assert_eq!(
                        walked.err().map(|e| e.kind),
                        Some(TimeErrorKind::Missing),
                        "{json}"
                    );
                }
            }
        };
        for b in before {
            for v in values {
                for a in after {
                    check(&format!("{{{b}\"timestamp\":{v}{a}"));
                }
            }
            check(&format!("{{{b}\"other\":1}}"));
        }
        for json in [
            "{}",
            " { } ",
            "[]",
            "\"s\"",
            "plain",
            "",
            "{",
            r#"{"a":"#,
            r#"{"a" 1}"#,
        ] {
            check(json);
        }
        // The usual shapes never need serde.
        assert!(scanned >= 300, "{scanned}");
        let usual = br#"{"timestamp":1712000000.000000,"level":"ERROR","message":"m","host":"h"}"#;
        assert_eq!(
            scan::field(usual, "timestamp"),
            Some(Some(Found::Float(1_712_000_000.0)))
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
