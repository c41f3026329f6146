//! Java exception class names the fake NameNode answers with, as a real Hadoop NameNode does.
//! The hdfs-native client surfaces them as `HdfsError::RPCError(class, message)` (or
//! `HdfsError::AlreadyExists` for the two "exists" classes).

/// A missing path (`getBlockLocations`, `rename2` source, `addBlock` on a deleted file, …).
pub const FILE_NOT_FOUND: &str = "java.io.FileNotFoundException";
/// `create` without OVERWRITE on an existing file, `rename2` onto an existing destination,
/// `mkdirs` onto a file.
pub const FILE_ALREADY_EXISTS: &str = "org.apache.hadoop.fs.FileAlreadyExistsException";
/// A path whose parent is a file.
pub const PARENT_NOT_DIRECTORY: &str = "org.apache.hadoop.fs.ParentNotDirectoryException";
/// `create` of a file that is open for writing (by any client).
pub const ALREADY_BEING_CREATED: &str =
    "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException";
/// A write call on a file that is not open by the calling client.
pub const LEASE_EXPIRED: &str = "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException";
/// Non-recursive `delete` of a non-empty directory.
pub const PATH_IS_NOT_EMPTY_DIRECTORY: &str =
    "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException";
/// A malformed path (relative, `..`, `:`).
pub const INVALID_PATH: &str = "org.apache.hadoop.fs.InvalidPathException";
/// Generic failure.
pub const IO: &str = "java.io.IOException";
/// An RPC method the fake does not implement.
pub const RPC_NO_SUCH_METHOD: &str = "org.apache.hadoop.ipc.RpcNoSuchMethodException";
/// A request the server could not decode.
pub const RPC_SERVER: &str = "org.apache.hadoop.ipc.RpcServerException";
/// Useful for fault injection: the NameNode is not active (hdfs-native fails over / retries).
pub const STANDBY: &str = "org.apache.hadoop.ipc.StandbyException";
/// Useful for fault injection: the NameNode asks the client to retry (hdfs-native does not).
pub const RETRIABLE: &str = "org.apache.hadoop.ipc.RetriableException";
/// Useful for fault injection: the NameNode is in safe mode.
pub const SAFE_MODE: &str = "org.apache.hadoop.hdfs.server.namenode.SafeModeException";
/// Useful for fault injection: the previous block has not reached minimal replication.
pub const NOT_REPLICATED_YET: &str =
    "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException";
/// Useful for fault injection: quota exceeded.
pub const DSQUOTA_EXCEEDED: &str = "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException";
/// A feature this NameNode does not have (`append`), as Hadoop answers when it is disabled.
pub const UNSUPPORTED_OPERATION: &str = "java.lang.UnsupportedOperationException";
/// A DataNode has no replica of the block (`getReplicaVisibleLength`).
pub const REPLICA_NOT_FOUND: &str =
    "org.apache.hadoop.hdfs.server.datanode.ReplicaNotFoundException";
/// An ACL call on a NameNode with ACLs disabled (`dfs.namenode.acls.enabled=false`).
pub const ACL_EXCEPTION: &str = "org.apache.hadoop.hdfs.protocol.AclException";
