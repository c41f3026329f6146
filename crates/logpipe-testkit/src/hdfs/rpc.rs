//! Hadoop IPC framing for the fake NameNode: the connection preamble, length-prefixed frames
//! of varint-delimited protobuf parts, and the response frames (SUCCESS, ERROR, FATAL).

use bytes::{Buf, Bytes};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::proto::*;

/// Hadoop's `ipc.maximum.data.length` default; larger frames are refused.
pub(crate) const MAX_FRAME_LEN: usize = 64 * 1024 * 1024;
/// The IPC version hdfs-native speaks (and the fake answers with).
pub(crate) const IPC_VERSION: u8 = 9;
/// The protocol name every ClientProtocol call must carry.
pub(crate) const CLIENT_PROTOCOL: &str = "org.apache.hadoop.hdfs.protocol.ClientProtocol";

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

/// Reads and checks the 7-byte connection preamble (`hrpc`, version, service class, auth).
pub(crate) async fn read_preamble(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<(), RpcConnError> {
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
    if preamble[5] != 0 {
        return Err(RpcConnError::Protocol(format!(
            "unexpected service class {}",
            preamble[5]
        )));
    }
    if preamble[6] != 0 {
        return Err(RpcConnError::Protocol(format!(
            "client asked for auth protocol {} (SASL); the fake only speaks SIMPLE — is \
             hadoop.security.authentication set in the client's configuration?",
            preamble[6] as i8
        )));
    }
    Ok(())
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

/// Parses and checks the connection context frame (call id -3).
pub(crate) fn parse_connection_context(
    mut frame: Bytes,
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
    if context.protocol.as_deref() != Some(CLIENT_PROTOCOL) {
        return Err(RpcConnError::Protocol(format!(
            "connection context names protocol {:?}, the fake serves {CLIENT_PROTOCOL}",
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
}

/// Parses and checks an RPC call frame.
pub(crate) fn parse_call(mut frame: Bytes) -> Result<Call, RpcConnError> {
    let header: RpcRequestHeaderProto = next_part(&mut frame, "RpcRequestHeaderProto")?;
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
    if request.declaring_class_protocol_name != CLIENT_PROTOCOL
        || request.client_protocol_version != 1
    {
        return Err(RpcConnError::Protocol(format!(
            "call {} ({}) declares protocol {} version {}, expected {CLIENT_PROTOCOL} version 1",
            header.call_id,
            request.method_name,
            request.declaring_class_protocol_name,
            request.client_protocol_version
        )));
    }
    Ok(Call {
        call_id: header.call_id,
        client_id: header.client_id,
        method: request.method_name,
        body: frame,
    })
}

fn frame(parts: &[&[u8]]) -> Vec<u8> {
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
    frame(&[&header, response])
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
    frame(&[&header])
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
        let call = parse_call(call_frame(4, "getFileInfo", &body)).expect("valid call");
        assert_eq!(call.call_id, 4);
        assert_eq!(call.method, "getFileInfo");
        let request = GetFileInfoRequestProto::decode_length_delimited(call.body).expect("body");
        assert_eq!(request.src, "/x");
    }

    #[test]
    fn a_negative_call_id_is_a_protocol_error() {
        assert!(matches!(
            parse_call(call_frame(-1, "getFileInfo", &[])),
            Err(RpcConnError::Protocol(_))
        ));
    }

    #[test]
    fn a_void_success_response_still_carries_its_empty_message() {
        let call = parse_call(call_frame(1, "fsync", &[])).expect("valid call");
        let void = VoidResponseProto {}.encode_length_delimited_to_vec();
        let out = success_frame(&call, &void);
        assert_eq!(void, vec![0u8]);
        let len = u32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize;
        assert_eq!(len, out.len() - 4);
        assert_eq!(out.last(), Some(&0u8));
    }
}
