//! What is SQLite-specific in the store (embedded demo): a file created
//! when missing, WAL mode, one writer; reading a table's columns; which
//! errors are worth a retry. Everything else is shared with MariaDB in
//! [`super::Store`].

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

pub(super) async fn connect(url: &str) -> anyhow::Result<SqlitePool> {
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

pub(super) fn is_duplicate_key(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The columns of `table` (generated ones included).
pub(super) const COLUMNS_SQL: &str = "SELECT name FROM pragma_table_xinfo(?)";
