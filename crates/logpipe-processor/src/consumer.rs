//! The Kafka side of the processor, on one dedicated thread: polls messages
//! into the [`Pipeline`], cuts a batch every `commit_interval` (or
//! `commit_max_events`) for the committer, and handles rebalances itself:
//! on assignment each partition starts at the offset stored in the database
//! (never Kafka's), on revocation the pending batch is committed first. A
//! fenced commit discards everything uncommitted and re-seeks every owned
//! partition to its stored offset.

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

use crate::committer::CommitOutcome;
use crate::config::StartOffset;
use crate::metrics;
use crate::pipeline::{CommitBatch, Outcome, Pipeline};
use crate::store::{Store, StoredPartition};
use logpipe_core::dead_letter::{DeadLetter, DeadLetters};

/// How the consume loop batches and where partitions start.
pub(crate) struct Settings {
    pub group_id: String,
    pub start_offset: StartOffset,
    pub commit_interval: Duration,
    pub commit_max_events: u64,
}

/// State shared by the consume loop and the rebalance callback (both run on
/// the consumer thread; the mutex only satisfies librdkafka's `Sync` bound).
pub(crate) struct Engine {
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
}

impl Engine {
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
        }
    }

    fn handle<M: Message>(&mut self, msg: &M) {
        let Some(topic) = self.pipeline.topic_index(msg.topic()) else {
            return;
        };
        let partition = msg.partition();
        if !self.pipeline.is_assigned(topic, partition) {
            return; // a message fetched before a revocation
        }
        if let Outcome::Rejected(error) =
            self.pipeline
                .process(topic, partition, msg.offset(), msg.payload())
        {
            self.dlq.send(DeadLetter {
                topic: msg.topic(),
                partition,
                offset: msg.offset(),
                key: msg.key(),
                payload: msg.payload().unwrap_or_default(),
                reason: error.reason.as_str(),
                message: &error.message,
            });
            self.pipeline.dead_lettered();
        }
    }

    /// Hand everything since the last cut to the committer (blocks while
    /// the committer is a batch behind: back-pressure when the store is slow).
    fn cut(&mut self) {
        if self.pipeline.pending() == 0 {
            return;
        }
        let batch = self.pipeline.cut();
        metrics::record_batch(&self.pipeline, &batch.stats);
        if self.batches.blocking_send(batch).is_err() {
            self.fatal
                .get_or_insert_with(|| anyhow::anyhow!("the committer stopped"));
            return;
        }
        self.in_flight += 1;
    }

    /// Handle finished commits; with `wait`, until none is in flight.
    fn drain<C: Consumer<ProcessorContext>>(&mut self, consumer: &C, wait: bool) {
        while self.in_flight > 0 {
            let outcome = if wait {
                match self.outcomes.recv_timeout(Duration::from_millis(500)) {
                    Ok(o) => o,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match self.outcomes.try_recv() {
                    Ok(o) => o,
                    Err(_) => break,
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
    /// store is unavailable (until shutdown).
    fn load(&self, topic: &str, partition: i32) -> Option<StoredPartition> {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.runtime.block_on(self.store.load_partition(
                &self.settings.group_id,
                topic,
                partition,
            )) {
                Ok(s) => return Some(s),
                Err(e) if !self.shutdown.is_triggered() => {
                    tracing::warn!(error = %e, topic, partition, "cannot read stored offsets; retrying");
                    ::metrics::counter!(metrics::STORE_ERRORS).increment(1);
                    std::thread::sleep(crate::committer::jittered(backoff));
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(_) => return None,
            }
        }
    }

    fn start_of(&self, stored: &StoredPartition) -> Offset {
        match (stored.next_offset, self.settings.start_offset) {
            (Some(n), _) => Offset::Offset(n),
            (None, StartOffset::Earliest) => Offset::Beginning,
            (None, StartOffset::Latest) => Offset::End,
        }
    }

    /// Take the partitions of `tpl`, positioned at their stored offsets.
    fn assign(&mut self, tpl: &mut TopicPartitionList) {
        let parts: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        for (topic, partition) in parts {
            let Some(t) = self.pipeline.topic_index(&topic) else {
                continue;
            };
            let Some(stored) = self.load(&topic, partition) else {
                continue;
            };
            let start = self.start_of(&stored);
            self.pipeline
                .assign(t, partition, stored.next_offset, &stored.max_event_times);
            let _ = tpl.set_partition_offset(&topic, partition, start);
            tracing::info!(topic, partition, offset = ?start, "partition assigned");
        }
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(self.pipeline.assigned().len() as f64);
        self.assigned_once = true;
    }

    /// Commit what we have for the partitions being taken away, then forget them.
    fn revoke<C: Consumer<ProcessorContext>>(&mut self, consumer: &C) {
        self.cut();
        self.drain(consumer, true);
        self.pipeline.discard();
        ::metrics::gauge!(metrics::ASSIGNED_PARTITIONS).set(0.0);
        tracing::info!("partitions revoked after committing their pending work");
    }

    /// After a fenced commit: drop everything uncommitted and seek every
    /// owned partition back to its stored offset.
    fn resync(&mut self, consumer: &BaseConsumer<ProcessorContext>) {
        self.drain(consumer, true);
        self.needs_resync = false;
        let owned: Vec<(usize, i32)> = self.pipeline.assigned();
        self.pipeline.discard();
        for (t, partition) in owned {
            let topic = self.pipeline.topic_name(t).to_owned();
            let Some(stored) = self.load(&topic, partition) else {
                return;
            };
            let start = self.start_of(&stored);
            self.pipeline
                .assign(t, partition, stored.next_offset, &stored.max_event_times);
            if let Err(e) = consumer.seek(&topic, partition, start, Duration::from_secs(10)) {
                self.fatal.get_or_insert_with(|| {
                    anyhow::anyhow!("cannot seek {topic}[{partition}] to {start:?}: {e}")
                });
            }
        }
    }
}

/// librdkafka callbacks: rebalances (served inside `poll` on the consumer
/// thread) and statistics (consumer lag).
pub(crate) struct ProcessorContext {
    pub engine: Arc<Mutex<Engine>>,
}

impl ProcessorContext {
    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine
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
                self.engine().assign(tpl);
                if let Err(e) = consumer.assign(tpl) {
                    tracing::error!(error = %e, "cannot assign partitions");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.engine().revoke(consumer);
                if let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "cannot unassign partitions");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error; dropping the assignment");
                self.engine().revoke(consumer);
                let _ = consumer.unassign();
            }
        }
    }
}

/// The consume loop; returns after shutdown with everything committed.
pub(crate) fn consume(
    config: ClientConfig,
    engine: Engine,
    mut notifier: Notifier,
) -> anyhow::Result<()> {
    let shutdown = engine.shutdown.clone();
    let topics = engine.pipeline.topic_names();
    let interval = engine.settings.commit_interval;
    let max_events = engine.settings.commit_max_events;
    let engine = Arc::new(Mutex::new(engine));
    let consumer: BaseConsumer<ProcessorContext> = config
        .create_with_context(ProcessorContext {
            engine: engine.clone(),
        })
        .map_err(|e| anyhow::anyhow!("cannot create the Kafka consumer: {e}"))?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&names)
        .map_err(|e| anyhow::anyhow!("cannot subscribe to {names:?}: {e}"))?;
    tracing::info!(topics = ?names, "subscribed; waiting for partitions");

    let lock = || {
        engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let mut ready = false;
    let mut last_cut = Instant::now();
    let mut since_check = 0u32;
    let result = loop {
        if shutdown.is_triggered() {
            break Ok(());
        }
        let polled = consumer.poll(Duration::from_millis(50));
        let mut e = lock();
        match polled {
            Some(Ok(msg)) => {
                e.handle(&msg);
                since_check += 1;
                if e.pipeline.pending() >= max_events {
                    e.cut();
                    last_cut = Instant::now();
                }
                if since_check < 1024 {
                    continue;
                }
            }
            Some(Err(err)) => tracing::warn!(error = %err, "Kafka consumer error"),
            None => {}
        }
        since_check = 0;
        if last_cut.elapsed() >= interval {
            e.cut();
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
            notifier.ready();
            notifier.status("consuming");
        }
        notifier.watchdog();
    };

    notifier.stopping();
    let mut e = lock();
    if result.is_ok() {
        e.cut();
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
