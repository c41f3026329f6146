//! `logpipe archive` as a library call: open the sink, start the consumer
//! thread, report READY once partitions are assigned and recovered, and
//! commit every open file on shutdown.

use std::sync::Arc;

use anyhow::Context;
use logpipe_core::config::KafkaProperties;
use logpipe_core::dead_letter::DeadLetters;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::ClientConfig;

use crate::config::ArchiveConfig;
use crate::consumer::{self, Engine};
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
    let archive = Archive::new(sink, dlq, config)?;
    let engine = Engine::new(archive, start_offset, shutdown);
    tokio::task::spawn_blocking(move || consumer::consume(consumer_config, engine, notifier))
        .await
        .context("the consumer thread panicked")?
}

/// Consumer settings: the operator's properties, our defaults where unset,
/// and the properties exactly-once depends on forced.
pub fn consumer_config(
    kafka: &KafkaProperties,
    config: &ArchiveConfig,
) -> anyhow::Result<ClientConfig> {
    let mut props = kafka.clone();
    for (key, value) in [
        ("statistics.interval.ms", "5000"),
        ("queued.max.messages.kbytes", "16384"),
        ("partition.assignment.strategy", "range,roundrobin"),
    ] {
        if props.get(key).is_none() {
            props.set(key, value);
        }
    }
    if props
        .get("partition.assignment.strategy")
        .is_some_and(|s| s.contains("cooperative"))
    {
        anyhow::bail!(
            "archive.kafka: partition.assignment.strategy \"{}\" is cooperative; the archiver commits open files on revocation \
             and needs an eager strategy (range, roundrobin)",
            props.get("partition.assignment.strategy").unwrap_or_default()
        );
    }
    if props.get("bootstrap.servers").is_none() && props.get("test.mock.num.brokers").is_none() {
        anyhow::bail!("kafka: \"bootstrap.servers\" is not set (in [kafka] or [archive.kafka])");
    }
    props.set("group.id", config.group_id.clone());
    props.set("enable.auto.commit", "false");
    props.set("enable.auto.offset.store", "false");
    props.set(
        "auto.offset.reset",
        match config.start_offset {
            crate::config::StartOffset::Earliest => "earliest",
            crate::config::StartOffset::Latest => "latest",
        },
    );
    props.client_config()
}
