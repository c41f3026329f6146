//! `logpipe archive`: command-line flags layered over `[archive]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use logpipe_core::config::Validate;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;

use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (TOML) with an `[archive]` section; without one, topic
    /// `logs` into file:///var/lib/logpipe/archive.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Set a librdkafka property, e.g. -X bootstrap.servers=host:9092 (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = crate::generate::parse_prop)]
    kafka: Vec<(String, String)>,
    /// Archive root URL (hdfs://namenode:8020/path or file:///path), overriding the config.
    #[arg(long)]
    url: Option<String>,
    /// Topic to archive (repeatable), overriding the config.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Prometheus /metrics listen address.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref())?;
    for (k, v) in args.kafka {
        config.archive.kafka.set(&k, v);
    }
    if let Some(url) = args.url {
        config.archive.url = url;
    }
    if !args.topics.is_empty() {
        config.archive.topics = args.topics;
    }
    let mut v = logpipe_core::config::Validator::default();
    config.archive.validate(&mut v);
    v.into_result()?;
    for (key, warning) in config.archive.small_file_warnings() {
        tracing::warn!(key, "{warning}");
    }

    let listen = config.metrics_listen(args.metrics_listen, config.archive.metrics_listen);
    logpipe_core::metrics::install(listen, "archive")?;
    let kafka = config.kafka_for(&config.archive.kafka);
    let shutdown = Shutdown::new();
    shutdown.on_signals()?;
    let drain = config.archive.drain_timeout.get();
    let run = logpipe_archiver::run(
        config.archive,
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    );
    logpipe_core::shutdown::run_with_drain(run, &shutdown, drain).await?;
    Ok(ExitCode::SUCCESS)
}
