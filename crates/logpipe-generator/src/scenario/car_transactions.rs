//! `car-transactions`: car sales (transaction_id, buyer, brand, model, year,
//! color, country, branch, price; key: transaction_id, a random UUID v4).

use std::fmt::Write;

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::json::JsonObject;
use super::{data, pick};

/// The state of `car-transactions`: the transaction id buffer.
pub(super) struct CarTransactions {
    /// The UUID of the current event (also its key).
    transaction_id: String,
}

impl CarTransactions {
    pub(super) fn new() -> Self {
        Self {
            transaction_id: String::with_capacity(64),
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
        self.transaction_id.clear();
        let id: u128 = rng.random();
        // UUID v4 layout from random bits.
        let id = (id & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let h = format!("{id:032x}");
        let _ = write!(
            self.transaction_id,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        let first = pick(rng, data::FIRST_NAMES);
        let last = pick(rng, data::LAST_NAMES);
        let (brand, model) = pick(rng, data::CARS);
        let year = rng.random_range(data::YEAR_RANGE.0..=data::YEAR_RANGE.1);
        let color = pick(rng, data::COLORS);
        let country = pick(rng, data::COUNTRIES);
        let branch = pick(rng, data::BRANCHES);
        let price_cents = rng.random_range(data::PRICE_RANGE.0 * 100..=data::PRICE_RANGE.1 * 100);
        let mut o = JsonObject::new(out);
        o.fixed("timestamp", ts, 6)
            .str("transaction_id", &self.transaction_id)
            .str_parts("buyer", &[first, " ", last])
            .str("brand", brand)
            .str("model", model)
            .u64("year", year)
            .str("color", color)
            .str("country", country)
            .str("branch", branch)
            .fixed("price", price_cents, 2);
        o.finish();
        key.extend_from_slice(self.transaction_id.as_bytes());
    }
}
