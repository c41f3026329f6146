//! The processor end to end over a librdkafka mock cluster and a real
//! MariaDB: exact window rows for a known input and dead letters for each
//! bad input class. (Two processors across a forced rebalance:
//! `tests/rebalance.rs`; a fenced zombie: `tests/fenced_commit.rs`.)

use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use tokio::task::JoinHandle;

mod common;
use common::*;

fn config(db: &TestDb) -> ProcessConfig {
    ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    }
}

fn start(config: ProcessConfig, bootstrap: &str) -> (Shutdown, JoinHandle<anyhow::Result<()>>) {
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        test_kafka(bootstrap),
        shutdown.clone(),
        Notifier::from_env(),
    ));
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_input_gives_exact_log_data_rows() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 3);
    let bootstrap = cluster.bootstrap_servers();
    // The fixed input of the hand-computed table (see tests/store.rs), spread over partitions.
    let fixed = [
        (1200.0, "INFO"),
        (1205.5, "DEBUG"),
        (1214.999, "ERROR"),
        (1215.0, "WARN"),
        (1229.0, "INFO"),
        (1230.0, "INFO"),
        (1244.0, "ERROR"),
    ];
    let msgs: Vec<(i32, Vec<u8>)> = fixed
        .iter()
        .enumerate()
        .map(|(i, (t, l))| ((i % 3) as i32, log_event(*t, l)))
        .collect();
    produce(&bootstrap, "logs", &msgs);

    let (shutdown, task) = start(config(&db), &bootstrap);
    wait_offsets(
        &db.url,
        Duration::from_secs(30),
        "7 offsets committed",
        |n| n == 7,
    )
    .await;
    assert_eq!(
        stored_log_data(&db.url).await,
        [
            (1230, [0, 1, 0, 1]),
            (1215, [0, 2, 1, 1]),
            (1200, [1, 2, 1, 1]),
            (1185, [1, 1, 0, 1])
        ]
    );

    // More events while running: rows keep matching the brute-force reference, one row per window.
    let events = log_events(20_000, 3, 1_700_000_000.0);
    produce(
        &bootstrap,
        "logs",
        &events
            .iter()
            .map(|(p, m, _, _)| (*p, m.clone()))
            .collect::<Vec<_>>(),
    );
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "all offsets committed",
        |n| n == 20_007,
    )
    .await;
    shutdown.trigger();
    task.await.unwrap().unwrap();

    let mut expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    expected.extend([
        (1230, [0, 1, 0, 1]),
        (1215, [0, 2, 1, 1]),
        (1200, [1, 2, 1, 1]),
        (1185, [1, 1, 0, 1]),
    ]);
    assert_eq!(stored_log_data(&db.url).await, expected);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_class_goes_to_the_dlq_with_its_reason() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    let oversized = format!(
        r#"{{"timestamp": 1200, "level": "INFO", "message": "{}"}}"#,
        "x".repeat(2 << 20)
    );
    let bad: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid_json",
            b"{\"timestamp\": 1200, \"level\": ".to_vec(),
        ),
        (
            "non_utf8",
            b"{\"timestamp\": 1200, \"level\": \"INFO\", \"message\": \"\xff\xfe\"}".to_vec(),
        ),
        ("missing_field", br#"{"level": "INFO"}"#.to_vec()),
        ("wrong_type", br#"{"timestamp": 1200, "level": 7}"#.to_vec()),
        (
            "invalid_timestamp",
            br#"{"timestamp": -1e300, "level": "INFO"}"#.to_vec(),
        ),
        ("not_an_object", br#"[1, 2, 3]"#.to_vec()),
        ("oversized", oversized.into_bytes()),
    ];
    let mut msgs: Vec<(i32, Vec<u8>)> = vec![(0, log_event(1200.0, "INFO"))];
    msgs.extend(bad.iter().map(|(_, m)| (0, m.clone())));
    msgs.push((0, log_event(1201.0, "WARN")));
    produce(&bootstrap, "logs", &msgs);

    let (shutdown, task) = start(config(&db), &bootstrap);
    let total = msgs.len() as i64;
    wait_offsets(
        &db.url,
        Duration::from_secs(30),
        "all offsets committed",
        |n| n == total,
    )
    .await;
    shutdown.trigger();
    task.await.unwrap().unwrap();
    assert_eq!(
        stored_log_data(&db.url).await,
        [(1200, [0, 1, 1, 0]), (1185, [0, 1, 1, 0])],
        "good events around bad ones are counted"
    );

    let got: Vec<(String, String, Option<usize>)> =
        logpipe_testkit::kafka::consume(&bootstrap, "logs.dlq", bad.len(), Duration::from_secs(30))
            .into_iter()
            .map(|m| {
                (
                    m.header("logpipe.error.reason")
                        .expect("dead letters carry a reason header"),
                    m.header("logpipe.error")
                        .expect("dead letters carry an error header"),
                    Some(m.payload.len()),
                )
            })
            .collect();
    let reasons: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(reasons, bad.iter().map(|b| b.0).collect::<Vec<_>>());
    assert!(
        got[2].1.contains("field `timestamp` is missing"),
        "{}",
        got[2].1
    );
    assert!(
        got[3].1.contains("field `level`: expected a string"),
        "{}",
        got[3].1
    );
    assert_eq!(
        got[6].2,
        Some(bad[6].1.len()),
        "the payload is kept unchanged"
    );
    db.drop().await;
}
