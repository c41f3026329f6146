//! Offsets that moved under the processor. (a) Retention deleted events
//! below the stored offset before they were read: they are counted as lost
//! (`logpipe_process_events_lost_total{reason="retention"}`) and reading goes
//! on from the log start. (b) The stored offset is beyond the log end (the
//! topic was deleted and recreated — here: the same database against a new
//! mock cluster): the partition is left unread by default, nothing is
//! silently skipped as a duplicate; `on_offset_reset = "restart"` counts it
//! again from its start.

use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::config::OnOffsetReset;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::server_addr;
use logpipe_testkit::proxy::TcpProxy;
use tokio::task::JoinHandle;

mod common;
mod support;
use common::*;

fn config(db: &TestDb, topic: &str) -> ProcessConfig {
    let mut c = ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    };
    c.aggregation[0].topic = topic.into();
    c
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

async fn stop(shutdown: Shutdown, task: JoinHandle<anyhow::Result<()>>) {
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the processor stops within 30 s")
        .unwrap()
        .expect("the processor exits cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_deleted_by_retention_before_they_were_read_are_counted_lost() {
    support::recorder();
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    let first = log_events(1_000, 1, 1_700_000_000.0);
    produce(
        &bootstrap,
        "logs",
        &first
            .iter()
            .map(|(p, m, _, _)| (*p, m.clone()))
            .collect::<Vec<_>>(),
    );
    let (shutdown, task) = start(config(&db, "logs"), &bootstrap);
    wait_offsets(&db.url, Duration::from_secs(60), "the first 1000", |n| {
        n == 1_000
    })
    .await;
    stop(shutdown, task).await;

    // While the processor is stopped, 8 MB more: the mock broker keeps only
    // ~5 MB per partition and deletes the oldest, the 1000 already counted
    // and some of these never read.
    let big: Vec<(f64, Vec<u8>)> = (0..80)
        .map(|i| {
            let t = 1_700_000_020.0 + i as f64;
            let payload = format!(
                r#"{{"timestamp": {t}, "level": "INFO", "message": "{}"}}"#,
                "x".repeat(100_000)
            );
            (t, payload.into_bytes())
        })
        .collect();
    let payloads: Vec<Vec<u8>> = big.iter().map(|(_, p)| p.clone()).collect();
    let (log_start, log_end) =
        logpipe_testkit::kafka::produce_past_retention(&bootstrap, "logs", 0, &payloads);
    assert_eq!(log_end, 1_080);
    assert!(
        log_start > 1_000,
        "the mock broker dropped unread events (log start {log_start})"
    );

    let (shutdown, task) = start(config(&db, "logs"), &bootstrap);
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "the retained events",
        |n| n == log_end,
    )
    .await;
    stop(shutdown, task).await;
    assert_eq!(
        support::metric(
            "logpipe_process_events_lost_total",
            &[("topic", "logs"), ("reason", "retention")]
        ),
        (log_start - 1_000) as f64,
        "offsets 1000..{log_start} counted as lost"
    );
    let mut counted: Vec<(f64, usize)> = first.iter().map(|(_, _, t, l)| (*t, *l)).collect();
    counted.extend(
        big[(log_start - 1_000) as usize..]
            .iter()
            .map(|(t, _)| (*t, 1)),
    );
    assert_eq!(stored_log_data(&db.url).await, reference_log_data(&counted));
    db.drop().await;
}

/// `n` events of ~100 KB, one second apart from `start`.
fn big_events(n: usize, start: f64) -> Vec<(f64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let t = start + i as f64;
            let payload = format!(
                r#"{{"timestamp": {t}, "level": "INFO", "message": "{}"}}"#,
                "x".repeat(100_000)
            );
            (t, payload.into_bytes())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_deleted_while_the_processor_is_behind_are_counted_lost() {
    support::recorder();
    let topic = "lagging";
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(server_addr());
    let cluster = mock_cluster(topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    let small = log_events(3_000, 1, 1_700_000_000.0);
    let small_msgs: Vec<(i32, Vec<u8>)> =
        small.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    produce(&bootstrap, topic, &small_msgs[..500]);
    let mut cfg = config(&db, topic);
    cfg.database_url = db.url_via(proxy.addr());
    cfg.commit_interval = logpipe_core::config::HumanDuration::from_millis(100);
    cfg.commit_max_events = 200;
    let (shutdown, task) = start(cfg, &bootstrap);
    wait_offsets(&db.url, Duration::from_secs(60), "the first 500", |n| {
        n == 500
    })
    .await;
    // The store goes away: the processor falls behind with its partition
    // paused, while retention deletes what it has not read yet.
    proxy.cut();
    produce(&bootstrap, topic, &small_msgs[500..]);
    support::wait_until(
        Duration::from_secs(30),
        "the store reported unavailable",
        || support::metric("logpipe_process_store_available", &[]) == 0.0,
    )
    .await;
    let big = big_events(80, 1_700_000_040.0);
    let payloads: Vec<Vec<u8>> = big.iter().map(|(_, p)| p.clone()).collect();
    let (log_start, log_end) =
        logpipe_testkit::kafka::produce_past_retention(&bootstrap, topic, 0, &payloads);
    assert!(
        log_start > 3_000,
        "retention deleted unread events (log start {log_start})"
    );
    proxy.restore();
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "the retained events",
        |n| n == log_end,
    )
    .await;
    stop(shutdown, task).await;
    let lost = support::metric(
        "logpipe_process_events_lost_total",
        &[("topic", topic), ("reason", "retention")],
    ) as i64;
    assert!(lost > 0 && lost <= log_start - 500, "lost {lost}");
    // Counted: everything read before the jump, and everything from the log start.
    let read_before = (log_start - lost) as usize;
    let mut counted: Vec<(f64, usize)> = small[..read_before.min(3_000)]
        .iter()
        .map(|(_, _, t, l)| (*t, *l))
        .collect();
    counted.extend(
        big[(log_start - 3_000) as usize..]
            .iter()
            .map(|(t, _)| (*t, 1)),
    );
    assert_eq!(stored_log_data(&db.url).await, reference_log_data(&counted));
    drop(proxy);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_offset_beyond_the_log_end_stops_the_partition_unless_restart() {
    support::recorder();
    let topic = "recreated";
    let db = TestDb::create().await;
    let old: Vec<_> = log_events(300, 1, 1_700_000_000.0);
    {
        let cluster = mock_cluster(topic, 1);
        let bootstrap = cluster.bootstrap_servers();
        produce(
            &bootstrap,
            topic,
            &old.iter()
                .map(|(p, m, _, _)| (*p, m.clone()))
                .collect::<Vec<_>>(),
        );
        let (shutdown, task) = start(config(&db, topic), &bootstrap);
        wait_offsets(&db.url, Duration::from_secs(60), "the old topic", |n| {
            n == 300
        })
        .await;
        stop(shutdown, task).await;
    }
    let old_rows = stored_log_data(&db.url).await;
    assert_eq!(
        old_rows,
        reference_log_data(&old.iter().map(|(_, _, t, l)| (*t, *l)).collect::<Vec<_>>())
    );

    // The topic "recreated": a new cluster, 100 events, offsets from 0.
    let cluster = mock_cluster(topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    let new: Vec<_> = log_events(100, 1, 1_700_100_000.0);
    produce(
        &bootstrap,
        topic,
        &new.iter()
            .map(|(p, m, _, _)| (*p, m.clone()))
            .collect::<Vec<_>>(),
    );
    let (shutdown, task) = start(config(&db, topic), &bootstrap);
    support::wait_until(
        Duration::from_secs(60),
        "the partition reported stopped",
        || support::metric("logpipe_process_stopped_partitions", &[("topic", topic)]) == 1.0,
    )
    .await;
    assert!(!task.is_finished(), "the daemon keeps running");
    stop(shutdown, task).await;
    assert_eq!(
        support::metric(
            "logpipe_process_duplicates_skipped_total",
            &[("topic", topic)]
        ),
        0.0,
        "nothing was read and dropped as a duplicate"
    );
    assert_eq!(
        committed_offsets(&db.url).await,
        300,
        "the stored offset is kept"
    );
    assert_eq!(stored_log_data(&db.url).await, old_rows, "nothing changed");

    // The operator opts into counting the new topic from its start.
    let mut restart = config(&db, topic);
    restart.on_offset_reset = OnOffsetReset::Restart;
    let (shutdown, task) = start(restart, &bootstrap);
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "the new topic counted",
        |n| n == 100,
    )
    .await;
    stop(shutdown, task).await;
    assert_eq!(
        support::metric("logpipe_process_stopped_partitions", &[("topic", topic)]),
        0.0
    );
    let all: Vec<(f64, usize)> = old
        .iter()
        .chain(new.iter())
        .map(|(_, _, t, l)| (*t, *l))
        .collect();
    assert_eq!(stored_log_data(&db.url).await, reference_log_data(&all));
    db.drop().await;
}
