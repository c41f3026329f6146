//! A librdkafka mock cluster in a process of its own, so benchmarks measure
//! each producer's memory and CPU apart from the broker's — as in production,
//! where Kafka runs elsewhere — and so the deployment test has a Kafka
//! stand-in that the generator, processor and archiver units share.
//!
//! Prints the bootstrap servers on stdout, then serves until its stdin is
//! closed; with `--bootstrap-file PATH` it writes them there instead and
//! serves until it is stopped (SIGTERM), as a service does.
//!
//! Usage: mock-cluster [--bootstrap-file PATH] [BROKERS] [TOPIC:PARTITIONS ...]
//!        (default: 3 logs:3)

use std::io::{Read, Write};

use anyhow::Context;
use rdkafka::mocking::MockCluster;

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let bootstrap_file = match args.iter().position(|a| a == "--bootstrap-file") {
        Some(i) => {
            anyhow::ensure!(i + 1 < args.len(), "--bootstrap-file needs a path");
            let path = args.remove(i + 1);
            args.remove(i);
            Some(path)
        }
        None => None,
    };
    let mut args = args.into_iter();
    let brokers: i32 = match args.next() {
        Some(b) => b
            .parse()
            .with_context(|| format!("BROKERS: {b:?} is not a number"))?,
        None => 3,
    };
    let cluster = MockCluster::new(brokers)?;
    let mut topics: Vec<String> = args.collect();
    if topics.is_empty() {
        topics.push("logs:3".into());
    }
    for t in &topics {
        let (name, partitions) = t.split_once(':').unwrap_or((t, "3"));
        let partitions: i32 = partitions
            .parse()
            .with_context(|| format!("{t:?}: partitions must be a number (TOPIC:PARTITIONS)"))?;
        cluster.create_topic(name, partitions, brokers.min(3))?;
    }
    match bootstrap_file {
        Some(path) => {
            // Written whole, then renamed: a reader never sees half of it.
            let tmp = format!("{path}.tmp");
            std::fs::write(&tmp, format!("{}\n", cluster.bootstrap_servers()))
                .with_context(|| format!("write {tmp}"))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("rename {tmp} to {path}"))?;
            loop {
                std::thread::park();
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", cluster.bootstrap_servers())?;
            out.flush()?;
            drop(out);
            // Serve until the parent closes our stdin (or exits).
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            Ok(())
        }
    }
}
