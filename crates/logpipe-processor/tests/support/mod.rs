//! Support of the processor's failure tests (store and DLQ unavailable,
//! offsets moved, far-future events), beside `tests/common`: the
//! processor's metrics read from an in-process Prometheus recorder, what it
//! tells systemd read from a notify socket (the producer that lets the mock
//! broker drop old messages is `logpipe_testkit::kafka::produce_past_retention`).

#![allow(dead_code)] // each test binary uses a part of it

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use logpipe_core::systemd::Notifier;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide recorder (installed on first use), so that a test can
/// read the counters the processor publishes.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no other recorder in this test binary");
        handle
    })
}

/// Sum of the series of `name` whose labels include every `(key, value)`
/// of `labels` (0 when there is none).
pub fn metric(name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = recorder().render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Wait until `done` holds, polling every 50 ms, or panic naming `what`.
pub async fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`: records
/// every message with its arrival time.
pub struct NotifySocket {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    messages: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl NotifySocket {
    pub fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n) = socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().unwrap().push((Instant::now(), msg));
            }
        });
        NotifySocket {
            _dir: dir,
            path,
            messages,
        }
    }

    /// A notifier for the daemon, as systemd with `WatchdogSec=watchdog`
    /// would configure it (pings at half the interval).
    pub fn notifier(&self, watchdog: Option<Duration>) -> Notifier {
        Notifier::to_socket(&self.path, watchdog.map(|w| w / 2)).unwrap()
    }

    /// Messages so far, with their arrival times.
    pub fn messages(&self) -> Vec<(Instant, String)> {
        self.messages.lock().unwrap().clone()
    }

    pub fn has(&self, msg: &str) -> bool {
        self.messages().iter().any(|(_, m)| m == msg)
    }

    /// Arrival times of `WATCHDOG=1`.
    pub fn pings(&self) -> Vec<Instant> {
        self.messages()
            .into_iter()
            .filter(|(_, m)| m == "WATCHDOG=1")
            .map(|(t, _)| t)
            .collect()
    }
}
