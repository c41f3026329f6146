//! Event time in the processor: the shared parser of
//! [`logpipe_core::event_time`] applied to a decoded field, its errors as
//! dead-letter reasons.

pub use logpipe_core::event_time::{to_datetime, to_seconds, Millis};
use logpipe_core::event_time::{TimeErrorKind, TimeValue};

use crate::config::TimeFormat;
use crate::decode::{FieldValue, RejectReason, Rejected};

/// Parse `value` (the field `name`) as an event time.
pub fn parse(value: &FieldValue<'_>, format: TimeFormat, name: &str) -> Result<Millis, Rejected> {
    let value = match value {
        FieldValue::Int(i) => TimeValue::Int(*i),
        FieldValue::Float(f) => TimeValue::Float(*f),
        FieldValue::Str(s) => TimeValue::Str(s),
        other => TimeValue::Other(other.type_name()),
    };
    logpipe_core::event_time::parse(value, format, name).map_err(|e| {
        let reason = match e.kind {
            TimeErrorKind::WrongType => RejectReason::WrongType,
            TimeErrorKind::NotAnObject => RejectReason::NotAnObject,
            TimeErrorKind::Missing => RejectReason::MissingField,
            TimeErrorKind::Invalid => RejectReason::InvalidTimestamp,
        };
        Rejected::new(reason, e.message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn decoded_fields_parse_and_errors_become_reject_reasons() {
        assert_eq!(
            parse(
                &FieldValue::Float(1712345678.25),
                TimeFormat::EpochSeconds,
                "t"
            ),
            Ok(1_712_345_678_250)
        );
        let s = FieldValue::Str(Cow::Borrowed("2024-04-05T21:34:38.250+02:00"));
        assert_eq!(parse(&s, TimeFormat::Rfc3339, "t"), Ok(1_712_345_678_250));
        let e = parse(
            &FieldValue::Bool(true),
            TimeFormat::EpochSeconds,
            "timestamp",
        )
        .unwrap_err();
        assert_eq!(e.reason, RejectReason::WrongType);
        assert!(e.message.contains("got a boolean"), "{}", e.message);
        let e = parse(&FieldValue::Float(-5.0), TimeFormat::EpochSeconds, "ts").unwrap_err();
        assert_eq!(e.reason, RejectReason::InvalidTimestamp);
    }
}
