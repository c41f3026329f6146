//! The rollup's database side: reads the processor's per-minute counts and
//! stored offsets, and replaces a day's rows of `daily_metrics` and
//! `daily_reconciliation` in one transaction. MariaDB/MySQL in production,
//! SQLite for the embedded demo.

use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::Context;
use chrono::NaiveDate;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{MySqlPool, Row, SqlitePool};

use crate::daily::MetricRow;
use crate::reconcile::{Processed, Reconciliation};

/// A connected rollup database.
pub enum Store {
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::MySql($pool) => $body,
            Store::Sqlite($pool) => $body,
        }
    };
}

/// Key columns have a binary collation: compared as written. MariaDB's
/// default collation folds case, so two groups `level=info` and
/// `level=INFO` would collide on the primary key and fail the whole day's
/// write. (PAD SPACE still equates values differing only in trailing
/// spaces. sqlx reports such columns as VARBINARY; Grafana's driver reads
/// them as text.)
const MYSQL_TABLES: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS daily_metrics (
  day DATE NOT NULL,
  topic VARCHAR(190) COLLATE utf8mb4_bin NOT NULL,
  metric VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
  dimensions VARCHAR(190) COLLATE utf8mb4_bin NOT NULL,
  value DOUBLE NOT NULL,
  computed_at DATETIME NOT NULL,
  PRIMARY KEY (day, topic, metric, dimensions)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS daily_reconciliation (
  day DATE NOT NULL,
  topic VARCHAR(190) COLLATE utf8mb4_bin NOT NULL,
  archived BIGINT NOT NULL,
  offsets BIGINT NOT NULL,
  marked BIGINT NOT NULL,
  streamed BIGINT NOT NULL,
  late BIGINT NOT NULL,
  rejected BIGINT NOT NULL DEFAULT 0,
  unreadable BIGINT NOT NULL,
  mismatched_minutes INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  detail TEXT NOT NULL,
  checked_at DATETIME NOT NULL,
  PRIMARY KEY (day, topic)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
];

const SQLITE_TABLES: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS daily_metrics (
  day TEXT NOT NULL,
  topic TEXT NOT NULL,
  metric TEXT NOT NULL,
  dimensions TEXT NOT NULL,
  value REAL NOT NULL,
  computed_at TEXT NOT NULL,
  PRIMARY KEY (day, topic, metric, dimensions)
)",
    "CREATE TABLE IF NOT EXISTS daily_reconciliation (
  day TEXT NOT NULL,
  topic TEXT NOT NULL,
  archived INTEGER NOT NULL,
  offsets INTEGER NOT NULL,
  marked INTEGER NOT NULL,
  streamed INTEGER NOT NULL,
  late INTEGER NOT NULL,
  rejected INTEGER NOT NULL DEFAULT 0,
  unreadable INTEGER NOT NULL,
  mismatched_minutes INTEGER NOT NULL,
  status TEXT NOT NULL,
  detail TEXT NOT NULL,
  checked_at TEXT NOT NULL,
  PRIMARY KEY (day, topic)
)",
];

/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

impl Store {
    /// Connect and create the rollup's tables if missing.
    pub async fn open(url: &str, password: Option<&str>) -> anyhow::Result<Store> {
        let store = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid database_url \"{url}\""))?
                .create_if_missing(true);
            Store::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("cannot open the database {url}"))?,
            )
        } else {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let mut opts = MySqlConnectOptions::from_str(&url)
                .with_context(|| format!("invalid database_url \"{url}\""))?;
            if let Some(pw) = password {
                opts = opts.password(pw);
            }
            Store::MySql(
                MySqlPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .with_context(|| format!("cannot connect to the database at {url}"))?,
            )
        };
        let ddl = match &store {
            Store::MySql(_) => MYSQL_TABLES,
            Store::Sqlite(_) => SQLITE_TABLES,
        };
        for sql in ddl {
            with_pool!(&store, p => sqlx::query(sql).execute(p).await.map(drop)).context(
                "cannot create the rollup's tables (daily_metrics, daily_reconciliation)",
            )?;
        }
        store.upgrade().await.context(
            "cannot bring the rollup's tables (daily_metrics, daily_reconciliation) up to date",
        )?;
        Ok(store)
    }

    /// Tables an earlier version created: key columns to `utf8mb4_bin`
    /// (MariaDB), and the `rejected` column. Checked first, so a current
    /// table is not rebuilt.
    async fn upgrade(&self) -> Result<(), sqlx::Error> {
        match self {
            Store::MySql(p) => {
                let folding: Vec<(String,)> = sqlx::query_as(
                    "SELECT DISTINCT CONVERT(TABLE_NAME USING utf8mb4) FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = DATABASE() \
                     AND TABLE_NAME IN ('daily_metrics', 'daily_reconciliation') \
                     AND COLUMN_NAME IN ('topic', 'metric', 'dimensions') \
                     AND COLLATION_NAME <> 'utf8mb4_bin'",
                )
                .fetch_all(p)
                .await?;
                for (table,) in folding {
                    let sql = if table == "daily_metrics" {
                        "ALTER TABLE daily_metrics \
                         MODIFY topic VARCHAR(190) COLLATE utf8mb4_bin NOT NULL, \
                         MODIFY metric VARCHAR(64) COLLATE utf8mb4_bin NOT NULL, \
                         MODIFY dimensions VARCHAR(190) COLLATE utf8mb4_bin NOT NULL"
                    } else {
                        "ALTER TABLE daily_reconciliation \
                         MODIFY topic VARCHAR(190) COLLATE utf8mb4_bin NOT NULL"
                    };
                    tracing::info!(table, "changing the key columns to utf8mb4_bin");
                    sqlx::query(sql).execute(p).await?;
                }
                let (has_rejected,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                     AND TABLE_NAME = 'daily_reconciliation' AND COLUMN_NAME = 'rejected'",
                )
                .fetch_one(p)
                .await?;
                if has_rejected == 0 {
                    sqlx::query(
                        "ALTER TABLE daily_reconciliation \
                         ADD COLUMN rejected BIGINT NOT NULL DEFAULT 0 AFTER late",
                    )
                    .execute(p)
                    .await?;
                }
            }
            Store::Sqlite(p) => {
                let (has_rejected,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM pragma_table_info('daily_reconciliation') \
                     WHERE name = 'rejected'",
                )
                .fetch_one(p)
                .await?;
                if has_rejected == 0 {
                    sqlx::query(
                        "ALTER TABLE daily_reconciliation \
                         ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0",
                    )
                    .execute(p)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// The processor's counts of `topic` for minutes in `[from, to)` (UTC
    /// epoch seconds).
    pub async fn processed_minutes(
        &self,
        group_id: &str,
        topic: &str,
        from: i64,
        to: i64,
    ) -> anyhow::Result<BTreeMap<i64, Processed>> {
        let sql = "SELECT minute_start, events, late, rejected FROM logpipe_event_counts \
                   WHERE group_id = ? AND topic = ? AND minute_start >= ? AND minute_start < ?";
        let rows: Vec<(i64, i64, i64, i64)> = with_pool!(self, p => {
            sqlx::query(sql)
                .bind(group_id)
                .bind(topic)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                        .collect()
                })
        })
        .map_err(|e| {
            let old = e.to_string().contains("rejected");
            anyhow::Error::new(e).context(if old {
                "logpipe_event_counts has no column `rejected`: start this version's \
                 `logpipe process` once (it applies migration 0003)"
            } else {
                "cannot read logpipe_event_counts (written by `logpipe process`; does the \
                 processor run with this database and version?)"
            })
        })?;
        Ok(rows
            .into_iter()
            .map(|(m, events, late, rejected)| {
                (
                    m,
                    Processed {
                        events: events as u64,
                        late: late as u64,
                        rejected: rejected as u64,
                    },
                )
            })
            .collect())
    }

    /// The processor's next offset per partition of `topic`; none before
    /// the processor first ran (its table does not exist yet).
    pub async fn processor_offsets(
        &self,
        group_id: &str,
        topic: &str,
    ) -> anyhow::Result<BTreeMap<i32, i64>> {
        let sql = "SELECT kafka_partition, next_offset FROM logpipe_offsets WHERE group_id = ? AND topic = ?";
        let rows: Result<Vec<(i32, i64)>, sqlx::Error> = with_pool!(self, p => {
            sqlx::query(sql)
                .bind(group_id)
                .bind(topic)
                .fetch_all(p)
                .await
                .map(|rows| rows.iter().map(|r| (r.get::<i32, _>(0), r.get::<i64, _>(1))).collect())
        });
        let rows = match rows {
            Err(e) if is_missing_table(&e) => Vec::new(),
            r => r.context("cannot read logpipe_offsets (written by `logpipe process`)")?,
        };
        Ok(rows.into_iter().collect())
    }

    /// Replace `day`'s rows of `topics` in both tables, in one transaction.
    pub async fn replace_day(
        &self,
        day: NaiveDate,
        topics: &[String],
        metrics: &[MetricRow],
        reconciliations: &[Reconciliation],
    ) -> anyhow::Result<()> {
        let day_s = day.format("%Y-%m-%d").to_string();
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for t in topics {
                for table in ["daily_metrics", "daily_reconciliation"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE day = ? AND topic = ?"))
                        .bind(&day_s)
                        .bind(t)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            for chunk in metrics.chunks(CHUNK) {
                let sql = format!(
                    "INSERT INTO daily_metrics (day, topic, metric, dimensions, value, computed_at) VALUES {}",
                    vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for m in chunk {
                    q = q.bind(&day_s).bind(&m.topic).bind(&m.metric).bind(&m.dimensions).bind(m.value).bind(&now);
                }
                q.execute(&mut *tx).await?;
            }
            for r in reconciliations {
                sqlx::query(
                    "INSERT INTO daily_reconciliation (day, topic, archived, offsets, marked, streamed, late, \
                     rejected, unreadable, mismatched_minutes, status, detail, checked_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&day_s)
                .bind(&r.topic)
                .bind(r.archived as i64)
                .bind(r.offsets as i64)
                .bind(r.marked as i64)
                .bind(r.streamed as i64)
                .bind(r.late as i64)
                .bind(r.rejected as i64)
                .bind(r.unreadable as i64)
                .bind(r.mismatched_minutes as i64)
                .bind(r.status())
                .bind(r.detail())
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })
        .with_context(|| format!("cannot write the rollup of {day_s} (daily_metrics, daily_reconciliation)"))
    }

    pub async fn close(self) {
        with_pool!(self, p => p.close().await)
    }
}

/// "Table doesn't exist": MySQL's SQLSTATE 42S02, SQLite's "no such table".
fn is_missing_table(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("42S02") || db.message().contains("no such table")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dimensions: &str, value: f64) -> MetricRow {
        MetricRow {
            topic: "logs".into(),
            metric: "events_by_level".into(),
            dimensions: dimensions.into(),
            value,
        }
    }

    /// The tables as the first version of the rollup created them.
    const FIRST_VERSION: [&str; 2] = [
        "CREATE TABLE daily_metrics (day DATE NOT NULL, topic VARCHAR(190) NOT NULL, \
         metric VARCHAR(64) NOT NULL, dimensions VARCHAR(190) NOT NULL, value DOUBLE NOT NULL, \
         computed_at DATETIME NOT NULL, PRIMARY KEY (day, topic, metric, dimensions)) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE daily_reconciliation (day DATE NOT NULL, topic VARCHAR(190) NOT NULL, \
         archived BIGINT NOT NULL, offsets BIGINT NOT NULL, marked BIGINT NOT NULL, \
         streamed BIGINT NOT NULL, late BIGINT NOT NULL, unreadable BIGINT NOT NULL, \
         mismatched_minutes INT NOT NULL, status VARCHAR(16) NOT NULL, detail TEXT NOT NULL, \
         checked_at DATETIME NOT NULL, PRIMARY KEY (day, topic)) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    ];

    /// On a database where the first version's tables exist (`upgrade`),
    /// else on a new one.
    async fn groups_differing_only_in_case_are_separate_rows(upgrade: bool) {
        let db = logpipe_testkit::mariadb::TestDb::create().await;
        if upgrade {
            let mut c = <sqlx::MySqlConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            for sql in FIRST_VERSION {
                sqlx::query(sql).execute(&mut c).await.unwrap();
            }
        }
        let store = Store::open(&db.url, None).await.unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        let rows = [row("level=INFO", 2.0), row("level=info", 3.0)];
        let reconciled = Reconciliation {
            topic: "logs".into(),
            archived: 5,
            offsets: 5,
            marked: 0,
            streamed: 3,
            late: 0,
            rejected: 2,
            unreadable: 0,
            mismatched_minutes: 0,
            processed: true,
            problems: vec![],
        };
        store
            .replace_day(day, &["logs".into()], &rows, &[reconciled])
            .await
            .unwrap();
        let got: Vec<(String, f64)> = with_pool!(&store, p => {
            sqlx::query_as(
                "SELECT CONVERT(dimensions USING utf8mb4), value FROM daily_metrics ORDER BY value",
            )
                .fetch_all(p)
                .await
        })
        .unwrap();
        assert_eq!(
            got,
            [
                ("level=INFO".to_owned(), 2.0),
                ("level=info".to_owned(), 3.0)
            ]
        );
        let rejected: (i64,) = with_pool!(&store, p => {
            sqlx::query_as("SELECT rejected FROM daily_reconciliation").fetch_one(p).await
        })
        .unwrap();
        assert_eq!(rejected, (2,));
        store.close().await;
        // a second open finds nothing to change
        Store::open(&db.url, None).await.unwrap().close().await;
        db.drop().await;
    }

    #[tokio::test]
    async fn groups_differing_only_in_case_are_separate_rows_on_mariadb() {
        groups_differing_only_in_case_are_separate_rows(false).await;
    }

    #[tokio::test]
    async fn the_first_versions_tables_are_upgraded_on_mariadb() {
        groups_differing_only_in_case_are_separate_rows(true).await;
    }

    /// A SQLite database in a directory of its own (kept while it lives).
    fn sqlite_url() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rollup.db").display());
        (dir, url)
    }

    fn sqlite(store: &Store) -> &SqlitePool {
        match store {
            Store::Sqlite(p) => p,
            Store::MySql(_) => unreachable!("a sqlite: URL"),
        }
    }

    #[tokio::test]
    async fn a_processor_without_migration_3_is_named() {
        let (_dir, url) = sqlite_url();
        let store = Store::open(&url, None).await.unwrap();
        let p = sqlite(&store);
        sqlx::query(
            "CREATE TABLE logpipe_event_counts (group_id TEXT, topic TEXT, minute_start INTEGER, \
             events INTEGER, late INTEGER)",
        )
        .execute(p)
        .await
        .unwrap();
        let e = store
            .processed_minutes("g", "logs", 0, 60)
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("applies migration 0003"), "{e:#}");
        store.close().await;
    }

    #[tokio::test]
    async fn the_first_versions_sqlite_table_gets_the_rejected_column() {
        let (_dir, url) = sqlite_url();
        {
            let store = Store::open(&url, None).await.unwrap();
            sqlx::query("ALTER TABLE daily_reconciliation DROP COLUMN rejected")
                .execute(sqlite(&store))
                .await
                .unwrap();
            store.close().await;
        }
        let store = Store::open(&url, None).await.unwrap();
        let (n,): (i64,) = with_pool!(&store, p => {
            sqlx::query_as("SELECT COUNT(*) FROM pragma_table_info('daily_reconciliation') WHERE name = 'rejected'")
                .fetch_one(p)
                .await
        })
        .unwrap();
        assert_eq!(n, 1);
        store.close().await;
    }
}
