//! MariaDB down when the processor starts: it must wait with back-off,
//! logging each attempt and telling systemd it is still starting, send no
//! READY until the store is reachable and migrated, then count exactly.
//! A refused login is different — retrying cannot fix it: the daemon exits
//! at once with a message naming the fix.

use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::server_addr;
use logpipe_testkit::proxy::TcpProxy;

mod common;
mod support;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_at_start_is_waited_for_and_ready_follows_it() {
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(server_addr());
    proxy.cut();
    let cluster = mock_cluster("logs", 2);
    let bootstrap = cluster.bootstrap_servers();
    let events = log_events(3_000, 2, 1_700_000_000.0);
    produce(
        &bootstrap,
        "logs",
        &events
            .iter()
            .map(|(p, m, _, _)| (*p, m.clone()))
            .collect::<Vec<_>>(),
    );
    let config = ProcessConfig {
        database_url: db.url_via(proxy.addr()),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    };
    let notify = support::NotifySocket::bind();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        test_kafka(&bootstrap),
        shutdown.clone(),
        notify.notifier(Some(Duration::from_secs(5))),
    ));
    support::wait_until(
        Duration::from_secs(30),
        "three connection attempts while the store is down",
        || proxy.refused_connections() >= 3 || task.is_finished(),
    )
    .await;
    assert!(
        !task.is_finished(),
        "the processor waits for the store instead of exiting: {:?}",
        task.await
    );
    assert!(
        !notify.has("READY=1"),
        "no READY before the store is reachable"
    );
    let messages = notify.messages();
    assert!(
        messages
            .iter()
            .any(|(_, m)| m.starts_with("EXTEND_TIMEOUT_USEC=")),
        "systemd's start timeout is extended while waiting: {messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(_, m)| m.starts_with("STATUS=waiting for the store")),
        "{messages:?}"
    );
    proxy.restore();
    support::wait_until(
        Duration::from_secs(60),
        "READY after the store returned",
        || notify.has("READY=1"),
    )
    .await;
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "all offsets committed",
        |n| n == 3_000,
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
    assert_eq!(stored_log_data(&db.url).await, expected);
    drop(proxy);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_login_exits_at_once_naming_the_fix() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let config = ProcessConfig {
        database_url: format!("mysql://lp_no_such_user@{}/{}", server_addr(), db.name),
        group_id: format!("g-{}", db.name),
        ..ProcessConfig::default()
    };
    let started = Instant::now();
    let shutdown = Shutdown::new();
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        logpipe_processor::run(
            config,
            test_kafka(&cluster.bootstrap_servers()),
            shutdown.clone(),
            Notifier::from_env(),
        ),
    )
    .await;
    shutdown.trigger(); // on a timeout, let the consumer thread end too
    let result = result.expect("a refused login is not retried");
    let e = format!("{:#}", result.expect_err("a refused login is an error"));
    assert!(
        e.contains("the server refused the login: check the user in process.database_url")
            && e.contains("Access denied"),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    db.drop().await;
}
