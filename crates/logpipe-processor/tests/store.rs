//! The store against a real MariaDB (the test server, a fresh database per
//! test) and SQLite: exact `log_data` rows for a fixed input committed in
//! two batches, fenced commits writing nothing, watermarks and offsets
//! restored, record tables upserted by key.

use chrono::NaiveDateTime;
use logpipe_processor::config::{ColumnConfig, ColumnType, RecordTableConfig, TimeFormat};
use logpipe_processor::log_data::{latest_windows, read_latest_windows, LevelWindow};
use logpipe_processor::pipeline::Pipeline;
use logpipe_processor::store::{CommitError, Store};
use logpipe_processor::ProcessConfig;
use sqlx::Row;

mod common;
use common::TestDb;

fn ev(t: &str, level: &str) -> Vec<u8> {
    format!(r#"{{"timestamp": {t}, "level": "{level}", "message": "hello", "host": "web-1"}}"#)
        .into_bytes()
}

fn at(s: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(s, 0).unwrap().naive_utc()
}

fn window(start: i64, d: i64, i: i64, w: i64, e: i64) -> LevelWindow {
    LevelWindow {
        window_start: at(start),
        window_end: at(start + 30),
        debug: d,
        info: i,
        warn: w,
        error: e,
    }
}

/// Hand-computed: 30 s windows every 15 s over these seven events.
fn expected_log_data() -> Vec<LevelWindow> {
    vec![
        window(1230, 0, 1, 0, 1),
        window(1215, 0, 2, 1, 1),
        window(1200, 1, 2, 1, 1),
        window(1185, 1, 1, 0, 1),
    ]
}

async fn seed_job_writes_exact_rows(store: &Store) {
    let config = ProcessConfig::default();
    let mut p = Pipeline::new(&config);
    let schema = p.schema();
    store.prepare(&schema).await.unwrap();
    store.prepare(&schema).await.expect("prepare is idempotent");
    p.assign(0, 0, None, &[]);
    let events = [
        ("1200.0", "INFO"),
        ("1205.5", "DEBUG"),
        ("1214.999", "ERROR"),
        ("1215.0", "WARN"),
        ("1229.0", "INFO"),
        ("1230.0", "INFO"),
        ("1244.0", "ERROR"),
    ];
    for (i, (t, l)) in events.iter().enumerate() {
        p.process(0, 0, i as i64, Some(&ev(t, l)));
        if i == 3 {
            let b = p.cut();
            store.commit(&config.group_id, &schema, &b).await.unwrap();
        }
    }
    let b = p.cut();
    let summary = store.commit(&config.group_id, &schema, &b).await.unwrap();
    assert_eq!(summary.rows, [("log_data".to_string(), 3)]);
    assert_eq!(
        latest_windows(store, 10).await.unwrap(),
        expected_log_data()
    );

    let stored = store
        .load_partition(&config.group_id, "logs", 0)
        .await
        .unwrap();
    assert_eq!(stored.next_offset, Some(7));
    assert_eq!(
        stored.max_event_times,
        [("log_data".to_string(), 1_244_000)]
    );

    // A second consumer that still believes next_offset is 4 is fenced and writes nothing.
    let mut stale = Pipeline::new(&config);
    stale.assign(0, 0, Some(4), &[]);
    stale.process(0, 0, 4, Some(&ev("1215.0", "WARN")));
    let b = stale.cut();
    let err = store
        .commit(&config.group_id, &schema, &b)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommitError::Fenced { ref topic, partition: 0, expected: Some(4) } if topic == "logs"),
        "{err}"
    );
    // A consumer that believes the partition was never committed is fenced too.
    let mut fresh = Pipeline::new(&config);
    fresh.process(0, 0, 0, Some(&ev("1215.0", "WARN")));
    let err = store
        .commit(&config.group_id, &schema, &fresh.cut())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CommitError::Fenced { expected: None, .. }),
        "{err}"
    );
    assert_eq!(
        latest_windows(store, 10).await.unwrap(),
        expected_log_data(),
        "fenced commits wrote nothing"
    );
}

fn profiles_config() -> ProcessConfig {
    let col = |name: &str, kind| ColumnConfig {
        name: name.into(),
        field: None,
        kind,
        required: false,
    };
    ProcessConfig {
        aggregation: vec![],
        table: vec![RecordTableConfig {
            topic: "user-profiles".into(),
            table: "user_profiles".into(),
            key: vec!["user_id".into()],
            columns: vec![
                col("user_id", ColumnType::String),
                col("age", ColumnType::Int),
                col("premium", ColumnType::Bool),
            ],
            time_format: TimeFormat::EpochSeconds,
        }],
        ..ProcessConfig::default()
    }
}

#[tokio::test]
async fn mariadb_log_data_matches_hand_computed_rows_and_fences() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url, None).await.unwrap();
    seed_job_writes_exact_rows(&store).await;
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn sqlite_log_data_matches_hand_computed_rows_and_fences() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = Store::connect(&url, None).await.unwrap();
    seed_job_writes_exact_rows(&store).await;
    store.close().await;
    let rows = read_latest_windows(&url, 2).await.unwrap();
    assert_eq!(rows, expected_log_data()[..2]);
}

#[tokio::test]
async fn mariadb_record_table_upserts_by_key() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url, None).await.unwrap();
    let config = profiles_config();
    let mut p = Pipeline::new(&config);
    let schema = p.schema();
    store.prepare(&schema).await.unwrap();
    let events = [
        r#"{"user_id": "u1", "age": 30, "premium": false}"#,
        r#"{"user_id": "u2", "age": 41}"#,
        r#"{"user_id": "u1", "age": 31, "premium": true}"#,
    ];
    for (i, e) in events.iter().enumerate() {
        p.process(0, 0, i as i64, Some(e.as_bytes()));
        let b = p.cut();
        store.commit(&config.group_id, &schema, &b).await.unwrap();
    }
    let Store::MySql(pool) = &store else {
        unreachable!()
    };
    let rows = sqlx::query("SELECT user_id, age, premium FROM user_profiles ORDER BY user_id")
        .fetch_all(pool)
        .await
        .unwrap();
    let got: Vec<(String, i64, Option<bool>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        [("u1".into(), 31, Some(true)), ("u2".into(), 41, None)]
    );
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn existing_table_missing_a_column_is_a_clear_error() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url, None).await.unwrap();
    let Store::MySql(pool) = &store else {
        unreachable!()
    };
    sqlx::query("CREATE TABLE log_data (window_start DATETIME(3), window_end DATETIME(3), info_count BIGINT)")
        .execute(pool)
        .await
        .unwrap();
    let err = store
        .prepare(&Pipeline::new(&ProcessConfig::default()).schema())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("table `log_data` already exists without column(s) [\"debug_count\""),
        "{err}"
    );
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn refused_connection_fails_at_once_with_the_url() {
    let err = Store::connect("mysql://root@127.0.0.1:1/x", None)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot connect to the database at mysql://root@127.0.0.1:1/x"),
        "{err:#}"
    );
}
