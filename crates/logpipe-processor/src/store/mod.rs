//! The serving store at run time: MariaDB (production) or SQLite (embedded
//! demo) via sqlx. It applies the bookkeeping [`migrations`] and creates the
//! configured output tables, loads a partition's stored offset and
//! watermarks on assignment, and executes one [`CommitBatch`] as one
//! transaction, as [`plan`] spells it out in SQL.
//!
//! The two drivers share all of this code; `mysql.rs` and `sqlite.rs` hold
//! only what differs (connecting, error numbers, the column query).

mod migrations;
mod mysql;
mod plan;
mod sqlite;

use anyhow::Context;
use sqlx::migrate::Migrator;

use crate::event_time::Millis;
use crate::pipeline::{CommitBatch, Schema};
use crate::records::SqlValue;
use migrations::EmbeddedMigrations;
use plan::{plan_commit, plan_tables, Fence};
pub(crate) use plan::{CommitSummary, Dialect};

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

/// What the store holds for one partition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredPartition {
    pub next_offset: Option<i64>,
    /// (aggregation, max event time)
    pub max_event_times: Vec<(String, Millis)>,
}

/// Whether `e` is worth a retry (server down or restarting, a deadlock).
fn is_transient(d: Dialect, e: &sqlx::Error) -> bool {
    match d {
        Dialect::MySql => mysql::is_transient(e),
        Dialect::Sqlite => sqlite::is_transient(e),
    }
}

fn is_duplicate_key(d: Dialect, e: &sqlx::Error) -> bool {
    match d {
        Dialect::MySql => mysql::is_duplicate_key(e),
        Dialect::Sqlite => sqlite::is_duplicate_key(e),
    }
}

/// The same code on whichever pool a [`Store`] holds: sqlx's query API is
/// generic over the database, but spelling out its bounds costs more than
/// writing the body once for both arms.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::MySql($pool) => $body,
            Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

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

impl Store {
    /// Connect to `url` (`mysql://…` or `sqlite://…`), failing at once with
    /// a clear error when the server refuses. A missing MariaDB database or
    /// SQLite file is created.
    pub async fn connect(url: &str, password: Option<&str>) -> anyhow::Result<Store> {
        match Dialect::of_url(url) {
            Dialect::Sqlite => sqlite::connect(url).await.map(Store::Sqlite),
            Dialect::MySql => mysql::connect(url, password).await.map(Store::MySql),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Store::MySql(_) => Dialect::MySql,
            Store::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Run the bookkeeping migrations and create the output tables; an
    /// existing table lacking a configured column is an error naming it.
    pub async fn prepare(&self, schema: &Schema) -> anyhow::Result<()> {
        let migrations = EmbeddedMigrations::of(self.dialect());
        with_pool!(self, p => Migrator::new(migrations).await?.run(p).await).context(
            "cannot apply the processor's migrations (logpipe_offsets, logpipe_watermarks, logpipe_event_counts)",
        )?;
        let columns_sql = match self {
            Store::MySql(_) => mysql::COLUMNS_SQL,
            Store::Sqlite(_) => sqlite::COLUMNS_SQL,
        };
        for (table, ddl, columns) in plan_tables(self.dialect(), schema) {
            let existing: Vec<String> = with_pool!(self, p => {
                sqlx::query(&ddl)
                    .execute(p)
                    .await
                    .with_context(|| format!("cannot create table {table}"))?;
                sqlx::query_scalar(columns_sql)
                    .bind(&table)
                    .fetch_all(p)
                    .await
                    .with_context(|| format!("cannot read the columns of {table}"))?
            });
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
            let dialect = Dialect::of_url(url);
            if !sql.is_some_and(|s| is_transient(dialect, s)) {
                let fix = sql
                    .filter(|_| dialect == Dialect::MySql)
                    .and_then(mysql::fix_for)
                    .unwrap_or(
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
        if is_transient(self.dialect(), &e) {
            CommitError::Transient(e)
        } else {
            CommitError::Fatal(e)
        }
    }

    /// What one statement's result means for its commit: fine, fenced
    /// (this consumer lost the partition), or failed as [`Store::classify`]
    /// says.
    fn outcome(
        &self,
        fence: Option<&Fence>,
        result: Result<u64, sqlx::Error>,
    ) -> Result<(), CommitError> {
        match (fence, result) {
            (
                Some(Fence::Update {
                    topic,
                    partition,
                    expected,
                }),
                Ok(rows),
            ) if rows != 1 => Err(CommitError::Fenced {
                topic: topic.clone(),
                partition: *partition,
                expected: Some(*expected),
            }),
            (Some(Fence::Insert { topic, partition }), Err(e))
                if is_duplicate_key(self.dialect(), &e) =>
            {
                Err(CommitError::Fenced {
                    topic: topic.clone(),
                    partition: *partition,
                    expected: None,
                })
            }
            (_, Ok(_)) => Ok(()),
            (_, Err(e)) => Err(self.classify(e)),
        }
    }

    /// The stored next offset and watermarks of one partition.
    pub async fn load_partition(
        &self,
        group_id: &str,
        topic: &str,
        partition: i32,
    ) -> Result<StoredPartition, sqlx::Error> {
        with_pool!(self, p => {
            let next_offset: Option<i64> = sqlx::query_scalar(
                "SELECT next_offset FROM logpipe_offsets WHERE group_id = ? AND topic = ? AND kafka_partition = ?",
            )
            .bind(group_id)
            .bind(topic)
            .bind(partition)
            .fetch_optional(p)
            .await?;
            let max_event_times: Vec<(String, i64)> = sqlx::query_as(
                "SELECT aggregation, max_event_time_ms FROM logpipe_watermarks WHERE group_id = ? AND topic = ? AND kafka_partition = ?",
            )
            .bind(group_id)
            .bind(topic)
            .bind(partition)
            .fetch_all(p)
            .await?;
            Ok(StoredPartition { next_offset, max_event_times })
        })
    }

    /// Write `batch` in one transaction.
    pub async fn commit(
        &self,
        group_id: &str,
        schema: &Schema,
        batch: &CommitBatch,
    ) -> Result<CommitSummary, CommitError> {
        let (statements, summary) = plan_commit(self.dialect(), group_id, schema, batch);
        with_pool!(self, p => {
            let mut tx = p.begin().await.map_err(|e| self.classify(e))?;
            for s in &statements {
                let result = bind_values!(sqlx::query(&s.sql), &s.params)
                    .execute(&mut *tx)
                    .await;
                self.outcome(s.fence.as_ref(), result.map(|r| r.rows_affected()))?;
            }
            tx.commit().await.map_err(|e| self.classify(e))?;
        });
        Ok(summary)
    }

    pub async fn close(&self) {
        with_pool!(self, p => p.close().await)
    }
}
