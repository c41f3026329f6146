//! The run's result for Prometheus: a batch job is not scraped, so it is
//! pushed to a Pushgateway (`POST /metrics/job/logpipe-rollup/instance/<host>`).
//! POST replaces only the metrics sent, so a failed run leaves
//! `logpipe_rollup_last_success_timestamp_seconds` of the last good run.

use std::fmt::Write as _;

use crate::reconcile::Reconciliation;

/// What one run reports.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub success: bool,
    /// Start of the day rolled up (UTC epoch seconds); `None` when the run
    /// failed before it knew.
    pub day_start: Option<i64>,
    pub duration_secs: f64,
    pub reconciliations: Vec<Reconciliation>,
}

/// The Prometheus text exposition of `report`.
pub fn render(report: &RunReport, now_secs: i64) -> String {
    let mut s = String::new();
    let mut gauge = |name: &str, help: &str, values: &[(String, f64)]| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, v) in values {
            let _ = writeln!(s, "{name}{labels} {v}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    gauge(
        "logpipe_rollup_last_run_timestamp_seconds",
        "When the last rollup run ended.",
        &one(now_secs as f64),
    );
    if report.success {
        gauge(
            "logpipe_rollup_last_success_timestamp_seconds",
            "When the last successful rollup run ended.",
            &one(now_secs as f64),
        );
    }
    gauge(
        "logpipe_rollup_success",
        "1 if the last rollup run reconciled its day, else 0.",
        &one(if report.success { 1.0 } else { 0.0 }),
    );
    if let Some(day) = report.day_start {
        gauge(
            "logpipe_rollup_day_timestamp_seconds",
            "Start of the day the last run rolled up (UTC).",
            &one(day as f64),
        );
    }
    gauge(
        "logpipe_rollup_duration_seconds",
        "Duration of the last rollup run.",
        &one(report.duration_secs),
    );
    let topic = |t: &str| escape(t);
    let per_topic = |value: fn(&Reconciliation) -> u64| {
        report
            .reconciliations
            .iter()
            .map(|r| {
                (
                    format!("{{topic=\"{}\"}}", topic(&r.topic)),
                    value(r) as f64,
                )
            })
            .collect::<Vec<_>>()
    };
    gauge(
        "logpipe_rollup_mismatched_minutes",
        "Minutes of the last day whose archive and processor counts differ.",
        &per_topic(|r| r.mismatched_minutes),
    );
    gauge(
        "logpipe_rollup_archive_problems",
        "The archive's own checks of the last day that failed, per topic: offset gaps (a lost file), offsets without records, markers that disagree.",
        &per_topic(Reconciliation::archive_problems),
    );
    let mut records = Vec::new();
    for r in &report.reconciliations {
        for (source, v) in [
            ("archive", r.archived),
            ("offsets", r.offsets),
            ("markers", r.marked),
            ("processor", r.streamed + r.late + r.rejected),
        ] {
            records.push((
                format!("{{topic=\"{}\",source=\"{source}\"}}", topic(&r.topic)),
                v as f64,
            ));
        }
    }
    gauge(
        "logpipe_rollup_records",
        "Events of the last day rolled up, by who counted them.",
        &records,
    );
    s
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The host name for the `instance` grouping label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Push `report` to the Pushgateway at `base`.
pub async fn push(base: &str, report: &RunReport) -> anyhow::Result<()> {
    let url = format!(
        "{}/metrics/job/logpipe-rollup/instance/{}",
        base.trim_end_matches('/'),
        hostname()
    );
    let body = render(report, chrono::Utc::now().timestamp());
    let resp = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?
        .post(&url)
        .header("Content-Type", "text/plain; version=0.0.4")
        .body(body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot push the rollup's metrics to {url}: {e}"))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        anyhow::bail!("the Pushgateway at {url} refused the rollup's metrics: {status} {text}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_does_not_overwrite_the_last_success() {
        let failed = render(&RunReport::default(), 100);
        assert!(!failed.contains("logpipe_rollup_last_success_timestamp_seconds"));
        assert!(failed.contains("logpipe_rollup_success 0\n"));
        let ok = render(
            &RunReport {
                success: true,
                reconciliations: vec![Reconciliation {
                    topic: "lo\"gs".into(),
                    archived: 3,
                    offsets: 3,
                    marked: 3,
                    streamed: 2,
                    late: 1,
                    rejected: 0,
                    unreadable: 0,
                    mismatched_minutes: 0,
                    processed: true,
                    problems: vec![],
                }],
                ..RunReport::default()
            },
            100,
        );
        assert!(ok.contains("logpipe_rollup_last_success_timestamp_seconds 100\n"));
        assert!(
            ok.contains("logpipe_rollup_records{topic=\"lo\\\"gs\",source=\"processor\"} 3\n"),
            "{ok}"
        );
    }
}
