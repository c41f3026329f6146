//! The sensor: is day D complete in the archive and in the processor?
//! Replaces the Airflow DAG's file sensor on `_SUCCESS`.

use std::collections::BTreeMap;

use logpipe_core::archive::SuccessMarker;

use crate::source::{ArchiveDir, Bucket};

/// The directories a day's rollup reads, in template time (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    /// Start of the day.
    pub from: i64,
    /// End of the day (start of the next).
    pub to: i64,
    /// End of the late horizon read after the day.
    pub horizon_to: i64,
}

impl DayWindow {
    pub fn new(day: chrono::NaiveDate, late_horizon_secs: i64) -> Self {
        let from = day
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp();
        Self {
            from,
            to: from + 86_400,
            horizon_to: from + 86_400 + late_horizon_secs,
        }
    }
}

/// One topic's directories as the sensor saw them.
pub struct TopicState<'a> {
    pub topic: &'a str,
    pub dirs: &'a [ArchiveDir],
    /// By position in `dirs`.
    pub markers: &'a [Option<SuccessMarker>],
    /// With markers on: the buckets that must each have a marked
    /// directory (see [`expected_buckets`]).
    pub expected: &'a [Bucket],
    /// The processor's next offset per partition; `None` when the
    /// processor does not aggregate this topic.
    pub processor: Option<&'a BTreeMap<i32, i64>>,
    /// The processor's next offsets when the rollup started: the archive
    /// must have got past them (else it may still lack events the
    /// processor counted); `None` when the processor does not aggregate
    /// this topic.
    pub processor_at_start: Option<&'a BTreeMap<i32, i64>>,
    /// The archive's largest committed end offset per partition.
    pub archive_last: &'a BTreeMap<i32, i64>,
    pub group_id: &'a str,
}

/// The buckets whose `_SUCCESS` the sensor waits for: from the first
/// directory of the window (the archiver marks every bucket after the first
/// it wrote, empty ones too; before it there may never have been one) to
/// the last that ends within the late horizon (a bucket reaching past it,
/// e.g. the next day's directory of a daily template, is read as it is).
/// None when the window has no directory yet.
pub fn expected_buckets(window: DayWindow, dirs: &[ArchiveDir], all: Vec<Bucket>) -> Vec<Bucket> {
    let Some(first) = dirs.iter().map(|d| d.bucket).min() else {
        return Vec::new();
    };
    all.into_iter()
        .filter(|b| b.start >= first && b.end <= window.horizon_to)
        .collect()
}

/// What is still missing before the day can be rolled up; empty when it
/// is complete. `now_local` is the wall clock in template time; `settle`
/// how long after a directory's end the archiver may still add to it.
pub fn missing(
    now_local: i64,
    settle_secs: i64,
    window: DayWindow,
    markers_on: bool,
    topic: &TopicState<'_>,
) -> Vec<String> {
    let mut out = Vec::new();
    let closes = window.horizon_to + settle_secs;
    if now_local < closes {
        out.push(format!(
            "{}: the day and its late horizon are not complete before {} (archive time zone)",
            topic.topic,
            chrono::DateTime::from_timestamp(closes, 0).map_or_else(
                || closes.to_string(),
                |t| t.format("%Y-%m-%d %H:%M:%S").to_string()
            )
        ));
    }
    if markers_on && topic.expected.is_empty() {
        // (a bucket that does not fit the day, e.g. monthly: every directory)
        for (d, m) in topic.dirs.iter().zip(topic.markers) {
            if m.is_none() {
                out.push(format!("{}: no _SUCCESS marker yet", d.path));
            }
        }
    }
    if markers_on {
        for b in topic.expected {
            let mut here = topic
                .dirs
                .iter()
                .zip(topic.markers)
                .filter(|(d, _)| d.bucket == b.start)
                .peekable();
            if here.peek().is_none() {
                out.push(format!(
                    "{}: no directory and no _SUCCESS marker yet",
                    b.path
                ));
            }
            for (d, _) in here.filter(|(_, m)| m.is_none()) {
                out.push(format!("{}: no _SUCCESS marker yet", d.path));
            }
        }
    }
    for (p, next) in topic.processor_at_start.into_iter().flatten() {
        let archived = topic.archive_last.get(p).copied().unwrap_or(-1);
        if archived < next - 1 {
            out.push(format!(
                "{}/{p}: the archive holds up to offset {archived}, the processor had consumed up to {} when the rollup started",
                topic.topic,
                next - 1
            ));
        }
    }
    if let Some(next) = topic.processor {
        let mut last: BTreeMap<i32, i64> = BTreeMap::new();
        for f in topic.dirs.iter().flat_map(|d| &d.files) {
            let e = last.entry(f.range.partition).or_insert(f.range.end);
            *e = (*e).max(f.range.end);
        }
        for (p, end) in last {
            match next.get(&p) {
                Some(&n) if n > end => {}
                Some(&n) => out.push(format!(
                    "{}/{p}: processor group {} has consumed up to offset {}, the archive holds up to {end}",
                    topic.topic,
                    topic.group_id,
                    n - 1
                )),
                None => out.push(format!(
                    "{}/{p}: processor group {} has not consumed this partition; the archive holds up to offset {end}",
                    topic.topic, topic.group_id
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ArchiveFile;
    use logpipe_core::archive::FileRange;

    fn dir(path: &str, bucket: i64, partition: i32, end: i64) -> ArchiveDir {
        ArchiveDir {
            path: path.into(),
            bucket,
            marked: false,
            files: vec![ArchiveFile {
                path: format!("{path}/f"),
                range: FileRange {
                    topic: "logs".into(),
                    partition,
                    start: 0,
                    end,
                    ext: "jsonl.zst".into(),
                },
                bucket: Some(bucket),
            }],
        }
    }

    #[test]
    fn complete_only_when_closed_marked_and_consumed() {
        let w = DayWindow::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), 3600);
        let hour = |h: i64| Bucket {
            start: w.from + h * 3600,
            end: w.from + (h + 1) * 3600,
            path: format!("logs/dt=2026-12-02/hr={h}"),
        };
        let dirs = [
            dir("logs/dt=2026-12-02/hr=10", hour(10).start, 0, 99),
            dir("logs/dt=2026-12-02/hr=11", hour(11).start, 1, 49),
        ];
        // hr=12 has no directory yet
        let expected = [hour(10), hour(11), hour(12)];
        let marker = SuccessMarker {
            topic: "logs".into(),
            dir: "d".into(),
            written_at: "t".into(),
            partitions: Default::default(),
        };
        let markers = [Some(marker.clone()), None];
        let consumed: BTreeMap<i32, i64> = [(0, 100)].into_iter().collect();
        let at_start: BTreeMap<i32, i64> = [(0, 100), (1, 60)].into_iter().collect();
        let archive_last: BTreeMap<i32, i64> = [(0, 99), (1, 49)].into_iter().collect();
        let state = TopicState {
            topic: "logs",
            dirs: &dirs,
            markers: &markers,
            expected: &expected,
            processor: Some(&consumed),
            processor_at_start: Some(&at_start),
            archive_last: &archive_last,
            group_id: "g",
        };
        let early = missing(w.to, 600, w, true, &state);
        assert_eq!(early.len(), 5, "{early:?}");
        assert!(
            early[0].contains("not complete before 2026-12-03 01:10:00"),
            "{}",
            early[0]
        );
        assert_eq!(early[1], "logs/dt=2026-12-02/hr=11: no _SUCCESS marker yet");
        assert_eq!(
            early[2],
            "logs/dt=2026-12-02/hr=12: no directory and no _SUCCESS marker yet"
        );
        assert_eq!(
            early[3],
            "logs/1: the archive holds up to offset 49, the processor had consumed up to 59 when the rollup started"
        );
        assert!(
            early[4].starts_with("logs/1: processor group g has not consumed"),
            "{}",
            early[4]
        );

        let at_start: BTreeMap<i32, i64> = [(0, 100), (1, 50)].into_iter().collect();
        let state = TopicState {
            processor_at_start: Some(&at_start),
            ..state
        };
        let markers = [Some(marker.clone()), Some(marker)];
        let consumed: BTreeMap<i32, i64> = [(0, 100), (1, 50)].into_iter().collect();
        let expected = [hour(10), hour(11)];
        let state = TopicState {
            markers: &markers,
            expected: &expected,
            processor: Some(&consumed),
            ..state
        };
        assert_eq!(
            missing(w.horizon_to + 600, 600, w, true, &state),
            Vec::<String>::new()
        );
        let behind: BTreeMap<i32, i64> = [(0, 100), (1, 49)].into_iter().collect();
        let state = TopicState {
            processor: Some(&behind),
            ..state
        };
        assert_eq!(
            missing(w.horizon_to + 600, 600, w, true, &state),
            ["logs/1: processor group g has consumed up to offset 48, the archive holds up to 49"]
        );
    }

    #[test]
    fn without_expected_buckets_every_directory_needs_its_marker() {
        // e.g. a monthly template: the month's directory reaches past the day
        let w = DayWindow::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), 0);
        let dirs = [dir("logs/month=2026-12", w.from - 86_400, 0, 9)];
        let archive_last: BTreeMap<i32, i64> = [(0, 9)].into_iter().collect();
        let state = TopicState {
            topic: "logs",
            dirs: &dirs,
            markers: &[None],
            expected: &[],
            processor: None,
            processor_at_start: None,
            archive_last: &archive_last,
            group_id: "g",
        };
        assert_eq!(
            missing(w.to + 60, 0, w, true, &state),
            ["logs/month=2026-12: no _SUCCESS marker yet"]
        );
        assert!(missing(w.to + 60, 0, w, false, &state).is_empty());
    }

    #[test]
    fn expected_buckets_run_from_the_first_directory_to_the_horizon() {
        let w = DayWindow::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), 3600);
        let b = |start: i64, len: i64| Bucket {
            start,
            end: start + len,
            path: start.to_string(),
        };
        // hourly: 03:00 (the first directory) through 00:00 of the next day
        let hourly: Vec<Bucket> = (0..25).map(|h| b(w.from + h * 3600, 3600)).collect();
        let dirs = [dir("d", w.from + 3 * 3600, 0, 1)];
        let got = expected_buckets(w, &dirs, hourly);
        assert_eq!(got.first().map(|b| b.start), Some(w.from + 3 * 3600));
        assert_eq!(got.last().map(|b| b.end), Some(w.horizon_to));
        assert_eq!(got.len(), 22);
        // daily: the next day's directory reaches past the horizon
        let daily = vec![b(w.from, 86_400), b(w.to, 86_400)];
        let dirs = [dir("d", w.from, 0, 1)];
        assert_eq!(expected_buckets(w, &dirs, daily), [b(w.from, 86_400)]);
        assert!(expected_buckets(w, &[], vec![b(w.from, 86_400)]).is_empty());
    }
}
