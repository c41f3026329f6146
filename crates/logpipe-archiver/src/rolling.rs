//! The roll policy: when an open file is committed. Limits on size, record
//! count and age are checked as records arrive; age and idle time also on a
//! timer, so a partition that goes quiet still commits what it holds.

use std::time::{Duration, Instant};

use crate::config::RollConfig;

/// Why a file was committed (the `reason` label of the files metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollReason {
    Size,
    Records,
    Age,
    Idle,
    /// The next record belongs to a later time directory.
    TimeBoundary,
    /// The partition is being revoked in a rebalance.
    Revoke,
    Shutdown,
    /// Kafka deleted records the partition had not read yet: the file ends
    /// before the gap, so `archive verify` reports it.
    RetentionGap,
}

impl RollReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RollReason::Size => "size",
            RollReason::Records => "records",
            RollReason::Age => "age",
            RollReason::Idle => "idle",
            RollReason::TimeBoundary => "time_boundary",
            RollReason::Revoke => "revoke",
            RollReason::Shutdown => "shutdown",
            RollReason::RetentionGap => "retention_gap",
        }
    }
}

/// What the policy looks at in an open file.
#[derive(Debug, Clone, Copy)]
pub struct FileStats {
    pub records: u64,
    /// Uncompressed bytes (values plus newlines).
    pub bytes_in: u64,
    pub opened: Instant,
    pub last_record: Instant,
}

impl FileStats {
    pub fn new(now: Instant) -> Self {
        Self {
            records: 0,
            bytes_in: 0,
            opened: now,
            last_record: now,
        }
    }
}

/// The limits of `[archive.roll]`.
#[derive(Debug, Clone, Copy)]
pub struct RollPolicy {
    max_bytes: u64,
    max_records: u64,
    max_age: Duration,
    idle: Duration,
}

impl RollPolicy {
    pub fn new(c: &RollConfig) -> Self {
        Self {
            max_bytes: c.max_bytes.0,
            max_records: if c.max_records == 0 {
                u64::MAX
            } else {
                c.max_records
            },
            max_age: c.max_age.get(),
            idle: c.idle_timeout.get(),
        }
    }

    /// After a record was added: is the file full?
    pub fn after_append(&self, f: &FileStats) -> Option<RollReason> {
        if f.bytes_in >= self.max_bytes {
            Some(RollReason::Size)
        } else if f.records >= self.max_records {
            Some(RollReason::Records)
        } else {
            None
        }
    }

    /// On the timer: is the file too old, or has its partition gone quiet?
    pub fn on_tick(&self, f: &FileStats, now: Instant) -> Option<RollReason> {
        if now.duration_since(f.opened) >= self.max_age {
            Some(RollReason::Age)
        } else if now.duration_since(f.last_record) >= self.idle {
            Some(RollReason::Idle)
        } else {
            None
        }
    }

    /// How often the timer looks: often enough to honour the age and idle
    /// limits within a tenth of the smaller one (at least every 10 ms), and
    /// at least every 250 ms, which is also how fresh the exported counts
    /// of records and bytes are.
    pub fn tick_interval(&self) -> Duration {
        (self.max_age.min(self.idle) / 10)
            .clamp(Duration::from_millis(10), Duration::from_millis(250))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logpipe_core::config::{ByteSize, HumanDuration};

    fn policy() -> RollPolicy {
        RollPolicy::new(&RollConfig {
            max_bytes: ByteSize(1000),
            max_records: 10,
            max_age: HumanDuration::from_secs(60),
            idle_timeout: HumanDuration::from_secs(5),
        })
    }

    #[test]
    fn size_and_count_limits_roll_after_append() {
        let t0 = Instant::now();
        let p = policy();
        let mut f = FileStats::new(t0);
        f.records = 9;
        f.bytes_in = 999;
        assert_eq!(p.after_append(&f), None);
        f.bytes_in = 1000;
        assert_eq!(p.after_append(&f), Some(RollReason::Size));
        f.bytes_in = 10;
        f.records = 10;
        assert_eq!(p.after_append(&f), Some(RollReason::Records));
    }

    #[test]
    fn the_timer_rolls_old_and_quiet_files() {
        let t0 = Instant::now();
        let p = policy();
        let mut f = FileStats::new(t0);
        f.last_record = t0 + Duration::from_secs(58);
        assert_eq!(p.on_tick(&f, t0 + Duration::from_secs(59)), None);
        assert_eq!(
            p.on_tick(&f, t0 + Duration::from_secs(60)),
            Some(RollReason::Age)
        );
        let g = FileStats::new(t0);
        assert_eq!(p.on_tick(&g, t0 + Duration::from_secs(4)), None);
        assert_eq!(
            p.on_tick(&g, t0 + Duration::from_secs(5)),
            Some(RollReason::Idle)
        );
        assert_eq!(p.tick_interval(), Duration::from_millis(250));
    }

    #[test]
    fn no_record_limit_when_zero() {
        let p = RollPolicy::new(&RollConfig {
            max_records: 0,
            ..RollConfig::default()
        });
        let mut f = FileStats::new(Instant::now());
        f.records = u64::MAX - 1;
        assert_eq!(p.after_append(&f), None);
    }
}
