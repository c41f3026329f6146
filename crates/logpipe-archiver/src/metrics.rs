//! Every metric `logpipe archive` exports, declared once. Labels are
//! bounded: topics come from the config, reasons and error kinds from fixed
//! lists in the code — never from record contents.

use logpipe_core::metrics::MetricDef;
use metrics::Unit;

pub const RECORDS_IN: &str = "logpipe_archive_records_in_total";
pub const BYTES_IN: &str = "logpipe_archive_bytes_in_total";
pub const BYTES_WRITTEN: &str = "logpipe_archive_bytes_written_total";
pub const FILES_COMMITTED: &str = "logpipe_archive_files_committed_total";
pub const RECORDS_COMMITTED: &str = "logpipe_archive_records_committed_total";
pub const FILES_ABANDONED: &str = "logpipe_archive_files_abandoned_total";
pub const OPEN_FILES: &str = "logpipe_archive_open_files";
pub const COMMIT_DURATION: &str = "logpipe_archive_commit_duration_seconds";
pub const SINK_ERRORS: &str = "logpipe_archive_sink_errors_total";
pub const RETRIES: &str = "logpipe_archive_retries_total";
pub const ORPHANS_REMOVED: &str = "logpipe_archive_orphans_removed_total";
pub const DLQ_EVENTS: &str = "logpipe_archive_dlq_events_total";
pub const LATE_RECORDS: &str = "logpipe_archive_late_records_total";
pub const TIME_FALLBACKS: &str = "logpipe_archive_time_fallbacks_total";
pub const CONSUMER_LAG: &str = "logpipe_archive_consumer_lag_messages";
pub const ASSIGNED_PARTITIONS: &str = "logpipe_archive_assigned_partitions";
pub const STOPPED_PARTITIONS: &str = "logpipe_archive_stopped_partitions";
pub const SUCCESS_MARKERS: &str = "logpipe_archive_success_markers_total";
pub const LAST_COMMIT: &str = "logpipe_archive_last_commit_timestamp_seconds";
pub const RECORDS_LOST: &str = "logpipe_archive_records_lost_total";

/// The archiver's metrics, for [`logpipe_core::metrics::describe`].
pub const METRICS: &[MetricDef] = &[
    MetricDef::counter(RECORDS_IN, "Kafka records consumed, by topic"),
    MetricDef::counter(BYTES_IN, "Uncompressed bytes of records consumed (values plus newlines), by topic"),
    MetricDef::counter(BYTES_WRITTEN, "Bytes written to the sink after compression, by topic"),
    MetricDef::counter(FILES_COMMITTED, "Files committed (renamed into place), by topic and roll reason"),
    MetricDef::counter(RECORDS_COMMITTED, "Records in committed files, by topic"),
    MetricDef::counter(FILES_ABANDONED, "Files given up after a sink error (their range is re-read from Kafka), by topic"),
    MetricDef::gauge(OPEN_FILES, Unit::Count, "Files currently being written"),
    MetricDef::histogram(COMMIT_DURATION, Unit::Seconds, "Duration of one commit: close the temporary, rename it into place"),
    MetricDef::counter(SINK_ERRORS, "Sink (HDFS or file system) errors, by kind and class (retriable, fatal)"),
    MetricDef::counter(RETRIES, "Partitions re-read from Kafka after a retriable sink error"),
    MetricDef::counter(ORPHANS_REMOVED, "Temporaries of dead writers deleted during recovery"),
    MetricDef::counter(DLQ_EVENTS, "Records that cannot be one line of the archive, sent to <topic>.dlq, by topic and reason"),
    MetricDef::counter(LATE_RECORDS, "Records whose time directory their partition had already left: written to the current one, by topic"),
    MetricDef::counter(TIME_FALLBACKS, "Records without a readable time field, placed by their Kafka timestamp, by topic"),
    MetricDef::gauge(CONSUMER_LAG, Unit::Count, "Messages behind the partition's high watermark (librdkafka statistics)"),
    MetricDef::gauge(ASSIGNED_PARTITIONS, Unit::Count, "Kafka partitions currently owned by this archiver"),
    MetricDef::gauge(STOPPED_PARTITIONS, Unit::Count, "Owned partitions stopped by an error that retrying cannot fix"),
    MetricDef::counter(SUCCESS_MARKERS, "_SUCCESS markers written into complete time directories, by topic"),
    MetricDef::gauge(LAST_COMMIT, Unit::Seconds, "Wall-clock time of the last committed file, by topic (freshness)"),
    MetricDef::counter(RECORDS_LOST, "Records deleted from Kafka before they were archived, by topic and reason (retention: the log start passed the partition's position)"),
];
