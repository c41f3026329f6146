//! Reconciliation of one topic's day: three independent counts of the same
//! events must agree.
//!
//! - the records read from the day's archive files,
//! - the sum of those files' Kafka offset ranges (each offset is archived
//!   exactly once; an offset without a record was dead-lettered by the
//!   archiver or lost), and the `_SUCCESS` markers' counts,
//! - per event-time minute: the archive's records (the day's directories
//!   and the late horizon after it) against the processor's streamed +
//!   late count of that minute (`logpipe_event_counts`).
//!
//! - per partition, the files' offset ranges must chain: a gap next to a
//!   file of the day is a lost file, seen even where no processor counts
//!   the topic and no marker declares a count.
//!
//! Any difference is named, minute by minute.

use std::collections::{BTreeMap, BTreeSet};

/// Problems listed in `detail` before it says how many more there are.
const MAX_DETAIL: usize = 20;

/// What the archive holds for one topic and day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveCounts {
    /// Records read from the files of the day's directories.
    pub archived: u64,
    /// Sum of those files' offset ranges (end − start + 1).
    pub offsets: u64,
    /// Records the day's `_SUCCESS` markers declare (none if markers are off).
    pub marked: Option<u64>,
    /// Of `archived`: records without a readable event time.
    pub unreadable: u64,
    /// Records per event-time minute (UTC epoch seconds) of the day, from
    /// the day's directories and the late horizon after it.
    pub per_minute: BTreeMap<i64, u64>,
    /// Offset gaps next to the day's files (lost files), described.
    pub gaps: Vec<String>,
}

/// The processor's count of one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Processed {
    pub events: u64,
    pub late: u64,
    /// Dead-lettered with a readable time: archived, not aggregated.
    pub rejected: u64,
}

impl Processed {
    pub fn total(&self) -> u64 {
        self.events + self.late + self.rejected
    }

    /// `5 on time + 1 late` (`+ 2 dead-lettered` when there are any).
    fn parts(&self) -> String {
        let mut s = format!("{} on time + {} late", self.events, self.late);
        if self.rejected > 0 {
            s.push_str(&format!(" + {} dead-lettered", self.rejected));
        }
        s
    }
}

/// One row of `daily_reconciliation` (without the day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub topic: String,
    pub archived: u64,
    pub offsets: u64,
    pub marked: u64,
    pub streamed: u64,
    pub late: u64,
    /// The processor's dead letters with a readable time.
    pub rejected: u64,
    pub unreadable: u64,
    pub mismatched_minutes: u64,
    /// The processor's minutes were compared (it aggregates the topic).
    pub processed: bool,
    pub problems: Vec<String>,
}

impl Reconciliation {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Problems other than minutes that differ: gaps, offsets against
    /// records, markers against records.
    pub fn archive_problems(&self) -> u64 {
        self.problems.len() as u64 - self.mismatched_minutes
    }

    pub fn status(&self) -> &'static str {
        if self.ok() {
            "ok"
        } else {
            "mismatch"
        }
    }

    /// The problems, the first [`MAX_DETAIL`] of them, for the table.
    pub fn detail(&self) -> String {
        if self.problems.is_empty() {
            return if self.processed {
                let rejected = if self.rejected > 0 {
                    format!(" + dead-lettered {}", self.rejected)
                } else {
                    String::new()
                };
                format!(
                    "{} records archived = offsets = processor (streamed {} + late {}{rejected})",
                    self.archived, self.streamed, self.late
                )
            } else {
                format!(
                    "{} records archived = offsets (the processor does not aggregate this topic)",
                    self.archived
                )
            };
        }
        let mut s = self.problems[..self.problems.len().min(MAX_DETAIL)].join("; ");
        if self.problems.len() > MAX_DETAIL {
            s.push_str(&format!("; and {} more", self.problems.len() - MAX_DETAIL));
        }
        s
    }
}

/// Reconcile `archive` against the processor's minutes (`None`: the
/// processor does not aggregate this topic, so only the archive's own
/// counts are compared).
pub fn reconcile(
    topic: &str,
    archive: &ArchiveCounts,
    processor: Option<&BTreeMap<i64, Processed>>,
) -> Reconciliation {
    let mut problems = archive.gaps.clone();
    if archive.archived != archive.offsets {
        problems.push(format!(
            "the day's files hold {} records but their offset ranges span {} offsets ({} {})",
            archive.archived,
            archive.offsets,
            archive.archived.abs_diff(archive.offsets),
            if archive.archived < archive.offsets {
                "offsets without a record: dead-lettered by the archiver, or lost"
            } else {
                "records more than offsets: duplicated"
            }
        ));
    }
    if let Some(marked) = archive.marked {
        if marked != archive.archived {
            problems.push(format!(
                "the _SUCCESS markers declare {marked} records, the files hold {}",
                archive.archived
            ));
        }
    }
    let (mut streamed, mut late, mut rejected, mut mismatched) = (0, 0, 0, 0);
    if let Some(minutes) = processor {
        let all: BTreeSet<i64> = archive
            .per_minute
            .keys()
            .chain(minutes.keys())
            .copied()
            .collect();
        for m in all {
            let a = archive.per_minute.get(&m).copied().unwrap_or(0);
            let p = minutes.get(&m).copied().unwrap_or_default();
            streamed += p.events;
            late += p.late;
            rejected += p.rejected;
            if a != p.total() {
                mismatched += 1;
                problems.push(format!(
                    "minute {}: archive {a}, processor {} ({})",
                    minute_name(m),
                    p.total(),
                    p.parts()
                ));
            }
        }
    }
    Reconciliation {
        topic: topic.to_owned(),
        archived: archive.archived,
        offsets: archive.offsets,
        marked: archive.marked.unwrap_or(0),
        streamed,
        late,
        rejected,
        unreadable: archive.unreadable,
        mismatched_minutes: mismatched,
        processed: processor.is_some(),
        problems,
    }
}

/// `2026-12-02T13:05Z`.
pub fn minute_name(minute_start: i64) -> String {
    chrono::DateTime::from_timestamp(minute_start, 0).map_or_else(
        || minute_start.to_string(),
        |t| t.format("%Y-%m-%dT%H:%MZ").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(per_minute: &[(i64, u64)]) -> ArchiveCounts {
        let n = per_minute.iter().map(|m| m.1).sum();
        ArchiveCounts {
            archived: n,
            offsets: n,
            marked: Some(n),
            per_minute: per_minute.iter().copied().collect(),
            ..ArchiveCounts::default()
        }
    }

    fn processed(m: &[(i64, u64, u64)]) -> BTreeMap<i64, Processed> {
        m.iter()
            .map(|&(k, events, late)| {
                (
                    k,
                    Processed {
                        events,
                        late,
                        rejected: 0,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn equal_counts_reconcile() {
        let r = reconcile(
            "logs",
            &archive(&[(0, 5), (60, 3)]),
            Some(&processed(&[(0, 4, 1), (60, 3, 0)])),
        );
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.streamed, r.late, r.mismatched_minutes), (7, 1, 0));
        assert_eq!(r.status(), "ok");
    }

    #[test]
    fn a_minute_that_differs_is_named_with_both_counts() {
        let r = reconcile(
            "logs",
            &archive(&[(0, 5), (120, 2)]),
            Some(&processed(&[(0, 5, 0), (60, 1, 0), (120, 1, 0)])),
        );
        assert_eq!(r.mismatched_minutes, 2);
        assert_eq!(
            r.problems,
            [
                "minute 1970-01-01T00:01Z: archive 0, processor 1 (1 on time + 0 late)",
                "minute 1970-01-01T00:02Z: archive 2, processor 1 (1 on time + 0 late)",
            ]
        );
        assert_eq!(r.status(), "mismatch");
    }

    #[test]
    fn offsets_without_records_and_marker_differences_are_mismatches() {
        let mut a = archive(&[(0, 5)]);
        a.offsets = 6;
        a.marked = Some(4);
        let r = reconcile("logs", &a, None);
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(r.problems[0].contains("5 records but their offset ranges span 6 offsets"));
        assert!(r.problems[1].contains("markers declare 4 records"));
        assert_eq!(r.mismatched_minutes, 0, "no processor: no minutes compared");
    }

    #[test]
    fn the_processors_dead_letters_with_a_readable_time_count_for_their_minute() {
        let mut p = processed(&[(0, 4, 0), (60, 3, 0)]);
        p.get_mut(&0).unwrap().rejected = 1;
        let r = reconcile("logs", &archive(&[(0, 5), (60, 3)]), Some(&p));
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!((r.streamed, r.late, r.rejected), (7, 0, 1));
        assert!(
            r.detail()
                .ends_with("(streamed 7 + late 0 + dead-lettered 1)"),
            "{}",
            r.detail()
        );
        let r = reconcile("logs", &archive(&[(0, 4), (60, 3)]), Some(&p));
        assert_eq!(
            r.problems,
            ["minute 1970-01-01T00:00Z: archive 4, processor 5 (4 on time + 0 late + 1 dead-lettered)"]
        );
    }

    #[test]
    fn a_gap_is_a_mismatch_without_processor_or_markers() {
        // a lost file: records and offsets drop together, the gap remains
        let mut a = archive(&[(0, 5)]);
        a.marked = None;
        a.gaps = vec!["offsets 5..9 of partition 0 are in no archive file".into()];
        let r = reconcile("logs", &a, None);
        assert!(!r.ok());
        assert_eq!(r.problems, a.gaps);
    }

    #[test]
    fn detail_is_bounded() {
        let a = archive(&(0..30).map(|m| (m * 60, 1)).collect::<Vec<_>>());
        let r = reconcile("logs", &a, Some(&BTreeMap::new()));
        assert_eq!(r.mismatched_minutes, 30);
        assert!(r.detail().ends_with("; and 10 more"), "{}", r.detail());
    }
}
