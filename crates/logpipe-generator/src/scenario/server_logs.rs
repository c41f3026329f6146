//! `server-logs`: application log lines (timestamp, level, message, host,
//! service; key: host). The level mix switches to an error-heavy one during
//! error waves, which start at random in event time. This is the hot scenario
//! (the seed's, and the benchmark's), so its tables are pre-rendered as JSON.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::{data, json, Weighted};

/// The state of `server-logs`: level weights, the error wave, the fragments.
pub(super) struct ServerLogs {
    levels_normal: Weighted,
    levels_wave: Weighted,
    /// Event-time second last checked for a wave start, and the wave's end.
    wave_checked_second: u64,
    wave_until_second: u64,
    fragments: ServerLogFragments,
}

/// A message template of `server-logs`, pre-rendered as JSON.
struct TemplateFragment {
    before: Vec<u8>,
    low: u64,
    high: u64,
    /// Ends with the closing quote of the message string.
    after: Vec<u8>,
}

/// The tables of `server-logs` rendered into escaped JSON fragments once, so
/// each event is a handful of slice copies instead of per-value quoting and
/// escaping.
struct ServerLogFragments {
    /// `,"level":"INFO","message":"` per level.
    level: Vec<Vec<u8>>,
    templates: Vec<Vec<TemplateFragment>>,
    /// `,"host":"web-01"` per host.
    hosts: Vec<Vec<u8>>,
    /// `,"service":"checkout"}` per service (closes the object).
    services: Vec<Vec<u8>>,
}

impl ServerLogFragments {
    fn new() -> Self {
        let quoted = |s: &str| {
            let mut v = Vec::new();
            json::escape_into(&mut v, s);
            v
        };
        let field = |name: &str, value: &str, tail: &str| {
            let mut v = format!(",\"{name}\":\"").into_bytes();
            v.extend(quoted(value));
            v.extend_from_slice(b"\"");
            v.extend_from_slice(tail.as_bytes());
            v
        };
        Self {
            level: data::LEVELS
                .iter()
                .map(|l| {
                    let mut v = field("level", l, "");
                    v.extend_from_slice(b",\"message\":\"");
                    v
                })
                .collect(),
            templates: data::MESSAGES
                .iter()
                .map(|ts| {
                    ts.iter()
                        .map(|(before, low, high, after)| {
                            let mut after = quoted(after);
                            after.push(b'"');
                            TemplateFragment {
                                before: quoted(before),
                                low: *low,
                                high: *high,
                                after,
                            }
                        })
                        .collect()
                })
                .collect(),
            hosts: data::HOSTS.iter().map(|h| field("host", h, "")).collect(),
            services: data::SERVICES
                .iter()
                .map(|s| field("service", s, "}"))
                .collect(),
        }
    }
}

impl ServerLogs {
    pub(super) fn new() -> Self {
        Self {
            levels_normal: Weighted::new(data::LEVEL_WEIGHTS_NORMAL),
            levels_wave: Weighted::new(data::LEVEL_WEIGHTS_WAVE),
            wave_checked_second: 0,
            wave_until_second: 0,
            fragments: ServerLogFragments::new(),
        }
    }

    /// Whether an error wave is active at event time `second`.
    pub(super) fn in_wave(&self, second: u64) -> bool {
        second < self.wave_until_second
    }

    /// Roll for wave starts once per event-time second, as the seed did.
    fn update_wave(&mut self, rng: &mut Pcg64Mcg, second: u64) {
        if second == self.wave_checked_second {
            return;
        }
        // Catch up at most one wave length of skipped seconds (a stalled clock).
        let from = self
            .wave_checked_second
            .max(second.saturating_sub(data::WAVE_SECONDS));
        self.wave_checked_second = second;
        for s in from + 1..=second {
            if s >= self.wave_until_second && rng.random_bool(data::WAVE_START_CHANCE_PER_SECOND) {
                self.wave_until_second = s + data::WAVE_SECONDS;
            }
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
        let second = ts / 1_000_000;
        self.update_wave(rng, second);
        let level = if self.in_wave(second) {
            self.levels_wave.pick(rng)
        } else {
            self.levels_normal.pick(rng)
        };
        let f = &self.fragments;
        let t = &f.templates[level][rng.random_range(0..f.templates[level].len())];
        let n = rng.random_range(t.low..=t.high);
        let host = rng.random_range(0..data::HOSTS.len());
        let service = rng.random_range(0..data::SERVICES.len());
        // {"timestamp":…,"level":"…","message":"…","host":"…","service":"…"}
        out.extend_from_slice(b"{\"timestamp\":");
        json::write_fixed(out, ts, 6);
        out.extend_from_slice(&f.level[level]);
        out.extend_from_slice(&t.before);
        json::write_u64(out, n);
        out.extend_from_slice(&t.after);
        out.extend_from_slice(&f.hosts[host]);
        out.extend_from_slice(&f.services[service]);
        key.extend_from_slice(data::HOSTS[host].as_bytes());
    }
}
