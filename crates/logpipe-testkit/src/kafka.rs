//! Kafka for tests: librdkafka's in-process mock cluster (real Kafka protocol
//! over loopback) with topics created up front, a producer that writes
//! messages to explicit partitions and waits for their acknowledgement, and
//! a reader of a whole topic from the beginning, bounded by a timeout.
//!
//! The mock does not answer CreateTopics: [`mock_cluster`] creates topics
//! through the mock's own API. Clients of tests should also set
//! [`FAST_CLIENT_PROPERTIES`] (quick group joins and reconnects).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The mock cluster type the helpers return (owns its brokers; dropping it stops them).
pub type MockCluster = rdkafka::mocking::MockCluster<'static, DefaultProducerContext>;

/// librdkafka properties that make a client behave well against the mock:
/// a member replacing one that just left waits `session.timeout.ms` (45 s by
/// default), and after a broker outage delivery resumes only after the
/// reconnect back-off (10 s max by default).
pub const FAST_CLIENT_PROPERTIES: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "500"),
    ("reconnect.backoff.max.ms", "1000"),
];

/// A one-broker mock cluster with each `(topic, partitions)` created.
pub fn mock_cluster(topics: &[(&str, i32)]) -> MockCluster {
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("start the librdkafka mock cluster");
    for (topic, partitions) in topics {
        cluster
            .create_topic(topic, *partitions, 1)
            .unwrap_or_else(|e| panic!("create mock topic {topic} ({partitions} partitions): {e}"));
    }
    cluster
}

/// Produce `(partition, payload)` messages to `topic`, in order, and wait
/// (up to 30 s) until every one is acknowledged. Panics on any delivery error,
/// and if the mock broker has dropped any message of a partition written to
/// (see [`MOCK_PARTITION_BYTES`]).
pub fn produce(bootstrap: &str, topic: &str, messages: &[(i32, Vec<u8>)]) {
    let producer = send_all(bootstrap, topic, messages);
    let mut partitions: Vec<i32> = messages.iter().map(|(p, _)| *p).collect();
    partitions.sort_unstable();
    partitions.dedup();
    for partition in partitions {
        let (low, _) = producer
            .client()
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("watermarks of {topic}[{partition}]: {e}"));
        assert_eq!(
            low, 0,
            "the mock broker dropped the first {low} message(s) of {topic}[{partition}]: it keeps only \
             ~{MOCK_PARTITION_BYTES} bytes per partition; spread the test data over more partitions"
        );
    }
}

/// Send `messages` and wait (up to 30 s) for every acknowledgement.
fn send_all(
    bootstrap: &str,
    topic: &str,
    messages: &[(i32, Vec<u8>)],
) -> ThreadedProducer<DefaultProducerContext> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.max.bytes", "10000000")
        .create()
        .expect("create the test producer");
    for (partition, payload) in messages {
        let mut record = BaseRecord::<(), [u8]>::to(topic)
            .partition(*partition)
            .payload(payload.as_slice());
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, back)) => {
                    assert_eq!(
                        e.rdkafka_error_code(),
                        Some(RDKafkaErrorCode::QueueFull),
                        "produce to {topic}[{partition}]: {e}"
                    );
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap_or_else(|e| {
        panic!(
            "{} message(s) to {topic} not acknowledged: {e}",
            producer.in_flight_count()
        )
    });
    producer
}

/// Produce `messages` to `partition` of `topic` and wait for their
/// acknowledgement, without [`produce`]'s check that the mock broker kept
/// everything: for tests that want it to drop old messages (retention).
/// Returns the partition's (log start, log end) afterwards.
pub fn produce_past_retention(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    messages: &[Vec<u8>],
) -> (i64, i64) {
    let messages: Vec<(i32, Vec<u8>)> = messages.iter().map(|m| (partition, m.clone())).collect();
    send_all(bootstrap, topic, &messages)
        .client()
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("watermarks of {topic}[{partition}]: {e}"))
}

/// What librdkafka's mock broker keeps per partition before it drops the
/// oldest messages (its log start offset then moves past them, which a
/// consumer that is behind sees as data lost to retention). Test data must
/// stay well below this per partition: about 25,000 seed-sized events.
pub const MOCK_PARTITION_BYTES: usize = 5 * 1024 * 1024;

/// A consumed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Headers in order: (name, value).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    /// The value of header `name` as (lossy) UTF-8, if present with a value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Read every partition of `topic` from the beginning until `expected`
/// records arrived or `timeout` passed, then 300 ms longer so that anything
/// beyond `expected` (a duplicate) shows up too. Records of one partition
/// are in offset order. Panics if the topic's metadata cannot be read.
pub fn consume(bootstrap: &str, topic: &str, expected: usize, timeout: Duration) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("testkit-reader-{topic}-{}", std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("create the test consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("metadata of topic {topic}: {e}"));
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    assert!(
        partitions > 0,
        "topic {topic} has no partitions (not created?)"
    );
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("add partition");
    }
    consumer.assign(&tpl).expect("assign partitions");

    let mut out = Vec::new();
    let take = |m: rdkafka::message::BorrowedMessage<'_>| Record {
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().unwrap_or_default().to_vec(),
        headers: m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let deadline = Instant::now() + timeout;
    while out.len() < expected && Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            out.push(take(m.unwrap_or_else(|e| panic!("consume {topic}: {e}"))));
        }
    }
    let settle = Instant::now() + Duration::from_millis(300);
    while Instant::now() < settle {
        if let Some(m) = consumer.poll(Duration::from_millis(50)) {
            out.push(take(m.unwrap_or_else(|e| panic!("consume {topic}: {e}"))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produced_messages_come_back_per_partition_in_order_with_nothing_extra() {
        let cluster = mock_cluster(&[("t", 2)]);
        let bootstrap = cluster.bootstrap_servers();
        let messages: Vec<(i32, Vec<u8>)> = (0..10)
            .map(|i| (i % 2, format!("m{i}").into_bytes()))
            .collect();
        produce(&bootstrap, "t", &messages);
        let got = consume(&bootstrap, "t", 10, Duration::from_secs(30));
        assert_eq!(got.len(), 10, "exactly the produced messages");
        for p in 0..2 {
            let payloads: Vec<String> = got
                .iter()
                .filter(|r| r.partition == p)
                .map(|r| String::from_utf8(r.payload.clone()).unwrap())
                .collect();
            let expected: Vec<String> = (0..10)
                .filter(|i| i % 2 == p)
                .map(|i| format!("m{i}"))
                .collect();
            assert_eq!(payloads, expected, "partition {p}");
        }
    }
}
