//! Processor test support on top of `logpipe-testkit`: the seed's
//! server-logs events, the brute-force reference of `log_data`, and waiting
//! on the offsets the processor stores. Also compiled into the `logpipe`
//! binary's crash test (`crates/logpipe/tests/process_crash.rs`).

#![allow(dead_code, unused_imports)] // each test binary uses a part of it

use std::time::{Duration, Instant};

use logpipe_core::config::KafkaProperties;
use sqlx::{Connection, MySqlConnection};

pub use logpipe_testkit::kafka::produce;
pub use logpipe_testkit::mariadb::TestDb;

/// A librdkafka mock cluster with `topic` and its dead-letter topic created.
pub fn mock_cluster(topic: &str, partitions: i32) -> logpipe_testkit::kafka::MockCluster {
    logpipe_testkit::kafka::mock_cluster(&[(topic, partitions), (&format!("{topic}.dlq"), 1)])
}

/// Client properties for tests: quick group joins and reconnects.
pub fn test_kafka(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    k.set("bootstrap.servers", bootstrap)
        .set("statistics.interval.ms", "1000");
    for (key, value) in logpipe_testkit::kafka::FAST_CLIENT_PROPERTIES {
        k.set(key, *value);
    }
    k
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

/// The stored `log_data` rows as (window_start_s, [debug, info, warn, error]), newest first.
pub async fn stored_log_data(url: &str) -> Vec<(i64, [i64; 4])> {
    let store = logpipe_processor::store::Store::connect(url, None)
        .await
        .unwrap();
    let rows = store.latest_windows(10_000).await.unwrap();
    store.close().await;
    rows.into_iter()
        .map(|w| {
            (
                w.window_start.and_utc().timestamp(),
                [w.debug, w.info, w.warn, w.error],
            )
        })
        .collect()
}
