//! What the rollup reads of the archive. The binary implements it with the
//! archiver's sinks, path template and formats (`logpipe archive verify`
//! reads the same way); tests may implement it over anything.

use std::collections::BTreeMap;

use logpipe_core::archive::{FileRange, SuccessMarker};

/// One committed archive file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Path relative to the archive root.
    pub path: String,
    pub range: FileRange,
}

/// One time directory of a topic (e.g. `logs/dt=2026-12-02/hr=13`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDir {
    /// Path relative to the archive root.
    pub path: String,
    /// Start of the directory's time bucket, in template time (seconds
    /// since the epoch, shifted into the archive's zone).
    pub bucket: i64,
    pub files: Vec<ArchiveFile>,
    /// It holds a `_SUCCESS` marker.
    pub marked: bool,
}

/// One walk of a topic's archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The time directories of the window asked for.
    pub dirs: Vec<ArchiveDir>,
    /// The largest committed end offset of each partition, anywhere in
    /// the archive: how far the archiver has got.
    pub last_offsets: BTreeMap<i32, i64>,
}

/// Read access to an archive. Methods block (HDFS or disk I/O): call them
/// from a blocking thread.
pub trait ArchiveSource: Send + Sync {
    /// Where the archive is, for messages.
    fn describe(&self) -> String;
    /// A UTC instant (ms) in template time: seconds, shifted into the
    /// archive's time zone.
    fn local_seconds(&self, utc_ms: i64) -> i64;
    /// One walk of `topic`'s archive: every time directory whose bucket
    /// lies in `[from, to)` (template seconds), with its committed files
    /// (directories holding only temporaries too, with no files), and each
    /// partition's last committed offset.
    fn scan(&self, topic: &str, from: i64, to: i64) -> anyhow::Result<Scan>;
    /// The `_SUCCESS` marker of a directory the scan found `marked`.
    fn marker(&self, dir: &ArchiveDir) -> anyhow::Result<SuccessMarker>;
    /// The records of a file: JSON lines without their newline; Parquet
    /// rows as JSON objects.
    fn records(&self, file: &ArchiveFile) -> anyhow::Result<Vec<Vec<u8>>>;
}
