//! Reading the seed's `log_data` table back (one row per window with the
//! count of each level), for `logpipe demo`'s table and for tests and
//! benchmarks that reconcile counts. A reader beside the store: the daemon
//! itself never reads its output.

use anyhow::Context;
use chrono::NaiveDateTime;
use sqlx::Row;

use crate::store::{with_pool, Store};

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

/// The latest `limit` rows of `log_data` in `store`, newest first.
pub async fn latest_windows(store: &Store, limit: u32) -> anyhow::Result<Vec<LevelWindow>> {
    let sql = format!(
        "SELECT window_start, window_end, debug_count, info_count, warn_count, error_count FROM {} ORDER BY window_start DESC LIMIT {limit}",
        store.dialect().quote("log_data")
    );
    let rows: Result<Vec<LevelWindow>, sqlx::Error> = with_pool!(store, p => {
        match sqlx::query(&sql).fetch_all(p).await {
            Ok(rows) => rows
                .iter()
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
                .collect(),
            Err(e) => Err(e),
        }
    });
    rows.context("cannot read log_data")
}

/// [`latest_windows`] of the store at `database_url` (connected for this
/// one read).
pub async fn read_latest_windows(
    database_url: &str,
    limit: u32,
) -> anyhow::Result<Vec<LevelWindow>> {
    let store = Store::connect(database_url, None).await?;
    let rows = latest_windows(&store, limit).await;
    store.close().await;
    rows
}
