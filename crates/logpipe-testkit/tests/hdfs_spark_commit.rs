//! Spark's own `FileOutputCommitter` against the fake HDFS: `tests/spark/commit_round_trip.py`
//! runs one local-mode SparkSession (the `pyspark` wheel in `target/hdfs-conformance-venv`,
//! Hadoop 3.5 client inside it) that writes a 30 000-row dataset as JSON lines (two multi-block
//! part files, 1 MiB blocks), as Parquet and as gzip JSON through Spark's default commit
//! protocol (v1 algorithm: `_temporary/` attempt dirs, task-commit renames, job commit,
//! `_SUCCESS`), overwrites one, and reads each back row for row. This test then checks the
//! committed JSON independently, through hdfs-native, against rows it generates itself, and
//! that the fake logged no protocol error and no unimplemented method.
//!
//! Cost: one Spark start-up (~30 s on 2 cores) plus ~60 s of jobs; bounded by
//! [`SPARK_RUN_TIMEOUT`]. Needs Java 17 and the venv: a missing piece fails the test with the
//! command that installs it (`scripts/test` does).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use logpipe_testkit::hdfs::{exceptions as ex, FakeHdfs, FakeHdfsConfig, NamespaceConfig, Outcome};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/spark/commit_round_trip.py"
);
const VENV_DIR: &str = "hdfs-conformance-venv";
const ROWS: usize = 30_000;
const BASE: &str = "/spark";
/// Spark start-up plus the seven jobs, with room for a loaded 2-core machine.
const SPARK_RUN_TIMEOUT: Duration = Duration::from_secs(480);
const LEVELS: [&str; 3] = ["INFO", "WARN", "ERROR"];

fn install_hint() -> String {
    format!(
        "run scripts/test (it installs them), or by hand:\n  python3 -m venv target/{VENV_DIR} \
         && target/{VENV_DIR}/bin/pip install 'pyspark>=4,<5'\n  apt-get install -y \
         openjdk-17-jdk-headless"
    )
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The venv's Python, which must import pyspark; panics with how to install it.
fn venv_python() -> PathBuf {
    let python = target_dir().join(VENV_DIR).join("bin/python3");
    let imports = std::process::Command::new(&python)
        .args(["-c", "import pyspark"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        imports,
        "{} cannot import pyspark; {}",
        python.display(),
        install_hint()
    );
    let java = std::process::Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(java, "`java -version` fails; {}", install_hint());
    python
}

/// Row `i` as the script generates it (keep in step with `expected_row` there).
fn expected_row(i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": i,
        "host": format!("host-{}", i % 7),
        "level": LEVELS[i % 3],
        "msg": format!("event {i} \"quoted\" \u{e9}\u{6f22} {}", "x".repeat(i % 50)),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_file_output_committer_round_trip() {
    let python = venv_python();
    let hdfs = FakeHdfs::start_with(FakeHdfsConfig {
        datanodes: 2,
        namespace: NamespaceConfig {
            default_block_size: MIB as u64,
            ..NamespaceConfig::default()
        },
        ..FakeHdfsConfig::default()
    })
    .await
    .expect("fake HDFS starts");
    let scratch = tempfile::Builder::new()
        .prefix("hdfs-spark-commit-")
        .tempdir()
        .expect("scratch dir for Spark");
    let started = Instant::now();
    let child = tokio::process::Command::new(&python)
        .arg(SCRIPT)
        .arg(hdfs.url())
        .arg(BASE)
        .arg(ROWS.to_string())
        .current_dir(scratch.path())
        // Spark binds its driver to loopback only; no developer config can leak in.
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("SPARK_LOCAL_DIRS", scratch.path())
        .env("PYSPARK_PYTHON", &python)
        .env("HADOOP_USER_NAME", "logpipe")
        .env("TMPDIR", scratch.path())
        .env_remove("SPARK_HOME")
        .env_remove("SPARK_CONF_DIR")
        .env_remove("PYSPARK_SUBMIT_ARGS")
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {}", python.display(), install_hint()));
    let output = match tokio::time::timeout(SPARK_RUN_TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.expect("waiting for the Spark job"),
        Err(_) => panic!(
            "the Spark job did not finish within {SPARK_RUN_TIMEOUT:?}; protocol errors: {:#?}",
            hdfs.protocol_errors()
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = || {
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains("[Stage ")).collect();
        format!(
            "--- Spark stdout ---\n{stdout}\n--- Spark stderr (last 60 lines) ---\n{}",
            lines[lines.len().saturating_sub(60)..].join("\n")
        )
    };
    let ok = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL ")).collect();
    let done = stdout.lines().any(|l| l.starts_with("done "));
    assert!(
        output.status.success() && failed.is_empty() && done && ok == 8,
        "Spark round trip: exit {}, {ok} ok, {} failed, finished: {done}\n{}",
        output.status,
        failed.len(),
        report()
    );
    eprintln!(
        "spark round trip: {ok} checks in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The commits went through the fake: task and job commits are renames out of _temporary.
    let calls = hdfs.calls();
    let temp_renames = calls
        .iter()
        .filter(|c| c.method == "rename" && c.target.contains("/_temporary/"))
        .filter(|c| c.outcome == Outcome::Success)
        .count();
    assert!(
        temp_renames >= 8,
        "expected task- and job-commit renames out of _temporary/, saw {temp_renames}"
    );
    let unknown: BTreeSet<&str> = calls
        .iter()
        .filter(|c| c.outcome == Outcome::Error(ex::RPC_NO_SUCH_METHOD.into()))
        .map(|c| c.method.as_str())
        .collect();
    assert!(
        unknown.is_empty(),
        "Spark called methods the fake does not implement: {unknown:?}"
    );
    assert_no_protocol_errors(&hdfs);

    // The committed JSON, read by the other client, holds exactly the generated rows.
    let client = hdfs.client().expect("hdfs-native client");
    let listed = client
        .list_status(&format!("{BASE}/json"), false)
        .await
        .expect("listing the JSON dataset");
    let names: Vec<String> = listed
        .iter()
        .map(|s| s.path.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n == "_SUCCESS") && !names.iter().any(|n| n == "_temporary"),
        "{names:?}"
    );
    let mut rows = Vec::new();
    for status in listed.iter().filter(|s| s.path.ends_with(".json")) {
        let bytes = read_file(&client, &status.path)
            .await
            .expect("reading a part");
        assert_eq!(bytes, hdfs.stored_bytes(&status.path).unwrap());
        let text = String::from_utf8(bytes).expect("JSON part is UTF-8");
        for (n, line) in text.lines().enumerate() {
            let row: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}: {line}", status.path, n + 1));
            rows.push(row);
        }
    }
    rows.sort_by_key(|r| r["id"].as_u64());
    let expected: Vec<serde_json::Value> = (0..ROWS).map(expected_row).collect();
    assert_eq!(rows.len(), expected.len(), "rows in the JSON parts");
    for (have, want) in rows.iter().zip(&expected) {
        assert_eq!(have, want);
    }
    hdfs.shutdown().await;
}
