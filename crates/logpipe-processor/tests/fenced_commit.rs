//! The consumer's fenced → resync path. Processor A reaches the database
//! through a proxy that is cut while A holds a batch; B joins, A is stuck
//! committing inside its revocation and loses its partitions to B, which
//! counts A's batch again from the stored offsets and commits it. When the
//! database is back, A — a zombie — commits its old batch: the fenced
//! offset update refuses it (nothing of it lands), A discards its
//! uncommitted work, re-reads the stored offsets and carries on; once B has
//! left, A alone consumes the rest. Every event is counted exactly once.
//! Alone in its test binary: the steps are awaited on the process-wide
//! `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::server_addr;
use logpipe_testkit::process::{free_port, http_get, metric, NotifySocket};
use logpipe_testkit::proxy::TcpProxy;
use tokio::task::JoinHandle;

mod common;
use common::*;

const PARTITIONS: i32 = 4;
const FENCED: &str = "logpipe_process_commits_total{outcome=\"fenced\"} ";
const EVENTS_IN: &str = "logpipe_process_events_in_total{topic=\"logs\"} ";

fn start(
    config: ProcessConfig,
    bootstrap: &str,
    notify: &NotifySocket,
) -> (Shutdown, JoinHandle<anyhow::Result<()>>) {
    let mut kafka = test_kafka(bootstrap);
    // A member stuck in its revocation is dropped from the group after this.
    kafka.set("max.poll.interval.ms", "6000");
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        kafka,
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

async fn scrape(metrics: SocketAddr, prefix: &'static str) -> f64 {
    tokio::task::spawn_blocking(move || metric(&http_get(metrics, "/metrics"), prefix))
        .await
        .unwrap()
        .unwrap_or(0.0)
}

/// Poll `/metrics` until `prefix` reads at least `wanted`.
async fn wait_metric_at_least(metrics: SocketAddr, prefix: &'static str, wanted: f64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let value = scrape(metrics, prefix).await;
        if value >= wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {prefix}= {value}, wanted ≥ {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zombie_that_lost_its_partitions_is_fenced_and_resyncs() {
    tokio::time::timeout(Duration::from_secs(300), scenario())
        .await
        .expect("the fenced-commit test finishes within 5 minutes");
}

async fn scenario() {
    let metrics = free_port();
    logpipe_core::metrics::install(metrics, "process").unwrap();
    let fixture = Pipeline::new("logs", PARTITIONS).await;
    let (db, bootstrap) = (&fixture.db, fixture.bootstrap.clone());
    let proxy = TcpProxy::start(server_addr());
    let events = log_events(40_000, PARTITIONS, 1_700_000_000.0);
    let msgs = messages(&events);
    let config = |url: String| ProcessConfig {
        database_url: url,
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    };

    // A, through the proxy, commits the first 20,000.
    produce(&bootstrap, "logs", &msgs[..20_000]);
    let notify_a = Arc::new(NotifySocket::bind(Duration::from_secs(60)));
    let (stop_a, task_a) = start(config(db.url_via(proxy.addr())), &bootstrap, &notify_a);
    ready(&notify_a).await;
    wait_offsets(&db.url, Duration::from_secs(60), "A's commits", |n| {
        n == 20_000
    })
    .await;

    // A loses the database while it cuts a batch of 10,000 more.
    proxy.cut();
    let refused_at_cut = proxy.refused_connections();
    produce(&bootstrap, "logs", &msgs[20_000..30_000]);
    wait_metric_at_least(metrics, EVENTS_IN, 30_000.0, "A's batch of the next 10,000").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.refused_connections() == refused_at_cut {
        assert!(Instant::now() < deadline, "A never tried to commit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // B joins; A, stuck committing in its revocation, loses every partition
    // to B, which counts the 10,000 again from the stored offsets.
    let notify_b = Arc::new(NotifySocket::bind(Duration::from_secs(60)));
    let (stop_b, task_b) = start(config(db.url.clone()), &bootstrap, &notify_b);
    ready(&notify_b).await;
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "B's commit of the batch A could not commit",
        |n| n == 30_000,
    )
    .await;
    assert_eq!(scrape(metrics, FENCED).await, 0.0, "nothing fenced yet");

    // The database is back: the zombie's commit is fenced and nothing of it lands.
    proxy.restore();
    wait_metric_at_least(metrics, FENCED, 1.0, "A's zombie commit fenced").await;
    assert_eq!(committed_offsets(&db.url).await, 30_000);
    assert_eq!(
        stored_log_data(&db.url).await,
        reference_of(&events[..30_000]),
        "the fenced batch added nothing"
    );
    assert!(
        !task_a.is_finished(),
        "a fenced commit is not fatal: {:?}",
        task_a.await
    );

    // B leaves: A, resynced, takes every partition from the stored offsets
    // and counts the rest alone.
    stop_b.trigger();
    task_b.await.unwrap().unwrap();
    produce(&bootstrap, "logs", &msgs[30_000..]);
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "A's commits after the resync",
        |n| n == 40_000,
    )
    .await;
    stop_a.trigger();
    task_a.await.unwrap().unwrap();
    assert_eq!(stored_log_data(&db.url).await, reference_of(&events));
    drop(proxy);
    fixture.drop().await;
}
