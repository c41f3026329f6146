//! The processor without Kafka or a database: routes each message of a
//! partition through decode → watermark → aggregations and record tables,
//! tracks each partition's next offset and watermarks, and cuts the work
//! since the last commit into a [`CommitBatch`]. The Kafka loop, the file
//! input of the benchmarks and the tests all drive this same code.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use crate::aggregate::{AggregateTable, Aggregator, WindowRow};
use crate::config::ProcessConfig;
use crate::decode::{decode, FieldSet, RejectReason, Rejected};
use crate::event_time::Millis;
use crate::records::{RecordTable, RecordWriter, SqlValue};
use crate::window::Watermark;

/// Output tables the store must create and write.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// By aggregation index.
    pub aggregates: Vec<AggregateTable>,
    /// Late-event table of each aggregation, if configured.
    pub late_tables: Vec<Option<String>>,
    pub records: Vec<RecordTable>,
}

/// The next offset of one partition, fenced on the value the store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAdvance {
    pub topic: String,
    pub partition: i32,
    /// What the offsets table should hold now (`None`: no row yet).
    pub expected: Option<i64>,
    pub next: i64,
}

/// Latest event time seen by one aggregation in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkRow {
    pub aggregation: String,
    pub topic: String,
    pub partition: i32,
    pub max_event_time: Millis,
}

/// An event that arrived after its aggregation's watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct LateEvent {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub event_time: Millis,
    pub watermark: Millis,
    pub payload: String,
}

/// Events of one topic whose time falls in one minute, added by a commit.
/// The topic's first aggregation decides the time and whether it is late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCount {
    pub topic: String,
    /// Start of the minute, UTC epoch seconds.
    pub minute_start: i64,
    /// Aggregated (on time).
    pub events: u64,
    /// After the watermark: counted, not aggregated.
    pub late: u64,
    /// Dead-lettered although the time was readable (a group field
    /// missing, say): in the archive, in no aggregate.
    pub rejected: u64,
}

/// The start of `t`'s minute (ms).
fn minute_of(t: Millis) -> Millis {
    t - t.rem_euclid(60_000)
}

/// Counts of one batch, for metrics.
#[derive(Debug, Clone, Default)]
pub struct BatchStats {
    /// By topic index: messages consumed, and decoded successfully.
    pub events_in: Vec<u64>,
    pub decoded: Vec<u64>,
    /// By topic index: messages below their partition's position, skipped.
    pub duplicates: Vec<u64>,
    /// By topic index and [`RejectReason::index`].
    pub rejected: Vec<[u64; RejectReason::ALL.len()]>,
    /// By aggregation index.
    pub late: Vec<u64>,
    pub unpivoted: Vec<u64>,
    pub windows_closed: Vec<u64>,
    /// By aggregation index, partition: the watermark after this batch.
    pub watermarks: Vec<(usize, String, i32, Millis)>,
}

/// Everything one commit writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct CommitBatch {
    pub id: u64,
    pub events: u64,
    /// (aggregation index, window deltas)
    pub aggregates: Vec<(usize, Vec<WindowRow>)>,
    /// (aggregation index, late events) for aggregations with a late table.
    pub late: Vec<(usize, Vec<LateEvent>)>,
    /// (record table index, rows)
    pub records: Vec<(usize, Vec<Vec<SqlValue>>)>,
    pub offsets: Vec<OffsetAdvance>,
    pub watermarks: Vec<WatermarkRow>,
    /// Sorted by topic and minute.
    pub event_counts: Vec<EventCount>,
    pub stats: BatchStats,
    /// Messages of this batch for dead-letter topics: the committer
    /// delivers them (again, after a failure) before it commits the
    /// offsets past them.
    pub dead_letters: std::sync::Arc<Vec<DeadLetterRecord>>,
}

/// A rejected message kept for its dead-letter topic until delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub reason: &'static str,
    pub message: String,
}

impl DeadLetterRecord {
    pub fn as_letter(&self) -> logpipe_core::dead_letter::DeadLetter<'_> {
        logpipe_core::dead_letter::DeadLetter {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            key: self.key.as_deref(),
            payload: &self.payload,
            reason: self.reason,
            message: &self.message,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accepted,
    /// Offset below the partition's position (re-delivered): ignored.
    Duplicate,
    Rejected(Rejected),
}

struct TopicRoute {
    name: String,
    fields: FieldSet,
    aggregators: Vec<usize>,
    writers: Vec<usize>,
}

#[derive(Debug)]
struct PartitionState {
    next_offset: Option<i64>,
    /// The offsets table's value, as of the last cut (optimistically).
    committed: Option<i64>,
    /// By position in the topic's aggregator list.
    watermarks: Vec<Watermark>,
    dirty: bool,
}

/// Routes messages to aggregations and record tables; see the module docs.
pub struct Pipeline {
    topics: Vec<TopicRoute>,
    aggregators: Vec<Aggregator>,
    writers: Vec<RecordWriter>,
    partitions: FxHashMap<(usize, i32), PartitionState>,
    late: Vec<Vec<LateEvent>>,
    /// (topic index, minute start in ms) → (on time, late, rejected),
    /// since the last cut.
    minutes: FxHashMap<(usize, Millis), (u64, u64, u64)>,
    open_windows: Vec<BTreeSet<Millis>>,
    stats: BatchStats,
    pending: u64,
    dead_letters: Vec<DeadLetterRecord>,
    max_event_size: usize,
    /// Event times above this are rejected as `future_timestamp`: the
    /// processing clock (read again before rejecting) plus `max_future_skew`.
    future_limit: Millis,
    max_future_skew: Millis,
    clock: fn() -> Millis,
    next_batch: u64,
}

/// The processing clock: milliseconds since the epoch.
pub fn system_clock() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// Open windows tracked per aggregation for the `windows_closed` metric.
const MAX_OPEN_WINDOWS: usize = 100_000;

impl Pipeline {
    pub fn new(config: &ProcessConfig) -> Self {
        let mut topics: Vec<TopicRoute> = Vec::new();
        let route = |topics: &mut Vec<TopicRoute>, name: &str| -> usize {
            if let Some(i) = topics.iter().position(|t| t.name == name) {
                return i;
            }
            topics.push(TopicRoute {
                name: name.to_owned(),
                fields: FieldSet::default(),
                aggregators: vec![],
                writers: vec![],
            });
            topics.len() - 1
        };
        let mut aggregators = Vec::new();
        for a in &config.aggregation {
            let t = route(&mut topics, &a.topic);
            topics[t].aggregators.push(aggregators.len());
            aggregators.push(Aggregator::new(a, &mut topics[t].fields));
        }
        let mut writers = Vec::new();
        for r in &config.table {
            let t = route(&mut topics, &r.topic);
            topics[t].writers.push(writers.len());
            writers.push(RecordWriter::new(r, &mut topics[t].fields));
        }
        let n_topics = topics.len();
        let n_aggs = aggregators.len();
        let mut p = Self {
            topics,
            aggregators,
            writers,
            partitions: FxHashMap::default(),
            late: vec![Vec::new(); n_aggs],
            minutes: FxHashMap::default(),
            open_windows: vec![BTreeSet::new(); n_aggs],
            stats: BatchStats::default(),
            pending: 0,
            dead_letters: Vec::new(),
            max_event_size: config.max_event_size.0 as usize,
            future_limit: Millis::MIN,
            max_future_skew: config.max_future_skew.get().as_millis() as Millis,
            clock: system_clock,
            next_batch: 1,
        };
        p.stats = p.empty_stats(n_topics, n_aggs);
        p
    }

    /// Read the processing clock from `clock` instead of the system's (tests).
    pub fn with_clock(mut self, clock: fn() -> Millis) -> Self {
        self.clock = clock;
        self.future_limit = Millis::MIN;
        self
    }

    fn empty_stats(&self, topics: usize, aggs: usize) -> BatchStats {
        BatchStats {
            events_in: vec![0; topics],
            decoded: vec![0; topics],
            duplicates: vec![0; topics],
            rejected: vec![[0; RejectReason::ALL.len()]; topics],
            late: vec![0; aggs],
            unpivoted: vec![0; aggs],
            windows_closed: vec![0; aggs],
            watermarks: Vec::new(),
        }
    }

    pub fn schema(&self) -> Schema {
        Schema {
            aggregates: self.aggregators.iter().map(|a| a.table.clone()).collect(),
            late_tables: self
                .aggregators
                .iter()
                .map(|a| a.late_table.clone())
                .collect(),
            records: self.writers.iter().map(|w| w.table.clone()).collect(),
        }
    }

    /// Topics to subscribe to.
    pub fn topic_names(&self) -> Vec<String> {
        self.topics.iter().map(|t| t.name.clone()).collect()
    }

    pub fn topic_name(&self, topic: usize) -> &str {
        &self.topics[topic].name
    }

    pub fn topic_index(&self, name: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.name == name)
    }

    pub fn aggregation_name(&self, agg: usize) -> &str {
        &self.aggregators[agg].name
    }

    pub fn aggregation_count(&self) -> usize {
        self.aggregators.len()
    }

    /// Aggregations reading `topic`, by name.
    pub fn aggregations_of(&self, topic: usize) -> Vec<String> {
        self.topics[topic]
            .aggregators
            .iter()
            .map(|&a| self.aggregators[a].name.clone())
            .collect()
    }

    /// Take ownership of a partition: `next_offset` as stored (`None`: no
    /// row yet) and the stored max event time per aggregation name.
    pub fn assign(
        &mut self,
        topic: usize,
        partition: i32,
        next_offset: Option<i64>,
        max_event_times: &[(String, Millis)],
    ) {
        self.assign_from(topic, partition, next_offset, next_offset, max_event_times);
    }

    /// [`Pipeline::assign`] reading from `position` rather than the stored
    /// offset (a partition started over after its topic was recreated):
    /// offsets below `position` are duplicates, and the first commit is
    /// still fenced on `stored`.
    pub fn assign_from(
        &mut self,
        topic: usize,
        partition: i32,
        stored: Option<i64>,
        position: Option<i64>,
        max_event_times: &[(String, Millis)],
    ) {
        let watermarks = self.topics[topic]
            .aggregators
            .iter()
            .map(|&a| {
                let agg = &self.aggregators[a];
                let max = max_event_times
                    .iter()
                    .find(|(n, _)| *n == agg.name)
                    .map(|(_, t)| *t);
                Watermark::new(agg.lateness, max)
            })
            .collect();
        self.partitions.insert(
            (topic, partition),
            PartitionState {
                next_offset: position,
                committed: stored,
                watermarks,
                dirty: false,
            },
        );
    }

    /// Give up a partition (its uncommitted work must have been cut or discarded).
    pub fn revoke(&mut self, topic: usize, partition: i32) {
        self.partitions.remove(&(topic, partition));
    }

    pub fn is_assigned(&self, topic: usize, partition: i32) -> bool {
        self.partitions.contains_key(&(topic, partition))
    }

    /// Partitions currently owned.
    pub fn assigned(&self) -> Vec<(usize, i32)> {
        let mut v: Vec<_> = self.partitions.keys().copied().collect();
        v.sort();
        v
    }

    /// The next offset to read of an owned partition.
    pub fn position(&self, topic: usize, partition: i32) -> Option<i64> {
        self.partitions
            .get(&(topic, partition))
            .and_then(|p| p.next_offset)
    }

    /// Events taken in since the last cut.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Keep a rejected message for its dead-letter topic (sent with the batch).
    pub fn dead_letter(&mut self, letter: DeadLetterRecord) {
        self.dead_letters.push(letter);
    }

    /// Process one message of an owned partition (an unknown partition is
    /// assigned with no stored offset).
    pub fn process(
        &mut self,
        topic: usize,
        partition: i32,
        offset: i64,
        payload: Option<&[u8]>,
    ) -> Outcome {
        let route = &self.topics[topic];
        let aggregators = &mut self.aggregators;
        let state = self
            .partitions
            .entry((topic, partition))
            .or_insert_with(|| PartitionState {
                next_offset: None,
                committed: None,
                watermarks: route
                    .aggregators
                    .iter()
                    .map(|&a| Watermark::new(aggregators[a].lateness, None))
                    .collect(),
                dirty: false,
            });
        if state.next_offset.is_some_and(|next| offset < next) {
            self.stats.duplicates[topic] += 1;
            return Outcome::Duplicate;
        }
        state.next_offset = Some(offset + 1);
        state.dirty = true;
        self.pending += 1;
        self.stats.events_in[topic] += 1;

        // The first aggregation's time, if readable, also for a rejection.
        let mut read_time = None;
        let result: Result<(), Rejected> = (|| {
            let payload = payload.ok_or_else(|| {
                Rejected::new(RejectReason::InvalidJson, "message has no payload")
            })?;
            let fields = decode(payload, &route.fields, self.max_event_size)?;
            for (i, &a) in route.aggregators.iter().enumerate() {
                let prepared = aggregators[a].prepare(&fields, &route.fields);
                if i == 0 {
                    read_time = aggregators[a].read_time();
                }
                let t = prepared?;
                if t > self.future_limit {
                    self.future_limit = (self.clock)().saturating_add(self.max_future_skew);
                    if t > self.future_limit {
                        return Err(future_timestamp(
                            t,
                            self.future_limit - self.max_future_skew,
                            self.max_future_skew,
                        ));
                    }
                }
            }
            for &w in &route.writers {
                self.writers[w].prepare(&fields, &route.fields)?;
            }
            for (i, &a) in route.aggregators.iter().enumerate() {
                let agg = &mut aggregators[a];
                let watermark = &mut state.watermarks[i];
                let before = watermark.get();
                let t = agg.prepared_time();
                let on_time = watermark.observe(t);
                if i == 0 {
                    let n = self.minutes.entry((topic, minute_of(t))).or_default();
                    if on_time {
                        n.0 += 1;
                    } else {
                        n.1 += 1;
                    }
                }
                if on_time {
                    if !agg.apply(&fields) {
                        self.stats.unpivoted[a] += 1;
                    }
                } else {
                    self.stats.late[a] += 1;
                    if agg.late_table.is_some() {
                        self.late[a].push(LateEvent {
                            topic: route.name.clone(),
                            partition,
                            offset,
                            event_time: t,
                            watermark: before.unwrap_or(t),
                            payload: String::from_utf8_lossy(payload).into_owned(),
                        });
                    }
                }
            }
            for &w in &route.writers {
                self.writers[w].apply();
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                self.stats.decoded[topic] += 1;
                Outcome::Accepted
            }
            Err(e) => {
                self.stats.rejected[topic][e.reason.index()] += 1;
                if let Some(t) = read_time {
                    self.minutes.entry((topic, minute_of(t))).or_default().2 += 1;
                }
                Outcome::Rejected(e)
            }
        }
    }

    /// Everything since the last cut, as one commit; starts the next batch.
    /// The partitions' expected stored offsets move on optimistically (a
    /// failed commit is followed by [`Pipeline::discard`] and re-assignment).
    pub fn cut(&mut self) -> CommitBatch {
        let mut batch = CommitBatch {
            id: self.next_batch,
            events: self.pending,
            ..Default::default()
        };
        self.next_batch += 1;
        for (i, agg) in self.aggregators.iter_mut().enumerate() {
            if agg.has_pending() {
                let rows = agg.take_window_rows();
                self.open_windows[i].extend(rows.iter().map(|r| r.end));
                batch.aggregates.push((i, rows));
            }
            if !self.late[i].is_empty() {
                batch.late.push((i, std::mem::take(&mut self.late[i])));
            }
        }
        let mut counts: Vec<_> = self.minutes.drain().collect();
        counts.sort_unstable_by_key(|&(k, _)| k);
        batch.event_counts = counts
            .into_iter()
            .map(|((t, minute), (events, late, rejected))| EventCount {
                topic: self.topics[t].name.clone(),
                minute_start: minute.div_euclid(1000),
                events,
                late,
                rejected,
            })
            .collect();
        for (i, w) in self.writers.iter_mut().enumerate() {
            if w.has_pending() {
                batch.records.push((i, w.take_rows()));
            }
        }
        let mut keys: Vec<_> = self.partitions.keys().copied().collect();
        keys.sort();
        for key in &keys {
            let state = self.partitions.get_mut(key).expect("key from map");
            let topic = &self.topics[key.0];
            for (i, &a) in topic.aggregators.iter().enumerate() {
                if let (Some(max), Some(wm)) = (
                    state.watermarks[i].max_event_time(),
                    state.watermarks[i].get(),
                ) {
                    batch
                        .stats
                        .watermarks
                        .push((a, topic.name.clone(), key.1, wm));
                    if state.dirty {
                        batch.watermarks.push(WatermarkRow {
                            aggregation: self.aggregators[a].name.clone(),
                            topic: topic.name.clone(),
                            partition: key.1,
                            max_event_time: max,
                        });
                    }
                }
            }
            if state.dirty {
                let next = state.next_offset.expect("dirty partitions have a position");
                batch.offsets.push(OffsetAdvance {
                    topic: topic.name.clone(),
                    partition: key.1,
                    expected: state.committed,
                    next,
                });
                state.committed = Some(next);
                state.dirty = false;
            }
        }
        // Windows whose end every owned partition's watermark has passed are final.
        for (t, topic) in self.topics.iter().enumerate() {
            for (i, &a) in topic.aggregators.iter().enumerate() {
                let min_wm = keys
                    .iter()
                    .filter(|k| k.0 == t)
                    .map(|k| self.partitions[k].watermarks[i].get())
                    .min()
                    .flatten();
                let open = &mut self.open_windows[a];
                if let Some(wm) = min_wm {
                    let still_open = open.split_off(&(wm + 1));
                    self.stats.windows_closed[a] += open.len() as u64;
                    *open = still_open;
                }
                while open.len() > MAX_OPEN_WINDOWS {
                    open.pop_first();
                    self.stats.windows_closed[a] += 1;
                }
            }
        }
        let fresh = self.empty_stats(self.topics.len(), self.aggregators.len());
        let mut stats = std::mem::replace(&mut self.stats, fresh);
        stats.watermarks = std::mem::take(&mut batch.stats.watermarks);
        batch.stats = stats;
        batch.dead_letters = std::sync::Arc::new(std::mem::take(&mut self.dead_letters));
        self.pending = 0;
        batch
    }

    /// Drop all uncommitted work and every partition (before re-assigning
    /// them from the store's offsets).
    pub fn discard(&mut self) {
        for a in &mut self.aggregators {
            a.discard();
        }
        for w in &mut self.writers {
            w.discard();
        }
        for l in &mut self.late {
            l.clear();
        }
        self.minutes.clear();
        self.partitions.clear();
        self.stats = self.empty_stats(self.topics.len(), self.aggregators.len());
        self.pending = 0;
        self.dead_letters.clear();
    }
}

/// The rejection of an event stamped `t`, more than `skew` after `now`.
fn future_timestamp(t: Millis, now: Millis, skew: Millis) -> Rejected {
    let ahead = std::time::Duration::from_millis((t - now).max(0) as u64);
    let skew = std::time::Duration::from_millis(skew.max(0) as u64);
    Rejected::new(
        RejectReason::FutureTimestamp,
        format!(
            "event time {} is {} ahead of the processing clock ({}), more than max_future_skew ({})",
            crate::event_time::to_datetime(t).and_utc().to_rfc3339(),
            logpipe_core::config::HumanDuration(std::time::Duration::from_secs(ahead.as_secs())),
            crate::event_time::to_datetime(now).and_utc().to_rfc3339(),
            logpipe_core::config::HumanDuration(skew),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AggregationConfig;

    fn seed() -> Pipeline {
        Pipeline::new(&ProcessConfig::default())
    }

    fn ev(t: f64, level: &str) -> Vec<u8> {
        format!(r#"{{"timestamp": {t}, "level": "{level}", "message": "m"}}"#).into_bytes()
    }

    #[test]
    fn late_event_is_counted_not_aggregated() {
        let mut p = seed();
        let mut config = ProcessConfig::default();
        config.aggregation[0].late_table = Some("log_data_late".into());
        let mut p2 = Pipeline::new(&config);
        for p in [&mut p, &mut p2] {
            p.assign(0, 0, None, &[]);
            assert_eq!(
                p.process(0, 0, 0, Some(&ev(100.0, "INFO"))),
                Outcome::Accepted
            );
            // within lateness (watermark 70 s), and exactly at the watermark
            assert_eq!(
                p.process(0, 0, 1, Some(&ev(80.0, "INFO"))),
                Outcome::Accepted
            );
            assert_eq!(
                p.process(0, 0, 2, Some(&ev(70.0, "WARN"))),
                Outcome::Accepted
            );
            // beyond lateness
            assert_eq!(
                p.process(0, 0, 3, Some(&ev(69.9, "ERROR"))),
                Outcome::Accepted
            );
        }
        let b = p.cut();
        assert_eq!(b.stats.late, [1]);
        let error_total: f64 = b.aggregates[0].1.iter().map(|r| r.values[3]).sum();
        assert_eq!(error_total, 0.0, "late ERROR not aggregated");
        let info_total: f64 = b.aggregates[0].1.iter().map(|r| r.values[1]).sum();
        assert_eq!(info_total, 4.0, "two INFO events, each in two windows");
        assert_eq!(
            b.offsets,
            [OffsetAdvance {
                topic: "logs".into(),
                partition: 0,
                expected: None,
                next: 4
            }]
        );
        assert_eq!(b.watermarks[0].max_event_time, 100_000);
        let b2 = p2.cut();
        assert_eq!(b2.late[0].1.len(), 1);
        assert_eq!(b2.late[0].1[0].offset, 3);
        assert_eq!(b2.late[0].1[0].watermark, 70_000);
    }

    #[test]
    fn events_are_counted_per_minute_on_time_and_late_once_per_commit() {
        let mut p = seed();
        p.assign(0, 0, None, &[]);
        for (offset, t) in [(0, 130.0), (1, 59.0), (2, 61.0), (3, 125.0), (4, 179.5)] {
            assert_eq!(
                p.process(0, 0, offset, Some(&ev(t, "INFO"))),
                Outcome::Accepted
            );
        }
        // not JSON: no time, so in no minute
        assert!(matches!(
            p.process(0, 0, 5, Some(b"{oops")),
            Outcome::Rejected(_)
        ));
        // a readable time but no level: dead-lettered, counted as rejected
        assert!(matches!(
            p.process(0, 0, 6, Some(b"{\"timestamp\": 185.0}")),
            Outcome::Rejected(ref r) if r.reason == RejectReason::MissingField
        ));
        // no time at all (the previous event's time must not be reused)
        assert!(matches!(
            p.process(0, 0, 7, Some(b"{\"level\": \"INFO\"}")),
            Outcome::Rejected(_)
        ));
        let count = |topic: &str, minute_start, events, late, rejected| EventCount {
            topic: topic.into(),
            minute_start,
            events,
            late,
            rejected,
        };
        // watermark 100 s after the first event: 59 s and 61 s are late
        assert_eq!(
            p.cut().event_counts,
            [
                count("logs", 0, 0, 1, 0),
                count("logs", 60, 0, 1, 0),
                count("logs", 120, 3, 0, 0),
                count("logs", 180, 0, 0, 1)
            ]
        );
        assert_eq!(p.cut().event_counts, [], "each event counted by one commit");
        p.process(0, 0, 8, Some(&ev(181.0, "WARN")));
        p.discard();
        assert_eq!(p.cut().event_counts, [], "discarded with the batch");
    }

    #[test]
    fn watermarks_are_per_partition_and_restored_on_assignment() {
        let mut p = seed();
        p.assign(0, 0, Some(10), &[("log_data".into(), 200_000)]);
        p.assign(0, 1, None, &[]);
        // partition 0's stored watermark (170 s) makes this late; partition 1 has none yet
        assert_eq!(
            p.process(0, 0, 10, Some(&ev(100.0, "INFO"))),
            Outcome::Accepted
        );
        assert_eq!(
            p.process(0, 1, 0, Some(&ev(100.0, "INFO"))),
            Outcome::Accepted
        );
        // re-delivered offset is ignored
        assert_eq!(
            p.process(0, 0, 9, Some(&ev(300.0, "INFO"))),
            Outcome::Duplicate
        );
        let b = p.cut();
        assert_eq!(b.stats.late, [1]);
        assert_eq!(
            b.offsets,
            [
                OffsetAdvance {
                    topic: "logs".into(),
                    partition: 0,
                    expected: Some(10),
                    next: 11
                },
                OffsetAdvance {
                    topic: "logs".into(),
                    partition: 1,
                    expected: None,
                    next: 1
                },
            ]
        );
        p.process(0, 0, 11, Some(&ev(300.0, "INFO")));
        let b = p.cut();
        assert_eq!(
            b.offsets[0].expected,
            Some(11),
            "expected offsets chain across batches"
        );
    }

    #[test]
    fn rejected_events_advance_the_offset_and_are_counted() {
        let mut p = seed();
        let out = p.process(0, 0, 0, Some(b"{\"level\": \"INFO\"}"));
        assert!(
            matches!(out, Outcome::Rejected(ref r) if r.reason == RejectReason::MissingField),
            "{out:?}"
        );
        let out = p.process(0, 0, 1, None);
        assert!(matches!(out, Outcome::Rejected(ref r) if r.reason == RejectReason::InvalidJson));
        let b = p.cut();
        assert_eq!(b.offsets[0].next, 2);
        assert_eq!(b.stats.rejected[0][RejectReason::MissingField.index()], 1);
        assert!(b.aggregates.is_empty());
    }

    #[test]
    fn far_future_event_is_rejected_and_leaves_the_watermark_alone() {
        // The processing clock stands at 1000 s; the default skew is 10 minutes.
        let mut p = seed().with_clock(|| 1_000_000);
        assert_eq!(
            p.process(0, 0, 0, Some(&ev(990.0, "INFO"))),
            Outcome::Accepted
        );
        let out = p.process(0, 0, 1, Some(&ev(253_402_300_799.0, "ERROR")));
        let Outcome::Rejected(r) = out else {
            panic!("a year-9999 event must be rejected: {out:?}")
        };
        assert_eq!(r.reason, RejectReason::FutureTimestamp);
        assert!(
            r.message.contains("9999-12-31T23:59:59+00:00")
                && r.message.contains("max_future_skew (10m)"),
            "{}",
            r.message
        );
        // exactly at the limit is accepted; a later in-order event is on time
        assert_eq!(
            p.process(0, 0, 2, Some(&ev(1600.0, "WARN"))),
            Outcome::Accepted
        );
        assert_eq!(
            p.process(0, 0, 3, Some(&ev(1580.0, "INFO"))),
            Outcome::Accepted
        );
        let b = p.cut();
        assert_eq!(b.stats.late, [0], "nothing became late");
        assert_eq!(
            b.stats.rejected[0][RejectReason::FutureTimestamp.index()],
            1
        );
        assert_eq!(b.watermarks[0].max_event_time, 1_600_000);
        assert_eq!(
            b.offsets[0].next, 4,
            "the rejected event's offset is passed"
        );
        let error_total: f64 = b.aggregates[0].1.iter().map(|r| r.values[3]).sum();
        assert_eq!(error_total, 0.0, "the future ERROR is not aggregated");
    }

    #[test]
    fn windows_close_when_the_watermark_passes_their_end() {
        let mut p = seed();
        p.process(0, 0, 0, Some(&ev(10.0, "INFO")));
        let b = p.cut();
        assert_eq!(b.stats.windows_closed, [0]);
        // max 75 s → watermark 45 s closes [-15,15) and [0,30); the new
        // event's windows [45,75) and [60,90) stay open
        p.process(0, 0, 1, Some(&ev(75.0, "INFO")));
        let b = p.cut();
        assert_eq!(b.stats.windows_closed, [2]);
        // an event at 120 s: watermark 90 s closes [60,90) (end == watermark)
        p.process(0, 0, 2, Some(&ev(120.0, "INFO")));
        let b = p.cut();
        assert_eq!(b.stats.windows_closed, [1]);
    }

    #[test]
    fn one_event_updates_one_pane_even_for_many_windows() {
        let mut config = ProcessConfig::default();
        config.aggregation = vec![AggregationConfig {
            slide: Some(logpipe_core::config::HumanDuration::from_secs(1)),
            window: logpipe_core::config::HumanDuration::from_secs(3600),
            pivot: None,
            ..AggregationConfig::seed_log_data()
        }];
        let mut p = Pipeline::new(&config);
        for i in 0..1000 {
            p.process(0, 0, i, Some(&ev(7200.0 + (i % 10) as f64 / 10.0, "INFO")));
        }
        let b = p.cut();
        let rows = &b.aggregates[0].1;
        assert_eq!(rows.len(), 3600);
        assert!(rows.iter().all(|r| r.values[0] == 1000.0));
    }
}
