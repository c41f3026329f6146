//! Writing and reading files through the real hdfs-native client against the fake HDFS:
//! multi-block writes, hsync, byte-exact full and ranged reads, concurrent writers.

mod common;

use bytes::Bytes;
use common::*;
use logpipe_testkit::hdfs::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_block_file_is_written_closed_and_read_back_byte_exact() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    let data = payload(3 * MIB + 12_345, 1);
    bounded(
        60,
        "write",
        write_file(&client, "/logs/a.jsonl", &data, 100_000, 2),
    )
    .await
    .expect("write succeeds");

    let status = bounded(10, "stat", client.get_file_info("/logs/a.jsonl"))
        .await
        .unwrap();
    assert_eq!(status.length, data.len());
    assert!(!status.isdir);
    assert_eq!(status.blocksize, Some(MIB as u64));
    assert_eq!(status.replication, Some(2));

    let back = bounded(60, "read", read_file(&client, "/logs/a.jsonl"))
        .await
        .unwrap();
    assert!(back == data, "read-back differs from what was written");
    assert_eq!(hdfs.stored_bytes("/logs/a.jsonl").unwrap(), data);
    assert_eq!(hdfs.faults().count("addBlock"), 4);
    assert_eq!(hdfs.faults().count("WRITE_BLOCK"), 4);
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_file_is_created_and_closed_without_blocks() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    bounded(20, "write", write_file(&client, "/empty", &[], 1, 2))
        .await
        .unwrap();
    assert_eq!(client.get_file_info("/empty").await.unwrap().length, 0);
    assert!(bounded(20, "read", read_file(&client, "/empty"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(hdfs.faults().count("addBlock"), 0);
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsync_makes_written_bytes_visible_before_close() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    let data = payload(MIB + 700, 2);
    let mut writer = client.create("/sync", options(2)).await.unwrap();
    bounded(30, "first write + hsync", async {
        writer
            .write_bytes(Bytes::copy_from_slice(&data[..1000]))
            .await
            .unwrap();
        writer.hsync().await.unwrap();
    })
    .await;
    // The NameNode learned the synced length of the open block.
    assert_eq!(client.get_file_info("/sync").await.unwrap().length, 1000);
    bounded(30, "second write + hsync + close", async {
        // 1000 is not a multiple of 512: the next packet finishes the partial chunk.
        writer
            .write_bytes(Bytes::copy_from_slice(&data[1000..]))
            .await
            .unwrap();
        writer.hsync().await.unwrap();
        writer.close().await.unwrap();
    })
    .await;
    let back = bounded(30, "read", read_file(&client, "/sync"))
        .await
        .unwrap();
    assert!(back == data);
    let methods = hdfs.faults().namenode_methods();
    assert_eq!(
        methods,
        [
            "getServerDefaults",
            "create",
            "addBlock",
            "fsync",
            "getFileInfo",
            "addBlock",
            "fsync",
            "complete",
            "getBlockLocations"
        ]
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_reads_return_exact_bytes_across_block_and_chunk_boundaries() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    let data = payload(2 * MIB + 999, 3);
    bounded(
        60,
        "write",
        write_file(&client, "/ranged", &data, MIB / 3, 2),
    )
    .await
    .unwrap();
    let reader = client.read("/ranged").await.unwrap();
    let ranges = [
        (0, 1),
        (1, 511),
        (511, 2),
        (700, 70_000),
        (MIB - 10, 20),
        (MIB, MIB),
        (2 * MIB + 998, 1),
        (5, 2 * MIB + 990),
    ];
    for (offset, len) in ranges {
        let got = bounded(30, "ranged read", reader.read_range(offset, len))
            .await
            .unwrap_or_else(|e| panic!("read of {offset}+{len} failed: {e}"));
        assert!(
            got[..] == data[offset..offset + len],
            "bytes {offset}+{len} differ"
        );
    }
    // Sequential small reads reuse the DataNode connection for the next READ_BLOCK.
    let reads = hdfs
        .calls()
        .iter()
        .filter(|c| c.method == "READ_BLOCK" && matches!(c.server, Server::DataNode(_)))
        .count();
    assert!(reads >= ranges.len(), "{reads} READ_BLOCK ops");
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_parallel_writers_each_produce_their_own_exact_file() {
    let hdfs = fake(3).await;
    let client = hdfs.client().unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..8u64 {
        let client = client.clone();
        writers.spawn(async move {
            let data = payload(MIB + 5000 * i as usize, 100 + i);
            let path = format!("/parallel/part-{i}");
            write_file(&client, &path, &data, 40_000, 2).await?;
            Ok::<_, hdfs_native::HdfsError>((path, data))
        });
    }
    let written = bounded(120, "8 parallel writers", async {
        let mut written = Vec::new();
        while let Some(result) = writers.join_next().await {
            written.push(result.expect("writer task").expect("write succeeds"));
        }
        written
    })
    .await;
    for (path, data) in written {
        let back = bounded(30, "read", read_file(&client, &path))
            .await
            .unwrap();
        assert!(back == data, "{path} differs");
    }
    let listing = client.list_status("/parallel", false).await.unwrap();
    assert_eq!(listing.len(), 8);
    assert_no_protocol_errors(&hdfs);
}
