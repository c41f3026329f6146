//! `logpipe archive`: command-line flags layered over `[archive]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use logpipe_core::config::Validate;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;

use crate::config::Config;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Read the archive back: per partition the offset range, files and
    /// records, every gap and overlap; exit 1 if there is any.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Config file (TOML) with the `[archive]` section the archive was written with.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Archive root URL, overriding the config.
    #[arg(long)]
    url: Option<String>,
    /// Topic to verify (repeatable); all of the config's topics when absent.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Only this day's directories (YYYY-MM-DD, in the archive's time zone).
    #[arg(long)]
    date: Option<chrono::NaiveDate>,
}

#[derive(clap::Args)]
struct RunArgs {
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
    /// Take `[archive]` from a Flume agent config (Kafka source → HDFS sink)
    /// instead; every key that does not map is reported with file:line.
    #[arg(long, requires = "agent")]
    flume_conf: Option<PathBuf>,
    /// The Flume agent's name in --flume-conf (the part before `.sources`).
    #[arg(long, requires = "flume_conf")]
    agent: Option<String>,
    /// With --flume-conf: print the equivalent `[archive]` section and exit.
    #[arg(long, requires = "flume_conf")]
    print_toml: bool,
}

pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(Action::Verify(v)) => verify(v).await,
        None => run(args.run).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load_for(args.config.as_deref(), "archive")?;
    if let (Some(file), Some(agent)) = (&args.flume_conf, &args.agent) {
        let import = match logpipe_archiver::flume::import(file, agent) {
            Ok(import) => import,
            Err(diagnostics) => {
                for d in &diagnostics {
                    eprintln!("{d}");
                }
                anyhow::bail!(
                    "{}: cannot be used as an [archive] section (problems above)",
                    file.display()
                );
            }
        };
        for d in &import.notes {
            eprintln!("{d}");
        }
        if args.print_toml {
            print!("{}", logpipe_archiver::flume::to_toml(&import));
            return Ok(ExitCode::SUCCESS);
        }
        config.archive = import.config;
    }
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

async fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load_for(args.config.as_deref(), "archive")?.archive;
    if let Some(url) = args.url {
        config.url = url;
    }
    if !args.topics.is_empty() {
        config.topics = args.topics;
    }
    let mut v = logpipe_core::config::Validator::default();
    config.validate(&mut v);
    v.into_result()?;
    let date = args.date;
    tokio::task::spawn_blocking(move || verify_blocking(&config, date)).await?
}

fn verify_blocking(
    config: &logpipe_archiver::ArchiveConfig,
    date: Option<chrono::NaiveDate>,
) -> anyhow::Result<ExitCode> {
    use logpipe_archiver::verify;
    let sink = logpipe_archiver::sink::open(config, tokio::runtime::Handle::current())?;
    let template = logpipe_archiver::path::PathTemplate::parse(&config.path)
        .map_err(|e| anyhow::anyhow!("archive.path: {e}"))?;
    // A day in template time: [00:00, next 00:00) in the archive's zone.
    let day = date.map(|d| {
        let start = d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp();
        (start, start + 86_400)
    });
    let mut clean = true;
    for topic in &config.topics {
        let mut files = verify::list_files(sink.as_ref(), &template, topic)?;
        if let Some((from, to)) = day {
            files.retain(|f| f.bucket.is_some_and(|b| b >= from && b < to));
        }
        let reports = verify::check(&files, |f| verify::count_records(sink.as_ref(), f))?;
        let total: u64 = reports.iter().map(|r| r.records).sum();
        println!(
            "{}: topic {topic}: {} partitions, {} files, {total} records",
            sink.describe(),
            reports.len(),
            files.len()
        );
        println!("  partition      files   first_offset    last_offset      records  problems");
        for r in &reports {
            let mut problems: Vec<String> = Vec::new();
            problems.extend(r.gaps.iter().map(|(a, b)| format!("gap {a}..={b}")));
            problems.extend(r.overlaps.iter().map(|(a, b)| format!("overlap {a} / {b}")));
            problems.extend(
                r.overfull
                    .iter()
                    .map(|f| format!("more records than offsets: {f}")),
            );
            clean &= problems.is_empty();
            println!(
                "  {:>9} {:>10} {:>14} {:>14} {:>12}  {}",
                r.partition,
                r.files,
                r.first_offset,
                r.last_offset,
                r.records,
                if problems.is_empty() {
                    "-".to_string()
                } else {
                    problems.join("; ")
                }
            );
        }
    }
    if clean {
        println!("no gaps, no overlaps");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: the archive has gaps or overlaps (listed above)");
        Ok(ExitCode::FAILURE)
    }
}
