//! The archive's on-disk grammar, shared by the archiver (which writes it),
//! the rollup and `archive verify` (which read it): committed file names
//! carry their Kafka offset range, temporaries hide under a leading `_`.
//!
//! A committed file is `<topic>+<partition>+<start>+<end>.<ext>` with both
//! offsets inclusive and zero-padded to [`OFFSET_WIDTH`] digits, so names
//! sort by offset. Kafka topic names cannot contain `+`, so the name parses
//! unambiguously from the right.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Digits of a zero-padded offset (`i64::MAX` has 19).
pub const OFFSET_WIDTH: usize = 19;

/// Directory, beside the committed files of a time partition, that holds
/// in-progress files. Its leading `_` hides it from Spark, Hive and Trino.
pub const TEMP_DIR: &str = "_tmp";

/// Name of the completeness marker of a time directory.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// The content of a `_SUCCESS` marker: written into a time directory once
/// no partition can add to it, with what each partition holds there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessMarker {
    pub topic: String,
    /// The directory, relative to the archive root.
    pub dir: String,
    /// When the marker was written (RFC 3339, UTC).
    pub written_at: String,
    /// Per partition present in the directory (partitions with no file
    /// there are absent).
    pub partitions: BTreeMap<i32, PartitionSummary>,
}

/// One partition's files in a marked directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSummary {
    pub files: u64,
    /// Smallest start and largest end offset of its files there.
    pub first_offset: i64,
    pub last_offset: i64,
    /// Records (lines or rows) in those files.
    pub records: u64,
}

/// A committed archive file, as its name describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileRange {
    pub topic: String,
    pub partition: i32,
    /// First offset in the file (inclusive).
    pub start: i64,
    /// Last offset in the file (inclusive).
    pub end: i64,
    /// Extension without the leading dot, e.g. `jsonl.zst`, `parquet`.
    pub ext: String,
}

impl FileRange {
    /// The committed file name.
    pub fn file_name(&self) -> String {
        format!(
            "{}+{}+{:0w$}+{:0w$}.{}",
            self.topic,
            self.partition,
            self.start,
            self.end,
            self.ext,
            w = OFFSET_WIDTH
        )
    }

    /// Parse a committed file name; `None` for anything else (temporaries,
    /// markers, foreign files).
    pub fn parse(name: &str) -> Option<FileRange> {
        if is_hidden(name) {
            return None;
        }
        let mut parts = name.rsplitn(4, '+');
        let end_ext = parts.next()?;
        let start = parts.next()?;
        let partition = parts.next()?;
        let topic = parts.next()?;
        let (end, ext) = end_ext.split_once('.')?;
        let digits = |s: &str| s.len() == OFFSET_WIDTH && s.bytes().all(|b| b.is_ascii_digit());
        if topic.is_empty() || ext.is_empty() || !digits(start) || !digits(end) {
            return None;
        }
        let range = FileRange {
            topic: topic.to_owned(),
            partition: partition.parse().ok().filter(|p: &i32| *p >= 0)?,
            start: start.parse().ok()?,
            end: end.parse().ok()?,
            ext: ext.to_owned(),
        };
        (range.start <= range.end).then_some(range)
    }

    /// Records the name accounts for.
    pub fn len(&self) -> u64 {
        (self.end - self.start + 1) as u64
    }

    /// Whether the range is empty (never true for a parsed name).
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

impl fmt::Display for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

/// Whether readers (Spark, Hive, Trino, Hadoop's FileInputFormat) skip a
/// file or directory of this name: a leading `_` or `.`.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

/// The name of an in-progress file under [`TEMP_DIR`]: the partition and
/// start offset, so recovery finds a dead writer's temporaries by prefix.
pub fn temp_file_name(topic: &str, partition: i32, start: i64, ext: &str) -> String {
    format!("{}.{ext}", temp_prefix(topic, partition, start))
}

/// The prefix every temporary of `topic`/`partition` starts with when `start`
/// is `None`; of the one starting at `start` otherwise.
pub fn temp_prefix(topic: &str, partition: i32, start: impl Into<Option<i64>>) -> String {
    match start.into() {
        Some(s) => format!("{topic}+{partition}+{s:0w$}", w = OFFSET_WIDTH),
        None => format!("{topic}+{partition}+"),
    }
}

/// How a file follows the furthest-reaching file before it in its
/// partition's offset order.
#[derive(Debug, PartialEq, Eq)]
pub enum Follows<'a, T> {
    /// The partition's first file.
    First,
    /// Its range starts right after that file's end.
    Chained(&'a T),
    /// Offsets between that file's end and its start are in no file.
    Gap(&'a T),
    /// Its range starts at or before that file's end.
    Overlap(&'a T),
}

/// Per partition (ascending): `files` in offset order, each with how it
/// follows the files before it. Both `logpipe archive verify` and the
/// rollup check the archive's offset chain with it.
pub fn offset_chain<'a, T>(
    files: impl IntoIterator<Item = &'a T>,
    range: impl Fn(&T) -> &FileRange,
) -> BTreeMap<i32, Vec<(&'a T, Follows<'a, T>)>> {
    let mut by_partition: BTreeMap<i32, Vec<&'a T>> = BTreeMap::new();
    for f in files {
        by_partition.entry(range(f).partition).or_default().push(f);
    }
    by_partition
        .into_iter()
        .map(|(partition, mut fs)| {
            fs.sort_by_key(|f| (range(f).start, range(f).end));
            let mut reach: Option<&'a T> = None;
            let chain = fs
                .into_iter()
                .map(|f| {
                    let r = range(f);
                    let follows = match reach {
                        None => Follows::First,
                        Some(p) if r.start <= range(p).end => Follows::Overlap(p),
                        Some(p) if r.start > range(p).end + 1 => Follows::Gap(p),
                        Some(p) => Follows::Chained(p),
                    };
                    if reach.is_none_or(|p| r.end > range(p).end) {
                        reach = Some(f);
                    }
                    (f, follows)
                })
                .collect();
            (partition, chain)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_offset() {
        let r = FileRange {
            topic: "app.logs-v2".into(),
            partition: 7,
            start: 0,
            end: 41,
            ext: "jsonl.zst".into(),
        };
        let name = r.file_name();
        assert_eq!(
            name,
            "app.logs-v2+7+0000000000000000000+0000000000000000041.jsonl.zst"
        );
        assert_eq!(FileRange::parse(&name), Some(r.clone()));
        assert_eq!(r.len(), 42);
        let later = FileRange {
            start: 42,
            end: 1000,
            ..r.clone()
        }
        .file_name();
        assert!(name < later);
    }

    #[test]
    fn other_names_are_not_committed_files() {
        for name in [
            "_SUCCESS",
            "_tmp",
            ".logs+0+0000000000000000000+0000000000000000001.jsonl",
            "logs+0+0000000000000000005+0000000000000000001.jsonl",
            "logs+0+5+9.jsonl",
            "logs+-1+0000000000000000000+0000000000000000001.jsonl",
            "logs+0+0000000000000000000+0000000000000000001",
            "part-00000.json",
        ] {
            assert_eq!(FileRange::parse(name), None, "{name}");
        }
    }

    #[test]
    fn temporaries_carry_partition_and_start() {
        let t = temp_file_name("logs", 2, 17, "jsonl.zst");
        assert_eq!(t, "logs+2+0000000000000000017.jsonl.zst");
        assert!(t.starts_with(&temp_prefix("logs", 2, None)));
        let other = temp_file_name("logs", 20, 17, "jsonl.zst");
        assert!(
            !other.starts_with(&temp_prefix("logs", 2, None)),
            "partition 20 is not 2's"
        );
        assert_eq!(FileRange::parse(&t), None);
    }
}
