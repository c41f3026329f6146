//! DataNode failures injected into the fake HDFS and how the real hdfs-native client handles
//! them: pipeline recovery with two replicas, failure with one, setup refusal, corrupt and
//! stalled reads, datanode replacement with replication 3.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hdfs_native::HdfsError;
use logpipe_testkit::hdfs::{DataNodeFault, Outcome, PipelineErrorAck, Server, Times};

fn datanode_ops(hdfs: &logpipe_testkit::hdfs::FakeHdfs, op: &str) -> Vec<(usize, Outcome)> {
    hdfs.calls()
        .into_iter()
        .filter(|c| c.method == op)
        .filter_map(|c| match c.server {
            Server::DataNode(i) => Some((i, c.outcome)),
            Server::NameNode => None,
        })
        .collect()
}

async fn assert_recovered_write(hdfs: &logpipe_testkit::hdfs::FakeHdfs, path: &str, seed: u64) {
    let client = hdfs.client().unwrap();
    let data = payload(3 * MIB + 4321, seed);
    bounded(
        60,
        "write with a failing datanode",
        write_file(&client, path, &data, 100_000, 2),
    )
    .await
    .expect("the client recovers the pipeline");
    let back = bounded(60, "read", read_file(&client, path)).await.unwrap();
    assert!(back == data, "read-back differs after pipeline recovery");
    assert_eq!(hdfs.stored_bytes(path).unwrap(), data);
    let methods = hdfs.faults().namenode_methods();
    for method in ["updateBlockForPipeline", "updatePipeline"] {
        assert_eq!(
            methods.iter().filter(|m| *m == method).count(),
            1,
            "{method} in {methods:?}"
        );
    }
    assert_no_protocol_errors(hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_datanode_dropping_mid_block_is_recovered_with_two_replicas() {
    let hdfs = fake(2).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(5), Times::Once);
    assert_recovered_write(&hdfs, "/f/head-drop", 11).await;
    let writes = datanode_ops(&hdfs, "WRITE_BLOCK");
    assert!(writes.contains(&(0, Outcome::Dropped)), "{writes:?}");
    // The recovery pipeline (stage PIPELINE_SETUP_STREAMING_RECOVERY) went to datanode 1 alone.
    assert!(
        writes.iter().filter(|(dn, _)| *dn == 1).count() >= 1,
        "{writes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_datanode_dropping_after_some_bytes_is_recovered() {
    let hdfs = fake(2).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterBytes(300_000), Times::Once);
    assert_recovered_write(&hdfs, "/f/bytes-drop", 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downstream_datanode_failure_shows_as_error_ack_and_is_recovered() {
    let hdfs = fake(2).await;
    hdfs.faults()
        .inject_datanode(1, DataNodeFault::DropWriteAfterPackets(3), Times::Once);
    assert_recovered_write(&hdfs, "/f/downstream", 13).await;
    let writes = datanode_ops(&hdfs, "WRITE_BLOCK");
    assert!(
        writes.contains(&(0, Outcome::Error("ERROR ack at position 1".to_string()))),
        "{writes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_ack_at_a_pipeline_position_is_recovered() {
    let hdfs = fake(2).await;
    hdfs.faults().inject_pipeline_error_ack(
        PipelineErrorAck {
            position: 0,
            after_packets: 2,
        },
        Times::Once,
    );
    assert_recovered_write(&hdfs, "/f/error-ack", 14).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datanode_failure_with_a_single_replica_fails_the_write() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(2), Times::Once);
    let data = payload(2 * MIB, 15);
    let err = bounded(
        60,
        "write",
        write_file(&client, "/f/single", &data, 100_000, 1),
    )
    .await
    .expect_err("one replica cannot be recovered");
    assert!(
        matches!(&err, HdfsError::DataTransferError(m) if m.contains("All nodes failed")),
        "{err:?}"
    );
    assert_eq!(hdfs.faults().count("updatePipeline"), 0);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_pipeline_setup_fails_the_write_and_leaves_the_file_open() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::RefuseWrite, Times::Once);
    let err = bounded(
        30,
        "write",
        write_file(&client, "/f/refused.tmp", &payload(5000, 16), 5000, 2),
    )
    .await
    .expect_err("setup failures are not recovered by hdfs-native");
    assert!(
        matches!(err, HdfsError::IOError(_) | HdfsError::DataTransferError(_)),
        "{err:?}"
    );
    bounded(30, "aftermath", async {
        // The file stays under construction, held by this client's lease.
        let again = client
            .create("/f/refused.tmp", options(2).overwrite(true))
            .await
            .err()
            .expect("still open");
        assert!(matches!(again, HdfsError::AlreadyExists(_)), "{again:?}");
        // A fresh temporary file works (the archiver's retry path).
        write_file(&client, "/f/refused-2.tmp", b"retry", 5, 2)
            .await
            .unwrap();
        assert_eq!(
            read_file(&client, "/f/refused-2.tmp").await.unwrap(),
            b"retry"
        );
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_read_checksum_falls_back_to_the_other_replica() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    let data = payload(300_000, 17);
    bounded(
        30,
        "write",
        write_file(&client, "/f/corrupt", &data, 50_000, 2),
    )
    .await
    .unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::CorruptReadChecksum, Times::Once);
    let back = bounded(30, "read", read_file(&client, "/f/corrupt"))
        .await
        .unwrap();
    assert!(back == data);
    let reads = datanode_ops(&hdfs, "READ_BLOCK");
    assert_eq!(reads[0].0, 0);
    assert!(matches!(reads[0].1, Outcome::Error(_)), "{reads:?}");
    assert_eq!(reads[1], (1, Outcome::Success));
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_read_checksum_with_a_single_replica_fails_the_read() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(
        30,
        "write",
        write_file(&client, "/f/corrupt1", &payload(10_000, 18), 10_000, 1),
    )
    .await
    .unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::CorruptReadChecksum, Times::Always);
    let err = bounded(30, "read", read_file(&client, "/f/corrupt1"))
        .await
        .expect_err("no good replica");
    assert!(
        matches!(&err, HdfsError::DataTransferError(m) if m.contains("All DataNodes failed")),
        "{err:?}"
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_read_times_out_and_moves_to_the_other_replica() {
    let hdfs = fake(2).await;
    let client = hdfs
        .client_with([("dfs.client.socket-timeout".to_string(), "1000".to_string())])
        .unwrap();
    let data = payload(100_000, 19);
    bounded(
        30,
        "write",
        write_file(&client, "/f/stall", &data, 100_000, 2),
    )
    .await
    .unwrap();
    hdfs.faults().inject_datanode(
        0,
        DataNodeFault::StallRead(Duration::from_secs(30)),
        Times::Once,
    );
    let started = Instant::now();
    let back = bounded(20, "read", read_file(&client, "/f/stall"))
        .await
        .unwrap();
    assert!(back == data);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(datanode_ops(&hdfs, "READ_BLOCK").contains(&(1, Outcome::Success)));
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_read_moves_to_the_other_replica() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    let data = payload(70_000, 20);
    bounded(
        30,
        "write",
        write_file(&client, "/f/refuse-read", &data, 70_000, 2),
    )
    .await
    .unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::RefuseRead, Times::Once);
    let back = bounded(20, "read", read_file(&client, "/f/refuse-read"))
        .await
        .unwrap();
    assert!(back == data);
    let reads = datanode_ops(&hdfs, "READ_BLOCK");
    assert_eq!(reads, vec![(0, Outcome::Dropped), (1, Outcome::Success)]);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_write_ack_delays_but_does_not_fail_the_write() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    hdfs.faults().inject_datanode(
        1,
        DataNodeFault::StallWrite(Duration::from_millis(1500)),
        Times::Once,
    );
    let data = payload(200_000, 21);
    let started = Instant::now();
    bounded(
        30,
        "write",
        write_file(&client, "/f/slow", &data, 200_000, 2),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1400));
    assert!(
        bounded(20, "read", read_file(&client, "/f/slow"))
            .await
            .unwrap()
            == data
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_three_replaces_a_failed_datanode_via_transfer_block() {
    let hdfs = fake(4).await;
    let client = hdfs.client().unwrap();
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(4), Times::Once);
    let data = payload(MIB + 100, 22);
    bounded(
        60,
        "write",
        write_file(&client, "/f/three", &data, 100_000, 3),
    )
    .await
    .unwrap();
    assert!(
        bounded(20, "read", read_file(&client, "/f/three"))
            .await
            .unwrap()
            == data
    );
    assert_eq!(hdfs.faults().count("getAdditionalDatanode"), 1);
    assert_eq!(datanode_ops(&hdfs, "TRANSFER_BLOCK").len(), 1);
    assert_eq!(hdfs.stored_bytes("/f/three").unwrap(), data);
    assert_no_protocol_errors(&hdfs);
}
