//! Parquet end to end: the archiver writes server-logs events from the mock
//! cluster as Parquet files (several per partition), records that do not fit
//! the schema go to `logs.dlq` with their reason, and an independent reader
//! — pyarrow, from the virtualenv `scripts/test` provisions — reads every
//! committed file back with the expected schema and exactly the produced
//! rows, keyed by (partition, offset) from the file names.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use logpipe_archiver::config::FileFormat;
use logpipe_testkit::kafka::{consume, mock_cluster, produce};

/// 2024-04-05T21:00:00Z.
const START: f64 = 1_712_350_800.0;
const N: usize = 6_000;

/// Where `scripts/test` installs pyarrow (beside pyspark).
fn venv_python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("hdfs-conformance-venv/bin/python3")
}

/// pyarrow's view of one file: its schema and rows, timestamps as integer
/// microseconds (so nothing is compared through a float).
const READER: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
for path in sys.argv[1:]:
    t = pq.read_table(path)
    cols = {}
    for f in t.schema:
        c = t.column(f.name)
        if pa.types.is_timestamp(f.type):
            c = c.cast(pa.int64())
        cols[f.name] = c.to_pylist()
    rows = [{k: cols[k][i] for k in cols} for i in range(t.num_rows)]
    print(json.dumps({"path": path, "schema": [[f.name, str(f.type), f.nullable] for f in t.schema], "rows": rows}))
"#;

fn parquet_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if !e.file_name().to_string_lossy().starts_with('_') {
                parquet_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_files_read_back_by_pyarrow_hold_exactly_the_produced_rows() {
    let python = venv_python();
    assert!(
        std::process::Command::new(&python)
            .args(["-c", "import pyarrow"])
            .status()
            .is_ok_and(|s| s.success()),
        "pyarrow is missing at {}: run scripts/test (it creates the venv), or \
         python3 -m venv target/hdfs-conformance-venv && target/hdfs-conformance-venv/bin/pip install pyarrow",
        python.display()
    );
    let cluster = mock_cluster(&[("logs", 3), ("logs.dlq", 1)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (mut c, kafka) = local_config(&dir, &bootstrap);
    c.format = FileFormat::Parquet;
    c.roll.max_records = 700;

    let mut evs = events(N, 3, START, 2.0 * 3600.0);
    // Records that do not fit the server-logs schema, each with its reason.
    let bad: BTreeMap<usize, &str> = [
        (
            100,
            r#"{"timestamp":1712350900.5,"level":7,"message":"m","host":"h"}"#,
        ),
        (
            2_000,
            r#"{"timestamp":1712351000.25,"level":"INFO","colour":"red"}"#,
        ),
        (4_001, "plain text, not JSON"),
    ]
    .into_iter()
    .collect();
    for (&i, v) in &bad {
        evs[i].1 = v.as_bytes().to_vec();
    }
    produce(&bootstrap, "logs", &evs);
    let want = expected(&evs);
    let bad_keys: Vec<(i32, i64)> = want
        .iter()
        .filter(|(_, v)| bad.values().any(|b| b.as_bytes() == v.as_slice()))
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(bad_keys.len(), 3);

    let running = Running::start(c.clone(), kafka);
    let root = dir.path().to_path_buf();
    let cc = c.clone();
    wait_until(
        "every good event archived",
        Duration::from_secs(90),
        move || {
            let Ok(sink) = logpipe_archiver::sink::open(&cc, tokio::runtime::Handle::current())
            else {
                return false;
            };
            let template = logpipe_archiver::path::PathTemplate::parse(&cc.path).unwrap();
            let files = logpipe_archiver::verify::list_files(sink.as_ref(), &template, "logs")
                .unwrap_or_default();
            let rows: u64 = files
                .iter()
                .map(|f| logpipe_archiver::verify::count_records(sink.as_ref(), f).unwrap_or(0))
                .sum();
            rows == (N - 3) as u64
        },
    )
    .await;
    running.stop().await;

    // The dead letters, with their reasons.
    let dlq = consume(&bootstrap, "logs.dlq", 3, Duration::from_secs(30));
    let mut reasons: Vec<(String, Vec<u8>)> = dlq
        .iter()
        .map(|r| {
            (
                r.header("logpipe.error.reason").unwrap_or_default(),
                r.payload.clone(),
            )
        })
        .collect();
    reasons.sort();
    let mut want_reasons = vec![
        ("not_json".to_string(), bad[&4_001].as_bytes().to_vec()),
        ("schema_mismatch".to_string(), bad[&100].as_bytes().to_vec()),
        (
            "schema_mismatch".to_string(),
            bad[&2_000].as_bytes().to_vec(),
        ),
    ];
    want_reasons.sort();
    assert_eq!(reasons, want_reasons);

    // pyarrow reads every committed file.
    let mut files = Vec::new();
    parquet_files(&root, &mut files);
    files.sort();
    assert!(files.len() >= 9, "several files per partition: {files:?}");
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(READER)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyarrow: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: BTreeMap<(i32, i64), serde_json::Value> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let file: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            file["schema"],
            serde_json::json!([
                ["timestamp", "timestamp[us, tz=UTC]", true],
                ["level", "string", true],
                ["message", "string", true],
                ["host", "string", true],
                ["service", "string", true]
            ]),
            "{}",
            file["path"]
        );
        let name = Path::new(file["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let range =
            logpipe_core::archive::FileRange::parse(&name).unwrap_or_else(|| panic!("{name}"));
        // Offsets of the range in order, minus the dead-lettered ones.
        let offsets: Vec<i64> = (range.start..=range.end)
            .filter(|o| !bad_keys.contains(&(range.partition, *o)))
            .collect();
        let rows = file["rows"].as_array().unwrap();
        assert_eq!(rows.len(), offsets.len(), "{name}: rows vs offset range");
        for (o, row) in offsets.into_iter().zip(rows) {
            assert!(
                got.insert((range.partition, o), row.clone()).is_none(),
                "{name}: offset {o} twice"
            );
        }
    }
    let mut expected_rows = BTreeMap::new();
    for (k, v) in &want {
        if bad_keys.contains(k) {
            continue;
        }
        let e: serde_json::Value = serde_json::from_slice(v).unwrap();
        let micros = (e["timestamp"].as_f64().unwrap() * 1e6).round() as i64;
        expected_rows.insert(
            *k,
            serde_json::json!({
                "timestamp": micros,
                "level": e["level"],
                "message": e["message"],
                "host": e["host"],
                "service": null,
            }),
        );
    }
    assert_eq!(got.len(), expected_rows.len());
    assert!(
        got == expected_rows,
        "pyarrow's rows differ from the produced events"
    );
}
