//! MariaDB for tests: a uniquely named database per test, so that tests never
//! share tables and a half-applied migration never leaks into another test.
//! MySQL DDL is not transactional; a fresh database is the only clean slate.
//!
//! The server is the one named by `LOGPIPE_TEST_MARIADB` (`host:port`, user
//! root, empty password). `scripts/test` starts a private server on a free
//! port and sets it; without it, tests use `127.0.0.1:3306`.

use std::net::SocketAddr;
use std::sync::OnceLock;

use sqlx::{Connection, MySqlConnection};

/// The environment variable that names the test server (`host:port`).
pub const SERVER_ENV: &str = "LOGPIPE_TEST_MARIADB";
const DEFAULT_ADDR: &str = "127.0.0.1:3306";

const HOW_TO_START: &str = "tests need MariaDB as root with an empty password: run the suite with \
scripts/test (it starts a private server and sets LOGPIPE_TEST_MARIADB=host:port), or point \
LOGPIPE_TEST_MARIADB at a server of your own";

/// The address of the server every test database lives on.
pub fn server_addr() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let raw = std::env::var(SERVER_ENV).unwrap_or_else(|_| DEFAULT_ADDR.to_string());
        raw.parse().unwrap_or_else(|e| {
            panic!("{SERVER_ENV}={raw:?} is not host:port ({e}); {HOW_TO_START}")
        })
    })
}

/// URL of [`server_addr`] without a database.
pub fn server_url() -> String {
    format!("mysql://root@{}", server_addr())
}

/// A database created for one test. Call [`TestDb::drop`] at the end (a
/// failed test leaves its `lp_test_…` database behind for inspection).
#[derive(Debug)]
pub struct TestDb {
    /// `lp_test_<16 hex digits>`.
    pub name: String,
    /// `mysql://root@<server>/<name>`.
    pub url: String,
}

async fn server() -> MySqlConnection {
    let url = server_url();
    match MySqlConnection::connect(&url).await {
        Ok(c) => c,
        Err(e) => panic!("cannot connect to MariaDB at {url}: {e}\n{HOW_TO_START}"),
    }
}

impl TestDb {
    /// Create a fresh, empty database with a unique name.
    pub async fn create() -> TestDb {
        let name = format!("lp_test_{:016x}", rand::random::<u64>());
        let mut c = server().await;
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = c.close().await;
        TestDb {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }

    /// The URL of this database reached through `addr` instead of
    /// [`server_addr`] (e.g. a [`crate::proxy::TcpProxy`] in front of the server).
    pub fn url_via(&self, addr: SocketAddr) -> String {
        format!("mysql://root@{addr}/{}", self.name)
    }

    /// Drop the database.
    pub async fn drop(self) {
        let mut c = server().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .execute(&mut c)
            .await
            .unwrap_or_else(|e| panic!("DROP DATABASE {}: {e}", self.name));
        let _ = c.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exists(name: &str) -> bool {
        let mut c = server().await;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(name)
        .fetch_one(&mut c)
        .await
        .unwrap();
        n == 1
    }

    #[tokio::test]
    async fn each_test_db_is_a_distinct_usable_database_until_dropped() {
        let (a, b) = (TestDb::create().await, TestDb::create().await);
        assert_ne!(a.name, b.name);
        let mut c = MySqlConnection::connect(&a.url).await.unwrap();
        let current: String = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(current, a.name);
        c.close().await.unwrap();
        let name = a.name.clone();
        a.drop().await;
        assert!(!exists(&name).await, "dropped");
        assert!(exists(&b.name).await, "the other one is untouched");
        b.drop().await;
    }
}
