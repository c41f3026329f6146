//! The fake NameNode server: accepts Hadoop IPC connections, dispatches ClientProtocol calls
//! to the namespace, applies injected NameNode faults and records every call.

use std::sync::Arc;

use bytes::{Buf, Bytes};
use prost::Message;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::cluster::Cluster;
use super::exceptions as ex;
use super::faults::{NameNodeFault, Outcome, Server};
use super::namespace::{append_unsupported, RpcError};
use super::proto::*;
use super::rpc::{self, Call, RpcConnError};

/// Accepts NameNode connections until `shutdown` turns true; dropping the connection set on
/// return closes every open connection.
pub(crate) async fn serve(
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
                    connections.spawn(handle_connection(stream, cluster));
                }
                Err(e) => {
                    tracing::warn!("fake namenode accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle_connection(stream: TcpStream, cluster: Arc<Cluster>) {
    let _ = stream.set_nodelay(true);
    match connection(stream, &cluster).await {
        Ok(()) => {}
        Err(RpcConnError::Protocol(message)) => cluster
            .faults
            .protocol_error(format!("namenode: {message}")),
        Err(RpcConnError::Io(e)) => tracing::debug!("fake namenode connection ended: {e}"),
    }
}

/// What the connection writer task does next.
enum Outgoing {
    Frame(Vec<u8>),
    Close,
}

async fn connection(stream: TcpStream, cluster: &Arc<Cluster>) -> Result<(), RpcConnError> {
    let (mut reader, mut writer) = stream.into_split();
    rpc::handshake(&mut reader, &mut writer).await?;
    let Some(context) = rpc::read_frame(&mut reader).await? else {
        return Ok(());
    };
    let context = rpc::parse_connection_context(context, rpc::CLIENT_PROTOCOL)?;
    let user = Arc::new(context.effective_user);

    let (outgoing, mut queue) = mpsc::unbounded_channel::<Outgoing>();
    let writer_task = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Some(next) = queue.recv().await {
            match next {
                Outgoing::Frame(frame) => {
                    if writer.write_all(&frame).await.is_err() {
                        break;
                    }
                }
                Outgoing::Close => {
                    let _ = writer.shutdown().await;
                    break;
                }
            }
        }
    });

    let mut calls = JoinSet::new();
    let result = loop {
        let frame = tokio::select! {
            frame = rpc::read_frame(&mut reader) => frame,
            _ = outgoing.closed() => break Ok(()),
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let call = match rpc::parse_call(frame, rpc::CLIENT_PROTOCOL) {
            Ok(Some(call)) => call,
            Ok(None) => continue,
            Err(e) => break Err(e),
        };
        let cluster = Arc::clone(cluster);
        let outgoing = outgoing.clone();
        let user = Arc::clone(&user);
        calls.spawn(async move { handle_call(&cluster, call, &user, &outgoing).await });
    };
    // Let calls already read finish answering (a client may close its write side early).
    while calls.join_next().await.is_some() {}
    drop(outgoing);
    let _ = writer_task.await;
    result
}

async fn handle_call(
    cluster: &Cluster,
    call: Call,
    user: &str,
    outgoing: &mpsc::UnboundedSender<Outgoing>,
) {
    let method = call.method.clone();
    if let Some(why) = &call.wrong_protocol {
        cluster.faults.protocol_error(format!("namenode: {why}"));
        cluster.faults.record(
            Server::NameNode,
            &method,
            "",
            Outcome::Error(rpc::RPC_NO_SUCH_PROTOCOL.to_string()),
        );
        let _ = outgoing.send(Outgoing::Frame(rpc::wrong_protocol_frame(&call, why)));
        return;
    }
    let fault = cluster.faults.take_namenode(&method);
    if let Some(NameNodeFault::Delay(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    match fault {
        Some(NameNodeFault::Error { class, message }) => {
            let target = request_target(&call);
            let frame = rpc::failure_frame(
                &call,
                RpcStatusProto::Error,
                RpcErrorCodeProto::ErrorApplication,
                &class,
                &message,
            );
            cluster
                .faults
                .record(Server::NameNode, &method, &target, Outcome::Error(class));
            let _ = outgoing.send(Outgoing::Frame(frame));
        }
        Some(NameNodeFault::Fatal { class, message }) => {
            let target = request_target(&call);
            let frame = rpc::failure_frame(
                &call,
                RpcStatusProto::Fatal,
                RpcErrorCodeProto::FatalUnknown,
                &class,
                &message,
            );
            cluster
                .faults
                .record(Server::NameNode, &method, &target, Outcome::Fatal(class));
            let _ = outgoing.send(Outgoing::Frame(frame));
            let _ = outgoing.send(Outgoing::Close);
        }
        Some(NameNodeFault::DropBeforeApply) => {
            let target = request_target(&call);
            cluster
                .faults
                .record(Server::NameNode, &method, &target, Outcome::Dropped);
            let _ = outgoing.send(Outgoing::Close);
        }
        Some(NameNodeFault::DropAfterApply) => {
            let (target, _) = dispatch(cluster, &call, user);
            cluster
                .faults
                .record(Server::NameNode, &method, &target, Outcome::Dropped);
            let _ = outgoing.send(Outgoing::Close);
        }
        Some(NameNodeFault::Delay(_)) | None => {
            let (target, result) = dispatch(cluster, &call, user);
            let (frame, outcome) = match result {
                Ok(response) => (rpc::success_frame(&call, &response), Outcome::Success),
                Err(error) => {
                    if error.misuse {
                        cluster.faults.protocol_error(format!(
                            "namenode {method} {target}: {}",
                            error.message
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
            // Recorded before answering, so a test that saw the answer also sees the record.
            cluster
                .faults
                .record(Server::NameNode, &method, &target, outcome);
            let _ = outgoing.send(Outgoing::Frame(frame));
        }
    }
}

/// The path a request names, for the call log (decoded leniently).
fn request_target(call: &Call) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct FirstStringField {
        #[prost(string, optional, tag = "1")]
        src: Option<String>,
    }
    match call.method.as_str() {
        "renewLease" | "getServerDefaults" | "updateBlockForPipeline" | "updatePipeline" => {
            String::new()
        }
        _ => FirstStringField::decode_length_delimited(call.body.clone())
            .ok()
            .and_then(|f| f.src)
            .unwrap_or_default(),
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
            format!(
                "{} unexpected bytes after the {} request",
                body.remaining(),
                call.method
            ),
        ));
    }
    Ok(message)
}

fn encode(message: &impl Message) -> Vec<u8> {
    message.encode_length_delimited_to_vec()
}

/// Runs one call against the namespace; returns the call's target and the delimited response.
fn dispatch(cluster: &Cluster, call: &Call, user: &str) -> (String, Result<Vec<u8>, RpcError>) {
    let mut target = String::new();
    let result = (|| -> Result<Vec<u8>, RpcError> {
        match call.method.as_str() {
            "getServerDefaults" => {
                let _: GetServerDefaultsRequestProto = decode(call)?;
                Ok(encode(&GetServerDefaultsResponseProto {
                    server_defaults: cluster.namespace().server_defaults(),
                }))
            }
            "getFileInfo" => {
                let req: GetFileInfoRequestProto = decode(call)?;
                target = req.src.clone();
                let fs = cluster.namespace().file_info(&req.src)?;
                if let Some(status) = &fs {
                    check_status(status)?;
                }
                Ok(encode(&GetFileInfoResponseProto { fs }))
            }
            "mkdirs" => {
                let req: MkdirsRequestProto = decode(call)?;
                target = req.src.clone();
                let result = cluster.namespace().mkdirs(
                    &req.src,
                    req.masked.perm,
                    req.create_parent,
                    user,
                )?;
                Ok(encode(&BoolResultProto { result }))
            }
            "create" => {
                let req: CreateRequestProto = decode(call)?;
                target = req.src.clone();
                let status = {
                    let mut namespace = cluster.namespace();
                    let mut store = cluster.store();
                    namespace.create(&req, user, &mut store)?
                };
                check_status(&status)?;
                Ok(encode(&FileStatusResponseProto { fs: Some(status) }))
            }
            "addBlock" => {
                let req: AddBlockRequestProto = decode(call)?;
                target = req.src.clone();
                let block = cluster.namespace().add_block(&req)?;
                check_located_block(&block, true)?;
                Ok(encode(&LocatedBlockResponseProto { block }))
            }
            "complete" => {
                let req: CompleteRequestProto = decode(call)?;
                target = req.src.clone();
                let force_false = cluster.faults.take_complete_false();
                let result = {
                    let mut namespace = cluster.namespace();
                    let store = cluster.store();
                    namespace.complete(&req, &store, force_false)?
                };
                Ok(encode(&BoolResultProto { result }))
            }
            "fsync" => {
                let req: FsyncRequestProto = decode(call)?;
                target = req.src.clone();
                cluster.namespace().fsync(&req)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "renewLease" => {
                let _: RenewLeaseRequestProto = decode(call)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "recoverLease" => {
                let req: RecoverLeaseRequestProto = decode(call)?;
                target = req.src.clone();
                let result = {
                    let mut namespace = cluster.namespace();
                    let mut store = cluster.store();
                    namespace.recover_lease(&req.src, &mut store)?
                };
                Ok(encode(&BoolResultProto { result }))
            }
            "rename2" => {
                let req: Rename2RequestProto = decode(call)?;
                target = format!("{} -> {}", req.src, req.dst);
                if req.move_to_trash == Some(true) {
                    tracing::debug!("rename2 with moveToTrash: treated as a plain rename");
                }
                let mut namespace = cluster.namespace();
                let mut store = cluster.store();
                namespace.rename(&req.src, &req.dst, req.overwrite_dest, &mut store)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "delete" => {
                let req: DeleteRequestProto = decode(call)?;
                target = req.src.clone();
                let result = {
                    let mut namespace = cluster.namespace();
                    let mut store = cluster.store();
                    namespace.delete(&req.src, req.recursive, &mut store)?
                };
                Ok(encode(&BoolResultProto { result }))
            }
            "getListing" => {
                let req: GetListingRequestProto = decode(call)?;
                target = req.src.clone();
                let dir_list =
                    cluster
                        .namespace()
                        .listing(&req.src, &req.start_after, req.need_location)?;
                if let Some(listing) = &dir_list {
                    listing.partial_listing.iter().try_for_each(check_status)?;
                }
                Ok(encode(&GetListingResponseProto { dir_list }))
            }
            "getBlockLocations" => {
                let req: GetBlockLocationsRequestProto = decode(call)?;
                target = req.src.clone();
                let locations = cluster
                    .namespace()
                    .block_locations(&req.src, req.offset, req.length)?;
                for block in &locations.blocks {
                    check_located_block(block, false)?;
                }
                Ok(encode(&GetBlockLocationsResponseProto {
                    locations: Some(locations),
                }))
            }
            "updateBlockForPipeline" => {
                let req: UpdateBlockForPipelineRequestProto = decode(call)?;
                target = format!("blk_{}", req.block.block_id);
                let block = cluster.namespace().update_block_for_pipeline(&req)?;
                check_located_block(&block, false)?;
                Ok(encode(&LocatedBlockResponseProto { block }))
            }
            "updatePipeline" => {
                let req: UpdatePipelineRequestProto = decode(call)?;
                target = format!("blk_{}", req.old_block.block_id);
                cluster.namespace().update_pipeline(&req)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "getAdditionalDatanode" => {
                let req: GetAdditionalDatanodeRequestProto = decode(call)?;
                target = req.src.clone();
                let block = cluster.namespace().additional_datanode(&req)?;
                check_located_block(&block, false)?;
                Ok(encode(&LocatedBlockResponseProto { block }))
            }
            "abandonBlock" => {
                let req: AbandonBlockRequestProto = decode(call)?;
                target = req.src.clone();
                let mut namespace = cluster.namespace();
                let mut store = cluster.store();
                namespace.abandon_block(&req, &mut store)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "rename" => {
                let req: RenameRequestProto = decode(call)?;
                target = format!("{} -> {}", req.src, req.dst);
                let mut namespace = cluster.namespace();
                let mut store = cluster.store();
                let result = namespace.rename_old(&req.src, &req.dst, &mut store)?;
                Ok(encode(&BoolResultProto { result }))
            }
            "setReplication" => {
                let req: SetReplicationRequestProto = decode(call)?;
                target = req.src.clone();
                let result = cluster
                    .namespace()
                    .set_replication(&req.src, req.replication)?;
                Ok(encode(&BoolResultProto { result }))
            }
            "setPermission" => {
                let req: SetPermissionRequestProto = decode(call)?;
                target = req.src.clone();
                cluster
                    .namespace()
                    .set_permission(&req.src, req.permission.perm)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "setOwner" => {
                let req: SetOwnerRequestProto = decode(call)?;
                target = req.src.clone();
                cluster.namespace().set_owner(
                    &req.src,
                    req.username.as_deref(),
                    req.groupname.as_deref(),
                )?;
                Ok(encode(&VoidResponseProto {}))
            }
            "setTimes" => {
                let req: SetTimesRequestProto = decode(call)?;
                target = req.src.clone();
                cluster
                    .namespace()
                    .set_times(&req.src, req.mtime, req.atime)?;
                Ok(encode(&VoidResponseProto {}))
            }
            "isFileClosed" => {
                let req: IsFileClosedRequestProto = decode(call)?;
                target = req.src.clone();
                let result = cluster.namespace().is_file_closed(&req.src)?;
                Ok(encode(&BoolResultProto { result }))
            }
            "getContentSummary" => {
                let req: GetContentSummaryRequestProto = decode(call)?;
                target = req.path.clone();
                let summary = cluster.namespace().content_summary(&req.path)?;
                Ok(encode(&GetContentSummaryResponseProto { summary }))
            }
            "append" => {
                let req: AppendRequestProto = decode(call)?;
                target = req.src.clone();
                Err(append_unsupported())
            }
            "modifyAclEntries" | "removeAclEntries" | "removeDefaultAcl" | "removeAcl"
            | "setAcl" | "getAclStatus" => {
                target = request_target(call);
                Err(RpcError::new(
                    ex::ACL_EXCEPTION,
                    "The ACL operation has been rejected.  Support for ACLs has been disabled by setting dfs.namenode.acls.enabled to false.",
                ))
            }
            "setXAttr" | "getXAttrs" | "listXAttrs" | "removeXAttr" => {
                target = request_target(call);
                Err(RpcError::new(
                    ex::IO,
                    "The XAttr operation has been rejected.  Support for XAttrs has been disabled by setting dfs.namenode.xattrs.enabled to false.",
                ))
            }
            other => {
                tracing::warn!("fake namenode: client called unimplemented method {other}");
                Err(RpcError::new(
                    ex::RPC_NO_SUCH_METHOD,
                    format!(
                        "Unknown method {other} called on {} protocol.",
                        rpc::CLIENT_PROTOCOL
                    ),
                ))
            }
        }
    })();
    (target, result)
}

/// Refuses to send a file status the client could misread.
fn check_status(status: &HdfsFileStatusProto) -> Result<(), RpcError> {
    if std::str::from_utf8(&status.path).is_err() {
        return Err(fake_bug("file status path is not UTF-8"));
    }
    if status.file_type == FILE_TYPE_FILE && status.blocksize.unwrap_or(0) == 0 {
        return Err(fake_bug("file status of a file without a block size"));
    }
    Ok(())
}

/// Refuses to send a located block the client could choke on.
fn check_located_block(block: &LocatedBlockProto, fresh: bool) -> Result<(), RpcError> {
    if block.b.num_bytes.is_none() {
        return Err(fake_bug("located block without numBytes"));
    }
    if block.locs.is_empty() {
        return Err(fake_bug("located block without locations"));
    }
    if block.storage_types.len() != block.locs.len() || block.storage_ids.len() != block.locs.len()
    {
        return Err(fake_bug(
            "located block whose storage lists differ in length from locs",
        ));
    }
    if fresh && block.b.num_bytes != Some(0) {
        return Err(fake_bug("new block with non-zero numBytes"));
    }
    Ok(())
}

fn fake_bug(what: &str) -> RpcError {
    RpcError::misuse(ex::IO, format!("fake HDFS bug, refusing to send {what}"))
}
