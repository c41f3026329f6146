//! `logpipe rollup` end to end, all real processes: events of a past day
//! (with late ones, and two messages that are not JSON: the archive files
//! those by their Kafka time, today, so they must not disturb the day) go through a mock Kafka into
//! the real `logpipe process` (MariaDB) and `logpipe archive` (local
//! files); then the rollup of that day must reconcile exactly, compute the
//! daily metrics an independent count gives, be idempotent, name the
//! minutes when an archive file goes missing, and exit 75 for a day that
//! is not over; the same day archived as Parquet must reconcile the same.
//! Every run, one that ends in an error too, reports to Debian's real
//! `prometheus-pushgateway`.
//!
//! The archive runs without `_SUCCESS` markers here: with markers, records
//! older than the allowed lateness go to the directory of their arrival
//! (today), so a past day cannot be produced after the fact. The marker
//! side of the sensor is covered by `logpipe-rollup`'s unit tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use logpipe_archiver::path::PathTemplate;
use logpipe_archiver::verify;
use logpipe_testkit::kafka::{mock_cluster, produce};
use logpipe_testkit::mariadb::TestDb;
use logpipe_testkit::pipeline::{committed_offsets, log_event, wait_offsets, LEVELS};
use logpipe_testkit::process::{free_port, http_get, metric, spawn_daemon, KillOnDrop};
use sqlx::{Connection, MySqlConnection};

const DAY: &str = "2026-01-15";
/// 2026-01-15T10:00:00Z
const START: f64 = 1_768_471_200.0;
const EVENTS: usize = 3_000;
/// Events of the day without a level: the processor dead-letters them,
/// the archive keeps them.
const DEAD: usize = 4;
const PARTITIONS: i32 = 3;

struct Produced {
    messages: Vec<(i32, Vec<u8>)>,
    /// Events per level (in LEVELS order), late ones included.
    by_level: [u64; 4],
    /// Events the processor must count as late (> 30 s behind their
    /// partition's newest event).
    late: u64,
}

/// One event every 10 s from 10:00 (8 h 20 min: many hour directories);
/// every 50th is stamped 5 min back (late); [`DEAD`] have no level; two
/// messages are not JSON.
fn produce_day() -> Produced {
    let mut messages = Vec::new();
    let mut by_level = [0; 4];
    let mut late = 0;
    let mut newest: BTreeMap<i32, f64> = BTreeMap::new();
    for i in 0..EVENTS {
        let p = (i % PARTITIONS as usize) as i32;
        let mut t = START + i as f64 * 10.0;
        if i % 50 == 49 {
            t -= 300.0;
        }
        let level = (i * 7 + i / 13) % 4;
        let n = newest.entry(p).or_insert(t);
        if t < *n - 30.0 {
            late += 1;
        }
        *n = n.max(t);
        by_level[level] += 1;
        messages.push((p, log_event(t, LEVELS[level])));
    }
    for k in 0..DEAD {
        let t = START + 95.5 + k as f64 * 3600.0;
        messages.push((
            k as i32 % PARTITIONS,
            format!(r#"{{"timestamp": {t}}}"#).into_bytes(),
        ));
    }
    messages.push((0, b"not json".to_vec()));
    messages.push((1, b"{\"timestamp\": ".to_vec()));
    Produced {
        messages,
        by_level,
        late,
    }
}

/// `format`: the archive's file format (`jsonl` or `parquet`); each
/// format archives with its own consumer group, into its own root.
fn write_config(
    dir: &Path,
    bootstrap: &str,
    db: &str,
    archive: &Path,
    format: &str,
    pushgateway: &str,
) -> std::path::PathBuf {
    let path = dir.join(format!("logpipe-{format}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"session.timeout.ms" = "6000"
"fetch.wait.max.ms" = "10"

[process]
database_url = "{db}"
group_id = "rollup-test"
commit_interval = "200ms"

[archive]
url = "file://{archive}"
topics = ["logs"]
format = "{format}"
group_id = "rollup-test-{format}"

[archive.roll]
max_records = 400
idle_timeout = "300ms"

[archive.completeness]
markers = false

[rollup]
database_url = "{db}"
poll_interval = "100ms"
pushgateway = "{pushgateway}"

[[rollup.metric]]
name = "events_by_level"
topic = "logs"
group_by = ["level"]

[[rollup.metric]]
name = "events"
topic = "logs"
"#,
            archive = archive.display()
        ),
    )
    .unwrap();
    path
}

fn spawn(daemon: &str, config: &Path) -> KillOnDrop {
    spawn_daemon(env!("CARGO_BIN_EXE_logpipe"), daemon, config)
}

fn rollup(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .args(["rollup", "--config"])
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run logpipe rollup")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The committed files of topic `logs` under `root`.
fn archived_files(root: &Path) -> Vec<verify::ArchivedFile> {
    let sink = logpipe_archiver::sink::local::LocalSink::new(root.to_str().unwrap()).unwrap();
    let t = PathTemplate::parse("%{topic}/dt=%Y-%m-%d/hr=%H").unwrap();
    verify::list_files(&sink, &t, "logs").unwrap()
}

/// Offsets the archive's committed files cover.
fn archived_offsets(root: &Path) -> u64 {
    archived_files(root).iter().map(|f| f.range.len()).sum()
}

#[derive(Debug, PartialEq)]
struct Reconciled {
    archived: i64,
    offsets: i64,
    streamed: i64,
    late: i64,
    unreadable: i64,
    mismatched_minutes: i32,
    status: String,
    detail: String,
}

async fn reconciliation(url: &str) -> Vec<Reconciled> {
    let mut c = MySqlConnection::connect(url).await.unwrap();
    type Row = (i64, i64, i64, i64, i64, i32, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT archived, offsets, streamed, late, unreadable, mismatched_minutes, status, detail \
         FROM daily_reconciliation WHERE day = ? AND topic = 'logs'",
    )
    .bind(DAY)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let _ = c.close().await;
    rows.into_iter()
        .map(|r| Reconciled {
            archived: r.0,
            offsets: r.1,
            streamed: r.2,
            late: r.3,
            unreadable: r.4,
            mismatched_minutes: r.5,
            status: r.6,
            detail: r.7,
        })
        .collect()
}

async fn daily_metrics(url: &str) -> Vec<(String, String, f64)> {
    let mut c = MySqlConnection::connect(url).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT CONVERT(metric USING utf8mb4), CONVERT(dimensions USING utf8mb4), value \
         FROM daily_metrics WHERE day = ? AND topic = 'logs' ORDER BY metric, dimensions",
    )
    .bind(DAY)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let _ = c.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_day_reconciles_exactly_and_every_failure_is_named_and_pushed() {
    let produced = produce_day();
    let total = produced.messages.len() as u64;
    let cluster = mock_cluster(&[("logs", PARTITIONS), ("logs.dlq", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "logs", &produced.messages);
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    let (_gateway, gateway) = pushgateway(&dir.path().join("pushgateway.log"));
    let gateway_url = format!("http://{gateway}");
    let config = write_config(
        dir.path(),
        &bootstrap,
        &db.url,
        &archive,
        "jsonl",
        &gateway_url,
    );
    // The same day archived as Parquet, by a second archiver.
    let parquet_archive = dir.path().join("archive-parquet");
    std::fs::create_dir_all(&parquet_archive).unwrap();
    let parquet_config = write_config(
        dir.path(),
        &bootstrap,
        &db.url,
        &parquet_archive,
        "parquet",
        &gateway_url,
    );

    // The rollup of a day that has not begun yet reports what it waits for.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let o = rollup(&config, &["--date", &tomorrow, "--wait", "0s"]);
    assert_eq!(o.status.code(), Some(75), "{}", text(&o));
    assert!(text(&o).contains("not complete before"), "{}", text(&o));
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(0.0));

    let mut process = spawn("process", &config);
    let mut archiver = spawn("archive", &config);
    let mut parquet_archiver = spawn("archive", &parquet_config);
    wait_offsets(&db.url, Duration::from_secs(60), "the processor", |n| {
        n == total as i64
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    for root in [&archive, &parquet_archive] {
        while archived_offsets(root) < total {
            assert!(
                Instant::now() < deadline,
                "{}: {} of {total}",
                root.display(),
                archived_offsets(root)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for d in [&mut process, &mut archiver, &mut parquet_archiver] {
        d.signal("TERM");
        assert!(d.wait_exit(Duration::from_secs(30)).success());
    }
    assert_eq!(committed_offsets(&db.url).await, total as i64);

    let o = rollup(&config, &["--date", DAY, "--wait", "10s"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = Reconciled {
        archived: (EVENTS + DEAD) as i64,
        offsets: (EVENTS + DEAD) as i64,
        streamed: (EVENTS as u64 - produced.late) as i64,
        late: produced.late as i64,
        unreadable: 0,
        mismatched_minutes: 0,
        status: "ok".into(),
        detail: format!(
            "{} records archived = offsets = processor (streamed {} + late {} + dead-lettered {DEAD})",
            EVENTS + DEAD,
            EVENTS as u64 - produced.late,
            produced.late
        ),
    };
    assert!(produced.late > 0);
    assert_eq!(
        reconciliation(&db.url).await,
        std::slice::from_ref(&expected)
    );
    let mut want: Vec<(String, String, f64)> = LEVELS
        .iter()
        .zip(produced.by_level)
        .map(|(l, n)| ("events_by_level".into(), format!("level={l}"), n as f64))
        .collect();
    want.push(("events_by_level".into(), "level=null".into(), DEAD as f64));
    want.push(("events".into(), String::new(), (EVENTS + DEAD) as f64));
    want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(daily_metrics(&db.url).await, want);

    // The Parquet archive of the day reconciles the same (its typed
    // timestamps read back as the same minutes).
    let o = rollup(&parquet_config, &["--date", DAY, "--wait", "10s"]);
    assert_eq!(o.status.code(), Some(0), "parquet: {}", text(&o));
    assert_eq!(reconciliation(&db.url).await, [expected]);
    assert_eq!(daily_metrics(&db.url).await, want);

    // Idempotent: the day's rows are replaced, not added to.
    let o = rollup(&config, &["--date", DAY, "--wait", "0s"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(daily_metrics(&db.url).await, want);
    assert_eq!(reconciliation(&db.url).await.len(), 1);
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(1.0));

    // `--topic` picks one of the configured topics; a metric of another
    // topic does not make the config invalid for it, a topic not covered
    // is refused by name.
    let two_topics = dir.path().join("two-topics.toml");
    let text_of = std::fs::read_to_string(&config).unwrap().replace(
        "poll_interval = \"100ms\"\n",
        "poll_interval = \"100ms\"\ntopics = [\"logs\", \"other\"]\n",
    );
    std::fs::write(
        &two_topics,
        format!("{text_of}\n[[rollup.metric]]\nname = \"events\"\ntopic = \"other\"\n"),
    )
    .unwrap();
    let o = rollup(
        &two_topics,
        &["--date", DAY, "--wait", "0s", "--topic", "logs"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(daily_metrics(&db.url).await, want);
    let o = rollup(&two_topics, &["--date", DAY, "--topic", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--topic nope: not a topic the rollup covers"),
        "{}",
        text(&o)
    );
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(1.0));

    // An archive that cannot be opened fails before the run: pushed too.
    let not_a_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_a_dir, "").unwrap();
    let no_archive = dir.path().join("no-archive");
    std::fs::create_dir_all(&no_archive).unwrap();
    let no_archive = write_config(
        &no_archive,
        &bootstrap,
        &db.url,
        &not_a_dir.join("archive"),
        "jsonl",
        &gateway_url,
    );
    let o = rollup(&no_archive, &["--date", DAY, "--wait", "0s"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not-a-dir"), "{}", text(&o));
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(0.0));
    let succeeded = pushed(gateway, "logpipe_rollup_last_success_timestamp_seconds")
        .expect("a successful run pushes its time");

    // A run that ends in an error (its database unreachable) pushes
    // success 0 too, which LogpipeRollupFailed alerts on, and leaves the
    // last success's time as it was.
    let unreachable = format!("mysql://root@{}/test", free_port());
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let broken = write_config(
        &broken,
        &bootstrap,
        &unreachable,
        &archive,
        "jsonl",
        &gateway_url,
    );
    let o = rollup(&broken, &["--date", DAY, "--wait", "0s"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("cannot connect to the database at {unreachable}")),
        "{}",
        text(&o)
    );
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(0.0));
    assert_eq!(
        pushed(gateway, "logpipe_rollup_last_success_timestamp_seconds"),
        Some(succeeded)
    );
    let last_run = pushed(gateway, "logpipe_rollup_last_run_timestamp_seconds").unwrap();
    // (the failed run waits 10 s for a connection)
    assert!(
        last_run > succeeded,
        "last run {last_run}, last success {succeeded}"
    );

    // A lost archive file: its minutes are named, the row turns red.
    let victim = archived_files(&archive)
        .into_iter()
        .find(|f| f.path.contains(&format!("dt={DAY}/hr=12")))
        .expect("a file of 12:00");
    std::fs::remove_file(archive.join(&victim.path)).unwrap();
    let o = rollup(&config, &["--date", DAY, "--wait", "0s"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("does not reconcile"), "{}", text(&o));
    let r = &reconciliation(&db.url).await[0];
    assert_eq!(r.status, "mismatch");
    assert_eq!(
        r.archived as u64,
        (EVENTS + DEAD) as u64 - victim.range.len()
    );
    assert!(r.mismatched_minutes > 0);
    assert!(
        r.detail.contains("minute 2026-01-15T12:"),
        "detail names the minutes: {}",
        r.detail
    );
    let gap = format!(
        "offsets {}..{} of partition {} are in no archive file",
        victim.range.start, victim.range.end, victim.range.partition
    );
    assert!(
        r.detail.starts_with(&gap),
        "detail names the gap first: {}",
        r.detail
    );
    assert_eq!(pushed(gateway, "logpipe_rollup_success"), Some(0.0));
    assert_eq!(
        pushed(gateway, "logpipe_rollup_mismatched_minutes"),
        Some(r.mismatched_minutes as f64)
    );
    assert_eq!(
        pushed(gateway, "logpipe_rollup_archive_problems"),
        Some(1.0),
        "the gap"
    );
    db.drop().await;
}

/// Debian's Pushgateway on a free loopback port, once it answers.
fn pushgateway(log: &Path) -> (KillOnDrop, std::net::SocketAddr) {
    let addr = free_port();
    let gateway = KillOnDrop(
        Command::new("/usr/bin/prometheus-pushgateway")
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start prometheus-pushgateway (scripts/test installs it)"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the Pushgateway at {addr} never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (gateway, addr)
}

/// The rollup's gauges as the Pushgateway serves them.
fn pushed(addr: std::net::SocketAddr, name: &str) -> Option<f64> {
    metric(&http_get(addr, "/metrics"), &format!("{name}{{"))
}
