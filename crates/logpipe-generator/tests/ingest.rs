//! HTTP ingest against a real Kafka protocol peer (librdkafka's mock
//! cluster): every status code the API promises, including a broker taken
//! down mid-request — 503 within the deadline, and nothing accepted is lost.

mod common;

use std::time::{Duration, Instant};

use common::*;
use logpipe_core::config::{ByteSize, HumanDuration, KafkaProperties, Secret};
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::{GenerateConfig, Summary};
use logpipe_testkit::process::free_port;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde_json::Value;

struct Server {
    cluster: MockCluster<'static, DefaultProducerContext>,
    base: String,
    topic: String,
    shutdown: Shutdown,
    handle: tokio::task::JoinHandle<anyhow::Result<Summary>>,
    http: reqwest::Client,
}

async fn start(tweak: impl FnOnce(&mut GenerateConfig, &mut KafkaProperties)) -> Server {
    let topic = "ingest";
    let cluster = cluster(&[topic]);
    let mut kafka = kafka_props(&cluster.bootstrap_servers());
    let listen = free_port();
    let mut config = GenerateConfig {
        topic: topic.into(),
        synthetic: false,
        ..GenerateConfig::default()
    };
    config.http.enabled = true;
    config.http.listen = listen;
    config.http.key_field = Some("host".into());
    tweak(&mut config, &mut kafka);
    let shutdown = Shutdown::new();
    let handle = tokio::spawn(logpipe_generator::run(
        config,
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    ));
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "ingest server did not come up");
        assert!(!handle.is_finished(), "generator exited early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        cluster,
        base,
        topic: topic.into(),
        shutdown,
        handle,
        http,
    }
}

impl Server {
    async fn post(&self, body: impl Into<reqwest::Body>, token: Option<&str>) -> reqwest::Response {
        let mut req = self.http.post(format!("{}/api/logs", self.base)).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    async fn consume(&self, expected: usize) -> Vec<Record> {
        let (b, t) = (self.cluster.bootstrap_servers(), self.topic.clone());
        tokio::task::spawn_blocking(move || consume(&b, &t, expected, Duration::from_secs(30)))
            .await
            .unwrap()
    }

    async fn stop(self) -> Summary {
        self.shutdown.trigger();
        let summary = tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("drained in time")
            .unwrap()
            .expect("clean exit");
        drop(self.cluster);
        summary
    }
}

async fn json(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_array_and_ndjson_are_acknowledged_and_delivered() {
    let s = start(|_, _| {}).await;
    let r = s
        .post(
            r#"{"level":"INFO","message":"one","host":"a","timestamp":1700000000.5}"#,
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(json(r).await["accepted"], 1);
    let r = s
        .post(
            r#"[{"level":"WARN","host":"b"},{"level":"ERROR","host":"c"}]"#,
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(json(r).await["accepted"], 2);
    let r = s
        .post(
            "{\"level\":\"DEBUG\",\"host\":\"d\"}\n\n{\"level\":\"INFO\",\"host\":\"e\"}\n",
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(json(r).await["accepted"], 2);

    let records = s.consume(5).await;
    assert_eq!(
        records.len(),
        5,
        "each acknowledged event is in Kafka exactly once"
    );
    let mut hosts: Vec<String> = Vec::new();
    for r in &records {
        let v: Value = serde_json::from_slice(&r.payload).unwrap();
        let host = v["host"].as_str().unwrap().to_owned();
        assert_eq!(
            r.key.as_deref(),
            Some(host.as_bytes()),
            "key is the configured key_field"
        );
        assert!(
            v["timestamp"].is_number(),
            "timestamp kept or stamped on arrival"
        );
        if host == "a" {
            assert_eq!(v["timestamp"], 1700000000.5, "a given timestamp is kept");
        }
        hosts.push(host);
    }
    hosts.sort();
    assert_eq!(hosts, ["a", "b", "c", "d", "e"]);
    let summary = s.stop().await;
    assert_eq!((summary.delivered, summary.failed), (5, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_400_naming_the_line_and_nothing_is_produced() {
    let s = start(|_, _| {}).await;
    let r = s.post("{\"a\":1}\n{\"b\":2}\n{\"c\": oops}\n", None).await;
    assert_eq!(r.status(), 400);
    let err = json(r).await["error"].as_str().unwrap().to_owned();
    assert!(err.starts_with("line 3, column"), "{err}");
    let r = s.post("[{\"a\":1}, 7]", None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        json(r).await["error"],
        "array element 1 (line 1): expected a JSON object, found a number"
    );
    let r = s.post("", None).await;
    assert_eq!(r.status(), 400);
    // Good requests still work and the bad ones left nothing behind.
    assert_eq!(s.post(r#"{"ok":true}"#, None).await.status(), 202);
    assert_eq!(s.consume(1).await.len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_required_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "s3cret-token\n").unwrap();
    let s = start(|c, _| c.http.token_file = Some(Secret { path })).await;
    let r = s.post(r#"{"a":1}"#, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        s.post(r#"{"a":1}"#, Some("s3cret-tokem")).await.status(),
        401
    );
    assert_eq!(
        s.post(r#"{"a":1}"#, Some("s3cret-token")).await.status(),
        202
    );
    assert_eq!(
        s.consume(1).await.len(),
        1,
        "only the authorised event was produced"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_gets_413() {
    let s = start(|c, _| c.http.max_body = ByteSize(1024)).await;
    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(2000));
    let r = s.post(big, None).await;
    assert_eq!(r.status(), 413);
    assert!(json(r).await["error"]
        .as_str()
        .unwrap()
        .contains("1024 bytes"));
    assert_eq!(s.post(r#"{"small":true}"#, None).await.status(), 202);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_producer_queue_gets_429_with_retry_after() {
    let s = start(|_, k| {
        k.set("queue.buffering.max.messages", "5");
    })
    .await;
    let batch: Vec<Value> = (0..10).map(|i| serde_json::json!({ "i": i })).collect();
    let r = s.post(serde_json::to_string(&batch).unwrap(), None).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(
        s.post(r#"[{"i":1},{"i":2}]"#, None).await.status(),
        202,
        "a batch that fits is accepted"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_gets_503_in_time_and_accepted_events_arrive_after_recovery() {
    let s = start(|c, _| c.http.ack_timeout = HumanDuration::from_secs(2)).await;
    assert_eq!(s.post(r#"{"before":true}"#, None).await.status(), 202);
    s.cluster.broker_down(1).unwrap();
    let started = Instant::now();
    let r = s
        .post(r#"[{"during":1},{"during":2},{"during":3}]"#, None)
        .await;
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    assert!(
        took < Duration::from_secs(4),
        "answered after {took:?}, deadline is 2 s"
    );
    assert!(r.headers().contains_key("retry-after"));
    let body = json(r).await;
    assert_eq!(body["queued"], 3, "{body}");

    s.cluster.broker_up(1).unwrap();
    let records = s.consume(4).await;
    let mut during: Vec<i64> = records
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.payload).unwrap()["during"].as_i64())
        .collect();
    during.sort_unstable();
    assert_eq!(
        during,
        [1, 2, 3],
        "events queued while the broker was down were delivered once"
    );
    assert_eq!(records.len(), 4);
    let summary = s.stop().await;
    assert_eq!(summary.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_serves_generated_events_as_sse() {
    let s = start(|_, _| {}).await;
    let mut r = s
        .http
        .get(format!("{}/api/stream?rate=200&seed=3", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while text.matches("data: ").count() < 5 && Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("each SSE data line is a JSON event"))
        .collect();
    assert!(events.len() >= 5, "{text}");
    assert!(events
        .iter()
        .all(|e| e["transaction_id"].is_string() && e["price"].is_number()));
    assert!(text.contains("event: car-transactions"));
    drop(r);
    let r = s
        .http
        .get(format!("{}/api/stream?rate=1000000", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "rates above stream_max_rate are refused");
    let r = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop().await;
}
