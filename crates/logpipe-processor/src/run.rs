//! `logpipe process` as a library call: connect and prepare the store,
//! start the committer and the consumer thread, report READY once
//! partitions are assigned, and drain with a final commit on shutdown.

use std::sync::Arc;

use anyhow::Context;
use logpipe_core::config::KafkaProperties;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::ClientConfig;

use crate::committer;
use crate::config::{ProcessConfig, StartOffset};
use crate::consumer::{self, Engine, Settings};
use crate::pipeline::Pipeline;
use crate::store::Store;
use logpipe_core::dead_letter::DeadLetters;

/// Run the processor until `shutdown`; `kafka` is `[kafka]` merged with
/// `[process.kafka]`. Everything consumed before shutdown is committed.
pub async fn run(
    config: ProcessConfig,
    kafka: KafkaProperties,
    shutdown: Shutdown,
    notifier: Notifier,
) -> anyhow::Result<()> {
    logpipe_core::metrics::describe(crate::metrics::METRICS);
    let pipeline = Pipeline::new(&config);
    let schema = Arc::new(pipeline.schema());
    let password = config
        .database_password_file
        .as_ref()
        .map(|s| s.read())
        .transpose()?;
    let store = Store::connect(&config.database_url, password.as_deref()).await?;
    store.prepare(&schema).await?;
    let consumer_config = consumer_config(&kafka, &config)?;
    let dlq = Arc::new(DeadLetters::new(&kafka, config.dead_letter)?);

    let (batch_tx, batch_rx) = tokio::sync::mpsc::channel(1);
    let (outcome_tx, outcome_rx) = std::sync::mpsc::channel();
    let committer = tokio::spawn(committer::run(
        store.clone(),
        schema,
        config.group_id.clone(),
        dlq.clone(),
        batch_rx,
        outcome_tx,
    ));
    let settings = Settings {
        group_id: config.group_id.clone(),
        start_offset: config.start_offset,
        commit_interval: config.commit_interval.get(),
        commit_max_events: config.commit_max_events,
    };
    let engine = Engine::new(
        pipeline,
        store.clone(),
        settings,
        tokio::runtime::Handle::current(),
        batch_tx,
        outcome_rx,
        dlq,
        shutdown,
    );
    let result =
        tokio::task::spawn_blocking(move || consumer::consume(consumer_config, engine, notifier))
            .await
            .context("the consumer thread panicked")?;
    let _ = committer.await;
    store.close().await;
    result
}

/// Consumer settings: the operator's properties, our defaults where unset,
/// and the properties exactly-once depends on forced.
pub fn consumer_config(
    kafka: &KafkaProperties,
    config: &ProcessConfig,
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
            "process.kafka: partition.assignment.strategy \"{}\" is cooperative; the processor commits on revocation \
             and needs an eager strategy (range, roundrobin)",
            props.get("partition.assignment.strategy").unwrap_or_default()
        );
    }
    if props.get("bootstrap.servers").is_none() && props.get("test.mock.num.brokers").is_none() {
        anyhow::bail!("kafka: \"bootstrap.servers\" is not set (in [kafka] or [process.kafka])");
    }
    props.set("group.id", config.group_id.clone());
    props.set("enable.auto.commit", "false");
    props.set("enable.auto.offset.store", "false");
    props.set(
        "auto.offset.reset",
        match config.start_offset {
            StartOffset::Earliest => "earliest",
            StartOffset::Latest => "latest",
        },
    );
    props.client_config()
}
