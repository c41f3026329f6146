//! Crash safety: a processor in its own process is killed with SIGKILL
//! mid-stream, twice, and restarted; the stored windows must still equal the
//! brute-force reference exactly (no loss, no duplicates).
//!
//! The processor child is this test binary re-executed into the ignored
//! `crash_child` entry point, which calls `logpipe_processor::run` exactly as
//! `logpipe process` does; the mock cluster lives in the parent (a mock
//! cluster cannot be shared between processes otherwise).

use std::process::{Child, Command};
use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::store::Store;
use logpipe_processor::ProcessConfig;

mod common;
use common::*;

const BOOTSTRAP: &str = "LP_CRASH_BOOTSTRAP";
const DATABASE: &str = "LP_CRASH_DATABASE";

fn config(url: &str) -> ProcessConfig {
    ProcessConfig {
        database_url: url.into(),
        group_id: "crash-test".into(),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(100),
        commit_max_events: 3_000,
        ..ProcessConfig::default()
    }
}

/// Entry point of the child process (run only by `restart_after_kill_resumes_from_db_offsets`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "entry point of the processor child of the crash test"]
async fn crash_child() {
    let bootstrap = std::env::var(BOOTSTRAP).expect("started by the crash test");
    let url = std::env::var(DATABASE).expect("started by the crash test");
    let shutdown = Shutdown::new();
    shutdown.on_signals().unwrap();
    logpipe_processor::run(
        config(&url),
        test_kafka(&bootstrap),
        shutdown,
        Notifier::from_env(),
    )
    .await
    .unwrap();
}

fn spawn_child(bootstrap: &str, url: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(BOOTSTRAP, bootstrap)
        .env(DATABASE, url)
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_resumes_from_db_offsets() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 3);
    let bootstrap = cluster.bootstrap_servers();
    let events = log_events(150_000, 3, 1_700_000_000.0);
    let msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    produce(&bootstrap, "logs", &msgs[..50_000]);

    let mut child = spawn_child(&bootstrap, &db.url);
    wait_offsets(&db.url, Duration::from_secs(60), "first commits", |n| {
        n >= 10_000
    })
    .await;
    child.kill().unwrap(); // SIGKILL mid-stream
    child.wait().unwrap();
    let at_first_kill = committed_offsets(&db.url).await;
    assert!(
        at_first_kill < 150_000,
        "killed mid-stream ({at_first_kill})"
    );

    produce(&bootstrap, "logs", &msgs[50_000..100_000]);
    let mut child = spawn_child(&bootstrap, &db.url);
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "progress after restart",
        |n| n >= at_first_kill + 20_000,
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    produce(&bootstrap, "logs", &msgs[100_000..]);
    let mut child = spawn_child(&bootstrap, &db.url);
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "all offsets committed",
        |n| n == 150_000,
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    let store = Store::connect(&db.url, None).await.unwrap();
    let rows: Vec<(i64, [i64; 4])> = store
        .latest_windows(10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|w| {
            (
                w.window_start.and_utc().timestamp(),
                [w.debug, w.info, w.warn, w.error],
            )
        })
        .collect();
    store.close().await;
    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(rows, expected);
    db.drop().await;
}
