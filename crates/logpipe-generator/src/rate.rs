//! Rate control for generation: a token bucket refilled at the target rate
//! (events/s), with a capacity that bounds bursts, and an optional periodic
//! burst schedule (e.g. 5 s at 50k/s every minute) for load tests.

use std::time::{Duration, Instant};

/// A periodic burst: for `length` out of every `every`, the rate is `rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstSchedule {
    pub every: Duration,
    pub length: Duration,
    pub rate: f64,
}

/// Token bucket; `take` blocks the calling thread until tokens are available.
pub struct RateLimiter {
    /// Events per second; `None` means unlimited.
    rate: Option<f64>,
    capacity: f64,
    tokens: f64,
    start: Instant,
    last: Instant,
    bursts: Option<BurstSchedule>,
}

impl RateLimiter {
    /// `rate` events/s (≤ 0 means unlimited); `capacity` tokens at most, i.e.
    /// the largest burst after an idle spell (default: 10 ms worth, at least 1).
    pub fn new(rate: f64, capacity: Option<u64>, bursts: Option<BurstSchedule>) -> Self {
        let now = Instant::now();
        let peak = bursts.map_or(rate, |b| b.rate.max(rate));
        let capacity = capacity.map_or((peak * 0.01).max(1.0), |c| c.max(1) as f64);
        Self {
            rate: (rate > 0.0).then_some(rate),
            capacity,
            tokens: 1.0_f64.min(capacity),
            start: now,
            last: now,
            bursts,
        }
    }

    pub fn unlimited() -> Self {
        Self::new(0.0, None, None)
    }

    /// The target rate at `now` (bursts included); `None` when unlimited.
    pub fn rate_at(&self, now: Instant) -> Option<f64> {
        let base = self.rate?;
        Some(match self.bursts {
            Some(b) if !b.every.is_zero() => {
                let phase = now.duration_since(self.start).as_nanos() % b.every.as_nanos();
                if phase < b.length.as_nanos() {
                    b.rate
                } else {
                    base
                }
            }
            _ => base,
        })
    }

    fn refill(&mut self, now: Instant) {
        if let Some(rate) = self.rate_at(now) {
            let dt = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + dt * rate).min(self.capacity);
        }
        self.last = now;
    }

    /// Grant between 1 and `max` events, sleeping until at least one (or, at
    /// high rates, about a millisecond's worth) is available. Returns 0 only
    /// if `deadline` passes first.
    pub fn take(&mut self, max: u64, deadline: Option<Instant>) -> u64 {
        let max = max.max(1);
        let Some(_) = self.rate else { return max };
        loop {
            let now = Instant::now();
            self.refill(now);
            if self.tokens >= 1.0 {
                let n = (self.tokens.floor() as u64).min(max);
                self.tokens -= n as f64;
                return n;
            }
            let rate = self.rate_at(now).unwrap_or(1.0);
            // Wake for a batch worth ~1 ms at high rates to avoid a syscall per event.
            let want = (rate * 0.001).clamp(1.0, (max as f64).min(self.capacity));
            let mut wait = Duration::from_secs_f64(((want - self.tokens) / rate).max(0.0));
            if let Some(d) = deadline {
                if now >= d {
                    return 0;
                }
                wait = wait.min(d - now);
            }
            // Never sleep past the next burst phase change by much.
            std::thread::sleep(wait.min(Duration::from_millis(50)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_grants_everything() {
        let mut r = RateLimiter::unlimited();
        assert_eq!(r.take(1000, None), 1000);
    }

    #[test]
    fn capacity_bounds_the_burst_after_idle() {
        let mut r = RateLimiter::new(1000.0, Some(5), None);
        std::thread::sleep(Duration::from_millis(50));
        // 50 ms at 1000/s would be 50 tokens; capacity keeps it at 5.
        assert_eq!(r.take(1000, None), 5);
    }

    #[test]
    fn deadline_stops_waiting() {
        let mut r = RateLimiter::new(0.5, Some(1), None);
        assert_eq!(r.take(1, None), 1);
        let t = Instant::now();
        assert_eq!(r.take(1, Some(t + Duration::from_millis(20))), 0);
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn burst_schedule_raises_rate_inside_the_window() {
        let b = BurstSchedule {
            every: Duration::from_secs(10),
            length: Duration::from_secs(1),
            rate: 500.0,
        };
        let r = RateLimiter::new(10.0, None, Some(b));
        assert_eq!(r.rate_at(r.start), Some(500.0));
        assert_eq!(r.rate_at(r.start + Duration::from_secs(2)), Some(10.0));
        assert_eq!(
            r.rate_at(r.start + Duration::from_millis(10_500)),
            Some(500.0)
        );
    }
}
