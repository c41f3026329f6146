//! One partition's writer: appends records to the open file of the
//! partition's current time directory and commits it — close the hidden
//! temporary, rename it to its offset-range name — when the roll policy
//! says so. A partition has at most one open file, so its files hold
//! contiguous offset ranges and the largest committed end offset is always
//! where it resumes.
//!
//! Time directories never go backwards within a partition: a record whose
//! directory the partition has already left (a straggler) is written to the
//! current one and counted as late. Every record of a file is therefore in
//! the file's directory or was late for it, and a directory that all
//! partitions have left can receive nothing more.

use std::sync::Arc;
use std::time::Instant;

use logpipe_core::archive::{temp_file_name, FileRange, TEMP_DIR};
use logpipe_core::dead_letter::{DeadLetter, DeadLetters};
use logpipe_core::event_time::{self, Millis};

use crate::config::{ArchiveConfig, TimeSource};
use crate::format::{self, Encoder, Unwritable};
use crate::metrics;
use crate::path::{local_seconds, PathTemplate, Zone};
use crate::rolling::{FileStats, RollPolicy, RollReason};
use crate::sink::{Sink, SinkError, SinkFile};

/// Hand encoded bytes to the sink once this many have accumulated.
const WRITE_CHUNK: usize = 1 << 20;

/// What every partition writer shares: the sink and the settings.
pub(crate) struct Archive {
    pub sink: Arc<dyn Sink>,
    /// Dead letters of records that cannot be written; flushed before a
    /// file past them is committed.
    pub dlq: DeadLetters,
    pub config: Arc<ArchiveConfig>,
    template: PathTemplate,
    policy: RollPolicy,
    ext: &'static str,
    formats: format::Formats,
    zone: Zone,
    round_secs: i64,
    /// With completeness markers: how far behind the wall clock a record may
    /// be and still go to its own time directory.
    lateness_ms: Option<i64>,
}

impl Archive {
    pub fn new(
        sink: Arc<dyn Sink>,
        dlq: DeadLetters,
        config: Arc<ArchiveConfig>,
    ) -> anyhow::Result<Self> {
        let template =
            PathTemplate::parse(&config.path).map_err(|e| anyhow::anyhow!("archive.path: {e}"))?;
        let zone = Zone::parse(&config.time_zone)
            .map_err(|e| anyhow::anyhow!("archive.time_zone: {e}"))?;
        let formats = format::Formats::new(config.clone()).map_err(|e| anyhow::anyhow!(e))?;
        Ok(Self {
            sink,
            dlq,
            formats,
            template,
            policy: RollPolicy::new(&config.roll),
            ext: config.extension(),
            zone,
            round_secs: config.round.map_or(0, |r| r.get().as_secs() as i64),
            lateness_ms: config
                .completeness
                .markers
                .then(|| config.completeness.allowed_lateness.get().as_millis() as i64),
            config,
        })
    }

    pub fn template(&self) -> &PathTemplate {
        &self.template
    }

    pub fn policy(&self) -> &RollPolicy {
        &self.policy
    }

    /// The time a record is filed under, and whether it fell back to the
    /// Kafka timestamp.
    pub fn record_time(&self, value: Option<&[u8]>, kafka_ms: Option<i64>) -> (Millis, bool) {
        let kafka = || {
            kafka_ms
                .filter(|t| *t >= 0)
                .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
        };
        match (self.config.time_source, value) {
            (TimeSource::Kafka, _) => (kafka(), false),
            (TimeSource::Event, Some(v)) => {
                match event_time::field_time(v, &self.config.time_field, self.config.time_format) {
                    Ok(t) => (t, false),
                    Err(_) => (kafka(), true),
                }
            }
            (TimeSource::Event, None) => (kafka(), true),
        }
    }

    /// `ms` in template time: seconds in the configured zone, rounded.
    pub fn local_seconds(&self, ms: Millis) -> i64 {
        local_seconds(ms, self.zone, self.round_secs)
    }

    /// [`Archive::local_seconds`] as a function of its own (for the marker thread).
    pub fn local_clock(&self) -> impl Fn(Millis) -> i64 + Send + 'static {
        let (zone, round) = (self.zone, self.round_secs);
        move |ms| local_seconds(ms, zone, round)
    }

    /// The time bucket (directory) of `time`.
    pub fn bucket(&self, time: Millis) -> i64 {
        self.template.bucket(self.local_seconds(time))
    }

    /// Where a record of `time` goes when it arrives at `wall` (the wall
    /// clock), and whether it is late: with markers, a record older than
    /// the allowed lateness goes to the directory of its arrival.
    fn placement(&self, time: Millis, wall: Millis) -> (i64, bool) {
        match self.lateness_ms {
            Some(l) if time < wall - l => (self.bucket(wall), true),
            _ => (self.bucket(time), false),
        }
    }
}

/// A file that was committed.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub path: String,
    pub range: FileRange,
    pub records: u64,
    /// Time bucket of its directory.
    pub bucket: i64,
    /// Bytes written (compressed).
    pub bytes: u64,
    pub reason: RollReason,
}

/// One Kafka record as the writer sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub offset: i64,
    /// `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// The time it is filed under ([`Archive::record_time`]).
    pub time: Millis,
    /// The time came from the Kafka timestamp, not the event.
    pub time_fallback: bool,
}

/// What one append did.
#[derive(Default)]
pub(crate) struct Appended {
    /// Files committed by it (the previous one at a time boundary, this one
    /// when full).
    pub committed: Vec<Committed>,
    /// The record cannot be written in this format: it is not in the file
    /// (the caller dead-letters it); the file and offsets moved on.
    pub unwritable: Option<Unwritable>,
}

/// The sink failed: the open file was abandoned and the partition must be
/// re-read from `restart_at`.
#[derive(Debug)]
pub(crate) struct AppendError {
    pub error: SinkError,
    pub restart_at: i64,
}

struct OpenFile {
    start: i64,
    last: i64,
    bucket: i64,
    dir: String,
    temp: String,
    encoder: Box<dyn Encoder>,
    file: Box<dyn SinkFile>,
    stats: FileStats,
    /// Records in the file (offsets minus dead letters and gaps).
    records: u64,
    bytes_out: u64,
}

/// Records after which a busy partition publishes its counts without
/// waiting for the timer, so the exported counts trail a fast stream by at
/// most this many records per partition (a publication costs a few
/// registry lookups: well under a nanosecond per record).
const PUBLISH_EVERY: u64 = 1024;

/// Counts not yet published to the metrics registry.
#[derive(Default)]
struct Unpublished {
    records_in: u64,
    bytes_in: u64,
    bytes_written: u64,
    late: u64,
    time_fallbacks: u64,
}

/// The writer of one topic partition.
pub(crate) struct PartitionWriter {
    pub topic: String,
    pub partition: i32,
    /// The offset the next record must have at least (older ones are
    /// re-deliveries after a seek and skipped); `None` before the first
    /// record when the partition started at Kafka's beginning or end.
    pub next_offset: Option<i64>,
    open: Option<OpenFile>,
    /// Time bucket of the newest file; buckets never go backwards.
    bucket: Option<i64>,
    /// Bucket of the newest committed file (restored when a file is abandoned).
    committed_bucket: Option<i64>,
    /// Dead letters were queued for the open file: flush them before commit.
    pub dead_letters_pending: bool,
    counts: Unpublished,
}

impl PartitionWriter {
    /// A writer resuming at `next_offset` whose newest committed file is in
    /// the directory of `bucket` (both from recovery).
    pub fn new(topic: &str, partition: i32, next_offset: Option<i64>, bucket: Option<i64>) -> Self {
        Self {
            topic: topic.to_owned(),
            partition,
            next_offset,
            open: None,
            bucket,
            committed_bucket: bucket,
            dead_letters_pending: false,
            counts: Unpublished::default(),
        }
    }

    pub fn has_open_file(&self) -> bool {
        self.open.is_some()
    }

    /// Whether `offset` was already handled (a re-delivery after a seek).
    pub fn is_behind(&self, offset: i64) -> bool {
        self.next_offset.is_some_and(|n| offset < n)
    }

    /// Append the record at `offset`; may commit the previous file (time
    /// boundary) or this one (size, count). The caller skips offsets for
    /// which [`PartitionWriter::is_behind`] is true.
    pub fn append(
        &mut self,
        archive: &Archive,
        record: Record<'_>,
        now: Instant,
        wall: Millis,
    ) -> Result<Appended, AppendError> {
        let Record {
            offset,
            value,
            time,
            time_fallback,
        } = record;
        let (mut bucket, mut late) = archive.placement(time, wall);
        if let Some(current) = self.bucket {
            if bucket < current {
                late = true;
                bucket = current;
            }
        }
        if late {
            self.counts.late += 1;
        }
        if time_fallback {
            self.counts.time_fallbacks += 1;
        }
        if self.counts.records_in >= PUBLISH_EVERY {
            self.publish();
        }
        let mut out = Appended::default();
        if self.open.as_ref().is_some_and(|f| f.bucket != bucket) {
            out.committed
                .push(self.commit(archive, RollReason::TimeBoundary)?);
        }
        if self.open.is_none() {
            self.open_file(archive, offset, bucket, now)?;
        }
        self.bucket = Some(bucket);
        self.next_offset = Some(offset + 1);
        let f = self.open.as_mut().expect("opened above");
        f.last = offset;
        f.stats.last_record = now;
        let len = value.map_or(0, |v| v.len() as u64 + 1);
        self.counts.records_in += 1;
        self.counts.bytes_in += len;
        let appended = match value {
            Some(v) => f.encoder.append(v),
            None => Err(Unwritable {
                reason: "null_value",
                message:
                    "the record has no value (a tombstone); the archive has no line or row for it"
                        .into(),
            }),
        };
        if let Err(unwritable) = appended {
            out.unwritable = Some(unwritable);
            return Ok(out);
        }
        f.records += 1;
        f.stats.records += 1;
        f.stats.bytes_in += len;
        if f.encoder.pending_output() >= WRITE_CHUNK {
            let chunk = f.encoder.take_output();
            let n = chunk.len() as u64;
            match f.file.write(chunk) {
                Ok(()) => {
                    f.bytes_out += n;
                    self.counts.bytes_written += n;
                }
                Err(error) => return Err(self.abandon(archive, error)),
            }
        }
        let f = self.open.as_ref().expect("still open");
        if let Some(reason) = archive.policy.after_append(&f.stats) {
            out.committed.push(self.commit(archive, reason)?);
        }
        Ok(out)
    }

    fn open_file(
        &mut self,
        archive: &Archive,
        offset: i64,
        bucket: i64,
        now: Instant,
    ) -> Result<(), AppendError> {
        let temp = format!(
            "{TEMP_DIR}/{}",
            temp_file_name(&self.topic, self.partition, offset, archive.ext)
        );
        let restart_at = offset;
        let sink_err = |error| AppendError { error, restart_at };
        let encoder = archive.formats.encoder(&self.topic).map_err(|e| {
            sink_err(SinkError::fatal(
                "encoder",
                format!("cannot start a {} file: {e}", archive.ext),
            ))
        })?;
        let file = archive.sink.create(&temp).map_err(sink_err)?;
        self.open = Some(OpenFile {
            start: offset,
            last: offset,
            bucket,
            dir: archive.template.render(&self.topic, self.partition, bucket),
            temp,
            encoder,
            file,
            stats: FileStats::new(now),
            records: 0,
            bytes_out: 0,
        });
        ::metrics::gauge!(metrics::OPEN_FILES).increment(1.0);
        Ok(())
    }

    /// The timer: commit the open file if it is too old or idle.
    pub fn tick(
        &mut self,
        archive: &Archive,
        now: Instant,
    ) -> Result<Option<Committed>, AppendError> {
        let due = self
            .open
            .as_ref()
            .and_then(|f| archive.policy.on_tick(&f.stats, now));
        match due {
            Some(reason) => self.commit(archive, reason).map(Some),
            None => Ok(None),
        }
    }

    /// Queue the record at `offset` for `<topic>.dlq`; the open file is not
    /// committed before it is acknowledged.
    pub fn dead_letter(
        &mut self,
        archive: &Archive,
        offset: i64,
        key: Option<&[u8]>,
        value: &[u8],
        bad: &Unwritable,
    ) {
        archive.dlq.send(DeadLetter {
            topic: &self.topic,
            partition: self.partition,
            offset,
            key,
            payload: value,
            reason: bad.reason,
            message: &bad.message,
        });
        self.dead_letters_pending = true;
        ::metrics::counter!(metrics::DLQ_EVENTS, "topic" => self.topic.clone(), "reason" => bad.reason).increment(1);
    }

    /// Commit the open file: finish it, close it, rename it into place. On
    /// a sink error the file is abandoned and the error says where to
    /// re-read from. Dead letters must have been flushed by the caller.
    pub fn commit(
        &mut self,
        archive: &Archive,
        reason: RollReason,
    ) -> Result<Committed, AppendError> {
        let Some(mut f) = self.open.take() else {
            unreachable!("commit without an open file");
        };
        ::metrics::gauge!(metrics::OPEN_FILES).decrement(1.0);
        let started = Instant::now();
        let restart_at = f.start;
        let fail = |this: &mut Self, error: SinkError, temp: &str| {
            let _ = archive.sink.delete(temp);
            this.after_abandon(restart_at);
            AppendError { error, restart_at }
        };
        if self.dead_letters_pending {
            if let Err(e) = archive.dlq.flush(std::time::Duration::from_secs(30)) {
                let error = SinkError::retriable(
                    "dlq",
                    format!("dead letters of {} not acknowledged: {e:#}", f.temp),
                );
                return Err(fail(self, error, &f.temp));
            }
        }
        let rest = match f.encoder.finish() {
            Ok(rest) => rest,
            Err(e) => {
                return Err(fail(
                    self,
                    SinkError::fatal("encoder", format!("cannot finish {}: {e}", f.temp)),
                    &f.temp,
                ))
            }
        };
        let n = rest.len() as u64;
        if let Err(e) = f.file.write(rest) {
            return Err(fail(self, e, &f.temp));
        }
        f.bytes_out += n;
        self.counts.bytes_written += n;
        if let Err(e) = f.file.close() {
            return Err(fail(self, e, &f.temp));
        }
        let range = FileRange {
            topic: self.topic.clone(),
            partition: self.partition,
            start: f.start,
            end: f.last,
            ext: archive.ext.to_owned(),
        };
        let path = format!("{}/{}", f.dir, range.file_name());
        if let Err(e) = archive.sink.rename_new(&f.temp, &path) {
            return Err(fail(self, e, &f.temp));
        }
        self.committed_bucket = Some(f.bucket);
        self.dead_letters_pending = false;
        ::metrics::histogram!(metrics::COMMIT_DURATION).record(started.elapsed().as_secs_f64());
        ::metrics::counter!(metrics::FILES_COMMITTED, "topic" => self.topic.clone(), "reason" => reason.as_str()).increment(1);
        ::metrics::counter!(metrics::RECORDS_COMMITTED, "topic" => self.topic.clone())
            .increment(f.records);
        ::metrics::gauge!(metrics::LAST_COMMIT, "topic" => self.topic.clone())
            .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        Ok(Committed {
            path,
            range,
            records: f.records,
            bucket: f.bucket,
            bytes: f.bytes_out,
            reason,
        })
    }

    /// Give up the open file (if any) after a sink error; the partition
    /// must be re-read from the returned offset.
    pub fn abandon(&mut self, archive: &Archive, error: SinkError) -> AppendError {
        let restart_at = match self.open.take() {
            Some(f) => {
                ::metrics::gauge!(metrics::OPEN_FILES).decrement(1.0);
                drop(f.file);
                let _ = archive.sink.delete(&f.temp);
                f.start
            }
            None => self.next_offset.unwrap_or(0),
        };
        self.after_abandon(restart_at);
        AppendError { error, restart_at }
    }

    fn after_abandon(&mut self, restart_at: i64) {
        ::metrics::counter!(metrics::FILES_ABANDONED, "topic" => self.topic.clone()).increment(1);
        self.next_offset = Some(restart_at);
        self.bucket = self.committed_bucket;
        self.dead_letters_pending = false;
    }

    /// Publish the counts gathered since the last call.
    pub fn publish(&mut self) {
        let c = std::mem::take(&mut self.counts);
        let topic = || self.topic.clone();
        if c.records_in > 0 {
            ::metrics::counter!(metrics::RECORDS_IN, "topic" => topic()).increment(c.records_in);
            ::metrics::counter!(metrics::BYTES_IN, "topic" => topic()).increment(c.bytes_in);
        }
        if c.bytes_written > 0 {
            ::metrics::counter!(metrics::BYTES_WRITTEN, "topic" => topic())
                .increment(c.bytes_written);
        }
        if c.late > 0 {
            ::metrics::counter!(metrics::LATE_RECORDS, "topic" => topic()).increment(c.late);
        }
        if c.time_fallbacks > 0 {
            ::metrics::counter!(metrics::TIME_FALLBACKS, "topic" => topic())
                .increment(c.time_fallbacks);
        }
    }
}
