//! Measures beyond counts, on both stores: `count`, `sum`, `min`, `max` and
//! the derived `avg` per group and window, committed over two batches so the
//! additive and LEAST/GREATEST upserts are exercised; and record tables on
//! SQLite (the demo's store), upserted by key.

use logpipe_core::config::HumanDuration;
use logpipe_processor::config::{
    AggregationConfig, ColumnConfig, ColumnType, Measure, RecordTableConfig, TimeFormat,
};
use logpipe_processor::pipeline::Pipeline;
use logpipe_processor::store::Store;
use logpipe_processor::ProcessConfig;
use sqlx::Row;

mod common;
use common::TestDb;

fn sales_config() -> ProcessConfig {
    ProcessConfig {
        aggregation: vec![AggregationConfig {
            name: "car_sales".into(),
            topic: "car-transactions".into(),
            window: HumanDuration::from_secs(60),
            slide: None,
            allowed_lateness: HumanDuration::from_secs(600),
            group_by: vec!["brand".into()],
            pivot: None,
            measures: vec![
                Measure::Count,
                Measure::Sum("price".into()),
                Measure::Min("price".into()),
                Measure::Max("price".into()),
                Measure::Avg("price".into()),
            ],
            ..AggregationConfig::seed_log_data()
        }],
        ..ProcessConfig::default()
    }
}

fn sale(t: u32, brand: &str, price: f64) -> Vec<u8> {
    format!(r#"{{"timestamp": {t}, "brand": "{brand}", "price": {price}, "buyer": "x"}}"#)
        .into_bytes()
}

/// (window_start s, brand, count, sum, min, max, avg), by window then brand.
type SalesRow = (i64, String, i64, f64, f64, f64, f64);

/// Two batches over windows [1200,1260) and [1260,1320); hand-computed below.
async fn commit_sales(store: &Store) {
    let config = sales_config();
    let mut p = Pipeline::new(&config);
    let schema = p.schema();
    store.prepare(&schema).await.unwrap();
    p.assign(0, 0, None, &[]);
    let batches: [&[(u32, &str, f64)]; 2] = [
        &[
            (1200, "BMW", 100.0),
            (1210, "VW", 50.0),
            (1230, "BMW", 300.0),
        ],
        &[(1250, "BMW", 20.0), (1265, "VW", 70.0), (1270, "VW", 15.0)],
    ];
    let mut offset = 0;
    for batch in batches {
        for (t, brand, price) in batch {
            p.process(0, 0, offset, Some(&sale(*t, brand, *price)));
            offset += 1;
        }
        store
            .commit(&config.group_id, &schema, &p.cut())
            .await
            .unwrap();
    }
}

fn expected_sales() -> Vec<SalesRow> {
    vec![
        (1200, "BMW".into(), 3, 420.0, 20.0, 300.0, 140.0),
        (1200, "VW".into(), 1, 50.0, 50.0, 50.0, 50.0),
        (1260, "VW".into(), 2, 85.0, 15.0, 70.0, 42.5),
    ]
}

const SALES_SQL: &str = "SELECT window_start, window_end, brand, event_count, price_sum, price_min, price_max, price_avg \
     FROM car_sales ORDER BY window_start, brand";

#[tokio::test]
async fn mariadb_sum_min_max_avg_per_group_over_two_commits() {
    let db = TestDb::create().await;
    let store = Store::connect(&db.url, None).await.unwrap();
    commit_sales(&store).await;
    let Store::MySql(pool) = &store else {
        unreachable!()
    };
    let rows = sqlx::query(SALES_SQL).fetch_all(pool).await.unwrap();
    let got: Vec<SalesRow> = rows
        .iter()
        .map(|r| {
            let start: chrono::NaiveDateTime = r.get(0);
            let end: chrono::NaiveDateTime = r.get(1);
            assert_eq!((end - start).num_seconds(), 60, "tumbling 60 s windows");
            (
                start.and_utc().timestamp(),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect();
    assert_eq!(got, expected_sales());
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn sqlite_sum_min_max_avg_per_group_over_two_commits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sales.db").display());
    let store = Store::connect(&url, None).await.unwrap();
    commit_sales(&store).await;
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    // sqlx's SQLite type inference takes the generated avg column for an
    // INTEGER (SQLite itself returns REAL); the CAST only satisfies sqlx.
    let sql = SALES_SQL.replace(", price_avg", ", CAST(price_avg AS REAL)");
    let rows = sqlx::query(&sql).fetch_all(pool).await.unwrap();
    let got: Vec<SalesRow> = rows
        .iter()
        .map(|r| {
            let start: chrono::NaiveDateTime = r.get(0);
            (
                start.and_utc().timestamp(),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
            )
        })
        .collect();
    assert_eq!(got, expected_sales());
    store.close().await;
}

#[tokio::test]
async fn sqlite_record_table_upserts_by_key() {
    let col = |name: &str, kind| ColumnConfig {
        name: name.into(),
        field: None,
        kind,
        required: false,
    };
    let config = ProcessConfig {
        aggregation: vec![],
        table: vec![RecordTableConfig {
            topic: "user-profiles".into(),
            table: "user_profiles".into(),
            key: vec!["id".into()],
            columns: vec![
                col("id", ColumnType::Int),
                col("email", ColumnType::String),
                col("city", ColumnType::String),
            ],
            time_format: TimeFormat::EpochSeconds,
        }],
        ..ProcessConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("profiles.db").display());
    let store = Store::connect(&url, None).await.unwrap();
    let mut p = Pipeline::new(&config);
    let schema = p.schema();
    store.prepare(&schema).await.unwrap();
    p.assign(0, 0, None, &[]);
    let events = [
        r#"{"id": 7, "email": "a@example.com", "city": "Berlin"}"#,
        r#"{"id": 9, "email": "b@example.com"}"#,
        r#"{"id": 7, "email": "a2@example.com", "city": "Paris"}"#,
    ];
    for (i, e) in events.iter().enumerate() {
        p.process(0, 0, i as i64, Some(e.as_bytes()));
        store
            .commit(&config.group_id, &schema, &p.cut())
            .await
            .unwrap();
    }
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    let got: Vec<(i64, String, Option<String>)> =
        sqlx::query("SELECT id, email, city FROM user_profiles ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
    assert_eq!(
        got,
        [
            (7, "a2@example.com".into(), Some("Paris".into())),
            (9, "b@example.com".into(), None)
        ]
    );
    store.close().await;
}
