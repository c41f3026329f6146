//! Benchmarks of `logpipe process`, driven by `bench/process/run.sh`:
//!
//! - `core`: decode + window + aggregate on one thread, server-logs events
//!   held in memory (no Kafka, no database).
//! - `gen`: write server-logs events as NDJSON files (input of `file` and of
//!   the Spark job).
//! - `file`: the seed aggregation over those files into MariaDB, with events/s
//!   and peak RSS, compared window by window with Spark's result.
//! - `e2e`: mock cluster → processor (a child process running this binary's
//!   `processor` mode, so its RSS is its own) → MariaDB; printed beside the
//!   raw consume rate of the same cluster; then produce-to-visible latency at
//!   a fixed rate.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use logpipe_bench::{free_port, paced_produce, peak_rss_mib, scrape, MOCK_FETCH};
use logpipe_core::config::{HumanDuration, KafkaProperties};
use logpipe_processor::pipeline::Pipeline;
use logpipe_processor::store::Store;
use logpipe_processor::ProcessConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

const MESSAGES: &[&str] = &[
    "User logged in successfully",
    "Database connection established",
    "Cache miss for key user_profile",
    "Request processed in 120ms",
    "Payment gateway timeout",
    "Disk usage above 80%",
    "Failed to connect to upstream service",
    "Scheduled job completed",
    "Invalid token presented",
    "Configuration reloaded",
];

/// Seed-shaped server-logs events: epoch seconds (float), level, message,
/// host, service; `per_second` events per second of event time.
fn events(n: usize, start: f64, per_second: f64) -> impl Iterator<Item = String> {
    let mut x: u64 = 0x9E3779B97F4A7C15;
    (0..n).map(move |i| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = match x % 100 {
            0..=14 => "DEBUG",
            15..=69 => "INFO",
            70..=89 => "WARN",
            _ => "ERROR",
        };
        let t = start + i as f64 / per_second;
        format!(
            r#"{{"timestamp": {t:.6}, "level": "{level}", "message": "{}", "host": "web-{:02}", "service": "{}"}}"#,
            MESSAGES[(x >> 8) as usize % MESSAGES.len()],
            (x >> 16) % 12,
            ["auth", "api", "billing", "search"][(x >> 24) as usize % 4]
        )
    })
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

/// When this process started, for whole-process timings.
static PROCESS_STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn main() -> anyhow::Result<()> {
    PROCESS_STARTED.get_or_init(Instant::now);
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("core") => core(arg(&args, "--events", "3000000").parse()?),
        Some("gen") => gen(Path::new(&arg(&args, "--out", "bench/process/data")), arg(&args, "--events", "2000000").parse()?),
        Some("file") => runtime().block_on(file(
            Path::new(&arg(&args, "--input", "bench/process/data")),
            &arg(&args, "--database-url", "mysql://root@127.0.0.1:3306/lp_bench_file"),
            args.iter().position(|a| a == "--spark").map(|i| PathBuf::from(&args[i + 1])),
        )),
        Some("e2e") => runtime().block_on(e2e(
            arg(&args, "--events", "2000000").parse()?,
            &arg(&args, "--database-url", "mysql://root@127.0.0.1:3306/lp_bench_e2e"),
        )),
        Some("processor") => runtime().block_on(processor(
            &arg(&args, "--bootstrap", ""),
            &arg(&args, "--database-url", ""),
            arg(&args, "--metrics-port", "0").parse()?,
        )),
        _ => anyhow::bail!("usage: process-bench core|gen|file|e2e [--events N] [--database-url URL] [--input DIR] [--spark RESULT.json]"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Decode + window + aggregate, one thread.
fn core(n: usize) -> anyhow::Result<()> {
    let input: Vec<Vec<u8>> = events(n, 1_712_000_000.0, 2_000.0)
        .map(String::into_bytes)
        .collect();
    let bytes: usize = input.iter().map(Vec::len).sum();
    let mut p = Pipeline::new(&ProcessConfig::default());
    p.assign(0, 0, None, &[]);
    let started = Instant::now();
    let mut rows = 0;
    for (i, e) in input.iter().enumerate() {
        p.process(0, 0, i as i64, Some(e));
        if i % 500_000 == 499_999 {
            rows += p.cut().aggregates.iter().map(|a| a.1.len()).sum::<usize>();
        }
    }
    rows += p.cut().aggregates.iter().map(|a| a.1.len()).sum::<usize>();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "core path (decode + 30s/15s windows + counts per level, 1 thread): {n} events ({:.0} B avg) in {secs:.2} s = {:.0} events/s (target ≥ 1,500,000); {rows} window deltas",
        bytes as f64 / n as f64,
        n as f64 / secs
    );
    Ok(())
}

fn gen(dir: &Path, n: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let files = 20;
    let per_file = n.div_ceil(files);
    let mut all = events(n, 1_712_000_000.0, 2_000.0);
    for f in 0..files {
        let path = dir.join(format!("part-{f:03}.json"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for e in all.by_ref().take(per_file) {
            writeln!(w, "{e}")?;
        }
    }
    println!("wrote {n} events in {files} files to {}", dir.display());
    Ok(())
}

async fn fresh_database(url: &str) -> anyhow::Result<()> {
    let (server, db) = url
        .rsplit_once('/')
        .context("database URL without a database")?;
    let store = Store::connect(&format!("{server}/mysql"), None).await?;
    if let Store::MySql(pool) = &store {
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{db}`"))
            .execute(pool)
            .await?;
    }
    store.close().await;
    Ok(())
}

/// The seed job over NDJSON files into MariaDB, compared with Spark.
async fn file(dir: &Path, url: &str, spark: Option<PathBuf>) -> anyhow::Result<()> {
    fresh_database(url).await?;
    let config = ProcessConfig {
        database_url: url.into(),
        ..ProcessConfig::default()
    };
    let mut p = Pipeline::new(&config);
    let schema = p.schema();
    let store = Store::connect(url, None).await?;
    store.prepare(&schema).await?;
    p.assign(0, 0, None, &[]);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let started = Instant::now();
    let mut offset = 0i64;
    let mut line = Vec::new();
    for f in &files {
        let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(f)?);
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let event = line.strip_suffix(b"\n").unwrap_or(&line);
            p.process(0, 0, offset, Some(event));
            offset += 1;
        }
        // One commit per input file, like one micro-batch per file in Spark.
        store
            .commit(&config.group_id, &schema, &p.cut())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    let process_secs = PROCESS_STARTED
        .get()
        .map_or(secs, |t| t.elapsed().as_secs_f64());
    let rss = peak_rss_mib(None);
    let rows = logpipe_processor::log_data::latest_windows(&store, 1_000_000).await?;
    store.close().await;
    let ours: BTreeMap<i64, [i64; 4]> = rows
        .iter()
        .map(|w| {
            (
                w.window_start.and_utc().timestamp(),
                [w.debug, w.info, w.warn, w.error],
            )
        })
        .collect();
    let rate = offset as f64 / secs;
    let process_rate = offset as f64 / process_secs;
    println!("logpipe (file input → MariaDB): {offset} events in {secs:.2} s = {rate:.0} events/s ({process_rate:.0}/s whole process), peak RSS {rss:.1} MiB, {} rows for {} windows", rows.len(), ours.len());
    let Some(spark) = spark else { return Ok(()) };
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&spark)?)?;
    let spark_rate = s["events_per_s"].as_f64().unwrap_or(0.0);
    let spark_process_rate = s["events"].as_f64().unwrap_or(0.0)
        / s["process_seconds"].as_f64().unwrap_or(f64::INFINITY);
    let spark_rss = s["peak_rss_mib"].as_f64().unwrap_or(0.0);
    let mut theirs: BTreeMap<i64, [i64; 4]> = BTreeMap::new();
    for (start, levels) in s["windows"]
        .as_object()
        .context("spark result without windows")?
    {
        let counts = theirs.entry(start.parse()?).or_default();
        for (i, l) in ["DEBUG", "INFO", "WARN", "ERROR"].iter().enumerate() {
            counts[i] = levels[l].as_i64().unwrap_or(0);
        }
    }
    println!(
        "Spark Structured Streaming (local[2], file source, update mode): {} events in {:.2} s = {spark_rate:.0} events/s ({spark_process_rate:.0}/s whole process, JVM start included), peak RSS {spark_rss:.1} MiB (JVM), {} rows written for {} windows (up to {} rows per window)",
        s["events"], s["seconds"].as_f64().unwrap_or(0.0), s["rows_written"], theirs.len(), s["max_rows_per_window"]
    );
    println!(
        "ratio: logpipe {:.1}× Spark's events/s whole process (target ≥ 10×; {:.1}× counting only the query, not start-up), {:.1}× less memory (target ≥ 10×); windows agree: {}",
        process_rate / spark_process_rate,
        rate / spark_rate,
        spark_rss / rss,
        ours == theirs
    );
    anyhow::ensure!(
        ours == theirs,
        "window counts differ between logpipe and Spark"
    );
    Ok(())
}

fn kafka_props(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    k.set("bootstrap.servers", bootstrap)
        .set("session.timeout.ms", "6000")
        .set("reconnect.backoff.max.ms", "1000");
    for (key, value) in MOCK_FETCH {
        k.set(key, *value);
    }
    k
}

/// The processor alone (child process of `e2e`).
async fn processor(bootstrap: &str, url: &str, metrics_port: u16) -> anyhow::Result<()> {
    logpipe_core::init_logging();
    // /metrics as `logpipe process` serves it: the driver paces on it.
    logpipe_core::metrics::install(([127, 0, 0, 1], metrics_port).into(), "process")?;
    let config = ProcessConfig {
        database_url: url.into(),
        // Short commits keep the processor's lag under the mock broker's
        // retention (see MAX_LAG); production keeps the 1 s default.
        commit_interval: HumanDuration::from_millis(100),
        ..ProcessConfig::default()
    };
    let shutdown = logpipe_core::Shutdown::new();
    shutdown.on_signals()?;
    logpipe_processor::run(
        config,
        kafka_props(bootstrap),
        shutdown,
        logpipe_core::systemd::Notifier::from_env(),
    )
    .await
}

/// How far a reader may trail the producer, in events, for both readers.
/// librdkafka's mock broker keeps only ~5 MB per partition and silently
/// drops older messages, so the producer is paced to stay at most this far
/// ahead of what was read (3 partitions × 20k × ~130 B ≈ 2.6 MB each).
///
/// The processor's progress is what it has read (`events_in_total`, which
/// trails reading by ≤ 1024 messages), not what it has committed: paced on
/// its commits to MariaDB, which trail reading by the commit interval, the
/// end-to-end rate was 433k–446k events/s whatever the processor did (60k
/// per ~140 ms of feedback).
const MAX_LAG: i64 = 60_000;
const PARTITIONS: i32 = 3;

/// The ceiling: the same paced stream read by a bare consumer (assigned, no
/// group, nothing done per message). Returns messages per second.
fn raw_consume(bootstrap: &str, n: usize) -> anyhow::Result<f64> {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "raw-consume")
        .set("enable.auto.commit", "false");
    for (key, value) in MOCK_FETCH {
        config.set(*key, *value);
    }
    let c: BaseConsumer = config.create()?;
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset("raw", p, rdkafka::Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let progress = Arc::new(AtomicI64::new(0));
    let (bs, pr) = (bootstrap.to_owned(), progress.clone());
    let started = Instant::now();
    let producer = std::thread::spawn(move || {
        paced_produce(
            &bs,
            "raw",
            PARTITIONS,
            events(n, 1_712_000_000.0, 2_000.0),
            &pr,
            MAX_LAG,
        )
    });
    let mut got = 0i64;
    while got < n as i64 {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => {
                got += 1;
                if got % 1024 == 0 {
                    progress.store(got, Ordering::Relaxed);
                }
            }
            Some(Err(e)) => anyhow::bail!("raw consumer: {e}"),
            None => progress.store(got, Ordering::Relaxed),
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    producer.join().expect("producer thread")?;
    Ok(rate)
}

/// Events counted once in the stored `log_data` windows (the 30 s windows
/// starting on a 30 s boundary tile event time without overlap).
async fn aggregated_events(store: &Store) -> i64 {
    let Store::MySql(pool) = store else { return 0 };
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT CAST(SUM(debug_count + info_count + warn_count + error_count) AS SIGNED) FROM log_data \
         WHERE MOD(TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', window_start), 30) = 0",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

async fn committed(store: &Store) -> i64 {
    let Store::MySql(pool) = store else { return 0 };
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT CAST(SUM(next_offset) AS SIGNED) FROM logpipe_offsets",
    )
    .fetch_one(pool)
    .await
    .ok()
    .flatten()
    .unwrap_or(0)
}

async fn e2e(n: usize, url: &str) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    fresh_database(url).await?;
    let cluster = MockCluster::new(1)?;
    let partitions = PARTITIONS;
    for topic in ["logs", "raw"] {
        cluster.create_topic(topic, PARTITIONS, 1)?;
    }
    cluster.create_topic("logs.dlq", 1, 1)?;
    let bootstrap = cluster.bootstrap_servers();
    let raw = raw_consume(&bootstrap, n)?;
    eprintln!("raw consume (paced stream): {raw:.0} msg/s");

    let exe = std::env::current_exe()?;
    let metrics_port = free_port()?;
    let mut child = std::process::Command::new(&exe)
        .args([
            "processor",
            "--bootstrap",
            &bootstrap,
            "--database-url",
            url,
            "--metrics-port",
            &metrics_port.to_string(),
        ])
        .env(
            "RUST_LOG",
            std::env::var("LP_CHILD_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()?;
    let pid = child.id();
    // Warm up: one event per partition, committed once the group has formed.
    let warm_up = PARTITIONS as i64;
    let none = AtomicI64::new(0);
    paced_produce(
        &bootstrap,
        "logs",
        PARTITIONS,
        events(warm_up as usize, 1_711_990_000.0, 2_000.0),
        &none,
        MAX_LAG,
    )?;
    let store = loop {
        if let Ok(s) = Store::connect(url, None).await {
            if committed(&s).await >= warm_up {
                break s;
            }
            s.close().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("processor {pid} consuming");

    let progress = Arc::new(AtomicI64::new(0));
    let (bs, pr) = (bootstrap.clone(), progress.clone());
    let started = Instant::now();
    let producer = std::thread::spawn(move || {
        paced_produce(
            &bs,
            "logs",
            PARTITIONS,
            events(n, 1_712_000_000.0, 2_000.0),
            &pr,
            MAX_LAG,
        )
    });
    let mut peak = 0.0f64;
    // Paced on what the processor has read; done when all is committed.
    loop {
        let read = scrape(metrics_port, "logpipe_process_events_in_total").unwrap_or(0.0) as i64;
        progress.store(read - warm_up, Ordering::Relaxed);
        peak = peak.max(peak_rss_mib(Some(pid)));
        if read - warm_up >= n as i64 && committed(&store).await - warm_up >= n as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    producer.join().expect("producer thread")?;
    let counted = aggregated_events(&store).await;
    if counted != n as i64 + warm_up {
        anyhow::bail!(
            "log_data counts {counted} events, {} were produced: events were lost or counted twice",
            n as i64 + warm_up
        );
    }
    println!(
        "end to end (mock cluster → processor → MariaDB, {partitions} partitions, producer paced ≤ {MAX_LAG} events ahead): \
         {n} events, {rate:.0} events/s (target ≥ 400,000), peak RSS {peak:.1} MiB (target ≤ 150), \
         log_data counts every event once | raw consume of the same paced stream: {raw:.0} msg/s"
    );

    // Latency: 50,000 events/s for 20 s; visible = offsets committed past the event.
    let rate_eps = 50_000usize;
    let seconds = 20;
    let lat_n = rate_eps * seconds;
    let base = committed(&store).await;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::with_capacity(lat_n)));
    let sent2 = sent.clone();
    let bs = bootstrap.clone();
    let producer_thread = std::thread::spawn(move || -> anyhow::Result<()> {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", &bs)
            .set("linger.ms", "5")
            .create()?;
        let t0 = Instant::now();
        for (i, e) in events(lat_n, 1_712_100_000.0, 2_000.0).enumerate() {
            let due = Duration::from_secs_f64(i as f64 / rate_eps as f64);
            if let Some(wait) = due.checked_sub(t0.elapsed()) {
                std::thread::sleep(wait);
            }
            let rec = BaseRecord::<(), str>::to("logs")
                .partition(i as i32 % partitions)
                .payload(e.as_str());
            if producer.send(rec).is_err() {
                anyhow::bail!("producer queue full at 50k/s");
            }
            sent2.lock().unwrap().push(Instant::now());
        }
        producer.flush(Duration::from_secs(30))?;
        Ok(())
    });
    let mut visible: Vec<(i64, Instant)> = Vec::new();
    loop {
        let c = committed(&store).await - base;
        visible.push((c, Instant::now()));
        if c >= lat_n as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    producer_thread.join().expect("producer thread")?;
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    // Partitions advance together (round-robin), so the sum of offsets is a
    // good per-event visibility bound: event i is visible once the sum passes i + partitions.
    let mut lat: Vec<f64> = Vec::with_capacity(lat_n);
    let mut j = 0;
    for (i, t) in sent.iter().enumerate() {
        while j < visible.len() && visible[j].0 < (i as i64 + partitions as i64).min(lat_n as i64) {
            j += 1;
        }
        if j < visible.len() {
            lat.push(visible[j].1.saturating_duration_since(*t).as_secs_f64());
        }
    }
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "latency at {rate_eps} events/s for {seconds} s (produce → visible in MariaDB): p50 {:.3} s, p99 {:.3} s (target ≤ 2 s), max {:.3} s",
        p(0.5),
        p(0.99),
        lat[lat.len() - 1]
    );
    // SIGTERM: the processor drains and commits, then exits.
    std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()?;
    let _ = child.wait();
    store.close().await;
    Ok(())
}
