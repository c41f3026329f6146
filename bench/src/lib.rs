//! What the benchmark drivers share: reading a librdkafka mock cluster at
//! full speed, feeding it without outgrowing its retention, reading a
//! daemon's counters from its `/metrics`, and measuring a process's peak
//! memory.

use std::io::{Read, Write};
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

/// A port on 127.0.0.1 free right now (for a daemon's metrics listener).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The value of `metric` summed over its series, from `/metrics` at `port`;
/// `None` while the endpoint is not up.
pub fn scrape(port: u16, metric: &str) -> Option<f64> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    let mut total = 0.0;
    for line in body.lines() {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        if &line[..name_end] == metric {
            total += line.rsplit(' ').next()?.parse::<f64>().ok()?;
        }
    }
    Some(total)
}
