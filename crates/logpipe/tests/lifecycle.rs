//! The real `logpipe generate` process under a simulated systemd: READY on
//! the notify socket once Kafka and /metrics are up, WATCHDOG pings, the
//! metrics it exports, and a graceful drain with exit 0 on SIGTERM/SIGINT.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use logpipe_testkit::process::{free_port, http_get, metric, KillOnDrop, NotifySocket};

struct Generate {
    child: KillOnDrop,
    notify: NotifySocket,
    metrics: SocketAddr,
}

fn start(extra: &[&str]) -> Generate {
    let notify = NotifySocket::bind(Duration::from_secs(30));
    let metrics = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .args(["generate", "--rate", "200", "-X", "test.mock.num.brokers=1"])
        .args(["--metrics-listen", &metrics.to_string()])
        .args(extra)
        .env("NOTIFY_SOCKET", notify.path())
        .env("WATCHDOG_USEC", "400000")
        .stdin(Stdio::null())
        .spawn()
        .expect("start logpipe generate");
    Generate {
        child: KillOnDrop(child),
        notify,
        metrics,
    }
}

/// READY is the first notification, after at most the statuses of a wait
/// for Kafka (`STATUS=waiting for Kafka: …`, when the mock was slow to answer).
fn assert_ready_first(notify: &NotifySocket) {
    let seen = notify.until("READY=1");
    assert!(
        seen[..seen.len() - 1]
            .iter()
            .all(|m| m.starts_with("STATUS=waiting for Kafka")),
        "READY is the first notification: {seen:?}"
    );
}

#[test]
fn ready_watchdog_metrics_then_sigterm_drains_and_exits_zero() {
    let mut d = start(&[]);
    assert_ready_first(&d.notify);
    // /metrics is already being served when READY arrives.
    std::thread::sleep(Duration::from_millis(1200));
    let seen = d.notify.until("WATCHDOG=1");
    assert!(
        seen.iter()
            .all(|m| m == "WATCHDOG=1" || m.starts_with("STATUS=producing")),
        "{seen:?}"
    );
    let page = http_get(d.metrics, "/metrics");
    assert!(
        page.starts_with("HTTP/1.1 200") || page.starts_with("HTTP/1.0 200"),
        "{page}"
    );
    assert!(page.contains("logpipe_build_info{version=\""), "{page}");
    assert!(page.contains("daemon=\"generate\""));
    assert!(page.contains("# HELP logpipe_producer_delivered_total"));
    let generated = metric(
        &page,
        "logpipe_generate_events_total{scenario=\"server-logs\"}",
    )
    .expect("generated-events counter exported");
    assert!(generated > 0.0);

    d.child.signal("TERM");
    d.notify.until("STOPPING=1");
    let status = d.child.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0), "SIGTERM drains and exits 0");
}

#[test]
fn sigint_with_http_ingest_also_exits_zero() {
    let http = free_port();
    let mut d = start(&["--http-listen", &http.to_string()]);
    assert_ready_first(&d.notify);
    let health = http_get(http, "/healthz");
    assert!(
        health.contains("200 OK") && health.ends_with("ok\n"),
        "{health}"
    );
    d.child.signal("INT");
    let status = d.child.wait_exit(Duration::from_secs(15));
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
