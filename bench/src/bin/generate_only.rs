//! Event generation alone (no Kafka): how many server-logs events per second
//! one thread builds. Shows how much of the produce budget generation costs.
//!
//! Usage: generate-only [COUNT] [SCENARIO]

use std::time::Instant;

use logpipe_generator::scenario::{EventClock, Generator, ScenarioKind};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(5_000_000);
    let kinds: Vec<ScenarioKind> = match args.next() {
        Some(name) => ScenarioKind::ALL
            .into_iter()
            .filter(|k| k.name() == name)
            .collect(),
        None => ScenarioKind::ALL.to_vec(),
    };
    for kind in kinds {
        let mut g = Generator::new(kind, Some(1), EventClock::Live);
        let (mut key, mut payload) = (Vec::with_capacity(64), Vec::with_capacity(512));
        let mut bytes = 0usize;
        let start = Instant::now();
        for _ in 0..count {
            g.next_event(&mut key, &mut payload);
            bytes += payload.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{:<18} {:>12.0} events/s  {:>6.1} ns/event  {:>5.0} B/event",
            kind.name(),
            count as f64 / secs,
            secs * 1e9 / count as f64,
            bytes as f64 / count as f64
        );
    }
}
