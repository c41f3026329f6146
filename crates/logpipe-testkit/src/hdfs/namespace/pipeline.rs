//! Write-pipeline recovery on the NameNode side: updateBlockForPipeline (new generation
//! stamp), updatePipeline (new replica set) and getAdditionalDatanode (replacement node).

use super::*;

impl Namespace {
    pub fn update_block_for_pipeline(
        &mut self,
        req: &UpdateBlockForPipelineRequestProto,
    ) -> RpcResult<LocatedBlockProto> {
        let block_id = req.block.block_id;
        let Namespace {
            root,
            next_gen_stamp,
            ..
        } = self;
        let what = format!("blk_{block_id}");
        let file = check_lease(find_file_by_block(root, block_id), &what, &req.client_name)?;
        let offset = file.length() - file.blocks.last().map(|b| b.num_bytes).unwrap_or(0);
        let Some(block) = file.blocks.last_mut().filter(|b| b.id == block_id) else {
            return Err(RpcError::misuse(
                ex::IO,
                format!(
                    "{what} is not the last block of its file, so it is not under construction"
                ),
            ));
        };
        if req.block.generation_stamp != block.gen_stamp {
            return Err(RpcError::misuse(
                ex::IO,
                format!(
                    "updateBlockForPipeline: {what} has generation stamp {} but the client sent {}",
                    block.gen_stamp, req.block.generation_stamp
                ),
            ));
        }
        let new_gen_stamp = *next_gen_stamp;
        *next_gen_stamp += 1;
        block.pending_gen_stamp = Some(new_gen_stamp);
        let located = BlockInfo {
            id: block.id,
            gen_stamp: new_gen_stamp,
            pending_gen_stamp: None,
            num_bytes: req.block.num_bytes.unwrap_or(0),
            locs: block.locs.clone(),
        };
        Ok(self.located_block(&located, offset))
    }

    pub fn update_pipeline(&mut self, req: &UpdatePipelineRequestProto) -> RpcResult<()> {
        let block_id = req.old_block.block_id;
        let what = format!("blk_{block_id}");
        let mut locs = Vec::new();
        for node in &req.new_nodes {
            let index = self.datanode_index(&node.datanode_uuid).ok_or_else(|| {
                RpcError::misuse(
                    ex::IO,
                    format!("updatePipeline: unknown datanode {}", node.datanode_uuid),
                )
            })?;
            locs.push(index);
        }
        let file = check_lease(
            find_file_by_block(&mut self.root, block_id),
            &what,
            &req.client_name,
        )?;
        let Some(block) = file.blocks.last_mut().filter(|b| b.id == block_id) else {
            return Err(RpcError::misuse(
                ex::IO,
                format!("updatePipeline: {what} is not the last block of its file"),
            ));
        };
        if req.new_block.block_id != block_id {
            return Err(RpcError::misuse(
                ex::IO,
                format!(
                    "updatePipeline: new block blk_{} differs from old block {what}",
                    req.new_block.block_id
                ),
            ));
        }
        if req.old_block.generation_stamp != block.gen_stamp
            || Some(req.new_block.generation_stamp) != block.pending_gen_stamp
        {
            return Err(RpcError::misuse(
                ex::IO,
                format!(
                    "updatePipeline of {what}: generation stamps old {} new {} do not match current {} issued {:?}",
                    req.old_block.generation_stamp,
                    req.new_block.generation_stamp,
                    block.gen_stamp,
                    block.pending_gen_stamp
                ),
            ));
        }
        if locs.is_empty() {
            return Err(RpcError::misuse(
                ex::IO,
                format!("updatePipeline of {what} with no datanodes"),
            ));
        }
        block.gen_stamp = req.new_block.generation_stamp;
        block.pending_gen_stamp = None;
        block.num_bytes = req.new_block.num_bytes.unwrap_or(block.num_bytes);
        block.locs = locs;
        Ok(())
    }

    pub fn additional_datanode(
        &mut self,
        req: &GetAdditionalDatanodeRequestProto,
    ) -> RpcResult<LocatedBlockProto> {
        let src = req.src.as_str();
        let Namespace {
            root, datanodes, ..
        } = self;
        let file = check_lease(
            Self::locate_file(root, src, req.file_id)?,
            src,
            &req.client_name,
        )?;
        let offset = file.length() - file.blocks.last().map(|b| b.num_bytes).unwrap_or(0);
        let taken: Vec<&str> = req
            .existings
            .iter()
            .chain(req.excludes.iter())
            .map(|n| n.id.datanode_uuid.as_str())
            .collect();
        let mut locs = Vec::new();
        for node in &req.existings {
            let index = datanodes
                .iter()
                .position(|d| d.uuid == node.id.datanode_uuid)
                .ok_or_else(|| {
                    RpcError::misuse(
                        ex::IO,
                        format!(
                            "getAdditionalDatanode: unknown datanode {}",
                            node.id.datanode_uuid
                        ),
                    )
                })?;
            locs.push(index);
        }
        let extra: Vec<usize> = datanodes
            .iter()
            .enumerate()
            .filter(|(_, d)| !taken.contains(&d.uuid.as_str()))
            .map(|(i, _)| i)
            .take(req.num_additional_nodes as usize)
            .collect();
        if extra.len() < req.num_additional_nodes as usize {
            return Err(RpcError::new(
                ex::IO,
                format!(
                    "Failed to find {} additional datanode(s) for {src}: {} datanode(s) running, {} in use or excluded",
                    req.num_additional_nodes,
                    datanodes.len(),
                    taken.len()
                ),
            ));
        }
        locs.extend(extra);
        let block = BlockInfo {
            id: req.blk.block_id,
            gen_stamp: req.blk.generation_stamp,
            pending_gen_stamp: None,
            num_bytes: req.blk.num_bytes.unwrap_or(0),
            locs,
        };
        Ok(self.located_block(&block, offset))
    }
}
