//! A protocol-level fake HDFS: one NameNode (Hadoop IPC, SIMPLE auth) and several DataNodes
//! (DataTransferProtocol) on 127.0.0.1, driven by the real hdfs-native client, with fault
//! injection ([`Faults`]) and a call log for assertions.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use logpipe_testkit::hdfs::FakeHdfs;
//! let hdfs = FakeHdfs::start().await?;
//! let client = hdfs.client()?;
//! client.mkdirs("/logs", 0o755, true).await?;
//! assert!(hdfs.protocol_errors().is_empty());
//! hdfs.shutdown().await;
//! # Ok(()) }
//! ```

mod blockstore;
mod cluster;
mod datanode;
pub mod exceptions;
mod faults;
mod harness;
mod namenode;
mod namespace;
pub mod proto;
mod rpc;
mod transfer;

pub use faults::{
    CallRecord, DataNodeFault, Faults, NameNodeFault, Outcome, PipelineErrorAck, Server, Times,
};
pub use harness::{FakeHdfs, FakeHdfsConfig};
pub use namespace::{NamespaceConfig, PHANTOM_LEASE_HOLDER};
