//! The fake DataNodes' IPC servers (Hadoop IPC, `ClientDatanodeProtocol`). The Java client
//! asks a DataNode for the visible length of a block still being written
//! (`getReplicaVisibleLength`) when it opens a file that is open for writing — that is how a
//! reader sees the bytes of an `hflush`. Every other method of the protocol answers
//! `RpcNoSuchMethodException`.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::cluster::Cluster;
use super::exceptions as ex;
use super::faults::{Outcome, Server};
use super::namespace::RpcError;
use super::proto::*;
use super::rpc::{self, Call, RpcConnError};

/// Accepts IPC connections for DataNode `index` until `shutdown` turns true.
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
                    tracing::warn!("fake datanode {index} IPC accept failed: {e}");
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
    match connection(index, stream, &cluster).await {
        Ok(()) => {}
        Err(RpcConnError::Protocol(message)) => cluster
            .faults
            .protocol_error(format!("datanode {index} IPC: {message}")),
        Err(RpcConnError::Io(e)) => {
            tracing::debug!("fake datanode {index} IPC connection ended: {e}")
        }
    }
}

async fn connection(
    index: usize,
    stream: TcpStream,
    cluster: &Cluster,
) -> Result<(), RpcConnError> {
    let (mut reader, mut writer) = stream.into_split();
    rpc::handshake(&mut reader, &mut writer).await?;
    let Some(context) = rpc::read_frame(&mut reader).await? else {
        return Ok(());
    };
    rpc::parse_connection_context(context, rpc::CLIENT_DATANODE_PROTOCOL)?;
    loop {
        let Some(frame) = rpc::read_frame(&mut reader).await? else {
            return Ok(());
        };
        let Some(call) = rpc::parse_call(frame, rpc::CLIENT_DATANODE_PROTOCOL)? else {
            continue;
        };
        if let Some(why) = &call.wrong_protocol {
            cluster
                .faults
                .protocol_error(format!("datanode {index} IPC: {why}"));
            writer
                .write_all(&rpc::wrong_protocol_frame(&call, why))
                .await?;
            continue;
        }
        let (target, result) = dispatch(index, cluster, &call);
        let (frame, outcome) = match result {
            Ok(response) => (rpc::success_frame(&call, &response), Outcome::Success),
            Err(error) => {
                if error.misuse {
                    cluster.faults.protocol_error(format!(
                        "datanode {index} IPC {} {target}: {}",
                        call.method, error.message
                    ));
                }
                let detail = if error.class == ex::RPC_NO_SUCH_METHOD {
                    RpcErrorCodeProto::ErrorNoSuchMethod
                } else {
                    RpcErrorCodeProto::ErrorApplication
                };
                let frame = rpc::failure_frame(
                    &call,
                    RpcStatusProto::Error,
                    detail,
                    &error.class,
                    &error.message,
                );
                (frame, Outcome::Error(error.class))
            }
        };
        cluster
            .faults
            .record(Server::DataNode(index), &call.method, &target, outcome);
        writer.write_all(&frame).await?;
    }
}

fn decode<M: Message + Default>(call: &Call) -> Result<M, RpcError> {
    let mut body: Bytes = call.body.clone();
    let message = M::decode_length_delimited(&mut body).map_err(|e| {
        RpcError::misuse(
            ex::RPC_SERVER,
            format!("cannot decode the {} request: {e}", call.method),
        )
    })?;
    if body.has_remaining() {
        return Err(RpcError::misuse(
            ex::RPC_SERVER,
            format!("unexpected bytes after the {} request", call.method),
        ));
    }
    Ok(message)
}

fn dispatch(index: usize, cluster: &Cluster, call: &Call) -> (String, Result<Vec<u8>, RpcError>) {
    match call.method.as_str() {
        "getReplicaVisibleLength" => {
            let req: GetReplicaVisibleLengthRequestProto = match decode(call) {
                Ok(req) => req,
                Err(e) => return (String::new(), Err(e)),
            };
            let block = &req.block;
            let target = format!("blk_{}_{}", block.block_id, block.generation_stamp);
            let store = cluster.store();
            let result = match store.replica(index, block.block_id) {
                None => Err(RpcError::new(
                    ex::REPLICA_NOT_FOUND,
                    format!("Replica not found for {target} on datanode {index}"),
                )),
                Some(replica) if replica.gen_stamp < block.generation_stamp => {
                    Err(RpcError::new(
                        ex::IO,
                        format!(
                            "replica.getGenerationStamp() < block.getGenerationStamp(), block={target}, replica gs={}",
                            replica.gen_stamp
                        ),
                    ))
                }
                Some(replica) => Ok(GetReplicaVisibleLengthResponseProto {
                    length: replica.data.len() as u64,
                }
                .encode_length_delimited_to_vec()),
            };
            (target, result)
        }
        other => (
            String::new(),
            Err(RpcError::new(
                ex::RPC_NO_SUCH_METHOD,
                format!(
                    "Unknown method {other} called on {} protocol.",
                    rpc::CLIENT_DATANODE_PROTOCOL
                ),
            )),
        ),
    }
}
