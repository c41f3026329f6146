//! Shared pieces of logpipe's daemons: config loading with precise errors,
//! Kafka client settings, event-time parsing, Prometheus metrics, graceful
//! shutdown and systemd notifications.

pub mod archive;
pub mod config;
pub mod dead_letter;
pub mod event_time;
pub mod metrics;
pub mod shutdown;
pub mod systemd;

pub use shutdown::Shutdown;

/// Initialise logging to stderr; `RUST_LOG` overrides the default `info`.
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
