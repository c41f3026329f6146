//! A librdkafka mock cluster in a process of its own, so benchmarks measure
//! each producer's memory and CPU apart from the broker's — as in production,
//! where Kafka runs elsewhere. Prints the bootstrap servers on stdout, then
//! serves until its stdin is closed.
//!
//! Usage: mock-cluster [BROKERS] [TOPIC:PARTITIONS ...]   (default: 3 logs:3)

use std::io::{Read, Write};

use rdkafka::mocking::MockCluster;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let brokers: i32 = args.next().and_then(|b| b.parse().ok()).unwrap_or(3);
    let cluster = MockCluster::new(brokers)?;
    let mut topics: Vec<String> = args.collect();
    if topics.is_empty() {
        topics.push("logs:3".into());
    }
    for t in &topics {
        let (name, partitions) = t.split_once(':').unwrap_or((t, "3"));
        cluster.create_topic(name, partitions.parse()?, brokers.min(3))?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", cluster.bootstrap_servers())?;
    out.flush()?;
    drop(out);
    // Serve until the parent closes our stdin (or exits).
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    Ok(())
}
