//! The Kafka side of the processor, on one dedicated thread: polls messages
//! into the [`Pipeline`], cuts a batch every `commit_interval` (or
//! `commit_max_events`) for the committer, and handles rebalances itself:
//! on assignment each partition starts at the offset stored in the database
//! (never Kafka's) once checked against the partition's log range (events
//! lost to retention are counted; a stored offset beyond the log end leaves
//! the partition unread unless `on_offset_reset = "restart"`), on revocation
//! the pending batch is committed first. A fenced commit discards everything
//! uncommitted and re-seeks every owned partition to its stored offset.
//!
//! The thread never blocks on the committer: while it is a batch behind
//! (store slow or down) the owned partitions are paused and polling goes on,
//! so the group membership and the systemd watchdog stay alive. Kafka errors
//! retrying cannot fix stop the daemon; the others are counted.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::committer::{CommitOutcome, Throttle};
use crate::config::{OnOffsetReset, StartOffset};
use crate::metrics;
use crate::pipeline::{CommitBatch, DeadLetterRecord, Outcome, Pipeline};
use crate::store::{CommitError, Store, StoredPartition};
use logpipe_core::dead_letter::DeadLetters;

/// How the consume loop batches and where partitions start.
pub(crate) struct Settings {
    pub group_id: String,
    pub start_offset: StartOffset,
    pub on_offset_reset: OnOffsetReset,
    pub commit_interval: Duration,
    pub commit_max_events: u64,
    /// Dead letters are produced (else only logged and counted).
    pub dead_letter: bool,
}

/// State shared by the consume loop and the rebalance callback (both run on
/// the consumer thread; the mutex only satisfies librdkafka's `Sync` bound).
pub(crate) struct ConsumerState {
    pub pipeline: Pipeline,
    pub store: Store,
    pub settings: Settings,
    pub runtime: Handle,
    pub batches: mpsc::Sender<CommitBatch>,
    pub outcomes: Receiver<CommitOutcome>,
    pub dlq: Arc<DeadLetters>,
    pub shutdown: Shutdown,
    in_flight: usize,
    fatal: Option<anyhow::Error>,
    needs_resync: bool,
    assigned_once: bool,
    /// Owned partitions left unread (stored offset beyond the log end).
    stopped: Vec<(String, i32)>,
    /// A cut batch the committer had no room for (it is a batch behind:
    /// the store is slow or down); the owned partitions are paused until
    /// it is handed over, and polling goes on.
    held: Option<CommitBatch>,
    paused: bool,
    notifier: Notifier,
    kafka_warnings: Throttle,
    /// Messages read per topic (duplicates aside) and not yet added to
    /// `logpipe_process_events_in_total`: published every 1024 messages and
    /// whenever the queue runs dry, so the counter trails reading, not the
    /// commit interval.
    unpublished_in: Vec<u64>,
}

/// Where a partition with a stored offset resumes, given its log range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resume {
    /// At the stored offset (within the log).
    AtStored(i64),
    /// Retention deleted `[stored, log_start)` before it was read: lost;
    /// go on from the log start.
    Lost { stored: i64, log_start: i64 },
    /// The stored offset is beyond the log end (topic recreated or
    /// truncated): leave the partition unread.
    Stop { stored: i64, log_end: i64 },
    /// ... or, with `on_offset_reset = "restart"`, read it again from its start.
    Restart {
        stored: i64,
        log_start: i64,
        log_end: i64,
    },
}

impl Resume {
    /// Compare `stored` with the partition's `[log_start, log_end)`.
    pub(crate) fn of(stored: i64, log_start: i64, log_end: i64, on_reset: OnOffsetReset) -> Self {
        if stored < log_start {
            Resume::Lost { stored, log_start }
        } else if stored > log_end {
            match on_reset {
                OnOffsetReset::Stop => Resume::Stop { stored, log_end },
                OnOffsetReset::Restart => Resume::Restart {
                    stored,
                    log_start,
                    log_end,
                },
            }
        } else {
            Resume::AtStored(stored)
        }
    }
}

impl ConsumerState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        pipeline: Pipeline,
        store: Store,
        settings: Settings,
        runtime: Handle,
        batches: mpsc::Sender<CommitBatch>,
        outcomes: Receiver<CommitOutcome>,
        dlq: Arc<DeadLetters>,
        shutdown: Shutdown,
        notifier: Notifier,
    ) -> Self {
        Self {
            pipeline,
            store,
            settings,
            runtime,
            batches,
            outcomes,
            dlq,
            shutdown,
            in_flight: 0,
            fatal: None,
            needs_resync: false,
            assigned_once: false,
            stopped: Vec::new(),
            held: None,
            paused: false,
            notifier,
            kafka_warnings: Throttle::new(Duration::from_secs(10)),
            unpublished_in: Vec::new(),
        }
    }

    /// Add the messages read since the last call to `events_in_total`.
    fn publish_read(&mut self) {
        for (t, n) in self.unpublished_in.iter_mut().enumerate() {
            if *n > 0 {
                ::metrics::counter!(metrics::EVENTS_IN, "topic" => self.pipeline.topic_name(t).to_owned())
                    .increment(std::mem::take(n));
            }
        }
    }

    fn handle<C: Consumer<ProcessorContext>, M: Message>(&mut self, consumer: &C, msg: &M) {
        let Some(topic) = self.pipeline.topic_index(msg.topic()) else {
            return;
        };
        let partition = msg.partition();
        if !self.pipeline.is_assigned(topic, partition) {
            return; // a message fetched before a revocation
        }
        if let Some(expected) = self.pipeline.position(topic, partition) {
            // A gap of one is a transaction marker; more may be retention
            // overtaking a consumer that was behind (librdkafka then resets
            // to the log start).
            if msg.offset() > expected + 1 {
                self.check_gap(consumer, msg.topic(), partition, expected, msg.offset());
            }
        }
        let outcome = self
            .pipeline
            .process(topic, partition, msg.offset(), msg.payload());
        if !matches!(outcome, Outcome::Duplicate) {
            if self.unpublished_in.len() <= topic {
                self.unpublished_in.resize(topic + 1, 0);
            }
            self.unpublished_in[topic] += 1;
        }
        if let Outcome::Rejected(error) = outcome {
            let letter = DeadLetterRecord {
                topic: msg.topic().to_owned(),
                partition,
                offset: msg.offset(),
                key: msg.key().map(<[u8]>::to_vec),
                payload: msg.payload().unwrap_or_default().to_vec(),
                reason: error.reason.as_str(),
                message: error.message,
            };
            if self.settings.dead_letter {
                self.pipeline.dead_letter(letter);
            } else {
                self.dlq.send(letter.as_letter()); // logged and counted only
            }
        }
    }

    /// Hand everything since the last cut to the committer. While it is a
    /// batch behind, nothing more is cut: the batch is held and the owned
    /// partitions are paused (see [`ConsumerState::offer`]).
    fn cut<C: Consumer<ProcessorContext>>(&mut self, consumer: &C) {
        if self.held.is_some() || self.pipeline.pending() == 0 {
            return;
        }
        let batch = self.pipeline.cut();
        metrics::record_batch(&self.pipeline, &batch.stats);
        self.offer(consumer, batch);
    }

    /// Give `batch` to the committer without blocking: when it has no room,
    /// hold the batch and pause the owned partitions (the consumer keeps
    /// polling: group membership and the watchdog stay alive); once it is
    /// taken, resume them.
    fn offer<C: Consumer<ProcessorContext>>(&mut self, consumer: &C, batch: CommitBatch) {
        match self.batches.try_send(batch) {
            Ok(()) => {
                self.in_flight += 1;
                if self.paused {
                    self.set_paused(consumer, false);
                }
            }
            Err(mpsc::error::TrySendError::Full(batch)) => {
                self.held = Some(batch);
                if !self.paused {
                    self.set_paused(consumer, true);
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.fatal
                    .get_or_insert_with(|| anyhow::anyhow!("the committer stopped"));
            }
        }
    }

    /// Offer the held batch again (the committer may have caught up).
    fn retry_held<C: Consumer<ProcessorContext>>(&mut self, consumer: &C) {
        if let Some(batch) = self.held.take() {
            self.offer(consumer, batch);
        }
    }

    fn set_paused<C: Consumer<ProcessorContext>>(&mut self, consumer: &C, paused: bool) {
        let mut tpl = TopicPartitionList::new();
        for (t, partition) in self.pipeline.assigned() {
            tpl.add_partition(self.pipeline.topic_name(t), partition);
        }
        let result = if paused {
            consumer.pause(&tpl)
        } else {
            consumer.resume(&tpl)
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, paused, "cannot pause or resume the owned partitions");
        }
        self.paused = paused;
        if paused {
            tracing::warn!(
                partitions = tpl.count(),
                "the committer is a batch behind (store slow or unavailable): partitions paused, still polling Kafka"
            );
            self.notifier
                .status("store unavailable or slow: partitions paused, retrying commits");
        } else {
            tracing::info!(
                partitions = tpl.count(),
                "the committer caught up: partitions resumed"
            );
            self.notifier.status("consuming");
        }
    }

    /// Handle finished commits; with `wait`, until none is in flight or held
    /// (feeding the watchdog while the store is unavailable).
    fn drain<C: Consumer<ProcessorContext>>(&mut self, consumer: &C, wait: bool) {
        loop {
            if wait {
                self.retry_held(consumer);
                if self.fatal.is_some() {
                    return;
                }
            }
            if self.in_flight == 0 {
                return;
            }
            let outcome = if wait {
                match self.outcomes.recv_timeout(Duration::from_millis(500)) {
                    Ok(o) => o,
                    Err(RecvTimeoutError::Timeout) => {
                        self.notifier.watchdog();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match self.outcomes.try_recv() {
                    Ok(o) => o,
                    Err(_) => return,
                }
            };
            self.in_flight -= 1;
            match outcome {
                CommitOutcome::Committed { offsets } => {
                    // Kafka's committed offsets only show lag; the database is the truth.
                    let mut tpl = TopicPartitionList::new();
                    for o in offsets {
                        if self
                            .pipeline
                            .topic_index(&o.topic)
                            .is_some_and(|t| self.pipeline.is_assigned(t, o.partition))
                        {
                            let _ = tpl.add_partition_offset(
                                &o.topic,
                                o.partition,
                                Offset::Offset(o.next),
                            );
                        }
                    }
                    if tpl.count() > 0 {
                        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
                            tracing::debug!(error = %e, "cannot commit offsets to Kafka (lag display only)");
                        }
                    }
                }
                CommitOutcome::Fenced(why) => {
                    tracing::warn!(%why, "commit fenced; discarding uncommitted work and re-reading offsets from the store");
                    self.needs_resync = true;
                }
                CommitOutcome::Fatal(e) => {
                    self.fatal.get_or_insert(e);
                }
            }
        }
    }

    /// Read a partition's stored offset and watermarks, retrying while the
    /// store is unavailable (until shutdown; the watchdog is fed). An error
    /// retrying cannot fix (missing table or privilege) stops the daemon.
    fn load(&mut self, topic: &str, partition: i32) -> Option<StoredPartition> {
        let mut backoff = Duration::from_millis(200);
        let mut throttle = Throttle::new(Duration::from_secs(10));
        loop {
            let e = match self.runtime.block_on(self.store.load_partition(
                &self.settings.group_id,
                topic,
                partition,
            )) {
                Ok(s) => return Some(s),
                Err(e) => e,
            };
            match self.store.classify(e) {
                CommitError::Transient(e) if !self.shutdown.is_triggered() => {
                    ::metrics::counter!(metrics::STORE_ERRORS).increment(1);
                    ::metrics::gauge!(metrics::STORE_AVAILABLE).set(0.0);
                    if let Some(suppressed) = throttle.allow() {
                        tracing::warn!(error = %e, topic, partition, failed_attempts_not_logged = suppressed, "cannot read stored offsets; retrying");
                    }
                    let until = Instant::now() + crate::committer::jittered(backoff);
                    while Instant::now() < until && !self.shutdown.is_triggered() {
                        self.notifier.watchdog();
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                CommitError::Transient(_) => return None,
                e => {
                    let source: anyhow::Error = match e {
                        CommitError::Fatal(sql) => sql.into(),
                        other => other.into(),
                    };
                    self.fatal.get_or_insert_with(|| {
                        source.context(format!(
                            "cannot read the stored offset of {topic}[{partition}] from logpipe_offsets/logpipe_watermarks; \
                             check that the tables exist and that the database user may SELECT, INSERT and UPDATE them"
                        ))
                    });
                    return None;
                }
            }
        }
    }

    /// Offsets `expected..offset` were skipped while reading: count those
    /// below the partition's log start as lost to retention.
    fn check_gap<C: Consumer<ProcessorContext>>(
        &mut self,
        consumer: &C,
        topic: &str,
        partition: i32,
        expected: i64,
        offset: i64,
    ) {
        let log_start = match consumer.fetch_watermarks(topic, partition, Duration::from_secs(5)) {
            Ok((low, _)) => low,
            Err(e) => {
                tracing::warn!(topic, partition, expected, offset, error = %e, "offsets skipped while reading; cannot read the log start to tell whether retention deleted them");
                return;
            }
        };
        let lost = log_start.min(offset) - expected;
        if lost > 0 {
            tracing::error!(
                topic,
                partition,
                expected,
                log_start,
                lost,
                "{topic}[{partition}]: offsets {expected}..{} were deleted by retention before they were processed \
                 (the processor was behind); counting them as lost and going on from {offset}",
                expected + lost
            );
            ::metrics::counter!(metrics::EVENTS_LOST, "topic" => topic.to_owned(), "reason" => "retention")
                .increment(lost as u64);
        }
    }

    /// A Kafka error from `poll`: fatal ones (librdkafka's fatal state,
    /// authentication, authorization) stop the daemon; others are counted and
    /// logged (rate-limited) while librdkafka recovers.
    fn kafka_error(&mut self, err: rdkafka::error::KafkaError) {
        match classify_kafka_error(&err) {
            KafkaErrorClass::Fatal(fix) => {
                self.fatal
                    .get_or_insert_with(|| anyhow::anyhow!("Kafka consumer: {err}; {fix}"));
            }
            KafkaErrorClass::Transient(kind) => {
                ::metrics::counter!(metrics::KAFKA_ERRORS, "kind" => kind).increment(1);
                if let Some(suppressed) = self.kafka_warnings.allow() {
                    tracing::warn!(error = %err, kind, errors_not_logged = suppressed, "Kafka consumer error; librdkafka retries");
                }
            }
        }
    }

    /// Take partition `t`/`partition` as the store says, checked against
    /// the partition's log range: returns where to read from, or `None`
    /// when the partition is left unread (stopped, or shutting down).
    fn take_partition<C: Consumer<ProcessorContext>>(
        &mut self,
        consumer: &C,
        t: usize,
        topic: &str,
        partition: i32,
    ) -> Option<Offset> {
        let row = self.load(topic, partition)?;
        let Some(next) = row.next_offset else {
            self.pipeline
                .assign(t, partition, None, &row.max_event_times);
            return Some(match self.settings.start_offset {
                StartOffset::Earliest => Offset::Beginning,
                StartOffset::Latest => Offset::End,
            });
        };
        let (log_start, log_end) = match consumer.fetch_watermarks(
            topic,
            partition,
            Duration::from_secs(10),
        ) {
            Ok(range) => range,
            Err(e) => {
                tracing::warn!(topic, partition, error = %e, stored = next, "cannot read the partition's log range; resuming at the stored offset unchecked");
                (next, next)
            }
        };
        let (position, start) = match Resume::of(
            next,
            log_start,
            log_end,
            self.settings.on_offset_reset,
        ) {
            Resume::AtStored(n) => (n, Offset::Offset(n)),
            Resume::Lost { stored, log_start } => {
                tracing::error!(
                    topic,
                    partition,
                    stored_offset = stored,
                    log_start,
                    lost = log_start - stored,
                    "{topic}[{partition}]: offsets {stored}..{log_start} were deleted by retention before they were processed; \
                     counting them as lost and going on from the log start {log_start}"
                );
                ::metrics::counter!(metrics::EVENTS_LOST, "topic" => topic.to_owned(), "reason" => "retention")
                    .increment((log_start - stored) as u64);
                (log_start, Offset::Offset(log_start))
            }
            Resume::Stop { stored, log_end } => {
                tracing::error!(
                    topic,
                    partition,
                    stored_offset = stored,
                    log_end,
                    "{topic}[{partition}]: the stored offset {stored} is beyond the partition's log end {log_end} \
                     (was the topic deleted and recreated, or truncated?); not reading this partition. \
                     To count it again from its start, set on_offset_reset = \"restart\" in [process] and restart; \
                     or correct next_offset in logpipe_offsets (group_id {:?})",
                    self.settings.group_id
                );
                self.stopped.push((topic.to_owned(), partition));
                return None;
            }
            Resume::Restart {
                stored,
                log_start,
                log_end,
            } => {
                tracing::warn!(
                    topic,
                    partition,
                    stored_offset = stored,
                    log_start,
                    log_end,
                    "{topic}[{partition}]: the stored offset {stored} is beyond the log end {log_end}; \
                     on_offset_reset = \"restart\": counting the partition again from {log_start}"
                );
                (log_start, Offset::Offset(log_start))
            }
        };
        self.pipeline.assign_from(
            t,
            partition,
            Some(next),
            Some(position),
            &row.max_event_times,
        );
        Some(start)
    }

    /// `logpipe_process_stopped_partitions` of every topic.
    fn publish_stopped(&self) {
        for topic in self.pipeline.topic_names() {
            let n = self.stopped.iter().filter(|(t, _)| *t == topic).count();
            ::metrics::gauge!(metrics::STOPPED_PARTITIONS, "topic" => topic).set(n as f64);
        }
    }

    /// Take the partitions of `tpl`, positioned at their stored offsets;
    /// returns those to pause (left unread).
    fn assign<C: Consumer<ProcessorContext>>(
        &mut self,
        consumer: &C,
        tpl: &mut TopicPartitionList,
    ) -> TopicPartitionList {
        let parts: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        self.stopped.clear();
        let mut unread = TopicPartitionList::new();
        for (topic, partition) in parts {
            let Some(t) = self.pipeline.topic_index(&topic) else {
                continue;
            };
            match self.take_partition(consumer, t, &topic, partition) {
                Some(start) => {
                    let _ = tpl.set_partition_offset(&topic, partition, start);
                    tracing::info!(topic, partition, offset = ?start, "partition assigned");
                }
                None => {
                    unread.add_partition(&topic, partition);
                }
            }
        }
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(self.pipeline.assigned().len() as f64);
        self.publish_stopped();
        unread
    }

    /// Commit what we have for the partitions being taken away, then forget them.
    fn revoke<C: Consumer<ProcessorContext>>(&mut self, consumer: &C) {
        self.cut(consumer);
        self.drain(consumer, true);
        self.pipeline.discard();
        self.held = None;
        self.paused = false;
        self.stopped.clear();
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(0.0);
        self.publish_stopped();
        tracing::info!("partitions revoked after committing their pending work");
    }

    /// After a fenced commit: drop everything uncommitted and seek every
    /// owned partition back to its stored offset.
    fn resync(&mut self, consumer: &BaseConsumer<ProcessorContext>) {
        self.drain(consumer, true);
        self.needs_resync = false;
        let owned: Vec<(usize, i32)> = self.pipeline.assigned();
        if self.paused {
            self.set_paused(consumer, false);
        }
        self.held = None;
        self.pipeline.discard();
        for (t, partition) in owned {
            if self.shutdown.is_triggered() || self.fatal.is_some() {
                return;
            }
            let topic = self.pipeline.topic_name(t).to_owned();
            let Some(start) = self.take_partition(consumer, t, &topic, partition) else {
                let mut unread = TopicPartitionList::new();
                unread.add_partition(&topic, partition);
                if let Err(e) = consumer.pause(&unread) {
                    tracing::warn!(topic, partition, error = %e, "cannot pause a partition left unread");
                }
                continue;
            };
            if let Err(e) = consumer.seek(&topic, partition, start, Duration::from_secs(10)) {
                self.fatal.get_or_insert_with(|| {
                    anyhow::anyhow!("cannot seek {topic}[{partition}] to {start:?}: {e}")
                });
            }
        }
        self.publish_stopped();
    }
}

/// librdkafka callbacks: rebalances (served inside `poll` on the consumer
/// thread) and statistics (consumer lag).
pub(crate) struct ProcessorContext {
    pub state: Arc<Mutex<ConsumerState>>,
}

impl ProcessorContext {
    fn state(&self) -> MutexGuard<'_, ConsumerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ClientContext for ProcessorContext {
    fn stats_raw(&self, statistics: &[u8]) {
        metrics::record_lag(statistics);
    }
}

impl ConsumerContext for ProcessorContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                ::metrics::counter!(metrics::REBALANCES, "kind" => "assign").increment(1);
                let mut state = self.state();
                let unread = state.assign(consumer, tpl);
                if let Err(e) = consumer.assign(tpl) {
                    // READY must not follow: the daemon would serve nothing.
                    state.fatal.get_or_insert_with(|| {
                        anyhow::anyhow!(
                            "cannot take the partitions the group assigned ({} of them): {e}",
                            tpl.count()
                        )
                    });
                    return;
                }
                if unread.count() > 0 {
                    if let Err(e) = consumer.pause(&unread) {
                        tracing::warn!(error = %e, "cannot pause the partitions left unread");
                    }
                }
                state.assigned_once = true;
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                ::metrics::counter!(metrics::REBALANCES, "kind" => "revoke").increment(1);
                self.state().revoke(consumer);
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "cannot unassign partitions");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error; dropping the assignment");
                self.state().revoke(consumer);
                let _ = consumer.unassign();
            }
        }
    }
}

/// What to do about a Kafka error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KafkaErrorClass {
    /// Stop the daemon; the text says what to fix.
    Fatal(&'static str),
    /// librdkafka recovers by itself: count (by this bounded kind) and warn.
    Transient(&'static str),
}

/// Classify an error `poll` returned.
pub(crate) fn classify_kafka_error(err: &rdkafka::error::KafkaError) -> KafkaErrorClass {
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode as C;
    if matches!(err, KafkaError::MessageConsumptionFatal(_)) {
        return KafkaErrorClass::Fatal(
            "librdkafka is in a fatal state and cannot consume any more; see the error above",
        );
    }
    match err.rdkafka_error_code() {
        Some(C::Fatal) => KafkaErrorClass::Fatal(
            "librdkafka is in a fatal state and cannot consume any more; see the error above",
        ),
        Some(C::Authentication | C::SaslAuthenticationFailed | C::UnsupportedSASLMechanism) => {
            KafkaErrorClass::Fatal(
                "the brokers refused the credentials: check sasl.* / ssl.* in [kafka] or [process.kafka] and the credential files",
            )
        }
        Some(
            C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed,
        ) => KafkaErrorClass::Fatal(
            "the Kafka principal lacks an ACL: it needs Read and Describe on the topics and Read on the consumer group (group_id)",
        ),
        Some(
            C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::Resolve
            | C::OperationTimedOut
            | C::RequestTimedOut
            | C::NetworkException,
        ) => KafkaErrorClass::Transient("transport"),
        Some(C::UnknownTopic | C::UnknownTopicOrPartition) => {
            KafkaErrorClass::Transient("unknown_topic")
        }
        _ => KafkaErrorClass::Transient("other"),
    }
}

/// The consume loop; returns after shutdown with everything committed.
pub(crate) fn consume(config: ClientConfig, state: ConsumerState) -> anyhow::Result<()> {
    let shutdown = state.shutdown.clone();
    let topics = state.pipeline.topic_names();
    let interval = state.settings.commit_interval;
    let max_events = state.settings.commit_max_events;
    let state = Arc::new(Mutex::new(state));
    let consumer: BaseConsumer<ProcessorContext> = config
        .create_with_context(ProcessorContext {
            state: state.clone(),
        })
        .map_err(|e| anyhow::anyhow!("cannot create the Kafka consumer: {e}"))?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&names)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {names:?}: {e}"))?;
    tracing::info!(topics = ?names, "subscribed; waiting for partitions");

    let lock = || {
        state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let mut ready = false;
    let mut last_cut = Instant::now();
    let mut since_check = 0u32;
    let mut flowing = false;
    let result = loop {
        if shutdown.is_triggered() {
            break Ok(());
        }
        // While records flow, poll without a timeout (librdkafka then reads
        // no clock); wait only once the queue is empty.
        let polled = consumer.poll(if flowing {
            Duration::ZERO
        } else {
            Duration::from_millis(50)
        });
        flowing = matches!(polled, Some(Ok(_)));
        let mut e = lock();
        match polled {
            Some(Ok(msg)) => {
                e.handle(&consumer, &msg);
                since_check += 1;
                if e.pipeline.pending() >= max_events {
                    e.cut(&consumer);
                    last_cut = Instant::now();
                }
                if since_check < 1024 {
                    continue;
                }
            }
            Some(Err(err)) => e.kafka_error(err),
            None => {}
        }
        since_check = 0;
        e.publish_read();
        e.retry_held(&consumer);
        if last_cut.elapsed() >= interval {
            e.cut(&consumer);
            last_cut = Instant::now();
        }
        e.drain(&consumer, false);
        if e.needs_resync {
            e.resync(&consumer);
        }
        if let Some(err) = e.fatal.take() {
            break Err(err);
        }
        if e.assigned_once && !ready {
            ready = true;
            e.notifier.ready();
            e.notifier.status("consuming");
        }
        // Fed while the loop runs — also while partitions are paused
        // waiting for the store: healthy, only waiting.
        e.notifier.watchdog();
    };

    let mut e = lock();
    e.publish_read();
    e.notifier.stopping();
    if result.is_ok() {
        e.cut(&consumer);
    }
    e.drain(&consumer, true);
    let fatal = e.fatal.take();
    e.pipeline.discard(); // nothing left; the close-time revocation has nothing to commit
    drop(e);
    drop(consumer);
    match (result, fatal) {
        (Err(e), _) | (Ok(()), Some(e)) => Err(e),
        (Ok(()), None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_offset_is_checked_against_the_log_range() {
        use OnOffsetReset::{Restart, Stop};
        assert_eq!(Resume::of(10, 0, 20, Stop), Resume::AtStored(10));
        assert_eq!(
            Resume::of(20, 0, 20, Stop),
            Resume::AtStored(20),
            "caught up"
        );
        assert_eq!(Resume::of(5, 5, 20, Stop), Resume::AtStored(5));
        assert_eq!(
            Resume::of(3, 5, 20, Restart),
            Resume::Lost {
                stored: 3,
                log_start: 5
            }
        );
        assert_eq!(
            Resume::of(21, 0, 20, Stop),
            Resume::Stop {
                stored: 21,
                log_end: 20
            }
        );
        assert_eq!(
            Resume::of(300, 0, 100, Restart),
            Resume::Restart {
                stored: 300,
                log_start: 0,
                log_end: 100
            }
        );
    }

    #[test]
    fn kafka_errors_that_retrying_cannot_fix_are_fatal() {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaErrorCode as C;
        for fatal in [
            KafkaError::MessageConsumptionFatal(C::FencedInstanceId),
            KafkaError::MessageConsumption(C::Fatal),
            KafkaError::MessageConsumption(C::Authentication),
            KafkaError::MessageConsumption(C::SaslAuthenticationFailed),
            KafkaError::MessageConsumption(C::GroupAuthorizationFailed),
            KafkaError::MessageConsumption(C::TopicAuthorizationFailed),
        ] {
            assert!(
                matches!(classify_kafka_error(&fatal), KafkaErrorClass::Fatal(_)),
                "{fatal:?}"
            );
        }
        assert_eq!(
            classify_kafka_error(&KafkaError::MessageConsumption(C::AllBrokersDown)),
            KafkaErrorClass::Transient("transport")
        );
        assert_eq!(
            classify_kafka_error(&KafkaError::MessageConsumption(C::UnknownTopicOrPartition)),
            KafkaErrorClass::Transient("unknown_topic")
        );
    }
}
