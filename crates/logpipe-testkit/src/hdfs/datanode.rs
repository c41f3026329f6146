//! The fake DataNode server: WRITE_BLOCK (packets, CRC32C verification, ordered acks,
//! pipeline recovery), READ_BLOCK (checksummed packets, connection reuse) and TRANSFER_BLOCK,
//! with injected DataNode faults. The write pipeline is simulated in-process: the DataNode the
//! client talks to stores every packet on each DataNode of the pipeline.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::cluster::Cluster;
use super::faults::{DataNodeFault, Outcome, Server};
use super::proto::*;
use super::transfer::{self, TransferError};

/// Data bytes per read packet (a multiple of any sensible bytes-per-checksum).
const READ_PACKET_DATA: usize = 64 * 1024;
/// The seqno of a heartbeat packet (and of its ack).
const HEARTBEAT_SEQNO: i64 = -1;

/// Accepts connections for DataNode `index` until `shutdown` turns true.
pub(crate) async fn serve(
    index: usize,
    listener: TcpListener,
    cluster: Arc<Cluster>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let cluster = Arc::clone(&cluster);
                    connections.spawn(handle_connection(index, stream, cluster));
                }
                Err(e) => {
                    tracing::warn!("fake datanode {index} accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle_connection(index: usize, stream: TcpStream, cluster: Arc<Cluster>) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let mut conn = Connection {
        index,
        reader: BufReader::new(reader),
        writer,
        cluster,
    };
    match conn.serve().await {
        Ok(()) => {}
        Err(TransferError::Protocol(message)) => conn
            .cluster
            .faults
            .protocol_error(format!("datanode {index}: {message}")),
        Err(TransferError::Io(e)) => tracing::debug!("fake datanode {index} connection ended: {e}"),
    }
}

/// Whether the connection stays open for another op.
enum Next {
    Continue,
    Close,
}

struct Connection {
    index: usize,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    cluster: Arc<Cluster>,
}

/// How an injected fault will break a write pipeline.
#[derive(Clone, Copy, Debug)]
enum WriteFailure {
    /// Close the client's socket (failure of the head DataNode).
    Drop,
    /// Acknowledge with ERROR at this pipeline position and stop.
    ErrorAck(usize),
}

#[derive(Clone, Copy, Debug)]
struct WritePlan {
    failure: Option<(WriteFailure, Trigger)>,
    stall: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
enum Trigger {
    AfterPackets(u64),
    AfterBytes(u64),
}

fn block_name(block: &ExtendedBlockProto) -> String {
    format!("blk_{}_{}", block.block_id, block.generation_stamp)
}

impl Connection {
    async fn serve(&mut self) -> Result<(), TransferError> {
        loop {
            let Some(op) = transfer::read_op(&mut self.reader).await? else {
                return Ok(());
            };
            let next = match op {
                transfer::OP_WRITE_BLOCK => {
                    let op =
                        transfer::read_delimited(&mut self.reader, "OpWriteBlockProto").await?;
                    self.write_block(op).await?
                }
                transfer::OP_READ_BLOCK => {
                    let op = transfer::read_delimited(&mut self.reader, "OpReadBlockProto").await?;
                    self.read_block(op).await?
                }
                transfer::OP_BLOCK_CHECKSUM => {
                    let op =
                        transfer::read_delimited(&mut self.reader, "OpBlockChecksumProto").await?;
                    self.block_checksum(op).await?
                }
                transfer::OP_TRANSFER_BLOCK => {
                    let op =
                        transfer::read_delimited(&mut self.reader, "OpTransferBlockProto").await?;
                    self.transfer_block(op).await?
                }
                other => {
                    self.respond(
                        Status::ErrorUnsupported,
                        Some(format!("unsupported op {other}")),
                    )
                    .await?;
                    return Err(TransferError::Protocol(format!(
                        "unsupported data transfer op {other}"
                    )));
                }
            };
            if let Next::Close = next {
                return Ok(());
            }
        }
    }

    fn record(&self, op: &str, target: &str, outcome: Outcome) {
        self.cluster
            .faults
            .record(Server::DataNode(self.index), op, target, outcome);
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), TransferError> {
        self.writer.write_all(bytes).await?;
        Ok(())
    }

    async fn respond(
        &mut self,
        status: Status,
        message: Option<String>,
    ) -> Result<(), TransferError> {
        let response = BlockOpResponseProto {
            status: status as i32,
            first_bad_link: Some(String::new()),
            checksum_response: None,
            read_op_checksum_info: None,
            message,
        };
        self.send(&response.encode_length_delimited_to_vec()).await
    }

    /// Answers a request the client should not have made: ERROR response, protocol error.
    async fn refuse_misuse(
        &mut self,
        op: &str,
        target: &str,
        why: String,
    ) -> Result<Next, TransferError> {
        self.record(op, target, Outcome::Error("ERROR".to_string()));
        let _ = self.respond(Status::Error, Some(why.clone())).await;
        Err(TransferError::Protocol(format!("{op} {target}: {why}")))
    }

    fn plan_write(&self, pipeline: &[usize]) -> WritePlan {
        let faults = &self.cluster.faults;
        let mut plan = WritePlan {
            failure: None,
            stall: None,
        };
        for (position, dn) in pipeline.iter().enumerate() {
            if plan.stall.is_none() {
                if let Some(DataNodeFault::StallWrite(d)) =
                    faults.take_datanode(*dn, |f| matches!(f, DataNodeFault::StallWrite(_)))
                {
                    plan.stall = Some(d);
                }
            }
            if plan.failure.is_some() {
                continue;
            }
            let fault = faults.take_datanode(*dn, |f| {
                matches!(
                    f,
                    DataNodeFault::DropWriteAfterPackets(_)
                        | DataNodeFault::DropWriteAfterBytes(_)
                        | DataNodeFault::ErrorAck { .. }
                )
            });
            let as_failure = |trigger| {
                if position == 0 {
                    (WriteFailure::Drop, trigger)
                } else {
                    (WriteFailure::ErrorAck(position), trigger)
                }
            };
            plan.failure = match fault {
                Some(DataNodeFault::DropWriteAfterPackets(n)) => {
                    Some(as_failure(Trigger::AfterPackets(n)))
                }
                Some(DataNodeFault::DropWriteAfterBytes(n)) => {
                    Some(as_failure(Trigger::AfterBytes(n)))
                }
                Some(DataNodeFault::ErrorAck { after_packets }) => Some((
                    WriteFailure::ErrorAck(position),
                    Trigger::AfterPackets(after_packets),
                )),
                _ => None,
            };
        }
        if plan.failure.is_none() {
            if let Some(ack) = faults.take_pipeline_error_ack() {
                if ack.position < pipeline.len() {
                    plan.failure = Some((
                        WriteFailure::ErrorAck(ack.position),
                        Trigger::AfterPackets(ack.after_packets),
                    ));
                } else {
                    tracing::warn!(
                        "pipeline error ack at position {} ignored: pipeline has {} nodes",
                        ack.position,
                        pipeline.len()
                    );
                }
            }
        }
        plan
    }

    /// Prepares the replicas of every DataNode of the pipeline for a WRITE_BLOCK, with the
    /// checks a Hadoop DataNode makes (`createRbw`, `recoverRbw`, `recoverClose`). The
    /// `latestGenerationStamp` matters only to recovery: at create the Java client sends 0.
    fn setup_replicas(&self, op: &OpWriteBlockProto, pipeline: &[usize]) -> Result<(), String> {
        let block = &op.header.base_header.block;
        let target = block_name(block);
        let latest_gs = op.latest_generation_stamp;
        let mut store = self.cluster.store();
        match op.stage {
            stage::PIPELINE_SETUP_CREATE => {
                for dn in pipeline {
                    if let Some(replica) = store.replica(*dn, block.block_id) {
                        return Err(format!(
                            "ReplicaAlreadyExistsException: Block {target} already exists on datanode {dn} in state {} and thus cannot be created",
                            if replica.finalized { "FINALIZED" } else { "RBW" }
                        ));
                    }
                }
                for dn in pipeline {
                    store.create_replica(*dn, block.block_id, block.generation_stamp);
                }
                Ok(())
            }
            stage::PIPELINE_SETUP_STREAMING_RECOVERY | stage::PIPELINE_CLOSE_RECOVERY => {
                if latest_gs < block.generation_stamp {
                    return Err(format!(
                        "recovery of {target} to the older generation stamp {latest_gs}"
                    ));
                }
                for dn in pipeline {
                    match store.replica(*dn, block.block_id) {
                        Some(replica)
                            if (block.generation_stamp..=latest_gs)
                                .contains(&replica.gen_stamp)
                                && replica.data.len() as u64 >= op.min_bytes_rcvd => {}
                        Some(replica) => {
                            return Err(format!(
                                "ReplicaNotFoundException: recovery of {target} on datanode {dn}: replica has {} bytes gs {}, client expects >= {} bytes gs {}..={latest_gs}",
                                replica.data.len(),
                                replica.gen_stamp,
                                op.min_bytes_rcvd,
                                block.generation_stamp
                            ))
                        }
                        None => {
                            return Err(format!(
                                "ReplicaNotFoundException: recovery of {target}: datanode {dn} has no replica"
                            ))
                        }
                    }
                }
                let close = op.stage == stage::PIPELINE_CLOSE_RECOVERY;
                for dn in pipeline {
                    if let Some(replica) = store.replica_mut(*dn, block.block_id) {
                        replica.gen_stamp = latest_gs;
                        replica.finalized = close;
                        if close {
                            replica.data.truncate(op.min_bytes_rcvd as usize);
                        }
                    }
                }
                Ok(())
            }
            stage::PIPELINE_SETUP_APPEND | stage::PIPELINE_SETUP_APPEND_RECOVERY => Err(format!(
                "append stage {} for {target}, but the fake NameNode never grants an append",
                op.stage
            )),
            other => Err(format!(
                "Unsupported stage {other} while receiving block {target} from a client"
            )),
        }
    }

    async fn write_block(&mut self, op: OpWriteBlockProto) -> Result<Next, TransferError> {
        const OP: &str = "WRITE_BLOCK";
        let block = op.header.base_header.block.clone();
        let target = block_name(&block);
        if self
            .cluster
            .faults
            .take_datanode(self.index, |f| *f == DataNodeFault::RefuseWrite)
            .is_some()
        {
            self.record(OP, &target, Outcome::Dropped);
            return Ok(Next::Close);
        }

        let checksum = &op.requested_checksum;
        if checksum.r#type != CHECKSUM_CRC32C || checksum.bytes_per_checksum == 0 {
            return self
                .refuse_misuse(OP, &target, format!("unsupported checksum {checksum:?}"))
                .await;
        }
        let bpc = checksum.bytes_per_checksum;
        let pool_ok = self.cluster.namespace().block_pool_id() == block.pool_id;
        if !pool_ok {
            return self
                .refuse_misuse(OP, &target, format!("unknown block pool {}", block.pool_id))
                .await;
        }
        let mut pipeline = vec![self.index];
        for node in &op.targets {
            match self.cluster.datanode_index(&node.id.datanode_uuid) {
                Some(index) if !pipeline.contains(&index) => pipeline.push(index),
                _ => {
                    // A real head DataNode cannot connect to such a mirror and names it as
                    // the first bad link, so the client drops that node from the pipeline.
                    let why = format!("bad pipeline target {}", node.id.datanode_uuid);
                    self.record(OP, &target, Outcome::Error("ERROR".to_string()));
                    let response = BlockOpResponseProto {
                        status: Status::Error as i32,
                        first_bad_link: Some(format!("{}:{}", node.id.ip_addr, node.id.xfer_port)),
                        checksum_response: None,
                        read_op_checksum_info: None,
                        message: Some(why.clone()),
                    };
                    let _ = self.send(&response.encode_length_delimited_to_vec()).await;
                    return Err(TransferError::Protocol(format!("{OP} {target}: {why}")));
                }
            }
        }
        if let Err(why) = self.setup_replicas(&op, &pipeline) {
            return self.refuse_misuse(OP, &target, why).await;
        }
        if op.stage == stage::PIPELINE_CLOSE_RECOVERY {
            // Like a real DataNode, close recovery finalizes the replicas during setup; no
            // packets follow.
            self.record(OP, &target, Outcome::Success);
            self.respond(Status::Success, None).await?;
            return Ok(Next::Continue);
        }
        let plan = self.plan_write(&pipeline);
        self.respond(Status::Success, None).await?;

        let mut expected_offset: Option<u64> = None;
        let mut packets_ok: u64 = 0;
        let mut bytes_ok: u64 = 0;
        loop {
            let packet = match transfer::read_packet(&mut self.reader).await {
                Ok(packet) => packet,
                Err(TransferError::Io(_)) => {
                    // The client gave up on this pipeline (recovery or an abandoned writer).
                    self.record(
                        OP,
                        &target,
                        Outcome::Error("client closed the connection mid-block".to_string()),
                    );
                    return Ok(Next::Close);
                }
                Err(e) => {
                    self.record(OP, &target, Outcome::Error("bad packet".to_string()));
                    return Err(e);
                }
            };
            let header = &packet.header;
            if header.seqno == HEARTBEAT_SEQNO {
                if !packet.data.is_empty() || header.last_packet_in_block {
                    return Err(TransferError::Protocol(format!(
                        "{target}: heartbeat packet carries data or ends the block"
                    )));
                }
                // A real DataNode acknowledges heartbeats (the Java client's ack reader relies
                // on them to not time out while a writer is idle); clients skip these acks.
                let ack = PipelineAckProto {
                    seqno: HEARTBEAT_SEQNO,
                    reply: vec![Status::Success as i32; pipeline.len()],
                    downstream_ack_time_nanos: Some(0),
                };
                self.send(&ack.encode_length_delimited_to_vec()).await?;
                continue;
            }
            // Only the sign is checked, as on a real DataNode: hdfs-native starts every block
            // at seqno 0, the Java client numbers packets per stream, and the DataNode just
            // acknowledges each packet with its own seqno, in order.
            if header.seqno < 0 {
                return Err(TransferError::Protocol(format!(
                    "{target}: data packet with negative seqno {}",
                    header.seqno
                )));
            }
            let offset = u64::try_from(header.offset_in_block).map_err(|_| {
                TransferError::Protocol(format!(
                    "{target}: negative offsetInBlock {}",
                    header.offset_in_block
                ))
            })?;
            if let Some(expected) = expected_offset {
                // After an hflush/hsync in the middle of a checksum chunk, the Java client
                // sends that chunk again from its start: a packet may begin before the end of
                // the previous one (and overwrites it), but never after it.
                if offset > expected {
                    return Err(TransferError::Protocol(format!(
                        "{target}: packet {} starts at offset {offset}, but the previous packet ended at {expected}",
                        header.seqno
                    )));
                }
            }
            if let Err(why) =
                transfer::verify_checksums(offset, &packet.data, &packet.checksums, bpc)
            {
                let ack = PipelineAckProto {
                    seqno: header.seqno,
                    reply: vec![Status::ErrorChecksum as i32; pipeline.len()],
                    downstream_ack_time_nanos: Some(0),
                };
                self.record(OP, &target, Outcome::Error("ERROR_CHECKSUM".to_string()));
                let _ = self.send(&ack.encode_length_delimited_to_vec()).await;
                return Err(TransferError::Protocol(format!("{target}: {why}")));
            }

            if let Some((failure, trigger)) = plan.failure {
                let fire = match trigger {
                    Trigger::AfterPackets(n) => packets_ok >= n,
                    Trigger::AfterBytes(n) => bytes_ok + packet.data.len() as u64 > n,
                };
                if fire {
                    match failure {
                        WriteFailure::Drop => {
                            self.record(OP, &target, Outcome::Dropped);
                        }
                        WriteFailure::ErrorAck(position) => {
                            let mut reply = vec![Status::Success as i32; pipeline.len()];
                            reply[position] = Status::Error as i32;
                            let ack = PipelineAckProto {
                                seqno: header.seqno,
                                reply,
                                downstream_ack_time_nanos: Some(0),
                            };
                            self.record(
                                OP,
                                &target,
                                Outcome::Error(format!("ERROR ack at position {position}")),
                            );
                            self.send(&ack.encode_length_delimited_to_vec()).await?;
                        }
                    }
                    return Ok(Next::Close);
                }
            }

            {
                let mut store = self.cluster.store();
                if store.is_deleted(block.block_id) {
                    // Deleted by the NameNode while being written: a real DataNode would fail
                    // the write once the block is invalidated.
                    drop(store);
                    self.record(OP, &target, Outcome::Error("block deleted".to_string()));
                    return Ok(Next::Close);
                }
                for dn in &pipeline {
                    if let Err(why) =
                        store.write_at(*dn, block.block_id, offset as usize, &packet.data)
                    {
                        drop(store);
                        return Err(TransferError::Protocol(format!("{target}: {why}")));
                    }
                    if header.last_packet_in_block {
                        if let Some(replica) = store.replica_mut(*dn, block.block_id) {
                            replica.finalized = true;
                        }
                    }
                }
            }
            if let (Some(stall), 0) = (plan.stall, packets_ok) {
                tokio::time::sleep(stall).await;
            }
            let ack = PipelineAckProto {
                seqno: header.seqno,
                reply: vec![Status::Success as i32; pipeline.len()],
                downstream_ack_time_nanos: Some(0),
            };
            if header.last_packet_in_block {
                self.record(OP, &target, Outcome::Success);
            }
            self.send(&ack.encode_length_delimited_to_vec()).await?;
            packets_ok += 1;
            bytes_ok += packet.data.len() as u64;
            expected_offset = Some(offset + packet.data.len() as u64);
            if header.last_packet_in_block {
                return Ok(Next::Continue);
            }
        }
    }

    async fn read_block(&mut self, op: OpReadBlockProto) -> Result<Next, TransferError> {
        const OP: &str = "READ_BLOCK";
        let block = op.header.base_header.block.clone();
        let target = block_name(&block);
        let faults = self.cluster.faults.clone();
        if faults
            .take_datanode(self.index, |f| *f == DataNodeFault::RefuseRead)
            .is_some()
        {
            self.record(OP, &target, Outcome::Dropped);
            return Ok(Next::Close);
        }
        if let Some(DataNodeFault::StallRead(stall)) =
            faults.take_datanode(self.index, |f| matches!(f, DataNodeFault::StallRead(_)))
        {
            tokio::time::sleep(stall).await;
        }
        let corrupt = faults
            .take_datanode(self.index, |f| *f == DataNodeFault::CorruptReadChecksum)
            .is_some();

        let replica = self
            .cluster
            .store()
            .replica(self.index, block.block_id)
            .filter(|r| r.gen_stamp >= block.generation_stamp)
            .map(|r| r.data.clone());
        let Some(data) = replica else {
            self.record(
                OP,
                &target,
                Outcome::Error("ERROR replica not found".to_string()),
            );
            self.respond(
                Status::Error,
                Some(format!(
                    "Replica not found for {target} on datanode {}",
                    self.index
                )),
            )
            .await?;
            return Ok(Next::Close);
        };
        let end = op
            .offset
            .checked_add(op.len)
            .filter(|end| *end <= data.len() as u64);
        let Some(end) = end else {
            self.record(OP, &target, Outcome::Error("ERROR bad range".to_string()));
            self.respond(
                Status::Error,
                Some(format!(
                    "Offset {} and length {} don't match block {target} (blockLen {})",
                    op.offset,
                    op.len,
                    data.len()
                )),
            )
            .await?;
            return Ok(Next::Close);
        };
        let bpc = self
            .cluster
            .namespace()
            .server_defaults()
            .bytes_per_checksum;
        let bpc64 = u64::from(bpc);
        let start = op.offset - op.offset % bpc64;
        let end = end
            .div_ceil(bpc64)
            .saturating_mul(bpc64)
            .min(data.len() as u64);
        let send_checksums = op.send_checksums.unwrap_or(true);
        let response = BlockOpResponseProto {
            status: Status::Success as i32,
            first_bad_link: None,
            checksum_response: None,
            read_op_checksum_info: Some(ReadOpChecksumInfoProto {
                checksum: ChecksumProto {
                    r#type: if send_checksums { CHECKSUM_CRC32C } else { 0 },
                    bytes_per_checksum: bpc,
                },
                chunk_offset: start,
            }),
            message: None,
        };
        self.send(&response.encode_length_delimited_to_vec())
            .await?;

        if corrupt {
            // Recorded before sending: the client may hang up at the first bad chunk, before
            // the rest of the packets are out.
            self.record(
                OP,
                &target,
                Outcome::Error("corrupted checksum sent".to_string()),
            );
        }
        let packet_data = READ_PACKET_DATA - READ_PACKET_DATA % bpc as usize;
        let mut seqno = 0i64;
        let mut position = start as usize;
        let end = end as usize;
        while position < end {
            let chunk = &data[position..(position + packet_data).min(end)];
            let mut sums = if send_checksums {
                transfer::checksums(chunk, bpc)
            } else {
                Vec::new()
            };
            if corrupt && seqno == 0 && !sums.is_empty() {
                sums[0] ^= 0xff;
            }
            let header = PacketHeaderProto {
                offset_in_block: position as i64,
                seqno,
                last_packet_in_block: false,
                data_len: chunk.len() as i32,
                sync_block: Some(false),
            };
            self.send(&transfer::encode_packet(&header, &sums, chunk))
                .await?;
            position += chunk.len();
            seqno += 1;
        }
        let last = PacketHeaderProto {
            offset_in_block: end as i64,
            seqno,
            last_packet_in_block: true,
            data_len: 0,
            sync_block: Some(false),
        };
        self.send(&transfer::encode_packet(&last, &[], &[])).await?;

        // Recorded once everything is sent, so the log is in order with the client's view.
        if !corrupt {
            self.record(OP, &target, Outcome::Success);
        }
        match transfer::read_delimited::<ClientReadStatusProto>(
            &mut self.reader,
            "ClientReadStatusProto",
        )
        .await
        {
            Ok(status) => {
                let ok = status.status == Status::ChecksumOk as i32
                    || status.status == Status::Success as i32;
                if !ok {
                    tracing::warn!("client reported read status {} for {target}", status.status);
                }
                Ok(Next::Continue)
            }
            // The client stopped reading (checksum error, or it dropped the reader).
            Err(TransferError::Io(_)) => Ok(Next::Close),
            Err(e) => Err(e),
        }
    }

    /// BLOCK_CHECKSUM as `DataXceiver.blockChecksum` answers it for a replicated block: the MD5
    /// of the big-endian CRC32C of every 512-byte chunk of the first `numBytes` bytes (what the
    /// block's meta file holds; both clients write 512-byte CRC32C chunks), with the chunk
    /// count. The client combines the blocks' MD5s into `MD5MD5CRC32FileChecksum`.
    async fn block_checksum(&mut self, op: OpBlockChecksumProto) -> Result<Next, TransferError> {
        const OP: &str = "BLOCK_CHECKSUM";
        const BYTES_PER_CRC: usize = 512;
        let block = op.header.block.clone();
        let target = block_name(&block);
        let kind = op
            .block_checksum_options
            .as_ref()
            .and_then(|o| o.block_checksum_type)
            .unwrap_or(BLOCK_CHECKSUM_MD5CRC);
        if kind != BLOCK_CHECKSUM_MD5CRC {
            // COMPOSITE_CRC (dfs.checksum.combine.mode=COMPOSITE_CRC) is not implemented.
            self.record(OP, &target, Outcome::Error("ERROR_UNSUPPORTED".to_string()));
            self.respond(
                Status::ErrorUnsupported,
                Some(format!(
                    "the fake DataNode computes only MD5CRC block checksums, not type {kind}"
                )),
            )
            .await?;
            return Ok(Next::Close);
        }
        let replica = self
            .cluster
            .store()
            .replica(self.index, block.block_id)
            .filter(|r| r.gen_stamp >= block.generation_stamp)
            .cloned();
        let Some(replica) = replica else {
            self.record(OP, &target, Outcome::Error("ERROR".to_string()));
            self.respond(
                Status::Error,
                Some(format!("Replica not found for {target}")),
            )
            .await?;
            return Ok(Next::Close);
        };
        let length =
            (block.num_bytes.unwrap_or(replica.data.len() as u64) as usize).min(replica.data.len());
        let crcs: Vec<u8> = replica.data[..length]
            .chunks(BYTES_PER_CRC)
            .flat_map(|chunk| crc32c::crc32c(chunk).to_be_bytes())
            .collect();
        let digest = <md5::Md5 as md5::Digest>::digest(&crcs);
        let response = BlockOpResponseProto {
            status: Status::Success as i32,
            first_bad_link: None,
            checksum_response: Some(OpBlockChecksumResponseProto {
                bytes_per_crc: BYTES_PER_CRC as u32,
                crc_per_block: (crcs.len() / 4) as u64,
                block_checksum: digest.to_vec(),
                crc_type: Some(CHECKSUM_CRC32C),
                block_checksum_options: None,
            }),
            read_op_checksum_info: None,
            message: None,
        };
        self.record(OP, &target, Outcome::Success);
        self.send(&response.encode_length_delimited_to_vec())
            .await?;
        Ok(Next::Close)
    }

    async fn transfer_block(&mut self, op: OpTransferBlockProto) -> Result<Next, TransferError> {
        const OP: &str = "TRANSFER_BLOCK";
        let block = op.header.base_header.block.clone();
        let target = block_name(&block);
        let mut targets = Vec::new();
        for node in &op.targets {
            match self.cluster.datanode_index(&node.id.datanode_uuid) {
                Some(index) => targets.push(index),
                None => {
                    return self
                        .refuse_misuse(
                            OP,
                            &target,
                            format!("unknown target {}", node.id.datanode_uuid),
                        )
                        .await
                }
            }
        }
        let copied = {
            let mut store = self.cluster.store();
            match store
                .replica(self.index, block.block_id)
                .filter(|r| r.gen_stamp >= block.generation_stamp)
                .cloned()
            {
                Some(replica) => {
                    for dn in &targets {
                        store.put_replica(*dn, block.block_id, replica.clone());
                    }
                    true
                }
                None => false,
            }
        };
        if !copied {
            self.record(
                OP,
                &target,
                Outcome::Error("ERROR replica not found".to_string()),
            );
            self.respond(
                Status::Error,
                Some(format!(
                    "Replica not found for {target} on datanode {}",
                    self.index
                )),
            )
            .await?;
            return Ok(Next::Close);
        }
        self.record(OP, &target, Outcome::Success);
        self.respond(Status::Success, None).await?;
        Ok(Next::Continue)
    }
}
