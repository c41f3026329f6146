//! Start-up against Kafka: the generator waits (READY withheld) until the
//! brokers know its topic, instead of queueing events for a topic that
//! cannot take them.

mod common;

use std::time::{Duration, Instant};

use common::*;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::GenerateConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_a_missing_topic_then_produces() {
    let cluster = cluster(&[]);
    let mut kafka = kafka_props(&cluster.bootstrap_servers());
    kafka.set("allow.auto.create.topics", "false");
    let config = GenerateConfig {
        topic: "late-topic".into(),
        rate: 0.0,
        count: Some(10),
        ..GenerateConfig::default()
    };
    let started = Instant::now();
    let run = tokio::spawn(logpipe_generator::run(
        config,
        kafka,
        Shutdown::new(),
        Notifier::from_env(),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        !run.is_finished(),
        "nothing can be produced before the topic exists"
    );
    cluster.create_topic("late-topic", PARTITIONS, 1).unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(2500));
    assert_eq!(
        (summary.generated, summary.delivered, summary.failed),
        (10, 10, 0)
    );
    assert_eq!(
        consume(
            &cluster.bootstrap_servers(),
            "late-topic",
            10,
            Duration::from_secs(10)
        )
        .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_waiting_for_kafka_is_a_clear_error() {
    let cluster = cluster(&[]);
    let mut kafka = kafka_props(&cluster.bootstrap_servers());
    kafka.set("allow.auto.create.topics", "false");
    let shutdown = Shutdown::new();
    let run = tokio::spawn(logpipe_generator::run(
        GenerateConfig {
            topic: "never".into(),
            ..GenerateConfig::default()
        },
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shutdown.trigger();
    let err = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("stopped before Kafka became reachable"),
        "{err}"
    );
}
