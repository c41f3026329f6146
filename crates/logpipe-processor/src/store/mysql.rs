//! What is MariaDB/MySQL-specific in the store: connecting (password from a
//! file, the database created when missing), reading a table's columns, and
//! recognising errors by their server error number. Everything else is
//! shared with SQLite in [`super::Store`].

use std::str::FromStr;

use anyhow::Context;
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPoolOptions};
use sqlx::{Connection, MySqlConnection, MySqlPool};

pub(super) async fn connect(url: &str, password: Option<&str>) -> anyhow::Result<MySqlPool> {
    let url = url.replacen("mariadb://", "mysql://", 1);
    let mut opts = MySqlConnectOptions::from_str(&url)
        .with_context(|| format!("invalid database_url \"{url}\""))?;
    if let Some(pw) = password {
        opts = opts.password(pw);
    }
    // One plain connection first: a pool would only report PoolTimedOut.
    match MySqlConnection::connect_with(&opts).await {
        Ok(c) => c.close().await?,
        Err(e) if mysql_number(&e) == Some(1049) => {
            let database = opts.get_database().unwrap_or_default().to_owned();
            let server_url = &url[..url
                .rfind('/')
                .filter(|i| *i > "mysql://".len())
                .unwrap_or(url.len())];
            let mut server = MySqlConnectOptions::from_str(server_url)?;
            if let Some(pw) = password {
                server = server.password(pw);
            }
            let mut c = MySqlConnection::connect_with(&server)
                .await
                .with_context(|| format!("cannot connect to {server_url}"))?;
            sqlx::query(&format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
                .execute(&mut c)
                .await
                .with_context(|| {
                    format!("database `{database}` does not exist and cannot be created")
                })?;
            c.close().await?;
            tracing::info!(database, "created the database");
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot connect to the database at {url}"))
        }
    }
    MySqlPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(opts)
        .await
        .with_context(|| format!("cannot connect to the database at {url}"))
}

fn mysql_number(e: &sqlx::Error) -> Option<u16> {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|m| m.number()),
        _ => None,
    }
}

pub(super) fn is_duplicate_key(e: &sqlx::Error) -> bool {
    mysql_number(e) == Some(1062)
}

/// Deadlocks, lock waits, a server going away or shutting down are worth a retry.
pub(super) fn is_transient(e: &sqlx::Error) -> bool {
    const TRANSIENT: &[u16] = &[
        1205, 1213, 1040, 1053, 1290, 1927, 2002, 2003, 2006, 2013, 1047, 1317,
    ];
    match e {
        sqlx::Error::Database(_) => mysql_number(e).is_some_and(|n| TRANSIENT.contains(&n)),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// What an operator must do about an error retrying cannot fix, if we know.
pub(super) fn fix_for(e: &sqlx::Error) -> Option<&'static str> {
    match mysql_number(e)? {
        1045 | 1698 => Some(
            "the server refused the login: check the user in process.database_url and the password in process.database_password_file",
        ),
        1044 | 1142 | 1143 | 1227 | 1370 => Some(
            "the database user lacks a privilege: GRANT SELECT, INSERT, UPDATE, CREATE, ALTER, INDEX ON <database>.* TO the user of process.database_url",
        ),
        _ => None,
    }
}

/// The columns of `table` in the connected database.
pub(super) const COLUMNS_SQL: &str = "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?";
