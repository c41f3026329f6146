//! `[rollup]`: where the daily results go, which metrics to compute, and
//! how long to wait for the archive.
//!
//! ```toml
//! [rollup]
//! database_url = "mysql://logpipe@db1:3306/logpipe"
//! database_password_file = "/run/credentials/logpipe-rollup.service/db-password"
//! wait = "2h"
//! late_horizon = "1h"
//! pushgateway = "http://127.0.0.1:9091"
//!
//! [[rollup.metric]]
//! name = "events_by_level"
//! topic = "logs"
//! group_by = ["level"]
//! measure = "count"
//! ```

use std::fmt;
use std::time::Duration;

use logpipe_core::config::{HumanDuration, Secret, Validate, Validator};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RollupConfig {
    /// The processor's database (`logpipe_event_counts`, `logpipe_offsets`),
    /// which also receives `daily_metrics` and `daily_reconciliation`.
    /// `mysql://user@host:3306/db` or `sqlite://path`; no password here.
    pub database_url: String,
    pub database_password_file: Option<Secret>,
    /// Topics to roll up; empty: the `[archive]` topics.
    pub topics: Vec<String>,
    /// The processor's consumer group whose counts the archive is
    /// reconciled against; empty: `[process] group_id`.
    pub group_id: String,
    /// How long the sensor waits for the archive and the processor to
    /// cover the day before giving up with exit code 75.
    pub wait: HumanDuration,
    /// How often the sensor looks again while waiting.
    pub poll_interval: HumanDuration,
    /// How much of the next day's directories is also read: events of day
    /// D that arrived after the archiver's allowed lateness were archived
    /// by arrival time, there.
    pub late_horizon: HumanDuration,
    /// Prometheus Pushgateway base URL (`http://host:9091`) receiving the
    /// run's result; none: no push.
    pub pushgateway: Option<String>,
    /// Daily metrics; by default `events` (a count) per topic.
    pub metric: Vec<MetricConfig>,
}

impl Default for RollupConfig {
    fn default() -> Self {
        Self {
            database_url: "mysql://root@127.0.0.1:3306/logpipe".into(),
            database_password_file: None,
            topics: Vec::new(),
            group_id: String::new(),
            wait: HumanDuration(Duration::from_secs(2 * 3600)),
            poll_interval: HumanDuration(Duration::from_secs(30)),
            late_horizon: HumanDuration(Duration::from_secs(3600)),
            pushgateway: None,
            metric: Vec::new(),
        }
    }
}

/// One daily metric: `measure` over the day's events of `topic`, one row
/// per combination of `group_by` values.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    pub name: String,
    pub topic: String,
    #[serde(default)]
    pub group_by: Vec<String>,
    #[serde(default = "count")]
    pub measure: Measure,
}

fn count() -> Measure {
    Measure::Count
}

/// `count`, `sum(field)`, `min(field)`, `max(field)`, `avg(field)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    Count,
    Sum(String),
    Min(String),
    Max(String),
    Avg(String),
}

impl Measure {
    pub fn parse(s: &str) -> Result<Measure, String> {
        let s = s.trim();
        if s == "count" {
            return Ok(Measure::Count);
        }
        let bad = || {
            format!("unknown measure \"{s}\"; expected count, sum(field), min(field), max(field) or avg(field)")
        };
        let (f, rest) = s.split_once('(').ok_or_else(bad)?;
        let field = rest.strip_suffix(')').ok_or_else(bad)?.trim();
        if field.is_empty() {
            return Err(bad());
        }
        let field = field.to_owned();
        Ok(match f.trim() {
            "sum" => Measure::Sum(field),
            "min" => Measure::Min(field),
            "max" => Measure::Max(field),
            "avg" => Measure::Avg(field),
            _ => return Err(bad()),
        })
    }

    /// The field measured, if any.
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

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Measure::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl RollupConfig {
    /// The metrics to compute for `topics`: the configured ones, or a
    /// count of events per topic.
    pub fn metrics_for(&self, topics: &[String]) -> Vec<MetricConfig> {
        if !self.metric.is_empty() {
            return self.metric.clone();
        }
        topics
            .iter()
            .map(|t| MetricConfig {
                name: "events".into(),
                topic: t.clone(),
                group_by: Vec::new(),
                measure: Measure::Count,
            })
            .collect()
    }
}

impl Validate for RollupConfig {
    fn validate(&self, v: &mut Validator) {
        v.secret(
            "rollup.database_password_file",
            &self.database_password_file,
        );
        v.database_url("rollup.database_url", &self.database_url);
        if self.poll_interval.get().is_zero() {
            v.error(
                "rollup.poll_interval",
                "must be greater than zero, e.g. \"30s\"",
            );
        }
        if let Some(url) = &self.pushgateway {
            if !url.starts_with("http://") {
                v.error(
                    "rollup.pushgateway",
                    format!("\"{url}\" is not an http:// URL (e.g. \"http://127.0.0.1:9091\")"),
                );
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in self.metric.iter().enumerate() {
            let key = format!("rollup.metric[{i}]");
            if m.name.is_empty() || m.name.len() > 64 {
                v.error(format!("{key}.name"), "must be 1 to 64 characters");
            }
            if !names.insert((m.topic.clone(), m.name.clone())) {
                v.error(
                    format!("{key}.name"),
                    format!(
                        "metric \"{}\" of topic \"{}\" is declared twice",
                        m.name, m.topic
                    ),
                );
            }
            if !self.topics.is_empty() && !self.topics.contains(&m.topic) {
                v.error(
                    format!("{key}.topic"),
                    format!(
                        "topic \"{}\" is not in rollup.topics {:?}",
                        m.topic, self.topics
                    ),
                );
            }
            if m.group_by.iter().any(|g| g.is_empty()) {
                v.error(format!("{key}.group_by"), "field names must not be empty");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_parse_and_name_what_is_wrong() {
        assert_eq!(Measure::parse("count"), Ok(Measure::Count));
        assert_eq!(
            Measure::parse("avg( bytes )"),
            Ok(Measure::Avg("bytes".into()))
        );
        assert_eq!(Measure::parse("sum(x)").unwrap().to_string(), "sum(x)");
        for bad in ["median(x)", "sum()", "sum(x", "total"] {
            let e = Measure::parse(bad).unwrap_err();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn bad_settings_are_reported_by_key() {
        let c = RollupConfig {
            database_url: "mysql://u:pw@db/x".into(),
            pushgateway: Some("pushgw:9091".into()),
            topics: vec!["logs".into()],
            metric: vec![
                MetricConfig {
                    name: "m".into(),
                    topic: "other".into(),
                    group_by: vec![],
                    measure: Measure::Count,
                },
                MetricConfig {
                    name: "m".into(),
                    topic: "other".into(),
                    group_by: vec![String::new()],
                    measure: Measure::Count,
                },
            ],
            ..RollupConfig::default()
        };
        let mut v = Validator::default();
        c.validate(&mut v);
        let e = v.into_result().unwrap_err().to_string();
        for key in [
            "`rollup.database_url`: the URL contains a password",
            "`rollup.pushgateway`",
            "`rollup.metric[0].topic`: topic \"other\" is not in rollup.topics",
            "`rollup.metric[1].name`: metric \"m\" of topic \"other\" is declared twice",
            "`rollup.metric[1].group_by`",
        ] {
            assert!(e.contains(key), "missing {key} in:\n{e}");
        }
    }
}
