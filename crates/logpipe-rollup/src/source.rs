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
}

/// Read access to an archive. Methods block (HDFS or disk I/O): call them
/// from a blocking thread.
pub trait ArchiveSource: Send + Sync {
    /// Where the archive is, for messages.
    fn describe(&self) -> String;
    /// A UTC instant (ms) in template time: seconds, shifted into the
    /// archive's time zone.
    fn local_seconds(&self, utc_ms: i64) -> i64;
    /// Every time directory of `topic` whose bucket lies in `[from, to)`
    /// (template seconds), with its committed files; directories holding
    /// only temporaries are listed too (with no files).
    fn dirs(&self, topic: &str, from: i64, to: i64) -> anyhow::Result<Vec<ArchiveDir>>;
    /// The largest committed end offset of each partition of `topic`,
    /// anywhere in the archive: how far the archiver has got.
    fn last_offsets(&self, topic: &str) -> anyhow::Result<BTreeMap<i32, i64>>;
    /// The directory's `_SUCCESS` marker, if written.
    fn marker(&self, dir: &ArchiveDir) -> anyhow::Result<Option<SuccessMarker>>;
    /// The records of a file: JSON lines without their newline; Parquet
    /// rows as JSON objects.
    fn records(&self, file: &ArchiveFile) -> anyhow::Result<Vec<Vec<u8>>>;
}
