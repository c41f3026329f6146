//! `file://`: a local or NFS directory. A commit fsyncs the file, links it
//! under its final name (a link, unlike rename(2), never replaces an
//! existing file), removes the temporary and fsyncs both directories.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::sink::{Entry, Sink, SinkError, SinkFile};

/// An archive root on a local or network file system.
pub struct LocalSink {
    root: PathBuf,
}

impl LocalSink {
    pub fn new(root: &str) -> anyhow::Result<Self> {
        fs::create_dir_all(root)
            .map_err(|e| anyhow::anyhow!("cannot create the archive root {root}: {e}"))?;
        Ok(Self {
            root: PathBuf::from(root),
        })
    }

    fn abs(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

fn classify(op: &str, path: &Path, e: std::io::Error) -> SinkError {
    let message = format!("{op} {}: {e}", path.display());
    match e.kind() {
        ErrorKind::PermissionDenied => SinkError::fatal(
            "permission",
            format!("{message}; give the archiver's user write access to the archive root"),
        ),
        ErrorKind::NotADirectory | ErrorKind::IsADirectory => {
            SinkError::fatal("not_a_directory", message)
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            SinkError::retriable("disk_full", message)
        }
        ErrorKind::ReadOnlyFilesystem => SinkError::fatal("read_only", message),
        _ => SinkError::retriable("io", message),
    }
}

fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| classify("fsync directory", dir, e))
}

struct LocalFile {
    path: PathBuf,
    file: File,
}

impl SinkFile for LocalFile {
    fn write(&mut self, data: Vec<u8>) -> Result<(), SinkError> {
        self.file
            .write_all(&data)
            .map_err(|e| classify("write", &self.path, e))
    }

    fn close(self: Box<Self>) -> Result<(), SinkError> {
        self.file
            .sync_all()
            .map_err(|e| classify("fsync", &self.path, e))
    }
}

impl Sink for LocalSink {
    fn create(&self, path: &str) -> Result<Box<dyn SinkFile>, SinkError> {
        let p = self.abs(path);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| classify("create directory", parent, e))?;
        }
        let file = File::create(&p).map_err(|e| classify("create", &p, e))?;
        Ok(Box::new(LocalFile { path: p, file }))
    }

    fn rename_new(&self, from: &str, to: &str) -> Result<(), SinkError> {
        let (src, dst) = (self.abs(from), self.abs(to));
        let parent = dst.parent().expect("archive paths have a parent");
        fs::create_dir_all(parent).map_err(|e| classify("create directory", parent, e))?;
        match fs::hard_link(&src, &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(SinkError::fatal(
                    "exists",
                    format!("cannot commit {}: {} already exists (another archiver writes the same partition?)", src.display(), dst.display()),
                ))
            }
            Err(e) => return Err(classify("link", &dst, e)),
        }
        sync_dir(parent)?;
        fs::remove_file(&src).map_err(|e| classify("remove", &src, e))?;
        sync_dir(src.parent().expect("archive paths have a parent"))
    }

    fn delete(&self, path: &str) -> Result<bool, SinkError> {
        let p = self.abs(path);
        match fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(classify("remove", &p, e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<Entry>, SinkError> {
        let p = self.abs(dir);
        let rd = match fs::read_dir(&p) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(classify("list", &p, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| classify("list", &p, e))?;
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if let Ok(name) = entry.file_name().into_string() {
                out.push(Entry { name, is_dir });
            }
        }
        Ok(out)
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SinkError> {
        let p = self.abs(path);
        fs::read(&p).map_err(|e| classify("read", &p, e))
    }

    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }
}
