//! `logpipe generate`: command-line flags layered over `[generate]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use logpipe_core::config::HumanDuration;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::scenario::ScenarioKind;

use crate::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Config file (TOML); flags below override its `[generate]` values.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Scenario to generate.
    #[arg(long, value_enum)]
    scenario: Option<ScenarioKind>,
    /// Events per second; 0 = as fast as Kafka accepts.
    #[arg(long)]
    rate: Option<f64>,
    /// Largest burst after an idle spell (token-bucket capacity), in events.
    #[arg(long)]
    burst: Option<u64>,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Stop after this long, e.g. "30s", "5m".
    #[arg(long)]
    duration: Option<HumanDuration>,
    /// Random seed for reproducible events.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated event time starting at this epoch second (reproducible with --seed).
    #[arg(long)]
    start_time: Option<f64>,
    /// Kafka topic.
    #[arg(long)]
    topic: Option<String>,
    /// Set a librdkafka property, e.g. -X bootstrap.servers=host:9092 (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_prop)]
    kafka: Vec<(String, String)>,
    /// Serve the HTTP ingest (POST /api/logs, GET /api/stream).
    #[arg(long)]
    http: bool,
    /// HTTP ingest listen address (implies --http).
    #[arg(long)]
    http_listen: Option<SocketAddr>,
    /// Only serve the HTTP ingest; generate nothing.
    #[arg(long)]
    no_synthetic: bool,
    /// Prometheus /metrics listen address.
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Print the end-of-run summary as one JSON line on stdout.
    #[arg(long)]
    summary_json: bool,
}

pub fn parse_prop(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load_for(args.config.as_deref(), "generate")?;
    let g = &mut config.generate;
    if let Some(v) = args.scenario {
        g.scenario = v;
    }
    if let Some(v) = args.rate {
        g.rate = v;
    }
    if let Some(v) = args.burst {
        g.burst = Some(v);
    }
    if let Some(v) = args.count {
        g.count = Some(v);
    }
    if let Some(v) = args.duration {
        g.duration = Some(v);
    }
    if let Some(v) = args.seed {
        g.seed = Some(v);
    }
    if let Some(v) = args.start_time {
        g.start_time = Some(v);
    }
    if let Some(v) = args.topic {
        g.topic = v;
    }
    for (k, v) in args.kafka {
        g.kafka.set(&k, v);
    }
    if args.http || args.http_listen.is_some() || args.no_synthetic {
        g.http.enabled = true;
    }
    if let Some(v) = args.http_listen {
        g.http.listen = v;
    }
    if args.no_synthetic {
        g.synthetic = false;
    }
    // Flags may have made the config invalid (e.g. --rate -1): check again.
    let mut v = logpipe_core::config::Validator::default();
    config.generate.validate("generate", &mut v);
    v.into_result()?;

    let listen = config.metrics_listen(args.metrics_listen, config.generate.metrics_listen);
    logpipe_core::metrics::install(listen, "generate")?;
    let kafka = config.kafka_for(&config.generate.kafka);
    let shutdown = Shutdown::new();
    shutdown.on_signals()?;
    let drain = config.generate.drain_timeout.get();
    let run = logpipe_generator::run(
        config.generate,
        kafka,
        shutdown.clone(),
        Notifier::from_env(),
    );
    // The generator drains itself within drain_timeout; allow a little more
    // for the HTTP server and thread joins before giving up.
    let summary = logpipe_core::shutdown::run_with_drain(
        run,
        &shutdown,
        drain + std::time::Duration::from_secs(2),
    )
    .await?;
    eprintln!(
        "generated {} events in {:.2}s ({:.0} events/s); delivered {}, failed {}",
        summary.generated,
        summary.elapsed.as_secs_f64(),
        summary.events_per_second(),
        summary.delivered,
        summary.failed
    );
    if args.summary_json {
        println!(
            "{}",
            serde_json::json!({
                "generated": summary.generated,
                "delivered": summary.delivered,
                "failed": summary.failed,
                "elapsed_seconds": summary.elapsed.as_secs_f64(),
                "events_per_second": summary.events_per_second(),
            })
        );
    }
    Ok(if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
