//! SQLite driver of the store (embedded demo): a file created when missing,
//! WAL mode, one writer; migrations and transactional execution of planned
//! statements.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDateTime;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use super::{bind_values, CommitError, EmbeddedMigrations, LevelWindow, Statement};
use crate::records::SqlValue;

pub fn migrator() -> EmbeddedMigrations {
    EmbeddedMigrations(&[(
        1,
        "processor bookkeeping",
        include_str!("../../migrations/sqlite/0001_bookkeeping.sql"),
    )])
}

pub async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid database_url \"{url}\""))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .with_context(|| format!("cannot open the SQLite database {url}"))
}

pub(super) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("5" | "6" | "261" | "517"))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

pub(super) fn classify(e: sqlx::Error) -> CommitError {
    if is_transient(&e) {
        CommitError::Transient(e)
    } else {
        CommitError::Fatal(e)
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub async fn execute(pool: &SqlitePool, statements: &[Statement]) -> Result<(), CommitError> {
    let mut tx = pool.begin().await.map_err(classify)?;
    for s in statements {
        let result = bind_values!(sqlx::query(&s.sql), &s.params)
            .execute(&mut *tx)
            .await;
        s.check.outcome(
            result.map(|r| r.rows_affected()),
            is_unique_violation,
            classify,
        )?;
    }
    tx.commit().await.map_err(classify)
}

pub async fn columns(pool: &SqlitePool, table: &str) -> anyhow::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM pragma_table_xinfo(?)")
        .bind(table)
        .fetch_all(pool)
        .await
        .with_context(|| format!("cannot read the columns of {table}"))
}

pub async fn level_windows(pool: &SqlitePool, sql: &str) -> Result<Vec<LevelWindow>, sqlx::Error> {
    let rows = sqlx::query(sql).fetch_all(pool).await?;
    rows.iter()
        .map(|r| {
            Ok(LevelWindow {
                window_start: r.try_get::<NaiveDateTime, _>(0)?,
                window_end: r.try_get::<NaiveDateTime, _>(1)?,
                debug: r.try_get(2)?,
                info: r.try_get(3)?,
                warn: r.try_get(4)?,
                error: r.try_get(5)?,
            })
        })
        .collect()
}
