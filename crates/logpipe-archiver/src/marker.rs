//! `_SUCCESS` markers: a time directory is complete once the wall clock is
//! the allowed lateness past its end (no archiver opens a file in it after
//! that: late records go to the directory of their arrival) and every
//! archiver's open file in it has rolled out (time boundary or idle timer).
//! The marker then records, per partition, the offset range and the records
//! the directory holds. It is computed from the directory alone, so every
//! archiver of the group may write it and they all write the same.
//!
//! Runs on a thread of its own: counting records reads the files back, and
//! the consumer thread must never wait for that.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use logpipe_core::archive::{FileRange, PartitionSummary, SuccessMarker, SUCCESS_MARKER};

use crate::metrics;
use crate::path::PathTemplate;
use crate::sink::{Sink, SinkError};
use crate::verify::{self, ArchivedFile};

/// A directory this process committed into (or found at recovery).
#[derive(Debug, Clone)]
pub(crate) struct Touched {
    pub topic: String,
    pub bucket: i64,
}

/// Settings of the marker thread.
pub(crate) struct MarkerWriter {
    pub sink: Arc<dyn Sink>,
    pub template: PathTemplate,
    /// Allowed lateness plus how long open files may take to roll out.
    pub settle: Duration,
    /// Shifts the wall clock into template time (zone and rounding).
    pub local: Box<dyn Fn(i64) -> i64 + Send>,
}

impl MarkerWriter {
    /// Mark directories as they become complete until `touched` closes.
    pub fn run(self, touched: Receiver<Touched>) {
        // Per topic: the oldest bucket not yet known to be marked.
        let mut from: HashMap<String, i64> = HashMap::new();
        loop {
            match touched.recv_timeout(Duration::from_secs(1)) {
                Ok(t) => {
                    let b = from.entry(t.topic).or_insert(t.bucket);
                    *b = (*b).min(t.bucket);
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now_ms = chrono::Utc::now().timestamp_millis() - self.settle.as_millis() as i64;
            let cutoff = (self.local)(now_ms);
            for (topic, next) in from.iter_mut() {
                while let Some(end) = self.template.next_bucket(*next) {
                    if end > cutoff {
                        break;
                    }
                    match self.mark(topic, *next) {
                        Ok(()) => *next = end,
                        Err(e) => {
                            tracing::warn!(topic, error = %e, "cannot write a _SUCCESS marker yet; retrying");
                            break;
                        }
                    }
                }
            }
        }
    }

    /// Write `_SUCCESS` into `topic`'s directory of `bucket` unless present.
    fn mark(&self, topic: &str, bucket: i64) -> Result<(), SinkError> {
        let dir = self.template.render(topic, 0, bucket);
        let entries = self.sink.list(&dir)?;
        if entries.iter().any(|e| e.name == SUCCESS_MARKER) {
            return Ok(());
        }
        let files: Vec<ArchivedFile> = entries
            .iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| FileRange::parse(&e.name))
            .filter(|r| r.topic == topic)
            .map(|range| ArchivedFile {
                path: format!("{dir}/{}", range.file_name()),
                range,
                bucket: Some(bucket),
            })
            .collect();
        let mut partitions: BTreeMap<i32, PartitionSummary> = BTreeMap::new();
        for f in &files {
            let records = verify::count_records(self.sink.as_ref(), f)?;
            let s = partitions
                .entry(f.range.partition)
                .or_insert(PartitionSummary {
                    files: 0,
                    first_offset: f.range.start,
                    last_offset: f.range.end,
                    records: 0,
                });
            s.files += 1;
            s.records += records;
            s.first_offset = s.first_offset.min(f.range.start);
            s.last_offset = s.last_offset.max(f.range.end);
        }
        let marker = SuccessMarker {
            topic: topic.to_owned(),
            dir: dir.clone(),
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            partitions,
        };
        let json = serde_json::to_vec_pretty(&marker).expect("a marker serializes");
        self.sink.put(&format!("{dir}/{SUCCESS_MARKER}"), &json)?;
        ::metrics::counter!(metrics::SUCCESS_MARKERS, "topic" => topic.to_owned()).increment(1);
        tracing::info!(
            dir,
            files = files.len(),
            "directory complete: _SUCCESS written"
        );
        Ok(())
    }
}
