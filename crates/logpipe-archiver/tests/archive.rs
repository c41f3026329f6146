//! The archiver end to end against librdkafka's mock cluster, into local
//! files and into the fake HDFS: every produced (partition, offset) is in
//! exactly one committed file, byte for byte; restarts resume after the
//! last committed file; quiet partitions commit on the idle timer; dead
//! writers' temporaries are cleaned up.

mod common;

use std::time::Duration;

use common::*;
use logpipe_archiver::config::Codec;
use logpipe_testkit::hdfs::FakeHdfs;
use logpipe_testkit::kafka::{consume, mock_cluster, produce, produce_past_retention};

/// 2024-04-05T21:00:00Z: the events span three hours from here.
const START: f64 = 1_712_350_800.0;

async fn archive_and_compare(
    mut c: logpipe_archiver::ArchiveConfig,
    kafka: logpipe_core::config::KafkaProperties,
    bootstrap: &str,
    n: usize,
) {
    // Per partition and hour ~1333 records: three files by count each.
    c.roll.max_records = 500;
    let evs = events(n, 3, START, 3.0 * 3600.0);
    produce(bootstrap, "logs", &evs);
    let want = expected(&evs);
    let running = Running::start(c.clone(), kafka);
    let cc = c.clone();
    wait_until("every event archived", Duration::from_secs(90), move || {
        read_back(&cc, "logs").len() == n
    })
    .await;
    running.stop().await;
    let cc = c.clone();
    let (got, reports, temps) = blocking(move || {
        (
            read_back(&cc, "logs"),
            verify_reports(&cc, "logs"),
            temporaries(&cc),
        )
    })
    .await;
    assert_eq!(got.len(), want.len());
    assert!(got == want, "archived lines differ from what was produced");
    assert_eq!(reports.len(), 3);
    for r in &reports {
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.first_offset, 0);
        assert_eq!(r.records, (r.last_offset + 1) as u64);
        assert_eq!(
            r.files, 9,
            "rolled by count within each of the 3 hours: {r:?}"
        );
    }
    assert!(
        temps.is_empty(),
        "temporaries left after a clean stop: {temps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offset_lands_once_in_local_files_for_each_codec() {
    for codec in [Codec::Zstd, Codec::Gzip, Codec::None] {
        let cluster = mock_cluster(&[("logs", 3)]);
        let dir = tempfile::tempdir().unwrap();
        let (mut c, kafka) = local_config(&dir, &cluster.bootstrap_servers());
        c.codec = codec;
        archive_and_compare(c, kafka, &cluster.bootstrap_servers(), 12_000).await;
        // Hive-style layout, hour by hour.
        for hour in ["dt=2024-04-05/hr=21", "dt=2024-04-05/hr=23"] {
            assert!(dir.path().join("logs").join(hour).is_dir(), "{hour}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_offset_lands_once_in_hdfs() {
    let fake = FakeHdfs::start().await.unwrap();
    let cluster = mock_cluster(&[("logs", 3)]);
    let (mut c, kafka) = config("", "logs", &cluster.bootstrap_servers());
    use_hdfs(&mut c, &fake, "/archive");
    archive_and_compare(c, kafka, &cluster.bootstrap_servers(), 12_000).await;
    assert!(
        fake.protocol_errors().is_empty(),
        "{:?}",
        fake.protocol_errors()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_after_the_last_committed_file() {
    let cluster = mock_cluster(&[("logs", 3)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (c, kafka) = local_config(&dir, &bootstrap);
    let evs = events(9_000, 3, START, 3600.0);
    produce(&bootstrap, "logs", &evs[..4_000]);
    let first = Running::start(c.clone(), kafka.clone());
    let cc = c.clone();
    wait_until(
        "the first 4000 archived",
        Duration::from_secs(60),
        move || read_back(&cc, "logs").len() == 4_000,
    )
    .await;
    first.stop().await;
    produce(&bootstrap, "logs", &evs[4_000..]);
    // A new consumer group: Kafka's committed offsets cannot help it; only
    // the archive's file names say where each partition resumes.
    let mut c2 = c.clone();
    c2.group_id = format!("{}-again", c.group_id);
    let second = Running::start(c2.clone(), kafka);
    let cc = c2.clone();
    wait_until("all 9000 archived", Duration::from_secs(60), move || {
        read_back(&cc, "logs").len() >= 9_000
    })
    .await;
    second.stop().await;
    let got = blocking(move || read_back(&c2, "logs")).await;
    assert!(
        got == expected(&evs),
        "exactly the produced events, none twice"
    );
}

/// Kafka deleted records while no archiver ran: they are counted lost,
/// logged, and `archive verify` reports the gap; everything still in Kafka
/// is archived once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_deleted_by_retention_before_they_were_archived_are_counted_and_show_as_a_gap() {
    let lost_before = counter("logpipe_archive_records_lost_total", "logs");
    let cluster = mock_cluster(&[("logs", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (c, kafka) = local_config(&dir, &bootstrap);
    let evs = events(1_000, 1, START, 60.0);
    produce(&bootstrap, "logs", &evs);
    let first = Running::start(c.clone(), kafka.clone());
    let cc = c.clone();
    wait_until(
        "the first 1000 archived",
        Duration::from_secs(60),
        move || read_back(&cc, "logs").len() == 1_000,
    )
    .await;
    first.stop().await;
    // ~9 MB more into the partition: the mock broker keeps ~5 MB, so the
    // log start moves past offset 1000 before anyone read it.
    let padding = "x".repeat(900);
    let more: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            format!(
                r#"{{"timestamp":{},"message":"{padding}"}}"#,
                START + 120.0 + i as f64 / 100.0
            )
            .into_bytes()
        })
        .collect();
    let b = bootstrap.clone();
    let kept = more.clone();
    let (log_start, log_end) = blocking(move || produce_past_retention(&b, "logs", 0, &kept)).await;
    assert!(
        log_start > 1_000,
        "the mock broker kept everything (log start {log_start})"
    );
    assert_eq!(log_end, 11_000);
    let second = Running::start(c.clone(), kafka);
    let cc = c.clone();
    let still_there = (log_end - log_start) as usize;
    wait_until(
        "what Kafka kept archived",
        Duration::from_secs(60),
        move || read_back(&cc, "logs").len() == 1_000 + still_there,
    )
    .await;
    second.stop().await;
    assert_eq!(
        counter("logpipe_archive_records_lost_total", "logs") - lost_before,
        (log_start - 1_000) as f64,
        "offsets 1000..{log_start} counted lost to retention"
    );
    let got = blocking({
        let c = c.clone();
        move || read_back(&c, "logs")
    })
    .await;
    let mut want = expected(&evs);
    for (i, e) in more.iter().enumerate() {
        let offset = 1_000 + i as i64;
        if offset >= log_start {
            want.insert((0, offset), e.clone());
        }
    }
    assert!(
        got == want,
        "the first 1000 and everything Kafka kept, once each"
    );
    let reports = blocking(move || verify_reports(&c, "logs")).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0].gaps,
        vec![(1_000, log_start - 1)],
        "verify shows the lost range"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_partition_commits_within_the_idle_timeout() {
    let cluster = mock_cluster(&[("logs", 3)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (mut c, kafka) = local_config(&dir, &bootstrap);
    c.roll.max_records = 0;
    c.roll.idle_timeout = logpipe_core::config::HumanDuration::from_millis(700);
    let running = Running::start(c.clone(), kafka);
    let evs = events(30, 3, START, 60.0);
    produce(&bootstrap, "logs", &evs);
    let started = std::time::Instant::now();
    let cc = c.clone();
    // Far below max_age (10 min) and with no further record: only the idle
    // timer can commit these.
    wait_until(
        "the idle files committed",
        Duration::from_secs(20),
        move || read_back(&cc, "logs").len() == 30,
    )
    .await;
    assert!(!running.is_finished());
    assert!(started.elapsed() < Duration::from_secs(20));
    running.stop().await;
    let got = blocking(move || read_back(&c, "logs")).await;
    assert!(got == expected(&evs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writers_temporary_is_removed_and_its_range_rewritten() {
    let fake = FakeHdfs::start().await.unwrap();
    let cluster = mock_cluster(&[("logs", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    let (mut c, kafka) = config("", "logs", &bootstrap);
    use_hdfs(&mut c, &fake, "/archive");
    // A crashed writer left partition 0's file from offset 0 open, its
    // lease still held by another client.
    let orphan = "/archive/_tmp/logs+0+0000000000000000000.jsonl.zst";
    let client = fake.client().unwrap();
    client
        .create(orphan, hdfs_native::WriteOptions::default())
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    fake.phantom_lease(orphan).unwrap();
    let evs = events(3_000, 1, START, 600.0);
    produce(&bootstrap, "logs", &evs);
    let running = Running::start(c.clone(), kafka);
    let cc = c.clone();
    wait_until("all archived", Duration::from_secs(60), move || {
        read_back(&cc, "logs").len() == 3_000
    })
    .await;
    running.stop().await;
    let cc = c.clone();
    let (got, temps) = blocking(move || (read_back(&cc, "logs"), temporaries(&cc))).await;
    assert!(got == expected(&evs));
    assert!(temps.is_empty(), "{temps:?}");
    assert!(
        fake.faults().count("recoverLease") >= 1,
        "the lease was taken over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_archivers_in_one_group_hand_partitions_over_without_loss_or_duplicates() {
    let cluster = mock_cluster(&[("logs", 6)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (mut c, kafka) = local_config(&dir, &bootstrap);
    c.roll.max_records = 0;
    c.roll.idle_timeout = logpipe_core::config::HumanDuration::from_secs(30);
    let evs = events(18_000, 6, START, 3600.0);
    produce(&bootstrap, "logs", &evs[..6_000]);
    let a = Running::start(c.clone(), kafka.clone());
    // Files stay open (no size, count or idle roll within the test): only
    // revocation and shutdown commit them.
    let cc = c.clone();
    wait_until(
        "A has a file open in every partition",
        Duration::from_secs(60),
        move || temporaries(&cc).len() == 6,
    )
    .await;
    assert!(
        blocking({
            let cc = c.clone();
            move || read_back(&cc, "logs").is_empty()
        })
        .await
    );
    // B joins: A must commit its open files when its partitions are revoked.
    let b = Running::start(c.clone(), kafka.clone());
    let cc = c.clone();
    wait_until(
        "A's open files committed at the rebalance",
        Duration::from_secs(60),
        move || !read_back(&cc, "logs").is_empty(),
    )
    .await;
    produce(&bootstrap, "logs", &evs[6_000..12_000]);
    // A leaves: B takes over every partition and resumes after A's files.
    a.stop().await;
    produce(&bootstrap, "logs", &evs[12_000..]);
    b.stop().await;
    // Whatever B had open was committed at its stop; a last run (same
    // group) picks up anything B had not yet fetched.
    let mut c_last = c.clone();
    c_last.roll.idle_timeout = logpipe_core::config::HumanDuration::from_millis(300);
    let last = Running::start(c_last, kafka);
    let cc = c.clone();
    wait_until("everything archived", Duration::from_secs(60), move || {
        read_back(&cc, "logs").len() == 18_000
    })
    .await;
    last.stop().await;
    let cc = c.clone();
    let (got, reports) =
        blocking(move || (read_back(&cc, "logs"), verify_reports(&cc, "logs"))).await;
    assert!(
        got == expected(&evs),
        "every event once across the hand-overs"
    );
    assert!(reports.iter().all(|r| r.is_clean()), "{reports:?}");
}

/// JSON lines stay lines: a JSON value with raw newlines (whitespace between
/// its tokens) is written compacted, a non-JSON value with one goes to
/// `logs.dlq` with reason `newline_in_value` — never a broken line — and
/// every other record is archived byte for byte around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_with_newlines_are_compacted_or_dead_lettered_never_split() {
    let cluster = mock_cluster(&[("logs", 1), ("logs.dlq", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (mut c, kafka) = local_config(&dir, &bootstrap);
    c.roll.max_records = 400;
    let mut evs = events(1_000, 1, START, 600.0);
    let pretty = "{\n  \"timestamp\": 1712350860.5,\n  \"message\": \"two  spaces\\n kept\"\n}";
    let broken = "first line\nsecond line";
    evs[10].1 = pretty.as_bytes().to_vec();
    evs[420].1 = broken.as_bytes().to_vec();
    produce(&bootstrap, "logs", &evs);
    let running = Running::start(c.clone(), kafka);
    let dlq = blocking({
        let bs = bootstrap.clone();
        move || consume(&bs, "logs.dlq", 1, Duration::from_secs(60))
    })
    .await;
    let cc = c.clone();
    wait_until("999 records archived", Duration::from_secs(60), move || {
        lines_by_offset(&cc).len() == 999
    })
    .await;
    running.stop().await;
    assert_eq!(dlq.len(), 1, "{dlq:?}");
    assert_eq!(dlq[0].payload, broken.as_bytes());
    assert_eq!(
        dlq[0].header("logpipe.error.reason").as_deref(),
        Some("newline_in_value")
    );
    let got = blocking(move || lines_by_offset(&c)).await;
    let mut want = expected(&evs);
    want.remove(&(0, 420));
    want.insert(
        (0, 10),
        br#"{"timestamp":1712350860.5,"message":"two  spaces\n kept"}"#.to_vec(),
    );
    assert!(got == want, "archived lines differ");
}

/// Every archived line keyed by (partition, offset), allowing gaps where
/// records were dead-lettered (a file's lines fill its range in order,
/// skipping the offsets that are in `logs.dlq`).
fn lines_by_offset(
    c: &logpipe_archiver::ArchiveConfig,
) -> std::collections::BTreeMap<(i32, i64), Vec<u8>> {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    let template = logpipe_archiver::path::PathTemplate::parse(&c.path).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let Ok(files) = logpipe_archiver::verify::list_files(sink.as_ref(), &template, "logs") else {
        return out;
    };
    for f in files {
        let lines = logpipe_archiver::verify::read_records(sink.as_ref(), &f).unwrap();
        // The one dead-lettered offset of this test is 420.
        let full = lines.len() as u64 == f.range.len();
        let offsets = (f.range.start..=f.range.end).filter(|o| *o != 420 || full);
        for (o, line) in offsets.zip(lines) {
            out.insert((f.range.partition, o), line);
        }
    }
    out
}
