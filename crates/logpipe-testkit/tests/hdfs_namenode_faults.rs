//! NameNode failures injected into the fake HDFS and how the real hdfs-native client handles
//! them: ERROR classes, StandbyException failover retry, FATAL and dropped connections (reads
//! retried once, writes failed), ambiguous drops after apply, delays, and `complete` retries.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hdfs_native::HdfsError;
use logpipe_testkit::hdfs::{exceptions as ex, NameNodeFault, Outcome, Times};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_error_surfaces_as_rpc_error_with_its_class_and_is_not_retried() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_namenode(
        "rename2",
        NameNodeFault::error(ex::SAFE_MODE, "Name node is in safe mode."),
        Times::Once,
    );
    bounded(20, "rename", async {
        write_file(&client, "/src", b"x", 1, 1).await.unwrap();
        let err = client.rename("/src", "/dst", false).await.unwrap_err();
        assert!(
            matches!(&err, HdfsError::RPCError(class, msg) if class == ex::SAFE_MODE && msg.contains("safe mode")),
            "{err:?}"
        );
        client.rename("/src", "/dst", false).await.unwrap();
    })
    .await;
    assert_eq!(hdfs.faults().count("rename2"), 2);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_already_exists_classes_map_to_already_exists() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_namenode(
        "create",
        NameNodeFault::error(ex::ALREADY_BEING_CREATED, "held elsewhere"),
        Times::Once,
    );
    let err = bounded(20, "create", client.create("/x", options(1)))
        .await
        .err()
        .expect("create fails");
    assert!(matches!(err, HdfsError::AlreadyExists(_)), "{err:?}");
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_exception_is_retried_by_the_client_failover_logic() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_namenode(
        "mkdirs",
        NameNodeFault::error(
            ex::STANDBY,
            "Operation category WRITE is not supported in state standby",
        ),
        Times::Once,
    );
    bounded(20, "mkdirs", client.mkdirs("/ha", 0o755, true))
        .await
        .expect("retried after the standby answer");
    assert_eq!(hdfs.faults().count("mkdirs"), 2);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_answer_fails_writes_and_reconnects_for_the_next_call() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_namenode(
        "mkdirs",
        NameNodeFault::fatal("org.apache.hadoop.ipc.FatalRpcServerException", "boom"),
        Times::Once,
    );
    bounded(20, "mkdirs", async {
        let err = client.mkdirs("/fatal", 0o755, true).await.unwrap_err();
        assert!(
            matches!(&err, HdfsError::IOError(e) if e.to_string().contains("RPC listener disconnected")),
            "{err:?}"
        );
        // hdfs-native notices the dead connection only once its listener task has finished;
        // a write issued in that instant fails the same way. After it, a new connection is used.
        tokio::time::sleep(Duration::from_millis(200)).await;
        client.mkdirs("/fatal", 0o755, true).await.unwrap();
    })
    .await;
    assert_eq!(
        hdfs.calls()[0].outcome,
        Outcome::Fatal("org.apache.hadoop.ipc.FatalRpcServerException".to_string())
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_on_a_read_call_is_retried_once() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(20, "mkdirs", client.mkdirs("/r", 0o755, true))
        .await
        .unwrap();
    hdfs.faults()
        .inject_namenode("getFileInfo", NameNodeFault::DropBeforeApply, Times::Once);
    let status = bounded(20, "stat", client.get_file_info("/r"))
        .await
        .unwrap();
    assert!(status.isdir);
    assert_eq!(hdfs.faults().count("getFileInfo"), 2);

    // Every answer lost: the retry (and one failover attempt) cannot help.
    hdfs.faults().clear_calls();
    hdfs.faults()
        .inject_namenode("getFileInfo", NameNodeFault::DropBeforeApply, Times::Always);
    let err = bounded(20, "stat", client.get_file_info("/r"))
        .await
        .unwrap_err();
    assert!(matches!(err, HdfsError::IOError(_)), "{err:?}");
    assert!(hdfs.faults().count("getFileInfo") >= 2);
    hdfs.faults().clear();
    assert!(
        bounded(20, "stat", client.get_file_info("/r"))
            .await
            .unwrap()
            .isdir
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_before_apply_fails_the_write_and_changes_nothing() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_namenode("mkdirs", NameNodeFault::DropBeforeApply, Times::Once);
    bounded(20, "mkdirs", async {
        let err = client.mkdirs("/lost", 0o755, true).await.unwrap_err();
        assert!(matches!(err, HdfsError::IOError(_)), "{err:?}");
        assert!(matches!(
            client.get_file_info("/lost").await,
            Err(HdfsError::FileNotFound(_))
        ));
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_after_apply_commits_the_rename_the_client_saw_fail() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_namenode("rename2", NameNodeFault::DropAfterApply, Times::Once);
    bounded(20, "ambiguous rename", async {
        write_file(&client, "/tmp-file", b"data", 4, 1)
            .await
            .unwrap();
        let err = client
            .rename("/tmp-file", "/final-file", false)
            .await
            .unwrap_err();
        assert!(matches!(err, HdfsError::IOError(_)), "{err:?}");
        // The rename happened: the archiver must check the destination before retrying.
        assert_eq!(read_file(&client, "/final-file").await.unwrap(), b"data");
        let retry = client
            .rename("/tmp-file", "/final-file", false)
            .await
            .unwrap_err();
        assert!(matches!(retry, HdfsError::RPCError(c, _) if c == ex::FILE_NOT_FOUND));
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_during_a_write_fails_that_writer() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_namenode("addBlock", NameNodeFault::DropBeforeApply, Times::Once);
    let err = bounded(
        30,
        "write",
        write_file(&client, "/w", &payload(2 * MIB, 5), 100_000, 2),
    )
    .await
    .expect_err("addBlock lost");
    assert!(matches!(err, HdfsError::IOError(_)), "{err:?}");
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_call_is_answered_late_without_holding_up_other_calls() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_namenode(
        "getListing",
        NameNodeFault::Delay(Duration::from_millis(1500)),
        Times::Once,
    );
    let started = Instant::now();
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.list_status("/", false).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    bounded(
        20,
        "mkdirs during a delayed call",
        client.mkdirs("/fast", 0o755, true),
    )
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "mkdirs waited"
    );
    let listing = bounded(20, "delayed listing", slow).await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(listing.len() <= 1);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_answering_false_is_retried_until_true() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().complete_returns_false(2);
    let data = payload(10_000, 6);
    let started = Instant::now();
    bounded(
        30,
        "write",
        write_file(&client, "/slow-complete", &data, 10_000, 2),
    )
    .await
    .expect("closed on the third complete");
    // 500 ms + 1000 ms of client back-off.
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert_eq!(hdfs.faults().count("complete"), 3);
    assert!(
        bounded(20, "read", read_file(&client, "/slow-complete"))
            .await
            .unwrap()
            == data
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_answering_false_five_times_fails_the_close() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().complete_returns_false(5);
    let err = bounded(
        40,
        "write",
        write_file(&client, "/never-complete", b"abc", 3, 1),
    )
    .await
    .expect_err("gives up after five tries");
    assert!(
        matches!(&err, HdfsError::OperationFailed(m) if m.contains("Failed to complete file in time")),
        "{err:?}"
    );
    assert_eq!(hdfs.faults().count("complete"), 5);
    assert_no_protocol_errors(&hdfs);
}
