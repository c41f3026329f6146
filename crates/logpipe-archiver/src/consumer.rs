//! The Kafka side of the archiver, on one dedicated thread: polls records
//! into each partition's [`PartitionWriter`], drives the roll timer, and
//! handles rebalances itself — on assignment each partition is recovered
//! from the archive's file names (never from Kafka's committed offset), on
//! revocation every open file of the partition is committed first.
//!
//! A sink failure never blocks the thread: the partition is paused, its
//! open file abandoned, and after a jittered back-off it is re-read from
//! Kafka starting at the abandoned file's first offset.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};

use crate::config::StartOffset;
use crate::marker::Touched;
use crate::metrics;
use crate::recovery;
use crate::rolling::RollReason;
use crate::sink::SinkError;
use crate::writer::{AppendError, Archive, Committed, PartitionWriter, Record};

/// First and largest pause after a retriable sink error.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Records handled per reading of the clock (a divisor of the 1024 records
/// between two timer checks).
const CLOCK_EVERY: u32 = 64;

type Key = (String, i32);

/// A partition we own, in one of its states.
struct Owned {
    writer: PartitionWriter,
    state: State,
    failures: u32,
}

enum State {
    /// Records flow into the writer.
    Running,
    /// Paused after a retriable error (or a failed recovery): at `retry_at`
    /// recover again and re-read.
    Waiting { retry_at: Instant },
    /// Stopped by an error retrying cannot fix, until reassigned.
    Stopped,
}

/// State shared by the consume loop and the rebalance callback (both run
/// on the consumer thread; the mutex only satisfies librdkafka's bounds).
pub(crate) struct Engine {
    archive: Archive,
    start_offset: StartOffset,
    owned: HashMap<Key, Owned>,
    shutdown: Shutdown,
    /// Kafka offsets to commit (lag display only).
    to_commit: Vec<(String, i32, i64)>,
    /// The partition of the last record handled.
    last_key: Key,
    /// Directories committed into, for the `_SUCCESS` marker thread.
    touched: Option<std::sync::mpsc::Sender<Touched>>,
    assigned_once: bool,
}

impl Engine {
    pub fn new(
        archive: Archive,
        start_offset: StartOffset,
        shutdown: Shutdown,
        touched: Option<std::sync::mpsc::Sender<Touched>>,
    ) -> Self {
        Self {
            archive,
            start_offset,
            touched,
            owned: HashMap::new(),
            shutdown,
            to_commit: Vec::new(),
            last_key: (String::new(), -1),
            assigned_once: false,
        }
    }

    /// One polled record. `now`/`wall` are the loop's clock, read once per
    /// burst of records rather than twice per record; `log_start` is the
    /// partition's first offset as the consumer last heard it.
    fn handle<M: Message>(
        &mut self,
        msg: &M,
        now: Instant,
        wall: i64,
        log_start: impl FnOnce(&str, i32) -> Option<i64>,
    ) -> Option<Key> {
        // Records come in runs from one partition: reuse the last key
        // rather than allocating one per record.
        if self.last_key.1 != msg.partition() || self.last_key.0 != msg.topic() {
            self.last_key = (msg.topic().to_owned(), msg.partition());
        }
        let key = &self.last_key;
        let owned = self.owned.get_mut(key)?;
        if !matches!(owned.state, State::Running) || owned.writer.is_behind(msg.offset()) {
            return None; // fetched before a pause or seek
        }
        let mut committed = Vec::new();
        // A jump past the expected offset is normal (transaction markers,
        // compaction) unless Kafka deleted what lay between.
        if let Some(expected) = owned.writer.next_offset.filter(|e| msg.offset() > *e) {
            if let Some(start) = log_start(&key.0, key.1).filter(|s| *s > expected) {
                let lost = start.min(msg.offset()) - expected;
                ::metrics::counter!(metrics::RECORDS_LOST, "topic" => key.0.clone(), "reason" => "retention")
                    .increment(lost as u64);
                tracing::error!(
                    topic = key.0,
                    partition = key.1,
                    expected,
                    log_start = start,
                    resumed_at = msg.offset(),
                    lost,
                    "records were deleted by Kafka's retention before they were archived (the archiver was down or too slow for retention.ms/retention.bytes); the file before the gap is committed so `logpipe archive verify` reports it"
                );
                if owned.writer.has_open_file() {
                    match owned.writer.commit(&self.archive, RollReason::RetentionGap) {
                        Ok(c) => committed.push(c),
                        Err(e) => {
                            Self::failed(owned, key, e);
                            return Some(key.clone());
                        }
                    }
                }
            }
        }
        let value = msg.payload();
        let (time, fallback) = self.archive.record_time(value, msg.timestamp().to_millis());
        let offset = msg.offset();
        let record = Record {
            offset,
            value,
            time,
            time_fallback: fallback,
        };
        match owned.writer.append(&self.archive, record, now, wall) {
            Ok(appended) => {
                if let Some(bad) = appended.unwritable {
                    if self.archive.config.dead_letter {
                        owned.writer.dead_letter(
                            &self.archive,
                            offset,
                            msg.key(),
                            value.unwrap_or_default(),
                            &bad,
                        );
                    } else {
                        let error = SinkError::fatal(
                            "unwritable",
                            format!("{}[{}]@{offset}: {}; set archive.dead_letter = true to send such records to {}.dlq", key.0, key.1, bad.message, key.0),
                        );
                        let e = owned.writer.abandon(&self.archive, error);
                        Self::failed(owned, key, e);
                        return Some(key.clone());
                    }
                }
                committed.extend(appended.committed);
                if !committed.is_empty() {
                    let key = key.clone();
                    for c in committed {
                        self.committed(&key, c);
                    }
                }
            }
            Err(e) => {
                Self::failed(owned, key, e);
                return Some(key.clone());
            }
        }
        None
    }

    fn committed(&mut self, key: &Key, c: Committed) {
        tracing::debug!(
            path = c.path,
            records = c.records,
            bytes = c.bytes,
            reason = c.reason.as_str(),
            "file committed"
        );
        self.touch(&key.0, c.bucket);
        self.to_commit.push((key.0.clone(), key.1, c.range.end + 1));
    }

    fn touch(&self, topic: &str, bucket: i64) {
        if let Some(t) = &self.touched {
            let _ = t.send(Touched {
                topic: topic.to_owned(),
                bucket,
            });
        }
    }

    /// Put a partition aside after a sink error (the caller pauses it).
    fn failed(owned: &mut Owned, key: &Key, e: AppendError) {
        ::metrics::counter!(metrics::SINK_ERRORS, "kind" => e.error.kind, "class" => if e.error.is_retriable() { "retriable" } else { "fatal" }).increment(1);
        if e.error.is_retriable() {
            owned.failures += 1;
            let backoff = jittered(
                BACKOFF_MIN
                    .saturating_mul(1 << owned.failures.min(8))
                    .min(BACKOFF_MAX),
            );
            tracing::warn!(topic = key.0, partition = key.1, error = %e.error, restart_at = e.restart_at, ?backoff,
                "sink error; abandoned the open file, re-reading from Kafka after a back-off");
            ::metrics::counter!(metrics::RETRIES).increment(1);
            owned.state = State::Waiting {
                retry_at: Instant::now() + backoff,
            };
        } else {
            tracing::error!(topic = key.0, partition = key.1, error = %e.error,
                "partition stopped: this error needs an operator; it resumes when reassigned (restart the daemon after fixing)");
            owned.state = State::Stopped;
        }
    }

    /// Commit `key`'s open file (if any) for `reason`; errors pause it.
    fn commit_one(&mut self, key: &Key, reason: RollReason) -> bool {
        let Some(owned) = self.owned.get_mut(key) else {
            return true;
        };
        if !owned.writer.has_open_file() || !matches!(owned.state, State::Running) {
            return true;
        }
        match owned.writer.commit(&self.archive, reason) {
            Ok(c) => {
                owned.failures = 0;
                self.committed(key, c);
                true
            }
            Err(e) => {
                Self::failed(owned, key, e);
                false
            }
        }
    }

    /// The roll timer: commit old and idle files; publish counts.
    fn tick(&mut self, now: Instant) -> Vec<Key> {
        let mut paused = Vec::new();
        let keys: Vec<Key> = self.owned.keys().cloned().collect();
        for key in keys {
            let owned = self.owned.get_mut(&key).expect("listed");
            if matches!(owned.state, State::Running) {
                match owned.writer.tick(&self.archive, now) {
                    Ok(Some(c)) => {
                        owned.failures = 0;
                        self.committed(&key, c);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        Self::failed(owned, &key, e);
                        paused.push(key.clone());
                    }
                }
            }
            if let Some(o) = self.owned.get_mut(&key) {
                o.writer.publish();
            }
        }
        paused
    }

    /// Recover a partition from the archive: where it resumes, and a writer
    /// positioned there.
    fn recover(&self, topic: &str, partition: i32) -> Result<(Offset, PartitionWriter), SinkError> {
        let r = recovery::recover(
            self.archive.sink.as_ref(),
            self.archive.template(),
            topic,
            partition,
        )?;
        if r.orphans_removed > 0 {
            ::metrics::counter!(metrics::ORPHANS_REMOVED).increment(r.orphans_removed);
        }
        let offset = match (r.next_offset, self.start_offset) {
            (Some(n), _) => Offset::Offset(n),
            (None, StartOffset::Earliest) => Offset::Beginning,
            (None, StartOffset::Latest) => Offset::End,
        };
        tracing::info!(
            topic,
            partition,
            ?offset,
            orphans_removed = r.orphans_removed,
            dirs_listed = r.dirs_listed,
            "partition recovered from the archive"
        );
        if let Some(b) = r.bucket {
            self.touch(topic, b);
        }
        Ok((
            offset,
            PartitionWriter::new(topic, partition, r.next_offset, r.bucket),
        ))
    }

    /// Take the partitions of `tpl`, each positioned after its last
    /// committed file. A partition whose recovery fails is assigned paused
    /// and retried by the timer.
    fn assign(&mut self, tpl: &mut TopicPartitionList) -> Vec<Key> {
        let parts: Vec<Key> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        let mut paused = Vec::new();
        for (topic, partition) in parts {
            let key = (topic.clone(), partition);
            let (writer, state) = match self.recover(&topic, partition) {
                Ok((offset, writer)) => {
                    let _ = tpl.set_partition_offset(&topic, partition, offset);
                    (writer, State::Running)
                }
                Err(e) => {
                    tracing::warn!(topic, partition, error = %e, "cannot recover the partition from the archive yet; retrying");
                    ::metrics::counter!(metrics::SINK_ERRORS, "kind" => e.kind, "class" => "retriable").increment(1);
                    paused.push(key.clone());
                    let writer = PartitionWriter::new(&topic, partition, None, None);
                    (
                        writer,
                        State::Waiting {
                            retry_at: Instant::now() + jittered(BACKOFF_MIN),
                        },
                    )
                }
            };
            self.owned.insert(
                key,
                Owned {
                    writer,
                    state,
                    failures: 0,
                },
            );
        }
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(self.owned.len() as f64);
        self.assigned_once = true;
        paused
    }

    /// Commit every open file, e.g. before the partitions go (revocation,
    /// shutdown). Returns false if any commit failed (its range is re-read
    /// by the next owner: nothing is lost).
    fn commit_all(&mut self, reason: RollReason) -> bool {
        let keys: Vec<Key> = self.owned.keys().cloned().collect();
        let mut ok = true;
        for key in keys {
            ok &= self.commit_one(&key, reason);
            if let Some(o) = self.owned.get_mut(&key) {
                o.writer.publish();
            }
        }
        ok
    }

    fn revoke(&mut self) {
        let ok = self.commit_all(RollReason::Revoke);
        self.owned.clear();
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(0.0);
        ::metrics::gauge!(metrics::OPEN_FILES).set(0.0);
        tracing::info!(
            all_committed = ok,
            "partitions revoked after committing their open files"
        );
    }

    fn stopped_count(&self) -> usize {
        self.owned
            .values()
            .filter(|o| matches!(o.state, State::Stopped))
            .count()
    }
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `d` ± 20 %.
fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::random_range(0.8..1.2))
}

/// librdkafka callbacks: rebalances (served inside `poll` on the consumer
/// thread) and statistics (consumer lag).
pub(crate) struct ArchiverContext {
    engine: Arc<Mutex<Engine>>,
}

impl ArchiverContext {
    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ClientContext for ArchiverContext {
    fn stats_raw(&self, statistics: &[u8]) {
        logpipe_core::metrics::record_consumer_lag(statistics, metrics::CONSUMER_LAG);
    }
}

impl ConsumerContext for ArchiverContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let paused = self.engine().assign(tpl);
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!(error = %e, "cannot assign partitions");
                }
                pause(consumer, &paused);
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.engine().revoke();
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "cannot unassign partitions");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error; committing and dropping the assignment");
                self.engine().revoke();
                let _ = consumer.unassign();
            }
        }
    }
}

/// The first offset of `topic`/`partition` as librdkafka last heard it
/// (from fetch responses and offset resets; no request is made), if known.
fn cached_log_start<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer lives as long as `consumer`; the topic is
    // a NUL-terminated string that outlives the call; librdkafka only
    // writes the two offsets.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && low >= 0).then_some(low)
}

fn tpl_of(keys: &[Key]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (t, p) in keys {
        tpl.add_partition(t, *p);
    }
    tpl
}

fn pause<C: Consumer<ArchiverContext>>(consumer: &C, keys: &[Key]) {
    if keys.is_empty() {
        return;
    }
    if let Err(e) = consumer.pause(&tpl_of(keys)) {
        tracing::error!(error = %e, ?keys, "cannot pause partitions");
    }
}

/// Partitions whose back-off has passed: recover again, seek, resume.
fn retry_due(engine: &mut Engine, consumer: &BaseConsumer<ArchiverContext>, now: Instant) {
    let due: Vec<Key> = engine
        .owned
        .iter()
        .filter(|(_, o)| matches!(o.state, State::Waiting { retry_at } if retry_at <= now))
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        match engine.recover(&key.0, key.1) {
            Ok((position, writer)) => {
                let o = engine.owned.get_mut(&key).expect("listed");
                o.writer = writer;
                match consumer.seek(&key.0, key.1, position, Duration::from_secs(10)) {
                    Ok(()) => {
                        o.state = State::Running;
                        if let Err(e) = consumer.resume(&tpl_of(std::slice::from_ref(&key))) {
                            tracing::error!(error = %e, topic = key.0, partition = key.1, "cannot resume the partition");
                        } else {
                            tracing::info!(
                                topic = key.0,
                                partition = key.1,
                                ?position,
                                "re-reading the partition after a back-off"
                            );
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, topic = key.0, partition = key.1, "cannot seek yet; retrying");
                        o.state = State::Waiting {
                            retry_at: now + jittered(BACKOFF_MIN),
                        };
                    }
                }
            }
            Err(e) => {
                let o = engine.owned.get_mut(&key).expect("listed");
                o.failures += 1;
                let backoff = jittered(
                    BACKOFF_MIN
                        .saturating_mul(1 << o.failures.min(8))
                        .min(BACKOFF_MAX),
                );
                if e.is_retriable() {
                    tracing::warn!(error = %e, topic = key.0, partition = key.1, ?backoff, "recovery failed; retrying");
                    o.state = State::Waiting {
                        retry_at: now + backoff,
                    };
                } else {
                    tracing::error!(error = %e, topic = key.0, partition = key.1, "recovery failed with an error retrying cannot fix; partition stopped");
                    o.state = State::Stopped;
                }
            }
        }
    }
}

/// The consume loop; returns after shutdown with every open file committed.
pub(crate) fn consume(
    config: ClientConfig,
    engine: Engine,
    mut notifier: Notifier,
) -> anyhow::Result<()> {
    let shutdown = engine.shutdown.clone();
    let topics = engine.archive.config.topics.clone();
    let tick_every = engine.archive.policy().tick_interval();
    let engine = Arc::new(Mutex::new(engine));
    let consumer: BaseConsumer<ArchiverContext> = config
        .create_with_context(ArchiverContext {
            engine: engine.clone(),
        })
        .map_err(|e| anyhow::anyhow!("cannot create the Kafka consumer: {e}"))?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&names)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {names:?}: {e}"))?;
    tracing::info!(topics = ?names, "subscribed; waiting for partitions");

    let lock = || engine.lock().unwrap_or_else(|p| p.into_inner());
    let mut ready = false;
    let mut last_tick = Instant::now();
    let mut since_check = 0u32;
    // The clock for records, read once per CLOCK_EVERY records: it only
    // ages files (seconds) and dates fall-back times.
    let (mut now, mut wall) = (Instant::now(), wall_clock_ms());
    let mut flowing = false;
    loop {
        if shutdown.is_triggered() {
            break;
        }
        // While records flow, poll without a timeout (librdkafka then reads
        // no clock); wait only once the queue is empty.
        let wait = if flowing {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        };
        let polled = consumer.poll(wait);
        let mut e = lock();
        flowing = matches!(polled, Some(Ok(_)));
        match polled {
            Some(Ok(msg)) => {
                if since_check.is_multiple_of(CLOCK_EVERY) {
                    (now, wall) = (Instant::now(), wall_clock_ms());
                }
                let log_start = |t: &str, p| cached_log_start(&consumer, t, p);
                if let Some(failed) = e.handle(&msg, now, wall, log_start) {
                    pause(&consumer, &[failed]);
                }
                since_check += 1;
                if since_check < 1024 {
                    continue;
                }
            }
            Some(Err(err)) => tracing::warn!(error = %err, "Kafka consumer error"),
            None => {}
        }
        since_check = 0;
        (now, wall) = (Instant::now(), wall_clock_ms());
        if now.duration_since(last_tick) >= tick_every {
            last_tick = now;
            let failed = e.tick(now);
            pause(&consumer, &failed);
            retry_due(&mut e, &consumer, now);
            ::metrics::gauge!(metrics::STOPPED_PARTITIONS).set(e.stopped_count() as f64);
        }
        if !e.to_commit.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (t, p, next) in e.to_commit.drain(..) {
                let _ = tpl.add_partition_offset(&t, p, Offset::Offset(next));
            }
            if let Err(err) = consumer.commit(&tpl, CommitMode::Async) {
                tracing::debug!(error = %err, "cannot commit offsets to Kafka (lag display only)");
            }
        }
        if e.assigned_once && !ready {
            ready = true;
            notifier.ready();
            notifier.status("archiving");
        }
        notifier.watchdog();
    }

    notifier.stopping();
    let mut e = lock();
    let all = e.commit_all(RollReason::Shutdown);
    if !all {
        tracing::warn!("some open files could not be committed at shutdown; their ranges are re-read on the next start");
    }
    e.owned.clear();
    drop(e);
    drop(consumer);
    Ok(())
}
