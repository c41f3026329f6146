//! `logpipe demo`: the pipeline on an embedded default — an in-process Kafka
//! (librdkafka's mock cluster), every scenario generating into its own topic,
//! the processor aggregating server logs into the seed's `log_data` windows in
//! a local SQLite file, and a live view of both: events per scenario and per
//! level as read back from Kafka, and the latest windows as stored; the
//! archiver copies every topic into `.demo/archive` (`file://`). Needs no
//! external service. On exit it checks that every event Kafka acknowledged
//! was read back, that the stored windows count every server-logs event
//! exactly once, that the archive holds every (partition, offset) that
//! was produced exactly once, and runs the daily rollup: events are stamped
//! on a simulated clock from yesterday 12:00 UTC, so yesterday is a closed
//! day that `logpipe rollup` reconciles minute by minute (archive against
//! offsets and the processor's counts) into `daily_metrics`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use logpipe_archiver::ArchiveConfig;
use logpipe_core::config::{HumanDuration, KafkaProperties};
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::scenario::ScenarioKind;
use logpipe_generator::GenerateConfig;
use logpipe_processor::log_data::{self, LevelWindow};
use logpipe_processor::store::Store;
use logpipe_processor::ProcessConfig;
use logpipe_rollup::config::{Measure, MetricConfig, RollupConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{Message, Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

#[derive(clap::Args)]
pub struct Args {
    /// Stop after this long (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<HumanDuration>,
    /// server-logs events per second (the other scenarios run at a tenth of it).
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Serve Prometheus metrics on this address while the demo runs.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Directory for the demo's SQLite serving store (recreated on each run).
    #[arg(long, default_value = ".demo")]
    dir: PathBuf,
}

fn topic_of(kind: ScenarioKind) -> &'static str {
    match kind {
        ScenarioKind::ServerLogs => "logs",
        other => other.name(),
    }
}

#[derive(Default)]
struct Counts {
    per_scenario: BTreeMap<&'static str, u64>,
    per_level: BTreeMap<String, u64>,
    /// Per (topic, partition): records read back and the largest offset.
    per_partition: BTreeMap<(String, i32), (u64, i64)>,
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(listen) = args.metrics_listen {
        logpipe_core::metrics::install(listen, "demo")?;
    }
    let cluster =
        MockCluster::new(1).map_err(|e| anyhow::anyhow!("cannot start the embedded Kafka: {e}"))?;
    for kind in ScenarioKind::ALL {
        cluster
            .create_topic(topic_of(kind), PARTITIONS, 1)
            .map_err(|e| anyhow::anyhow!("cannot create topic {}: {e}", topic_of(kind)))?;
    }
    let mut kafka = KafkaProperties::default();
    kafka.set("bootstrap.servers", cluster.bootstrap_servers());
    eprintln!(
        "embedded Kafka at {} ({PARTITIONS} partitions per topic)",
        cluster.bootstrap_servers()
    );

    let shutdown = Shutdown::new();
    shutdown.on_signals()?;

    // The processor gets a store of its own per run: offsets stored against a
    // previous run's (now gone) embedded Kafka would be meaningless.
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("logpipe-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let database_url = format!("sqlite://{}", db.display());
    let process_config = ProcessConfig {
        database_url: database_url.clone(),
        group_id: "logpipe-demo-process".into(),
        ..ProcessConfig::default()
    };
    let mut process_kafka = kafka.clone();
    process_kafka.set("session.timeout.ms", "6000");
    let process_stop = Shutdown::new();
    let processor = tokio::spawn(logpipe_processor::run(
        process_config.clone(),
        process_kafka.clone(),
        process_stop.clone(),
        Notifier::from_env(),
    ));
    eprintln!("processor writing log_data windows to {}", db.display());
    // One reader for the live view and the final check, opened once the
    // processor has set the file up (opening it concurrently can hit a lock).
    let mut reader = WindowReader {
        url: database_url.clone(),
        store: None,
    };

    // The archiver: every topic into .demo/archive, committed by rename.
    let archive_dir = std::path::absolute(args.dir.join("archive"))?;
    let _ = std::fs::remove_dir_all(&archive_dir);
    // Yesterday 12:00 UTC: the events' simulated clock starts there, so the
    // rollup has a closed day to reconcile.
    let day = chrono::Utc::now()
        .date_naive()
        .pred_opt()
        .expect("yesterday");
    let start_time = day
        .and_hms_opt(12, 0, 0)
        .expect("noon")
        .and_utc()
        .timestamp() as f64;
    let mut archive_config = ArchiveConfig {
        url: format!("file://{}", archive_dir.display()),
        topics: ScenarioKind::ALL
            .iter()
            .map(|k| topic_of(*k).to_owned())
            .collect(),
        group_id: "logpipe-demo-archive".into(),
        ..ArchiveConfig::default()
    };
    archive_config.roll.max_age = HumanDuration::from_secs(10);
    archive_config.roll.idle_timeout = HumanDuration::from_secs(2);
    // Markers would put yesterday's events into today's directory (they are
    // older than the allowed lateness when they arrive).
    archive_config.completeness.markers = false;
    let archive_stop = Shutdown::new();
    let archiver = tokio::spawn(logpipe_archiver::run(
        archive_config.clone(),
        process_kafka.clone(),
        archive_stop.clone(),
        Notifier::from_env(),
    ));
    eprintln!("archiver writing every topic to {}", archive_config.url);

    let mut generators = Vec::new();
    for kind in ScenarioKind::ALL {
        let config = GenerateConfig {
            topic: topic_of(kind).into(),
            scenario: kind,
            rate: if kind == ScenarioKind::ServerLogs {
                args.rate
            } else {
                (args.rate / 10.0).max(1.0)
            },
            duration: args.duration,
            start_time: Some(start_time),
            ..GenerateConfig::default()
        };
        let run = logpipe_generator::run(
            config,
            kafka.clone(),
            shutdown.clone(),
            Notifier::from_env(),
        );
        generators.push((kind, tokio::spawn(run)));
    }

    let consumer: BaseConsumer = kafka
        .merged(&demo_consumer_props())
        .client_config()?
        .create()
        .map_err(|e| anyhow::anyhow!("cannot create demo consumer: {e}"))?;
    let mut assignment = TopicPartitionList::new();
    for kind in ScenarioKind::ALL {
        for p in 0..PARTITIONS {
            assignment.add_partition_offset(topic_of(kind), p, Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;

    let mut counts = Counts::default();
    let tty = std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut last_print = Instant::now();
    let mut generators_done = false;
    let mut delivered_total = 0u64;
    let mut quiet_since: Option<Instant> = None;
    loop {
        // Read what arrived; the consumer runs in this task, polled briefly.
        let mut got = 0;
        while let Some(msg) = consumer.poll(Duration::from_millis(if got == 0 { 50 } else { 0 })) {
            let msg = msg?;
            count(&mut counts, msg.topic(), msg.payload().unwrap_or_default());
            let seen = counts
                .per_partition
                .entry((msg.topic().to_owned(), msg.partition()))
                .or_insert((0, -1));
            seen.0 += 1;
            seen.1 = seen.1.max(msg.offset());
            got += 1;
            if got >= 50_000 {
                break;
            }
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            let windows = reader.latest(6).await.unwrap_or_default();
            print_table(&counts, &windows, started.elapsed(), tty);
            last_print = Instant::now();
        }
        if processor.is_finished() || archiver.is_finished() {
            break;
        }
        if !generators_done && generators.iter().all(|(_, h)| h.is_finished()) {
            generators_done = true;
            for (kind, handle) in generators.drain(..) {
                let summary = handle.await??;
                if summary.failed > 0 {
                    anyhow::bail!("{kind}: {} events were not delivered", summary.failed);
                }
                delivered_total += summary.delivered;
            }
        }
        if generators_done {
            // Drain what is still in flight, then stop once nothing new arrives.
            let consumed: u64 = counts.per_scenario.values().sum();
            if consumed >= delivered_total {
                break;
            }
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if got == 0 && since.elapsed() > Duration::from_secs(10) {
                break;
            }
            if got > 0 {
                quiet_since = None;
            }
        }
        tokio::task::yield_now().await;
    }

    // Let the processor catch up with every server-logs event, then stop it
    // (its drain commits the last batch) and check the stored windows.
    let server_logs = counts
        .per_scenario
        .get(ScenarioKind::ServerLogs.name())
        .copied()
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processor.is_finished() && Instant::now() < deadline {
        let windows = reader.latest(10_000).await.unwrap_or_default();
        if counted_once(&windows) >= server_logs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    process_stop.trigger();
    match tokio::time::timeout(Duration::from_secs(40), processor).await {
        Ok(joined) => joined??,
        Err(_) => anyhow::bail!("the processor did not stop within 40 s"),
    }
    archive_stop.trigger();
    match tokio::time::timeout(Duration::from_secs(70), archiver).await {
        Ok(joined) => joined??,
        Err(_) => anyhow::bail!("the archiver did not stop within 70 s"),
    }
    let archived = {
        let config = archive_config.clone();
        tokio::task::spawn_blocking(move || archive_check(&config)).await??
    };
    let windows = reader.latest(10_000).await?;
    reader.close().await;
    print_table(
        &counts,
        &windows[..windows.len().min(6)],
        started.elapsed(),
        tty,
    );

    let consumed: u64 = counts.per_scenario.values().sum();
    let aggregated = counted_once(&windows);
    let mut ok = true;
    if consumed == delivered_total {
        println!("Kafka acknowledged {delivered_total} events and all {consumed} were read back");
    } else {
        ok = false;
        println!(
            "FAILED: Kafka acknowledged {delivered_total} events but {consumed} were read back"
        );
    }
    if aggregated == server_logs {
        println!(
            "log_data windows in {} count all {aggregated} server-logs events exactly once",
            db.display()
        );
    } else {
        ok = false;
        println!("FAILED: log_data windows count {aggregated} server-logs events, Kafka holds {server_logs}");
    }
    let mut archive_problems = Vec::new();
    let mut files = 0;
    for ((topic, partition), (read, max_offset)) in &counts.per_partition {
        match archived.get(&(topic.clone(), *partition)) {
            Some(r) => {
                files += r.files;
                if !r.is_clean()
                    || r.first_offset != 0
                    || r.last_offset != *max_offset
                    || r.records != *read
                {
                    archive_problems.push(format!(
                        "{topic}[{partition}]: read {read} events (offsets 0..={max_offset}) but the archive holds {} in {} files, offsets {}..={}, gaps {:?}, overlaps {:?}",
                        r.records, r.files, r.first_offset, r.last_offset, r.gaps, r.overlaps
                    ));
                }
            }
            None => archive_problems.push(format!(
                "{topic}[{partition}]: {read} events read, none archived"
            )),
        }
    }
    if archive_problems.is_empty() {
        println!(
            "archive in {} holds every produced (partition, offset) exactly once: {consumed} events in {files} files",
            archive_dir.display()
        );
    } else {
        ok = false;
        for p in archive_problems {
            println!("FAILED: archive: {p}");
        }
    }
    match rollup(day, &database_url, &process_config, &archive_config).await? {
        logpipe_rollup::Outcome::Reconciled(rs) => {
            for r in rs {
                println!("rollup of {day}: {}: ok: {}", r.topic, r.detail());
            }
        }
        logpipe_rollup::Outcome::Mismatch(rs) => {
            ok = false;
            for r in rs {
                println!(
                    "{}rollup of {day}: {}: {}",
                    if r.ok() { "" } else { "FAILED: " },
                    r.topic,
                    r.detail()
                );
            }
        }
        logpipe_rollup::Outcome::Incomplete(missing) => {
            ok = false;
            println!(
                "FAILED: rollup of {day}: not complete: {}",
                missing.join("; ")
            );
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `logpipe rollup --date day` of every demo topic into the demo's SQLite
/// file: the day is over and the daemons have stopped, so nothing to wait for.
async fn rollup(
    day: chrono::NaiveDate,
    database_url: &str,
    process: &ProcessConfig,
    archive: &ArchiveConfig,
) -> anyhow::Result<logpipe_rollup::Outcome> {
    let config = RollupConfig {
        database_url: database_url.to_owned(),
        late_horizon: HumanDuration::from_secs(0),
        metric: vec![MetricConfig {
            name: "events_by_level".into(),
            topic: topic_of(ScenarioKind::ServerLogs).into(),
            group_by: vec!["level".into()],
            measure: Measure::Count,
        }],
        ..RollupConfig::default()
    };
    let job = logpipe_rollup::Job {
        topics: crate::rollup::topic_jobs(process, archive, &archive.topics),
        config,
        date: day,
        group_id: process.group_id.clone(),
        settle: Duration::ZERO,
        markers: false,
        wait: Duration::ZERO,
    };
    logpipe_rollup::run(job, crate::rollup::archive_source(archive)?).await
}

/// `archive verify` of every demo topic: per (topic, partition), what the
/// committed files hold.
fn archive_check(
    config: &ArchiveConfig,
) -> anyhow::Result<BTreeMap<(String, i32), logpipe_archiver::verify::PartitionReport>> {
    use logpipe_archiver::verify;
    let sink = logpipe_archiver::sink::open(config, tokio::runtime::Handle::current())?;
    let template = logpipe_archiver::path::PathTemplate::parse(&config.path)
        .map_err(|e| anyhow::anyhow!("archive.path: {e}"))?;
    let mut out = BTreeMap::new();
    for topic in &config.topics {
        let files = verify::list_files(sink.as_ref(), &template, topic)?;
        for r in verify::check(&files, |f| verify::count_records(sink.as_ref(), f))? {
            out.insert((topic.clone(), r.partition), r);
        }
    }
    Ok(out)
}

/// Reads `log_data` through one connection pool, opened on first use.
struct WindowReader {
    url: String,
    store: Option<Store>,
}

impl WindowReader {
    async fn latest(&mut self, limit: u32) -> anyhow::Result<Vec<LevelWindow>> {
        if self.store.is_none() {
            self.store = Some(Store::connect(&self.url, None).await?);
        }
        match &self.store {
            Some(store) => log_data::latest_windows(store, limit).await,
            None => Ok(Vec::new()),
        }
    }

    async fn close(self) {
        if let Some(store) = self.store {
            store.close().await;
        }
    }
}

/// Events in the stored windows, each counted once: the seed's windows are
/// 30 s long and slide by 15 s, so those starting on a 30 s boundary tile
/// event time without overlap.
fn counted_once(windows: &[LevelWindow]) -> u64 {
    windows
        .iter()
        .filter(|w| w.window_start.and_utc().timestamp() % 30 == 0)
        .map(|w| (w.debug + w.info + w.warn + w.error) as u64)
        .sum()
}

fn demo_consumer_props() -> KafkaProperties {
    let mut p = KafkaProperties::default();
    p.set("group.id", "logpipe-demo")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    p
}

fn count(counts: &mut Counts, topic: &str, payload: &[u8]) {
    let scenario = ScenarioKind::ALL
        .into_iter()
        .find(|k| topic_of(*k) == topic)
        .map_or("other", ScenarioKind::name);
    *counts.per_scenario.entry(scenario).or_default() += 1;
    if scenario == ScenarioKind::ServerLogs.name() {
        #[derive(serde::Deserialize)]
        struct Level<'a> {
            #[serde(borrow)]
            level: &'a str,
        }
        let level =
            serde_json::from_slice::<Level<'_>>(payload).map_or("(unparseable)", |l| l.level);
        match counts.per_level.get_mut(level) {
            Some(n) => *n += 1,
            None => {
                counts.per_level.insert(level.to_owned(), 1);
            }
        }
    }
}

fn print_table(counts: &Counts, windows: &[LevelWindow], elapsed: Duration, tty: bool) {
    let mut out = String::new();
    if tty {
        out.push_str("\x1b[2J\x1b[H");
    }
    out.push_str(&format!(
        "logpipe demo — {:.0}s — events read back from Kafka\n",
        elapsed.as_secs_f64()
    ));
    out.push_str("  per scenario:\n");
    for (k, n) in &counts.per_scenario {
        out.push_str(&format!("    {k:<18} {n:>10}\n"));
    }
    let levels: u64 = counts.per_level.values().sum();
    out.push_str("  server-logs per level:\n");
    for (k, n) in &counts.per_level {
        let pct = 100.0 * *n as f64 / levels.max(1) as f64;
        out.push_str(&format!("    {k:<18} {n:>10}  {pct:5.1} %\n"));
    }
    out.push_str("  log_data (processor → SQLite), latest windows:\n");
    out.push_str(
        "    window_start         window_end             debug     info     warn    error\n",
    );
    for w in windows {
        out.push_str(&format!(
            "    {}  {}  {:>7}  {:>7}  {:>7}  {:>7}\n",
            w.window_start.format("%Y-%m-%d %H:%M:%S"),
            w.window_end.format("%H:%M:%S"),
            w.debug,
            w.info,
            w.warn,
            w.error
        ));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}
