//! `[archive]`: which topics `logpipe archive` copies, where to, in which
//! format and when a file is committed. The doc comments on these types are
//! the user documentation of the section.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use logpipe_core::config::{ByteSize, HumanDuration, KafkaProperties, Validate, Validator};
use logpipe_core::event_time::TimeFormat;
use serde::Deserialize;

use crate::path::PathTemplate;

/// `[archive]` section.
///
/// ```toml
/// [archive]
/// url = "hdfs://nn1.internal:8020/logpipe/archive"
/// topics = ["logs"]
/// path = "%{topic}/dt=%Y-%m-%d/hr=%H"
/// codec = "zstd"
///
/// [archive.roll]
/// max_bytes = "128MiB"
/// max_age = "10m"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// librdkafka properties for this daemon only, applied over `[kafka]`.
    pub kafka: KafkaProperties,
    /// Listen address of `/metrics` for this daemon; `[metrics] listen` when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a SIGTERM may take: every open file is committed within it.
    pub drain_timeout: HumanDuration,
    /// Kafka consumer group. Kafka's committed offsets are for lag only: where
    /// a partition resumes is read from the archive's file names.
    pub group_id: String,
    /// Topics to archive.
    pub topics: Vec<String>,
    /// Archive root: `hdfs://namenode:8020/path` (one NameNode: always give
    /// the port), `hdfs://nameservice/path` (HA, resolved from the Hadoop
    /// config directory), or `file:///path` (local disk or NFS).
    pub url: String,
    /// HDFS client settings (ignored for `file://`).
    pub hdfs: HdfsConfig,
    /// Directory of each file below `url`: `%{topic}`, `%{partition}` and
    /// strftime-style `%Y %m %d %H %M %S %j` (plus `%%`), filled from the
    /// record's time (see `time_source`), rounded down to `round`.
    pub path: String,
    /// Round the time used in `path` down to a multiple of this (Flume's
    /// `round`/`roundValue`/`roundUnit`), e.g. `"15m"`; unset = no rounding.
    pub round: Option<HumanDuration>,
    /// Time zone of `path`'s escapes: `"UTC"`, a fixed offset such as
    /// `"+02:00"`, or an IANA zone such as `"Europe/Berlin"` (with daylight
    /// saving time one `hr=02` directory holds the autumn's repeated hour,
    /// and the spring's skipped hour stays empty).
    pub time_zone: String,
    /// Where a record's time comes from: `event` (the JSON field
    /// `time_field`; records without a readable one fall back to the Kafka
    /// timestamp and are counted) or `kafka` (the record's Kafka timestamp).
    pub time_source: TimeSource,
    /// The event field holding the time (with `time_source = "event"`).
    pub time_field: String,
    /// Encoding of `time_field`.
    pub time_format: TimeFormat,
    /// File format: `jsonl` (each Kafka value as one line, byte for byte)
    /// or `parquet` (columns from a per-topic schema, zstd inside; see
    /// `[archive.parquet]`).
    pub format: FileFormat,
    /// Compression of `jsonl` files: `zstd` (default, fastest; Spark's
    /// bundled Hadoop cannot read `.zst` text), `gzip` (readable by every
    /// Hadoop tool) or `none`.
    pub codec: Codec,
    /// Compression level (zstd 1–19, gzip 1–9); 0 = the codec's fast default.
    /// With `format = "parquet"` the level of its zstd pages.
    pub codec_level: u32,
    /// Parquet settings and the schema of each topic (with `format = "parquet"`).
    pub parquet: ParquetConfig,
    /// When a file is committed.
    pub roll: RollConfig,
    /// Where a partition with no committed file starts: `earliest` or `latest`.
    pub start_offset: StartOffset,
    /// `_SUCCESS` markers and what happens to records that arrive too late
    /// for their time directory.
    pub completeness: CompletenessConfig,
    /// Send records that cannot be written as one line (a non-JSON value with
    /// a newline, a null value) to `<topic>.dlq`. When false they stop the
    /// partition with an error instead: nothing is skipped silently.
    pub dead_letter: bool,
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            kafka: KafkaProperties::default(),
            metrics_listen: None,
            drain_timeout: HumanDuration::from_secs(60),
            group_id: "logpipe-archive".into(),
            topics: vec!["logs".into()],
            url: "file:///var/lib/logpipe/archive".into(),
            hdfs: HdfsConfig::default(),
            path: "%{topic}/dt=%Y-%m-%d/hr=%H".into(),
            round: None,
            time_zone: "UTC".into(),
            time_source: TimeSource::Event,
            time_field: "timestamp".into(),
            time_format: TimeFormat::EpochSeconds,
            format: FileFormat::Jsonl,
            codec: Codec::Zstd,
            codec_level: 0,
            parquet: ParquetConfig::default(),
            roll: RollConfig::default(),
            start_offset: StartOffset::Earliest,
            completeness: CompletenessConfig::default(),
            dead_letter: true,
        }
    }
}

/// `[archive.hdfs]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HdfsConfig {
    /// User to act as with SIMPLE authentication; the process user when unset.
    /// With Kerberos (`hadoop.security.authentication = kerberos` in
    /// `core-site.xml`) the ticket cache or keytab decides.
    pub user: Option<String>,
    /// Hadoop config directory (`core-site.xml`, `hdfs-site.xml`);
    /// `$HADOOP_CONF_DIR` when unset.
    pub config_dir: Option<String>,
    /// Extra Hadoop client settings, e.g. `"dfs.client.failover.max.attempts" = "3"`.
    pub properties: BTreeMap<String, String>,
}

/// `[archive.roll]`: a file is committed when any limit is reached, when
/// its records' time leaves the file's time directory, on revocation and on
/// shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollConfig {
    /// Uncompressed bytes in one file.
    pub max_bytes: ByteSize,
    /// Records in one file; 0 = no limit.
    pub max_records: u64,
    /// Age of a file since its first record.
    pub max_age: HumanDuration,
    /// Time since a file's last record: a quiet partition still commits.
    pub idle_timeout: HumanDuration,
}

impl Default for RollConfig {
    fn default() -> Self {
        Self {
            max_bytes: ByteSize(128 << 20),
            max_records: 0,
            max_age: HumanDuration::from_secs(600),
            idle_timeout: HumanDuration::from_secs(60),
        }
    }
}

/// `[archive.completeness]`: a time directory is complete once the wall
/// clock is `allowed_lateness` past its end. From then on a record whose
/// time falls in it is written to the directory of the time it *arrived*
/// (and counted in `logpipe_archive_late_records_total`), so a complete
/// directory never changes; once the open files of every archiver have
/// rolled out of it (within `roll.idle_timeout`), `_SUCCESS` is written
/// into it with each partition's offset ranges and record counts — also for
/// an hour with no record. Markers need a path without `%{partition}`.
///
/// Turn `markers` off to backfill a topic with old data: every record then
/// goes to the directory of its own time, however late.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompletenessConfig {
    pub markers: bool,
    pub allowed_lateness: HumanDuration,
}

impl Default for CompletenessConfig {
    fn default() -> Self {
        Self {
            markers: true,
            allowed_lateness: HumanDuration::from_secs(600),
        }
    }
}

/// Where a record's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    Event,
    Kafka,
}

/// The archive's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Jsonl,
    Parquet,
}

/// `[archive.parquet]`: how records become Parquet rows.
///
/// Each topic's columns come from `[archive.parquet.topics.<topic>]`:
/// either a built-in schema named after a generator scenario
/// (`schema = "server-logs"`, `access-logs`, `car-transactions`,
/// `user-events`, `user-profiles`) or a list of fields. A topic without an
/// entry uses the built-in schema of the same name (`logs` is
/// `server-logs`). Each record must be a JSON object; a field of the wrong
/// type, a missing `required` field, or (by default) a field the schema does
/// not name sends the record to `<topic>.dlq` with the reason — a column
/// never silently drops what the event said.
///
/// ```toml
/// [archive]
/// format = "parquet"
/// [archive.parquet.topics.logs]
/// schema = "server-logs"
/// [[archive.parquet.topics.payments.fields]]
/// name = "timestamp"
/// type = "timestamp"
/// required = true
/// [[archive.parquet.topics.payments.fields]]
/// name = "amount"
/// type = "double"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParquetConfig {
    /// Values buffered before a row group is written (default 4MiB, about
    /// 30,000 server-logs rows, ~0.5 MiB once encoded): what one open
    /// Parquet file holds in memory, so an archiver needs about twice this
    /// per partition it owns (12 partitions: ~100 MiB above its base). A file
    /// has as many row groups as it needs; with `roll.max_bytes` at or below
    /// this, exactly one.
    pub row_group_bytes: ByteSize,
    /// A field the schema does not name: `reject` (to the DLQ, the default:
    /// nothing is dropped without a trace) or `ignore` (the column set is
    /// the schema; extra fields are not archived).
    pub unknown_fields: UnknownFields,
    /// Schema per topic.
    pub topics: BTreeMap<String, TopicSchemaConfig>,
}

impl Default for ParquetConfig {
    fn default() -> Self {
        Self {
            row_group_bytes: ByteSize(4 << 20),
            unknown_fields: UnknownFields::Reject,
            topics: BTreeMap::new(),
        }
    }
}

/// What to do with a field that the schema does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownFields {
    Reject,
    Ignore,
}

/// `[archive.parquet.topics.<topic>]`: `schema` (built-in) or `fields`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicSchemaConfig {
    /// A built-in schema: `server-logs`, `access-logs`, `car-transactions`,
    /// `user-events`, `user-profiles`.
    pub schema: Option<String>,
    /// The columns, in order.
    pub fields: Vec<FieldConfig>,
}

/// One column of a topic's Parquet schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The JSON field name (and the column name).
    pub name: String,
    /// `string`, `int64`, `double`, `bool`, `timestamp` (stored as
    /// microseconds, UTC), `date` (`YYYY-MM-DD`) or `json` (any value, kept
    /// as its JSON text).
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// A record without this field (or with `null`) is rejected.
    #[serde(default)]
    pub required: bool,
    /// How a `timestamp` field is written in the events.
    #[serde(default)]
    pub time_format: TimeFormat,
}

/// The type of a Parquet column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Int64,
    Double,
    Bool,
    Timestamp,
    Date,
    Json,
}

/// Compression of a JSON-lines file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Zstd,
    Gzip,
    None,
}

/// Where a partition with no committed file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartOffset {
    Earliest,
    Latest,
}

impl Validate for ArchiveConfig {
    fn validate(&self, v: &mut Validator) {
        self.kafka.validate("archive.kafka", v);
        if self.group_id.trim().is_empty() {
            v.error("archive.group_id", "must not be empty");
        }
        if self.topics.is_empty() {
            v.error("archive.topics", "name at least one topic to archive");
        }
        for t in &self.topics {
            if t.is_empty()
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                v.error(
                    "archive.topics",
                    format!("\"{t}\" is not a Kafka topic name (letters, digits, '.', '_', '-')"),
                );
            }
        }
        if let Err(e) = crate::sink::SinkUrl::parse(&self.url) {
            v.error("archive.url", e);
        }
        match PathTemplate::parse(&self.path) {
            Err(e) => v.error("archive.path", e),
            Ok(t) if self.completeness.markers && t.has_partition() => v.error(
                "archive.completeness.markers",
                "_SUCCESS markers need a path without %{partition} (one directory holds every partition); set markers = false or drop %{partition}",
            ),
            Ok(_) => {}
        }
        if let Err(e) = crate::path::Zone::parse(&self.time_zone) {
            v.error("archive.time_zone", e);
        }
        if let Some(r) = self.round {
            if r.get().as_secs() == 0 || r.get().subsec_nanos() != 0 {
                v.error(
                    "archive.round",
                    "must be a whole number of seconds, at least 1s",
                );
            }
        }
        let level_max = match (self.format, self.codec) {
            (FileFormat::Parquet, _) | (FileFormat::Jsonl, Codec::Zstd) => 19,
            (FileFormat::Jsonl, Codec::Gzip) => 9,
            (FileFormat::Jsonl, Codec::None) => 0,
        };
        if self.codec_level > level_max {
            v.error(
                "archive.codec_level",
                format!(
                    "{} is above the codec's maximum {level_max}",
                    self.codec_level
                ),
            );
        }
        if self.format == FileFormat::Parquet {
            for topic in &self.topics {
                if let Err(e) = crate::format::parquet::TopicSchema::for_topic(self, topic) {
                    v.error(format!("archive.parquet.topics.{topic}"), e);
                }
            }
            if self.parquet.row_group_bytes.0 < 1 << 20 {
                v.error(
                    "archive.parquet.row_group_bytes",
                    "must be at least 1MiB (small row groups make Parquet slow to read)",
                );
            }
        }
        for topic in self.parquet.topics.keys() {
            if !self.topics.contains(topic) {
                v.error(
                    format!("archive.parquet.topics.{topic}"),
                    format!("\"{topic}\" is not in archive.topics"),
                );
            }
        }
        let r = &self.roll;
        if r.max_bytes.0 == 0 {
            v.error("archive.roll.max_bytes", "must be positive");
        }
        if r.max_age.get().is_zero() {
            v.error("archive.roll.max_age", "must be positive");
        }
        if r.idle_timeout.get().is_zero() {
            v.error("archive.roll.idle_timeout", "must be positive");
        }
    }
}

impl ArchiveConfig {
    /// Settings that are valid but will fill the archive with small files
    /// (HDFS keeps every file's metadata in the NameNode's memory).
    pub fn small_file_warnings(&self) -> Vec<(String, String)> {
        let mut w = Vec::new();
        let r = &self.roll;
        if r.max_bytes.0 < 16 << 20 {
            w.push((
                "archive.roll.max_bytes".into(),
                format!(
                    "{} bytes per file is small for HDFS (the default is 128MiB; aim for ≥ 64MiB)",
                    r.max_bytes.0
                ),
            ));
        }
        if r.max_age.get().as_secs() < 60 {
            w.push((
                "archive.roll.max_age".into(),
                format!(
                    "\"{}\" makes at least one file per partition per {} (the default is 10m)",
                    r.max_age, r.max_age
                ),
            ));
        }
        if r.max_records > 0 && r.max_records < 100_000 {
            w.push((
                "archive.roll.max_records".into(),
                format!(
                    "{} records per file makes small files (0 = no record limit)",
                    r.max_records
                ),
            ));
        }
        w
    }

    /// The extension of committed files.
    pub fn extension(&self) -> &'static str {
        match (self.format, self.codec) {
            (FileFormat::Jsonl, Codec::Zstd) => "jsonl.zst",
            (FileFormat::Jsonl, Codec::Gzip) => "jsonl.gz",
            (FileFormat::Jsonl, Codec::None) => "jsonl",
            (FileFormat::Parquet, _) => "parquet",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        archive: ArchiveConfig,
    }

    impl Validate for Root {
        fn validate(&self, v: &mut Validator) {
            self.archive.validate(v)
        }
    }

    fn parse(raw: &str) -> Result<ArchiveConfig, String> {
        logpipe_core::config::parse::<Root>(std::path::Path::new("t.toml"), raw)
            .map(|r| r.archive)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_avoid_small_files() {
        let c = parse("[archive]\n").unwrap();
        assert_eq!(c.roll.max_bytes.0, 128 << 20);
        assert_eq!(c.roll.max_age.get().as_secs(), 600);
        assert_eq!(c.extension(), "jsonl.zst");
        assert!(c.small_file_warnings().is_empty());
    }

    #[test]
    fn bad_values_name_their_key_and_line() {
        let e = parse("[archive]\nurl = \"s3://bucket/x\"\npath = \"%{topic}/%Q\"\ntime_zone = \"Mars/Olympus\"\ntopics = [\"a b\"]\n")
            .unwrap_err();
        for want in [
            "`archive.url`",
            "s3://",
            "`archive.path`",
            "%Q",
            "`archive.time_zone`",
            "Mars/Olympus",
            "`archive.topics`",
            "\"a b\"",
        ] {
            assert!(e.contains(want), "{want} missing in:\n{e}");
        }
        let e = parse("[archive]\ncodec = \"lz4\"\n").unwrap_err();
        assert!(e.contains("t.toml:2:") && e.contains("lz4"), "{e}");
    }

    #[test]
    fn small_file_settings_are_warned_about() {
        let c = parse("[archive.roll]\nmax_bytes = \"1MiB\"\nmax_age = \"5s\"\nmax_records = 10\n")
            .unwrap();
        let keys: Vec<String> = c
            .small_file_warnings()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "archive.roll.max_bytes",
                "archive.roll.max_age",
                "archive.roll.max_records"
            ]
        );
    }
}
