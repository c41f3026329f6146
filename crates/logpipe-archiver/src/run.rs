//! `logpipe archive` as a library call: open the sink, start the consumer
//! thread, report READY once partitions are assigned and recovered, and
//! commit every open file on shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use logpipe_core::config::KafkaProperties;
use logpipe_core::dead_letter::DeadLetters;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::ClientConfig;

use crate::config::ArchiveConfig;
use crate::consumer::{self, Engine};
use crate::marker::MarkerWriter;
use crate::sink::Sink;
use crate::writer::Archive;

/// Run the archiver until `shutdown`; `kafka` is `[kafka]` merged with
/// `[archive.kafka]`. Every open file is committed before it returns.
pub async fn run(
    config: ArchiveConfig,
    kafka: KafkaProperties,
    shutdown: Shutdown,
    notifier: Notifier,
) -> anyhow::Result<()> {
    logpipe_core::metrics::describe(crate::metrics::METRICS);
    let runtime = tokio::runtime::Handle::current();
    let consumer_config = consumer_config(&kafka, &config)?;
    let dlq = DeadLetters::new(&kafka, config.dead_letter)?;
    let config = Arc::new(config);
    let start_offset = config.start_offset;
    let sink = {
        let config = config.clone();
        let runtime = runtime.clone();
        tokio::task::spawn_blocking(move || crate::sink::open(&config, runtime))
            .await
            .context("opening the sink panicked")??
    };
    tracing::info!(sink = sink.describe(), topics = ?config.topics, "archiving");
    let sink: Arc<dyn Sink> = Arc::from(sink);
    let archive = Archive::new(sink.clone(), dlq, config.clone())?;
    let (touched, markers) = if config.completeness.markers {
        let (tx, rx) = std::sync::mpsc::channel();
        let settle = config.completeness.allowed_lateness.get()
            + config.roll.idle_timeout.get()
            + 2 * archive.policy().tick_interval()
            + Duration::from_secs(5);
        let writer = MarkerWriter {
            sink,
            template: archive.template().clone(),
            settle,
            local: Box::new(archive.local_clock()),
        };
        let thread = std::thread::Builder::new()
            .name("archive-markers".into())
            .spawn(move || writer.run(rx))
            .context("cannot start the marker thread")?;
        (Some(tx), Some(thread))
    } else {
        (None, None)
    };
    let engine = Engine::new(archive, start_offset, shutdown, touched);
    let result =
        tokio::task::spawn_blocking(move || consumer::consume(consumer_config, engine, notifier))
            .await
            .context("the consumer thread panicked")?;
    if let Some(m) = markers {
        let _ = tokio::task::spawn_blocking(move || m.join()).await;
    }
    result
}

/// Consumer settings: the operator's properties, our defaults where unset,
/// and the properties exactly-once depends on forced.
pub fn consumer_config(
    kafka: &KafkaProperties,
    config: &ArchiveConfig,
) -> anyhow::Result<ClientConfig> {
    let mut cfg = kafka.externally_committed_consumer(
        "archive",
        &config.group_id,
        config.start_offset == crate::config::StartOffset::Earliest,
    )?;
    // Every partition is positioned explicitly (after its last committed
    // file, or at start_offset when the archive has none), so a reset
    // happens only when retention deleted the position: resume at the log
    // start, where the fewest records are lost (and those are counted).
    cfg.set("auto.offset.reset", "earliest");
    Ok(cfg)
}
