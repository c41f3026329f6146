//! Graceful shutdown: one [`Shutdown`] signal shared by every task of a
//! daemon, triggered by SIGTERM/SIGINT (or by a test), and a bounded drain.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// A cloneable shutdown signal. Tasks `wait()` on it or poll `is_triggered()`.
#[derive(Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self { tx, rx }
    }

    /// Ask every holder to stop.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone, which cannot happen while
        // `self` holds one; treat it as triggered either way.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Trigger on the first SIGTERM or SIGINT. Call inside a tokio runtime.
    pub fn on_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let this = self.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "shutdown requested; draining");
            this.trigger();
        });
        Ok(())
    }
}

/// Run a daemon to completion; once shutdown is triggered it gets at most
/// `drain_timeout` to finish, after which this returns an error.
pub async fn run_with_drain<F, T>(
    run: F,
    shutdown: &Shutdown,
    drain_timeout: Duration,
) -> anyhow::Result<T>
where
    F: Future<Output = anyhow::Result<T>>,
{
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => return result,
        _ = shutdown.wait() => {}
    }
    match tokio::time::timeout(drain_timeout, run).await {
        Ok(result) => result,
        Err(_) => anyhow::bail!(
            "drain did not finish within {} (drain_timeout); in-flight work may be unacknowledged",
            humantime::format_duration(drain_timeout)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_times_out_when_daemon_ignores_shutdown() {
        let s = Shutdown::new();
        s.trigger();
        let r: anyhow::Result<()> =
            run_with_drain(std::future::pending(), &s, Duration::from_millis(50)).await;
        assert!(r.unwrap_err().to_string().contains("drain did not finish"));
    }

    #[tokio::test]
    async fn drain_returns_daemon_result() {
        let s = Shutdown::new();
        let s2 = s.clone();
        let run = async move {
            s2.wait().await;
            Ok(())
        };
        s.trigger();
        run_with_drain(run, &s, Duration::from_secs(5))
            .await
            .unwrap();
    }
}
