//! `logpipe-testkit`: test-support processes for end-to-end and deployment tests.
//!
//! `logpipe-testkit fake-hdfs --port N [--datanodes K]` runs the fake HDFS, prints its
//! `hdfs://127.0.0.1:PORT` URL on stdout, and exits on SIGTERM or SIGINT — with status 0, or 2
//! if the client misused the protocol (the errors are printed on stderr).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use logpipe_testkit::hdfs::{FakeHdfs, FakeHdfsConfig, NamespaceConfig};
use tokio::signal::unix::{signal, SignalKind};

#[derive(Parser)]
#[command(name = "logpipe-testkit", about = "Test-support processes for logpipe")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a fake HDFS (NameNode + DataNodes) on 127.0.0.1 until SIGTERM.
    FakeHdfs {
        /// NameNode port (0 picks a free one; the URL printed tells which).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Number of DataNodes, each on its own free port.
        #[arg(long, default_value_t = 2)]
        datanodes: usize,
        /// Default block size in bytes (at least 1 MiB, a multiple of 512).
        #[arg(long, default_value_t = 128 * 1024 * 1024)]
        block_size: u64,
        /// Default replication.
        #[arg(long, default_value_t = 2)]
        replication: u32,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("logpipe-testkit: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("logpipe-testkit: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Command::FakeHdfs {
        port,
        datanodes,
        block_size,
        replication,
    } = cli.command;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let hdfs = FakeHdfs::start_with(FakeHdfsConfig {
        datanodes,
        namenode_port: port,
        namespace: NamespaceConfig {
            default_block_size: block_size,
            default_replication: replication,
            ..NamespaceConfig::default()
        },
    })
    .await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", hdfs.url()).context("printing the URL")?;
    stdout.flush().context("printing the URL")?;
    tracing::info!(
        url = hdfs.url(),
        datanodes = ?hdfs.datanode_addrs(),
        "fake HDFS running; stop with SIGTERM"
    );
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping the fake HDFS"),
        _ = interrupt.recv() => tracing::info!("SIGINT: stopping the fake HDFS"),
    }
    let errors = hdfs.protocol_errors();
    hdfs.shutdown().await;
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for error in &errors {
            eprintln!("protocol error: {error}");
        }
        Ok(ExitCode::from(2))
    }
}
