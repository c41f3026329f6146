//! Namespace operations through the real hdfs-native client against the fake NameNode:
//! mkdirs, stat, paged listing, create rules, rename2 overwrite rules, delete, unknown methods.

mod common;

use common::*;
use hdfs_native::HdfsError;
use logpipe_testkit::hdfs::{exceptions as ex, FakeHdfs, FakeHdfsConfig, NamespaceConfig, Outcome};

fn rpc_class(error: HdfsError) -> String {
    match error {
        HdfsError::RPCError(class, _) => class,
        other => panic!("expected an RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mkdirs_creates_parents_is_idempotent_and_refuses_files_in_the_way() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(20, "mkdirs", async {
        client.mkdirs("/a/b/c", 0o755, true).await.unwrap();
        client.mkdirs("/a/b/c", 0o755, true).await.unwrap();
        assert!(client.get_file_info("/a/b").await.unwrap().isdir);

        let missing_parent = client.mkdirs("/x/y", 0o755, false).await.unwrap_err();
        assert_eq!(rpc_class(missing_parent), ex::FILE_NOT_FOUND);

        write_file(&client, "/a/file", b"x", 1, 1).await.unwrap();
        let onto_file = client.mkdirs("/a/file", 0o755, true).await.unwrap_err();
        assert!(
            matches!(onto_file, HdfsError::AlreadyExists(_)),
            "{onto_file:?}"
        );
        let under_file = client.mkdirs("/a/file/sub", 0o755, true).await.unwrap_err();
        assert_eq!(rpc_class(under_file), ex::PARENT_NOT_DIRECTORY);
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stat_reports_files_directories_and_missing_paths() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(20, "stat", async {
        write_file(&client, "/d/f", &payload(1234, 9), 1000, 1)
            .await
            .unwrap();
        let file = client.get_file_info("/d/f").await.unwrap();
        assert_eq!(
            (file.path.as_str(), file.length, file.isdir),
            ("/d/f", 1234, false)
        );
        assert_eq!(file.owner, "logpipe");
        let dir = client.get_file_info("/d").await.unwrap();
        assert!(dir.isdir);
        let root = client.get_file_info("/").await.unwrap();
        assert!(root.isdir);
        let missing = client.get_file_info("/nope").await.unwrap_err();
        assert!(matches!(missing, HdfsError::FileNotFound(_)), "{missing:?}");
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_large_directories_in_name_order() {
    let hdfs = FakeHdfs::start_with(FakeHdfsConfig {
        datanodes: 1,
        namespace: NamespaceConfig {
            listing_limit: 3,
            ..NamespaceConfig::default()
        },
        ..FakeHdfsConfig::default()
    })
    .await
    .unwrap();
    let client = hdfs.client().unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("f{i:02}")).collect();
    bounded(30, "listing", async {
        client.mkdirs("/dir/sub", 0o755, true).await.unwrap();
        for name in names.iter().rev() {
            write_file(&client, &format!("/dir/{name}"), b"", 1, 1)
                .await
                .unwrap();
        }
        let listing = client.list_status("/dir", false).await.unwrap();
        let listed: Vec<&str> = listing.iter().map(|s| s.path.as_str()).collect();
        let mut expected: Vec<String> = names.iter().map(|n| format!("/dir/{n}")).collect();
        expected.push("/dir/sub".to_string());
        assert_eq!(listed, expected);
        let recursive = client.list_status("/", true).await.unwrap();
        assert_eq!(recursive.len(), 12);
        let missing = client.list_status("/missing", false).await.unwrap_err();
        assert!(matches!(missing, HdfsError::FileNotFound(_)), "{missing:?}");
    })
    .await;
    // 11 entries in pages of 3: four getListing calls for /dir.
    let pages = hdfs
        .calls()
        .iter()
        .filter(|c| c.method == "getListing" && c.target == "/dir")
        .count();
    assert_eq!(pages, 8, "two listings of /dir, four pages each");
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_refuses_existing_files_unless_overwriting_and_open_files_always() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(30, "create rules", async {
        write_file(&client, "/c/old", b"old contents", 4, 1)
            .await
            .unwrap();
        let no_overwrite = client
            .create("/c/old", options(1).overwrite(false))
            .await
            .err()
            .expect("create without overwrite fails");
        assert!(
            matches!(no_overwrite, HdfsError::AlreadyExists(_)),
            "{no_overwrite:?}"
        );

        let mut writer = client
            .create("/c/old", options(1).overwrite(true))
            .await
            .unwrap();
        writer
            .write_bytes(bytes::Bytes::from_static(b"new"))
            .await
            .unwrap();
        writer.close().await.unwrap();
        assert_eq!(read_file(&client, "/c/old").await.unwrap(), b"new");

        let mut open = client.create("/c/open", options(1)).await.unwrap();
        let again = client
            .create("/c/open", options(1).overwrite(true))
            .await
            .err()
            .expect("create of an open file fails");
        assert!(
            matches!(&again, HdfsError::AlreadyExists(m) if m.contains("recreate")),
            "{again:?}"
        );
        open.close().await.unwrap();

        let on_dir = client
            .create("/c", options(1))
            .await
            .err()
            .expect("create on a dir fails");
        assert!(matches!(on_dir, HdfsError::AlreadyExists(_)), "{on_dir:?}");
        let no_parent = client
            .create("/nowhere/f", options(1).create_parent(false))
            .await
            .err()
            .expect("create without parent fails");
        assert_eq!(rpc_class(no_parent), ex::FILE_NOT_FOUND);
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_follows_hadoop_overwrite_rules() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(30, "rename rules", async {
        client.mkdirs("/r/dir", 0o755, true).await.unwrap();
        write_file(&client, "/r/a", b"aaa", 3, 1).await.unwrap();
        write_file(&client, "/r/b", b"bbbb", 4, 1).await.unwrap();

        let missing = client
            .rename("/r/missing", "/r/x", false)
            .await
            .unwrap_err();
        assert_eq!(rpc_class(missing), ex::FILE_NOT_FOUND);

        let exists = client.rename("/r/a", "/r/b", false).await.unwrap_err();
        assert!(matches!(exists, HdfsError::AlreadyExists(_)), "{exists:?}");

        let file_onto_dir = client.rename("/r/a", "/r/dir", true).await.unwrap_err();
        assert_eq!(rpc_class(file_onto_dir), ex::IO);

        let no_parent = client.rename("/r/a", "/r/none/a", false).await.unwrap_err();
        assert_eq!(rpc_class(no_parent), ex::FILE_NOT_FOUND);

        let into_itself = client.rename("/r", "/r/dir/r", false).await.unwrap_err();
        assert_eq!(rpc_class(into_itself), ex::IO);

        client.rename("/r/a", "/r/b", true).await.unwrap();
        assert_eq!(read_file(&client, "/r/b").await.unwrap(), b"aaa");
        assert!(matches!(
            client.get_file_info("/r/a").await,
            Err(HdfsError::FileNotFound(_))
        ));

        client.rename("/r/b", "/r/dir/b", false).await.unwrap();
        client.rename("/r/dir", "/moved", false).await.unwrap();
        assert_eq!(read_file(&client, "/moved/b").await.unwrap(), b"aaa");

        client.mkdirs("/full/x", 0o755, true).await.unwrap();
        let non_empty = client.rename("/moved", "/full", true).await.unwrap_err();
        assert_eq!(rpc_class(non_empty), ex::IO);
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_recursive_only_when_asked_and_reports_missing_paths() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(30, "delete rules", async {
        write_file(&client, "/t/x/f1", b"1", 1, 1).await.unwrap();
        write_file(&client, "/t/x/f2", b"2", 1, 1).await.unwrap();
        assert!(!client.delete("/t/none", false).await.unwrap());
        let not_empty = client.delete("/t/x", false).await.unwrap_err();
        assert_eq!(rpc_class(not_empty), ex::PATH_IS_NOT_EMPTY_DIRECTORY);
        assert!(client.delete("/t/x/f1", false).await.unwrap());
        assert!(client.delete("/t/x", true).await.unwrap());
        assert!(matches!(
            client.get_file_info("/t/x/f2").await,
            Err(HdfsError::FileNotFound(_))
        ));
        client.mkdirs("/t/empty", 0o755, true).await.unwrap();
        assert!(client.delete("/t/empty", false).await.unwrap());
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_file_that_is_still_open_works_and_fails_its_writer() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    bounded(30, "delete open file", async {
        let mut writer = client.create("/open/tmp", options(2)).await.unwrap();
        writer
            .write_bytes(bytes::Bytes::from(payload(1000, 4)))
            .await
            .unwrap();
        writer.hsync().await.unwrap();
        assert!(client.delete("/open/tmp", false).await.unwrap());
        let closing = writer.close().await.unwrap_err();
        assert!(
            format!("{closing}").contains("does not exist")
                || matches!(closing, HdfsError::DataTransferError(_)),
            "{closing:?}"
        );
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phantom_lease_blocks_create_with_already_being_created() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    hdfs.phantom_lease("/locked/file.tmp").unwrap();
    bounded(20, "create under phantom lease", async {
        let err = client
            .create("/locked/file.tmp", options(1).overwrite(true))
            .await
            .err()
            .expect("create fails");
        assert!(
            matches!(&err, HdfsError::AlreadyExists(m) if m.contains(logpipe_testkit::hdfs::PHANTOM_LEASE_HOLDER)),
            "{err:?}"
        );
        // The lease can be taken over with recoverLease (false first, then true).
        assert!(!client.recover_lease("/locked/file.tmp").await.unwrap());
        assert!(client.recover_lease("/locked/file.tmp").await.unwrap());
        let mut writer = client
            .create("/locked/file.tmp", options(1).overwrite(true))
            .await
            .unwrap();
        writer.write_bytes(bytes::Bytes::from_static(b"mine")).await.unwrap();
        writer.close().await.unwrap();
    })
    .await;
    assert_eq!(
        hdfs.calls()
            .iter()
            .filter(|c| c.method == "create")
            .map(|c| c.outcome.clone())
            .collect::<Vec<_>>()[0],
        logpipe_testkit::hdfs::Outcome::Error(ex::ALREADY_BEING_CREATED.to_string())
    );
    assert_no_protocol_errors(&hdfs);
}

/// Sends `getFsStats` (a ClientProtocol method the fake does not implement, and hdfs-native
/// has no call for) on a raw IPC connection, then `getFileInfo` on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_answer_rpc_no_such_method() {
    use logpipe_testkit::hdfs::proto::*;
    use prost::Message;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let hdfs = fake(1).await;
    let mut stream = tokio::net::TcpStream::connect(hdfs.namenode_addr())
        .await
        .unwrap();
    let header = |call_id| {
        RpcRequestHeaderProto {
            rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
            rpc_op: Some(RPC_OP_FINAL_PACKET),
            call_id,
            client_id: vec![2; 16],
            retry_count: Some(-1),
            state_id: None,
        }
        .encode_length_delimited_to_vec()
    };
    let request = |method: &str| {
        RequestHeaderProto {
            method_name: method.to_string(),
            declaring_class_protocol_name: "org.apache.hadoop.hdfs.protocol.ClientProtocol"
                .to_string(),
            client_protocol_version: 1,
        }
        .encode_length_delimited_to_vec()
    };
    let context = IpcConnectionContextProto {
        user_info: None,
        protocol: Some("org.apache.hadoop.hdfs.protocol.ClientProtocol".to_string()),
    }
    .encode_length_delimited_to_vec();
    // GetFsStatusRequestProto has no fields: an empty delimited message.
    let empty = vec![0u8];
    let stat = GetFileInfoRequestProto {
        src: "/".to_string(),
    }
    .encode_length_delimited_to_vec();
    let mut out = b"hrpc\x09\x00\x00".to_vec();
    for parts in [
        vec![header(-3), context],
        vec![header(0), request("getFsStats"), empty],
        vec![header(1), request("getFileInfo"), stat],
    ] {
        let frame: Vec<u8> = parts.concat();
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(&frame);
    }
    stream.write_all(&out).await.unwrap();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let mut len = [0u8; 4];
        bounded(10, "answer", stream.read_exact(&mut len))
            .await
            .unwrap();
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut frame).await.unwrap();
        let header = RpcResponseHeaderProto::decode_length_delimited(frame.as_slice()).unwrap();
        answers.push((
            header.call_id,
            header.status,
            header.exception_class_name.clone(),
        ));
    }
    answers.sort();
    assert_eq!(
        answers,
        vec![
            (
                0,
                RpcStatusProto::Error as i32,
                Some(ex::RPC_NO_SUCH_METHOD.to_string())
            ),
            // The connection stays usable after an ERROR answer.
            (1, RpcStatusProto::Success as i32, None),
        ]
    );
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_features_answer_as_a_namenode_without_them() {
    let hdfs = fake(1).await;
    let client = hdfs.client().unwrap();
    bounded(20, "disabled features", async {
        write_file(&client, "/feat/f", b"abc", 3, 1).await.unwrap();
        // ACLs, as with dfs.namenode.acls.enabled=false.
        let acl = client
            .get_acl_status("/feat/f")
            .await
            .err()
            .expect("ACLs refused");
        assert_eq!(rpc_class(acl), ex::ACL_EXCEPTION);
        // Append, as a NameNode with append disabled; the file is left closed and intact.
        let append = client
            .append("/feat/f")
            .await
            .err()
            .expect("append refused");
        match append {
            HdfsError::RPCError(class, message) => {
                assert_eq!(class, ex::UNSUPPORTED_OPERATION);
                assert_eq!(
                    message,
                    "Append is not enabled on this NameNode. Use the dfs.support.append \
                     configuration option to enable it."
                );
            }
            other => panic!("expected an RPC error, got {other:?}"),
        }
        assert_eq!(read_file(&client, "/feat/f").await.unwrap(), b"abc");
        assert!(client.get_file_info("/feat/f").await.unwrap().length == 3);
        let answered: Vec<Outcome> = hdfs
            .calls()
            .into_iter()
            .filter(|c| c.method == "append")
            .map(|c| c.outcome)
            .collect();
        assert_eq!(
            answered,
            vec![Outcome::Error(ex::UNSUPPORTED_OPERATION.to_string())]
        );
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_replication_permission_and_times_are_reported_by_stat() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    bounded(20, "attributes", async {
        write_file(&client, "/attr/f", b"abc", 3, 2).await.unwrap();
        assert!(client.set_replication("/attr/f", 1).await.unwrap());
        assert!(!client.set_replication("/attr", 1).await.unwrap());
        client.set_permission("/attr/f", 0o600).await.unwrap();
        client
            .set_times("/attr/f", 1_500_000_000_000, 1_500_000_000_001)
            .await
            .unwrap();
        let status = client.get_file_info("/attr/f").await.unwrap();
        assert_eq!(status.replication, Some(1));
        assert_eq!(status.permission, 0o600);
        assert_eq!(status.modification_time, 1_500_000_000_000);
        assert_eq!(status.access_time, 1_500_000_000_001);
        let missing = client
            .set_permission("/attr/nope", 0o600)
            .await
            .unwrap_err();
        assert_eq!(rpc_class(missing), ex::FILE_NOT_FOUND);
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_summary_counts_files_directories_bytes_and_replicas() {
    let hdfs = fake(2).await;
    let client = hdfs.client().unwrap();
    bounded(30, "content summary", async {
        write_file(&client, "/cs/a", &payload(MIB + 10, 1), 4096, 2)
            .await
            .unwrap();
        write_file(&client, "/cs/sub/b", &payload(300, 2), 300, 1)
            .await
            .unwrap();
        client.mkdirs("/cs/empty", 0o755, true).await.unwrap();
        let dir = client.get_content_summary("/cs").await.unwrap();
        assert_eq!(
            (dir.file_count, dir.directory_count, dir.length),
            (2, 3, (MIB + 10 + 300) as u64)
        );
        assert_eq!(dir.space_consumed, ((MIB + 10) * 2 + 300) as u64);
        // No quota: -1, which travels as the uint64 u64::MAX.
        assert_eq!((dir.quota, dir.space_quota), (u64::MAX, u64::MAX));
        let file = client.get_content_summary("/cs/sub/b").await.unwrap();
        assert_eq!(
            (file.file_count, file.directory_count, file.length),
            (1, 0, 300)
        );
        // A file under construction counts its last block at the full block size per replica
        // in space consumed (and its known length in length).
        hdfs.phantom_lease("/cs/a").unwrap();
        let while_open = client.get_content_summary("/cs").await.unwrap();
        assert_eq!(while_open.length, dir.length);
        assert_eq!(
            while_open.space_consumed,
            dir.space_consumed + 2 * (MIB as u64 - 10),
            "the open file's last block counts as a full block per replica"
        );
        let missing = client
            .get_content_summary("/cs/missing")
            .await
            .expect_err("missing path refused");
        assert_eq!(rpc_class(missing), ex::FILE_NOT_FOUND);
    })
    .await;
    assert_no_protocol_errors(&hdfs);
}
