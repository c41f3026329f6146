//! The serving store: MariaDB (production) or SQLite (embedded demo) via
//! sqlx. It creates the processor's bookkeeping tables (sqlx migrations) and
//! the configured output tables, loads a partition's stored offset and
//! watermarks on assignment, and writes one [`CommitBatch`] as one
//! transaction: fenced offset updates first, then watermarks, additive
//! window upserts, record upserts and late events.
//!
//! SQL is planned here as plain [`Statement`]s for a [`Dialect`]; the
//! driver modules only execute them.

mod mysql;
mod sqlite;

use std::fmt::Write as _;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use chrono::NaiveDateTime;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

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

/// A connected store.
#[derive(Debug, Clone)]
pub enum Store {
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

/// Why a commit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The offsets table no longer holds what this consumer expected: another
    /// consumer owns the partition now. Nothing was written.
    #[error("partition {topic}[{partition}] is fenced: the store no longer holds next_offset {expected:?} (another consumer took it over)")]
    Fenced {
        topic: String,
        partition: i32,
        expected: Option<i64>,
    },
    /// The database is unreachable, restarting, or a transaction deadlocked:
    /// retry the same batch after a back-off.
    #[error("database unavailable: {0}")]
    Transient(#[source] sqlx::Error),
    /// A bug or a schema that does not match the config: do not retry.
    #[error("database rejected the commit: {0}")]
    Fatal(#[source] sqlx::Error),
}

/// What a statement's outcome must be for the transaction to go on.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    None,
    /// Fenced `UPDATE`: exactly one row must change.
    FenceUpdate {
        topic: String,
        partition: i32,
        expected: i64,
    },
    /// First offset row of a partition: a duplicate key means fenced.
    FenceInsert {
        topic: String,
        partition: i32,
    },
}

impl Check {
    /// What one statement's result means for its commit: fine, fenced (this
    /// consumer lost the partition), or failed as `classify` says. The
    /// drivers differ only in how they recognise a duplicate key and
    /// classify errors.
    pub(crate) fn outcome(
        &self,
        result: Result<u64, sqlx::Error>,
        is_duplicate_key: fn(&sqlx::Error) -> bool,
        classify: fn(sqlx::Error) -> CommitError,
    ) -> Result<(), CommitError> {
        match (self, result) {
            (
                Check::FenceUpdate {
                    topic,
                    partition,
                    expected,
                },
                Ok(rows),
            ) if rows != 1 => Err(CommitError::Fenced {
                topic: topic.clone(),
                partition: *partition,
                expected: Some(*expected),
            }),
            (Check::FenceInsert { topic, partition }, Err(e)) if is_duplicate_key(&e) => {
                Err(CommitError::Fenced {
                    topic: topic.clone(),
                    partition: *partition,
                    expected: None,
                })
            }
            (_, Ok(_)) => Ok(()),
            (_, Err(e)) => Err(classify(e)),
        }
    }
}

/// One planned SQL statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
    pub check: Check,
}

/// Rows written by one commit, per table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitSummary {
    pub rows: Vec<(String, u64)>,
}

/// Most bound parameters in one statement (SQLite allows 32766).
const MAX_PARAMS: usize = 30_000;

impl Dialect {
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

/// `CREATE TABLE IF NOT EXISTS` for every output table, and the columns
/// each must have.
/// `CREATE TABLE IF NOT EXISTS` for `name` with the given column definitions.
fn create_table(d: Dialect, name: &str, cols: &[String]) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n  {}\n){}",
        d.quote(name),
        cols.join(",\n  "),
        d.table_suffix()
    )
}

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

/// The statements of one commit, in order: fences, watermarks, windows,
/// records, late events.
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
                check: Check::FenceUpdate { topic: o.topic.clone(), partition: o.partition, expected },
            }),
            None => out.push(Statement {
                sql: "INSERT INTO logpipe_offsets (group_id, topic, kafka_partition, next_offset) VALUES (?, ?, ?, ?)".into(),
                params: vec![str_(group_id), str_(&o.topic), SqlValue::Int(o.partition.into()), SqlValue::Int(o.next)],
                check: Check::FenceInsert { topic: o.topic.clone(), partition: o.partition },
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
            check: Check::None,
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
                check: Check::None,
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
            check: Check::None,
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
            check: Check::None,
        });
    }
}

/// What the store holds for one partition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredPartition {
    pub next_offset: Option<i64>,
    /// (aggregation, max event time)
    pub max_event_times: Vec<(String, Millis)>,
}

/// One row of the seed's `log_data` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelWindow {
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    pub debug: i64,
    pub info: i64,
    pub warn: i64,
    pub error: i64,
}

impl Store {
    /// Connect to `url` (`mysql://…` or `sqlite://…`), failing at once with
    /// a clear error when the server refuses. A missing MariaDB database or
    /// SQLite file is created.
    pub async fn connect(url: &str, password: Option<&str>) -> anyhow::Result<Store> {
        if url.starts_with("sqlite:") {
            sqlite::connect(url).await.map(Store::Sqlite)
        } else {
            mysql::connect(url, password).await.map(Store::MySql)
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Store::MySql(_) => Dialect::MySql,
            Store::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Run the bookkeeping migrations and create the output tables; an
    /// existing table lacking a configured column is an error naming it.
    pub async fn prepare(&self, schema: &Schema) -> anyhow::Result<()> {
        match self {
            Store::MySql(p) => Migrator::new(mysql::migrator()).await?.run(p).await,
            Store::Sqlite(p) => Migrator::new(sqlite::migrator()).await?.run(p).await,
        }
        .context("cannot apply the processor's migrations (logpipe_offsets, logpipe_watermarks)")?;
        for (table, ddl, columns) in plan_tables(self.dialect(), schema) {
            let existing = match self {
                Store::MySql(p) => {
                    sqlx::query(&ddl)
                        .execute(p)
                        .await
                        .with_context(|| format!("cannot create table {table}"))?;
                    mysql::columns(p, &table).await?
                }
                Store::Sqlite(p) => {
                    sqlx::query(&ddl)
                        .execute(p)
                        .await
                        .with_context(|| format!("cannot create table {table}"))?;
                    sqlite::columns(p, &table).await?
                }
            };
            let missing: Vec<&String> = columns
                .iter()
                .filter(|c| !existing.iter().any(|e| e.eq_ignore_ascii_case(c)))
                .collect();
            if !missing.is_empty() {
                anyhow::bail!(
                    "table `{table}` already exists without column(s) {missing:?} that the [process] config needs; \
                     add them (ALTER TABLE), or name another output table"
                );
            }
        }
        Ok(())
    }

    /// Connect to `url` and [`Store::prepare`] it, waiting with jittered
    /// back-off while the server is unreachable (each attempt logged; the
    /// `waiting` callback runs before each wait, e.g. to tell systemd).
    /// Returns at once with an error naming the fix when retrying cannot
    /// help (login refused, a missing privilege, a migration that does not
    /// apply), and `Ok(None)` if `stop` becomes true while waiting.
    pub async fn open(
        url: &str,
        password: Option<&str>,
        schema: &Schema,
        stop: impl Fn() -> bool,
        mut waiting: impl FnMut(&anyhow::Error, std::time::Duration),
    ) -> anyhow::Result<Option<Store>> {
        let mut backoff = std::time::Duration::from_millis(500);
        for attempt in 1u64.. {
            let opened = async {
                let store = Store::connect(url, password).await?;
                if let Err(e) = store.prepare(schema).await {
                    store.close().await;
                    return Err(e);
                }
                anyhow::Ok(store)
            }
            .await;
            let e = match opened {
                Ok(store) => {
                    if attempt > 1 {
                        tracing::info!(attempt, "the store is reachable and prepared");
                    }
                    return Ok(Some(store));
                }
                Err(e) => e,
            };
            let sql = e.chain().find_map(|c| c.downcast_ref::<sqlx::Error>());
            let transient = sql.is_some_and(|s| {
                if url.starts_with("sqlite:") {
                    sqlite::is_transient(s)
                } else {
                    mysql::is_transient(s)
                }
            });
            if !transient {
                let fix = sql.and_then(mysql::fix_for).unwrap_or(
                    "retrying cannot fix this: correct the database, its tables or process.database_url and start again",
                );
                return Err(e.context(format!("cannot open the store: {fix}")));
            }
            let wait = crate::committer::jittered(backoff);
            tracing::warn!(
                attempt,
                error = format!("{e:#}"),
                retry_in_ms = wait.as_millis() as u64,
                "the store is not reachable yet; waiting before READY"
            );
            ::metrics::counter!(crate::metrics::STORE_ERRORS).increment(1);
            ::metrics::gauge!(crate::metrics::STORE_AVAILABLE).set(0.0);
            waiting(&e, wait);
            let until = tokio::time::Instant::now() + wait;
            while tokio::time::Instant::now() < until {
                if stop() {
                    return Ok(None);
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
        }
        unreachable!("the attempts never run out")
    }

    /// Whether `e` from this store is worth a retry (server down,
    /// restarting, deadlock) or not (missing table or privilege, a bug):
    /// [`CommitError::Transient`] or [`CommitError::Fatal`].
    pub fn classify(&self, e: sqlx::Error) -> CommitError {
        match self {
            Store::MySql(_) => mysql::classify(e),
            Store::Sqlite(_) => sqlite::classify(e),
        }
    }

    /// The stored next offset and watermarks of one partition.
    pub async fn load_partition(
        &self,
        group_id: &str,
        topic: &str,
        partition: i32,
    ) -> Result<StoredPartition, sqlx::Error> {
        // The same SQL on either pool type (as with `bind_values!`).
        macro_rules! load {
            ($pool:expr) => {{
                let next_offset: Option<i64> = sqlx::query_scalar(
                    "SELECT next_offset FROM logpipe_offsets WHERE group_id = ? AND topic = ? AND kafka_partition = ?",
                )
                .bind(group_id)
                .bind(topic)
                .bind(partition)
                .fetch_optional($pool)
                .await?;
                let max_event_times: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT aggregation, max_event_time_ms FROM logpipe_watermarks WHERE group_id = ? AND topic = ? AND kafka_partition = ?",
                )
                .bind(group_id)
                .bind(topic)
                .bind(partition)
                .fetch_all($pool)
                .await?;
                Ok(StoredPartition { next_offset, max_event_times })
            }};
        }
        match self {
            Store::MySql(p) => load!(p),
            Store::Sqlite(p) => load!(p),
        }
    }

    /// Write `batch` in one transaction.
    pub async fn commit(
        &self,
        group_id: &str,
        schema: &Schema,
        batch: &CommitBatch,
    ) -> Result<CommitSummary, CommitError> {
        let (statements, summary) = plan_commit(self.dialect(), group_id, schema, batch);
        match self {
            Store::MySql(p) => mysql::execute(p, &statements).await?,
            Store::Sqlite(p) => sqlite::execute(p, &statements).await?,
        }
        Ok(summary)
    }

    /// The latest `limit` rows of the seed's `log_data` table, newest first.
    pub async fn latest_windows(&self, limit: u32) -> anyhow::Result<Vec<LevelWindow>> {
        let sql = format!(
            "SELECT window_start, window_end, debug_count, info_count, warn_count, error_count FROM {} ORDER BY window_start DESC LIMIT {limit}",
            self.dialect().quote("log_data")
        );
        match self {
            Store::MySql(p) => mysql::level_windows(p, &sql).await,
            Store::Sqlite(p) => sqlite::level_windows(p, &sql).await,
        }
        .context("cannot read log_data")
    }

    pub async fn close(&self) {
        match self {
            Store::MySql(p) => p.close().await,
            Store::Sqlite(p) => p.close().await,
        }
    }
}

/// The latest `limit` windows of the seed's `log_data` table in the store
/// at `database_url`, newest first (for `logpipe demo`).
pub async fn latest_windows(database_url: &str, limit: u32) -> anyhow::Result<Vec<LevelWindow>> {
    let store = Store::connect(database_url, None).await?;
    let rows = store.latest_windows(limit).await;
    store.close().await;
    rows
}

/// The processor's bookkeeping migrations, compiled into the binary:
/// (version, description, SQL).
#[derive(Debug)]
pub struct EmbeddedMigrations(&'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    (*sql).into(),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// Bind [`SqlValue`]s to a sqlx query of either driver.
macro_rules! bind_values {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for v in $values {
            q = match v {
                SqlValue::Null => q.bind(None::<i64>),
                SqlValue::Str(s) => q.bind(s.as_str()),
                SqlValue::Int(i) => q.bind(*i),
                SqlValue::Float(f) => q.bind(*f),
                SqlValue::Bool(b) => q.bind(*b),
                SqlValue::DateTime(d) => q.bind(*d),
            };
        }
        q
    }};
}
pub(crate) use bind_values;

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
