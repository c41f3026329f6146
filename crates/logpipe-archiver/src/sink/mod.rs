//! Where archive files go, behind one small trait: HDFS through hdfs-native
//! ([`hdfs`]) or a local / NFS directory ([`local`]). Paths are relative to
//! the archive root of the URL. Errors say whether retrying can help.

pub mod hdfs;
pub mod local;

use std::fmt;

/// Whether an operation may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (a DataNode lost, the NameNode in safe mode or standby, a
    /// lease still held): abandon the file, back off, re-read from Kafka.
    Retriable,
    /// Retrying cannot help (permission, quota, a path that is a file):
    /// the partition stops until an operator acts.
    Fatal,
}

/// A failed sink operation.
#[derive(Debug, Clone)]
pub struct SinkError {
    pub class: ErrorClass,
    /// Bounded label for metrics (`safe_mode`, `permission`, `io`, …).
    pub kind: &'static str,
    pub message: String,
}

impl SinkError {
    pub fn retriable(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Retriable,
            kind,
            message: message.into(),
        }
    }
    pub fn fatal(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Fatal,
            kind,
            message: message.into(),
        }
    }
    pub fn is_retriable(&self) -> bool {
        self.class == ErrorClass::Retriable
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub is_dir: bool,
}

/// A file being written.
pub trait SinkFile: Send {
    fn write(&mut self, data: Vec<u8>) -> Result<(), SinkError>;
    /// Close the file durably (HDFS `complete`; fsync locally).
    fn close(self: Box<Self>) -> Result<(), SinkError>;
}

/// An archive root.
pub trait Sink: Send + Sync {
    /// Create (or replace) `path`, creating missing parents.
    fn create(&self, path: &str) -> Result<Box<dyn SinkFile>, SinkError>;
    /// Rename `from` to `to`, creating `to`'s parent; fails, without
    /// replacing it, when `to` exists. This is the commit.
    fn rename_new(&self, from: &str, to: &str) -> Result<(), SinkError>;
    /// Delete a file; `false` when it did not exist.
    fn delete(&self, path: &str) -> Result<bool, SinkError>;
    /// Entries of a directory; empty when it does not exist.
    fn list(&self, dir: &str) -> Result<Vec<Entry>, SinkError>;
    /// Take over a dead writer's lease on `path` so it can be deleted
    /// (HDFS); a no-op where there are no leases.
    fn recover_lease(&self, _path: &str) -> Result<(), SinkError> {
        Ok(())
    }
    /// Whole content of a file (for verification and tests).
    fn read(&self, path: &str) -> Result<Vec<u8>, SinkError>;
    /// Write a small file whole, replacing it (markers).
    fn put(&self, path: &str, data: &[u8]) -> Result<(), SinkError> {
        let mut f = self.create(path)?;
        f.write(data.to_vec())?;
        f.close()
    }
    /// The root, for messages.
    fn describe(&self) -> String;
}

/// A parsed archive URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkUrl {
    /// `hdfs://authority/root`: the authority is `host:port` or a name service.
    Hdfs { authority: String, root: String },
    /// `file:///root`.
    Local { root: String },
}

impl SinkUrl {
    pub fn parse(url: &str) -> Result<SinkUrl, String> {
        if let Some(rest) = url.strip_prefix("hdfs://") {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            if authority.is_empty() {
                return Err(format!("\"{url}\" names no NameNode; expected hdfs://namenode:8020/path or hdfs://nameservice/path"));
            }
            let root = format!("/{}", path.trim_end_matches('/'));
            if root == "/" {
                return Err(format!("\"{url}\" archives into the file system's root; name a directory, e.g. hdfs://{authority}/logpipe/archive"));
            }
            Ok(SinkUrl::Hdfs {
                authority: authority.to_owned(),
                root,
            })
        } else if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "\"{url}\" is not absolute; expected file:///path/to/archive"
                ));
            }
            Ok(SinkUrl::Local {
                root: path.trim_end_matches('/').to_owned(),
            })
        } else {
            Err(format!("unsupported archive URL \"{url}\"; expected hdfs://namenode:8020/path or file:///path"))
        }
    }
}

/// Open the sink of `config.url` (HDFS calls run on `runtime`).
pub fn open(
    config: &crate::ArchiveConfig,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<Box<dyn Sink>> {
    match SinkUrl::parse(&config.url).map_err(|e| anyhow::anyhow!("archive.url: {e}"))? {
        SinkUrl::Hdfs { authority, root } => Ok(Box::new(hdfs::HdfsSink::connect(
            &authority,
            &root,
            &config.hdfs,
            runtime,
        )?)),
        SinkUrl::Local { root } => Ok(Box::new(local::LocalSink::new(&root)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            SinkUrl::parse("hdfs://nn:8020/logpipe/archive/"),
            Ok(SinkUrl::Hdfs {
                authority: "nn:8020".into(),
                root: "/logpipe/archive".into()
            })
        );
        assert_eq!(
            SinkUrl::parse("file:///var/lib/x"),
            Ok(SinkUrl::Local {
                root: "/var/lib/x".into()
            })
        );
        assert!(SinkUrl::parse("hdfs://nn:8020/")
            .unwrap_err()
            .contains("root"));
        assert!(SinkUrl::parse("file://relative")
            .unwrap_err()
            .contains("absolute"));
        assert!(SinkUrl::parse("s3://b/k")
            .unwrap_err()
            .contains("unsupported"));
    }
}
