//! MariaDB outage: the processor's database connections go through a TCP
//! proxy that is cut mid-stream for a few seconds (live connections
//! dropped, new ones closed at once) while more events arrive. The
//! processor must keep running, retry with back-off while keeping its
//! batch and window state, and resume when the database is reachable
//! again — the stored windows equal the brute-force reference exactly (no
//! loss, no duplicates). The shared MariaDB server itself is never stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::server_addr;
use logpipe_testkit::proxy::TcpProxy;

mod common;
use common::*;

const TOTAL: usize = 90_000;
/// Enough that no partition outgrows what the mock broker keeps
/// (`logpipe_testkit::kafka::MOCK_PARTITION_BYTES`) while the daemon is behind.
const PARTITIONS: i32 = 6;
const OUTAGE: Duration = Duration::from_secs(4);

/// Produce `msgs` in chunks of 2 000 every 100 ms on a thread (a steady
/// stream, so the cut lands while batches are being committed); `produced`
/// counts what was acknowledged.
fn produce_steadily(
    bootstrap: String,
    msgs: Vec<(i32, Vec<u8>)>,
    produced: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for chunk in msgs.chunks(2_000) {
            produce(&bootstrap, "logs", chunk);
            produced.fetch_add(chunk.len(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_outage_backs_off_and_resumes_without_loss() {
    tokio::time::timeout(Duration::from_secs(240), scenario())
        .await
        .expect("the outage test finishes within 4 minutes");
}

async fn scenario() {
    let db = TestDb::create().await;
    let proxy = TcpProxy::start(server_addr());
    let cluster = mock_cluster("logs", PARTITIONS);
    let bootstrap = cluster.bootstrap_servers();
    let events = log_events(TOTAL, PARTITIONS, 1_700_000_000.0);
    let msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    produce(&bootstrap, "logs", &msgs[..10_000]);

    let config = ProcessConfig {
        database_url: db.url_via(proxy.addr()),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(100),
        commit_max_events: 2_000,
        ..ProcessConfig::default()
    };
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        test_kafka(&bootstrap),
        shutdown.clone(),
        Notifier::from_env(),
    ));
    // Offsets are read straight from the server (db.url), not through the proxy.
    wait_offsets(&db.url, Duration::from_secs(60), "the first commits", |n| {
        n >= 5_000
    })
    .await;
    let produced = Arc::new(AtomicUsize::new(10_000));
    let producer = produce_steadily(bootstrap.clone(), msgs[10_000..].to_vec(), produced.clone());
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "commits of the steady stream",
        |n| n >= 16_000,
    )
    .await;

    proxy.cut();
    let refused_at_cut = proxy.refused_connections();
    // A commit that reached the server just before the cut may still land:
    // wait until the server has ended every session of the processor's.
    let settled = std::time::Instant::now() + Duration::from_secs(30);
    while logpipe_testkit::pipeline::server_sessions(&db.url, &db.name).await > 0 {
        assert!(
            std::time::Instant::now() < settled,
            "the server still holds sessions of the processor 30 s after the cut"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = committed_offsets(&db.url).await;
    let produced_at_cut = produced.load(Ordering::SeqCst);
    tokio::time::sleep(OUTAGE).await;
    assert_eq!(
        committed_offsets(&db.url).await,
        during,
        "nothing can commit while the proxy is cut"
    );
    assert!(
        produced.load(Ordering::SeqCst) > produced_at_cut,
        "events kept arriving during the outage"
    );
    let attempts = proxy.refused_connections() - refused_at_cut;
    assert!(
        attempts >= 1,
        "the processor tried to reach the database during the outage"
    );
    assert!(
        attempts <= 50,
        "{attempts} connection attempts in {OUTAGE:?}: retries must back off, not spin"
    );
    assert!(
        !task.is_finished(),
        "the processor keeps running while the database is down: {:?}",
        task.await
    );

    proxy.restore();
    tokio::task::spawn_blocking(move || producer.join())
        .await
        .unwrap()
        .expect("the producer thread");
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "all offsets committed after the outage",
        |n| n == TOTAL as i64,
    )
    .await;
    assert!(
        !task.is_finished(),
        "the processor is still running after the outage"
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
