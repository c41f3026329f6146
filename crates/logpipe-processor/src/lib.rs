//! `logpipe process`: consumes JSON events from Kafka, aggregates them into
//! event-time windows (and record tables) and upserts the results into
//! MariaDB or SQLite, committing each batch's deltas together with the Kafka
//! offsets in one fenced transaction — effectively exactly-once.
//!
//! Data flows one way: Kafka → `decode` → [`pipeline`] (watermark,
//! `aggregate`, `records`) → [`store`]; bad events go to the dead-letter
//! topic ([`logpipe_core::dead_letter`]).
//!
//! Public: what the binary, the demo, the tests and the benchmarks drive —
//! [`run`] and its [`ProcessConfig`], the in-memory [`pipeline`] (the core
//! path, without Kafka), the [`store`] it commits to, and [`log_data`], the
//! reader of the seed's table. The rest is the daemon's own.

mod aggregate;
mod committer;
pub mod config;
mod consumer;
mod decode;
mod event_time;
pub mod log_data;
mod metrics;
pub mod pipeline;
mod records;
mod run;
pub mod store;
mod window;

pub use config::ProcessConfig;
pub use run::run;
