//! `logpipe generate`: synthetic event scenarios at a controlled rate into
//! Kafka, plus the HTTP ingest (`POST /api/logs`, `GET /api/stream`).

pub mod config;
pub mod ingest;
pub mod metrics;
pub mod producer;
pub mod rate;
mod run;
pub mod scenario;

pub use config::GenerateConfig;
pub use run::{run, Summary};
