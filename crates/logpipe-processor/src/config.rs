//! `[process]`: what `logpipe process` consumes, how it aggregates and where
//! it writes. The doc comments on these types are the user documentation of
//! the section; `Default` reproduces the seed's Spark job (`log_data`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use logpipe_core::config::{ByteSize, HumanDuration, KafkaProperties, Secret, Validate, Validator};
use serde::{Deserialize, Deserializer};

/// Most distinct event fields one topic's aggregations and tables may read.
pub const MAX_FIELDS_PER_TOPIC: usize = 32;

/// Names of the processor's own bookkeeping tables (created by migrations).
pub const INTERNAL_TABLES: &[&str] = &["logpipe_offsets", "logpipe_watermarks", "_sqlx_migrations"];

/// `[process]` section.
///
/// ```toml
/// [process]
/// database_url = "mysql://logpipe@db1:3306/logpipe"
/// database_password_file = "/run/credentials/logpipe-process.service/db"
/// commit_interval = "1s"
///
/// [[process.aggregation]]
/// name = "errors_by_service"
/// topic = "logs"
/// window = "1m"
/// group_by = ["service"]
/// measures = ["count"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessConfig {
    /// librdkafka properties for this daemon only, applied over `[kafka]`
    /// (e.g. `"fetch.max.bytes"`, `"session.timeout.ms"`).
    pub kafka: KafkaProperties,
    /// Listen address of `/metrics` for this daemon; `[metrics] listen` when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a SIGTERM may take: the last batch is committed within it.
    pub drain_timeout: HumanDuration,
    /// Kafka consumer group. It also names this job in the offsets table:
    /// changing it restarts consumption from `start_offset` (and so counts
    /// the topic again into the same output tables).
    pub group_id: String,
    /// Serving store: `mysql://user@host:3306/db` (MariaDB, production; a
    /// `mariadb://` prefix is accepted too) or `sqlite://path/to/file.db`
    /// (embedded demo; the file is created when missing). Put no password
    /// here: use `database_password_file`.
    pub database_url: String,
    /// File holding the database password (e.g. a systemd credential).
    pub database_password_file: Option<Secret>,
    /// A batch is committed (aggregates + offsets in one transaction) at least
    /// this often.
    pub commit_interval: HumanDuration,
    /// ... or as soon as it holds this many events.
    pub commit_max_events: u64,
    /// Events larger than this go to the dead-letter topic.
    pub max_event_size: ByteSize,
    /// Events stamped further ahead of the processing clock than this go to
    /// the dead-letter topic (reason `future_timestamp`) instead of moving
    /// their partition's watermark: one event of year 9999 would otherwise
    /// make every later event of the partition late, for good. Allow for
    /// the clock skew of the event sources.
    pub max_future_skew: HumanDuration,
    /// Where a partition never seen in the offsets table starts: `earliest`
    /// (the whole retained topic) or `latest` (only new events).
    pub start_offset: StartOffset,
    /// What to do with a partition whose stored offset lies beyond its log
    /// end (the topic was deleted and recreated, or truncated): `stop`
    /// (default) leaves the partition unread with an error naming both
    /// offsets; `restart` counts it again from its log start. (A stored
    /// offset below the log start — events deleted by retention before
    /// they were read — is always counted as lost and reading goes on from
    /// the log start.)
    pub on_offset_reset: OnOffsetReset,
    /// Send undecodable events to `<topic>.dlq` (with the error in the
    /// `logpipe.error` header). When false they are only counted and logged.
    /// Delivery is at least once: a dead letter is acknowledged by Kafka
    /// before the offsets past it are committed (while the topic is missing
    /// or refuses writes the batch waits and is retried), and it is written
    /// again only after a crash between the two or a retried delivery; the
    /// `logpipe.source.topic`, `.partition` and `.offset` headers identify
    /// the source record for de-duplication.
    pub dead_letter: bool,
    /// Windowed aggregations (`[[process.aggregation]]`). Defaults to the
    /// seed's `log_data` job; write `aggregation = []` to have none.
    pub aggregation: Vec<AggregationConfig>,
    /// Record tables (`[[process.table]]`): whole events upserted by key.
    pub table: Vec<RecordTableConfig>,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            kafka: KafkaProperties::default(),
            metrics_listen: None,
            drain_timeout: HumanDuration::from_secs(30),
            group_id: "logpipe-process".into(),
            database_url: "mysql://root@127.0.0.1:3306/logpipe".into(),
            database_password_file: None,
            commit_interval: HumanDuration::from_secs(1),
            commit_max_events: 500_000,
            max_event_size: ByteSize(1 << 20),
            max_future_skew: HumanDuration::from_secs(600),
            start_offset: StartOffset::Earliest,
            on_offset_reset: OnOffsetReset::Stop,
            dead_letter: true,
            aggregation: vec![AggregationConfig::seed_log_data()],
            table: Vec::new(),
        }
    }
}

/// Where to start a partition that has no stored offset yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartOffset {
    Earliest,
    Latest,
}

/// What to do when a partition's stored offset is beyond its log end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnOffsetReset {
    /// Leave the partition unread and report it (`logpipe_process_stopped_partitions`).
    Stop,
    /// Count the partition again from its log start.
    Restart,
}

pub use logpipe_core::event_time::TimeFormat;

/// One `[[process.aggregation]]`: event-time windows over one topic,
/// upserted into one table with primary key (window_start, window_end,
/// group columns).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregationConfig {
    /// Unique name; used in metrics and in the watermarks table.
    pub name: String,
    /// Source Kafka topic.
    pub topic: String,
    /// Output table; defaults to `name`.
    #[serde(default)]
    pub table: Option<String>,
    /// Field holding the event time.
    #[serde(default = "default_time_field")]
    pub time_field: String,
    /// Encoding of `time_field`.
    #[serde(default)]
    pub time_format: TimeFormat,
    /// Window length. Windows are `[start, start + window)`, aligned to the epoch.
    pub window: HumanDuration,
    /// Distance between window starts; equal to `window` (tumbling) when unset.
    /// Must not exceed `window`.
    #[serde(default)]
    pub slide: Option<HumanDuration>,
    /// Watermark delay: events older than (latest event time seen in their
    /// partition − `allowed_lateness`) are late, counted and not aggregated.
    #[serde(default)]
    pub allowed_lateness: HumanDuration,
    /// Fields whose values split the rows; each becomes a VARCHAR key column
    /// (numbers and booleans are stored as their JSON text).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// Turn one field's listed values into columns (`<value>_count`, …)
    /// instead of rows. Events with another value are not counted.
    #[serde(default)]
    pub pivot: Option<PivotConfig>,
    /// `count`, `sum(field)`, `min(field)`, `max(field)`, `avg(field)`
    /// (stored as `<field>_sum` and the count, with `<field>_avg` derived).
    #[serde(default = "default_measures")]
    pub measures: Vec<Measure>,
    /// Optional table receiving every late event (topic, partition, offset,
    /// event time, watermark, payload).
    #[serde(default)]
    pub late_table: Option<String>,
}

/// Columns from the values of one field: `{ field = "level", values = ["DEBUG", "INFO"] }`
/// gives `debug_count`, `info_count`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PivotConfig {
    pub field: String,
    pub values: Vec<String>,
}

fn default_time_field() -> String {
    "timestamp".into()
}
fn default_measures() -> Vec<Measure> {
    vec![Measure::Count]
}

impl AggregationConfig {
    /// The seed's Spark job: 30 s windows sliding every 15 s, 30 s watermark,
    /// counts per level pivoted into `log_data(window_start, window_end,
    /// debug_count, info_count, warn_count, error_count)`.
    pub fn seed_log_data() -> Self {
        Self {
            name: "log_data".into(),
            topic: "logs".into(),
            table: None,
            time_field: default_time_field(),
            time_format: TimeFormat::EpochSeconds,
            window: HumanDuration::from_secs(30),
            slide: Some(HumanDuration::from_secs(15)),
            allowed_lateness: HumanDuration::from_secs(30),
            group_by: Vec::new(),
            pivot: Some(PivotConfig {
                field: "level".into(),
                values: ["DEBUG", "INFO", "WARN", "ERROR"]
                    .map(String::from)
                    .to_vec(),
            }),
            measures: vec![Measure::Count],
            late_table: None,
        }
    }

    pub fn table_name(&self) -> &str {
        self.table.as_deref().unwrap_or(&self.name)
    }

    pub fn slide_or_window(&self) -> Duration {
        self.slide.unwrap_or(self.window).get()
    }
}

/// One measure of an aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    Count,
    Sum(String),
    Min(String),
    Max(String),
    Avg(String),
}

impl Measure {
    pub fn field(&self) -> Option<&str> {
        match self {
            Measure::Count => None,
            Measure::Sum(f) | Measure::Min(f) | Measure::Max(f) | Measure::Avg(f) => Some(f),
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::Count => write!(f, "count"),
            Measure::Sum(x) => write!(f, "sum({x})"),
            Measure::Min(x) => write!(f, "min({x})"),
            Measure::Max(x) => write!(f, "max({x})"),
            Measure::Avg(x) => write!(f, "avg({x})"),
        }
    }
}

impl FromStr for Measure {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t == "count" {
            return Ok(Measure::Count);
        }
        let bad = || {
            format!("invalid measure \"{s}\"; expected \"count\", \"sum(field)\", \"min(field)\", \"max(field)\" or \"avg(field)\"")
        };
        let (func, rest) = t.split_once('(').ok_or_else(bad)?;
        let field = rest.strip_suffix(')').ok_or_else(bad)?.trim();
        if field.is_empty() {
            return Err(bad());
        }
        let field = field.to_owned();
        match func.trim() {
            "sum" => Ok(Measure::Sum(field)),
            "min" => Ok(Measure::Min(field)),
            "max" => Ok(Measure::Max(field)),
            "avg" => Ok(Measure::Avg(field)),
            _ => Err(bad()),
        }
    }
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One `[[process.table]]`: each event of `topic` becomes a row, upserted by
/// `key` (a later event with the same key replaces the row).
///
/// ```toml
/// [[process.table]]
/// topic = "user-profiles"
/// table = "user_profiles"
/// key = ["user_id"]
/// columns = [
///   { name = "user_id", type = "string" },
///   { name = "signup", field = "signup_time", type = "timestamp" },
/// ]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordTableConfig {
    pub topic: String,
    pub table: String,
    /// Column names forming the primary key; their fields are required.
    pub key: Vec<String>,
    pub columns: Vec<ColumnConfig>,
    /// Encoding of `timestamp` columns.
    #[serde(default)]
    pub time_format: TimeFormat,
}

/// A column of a record table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnConfig {
    pub name: String,
    /// Event field; defaults to `name`.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// An event without this field goes to the dead-letter topic (key
    /// columns are always required); otherwise the column is NULL.
    #[serde(default)]
    pub required: bool,
}

impl ColumnConfig {
    pub fn field_name(&self) -> &str {
        self.field.as_deref().unwrap_or(&self.name)
    }
}

/// SQL type of a record-table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Up to 255 characters (VARCHAR(255)); longer values are rejected.
    String,
    /// Any length (TEXT); cannot be a key.
    Text,
    /// 64-bit integer.
    Int,
    /// Double-precision float.
    Float,
    Bool,
    /// DATETIME(3) in UTC, parsed with the table's `time_format`.
    Timestamp,
}

/// Longest value of a `string` column or a group-by value.
pub const MAX_KEY_STRING: usize = 255;

/// True for a plain SQL identifier we can use unquoted in both dialects.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// Column name for a pivot value: lower-cased, other characters as `_`.
pub fn pivot_column_prefix(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl Validate for ProcessConfig {
    fn validate(&self, v: &mut Validator) {
        self.kafka.validate("process.kafka", v);
        v.secret(
            "process.database_password_file",
            &self.database_password_file,
        );
        v.database_url("process.database_url", &self.database_url);
        if self.group_id.trim().is_empty() {
            v.error("process.group_id", "must not be empty");
        }
        if self.commit_interval.get().is_zero() {
            v.error(
                "process.commit_interval",
                "must be greater than zero, e.g. \"1s\"",
            );
        }
        if self.commit_max_events == 0 {
            v.error("process.commit_max_events", "must be at least 1");
        }
        if self.max_event_size.0 == 0 {
            v.error("process.max_event_size", "must be greater than zero");
        }
        if self.max_future_skew.get() < Duration::from_secs(1) {
            v.error(
                "process.max_future_skew",
                format!(
                    "{} would dead-letter events of sources whose clocks run a little ahead; use at least \"1s\" (default \"10m\")",
                    self.max_future_skew
                ),
            );
        }

        let mut tables: HashMap<String, String> = INTERNAL_TABLES
            .iter()
            .map(|t| (t.to_string(), "logpipe's own bookkeeping".to_string()))
            .collect();
        let mut table_name = |v: &mut Validator, key: String, name: &str| {
            if !is_identifier(name) {
                v.error(
                    &key,
                    format!(
                        "\"{name}\" is not a valid table name (letters, digits, `_`, at most 64)"
                    ),
                );
            } else if let Some(owner) = tables.insert(name.to_ascii_lowercase(), key.clone()) {
                v.error(&key, format!("table \"{name}\" is already used by {owner}"));
            }
        };

        let mut names = BTreeSet::new();
        let mut fields_per_topic: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for (i, a) in self.aggregation.iter().enumerate() {
            let at = |k: &str| format!("process.aggregation[{i}].{k}");
            if !is_identifier(&a.name) {
                v.error(
                    at("name"),
                    format!("\"{}\" is not a valid name (letters, digits, `_`)", a.name),
                );
            } else if !names.insert(a.name.as_str()) {
                v.error(
                    at("name"),
                    format!("aggregation \"{}\" is defined twice", a.name),
                );
            }
            if a.topic.trim().is_empty() {
                v.error(at("topic"), "must name a Kafka topic");
            }
            let key = if a.table.is_some() {
                at("table")
            } else {
                at("name")
            };
            table_name(v, key, a.table_name());
            if let Some(late) = &a.late_table {
                table_name(v, at("late_table"), late);
            }
            let window = a.window.get();
            if window.is_zero() {
                v.error(at("window"), "must be greater than zero, e.g. \"30s\"");
            } else if window.subsec_nanos() % 1_000_000 != 0 {
                v.error(at("window"), "must be a whole number of milliseconds");
            }
            if let Some(slide) = a.slide {
                let slide = slide.get();
                if slide.is_zero() {
                    v.error(at("slide"), "must be greater than zero");
                } else if slide > window {
                    v.error(
                        at("slide"),
                        format!(
                            "{} is longer than the window ({}); windows would leave gaps",
                            HumanDuration(slide),
                            a.window
                        ),
                    );
                } else if slide.subsec_nanos() % 1_000_000 != 0 {
                    v.error(at("slide"), "must be a whole number of milliseconds");
                }
            }
            if a.time_field.is_empty() {
                v.error(at("time_field"), "must name the event-time field");
            }
            if a.measures.is_empty() {
                v.error(
                    at("measures"),
                    "needs at least one measure, e.g. [\"count\"]",
                );
            }
            let mut columns = BTreeSet::new();
            for (j, g) in a.group_by.iter().enumerate() {
                if !is_identifier(g) {
                    v.error(
                        format!("process.aggregation[{i}].group_by[{j}]"),
                        format!("\"{g}\" cannot be a column name (letters, digits, `_`)"),
                    );
                }
                if matches!(g.as_str(), "window_start" | "window_end") || !columns.insert(g.clone())
                {
                    v.error(
                        format!("process.aggregation[{i}].group_by[{j}]"),
                        format!("duplicate column \"{g}\""),
                    );
                }
            }
            for (j, m) in a.measures.iter().enumerate() {
                if let Some(f) = m.field() {
                    if !is_identifier(f) {
                        v.error(
                            format!("process.aggregation[{i}].measures[{j}]"),
                            format!("field \"{f}\" cannot be used in a column name (letters, digits, `_`)"),
                        );
                    }
                }
            }
            if let Some(p) = &a.pivot {
                if p.values.is_empty() {
                    v.error(at("pivot.values"), "needs at least one value");
                }
                let mut seen = BTreeSet::new();
                for (j, val) in p.values.iter().enumerate() {
                    let prefix = pivot_column_prefix(val);
                    if prefix.is_empty()
                        || !is_identifier(&format!("{prefix}_count"))
                        || !seen.insert(prefix.clone())
                    {
                        v.error(
                            format!("process.aggregation[{i}].pivot.values[{j}]"),
                            format!(
                                "\"{val}\" gives an empty or duplicate column prefix \"{prefix}\""
                            ),
                        );
                    }
                }
                if a.group_by.contains(&p.field) {
                    v.error(
                        at("pivot.field"),
                        format!("\"{}\" is also in group_by", p.field),
                    );
                }
            }
            let fields = fields_per_topic.entry(a.topic.as_str()).or_default();
            fields.insert(&a.time_field);
            fields.extend(a.group_by.iter().map(String::as_str));
            fields.extend(a.pivot.iter().map(|p| p.field.as_str()));
            fields.extend(a.measures.iter().filter_map(Measure::field));
        }

        for (i, t) in self.table.iter().enumerate() {
            let at = |k: &str| format!("process.table[{i}].{k}");
            if t.topic.trim().is_empty() {
                v.error(at("topic"), "must name a Kafka topic");
            }
            table_name(v, at("table"), &t.table);
            if t.columns.is_empty() {
                v.error(at("columns"), "needs at least one column");
            }
            let mut cols = BTreeSet::new();
            for (j, c) in t.columns.iter().enumerate() {
                if !is_identifier(&c.name) || !cols.insert(c.name.as_str()) {
                    v.error(
                        format!("process.table[{i}].columns[{j}].name"),
                        format!("\"{}\" is not a valid, unique column name", c.name),
                    );
                }
            }
            if t.key.is_empty() {
                v.error(at("key"), "needs at least one key column");
            }
            for (j, k) in t.key.iter().enumerate() {
                match t.columns.iter().find(|c| &c.name == k) {
                    None => v.error(format!("process.table[{i}].key[{j}]"), format!("\"{k}\" is not one of the columns")),
                    Some(c) if c.kind == ColumnType::Text => v.error(
                        format!("process.table[{i}].key[{j}]"),
                        format!("\"{k}\" is a text column; a key must be string, int, bool or timestamp"),
                    ),
                    Some(_) => {}
                }
            }
            fields_per_topic
                .entry(t.topic.as_str())
                .or_default()
                .extend(t.columns.iter().map(ColumnConfig::field_name));
        }

        for (topic, fields) in fields_per_topic {
            if fields.len() > MAX_FIELDS_PER_TOPIC {
                v.error(
                    "process",
                    format!(
                        "topic \"{topic}\" is read through {} distinct fields; at most {MAX_FIELDS_PER_TOPIC} are supported",
                        fields.len()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Root {
        process: ProcessConfig,
    }
    impl Validate for Root {
        fn validate(&self, v: &mut Validator) {
            self.process.validate(v)
        }
    }

    fn parse(raw: &str) -> Result<Root, String> {
        logpipe_core::config::parse::<Root>(std::path::Path::new("t.toml"), raw)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn default_is_the_seed_log_data_job() {
        let c = parse("[process]\n").unwrap().process;
        let a = &c.aggregation[0];
        assert_eq!(c.aggregation.len(), 1);
        assert_eq!(a.table_name(), "log_data");
        assert_eq!(a.window.get(), Duration::from_secs(30));
        assert_eq!(a.slide_or_window(), Duration::from_secs(15));
        assert_eq!(a.allowed_lateness.get(), Duration::from_secs(30));
        assert_eq!(
            a.pivot.as_ref().unwrap().values,
            ["DEBUG", "INFO", "WARN", "ERROR"]
        );
        assert_eq!(c.commit_interval.get(), Duration::from_secs(1));
    }

    #[test]
    fn aggregation_with_measures_and_record_table_parse() {
        let c = parse(
            r#"
[process]
database_url = "sqlite://x.db"
[[process.aggregation]]
name = "sales"
topic = "car-transactions"
time_field = "ts"
time_format = "rfc3339"
window = "1m"
group_by = ["make"]
measures = ["count", "sum(price)", "max(price)", "avg(price)"]
[[process.table]]
topic = "user-profiles"
table = "user_profiles"
key = ["user_id"]
columns = [{ name = "user_id", type = "string" }, { name = "age", type = "int" }]
"#,
        )
        .unwrap()
        .process;
        assert_eq!(c.aggregation[0].measures[1], Measure::Sum("price".into()));
        assert_eq!(c.aggregation[0].slide_or_window(), Duration::from_secs(60));
        assert_eq!(c.table[0].columns[1].kind, ColumnType::Int);
    }

    #[test]
    fn slide_longer_than_window_is_reported_by_key_and_line() {
        let e = parse(
            "[process]\n[[process.aggregation]]\nname = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\nslide = \"20s\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("t.toml:6:1: `process.aggregation[0].slide`: 20s is longer than the window"),
            "{e}"
        );
    }

    #[test]
    fn bad_measure_and_unknown_key_are_errors() {
        let e = parse("[process]\n[[process.aggregation]]\nname = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\nmeasures = [\"median(x)\"]\n")
            .unwrap_err();
        assert!(e.contains("invalid measure \"median(x)\""), "{e}");
        let e = parse("[process]\ncommit_intervall = \"1s\"\n").unwrap_err();
        assert!(e.contains("commit_intervall"), "{e}");
    }

    #[test]
    fn password_in_url_and_duplicate_tables_are_rejected() {
        let e = parse(
            "[process]\ndatabase_url = \"mysql://root:secret@db/x\"\n[[process.aggregation]]\nname = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\n[[process.aggregation]]\nname = \"b\"\ntable = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("`process.database_url`: the URL contains a password"),
            "{e}"
        );
        assert!(
            e.contains("`process.aggregation[1].table`: table \"a\" is already used"),
            "{e}"
        );
    }

    #[test]
    fn max_future_skew_below_a_second_is_reported_by_key() {
        let c = parse("[process]\n").unwrap().process;
        assert_eq!(c.max_future_skew.get(), Duration::from_secs(600));
        let e = parse("[process]\nmax_future_skew = \"0s\"\n").unwrap_err();
        assert!(
            e.contains("t.toml:2:1: `process.max_future_skew`: 0s would dead-letter"),
            "{e}"
        );
    }

    #[test]
    fn record_table_key_must_be_a_column() {
        let e = parse("[process]\n[[process.table]]\ntopic = \"t\"\ntable = \"r\"\nkey = [\"id\"]\ncolumns = [{ name = \"x\", type = \"int\" }]\n")
            .unwrap_err();
        assert!(
            e.contains("`process.table[0].key[0]`: \"id\" is not one of the columns"),
            "{e}"
        );
    }
}
