//! `logpipe generate`: wires the scenario generator, the rate limiter, the
//! producer and the HTTP ingest together, and drains on shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use logpipe_core::config::KafkaProperties;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer};

use crate::config::GenerateConfig;
use crate::ingest::Ingest;
use crate::metrics as m;
use crate::producer::{self, Ack, EventProducer};
use crate::rate::{BurstSchedule, RateLimiter};
use crate::scenario::{EventClock, Generator};

/// What a run did, for the end-of-run report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub generated: u64,
    pub delivered: u64,
    pub failed: u64,
    /// From the first event to the last delivery report.
    pub elapsed: Duration,
}

impl Summary {
    pub fn events_per_second(&self) -> f64 {
        self.generated as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Run until the configured count/duration is reached or `shutdown` fires.
pub async fn run(
    config: GenerateConfig,
    kafka: KafkaProperties,
    shutdown: Shutdown,
    mut notifier: Notifier,
) -> anyhow::Result<Summary> {
    logpipe_core::metrics::describe(m::METRICS);
    let producer = Arc::new(producer::create(&kafka)?);
    let queue_limit = producer::with_defaults(&kafka)
        .get("queue.buffering.max.messages")
        .and_then(|v| v.parse().ok())
        .context("queue.buffering.max.messages must be a number")?;

    let ready = Arc::new(AtomicBool::new(false));
    let waited = wait_for_kafka(&producer, &config.topic, &shutdown, &notifier).await?;
    ready.store(true, Ordering::Relaxed);
    let readiness = tokio::spawn(watch_kafka(
        producer.clone(),
        config.topic.clone(),
        ready.clone(),
        shutdown.clone(),
    ));

    let http = if config.http.enabled {
        let ingest = Ingest::new(&config, producer.clone(), queue_limit, ready.clone())?;
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {} (generate.http.listen)",
                    config.http.listen
                )
            })?;
        tracing::info!(listen = %config.http.listen, topic = %ingest.topic, "HTTP ingest listening");
        let stop = shutdown.clone();
        Some(tokio::spawn(async move {
            axum::serve(listener, ingest.router())
                .with_graceful_shutdown(async move { stop.wait().await })
                .await
        }))
    } else {
        None
    };

    notifier.ready();
    if waited {
        // Replace the "waiting for Kafka" status systemctl would still show.
        notifier.status(&format!("producing to {}", config.topic));
    }
    let started = Instant::now();
    // The generator thread says when it is done, so the drain starts at once.
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let generator = config.synthetic.then(|| {
        let (p, c, s) = (producer.clone(), config.clone(), shutdown.clone());
        std::thread::Builder::new()
            .name("generate".into())
            .spawn(move || {
                let produced = generate_loop(&p, &c, &s);
                let _ = done_tx.send(());
                produced
            })
    });
    let generator = generator
        .transpose()
        .context("cannot start the generator thread")?;
    metrics::gauge!(m::TARGET_RATE).set(config.rate);
    tracing::info!(scenario = %config.scenario, topic = %config.topic, rate = config.rate, "generating");

    let queue = metrics::gauge!(m::QUEUE_DEPTH);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut done_rx, if generator.is_some() && http.is_none() => break,
            _ = shutdown.wait() => break,
        }
        notifier.watchdog();
        queue.set(producer.in_flight_count() as f64);
        producer.context().publish();
        let generator_done = generator.as_ref().is_none_or(|g| g.is_finished());
        if generator_done && http.is_none() {
            break;
        }
    }

    // Either shutdown was requested (the thread, the HTTP server and the
    // readiness watch all see it) or the generator finished on its own.
    notifier.stopping();
    let generated = match generator {
        Some(g) => g
            .join()
            .map_err(|_| anyhow::anyhow!("generator thread panicked"))?,
        None => 0,
    };
    if let Some(h) = http {
        h.await?.context("HTTP ingest server failed")?;
    }
    readiness.abort();
    let drain = config.drain_timeout.get();
    let p = producer.clone();
    let flushed = tokio::task::spawn_blocking(move || p.flush(drain)).await?;
    let elapsed = started.elapsed();
    let ctx = producer.context();
    ctx.publish();
    let summary = Summary {
        generated,
        delivered: ctx.delivered(),
        failed: ctx.failed.load(Ordering::Relaxed),
        elapsed,
    };
    if let Err(e) = flushed {
        anyhow::bail!(
            "{} events still unacknowledged after drain_timeout {:?}: {e}",
            producer.in_flight_count(),
            drain
        );
    }
    Ok(summary)
}

/// Block until the brokers answer a metadata request naming `topic` without
/// error, so READY means Kafka is up and the topic can be written. Each
/// failed check is told to systemd as `STATUS=waiting for Kafka: <why>`;
/// returns whether there was one.
async fn wait_for_kafka(
    producer: &Arc<EventProducer>,
    topic: &str,
    shutdown: &Shutdown,
    notifier: &Notifier,
) -> anyhow::Result<bool> {
    let mut attempt = 0u32;
    loop {
        let (p, t) = (producer.clone(), topic.to_owned());
        let result =
            tokio::task::spawn_blocking(move || topic_status(&p, &t, Duration::from_secs(5)))
                .await?;
        match result {
            Ok(()) => return Ok(attempt > 0),
            Err(e) => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "Kafka not ready yet; retrying every second");
                notifier.status(&format!("waiting for Kafka: {e:#}"));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.wait() => anyhow::bail!("stopped before Kafka became reachable"),
        }
    }
}

/// Whether the brokers answer and know `topic` (blocking).
fn topic_status(producer: &EventProducer, topic: &str, timeout: Duration) -> anyhow::Result<()> {
    let metadata = producer.client().fetch_metadata(Some(topic), timeout)?;
    match metadata.topics().iter().find(|t| t.name() == topic) {
        Some(t) => match t.error() {
            None => Ok(()),
            Some(code) => anyhow::bail!(
                "topic {topic}: {}",
                rdkafka::error::RDKafkaErrorCode::from(code)
            ),
        },
        None => anyhow::bail!("topic {topic} missing from the broker's metadata"),
    }
}

/// Keep `/readyz` honest: re-check broker reachability every few seconds.
async fn watch_kafka(
    producer: Arc<EventProducer>,
    topic: String,
    ready: Arc<AtomicBool>,
    shutdown: Shutdown,
) {
    while !shutdown.is_triggered() {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (p, t) = (producer.clone(), topic.clone());
        let ok = tokio::task::spawn_blocking(move || {
            topic_status(&p, &t, Duration::from_secs(2)).is_ok()
        })
        .await
        .unwrap_or(false);
        ready.store(ok, Ordering::Relaxed);
    }
}

/// The generation hot loop, on its own thread: draw tokens, build events,
/// hand them to librdkafka. Returns the number of events queued.
fn generate_loop(producer: &EventProducer, config: &GenerateConfig, shutdown: &Shutdown) -> u64 {
    let clock = match config.start_time {
        Some(start) => EventClock::Simulated {
            start_micros: (start * 1e6) as u64,
            step_micros: if config.rate > 0.0 {
                (1e6 / config.rate).max(1.0) as u64
            } else {
                1_000
            },
        },
        None => EventClock::Live,
    };
    let mut generator = Generator::new(config.scenario, config.seed, clock);
    let bursts = config.bursts.map(|b| BurstSchedule {
        every: b.every.get(),
        length: b.length.get(),
        rate: b.rate,
    });
    let mut limiter = RateLimiter::new(config.rate, config.burst, bursts);
    let deadline = config.duration.map(|d| Instant::now() + d.get());
    let counter = metrics::counter!(m::EVENTS_GENERATED, "scenario" => config.scenario.name());
    let (mut key, mut payload) = (Vec::with_capacity(64), Vec::with_capacity(512));
    let mut produced = 0u64;
    // The counter is shared with /metrics; bump it in steps, not per event.
    let mut uncounted = 0u64;
    'run: loop {
        let remaining = config.count.map_or(u64::MAX, |c| c - produced);
        if remaining == 0
            || shutdown.is_triggered()
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
        let n = limiter.take(remaining.min(4096), deadline);
        for _ in 0..n {
            generator.next_event(&mut key, &mut payload);
            let mut record = BaseRecord::with_opaque_to(&config.topic, Ack(None))
                .key(&key[..])
                .payload(&payload[..]);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        if shutdown.is_triggered() {
                            break 'run;
                        }
                        record = r;
                        std::thread::sleep(Duration::from_micros(500));
                    }
                    Err((e, _)) => {
                        let code = e
                            .rdkafka_error_code()
                            .map_or_else(|| "other".to_owned(), |c| format!("{c:?}"));
                        metrics::counter!(m::ENQUEUE_FAILED, "source" => "generate", "error" => code).increment(1);
                        tracing::error!(error = %e, topic = %config.topic, "producer refused an event; stopping generation");
                        break 'run;
                    }
                }
            }
            produced += 1;
            uncounted += 1;
            if uncounted == 256 {
                counter.increment(uncounted);
                uncounted = 0;
            }
        }
        // Keep /metrics live at low rates too: count what each batch added.
        counter.increment(uncounted);
        uncounted = 0;
    }
    counter.increment(uncounted);
    produced
}
