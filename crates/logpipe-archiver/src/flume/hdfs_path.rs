//! `hdfs.path` → the archive root (`url`) and a [`PathTemplate`] (`path`):
//! Flume's escapes translated where logpipe has them, refused by name where
//! it does not.

use crate::path::PathTemplate;
use crate::sink::SinkUrl;

/// `hdfs.path` split into the archive root and a path template.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SplitPath {
    pub(super) url: String,
    pub(super) template: String,
    /// Whether any segment had a Flume escape.
    pub(super) escaped: bool,
    pub(super) has_time: bool,
    pub(super) has_partition: bool,
}

/// Split `hdfs://nn/flume/%{topic}/%Y` into the part before the first
/// segment with an escape (`url`) and the rest, translated into a
/// [`PathTemplate`]. Every problem is returned, not just the first.
pub(super) fn split_hdfs_path(
    value: &str,
    topic_header: Option<&str>,
) -> Result<SplitPath, Vec<String>> {
    let Some(i) = value.find("://") else {
        return Err(vec![if value.starts_with('/') {
            format!("names no file system (Flume resolved it against fs.defaultFS of core-site.xml); logpipe needs it spelled out: hdfs://NAMENODE:8020{value} or hdfs://NAMESERVICE{value}")
        } else {
            "is not an absolute path or a URL (hdfs://namenode:8020/dir)".to_owned()
        }]);
    };
    let after = &value[i + 3..];
    let (authority, rest) = after.split_once('/').unwrap_or((after, ""));
    if authority.contains('%') {
        return Err(vec![
            "has an escape in its NameNode part; logpipe archives into one file system".to_owned(),
        ]);
    }
    // Hadoop's Path folds "a//b" and a trailing "/".
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return Err(vec!["names no directory".to_owned()]);
    }
    let mut errors = Vec::new();
    let mut translated = Vec::new();
    let (mut has_time, mut has_partition) = (false, false);
    let mut first_escaped = None;
    for (n, seg) in segments.iter().enumerate() {
        let t = translate_segment(seg, topic_header, &mut errors);
        if t.escaped && first_escaped.is_none() {
            first_escaped = Some(n);
        }
        has_time |= t.has_time;
        has_partition |= t.has_partition;
        translated.push(t.text);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Without escapes the last directory becomes the (literal) template.
    let split = first_escaped.unwrap_or(segments.len() - 1);
    let url = format!(
        "{}://{authority}/{}",
        &value[..i],
        segments[..split].join("/")
    );
    let url = url.trim_end_matches('/').to_owned();
    let template = translated[split..].join("/");
    if let Err(e) = SinkUrl::parse(&url) {
        errors.push(format!(
            "the part before its first escape, \"{url}\", would be the archive root (url), and {e}"
        ));
    }
    if let Err(e) = PathTemplate::parse(&template) {
        errors.push(format!(
            "maps to path = \"{template}\", which logpipe cannot use: {e}"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(SplitPath {
        url,
        template,
        escaped: first_escaped.is_some(),
        has_time,
        has_partition,
    })
}

struct Segment {
    text: String,
    escaped: bool,
    has_time: bool,
    has_partition: bool,
}

/// One directory of `hdfs.path` in [`PathTemplate`] syntax. Flume's escapes
/// are `%{header}`, `%[localhost]`-style host names and `%` + a letter; any
/// other `%` is a literal (written `%%` in a template).
fn translate_segment(seg: &str, topic_header: Option<&str>, errors: &mut Vec<String>) -> Segment {
    let mut out = Segment {
        text: String::new(),
        escaped: false,
        has_time: false,
        has_partition: false,
    };
    let mut chars = seg.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.text.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('{') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.escaped = true;
                if Some(name.as_str()) == topic_header {
                    out.text.push_str("%{topic}");
                } else if name == "partition" {
                    out.has_partition = true;
                    out.text.push_str("%{partition}");
                } else if name == "topic" {
                    errors.push(
                        "%{topic} is empty in Flume here (the source sets no topic header: setTopicHeader = false or another topicHeader); use the header the source sets, or drop it".to_owned(),
                    );
                } else {
                    errors.push(format!(
                        "%{{{name}}} has no counterpart: logpipe's directories come from the topic (%{{topic}}), the partition (%{{partition}}) and the time only"
                    ));
                }
            }
            Some('[') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != ']').collect();
                out.escaped = true;
                errors.push(format!(
                    "%[{name}] (the agent's host) has no counterpart: every logpipe archive process writes the partitions it is assigned into the same directories; use %{{partition}} to keep writers apart"
                ));
            }
            Some(l) if l.is_ascii_alphabetic() => {
                chars.next();
                out.escaped = true;
                match l {
                    'Y' | 'm' | 'd' | 'j' | 'H' | 'M' | 'S' => {
                        out.has_time = true;
                        out.text.push('%');
                        out.text.push(l);
                    }
                    _ => errors.push(unsupported_escape(l)),
                }
            }
            // A literal percent sign.
            _ => out.text.push_str("%%"),
        }
    }
    out
}

fn unsupported_escape(l: char) -> String {
    let supported = "logpipe renders %Y %m %d %j %H %M %S, %{topic} and %{partition}";
    match l {
        'y' => "%y (two-digit year) cannot be read back unambiguously: use %Y (directory names change from 24 to 2024)".to_owned(),
        'e' | 'n' | 'k' => format!(
            "%{l} is not zero-padded: logpipe's time fields have fixed widths so that recovery can read directory names back; use %{}",
            match l { 'e' => 'd', 'n' => 'm', _ => 'H' }
        ),
        's' | 't' => format!("%{l} (time since the epoch) has no counterpart; {supported}"),
        'a' | 'A' | 'b' | 'B' | 'c' | 'D' | 'I' | 'p' | 'z' => {
            format!("%{l} has no counterpart; {supported}")
        }
        _ => format!("%{l} is not a Flume escape; {supported}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(v: &str) -> Result<SplitPath, Vec<String>> {
        split_hdfs_path(v, Some("topic"))
    }

    #[test]
    fn flume_path_splits_at_the_first_escaped_directory() {
        let s = split("hdfs://nn:8020/flume/events/%{topic}/%Y-%m-%d").unwrap();
        assert_eq!(s.url, "hdfs://nn:8020/flume/events");
        assert_eq!(s.template, "%{topic}/%Y-%m-%d");
        assert!(s.escaped && s.has_time && !s.has_partition);
        let s = split("hdfs://ns1//data/raw/").unwrap();
        assert_eq!(
            (s.url.as_str(), s.template.as_str()),
            ("hdfs://ns1/data", "raw")
        );
        assert!(!s.escaped);
        let s = split("file:///var/flume/%{partition}-%Y/100%").unwrap();
        assert_eq!(s.url, "file:///var/flume");
        assert_eq!(s.template, "%{partition}-%Y/100%%");
        assert!(s.has_partition);
    }

    #[test]
    fn flume_paths_that_cannot_be_mapped_say_why() {
        for (v, want) in [
            ("/flume/%Y", "fs.defaultFS"),
            ("hdfs://nn/%{topic}/%Y", "archive root"),
            ("hdfs://nn/x/%{topic}/%H", "no %Y"),
            ("hdfs://nn/x/%y-%m", "%y (two-digit year)"),
            ("hdfs://nn/x/%{host}", "%{host}"),
            ("hdfs://nn/x/%[FQDN]", "%[FQDN]"),
            ("hdfs://nn/x/_%Y", "starts with '_'"),
            ("hdfs://%{dc}/x/%Y", "NameNode"),
        ] {
            let e = split(v).unwrap_err().join("\n");
            assert!(e.contains(want), "{v}: {e}");
        }
        let e = split("hdfs://nn/x/%e/%k/%Q").unwrap_err();
        assert_eq!(e.len(), 3, "every bad escape is reported: {e:?}");
        let e = split_hdfs_path("hdfs://nn/x/%{topic}", None).unwrap_err();
        assert!(e[0].contains("setTopicHeader"), "{e:?}");
        let s = split_hdfs_path("hdfs://nn/x/%{t}", Some("t")).unwrap();
        assert_eq!(s.template, "%{topic}");
    }
}
