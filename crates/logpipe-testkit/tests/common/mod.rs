//! Helpers shared by the fake-HDFS integration tests: time bounds, deterministic payloads and
//! whole-file write/read through the real hdfs-native client.

#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use hdfs_native::{Client, WriteOptions};
use logpipe_testkit::hdfs::{FakeHdfs, FakeHdfsConfig, NamespaceConfig};

pub const MIB: usize = 1024 * 1024;

/// Fails the test instead of hanging when a protocol bug stalls the client.
pub async fn bounded<T>(seconds: u64, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(seconds), future).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {seconds} s"),
    }
}

/// Deterministic, non-repeating-looking bytes.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// A fake HDFS with `datanodes` DataNodes and 1 MiB default blocks.
pub async fn fake(datanodes: usize) -> FakeHdfs {
    FakeHdfs::start_with(FakeHdfsConfig {
        datanodes,
        namespace: NamespaceConfig {
            default_block_size: MIB as u64,
            ..NamespaceConfig::default()
        },
        ..FakeHdfsConfig::default()
    })
    .await
    .expect("fake HDFS starts")
}

pub fn options(replication: u32) -> WriteOptions {
    WriteOptions::default()
        .block_size(MIB as u64)
        .replication(replication)
        .create_parent(true)
}

/// Writes `data` in `piece`-sized writes and closes the file.
pub async fn write_file(
    client: &Client,
    path: &str,
    data: &[u8],
    piece: usize,
    replication: u32,
) -> hdfs_native::Result<()> {
    let mut writer = client.create(path, options(replication)).await?;
    for chunk in data.chunks(piece.max(1)) {
        writer.write_bytes(Bytes::copy_from_slice(chunk)).await?;
    }
    writer.close().await
}

pub async fn read_file(client: &Client, path: &str) -> hdfs_native::Result<Vec<u8>> {
    let mut reader = client.read(path).await?;
    let len = reader.file_length();
    Ok(reader.read_bytes(len).await?.to_vec())
}

pub fn assert_no_protocol_errors(hdfs: &FakeHdfs) {
    let errors = hdfs.protocol_errors();
    assert!(errors.is_empty(), "protocol errors: {errors:#?}");
}
