//! `[generate]`: what `logpipe generate` produces, how fast, and the HTTP
//! ingest it serves. These doc comments are the reference for each key.

use std::net::SocketAddr;

use logpipe_core::config::{
    ByteSize, HumanDuration, KafkaClient, KafkaProperties, Secret, Validator,
};
use serde::Deserialize;

use crate::scenario::ScenarioKind;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateConfig {
    /// Kafka topic for generated events.
    pub topic: String,
    /// Scenario to generate: server-logs, access-logs, car-transactions,
    /// user-events or user-profiles.
    pub scenario: ScenarioKind,
    /// Generate synthetic events at all; `false` runs only the HTTP ingest.
    pub synthetic: bool,
    /// Target rate in events per second; 0 means as fast as Kafka accepts.
    pub rate: f64,
    /// Token-bucket capacity: the most events sent at once after an idle
    /// spell. Default: 10 ms worth of the rate.
    pub burst: Option<u64>,
    /// Optional periodic bursts: `{ every = "60s", length = "5s", rate = 50000 }`.
    pub bursts: Option<BurstConfig>,
    /// Stop after this many events (default: run until stopped).
    pub count: Option<u64>,
    /// Stop after this long (default: run until stopped).
    pub duration: Option<HumanDuration>,
    /// Random seed; with `start_time` the output is byte-for-byte reproducible.
    pub seed: Option<u64>,
    /// Simulated event time: the first event is stamped at this epoch second
    /// and each next one 1/rate later (1 ms when unlimited). Default: wall clock.
    pub start_time: Option<f64>,
    /// librdkafka properties overriding `[kafka]` for this daemon.
    pub kafka: KafkaProperties,
    /// Metrics listen address overriding `[metrics].listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// How long a stop (SIGTERM) may take to flush queued events.
    pub drain_timeout: HumanDuration,
    /// HTTP ingest and event stream.
    pub http: HttpConfig,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            topic: "logs".into(),
            scenario: ScenarioKind::ServerLogs,
            synthetic: true,
            rate: 1000.0,
            burst: None,
            bursts: None,
            count: None,
            duration: None,
            seed: None,
            start_time: None,
            kafka: KafkaProperties::default(),
            metrics_listen: None,
            drain_timeout: HumanDuration::from_secs(10),
            http: HttpConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstConfig {
    /// Period of the burst cycle.
    pub every: HumanDuration,
    /// How long each burst lasts.
    pub length: HumanDuration,
    /// Rate during a burst, events per second.
    pub rate: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve `POST /api/logs`, `GET /api/stream`, `/healthz`, `/readyz`.
    pub enabled: bool,
    /// Listen address; localhost unless deliberately opened.
    pub listen: SocketAddr,
    /// Topic for ingested events (default: `generate.topic`).
    pub topic: Option<String>,
    /// Field of an ingested event used as its Kafka key, when present.
    pub key_field: Option<String>,
    /// File holding the bearer token clients must send
    /// (`Authorization: Bearer <token>`); no token file = no authentication.
    pub token_file: Option<Secret>,
    /// Largest accepted request body; larger ones get 413.
    pub max_body: ByteSize,
    /// How long a request waits for Kafka to acknowledge its events before
    /// answering 503 (the events stay queued and are delivered later).
    pub ack_timeout: HumanDuration,
    /// `Retry-After` sent with 429 and 503.
    pub retry_after: HumanDuration,
    /// Scenario streamed by `GET /api/stream` (override with `?scenario=`).
    pub stream_scenario: ScenarioKind,
    /// Default events per second of a stream (override with `?rate=`).
    pub stream_rate: f64,
    /// Highest rate a stream client may ask for.
    pub stream_max_rate: f64,
    /// Concurrent stream clients; more get 503.
    pub stream_max_clients: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            topic: None,
            key_field: None,
            token_file: None,
            max_body: ByteSize(1 << 20),
            ack_timeout: HumanDuration::from_secs(5),
            retry_after: HumanDuration::from_secs(1),
            stream_scenario: ScenarioKind::CarTransactions,
            stream_rate: 5.0,
            stream_max_rate: 1000.0,
            stream_max_clients: 64,
        }
    }
}

impl GenerateConfig {
    /// Report problems under `section` (normally `generate`).
    pub fn validate(&self, section: &str, v: &mut Validator) {
        if self.topic.trim().is_empty() {
            v.error(format!("{section}.topic"), "must not be empty");
        }
        if !self.rate.is_finite() || self.rate < 0.0 {
            v.error(
                format!("{section}.rate"),
                format!(
                    "must be a number ≥ 0 (events per second), got {}",
                    self.rate
                ),
            );
        }
        if self.count == Some(0) {
            v.error(
                format!("{section}.count"),
                "must be ≥ 1; leave it out to run until stopped",
            );
        }
        if let Some(b) = &self.bursts {
            if b.every.get().is_zero() || b.length.get() > b.every.get() {
                v.error(
                    format!("{section}.bursts"),
                    "needs every > 0 and length ≤ every",
                );
            }
            if !(b.rate.is_finite() && b.rate > 0.0) {
                v.error(
                    format!("{section}.bursts.rate"),
                    "must be > 0 events per second",
                );
            }
        }
        if let Some(t) = self.start_time {
            if !(t.is_finite() && t >= 0.0) {
                v.error(format!("{section}.start_time"), "must be epoch seconds ≥ 0");
            }
        }
        // Only the producer is built from this table.
        self.kafka
            .validate_for(&format!("{section}.kafka"), &[KafkaClient::Producer], v);
        let h = &self.http;
        v.secret(&format!("{section}.http.token_file"), &h.token_file);
        if h.max_body.0 == 0 {
            v.error(format!("{section}.http.max_body"), "must be > 0");
        }
        if h.ack_timeout.get().is_zero() {
            v.error(format!("{section}.http.ack_timeout"), "must be > 0");
        }
        if !(h.stream_rate > 0.0 && h.stream_rate <= h.stream_max_rate) {
            v.error(
                format!("{section}.http.stream_rate"),
                "must be > 0 and ≤ stream_max_rate",
            );
        }
        if !self.synthetic && !h.enabled {
            v.error(
                format!("{section}.synthetic"),
                "synthetic = false needs http.enabled = true, or there is nothing to do",
            );
        }
    }

    pub fn ingest_topic(&self) -> &str {
        self.http.topic.as_deref().unwrap_or(&self.topic)
    }
}
