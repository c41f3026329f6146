//! A TCP proxy for outage tests: sits between a client and a server that
//! other tests share (MariaDB), so one test can take "the server" away from
//! its client without stopping it. [`TcpProxy::cut`] drops every live
//! connection and closes new ones right after accepting them (the client
//! sees its connection reset or closed during the handshake);
//! [`TcpProxy::restore`] forwards again.
//!
//! The proxy runs on its own thread with its own Tokio runtime, so it works
//! from synchronous tests and is never starved by the test's runtime.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct Control {
    /// Bumped by every cut: connections of an older epoch close.
    epoch: u64,
    cut: bool,
    stopped: bool,
}

#[derive(Debug, Default)]
struct Counters {
    live: AtomicUsize,
    forwarded: AtomicU64,
    refused: AtomicU64,
}

/// A running proxy; stopped (all connections dropped) when dropped.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    control: watch::Sender<Control>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listen on an ephemeral port of 127.0.0.1 and forward every
    /// connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let (control, _) = watch::channel(Control::default());
        let counters = Arc::new(Counters::default());
        let thread = {
            let (control, counters) = (control.clone(), counters.clone());
            std::thread::Builder::new()
                .name(format!("tcp-proxy-{}", addr.port()))
                .spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("proxy runtime")
                        .block_on(serve(listener, upstream, control, counters))
                })
                .expect("spawn the proxy thread")
        };
        TcpProxy {
            addr,
            control,
            counters,
            thread: Some(thread),
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drop every live connection and close new ones at once, until
    /// [`restore`](Self::restore). Returns when no connection is left (or
    /// panics after 5 s).
    pub fn cut(&self) {
        self.control.send_modify(|c| {
            c.cut = true;
            c.epoch += 1;
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.counters.live.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "proxy connections still open 5 s after cut()"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Forward new connections again.
    pub fn restore(&self) {
        self.control.send_modify(|c| c.cut = false);
    }

    /// Connections currently forwarded.
    pub fn live_connections(&self) -> usize {
        self.counters.live.load(Ordering::SeqCst)
    }

    /// Connections accepted and forwarded so far.
    pub fn forwarded_connections(&self) -> u64 {
        self.counters.forwarded.load(Ordering::SeqCst)
    }

    /// Connections closed at once because the proxy was cut.
    pub fn refused_connections(&self) -> u64 {
        self.counters.refused.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.control.send_modify(|c| c.stopped = true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: StdListener,
    upstream: SocketAddr,
    control: watch::Sender<Control>,
    counters: Arc<Counters>,
) {
    let listener = TcpListener::from_std(listener).expect("register the listener");
    let mut stop = control.subscribe();
    loop {
        let client = tokio::select! {
            r = listener.accept() => match r {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
            _ = stop.wait_for(|c| c.stopped) => return,
        };
        let now = *control.borrow();
        if now.cut {
            counters.refused.fetch_add(1, Ordering::SeqCst);
            drop(client);
            continue;
        }
        counters.forwarded.fetch_add(1, Ordering::SeqCst);
        counters.live.fetch_add(1, Ordering::SeqCst);
        let mut until_cut = control.subscribe();
        let counters = counters.clone();
        tokio::spawn(async move {
            if let Ok(server) = TcpStream::connect(upstream).await {
                let (mut client, mut server) = (client, server);
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = until_cut.wait_for(|c| c.epoch != now.epoch || c.stopped) => {}
                }
            }
            counters.live.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{ErrorKind, Read, Write};

    /// An upstream that echoes each connection's bytes back.
    fn echo_server() -> SocketAddr {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    fn echo(s: &mut std::net::TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg)?;
        let mut buf = vec![0u8; msg.len()];
        s.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// A connection is dead when a read returns end-of-stream or an error.
    fn is_closed(s: &mut std::net::TcpStream) -> bool {
        let _ = s.write_all(b"x");
        let mut buf = [0u8; 8];
        match s.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != ErrorKind::WouldBlock && e.kind() != ErrorKind::TimedOut,
        }
    }

    #[test]
    fn cut_drops_live_and_new_connections_and_restore_forwards_again() {
        let proxy = TcpProxy::start(echo_server());
        let mut before = connect(proxy.addr());
        assert_eq!(echo(&mut before, b"hello").unwrap(), b"hello");
        assert_eq!(proxy.live_connections(), 1);

        proxy.cut();
        assert_eq!(proxy.live_connections(), 0);
        assert!(
            is_closed(&mut before),
            "a live connection is dropped by cut()"
        );
        let mut during = connect(proxy.addr());
        assert!(
            is_closed(&mut during),
            "a new connection is closed while cut"
        );
        assert!(proxy.refused_connections() >= 1);

        proxy.restore();
        let mut after = connect(proxy.addr());
        assert_eq!(echo(&mut after, b"again").unwrap(), b"again");
        assert_eq!(proxy.forwarded_connections(), 2);
    }
}
