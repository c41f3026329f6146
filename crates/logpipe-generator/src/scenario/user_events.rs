//! `user-events`: user activity (user_id, event_type, page_id, session_id;
//! key: user_id), with a session id stable per user and hour.

use std::fmt::Write;

use rand::Rng;
use rand_pcg::Pcg64Mcg;

use super::json::{self, JsonObject};
use super::{data, Weighted};

/// The state of `user-events`: event type weights, the session id buffer.
pub(super) struct UserEvents {
    event_types: Weighted,
    /// The session id of the current event.
    session_id: String,
}

impl UserEvents {
    pub(super) fn new() -> Self {
        Self {
            event_types: Weighted::new(data::USER_EVENT_TYPES.iter().map(|e| e.1)),
            session_id: String::with_capacity(64),
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
        let user = rng.random_range(1..=data::USER_POPULATION);
        let event_type = data::USER_EVENT_TYPES[self.event_types.pick(rng)].0;
        let page = rng.random_range(1..=data::PAGE_COUNT);
        // A session id stable per user and hour, so events of a visit share it.
        let session =
            (user.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (ts / 3_600_000_000)) & 0xffff_ffff_ffff;
        self.session_id.clear();
        let _ = write!(self.session_id, "s-{session:012x}");
        let mut o = JsonObject::new(out);
        o.u64("user_id", user)
            .str("event_type", event_type)
            .fixed("timestamp", ts, 6)
            .u64("page_id", page)
            .str("session_id", &self.session_id);
        o.finish();
        json::write_u64(key, user);
    }
}
