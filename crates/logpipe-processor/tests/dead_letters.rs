//! Dead letters when the dead-letter topic is unavailable, and what a reader
//! of it needs to de-duplicate. A missing `.dlq` topic, or one that refuses
//! writes, is an external failure: the processor backs off and retries,
//! keeps its offsets uncommitted past the bad event, counts the failures —
//! and delivers once the topic works. Every dead letter names its source
//! record (`logpipe.source.topic/partition/offset`), since delivery is at
//! least once.

use std::collections::BTreeSet;
use std::time::Duration;

use logpipe_core::config::KafkaProperties;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::ProcessConfig;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use tokio::task::JoinHandle;

mod common;
mod support;
use common::*;

fn config(db: &TestDb) -> ProcessConfig {
    ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        commit_interval: logpipe_core::config::HumanDuration::from_millis(200),
        ..ProcessConfig::default()
    }
}

fn start(
    config: ProcessConfig,
    kafka: KafkaProperties,
) -> (Shutdown, JoinHandle<anyhow::Result<()>>) {
    let shutdown = Shutdown::new();
    let task = tokio::spawn(logpipe_processor::run(
        config,
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    ));
    (shutdown, task)
}

const BAD: &[u8] = b"{\"timestamp\": 1700000001, \"level\": ";

/// `good` events with one undecodable message after the first half.
fn with_one_bad(good: &[(i32, Vec<u8>, f64, usize)]) -> Vec<(i32, Vec<u8>)> {
    let mut msgs: Vec<(i32, Vec<u8>)> = good.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    msgs.insert(good.len() / 2, (0, BAD.to_vec()));
    msgs
}

/// The source offsets named by the dead letters of `logs.dlq`.
fn dead_lettered_offsets(bootstrap: &str, at_least: usize) -> BTreeSet<i64> {
    logpipe_testkit::kafka::consume(bootstrap, "logs.dlq", at_least, Duration::from_secs(30))
        .iter()
        .map(|r| {
            assert_eq!(r.payload, BAD, "the payload is kept unchanged");
            assert_eq!(r.header("logpipe.source.topic").as_deref(), Some("logs"));
            assert_eq!(r.header("logpipe.source.partition").as_deref(), Some("0"));
            r.header("logpipe.source.offset")
                .expect("a source offset header")
                .parse()
                .expect("a decimal offset")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_refusing_dead_letter_topic_is_retried_not_fatal() {
    support::recorder();
    let db = TestDb::create().await;
    // No logs.dlq, and the dead-letter producer may not create it.
    let cluster = logpipe_testkit::kafka::mock_cluster(&[("logs", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    let mut kafka = test_kafka(&bootstrap);
    kafka
        .set("allow.auto.create.topics", "false")
        .set("message.timeout.ms", "2000")
        .set("topic.metadata.refresh.interval.ms", "1000");
    let events = log_events(400, 1, 1_700_000_000.0);
    let (first, second) = events.split_at(200);
    let msgs = with_one_bad(first);
    produce(&bootstrap, "logs", &msgs);

    let (shutdown, task) = start(config(&db), kafka.clone());
    support::wait_until(Duration::from_secs(60), "two failed DLQ deliveries", || {
        support::metric("logpipe_process_dlq_failures_total", &[]) >= 2.0 || task.is_finished()
    })
    .await;
    assert!(
        !task.is_finished(),
        "a missing dead-letter topic is not fatal: {:?}",
        task.await
    );
    assert!(
        committed_offsets(&db.url).await <= 100,
        "no offset past the undelivered dead letter (offset 100) is committed"
    );
    cluster.create_topic("logs.dlq", 1, 1).unwrap();
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "all offsets after the topic appeared",
        |n| n == 201,
    )
    .await;
    stop(shutdown, task).await;

    // The topic exists but refuses the next three writes.
    let msgs2 = with_one_bad(second);
    produce(&bootstrap, "logs", &msgs2);
    let failures_before = support::metric("logpipe_process_dlq_failures_total", &[]);
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 3],
    );
    let (shutdown, task) = start(config(&db), kafka);
    wait_offsets(
        &db.url,
        Duration::from_secs(60),
        "all offsets after the refusals",
        |n| n == 402,
    )
    .await;
    stop(shutdown, task).await;
    assert!(
        support::metric("logpipe_process_dlq_failures_total", &[]) >= failures_before + 1.0,
        "the refused writes were counted"
    );
    assert_eq!(
        dead_lettered_offsets(&bootstrap, 2),
        BTreeSet::from([100, 301]),
        "both bad events reached the DLQ (de-duplicated by source offset)"
    );
    let expected = reference_log_data(
        &events
            .iter()
            .map(|(_, _, t, l)| (*t, *l))
            .collect::<Vec<_>>(),
    );
    assert_eq!(stored_log_data(&db.url).await, expected);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_name_their_source_offset() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    let good = log_events(10, 1, 1_700_000_000.0);
    let mut msgs: Vec<(i32, Vec<u8>)> = good.iter().map(|(p, m, _, _)| (*p, m.clone())).collect();
    for at in [3, 7, 12] {
        msgs.insert(at, (0, BAD.to_vec()));
    }
    produce(&bootstrap, "logs", &msgs);
    let (shutdown, task) = start(config(&db), test_kafka(&bootstrap));
    wait_offsets(&db.url, Duration::from_secs(60), "all offsets", |n| n == 13).await;
    stop(shutdown, task).await;
    assert_eq!(
        dead_lettered_offsets(&bootstrap, 3),
        BTreeSet::from([3, 7, 12])
    );
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_dead_letter_producer_stops_the_daemon() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "logs", &[(0, BAD.to_vec())]);
    // An idempotent producer whose first write the broker calls out of
    // sequence can no longer guarantee anything: librdkafka's fatal state.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER],
    );
    let mut kafka = test_kafka(&bootstrap);
    kafka.set("enable.idempotence", "true");
    let (shutdown, mut task) = start(config(&db), kafka);
    let result = match tokio::time::timeout(Duration::from_secs(60), &mut task).await {
        Ok(joined) => joined.unwrap(),
        Err(_) => {
            shutdown.trigger();
            let _ = task.await;
            panic!("a fatal producer error is not retried forever");
        }
    };
    let e = format!("{:#}", result.expect_err("the daemon stops with an error"));
    assert!(
        e.contains("the dead-letter producer is in librdkafka's fatal state"),
        "{e}"
    );
    assert_eq!(committed_offsets(&db.url).await, 0, "nothing committed");
    db.drop().await;
}

async fn stop(shutdown: Shutdown, task: JoinHandle<anyhow::Result<()>>) {
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the processor stops within 30 s")
        .unwrap()
        .expect("the processor exits cleanly");
}
