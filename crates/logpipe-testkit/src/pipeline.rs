//! End-to-end fixtures of the processor's pipeline, shared by the
//! processor's own tests and the `logpipe` binary's daemon and crash tests:
//! a fresh database with a mock cluster holding the topic and its
//! dead-letter topic ([`Pipeline`]), the client properties and `[kafka]`
//! table that reach it, the seed's server-logs events with the brute-force
//! reference of `log_data`, and what the processor stored (offsets,
//! `log_data`), read with plain SQL independently of the processor's code.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::{Connection, MySqlConnection};

use crate::kafka::{MockCluster, FAST_CLIENT_PROPERTIES};
use crate::mariadb::TestDb;

/// A fresh database and a one-broker mock cluster with `topic` (and
/// `<topic>.dlq`, one partition) created.
pub struct Pipeline {
    pub db: TestDb,
    pub cluster: MockCluster,
    /// `bootstrap.servers` of [`Pipeline::cluster`].
    pub bootstrap: String,
}

impl Pipeline {
    pub async fn new(topic: &str, partitions: i32) -> Pipeline {
        let db = TestDb::create().await;
        let cluster = mock_cluster(topic, partitions);
        let bootstrap = cluster.bootstrap_servers();
        Pipeline {
            db,
            cluster,
            bootstrap,
        }
    }

    /// [`client_properties`] of this cluster.
    pub fn client_properties(&self) -> Vec<(String, String)> {
        client_properties(&self.bootstrap)
    }

    /// [`kafka_toml`] of this cluster.
    pub fn kafka_toml(&self) -> String {
        kafka_toml(&self.bootstrap)
    }

    /// Drop the database (the cluster stops when dropped).
    pub async fn drop(self) {
        self.db.drop().await;
    }
}

/// A librdkafka mock cluster with `topic` and its dead-letter topic created.
pub fn mock_cluster(topic: &str, partitions: i32) -> MockCluster {
    crate::kafka::mock_cluster(&[(topic, partitions), (&format!("{topic}.dlq"), 1)])
}

/// Client properties for a processor under test: the cluster, quick group
/// joins and reconnects ([`FAST_CLIENT_PROPERTIES`]), statistics (consumer
/// lag) every second.
pub fn client_properties(bootstrap: &str) -> Vec<(String, String)> {
    let mut props = vec![
        ("bootstrap.servers".to_owned(), bootstrap.to_owned()),
        ("statistics.interval.ms".to_owned(), "1000".to_owned()),
    ];
    props.extend(
        FAST_CLIENT_PROPERTIES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    props
}

/// [`client_properties`] as the `[kafka]` table of a daemon's config file.
pub fn kafka_toml(bootstrap: &str) -> String {
    let mut toml = String::from("[kafka]\n");
    for (k, v) in client_properties(bootstrap) {
        toml.push_str(&format!("{k:?} = {v:?}\n"));
    }
    toml
}

/// A server-logs event as the seed's producer writes it.
pub fn log_event(t: f64, level: &str) -> Vec<u8> {
    format!(r#"{{"timestamp": {t}, "level": "{level}", "message": "request served", "host": "web-1", "service": "api"}}"#)
        .into_bytes()
}

/// The seed's levels, in the column order of `log_data`.
pub const LEVELS: [&str; 4] = ["DEBUG", "INFO", "WARN", "ERROR"];

/// `n` in-order events over `partitions`, starting at epoch second `start`,
/// 100 per second, levels from a fixed pseudo-random sequence:
/// (partition, payload, event time, level index).
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

/// The `(partition, payload)` pairs of [`log_events`], for producing.
pub fn messages(events: &[(i32, Vec<u8>, f64, usize)]) -> Vec<(i32, Vec<u8>)> {
    events.iter().map(|(p, m, _, _)| (*p, m.clone())).collect()
}

/// Reference `log_data` for in-order events: (window_start_s, [debug, info, warn, error]),
/// newest first, computed by brute force over 30 s windows every 15 s.
pub fn reference_log_data(events: &[(f64, usize)]) -> Vec<(i64, [i64; 4])> {
    let mut windows = BTreeMap::<i64, [i64; 4]>::new();
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

/// [`reference_log_data`] of [`log_events`] output.
pub fn reference_of(events: &[(i32, Vec<u8>, f64, usize)]) -> Vec<(i64, [i64; 4])> {
    reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    )
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

/// Sum of stored next offsets (= events committed when partitions start
/// at 0); -1 when the database cannot be reached, 0 before the first commit.
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
    let mut c = MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT CAST(TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', window_start) AS SIGNED), \
         CAST(debug_count AS SIGNED), CAST(info_count AS SIGNED), \
         CAST(warn_count AS SIGNED), CAST(error_count AS SIGNED) \
         FROM log_data ORDER BY window_start DESC",
    )
    .fetch_all(&mut c)
    .await
    .unwrap_or_else(|e| panic!("read log_data: {e}"));
    let _ = c.close().await;
    rows.into_iter()
        .map(|(start, d, i, w, e)| (start, [d, i, w, e]))
        .collect()
}

/// Sessions the server holds in database `name`, other than the caller's
/// own: 0 once every client of a cut proxy is gone from the server (no
/// statement of theirs can still land).
pub async fn server_sessions(url: &str, name: &str) -> i64 {
    let mut c = MySqlConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    )
    .bind(name)
    .fetch_one(&mut c)
    .await
    .unwrap_or_else(|e| panic!("read the process list: {e}"));
    let _ = c.close().await;
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_counts_each_event_in_both_sliding_windows() {
        // 30 s windows every 15 s: t=1200 is in [1185, 1215) and [1200, 1230).
        assert_eq!(
            reference_log_data(&[(1200.0, 1), (1214.999, 3)]),
            [(1200, [0, 1, 0, 1]), (1185, [0, 1, 0, 1])]
        );
    }

    #[test]
    fn kafka_toml_quotes_the_dotted_names() {
        let toml = kafka_toml("127.0.0.1:1");
        assert!(toml.starts_with("[kafka]\n\"bootstrap.servers\" = \"127.0.0.1:1\"\n"));
        assert!(
            toml.contains("\"session.timeout.ms\" = \"6000\"\n"),
            "{toml}"
        );
    }
}
