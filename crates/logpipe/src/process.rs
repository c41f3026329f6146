//! `logpipe process`: command-line flags layered over `[process]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use logpipe_core::config::Validate;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;

use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (TOML) with a `[process]` section; without one, the
    /// seed-compatible `log_data` job against MariaDB on 127.0.0.1:3306.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Set a librdkafka property, e.g. -X bootstrap.servers=host:9092 (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = crate::generate::parse_prop)]
    kafka: Vec<(String, String)>,
    /// Serving store URL (mysql://user@host:3306/db or sqlite://path), overriding the config.
    #[arg(long)]
    database_url: Option<String>,
    /// Prometheus /metrics listen address.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load_for(args.config.as_deref(), "process")?;
    for (k, v) in args.kafka {
        config.process.kafka.set(&k, v);
    }
    if let Some(url) = args.database_url {
        config.process.database_url = url;
    }
    let mut v = logpipe_core::config::Validator::default();
    config.process.validate(&mut v);
    v.into_result()?;

    let listen = config.metrics_listen(args.metrics_listen, config.process.metrics_listen);
    logpipe_core::metrics::install(listen, "process")?;
    let kafka = config.kafka_for(&config.process.kafka);
    let shutdown = Shutdown::new();
    shutdown.on_signals()?;
    let drain = config.process.drain_timeout.get();
    let run = logpipe_processor::run(
        config.process,
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    );
    logpipe_core::shutdown::run_with_drain(run, &shutdown, drain).await?;
    Ok(ExitCode::SUCCESS)
}
