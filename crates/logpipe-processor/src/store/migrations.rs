//! The processor's bookkeeping tables (`logpipe_offsets`,
//! `logpipe_watermarks`, `logpipe_event_counts`) as sqlx migrations compiled into the binary, one
//! set per dialect (`migrations/<dialect>/`). The output tables are not
//! migrations: they follow the config (see [`super::plan::plan_tables`]).

use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

use super::plan::Dialect;

/// (version, description, SQL) of each migration, oldest first.
type Embedded = &'static [(i64, &'static str, &'static str)];

const MYSQL: Embedded = &[
    (
        1,
        "processor bookkeeping",
        include_str!("../../migrations/mysql/0001_bookkeeping.sql"),
    ),
    (
        2,
        "events per minute",
        include_str!("../../migrations/mysql/0002_event_counts.sql"),
    ),
    (
        3,
        "dead-lettered events per minute",
        include_str!("../../migrations/mysql/0003_rejected_counts.sql"),
    ),
];

const SQLITE: Embedded = &[
    (
        1,
        "processor bookkeeping",
        include_str!("../../migrations/sqlite/0001_bookkeeping.sql"),
    ),
    (
        2,
        "events per minute",
        include_str!("../../migrations/sqlite/0002_event_counts.sql"),
    ),
    (
        3,
        "dead-lettered events per minute",
        include_str!("../../migrations/sqlite/0003_rejected_counts.sql"),
    ),
];

/// The migrations of one dialect, as a source for sqlx's `Migrator`.
#[derive(Debug)]
pub(super) struct EmbeddedMigrations(Embedded);

impl EmbeddedMigrations {
    pub(super) fn of(dialect: Dialect) -> Self {
        match dialect {
            Dialect::MySql => Self(MYSQL),
            Dialect::Sqlite => Self(SQLITE),
        }
    }
}

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
