//! The ceiling for `logpipe generate`: how fast librdkafka alone puts
//! pre-built messages of a server-logs event's size into an in-process mock
//! cluster, with the producer settings logpipe uses — no event generation.
//!
//! Usage: raw-produce COUNT [KEY=VALUE librdkafka properties...]
//! Prints one JSON line: {"produced", "elapsed_seconds", "messages_per_second", "payload_bytes"}.

use std::time::{Duration, Instant};

use logpipe_generator::producer::PRODUCER_DEFAULTS;
use logpipe_generator::scenario::{EventClock, Generator, ScenarioKind};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000_000);
    let mut config = ClientConfig::new();
    for (k, v) in PRODUCER_DEFAULTS {
        config.set(*k, *v);
    }
    for kv in args {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("expected KEY=VALUE, got {kv}"))?;
        config.set(k, v);
    }
    let producer: ThreadedProducer<DefaultProducerContext> = config.create()?;
    producer
        .client()
        .fetch_metadata(Some("logs"), Duration::from_secs(10))?;

    // 64 real server-logs events, built before the clock starts, sent round-robin.
    let mut g = Generator::new(ScenarioKind::ServerLogs, Some(1), EventClock::Live);
    let messages: Vec<(Vec<u8>, Vec<u8>)> = (0..64)
        .map(|_| {
            let (mut k, mut p) = (Vec::new(), Vec::new());
            g.next_event(&mut k, &mut p);
            (k, p)
        })
        .collect();
    let payload_bytes = messages.iter().map(|m| m.1.len()).sum::<usize>() / messages.len();

    let start = Instant::now();
    for i in 0..count {
        let (key, payload) = &messages[(i % 64) as usize];
        let mut record = BaseRecord::to("logs").key(&key[..]).payload(&payload[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_micros(500));
                }
                Err((e, _)) => anyhow::bail!("produce failed: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "produced": count,
            "elapsed_seconds": elapsed,
            "messages_per_second": count as f64 / elapsed,
            "payload_bytes": payload_bytes,
        })
    );
    Ok(())
}
