//! `logpipe process` as a library call: connect and prepare the store
//! (waiting while it is unreachable), start the committer and the consumer
//! thread, report READY once partitions are assigned, and drain with a
//! final commit on shutdown.

use std::sync::Arc;

use anyhow::Context;
use logpipe_core::config::KafkaProperties;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use rdkafka::ClientConfig;

use crate::committer;
use crate::config::{ProcessConfig, StartOffset};
use crate::consumer::{self, ConsumerState, Settings};
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
    // Configuration errors first: they must not wait for the store.
    let consumer_config = consumer_config(&kafka, &config)?;
    let dlq = Arc::new(DeadLetters::new(&kafka, config.dead_letter)?);
    let stop = shutdown.clone();
    let Some(store) = Store::open(
        &config.database_url,
        password.as_deref(),
        &schema,
        move || stop.is_triggered(),
        |e, wait| {
            notifier.status(&format!("waiting for the store: {e}"));
            // Not READY until the store is prepared: keep systemd's start timeout at bay.
            notifier.extend_timeout(wait + std::time::Duration::from_secs(30));
        },
    )
    .await?
    else {
        return Ok(()); // shut down while waiting for the store
    };
    ::metrics::gauge!(crate::metrics::STORE_AVAILABLE).set(1.0);

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
        on_offset_reset: config.on_offset_reset,
        commit_interval: config.commit_interval.get(),
        commit_max_events: config.commit_max_events,
        dead_letter: config.dead_letter,
    };
    let state = ConsumerState::new(
        pipeline,
        store.clone(),
        settings,
        tokio::runtime::Handle::current(),
        batch_tx,
        outcome_rx,
        dlq,
        shutdown,
        notifier,
    );
    let result = tokio::task::spawn_blocking(move || consumer::consume(consumer_config, state))
        .await
        .context("the consumer thread panicked")?;
    let _ = committer.await;
    store.close().await;
    result
}

/// Consumer settings: the operator's properties, our defaults where unset,
/// and the properties exactly-once depends on forced.
pub(crate) fn consumer_config(
    kafka: &KafkaProperties,
    config: &ProcessConfig,
) -> anyhow::Result<ClientConfig> {
    let mut cfg = kafka.externally_committed_consumer(
        "process",
        &config.group_id,
        config.start_offset == StartOffset::Earliest,
    )?;
    // Partitions are always positioned explicitly (stored offset, or
    // start_offset for a new one), so this applies only when a fetch falls
    // out of the log while running (retention overtook a lagging
    // consumer): lose as little as possible.
    cfg.set("auto.offset.reset", "earliest");
    Ok(cfg)
}
