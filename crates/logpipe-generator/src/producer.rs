//! The Kafka producer shared by generation and HTTP ingest: idempotent, every
//! delivery report counted, and batches of ingested events acknowledged as a
//! whole once Kafka confirmed every one of them.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use logpipe_core::config::{KafkaClient, KafkaProperties};
use metrics::Counter;
use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{ProducerContext, ThreadedProducer};
use rdkafka::util::IntoOpaque;
use rdkafka::Message;

use crate::metrics as m;

/// Producer defaults an operator may override in `[kafka]`/`[generate.kafka]`.
/// The queue bounds keep memory flat when the broker is slower than us.
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    // Measured here (bench/run-generate.sh): a small queue is both leaner and
    // faster than 100k messages / 32 MiB — 1.5M vs 1.0M events/s into the mock
    // cluster, 46 vs 72 MiB peak RSS. Raise both for brokers far away.
    ("queue.buffering.max.messages", "20000"),
    ("queue.buffering.max.kbytes", "4096"),
    ("message.timeout.ms", "300000"),
];

/// Waits for Kafka to acknowledge every message of one ingest request.
pub struct BatchAck {
    remaining: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    done: tokio::sync::Notify,
}

impl BatchAck {
    pub fn new(count: usize) -> Arc<Self> {
        Arc::new(Self {
            remaining: AtomicUsize::new(count),
            failed: AtomicUsize::new(0),
            first_error: Mutex::new(None),
            done: tokio::sync::Notify::new(),
        })
    }

    /// Called once per message: delivered or failed.
    fn record(&self, error: Option<String>) {
        if let Some(e) = error {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert(e);
        }
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_one();
        }
    }

    /// Messages that will never be sent (refused at enqueue) still count down.
    pub fn forget(&self, n: usize, error: String) {
        for _ in 0..n {
            self.record(Some(error.clone()));
        }
    }

    /// Resolves when every message was acknowledged or failed; returns the
    /// number failed and the first error.
    pub async fn wait(&self) -> (usize, Option<String>) {
        while self.remaining.load(Ordering::Acquire) > 0 {
            self.done.notified().await;
        }
        let first = self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (self.failed.load(Ordering::Relaxed), first)
    }

    pub fn remaining(&self) -> usize {
        self.remaining.load(Ordering::Acquire)
    }
}

/// Delivery opaque: generated events carry none (no allocation per event);
/// ingested ones carry their request's [`BatchAck`].
pub struct Ack(pub Option<Arc<BatchAck>>);

impl IntoOpaque for Ack {
    fn into_ptr(self) -> *mut c_void {
        match self.0 {
            Some(a) => Arc::into_raw(a) as *mut c_void,
            None => std::ptr::null_mut(),
        }
    }

    unsafe fn from_ptr(ptr: *mut c_void) -> Self {
        if ptr.is_null() {
            Ack(None)
        } else {
            // SAFETY: non-null pointers only come from `into_ptr` above, and
            // librdkafka hands each opaque back exactly once.
            Ack(Some(unsafe { Arc::from_raw(ptr as *const BatchAck) }))
        }
    }
}

/// Counts delivery reports and client errors. Delivered messages are tallied
/// in plain atomics (one per report, on librdkafka's thread) and published to
/// `/metrics` by [`DeliveryContext::publish`]; failures go to metrics at once.
pub struct DeliveryContext {
    delivered_generate: AtomicU64,
    delivered_ingest: AtomicU64,
    pub failed: AtomicU64,
    generate_counter: Counter,
    ingest_counter: Counter,
    last_error_log: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl DeliveryContext {
    fn new() -> Self {
        Self {
            delivered_generate: AtomicU64::new(0),
            delivered_ingest: AtomicU64::new(0),
            generate_counter: metrics::counter!(m::DELIVERED, "source" => "generate"),
            ingest_counter: metrics::counter!(m::DELIVERED, "source" => "ingest"),
            failed: AtomicU64::new(0),
            last_error_log: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Messages Kafka acknowledged so far (generated and ingested).
    pub fn delivered(&self) -> u64 {
        self.delivered_generate.load(Ordering::Relaxed)
            + self.delivered_ingest.load(Ordering::Relaxed)
    }

    /// Copy the delivered tallies to the exported counters.
    pub fn publish(&self) {
        self.generate_counter
            .absolute(self.delivered_generate.load(Ordering::Relaxed));
        self.ingest_counter
            .absolute(self.delivered_ingest.load(Ordering::Relaxed));
    }

    /// Log at most once a second, saying how many similar lines were skipped.
    fn log_rate_limited(&self, f: impl FnOnce(u64)) {
        let mut last = self
            .last_error_log
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_none_or(|t| now.duration_since(t).as_secs() >= 1) {
            *last = Some(now);
            f(self.suppressed.swap(0, Ordering::Relaxed));
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error
            .rdkafka_error_code()
            .map_or_else(|| "other".to_owned(), |c| format!("{c:?}"));
        metrics::counter!(m::KAFKA_ERRORS, "error" => code).increment(1);
        self.log_rate_limited(|skipped| {
            tracing::error!(error = %error, reason, skipped, "kafka client error");
        });
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Ack;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Ack) {
        let source = if ack.0.is_some() {
            "ingest"
        } else {
            "generate"
        };
        match result {
            Ok(_) => match ack.0 {
                None => {
                    self.delivered_generate.fetch_add(1, Ordering::Relaxed);
                }
                Some(a) => {
                    self.delivered_ingest.fetch_add(1, Ordering::Relaxed);
                    a.record(None);
                }
            },
            Err((e, msg)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let code = e
                    .rdkafka_error_code()
                    .map_or_else(|| "other".to_owned(), |c| format!("{c:?}"));
                metrics::counter!(m::DELIVERY_FAILED, "source" => source, "error" => code)
                    .increment(1);
                let topic = msg.topic().to_owned();
                self.log_rate_limited(|skipped| {
                    tracing::error!(error = %e, topic, source, skipped, "message not delivered");
                });
                if let Some(a) = ack.0 {
                    a.record(Some(e.to_string()));
                }
            }
        }
    }
}

pub type EventProducer = ThreadedProducer<DeliveryContext>;

/// The operator's Kafka properties with logpipe's producer defaults filled in.
pub fn with_defaults(kafka: &KafkaProperties) -> KafkaProperties {
    let mut props = kafka.clone();
    for (k, v) in PRODUCER_DEFAULTS {
        if props.get(k).is_none() {
            props.set(k, *v);
        }
    }
    props
}

/// Create the idempotent producer from merged Kafka properties.
pub fn create(kafka: &KafkaProperties) -> anyhow::Result<EventProducer> {
    let props = with_defaults(kafka);
    if props.get("enable.idempotence") != Some("true") {
        tracing::warn!("enable.idempotence is not true: retries may duplicate or reorder events");
    }
    // `[kafka]` is shared with the consumers: their properties are left out.
    let producer = props
        .client_config_for(KafkaClient::Producer)?
        .create_with_context(DeliveryContext::new())
        .map_err(|e| anyhow::anyhow!("cannot create Kafka producer: {e}"))?;
    Ok(producer)
}
