//! A protocol-level fake HDFS: one NameNode (Hadoop IPC, SIMPLE auth) and several DataNodes
//! (DataTransferProtocol, plus each DataNode's IPC port) on 127.0.0.1, with fault injection
//! ([`Faults`]) and a call log for assertions. It is driven by two independent clients: the
//! hdfs-native Rust client (`tests/hdfs_*.rs`) and Apache Hadoop's own Java client
//! (`tests/hdfs_java_conformance.rs`, which runs `tests/java/HdfsConformance.java` through
//! `org.apache.hadoop.fs.FileSystem`). The fake must behave like a Hadoop 3 cluster, not like
//! either client: a difference in outcome between the two clients is a bug in the fake until
//! shown otherwise.
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
//!
//! # What the NameNode implements
//!
//! `ClientProtocol`: getServerDefaults, getFileInfo, mkdirs, create, addBlock (incl.
//! excludeNodes, and Hadoop's answer to a retried call: the same block again), abandonBlock,
//! complete, fsync, renewLease, recoverLease, isFileClosed, rename (the deprecated one that
//! `FileSystem.rename(Path, Path)` uses: `false` instead of most errors, "into" an existing
//! directory), rename2, delete, getListing (paged by [`NamespaceConfig::listing_limit`];
//! with `needLocation` each file carries its block locations, as `listFiles` needs),
//! getBlockLocations (an open file's length leaves out its last block, whose visible length the
//! reader asks of a DataNode), getContentSummary (counted as Hadoop does: the directory itself
//! is one of the directories, an open file's last block takes a full block of space per
//! replica, no quotas), setReplication, setPermission, setOwner, setTimes,
//! updateBlockForPipeline, updatePipeline, getAdditionalDatanode. IPC keep-alive pings are
//! ignored; a SASL negotiation is answered with SUCCESS ("use SIMPLE"), as by a Hadoop server
//! with security off.
//!
//! Features it does not have answer as a NameNode without them does:
//! - `append`, and `create` with the APPEND flag: `java.lang.UnsupportedOperationException`
//!   ("Append is not enabled on this NameNode. Use the dfs.support.append configuration option
//!   to enable it.", `FSNamesystem.appendFile` with `dfs.support.append=false`); the file stays
//!   closed and intact. Hadoop 3 NameNodes normally grant appends, so nothing may rely on
//!   append against this fake (the archiver never appends: it writes new files). Both clients
//!   check this answer (`hdfs_namespace.rs`, the Java suite);
//! - ACL methods (modifyAclEntries, removeAclEntries, removeDefaultAcl, removeAcl, setAcl,
//!   getAclStatus): `org.apache.hadoop.hdfs.protocol.AclException`, as with
//!   `dfs.namenode.acls.enabled=false`;
//! - XAttr methods (setXAttr, getXAttrs, listXAttrs, removeXAttr): `java.io.IOException`, as
//!   with `dfs.namenode.xattrs.enabled=false`;
//! - every other method (getQuotaUsage, concat, truncate, getFsStats,
//!   getDatanodeReport, getLocatedFileInfo, snapshots, quotas, storage and erasure-coding
//!   policies, encryption zones, caching, delegation tokens, msync, …):
//!   `org.apache.hadoop.ipc.RpcNoSuchMethodException`, as a NameNode whose protocol version
//!   lacks the method;
//! - a call naming another protocol: `org.apache.hadoop.ipc.RpcNoSuchProtocolException`.
//!
//! Permissions are stored and reported but not enforced (as with
//! `dfs.permissions.enabled=false`); there is no safe mode, no quota, no lease expiry (use
//! [`FakeHdfs::phantom_lease`] and `recoverLease`), and the DataNodes never send block reports
//! (the NameNode reads the replicas directly).
//!
//! # What the DataNodes implement
//!
//! WRITE_BLOCK at PIPELINE_SETUP_CREATE (`latestGenerationStamp` is ignored there, as on a
//! real DataNode; the Java client sends 0 and the block size as `numBytes`),
//! PIPELINE_SETUP_STREAMING_RECOVERY and PIPELINE_CLOSE_RECOVERY (the latter finalizes at setup
//! without packets, as Hadoop does); packets with any non-negative seqno, overlapping packets
//! (the Java client re-sends a partial checksum chunk after hflush); acknowledged heartbeats;
//! READ_BLOCK with connection reuse; TRANSFER_BLOCK (copied in-process); BLOCK_CHECKSUM in
//! the default MD5CRC mode (`FileSystem.getFileChecksum`: MD5 of the block's 512-byte CRC32C
//! chunk checksums, checked by the Java suite against its own computation). The write pipeline is
//! simulated in-process: the DataNode the client talks to stores every packet on each DataNode
//! of the pipeline. The IPC port serves `ClientDatanodeProtocol.getReplicaVisibleLength`; its
//! other methods answer `RpcNoSuchMethodException`.
//!
//! Not implemented: the append stages (the NameNode never grants an append), checksum types
//! other than CRC32C (a real DataNode also accepts CRC32 and NULL; both clients default to
//! CRC32C), BLOCK_CHECKSUM in COMPOSITE_CRC mode (`dfs.checksum.combine.mode=COMPOSITE_CRC`:
//! answered ERROR_UNSUPPORTED, not logged as a protocol error), BLOCK_GROUP_CHECKSUM (erasure
//! coding), REQUEST_SHORT_CIRCUIT_FDS, data-transfer SASL/encryption, block tokens.
//!
//! # Protocol errors
//!
//! [`FakeHdfs::protocol_errors`] records what a real cluster would also refuse (answered the
//! way Hadoop answers it), e.g. an RPC frame that does not decode, an IPC version other than
//! 9, a SASL exchange other than a NEGOTIATE (a client insisting on Kerberos), a call for
//! another protocol, addBlock/complete/updatePipeline naming a block that is not the file's
//! last one or carries a stale generation stamp ("Cannot allocate block … does not match"), a
//! WRITE_BLOCK for an unknown block pool, onto an existing replica
//! (ReplicaAlreadyExistsException) or recovering a replica that does not match
//! (ReplicaNotFoundException), a data packet with a bad CRC32C or starting past the end of the
//! previous one, an unknown data-transfer op or version. It also records the fake's own
//! inconsistencies (answers it refuses to send).

mod blockstore;
mod cluster;
mod datanode;
mod datanode_ipc;
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
