//! One `[[process.aggregation]]` at run time: extracts an event's group key,
//! pivot slot and measure values, adds them to the current batch's
//! [`PaneStore`] (one update per event), and at commit time folds the panes
//! into per-window deltas that the store adds to its rows.

use std::fmt::Write as _;

use rustc_hash::FxHashMap;

use crate::config::{pivot_column_prefix, AggregationConfig, Measure, TimeFormat};
use crate::decode::{FieldSet, FieldValue, Fields, RejectReason, Rejected};
use crate::event_time::{self, Millis};
use crate::window::WindowAssigner;

/// Longest group-by value (the column is VARCHAR(190), the most utf8mb4
/// allows in a composite primary key).
pub const MAX_GROUP_VALUE: usize = 190;

/// What a measure column accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureKind {
    Count,
    Sum,
    Min,
    Max,
}

impl MeasureKind {
    fn identity(self) -> f64 {
        match self {
            MeasureKind::Count | MeasureKind::Sum => 0.0,
            MeasureKind::Min => f64::INFINITY,
            MeasureKind::Max => f64::NEG_INFINITY,
        }
    }

    fn merge(self, acc: &mut f64, v: f64) {
        match self {
            MeasureKind::Count | MeasureKind::Sum => *acc += v,
            MeasureKind::Min => *acc = acc.min(v),
            MeasureKind::Max => *acc = acc.max(v),
        }
    }
}

/// One stored measure: its kind and, except for count, the field slot.
#[derive(Debug, Clone)]
struct MeasureSlot {
    kind: MeasureKind,
    field: Option<usize>,
}

/// Column layout of an aggregation's output table.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateTable {
    pub name: String,
    pub group_columns: Vec<String>,
    /// Stored measure columns, in accumulator order.
    pub measure_columns: Vec<(String, MeasureKind)>,
    /// Derived average columns: (name, sum column, count column).
    pub avg_columns: Vec<(String, String, String)>,
}

/// The deltas of one (window, group) for one commit.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRow {
    pub start: Millis,
    pub end: Millis,
    pub group: Vec<String>,
    /// One value per measure column; min/max are ±inf when no event set them.
    pub values: Box<[f64]>,
}

#[derive(Debug, Clone)]
struct GroupAcc {
    group: Vec<String>,
    values: Box<[f64]>,
}

/// The current batch's partial aggregates, by pane start and encoded group key.
#[derive(Debug, Default)]
pub struct PaneStore {
    panes: FxHashMap<Millis, FxHashMap<String, GroupAcc>>,
}

impl PaneStore {
    pub fn is_empty(&self) -> bool {
        self.panes.is_empty()
    }
    pub fn clear(&mut self) {
        self.panes.clear();
    }
}

/// A compiled aggregation: config resolved to field slots and columns.
#[derive(Debug)]
pub struct Aggregator {
    pub name: String,
    pub assigner: WindowAssigner,
    pub lateness: Millis,
    pub late_table: Option<String>,
    pub table: AggregateTable,
    time_slot: usize,
    time_format: TimeFormat,
    group_slots: Vec<usize>,
    pivot: Option<(usize, Vec<String>)>,
    measures: Vec<MeasureSlot>,
    panes: PaneStore,
    // Scratch for the event being prepared (no allocation per event).
    key: String,
    pivot_index: Option<usize>,
    values: Vec<f64>,
    event_time: Millis,
    /// `event_time` was read by the last `prepare`.
    time_read: bool,
}

impl Aggregator {
    /// Compile `config`, registering the fields it reads in `fields`.
    pub fn new(config: &AggregationConfig, fields: &mut FieldSet) -> Self {
        let mut measures = vec![MeasureSlot {
            kind: MeasureKind::Count,
            field: None,
        }];
        let mut names = vec!["count".to_string()];
        let mut avgs = Vec::new();
        let mut add = |kind: MeasureKind, f: &str, suffix: &str, fields: &mut FieldSet| {
            let name = format!("{f}_{suffix}");
            if !names.contains(&name) {
                names.push(name);
                measures.push(MeasureSlot {
                    kind,
                    field: Some(fields.slot(f)),
                });
            }
        };
        for m in &config.measures {
            match m {
                Measure::Count => {}
                Measure::Sum(f) => add(MeasureKind::Sum, f, "sum", fields),
                Measure::Min(f) => add(MeasureKind::Min, f, "min", fields),
                Measure::Max(f) => add(MeasureKind::Max, f, "max", fields),
                Measure::Avg(f) => {
                    add(MeasureKind::Sum, f, "sum", fields);
                    if !avgs.contains(f) {
                        avgs.push(f.clone());
                    }
                }
            }
        }
        let prefixes: Vec<String> = match &config.pivot {
            Some(p) => p
                .values
                .iter()
                .map(|v| format!("{}_", pivot_column_prefix(v)))
                .collect(),
            None => vec![String::new()],
        };
        let count_name = |prefix: &str| {
            if prefix.is_empty() {
                "event_count".to_string()
            } else {
                format!("{prefix}count")
            }
        };
        let mut measure_columns = Vec::new();
        let mut avg_columns = Vec::new();
        for prefix in &prefixes {
            for (name, m) in names.iter().zip(&measures) {
                let col = if m.kind == MeasureKind::Count {
                    count_name(prefix)
                } else {
                    format!("{prefix}{name}")
                };
                measure_columns.push((col, m.kind));
            }
            for f in &avgs {
                avg_columns.push((
                    format!("{prefix}{f}_avg"),
                    format!("{prefix}{f}_sum"),
                    count_name(prefix),
                ));
            }
        }
        let time_slot = fields.slot(&config.time_field);
        let group_slots = config.group_by.iter().map(|g| fields.slot(g)).collect();
        let pivot = config
            .pivot
            .as_ref()
            .map(|p| (fields.slot(&p.field), p.values.clone()));
        let size = config.window.get().as_millis() as Millis;
        let slide = config.slide_or_window().as_millis() as Millis;
        let n = measures.len();
        Self {
            name: config.name.clone(),
            assigner: WindowAssigner::new(size, slide),
            lateness: config.allowed_lateness.get().as_millis() as Millis,
            late_table: config.late_table.clone(),
            table: AggregateTable {
                name: config.table_name().to_string(),
                group_columns: config.group_by.clone(),
                measure_columns,
                avg_columns,
            },
            time_slot,
            time_format: config.time_format,
            group_slots,
            pivot,
            measures,
            panes: PaneStore::default(),
            key: String::new(),
            pivot_index: None,
            values: vec![0.0; n],
            event_time: 0,
            time_read: false,
        }
    }

    /// Read this aggregation's values from `ev` into scratch; returns the
    /// event time. Nothing is aggregated until [`Aggregator::apply`].
    pub fn prepare(&mut self, ev: &Fields<'_>, set: &FieldSet) -> Result<Millis, Rejected> {
        self.time_read = false;
        let time = ev.require(self.time_slot, set)?;
        self.event_time = event_time::parse(time, self.time_format, set.name(self.time_slot))?;
        self.time_read = true;
        self.key.clear();
        for &slot in &self.group_slots {
            let v = ev.require(slot, set)?;
            let start = self.key.len();
            match v {
                FieldValue::Str(s) => self.key.push_str(s),
                FieldValue::Int(i) => write!(self.key, "{i}").expect("write to String"),
                FieldValue::Float(f) => write!(self.key, "{f}").expect("write to String"),
                FieldValue::Bool(b) => write!(self.key, "{b}").expect("write to String"),
                FieldValue::Null | FieldValue::Nested => {
                    return Err(Rejected::new(
                        RejectReason::WrongType,
                        format!(
                            "field `{}`: expected a scalar group value, got {}",
                            set.name(slot),
                            v.type_name()
                        ),
                    ))
                }
            }
            let len = self.key.len() - start;
            if self.key[start..].chars().count() > MAX_GROUP_VALUE {
                return Err(Rejected::new(
                    RejectReason::WrongType,
                    format!(
                        "field `{}`: group value longer than {MAX_GROUP_VALUE} characters",
                        set.name(slot)
                    ),
                ));
            }
            // Length-delimited so that ("ab","c") and ("a","bc") differ.
            write!(self.key, "\u{1f}{len}\u{1f}").expect("write to String");
        }
        self.pivot_index = match &self.pivot {
            None => Some(0),
            Some((slot, values)) => match ev.require(*slot, set)? {
                FieldValue::Str(s) => values.iter().position(|v| v == s),
                other => {
                    return Err(Rejected::new(
                        RejectReason::WrongType,
                        format!(
                            "field `{}`: expected a string, got {}",
                            set.name(*slot),
                            other.type_name()
                        ),
                    ))
                }
            },
        };
        for (i, m) in self.measures.iter().enumerate() {
            self.values[i] = match m.field {
                None => 1.0,
                Some(slot) => {
                    let v = ev.require(slot, set)?;
                    v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                        Rejected::new(
                            RejectReason::WrongType,
                            format!(
                                "field `{}`: expected a number, got {}",
                                set.name(slot),
                                v.type_name()
                            ),
                        )
                    })?
                }
            };
        }
        Ok(self.event_time)
    }

    /// Event time read by the last [`Aggregator::prepare`].
    pub fn prepared_time(&self) -> Millis {
        self.event_time
    }

    /// The event time the last [`Aggregator::prepare`] read, also when it
    /// then rejected the event (a group field missing, say).
    pub fn read_time(&self) -> Option<Millis> {
        self.time_read.then_some(self.event_time)
    }

    /// Add the prepared event to its pane. Returns false when its pivot
    /// value is not one of the listed ones (not counted).
    pub fn apply(&mut self, ev: &Fields<'_>) -> bool {
        let Some(pivot) = self.pivot_index else {
            return false;
        };
        let pane = self.assigner.pane_of(self.event_time);
        let groups = self.panes.panes.entry(pane).or_default();
        let n = self.measures.len();
        let merge = |acc: &mut GroupAcc| {
            let slots = &mut acc.values[pivot * n..(pivot + 1) * n];
            for ((slot, m), v) in slots.iter_mut().zip(&self.measures).zip(&self.values) {
                m.kind.merge(slot, *v);
            }
        };
        // One lookup for the common case (the group already has a pane entry).
        if let Some(acc) = groups.get_mut(self.key.as_str()) {
            merge(acc);
            return true;
        }
        let mut acc = GroupAcc {
            group: group_values(&self.group_slots, ev),
            values: self
                .table
                .measure_columns
                .iter()
                .map(|(_, k)| k.identity())
                .collect(),
        };
        merge(&mut acc);
        groups.insert(self.key.clone(), acc);
        true
    }

    pub fn has_pending(&self) -> bool {
        !self.panes.is_empty()
    }

    pub fn discard(&mut self) {
        self.panes.clear();
    }

    /// Fold the batch's panes into window deltas (sorted by window and
    /// group, so concurrent committers lock rows in the same order) and
    /// start a new batch.
    pub fn take_window_rows(&mut self) -> Vec<WindowRow> {
        let kinds: Vec<MeasureKind> = self.table.measure_columns.iter().map(|(_, k)| *k).collect();
        let mut windows: FxHashMap<(Millis, &str), WindowRow> = FxHashMap::default();
        for (&pane, groups) in &self.panes.panes {
            for (key, acc) in groups {
                for start in self.assigner.windows_of_pane(pane) {
                    let row = windows
                        .entry((start, key.as_str()))
                        .or_insert_with(|| WindowRow {
                            start,
                            end: start + self.assigner.size(),
                            group: acc.group.clone(),
                            values: kinds.iter().map(|k| k.identity()).collect(),
                        });
                    for ((slot, kind), v) in
                        row.values.iter_mut().zip(&kinds).zip(acc.values.iter())
                    {
                        kind.merge(slot, *v);
                    }
                }
            }
        }
        let mut rows: Vec<WindowRow> = windows.into_values().collect();
        rows.sort_by(|a, b| (a.start, &a.group).cmp(&(b.start, &b.group)));
        self.panes.clear();
        rows
    }
}

fn group_values(slots: &[usize], ev: &Fields<'_>) -> Vec<String> {
    slots
        .iter()
        .map(|&slot| match ev.get(slot) {
            Some(FieldValue::Str(s)) => s.to_string(),
            Some(FieldValue::Int(i)) => i.to_string(),
            Some(FieldValue::Float(f)) => f.to_string(),
            Some(FieldValue::Bool(b)) => b.to_string(),
            _ => unreachable!("prepare() checked the group values"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use logpipe_core::config::HumanDuration;

    fn feed(agg: &mut Aggregator, set: &FieldSet, events: &[&str]) {
        for e in events {
            let f = decode(e.as_bytes(), set, 4096).unwrap();
            agg.prepare(&f, set).unwrap();
            agg.apply(&f);
        }
    }

    #[test]
    fn seed_job_counts_levels_per_sliding_window() {
        let mut set = FieldSet::default();
        let mut agg = Aggregator::new(&AggregationConfig::seed_log_data(), &mut set);
        let cols: Vec<&str> = agg
            .table
            .measure_columns
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(
            cols,
            ["debug_count", "info_count", "warn_count", "error_count"]
        );
        feed(
            &mut agg,
            &set,
            &[
                r#"{"timestamp": 10.5, "level": "INFO"}"#,
                r#"{"timestamp": 16.0, "level": "ERROR"}"#,
                r#"{"timestamp": 29.999, "level": "INFO"}"#,
                r#"{"timestamp": 30.0, "level": "WARN"}"#,
                r#"{"timestamp": 31.0, "level": "TRACE"}"#,
            ],
        );
        let rows = agg.take_window_rows();
        let got: Vec<(Millis, Millis, Vec<f64>)> = rows
            .iter()
            .map(|r| (r.start, r.end, r.values.to_vec()))
            .collect();
        assert_eq!(
            got,
            [
                (-15_000, 15_000, vec![0.0, 1.0, 0.0, 0.0]),
                (0, 30_000, vec![0.0, 2.0, 0.0, 1.0]),
                (15_000, 45_000, vec![0.0, 1.0, 1.0, 1.0]),
                (30_000, 60_000, vec![0.0, 0.0, 1.0, 0.0]),
            ]
        );
        assert!(
            agg.take_window_rows().is_empty(),
            "a commit starts a new batch"
        );
    }

    #[test]
    fn grouped_measures_with_min_max_avg() {
        let config = AggregationConfig {
            name: "sales".into(),
            topic: "cars".into(),
            table: None,
            time_field: "ts".into(),
            time_format: TimeFormat::EpochMillis,
            window: HumanDuration::from_secs(60),
            slide: None,
            allowed_lateness: HumanDuration::default(),
            group_by: vec!["make".into()],
            pivot: None,
            measures: vec![
                Measure::Count,
                Measure::Min("price".into()),
                Measure::Max("price".into()),
                Measure::Avg("price".into()),
            ],
            late_table: None,
        };
        let mut set = FieldSet::default();
        let mut agg = Aggregator::new(&config, &mut set);
        let cols: Vec<&str> = agg
            .table
            .measure_columns
            .iter()
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(cols, ["event_count", "price_min", "price_max", "price_sum"]);
        assert_eq!(
            agg.table.avg_columns,
            [("price_avg".into(), "price_sum".into(), "event_count".into())]
        );
        feed(
            &mut agg,
            &set,
            &[
                r#"{"ts": 1000, "make": "VW", "price": 10}"#,
                r#"{"ts": 2000, "make": "VW", "price": 30.5}"#,
                r#"{"ts": 3000, "make": "BMW", "price": 50}"#,
            ],
        );
        let rows = agg.take_window_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].group, ["BMW"]);
        assert_eq!(rows[0].values.to_vec(), [1.0, 50.0, 50.0, 50.0]);
        assert_eq!(rows[1].group, ["VW"]);
        assert_eq!(rows[1].values.to_vec(), [2.0, 10.0, 30.5, 40.5]);
    }

    #[test]
    fn non_numeric_measure_and_non_string_pivot_are_rejected() {
        let mut set = FieldSet::default();
        let mut agg = Aggregator::new(&AggregationConfig::seed_log_data(), &mut set);
        let f = decode(br#"{"timestamp": 1, "level": 3}"#, &set, 4096).unwrap();
        let e = agg.prepare(&f, &set).unwrap_err();
        assert_eq!(e.reason, RejectReason::WrongType);
        assert!(
            e.message
                .contains("field `level`: expected a string, got an integer"),
            "{}",
            e.message
        );
    }
}
