//! Each fault class of the fake HDFS while archiving: DataNodes dropping or
//! refusing a write, an ERROR ack in the pipeline, each retriable NameNode
//! exception, a FATAL disconnect, an ambiguous rename, `complete` answering
//! false. The archiver abandons what failed, re-reads it from Kafka and ends
//! exact: every offset once, no temporary left, nothing foreign in a final
//! directory.

mod common;

use std::time::Duration;

use common::*;
use logpipe_archiver::config::Codec;
use logpipe_testkit::hdfs::{DataNodeFault, FakeHdfs, NameNodeFault, PipelineErrorAck, Times};
use logpipe_testkit::kafka::{mock_cluster, produce};

const N: usize = 3_000;

async fn survives(name: &str, arm: impl FnOnce(&FakeHdfs)) {
    let fake = FakeHdfs::start().await.unwrap();
    let cluster = mock_cluster(&[("logs", 3)]);
    let bootstrap = cluster.bootstrap_servers();
    let (mut c, kafka) = config("", "logs", &bootstrap);
    use_hdfs(&mut c, &fake, "/archive");
    // Uncompressed, 500 records (~50 KiB) per file: several data packets.
    c.codec = Codec::None;
    c.roll.max_records = 500;
    let evs = events(N, 3, 1_712_350_800.0, 7200.0);
    produce(&bootstrap, "logs", &evs);
    arm(&fake);
    let running = Running::start(c.clone(), kafka);
    let cc = c.clone();
    wait_until(
        &format!("{name}: all archived"),
        Duration::from_secs(90),
        move || archived(&cc, "logs") == N,
    )
    .await;
    running.stop().await;
    let cc = c.clone();
    let (got, reports, temps) = blocking(move || {
        (
            read_back(&cc, "logs"),
            verify_reports(&cc, "logs"),
            temporaries(&cc),
        )
    })
    .await;
    assert!(got == expected(&evs), "{name}: exactly the produced events");
    assert!(reports.iter().all(|r| r.is_clean()), "{name}: {reports:?}");
    assert!(temps.is_empty(), "{name}: temporaries left: {temps:?}");
    // Nothing but committed files and markers in the final directories.
    let client = fake.client().unwrap();
    for f in client.list_status("/archive/logs", true).await.unwrap() {
        let leaf = f.path.rsplit('/').next().unwrap();
        assert!(
            f.isdir || logpipe_core::archive::FileRange::parse(leaf).is_some(),
            "{name}: stray file {}",
            f.path
        );
    }
    assert!(
        fake.protocol_errors().is_empty(),
        "{name}: {:?}",
        fake.protocol_errors()
    );
}

fn nn_error(class: &str) -> NameNodeFault {
    NameNodeFault::error(class, "injected by the test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datanode_failures() {
    survives("DataNode drops the write mid-block", |f| {
        f.faults()
            .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(1), Times::N(2))
    })
    .await;
    survives("DataNode refuses pipeline setup", |f| {
        f.faults()
            .inject_datanode(0, DataNodeFault::RefuseWrite, Times::N(2))
    })
    .await;
    survives("ERROR ack in the pipeline", |f| {
        f.faults().inject_pipeline_error_ack(
            PipelineErrorAck {
                position: 0,
                after_packets: 1,
            },
            Times::N(2),
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_namenode_exceptions() {
    for (method, class) in [
        (
            "addBlock",
            "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException",
        ),
        (
            "create",
            "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
        ),
        ("create", "org.apache.hadoop.ipc.RetriableException"),
        ("rename2", "org.apache.hadoop.ipc.StandbyException"),
        ("getListing", "org.apache.hadoop.ipc.RetriableException"),
        (
            "create",
            "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
        ),
    ] {
        survives(&format!("{method}: {class}"), |f| {
            f.faults()
                .inject_namenode(method, nn_error(class), Times::N(3))
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnects_and_ambiguous_answers() {
    survives("FATAL on create", |f| {
        f.faults().inject_namenode(
            "create",
            NameNodeFault::fatal("org.apache.hadoop.ipc.RpcServerException", "injected"),
            Times::Once,
        )
    })
    .await;
    survives("connection dropped after the rename was applied", |f| {
        f.faults()
            .inject_namenode("rename2", NameNodeFault::DropAfterApply, Times::N(2))
    })
    .await;
    survives("complete answers false", |f| {
        f.faults().complete_returns_false(3)
    })
    .await;
}
