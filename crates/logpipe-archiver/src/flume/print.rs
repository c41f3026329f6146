//! The `[archive]` TOML equivalent to an import, each value commented with
//! the Flume key (or default) it came from.

use logpipe_core::config::HumanDuration;

use super::FlumeImport;
use crate::config::{Codec, StartOffset, TimeSource};

/// The `[archive]` section equivalent to `import`, with where each value
/// came from as a comment. Parsing it back gives `import.config`.
pub fn to_toml(import: &FlumeImport) -> String {
    let c = &import.config;
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from the Flume agent {} in {}.\n# Read the import's notes and warnings before switching over.\n",
        import.agent,
        import.file.display()
    ));
    let origins = &import.origins;
    let line = |out: &mut String, key: &'static str, name: &str, value: String| {
        let origin = origins
            .get(key)
            .map(|o| format!("  # {o}"))
            .unwrap_or_default();
        out.push_str(&format!("{name} = {value}{origin}\n"));
    };
    out.push_str("[archive]\n");
    line(&mut out, "url", "url", toml_string(&c.url));
    line(&mut out, "path", "path", toml_string(&c.path));
    let topics: Vec<String> = c.topics.iter().map(|t| toml_string(t)).collect();
    line(
        &mut out,
        "topics",
        "topics",
        format!("[{}]", topics.join(", ")),
    );
    line(&mut out, "group_id", "group_id", toml_string(&c.group_id));
    let codec = match c.codec {
        Codec::Zstd => "zstd",
        Codec::Gzip => "gzip",
        Codec::None => "none",
    };
    line(&mut out, "codec", "codec", toml_string(codec));
    let source = match c.time_source {
        TimeSource::Event => "event",
        TimeSource::Kafka => "kafka",
    };
    line(&mut out, "time_source", "time_source", toml_string(source));
    if c.time_source == TimeSource::Event {
        line(
            &mut out,
            "time_field",
            "time_field",
            toml_string(&c.time_field),
        );
    }
    line(
        &mut out,
        "time_zone",
        "time_zone",
        toml_string(&c.time_zone),
    );
    if let Some(r) = c.round {
        line(&mut out, "round", "round", toml_string(&duration_text(r)));
    }
    let start = match c.start_offset {
        StartOffset::Earliest => "earliest",
        StartOffset::Latest => "latest",
    };
    line(&mut out, "start_offset", "start_offset", toml_string(start));
    if !c.kafka.0.is_empty() {
        out.push_str("\n[archive.kafka]\n");
        for (k, v) in &c.kafka.0 {
            out.push_str(&format!("{} = {}\n", toml_string(k), toml_string(v)));
        }
    }
    out.push_str("\n[archive.roll]\n");
    let r = &c.roll;
    let bytes = bytes_text(r.max_bytes.0);
    line(&mut out, "roll.max_bytes", "max_bytes", bytes);
    line(
        &mut out,
        "roll.max_records",
        "max_records",
        r.max_records.to_string(),
    );
    line(
        &mut out,
        "roll.max_age",
        "max_age",
        toml_string(&duration_text(r.max_age)),
    );
    line(
        &mut out,
        "roll.idle_timeout",
        "idle_timeout",
        toml_string(&duration_text(r.idle_timeout)),
    );
    if !c.completeness.markers {
        out.push_str("\n[archive.completeness]\n");
        out.push_str("markers = false  # the path has %{partition}\n");
    }
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration in its largest exact unit (`"10m"`, `"365d"`).
fn duration_text(d: HumanDuration) -> String {
    let d = d.get();
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis());
    }
    let secs = d.as_secs();
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= n && secs / n * n == secs {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// A byte count in its largest exact binary unit, else a bare integer.
fn bytes_text(b: u64) -> String {
    for (unit, n) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if b >= n && b / n * n == b {
            return format!("\"{}{unit}\"", b / n);
        }
    }
    b.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flume::{NEVER_BYTES, NEVER_SECS};

    #[test]
    fn flume_toml_values_use_exact_units() {
        assert_eq!(duration_text(HumanDuration::from_secs(600)), "10m");
        assert_eq!(duration_text(HumanDuration::from_secs(NEVER_SECS)), "365d");
        assert_eq!(duration_text(HumanDuration::from_secs(90)), "90s");
        assert_eq!(bytes_text(128 << 20), "\"128MiB\"");
        assert_eq!(bytes_text(NEVER_BYTES), "\"1024GiB\"");
        assert_eq!(bytes_text(1000), "1000");
        assert_eq!(toml_string("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}
