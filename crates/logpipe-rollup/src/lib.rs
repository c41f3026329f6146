//! `logpipe rollup --date D`: the daily batch that replaces the Airflow DAG.
//!
//! It waits until the archive covers day D ([`sensor`]: the day is over in
//! the archive's time zone, every bucket of it has a directory with its
//! `_SUCCESS` marker, the archive has got past what the processor had read
//! and the processor past every archived offset), then reads D's files in
//! any archive format, computes the configured [`daily`] metrics, and
//! [`reconcile`]s per topic and minute: the files' offset ranges chain per
//! partition; the records in the archive, the sum of the files' Kafka
//! offset ranges and the `_SUCCESS` markers' counts agree; and per minute
//! the archive matches the processor's streamed + late + dead-lettered
//! count (`logpipe_event_counts`). D's rows in `daily_metrics` and
//! `daily_reconciliation` are replaced in one transaction ([`store`]);
//! every run's result, a failed one too, is pushed to a Prometheus
//! Pushgateway when one is configured ([`push`]).
//!
//! The archive is read through [`ArchiveSource`]: the binary adapts the
//! archiver's own reader to it, so this crate does not import another
//! daemon.

pub mod config;
pub mod daily;
pub mod push;
pub mod reconcile;
mod run;
pub mod sensor;
pub mod source;
pub mod store;

pub use config::RollupConfig;
pub use run::{run, Job, Outcome, TopicJob};
pub use source::{ArchiveDir, ArchiveFile, ArchiveSource, Bucket, Scan};
