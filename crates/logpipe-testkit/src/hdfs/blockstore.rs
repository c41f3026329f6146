//! In-memory block replicas of the fake DataNodes, plus the NameNode's record of which blocks
//! it deleted (so a write still in progress on a deleted block fails, as on a real DataNode
//! once the block is invalidated). Like a real DataNode, a fake one accepts a write for any
//! block id: it does not ask the NameNode what it allocated.

use std::collections::{HashMap, HashSet};

/// One DataNode's copy of a block.
#[derive(Clone, Debug)]
pub(crate) struct Replica {
    /// Generation stamp the replica was last written or recovered with.
    pub gen_stamp: u64,
    /// The block's bytes received so far.
    pub data: Vec<u8>,
    /// True once the last packet of the block was received (FINALIZED in Hadoop terms).
    pub finalized: bool,
}

/// Replicas of every DataNode, keyed by (DataNode index, block id).
#[derive(Default)]
pub(crate) struct BlockStore {
    replicas: HashMap<(usize, u64), Replica>,
    /// Blocks the NameNode deleted (a DataNode fails a write still in progress on them).
    deleted: HashSet<u64>,
}

impl BlockStore {
    /// The block was deleted: drop it and all its replicas.
    pub fn invalidate(&mut self, block_id: u64) {
        self.deleted.insert(block_id);
        self.replicas.retain(|(_, id), _| *id != block_id);
    }

    /// True once the NameNode deleted the block (its file was deleted or overwritten, or the
    /// client abandoned it).
    pub fn is_deleted(&self, block_id: u64) -> bool {
        self.deleted.contains(&block_id)
    }

    pub fn replica(&self, datanode: usize, block_id: u64) -> Option<&Replica> {
        self.replicas.get(&(datanode, block_id))
    }

    pub fn replica_mut(&mut self, datanode: usize, block_id: u64) -> Option<&mut Replica> {
        self.replicas.get_mut(&(datanode, block_id))
    }

    /// Creates (or replaces) an empty replica being written.
    pub fn create_replica(&mut self, datanode: usize, block_id: u64, gen_stamp: u64) {
        self.replicas.insert(
            (datanode, block_id),
            Replica {
                gen_stamp,
                data: Vec::new(),
                finalized: false,
            },
        );
    }

    /// Stores a copy of a replica on another DataNode (TRANSFER_BLOCK).
    pub fn put_replica(&mut self, datanode: usize, block_id: u64, replica: Replica) {
        self.replicas.insert((datanode, block_id), replica);
    }

    /// Writes `data` at `offset` of a replica, discarding anything after `offset` first (a
    /// replayed packet after pipeline recovery overwrites what the replica already had).
    pub fn write_at(
        &mut self,
        datanode: usize,
        block_id: u64,
        offset: usize,
        data: &[u8],
    ) -> Result<(), String> {
        let replica = self
            .replicas
            .get_mut(&(datanode, block_id))
            .ok_or_else(|| format!("no replica of blk_{block_id} on datanode {datanode}"))?;
        if offset > replica.data.len() {
            return Err(format!(
                "packet for blk_{block_id} starts at offset {offset} but datanode {datanode} has only {} bytes",
                replica.data.len()
            ));
        }
        replica.data.truncate(offset);
        replica.data.extend_from_slice(data);
        Ok(())
    }
}
