//! Two processors of one consumer group and a forced rebalance: a second
//! instance joins while the first is consuming and is assigned half the
//! partitions (the first revokes them, committing its pending work first),
//! then the first leaves and the second takes them all; the stored windows
//! count every event exactly once. Each step is awaited on what the
//! processors report — READY on each one's notify socket, the partitions
//! owned on `/metrics` — so the test is alone in its binary: the metrics
//! registry is process-wide.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::process::{free_port, http_get, metric, NotifySocket};
use tokio::task::JoinHandle;

mod common;
use common::*;

const PARTITIONS: i32 = 8;
const OWNED: &str = "logpipe_process_assigned_partitions ";

fn start(
    config: ProcessConfig,
    bootstrap: &str,
    notify: &NotifySocket,
) -> (Shutdown, JoinHandle<anyhow::Result<()>>) {
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        test_kafka(bootstrap),
        shutdown.clone(),
        Notifier::to_socket(notify.path(), None).unwrap(),
    ));
    (shutdown, task)
}

async fn ready(notify: &Arc<NotifySocket>) {
    let notify = notify.clone();
    tokio::task::spawn_blocking(move || notify.until("READY=1"))
        .await
        .unwrap();
}

/// Wait until the series `prefix` on `/metrics` reads `wanted`.
async fn wait_metric(metrics: SocketAddr, prefix: &'static str, wanted: f64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = tokio::task::spawn_blocking(move || metric(&http_get(metrics, "/metrics"), prefix))
            .await
            .unwrap();
        if last == Some(wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {prefix}= {last:?}, wanted {wanted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processors_with_a_forced_rebalance_count_exactly_once() {
    tokio::time::timeout(Duration::from_secs(240), scenario())
        .await
        .expect("the rebalance test finishes within 4 minutes");
}

async fn scenario() {
    let metrics = free_port();
    logpipe_core::metrics::install(metrics, "process").unwrap();
    // 15,000 events per partition: within what the mock broker keeps.
    let fixture = Pipeline::new("logs", PARTITIONS).await;
    let (db, bootstrap) = (&fixture.db, fixture.bootstrap.clone());
    let events = log_events(120_000, PARTITIONS, 1_700_000_000.0);
    let msgs = messages(&events);
    produce(&bootstrap, "logs", &msgs[..40_000]);

    let cfg = ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        // Many small commits, so revocations interrupt work in progress.
        commit_max_events: 2_000,
        ..ProcessConfig::default()
    };
    let notify_a = Arc::new(NotifySocket::bind(Duration::from_secs(60)));
    let (stop_a, task_a) = start(cfg.clone(), &bootstrap, &notify_a);
    ready(&notify_a).await;
    wait_metric(
        metrics,
        OWNED,
        PARTITIONS as f64,
        "A owning every partition",
    )
    .await;
    wait_offsets(&db.url, Duration::from_secs(30), "A commits", |n| n > 0).await;

    // B joins while A is consuming: A gives its partitions up (eager
    // rebalance) and each is assigned half.
    let notify_b = Arc::new(NotifySocket::bind(Duration::from_secs(60)));
    let (stop_b, task_b) = start(cfg.clone(), &bootstrap, &notify_b);
    produce(&bootstrap, "logs", &msgs[40_000..80_000]);
    ready(&notify_b).await;
    wait_metric(
        metrics,
        OWNED,
        (PARTITIONS / 2) as f64,
        "A revoked and both assigned half the partitions",
    )
    .await;
    assert!(!task_a.is_finished() && !task_b.is_finished());

    // A leaves mid-stream: B takes over every partition from the stored offsets.
    produce(&bootstrap, "logs", &msgs[80_000..]);
    stop_a.trigger();
    task_a.await.unwrap().unwrap();
    wait_metric(
        metrics,
        OWNED,
        PARTITIONS as f64,
        "B owning every partition",
    )
    .await;
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "all offsets committed",
        |n| n == 120_000,
    )
    .await;
    stop_b.trigger();
    task_b.await.unwrap().unwrap();

    assert_eq!(stored_log_data(&db.url).await, reference_of(&events));
    fixture.drop().await;
}
