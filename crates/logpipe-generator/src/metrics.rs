//! Every metric `logpipe generate` exports, declared once.

use logpipe_core::metrics::MetricDef;
use metrics::Unit;

pub const EVENTS_GENERATED: &str = "logpipe_generate_events_total";
pub const DELIVERED: &str = "logpipe_producer_delivered_total";
pub const DELIVERY_FAILED: &str = "logpipe_producer_delivery_failed_total";
pub const ENQUEUE_FAILED: &str = "logpipe_producer_enqueue_failed_total";
pub const QUEUE_DEPTH: &str = "logpipe_producer_queue_messages";
pub const TARGET_RATE: &str = "logpipe_generate_target_rate_events_per_second";
pub const INGEST_REQUESTS: &str = "logpipe_ingest_requests_total";
pub const INGEST_EVENTS: &str = "logpipe_ingest_events_total";
pub const INGEST_DURATION: &str = "logpipe_ingest_request_duration_seconds";
pub const KAFKA_ERRORS: &str = "logpipe_kafka_client_errors_total";
pub const SSE_CLIENTS: &str = "logpipe_stream_clients";

pub const METRICS: &[MetricDef] = &[
    MetricDef::counter(
        EVENTS_GENERATED,
        "Events generated and handed to the producer, by scenario",
    ),
    MetricDef::counter(
        DELIVERED,
        "Messages acknowledged by Kafka, by source (generate|ingest)",
    ),
    MetricDef::counter(
        DELIVERY_FAILED,
        "Messages Kafka did not acknowledge, by source and error",
    ),
    MetricDef::counter(
        ENQUEUE_FAILED,
        "Messages the producer refused to queue, by source and error",
    ),
    MetricDef::gauge(
        QUEUE_DEPTH,
        Unit::Count,
        "Messages queued or in flight in the producer",
    ),
    MetricDef::gauge(
        TARGET_RATE,
        Unit::Count,
        "Configured generation rate in events per second (0 = unlimited)",
    ),
    MetricDef::counter(
        INGEST_REQUESTS,
        "HTTP ingest requests, by response status code",
    ),
    MetricDef::counter(
        INGEST_EVENTS,
        "Events accepted over HTTP and acknowledged by Kafka",
    ),
    MetricDef::histogram(
        INGEST_DURATION,
        Unit::Seconds,
        "Time from request to response for POST /api/logs",
    ),
    MetricDef::counter(
        KAFKA_ERRORS,
        "Client-level Kafka errors (broker down, auth, ...), by error",
    ),
    MetricDef::gauge(
        SSE_CLIENTS,
        Unit::Count,
        "Connected GET /api/stream clients",
    ),
];
