//! Record tables (`[[process.table]]`): each event becomes one row, upserted
//! by its key; within a batch the last event per key wins, and replaying a
//! batch writes the same rows again (idempotent).

use chrono::NaiveDateTime;
use rustc_hash::FxHashMap;

use crate::aggregate::MAX_GROUP_VALUE;
use crate::config::{ColumnType, RecordTableConfig, TimeFormat};
use crate::decode::{FieldSet, FieldValue, Fields, RejectReason, Rejected};
use crate::event_time;

/// Longest value of a non-key `string` column (VARCHAR(255)).
pub const MAX_STRING: usize = 255;

/// A value bound into an SQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(NaiveDateTime),
}

/// Column layout of a record table.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordTable {
    pub name: String,
    /// (name, type, is key)
    pub columns: Vec<(String, ColumnType, bool)>,
}

#[derive(Debug)]
struct ColumnSlot {
    slot: usize,
    kind: ColumnType,
    required: bool,
    key: bool,
}

/// A compiled record table with the current batch's rows.
#[derive(Debug)]
pub struct RecordWriter {
    pub table: RecordTable,
    columns: Vec<ColumnSlot>,
    time_format: TimeFormat,
    rows: FxHashMap<Vec<SqlValue>, Vec<SqlValue>>,
    prepared: Vec<SqlValue>,
}

impl RecordWriter {
    pub fn new(config: &RecordTableConfig, fields: &mut FieldSet) -> Self {
        let columns: Vec<ColumnSlot> = config
            .columns
            .iter()
            .map(|c| {
                let key = config.key.contains(&c.name);
                ColumnSlot {
                    slot: fields.slot(c.field_name()),
                    kind: c.kind,
                    required: c.required || key,
                    key,
                }
            })
            .collect();
        Self {
            table: RecordTable {
                name: config.table.clone(),
                columns: config
                    .columns
                    .iter()
                    .zip(&columns)
                    .map(|(c, s)| (c.name.clone(), c.kind, s.key))
                    .collect(),
            },
            columns,
            time_format: config.time_format,
            rows: FxHashMap::default(),
            prepared: Vec::new(),
        }
    }

    /// Convert `ev` into this table's row (kept until [`RecordWriter::apply`]).
    pub fn prepare(&mut self, ev: &Fields<'_>, set: &FieldSet) -> Result<(), Rejected> {
        self.prepared.clear();
        for c in &self.columns {
            let name = set.name(c.slot);
            let value = match ev.get(c.slot) {
                None if c.required => return Err(ev.require(c.slot, set).unwrap_err()),
                None => SqlValue::Null,
                Some(v) => convert(v, c.kind, c.key, self.time_format, name)?,
            };
            self.prepared.push(value);
        }
        Ok(())
    }

    /// Keep the prepared row, replacing an earlier one with the same key.
    pub fn apply(&mut self) {
        let row = std::mem::take(&mut self.prepared);
        let key = self
            .columns
            .iter()
            .zip(&row)
            .filter(|(c, _)| c.key)
            .map(|(_, v)| v.clone())
            .collect();
        self.rows.insert(key, row);
    }

    pub fn has_pending(&self) -> bool {
        !self.rows.is_empty()
    }

    pub fn discard(&mut self) {
        self.rows.clear();
    }

    /// The batch's rows in key order; starts a new batch.
    pub fn take_rows(&mut self) -> Vec<Vec<SqlValue>> {
        let mut rows: Vec<(Vec<SqlValue>, Vec<SqlValue>)> = self.rows.drain().collect();
        // A fixed order (the same keys lock their rows in the same order in
        // every processor), compared value by value.
        rows.sort_by(|a, b| {
            a.0.iter()
                .zip(&b.0)
                .map(|(x, y)| x.order(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        rows.into_iter().map(|(_, r)| r).collect()
    }
}

impl SqlValue {
    /// A total order for sorting keys: by variant, then by value (floats
    /// by `total_cmp`).
    fn order(&self, other: &SqlValue) -> std::cmp::Ordering {
        use SqlValue::*;
        let rank = |v: &SqlValue| match v {
            Null => 0,
            Str(_) => 1,
            Int(_) => 2,
            Float(_) => 3,
            Bool(_) => 4,
            DateTime(_) => 5,
        };
        match (self, other) {
            (Str(a), Str(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (DateTime(a), DateTime(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

impl Eq for SqlValue {}
impl std::hash::Hash for SqlValue {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            SqlValue::Null => {}
            SqlValue::Str(s) => s.hash(h),
            SqlValue::Int(i) => i.hash(h),
            SqlValue::Float(f) => f.to_bits().hash(h),
            SqlValue::Bool(b) => b.hash(h),
            SqlValue::DateTime(d) => d.hash(h),
        }
    }
}

fn convert(
    v: &FieldValue<'_>,
    kind: ColumnType,
    key: bool,
    format: TimeFormat,
    name: &str,
) -> Result<SqlValue, Rejected> {
    let wrong = |expected: &str| {
        Rejected::new(
            RejectReason::WrongType,
            format!("field `{name}`: expected {expected}, got {}", v.type_name()),
        )
    };
    Ok(match (kind, v) {
        (ColumnType::String | ColumnType::Text, FieldValue::Str(s)) => {
            let max = if kind == ColumnType::Text {
                usize::MAX
            } else if key {
                MAX_GROUP_VALUE
            } else {
                MAX_STRING
            };
            if max != usize::MAX && s.chars().count() > max {
                return Err(Rejected::new(
                    RejectReason::WrongType,
                    format!("field `{name}`: string longer than {max} characters"),
                ));
            }
            SqlValue::Str(s.to_string())
        }
        (ColumnType::String | ColumnType::Text, _) => return Err(wrong("a string")),
        (ColumnType::Int, FieldValue::Int(i)) => SqlValue::Int(*i),
        (ColumnType::Int, FieldValue::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            SqlValue::Int(*f as i64)
        }
        (ColumnType::Int, _) => return Err(wrong("an integer")),
        (ColumnType::Float, FieldValue::Int(i)) => SqlValue::Float(*i as f64),
        (ColumnType::Float, FieldValue::Float(f)) => SqlValue::Float(*f),
        (ColumnType::Float, _) => return Err(wrong("a number")),
        (ColumnType::Bool, FieldValue::Bool(b)) => SqlValue::Bool(*b),
        (ColumnType::Bool, _) => return Err(wrong("a boolean")),
        (ColumnType::Timestamp, v) => {
            SqlValue::DateTime(event_time::to_datetime(event_time::parse(v, format, name)?))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ColumnConfig;
    use crate::decode::decode;

    fn users() -> RecordTableConfig {
        let col = |name: &str, kind| ColumnConfig {
            name: name.into(),
            field: None,
            kind,
            required: false,
        };
        RecordTableConfig {
            topic: "user-profiles".into(),
            table: "user_profiles".into(),
            key: vec!["user_id".into()],
            columns: vec![
                col("user_id", ColumnType::String),
                col("age", ColumnType::Int),
                col("signup", ColumnType::Timestamp),
            ],
            time_format: TimeFormat::EpochSeconds,
        }
    }

    #[test]
    fn last_event_per_key_wins_and_optional_fields_are_null() {
        let mut set = FieldSet::default();
        let mut w = RecordWriter::new(&users(), &mut set);
        for e in [
            r#"{"user_id": "u1", "age": 30}"#,
            r#"{"user_id": "u2", "age": 41, "signup": 60}"#,
            r#"{"user_id": "u1", "age": 31}"#,
        ] {
            let f = decode(e.as_bytes(), &set, 4096).unwrap();
            w.prepare(&f, &set).unwrap();
            w.apply();
        }
        let rows = w.take_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            [
                SqlValue::Str("u1".into()),
                SqlValue::Int(31),
                SqlValue::Null
            ]
        );
        assert_eq!(
            rows[1][2],
            SqlValue::DateTime(event_time::to_datetime(60_000))
        );
    }

    #[test]
    fn rows_come_in_key_order_by_value() {
        use SqlValue::*;
        let mut keys = vec![
            Int(10),
            Null,
            Int(9),
            Str("b".into()),
            Float(-0.5),
            Str("a".into()),
        ];
        keys.sort_by(|a, b| a.order(b));
        assert_eq!(
            keys,
            [
                Null,
                Str("a".into()),
                Str("b".into()),
                Int(9),
                Int(10),
                Float(-0.5)
            ],
            "numbers by value (the Debug text put 10 before 9)"
        );
    }

    #[test]
    fn missing_key_and_wrong_type_are_rejected() {
        let mut set = FieldSet::default();
        let mut w = RecordWriter::new(&users(), &mut set);
        let f = decode(br#"{"age": 3}"#, &set, 4096).unwrap();
        assert_eq!(
            w.prepare(&f, &set).unwrap_err().reason,
            RejectReason::MissingField
        );
        let f = decode(br#"{"user_id": "u", "age": "old"}"#, &set, 4096).unwrap();
        let e = w.prepare(&f, &set).unwrap_err();
        assert_eq!(e.reason, RejectReason::WrongType);
        assert!(
            e.message
                .contains("field `age`: expected an integer, got a string"),
            "{}",
            e.message
        );
    }
}
