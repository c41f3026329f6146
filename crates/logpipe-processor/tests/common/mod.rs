//! Test support: a fresh MariaDB database per test (`lp_test_<random>` on
//! 127.0.0.1:3306 as root), dropped at the end.

#![allow(dead_code)]

use sqlx::{Connection, MySqlConnection};

pub const SERVER: &str = "mysql://root@127.0.0.1:3306";

pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = format!("lp_test_{:016x}", rand::random::<u64>());
        let mut c = MySqlConnection::connect(SERVER)
            .await
            .expect("MariaDB must run on 127.0.0.1:3306 (root, empty password)");
        sqlx::query(&format!("CREATE DATABASE `{name}`")).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
        TestDb { url: format!("{SERVER}/{name}"), name }
    }

    pub async fn drop(self) {
        let mut c = MySqlConnection::connect(SERVER).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.name)).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
}
