//! Crash safety of the real binary: `logpipe process` is killed with SIGKILL
//! mid-stream, twice, and restarted; the stored `log_data` windows must
//! still equal the brute-force reference exactly (no loss, no duplicates),
//! and the stored offsets must account for every event exactly once.
//!
//! The child is the built `logpipe` executable with a TOML config, exactly
//! as systemd runs it; the librdkafka mock cluster lives in this test process
//! and the child reaches it over loopback through `[kafka]
//! "bootstrap.servers"`.

use std::path::Path;
use std::time::Duration;

use logpipe_testkit::process::{spawn_daemon, KillOnDrop};

use logpipe_testkit::kafka::produce;
use logpipe_testkit::mariadb::TestDb;
use logpipe_testkit::pipeline::{
    committed_offsets, log_events, mock_cluster, reference_log_data, stored_log_data, wait_offsets,
};

const TOTAL: usize = 150_000;
/// Enough that no partition outgrows what the mock broker keeps
/// (`logpipe_testkit::kafka::MOCK_PARTITION_BYTES`) while the daemon is behind.
const PARTITIONS: i32 = 10;

fn write_config(dir: &Path, bootstrap: &str, database_url: &str) -> std::path::PathBuf {
    let path = dir.join("logpipe.toml");
    let toml = format!(
        r#"[kafka]
"bootstrap.servers" = "{bootstrap}"
"session.timeout.ms" = "6000"
"reconnect.backoff.max.ms" = "1000"

[process]
database_url = "{database_url}"
group_id = "crash-test"
commit_interval = "100ms"
commit_max_events = 3000
"#
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// A running `logpipe process`, SIGKILLed when dropped (so a failing or
/// timed-out test leaves no daemon behind).
fn spawn_process(config: &Path) -> KillOnDrop {
    spawn_daemon(env!("CARGO_BIN_EXE_logpipe"), "process", config)
}

/// SIGKILL, failing if the child had already exited on its own (it must
/// still be running mid-stream, not have crashed).
fn kill(mut daemon: KillOnDrop, when: &str) {
    if let Some(status) = daemon.exited() {
        panic!("logpipe process exited on its own before the kill {when}: {status}");
    }
    drop(daemon); // SIGKILL + wait
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_process_restarts_from_db_offsets_with_exact_totals() {
    tokio::time::timeout(Duration::from_secs(300), scenario())
        .await
        .expect("the crash test finishes within 5 minutes");
}

async fn scenario() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", PARTITIONS);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &bootstrap, &db.url);
    let events = log_events(TOTAL, PARTITIONS, 1_700_000_000.0);
    let msgs: Vec<(i32, Vec<u8>)> = events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    produce(&bootstrap, "logs", &msgs[..50_000]);

    let child = spawn_process(&config);
    wait_offsets(&db.url, Duration::from_secs(60), "first commits", |n| {
        n >= 10_000
    })
    .await;
    kill(child, "after the first commits");
    let at_first_kill = committed_offsets(&db.url).await;
    assert!(
        at_first_kill < TOTAL as i64,
        "killed mid-stream ({at_first_kill})"
    );

    produce(&bootstrap, "logs", &msgs[50_000..100_000]);
    let child = spawn_process(&config);
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "progress after restart",
        |n| n >= at_first_kill + 20_000,
    )
    .await;
    kill(child, "after the first restart");
    let at_second_kill = committed_offsets(&db.url).await;
    assert!(
        at_second_kill < TOTAL as i64,
        "killed mid-stream again ({at_second_kill})"
    );

    produce(&bootstrap, "logs", &msgs[100_000..]);
    let child = spawn_process(&config);
    wait_offsets(
        &db.url,
        Duration::from_secs(90),
        "all offsets committed",
        |n| n == TOTAL as i64,
    )
    .await;
    kill(child, "after all offsets were committed");

    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(stored_log_data(&db.url).await, expected);
    db.drop().await;
}
