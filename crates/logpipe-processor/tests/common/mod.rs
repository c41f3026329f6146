//! Test support: a fresh MariaDB database per test (`lp_test_<random>` on
//! 127.0.0.1:3306 as root), dropped at the end.

#![allow(dead_code)]

use sqlx::{Connection, MySqlConnection};

pub const SERVER: &str = "mysql://root@127.0.0.1:3306";

pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = format!("lp_test_{:016x}", rand::random::<u64>());
        let mut c = MySqlConnection::connect(SERVER)
            .await
            .expect("MariaDB must run on 127.0.0.1:3306 (root, empty password)");
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        TestDb {
            url: format!("{SERVER}/{name}"),
            name,
        }
    }

    pub async fn drop(self) {
        let mut c = MySqlConnection::connect(SERVER).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
}

use std::time::{Duration, Instant};

use logpipe_core::config::KafkaProperties;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

/// A librdkafka mock cluster with `topic` created.
pub fn mock_cluster(topic: &str, partitions: i32) -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(topic, partitions, 1).unwrap();
    cluster.create_topic(&format!("{topic}.dlq"), 1, 1).unwrap();
    cluster
}

/// Client properties for tests: quick group joins and reconnects.
pub fn test_kafka(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    k.set("bootstrap.servers", bootstrap)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("reconnect.backoff.max.ms", "1000")
        .set("statistics.interval.ms", "1000");
    k
}

/// Produce `(partition, payload)` messages and wait for their acknowledgement.
pub fn produce(bootstrap: &str, topic: &str, messages: &[(i32, Vec<u8>)]) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();
    for (partition, payload) in messages {
        let mut record = BaseRecord::<(), [u8]>::to(topic)
            .partition(*partition)
            .payload(payload.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) => {
                    assert_eq!(
                        e.rdkafka_error_code(),
                        Some(rdkafka::types::RDKafkaErrorCode::QueueFull),
                        "produce: {e}"
                    );
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

/// A server-logs event as the seed's producer writes it.
pub fn log_event(t: f64, level: &str) -> Vec<u8> {
    format!(r#"{{"timestamp": {t}, "level": "{level}", "message": "request served", "host": "web-1", "service": "api"}}"#)
        .into_bytes()
}

pub const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];

/// `n` in-order events over `partitions`, starting at epoch second `start`,
/// 100 per second, levels from a fixed pseudo-random sequence.
pub fn log_events(n: usize, partitions: i32, start: f64) -> Vec<(i32, Vec<u8>, f64, usize)> {
    let mut x: u64 = 0x2545F4914F6CDD1D;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let level = match x % 100 {
                0..=19 => 0,
                20..=79 => 1,
                80..=91 => 2,
                _ => 3,
            };
            let t = start + i as f64 * 0.01;
            (
                (i % partitions as usize) as i32,
                log_event(t, LEVELS[level]),
                t,
                level,
            )
        })
        .collect()
}

/// Reference `log_data` for in-order events: (window_start_s, [debug, info, warn, error]),
/// newest first, computed by brute force over 30 s windows every 15 s.
pub fn reference_log_data(events: &[(f64, usize)]) -> Vec<(i64, [i64; 4])> {
    let mut windows = std::collections::BTreeMap::<i64, [i64; 4]>::new();
    for (t, level) in events {
        let ms = (t * 1000.0).floor() as i64;
        for start in (ms / 15_000 - 2..=ms / 15_000).map(|k| k * 15_000) {
            if start <= ms && ms < start + 30_000 {
                windows.entry(start / 1000).or_default()[*level] += 1;
            }
        }
    }
    windows.into_iter().rev().collect()
}

/// Wait until the stored offsets (summed) satisfy `done`, up to `timeout`.
pub async fn wait_offsets(url: &str, timeout: Duration, what: &str, done: impl Fn(i64) -> bool) {
    let deadline = Instant::now() + timeout;
    let mut last = 0;
    while Instant::now() < deadline {
        last = committed_offsets(url).await;
        if done(last) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {timeout:?} waiting for {what} (committed offsets: {last})");
}

/// Sum of stored next offsets (= events committed when partitions start at 0).
pub async fn committed_offsets(url: &str) -> i64 {
    let Ok(mut c) = MySqlConnection::connect(url).await else {
        return -1;
    };
    let sum: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(next_offset) AS SIGNED) FROM logpipe_offsets")
            .fetch_one(&mut c)
            .await
            .unwrap_or(None);
    let _ = c.close().await;
    sum.unwrap_or(0)
}
