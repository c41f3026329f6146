//! `access-logs`: web access log records (ip, method, path, status, bytes,
//! latency_ms, user_agent; key: ip), with skewed sizes and latencies.

use std::fmt::Write;

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::json::JsonObject;
use super::{data, pick, Weighted};

/// The state of `access-logs`: method and status weights, the ip buffer.
pub(super) struct AccessLogs {
    methods: Weighted,
    statuses: Weighted,
    /// The client ip of the current event (also its key).
    ip: String,
}

impl AccessLogs {
    pub(super) fn new() -> Self {
        Self {
            methods: Weighted::new(data::METHODS.iter().map(|m| m.1)),
            statuses: Weighted::new(data::STATUSES.iter().map(|s| s.1)),
            ip: String::with_capacity(64),
        }
    }

    /// Write the event stamped `ts` (epoch µs) into `out` and its key into `key`.
    pub(super) fn write(
        &mut self,
        rng: &mut Pcg64Mcg,
        ts: u64,
        key: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        self.ip.clear();
        let (a, b, c) = (
            rng.random_range(1..=254u8),
            rng.random::<u8>(),
            rng.random_range(1..=254u8),
        );
        let _ = write!(self.ip, "10.{a}.{b}.{c}");
        let method = data::METHODS[self.methods.pick(rng)].0;
        let status = data::STATUSES[self.statuses.pick(rng)].0;
        let path = pick(rng, data::PATHS);
        // Sizes and latencies are skewed: mostly small, a long tail.
        let bytes = if status == 204 || status == 304 {
            0
        } else {
            let base: u64 = rng.random_range(200..5_000);
            if rng.random_bool(0.1) {
                base * 40
            } else {
                base
            }
        };
        let latency = rng.random_range(1..80u64) + if rng.random_bool(0.05) { 900 } else { 0 };
        let ua = pick(rng, data::USER_AGENTS);
        let mut o = JsonObject::new(out);
        o.fixed("timestamp", ts, 6)
            .str("ip", &self.ip)
            .str("method", method)
            .str("path", path)
            .u64("status", status)
            .u64("bytes", bytes)
            .u64("latency_ms", latency)
            .str("user_agent", ua);
        o.finish();
        key.extend_from_slice(self.ip.as_bytes());
    }
}
