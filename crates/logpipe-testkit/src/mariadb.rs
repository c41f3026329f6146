//! MariaDB for tests: a uniquely named database per test on the machine's
//! server (127.0.0.1:3306, user root, empty password), so that tests never
//! share tables and a half-applied migration never leaks into another test.
//! MySQL DDL is not transactional; a fresh database is the only clean slate.

use std::net::SocketAddr;

use sqlx::{Connection, MySqlConnection};

/// The server every test database lives on.
pub const SERVER_ADDR: &str = "127.0.0.1:3306";
/// URL of [`SERVER_ADDR`] without a database.
pub const SERVER: &str = "mysql://root@127.0.0.1:3306";

const HOW_TO_START: &str = "tests need MariaDB on 127.0.0.1:3306 (user root, empty password). \
Start it with .ci/run, or by hand: apt-get install -y mariadb-server && install -d -o mysql -g mysql /run/mysqld \
&& (mysqld_safe --bind-address=127.0.0.1 &) && until mariadb-admin ping; do sleep 1; done";

/// A database created for one test. Call [`TestDb::drop`] at the end (a
/// failed test leaves its `lp_test_…` database behind for inspection).
#[derive(Debug)]
pub struct TestDb {
    /// `lp_test_<16 hex digits>`.
    pub name: String,
    /// `mysql://root@127.0.0.1:3306/<name>`.
    pub url: String,
}

async fn server() -> MySqlConnection {
    match MySqlConnection::connect(SERVER).await {
        Ok(c) => c,
        Err(e) => panic!("cannot connect to MariaDB at {SERVER}: {e}\n{HOW_TO_START}"),
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
            url: format!("{SERVER}/{name}"),
            name,
        }
    }

    /// The URL of this database reached through `addr` instead of
    /// [`SERVER_ADDR`] (e.g. a [`crate::proxy::TcpProxy`] in front of the server).
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
