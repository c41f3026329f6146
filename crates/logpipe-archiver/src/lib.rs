//! `logpipe archive`: copies Kafka topics into HDFS (or a local/NFS
//! directory) exactly once, without a write-ahead log. Each file is written
//! under a hidden temporary name, closed, and renamed to a name that carries
//! its Kafka offset range — the rename is the commit, and the names are the
//! only state: on every assignment a partition resumes after the largest
//! committed end offset found in them.
//!
//! Data flows one way: Kafka → [`consumer`] → [`writer`] ([`format`] encodes,
//! [`rolling`] decides when to commit, [`path`] where) → [`sink`];
//! [`recovery`] reads the archive back on assignment. [`flume`] maps an
//! Apache Flume agent config onto `[archive]`, for migrations.

pub mod config;
mod consumer;
pub mod flume;
pub mod format;
mod marker;
pub mod metrics;
pub mod path;
pub mod recovery;
pub mod rolling;
mod run;
pub mod sink;
pub mod verify;
mod writer;

pub use config::ArchiveConfig;
pub use run::{consumer_config, run};
