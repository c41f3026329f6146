//! The sensor: is day D complete in the archive and in the processor?
//! Replaces the Airflow DAG's file sensor on `_SUCCESS`.

use std::collections::BTreeMap;

use logpipe_core::archive::SuccessMarker;

use crate::source::ArchiveDir;

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
    if markers_on {
        for (d, m) in topic.dirs.iter().zip(topic.markers) {
            if m.is_none() {
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

    fn dir(path: &str, partition: i32, end: i64) -> ArchiveDir {
        ArchiveDir {
            path: path.into(),
            bucket: 0,
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
            }],
        }
    }

    #[test]
    fn complete_only_when_closed_marked_and_consumed() {
        let w = DayWindow::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), 3600);
        let dirs = [
            dir("logs/dt=2026-12-02/hr=10", 0, 99),
            dir("logs/dt=2026-12-02/hr=11", 1, 49),
        ];
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
            processor: Some(&consumed),
            processor_at_start: Some(&at_start),
            archive_last: &archive_last,
            group_id: "g",
        };
        let early = missing(w.to, 600, w, true, &state);
        assert_eq!(early.len(), 4, "{early:?}");
        assert!(
            early[0].contains("not complete before 2026-12-03 01:10:00"),
            "{}",
            early[0]
        );
        assert_eq!(early[1], "logs/dt=2026-12-02/hr=11: no _SUCCESS marker yet");
        assert_eq!(
            early[2],
            "logs/1: the archive holds up to offset 49, the processor had consumed up to 59 when the rollup started"
        );
        assert!(
            early[3].starts_with("logs/1: processor group g has not consumed"),
            "{}",
            early[3]
        );

        let at_start: BTreeMap<i32, i64> = [(0, 100), (1, 50)].into_iter().collect();
        let state = TopicState {
            processor_at_start: Some(&at_start),
            ..state
        };
        let markers = [Some(marker.clone()), Some(marker)];
        let consumed: BTreeMap<i32, i64> = [(0, 100), (1, 50)].into_iter().collect();
        let state = TopicState {
            markers: &markers,
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
}
