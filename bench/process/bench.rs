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

fn peak_rss_mib(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let status = std::fs::read_to_string(path).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn main() -> anyhow::Result<()> {
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
        Some("processor") => runtime().block_on(processor(&arg(&args, "--bootstrap", ""), &arg(&args, "--database-url", ""))),
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
    let rss = peak_rss_mib(None);
    let rows = store.latest_windows(1_000_000).await?;
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
    println!("logpipe (file input → MariaDB): {offset} events in {secs:.2} s = {rate:.0} events/s, peak RSS {rss:.1} MiB, {} rows for {} windows", rows.len(), ours.len());
    let Some(spark) = spark else { return Ok(()) };
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&spark)?)?;
    let spark_rate = s["events_per_s"].as_f64().unwrap_or(0.0);
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
        "Spark Structured Streaming (local[2], file source, update mode): {} events in {:.2} s = {spark_rate:.0} events/s, peak RSS {spark_rss:.1} MiB (JVM), {} rows written for {} windows (up to {} rows per window)",
        s["events"], s["seconds"].as_f64().unwrap_or(0.0), s["rows_written"], theirs.len(), s["max_rows_per_window"]
    );
    println!(
        "ratio: logpipe {:.1}× Spark's events/s (target ≥ 10×), {:.1}× less memory (target ≥ 10×); windows agree: {}",
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
    k
}

/// The processor alone (child process of `e2e`).
async fn processor(bootstrap: &str, url: &str) -> anyhow::Result<()> {
    let config = ProcessConfig {
        database_url: url.into(),
        commit_interval: HumanDuration::from_millis(500),
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

fn produce_all(bootstrap: &str, n: usize, partitions: i32, start: f64) -> anyhow::Result<()> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "2000000")
        .create()?;
    for (i, e) in events(n, start, 2_000.0).enumerate() {
        let mut rec = BaseRecord::<(), str>::to("logs")
            .partition(i as i32 % partitions)
            .payload(e.as_str());
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

fn raw_consume(bootstrap: &str, n: usize) -> anyhow::Result<f64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "raw-consume")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    c.subscribe(&["logs"])?;
    let mut got = 0;
    let mut started = None;
    while got < n {
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => {
                started.get_or_insert_with(Instant::now);
                got += 1;
            }
            Some(Err(e)) => eprintln!("raw consumer: {e}"),
            None => {}
        }
    }
    Ok(n as f64 / started.expect("consumed").elapsed().as_secs_f64())
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
    fresh_database(url).await?;
    let cluster = MockCluster::new(1)?;
    // The mock broker keeps at most ~5 MB per partition: spread the input so none is dropped.
    let partitions = (n / 30_000).max(3) as i32;
    cluster.create_topic("logs", partitions, 1)?;
    cluster.create_topic("logs.dlq", 1, 1)?;
    let bootstrap = cluster.bootstrap_servers();
    produce_all(&bootstrap, n, partitions, 1_712_000_000.0)?;
    eprintln!("produced {n} events");
    let raw = raw_consume(&bootstrap, n)?;
    eprintln!("raw consume: {raw:.0} msg/s");

    let exe = std::env::current_exe()?;
    let mut child = std::process::Command::new(&exe)
        .args([
            "processor",
            "--bootstrap",
            &bootstrap,
            "--database-url",
            url,
        ])
        .env("RUST_LOG", "warn")
        .spawn()?;
    let pid = child.id();
    let store = loop {
        if let Ok(s) = Store::connect(url, None).await {
            if committed(&s).await >= 0 {
                break s;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("processor started (pid {pid})");
    let mut started = None;
    let mut first = 0;
    let mut peak = 0.0f64;
    loop {
        let c = committed(&store).await;
        if c > 0 && started.is_none() {
            started = Some(Instant::now());
            first = c;
        }
        peak = peak.max(peak_rss_mib(Some(pid)));
        if c >= n as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.expect("commits seen").elapsed().as_secs_f64();
    // Events of the first commit were processed before the clock started: not counted.
    let rate = (n as i64 - first) as f64 / secs;
    println!(
        "end to end (mock cluster → processor → MariaDB, {partitions} partitions): {n} events, {rate:.0} events/s (target ≥ 400,000), peak RSS {peak:.1} MiB (target ≤ 150) | raw consume of the same cluster: {raw:.0} msg/s"
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
    let sent = sent.lock().unwrap();
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
