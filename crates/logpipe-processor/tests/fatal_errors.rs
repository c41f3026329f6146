//! Errors retrying cannot fix stop the daemon with a message naming the
//! fix, instead of being retried or ignored forever: a database user that
//! may not read the offsets table, and a Kafka principal the brokers do
//! not authorize for the consumer group.

use std::time::Duration;

use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_processor::pipeline::Pipeline;
use logpipe_processor::store::Store;
use logpipe_processor::ProcessConfig;
use logpipe_testkit::mariadb::{server_addr, server_url};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use sqlx::{Connection, MySqlConnection};

mod common;
use common::*;

async fn root(sql: &str) {
    let mut c = MySqlConnection::connect(&server_url()).await.unwrap();
    sqlx::query(sql)
        .execute(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = c.close().await;
}

async fn run_until_it_exits(config: ProcessConfig, bootstrap: &str) -> String {
    let shutdown = Shutdown::new();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        logpipe_processor::run(
            config,
            test_kafka(bootstrap),
            shutdown.clone(),
            Notifier::from_env(),
        ),
    )
    .await;
    shutdown.trigger();
    let result = result.expect("the daemon stops by itself instead of retrying forever");
    format!("{:#}", result.expect_err("it stops with an error"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_select_privilege_on_the_offsets_table_stops_the_daemon() {
    let db = TestDb::create().await;
    let mut config = ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        ..ProcessConfig::default()
    };
    // The tables as root, then a user who may write the offsets but not read them.
    let store = Store::connect(&db.url, None).await.unwrap();
    store
        .prepare(&Pipeline::new(&config).schema())
        .await
        .unwrap();
    store.close().await;
    let user = format!("lp_u_{:08x}", rand::random::<u32>());
    let d = &db.name;
    for host in ["%", "localhost", "127.0.0.1"] {
        let u = format!("'{user}'@'{host}'");
        root(&format!("CREATE USER {u}")).await;
        root(&format!("GRANT CREATE ON `{d}`.* TO {u}")).await;
        for table in ["log_data", "logpipe_watermarks", "_sqlx_migrations"] {
            root(&format!(
                "GRANT SELECT, INSERT, UPDATE ON `{d}`.`{table}` TO {u}"
            ))
            .await;
        }
        root(&format!(
            "GRANT INSERT, UPDATE ON `{d}`.`logpipe_offsets` TO {u}"
        ))
        .await;
    }
    config.database_url = format!("mysql://{user}@{}/{d}", server_addr());
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(
        &bootstrap,
        "logs",
        &[(0, log_event(1_700_000_000.0, "INFO"))],
    );

    let e = run_until_it_exits(config, &bootstrap).await;
    for host in ["%", "localhost", "127.0.0.1"] {
        root(&format!("DROP USER '{user}'@'{host}'")).await;
    }
    assert!(
        e.contains("cannot read the stored offset of logs[0]")
            && e.contains("may SELECT, INSERT and UPDATE")
            && e.contains("SELECT command denied"),
        "{e}"
    );
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_group_authorization_failure_stops_the_daemon() {
    let db = TestDb::create().await;
    let cluster = mock_cluster("logs", 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(
        &bootstrap,
        "logs",
        &[(0, log_event(1_700_000_000.0, "INFO"))],
    );
    let refusals = [RDKafkaRespErr::RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED; 100];
    cluster.request_errors(RDKafkaApiKey::FindCoordinator, &refusals);
    cluster.request_errors(RDKafkaApiKey::JoinGroup, &refusals);
    let config = ProcessConfig {
        database_url: db.url.clone(),
        group_id: format!("g-{}", db.name),
        ..ProcessConfig::default()
    };
    let e = run_until_it_exits(config, &bootstrap).await;
    assert!(
        e.contains("lacks an ACL") && e.contains("Read on the consumer group"),
        "{e}"
    );
    db.drop().await;
}
