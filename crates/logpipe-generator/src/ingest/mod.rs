//! HTTP ingest inside `logpipe generate`: `POST /api/logs` puts events into
//! Kafka and answers 202 only once Kafka acknowledged every one of them;
//! `GET /api/stream` streams generated events as Server-Sent Events;
//! `/healthz` and `/readyz` for load balancers and systemd health checks.

mod auth;
pub mod body;
mod stream;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};
use serde_json::{json, Value};

use crate::config::GenerateConfig;
use crate::metrics as m;
use crate::producer::{Ack, BatchAck, EventProducer};

/// Shared state of the ingest server.
pub struct Ingest {
    pub producer: Arc<EventProducer>,
    pub topic: String,
    pub key_field: Option<String>,
    pub token: Option<String>,
    pub max_body: usize,
    pub ack_timeout: Duration,
    pub retry_after: Duration,
    /// Producer queue capacity (messages); requests that would overflow it get 429.
    pub queue_limit: usize,
    /// Set while Kafka metadata is reachable.
    pub ready: Arc<AtomicBool>,
    pub stream: stream::StreamSettings,
}

impl Ingest {
    pub fn new(
        config: &GenerateConfig,
        producer: Arc<EventProducer>,
        queue_limit: usize,
        ready: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let h = &config.http;
        let token = h.token_file.as_ref().map(|s| s.read()).transpose()?;
        if token.as_deref() == Some("") {
            anyhow::bail!(
                "generate.http.token_file is empty; write the token into it or remove the key"
            );
        }
        Ok(Self {
            producer,
            topic: config.ingest_topic().to_owned(),
            key_field: h.key_field.clone(),
            token,
            max_body: h.max_body.0 as usize,
            ack_timeout: h.ack_timeout.get(),
            retry_after: h.retry_after.get(),
            queue_limit,
            ready,
            stream: stream::StreamSettings::new(h),
        })
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/api/logs", post(post_logs))
            .route("/api/stream", get(stream::get_stream))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .with_state(Arc::new(self))
    }
}

async fn readyz(State(s): State<Arc<Ingest>>) -> Response {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "kafka unreachable\n").into_response()
    }
}

fn error(
    status: StatusCode,
    message: impl Into<String>,
    retry_after: Option<Duration>,
    extra: Value,
) -> Response {
    let mut body = json!({ "error": message.into() });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let mut resp = (status, Json(body)).into_response();
    if let Some(d) = retry_after {
        let secs = d.as_secs_f64().ceil().max(1.0) as u64;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

async fn post_logs(State(s): State<Arc<Ingest>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let resp = handle(&s, &headers, body).await;
    metrics::histogram!(m::INGEST_DURATION).record(started.elapsed().as_secs_f64());
    metrics::counter!(m::INGEST_REQUESTS, "status" => resp.status().as_str().to_owned())
        .increment(1);
    resp
}

async fn handle(s: &Ingest, headers: &HeaderMap, body: Body) -> Response {
    if let Some(token) = &s.token {
        if !auth::authorized(headers, token) {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token",
                None,
                json!({}),
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    let bytes = match axum::body::to_bytes(body, s.max_body).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|src| src.is::<http_body_util::LengthLimitError>());
            return if too_large {
                error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "body larger than the limit of {} bytes (generate.http.max_body)",
                        s.max_body
                    ),
                    None,
                    json!({}),
                )
            } else {
                error(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read body: {e}"),
                    None,
                    json!({}),
                )
            };
        }
    };
    let events = match body::parse_events(&bytes) {
        Ok(ev) => ev,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string(), None, json!({})),
    };
    let n = events.len();
    if s.producer.in_flight_count() as usize + n > s.queue_limit {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "producer queue is full; retry later",
            Some(s.retry_after),
            json!({}),
        );
    }

    let deadline = tokio::time::Instant::now() + s.ack_timeout;
    let ack = BatchAck::new(n);
    let received = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    for (queued, mut event) in events.into_iter().enumerate() {
        // Events without a timestamp are stamped with their arrival time.
        event.entry("timestamp").or_insert_with(|| json!(received));
        let key = s
            .key_field
            .as_ref()
            .and_then(|f| event.get(f))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        let payload = Value::Object(event).to_string();
        if let Err(e) = enqueue(s, key.as_deref(), &payload, &ack, deadline).await {
            ack.forget(n - queued, e.to_string());
            metrics::counter!(m::ENQUEUE_FAILED, "source" => "ingest", "error" => "queue")
                .increment(1);
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Kafka producer could not queue the events before the deadline: {e}"),
                Some(s.retry_after),
                json!({ "queued": queued, "received": n }),
            );
        }
    }

    match tokio::time::timeout_at(deadline, ack.wait()).await {
        Ok((0, _)) => {
            metrics::counter!(m::INGEST_EVENTS).increment(n as u64);
            (StatusCode::ACCEPTED, Json(json!({ "accepted": n }))).into_response()
        }
        Ok((failed, first)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Kafka refused {failed} of {n} events: {}", first.unwrap_or_default()),
            Some(s.retry_after),
            json!({ "failed": failed, "received": n }),
        ),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Kafka did not acknowledge within {:?} (generate.http.ack_timeout); the events stay queued and will be delivered when the broker is reachable",
                s.ack_timeout
            ),
            Some(s.retry_after),
            json!({ "queued": n, "unacknowledged": ack.remaining() }),
        ),
    }
}

/// Queue one message, waiting (not failing) while the queue is momentarily full.
async fn enqueue(
    s: &Ingest,
    key: Option<&str>,
    payload: &str,
    ack: &Arc<BatchAck>,
    deadline: tokio::time::Instant,
) -> Result<(), KafkaError> {
    loop {
        let mut record =
            BaseRecord::with_opaque_to(&s.topic, Ack(Some(ack.clone()))).payload(payload);
        if let Some(k) = key {
            record = record.key(k);
        }
        match s.producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err((e, _)) => return Err(e),
        }
    }
}
