//! systemd service notifications (`Type=notify`): READY once the daemon is
//! serving, WATCHDOG pings from the main loop, STOPPING on shutdown. Without
//! `NOTIFY_SOCKET` (not under systemd) every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Sends `sd_notify` messages to `$NOTIFY_SOCKET`.
pub struct Notifier {
    socket: Option<(UnixDatagram, String)>,
    watchdog_every: Option<Duration>,
    last_ping: Instant,
}

impl Notifier {
    /// Read `NOTIFY_SOCKET` and `WATCHDOG_USEC` from the environment.
    pub fn from_env() -> Self {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, path))
        });
        // Ping at half the configured interval, as sd_watchdog_enabled(3) advises.
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|us| *us > 0)
            .map(|us| Duration::from_micros(us / 2));
        Self {
            socket,
            watchdog_every,
            last_ping: Instant::now(),
        }
    }

    /// Notify the datagram socket at `path` (as `NOTIFY_SOCKET` would name
    /// it), pinging the watchdog every `watchdog_every` — for tests that
    /// watch what a daemon tells systemd, or a supervisor of its own.
    pub fn to_socket(
        path: &std::path::Path,
        watchdog_every: Option<Duration>,
    ) -> std::io::Result<Self> {
        Ok(Self {
            socket: Some((UnixDatagram::unbound()?, path.to_string_lossy().into())),
            watchdog_every,
            last_ping: Instant::now(),
        })
    }

    /// Tell systemd start-up (or shutdown) is still progressing and may take
    /// `extra` longer than its timeout (`EXTEND_TIMEOUT_USEC`), e.g. while
    /// waiting for a database before READY.
    pub fn extend_timeout(&self, extra: Duration) {
        self.send(&format!("EXTEND_TIMEOUT_USEC={}", extra.as_micros()));
    }

    /// READY=1, and `logpipe_ready` 1.
    pub fn ready(&self) {
        crate::metrics::set_ready(true);
        self.send("READY=1");
    }

    /// STOPPING=1, and `logpipe_ready` 0.
    pub fn stopping(&self) {
        crate::metrics::set_ready(false);
        self.send("STOPPING=1");
    }

    pub fn status(&self, text: &str) {
        self.send(&format!("STATUS={text}"));
    }

    /// Call from the main loop: pings the watchdog when half its interval has passed.
    pub fn watchdog(&mut self) {
        if let Some(every) = self.watchdog_every {
            if self.last_ping.elapsed() >= every {
                self.last_ping = Instant::now();
                self.send("WATCHDOG=1");
            }
        }
    }

    fn send(&self, msg: &str) {
        let Some((sock, path)) = &self.socket else {
            return;
        };
        let result = if let Some(abstract_name) = path.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
                .and_then(|addr| sock.send_to_addr(msg.as_bytes(), &addr))
        } else {
            sock.send_to(msg.as_bytes(), path)
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, socket = %path, "cannot notify systemd");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_and_watchdog_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let mut n = Notifier {
            socket: Some((
                UnixDatagram::unbound().unwrap(),
                path.to_string_lossy().into(),
            )),
            watchdog_every: Some(Duration::ZERO),
            last_ping: Instant::now(),
        };
        n.ready();
        n.watchdog();
        n.stopping();
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        for _ in 0..3 {
            let len = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert_eq!(got, ["READY=1", "WATCHDOG=1", "STOPPING=1"]);
    }
}
