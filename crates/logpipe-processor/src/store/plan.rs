//! SQL planning: everything the store writes, as plain [`Statement`]s for a
//! [`Dialect`] — the output tables' DDL ([`plan_tables`]) and one commit's
//! statements in order ([`plan_commit`]: fenced offsets, watermarks,
//! additive window upserts, record upserts, late events). No I/O here; the
//! runtime [`super::Store`] executes what this plans.

use std::fmt::Write as _;

use crate::aggregate::{AggregateTable, MeasureKind, WindowRow};
use crate::config::ColumnType;
use crate::event_time::{self, Millis};
use crate::pipeline::{CommitBatch, Schema};
use crate::records::{RecordTable, SqlValue};

/// SQL flavour of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MySql,
    Sqlite,
}

/// The fence a statement carries: how its result tells that this consumer
/// no longer owns the partition (another one took it over in a rebalance).
#[derive(Debug, Clone, PartialEq)]
pub enum Fence {
    /// `UPDATE … WHERE next_offset = expected`: exactly one row must change.
    Update {
        topic: String,
        partition: i32,
        expected: i64,
    },
    /// The first offset row of a partition: a duplicate key means fenced.
    Insert { topic: String, partition: i32 },
}

/// One planned SQL statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
    /// `None` for statements whose result only needs to be success.
    pub fence: Option<Fence>,
}

/// Rows written by one commit, per table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitSummary {
    pub rows: Vec<(String, u64)>,
}

/// Most bound parameters in one statement (SQLite allows 32766).
const MAX_PARAMS: usize = 30_000;

impl Dialect {
    /// The dialect of a `database_url`: `sqlite:…`, else MariaDB/MySQL.
    pub fn of_url(url: &str) -> Dialect {
        if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::MySql
        }
    }

    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{ident}`"),
            Dialect::Sqlite => format!("\"{ident}\""),
        }
    }

    fn datetime(self) -> &'static str {
        match self {
            Dialect::MySql => "DATETIME(3)",
            Dialect::Sqlite => "TEXT",
        }
    }

    fn bigint(self) -> &'static str {
        match self {
            Dialect::MySql => "BIGINT",
            Dialect::Sqlite => "INTEGER",
        }
    }

    fn double(self) -> &'static str {
        match self {
            Dialect::MySql => "DOUBLE",
            Dialect::Sqlite => "REAL",
        }
    }

    fn varchar(self, n: usize) -> String {
        match self {
            Dialect::MySql => format!("VARCHAR({n})"),
            Dialect::Sqlite => "TEXT".into(),
        }
    }

    fn column_type(self, kind: ColumnType, key: bool) -> String {
        match kind {
            ColumnType::String => self.varchar(if key { 190 } else { 255 }),
            ColumnType::Text => "TEXT".into(),
            ColumnType::Int => self.bigint().into(),
            ColumnType::Float => self.double().into(),
            ColumnType::Bool => match self {
                Dialect::MySql => "BOOLEAN".into(),
                Dialect::Sqlite => "INTEGER".into(),
            },
            ColumnType::Timestamp => self.datetime().into(),
        }
    }

    fn table_suffix(self) -> &'static str {
        match self {
            Dialect::MySql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            Dialect::Sqlite => "",
        }
    }

    /// `INSERT … VALUES (…),(…)` with the dialect's upsert clause.
    fn upsert(
        self,
        table: &str,
        columns: &[String],
        key: &[String],
        updates: &[(String, Update)],
        rows: usize,
    ) -> String {
        let q = |c: &str| self.quote(c);
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            q(table),
            columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
        );
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        type ColumnRef<'a> = Box<dyn Fn(&str) -> String + 'a>;
        let (old, new): (ColumnRef, ColumnRef) = match self {
            Dialect::MySql => (
                Box::new(|c| q(c)),
                Box::new(|c| format!("VALUES({})", q(c))),
            ),
            Dialect::Sqlite => (
                Box::new(|c| format!("{}.{}", q(table), q(c))),
                Box::new(|c| format!("excluded.{}", q(c))),
            ),
        };
        let (least, greatest) = match self {
            Dialect::MySql => ("LEAST", "GREATEST"),
            Dialect::Sqlite => ("min", "max"),
        };
        let sets: Vec<String> = updates
            .iter()
            .map(|(c, u)| {
                let (o, n) = (old(c), new(c));
                let value = match u {
                    Update::Add => format!("{o} + {n}"),
                    Update::Least => format!("{least}(COALESCE({o}, {n}), COALESCE({n}, {o}))"),
                    Update::Greatest => {
                        format!("{greatest}(COALESCE({o}, {n}), COALESCE({n}, {o}))")
                    }
                    Update::Replace => n,
                };
                format!("{} = {value}", q(c))
            })
            .collect();
        match (self, sets.is_empty()) {
            (Dialect::MySql, false) => write!(sql, " ON DUPLICATE KEY UPDATE {}", sets.join(", ")),
            (Dialect::MySql, true) => write!(sql, " ON DUPLICATE KEY UPDATE {0} = {0}", q(&key[0])),
            (Dialect::Sqlite, false) => write!(
                sql,
                " ON CONFLICT ({}) DO UPDATE SET {}",
                key.iter().map(|c| q(c)).collect::<Vec<_>>().join(", "),
                sets.join(", ")
            ),
            (Dialect::Sqlite, true) => write!(sql, " ON CONFLICT DO NOTHING"),
        }
        .expect("write to String");
        sql
    }

    fn insert_ignore(self) -> &'static str {
        match self {
            Dialect::MySql => "INSERT IGNORE INTO",
            Dialect::Sqlite => "INSERT OR IGNORE INTO",
        }
    }
}

/// How an upsert merges a column into an existing row.
#[derive(Debug, Clone, Copy)]
enum Update {
    Add,
    Least,
    Greatest,
    Replace,
}

/// `CREATE TABLE IF NOT EXISTS` for `name` with the given column definitions.
fn create_table(d: Dialect, name: &str, cols: &[String]) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n){}",
        d.quote(name),
        cols.join(",\n  "),
        d.table_suffix()
    )
}

/// Every output table: (name, `CREATE TABLE IF NOT EXISTS`, the columns it
/// must have).
pub fn plan_tables(d: Dialect, schema: &Schema) -> Vec<(String, String, Vec<String>)> {
    let q = |c: &str| d.quote(c);
    let mut out = Vec::new();
    for t in &schema.aggregates {
        let mut cols = vec![
            format!("{} {} NOT NULL", q("window_start"), d.datetime()),
            format!("{} {} NOT NULL", q("window_end"), d.datetime()),
        ];
        let mut names = vec!["window_start".to_string(), "window_end".to_string()];
        for g in &t.group_columns {
            cols.push(format!("{} {} NOT NULL", q(g), d.varchar(190)));
            names.push(g.clone());
        }
        for (c, kind) in &t.measure_columns {
            cols.push(match kind {
                MeasureKind::Count => format!("{} {} NOT NULL DEFAULT 0", q(c), d.bigint()),
                MeasureKind::Sum => format!("{} {} NOT NULL DEFAULT 0", q(c), d.double()),
                MeasureKind::Min | MeasureKind::Max => format!("{} {} NULL", q(c), d.double()),
            });
            names.push(c.clone());
        }
        for (c, sum, count) in &t.avg_columns {
            let expr = format!("{} / NULLIF({}, 0)", q(sum), q(count));
            cols.push(match d {
                Dialect::MySql => format!("{} DOUBLE AS ({expr}) VIRTUAL", q(c)),
                Dialect::Sqlite => format!("{} REAL GENERATED ALWAYS AS ({expr}) VIRTUAL", q(c)),
            });
            names.push(c.clone());
        }
        let key: Vec<String> = names[..2 + t.group_columns.len()]
            .iter()
            .map(|c| q(c))
            .collect();
        cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        out.push((t.name.clone(), create_table(d, &t.name, &cols), names));
    }
    for late in schema.late_tables.iter().flatten() {
        let names = [
            "topic",
            "kafka_partition",
            "kafka_offset",
            "event_time",
            "watermark",
            "payload",
        ];
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {} {} NOT NULL,\n  {} INT NOT NULL,\n  {} {} NOT NULL,\n  {} {} NOT NULL,\n  {} {} NOT NULL,\n  {} TEXT NOT NULL,\n  PRIMARY KEY ({}, {}, {})\n){}",
            q(late),
            q("topic"),
            d.varchar(190),
            q("kafka_partition"),
            q("kafka_offset"),
            d.bigint(),
            q("event_time"),
            d.datetime(),
            q("watermark"),
            d.datetime(),
            q("payload"),
            q("topic"),
            q("kafka_partition"),
            q("kafka_offset"),
            d.table_suffix()
        );
        out.push((late.clone(), sql, names.map(String::from).to_vec()));
    }
    for t in &schema.records {
        let mut cols: Vec<String> = t
            .columns
            .iter()
            .map(|(c, kind, key)| {
                format!(
                    "{} {}{}",
                    q(c),
                    d.column_type(*kind, *key),
                    if *key { " NOT NULL" } else { " NULL" }
                )
            })
            .collect();
        let key: Vec<String> = t.columns.iter().filter(|c| c.2).map(|c| q(&c.0)).collect();
        cols.push(format!("PRIMARY KEY ({})", key.join(", ")));
        let names = t.columns.iter().map(|c| c.0.clone()).collect();
        out.push((t.name.clone(), create_table(d, &t.name, &cols), names));
    }
    out
}

fn dt(ms: Millis) -> SqlValue {
    SqlValue::DateTime(event_time::to_datetime(ms))
}

/// The statements of one commit, in order: fences, watermarks, events per
/// minute, windows, records, late events.
pub fn plan_commit(
    d: Dialect,
    group_id: &str,
    schema: &Schema,
    batch: &CommitBatch,
) -> (Vec<Statement>, CommitSummary) {
    let mut out = Vec::new();
    let mut summary = CommitSummary::default();
    let str_ = |s: &str| SqlValue::Str(s.to_owned());
    for o in &batch.offsets {
        match o.expected {
            Some(expected) => out.push(Statement {
                sql: "UPDATE logpipe_offsets SET next_offset = ? WHERE group_id = ? AND topic = ? AND kafka_partition = ? AND next_offset = ?".into(),
                params: vec![SqlValue::Int(o.next), str_(group_id), str_(&o.topic), SqlValue::Int(o.partition.into()), SqlValue::Int(expected)],
                fence: Some(Fence::Update { topic: o.topic.clone(), partition: o.partition, expected }),
            }),
            None => out.push(Statement {
                sql: "INSERT INTO logpipe_offsets (group_id, topic, kafka_partition, next_offset) VALUES (?, ?, ?, ?)".into(),
                params: vec![str_(group_id), str_(&o.topic), SqlValue::Int(o.partition.into()), SqlValue::Int(o.next)],
                fence: Some(Fence::Insert { topic: o.topic.clone(), partition: o.partition }),
            }),
        }
    }
    if !batch.watermarks.is_empty() {
        let cols = [
            "group_id",
            "aggregation",
            "topic",
            "kafka_partition",
            "max_event_time_ms",
        ]
        .map(String::from);
        let mut params = Vec::new();
        for w in &batch.watermarks {
            params.extend([
                str_(group_id),
                str_(&w.aggregation),
                str_(&w.topic),
                SqlValue::Int(w.partition.into()),
                SqlValue::Int(w.max_event_time),
            ]);
        }
        let sql = d.upsert(
            "logpipe_watermarks",
            &cols,
            &cols[..4],
            &[("max_event_time_ms".into(), Update::Greatest)],
            batch.watermarks.len(),
        );
        out.push(Statement {
            sql,
            params,
            fence: None,
        });
    }
    let cols = [
        "group_id",
        "topic",
        "minute_start",
        "events",
        "late",
        "rejected",
    ]
    .map(String::from);
    for chunk in batch.event_counts.chunks(MAX_PARAMS / cols.len()) {
        let sql = d.upsert(
            "logpipe_event_counts",
            &cols,
            &cols[..3],
            &[
                ("events".into(), Update::Add),
                ("late".into(), Update::Add),
                ("rejected".into(), Update::Add),
            ],
            chunk.len(),
        );
        let params = chunk
            .iter()
            .flat_map(|c| {
                [
                    str_(group_id),
                    str_(&c.topic),
                    SqlValue::Int(c.minute_start),
                    SqlValue::Int(c.events as i64),
                    SqlValue::Int(c.late as i64),
                    SqlValue::Int(c.rejected as i64),
                ]
            })
            .collect();
        out.push(Statement {
            sql,
            params,
            fence: None,
        });
    }
    for (i, rows) in &batch.aggregates {
        let t = &schema.aggregates[*i];
        plan_windows(d, t, rows, &mut out);
        summary.rows.push((t.name.clone(), rows.len() as u64));
    }
    for (i, rows) in &batch.records {
        let t = &schema.records[*i];
        plan_records(d, t, rows, &mut out);
        summary.rows.push((t.name.clone(), rows.len() as u64));
    }
    for (i, late) in &batch.late {
        let table = schema.late_tables[*i]
            .as_deref()
            .expect("late events only for aggregations with a late table");
        let per_row = 6;
        for chunk in late.chunks(MAX_PARAMS / per_row) {
            let mut sql = format!(
                "{} {} (topic, kafka_partition, kafka_offset, event_time, watermark, payload) VALUES ",
                d.insert_ignore(),
                d.quote(table)
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", "));
            let params = chunk
                .iter()
                .flat_map(|e| {
                    [
                        str_(&e.topic),
                        SqlValue::Int(e.partition.into()),
                        SqlValue::Int(e.offset),
                        dt(e.event_time),
                        dt(e.watermark),
                        SqlValue::Str(e.payload.clone()),
                    ]
                })
                .collect();
            out.push(Statement {
                sql,
                params,
                fence: None,
            });
        }
        summary.rows.push((table.to_owned(), late.len() as u64));
    }
    (out, summary)
}

fn plan_windows(d: Dialect, t: &AggregateTable, rows: &[WindowRow], out: &mut Vec<Statement>) {
    let mut columns = vec!["window_start".to_string(), "window_end".to_string()];
    columns.extend(t.group_columns.iter().cloned());
    let key = columns.clone();
    columns.extend(t.measure_columns.iter().map(|(c, _)| c.clone()));
    let updates: Vec<(String, Update)> = t
        .measure_columns
        .iter()
        .map(|(c, k)| {
            let u = match k {
                MeasureKind::Count | MeasureKind::Sum => Update::Add,
                MeasureKind::Min => Update::Least,
                MeasureKind::Max => Update::Greatest,
            };
            (c.clone(), u)
        })
        .collect();
    for chunk in rows.chunks(MAX_PARAMS / columns.len()) {
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        for r in chunk {
            params.push(dt(r.start));
            params.push(dt(r.end));
            params.extend(r.group.iter().map(|g| SqlValue::Str(g.clone())));
            for ((_, kind), v) in t.measure_columns.iter().zip(r.values.iter()) {
                params.push(match kind {
                    MeasureKind::Count => SqlValue::Int(*v as i64),
                    MeasureKind::Sum => SqlValue::Float(*v),
                    MeasureKind::Min | MeasureKind::Max if v.is_finite() => SqlValue::Float(*v),
                    MeasureKind::Min | MeasureKind::Max => SqlValue::Null,
                });
            }
        }
        let sql = d.upsert(&t.name, &columns, &key, &updates, chunk.len());
        out.push(Statement {
            sql,
            params,
            fence: None,
        });
    }
}

fn plan_records(d: Dialect, t: &RecordTable, rows: &[Vec<SqlValue>], out: &mut Vec<Statement>) {
    let columns: Vec<String> = t.columns.iter().map(|c| c.0.clone()).collect();
    let key: Vec<String> = t
        .columns
        .iter()
        .filter(|c| c.2)
        .map(|c| c.0.clone())
        .collect();
    let updates: Vec<(String, Update)> = t
        .columns
        .iter()
        .filter(|c| !c.2)
        .map(|c| (c.0.clone(), Update::Replace))
        .collect();
    for chunk in rows.chunks(MAX_PARAMS / columns.len()) {
        let params = chunk.iter().flatten().cloned().collect();
        let sql = d.upsert(&t.name, &columns, &key, &updates, chunk.len());
        out.push(Statement {
            sql,
            params,
            fence: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Pipeline;
    use crate::ProcessConfig;

    #[test]
    fn seed_table_has_the_seed_shape() {
        let schema = Pipeline::new(&ProcessConfig::default()).schema();
        let tables = plan_tables(Dialect::MySql, &schema);
        assert_eq!(tables[0].0, "log_data");
        assert_eq!(
            tables[0].2,
            [
                "window_start",
                "window_end",
                "debug_count",
                "info_count",
                "warn_count",
                "error_count"
            ]
        );
        assert!(
            tables[0]
                .1
                .contains("PRIMARY KEY (`window_start`, `window_end`)"),
            "{}",
            tables[0].1
        );
    }

    #[test]
    fn upserts_add_counts_and_merge_min_max() {
        let cols = ["window_start", "c", "m"].map(String::from);
        let sql = Dialect::MySql.upsert(
            "t",
            &cols,
            &cols[..1],
            &[("c".into(), Update::Add), ("m".into(), Update::Least)],
            2,
        );
        assert_eq!(
            sql,
            "INSERT INTO `t` (`window_start`, `c`, `m`) VALUES (?, ?, ?), (?, ?, ?) ON DUPLICATE KEY UPDATE `c` = `c` + VALUES(`c`), `m` = LEAST(COALESCE(`m`, VALUES(`m`)), COALESCE(VALUES(`m`), `m`))"
        );
        let sql = Dialect::Sqlite.upsert("t", &cols, &cols[..1], &[("c".into(), Update::Add)], 1);
        assert!(
            sql.ends_with(
                "ON CONFLICT (\"window_start\") DO UPDATE SET \"c\" = \"t\".\"c\" + excluded.\"c\""
            ),
            "{sql}"
        );
    }
}
