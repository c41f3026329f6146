//! `hdfs://` through hdfs-native: a single NameNode (`host:port`) or an HA
//! name service resolved from the Hadoop config directory
//! (`$HADOOP_CONF_DIR` or `[archive.hdfs] config_dir`: `core-site.xml`,
//! `hdfs-site.xml`). SIMPLE authentication acts as `[archive.hdfs] user`;
//! Kerberos is hdfs-native's (GSSAPI loaded at run time; configure it in
//! `core-site.xml` and provide a ticket cache or keytab).
//!
//! hdfs-native retries only NameNode fail-over and `complete`; every other
//! error is classified here, so the writer can tell a transient failure
//! (retry after re-reading from Kafka) from one that needs an operator.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};
use tokio::runtime::Handle;

use crate::config::HdfsConfig;
use crate::sink::{Entry, Sink, SinkError, SinkFile};

/// An archive root in HDFS.
pub struct HdfsSink {
    client: Arc<Client>,
    authority: String,
    root: String,
    runtime: Handle,
    /// Directories known to exist (saves a `mkdirs` per commit).
    made: Mutex<HashSet<String>>,
}

/// The class of an HDFS error, with the operator's fix where there is one.
pub fn classify(op: &str, path: &str, e: HdfsError) -> SinkError {
    let at = format!("{op} {path}");
    match e {
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) if class.ends_with("AccessControlException") => {
            SinkError::fatal("permission", format!("{at}: permission denied ({msg}); grant the archiver's HDFS user write access (hdfs dfs -chown/-chmod) to the archive root"))
        }
        HdfsError::RPCError(class, msg) => {
            let short = class.rsplit('.').next().unwrap_or(&class).to_owned();
            let retriable = |kind| SinkError::retriable(kind, format!("{at}: {short}: {msg}"));
            match short.as_str() {
                "NotReplicatedYetException" => retriable("not_replicated_yet"),
                "SafeModeException" => retriable("safe_mode"),
                "RetriableException" => retriable("retriable"),
                "StandbyException" | "ObserverRetryOnActiveException" => retriable("standby"),
                "LeaseExpiredException" | "RecoveryInProgressException" | "AlreadyBeingCreatedException" => retriable("lease"),
                "FileNotFoundException" => retriable("not_found"),
                "IOException" => retriable("io"),
                "NSQuotaExceededException" | "DSQuotaExceededException" | "QuotaExceededException" => SinkError::fatal(
                    "quota",
                    format!("{at}: {short}: {msg}; raise the quota of the archive root (hdfs dfsadmin -setSpaceQuota/-setQuota) or free space"),
                ),
                "ParentNotDirectoryException" => SinkError::fatal("not_a_directory", format!("{at}: {msg}; a file is in the way of the archive's directories")),
                _ => SinkError::fatal("rpc", format!("{at}: {short}: {msg}")),
            }
        }
        HdfsError::FatalRPCError(class, msg) => SinkError::retriable("connection", format!("{at}: connection failed: {class}: {msg}")),
        HdfsError::AlreadyExists(msg) => SinkError::retriable("lease", format!("{at}: already exists or is being written by another client: {msg}")),
        HdfsError::IOError(err) => SinkError::retriable("io", format!("{at}: {err}")),
        HdfsError::DataTransferError(msg) => SinkError::retriable("datanode", format!("{at}: DataNode pipeline: {msg}")),
        HdfsError::ChecksumError => SinkError::retriable("datanode", format!("{at}: checksum mismatch")),
        HdfsError::BlocksNotFound(msg) => SinkError::retriable("datanode", format!("{at}: blocks not found: {msg}")),
        HdfsError::OperationFailed(msg) => SinkError::retriable("operation_failed", format!("{at}: {msg}")),
        HdfsError::FileNotFound(msg) => SinkError::retriable("not_found", format!("{at}: not found: {msg}")),
        e @ (HdfsError::SASLError(_) | HdfsError::GSSAPIError(..) | HdfsError::NoSASLMechanism) => {
            SinkError::fatal("auth", format!("{at}: authentication failed: {e}; check the Kerberos ticket/keytab or hadoop.security.authentication"))
        }
        other => SinkError::fatal("client", format!("{at}: {other}")),
    }
}

impl HdfsSink {
    /// A client for `hdfs://<authority>` (no I/O yet).
    pub fn connect(
        authority: &str,
        root: &str,
        config: &HdfsConfig,
        runtime: Handle,
    ) -> anyhow::Result<Self> {
        let mut builder = ClientBuilder::new()
            .with_url(format!("hdfs://{authority}"))
            .with_config(config.properties.clone())
            .with_io_runtime(runtime.clone());
        if let Some(dir) = &config.config_dir {
            builder = builder.with_config_dir(dir.clone());
        }
        if let Some(user) = &config.user {
            builder = builder.with_user(user.clone());
        }
        let client = builder.build().map_err(|e| {
            anyhow::anyhow!("archive.url: cannot set up an HDFS client for hdfs://{authority}: {e}")
        })?;
        Ok(Self {
            client: Arc::new(client),
            authority: authority.to_owned(),
            root: root.to_owned(),
            runtime,
            made: Mutex::new(HashSet::new()),
        })
    }

    fn abs(&self, path: &str) -> String {
        match path.trim_matches('/') {
            "" => self.root.clone(),
            rel => format!("{}/{rel}", self.root),
        }
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    fn ensure_dir(&self, dir: &str) -> Result<(), SinkError> {
        if self
            .made
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        self.block_on(self.client.mkdirs(dir, 0o755, true))
            .map_err(|e| classify("mkdirs", dir, e))?;
        self.made
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir.to_owned());
        Ok(())
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/')
        .map_or("/", |(p, _)| if p.is_empty() { "/" } else { p })
}

struct HdfsFile {
    writer: hdfs_native::file::FileWriter,
    path: String,
    runtime: Handle,
}

impl SinkFile for HdfsFile {
    fn write(&mut self, data: Vec<u8>) -> Result<(), SinkError> {
        self.runtime
            .block_on(self.writer.write_bytes(Bytes::from(data)))
            .map(drop)
            .map_err(|e| classify("write", &self.path, e))
    }

    fn close(mut self: Box<Self>) -> Result<(), SinkError> {
        self.runtime
            .block_on(self.writer.close())
            .map_err(|e| classify("close", &self.path, e))
    }
}

impl Sink for HdfsSink {
    fn create(&self, path: &str) -> Result<Box<dyn SinkFile>, SinkError> {
        let p = self.abs(path);
        let writer = self
            .block_on(self.client.create(
                &p,
                WriteOptions::default().overwrite(true).create_parent(true),
            ))
            .map_err(|e| classify("create", &p, e))?;
        Ok(Box::new(HdfsFile {
            writer,
            path: p,
            runtime: self.runtime.clone(),
        }))
    }

    fn rename_new(&self, from: &str, to: &str) -> Result<(), SinkError> {
        let (src, dst) = (self.abs(from), self.abs(to));
        self.ensure_dir(parent(&dst))?;
        match self.block_on(self.client.rename(&src, &dst, false)) {
            Ok(()) => Ok(()),
            Err(HdfsError::AlreadyExists(msg)) => Err(SinkError::fatal(
                "exists",
                format!("cannot commit {src}: {dst} already exists ({msg}); another archiver writes the same partition?"),
            )),
            Err(e) => {
                // The directory may have been removed behind our back.
                self.made.lock().unwrap_or_else(|p| p.into_inner()).remove(parent(&dst));
                Err(classify("rename", &src, e))
            }
        }
    }

    fn delete(&self, path: &str) -> Result<bool, SinkError> {
        let p = self.abs(path);
        self.block_on(self.client.delete(&p, false))
            .map_err(|e| classify("delete", &p, e))
    }

    fn list(&self, dir: &str) -> Result<Vec<Entry>, SinkError> {
        let p = self.abs(dir);
        match self.block_on(self.client.list_status(&p, false)) {
            Ok(statuses) => Ok(statuses
                .into_iter()
                .map(|s| Entry {
                    name: s.path.rsplit('/').next().unwrap_or_default().to_owned(),
                    is_dir: s.isdir,
                })
                .collect()),
            Err(HdfsError::FileNotFound(_)) => Ok(Vec::new()),
            Err(HdfsError::RPCError(class, _)) if class.ends_with("FileNotFoundException") => {
                Ok(Vec::new())
            }
            Err(e) => Err(classify("list", &p, e)),
        }
    }

    fn recover_lease(&self, path: &str) -> Result<(), SinkError> {
        let p = self.abs(path);
        match self.block_on(self.client.recover_lease(&p)) {
            Ok(_) | Err(HdfsError::FileNotFound(_)) => Ok(()),
            Err(HdfsError::RPCError(class, _)) if class.ends_with("FileNotFoundException") => {
                Ok(())
            }
            Err(e) => Err(classify("recoverLease", &p, e)),
        }
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SinkError> {
        let p = self.abs(path);
        self.block_on(async {
            let reader = self.client.read(&p).await?;
            reader.read_range(0, reader.file_length()).await
        })
        .map(|b| b.to_vec())
        .map_err(|e| classify("read", &p, e))
    }

    fn describe(&self) -> String {
        format!("hdfs://{}{}", self.authority, self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::ErrorClass;

    fn rpc(class: &str) -> SinkError {
        classify(
            "create",
            "/a",
            HdfsError::RPCError(class.into(), "m".into()),
        )
    }

    #[test]
    fn retriable_namenode_exceptions_are_retried() {
        for (c, kind) in [
            (
                "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException",
                "not_replicated_yet",
            ),
            (
                "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
                "safe_mode",
            ),
            ("org.apache.hadoop.ipc.RetriableException", "retriable"),
            ("org.apache.hadoop.ipc.StandbyException", "standby"),
        ] {
            let e = rpc(c);
            assert_eq!((e.class, e.kind), (ErrorClass::Retriable, kind), "{c}");
        }
        let lease = classify("create", "/a", HdfsError::AlreadyExists("held".into()));
        assert!(lease.is_retriable());
        assert!(classify("write", "/a", HdfsError::DataTransferError("ack".into())).is_retriable());
    }

    #[test]
    fn permission_and_quota_stop_with_the_path_and_the_fix() {
        let e = rpc("org.apache.hadoop.security.AccessControlException");
        assert_eq!((e.class, e.kind), (ErrorClass::Fatal, "permission"));
        assert!(
            e.message.contains("create /a") && e.message.contains("chown"),
            "{}",
            e.message
        );
        let e = rpc("org.apache.hadoop.hdfs.protocol.DSQuotaExceededException");
        assert_eq!((e.class, e.kind), (ErrorClass::Fatal, "quota"));
        assert!(e.message.contains("setSpaceQuota"), "{}", e.message);
    }
}
