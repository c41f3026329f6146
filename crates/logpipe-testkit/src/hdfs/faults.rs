//! Fault injection and observation for the fake HDFS: which failures to produce next, the log
//! of every RPC and data-transfer operation served, and protocol errors seen from the client.
//!
//! Faults are armed by tests through [`Faults`] and consumed by the NameNode and DataNode
//! servers; each armed fault fires a bounded number of times ([`Times`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How often an armed fault fires before it disarms itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// Fire on the next matching operation only.
    Once,
    /// Fire on the next `n` matching operations.
    N(u32),
    /// Fire on every matching operation until [`Faults::clear`].
    Always,
}

impl Times {
    /// Consumes one firing; returns false when the fault is exhausted.
    fn take(&mut self) -> bool {
        match self {
            Times::Once => {
                *self = Times::N(0);
                true
            }
            Times::N(0) => false,
            Times::N(n) => {
                *n -= 1;
                true
            }
            Times::Always => true,
        }
    }

    fn exhausted(&self) -> bool {
        matches!(self, Times::N(0))
    }
}

/// A failure the NameNode produces for a named RPC method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameNodeFault {
    /// Answer with RPC status ERROR and this Java exception class; the call is not applied.
    Error {
        /// Fully qualified Java class name, e.g. `org.apache.hadoop.ipc.RetriableException`.
        class: String,
        /// The error message.
        message: String,
    },
    /// Answer with RPC status FATAL and close the connection; the call is not applied.
    Fatal {
        /// Fully qualified Java class name.
        class: String,
        /// The error message.
        message: String,
    },
    /// Close the connection without answering; the call is not applied.
    DropBeforeApply,
    /// Apply the call, then close the connection without answering (an ambiguous outcome:
    /// the mutation is committed but the client never learns it).
    DropAfterApply,
    /// Wait this long before handling the call (other calls are not held up).
    Delay(Duration),
}

impl NameNodeFault {
    /// An ERROR answer with the given exception class and message.
    pub fn error(class: impl Into<String>, message: impl Into<String>) -> Self {
        NameNodeFault::Error {
            class: class.into(),
            message: message.into(),
        }
    }

    /// A FATAL answer with the given exception class and message.
    pub fn fatal(class: impl Into<String>, message: impl Into<String>) -> Self {
        NameNodeFault::Fatal {
            class: class.into(),
            message: message.into(),
        }
    }
}

/// A failure a DataNode produces. Faults are keyed by DataNode index (0-based, in start order);
/// a write fault fires when that DataNode is anywhere in a write pipeline: at the head of the
/// pipeline a drop closes the client's socket, further down it shows as an ERROR ack for that
/// position (as a real head DataNode reports a failed mirror).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataNodeFault {
    /// Accept `packets` data packets of a block write, then fail on the next one.
    DropWriteAfterPackets(u64),
    /// Accept data packets while the bytes received in the write stay within `bytes`, then fail
    /// on the packet that would exceed it.
    DropWriteAfterBytes(u64),
    /// Accept `after_packets` data packets, then acknowledge the next one with ERROR at this
    /// DataNode's pipeline position and stop.
    ErrorAck {
        /// Data packets acknowledged successfully before the ERROR ack.
        after_packets: u64,
    },
    /// Close the connection as soon as a WRITE_BLOCK request arrives (pipeline setup fails).
    RefuseWrite,
    /// Close the connection as soon as a READ_BLOCK request arrives.
    RefuseRead,
    /// Send a wrong checksum for the first chunk of a read.
    CorruptReadChecksum,
    /// Wait this long before answering a READ_BLOCK request.
    StallRead(Duration),
    /// Wait this long before acknowledging the first data packet of a write.
    StallWrite(Duration),
}

/// An ERROR ack at a fixed pipeline position, whichever DataNodes form the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineErrorAck {
    /// Position in the pipeline (0 = the DataNode the client talks to).
    pub position: usize,
    /// Data packets acknowledged successfully before the ERROR ack.
    pub after_packets: u64,
}

/// What happened to one served operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered successfully.
    Success,
    /// Answered with an ERROR and this exception class (NameNode) or status (DataNode).
    Error(String),
    /// Answered FATAL with this exception class; the connection was closed.
    Fatal(String),
    /// The connection was closed without an answer.
    Dropped,
}

/// Which server handled an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Server {
    /// The NameNode.
    NameNode,
    /// DataNode with this index.
    DataNode(usize),
}

/// One entry of the call log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// Who served it.
    pub server: Server,
    /// RPC method name (`create`, `addBlock`, …) or data-transfer op (`WRITE_BLOCK`, …).
    pub method: String,
    /// The path (NameNode) or block (`blk_<id>_<gs>`, DataNode) the call named.
    pub target: String,
    /// What the server did.
    pub outcome: Outcome,
}

#[derive(Default)]
struct FaultState {
    namenode: VecDeque<(String, NameNodeFault, Times)>,
    datanode: VecDeque<(usize, DataNodeFault, Times)>,
    pipeline_error_acks: VecDeque<(PipelineErrorAck, Times)>,
    complete_false: u32,
    calls: Vec<CallRecord>,
    protocol_errors: Vec<String>,
}

/// Shared fault switchboard, call log and protocol-error record of one fake HDFS.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // A panic while holding the lock cannot leave the state inconsistent (plain pushes and
        // pops), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms a NameNode fault for RPC `method` (e.g. `"complete"`, `"rename2"`).
    pub fn inject_namenode(&self, method: &str, fault: NameNodeFault, times: Times) {
        self.lock()
            .namenode
            .push_back((method.to_string(), fault, times));
    }

    /// Arms a fault on DataNode `datanode` (index in start order).
    pub fn inject_datanode(&self, datanode: usize, fault: DataNodeFault, times: Times) {
        self.lock().datanode.push_back((datanode, fault, times));
    }

    /// Arms an ERROR ack at a pipeline position, whichever DataNodes form the pipeline.
    pub fn inject_pipeline_error_ack(&self, fault: PipelineErrorAck, times: Times) {
        self.lock().pipeline_error_acks.push_back((fault, times));
    }

    /// Makes the next `n` `complete` calls answer `false` (the client retries 5 times).
    pub fn complete_returns_false(&self, n: u32) {
        self.lock().complete_false += n;
    }

    /// Disarms every fault (the call log and protocol errors are kept).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.namenode.clear();
        state.datanode.clear();
        state.pipeline_error_acks.clear();
        state.complete_false = 0;
    }

    /// Every operation served so far, in the order they were handled.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    /// The NameNode RPC method names served so far, in order.
    pub fn namenode_methods(&self) -> Vec<String> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.server == Server::NameNode)
            .map(|c| c.method.clone())
            .collect()
    }

    /// How many calls of `method` (RPC method or data-transfer op) were served.
    pub fn count(&self, method: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .count()
    }

    /// Forgets the call log (faults and protocol errors are kept).
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Protocol violations seen from the client (or inconsistencies the fake caught in itself).
    /// Tests should assert this is empty.
    pub fn protocol_errors(&self) -> Vec<String> {
        self.lock().protocol_errors.clone()
    }

    pub(crate) fn record(&self, server: Server, method: &str, target: &str, outcome: Outcome) {
        tracing::debug!(?server, method, target, ?outcome, "fake hdfs call");
        self.lock().calls.push(CallRecord {
            server,
            method: method.to_string(),
            target: target.to_string(),
            outcome,
        });
    }

    pub(crate) fn protocol_error(&self, message: String) {
        tracing::error!("fake hdfs protocol error: {message}");
        self.lock().protocol_errors.push(message);
    }

    /// Takes the next armed fault for `method`, if any.
    pub(crate) fn take_namenode(&self, method: &str) -> Option<NameNodeFault> {
        let mut state = self.lock();
        let position = state.namenode.iter().position(|(m, _, _)| m == method)?;
        let entry = &mut state.namenode[position];
        let fired = entry.2.take();
        let fault = entry.1.clone();
        if entry.2.exhausted() {
            state.namenode.remove(position);
        }
        fired.then_some(fault)
    }

    /// Consumes one `complete → false` answer if armed.
    pub(crate) fn take_complete_false(&self) -> bool {
        let mut state = self.lock();
        if state.complete_false > 0 {
            state.complete_false -= 1;
            true
        } else {
            false
        }
    }

    /// Takes the next armed fault on `datanode` that `matches`.
    pub(crate) fn take_datanode(
        &self,
        datanode: usize,
        matches: impl Fn(&DataNodeFault) -> bool,
    ) -> Option<DataNodeFault> {
        let mut state = self.lock();
        let position = state
            .datanode
            .iter()
            .position(|(dn, f, _)| *dn == datanode && matches(f))?;
        let entry = &mut state.datanode[position];
        let fired = entry.2.take();
        let fault = entry.1.clone();
        if entry.2.exhausted() {
            state.datanode.remove(position);
        }
        fired.then_some(fault)
    }

    /// Takes the next armed pipeline-position ERROR ack.
    pub(crate) fn take_pipeline_error_ack(&self) -> Option<PipelineErrorAck> {
        let mut state = self.lock();
        let entry = state.pipeline_error_acks.front_mut()?;
        let fired = entry.1.take();
        let fault = entry.0.clone();
        if entry.1.exhausted() {
            state.pipeline_error_acks.pop_front();
        }
        fired.then_some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_armed_twice_fires_twice_then_disarms() {
        let faults = Faults::default();
        faults.inject_namenode("complete", NameNodeFault::DropBeforeApply, Times::N(2));
        assert!(faults.take_namenode("create").is_none());
        assert_eq!(
            faults.take_namenode("complete"),
            Some(NameNodeFault::DropBeforeApply)
        );
        assert!(faults.take_namenode("complete").is_some());
        assert!(faults.take_namenode("complete").is_none());
    }

    #[test]
    fn datanode_faults_only_fire_on_their_datanode_and_kind() {
        let faults = Faults::default();
        faults.inject_datanode(1, DataNodeFault::RefuseWrite, Times::Always);
        assert!(faults
            .take_datanode(0, |f| *f == DataNodeFault::RefuseWrite)
            .is_none());
        assert!(faults
            .take_datanode(1, |f| *f == DataNodeFault::RefuseRead)
            .is_none());
        for _ in 0..3 {
            assert!(faults
                .take_datanode(1, |f| *f == DataNodeFault::RefuseWrite)
                .is_some());
        }
        faults.clear();
        assert!(faults
            .take_datanode(1, |f| *f == DataNodeFault::RefuseWrite)
            .is_none());
    }
}
