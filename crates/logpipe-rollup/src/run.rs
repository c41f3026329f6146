//! One rollup run: sensor → read the day → metrics and reconciliation →
//! one transaction → push.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDate;
use logpipe_core::archive::SuccessMarker;
use logpipe_core::event_time::{self, TimeFormat, TimeValue};
use serde_json::Value;

use crate::config::{MetricConfig, RollupConfig};
use crate::daily::{DailyMetrics, MetricRow};
use crate::push::{self, RunReport};
use crate::reconcile::{self, ArchiveCounts, Reconciliation};
use crate::sensor::{self, DayWindow, TopicState};
use crate::source::{self, ArchiveDir, ArchiveFile, ArchiveSource, Bucket, OffsetGap};
use crate::store::Store;

/// One topic to roll up.
#[derive(Debug, Clone)]
pub struct TopicJob {
    pub topic: String,
    /// The event time the processor counts by (its first aggregation of
    /// the topic), else the archive's.
    pub time_field: String,
    pub time_format: TimeFormat,
    /// The processor aggregates this topic: reconcile against its counts.
    pub processed: bool,
}

/// Everything a run needs besides the archive.
#[derive(Debug, Clone)]
pub struct Job {
    pub config: RollupConfig,
    pub date: NaiveDate,
    pub topics: Vec<TopicJob>,
    pub group_id: String,
    /// How long after a directory's end the archiver may still add to it
    /// (its allowed lateness).
    pub settle: Duration,
    /// The archive writes `_SUCCESS` markers (else the sensor goes by the
    /// clock alone).
    pub markers: bool,
    /// Sensor timeout (`[rollup] wait`, or `--wait`).
    pub wait: Duration,
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every topic reconciled.
    Reconciled(Vec<Reconciliation>),
    /// Rows written, but at least one topic did not reconcile.
    Mismatch(Vec<Reconciliation>),
    /// The archive or the processor did not cover the day within the wait.
    Incomplete(Vec<String>),
}

/// Minutes of the processor's table read around a day: wide enough for
/// any time zone's offset.
const ZONE_MARGIN: i64 = 15 * 3600;

/// Run `job` and push how it ended, whatever the end: a reconciled day, a
/// mismatch, an incomplete day and an error (the database or the archive
/// unreachable, say) all push `logpipe_rollup_success`, so an alert on it
/// sees every failed run, not only the mismatches.
pub async fn run(job: Job, source: Arc<dyn ArchiveSource>) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let window = DayWindow::new(job.date, job.config.late_horizon.get().as_secs() as i64);
    let day_start = utc_of_local(source.as_ref(), window.from);
    let result = roll_up(&job, source, window, day_start).await;
    let report = RunReport {
        success: matches!(result, Ok(Outcome::Reconciled(_))),
        day_start: Some(day_start),
        duration_secs: started.elapsed().as_secs_f64(),
        reconciliations: match &result {
            Ok(Outcome::Reconciled(rs) | Outcome::Mismatch(rs)) => rs.clone(),
            Ok(Outcome::Incomplete(_)) | Err(_) => Vec::new(),
        },
    };
    if let Some(url) = &job.config.pushgateway {
        // A failed push is logged, not fatal: the day's rows are written.
        if let Err(e) = push::push(url, &report).await {
            tracing::error!("{e:#}");
        }
    }
    result
}

async fn roll_up(
    job: &Job,
    source: Arc<dyn ArchiveSource>,
    window: DayWindow,
    day_start_utc: i64,
) -> anyhow::Result<Outcome> {
    let password = match &job.config.database_password_file {
        Some(s) => Some(s.read()?),
        None => None,
    };
    let store = Store::open(&job.config.database_url, password.as_deref()).await?;
    let deadline = Instant::now() + job.wait;

    // Sensor. The archive must get past what the processor had read when
    // the rollup started.
    let mut at_start = Vec::new();
    for t in &job.topics {
        at_start.push(if t.processed {
            Some(store.processor_offsets(&job.group_id, &t.topic).await?)
        } else {
            None
        });
    }
    let listing = loop {
        let listing = list(&source, job, window).await?;
        let mut missing = Vec::new();
        let now_local = source.local_seconds(chrono::Utc::now().timestamp_millis());
        for ((t, l), at_start) in job.topics.iter().zip(&listing).zip(&at_start) {
            let offsets = if t.processed {
                Some(store.processor_offsets(&job.group_id, &t.topic).await?)
            } else {
                None
            };
            missing.extend(sensor::missing(
                now_local,
                job.settle.as_secs() as i64,
                window,
                job.markers,
                &TopicState {
                    topic: &t.topic,
                    dirs: &l.dirs,
                    markers: &l.markers,
                    expected: &l.expected,
                    processor: offsets.as_ref(),
                    processor_at_start: at_start.as_ref(),
                    archive_last: &source::last_offsets(&l.files),
                    group_id: &job.group_id,
                },
            ));
        }
        if missing.is_empty() {
            break listing;
        }
        let now = Instant::now();
        if now >= deadline {
            store.close().await;
            return Ok(Outcome::Incomplete(missing));
        }
        tracing::info!(
            day = %job.date,
            first = %missing[0],
            missing = missing.len(),
            "waiting for the archive and the processor to cover the day"
        );
        tokio::time::sleep(job.config.poll_interval.get().min(deadline - now)).await;
    };

    // Read the day and reconcile.
    let mut metrics: Vec<MetricRow> = Vec::new();
    let mut reconciliations = Vec::new();
    let all_metrics = job.config.metrics_for(
        &job.topics
            .iter()
            .map(|t| t.topic.clone())
            .collect::<Vec<_>>(),
    );
    for (t, l) in job.topics.iter().zip(listing) {
        let (counts, rows) = {
            let (source, t, all_metrics) = (source.clone(), t.clone(), all_metrics.clone());
            let markers_on = job.markers;
            tokio::task::spawn_blocking(move || {
                read_topic(source.as_ref(), &t, window, &l, markers_on, &all_metrics)
            })
            .await??
        };
        let processed = if t.processed {
            let minutes = store
                .processed_minutes(
                    &job.group_id,
                    &t.topic,
                    day_start_utc - ZONE_MARGIN,
                    day_start_utc + 86_400 + ZONE_MARGIN,
                )
                .await?;
            Some(
                minutes
                    .into_iter()
                    .filter(|(m, _)| in_day(source.as_ref(), window, *m))
                    .collect::<BTreeMap<_, _>>(),
            )
        } else {
            None
        };
        let r = reconcile::reconcile(&t.topic, &counts, processed.as_ref());
        if r.ok() {
            tracing::info!(topic = %t.topic, day = %job.date, "{}", r.detail());
        } else {
            tracing::error!(topic = %t.topic, day = %job.date, "reconciliation failed: {}", r.detail());
        }
        metrics.extend(rows);
        reconciliations.push(r);
    }
    let topics: Vec<String> = job.topics.iter().map(|t| t.topic.clone()).collect();
    store
        .replace_day(job.date, &topics, &metrics, &reconciliations)
        .await?;
    store.close().await;
    Ok(if reconciliations.iter().all(Reconciliation::ok) {
        Outcome::Reconciled(reconciliations)
    } else {
        Outcome::Mismatch(reconciliations)
    })
}

/// What one walk found of a topic.
struct TopicListing {
    /// The directories of the day and its late horizon, by bucket.
    dirs: Vec<ArchiveDir>,
    /// Their markers (read only with markers on).
    markers: Vec<Option<SuccessMarker>>,
    /// The buckets that must be marked (with markers on).
    expected: Vec<Bucket>,
    /// Every committed file of the topic.
    files: Vec<ArchiveFile>,
}

/// One walk of each topic's archive.
async fn list(
    source: &Arc<dyn ArchiveSource>,
    job: &Job,
    window: DayWindow,
) -> anyhow::Result<Vec<TopicListing>> {
    let source = source.clone();
    let topics: Vec<String> = job.topics.iter().map(|t| t.topic.clone()).collect();
    let markers_on = job.markers;
    tokio::task::spawn_blocking(move || {
        topics
            .iter()
            .map(|t| {
                let scan = source
                    .scan(t, window.from, window.horizon_to)
                    .with_context(|| format!("cannot list the archive of topic {t}"))?;
                let mut dirs = scan.dirs;
                dirs.sort_by_key(|d| d.bucket);
                let expected = match dirs.first() {
                    Some(first) if markers_on => sensor::expected_buckets(
                        window,
                        &dirs,
                        source.buckets(t, first.bucket, window.horizon_to),
                    ),
                    _ => Vec::new(),
                };
                let markers = dirs
                    .iter()
                    .map(|d| {
                        (markers_on && d.marked)
                            .then(|| source.marker(d))
                            .transpose()
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(TopicListing {
                    dirs,
                    markers,
                    expected,
                    files: scan.files,
                })
            })
            .collect()
    })
    .await?
}

/// The UTC instant of template time `local` (to the minute; zones that
/// shift by other than whole minutes do not exist).
fn utc_of_local(source: &dyn ArchiveSource, local: i64) -> i64 {
    // offset = local(utc) - utc; iterate once for zones with DST.
    let mut utc = local;
    for _ in 0..2 {
        let offset = source.local_seconds(utc * 1000) - utc;
        utc = local - offset;
    }
    utc
}

fn in_day(source: &dyn ArchiveSource, window: DayWindow, minute_start: i64) -> bool {
    let l = source.local_seconds(minute_start * 1000);
    l >= window.from && l < window.to
}

/// Read a topic's directories: archive counts of the day and its metrics.
fn read_topic(
    source: &dyn ArchiveSource,
    t: &TopicJob,
    window: DayWindow,
    listing: &TopicListing,
    markers_on: bool,
    metrics: &[MetricConfig],
) -> anyhow::Result<(ArchiveCounts, Vec<MetricRow>)> {
    let mut counts = ArchiveCounts::default();
    // A gap next to a file of the day, or between a file before the day's
    // end and one after its start: likely the day's lost file.
    let day_files: BTreeSet<&str> = listing
        .dirs
        .iter()
        .filter(|d| d.bucket < window.to)
        .flat_map(|d| d.files.iter().map(|f| f.path.as_str()))
        .collect();
    let of_day = |g: &OffsetGap| {
        day_files.contains(g.before.path.as_str())
            || day_files.contains(g.after.path.as_str())
            || (g.before.bucket.is_some_and(|b| b < window.to)
                && g.after.bucket.is_some_and(|b| b >= window.from))
    };
    counts.gaps = source::gaps(&listing.files)
        .iter()
        .filter(|g| of_day(g))
        .map(OffsetGap::describe)
        .collect();
    let mut daily = DailyMetrics::new(&t.topic, metrics);
    // With markers on, the sensor saw one in every directory.
    let mut marked = markers_on.then_some(0);
    for (dir, marker) in listing.dirs.iter().zip(&listing.markers) {
        let in_day_dir = dir.bucket < window.to;
        if let (true, Some(m), Some(sum)) = (in_day_dir, marker, marked.as_mut()) {
            *sum += m.partitions.values().map(|p| p.records).sum::<u64>();
        }
        for file in &dir.files {
            let records = source
                .records(file)
                .with_context(|| format!("cannot read {}", file.path))?;
            if in_day_dir {
                counts.archived += records.len() as u64;
                counts.offsets += file.range.len();
            }
            for rec in &records {
                let event = match serde_json::from_slice::<Value>(rec) {
                    Ok(Value::Object(o)) => o,
                    _ => {
                        counts.unreadable += in_day_dir as u64;
                        continue;
                    }
                };
                let Some(ms) = event_time(&event, t, file.range.ext == "parquet") else {
                    counts.unreadable += in_day_dir as u64;
                    continue;
                };
                let minute = ms.div_euclid(60_000) * 60;
                // (a record of another day archived here counts for that day)
                if in_day(source, window, minute) {
                    *counts.per_minute.entry(minute).or_default() += 1;
                    daily.add(&event);
                }
            }
        }
    }
    counts.marked = marked;
    Ok((counts, daily.rows()))
}

/// The event time of a record, in the processor's format. A Parquet
/// file's typed timestamp column is read back as RFC 3339 text (the value
/// the archiver parsed, whatever format it came in), so for Parquet that
/// is tried too.
fn event_time(event: &serde_json::Map<String, Value>, t: &TopicJob, parquet: bool) -> Option<i64> {
    let v = event.get(&t.time_field)?;
    let tv = match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => TimeValue::Int(i),
            None => TimeValue::Float(n.as_f64()?),
        },
        Value::String(s) => TimeValue::Str(s),
        _ => return None,
    };
    event_time::parse(tv, t.time_format, &t.time_field)
        .or_else(|e| match tv {
            TimeValue::Str(_) if parquet => {
                event_time::parse(tv, TimeFormat::Rfc3339, &t.time_field)
            }
            _ => Err(e),
        })
        .ok()
}
