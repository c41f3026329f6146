//! Helpers for the generator's integration tests: the testkit's in-process
//! Kafka (librdkafka's mock cluster) with the generator's partition count,
//! reading a topic back, and a chi-square check of distributions.
#![allow(dead_code, unused_imports)] // each test binary uses a part of it

use logpipe_core::config::KafkaProperties;
use logpipe_testkit::kafka::MockCluster;
/// `consume(bootstrap, topic, expected, timeout)`: the topic from the beginning.
pub use logpipe_testkit::kafka::{consume, Record};

pub const PARTITIONS: i32 = 3;

/// A mock cluster with each of `topics` created with [`PARTITIONS`] partitions.
pub fn cluster(topics: &[&str]) -> MockCluster {
    let topics: Vec<(&str, i32)> = topics.iter().map(|t| (*t, PARTITIONS)).collect();
    logpipe_testkit::kafka::mock_cluster(&topics)
}

pub fn kafka_props(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    k.set("bootstrap.servers", bootstrap)
        .set("reconnect.backoff.max.ms", "500");
    k
}

/// Pearson's chi-square statistic of observed counts against expected weights.
pub fn chi_square(observed: &[u64], weights: &[u32]) -> f64 {
    let n: u64 = observed.iter().sum();
    let total: u32 = weights.iter().sum();
    observed
        .iter()
        .zip(weights)
        .map(|(&o, &w)| {
            let e = n as f64 * w as f64 / total as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

/// Upper 0.1 % critical values of chi-square by degrees of freedom (1..=10).
pub const CHI2_CRIT_0_001: [f64; 11] = [
    0.0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59,
];
