//! `user-profiles`: user profile records upserted by id (id, names, email,
//! address, city, country, birth_date, registered; key: id).

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::json::{self, JsonObject};
use super::{data, pick};

/// `user-profiles` keeps no state between events.
pub(super) struct UserProfiles;

impl UserProfiles {
    /// Write the event stamped `ts` (epoch µs) into `out` and its key into `key`.
    pub(super) fn write(&self, rng: &mut Pcg64Mcg, ts: u64, key: &mut Vec<u8>, out: &mut Vec<u8>) {
        let id = rng.random_range(1..=data::USER_POPULATION);
        let first = pick(rng, data::FIRST_NAMES);
        let last = pick(rng, data::LAST_NAMES);
        let (city, country) = pick(rng, data::CITIES);
        let street = pick(rng, data::STREETS);
        let domain = pick(rng, data::EMAIL_DOMAINS);
        let house = rng.random_range(1..200u64);
        // Registered within the ten years before the event; born 1950–2006.
        let now_days = ts / 86_400_000_000;
        let registered = civil_date(now_days as i64 - rng.random_range(0..3_650i64));
        let birth = civil_date(rng.random_range(-7_305i64..13_515));
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
