//! `logpipe archive verify`: reads the archive back and reports, per
//! partition, the committed offset range, the records the files hold, and
//! every gap or overlap between files — the proof that the archive holds
//! each offset exactly once.

use std::io::Read;

use logpipe_core::archive::{offset_chain, FileRange, Follows, SUCCESS_MARKER};

use crate::path::PathTemplate;
use crate::sink::{Sink, SinkError};

/// One committed file found in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFile {
    pub path: String,
    pub range: FileRange,
    /// Time bucket of its directory.
    pub bucket: Option<i64>,
}

/// What the archive holds for one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionReport {
    pub partition: i32,
    pub files: u64,
    pub first_offset: i64,
    pub last_offset: i64,
    /// Records (lines or rows) in the files.
    pub records: u64,
    /// Offset ranges no file covers, between the first and last offset.
    pub gaps: Vec<(i64, i64)>,
    /// Pairs of files whose ranges overlap.
    pub overlaps: Vec<(String, String)>,
    /// Files holding more records than their name's offset range allows.
    pub overfull: Vec<String>,
}

impl PartitionReport {
    pub fn is_clean(&self) -> bool {
        self.gaps.is_empty() && self.overlaps.is_empty() && self.overfull.is_empty()
    }
}

/// One time directory of a topic, with its committed files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedDir {
    pub path: String,
    /// Time bucket of the directory.
    pub bucket: Option<i64>,
    /// Committed files (temporaries and markers are not listed).
    pub files: Vec<ArchivedFile>,
    /// It holds a `_SUCCESS` marker.
    pub marked: bool,
}

/// Every committed file of `topic` (all partitions), in no particular order.
pub fn list_files(
    sink: &dyn Sink,
    template: &PathTemplate,
    topic: &str,
) -> Result<Vec<ArchivedFile>, SinkError> {
    Ok(list_dirs(sink, template, topic)?
        .into_iter()
        .flat_map(|d| d.files)
        .collect())
}

/// Every time directory of `topic`, also those holding no committed file
/// yet (only temporaries), in no particular order.
pub fn list_dirs(
    sink: &dyn Sink,
    template: &PathTemplate,
    topic: &str,
) -> Result<Vec<ArchivedDir>, SinkError> {
    let mut out = Vec::new();
    walk(sink, template, topic, 0, "", &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn walk(
    sink: &dyn Sink,
    template: &PathTemplate,
    topic: &str,
    level: usize,
    dir: &str,
    fields: &mut Vec<(u8, u32)>,
    out: &mut Vec<ArchivedDir>,
) -> Result<(), SinkError> {
    let join = |name: &str| {
        if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        }
    };
    if level == template.depth() {
        let bucket = template.bucket_of(fields);
        let entries = sink.list(dir)?;
        let marked = entries
            .iter()
            .any(|e| !e.is_dir && e.name == SUCCESS_MARKER);
        let files = entries
            .into_iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| {
                FileRange::parse(&e.name)
                    .filter(|r| r.topic == topic)
                    .map(|range| ArchivedFile {
                        path: join(&e.name),
                        range,
                        bucket,
                    })
            })
            .collect();
        out.push(ArchivedDir {
            path: dir.to_owned(),
            bucket,
            files,
            marked,
        });
        return Ok(());
    }
    for e in sink.list(dir)? {
        if e.is_dir {
            if let Some(key) = template.match_segment(level, &e.name, topic, None) {
                let depth = fields.len();
                fields.extend(key);
                walk(
                    sink,
                    template,
                    topic,
                    level + 1,
                    &join(&e.name),
                    fields,
                    out,
                )?;
                fields.truncate(depth);
            }
        }
    }
    Ok(())
}

/// The records of one archive file: its lines, without the newlines (for
/// Parquet: each row as a JSON object — the values, not the original bytes).
pub fn read_records(sink: &dyn Sink, file: &ArchivedFile) -> Result<Vec<Vec<u8>>, SinkError> {
    let raw = sink.read(&file.path)?;
    if file.range.ext == "parquet" {
        return parquet_rows(&raw)
            .map_err(|e| SinkError::fatal("corrupt", format!("{}: {e}", file.path)));
    }
    let text = decode(&file.range.ext, &raw)
        .map_err(|e| SinkError::fatal("corrupt", format!("{}: {e}", file.path)))?;
    let body = text.strip_suffix(b"\n").unwrap_or(&text);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    Ok(body.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect())
}

/// Records in one archive file, by reading it whole and counting lines
/// (for Parquet: the row count of its footer).
pub fn count_records(sink: &dyn Sink, file: &ArchivedFile) -> Result<u64, SinkError> {
    let raw = sink.read(&file.path)?;
    if file.range.ext == "parquet" {
        use parquet::file::reader::FileReader;
        return parquet_reader(raw)
            .map(|r| r.metadata().file_metadata().num_rows() as u64)
            .map_err(|e| SinkError::fatal("corrupt", format!("{}: {e}", file.path)));
    }
    let text = decode(&file.range.ext, &raw)
        .map_err(|e| SinkError::fatal("corrupt", format!("{}: {e}", file.path)))?;
    Ok(memchr::memchr_iter(b'\n', &text).count() as u64)
}

fn parquet_reader(
    raw: Vec<u8>,
) -> parquet::errors::Result<parquet::file::serialized_reader::SerializedFileReader<bytes::Bytes>> {
    parquet::file::serialized_reader::SerializedFileReader::new(bytes::Bytes::from(raw))
}

fn parquet_rows(raw: &[u8]) -> parquet::errors::Result<Vec<Vec<u8>>> {
    use parquet::file::reader::FileReader;
    let reader = parquet_reader(raw.to_vec())?;
    reader
        .get_row_iter(None)?
        .map(|row| row.map(|r| row_json(&r).to_string().into_bytes()))
        .collect()
}

/// A Parquet row as a JSON object. Timestamps become RFC 3339 text in UTC
/// (`2026-01-15T10:00:00.250Z`), which the processor's and the rollup's
/// time parsing read; the parquet crate's own rendering
/// (`2026-01-15 10:00:00.250 +00:00`) is no standard format.
fn row_json(row: &parquet::record::Row) -> serde_json::Value {
    use parquet::record::Field;
    let rfc3339 = |t: Option<chrono::DateTime<chrono::Utc>>, field: &Field| {
        t.map_or_else(
            || field.to_json_value(),
            |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    .into()
            },
        )
    };
    row.get_column_iter()
        .map(|(name, field)| {
            let value = match field {
                Field::TimestampMicros(us) => {
                    rfc3339(chrono::DateTime::from_timestamp_micros(*us), field)
                }
                Field::TimestampMillis(ms) => {
                    rfc3339(chrono::DateTime::from_timestamp_millis(*ms), field)
                }
                other => other.to_json_value(),
            };
            (name.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The JSON-lines text of a file's bytes, by extension.
pub fn decode(ext: &str, raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match ext {
        "jsonl.zst" => {
            zstd::stream::read::Decoder::new(raw)?.read_to_end(&mut out)?;
        }
        "jsonl.gz" => {
            flate2::read::GzDecoder::new(raw).read_to_end(&mut out)?;
        }
        "jsonl" => out.extend_from_slice(raw),
        other => {
            return Err(std::io::Error::other(format!(
                "unknown archive extension .{other}"
            )))
        }
    }
    Ok(out)
}

/// Check `files` of one topic: per partition, ranges, records, gaps and
/// overlaps. `count` reads a file's record count.
pub fn check(
    files: &[ArchivedFile],
    mut count: impl FnMut(&ArchivedFile) -> Result<u64, SinkError>,
) -> Result<Vec<PartitionReport>, SinkError> {
    let mut reports = Vec::new();
    for (partition, chain) in offset_chain(files, |f: &ArchivedFile| &f.range) {
        let mut r = PartitionReport {
            partition,
            first_offset: chain[0].0.range.start,
            last_offset: chain.iter().map(|(f, _)| f.range.end).max().unwrap_or(0),
            ..PartitionReport::default()
        };
        for (f, follows) in chain {
            r.files += 1;
            let n = count(f)?;
            r.records += n;
            if n > f.range.len() {
                r.overfull.push(f.path.clone());
            }
            match follows {
                Follows::Overlap(p) => r.overlaps.push((p.path.clone(), f.path.clone())),
                Follows::Gap(p) => r.gaps.push((p.range.end + 1, f.range.start - 1)),
                Follows::First | Follows::Chained(_) => {}
            }
        }
        reports.push(r);
    }
    Ok(reports)
}
