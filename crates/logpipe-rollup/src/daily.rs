//! Daily metrics: each configured [`MetricConfig`] over the day's events of
//! its topic, one value per combination of its `group_by` values.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::{Measure, MetricConfig};

/// Longest `dimensions` value stored (the column is VARCHAR(190)).
pub const MAX_DIMENSIONS: usize = 190;

/// One row of `daily_metrics` (without the day).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub topic: String,
    pub metric: String,
    /// `level=ERROR,service=api`; empty when the metric is not grouped.
    pub dimensions: String,
    pub value: f64,
}

#[derive(Debug, Clone, Copy)]
struct Acc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Self {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// Accumulates the metrics of one topic.
pub struct DailyMetrics {
    metrics: Vec<MetricConfig>,
    acc: Vec<BTreeMap<String, Acc>>,
}

impl DailyMetrics {
    /// The metrics of `topic` among `all`.
    pub fn new(topic: &str, all: &[MetricConfig]) -> Self {
        let metrics: Vec<MetricConfig> = all.iter().filter(|m| m.topic == topic).cloned().collect();
        let acc = vec![BTreeMap::new(); metrics.len()];
        Self { metrics, acc }
    }

    /// Add one event. A measured field that is absent or not a number
    /// leaves the event out of that metric (a count counts it).
    pub fn add(&mut self, event: &Map<String, Value>) {
        for (m, acc) in self.metrics.iter().zip(&mut self.acc) {
            let x = match m.measure.field() {
                None => 0.0,
                Some(f) => match event.get(f).and_then(Value::as_f64) {
                    Some(x) => x,
                    None => continue,
                },
            };
            let a = acc.entry(dimensions(&m.group_by, event)).or_default();
            a.n += 1;
            a.sum += x;
            a.min = a.min.min(x);
            a.max = a.max.max(x);
        }
    }

    pub fn rows(&self) -> Vec<MetricRow> {
        let mut out = Vec::new();
        for (m, acc) in self.metrics.iter().zip(&self.acc) {
            for (dims, a) in acc {
                let value = match m.measure {
                    Measure::Count => a.n as f64,
                    Measure::Sum(_) => a.sum,
                    Measure::Min(_) => a.min,
                    Measure::Max(_) => a.max,
                    Measure::Avg(_) => a.sum / a.n as f64,
                };
                out.push(MetricRow {
                    topic: m.topic.clone(),
                    metric: m.name.clone(),
                    dimensions: dims.clone(),
                    value,
                });
            }
        }
        out
    }
}

/// `k=v,k=v` of the grouping fields: strings as they are, other values as
/// JSON text, an absent field as `null`; cut to [`MAX_DIMENSIONS`] bytes.
pub fn dimensions(group_by: &[String], event: &Map<String, Value>) -> String {
    let mut s = String::new();
    for (i, g) in group_by.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(g);
        s.push('=');
        match event.get(g) {
            Some(Value::String(v)) => s.push_str(v),
            Some(v) => s.push_str(&v.to_string()),
            None => s.push_str("null"),
        }
    }
    if s.len() > MAX_DIMENSIONS {
        let mut end = MAX_DIMENSIONS;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn counts_sums_and_averages_per_group() {
        let metrics = vec![
            MetricConfig {
                name: "by_level".into(),
                topic: "logs".into(),
                group_by: vec!["level".into(), "code".into()],
                measure: Measure::Count,
            },
            MetricConfig {
                name: "avg_ms".into(),
                topic: "logs".into(),
                group_by: vec![],
                measure: Measure::Avg("ms".into()),
            },
            MetricConfig {
                name: "other".into(),
                topic: "access".into(),
                group_by: vec![],
                measure: Measure::Count,
            },
        ];
        let mut d = DailyMetrics::new("logs", &metrics);
        d.add(&obj(
            serde_json::json!({"level": "INFO", "code": 200, "ms": 10}),
        ));
        d.add(&obj(
            serde_json::json!({"level": "INFO", "code": 200, "ms": 30}),
        ));
        d.add(&obj(serde_json::json!({"level": "ERROR", "ms": "n/a"})));
        let rows: Vec<(String, String, f64)> = d
            .rows()
            .into_iter()
            .map(|r| (r.metric, r.dimensions, r.value))
            .collect();
        assert_eq!(
            rows,
            [
                ("by_level".into(), "level=ERROR,code=null".into(), 1.0),
                ("by_level".into(), "level=INFO,code=200".into(), 2.0),
                ("avg_ms".into(), "".into(), 20.0),
            ]
        );
    }

    #[test]
    fn long_dimensions_are_cut_on_a_character_boundary() {
        let e = obj(serde_json::json!({"k": "é".repeat(200)}));
        let d = dimensions(&["k".into()], &e);
        assert!(d.len() <= MAX_DIMENSIONS && d.len() >= MAX_DIMENSIONS - 1);
        assert!(d.starts_with("k=é"));
    }
}
