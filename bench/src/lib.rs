//! What the benchmark drivers share: reading a librdkafka mock cluster at
//! full speed, feeding it without outgrowing its retention, and measuring a
//! process's peak memory.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

/// Consumer settings every reader of a benchmark stream uses. librdkafka's
/// mock broker holds every fetch for the full `fetch.wait.max.ms` once a
/// reader has caught up (a real broker answers as soon as data arrives), and
/// backs a partition off for `fetch.queue.backoff.ms` when the local queue
/// is full: with the defaults (500 ms, 1 s) the stream stalls, so both are short.
pub const MOCK_FETCH: &[(&str, &str)] = &[
    ("fetch.wait.max.ms", "10"),
    ("fetch.queue.backoff.ms", "10"),
];

/// Produce `events` round-robin over `partitions` of `topic`, never more
/// than `max_lag` ahead of `progress` (events the reader has finished):
/// the mock broker keeps only ~5 MB per partition and silently drops older
/// messages, so a reader must never trail by more than that.
pub fn paced_produce<E: AsRef<[u8]>>(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    events: impl IntoIterator<Item = E>,
    progress: &AtomicI64,
    max_lag: i64,
) -> anyhow::Result<()> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .create()?;
    for (i, e) in events.into_iter().enumerate() {
        while i as i64 - progress.load(Ordering::Relaxed) >= max_lag {
            std::thread::sleep(Duration::from_micros(200));
        }
        let mut rec = BaseRecord::<(), [u8]>::to(topic)
            .partition(i as i32 % partitions)
            .payload(e.as_ref());
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// Peak resident set (`VmHWM`) of process `pid`, or of this process, in MiB;
/// 0 once the process is gone.
pub fn peak_rss_mib(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
