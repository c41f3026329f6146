//! A far-future event among normal ones: stamped year 9999, it would move
//! its partition's watermark so far that every later event is late. It must
//! go to the dead-letter topic with reason `future_timestamp`, be counted,
//! and change nothing about the counts of the others.

use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;

mod common;
mod support;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_future_event_is_dead_lettered_and_changes_no_other_count() {
    support::recorder();
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 2);
    let bootstrap = cluster.bootstrap_servers();
    let events = log_events(4_000, 2, 1_700_000_000.0);
    let mut msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    // Year 9999, 23:59:59 — the largest event time the parser accepts — in
    // the middle of partition 0.
    let poison = log_event(253_402_300_799.0, "ERROR");
    msgs.insert(1_000, (0, poison.clone()));
    produce(&bootstrap, "logs", &msgs);

    let config = ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    };
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        test_kafka(&bootstrap),
        shutdown.clone(),
        Notifier::from_env(),
    ));
    let total = msgs.len() as i64;
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "all offsets committed",
        |n| n == total,
    )
    .await;
    shutdown.trigger();
    task.await.unwrap().unwrap();

    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        stored_log_data(&db.url).await,
        expected,
        "the other events count exactly as without the far-future one"
    );
    assert_eq!(
        support::metric("logpipe_late_events_total", &[]),
        0.0,
        "no event became late"
    );
    assert_eq!(
        support::metric(
            "logpipe_process_dlq_events_total",
            &[("topic", "logs"), ("reason", "future_timestamp")]
        ),
        1.0
    );
    let dlq = logpipe_testkit::kafka::consume(&bootstrap, "logs.dlq", 1, Duration::from_secs(30));
    assert_eq!(
        dlq.len(),
        1,
        "exactly the far-future event is dead-lettered"
    );
    assert_eq!(dlq[0].payload, poison, "unchanged");
    assert_eq!(
        dlq[0].header("logpipe.error.reason").as_deref(),
        Some("future_timestamp")
    );
    let why = dlq[0].header("logpipe.error").unwrap();
    assert!(
        why.contains("9999-12-31T23:59:59") && why.contains("max_future_skew (10m)"),
        "{why}"
    );
    db.drop().await;
}
