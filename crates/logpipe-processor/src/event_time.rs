//! Event time: reads an event's time field (epoch seconds, epoch millis or
//! RFC 3339) into milliseconds since the epoch, and formats window bounds
//! for the store.

use chrono::{DateTime, NaiveDateTime};

use crate::config::TimeFormat;
use crate::decode::{FieldValue, RejectReason, Rejected};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// Largest event time accepted: 9999-12-31T23:59:59.999Z (DATETIME's range).
pub const MAX_MILLIS: Millis = 253_402_300_799_999;

/// Parse `value` (the field `name`) as an event time.
pub fn parse(value: &FieldValue<'_>, format: TimeFormat, name: &str) -> Result<Millis, Rejected> {
    let wrong_type = |expected: &str| {
        Rejected::new(
            RejectReason::WrongType,
            format!(
                "field `{name}`: expected {expected}, got {}",
                value.type_name()
            ),
        )
    };
    let ms = match (format, value) {
        (TimeFormat::EpochSeconds, FieldValue::Int(s)) => s
            .checked_mul(1000)
            .ok_or_else(|| out_of_range(name, value))?,
        (TimeFormat::EpochSeconds, FieldValue::Float(s)) => float_ms(s * 1000.0, name, value)?,
        (TimeFormat::EpochSeconds, _) => return Err(wrong_type("epoch seconds (a number)")),
        (TimeFormat::EpochMillis, FieldValue::Int(ms)) => *ms,
        (TimeFormat::EpochMillis, FieldValue::Float(ms)) => float_ms(*ms, name, value)?,
        (TimeFormat::EpochMillis, _) => return Err(wrong_type("epoch milliseconds (a number)")),
        (TimeFormat::Rfc3339, FieldValue::Str(s)) => DateTime::parse_from_rfc3339(s)
            .map_err(|e| {
                Rejected::new(
                    RejectReason::InvalidTimestamp,
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

fn float_ms(ms: f64, name: &str, value: &FieldValue<'_>) -> Result<Millis, Rejected> {
    if !ms.is_finite() || !(0.0..=MAX_MILLIS as f64).contains(&ms) {
        return Err(out_of_range(name, value));
    }
    Ok(ms.floor() as Millis)
}

fn out_of_range(name: &str, value: &FieldValue<'_>) -> Rejected {
    Rejected::new(
        RejectReason::InvalidTimestamp,
        format!("field `{name}`: {value:?} is outside 1970-01-01 … 9999-12-31"),
    )
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
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
    use std::borrow::Cow;

    #[test]
    fn formats_parse_to_millis() {
        assert_eq!(
            parse(
                &FieldValue::Float(1712345678.25),
                TimeFormat::EpochSeconds,
                "t"
            ),
            Ok(1_712_345_678_250)
        );
        assert_eq!(
            parse(&FieldValue::Int(1712345678), TimeFormat::EpochSeconds, "t"),
            Ok(1_712_345_678_000)
        );
        assert_eq!(
            parse(
                &FieldValue::Int(1_712_345_678_250),
                TimeFormat::EpochMillis,
                "t"
            ),
            Ok(1_712_345_678_250)
        );
        let s = FieldValue::Str(Cow::Borrowed("2024-04-05T21:34:38.250+02:00"));
        assert_eq!(parse(&s, TimeFormat::Rfc3339, "t"), Ok(1_712_345_678_250));
    }

    #[test]
    fn bad_times_name_the_field() {
        let e = parse(
            &FieldValue::Str(Cow::Borrowed("yesterday")),
            TimeFormat::EpochSeconds,
            "timestamp",
        )
        .unwrap_err();
        assert_eq!(e.reason, RejectReason::WrongType);
        assert!(
            e.message
                .contains("field `timestamp`: expected epoch seconds"),
            "{}",
            e.message
        );
        let e = parse(
            &FieldValue::Str(Cow::Borrowed("2024-13-01")),
            TimeFormat::Rfc3339,
            "ts",
        )
        .unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidTimestamp);
        let e = parse(&FieldValue::Float(-5.0), TimeFormat::EpochSeconds, "ts").unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidTimestamp);
        assert!(parse(
            &FieldValue::Float(f64::INFINITY),
            TimeFormat::EpochMillis,
            "ts"
        )
        .is_err());
    }

    #[test]
    fn datetime_round_trip() {
        assert_eq!(
            to_datetime(1_712_345_678_250).to_string(),
            "2024-04-05 19:34:38.250"
        );
    }
}
