//! Start-up against Kafka: the generator waits (READY withheld, the reason
//! in `STATUS=`) until the brokers know its topic, instead of queueing
//! events for a topic that cannot take them. The tests read what it tells
//! systemd on a notify socket of their own.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::GenerateConfig;
use logpipe_testkit::process::NotifySocket;

/// The generator's notifications, read on a blocking thread.
async fn blocking<T: Send + 'static>(
    notify: &Arc<NotifySocket>,
    f: impl FnOnce(&NotifySocket) -> T + Send + 'static,
) -> T {
    let notify = notify.clone();
    tokio::task::spawn_blocking(move || f(&notify))
        .await
        .unwrap()
}

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
    let notify = Arc::new(NotifySocket::bind(Duration::from_secs(30)));
    let run = tokio::spawn(logpipe_generator::run(
        config,
        kafka,
        Shutdown::new(),
        Notifier::to_socket(notify.path(), None).unwrap(),
    ));
    // The generator has asked the brokers and been told the topic is missing.
    let waiting = blocking(&notify, |n| n.until_prefix("STATUS=waiting for Kafka")).await;
    assert_eq!(
        waiting.len(),
        1,
        "nothing before the first status: {waiting:?}"
    );
    assert!(waiting[0].contains("late-topic"), "{waiting:?}");
    let before_topic = blocking(&notify, |n| n.pending()).await;
    assert!(
        before_topic
            .iter()
            .all(|m| m.starts_with("STATUS=waiting for Kafka")),
        "READY withheld while the topic is missing: {before_topic:?}"
    );
    assert!(
        !run.is_finished(),
        "nothing can be produced before the topic exists"
    );

    cluster.create_topic("late-topic", PARTITIONS, 1).unwrap();
    let until_ready = blocking(&notify, |n| n.until("READY=1")).await;
    let (ready, earlier) = until_ready.split_last().unwrap();
    assert_eq!(ready, "READY=1");
    assert!(
        earlier
            .iter()
            .all(|m| m.starts_with("STATUS=waiting for Kafka")),
        "{earlier:?}"
    );
    assert_eq!(
        blocking(&notify, |n| n.next()).await,
        "STATUS=producing to late-topic",
        "the waiting status is replaced once READY"
    );
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
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
    let notify = Arc::new(NotifySocket::bind(Duration::from_secs(30)));
    let run = tokio::spawn(logpipe_generator::run(
        GenerateConfig {
            topic: "never".into(),
            ..GenerateConfig::default()
        },
        kafka,
        shutdown.clone(),
        Notifier::to_socket(notify.path(), None).unwrap(),
    ));
    blocking(&notify, |n| n.until_prefix("STATUS=waiting for Kafka")).await;
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
    assert!(
        blocking(&notify, |n| n.pending())
            .await
            .iter()
            .all(|m| m != "READY=1"),
        "never READY"
    );
}
