//! The fake HDFS fails loudly when a client breaks the protocols: misuse is recorded in
//! `protocol_errors()` and the connection is closed, instead of being silently accepted.

mod common;

use std::time::Duration;

use common::*;
use logpipe_testkit::hdfs::proto::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn wait_for_protocol_error(hdfs: &logpipe_testkit::hdfs::FakeHdfs, needle: &str) {
    bounded(10, "protocol error recorded", async {
        loop {
            if hdfs.protocol_errors().iter().any(|e| e.contains(needle)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

async fn assert_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let n = bounded(10, "server closes", stream.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "server kept talking: {:?}", &buf[..n]);
}

fn sasl_frame(state: i32) -> Vec<u8> {
    let header = RpcRequestHeaderProto {
        rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
        rpc_op: Some(RPC_OP_FINAL_PACKET),
        call_id: SASL_CALL_ID,
        client_id: Vec::new(),
        retry_count: Some(-1),
        state_id: None,
    }
    .encode_length_delimited_to_vec();
    let sasl = RpcSaslProto {
        version: None,
        state,
        token: None,
        auths: Vec::new(),
    }
    .encode_length_delimited_to_vec();
    let frame = [header, sasl].concat();
    [(frame.len() as u32).to_be_bytes().to_vec(), frame].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namenode_answers_a_sasl_negotiation_with_simple_like_an_insecure_hadoop() {
    let hdfs = fake(1).await;
    let mut stream = TcpStream::connect(hdfs.namenode_addr()).await.unwrap();
    let mut out = b"hrpc\x09\x00\xdf".to_vec();
    out.extend(sasl_frame(sasl_state::NEGOTIATE));
    stream.write_all(&out).await.unwrap();
    let mut len = [0u8; 4];
    bounded(10, "negotiate answer", stream.read_exact(&mut len))
        .await
        .unwrap();
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).await.unwrap();
    let mut frame = bytes::Bytes::from(frame);
    let header = RpcResponseHeaderProto::decode_length_delimited(&mut frame).unwrap();
    assert_eq!(header.call_id as i32, SASL_CALL_ID);
    assert_eq!(header.status, RpcStatusProto::Success as i32);
    let sasl = RpcSaslProto::decode_length_delimited(&mut frame).unwrap();
    assert_eq!(
        sasl.state,
        sasl_state::SUCCESS,
        "SUCCESS means: go on with SIMPLE"
    );
    assert!(hdfs.protocol_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namenode_rejects_a_sasl_exchange_other_than_negotiate_as_protocol_misuse() {
    let hdfs = fake(1).await;
    let mut stream = TcpStream::connect(hdfs.namenode_addr()).await.unwrap();
    let mut out = b"hrpc\x09\x00\xdf".to_vec();
    // INITIATE straight away: a client insisting on Kerberos.
    out.extend(sasl_frame(2));
    stream.write_all(&out).await.unwrap();
    wait_for_protocol_error(&hdfs, "only speaks SIMPLE").await;
    assert_closed(&mut stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namenode_rejects_calls_for_another_protocol() {
    let hdfs = fake(1).await;
    let mut stream = TcpStream::connect(hdfs.namenode_addr()).await.unwrap();
    let header = |call_id| {
        RpcRequestHeaderProto {
            rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
            rpc_op: Some(RPC_OP_FINAL_PACKET),
            call_id,
            client_id: vec![1; 16],
            retry_count: Some(-1),
            state_id: None,
        }
        .encode_length_delimited_to_vec()
    };
    let context = IpcConnectionContextProto {
        user_info: None,
        protocol: Some("org.apache.hadoop.hdfs.protocol.ClientProtocol".to_string()),
    }
    .encode_length_delimited_to_vec();
    let request = RequestHeaderProto {
        method_name: "getFileInfo".to_string(),
        declaring_class_protocol_name: "org.example.NotClientProtocol".to_string(),
        client_protocol_version: 1,
    }
    .encode_length_delimited_to_vec();
    let body = GetFileInfoRequestProto {
        src: "/".to_string(),
    }
    .encode_length_delimited_to_vec();
    let mut out = b"hrpc\x09\x00\x00".to_vec();
    for parts in [vec![header(-3), context], vec![header(0), request, body]] {
        let frame: Vec<u8> = parts.concat();
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(&frame);
    }
    stream.write_all(&out).await.unwrap();
    // Like Hadoop: an ERROR answer (RpcNoSuchProtocolException), the connection stays open;
    // the fake also records the misuse.
    let mut len = [0u8; 4];
    bounded(10, "answer", stream.read_exact(&mut len))
        .await
        .unwrap();
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).await.unwrap();
    let header = RpcResponseHeaderProto::decode_length_delimited(frame.as_slice()).unwrap();
    assert_eq!(header.call_id, 0);
    assert_eq!(header.status, RpcStatusProto::Error as i32);
    assert_eq!(
        header.exception_class_name.as_deref(),
        Some("org.apache.hadoop.ipc.RpcNoSuchProtocolException")
    );
    wait_for_protocol_error(&hdfs, "NotClientProtocol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datanode_rejects_a_write_for_a_block_the_namenode_never_allocated() {
    let hdfs = fake(1).await;
    let mut stream = TcpStream::connect(hdfs.datanode_addrs()[0]).await.unwrap();
    let op = OpWriteBlockProto {
        header: ClientOperationHeaderProto {
            base_header: BaseHeaderProto {
                block: ExtendedBlockProto {
                    pool_id: "BP-unknown".to_string(),
                    block_id: 42,
                    generation_stamp: 1,
                    num_bytes: Some(0),
                },
                token: None,
            },
            client_name: "raw".to_string(),
        },
        targets: Vec::new(),
        stage: 6,
        pipeline_size: 1,
        min_bytes_rcvd: 0,
        max_bytes_rcvd: 0,
        latest_generation_stamp: 1,
        requested_checksum: ChecksumProto {
            r#type: CHECKSUM_CRC32C,
            bytes_per_checksum: 512,
        },
        storage_id: None,
        target_storage_ids: Vec::new(),
    };
    let mut out = vec![0, 28, 80];
    out.extend(op.encode_length_delimited_to_vec());
    stream.write_all(&out).await.unwrap();
    wait_for_protocol_error(&hdfs, "unknown block pool").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datanode_rejects_a_sasl_magic_number_instead_of_an_op() {
    let hdfs = fake(1).await;
    let mut stream = TcpStream::connect(hdfs.datanode_addrs()[0]).await.unwrap();
    stream
        .write_all(&0xDEAD_BEEFu32.to_be_bytes())
        .await
        .unwrap();
    wait_for_protocol_error(&hdfs, "data transfer version").await;
    assert_closed(&mut stream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_client_session_leaves_no_protocol_errors() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    bounded(60, "session", async {
        write_file(&client, "/clean/a", &payload(MIB + 3, 40), 4096, 2)
            .await
            .unwrap();
        client.rename("/clean/a", "/clean/b", false).await.unwrap();
        assert_eq!(read_file(&client, "/clean/b").await.unwrap().len(), MIB + 3);
        client.delete("/clean", true).await.unwrap();
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}
