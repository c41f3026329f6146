//! Helpers for the generator's integration tests: an in-process Kafka
//! (librdkafka's mock cluster) and reading a topic back.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use logpipe_core::config::KafkaProperties;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{Message, Offset, TopicPartitionList};

pub const PARTITIONS: i32 = 3;

pub fn cluster(topics: &[&str]) -> MockCluster<'static, DefaultProducerContext> {
    let c = MockCluster::new(1).expect("mock cluster");
    for t in topics {
        c.create_topic(t, PARTITIONS, 1).expect("create topic");
    }
    c
}

pub fn kafka_props(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    k.set("bootstrap.servers", bootstrap)
        .set("reconnect.backoff.max.ms", "500");
    k
}

/// A consumed message: key and payload.
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// Read `topic` from the beginning until `expected` records arrived or `timeout`.
pub fn consume(bootstrap: &str, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-{topic}-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < expected && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.expect("consume");
            out.push(Record {
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().unwrap_or_default().to_vec(),
            });
        }
    }
    // Anything beyond `expected` would be a duplicate: give it a moment to show.
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        if let Some(m) = consumer.poll(Duration::from_millis(50)) {
            let m = m.expect("consume");
            out.push(Record {
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().unwrap_or_default().to_vec(),
            });
        }
    }
    out
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
