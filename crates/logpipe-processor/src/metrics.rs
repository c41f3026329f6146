//! Every metric `logpipe process` exports, declared once. Labels are
//! bounded: topic, partition, aggregation and table names come from the
//! config, reasons and outcomes from fixed lists — never from event fields.

use logpipe_core::metrics::MetricDef;
use metrics::Unit;

use crate::pipeline::{BatchStats, Pipeline};

pub const EVENTS_IN: &str = "logpipe_process_events_in_total";
pub const EVENTS_DECODED: &str = "logpipe_process_events_decoded_total";
pub const LATE_EVENTS: &str = "logpipe_late_events_total";
pub const UNPIVOTED_EVENTS: &str = "logpipe_process_unpivoted_events_total";
pub const DLQ_EVENTS: &str = "logpipe_process_dlq_events_total";
pub const WINDOWS_EMITTED: &str = "logpipe_process_windows_emitted_total";
pub const ROWS_UPSERTED: &str = "logpipe_process_rows_upserted_total";
pub const COMMIT_DURATION: &str = "logpipe_process_commit_duration_seconds";
pub const COMMITS: &str = "logpipe_process_commits_total";
pub const STORE_ERRORS: &str = "logpipe_process_store_errors_total";
pub const CONSUMER_LAG: &str = "logpipe_process_consumer_lag_messages";
pub const WATERMARK: &str = "logpipe_process_watermark_seconds";
pub const ASSIGNED_PARTITIONS: &str = "logpipe_process_assigned_partitions";
pub const LAST_COMMIT: &str = "logpipe_process_last_commit_timestamp_seconds";
pub const EVENTS_LOST: &str = "logpipe_process_events_lost_total";
pub const DUPLICATES_SKIPPED: &str = "logpipe_process_duplicates_skipped_total";
pub const STOPPED_PARTITIONS: &str = "logpipe_process_stopped_partitions";
pub const STORE_AVAILABLE: &str = "logpipe_process_store_available";
pub const DLQ_FAILURES: &str = "logpipe_process_dlq_failures_total";
pub const KAFKA_ERRORS: &str = "logpipe_process_kafka_errors_total";
pub const REBALANCES: &str = "logpipe_process_rebalances_total";

/// The processor's metrics, for [`logpipe_core::metrics::describe`].
pub const METRICS: &[MetricDef] = &[
    MetricDef::counter(EVENTS_IN, "Kafka messages consumed (re-delivered duplicates aside), by topic; trails reading by at most 1024 messages"),
    MetricDef::counter(EVENTS_DECODED, "Messages decoded and accepted by every aggregation and table of their topic"),
    MetricDef::counter(LATE_EVENTS, "Events older than their partition's watermark: counted, not aggregated, by aggregation"),
    MetricDef::counter(UNPIVOTED_EVENTS, "Events whose pivot field has a value not listed in the config (not counted), by aggregation"),
    MetricDef::counter(DLQ_EVENTS, "Undecodable or invalid events sent to <topic>.dlq, by topic and reason"),
    MetricDef::counter(WINDOWS_EMITTED, "Windows whose end has passed the watermark of every owned partition (final), by aggregation"),
    MetricDef::counter(ROWS_UPSERTED, "Rows inserted or updated in the store, by table"),
    MetricDef::histogram(COMMIT_DURATION, Unit::Seconds, "Duration of one commit transaction (deltas + offsets)"),
    MetricDef::counter(COMMITS, "Commit attempts by outcome: ok, fenced, retry, fatal"),
    MetricDef::counter(STORE_ERRORS, "Store errors that were retried after a back-off"),
    MetricDef::gauge(CONSUMER_LAG, Unit::Count, "Messages behind the partition's high watermark (librdkafka statistics)"),
    MetricDef::gauge(WATERMARK, Unit::Seconds, "Event-time watermark per aggregation and partition, as seconds since the epoch"),
    MetricDef::gauge(ASSIGNED_PARTITIONS, Unit::Count, "Kafka partitions currently owned by this processor"),
    MetricDef::gauge(LAST_COMMIT, Unit::Seconds, "Wall-clock time of the last successful commit (freshness)"),
    MetricDef::counter(EVENTS_LOST, "Events never processed, by topic and reason (retention: deleted below the stored offset before they were read)"),
    MetricDef::counter(DUPLICATES_SKIPPED, "Messages below their partition's stored position (re-delivered), skipped, by topic"),
    MetricDef::gauge(STOPPED_PARTITIONS, Unit::Count, "Owned partitions left unread because their stored offset is beyond the log end (see on_offset_reset), by topic"),
    MetricDef::gauge(STORE_AVAILABLE, Unit::Count, "1 while the store accepts commits, 0 while the processor backs off (partitions paused)"),
    MetricDef::counter(DLQ_FAILURES, "Failed attempts to deliver a batch's dead letters (topic missing or unwritable); the batch is retried after a back-off, its offsets uncommitted"),
    MetricDef::counter(KAFKA_ERRORS, "Kafka client errors that were logged and survived, by kind (transient) — fatal ones stop the daemon"),
    MetricDef::counter(REBALANCES, "Consumer group rebalances seen, by kind: assign, revoke"),
];

/// Publish one cut batch's counts.
pub fn record_batch(p: &Pipeline, stats: &BatchStats) {
    use crate::decode::RejectReason;
    for (t, n) in stats.events_in.iter().enumerate() {
        if *n > 0 {
            let topic = p.topic_name(t).to_owned();
            // EVENTS_IN is published by the consumer as it reads.
            metrics::counter!(EVENTS_DECODED, "topic" => topic.clone()).increment(stats.decoded[t]);
            if stats.duplicates[t] > 0 {
                metrics::counter!(DUPLICATES_SKIPPED, "topic" => topic.clone())
                    .increment(stats.duplicates[t]);
            }
            for reason in RejectReason::ALL {
                let n = stats.rejected[t][reason.index()];
                if n > 0 {
                    metrics::counter!(DLQ_EVENTS, "topic" => topic.clone(), "reason" => reason.as_str()).increment(n);
                }
            }
        }
    }
    for a in 0..p.aggregation_count() {
        let name = p.aggregation_name(a).to_owned();
        if stats.late[a] > 0 {
            metrics::counter!(LATE_EVENTS, "aggregation" => name.clone()).increment(stats.late[a]);
        }
        if stats.unpivoted[a] > 0 {
            metrics::counter!(UNPIVOTED_EVENTS, "aggregation" => name.clone())
                .increment(stats.unpivoted[a]);
        }
        if stats.windows_closed[a] > 0 {
            metrics::counter!(WINDOWS_EMITTED, "aggregation" => name)
                .increment(stats.windows_closed[a]);
        }
    }
    for (a, topic, partition, wm) in &stats.watermarks {
        metrics::gauge!(WATERMARK, "aggregation" => p.aggregation_name(*a).to_owned(), "topic" => topic.clone(), "partition" => partition.to_string())
            .set(crate::event_time::to_seconds(*wm));
    }
}

/// Publish consumer lag from a librdkafka statistics JSON document.
pub fn record_lag(stats_json: &[u8]) {
    logpipe_core::metrics::record_consumer_lag(stats_json, CONSUMER_LAG);
}
