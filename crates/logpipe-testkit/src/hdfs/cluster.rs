//! State shared by the fake NameNode and DataNodes of one fake HDFS: the namespace, the block
//! replicas, the DataNode descriptors and the fault switchboard.

use std::sync::{Mutex, MutexGuard};

use super::blockstore::BlockStore;
use super::faults::Faults;
use super::namespace::{DatanodeDescriptor, Namespace};

pub(crate) struct Cluster {
    namespace: Mutex<Namespace>,
    store: Mutex<BlockStore>,
    pub datanodes: Vec<DatanodeDescriptor>,
    pub faults: Faults,
}

impl Cluster {
    pub fn new(namespace: Namespace, faults: Faults) -> Self {
        let datanodes = namespace.datanodes().to_vec();
        Cluster {
            namespace: Mutex::new(namespace),
            store: Mutex::new(BlockStore::default()),
            datanodes,
            faults,
        }
    }

    /// Locks the namespace. Lock order: namespace before store.
    pub fn namespace(&self) -> MutexGuard<'_, Namespace> {
        // Namespace operations validate before mutating, so state behind a poisoned lock is
        // still consistent enough for a test fake.
        self.namespace.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the block store.
    pub fn store(&self) -> MutexGuard<'_, BlockStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The index of the DataNode with this UUID.
    pub fn datanode_index(&self, uuid: &str) -> Option<usize> {
        self.datanodes.iter().position(|d| d.uuid == uuid)
    }
}
