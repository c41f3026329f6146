//! The real `logpipe generate` process under a simulated systemd: READY on
//! the notify socket once Kafka and /metrics are up, WATCHDOG pings, the
//! metrics it exports, and a graceful drain with exit 0 on SIGTERM/SIGINT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Daemon {
    child: Child,
    notify: UnixDatagram,
    metrics: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("notify");
        let notify = UnixDatagram::bind(&sock).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let metrics = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_logpipe"))
            .args(["generate", "--rate", "200", "-X", "test.mock.num.brokers=1"])
            .args(["--metrics-listen", &metrics.to_string()])
            .args(extra)
            .env("NOTIFY_SOCKET", &sock)
            .env("WATCHDOG_USEC", "400000")
            .stdin(Stdio::null())
            .spawn()
            .expect("start logpipe generate");
        Self {
            child,
            notify,
            metrics,
            _dir: dir,
        }
    }

    /// Next notification message, or panic after the socket's timeout.
    fn next_message(&self) -> String {
        let mut buf = [0u8; 256];
        let n = self
            .notify
            .recv(&mut buf)
            .expect("a notification before the timeout");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn wait_for(&self, wanted: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let m = self.next_message();
            let done = m == wanted;
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("logpipe did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn ready_watchdog_metrics_then_sigterm_drains_and_exits_zero() {
    let mut d = Daemon::start(&[]);
    let first = d.next_message();
    assert_eq!(first, "READY=1", "READY is the first notification");
    // /metrics is already being served when READY arrives.
    std::thread::sleep(Duration::from_millis(1200));
    let seen = d.wait_for("WATCHDOG=1");
    assert!(seen.iter().all(|m| m == "WATCHDOG=1"), "{seen:?}");
    let page = http_get(d.metrics, "/metrics");
    assert!(
        page.starts_with("HTTP/1.1 200") || page.starts_with("HTTP/1.0 200"),
        "{page}"
    );
    assert!(page.contains("logpipe_build_info{version=\""), "{page}");
    assert!(page.contains("daemon=\"generate\""));
    assert!(page.contains("# HELP logpipe_producer_delivered_total"));
    let generated = page
        .lines()
        .find(|l| l.starts_with("logpipe_generate_events_total{scenario=\"server-logs\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("generated-events counter exported");
    assert!(generated > 0.0);

    d.signal("-TERM");
    d.wait_for("STOPPING=1");
    let status = d.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "SIGTERM drains and exits 0");
}

#[test]
fn sigint_with_http_ingest_also_exits_zero() {
    let http = free_port();
    let mut d = Daemon::start(&["--http-listen", &http.to_string()]);
    assert_eq!(d.next_message(), "READY=1");
    let health = http_get(http, "/healthz");
    assert!(
        health.contains("200 OK") && health.ends_with("ok\n"),
        "{health}"
    );
    d.signal("-INT");
    let status = d.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn taken_metrics_port_is_a_clear_startup_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .args([
            "generate",
            "--count",
            "1",
            "-X",
            "test.mock.num.brokers=1",
            "--metrics-listen",
            &addr,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot start the metrics listener on {addr}")),
        "{stderr}"
    );
}
