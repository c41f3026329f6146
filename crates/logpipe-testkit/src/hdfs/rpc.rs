//! Hadoop IPC framing for the fake NameNode: the connection preamble, length-prefixed frames
//! of varint-delimited protobuf parts, and the response frames (SUCCESS, ERROR, FATAL).

use bytes::{Buf, Bytes};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::proto::*;

/// Hadoop's `ipc.maximum.data.length` default; larger frames are refused.
pub(crate) const MAX_FRAME_LEN: usize = 64 * 1024 * 1024;
/// The IPC version hdfs-native speaks (and the fake answers with).
pub(crate) const IPC_VERSION: u8 = 9;
/// The protocol name every ClientProtocol call must carry.
pub(crate) const CLIENT_PROTOCOL: &str = "org.apache.hadoop.hdfs.protocol.ClientProtocol";
/// The protocol a client speaks to a DataNode's IPC port (e.g. `getReplicaVisibleLength`).
pub(crate) const CLIENT_DATANODE_PROTOCOL: &str =
    "org.apache.hadoop.hdfs.protocol.ClientDatanodeProtocol";
/// Call id of the Java client's keep-alive ping (sent while it waits on a slow call); a real
/// server ignores it.
pub(crate) const PING_CALL_ID: i32 = -4;

/// A failure on a NameNode connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RpcConnError {
    /// The client broke the protocol; recorded as a protocol error.
    #[error("{0}")]
    Protocol(String),
    /// The socket failed (client went away); not the client's fault.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}

/// The auth protocol byte of the preamble for SASL.
const AUTH_PROTOCOL_SASL: u8 = 0xdf;

/// Reads and checks the connection preamble and, if the client asked for SASL, answers its
/// negotiation the way a Hadoop server with security off does: `SUCCESS`, i.e. "use SIMPLE".
/// (The Java client asks for SASL whenever its UGI holds a token — e.g. the empty block token
/// it attaches to a DataNode IPC connection — and then falls back to SIMPLE.)
pub(crate) async fn handshake(
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut (impl AsyncWrite + Unpin),
) -> Result<(), RpcConnError> {
    if read_preamble(reader).await? {
        return Ok(());
    }
    let Some(mut frame) = read_frame(reader).await? else {
        return Err(RpcConnError::Protocol(
            "client asked for SASL but closed before negotiating".to_string(),
        ));
    };
    let header: RpcRequestHeaderProto = next_part(&mut frame, "SASL RpcRequestHeaderProto")?;
    let sasl: RpcSaslProto = next_part(&mut frame, "RpcSaslProto")?;
    if header.call_id != SASL_CALL_ID || sasl.state != sasl_state::NEGOTIATE {
        return Err(RpcConnError::Protocol(format!(
            "client started SASL with call id {} state {} instead of NEGOTIATE; the fake \
             only speaks SIMPLE — is hadoop.security.authentication set in the client's \
             configuration?",
            header.call_id, sasl.state
        )));
    }
    let response = RpcResponseHeaderProto {
        call_id: SASL_CALL_ID as u32,
        status: RpcStatusProto::Success as i32,
        server_ipc_version_num: Some(u32::from(IPC_VERSION)),
        exception_class_name: None,
        error_msg: None,
        error_detail: None,
        client_id: None,
        retry_count: None,
    }
    .encode_length_delimited_to_vec();
    let success = RpcSaslProto {
        version: None,
        state: sasl_state::SUCCESS,
        token: None,
        auths: Vec::new(),
    }
    .encode_length_delimited_to_vec();
    writer.write_all(&frame_of(&[&response, &success])).await?;
    Ok(())
}

/// Reads and checks the 7-byte connection preamble (`hrpc`, version, service class, auth);
/// true for SIMPLE auth, false when the client asks for SASL.
async fn read_preamble(reader: &mut (impl AsyncRead + Unpin)) -> Result<bool, RpcConnError> {
    let mut preamble = [0u8; 7];
    reader.read_exact(&mut preamble).await?;
    if &preamble[..4] != b"hrpc" {
        return Err(RpcConnError::Protocol(format!(
            "connection does not start with \"hrpc\" but with {:?}",
            &preamble[..4]
        )));
    }
    if preamble[4] != IPC_VERSION {
        return Err(RpcConnError::Protocol(format!(
            "client speaks IPC version {}, the fake speaks {IPC_VERSION}",
            preamble[4]
        )));
    }
    // preamble[5] is the service class, which a Hadoop server accepts whatever its value
    // (it only picks a call queue).
    match preamble[6] {
        0 => Ok(true),
        AUTH_PROTOCOL_SASL => Ok(false),
        other => Err(RpcConnError::Protocol(format!(
            "client asked for auth protocol {}; the fake only speaks SIMPLE — is \
             hadoop.security.authentication set in the client's configuration?",
            other as i8
        ))),
    }
}

/// Reads one length-prefixed frame; `None` on a clean end of stream between frames.
pub(crate) async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Option<Bytes>, RpcConnError> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_LEN {
        return Err(RpcConnError::Protocol(format!(
            "RPC frame of {len} bytes exceeds the maximum of {MAX_FRAME_LEN}"
        )));
    }
    let mut frame = vec![0u8; len];
    reader.read_exact(&mut frame).await?;
    Ok(Some(Bytes::from(frame)))
}

/// Decodes the next varint-delimited message of a frame.
pub(crate) fn next_part<M: Message + Default>(
    frame: &mut Bytes,
    what: &str,
) -> Result<M, RpcConnError> {
    M::decode_length_delimited(&mut *frame)
        .map_err(|e| RpcConnError::Protocol(format!("cannot decode {what}: {e}")))
}

/// The connection context frame that follows the preamble.
pub(crate) struct ConnectionContext {
    pub effective_user: String,
}

/// Parses and checks the connection context frame (call id -3) of a connection to `protocol`.
pub(crate) fn parse_connection_context(
    mut frame: Bytes,
    protocol: &str,
) -> Result<ConnectionContext, RpcConnError> {
    let header: RpcRequestHeaderProto = next_part(&mut frame, "connection context header")?;
    if header.call_id != CONNECTION_CONTEXT_CALL_ID {
        return Err(RpcConnError::Protocol(format!(
            "first frame has call id {}, expected the connection context ({CONNECTION_CONTEXT_CALL_ID})",
            header.call_id
        )));
    }
    let context: IpcConnectionContextProto = next_part(&mut frame, "IpcConnectionContextProto")?;
    if frame.has_remaining() {
        return Err(RpcConnError::Protocol(format!(
            "{} unexpected bytes after the connection context",
            frame.remaining()
        )));
    }
    if context.protocol.as_deref() != Some(protocol) {
        return Err(RpcConnError::Protocol(format!(
            "connection context names protocol {:?}, the fake serves {protocol} here",
            context.protocol
        )));
    }
    let effective_user = context
        .user_info
        .and_then(|u| u.effective_user)
        .unwrap_or_else(|| "hdfs".to_string());
    Ok(ConnectionContext { effective_user })
}

/// One RPC call read from a frame.
pub(crate) struct Call {
    pub call_id: i32,
    pub client_id: Vec<u8>,
    pub method: String,
    /// The still-delimited request message.
    pub body: Bytes,
    /// Set when the call names a protocol (or version) this server does not serve; Hadoop
    /// answers such a call with `RpcNoSuchProtocolException` and keeps the connection.
    pub wrong_protocol: Option<String>,
}

/// Hadoop's answer to a call for a protocol the server does not serve.
pub(crate) const RPC_NO_SUCH_PROTOCOL: &str = "org.apache.hadoop.ipc.RpcNoSuchProtocolException";

/// The ERROR frame for a call with [`Call::wrong_protocol`] set.
pub(crate) fn wrong_protocol_frame(call: &Call, why: &str) -> Vec<u8> {
    failure_frame(
        call,
        RpcStatusProto::Error,
        RpcErrorCodeProto::ErrorNoSuchProtocol,
        RPC_NO_SUCH_PROTOCOL,
        why,
    )
}

/// Parses and checks an RPC call frame for `protocol`; `None` for a keep-alive ping, which
/// needs no answer.
pub(crate) fn parse_call(mut frame: Bytes, protocol: &str) -> Result<Option<Call>, RpcConnError> {
    let header: RpcRequestHeaderProto = next_part(&mut frame, "RpcRequestHeaderProto")?;
    if header.call_id == PING_CALL_ID {
        return Ok(None);
    }
    if header.rpc_kind != Some(RPC_KIND_PROTOCOL_BUFFER) {
        return Err(RpcConnError::Protocol(format!(
            "call {} has rpcKind {:?}, expected RPC_PROTOCOL_BUFFER",
            header.call_id, header.rpc_kind
        )));
    }
    if header.rpc_op.unwrap_or(RPC_OP_FINAL_PACKET) != RPC_OP_FINAL_PACKET {
        return Err(RpcConnError::Protocol(format!(
            "call {} has rpcOp {:?}, only RPC_FINAL_PACKET is supported",
            header.call_id, header.rpc_op
        )));
    }
    if header.call_id < 0 {
        return Err(RpcConnError::Protocol(format!(
            "call id {} is negative (reserved for connection-level frames)",
            header.call_id
        )));
    }
    if header.client_id.len() != 16 {
        return Err(RpcConnError::Protocol(format!(
            "call {} has a {}-byte client id, expected 16",
            header.call_id,
            header.client_id.len()
        )));
    }
    let request: RequestHeaderProto = next_part(&mut frame, "RequestHeaderProto")?;
    let wrong_protocol = (request.declaring_class_protocol_name != protocol
        || request.client_protocol_version != 1)
        .then(|| {
            format!(
                "Unknown protocol: {} version {} (call {} of {}; this server serves {protocol} version 1)",
                request.declaring_class_protocol_name,
                request.client_protocol_version,
                header.call_id,
                request.method_name
            )
        });
    Ok(Some(Call {
        call_id: header.call_id,
        client_id: header.client_id,
        method: request.method_name,
        body: frame,
        wrong_protocol,
    }))
}

fn frame_of(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 4);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

fn response_header(call: &Call, status: RpcStatusProto) -> RpcResponseHeaderProto {
    RpcResponseHeaderProto {
        call_id: call.call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(u32::from(IPC_VERSION)),
        exception_class_name: None,
        error_msg: None,
        error_detail: None,
        client_id: Some(call.client_id.clone()),
        retry_count: Some(0),
    }
}

/// A SUCCESS response carrying `response` (already varint-delimited).
pub(crate) fn success_frame(call: &Call, response: &[u8]) -> Vec<u8> {
    let header = response_header(call, RpcStatusProto::Success).encode_length_delimited_to_vec();
    frame_of(&[&header, response])
}

/// An ERROR or FATAL response.
pub(crate) fn failure_frame(
    call: &Call,
    status: RpcStatusProto,
    detail: RpcErrorCodeProto,
    class: &str,
    message: &str,
) -> Vec<u8> {
    let header = RpcResponseHeaderProto {
        exception_class_name: Some(class.to_string()),
        error_msg: Some(message.to_string()),
        error_detail: Some(detail as i32),
        ..response_header(call, status)
    }
    .encode_length_delimited_to_vec();
    frame_of(&[&header])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_frame(call_id: i32, method: &str, body: &[u8]) -> Bytes {
        let header = RpcRequestHeaderProto {
            rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
            rpc_op: Some(RPC_OP_FINAL_PACKET),
            call_id,
            client_id: vec![7; 16],
            retry_count: Some(0),
            state_id: None,
        }
        .encode_length_delimited_to_vec();
        let request = RequestHeaderProto {
            method_name: method.to_string(),
            declaring_class_protocol_name: CLIENT_PROTOCOL.to_string(),
            client_protocol_version: 1,
        }
        .encode_length_delimited_to_vec();
        Bytes::from([header, request, body.to_vec()].concat())
    }

    #[test]
    fn a_call_frame_yields_method_and_body() {
        let body = GetFileInfoRequestProto {
            src: "/x".to_string(),
        }
        .encode_length_delimited_to_vec();
        let call = parse_call(call_frame(4, "getFileInfo", &body), CLIENT_PROTOCOL)
            .expect("valid call")
            .expect("not a ping");
        assert_eq!(call.call_id, 4);
        assert_eq!(call.method, "getFileInfo");
        let request = GetFileInfoRequestProto::decode_length_delimited(call.body).expect("body");
        assert_eq!(request.src, "/x");
    }

    #[test]
    fn a_negative_call_id_is_a_protocol_error() {
        assert!(matches!(
            parse_call(call_frame(-1, "getFileInfo", &[]), CLIENT_PROTOCOL),
            Err(RpcConnError::Protocol(_))
        ));
    }

    #[test]
    fn a_ping_is_accepted_and_needs_no_answer() {
        let header = RpcRequestHeaderProto {
            rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
            rpc_op: Some(RPC_OP_FINAL_PACKET),
            call_id: PING_CALL_ID,
            client_id: vec![7; 16],
            retry_count: Some(-1),
            state_id: None,
        }
        .encode_length_delimited_to_vec();
        assert!(matches!(
            parse_call(Bytes::from(header), CLIENT_PROTOCOL),
            Ok(None)
        ));
    }

    #[test]
    fn a_void_success_response_still_carries_its_empty_message() {
        let call = parse_call(call_frame(1, "fsync", &[]), CLIENT_PROTOCOL)
            .expect("valid call")
            .expect("not a ping");
        let void = VoidResponseProto {}.encode_length_delimited_to_vec();
        let out = success_frame(&call, &void);
        assert_eq!(void, vec![0u8]);
        let len = u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
        assert_eq!(len, out.len() - 4);
        assert_eq!(out.last(), Some(&0u8));
    }
}
