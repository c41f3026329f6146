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

pub const BUILD_INFO: &str = "logpipe_build_info";
pub const READY: &str = "logpipe_ready";
/// The process collector's names are the ones every Prometheus client
/// library exports (no `logpipe_` prefix), so stock panels and rules apply.
pub const PROCESS_CPU: &str = "process_cpu_seconds_total";
pub const PROCESS_RSS: &str = "process_resident_memory_bytes";
pub const PROCESS_START: &str = "process_start_time_seconds";
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";

/// Metrics every daemon exports, set up by [`install`].
pub const METRICS: &[MetricDef] = &[
    MetricDef::gauge(
        BUILD_INFO,
        metrics::Unit::Count,
        "Always 1; labels carry the logpipe version and the daemon",
    ),
    MetricDef::gauge(
        READY,
        metrics::Unit::Count,
        "1 once the daemon told systemd READY=1 (serving), 0 before that and once STOPPING",
    ),
    MetricDef::gauge(
        PROCESS_CPU,
        metrics::Unit::Seconds,
        "User plus system CPU time of the process (monotonic; exported as a gauge of seconds)",
    ),
    MetricDef::gauge(
        PROCESS_RSS,
        metrics::Unit::Bytes,
        "Resident set size of the process",
    ),
    MetricDef::gauge(
        PROCESS_START,
        metrics::Unit::Seconds,
        "Start time of the process, seconds since the epoch (changes on every restart)",
    ),
    MetricDef::gauge(
        PROCESS_OPEN_FDS,
        metrics::Unit::Count,
        "Open file descriptors of the process",
    ),
];

/// How often the process collector re-reads `/proc/self`.
pub const PROCESS_SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Start the `/metrics` listener and install the global recorder. Must be
/// called inside a tokio runtime; fails clearly if the address is taken.
/// Also sets `logpipe_build_info{version, daemon} 1`, `logpipe_ready 0`
/// (until [`crate::systemd::Notifier::ready`]) and starts the process
/// collector (`process_*` from `/proc/self`, every [`PROCESS_SAMPLE_EVERY`]).
pub fn install(listen: SocketAddr, daemon: &'static str) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install()
        .with_context(|| format!("cannot start the metrics listener on {listen}"))?;
    describe(METRICS);
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "daemon" => daemon
    )
    .set(1.0);
    set_ready(false);
    publish_process_stats();
    std::thread::Builder::new()
        .name("process-metrics".into())
        .spawn(|| loop {
            std::thread::sleep(PROCESS_SAMPLE_EVERY);
            publish_process_stats();
        })
        .context("cannot start the process-metrics thread")?;
    Ok(())
}

/// `logpipe_ready`: 1 while the daemon is serving (READY sent, not STOPPING).
pub fn set_ready(ready: bool) {
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

fn publish_process_stats() {
    match ProcessStats::read_self() {
        Ok(s) => {
            metrics::gauge!(PROCESS_CPU).set(s.cpu_seconds);
            metrics::gauge!(PROCESS_RSS).set(s.resident_bytes as f64);
            metrics::gauge!(PROCESS_START).set(s.start_time_seconds);
            metrics::gauge!(PROCESS_OPEN_FDS).set(s.open_fds as f64);
        }
        Err(e) => tracing::debug!(error = %e, "cannot read process statistics"),
    }
}

/// CPU, memory, start time and descriptors of a Linux process, from `/proc`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub start_time_seconds: f64,
    pub open_fds: u64,
}

/// `/proc` reports times in USER_HZ ticks, which Linux fixes at 100 for
/// user space on every architecture (`sysconf(_SC_CLK_TCK)`).
const USER_HZ: f64 = 100.0;

impl ProcessStats {
    /// This process, from `/proc/self/{stat,status,fd}` and `/proc/stat`.
    pub fn read_self() -> anyhow::Result<Self> {
        let read = |p: &str| std::fs::read_to_string(p).with_context(|| format!("cannot read {p}"));
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .context("cannot list /proc/self/fd")?
            .count() as u64;
        Self::parse(
            &read("/proc/self/stat")?,
            &read("/proc/self/status")?,
            &read("/proc/stat")?,
            open_fds,
        )
    }

    /// From the texts of `/proc/<pid>/stat`, `/proc/<pid>/status` and `/proc/stat`.
    pub fn parse(
        stat: &str,
        status: &str,
        system_stat: &str,
        open_fds: u64,
    ) -> anyhow::Result<Self> {
        // The command name (field 2) is in parentheses and may hold spaces:
        // fields are counted after its closing parenthesis (field 3 = state).
        let after = stat
            .rfind(')')
            .map(|i| &stat[i + 1..])
            .context("/proc/self/stat: no ')' after the command name")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let field = |n: usize| -> anyhow::Result<f64> {
            fields
                .get(n - 3)
                .and_then(|v| v.parse::<f64>().ok())
                .with_context(|| format!("/proc/self/stat: field {n} missing or not a number"))
        };
        let cpu_seconds = (field(14)? + field(15)?) / USER_HZ;
        let started_ticks = field(22)?;
        let boot_time: f64 = system_stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
            .context("/proc/stat: no btime line")?;
        let resident_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("/proc/self/status: no VmRSS line")?;
        Ok(Self {
            cpu_seconds,
            resident_bytes: resident_kib * 1024,
            start_time_seconds: boot_time + started_ticks / USER_HZ,
            open_fds,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stats_parse_proc_texts() {
        // A command name with spaces and parentheses, as /proc prints it.
        let stat = "4242 (logpipe (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    250 130 0 0 20 0 6 0 123456 1000000 5000 18446744073709551615";
        let status = "Name:\tlogpipe\nVmPeak:\t  20000 kB\nVmRSS:\t   21504 kB\nThreads:\t6\n";
        let system = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let s = ProcessStats::parse(stat, status, system, 17).unwrap();
        assert_eq!(
            s,
            ProcessStats {
                cpu_seconds: 3.8,
                resident_bytes: 21504 * 1024,
                start_time_seconds: 1_700_000_000.0 + 1234.56,
                open_fds: 17,
            }
        );
    }

    #[test]
    fn process_stats_name_what_is_missing() {
        let e = ProcessStats::parse("1 (x) S 1", "VmRSS: 1 kB", "btime 1", 0).unwrap_err();
        assert!(e.to_string().contains("field 14"), "{e}");
        let full = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0";
        let e = ProcessStats::parse(full, "Name: x", "btime 1", 0).unwrap_err();
        assert!(e.to_string().contains("VmRSS"), "{e}");
        let e = ProcessStats::parse(full, "VmRSS: 1 kB", "cpu 1", 0).unwrap_err();
        assert!(e.to_string().contains("btime"), "{e}");
    }

    #[test]
    fn process_stats_of_this_process_are_plausible() {
        // Burn a little CPU so the counter has something to show.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        assert_ne!(x, 7);
        let s = ProcessStats::read_self().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(s.cpu_seconds > 0.0, "{s:?}");
        assert!(s.resident_bytes > 1024 * 1024, "{s:?}");
        assert!(s.open_fds >= 3, "{s:?}");
        // Started before now, and this test binary has not run for an hour.
        assert!(
            s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 3600.0,
            "{s:?} now {now}"
        );
    }
}
