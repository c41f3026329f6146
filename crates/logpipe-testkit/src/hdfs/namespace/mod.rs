//! The fake NameNode's namespace: the directory tree, paths and file status, with Hadoop's
//! rules and exception classes for mkdirs, create, rename2, delete and getListing. Block and
//! lease handling for open files is in `blocks.rs`, pipeline recovery in `pipeline.rs`. Pure
//! state; the RPC layer lives in `namenode.rs`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::{SystemTime, UNIX_EPOCH};

mod blocks;
mod pipeline;

use crate::hdfs::blockstore::BlockStore;
use crate::hdfs::exceptions as ex;
use crate::hdfs::proto::*;

/// An RPC failure: the Java exception class and message the NameNode answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Fully qualified Java exception class name.
    pub class: String,
    /// Human-readable message.
    pub message: String,
    /// True when the error is caused by the client misusing the protocol (recorded as a
    /// protocol error in addition to being answered).
    pub misuse: bool,
}

impl RpcError {
    pub(crate) fn new(class: &str, message: impl Into<String>) -> Self {
        RpcError {
            class: class.to_string(),
            message: message.into(),
            misuse: false,
        }
    }

    pub(crate) fn misuse(class: &str, message: impl Into<String>) -> Self {
        RpcError {
            misuse: true,
            ..RpcError::new(class, message)
        }
    }
}

type RpcResult<T> = Result<T, RpcError>;

/// Settings of the namespace that a test may want to change.
#[derive(Clone, Debug)]
pub struct NamespaceConfig {
    /// Block size when the client does not ask for one (Hadoop default 128 MiB).
    pub default_block_size: u64,
    /// Smallest block size `create` accepts (`dfs.namenode.fs-limits.min-block-size`, 1 MiB).
    pub min_block_size: u64,
    /// Replication when the client does not ask for one.
    pub default_replication: u32,
    /// Bytes per CRC32C chunk (`dfs.bytes-per-checksum`).
    pub bytes_per_checksum: u32,
    /// Entries per `getListing` page (`dfs.ls.limit`, 1000).
    pub listing_limit: usize,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            default_block_size: 128 * 1024 * 1024,
            min_block_size: 1024 * 1024,
            default_replication: 2,
            bytes_per_checksum: 512,
            listing_limit: 1000,
        }
    }
}

/// What the NameNode knows about one DataNode.
#[derive(Clone, Debug)]
pub(crate) struct DatanodeDescriptor {
    pub uuid: String,
    pub xfer_port: u16,
    /// Port of the DataNode's IPC server (ClientDatanodeProtocol).
    pub ipc_port: u16,
    pub storage_id: String,
}

impl DatanodeDescriptor {
    pub fn info(&self) -> DatanodeInfoProto {
        DatanodeInfoProto {
            id: DatanodeIdProto {
                ip_addr: "127.0.0.1".to_string(),
                host_name: "localhost".to_string(),
                datanode_uuid: self.uuid.clone(),
                xfer_port: u32::from(self.xfer_port),
                info_port: 0,
                ipc_port: u32::from(self.ipc_port),
            },
            capacity: Some(1 << 40),
            dfs_used: Some(0),
            remaining: Some(1 << 40),
            location: Some("/default-rack".to_string()),
        }
    }
}

/// The name of the client that holds the lease of a file created by [`Namespace::phantom_lease`].
pub const PHANTOM_LEASE_HOLDER: &str = "DFSClient_NONMAPREDUCE_phantom_1";

#[derive(Debug)]
struct BlockInfo {
    id: u64,
    gen_stamp: u64,
    /// Generation stamp handed out by updateBlockForPipeline, not yet confirmed.
    pending_gen_stamp: Option<u64>,
    num_bytes: u64,
    /// Indexes of the DataNodes expected to hold the block.
    locs: Vec<usize>,
}

#[derive(Debug)]
struct FileNode {
    id: u64,
    owner: String,
    group: String,
    perm: u32,
    mtime: u64,
    atime: u64,
    replication: u32,
    block_size: u64,
    blocks: Vec<BlockInfo>,
    /// Client name of the lease holder while the file is open for writing.
    lease: Option<String>,
    /// recoverLease was called once; the next call reports the file closed.
    recovering: bool,
}

impl FileNode {
    fn length(&self) -> u64 {
        self.blocks.iter().map(|b| b.num_bytes).sum()
    }
}

#[derive(Debug)]
struct Directory {
    id: u64,
    owner: String,
    group: String,
    perm: u32,
    mtime: u64,
    children: BTreeMap<String, Inode>,
}

impl Inode {
    /// A new, empty directory.
    fn new_dir(id: u64, owner: &str, perm: u32, mtime: u64) -> Inode {
        Inode::Dir(Directory {
            id,
            owner: owner.to_string(),
            group: SUPERGROUP.to_string(),
            perm,
            mtime,
            children: BTreeMap::new(),
        })
    }
}

#[derive(Debug)]
enum Inode {
    Dir(Directory),
    File(FileNode),
}

impl Inode {
    fn collect_blocks(&self, out: &mut Vec<u64>) {
        match self {
            Inode::File(f) => out.extend(f.blocks.iter().map(|b| b.id)),
            Inode::Dir(d) => d.children.values().for_each(|c| c.collect_blocks(out)),
        }
    }
}

/// The group Hadoop gives new inodes by default (`dfs.permissions.superusergroup`).
const SUPERGROUP: &str = "supergroup";
/// Permission of directories created implicitly (parents, the root).
const DEFAULT_DIR_PERM: u32 = 0o755;

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Splits an absolute HDFS path into its components, rejecting what Hadoop rejects.
fn parse_path(path: &str) -> RpcResult<Vec<String>> {
    if !path.starts_with('/') {
        return Err(RpcError::new(
            ex::INVALID_PATH,
            format!("Invalid path name Path is not absolute: {path}"),
        ));
    }
    let mut components = Vec::new();
    for component in path.split('/').filter(|c| !c.is_empty()) {
        if component == "." || component == ".." || component.contains(':') {
            return Err(RpcError::new(
                ex::INVALID_PATH,
                format!("Invalid path name Invalid file name: {path}"),
            ));
        }
        components.push(component.to_string());
    }
    Ok(components)
}

fn join(components: &[String]) -> String {
    format!("/{}", components.join("/"))
}

fn lookup<'a>(root: &'a Inode, components: &[String]) -> Option<&'a Inode> {
    let mut current = root;
    for name in components {
        match current {
            Inode::Dir(dir) => current = dir.children.get(name)?,
            Inode::File(_) => return None,
        }
    }
    Some(current)
}

fn lookup_mut<'a>(root: &'a mut Inode, components: &[String]) -> Option<&'a mut Inode> {
    let mut current = root;
    for name in components {
        match current {
            Inode::Dir(dir) => current = dir.children.get_mut(name)?,
            Inode::File(_) => return None,
        }
    }
    Some(current)
}

fn find_file_by_id(node: &mut Inode, id: u64) -> Option<&mut FileNode> {
    match node {
        Inode::File(file) => (file.id == id).then_some(file),
        Inode::Dir(dir) => dir
            .children
            .values_mut()
            .find_map(|child| find_file_by_id(child, id)),
    }
}

fn find_file_by_block(node: &mut Inode, block_id: u64) -> Option<&mut FileNode> {
    match node {
        Inode::File(file) => file.blocks.iter().any(|b| b.id == block_id).then_some(file),
        Inode::Dir(dir) => dir
            .children
            .values_mut()
            .find_map(|child| find_file_by_block(child, block_id)),
    }
}

/// Hadoop's lease check for write calls (addBlock, complete, fsync, …).
fn check_lease<'a>(
    file: Option<&'a mut FileNode>,
    src: &str,
    holder: &str,
) -> RpcResult<&'a mut FileNode> {
    let Some(file) = file else {
        return Err(RpcError::new(
            ex::FILE_NOT_FOUND,
            format!("File does not exist: {src} Holder {holder} does not have any open files."),
        ));
    };
    match &file.lease {
        None => Err(RpcError::new(
            ex::LEASE_EXPIRED,
            format!(
                "No lease on {src} (inode {}): File is not open for writing. Holder {holder} does not have any open files.",
                file.id
            ),
        )),
        Some(owner) if owner != holder => Err(RpcError::new(
            ex::LEASE_EXPIRED,
            format!(
                "Client (={holder}) is not the lease owner (={owner}: {src} (inode {}))",
                file.id
            ),
        )),
        Some(_) => Ok(file),
    }
}

/// The in-memory namespace of the fake NameNode.
pub(crate) struct Namespace {
    config: NamespaceConfig,
    block_pool_id: String,
    root: Inode,
    datanodes: Vec<DatanodeDescriptor>,
    next_inode_id: u64,
    next_block_id: u64,
    next_gen_stamp: u64,
}

impl Namespace {
    pub fn new(
        config: NamespaceConfig,
        block_pool_id: String,
        datanodes: Vec<DatanodeDescriptor>,
    ) -> Self {
        Namespace {
            config,
            block_pool_id,
            root: Inode::new_dir(16385, "hdfs", DEFAULT_DIR_PERM, now_millis()),
            datanodes,
            next_inode_id: 16386,
            next_block_id: 1_073_741_825,
            next_gen_stamp: 1001,
        }
    }

    pub fn block_pool_id(&self) -> &str {
        &self.block_pool_id
    }

    pub fn datanodes(&self) -> &[DatanodeDescriptor] {
        &self.datanodes
    }

    pub fn server_defaults(&self) -> FsServerDefaultsProto {
        FsServerDefaultsProto {
            block_size: self.config.default_block_size,
            bytes_per_checksum: self.config.bytes_per_checksum,
            write_packet_size: 64 * 1024,
            replication: self.config.default_replication,
            file_buffer_size: 4096,
            encrypt_data_transfer: Some(false),
            trash_interval: Some(0),
            checksum_type: Some(CHECKSUM_CRC32C),
        }
    }

    fn status(name: &str, inode: &Inode) -> HdfsFileStatusProto {
        match inode {
            Inode::Dir(dir) => HdfsFileStatusProto {
                file_type: FILE_TYPE_DIR,
                path: name.as_bytes().to_vec(),
                length: 0,
                permission: FsPermissionProto { perm: dir.perm },
                owner: dir.owner.clone(),
                group: dir.group.clone(),
                modification_time: dir.mtime,
                access_time: 0,
                block_replication: Some(0),
                blocksize: Some(0),
                locations: None,
                file_id: Some(dir.id),
                children_num: Some(dir.children.len() as i32),
                storage_policy: Some(0),
                flags: Some(0),
            },
            Inode::File(file) => HdfsFileStatusProto {
                file_type: FILE_TYPE_FILE,
                path: name.as_bytes().to_vec(),
                length: file.length(),
                permission: FsPermissionProto { perm: file.perm },
                owner: file.owner.clone(),
                group: file.group.clone(),
                modification_time: file.mtime,
                access_time: file.atime,
                block_replication: Some(file.replication),
                blocksize: Some(file.block_size),
                locations: None,
                file_id: Some(file.id),
                children_num: Some(0),
                storage_policy: Some(0),
                flags: Some(0),
            },
        }
    }

    fn located_block(&self, block: &BlockInfo, offset: u64) -> LocatedBlockProto {
        located_block(&self.block_pool_id, &self.datanodes, block, offset)
    }

    fn datanode_index(&self, uuid: &str) -> Option<usize> {
        self.datanodes.iter().position(|d| d.uuid == uuid)
    }

    pub fn file_info(&self, src: &str) -> RpcResult<Option<HdfsFileStatusProto>> {
        let components = parse_path(src)?;
        Ok(lookup(&self.root, &components).map(|inode| Self::status("", inode)))
    }

    pub fn mkdirs(
        &mut self,
        src: &str,
        perm: u32,
        create_parent: bool,
        user: &str,
    ) -> RpcResult<bool> {
        let components = parse_path(src)?;
        let now = now_millis();
        let Namespace {
            root,
            next_inode_id,
            ..
        } = self;
        let mut current = root;
        for (depth, name) in components.iter().enumerate() {
            let Inode::Dir(dir) = current else {
                return Err(RpcError::new(
                    ex::PARENT_NOT_DIRECTORY,
                    format!(
                        "Parent path is not a directory: {}",
                        join(&components[..depth])
                    ),
                ));
            };
            let last = depth + 1 == components.len();
            if !dir.children.contains_key(name) {
                if !last && !create_parent {
                    return Err(RpcError::new(
                        ex::FILE_NOT_FOUND,
                        format!(
                            "Parent directory doesn't exist: {}",
                            join(&components[..=depth])
                        ),
                    ));
                }
                dir.mtime = now;
                *next_inode_id += 1;
            }
            // Like Hadoop, implicitly created parents get at least u+wx.
            let perm = if last { perm } else { perm | 0o300 };
            current = dir
                .children
                .entry(name.clone())
                .or_insert_with(|| Inode::new_dir(*next_inode_id, user, perm & 0o7777, now));
        }
        match current {
            Inode::Dir(_) => Ok(true),
            Inode::File(_) => Err(RpcError::new(
                ex::FILE_ALREADY_EXISTS,
                format!("Path is not a directory: {src}"),
            )),
        }
    }

    /// The directory that is (or will be) the parent of `components`.
    fn parent_dir_mut<'a>(
        root: &'a mut Inode,
        components: &[String],
        create_parent: bool,
        next_inode_id: &mut u64,
        user: &str,
    ) -> RpcResult<&'a mut Directory> {
        let now = now_millis();
        let parent_len = components.len().saturating_sub(1);
        let mut current = root;
        for (depth, name) in components[..parent_len].iter().enumerate() {
            let Inode::Dir(dir) = current else {
                return Err(RpcError::new(
                    ex::PARENT_NOT_DIRECTORY,
                    format!(
                        "Parent path is not a directory: {}",
                        join(&components[..depth])
                    ),
                ));
            };
            if !dir.children.contains_key(name) {
                if !create_parent {
                    return Err(RpcError::new(
                        ex::FILE_NOT_FOUND,
                        format!(
                            "Parent directory doesn't exist: {}",
                            join(&components[..parent_len])
                        ),
                    ));
                }
                *next_inode_id += 1;
            }
            current = dir
                .children
                .entry(name.clone())
                .or_insert_with(|| Inode::new_dir(*next_inode_id, user, DEFAULT_DIR_PERM, now));
        }
        match current {
            Inode::Dir(dir) => Ok(dir),
            Inode::File(_) => Err(RpcError::new(
                ex::PARENT_NOT_DIRECTORY,
                format!(
                    "Parent path is not a directory: {}",
                    join(&components[..parent_len])
                ),
            )),
        }
    }

    pub fn create(
        &mut self,
        req: &CreateRequestProto,
        user: &str,
        store: &mut BlockStore,
    ) -> RpcResult<HdfsFileStatusProto> {
        let src = req.src.as_str();
        let components = parse_path(src)?;
        let Some(name) = components.last().cloned() else {
            return Err(RpcError::new(
                ex::FILE_ALREADY_EXISTS,
                "/ already exists as a directory",
            ));
        };
        if req.create_flag & CREATE_FLAG_APPEND != 0 {
            return Err(append_unsupported());
        }
        if req.block_size < self.config.min_block_size {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "Specified block size is less than configured minimum value (dfs.namenode.fs-limits.min-block-size): {} < {}",
                    req.block_size, self.config.min_block_size
                ),
            ));
        }
        if !req
            .block_size
            .is_multiple_of(u64::from(self.config.bytes_per_checksum))
        {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "io.bytes.per.checksum({}) and blockSize({}) do not match. blockSize should be a multiple of io.bytes.per.checksum",
                    self.config.bytes_per_checksum, req.block_size
                ),
            ));
        }
        if req.replication == 0 || req.replication > 512 {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "Requested replication factor of {} is out of the allowed range [1, 512] for {src}",
                    req.replication
                ),
            ));
        }
        match lookup(&self.root, &components) {
            Some(Inode::Dir(_)) => {
                return Err(RpcError::new(
                    ex::FILE_ALREADY_EXISTS,
                    format!("{src} already exists as a directory"),
                ))
            }
            Some(Inode::File(file)) => {
                if let Some(holder) = &file.lease {
                    let why = if holder == &req.client_name {
                        "current leaseholder is trying to recreate file.".to_string()
                    } else {
                        format!("this file lease is currently owned by {holder} on 127.0.0.1")
                    };
                    return Err(RpcError::new(
                        ex::ALREADY_BEING_CREATED,
                        format!(
                            "Failed to CREATE_FILE {src} for {} on 127.0.0.1 because {why}",
                            req.client_name
                        ),
                    ));
                }
                if req.create_flag & CREATE_FLAG_OVERWRITE == 0 {
                    return Err(RpcError::new(
                        ex::FILE_ALREADY_EXISTS,
                        format!("{src} for client 127.0.0.1 already exists"),
                    ));
                }
            }
            None if req.create_flag & CREATE_FLAG_CREATE == 0 => {
                return Err(RpcError::new(
                    ex::FILE_NOT_FOUND,
                    format!("File does not exist: {src}"),
                ))
            }
            None => {}
        }
        let now = now_millis();
        let Namespace {
            root,
            next_inode_id,
            ..
        } = self;
        let parent =
            Self::parent_dir_mut(root, &components, req.create_parent, next_inode_id, user)?;
        if let Some(old) = parent.children.remove(&name) {
            let mut blocks = Vec::new();
            old.collect_blocks(&mut blocks);
            blocks.into_iter().for_each(|b| store.invalidate(b));
        }
        *next_inode_id += 1;
        let file = Inode::File(FileNode {
            id: *next_inode_id,
            owner: user.to_string(),
            group: SUPERGROUP.to_string(),
            perm: req.masked.perm & 0o7777,
            mtime: now,
            atime: now,
            replication: req.replication,
            block_size: req.block_size,
            blocks: Vec::new(),
            lease: Some(req.client_name.clone()),
            recovering: false,
        });
        let status = Self::status("", &file);
        parent.children.insert(name, file);
        parent.mtime = now;
        Ok(status)
    }

    /// Puts `path` under construction with a lease held by another client
    /// ([`PHANTOM_LEASE_HOLDER`]), creating the file and its parents if needed.
    pub fn phantom_lease(&mut self, path: &str) -> RpcResult<()> {
        let components = parse_path(path)?;
        if let Some(Inode::File(file)) = lookup_mut(&mut self.root, &components) {
            file.lease = Some(PHANTOM_LEASE_HOLDER.to_string());
            return Ok(());
        }
        let req = CreateRequestProto {
            src: path.to_string(),
            masked: FsPermissionProto { perm: 0o644 },
            client_name: PHANTOM_LEASE_HOLDER.to_string(),
            create_flag: CREATE_FLAG_CREATE,
            create_parent: true,
            replication: self.config.default_replication,
            block_size: self.config.default_block_size,
            ec_policy_name: None,
        };
        self.create(&req, "phantom", &mut BlockStore::default())
            .map(|_| ())
    }

    pub fn rename(
        &mut self,
        src: &str,
        dst: &str,
        overwrite: bool,
        store: &mut BlockStore,
    ) -> RpcResult<()> {
        let from = parse_path(src)?;
        let to = parse_path(dst)?;
        let Some(source) = lookup(&self.root, &from) else {
            return Err(RpcError::new(
                ex::FILE_NOT_FOUND,
                format!("rename source {src} is not found."),
            ));
        };
        if from.is_empty() {
            return Err(RpcError::new(ex::IO, "rename source cannot be the root"));
        }
        if from == to {
            return Err(RpcError::new(
                ex::FILE_ALREADY_EXISTS,
                format!("The source {src} and destination {dst} are the same"),
            ));
        }
        if to.starts_with(&from) {
            return Err(RpcError::new(
                ex::IO,
                format!("Rename destination {dst} is a directory or file under source {src}"),
            ));
        }
        let source_is_dir = matches!(source, Inode::Dir(_));
        match lookup(&self.root, &to) {
            Some(existing) => {
                let dest_is_dir = matches!(existing, Inode::Dir(_));
                if dest_is_dir != source_is_dir {
                    let kind = if source_is_dir {
                        "directories"
                    } else {
                        "files"
                    };
                    return Err(RpcError::new(
                        ex::IO,
                        format!("Source {src} and destination {dst} must both be {kind}"),
                    ));
                }
                if !overwrite {
                    return Err(RpcError::new(
                        ex::FILE_ALREADY_EXISTS,
                        format!("rename destination {dst} already exists"),
                    ));
                }
                if let Inode::Dir(dir) = existing {
                    if !dir.children.is_empty() {
                        return Err(RpcError::new(
                            ex::IO,
                            format!("rename destination directory is not empty: {dst}"),
                        ));
                    }
                }
            }
            None => match lookup(&self.root, &to[..to.len().saturating_sub(1)]) {
                None => {
                    return Err(RpcError::new(
                        ex::FILE_NOT_FOUND,
                        format!("rename destination parent {dst} not found."),
                    ))
                }
                Some(Inode::File(_)) => {
                    return Err(RpcError::new(
                        ex::PARENT_NOT_DIRECTORY,
                        format!("rename destination parent {dst} is a file."),
                    ))
                }
                Some(Inode::Dir(_)) => {}
            },
        }
        let now = now_millis();
        let node = self.detach(&from)?;
        let Namespace {
            root,
            next_inode_id,
            ..
        } = self;
        let parent = Self::parent_dir_mut(root, &to, false, next_inode_id, "hdfs")?;
        let name = to.last().cloned().unwrap_or_default();
        if let Some(old) = parent.children.insert(name, node) {
            let mut blocks = Vec::new();
            old.collect_blocks(&mut blocks);
            blocks.into_iter().for_each(|b| store.invalidate(b));
        }
        parent.mtime = now;
        Ok(())
    }

    /// Removes the inode at `components` from its parent.
    fn detach(&mut self, components: &[String]) -> RpcResult<Inode> {
        let (name, parent_path) = components
            .split_last()
            .ok_or_else(|| RpcError::new(ex::IO, "cannot detach the root"))?;
        match lookup_mut(&mut self.root, parent_path) {
            Some(Inode::Dir(parent)) => {
                parent.mtime = now_millis();
                parent.children.remove(name).ok_or_else(|| {
                    RpcError::new(
                        ex::FILE_NOT_FOUND,
                        format!("File does not exist: {}", join(components)),
                    )
                })
            }
            _ => Err(RpcError::new(
                ex::FILE_NOT_FOUND,
                format!("File does not exist: {}", join(components)),
            )),
        }
    }

    pub fn delete(
        &mut self,
        src: &str,
        recursive: bool,
        store: &mut BlockStore,
    ) -> RpcResult<bool> {
        let components = parse_path(src)?;
        let Some(inode) = lookup(&self.root, &components) else {
            return Ok(false);
        };
        if let Inode::Dir(dir) = inode {
            if !recursive && !dir.children.is_empty() {
                return Err(RpcError::new(
                    ex::PATH_IS_NOT_EMPTY_DIRECTORY,
                    format!("`{src} is non empty': Directory is not empty"),
                ));
            }
        }
        if components.is_empty() {
            // Hadoop refuses to delete the root itself.
            return Ok(false);
        }
        let removed = self.detach(&components)?;
        let mut blocks = Vec::new();
        removed.collect_blocks(&mut blocks);
        blocks.into_iter().for_each(|b| store.invalidate(b));
        Ok(true)
    }

    /// `getListing`; with `need_location` every file's entry carries its block locations
    /// (the Java client's `listFiles`/`listLocatedStatus` relies on them).
    pub fn listing(
        &self,
        src: &str,
        start_after: &[u8],
        need_location: bool,
    ) -> RpcResult<Option<DirectoryListingProto>> {
        let components = parse_path(src)?;
        let start_after = std::str::from_utf8(start_after).map_err(|_| {
            RpcError::misuse(
                ex::IO,
                format!("getListing of {src}: startAfter is not UTF-8"),
            )
        })?;
        Ok(match lookup(&self.root, &components) {
            None => None,
            Some(file @ Inode::File(_)) => Some(DirectoryListingProto {
                partial_listing: vec![self.listing_entry("", file, need_location)],
                remaining_entries: 0,
            }),
            Some(Inode::Dir(dir)) => {
                let lower = if start_after.is_empty() {
                    Bound::Unbounded
                } else {
                    Bound::Excluded(start_after)
                };
                let mut after = dir.children.range::<str, _>((lower, Bound::Unbounded));
                let page: Vec<HdfsFileStatusProto> = after
                    .by_ref()
                    .take(self.config.listing_limit)
                    .map(|(name, inode)| self.listing_entry(name, inode, need_location))
                    .collect();
                Some(DirectoryListingProto {
                    partial_listing: page,
                    remaining_entries: after.count() as u32,
                })
            }
        })
    }
}

impl Namespace {
    fn listing_entry(&self, name: &str, inode: &Inode, need_location: bool) -> HdfsFileStatusProto {
        let mut status = Self::status(name, inode);
        if let (true, Inode::File(file)) = (need_location, inode) {
            status.locations = Some(self.located_blocks(file, 0, u64::MAX));
        }
        status
    }

    /// Walks the existing inodes of a path the way Hadoop resolves it: a file anywhere but at
    /// the end is a `ParentNotDirectoryException`.
    fn check_traverse(&self, components: &[String]) -> RpcResult<()> {
        let mut current = &self.root;
        for (depth, name) in components.iter().enumerate() {
            match current {
                Inode::Dir(dir) => match dir.children.get(name) {
                    Some(child) => current = child,
                    None => return Ok(()),
                },
                Inode::File(_) => {
                    return Err(RpcError::new(
                        ex::PARENT_NOT_DIRECTORY,
                        format!("{} (is not a directory)", join(&components[..depth])),
                    ))
                }
            }
        }
        Ok(())
    }

    /// The deprecated `rename` that `FileSystem.rename(Path, Path)` uses: failures are a
    /// `false` result, not an exception, and an existing directory as destination means
    /// "move into it" (FSDirRenameOp's deprecated path).
    pub fn rename_old(&mut self, src: &str, dst: &str, store: &mut BlockStore) -> RpcResult<bool> {
        let from = parse_path(src)?;
        let mut to = parse_path(dst)?;
        self.check_traverse(&from)?;
        self.check_traverse(&to)?;
        let Some(name) = from.last().cloned() else {
            return Ok(false);
        };
        if lookup(&self.root, &from).is_none() {
            return Ok(false);
        }
        // The filesystem specification: an existing directory as destination (other than the
        // source itself) means "into that directory".
        if to != from && matches!(lookup(&self.root, &to), Some(Inode::Dir(_))) {
            to.push(name);
        }
        if from == to {
            return Ok(true);
        }
        if to.starts_with(&from) || lookup(&self.root, &to).is_some() {
            return Ok(false);
        }
        match lookup(&self.root, &to[..to.len() - 1]) {
            Some(Inode::Dir(_)) => {}
            _ => return Ok(false),
        }
        self.rename(src, &join(&to), false, store)?;
        Ok(true)
    }

    /// `setReplication`: true for a file, false for a directory or a missing path.
    pub fn set_replication(&mut self, src: &str, replication: u32) -> RpcResult<bool> {
        let components = parse_path(src)?;
        self.check_traverse(&components)?;
        if replication == 0 || replication > 512 {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "Requested replication factor of {replication} is out of the allowed range [1, 512] for {src}"
                ),
            ));
        }
        match lookup_mut(&mut self.root, &components) {
            Some(Inode::File(file)) => {
                file.replication = replication;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn existing_mut(&mut self, src: &str) -> RpcResult<&mut Inode> {
        let components = parse_path(src)?;
        self.check_traverse(&components)?;
        lookup_mut(&mut self.root, &components)
            .ok_or_else(|| RpcError::new(ex::FILE_NOT_FOUND, format!("File does not exist: {src}")))
    }

    pub fn set_permission(&mut self, src: &str, perm: u32) -> RpcResult<()> {
        match self.existing_mut(src)? {
            Inode::File(file) => file.perm = perm & 0o7777,
            Inode::Dir(dir) => dir.perm = perm & 0o7777,
        }
        Ok(())
    }

    pub fn set_owner(
        &mut self,
        src: &str,
        user: Option<&str>,
        group: Option<&str>,
    ) -> RpcResult<()> {
        let (owner, current_group) = match self.existing_mut(src)? {
            Inode::File(file) => (&mut file.owner, &mut file.group),
            Inode::Dir(dir) => (&mut dir.owner, &mut dir.group),
        };
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            *owner = user.to_string();
        }
        if let Some(group) = group.filter(|g| !g.is_empty()) {
            *current_group = group.to_string();
        }
        Ok(())
    }

    /// `setTimes`; `-1` (sent as `u64::MAX`) leaves a time unchanged.
    pub fn set_times(&mut self, src: &str, mtime: u64, atime: u64) -> RpcResult<()> {
        let keep = |t: u64| t == u64::MAX;
        match self.existing_mut(src)? {
            Inode::File(file) => {
                if !keep(mtime) {
                    file.mtime = mtime;
                }
                if !keep(atime) {
                    file.atime = atime;
                }
            }
            Inode::Dir(dir) => {
                if !keep(mtime) {
                    dir.mtime = mtime;
                }
            }
        }
        Ok(())
    }

    /// `isFileClosed`.
    pub fn is_file_closed(&self, src: &str) -> RpcResult<bool> {
        let components = parse_path(src)?;
        match lookup(&self.root, &components) {
            Some(Inode::File(file)) => Ok(file.lease.is_none()),
            Some(Inode::Dir(_)) => Err(RpcError::new(
                ex::FILE_NOT_FOUND,
                format!("Path is not a file: {src}"),
            )),
            None => Err(RpcError::new(
                ex::FILE_NOT_FOUND,
                format!("File does not exist: {src}"),
            )),
        }
    }
}

impl Namespace {
    /// `getContentSummary`, counted as Hadoop's `ContentSummaryComputationContext` does: the
    /// directory itself is one of the directories; a file's length includes its last block
    /// while it is open, and its space consumed counts that block at the full preferred block
    /// size (times replication). No quotas: -1, except the root's namespace quota, which
    /// Hadoop sets to `Long.MAX_VALUE`.
    pub fn content_summary(&self, src: &str) -> RpcResult<ContentSummaryProto> {
        let components = parse_path(src)?;
        let inode = lookup(&self.root, &components).ok_or_else(|| {
            RpcError::new(ex::FILE_NOT_FOUND, format!("File does not exist: {src}"))
        })?;
        let mut summary = ContentSummaryProto {
            length: 0,
            file_count: 0,
            directory_count: 0,
            quota: if components.is_empty() {
                i64::MAX as u64
            } else {
                u64::MAX
            },
            space_consumed: 0,
            space_quota: u64::MAX,
        };
        fn add(inode: &Inode, summary: &mut ContentSummaryProto) {
            match inode {
                Inode::File(file) => {
                    summary.file_count += 1;
                    summary.length += file.length();
                    let replication = u64::from(file.replication);
                    let space: u64 = match (&file.lease, file.blocks.split_last()) {
                        (Some(_), Some((_, complete))) => {
                            complete.iter().map(|b| b.num_bytes).sum::<u64>() + file.block_size
                        }
                        _ => file.length(),
                    };
                    summary.space_consumed += space * replication;
                }
                Inode::Dir(dir) => {
                    summary.directory_count += 1;
                    dir.children.values().for_each(|child| add(child, summary));
                }
            }
        }
        add(inode, &mut summary);
        Ok(summary)
    }
}

/// How a NameNode without append support answers `append` (and `create` with APPEND).
pub(crate) fn append_unsupported() -> RpcError {
    RpcError::new(
        ex::UNSUPPORTED_OPERATION,
        "Append is not enabled on this NameNode. Use the dfs.support.append configuration option to enable it.",
    )
}

fn located_block(
    block_pool_id: &str,
    datanodes: &[DatanodeDescriptor],
    block: &BlockInfo,
    offset: u64,
) -> LocatedBlockProto {
    let nodes: Vec<&DatanodeDescriptor> = block
        .locs
        .iter()
        .filter_map(|i| datanodes.get(*i))
        .collect();
    LocatedBlockProto {
        b: ExtendedBlockProto {
            pool_id: block_pool_id.to_string(),
            block_id: block.id,
            generation_stamp: block.gen_stamp,
            num_bytes: Some(block.num_bytes),
        },
        offset,
        locs: nodes.iter().map(|d| d.info()).collect(),
        corrupt: false,
        block_token: empty_token(),
        is_cached: Vec::new(),
        storage_types: vec![STORAGE_TYPE_DISK; nodes.len()],
        storage_ids: nodes.iter().map(|d| d.storage_id.clone()).collect(),
    }
}

fn empty_token() -> TokenProto {
    TokenProto {
        identifier: Vec::new(),
        password: Vec::new(),
        kind: String::new(),
        service: String::new(),
    }
}
