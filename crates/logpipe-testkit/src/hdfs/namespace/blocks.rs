//! Files being written: block allocation (addBlock), complete, fsync, block locations for
//! readers, and lease recovery — with Hadoop's lease checks and exception classes.

use super::*;

impl Namespace {
    pub(super) fn locate_file<'a>(
        root: &'a mut Inode,
        src: &str,
        file_id: Option<u64>,
    ) -> RpcResult<Option<&'a mut FileNode>> {
        match file_id.filter(|id| *id != 0) {
            Some(id) => Ok(find_file_by_id(root, id)),
            None => {
                let components = parse_path(src)?;
                Ok(match lookup_mut(root, &components) {
                    Some(Inode::File(file)) => Some(file),
                    _ => None,
                })
            }
        }
    }

    pub fn add_block(&mut self, req: &AddBlockRequestProto) -> RpcResult<LocatedBlockProto> {
        let src = req.src.as_str();
        let Namespace {
            root,
            datanodes,
            next_block_id,
            next_gen_stamp,
            block_pool_id,
            ..
        } = self;
        let file = check_lease(
            Self::locate_file(root, src, req.file_id)?,
            src,
            &req.client_name,
        )?;
        // A retried addBlock (the client missed the answer) names the penultimate block as
        // previous: like Hadoop, answer with the block already allocated if nothing was
        // written to it.
        let penultimate = file.blocks.len().checked_sub(2).map(|i| &file.blocks[i]);
        let retry = match (penultimate, file.blocks.last(), &req.previous) {
            (Some(pen), Some(last), Some(previous)) => {
                pen.id == previous.block_id
                    && pen.gen_stamp == previous.generation_stamp
                    && last.num_bytes == 0
            }
            _ => false,
        };
        if retry {
            let offset = file.length();
            if let Some(last) = file.blocks.last() {
                tracing::debug!("addBlock retry for {src}: answering blk_{} again", last.id);
                return Ok(located_block(block_pool_id, datanodes, last, offset));
            }
        }
        match (file.blocks.last_mut(), &req.previous) {
            (None, None) => {}
            (Some(last), Some(previous)) if last.id == previous.block_id => {
                if previous.generation_stamp != last.gen_stamp {
                    return Err(RpcError::misuse(
                        ex::IO,
                        format!(
                            "addBlock for {src}: previous block blk_{}_{} has a stale generation stamp (current {})",
                            previous.block_id, previous.generation_stamp, last.gen_stamp
                        ),
                    ));
                }
                last.num_bytes = previous.num_bytes.unwrap_or(0);
                if last.num_bytes > file.block_size {
                    return Err(RpcError::misuse(
                        ex::IO,
                        format!(
                            "addBlock for {src}: previous block blk_{} has {} bytes, more than the block size {}",
                            last.id, last.num_bytes, file.block_size
                        ),
                    ));
                }
            }
            (last, previous) => {
                return Err(RpcError::misuse(
                    ex::IO,
                    format!(
                        "Cannot allocate block in {src}: passed 'previous' block {:?} does not match actual last block in file {:?}",
                        previous.as_ref().map(|p| p.block_id),
                        last.map(|l| l.id)
                    ),
                ))
            }
        }
        let excluded: Vec<&str> = req
            .exclude_nodes
            .iter()
            .map(|n| n.id.datanode_uuid.as_str())
            .collect();
        let locs: Vec<usize> = datanodes
            .iter()
            .enumerate()
            .filter(|(_, d)| !excluded.contains(&d.uuid.as_str()))
            .map(|(i, _)| i)
            .take(file.replication as usize)
            .collect();
        if locs.is_empty() {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "File {src} could only be written to 0 of the 1 minReplication nodes. There are {} datanode(s) running and {} node(s) are excluded in this operation.",
                    datanodes.len(),
                    excluded.len()
                ),
            ));
        }
        let offset = file.length();
        let block = BlockInfo {
            id: *next_block_id,
            gen_stamp: *next_gen_stamp,
            pending_gen_stamp: None,
            num_bytes: 0,
            locs,
        };
        *next_block_id += 1;
        *next_gen_stamp += 1;
        file.blocks.push(block);
        let Some(block) = file.blocks.last() else {
            return Err(RpcError::new(ex::IO, "block allocation vanished"));
        };
        Ok(located_block(block_pool_id, datanodes, block, offset))
    }

    /// `abandonBlock`: the client gave up on the block it was just given (pipeline setup
    /// failed). Like Hadoop, the last block is removed if it is the one named; any other
    /// block is left alone and the call still succeeds.
    pub fn abandon_block(
        &mut self,
        req: &AbandonBlockRequestProto,
        store: &mut BlockStore,
    ) -> RpcResult<()> {
        let src = req.src.as_str();
        let file = check_lease(
            Self::locate_file(&mut self.root, src, req.file_id)?,
            src,
            &req.holder,
        )?;
        if file.blocks.last().is_some_and(|b| b.id == req.b.block_id) {
            file.blocks.pop();
            store.invalidate(req.b.block_id);
        } else {
            tracing::debug!(
                "abandonBlock of blk_{} in {src}: not the last block, nothing to do",
                req.b.block_id
            );
        }
        Ok(())
    }

    /// Checks that the DataNodes hold every block of a file as the NameNode expects it
    /// (a real NameNode learns this from block reports).
    fn blocks_replicated(file: &FileNode, store: &BlockStore) -> Result<(), String> {
        for block in &file.blocks {
            let good = block.locs.iter().any(|dn| {
                store.replica(*dn, block.id).is_some_and(|r| {
                    r.finalized
                        && r.gen_stamp == block.gen_stamp
                        && r.data.len() as u64 == block.num_bytes
                })
            });
            if !good {
                let seen: Vec<String> = block
                    .locs
                    .iter()
                    .map(|dn| match store.replica(*dn, block.id) {
                        Some(r) => format!(
                            "dn{dn}: {} bytes gs {} {}",
                            r.data.len(),
                            r.gen_stamp,
                            if r.finalized { "finalized" } else { "rbw" }
                        ),
                        None => format!("dn{dn}: no replica"),
                    })
                    .collect();
                return Err(format!(
                    "blk_{}_{} of {} bytes has no matching finalized replica ({})",
                    block.id,
                    block.gen_stamp,
                    block.num_bytes,
                    seen.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// `complete`: Ok(false) when the blocks are not (yet) replicated or `force_false`.
    pub fn complete(
        &mut self,
        req: &CompleteRequestProto,
        store: &BlockStore,
        force_false: bool,
    ) -> RpcResult<bool> {
        let src = req.src.as_str();
        let file = Self::locate_file(&mut self.root, src, req.file_id)?;
        // A retried complete of a file that is already closed succeeds.
        if let Some(file) = &file {
            if file.lease.is_none() {
                let matches = match (file.blocks.last(), &req.last) {
                    (None, None) => true,
                    (Some(last), Some(l)) => last.id == l.block_id,
                    _ => false,
                };
                if matches {
                    return Ok(true);
                }
            }
        }
        let file = check_lease(file, src, &req.client_name)?;
        match (file.blocks.last_mut(), &req.last) {
            (None, None) => {}
            (Some(last), Some(l)) if last.id == l.block_id => {
                if l.generation_stamp != last.gen_stamp {
                    return Err(RpcError::misuse(
                        ex::IO,
                        format!(
                            "complete of {src}: last block blk_{}_{} has a stale generation stamp (current {})",
                            l.block_id, l.generation_stamp, last.gen_stamp
                        ),
                    ));
                }
                last.num_bytes = l.num_bytes.unwrap_or(0);
            }
            (last, l) => {
                return Err(RpcError::misuse(
                    ex::IO,
                    format!(
                    "complete of {src}: last block {:?} does not match the file's last block {:?}",
                    l.as_ref().map(|b| b.block_id),
                    last.map(|b| b.id)
                ),
                ))
            }
        }
        if force_false {
            return Ok(false);
        }
        if let Err(why) = Self::blocks_replicated(file, store) {
            tracing::warn!("complete of {src} answered false: {why}");
            return Ok(false);
        }
        file.lease = None;
        file.mtime = now_millis();
        Ok(true)
    }

    pub fn fsync(&mut self, req: &FsyncRequestProto) -> RpcResult<()> {
        let src = req.src.as_str();
        let file = check_lease(
            Self::locate_file(&mut self.root, src, req.file_id)?,
            src,
            &req.client,
        )?;
        if let (Some(length), Some(last)) = (req.last_block_length, file.blocks.last_mut()) {
            if length > 0 {
                last.num_bytes = length as u64;
            }
        }
        Ok(())
    }

    pub fn block_locations(
        &self,
        src: &str,
        offset: u64,
        length: u64,
    ) -> RpcResult<LocatedBlocksProto> {
        let components = parse_path(src)?;
        let file = match lookup(&self.root, &components) {
            None => {
                return Err(RpcError::new(
                    ex::FILE_NOT_FOUND,
                    format!("File does not exist: {src}"),
                ))
            }
            Some(Inode::Dir(_)) => {
                return Err(RpcError::new(
                    ex::FILE_NOT_FOUND,
                    format!("Path is not a file: {src}"),
                ))
            }
            Some(Inode::File(file)) => file,
        };
        Ok(self.located_blocks(file, offset, length))
    }

    /// The located blocks of `file` overlapping `[offset, offset + length)`. Like Hadoop, the
    /// file length of an open file leaves out its last block (still under construction); the
    /// reader learns that block's length from a DataNode (`getReplicaVisibleLength`).
    pub(super) fn located_blocks(
        &self,
        file: &FileNode,
        offset: u64,
        length: u64,
    ) -> LocatedBlocksProto {
        let end = offset.saturating_add(length);
        let mut blocks = Vec::new();
        let mut block_offset = 0u64;
        let mut last_block = None;
        for block in &file.blocks {
            let located = self.located_block(block, block_offset);
            if block_offset < end && block_offset + block.num_bytes > offset {
                blocks.push(located.clone());
            }
            last_block = Some(located);
            block_offset += block.num_bytes;
        }
        let under_construction = file.lease.is_some();
        let file_length = match (under_construction, file.blocks.last()) {
            (true, Some(last)) => file.length() - last.num_bytes,
            _ => file.length(),
        };
        LocatedBlocksProto {
            file_length,
            blocks,
            under_construction,
            last_block,
            is_last_block_complete: !under_construction,
        }
    }

    /// `recoverLease`: closes an open file at the length its replicas agree on. Like Hadoop,
    /// the first call on an open file starts recovery and answers false; later calls answer
    /// true.
    pub fn recover_lease(&mut self, src: &str, store: &mut BlockStore) -> RpcResult<bool> {
        let components = parse_path(src)?;
        let file = match lookup_mut(&mut self.root, &components) {
            Some(Inode::File(file)) => file,
            Some(Inode::Dir(_)) => {
                return Err(RpcError::new(
                    ex::FILE_NOT_FOUND,
                    format!("Path is not a file: {src}"),
                ))
            }
            None => {
                return Err(RpcError::new(
                    ex::FILE_NOT_FOUND,
                    format!("File does not exist: {src}"),
                ))
            }
        };
        if file.lease.is_none() {
            file.recovering = false;
            return Ok(true);
        }
        if let Some(last) = file.blocks.last_mut() {
            let lengths: Vec<usize> = last
                .locs
                .iter()
                .filter_map(|dn| store.replica(*dn, last.id))
                .filter(|r| r.gen_stamp >= last.gen_stamp)
                .map(|r| r.data.len())
                .collect();
            match lengths.iter().min() {
                Some(length) => {
                    last.num_bytes = *length as u64;
                    for dn in &last.locs {
                        if let Some(replica) = store.replica_mut(*dn, last.id) {
                            replica.data.truncate(*length);
                            replica.finalized = true;
                            replica.gen_stamp = last.gen_stamp;
                        }
                    }
                }
                None => {
                    let id = last.id;
                    file.blocks.pop();
                    store.invalidate(id);
                }
            }
        }
        file.lease = None;
        file.recovering = true;
        Ok(false)
    }
}
