//! `logpipe process`: consumes JSON events from Kafka, aggregates them into
//! event-time windows (and record tables) and upserts the results into
//! MariaDB or SQLite, committing each batch's deltas together with the Kafka
//! offsets in one fenced transaction — effectively exactly-once.
//!
//! Data flows one way: Kafka → [`decode`] → [`pipeline`] (watermark,
//! [`aggregate`], [`records`]) → [`store`]; bad events go to the dead-letter
//! topic ([`logpipe_core::dead_letter`]).

pub mod aggregate;
mod committer;
pub mod config;
mod consumer;
pub mod decode;
pub mod event_time;
pub mod metrics;
pub mod pipeline;
pub mod records;
mod run;
pub mod store;
pub mod window;

pub use config::ProcessConfig;
pub use run::{consumer_config, run};
pub use store::latest_windows;
