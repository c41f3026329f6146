//! What the rollup reads of the archive. The binary implements it with the
//! archiver's sinks, path template and formats (`logpipe archive verify`
//! reads the same way); tests may implement it over anything.

use std::collections::BTreeMap;

use logpipe_core::archive::{offset_chain, FileRange, Follows, SuccessMarker};

/// One committed archive file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Path relative to the archive root.
    pub path: String,
    pub range: FileRange,
    /// Its directory's time bucket (template time), if the path has one.
    pub bucket: Option<i64>,
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

/// A time bucket of the archive's path template: one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Start and end, in template time (seconds).
    pub start: i64,
    pub end: i64,
    /// Its directory, relative to the archive root.
    pub path: String,
}

/// One walk of a topic's archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// The time directories of the window asked for.
    pub dirs: Vec<ArchiveDir>,
    /// Every committed file of the topic, anywhere in the archive.
    pub files: Vec<ArchiveFile>,
}

/// Offsets of a partition that no committed file covers, between two
/// files that do: each offset is archived exactly once (a dead-lettered
/// one inside its file's range), so a gap is a lost file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetGap {
    pub partition: i32,
    pub first: i64,
    pub last: i64,
    /// The files either side of it.
    pub before: ArchiveFile,
    pub after: ArchiveFile,
}

impl OffsetGap {
    pub fn describe(&self) -> String {
        format!(
            "offsets {}..{} of partition {} are in no archive file (between {} and {}): a file \
             is lost, or Kafka deleted them before they were archived",
            self.first, self.last, self.partition, self.before.path, self.after.path
        )
    }
}

/// The largest committed end offset of each partition of `files`: how far
/// the archiver has got.
pub fn last_offsets(files: &[ArchiveFile]) -> BTreeMap<i32, i64> {
    let mut last = BTreeMap::new();
    for f in files {
        let e = last.entry(f.range.partition).or_insert(f.range.end);
        *e = (*e).max(f.range.end);
    }
    last
}

/// Where the offset ranges of `files` do not chain, per partition.
pub fn gaps(files: &[ArchiveFile]) -> Vec<OffsetGap> {
    offset_chain(files, |f: &ArchiveFile| &f.range)
        .into_iter()
        .flat_map(|(partition, chain)| {
            chain
                .into_iter()
                .filter_map(move |(f, follows)| match follows {
                    Follows::Gap(r) => Some(OffsetGap {
                        partition,
                        first: r.range.end + 1,
                        last: f.range.start - 1,
                        before: r.clone(),
                        after: f.clone(),
                    }),
                    _ => None,
                })
        })
        .collect()
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
    /// (directories holding only temporaries too, with no files), and
    /// every committed file of the topic.
    fn scan(&self, topic: &str, from: i64, to: i64) -> anyhow::Result<Scan>;
    /// The path template's buckets of `topic` that start in `[from, to)`,
    /// whether a directory exists for them or not.
    fn buckets(&self, topic: &str, from: i64, to: i64) -> Vec<Bucket>;
    /// The `_SUCCESS` marker of a directory the scan found `marked`.
    fn marker(&self, dir: &ArchiveDir) -> anyhow::Result<SuccessMarker>;
    /// The records of a file: JSON lines without their newline; Parquet
    /// rows as JSON objects.
    fn records(&self, file: &ArchiveFile) -> anyhow::Result<Vec<Vec<u8>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, partition: i32, start: i64, end: i64) -> ArchiveFile {
        ArchiveFile {
            path: path.into(),
            range: FileRange {
                topic: "logs".into(),
                partition,
                start,
                end,
                ext: "jsonl".into(),
            },
            bucket: Some(0),
        }
    }

    #[test]
    fn ranges_that_do_not_chain_are_gaps_and_the_last_offset_is_the_largest_end() {
        let files = [
            file("a", 0, 0, 9),
            // out of order, and a file within another's reach
            file("c", 0, 20, 29),
            file("b", 0, 10, 14),
            file("p1", 1, 5, 7),
            file("p1-late", 1, 8, 8),
        ];
        assert_eq!(
            last_offsets(&files),
            [(0, 29), (1, 8)].into_iter().collect()
        );
        let gaps = gaps(&files);
        assert_eq!(
            gaps,
            [OffsetGap {
                partition: 0,
                first: 15,
                last: 19,
                before: file("b", 0, 10, 14),
                after: file("c", 0, 20, 29),
            }]
        );
        assert!(
            gaps[0]
                .describe()
                .starts_with("offsets 15..19 of partition 0 are in no archive file"),
            "{}",
            gaps[0].describe()
        );
    }
}
