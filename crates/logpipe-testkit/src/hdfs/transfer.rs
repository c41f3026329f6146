//! Data-transfer protocol framing for the fake DataNodes: op headers, varint-delimited
//! messages, data packets and their CRC32C chunk checksums.

use bytes::BufMut;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::proto::PacketHeaderProto;

/// The data-transfer protocol version hdfs-native speaks.
pub(crate) const DATA_TRANSFER_VERSION: u16 = 28;
pub(crate) const OP_WRITE_BLOCK: u8 = 80;
pub(crate) const OP_READ_BLOCK: u8 = 81;
pub(crate) const OP_BLOCK_CHECKSUM: u8 = 85;
pub(crate) const OP_TRANSFER_BLOCK: u8 = 86;

/// Largest op message or packet header the fake accepts.
const MAX_MESSAGE_LEN: usize = 1024 * 1024;
/// Largest packet payload the fake accepts (Hadoop caps packets at 16 MiB).
const MAX_PACKET_LEN: usize = 16 * 1024 * 1024;

/// A failure on a DataNode connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransferError {
    /// The client broke the protocol; recorded as a protocol error.
    #[error("{0}")]
    Protocol(String),
    /// The socket failed or was closed by the client.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
}

fn protocol(message: impl Into<String>) -> TransferError {
    TransferError::Protocol(message.into())
}

/// Reads the op header (`version`, `op`); `None` on a clean end of stream before it.
pub(crate) async fn read_op(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Option<u8>, TransferError> {
    let mut version = [0u8; 2];
    match reader.read_exact(&mut version).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let version = u16::from_be_bytes(version);
    if version != DATA_TRANSFER_VERSION {
        return Err(protocol(format!(
            "data transfer version {version}, expected {DATA_TRANSFER_VERSION} (SASL or \
             encryption handshakes are not supported by the fake)"
        )));
    }
    Ok(Some(reader.read_u8().await?))
}

/// Reads one varint-delimited message.
pub(crate) async fn read_delimited<M: Message + Default>(
    reader: &mut (impl AsyncRead + Unpin),
    what: &str,
) -> Result<M, TransferError> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let byte = reader.read_u8().await?;
        len |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err(protocol(format!("malformed length of {what}")));
        }
    }
    let len = len as usize;
    if len > MAX_MESSAGE_LEN {
        return Err(protocol(format!("{what} of {len} bytes is too large")));
    }
    let mut buf = vec![0u8; len];
    reader.read_exact(&mut buf).await?;
    M::decode(buf.as_slice()).map_err(|e| protocol(format!("cannot decode {what}: {e}")))
}

/// A data packet as received.
pub(crate) struct Packet {
    pub header: PacketHeaderProto,
    pub checksums: Vec<u8>,
    pub data: Vec<u8>,
}

/// Reads one data packet.
pub(crate) async fn read_packet(
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<Packet, TransferError> {
    let payload_len = reader.read_u32().await? as usize;
    let header_len = reader.read_u16().await? as usize;
    if !(4..=MAX_PACKET_LEN).contains(&payload_len) {
        return Err(protocol(format!(
            "packet payload length {payload_len} is out of range"
        )));
    }
    let mut header = vec![0u8; header_len];
    reader.read_exact(&mut header).await?;
    let header = PacketHeaderProto::decode(header.as_slice())
        .map_err(|e| protocol(format!("cannot decode PacketHeaderProto: {e}")))?;
    let data_len = usize::try_from(header.data_len)
        .map_err(|_| protocol(format!("negative packet dataLen {}", header.data_len)))?;
    let Some(checksum_len) = (payload_len - 4).checked_sub(data_len) else {
        return Err(protocol(format!(
            "packet dataLen {data_len} exceeds its payload length {payload_len}"
        )));
    };
    let mut checksums = vec![0u8; checksum_len];
    reader.read_exact(&mut checksums).await?;
    let mut data = vec![0u8; data_len];
    reader.read_exact(&mut data).await?;
    Ok(Packet {
        header,
        checksums,
        data,
    })
}

/// Splits `len` bytes starting at `offset` in the block into checksum chunks: chunk boundaries
/// sit at multiples of `bytes_per_checksum` from the start of the block.
pub(crate) fn chunk_lengths(offset: u64, len: usize, bytes_per_checksum: u32) -> Vec<usize> {
    let bpc = u64::from(bytes_per_checksum.max(1));
    let mut chunks = Vec::new();
    let mut position = offset;
    let end = offset + len as u64;
    while position < end {
        let chunk_end = ((position / bpc) + 1) * bpc;
        let next = chunk_end.min(end);
        chunks.push((next - position) as usize);
        position = next;
    }
    chunks
}

/// Verifies a packet's CRC32C checksums; returns the offset of the first bad chunk.
pub(crate) fn verify_checksums(
    offset: u64,
    data: &[u8],
    checksums: &[u8],
    bytes_per_checksum: u32,
) -> Result<(), String> {
    let chunks = chunk_lengths(offset, data.len(), bytes_per_checksum);
    if checksums.len() != chunks.len() * 4 {
        return Err(format!(
            "packet at offset {offset} with {} data bytes carries {} checksum bytes, expected {}",
            data.len(),
            checksums.len(),
            chunks.len() * 4
        ));
    }
    let mut position = 0usize;
    for (i, chunk_len) in chunks.into_iter().enumerate() {
        let chunk = &data[position..position + chunk_len];
        let sent = u32::from_be_bytes([
            checksums[i * 4],
            checksums[i * 4 + 1],
            checksums[i * 4 + 2],
            checksums[i * 4 + 3],
        ]);
        let actual = crc32c::crc32c(chunk);
        if sent != actual {
            return Err(format!(
                "CRC32C mismatch for the chunk at block offset {}: client sent {sent:#010x}, data has {actual:#010x}",
                offset + position as u64
            ));
        }
        position += chunk_len;
    }
    Ok(())
}

/// CRC32C checksums of `data` starting at a chunk boundary.
pub(crate) fn checksums(data: &[u8], bytes_per_checksum: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / bytes_per_checksum.max(1) as usize * 4 + 4);
    for chunk in data.chunks(bytes_per_checksum.max(1) as usize) {
        out.put_u32(crc32c::crc32c(chunk));
    }
    out
}

/// Encodes a data packet (`payloadLen`, `headerLen`, header, checksums, data).
pub(crate) fn encode_packet(header: &PacketHeaderProto, checksums: &[u8], data: &[u8]) -> Vec<u8> {
    let header = header.encode_to_vec();
    let mut out = Vec::with_capacity(6 + header.len() + checksums.len() + data.len());
    out.put_u32((4 + checksums.len() + data.len()) as u32);
    out.put_u16(header.len() as u16);
    out.extend_from_slice(&header);
    out.extend_from_slice(checksums);
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_align_to_block_offsets() {
        assert_eq!(chunk_lengths(0, 1100, 512), vec![512, 512, 76]);
        assert_eq!(chunk_lengths(100, 500, 512), vec![412, 88]);
        assert_eq!(chunk_lengths(512, 0, 512), Vec::<usize>::new());
    }

    #[test]
    fn checksums_of_a_mid_chunk_packet_verify() {
        let data = vec![7u8; 300];
        let sums = [
            crc32c::crc32c(&data[..212]).to_be_bytes(),
            crc32c::crc32c(&data[212..]).to_be_bytes(),
        ]
        .concat();
        assert!(verify_checksums(300, &data, &sums, 512).is_ok());
        assert!(verify_checksums(0, &data, &sums, 512).is_err());
    }

    #[tokio::test]
    async fn a_packet_round_trips_through_the_framing() {
        let header = PacketHeaderProto {
            offset_in_block: 512,
            seqno: 3,
            last_packet_in_block: false,
            data_len: 5,
            sync_block: Some(true),
        };
        let data = b"hello";
        let sums = checksums(data, 512);
        let bytes = encode_packet(&header, &sums, data);
        let packet = read_packet(&mut bytes.as_slice()).await.expect("packet");
        assert_eq!(packet.header, header);
        assert_eq!(packet.data, data);
        assert!(verify_checksums(512, &packet.data, &packet.checksums, 512).is_ok());
    }
}
