//! A MariaDB outage longer than both the systemd watchdog and Kafka's
//! `max.poll.interval.ms`: the processor's database connections go through
//! the testkit's TCP proxy, cut for 16 s while events keep arriving (watchdog
//! 5 s, max.poll.interval.ms 10 s). The consumer must keep polling with its
//! partitions paused, keep feeding the watchdog, stay in the group (no
//! revocation), report the store unavailable — and count exactly once
//! after the store returns.

use std::time::{Duration, Instant};

use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::server_addr;
use logpipe_testkit::proxy::TcpProxy;

mod common;
mod support;
use common::*;

const PARTITIONS: i32 = 3;
const WATCHDOG: Duration = Duration::from_secs(5);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);
const OUTAGE: Duration = Duration::from_secs(16);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_longer_than_watchdog_and_poll_interval_keeps_the_daemon_alive() {
    tokio::time::timeout(Duration::from_secs(240), scenario())
        .await
        .expect("the outage test finishes within 4 minutes");
}

async fn scenario() {
    support::recorder();
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(server_addr());
    let cluster = mock_cluster("logs", PARTITIONS);
    let bootstrap = cluster.bootstrap_servers();
    let events = log_events(12_000, PARTITIONS, 1_700_000_000.0);
    let msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    let (before, during) = msgs.split_at(6_000);
    produce(&bootstrap, "logs", before);

    let config = ProcessConfig {
        database_url: db.url_via(proxy.addr()),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(100),
        commit_max_events: 1_000,
        ..ProcessConfig::default()
    };
    let mut kafka = test_kafka(&bootstrap);
    kafka.set(
        "max.poll.interval.ms",
        MAX_POLL_INTERVAL.as_millis().to_string(),
    );
    let notify = support::NotifySocket::bind();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        kafka,
        shutdown.clone(),
        notify.notifier(Some(WATCHDOG)),
    ));
    wait_offsets(&db.url, Duration::from_secs(60), "the first commits", |n| {
        n == 6_000
    })
    .await;
    assert!(notify.has("READY=1"));

    proxy.cut();
    produce(&bootstrap, "logs", during);
    support::wait_until(
        Duration::from_secs(30),
        "the store reported unavailable",
        || support::metric("logpipe_process_store_available", &[]) == 0.0,
    )
    .await;
    support::wait_until(
        Duration::from_secs(30),
        "the partitions paused while the committer is behind",
        || {
            notify
                .messages()
                .iter()
                .any(|(_, m)| m.starts_with("STATUS=store unavailable"))
        },
    )
    .await;
    let cut_at = Instant::now();
    let committed_at_cut = committed_offsets(&db.url).await;
    // The outage itself: hold it longer than both limits.
    tokio::time::sleep(OUTAGE).await;
    assert_eq!(
        committed_offsets(&db.url).await,
        committed_at_cut,
        "nothing commits while the store is cut off"
    );
    assert!(
        !task.is_finished(),
        "the processor keeps running through the outage: {:?}",
        task.await
    );
    proxy.restore();

    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "every offset committed after the outage",
        |n| n == 12_000,
    )
    .await;
    support::wait_until(
        Duration::from_secs(10),
        "the store reported available again",
        || support::metric("logpipe_process_store_available", &[]) == 1.0,
    )
    .await;
    let pings = notify.pings();
    let during_outage = pings.iter().filter(|t| **t > cut_at).count();
    assert!(
        during_outage >= (OUTAGE.as_secs() / (WATCHDOG.as_secs() / 2) - 1) as usize,
        "the watchdog is fed during the outage ({during_outage} pings in {OUTAGE:?})"
    );
    let longest = pings
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .expect("watchdog pings");
    assert!(
        longest < WATCHDOG,
        "the longest gap between watchdog pings ({longest:?}) stays below WatchdogSec ({WATCHDOG:?})"
    );
    assert_eq!(
        support::metric("logpipe_process_rebalances_total", &[("kind", "revoke")]),
        0.0,
        "never ejected from the group (no revocation)"
    );
    assert_eq!(
        support::metric("logpipe_process_rebalances_total", &[("kind", "assign")]),
        1.0,
        "one assignment: the first"
    );
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the processor drains within 30 s")
        .unwrap()
        .expect("the processor exits cleanly after the outage");

    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(stored_log_data(&db.url).await, expected);
    drop(proxy);
    db.drop().await;
}
