//! Dead letters, for every daemon that consumes: an event that cannot be
//! handled is produced unchanged to `<topic>.dlq` with the error in headers
//! (`logpipe.error`, `logpipe.error.reason`, `logpipe.source`), so the stream
//! never stops for one bad event. A daemon flushes its dead letters before it
//! commits the offsets past them: a dead letter is never lost.
//!
//! Delivery is at least once: a dead letter is written again when the daemon
//! stops between its delivery and the commit of the offsets past it, or when
//! a failed delivery is retried. Each carries its source record's position in
//! `logpipe.source.topic`, `logpipe.source.partition` and
//! `logpipe.source.offset` (decimal) — a reader of `<topic>.dlq` de-duplicates
//! on those three.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{KafkaClient, KafkaProperties};
use anyhow::Context;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

/// Suffix of the dead-letter topic of a source topic.
pub const DLQ_SUFFIX: &str = ".dlq";

struct DeliveryCounter {
    failures: Arc<AtomicU64>,
    /// When a failed delivery was last logged (one line per 10 s at most).
    last_logged: Mutex<Option<Instant>>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, msg)) = result {
            use rdkafka::Message;
            let failed = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            let mut last = self.last_logged.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                *last = Some(Instant::now());
                tracing::error!(error = %e, topic = msg.topic(), failed_so_far = failed, "dead letter could not be delivered");
            }
        }
    }
}

/// One record for the dead-letter topic: where it came from, the record
/// itself, and why it could not be handled.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    /// A short, bounded reason (`invalid_json`, `newline_in_value`, …).
    pub reason: &'a str,
    /// What was wrong, for a person.
    pub message: &'a str,
}

/// Producer of dead letters (or a counter only, when disabled).
pub struct DeadLetters {
    producer: Option<ThreadedProducer<DeliveryCounter>>,
    failures: Arc<AtomicU64>,
    checked_failures: AtomicU64,
}

impl DeadLetters {
    pub fn new(kafka: &KafkaProperties, enabled: bool) -> anyhow::Result<Self> {
        let failures = Arc::new(AtomicU64::new(0));
        let producer = if enabled {
            // The daemon's table also configures its consumer: librdkafka's
            // consumer-only properties are left out.
            let mut cfg = kafka.client_config_for(KafkaClient::Producer)?;
            cfg.set("linger.ms", "20");
            // A dead letter is a message the brokers already accepted, plus headers.
            if kafka.get("message.max.bytes").is_none() {
                cfg.set("message.max.bytes", "100000000");
            }
            let p = cfg
                .create_with_context(DeliveryCounter {
                    failures: failures.clone(),
                    last_logged: Mutex::new(None),
                })
                .context("cannot create the dead-letter producer")?;
            Some(p)
        } else {
            None
        };
        Ok(Self {
            producer,
            failures,
            checked_failures: AtomicU64::new(0),
        })
    }

    /// Queue a dead letter for `<topic>.dlq`.
    pub fn send(&self, letter: DeadLetter<'_>) {
        let DeadLetter {
            topic,
            partition,
            offset,
            key,
            payload,
            reason,
            message,
        } = letter;
        tracing::debug!(topic, partition, offset, reason, message, "dead letter");
        let Some(producer) = &self.producer else {
            return;
        };
        let dlq = format!("{topic}{DLQ_SUFFIX}");
        let source = format!("{topic}/{partition}/{offset}");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "logpipe.error",
                value: Some(message),
            })
            .insert(Header {
                key: "logpipe.error.reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "logpipe.source",
                value: Some(source.as_str()),
            })
            .insert(Header {
                key: "logpipe.source.topic",
                value: Some(topic),
            })
            .insert(Header {
                key: "logpipe.source.partition",
                value: Some(partition.to_string().as_str()),
            })
            .insert(Header {
                key: "logpipe.source.offset",
                value: Some(offset.to_string().as_str()),
            });
        let mut record = BaseRecord::<[u8], [u8]>::to(&dlq)
            .payload(payload)
            .headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => return,
                Err((e, back))
                    if e.rdkafka_error_code()
                        == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                {
                    record = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((e, _)) => {
                    tracing::error!(error = %e, topic = dlq, "cannot queue a dead letter");
                    self.failures.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// Why the producer cannot send any more, once librdkafka put it in its
    /// fatal state (retrying is pointless: the daemon must stop).
    pub fn fatal_error(&self) -> Option<String> {
        let (code, reason) = self.producer.as_ref()?.client().fatal_error()?;
        Some(format!("{code:?}: {reason}"))
    }

    /// Dead letters queued and not yet acknowledged or failed.
    pub fn in_flight(&self) -> i32 {
        self.producer.as_ref().map_or(0, |p| p.in_flight_count())
    }

    /// Wait until every queued dead letter is acknowledged; an error if any
    /// was lost since the last call (the batch must then not be committed).
    pub fn flush(&self, timeout: Duration) -> anyhow::Result<()> {
        if let Some(p) = &self.producer {
            p.flush(timeout)
                .context("dead letters not acknowledged in time")?;
        }
        let now = self.failures.load(Ordering::Relaxed);
        let before = self.checked_failures.swap(now, Ordering::Relaxed);
        if now > before {
            anyhow::bail!(
                "{} dead letter(s) could not be delivered; not committing their offsets",
                now - before
            );
        }
        Ok(())
    }
}
