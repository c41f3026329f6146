//! The HDFS sink (`type = hdfs`): where files go, their format, when they
//! roll, and which time names their directory.

use logpipe_core::config::{ByteSize, HumanDuration};

use super::hdfs_path::split_hdfs_path;
use super::source::SourceOut;
use super::values::{codec_of, java_time_zone};
use super::{Component, Importer, Prop, Severity, NEVER_BYTES, NEVER_SECS};
use crate::config::{ArchiveConfig, Codec, TimeSource};

impl Importer {
    /// Map the HDFS sink into `config`; returns the line declaring it.
    pub(super) fn map_sink(
        &mut self,
        mut c: Component,
        source: &SourceOut,
        config: &mut ArchiveConfig,
    ) -> usize {
        c.take("type");
        match c.take("channel") {
            Some(p) if !source.channels.is_empty() && !source.channels.contains(&p.value) => {
                self.error(
                    &p,
                    format!(
                        "the source writes channel{} {} (line {}), not {}: this sink receives nothing from it",
                        if source.channels.len() > 1 { "s" } else { "" },
                        source.channels.join(", "),
                        source.channels_line,
                        p.shown()
                    ),
                );
            }
            Some(_) => {}
            None => self.push(
                Severity::Error,
                c.line,
                &c.key("channel"),
                "not set: Flume needs the channel this sink reads",
            ),
        }

        let has_time = self.map_path(&mut c, source, config);
        self.map_format(&mut c, config);
        self.map_roll(&mut c, config);
        self.map_time(&mut c, config, has_time);

        for (name, p) in c.take_rest() {
            match name.as_str() {
                "hdfs.filePrefix" | "hdfs.fileSuffix" => self.warn(
                    &p,
                    "ignored: logpipe names files <topic>+<partition>+<start offset>+<end offset>.<ext> — the names carry the Kafka range a restart resumes from; jobs that pick files by this prefix or suffix must change",
                ),
                "hdfs.inUsePrefix" | "hdfs.inUseSuffix" | "hdfs.emptyInUseSuffix" => self.warn(
                    &p,
                    "ignored: logpipe writes each file under _tmp/ in the archive root (skipped by Spark, Hive and Trino) and renames it into place when complete",
                ),
                "hdfs.batchSize" | "hdfs.callTimeout" | "hdfs.threadsPoolSize"
                | "hdfs.rollTimerPoolSize" | "hdfs.maxOpenFiles" | "hdfs.minBlockReplicas"
                | "hdfs.closeTries" | "hdfs.retryInterval" => self.note(
                    &p,
                    "ignored: Flume's HDFS client tuning has no counterpart (logpipe flushes a file when it commits it and retries retriable HDFS errors itself)",
                ),
                "hdfs.kerberosPrincipal" | "hdfs.kerberosKeytab" => self.warn(
                    &p,
                    "not mapped: logpipe authenticates with the Kerberos ticket cache; keep it fresh with `kinit -kt KEYTAB PRINCIPAL` and set hadoop.security.authentication = kerberos in core-site.xml",
                ),
                "hdfs.proxyUser" => self.warn(
                    &p,
                    "not mapped: logpipe does not impersonate users; with SIMPLE authentication set [archive.hdfs] user",
                ),
                n if n.starts_with("serializer.") => self.note(&p, "ignored: logpipe's text lines have no such option"),
                _ => self.warn(&p, "not an HDFS sink setting logpipe maps; ignored"),
            }
        }
        c.line
    }

    /// `hdfs.path` → `url` + `path`; returns whether the template uses time.
    fn map_path(
        &mut self,
        c: &mut Component,
        source: &SourceOut,
        config: &mut ArchiveConfig,
    ) -> bool {
        let Some(p) = c.take("hdfs.path") else {
            self.push(
                Severity::Error,
                c.line,
                &c.key("hdfs.path"),
                "not set: Flume requires it too (e.g. hdfs://namenode:8020/flume/%{topic}/%Y-%m-%d)",
            );
            return false;
        };
        match split_hdfs_path(&p.value, source.topic_header.as_deref()) {
            Ok(split) => {
                if !split.escaped {
                    self.note(
                        &p,
                        format!(
                            "no escape: every file goes into one directory (url = \"{}\", path = \"{}\"); logpipe's default layout is %{{topic}}/dt=%Y-%m-%d/hr=%H",
                            split.url, split.template
                        ),
                    );
                }
                if split.has_partition && config.completeness.markers {
                    config.completeness.markers = false;
                    self.note(
                        &p,
                        "%{partition} in the path: _SUCCESS markers (which need every partition in one directory) are turned off, as Flume writes none",
                    );
                }
                config.url = split.url;
                config.path = split.template;
                self.origins.insert("url", p.origin());
                self.origins.insert("path", p.origin());
                split.has_time
            }
            Err(errors) => {
                for e in errors {
                    self.error(&p, format!("{}: {e}", p.shown()));
                }
                false
            }
        }
    }

    /// `hdfs.fileType`, `hdfs.codeC`, `hdfs.writeFormat`, `serializer`.
    fn map_format(&mut self, c: &mut Component, config: &mut ArchiveConfig) {
        let codec_prop = c.take("hdfs.codeC");
        let codec = codec_prop.as_ref().and_then(|p| match codec_of(&p.value) {
            Ok(codec) => Some((codec, p.clone())),
            Err(e) => {
                self.error(p, e);
                None
            }
        });
        let file_type = c.take("hdfs.fileType");
        let kind = file_type
            .as_ref()
            .map_or("sequencefile".to_owned(), |p| p.value.to_ascii_lowercase());
        let convert = "logpipe writes JSON lines: set hdfs.fileType = DataStream (uncompressed) or CompressedStream with hdfs.codeC = gzip, and switch the readers of these files from SequenceFile to text input";
        let mut text = false;
        match (kind.as_str(), &file_type) {
            ("sequencefile", None) => self.push(
                Severity::Error,
                c.line,
                &c.key("hdfs.fileType"),
                format!("not set, so Flume writes SequenceFiles (its default), a Hadoop binary container; {convert}"),
            ),
            ("sequencefile", Some(p)) => {
                self.error(p, format!("SequenceFile is a Hadoop binary container; {convert}"))
            }
            ("datastream", Some(p)) => {
                text = true;
                match &codec {
                    None if codec_prop.is_none() => {
                        config.codec = Codec::None;
                        self.origins.insert("codec", p.origin());
                    }
                    Some((_, cp)) => self.warn(
                        cp,
                        "Flume refuses hdfs.codeC with DataStream (CompressedStream compresses); read as CompressedStream",
                    ),
                    None => {}
                }
            }
            ("compressedstream", Some(p)) => {
                text = true;
                if codec_prop.is_none() {
                    self.error(
                        p,
                        "CompressedStream needs hdfs.codeC: logpipe writes gzip (readable by every Hadoop tool) or zstandard",
                    );
                }
            }
            (_, p) => {
                if let Some(p) = p {
                    self.error(
                        p,
                        format!(
                            "{} is not a Flume file type (SequenceFile, DataStream, CompressedStream); {convert}",
                            p.shown()
                        ),
                    );
                }
            }
        }
        if let (true, Some((codec, p))) = (text, &codec) {
            config.codec = *codec;
            self.origins.insert("codec", p.origin());
        }

        if let Some(p) = c.take("hdfs.writeFormat") {
            match p.value.to_ascii_lowercase().as_str() {
                "text" => {}
                "writable" if text => self.warn(
                    &p,
                    "Flume uses hdfs.writeFormat for SequenceFiles only, so this Writable has no effect on a text file; ignored",
                ),
                "writable" => self.error(
                    &p,
                    "Writable records are Hadoop binary; logpipe writes each value as one text line",
                ),
                _ => self.error(&p, format!("{} is not Text or Writable", p.shown())),
            }
        }
        if let Some(p) = c.take("serializer") {
            let v = p.value.to_ascii_lowercase();
            if v != "text" && v != "org.apache.flume.serialization.bodytexteventserializer$builder"
            {
                self.error(
                    &p,
                    format!(
                        "{} has no counterpart: logpipe writes each Kafka value as one line, as Flume's TEXT serializer does",
                        p.shown()
                    ),
                );
            }
        }
        if let Some(p) = c.take("serializer.appendNewline") {
            if !self.boolean(&p) {
                self.error(
                    &p,
                    "logpipe ends every record with a newline (records without one could not be told apart)",
                );
            }
        }
    }

    /// `hdfs.rollInterval`, `hdfs.rollSize`, `hdfs.rollCount`, `hdfs.idleTimeout`.
    fn map_roll(&mut self, c: &mut Component, config: &mut ArchiveConfig) {
        let interval = self.count_or_default(c, "hdfs.rollInterval", 30, "roll.max_age");
        let size = self.count_or_default(c, "hdfs.rollSize", 1024, "roll.max_bytes");
        let count = self.count_or_default(c, "hdfs.rollCount", 10, "roll.max_records");
        let idle = self.count_or_default(c, "hdfs.idleTimeout", 0, "roll.idle_timeout");
        let r = &mut config.roll;
        if let Some((secs, _)) = interval {
            r.max_age = HumanDuration::from_secs(if secs == 0 { NEVER_SECS } else { secs });
        }
        if let Some((bytes, _)) = size {
            r.max_bytes = ByteSize(if bytes == 0 { NEVER_BYTES } else { bytes });
        }
        if let Some((n, _)) = count {
            r.max_records = n;
        }
        if let Some((secs, _)) = idle {
            // A file idle for max_age is at least that old, so it has rolled
            // already: idle_timeout = max_age is "no idle timeout".
            r.idle_timeout = if secs == 0 {
                r.max_age
            } else {
                HumanDuration::from_secs(secs)
            };
        }
        let key = |name: &str| c.key(name);
        if let Some((0, line)) = interval {
            self.push(
                Severity::Note,
                line,
                &key("hdfs.rollInterval"),
                "0 = never roll by time; logpipe needs a limit: max_age = \"365d\" (files still roll when their time directory changes, on idle_timeout and on shutdown)",
            );
        }
        if let Some((0, line)) = size {
            self.push(
                Severity::Note,
                line,
                &key("hdfs.rollSize"),
                "0 = never roll by size; logpipe needs a limit: max_bytes = \"1024GiB\"",
            );
        }
        match (interval, idle) {
            (Some((0, _)), Some((0, line))) => self.push(
                Severity::Warning,
                line,
                &key("hdfs.idleTimeout"),
                "with neither hdfs.rollInterval nor hdfs.idleTimeout a quiet partition keeps its file open: idle_timeout = \"365d\", and _SUCCESS markers wait that long; set an idle timeout",
            ),
            (_, Some((0, line))) => self.push(
                Severity::Note,
                line,
                &key("hdfs.idleTimeout"),
                "0 = no idle timeout; mapped to idle_timeout = max_age, which never fires first (a file idle that long has reached max_age)",
            ),
            _ => {}
        }
    }

    /// A non-negative whole number, or Flume's default; with the line it
    /// came from (the component's line for a default) and its origin noted.
    fn count_or_default(
        &mut self,
        c: &mut Component,
        name: &str,
        default: u64,
        field: &'static str,
    ) -> Option<(u64, usize)> {
        let Some(p) = c.take(name) else {
            self.origins.insert(
                field,
                format!("Flume's default {} = {default}", c.key(name)),
            );
            self.roll_keys.insert(field, (c.key(name), c.line, true));
            return Some((default, c.line));
        };
        self.roll_keys.insert(field, (p.key.clone(), p.line, false));
        match p.value.parse::<i64>() {
            Ok(n) if n >= 0 => {
                self.origins.insert(field, p.origin());
                Some((n as u64, p.line))
            }
            Ok(_) => {
                self.error(
                    &p,
                    format!("{} must not be negative (0 = never)", p.shown()),
                );
                None
            }
            Err(_) => {
                let unit = match name {
                    "hdfs.rollSize" => "bytes",
                    "hdfs.rollCount" => "events",
                    _ => "seconds",
                };
                self.error(
                    &p,
                    format!(
                        "{} is not a whole number of {unit} (Flume could not read it either; 0 = never)",
                        p.shown()
                    ),
                );
                None
            }
        }
    }

    /// `hdfs.round*`, `hdfs.timeZone`, `hdfs.useLocalTimeStamp`.
    fn map_time(&mut self, c: &mut Component, config: &mut ArchiveConfig, has_time: bool) {
        let round = c.take("hdfs.round");
        let value = c.take("hdfs.roundValue");
        let unit = c.take("hdfs.roundUnit");
        if round.as_ref().is_some_and(|p| self.boolean(p)) {
            let unit_secs = match &unit {
                None => Some(("second", 1)),
                Some(p) => match p.value.to_ascii_lowercase().as_str() {
                    "second" => Some(("second", 1)),
                    "minute" => Some(("minute", 60)),
                    "hour" => Some(("hour", 3600)),
                    _ => {
                        self.error(p, format!("{} is not second, minute or hour", p.shown()));
                        None
                    }
                },
            };
            let n = match &value {
                None => Some(1),
                Some(p) => match p.value.parse::<u64>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => {
                        self.error(p, format!("{} is not a positive whole number", p.shown()));
                        None
                    }
                },
            };
            if let (Some((unit_name, secs)), Some(n)) = (unit_secs, n) {
                let within = if secs == 3600 { 24 } else { 60 };
                let at = value.as_ref().or(round.as_ref()).cloned();
                if let Some(at) = at {
                    if n > within {
                        self.error(
                            &at,
                            format!("Flume allows at most {within} for unit {unit_name}, not {n}"),
                        );
                    } else if within % n != 0 {
                        self.warn(
                            &at,
                            format!(
                                "Flume rounds within the {} and logpipe from the epoch: they agree only when the value divides {within}, which {n} does not",
                                if secs == 3600 { "day" } else if secs == 60 { "hour" } else { "minute" }
                            ),
                        );
                    }
                }
                config.round = Some(HumanDuration::from_secs(n * secs));
                let from = [&round, &value, &unit]
                    .iter()
                    .filter_map(|p| p.as_ref().map(Prop::origin))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.origins.insert("round", from);
            }
        } else {
            for p in [&value, &unit].into_iter().flatten() {
                self.note(p, "ignored: hdfs.round is not true");
            }
        }

        match c.take("hdfs.timeZone") {
            Some(p) => match java_time_zone(&p.value) {
                Ok((zone, warning)) => {
                    if let Some(w) = warning {
                        self.warn(&p, w);
                    }
                    config.time_zone = zone;
                    self.origins.insert("time_zone", p.origin());
                }
                Err(e) => self.error(&p, e),
            },
            None if has_time => self.push(
                Severity::Warning,
                c.line,
                &c.key("hdfs.timeZone"),
                "not set, so Flume used the agent host's time zone; logpipe uses UTC: if the agent ran in another zone, set time_zone to its offset or the directories shift by it",
            ),
            None => {}
        }

        let local = c.take("hdfs.useLocalTimeStamp");
        let local_clock = local.as_ref().is_some_and(|p| self.boolean(p));
        if local_clock {
            config.time_source = TimeSource::Kafka;
        }
        if let Some(p) = &local {
            self.origins.insert("time_source", p.origin());
        }
        if has_time {
            let (line, key) = local
                .as_ref()
                .map_or((c.line, c.key("hdfs.useLocalTimeStamp")), |p| {
                    (p.line, p.key.clone())
                });
            let message = if local_clock {
                "Flume took the time from the agent's clock; the closest is each record's Kafka timestamp (its produce time): time_source = \"kafka\""
            } else {
                "Flume took the time from the event's `timestamp` header (which the Kafka source sets when it reads a record, unless an interceptor does); logpipe reads the event's JSON field `timestamp` (time_source = \"event\", epoch seconds; records without it fall back to the Kafka timestamp): set time_field and time_format to match your events"
            };
            self.push(Severity::Note, line, &key, message);
        }
    }
}
