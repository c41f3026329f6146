//! `logpipe rollup`: the daily batch. Wires the archiver's reader (sinks,
//! path template, formats) to the rollup through
//! [`logpipe_rollup::ArchiveSource`], and the processor's time field and
//! consumer group to the reconciliation, so neither daemon imports the other.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use logpipe_archiver::path::{local_seconds, PathTemplate, Zone};
use logpipe_archiver::sink::Sink;
use logpipe_archiver::verify;
use logpipe_archiver::ArchiveConfig;
use logpipe_core::archive::{SuccessMarker, SUCCESS_MARKER};
use logpipe_core::config::{HumanDuration, Validate, Validator};
use logpipe_processor::ProcessConfig;
use logpipe_rollup::push::{self, RunReport};
use logpipe_rollup::{
    ArchiveDir, ArchiveFile, ArchiveSource, Bucket, Job, Outcome, Scan, TopicJob,
};

use crate::config::Config;

/// sysexits' EX_TEMPFAIL: the day is not complete yet; try again later.
const EX_TEMPFAIL: u8 = 75;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (TOML) with `[rollup]`, and the `[archive]` (and
    /// `[process]`) sections of the daemons whose output it reads.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The day to roll up (YYYY-MM-DD, in the archive's time zone);
    /// default: yesterday there.
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
    /// How long to wait for the archive and the processor to cover the
    /// day (e.g. "2h", "0s"), overriding `[rollup] wait`.
    #[arg(long)]
    wait: Option<HumanDuration>,
    /// Topic to roll up (repeatable), overriding the config.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Pushgateway base URL, overriding `[rollup] pushgateway`.
    #[arg(long)]
    pushgateway: Option<String>,
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load_for(args.config.as_deref(), "rollup")?;
    let mut rollup = config.rollup.clone();
    if let Some(url) = &args.pushgateway {
        rollup.pushgateway = Some(url.clone());
    }
    // `--topic` picks some of the configured topics (metrics of the others
    // stay valid, they are just not computed this run). A wrong argument is
    // the caller's mistake, not a failed run: nothing is pushed for it.
    let (configured, from) = covered(&rollup, &config.archive);
    if let Some(t) = args.topics.iter().find(|t| !configured.contains(t)) {
        anyhow::bail!("--topic {t}: not a topic the rollup covers ({from} = {configured:?})");
    }
    // From here on every failure is a failed run, pushed as such (`run`
    // pushes its own outcome).
    let pushgateway = rollup.pushgateway.clone();
    let (job, source) = match prepare(&config, rollup, &args) {
        Ok(prepared) => prepared,
        Err(e) => {
            if let Some(url) = pushgateway {
                if let Err(failed) = push::push(&url, &RunReport::default()).await {
                    tracing::error!("{failed:#}");
                }
            }
            return Err(e);
        }
    };
    let date = job.date;
    let description = source.describe();
    match logpipe_rollup::run(job, source).await? {
        Outcome::Reconciled(rs) => {
            for r in &rs {
                println!("{date} {}: ok: {}", r.topic, r.detail());
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Mismatch(rs) => {
            for r in &rs {
                println!("{date} {}: {}: {}", r.topic, r.status(), r.detail());
            }
            eprintln!(
                "error: {date} does not reconcile (rows written to daily_reconciliation; \
                 `logpipe archive verify --date {date}` checks the archive's offsets)"
            );
            Ok(ExitCode::FAILURE)
        }
        Outcome::Incomplete(missing) => {
            eprintln!(
                "error: {date} is not complete in {description} or in the processor \
                 after waiting; missing:"
            );
            for m in &missing {
                eprintln!("  {m}");
            }
            Ok(ExitCode::from(EX_TEMPFAIL))
        }
    }
}

/// The topics the rollup covers, and the key that lists them:
/// `rollup.topics`, else every archived topic.
fn covered<'a>(
    rollup: &'a logpipe_rollup::RollupConfig,
    archive: &'a ArchiveConfig,
) -> (&'a [String], &'static str) {
    if rollup.topics.is_empty() {
        (&archive.topics, "archive.topics")
    } else {
        (&rollup.topics, "rollup.topics")
    }
}

/// The run's job and archive from the config (validated) and arguments.
fn prepare(
    config: &Config,
    mut rollup: logpipe_rollup::RollupConfig,
    args: &Args,
) -> anyhow::Result<(Job, Arc<dyn ArchiveSource>)> {
    let mut v = Validator::default();
    rollup.validate(&mut v);
    v.into_result()?;
    let archive = &config.archive;
    let zone =
        Zone::parse(&archive.time_zone).map_err(|e| anyhow::anyhow!("archive.time_zone: {e}"))?;
    if !args.topics.is_empty() {
        rollup.topics = args.topics.clone();
    }
    let topics = topic_jobs(&config.process, archive, covered(&rollup, archive).0);
    let group_id = if rollup.group_id.is_empty() {
        config.process.group_id.clone()
    } else {
        rollup.group_id.clone()
    };
    let date = args.date.unwrap_or_else(|| {
        let now = chrono::Utc::now().timestamp_millis();
        let today = chrono::DateTime::from_timestamp(local_seconds(now, zone, 0), 0)
            .expect("now is a valid time")
            .date_naive();
        today.pred_opt().expect("yesterday exists")
    });
    let job = Job {
        wait: args.wait.unwrap_or(rollup.wait).get(),
        config: rollup,
        date,
        topics,
        group_id,
        settle: archive.completeness.allowed_lateness.get(),
        markers: archive.completeness.markers,
    };
    if !job.markers {
        tracing::warn!(
            "archive.completeness.markers is off: the sensor can only go by the clock, \
             not by the archiver's _SUCCESS markers"
        );
    }
    Ok((job, archive_source(archive)?))
}

/// What to roll up of each topic: the processor's time field and
/// consumer group where it aggregates the topic, else the archive's time.
pub fn topic_jobs(
    process: &ProcessConfig,
    archive: &ArchiveConfig,
    topics: &[String],
) -> Vec<TopicJob> {
    topics
        .iter()
        .map(
            |t| match process.aggregation.iter().find(|a| &a.topic == t) {
                Some(a) => TopicJob {
                    topic: t.clone(),
                    time_field: a.time_field.clone(),
                    time_format: a.time_format,
                    processed: true,
                },
                None => TopicJob {
                    topic: t.clone(),
                    time_field: archive.time_field.clone(),
                    time_format: archive.time_format,
                    processed: false,
                },
            },
        )
        .collect()
}

/// The archive of `config`, read as the archiver wrote it (call within
/// the runtime: HDFS calls run on it).
pub fn archive_source(config: &ArchiveConfig) -> anyhow::Result<Arc<dyn ArchiveSource>> {
    let zone =
        Zone::parse(&config.time_zone).map_err(|e| anyhow::anyhow!("archive.time_zone: {e}"))?;
    let template =
        PathTemplate::parse(&config.path).map_err(|e| anyhow::anyhow!("archive.path: {e}"))?;
    let sink = logpipe_archiver::sink::open(config, tokio::runtime::Handle::current())?;
    Ok(Arc::new(Archive {
        sink,
        template,
        zone,
    }))
}

/// The archive as the archiver wrote it.
struct Archive {
    sink: Box<dyn Sink>,
    template: PathTemplate,
    zone: Zone,
}

impl ArchiveSource for Archive {
    fn describe(&self) -> String {
        self.sink.describe()
    }

    fn local_seconds(&self, utc_ms: i64) -> i64 {
        local_seconds(utc_ms, self.zone, 0)
    }

    fn scan(&self, topic: &str, from: i64, to: i64) -> anyhow::Result<Scan> {
        let mut scan = Scan::default();
        for d in verify::list_dirs(self.sink.as_ref(), &self.template, topic)? {
            let files: Vec<ArchiveFile> = d
                .files
                .into_iter()
                .map(|f| ArchiveFile {
                    path: f.path,
                    range: f.range,
                    bucket: d.bucket,
                })
                .collect();
            if let Some(bucket) = d.bucket.filter(|b| *b >= from && *b < to) {
                scan.dirs.push(ArchiveDir {
                    path: d.path,
                    bucket,
                    files: files.clone(),
                    marked: d.marked,
                });
            }
            scan.files.extend(files);
        }
        Ok(scan)
    }

    fn buckets(&self, topic: &str, from: i64, to: i64) -> Vec<Bucket> {
        let mut out = Vec::new();
        let mut start = self.template.bucket(from);
        while start < to {
            let Some(end) = self.template.next_bucket(start) else {
                break;
            };
            if start >= from {
                out.push(Bucket {
                    start,
                    end,
                    path: self.template.render(topic, 0, start),
                });
            }
            start = end;
        }
        out
    }

    fn marker(&self, dir: &ArchiveDir) -> anyhow::Result<SuccessMarker> {
        let path = format!("{}/{SUCCESS_MARKER}", dir.path);
        let raw = self.sink.read(&path)?;
        serde_json::from_slice(&raw)
            .with_context(|| format!("{path}: not a logpipe _SUCCESS marker"))
    }

    fn records(&self, file: &ArchiveFile) -> anyhow::Result<Vec<Vec<u8>>> {
        let f = verify::ArchivedFile {
            path: file.path.clone(),
            range: file.range.clone(),
            bucket: None,
        };
        Ok(verify::read_records(self.sink.as_ref(), &f)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn buckets_follow_the_path_template_whether_or_not_a_directory_exists() {
        let root = tempfile::tempdir().unwrap();
        let config: ArchiveConfig = toml::from_str(&format!(
            "url = \"file://{}\"\ntopics = [\"logs\"]\npath = \"%{{topic}}/dt=%Y-%m-%d/hr=%H\"\n",
            root.path().display()
        ))
        .unwrap();
        let source = archive_source(&config).unwrap();
        let day = 1_768_435_200; // 2026-01-15T00:00:00Z
        let got = source.buckets("logs", day + 22 * 3600, day + 86_400 + 3600);
        assert_eq!(
            got.iter().map(|b| b.path.as_str()).collect::<Vec<_>>(),
            [
                "logs/dt=2026-01-15/hr=22",
                "logs/dt=2026-01-15/hr=23",
                "logs/dt=2026-01-16/hr=00"
            ]
        );
        assert!(got.iter().all(|b| b.end == b.start + 3600));
    }
}
