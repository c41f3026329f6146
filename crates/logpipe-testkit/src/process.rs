//! Harness for tests that run the real `logpipe` binary as a daemon: a child
//! that is SIGKILLed when dropped (a failing test leaves nothing running), a
//! fake systemd notify socket, a free loopback port, and a plain HTTP GET for
//! `/metrics` and health endpoints.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// `binary DAEMON --config CONFIG --metrics-listen 127.0.0.1:0`, as the
/// tests of one daemon run it: logging at warn, outside systemd (no
/// `NOTIFY_SOCKET`), SIGKILLed when dropped.
pub fn spawn_daemon(binary: &str, daemon: &str, config: &Path) -> KillOnDrop {
    KillOnDrop(
        std::process::Command::new(binary)
            .args([daemon, "--config"])
            .arg(config)
            .args(["--metrics-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary} {daemon}: {e}")),
    )
}

/// A child process killed (SIGKILL) and reaped when dropped.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Send a signal by name (`"TERM"`, `"INT"`, `"KILL"`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), self.0.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {} failed", self.0.id());
    }

    /// Whether it already exited on its own.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.0.try_wait().expect("query child status")
    }

    /// Wait for the exit, panicking (and killing it) after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process {} did not exit within {within:?}",
                self.0.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `NOTIFY_SOCKET` that records what a `Type=notify` daemon tells systemd.
pub struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    /// Bind in a fresh temp dir; `next` waits at most `timeout` per message.
    pub fn bind(timeout: Duration) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).expect("bind notify socket");
        socket.set_read_timeout(Some(timeout)).expect("set timeout");
        Self {
            socket,
            path,
            _dir: dir,
        }
    }

    /// The value for the daemon's `NOTIFY_SOCKET`.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The next message (`READY=1`, `WATCHDOG=1`, …); panics on timeout.
    pub fn next(&self) -> String {
        let mut buf = [0u8; 512];
        let n = self
            .socket
            .recv(&mut buf)
            .expect("a notification before the timeout");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Messages up to and including `wanted`.
    pub fn until(&self, wanted: &str) -> Vec<String> {
        self.until_matching(|m| m == wanted)
    }

    /// Messages up to and including the first that starts with `prefix`
    /// (`STATUS=waiting for Kafka`).
    pub fn until_prefix(&self, prefix: &str) -> Vec<String> {
        self.until_matching(|m| m.starts_with(prefix))
    }

    fn until_matching(&self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let m = self.next();
            let last = done(&m);
            seen.push(m);
            if last {
                return seen;
            }
        }
    }

    /// Every message already received, without waiting for more.
    pub fn pending(&self) -> Vec<String> {
        self.socket.set_nonblocking(true).expect("set non-blocking");
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => seen.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read the notify socket: {e}"),
            }
        }
        self.socket.set_nonblocking(false).expect("set blocking");
        seen
    }
}

/// A loopback address with a port free at the time of the call.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// `GET path` over HTTP/1.0; the whole response, headers included.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read response");
    out
}

/// The value of the first Prometheus series whose line starts with `prefix`.
pub fn metric(page: &str, prefix: &str) -> Option<f64> {
    page.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
