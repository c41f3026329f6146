//! Shared fixtures of the archiver's tests: events with known offsets, an
//! archiver running in the test's runtime, and the archive read back with an
//! independent path (list, read, decompress, split lines).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use logpipe_archiver::config::ArchiveConfig;
use logpipe_archiver::path::PathTemplate;
use logpipe_archiver::verify::{self, PartitionReport};
use logpipe_core::config::{ByteSize, HumanDuration, KafkaProperties};
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_testkit::hdfs::FakeHdfs;
use logpipe_testkit::kafka::FAST_CLIENT_PROPERTIES;

/// `n` server-log events round-robin over `partitions`, their times spread
/// evenly over `span_secs` from `start_secs`.
pub fn events(n: usize, partitions: i32, start_secs: f64, span_secs: f64) -> Vec<(i32, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let t = start_secs + span_secs * i as f64 / n as f64;
            let level = ["DEBUG", "INFO", "WARN", "ERROR"][i % 4];
            let body = format!(
                r#"{{"timestamp":{t:.3},"level":"{level}","message":"event {i}","host":"web-{}"}}"#,
                i % 7
            );
            (i as i32 % partitions, body.into_bytes())
        })
        .collect()
}

/// A test config: small rolls, a fresh group, the mock's fast client settings.
pub fn config(url: &str, topic: &str, bootstrap: &str) -> (ArchiveConfig, KafkaProperties) {
    let mut c = ArchiveConfig {
        url: url.into(),
        topics: vec![topic.into()],
        group_id: format!("archive-test-{}", rand::random::<u32>()),
        drain_timeout: HumanDuration::from_secs(30),
        ..ArchiveConfig::default()
    };
    c.roll.max_records = 2_000;
    c.roll.max_bytes = ByteSize(64 << 20);
    c.roll.idle_timeout = HumanDuration::from_millis(500);
    // The events are from 2024: with markers they would all be late and go
    // to the current hour (a backfill turns markers off the same way).
    c.completeness.markers = false;
    let mut kafka = KafkaProperties::default();
    kafka.set("bootstrap.servers", bootstrap.to_string());
    for (k, v) in FAST_CLIENT_PROPERTIES {
        kafka.set(k, v.to_string());
    }
    kafka.set("fetch.wait.max.ms", "10");
    (c, kafka)
}

/// Point `c` at a fake HDFS, with the fast-failing client settings.
/// [`config`] for topic `logs` archived into the local directory `dir`.
pub fn local_config(dir: &tempfile::TempDir, bootstrap: &str) -> (ArchiveConfig, KafkaProperties) {
    config(
        &format!("file://{}", dir.path().display()),
        "logs",
        bootstrap,
    )
}

pub fn use_hdfs(c: &mut ArchiveConfig, fake: &FakeHdfs, root: &str) {
    c.url = format!("{}{root}", fake.url());
    c.hdfs.config_dir = Some(fake.config_dir().to_str().unwrap().to_owned());
    c.hdfs.user = Some("logpipe".into());
    c.hdfs.properties = FakeHdfs::client_config().into_iter().collect();
}

/// An archiver running in the test's runtime.
pub struct Running {
    pub shutdown: Shutdown,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub fn start(config: ArchiveConfig, kafka: KafkaProperties) -> Running {
        let shutdown = Shutdown::new();
        let handle = tokio::spawn(logpipe_archiver::run(
            config,
            kafka,
            shutdown.clone(),
            Notifier::from_env(),
        ));
        Running {
            shutdown,
            handle: Some(handle),
        }
    }

    /// SIGTERM-like stop: every open file is committed.
    pub async fn stop(mut self) {
        self.shutdown.trigger();
        let handle = self.handle.take().expect("stopped once");
        tokio::time::timeout(Duration::from_secs(60), handle)
            .await
            .expect("the archiver stops within 60 s")
            .expect("the archiver task did not panic")
            .expect("the archiver stopped without an error");
    }

    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }
}

impl Drop for Running {
    /// A test that fails before `stop` must not leave the consumer thread
    /// running (the runtime would wait for it forever).
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// The archive of `topic` read back: (partition, offset) → line, from the
/// committed files' names and contents. Panics on a file whose line count
/// does not match its name's range (these tests dead-letter nothing).
pub fn read_back(c: &ArchiveConfig, topic: &str) -> BTreeMap<(i32, i64), Vec<u8>> {
    try_read_back(c, topic).unwrap()
}

/// The number of archived records, or 0 while the archive cannot be read
/// (a fault injected for the archiver hits the test's reads too).
pub fn archived(c: &ArchiveConfig, topic: &str) -> usize {
    try_read_back(c, topic).map_or(0, |m| m.len())
}

/// [`read_back`], with sink errors returned.
pub fn try_read_back(
    c: &ArchiveConfig,
    topic: &str,
) -> Result<BTreeMap<(i32, i64), Vec<u8>>, logpipe_archiver::sink::SinkError> {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    let template = PathTemplate::parse(&c.path).unwrap();
    let mut out = BTreeMap::new();
    for f in verify::list_files(sink.as_ref(), &template, topic)? {
        let lines = verify::read_records(sink.as_ref(), &f)?;
        assert_eq!(
            lines.len() as u64,
            f.range.len(),
            "{}: lines vs offset range",
            f.path
        );
        for (i, line) in lines.into_iter().enumerate() {
            let prev = out.insert((f.range.partition, f.range.start + i as i64), line);
            assert!(
                prev.is_none(),
                "offset {}+{i} archived twice ({})",
                f.range.start,
                f.path
            );
        }
    }
    Ok(out)
}

/// `archive verify` of `topic`.
pub fn verify_reports(c: &ArchiveConfig, topic: &str) -> Vec<PartitionReport> {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    let template = PathTemplate::parse(&c.path).unwrap();
    let files = verify::list_files(sink.as_ref(), &template, topic).unwrap();
    verify::check(&files, |f| verify::count_records(sink.as_ref(), f)).unwrap()
}

/// Entries left under the temporaries directory.
pub fn temporaries(c: &ArchiveConfig) -> Vec<String> {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    sink.list(logpipe_core::archive::TEMP_DIR)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

/// What the archive must hold for `events` produced at offsets 0.. per partition.
pub fn expected(events: &[(i32, Vec<u8>)]) -> BTreeMap<(i32, i64), Vec<u8>> {
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    events
        .iter()
        .map(|(p, v)| {
            let o = next.entry(*p).or_default();
            *o += 1;
            ((*p, *o - 1), v.clone())
        })
        .collect()
}

/// Run blocking archive reads off the async workers.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Poll `cond` (a blocking check) until it holds or `timeout` passes.
pub async fn wait_until(
    what: &str,
    timeout: Duration,
    cond: impl Fn() -> bool + Send + Sync + Clone + 'static,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let c = cond.clone();
        if blocking(c).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The archiver's counter `name` for `topic`, from a process-wide
/// Prometheus recorder installed on first use (before the archiver starts,
/// or its first increments are not seen).
pub fn counter(name: &str, topic: &str) -> f64 {
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no other recorder in this test binary");
        handle
    });
    let label = format!("topic=\"{topic}\"");
    handle
        .render()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(&label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}
