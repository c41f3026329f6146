//! Flume values that have a logpipe counterpart under another spelling:
//! Hadoop codec names and Java time zone IDs.

use crate::config::Codec;
use crate::path::Zone;

/// `hdfs.codeC` by Hadoop's names: `gzip`, `GzipCodec`, or the class.
pub(super) fn codec_of(value: &str) -> Result<Codec, String> {
    let simple = value
        .rsplit('.')
        .next()
        .unwrap_or(value)
        .to_ascii_lowercase();
    let name = simple.strip_suffix("codec").unwrap_or(&simple);
    match name {
        "gzip" => Ok(Codec::Gzip),
        "zstandard" => Ok(Codec::Zstd),
        "bzip2" | "lzo" | "lzop" | "snappy" | "deflate" | "default" | "lz4" => Err(format!(
            "\"{value}\" is not written by logpipe: it writes gzip (readable by every Hadoop tool) or zstandard (.zst; faster, but Spark's bundled Hadoop cannot read it); set hdfs.codeC = gzip"
        )),
        _ => Err(format!(
            "\"{value}\" is not a Hadoop codec name (gzip, bzip2, lzo, lzop, snappy, zstandard); logpipe writes gzip or zstandard"
        )),
    }
}

/// `hdfs.timeZone` (a Java time zone ID) as `time_zone`, with a warning
/// when Flume did not do what the value says.
pub(super) fn java_time_zone(value: &str) -> Result<(String, Option<String>), String> {
    let upper = value.to_ascii_uppercase();
    let utc = [
        "UTC",
        "GMT",
        "UCT",
        "UNIVERSAL",
        "ZULU",
        "GMT0",
        "ETC/UTC",
        "ETC/GMT",
        "ETC/UCT",
        "ETC/UNIVERSAL",
        "ETC/ZULU",
        "ETC/GMT0",
        "ETC/GMT+0",
        "ETC/GMT-0",
    ];
    if utc.contains(&upper.as_str()) {
        return Ok(("UTC".into(), None));
    }
    // Java's custom IDs: GMT+h, GMT+hh, GMT+hhmm, GMT+h:mm, GMT+hh:mm.
    if let Some(rest) = value.strip_prefix("GMT") {
        let (sign, digits) = match rest.as_bytes().first() {
            Some(b'+') => ('+', &rest[1..]),
            Some(b'-') => ('-', &rest[1..]),
            _ => return Err(unsupported_zone(value)),
        };
        let parsed = match digits.split_once(':') {
            Some((h, m)) if (1..=2).contains(&h.len()) && m.len() == 2 => {
                h.parse::<u32>().ok().zip(m.parse::<u32>().ok())
            }
            Some(_) => None,
            None if (1..=2).contains(&digits.len()) => digits.parse().ok().map(|h| (h, 0)),
            None if (3..=4).contains(&digits.len()) => {
                digits.parse::<u32>().ok().map(|n| (n / 100, n % 100))
            }
            None => None,
        };
        let Some((h, m)) = parsed.filter(|&(h, m)| h <= 23 && m <= 59) else {
            return Err(format!(
                "\"{value}\" is not a Java time zone offset (GMT+hh:mm)"
            ));
        };
        if h == 0 && m == 0 {
            return Ok(("UTC".into(), None));
        }
        let zone = format!("{sign}{h:02}:{m:02}");
        Zone::parse(&zone).map_err(|e| format!("\"{value}\": {e}"))?;
        return Ok((zone, None));
    }
    // Java does not know these and silently uses GMT.
    if value.starts_with(['+', '-']) || upper.starts_with("UTC+") || upper.starts_with("UTC-") {
        return Ok((
            "UTC".into(),
            Some(format!(
                "Java does not know the zone \"{value}\" and silently uses GMT, so Flume wrote UTC directories: imported as UTC (write GMT{}:MM for a fixed offset)",
                if value.starts_with('-') || upper.starts_with("UTC-") { "-HH" } else { "+HH" }
            )),
        ));
    }
    // Region IDs (Europe/Berlin) are the IANA names Java uses too.
    if let Ok(Zone::Named(_)) = Zone::parse(value) {
        return Ok((value.to_owned(), None));
    }
    Err(unsupported_zone(value))
}

fn unsupported_zone(value: &str) -> String {
    format!(
        "\"{value}\" is not a time zone logpipe knows (Java would silently use GMT for an unknown ID); use UTC, GMT+hh:mm or an IANA region such as Europe/Berlin"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flume_time_zones_map_to_utc_or_fixed_offsets() {
        let z = |v| java_time_zone(v).map(|(z, w)| (z, w.is_some()));
        assert_eq!(z("UTC"), Ok(("UTC".into(), false)));
        assert_eq!(z("Etc/GMT"), Ok(("UTC".into(), false)));
        assert_eq!(z("GMT+02:00"), Ok(("+02:00".into(), false)));
        assert_eq!(z("GMT-5"), Ok(("-05:00".into(), false)));
        assert_eq!(z("GMT+0530"), Ok(("+05:30".into(), false)));
        assert_eq!(
            z("+02:00"),
            Ok(("UTC".into(), true)),
            "Java falls back to GMT"
        );
        assert_eq!(z("Europe/Berlin"), Ok(("Europe/Berlin".into(), false)));
        assert!(java_time_zone("Mars/Olympus").unwrap_err().contains("IANA"));
        assert!(java_time_zone("GMT+25").is_err());
    }

    #[test]
    fn flume_codec_names_follow_hadoop() {
        assert_eq!(codec_of("gzip"), Ok(Codec::Gzip));
        assert_eq!(codec_of("GzipCodec"), Ok(Codec::Gzip));
        assert_eq!(
            codec_of("org.apache.hadoop.io.compress.GzipCodec"),
            Ok(Codec::Gzip)
        );
        assert_eq!(codec_of("zstandard"), Ok(Codec::Zstd));
        assert!(codec_of("bzip2").unwrap_err().contains("hdfs.codeC = gzip"));
        assert!(codec_of("brotli")
            .unwrap_err()
            .contains("not a Hadoop codec"));
    }
}
