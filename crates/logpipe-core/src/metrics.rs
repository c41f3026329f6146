//! Prometheus exporter set-up and the way daemons declare their metrics.
//!
//! Each daemon lists its metrics once, as [`MetricDef`]s in its own
//! `metrics.rs`, and calls [`describe`] at start-up; the names, units and help
//! texts then appear in `/metrics` exactly as declared. Names follow
//! Prometheus conventions: `logpipe_` prefix, base units (seconds, bytes),
//! `_total` for counters; labels are bounded (never an event field).

use std::net::SocketAddr;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// What kind of series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric as declared by a daemon.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    pub name: &'static str,
    pub kind: MetricKind,
    pub unit: metrics::Unit,
    pub help: &'static str,
}

impl MetricDef {
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind: MetricKind::Counter,
            unit: metrics::Unit::Count,
            help,
        }
    }
    pub const fn gauge(name: &'static str, unit: metrics::Unit, help: &'static str) -> Self {
        Self {
            name,
            kind: MetricKind::Gauge,
            unit,
            help,
        }
    }
    pub const fn histogram(name: &'static str, unit: metrics::Unit, help: &'static str) -> Self {
        Self {
            name,
            kind: MetricKind::Histogram,
            unit,
            help,
        }
    }
}

/// Register help texts and units for a daemon's metrics.
pub fn describe(defs: &[MetricDef]) {
    for d in defs {
        match d.kind {
            MetricKind::Counter => metrics::describe_counter!(d.name, d.unit, d.help),
            MetricKind::Gauge => metrics::describe_gauge!(d.name, d.unit, d.help),
            MetricKind::Histogram => metrics::describe_histogram!(d.name, d.unit, d.help),
        }
    }
}

/// Latency buckets (seconds) for every `*_seconds` histogram: 0.5 ms … 30 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Start the `/metrics` listener and install the global recorder. Must be
/// called inside a tokio runtime; fails clearly if the address is taken.
/// Also sets `logpipe_build_info{version, daemon} 1`.
pub fn install(listen: SocketAddr, daemon: &'static str) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install()
        .with_context(|| format!("cannot start the metrics listener on {listen}"))?;
    metrics::describe_gauge!(
        "logpipe_build_info",
        "Always 1; labels carry the logpipe version and the daemon"
    );
    metrics::gauge!(
        "logpipe_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "daemon" => daemon
    )
    .set(1.0);
    Ok(())
}

/// Publish per-partition consumer lag from a librdkafka statistics JSON
/// document (`statistics.interval.ms`) as the gauge `metric` with `topic`
/// and `partition` labels.
pub fn record_consumer_lag(stats_json: &[u8], metric: &'static str) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(stats_json) else {
        return;
    };
    let Some(topics) = doc.get("topics").and_then(|t| t.as_object()) else {
        return;
    };
    for (topic, t) in topics {
        let Some(parts) = t.get("partitions").and_then(|p| p.as_object()) else {
            continue;
        };
        for (partition, p) in parts {
            if partition == "-1" {
                continue;
            }
            let lag = p.get("consumer_lag").and_then(|l| l.as_i64()).unwrap_or(-1);
            if lag >= 0 {
                metrics::gauge!(metric, "topic" => topic.clone(), "partition" => partition.clone())
                    .set(lag as f64);
            }
        }
    }
}
