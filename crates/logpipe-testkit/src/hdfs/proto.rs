//! Protobuf messages of the Hadoop RPC and data-transfer protocols that the fake HDFS speaks.
//!
//! Written for this crate with `prost` derives; field numbers and labels follow Hadoop's
//! `RpcHeader.proto`, `IpcConnectionContext.proto`, `ProtobufRpcEngine.proto`, `Security.proto`,
//! `hdfs.proto`, `ClientNamenodeProtocol.proto` and `datatransfer.proto`. Only the messages and
//! fields the hdfs-native client uses are defined; unknown fields are skipped by prost. Public so
//! tests can speak the raw protocols to the fake (e.g. to check it rejects misuse).

#![allow(missing_docs)]

// ---------------------------------------------------------------------------------------------
// Hadoop IPC (RpcHeader.proto, IpcConnectionContext.proto, ProtobufRpcEngine.proto)
// ---------------------------------------------------------------------------------------------

/// `RpcKindProto.RPC_PROTOCOL_BUFFER`.
pub const RPC_KIND_PROTOCOL_BUFFER: i32 = 2;
/// `RpcRequestHeaderProto.OperationProto.RPC_FINAL_PACKET`.
pub const RPC_OP_FINAL_PACKET: i32 = 0;
/// The call id of the connection context frame.
pub const CONNECTION_CONTEXT_CALL_ID: i32 = -3;

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcRequestHeaderProto {
    #[prost(int32, optional, tag = "1")]
    pub rpc_kind: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub rpc_op: Option<i32>,
    #[prost(sint32, required, tag = "3")]
    pub call_id: i32,
    #[prost(bytes = "vec", required, tag = "4")]
    pub client_id: Vec<u8>,
    #[prost(sint32, optional, tag = "5", default = "-1")]
    pub retry_count: Option<i32>,
    #[prost(int64, optional, tag = "8")]
    pub state_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum RpcStatusProto {
    Success = 0,
    Error = 1,
    Fatal = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum RpcErrorCodeProto {
    ErrorApplication = 1,
    ErrorNoSuchMethod = 2,
    ErrorNoSuchProtocol = 3,
    ErrorRpcServer = 4,
    FatalUnknown = 10,
    FatalInvalidRpcHeader = 12,
    FatalDeserializingRequest = 13,
    FatalVersionMismatch = 14,
    FatalUnauthorized = 15,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcResponseHeaderProto {
    #[prost(uint32, required, tag = "1")]
    pub call_id: u32,
    #[prost(enumeration = "RpcStatusProto", required, tag = "2")]
    pub status: i32,
    #[prost(uint32, optional, tag = "3")]
    pub server_ipc_version_num: Option<u32>,
    #[prost(string, optional, tag = "4")]
    pub exception_class_name: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub error_msg: Option<String>,
    #[prost(enumeration = "RpcErrorCodeProto", optional, tag = "6")]
    pub error_detail: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub client_id: Option<Vec<u8>>,
    #[prost(sint32, optional, tag = "8", default = "-1")]
    pub retry_count: Option<i32>,
}

/// `RpcSaslProto.SaslState`.
pub mod sasl_state {
    pub const SUCCESS: i32 = 0;
    pub const NEGOTIATE: i32 = 1;
}

/// The call id of SASL negotiation frames.
pub const SASL_CALL_ID: i32 = -33;

#[derive(Clone, PartialEq, prost::Message)]
pub struct SaslAuthProto {
    #[prost(string, required, tag = "1")]
    pub method: String,
    #[prost(string, required, tag = "2")]
    pub mechanism: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcSaslProto {
    #[prost(uint32, optional, tag = "1")]
    pub version: Option<u32>,
    #[prost(int32, required, tag = "2")]
    pub state: i32,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub token: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "4")]
    pub auths: Vec<SaslAuthProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserInformationProto {
    #[prost(string, optional, tag = "1")]
    pub effective_user: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub real_user: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct IpcConnectionContextProto {
    #[prost(message, optional, tag = "2")]
    pub user_info: Option<UserInformationProto>,
    #[prost(string, optional, tag = "3")]
    pub protocol: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestHeaderProto {
    #[prost(string, required, tag = "1")]
    pub method_name: String,
    #[prost(string, required, tag = "2")]
    pub declaring_class_protocol_name: String,
    #[prost(uint64, required, tag = "3")]
    pub client_protocol_version: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TokenProto {
    #[prost(bytes = "vec", required, tag = "1")]
    pub identifier: Vec<u8>,
    #[prost(bytes = "vec", required, tag = "2")]
    pub password: Vec<u8>,
    #[prost(string, required, tag = "3")]
    pub kind: String,
    #[prost(string, required, tag = "4")]
    pub service: String,
}

// ---------------------------------------------------------------------------------------------
// hdfs.proto
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExtendedBlockProto {
    #[prost(string, required, tag = "1")]
    pub pool_id: String,
    #[prost(uint64, required, tag = "2")]
    pub block_id: u64,
    #[prost(uint64, required, tag = "3")]
    pub generation_stamp: u64,
    #[prost(uint64, optional, tag = "4", default = "0")]
    pub num_bytes: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DatanodeIdProto {
    #[prost(string, required, tag = "1")]
    pub ip_addr: String,
    #[prost(string, required, tag = "2")]
    pub host_name: String,
    #[prost(string, required, tag = "3")]
    pub datanode_uuid: String,
    #[prost(uint32, required, tag = "4")]
    pub xfer_port: u32,
    #[prost(uint32, required, tag = "5")]
    pub info_port: u32,
    #[prost(uint32, required, tag = "6")]
    pub ipc_port: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DatanodeInfoProto {
    #[prost(message, required, tag = "1")]
    pub id: DatanodeIdProto,
    #[prost(uint64, optional, tag = "2")]
    pub capacity: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub dfs_used: Option<u64>,
    #[prost(uint64, optional, tag = "4")]
    pub remaining: Option<u64>,
    #[prost(string, optional, tag = "8")]
    pub location: Option<String>,
}

/// `StorageTypeProto.DISK`.
pub const STORAGE_TYPE_DISK: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct LocatedBlockProto {
    #[prost(message, required, tag = "1")]
    pub b: ExtendedBlockProto,
    #[prost(uint64, required, tag = "2")]
    pub offset: u64,
    #[prost(message, repeated, tag = "3")]
    pub locs: Vec<DatanodeInfoProto>,
    #[prost(bool, required, tag = "4")]
    pub corrupt: bool,
    #[prost(message, required, tag = "5")]
    pub block_token: TokenProto,
    #[prost(bool, repeated, tag = "6")]
    pub is_cached: Vec<bool>,
    #[prost(int32, repeated, packed = "false", tag = "7")]
    pub storage_types: Vec<i32>,
    #[prost(string, repeated, tag = "8")]
    pub storage_ids: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LocatedBlocksProto {
    #[prost(uint64, required, tag = "1")]
    pub file_length: u64,
    #[prost(message, repeated, tag = "2")]
    pub blocks: Vec<LocatedBlockProto>,
    #[prost(bool, required, tag = "3")]
    pub under_construction: bool,
    #[prost(message, optional, tag = "4")]
    pub last_block: Option<LocatedBlockProto>,
    #[prost(bool, required, tag = "5")]
    pub is_last_block_complete: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FsPermissionProto {
    #[prost(uint32, required, tag = "1")]
    pub perm: u32,
}

/// `HdfsFileStatusProto.FileType.IS_DIR`.
pub const FILE_TYPE_DIR: i32 = 1;
/// `HdfsFileStatusProto.FileType.IS_FILE`.
pub const FILE_TYPE_FILE: i32 = 2;

#[derive(Clone, PartialEq, prost::Message)]
pub struct HdfsFileStatusProto {
    #[prost(int32, required, tag = "1")]
    pub file_type: i32,
    #[prost(bytes = "vec", required, tag = "2")]
    pub path: Vec<u8>,
    #[prost(uint64, required, tag = "3")]
    pub length: u64,
    #[prost(message, required, tag = "4")]
    pub permission: FsPermissionProto,
    #[prost(string, required, tag = "5")]
    pub owner: String,
    #[prost(string, required, tag = "6")]
    pub group: String,
    #[prost(uint64, required, tag = "7")]
    pub modification_time: u64,
    #[prost(uint64, required, tag = "8")]
    pub access_time: u64,
    #[prost(uint32, optional, tag = "10")]
    pub block_replication: Option<u32>,
    #[prost(uint64, optional, tag = "11")]
    pub blocksize: Option<u64>,
    /// Block locations of a file, in a `getListing` with `needLocation`.
    #[prost(message, optional, tag = "12")]
    pub locations: Option<LocatedBlocksProto>,
    #[prost(uint64, optional, tag = "13")]
    pub file_id: Option<u64>,
    #[prost(int32, optional, tag = "14")]
    pub children_num: Option<i32>,
    #[prost(uint32, optional, tag = "16")]
    pub storage_policy: Option<u32>,
    #[prost(uint32, optional, tag = "18")]
    pub flags: Option<u32>,
}

/// `ChecksumTypeProto.CHECKSUM_CRC32C`.
pub const CHECKSUM_CRC32C: i32 = 2;

#[derive(Clone, PartialEq, prost::Message)]
pub struct FsServerDefaultsProto {
    #[prost(uint64, required, tag = "1")]
    pub block_size: u64,
    #[prost(uint32, required, tag = "2")]
    pub bytes_per_checksum: u32,
    #[prost(uint32, required, tag = "3")]
    pub write_packet_size: u32,
    #[prost(uint32, required, tag = "4")]
    pub replication: u32,
    #[prost(uint32, required, tag = "5")]
    pub file_buffer_size: u32,
    #[prost(bool, optional, tag = "6")]
    pub encrypt_data_transfer: Option<bool>,
    #[prost(uint64, optional, tag = "7")]
    pub trash_interval: Option<u64>,
    #[prost(int32, optional, tag = "8")]
    pub checksum_type: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DirectoryListingProto {
    #[prost(message, repeated, tag = "1")]
    pub partial_listing: Vec<HdfsFileStatusProto>,
    #[prost(uint32, required, tag = "2")]
    pub remaining_entries: u32,
}

// ---------------------------------------------------------------------------------------------
// ClientNamenodeProtocol.proto
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetServerDefaultsRequestProto {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetServerDefaultsResponseProto {
    #[prost(message, required, tag = "1")]
    pub server_defaults: FsServerDefaultsProto,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetFileInfoRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetFileInfoResponseProto {
    #[prost(message, optional, tag = "1")]
    pub fs: Option<HdfsFileStatusProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MkdirsRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(message, required, tag = "2")]
    pub masked: FsPermissionProto,
    #[prost(bool, required, tag = "3")]
    pub create_parent: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BoolResultProto {
    #[prost(bool, required, tag = "1")]
    pub result: bool,
}

/// `CreateFlagProto.CREATE`.
pub const CREATE_FLAG_CREATE: u32 = 0x01;
/// `CreateFlagProto.OVERWRITE`.
pub const CREATE_FLAG_OVERWRITE: u32 = 0x02;
/// `CreateFlagProto.APPEND`.
pub const CREATE_FLAG_APPEND: u32 = 0x04;

#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(message, required, tag = "2")]
    pub masked: FsPermissionProto,
    #[prost(string, required, tag = "3")]
    pub client_name: String,
    #[prost(uint32, required, tag = "4")]
    pub create_flag: u32,
    #[prost(bool, required, tag = "5")]
    pub create_parent: bool,
    #[prost(uint32, required, tag = "6")]
    pub replication: u32,
    #[prost(uint64, required, tag = "7")]
    pub block_size: u64,
    #[prost(string, optional, tag = "10")]
    pub ec_policy_name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FileStatusResponseProto {
    #[prost(message, optional, tag = "1")]
    pub fs: Option<HdfsFileStatusProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AddBlockRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
    #[prost(message, optional, tag = "3")]
    pub previous: Option<ExtendedBlockProto>,
    #[prost(message, repeated, tag = "4")]
    pub exclude_nodes: Vec<DatanodeInfoProto>,
    #[prost(uint64, optional, tag = "5")]
    pub file_id: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LocatedBlockResponseProto {
    #[prost(message, required, tag = "1")]
    pub block: LocatedBlockProto,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CompleteRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
    #[prost(message, optional, tag = "3")]
    pub last: Option<ExtendedBlockProto>,
    #[prost(uint64, optional, tag = "4")]
    pub file_id: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FsyncRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub client: String,
    #[prost(sint64, optional, tag = "3", default = "-1")]
    pub last_block_length: Option<i64>,
    #[prost(uint64, optional, tag = "4")]
    pub file_id: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AbandonBlockRequestProto {
    #[prost(message, required, tag = "1")]
    pub b: ExtendedBlockProto,
    #[prost(string, required, tag = "2")]
    pub src: String,
    #[prost(string, required, tag = "3")]
    pub holder: String,
    #[prost(uint64, optional, tag = "4")]
    pub file_id: Option<u64>,
}

/// The deprecated `rename` (answered with a [`BoolResultProto`]).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RenameRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub dst: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetReplicationRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(uint32, required, tag = "2")]
    pub replication: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AppendRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
    #[prost(uint32, optional, tag = "3")]
    pub flag: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetPermissionRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(message, required, tag = "2")]
    pub permission: FsPermissionProto,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetOwnerRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, optional, tag = "2")]
    pub username: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub groupname: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SetTimesRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(uint64, required, tag = "2")]
    pub mtime: u64,
    #[prost(uint64, required, tag = "3")]
    pub atime: u64,
}

/// `isFileClosed` (answered with a [`BoolResultProto`]).
#[derive(Clone, PartialEq, prost::Message)]
pub struct IsFileClosedRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
}

/// `getContentSummary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContentSummaryRequestProto {
    #[prost(string, required, tag = "1")]
    pub path: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetContentSummaryResponseProto {
    #[prost(message, required, tag = "1")]
    pub summary: ContentSummaryProto,
}

/// `hdfs.proto`'s ContentSummaryProto without the type-quota and snapshot fields (optional;
/// the fake has neither). A quota of -1 (none) travels as the uint64 `u64::MAX`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContentSummaryProto {
    #[prost(uint64, required, tag = "1")]
    pub length: u64,
    #[prost(uint64, required, tag = "2")]
    pub file_count: u64,
    #[prost(uint64, required, tag = "3")]
    pub directory_count: u64,
    #[prost(uint64, required, tag = "4")]
    pub quota: u64,
    #[prost(uint64, required, tag = "5")]
    pub space_consumed: u64,
    #[prost(uint64, required, tag = "6")]
    pub space_quota: u64,
}

/// Any response without fields (fsync, renewLease, rename2, updatePipeline).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VoidResponseProto {}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RenewLeaseRequestProto {
    #[prost(string, required, tag = "1")]
    pub client_name: String,
    #[prost(string, repeated, tag = "2")]
    pub namespaces: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RecoverLeaseRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Rename2RequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(string, required, tag = "2")]
    pub dst: String,
    #[prost(bool, required, tag = "3")]
    pub overwrite_dest: bool,
    #[prost(bool, optional, tag = "4")]
    pub move_to_trash: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(bool, required, tag = "2")]
    pub recursive: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetListingRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(bytes = "vec", required, tag = "2")]
    pub start_after: Vec<u8>,
    #[prost(bool, required, tag = "3")]
    pub need_location: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetListingResponseProto {
    #[prost(message, optional, tag = "1")]
    pub dir_list: Option<DirectoryListingProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetBlockLocationsRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(uint64, required, tag = "2")]
    pub offset: u64,
    #[prost(uint64, required, tag = "3")]
    pub length: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetBlockLocationsResponseProto {
    #[prost(message, optional, tag = "1")]
    pub locations: Option<LocatedBlocksProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdateBlockForPipelineRequestProto {
    #[prost(message, required, tag = "1")]
    pub block: ExtendedBlockProto,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UpdatePipelineRequestProto {
    #[prost(string, required, tag = "1")]
    pub client_name: String,
    #[prost(message, required, tag = "2")]
    pub old_block: ExtendedBlockProto,
    #[prost(message, required, tag = "3")]
    pub new_block: ExtendedBlockProto,
    #[prost(message, repeated, tag = "4")]
    pub new_nodes: Vec<DatanodeIdProto>,
    #[prost(string, repeated, tag = "5")]
    pub storage_ids: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetAdditionalDatanodeRequestProto {
    #[prost(string, required, tag = "1")]
    pub src: String,
    #[prost(message, required, tag = "2")]
    pub blk: ExtendedBlockProto,
    #[prost(message, repeated, tag = "3")]
    pub existings: Vec<DatanodeInfoProto>,
    #[prost(message, repeated, tag = "4")]
    pub excludes: Vec<DatanodeInfoProto>,
    #[prost(uint32, required, tag = "5")]
    pub num_additional_nodes: u32,
    #[prost(string, required, tag = "6")]
    pub client_name: String,
    #[prost(string, repeated, tag = "7")]
    pub existing_storage_uuids: Vec<String>,
    #[prost(uint64, optional, tag = "8")]
    pub file_id: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// ClientDatanodeProtocol.proto (the DataNodes' IPC port)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetReplicaVisibleLengthRequestProto {
    #[prost(message, required, tag = "1")]
    pub block: ExtendedBlockProto,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetReplicaVisibleLengthResponseProto {
    #[prost(uint64, required, tag = "1")]
    pub length: u64,
}

// ---------------------------------------------------------------------------------------------
// datatransfer.proto
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct BaseHeaderProto {
    #[prost(message, required, tag = "1")]
    pub block: ExtendedBlockProto,
    #[prost(message, optional, tag = "2")]
    pub token: Option<TokenProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientOperationHeaderProto {
    #[prost(message, required, tag = "1")]
    pub base_header: BaseHeaderProto,
    #[prost(string, required, tag = "2")]
    pub client_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChecksumProto {
    #[prost(int32, required, tag = "1")]
    pub r#type: i32,
    #[prost(uint32, required, tag = "2")]
    pub bytes_per_checksum: u32,
}

/// `OpWriteBlockProto.BlockConstructionStage` values.
pub mod stage {
    pub const PIPELINE_SETUP_APPEND: i32 = 0;
    pub const PIPELINE_SETUP_APPEND_RECOVERY: i32 = 1;
    pub const DATA_STREAMING: i32 = 2;
    pub const PIPELINE_SETUP_STREAMING_RECOVERY: i32 = 3;
    pub const PIPELINE_CLOSE: i32 = 4;
    pub const PIPELINE_CLOSE_RECOVERY: i32 = 5;
    pub const PIPELINE_SETUP_CREATE: i32 = 6;
    pub const TRANSFER_RBW: i32 = 7;
    pub const TRANSFER_FINALIZED: i32 = 8;
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OpWriteBlockProto {
    #[prost(message, required, tag = "1")]
    pub header: ClientOperationHeaderProto,
    #[prost(message, repeated, tag = "2")]
    pub targets: Vec<DatanodeInfoProto>,
    #[prost(int32, required, tag = "4")]
    pub stage: i32,
    #[prost(uint32, required, tag = "5")]
    pub pipeline_size: u32,
    #[prost(uint64, required, tag = "6")]
    pub min_bytes_rcvd: u64,
    #[prost(uint64, required, tag = "7")]
    pub max_bytes_rcvd: u64,
    #[prost(uint64, required, tag = "8")]
    pub latest_generation_stamp: u64,
    #[prost(message, required, tag = "9")]
    pub requested_checksum: ChecksumProto,
    #[prost(string, optional, tag = "16")]
    pub storage_id: Option<String>,
    #[prost(string, repeated, tag = "17")]
    pub target_storage_ids: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OpReadBlockProto {
    #[prost(message, required, tag = "1")]
    pub header: ClientOperationHeaderProto,
    #[prost(uint64, required, tag = "2")]
    pub offset: u64,
    #[prost(uint64, required, tag = "3")]
    pub len: u64,
    #[prost(bool, optional, tag = "4", default = "true")]
    pub send_checksums: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OpTransferBlockProto {
    #[prost(message, required, tag = "1")]
    pub header: ClientOperationHeaderProto,
    #[prost(message, repeated, tag = "2")]
    pub targets: Vec<DatanodeInfoProto>,
    #[prost(int32, repeated, packed = "false", tag = "3")]
    pub target_storage_types: Vec<i32>,
    #[prost(string, repeated, tag = "4")]
    pub target_storage_ids: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PacketHeaderProto {
    #[prost(sfixed64, required, tag = "1")]
    pub offset_in_block: i64,
    #[prost(sfixed64, required, tag = "2")]
    pub seqno: i64,
    #[prost(bool, required, tag = "3")]
    pub last_packet_in_block: bool,
    #[prost(sfixed32, required, tag = "4")]
    pub data_len: i32,
    #[prost(bool, optional, tag = "5", default = "false")]
    pub sync_block: Option<bool>,
}

/// `datatransfer.proto` `Status` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum Status {
    Success = 0,
    Error = 1,
    ErrorChecksum = 2,
    ErrorInvalid = 3,
    ErrorExists = 4,
    ErrorAccessToken = 5,
    ChecksumOk = 6,
    ErrorUnsupported = 7,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PipelineAckProto {
    #[prost(sint64, required, tag = "1")]
    pub seqno: i64,
    #[prost(enumeration = "Status", repeated, packed = "false", tag = "2")]
    pub reply: Vec<i32>,
    #[prost(uint64, optional, tag = "3")]
    pub downstream_ack_time_nanos: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReadOpChecksumInfoProto {
    #[prost(message, required, tag = "1")]
    pub checksum: ChecksumProto,
    #[prost(uint64, required, tag = "2")]
    pub chunk_offset: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockOpResponseProto {
    #[prost(enumeration = "Status", required, tag = "1")]
    pub status: i32,
    #[prost(string, optional, tag = "2")]
    pub first_bad_link: Option<String>,
    #[prost(message, optional, tag = "3")]
    pub checksum_response: Option<OpBlockChecksumResponseProto>,
    #[prost(message, optional, tag = "4")]
    pub read_op_checksum_info: Option<ReadOpChecksumInfoProto>,
    #[prost(string, optional, tag = "5")]
    pub message: Option<String>,
}

/// BLOCK_CHECKSUM (`FileSystem.getFileChecksum`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpBlockChecksumProto {
    #[prost(message, required, tag = "1")]
    pub header: BaseHeaderProto,
    #[prost(message, optional, tag = "2")]
    pub block_checksum_options: Option<BlockChecksumOptionsProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockChecksumOptionsProto {
    /// `BlockChecksumTypeProto`: MD5CRC = 1 (the default), COMPOSITE_CRC = 2.
    #[prost(int32, optional, tag = "1")]
    pub block_checksum_type: Option<i32>,
    #[prost(uint64, optional, tag = "2")]
    pub stripe_length: Option<u64>,
}

/// `BlockChecksumTypeProto.MD5CRC`.
pub const BLOCK_CHECKSUM_MD5CRC: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct OpBlockChecksumResponseProto {
    #[prost(uint32, required, tag = "1")]
    pub bytes_per_crc: u32,
    #[prost(uint64, required, tag = "2")]
    pub crc_per_block: u64,
    #[prost(bytes = "vec", required, tag = "3")]
    pub block_checksum: Vec<u8>,
    #[prost(int32, optional, tag = "4")]
    pub crc_type: Option<i32>,
    #[prost(message, optional, tag = "5")]
    pub block_checksum_options: Option<BlockChecksumOptionsProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ClientReadStatusProto {
    #[prost(enumeration = "Status", required, tag = "1")]
    pub status: i32,
}
