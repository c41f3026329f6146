//! The real `logpipe process` as systemd runs it: READY on the notify socket
//! once partitions are assigned, what `/metrics` exports after a known input
//! (events in, DLQ by reason, late events, commit latency buckets, consumer
//! lag, watermark), late events kept in the configured late table, and a
//! graceful SIGTERM (STOPPING, exit 0).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use logpipe_testkit::process::{free_port, http_get, metric, KillOnDrop, NotifySocket};

use logpipe_testkit::kafka::produce;
use logpipe_testkit::mariadb::TestDb;
use logpipe_testkit::pipeline::{
    log_event, log_events, mock_cluster, reference_log_data, stored_log_data, wait_offsets,
};

const GOOD: usize = 3_000;
const START: f64 = 1_700_000_000.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_notifies_exports_metrics_keeps_late_events_and_drains_on_sigterm() {
    tokio::time::timeout(Duration::from_secs(180), run())
        .await
        .expect("test finished in time");
}

async fn run() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 3);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let metrics = free_port();
    let config = dir.path().join("logpipe.toml");
    std::fs::write(
        &config,
        format!(
            r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"session.timeout.ms" = "6000"
"reconnect.backoff.max.ms" = "1000"

[process]
database_url = "{url}"
group_id = "daemon-test"
commit_interval = "200ms"
drain_timeout = "20s"

[process.kafka]
"statistics.interval.ms" = "500"

[[process.aggregation]]
name = "log_data"
topic = "logs"
time_field = "timestamp"
window = "30s"
slide = "15s"
allowed_lateness = "30s"
pivot = {{ field = "level", values = ["DEBUG", "INFO", "WARN", "ERROR"] }}
measures = ["count"]
late_table = "late_logs"
"#,
            url = db.url
        ),
    )
    .unwrap();
    let notify = NotifySocket::bind(Duration::from_secs(60));
    let mut daemon = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_logpipe"))
            .args(["process", "--config"])
            .arg(&config)
            .args(["--metrics-listen", &metrics.to_string()])
            .env("NOTIFY_SOCKET", notify.path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert_eq!(
        notify.next(),
        "READY=1",
        "READY once partitions are assigned"
    );
    assert_eq!(notify.next(), "STATUS=consuming");

    // Known input: GOOD in-order events, then on partition 0 two events far
    // behind its watermark, one undecodable and one without a timestamp.
    let events = log_events(GOOD, 3, START);
    let mut msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    msgs.push((0, log_event(START - 600.0, "ERROR")));
    msgs.push((0, log_event(START - 900.0, "INFO")));
    msgs.push((0, b"{not json".to_vec()));
    msgs.push((0, br#"{"level": "INFO", "message": "no time"}"#.to_vec()));
    produce(&bootstrap, "logs", &msgs);
    let total = msgs.len() as i64;
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "every event committed",
        |n| n == total,
    )
    .await;

    // Statistics (consumer lag) arrive every 500 ms.
    let deadline = Instant::now() + Duration::from_secs(10);
    let page = loop {
        let page = http_get(metrics, "/metrics");
        if page.contains("logpipe_process_consumer_lag_messages{") || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("logpipe_build_info{version=\""), "{page}");
    assert!(page.contains("daemon=\"process\""));
    assert_eq!(
        metric(&page, "logpipe_process_events_in_total{topic=\"logs\"}"),
        Some(total as f64)
    );
    assert_eq!(
        metric(
            &page,
            "logpipe_process_events_decoded_total{topic=\"logs\"}"
        ),
        Some((GOOD + 2) as f64),
        "late events decode fine; they are not aggregated"
    );
    assert_eq!(
        metric(&page, "logpipe_late_events_total{aggregation=\"log_data\"}"),
        Some(2.0)
    );
    let dlq: f64 = page
        .lines()
        .filter(|l| l.starts_with("logpipe_process_dlq_events_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(dlq, 2.0, "{page}");
    assert!(page.contains("reason=\"invalid_json\""), "{page}");
    assert!(
        page.contains("logpipe_process_commit_duration_seconds_bucket{le=\"0.005\"}"),
        "real latency buckets"
    );
    assert!(metric(&page, "logpipe_process_commits_total{outcome=\"ok\"}").unwrap_or(0.0) >= 1.0);
    assert_eq!(
        metric(&page, "logpipe_process_consumer_lag_messages{"),
        Some(0.0),
        "caught up: {page}"
    );
    // The watermark is the partition's latest event time minus the lateness.
    let newest_on_p0 = events
        .iter()
        .filter(|e| e.0 == 0)
        .map(|e| e.2)
        .fold(f64::MIN, f64::max);
    let watermark = metric(
        &page,
        "logpipe_process_watermark_seconds{aggregation=\"log_data\",partition=\"0\"",
    )
    .or_else(|| {
        page.lines()
            .find(|l| {
                l.starts_with("logpipe_process_watermark_seconds{") && l.contains("partition=\"0\"")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    })
    .expect("watermark gauge for partition 0");
    assert!(
        (watermark - (newest_on_p0 - 30.0)).abs() < 0.01,
        "watermark {watermark}, newest {newest_on_p0}"
    );

    // The windows hold exactly the on-time events; the late ones are kept apart.
    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(stored_log_data(&db.url).await, expected);
    let store = logpipe_processor::store::Store::connect(&db.url, None)
        .await
        .unwrap();
    let logpipe_processor::store::Store::MySql(pool) = &store else {
        panic!("MariaDB store")
    };
    let late: Vec<(i32, i64)> =
        sqlx::query_as("SELECT kafka_partition, kafka_offset FROM late_logs ORDER BY kafka_offset")
            .fetch_all(pool)
            .await
            .expect("late_logs table");
    let on_time_p0 = events.iter().filter(|e| e.0 == 0).count() as i64;
    assert_eq!(
        late,
        [(0, on_time_p0), (0, on_time_p0 + 1)],
        "both late events stored with their offsets"
    );
    store.close().await;

    daemon.signal("TERM");
    assert_eq!(notify.next(), "STOPPING=1");
    let exit = daemon.wait_exit(Duration::from_secs(25));
    assert_eq!(exit.code(), Some(0));
    drop(cluster);
    db.drop().await;
}
