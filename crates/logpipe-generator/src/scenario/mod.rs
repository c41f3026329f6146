//! Synthetic event scenarios. Each scenario turns a seeded random stream and
//! an event clock into JSON events and their Kafka message keys; the value
//! tables and weights live in [`data`].

pub mod data;
pub mod json;

use std::time::{SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::Deserialize;

use json::JsonObject;

/// Which kind of events to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// Application logs: timestamp, level, message, host, service (key: host).
    ServerLogs,
    /// Web access logs: ip, method, path, status, bytes, latency_ms, user_agent (key: ip).
    AccessLogs,
    /// Car sales: transaction_id, buyer, brand, model, year, color, country, branch, price (key: transaction_id).
    CarTransactions,
    /// User activity: user_id, event_type, page_id, session_id (key: user_id).
    UserEvents,
    /// User profile records upserted by id (key: id).
    UserProfiles,
}

impl ScenarioKind {
    pub const ALL: [ScenarioKind; 5] = [
        Self::ServerLogs,
        Self::AccessLogs,
        Self::CarTransactions,
        Self::UserEvents,
        Self::UserProfiles,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ServerLogs => "server-logs",
            Self::AccessLogs => "access-logs",
            Self::CarTransactions => "car-transactions",
            Self::UserEvents => "user-events",
            Self::UserProfiles => "user-profiles",
        }
    }

    /// The JSON field whose value is the Kafka message key.
    pub fn key_field(self) -> &'static str {
        match self {
            Self::ServerLogs => "host",
            Self::AccessLogs => "ip",
            Self::CarTransactions => "transaction_id",
            Self::UserEvents => "user_id",
            Self::UserProfiles => "id",
        }
    }
}

impl std::fmt::Display for ScenarioKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where event timestamps come from.
#[derive(Debug, Clone, Copy)]
pub enum EventClock {
    /// The wall clock at generation time.
    Live,
    /// Simulated time: event `i` is stamped `start + i * step` (reproducible with a seed).
    Simulated { start_micros: u64, step_micros: u64 },
}

/// A weighted choice over a fixed table, picked with one random draw.
struct Weighted {
    cumulative: Vec<u32>,
}

impl Weighted {
    fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut sum = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                sum += w;
                sum
            })
            .collect::<Vec<_>>();
        assert!(sum > 0, "a weight table must not be all zero");
        Self { cumulative }
    }

    fn pick(&self, rng: &mut Pcg64Mcg) -> usize {
        let total = *self.cumulative.last().expect("non-empty weight table");
        let r = rng.random_range(0..total);
        self.cumulative.partition_point(|&c| c <= r)
    }
}

/// Generates the events of one scenario.
pub struct Generator {
    kind: ScenarioKind,
    rng: Pcg64Mcg,
    clock: EventClock,
    produced: u64,
    levels_normal: Weighted,
    levels_wave: Weighted,
    /// Event-time second last checked for a wave start, and the wave's end.
    wave_checked_second: u64,
    wave_until_second: u64,
    methods: Weighted,
    statuses: Weighted,
    user_events: Weighted,
    server_logs: ServerLogFragments,
    scratch: String,
}

/// A message template of `server-logs`, pre-rendered as JSON.
struct TemplateFragment {
    before: Vec<u8>,
    low: u64,
    high: u64,
    /// Ends with the closing quote of the message string.
    after: Vec<u8>,
}

/// `server-logs` is the hot scenario (the seed's, and the benchmark's): its
/// tables are rendered into escaped JSON fragments once, so each event is a
/// handful of slice copies instead of per-value quoting and escaping.
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

impl Generator {
    /// A generator; the same `seed` and a simulated clock give identical output.
    pub fn new(kind: ScenarioKind, seed: Option<u64>, clock: EventClock) -> Self {
        let rng = match seed {
            Some(s) => Pcg64Mcg::seed_from_u64(s),
            None => Pcg64Mcg::from_rng(&mut rand::rng()),
        };
        Self {
            kind,
            rng,
            clock,
            produced: 0,
            levels_normal: Weighted::new(data::LEVEL_WEIGHTS_NORMAL),
            levels_wave: Weighted::new(data::LEVEL_WEIGHTS_WAVE),
            wave_checked_second: 0,
            wave_until_second: 0,
            methods: Weighted::new(data::METHODS.iter().map(|m| m.1)),
            statuses: Weighted::new(data::STATUSES.iter().map(|s| s.1)),
            user_events: Weighted::new(data::USER_EVENT_TYPES.iter().map(|e| e.1)),
            server_logs: ServerLogFragments::new(),
            scratch: String::with_capacity(64),
        }
    }

    pub fn kind(&self) -> ScenarioKind {
        self.kind
    }

    /// Whether an error wave is active at event time `second`.
    pub fn in_wave(&self, second: u64) -> bool {
        second < self.wave_until_second
    }

    fn now_micros(&self) -> u64 {
        match self.clock {
            EventClock::Live => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64),
            EventClock::Simulated {
                start_micros,
                step_micros,
            } => start_micros + self.produced * step_micros,
        }
    }

    /// Write the next event into `payload` and its key into `key` (both cleared first).
    pub fn next_event(&mut self, key: &mut Vec<u8>, payload: &mut Vec<u8>) {
        key.clear();
        payload.clear();
        let ts = self.now_micros();
        self.produced += 1;
        match self.kind {
            ScenarioKind::ServerLogs => self.server_log(ts, key, payload),
            ScenarioKind::AccessLogs => self.access_log(ts, key, payload),
            ScenarioKind::CarTransactions => self.car_transaction(ts, key, payload),
            ScenarioKind::UserEvents => self.user_event(ts, key, payload),
            ScenarioKind::UserProfiles => self.user_profile(ts, key, payload),
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// Roll for wave starts once per event-time second, as the seed did.
    fn update_wave(&mut self, second: u64) {
        if second == self.wave_checked_second {
            return;
        }
        // Catch up at most one wave length of skipped seconds (a stalled clock).
        let from = self
            .wave_checked_second
            .max(second.saturating_sub(data::WAVE_SECONDS));
        self.wave_checked_second = second;
        for s in from + 1..=second {
            if s >= self.wave_until_second
                && self.rng.random_bool(data::WAVE_START_CHANCE_PER_SECOND)
            {
                self.wave_until_second = s + data::WAVE_SECONDS;
            }
        }
    }

    fn server_log(&mut self, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        let second = ts / 1_000_000;
        self.update_wave(second);
        let level = if self.in_wave(second) {
            self.levels_wave.pick(&mut self.rng)
        } else {
            self.levels_normal.pick(&mut self.rng)
        };
        let f = &self.server_logs;
        let t = &f.templates[level][self.rng.random_range(0..f.templates[level].len())];
        let n = self.rng.random_range(t.low..=t.high);
        let host = self.rng.random_range(0..data::HOSTS.len());
        let service = self.rng.random_range(0..data::SERVICES.len());
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

    fn access_log(&mut self, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        use std::fmt::Write;
        self.scratch.clear();
        let (a, b, c) = (
            self.rng.random_range(1..=254u8),
            self.rng.random::<u8>(),
            self.rng.random_range(1..=254u8),
        );
        let _ = write!(self.scratch, "10.{a}.{b}.{c}");
        let method = data::METHODS[self.methods.pick(&mut self.rng)].0;
        let status = data::STATUSES[self.statuses.pick(&mut self.rng)].0;
        let path = self.pick(data::PATHS);
        // Sizes and latencies are skewed: mostly small, a long tail.
        let bytes = if status == 204 || status == 304 {
            0
        } else {
            let base: u64 = self.rng.random_range(200..5_000);
            if self.rng.random_bool(0.1) {
                base * 40
            } else {
                base
            }
        };
        let latency =
            self.rng.random_range(1..80u64) + if self.rng.random_bool(0.05) { 900 } else { 0 };
        let ua = self.pick(data::USER_AGENTS);
        let mut o = JsonObject::new(out);
        o.fixed("timestamp", ts, 6)
            .str("ip", &self.scratch)
            .str("method", method)
            .str("path", path)
            .u64("status", status)
            .u64("bytes", bytes)
            .u64("latency_ms", latency)
            .str("user_agent", ua);
        o.finish();
        key.extend_from_slice(self.scratch.as_bytes());
    }

    fn car_transaction(&mut self, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        use std::fmt::Write;
        self.scratch.clear();
        let id: u128 = self.rng.random();
        // UUID v4 layout from random bits.
        let id = (id & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let h = format!("{id:032x}");
        let _ = write!(
            self.scratch,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        let first = self.pick(data::FIRST_NAMES);
        let last = self.pick(data::LAST_NAMES);
        let (brand, model) = self.pick(data::CARS);
        let year = self
            .rng
            .random_range(data::YEAR_RANGE.0..=data::YEAR_RANGE.1);
        let color = self.pick(data::COLORS);
        let country = self.pick(data::COUNTRIES);
        let branch = self.pick(data::BRANCHES);
        let price_cents = self
            .rng
            .random_range(data::PRICE_RANGE.0 * 100..=data::PRICE_RANGE.1 * 100);
        let mut o = JsonObject::new(out);
        o.fixed("timestamp", ts, 6)
            .str("transaction_id", &self.scratch)
            .str_parts("buyer", &[first, " ", last])
            .str("brand", brand)
            .str("model", model)
            .u64("year", year)
            .str("color", color)
            .str("country", country)
            .str("branch", branch)
            .fixed("price", price_cents, 2);
        o.finish();
        key.extend_from_slice(self.scratch.as_bytes());
    }

    fn user_event(&mut self, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        let user = self.rng.random_range(1..=data::USER_POPULATION);
        let event_type = data::USER_EVENT_TYPES[self.user_events.pick(&mut self.rng)].0;
        let page = self.rng.random_range(1..=data::PAGE_COUNT);
        // A session id stable per user and hour, so events of a visit share it.
        let session =
            (user.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (ts / 3_600_000_000)) & 0xffff_ffff_ffff;
        self.scratch.clear();
        {
            use std::fmt::Write;
            let _ = write!(self.scratch, "s-{session:012x}");
        }
        let mut o = JsonObject::new(out);
        o.u64("user_id", user)
            .str("event_type", event_type)
            .fixed("timestamp", ts, 6)
            .u64("page_id", page)
            .str("session_id", &self.scratch);
        o.finish();
        json::write_u64(key, user);
    }

    fn user_profile(&mut self, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        let id = self.rng.random_range(1..=data::USER_POPULATION);
        let first = self.pick(data::FIRST_NAMES);
        let last = self.pick(data::LAST_NAMES);
        let (city, country) = self.pick(data::CITIES);
        let street = self.pick(data::STREETS);
        let domain = self.pick(data::EMAIL_DOMAINS);
        let house = self.rng.random_range(1..200u64);
        // Registered within the ten years before the event; born 1950–2006.
        let now_days = ts / 86_400_000_000;
        let registered = civil_date(now_days as i64 - self.rng.random_range(0..3_650i64));
        let birth = civil_date(self.rng.random_range(-7_305i64..13_515));
        let mut email = String::with_capacity(40);
        email.push_str(&first.to_ascii_lowercase());
        email.push('.');
        email.push_str(&last.to_ascii_lowercase());
        email.push_str(&id.to_string());
        email.push('@');
        email.push_str(domain);
        let mut digits = [0u8; 20];
        let house_s = json::format_u64(&mut digits, house);
        let mut o = JsonObject::new(out);
        o.u64("id", id)
            .str("first_name", first)
            .str("last_name", last)
            .str("email", &email)
            .str_parts("address", &[house_s, " ", street])
            .str("city", city)
            .str("country", country)
            .str("birth_date", &birth)
            .str("registered", &registered)
            .fixed("timestamp", ts, 6);
        o.finish();
        json::write_u64(key, id);
    }
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (proleptic Gregorian).
pub fn civil_date(days: i64) -> String {
    // Howard Hinnant's days-to-civil algorithm (valid for years ≥ 0).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a (64-bit) over the keys and payloads of the first `n` events of
    /// `kind` (seed 7, one simulated second per event), and how many of them
    /// fell in an error wave.
    fn fingerprint(kind: ScenarioKind, n: u64) -> (u64, u64) {
        let start_micros = 1_700_000_000_000_000;
        let step_micros = 1_000_000;
        let mut g = Generator::new(
            kind,
            Some(7),
            EventClock::Simulated {
                start_micros,
                step_micros,
            },
        );
        let (mut key, mut payload) = (Vec::new(), Vec::new());
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut wave_events = 0;
        for i in 0..n {
            g.next_event(&mut key, &mut payload);
            wave_events += u64::from(g.in_wave((start_micros + i * step_micros) / 1_000_000));
            for part in [&key, &payload] {
                for b in (part.len() as u64).to_le_bytes().iter().chain(part.iter()) {
                    hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        (hash, wave_events)
    }

    /// Pinned on the code before the scenarios were split into one file
    /// each: a change here is a change of generated output.
    #[test]
    fn seeded_events_of_every_scenario_are_byte_identical_to_the_pinned_hash() {
        let pinned = [
            (ScenarioKind::ServerLogs, 0x6b68_d64c_017a_a511),
            (ScenarioKind::AccessLogs, 0x895b_3db9_8e9e_dbdc),
            (ScenarioKind::CarTransactions, 0x6f1d_06dd_a0c2_e589),
            (ScenarioKind::UserEvents, 0xdfd5_da8c_e017_f906),
            (ScenarioKind::UserProfiles, 0x9228_e394_d4c6_7555),
        ];
        assert_eq!(
            pinned.len(),
            ScenarioKind::ALL.len(),
            "every scenario pinned"
        );
        for (kind, expected) in pinned {
            let (hash, wave_events) = fingerprint(kind, 200);
            assert_eq!(hash, expected, "{kind}: first 200 seeded events changed");
            if kind == ScenarioKind::ServerLogs {
                // The run crosses an error wave, so the wave path is pinned too.
                assert_eq!(wave_events, 66, "{kind}: events inside an error wave");
            }
        }
    }
}
