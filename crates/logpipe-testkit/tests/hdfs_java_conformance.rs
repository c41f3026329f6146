//! The fake HDFS held to Hadoop's own behaviour by a second, independent client: Apache
//! Hadoop's Java client (`hadoop-client-api` + `hadoop-client-runtime`, from the `pyspark`
//! wheel's `jars/`). `tests/java/HdfsConformance.java` is compiled with `javac` into a temp
//! dir at run time and run with `java` against a fake started here; it prints one line per
//! check (`ok NAME` / `FAIL NAME: why`).
//!
//! - `java_client_filesystem_semantics_conform`: FileSystem semantics (mkdirs, create, hflush
//!   and hsync, multi-block files, sequential/positioned reads, rename, delete, paged
//!   listings, setReplication, append refused as with append disabled, getContentSummary,
//!   concurrent writers) against Hadoop's FileSystem
//!   specification.
//! - the `java_client_*` fault tests: Java-client twins of `hdfs_datanode_faults.rs` — the
//!   Java client's own pipeline recovery (abandonBlock + excludeNodes, updateBlockForPipeline /
//!   updatePipeline, getAdditionalDatanode + TRANSFER_BLOCK) must end with a correct file.
//!
//! Needs Java 17 (`java`, `javac`) and the pyspark wheel. The jars are looked up in
//! `$LOGPIPE_HADOOP_JARS`, then through the Python of `target/hdfs-conformance-venv`, then the
//! system `python3`; a missing piece fails the test with the command that installs it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use logpipe_testkit::hdfs::{
    DataNodeFault, FakeHdfs, FakeHdfsConfig, NamespaceConfig, Outcome, PipelineErrorAck, Server,
    Times,
};

const JAVA_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/java/HdfsConformance.java"
);
/// Where `scripts/test` puts the venv with pyspark.
const VENV_DIR: &str = "hdfs-conformance-venv";
/// A bound on one run of the Java program (JVM start, Hadoop class loading, the checks).
const JAVA_RUN_TIMEOUT: Duration = Duration::from_secs(240);

fn install_hint() -> String {
    format!(
        "install them with:\n  python3 -m venv target/{VENV_DIR} && \
         target/{VENV_DIR}/bin/pip install 'pyspark>=4,<5'\n\
         (or point LOGPIPE_HADOOP_JARS at a directory holding hadoop-client-api-3*.jar and \
         hadoop-client-runtime-3*.jar), and Java 17 with: apt-get install -y \
         openjdk-17-jdk-headless"
    )
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The `pyspark/jars` directory of an installed pyspark, asked of `python`.
fn pyspark_jars_via(python: &Path) -> Option<PathBuf> {
    let output = std::process::Command::new(python)
        .args([
            "-c",
            "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let dir = String::from_utf8(output.stdout).ok()?;
    let jars = Path::new(dir.trim()).join("jars");
    jars.is_dir().then_some(jars)
}

/// The directory holding the Hadoop client jars; panics with how to install them.
fn hadoop_jar_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOGPIPE_HADOOP_JARS") {
        return PathBuf::from(dir);
    }
    let venv_python = target_dir().join(VENV_DIR).join("bin/python3");
    for python in [venv_python, PathBuf::from("python3")] {
        if let Some(jars) = pyspark_jars_via(&python) {
            return jars;
        }
    }
    panic!(
        "the Hadoop Java client jars (from the pyspark wheel) were not found; {}",
        install_hint()
    );
}

/// The first jar in `dir` whose name starts with `prefix`.
fn find_jar(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jar"))
        })
        .collect();
    matches.sort();
    matches.into_iter().next()
}

/// The compiled Java program and its classpath, shared by every test of this binary.
struct JavaClient {
    classpath: String,
    log_config: PathBuf,
    _dir: tempfile::TempDir,
}

fn run_tool(command: &mut std::process::Command, what: &str) -> std::process::Output {
    match command.output() {
        Ok(output) => output,
        Err(e) => panic!("cannot run {what}: {e}; {}", install_hint()),
    }
}

fn java_client() -> &'static JavaClient {
    static CLIENT: OnceLock<JavaClient> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let jars = hadoop_jar_dir();
        let mut classpath = Vec::new();
        for required in [
            "hadoop-client-api-3",
            "hadoop-client-runtime-3",
            "slf4j-api-",
        ] {
            match find_jar(&jars, required) {
                Some(jar) => classpath.push(jar),
                None => panic!(
                    "{required}*.jar is missing from {}; {}",
                    jars.display(),
                    install_hint()
                ),
            }
        }
        // Logging through log4j 2 (also in the wheel), so the client's warnings reach stderr.
        for optional in ["log4j-slf4j2-impl-", "log4j-api-", "log4j-core-"] {
            classpath.extend(find_jar(&jars, optional));
        }
        let dir = tempfile::Builder::new()
            .prefix("hdfs-java-conformance-")
            .tempdir()
            .expect("temp dir for the Java classes");
        let classes = dir.path().join("classes");
        let jar_path = std::env::join_paths(&classpath).expect("jar paths join");
        let javac = run_tool(
            std::process::Command::new("javac")
                .arg("-d")
                .arg(&classes)
                .arg("-cp")
                .arg(&jar_path)
                .arg("-Xlint:none")
                .arg(JAVA_SOURCE),
            "javac",
        );
        assert!(
            javac.status.success(),
            "javac failed on {JAVA_SOURCE}:\n{}{}",
            String::from_utf8_lossy(&javac.stdout),
            String::from_utf8_lossy(&javac.stderr)
        );
        let log_config = dir.path().join("log4j2.properties");
        std::fs::write(
            &log_config,
            "status = error\n\
             appender.console.type = Console\n\
             appender.console.name = STDERR\n\
             appender.console.target = SYSTEM_ERR\n\
             appender.console.layout.type = PatternLayout\n\
             appender.console.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c{1}: %m%n\n\
             rootLogger.level = warn\n\
             rootLogger.appenderRef.stderr.ref = STDERR\n\
             logger.native.name = org.apache.hadoop.util.NativeCodeLoader\n\
             logger.native.level = error\n",
        )
        .expect("writing the log4j2 config");
        classpath.push(classes);
        JavaClient {
            classpath: std::env::join_paths(&classpath)
                .expect("classpath joins")
                .into_string()
                .expect("classpath is UTF-8"),
            log_config,
            _dir: dir,
        }
    })
}

/// What one run of the Java program reported.
struct JavaRun {
    ok: Vec<String>,
    failed: Vec<String>,
    done: bool,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl JavaRun {
    fn report(&self) -> String {
        let tail: String = {
            let lines: Vec<&str> = self.stderr.lines().collect();
            lines[lines.len().saturating_sub(60)..].join("\n")
        };
        format!(
            "--- Java client stdout ---\n{}\n--- Java client stderr (last 60 lines) ---\n{tail}",
            self.stdout
        )
    }

    /// Every check passed, at least `min_checks` ran, and the program got to its end.
    fn assert_all_ok(&self, min_checks: usize) {
        assert!(
            self.failed.is_empty() && self.done && self.ok.len() >= min_checks,
            "{} of {} Java-client checks failed (at least {min_checks} expected; finished: {}):\n{}\n{}",
            self.failed.len(),
            self.ok.len() + self.failed.len(),
            self.done,
            self.failed.join("\n"),
            self.report()
        );
    }
}

/// Runs `HdfsConformance <url> <scenario> <args…>` against `hdfs`.
async fn run_java(hdfs: &FakeHdfs, scenario: &str, args: &[&str]) -> JavaRun {
    let client = java_client();
    let started = Instant::now();
    let mut command = tokio::process::Command::new("java");
    command
        .arg("-Xmx384m")
        .arg("-XX:+UseSerialGC")
        .arg("-XX:TieredStopAtLevel=1")
        .arg("-Djava.net.preferIPv4Stack=true")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            client.log_config.display()
        ))
        .arg("-cp")
        .arg(&client.classpath)
        .arg("HdfsConformance")
        .arg(hdfs.url())
        .arg(scenario)
        .args(args)
        // SIMPLE auth as this user; no developer Hadoop config can leak in.
        .env("HADOOP_USER_NAME", "logpipe")
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("HADOOP_HOME")
        .env_remove("HADOOP_OPTS")
        .env_remove("HADOOP_CLASSPATH")
        .env_remove("JAVA_TOOL_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => panic!("cannot start java: {e}; {}", install_hint()),
    };
    let output = match tokio::time::timeout(JAVA_RUN_TIMEOUT, child.wait_with_output()).await {
        Ok(output) => output.expect("waiting for the Java client"),
        Err(_) => panic!(
            "the Java client ({scenario}) did not finish within {JAVA_RUN_TIMEOUT:?}; calls so far: {:#?}",
            hdfs.calls()
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let run = JavaRun {
        ok: stdout
            .lines()
            .filter_map(|l| l.strip_prefix("ok "))
            .map(str::to_string)
            .collect(),
        failed: stdout
            .lines()
            .filter(|l| l.starts_with("FAIL "))
            .map(str::to_string)
            .collect(),
        done: stdout.lines().any(|l| l.starts_with("done ")),
        stdout,
        stderr,
        elapsed: started.elapsed(),
    };
    assert!(
        output.status.success(),
        "the Java client exited with {}:\n{}",
        output.status,
        run.report()
    );
    eprintln!(
        "java {scenario}: {} ok, {} failed in {:.1} s",
        run.ok.len(),
        run.failed.len(),
        run.elapsed.as_secs_f64()
    );
    run
}

async fn fake_with(datanodes: usize, namespace: NamespaceConfig) -> FakeHdfs {
    FakeHdfs::start_with(FakeHdfsConfig {
        datanodes,
        namespace,
        ..FakeHdfsConfig::default()
    })
    .await
    .expect("fake HDFS starts")
}

fn mib_blocks() -> NamespaceConfig {
    NamespaceConfig {
        default_block_size: MIB as u64,
        ..NamespaceConfig::default()
    }
}

/// The NameNode methods the client called that the fake answered as unknown.
fn unknown_methods(hdfs: &FakeHdfs) -> Vec<String> {
    hdfs.calls()
        .into_iter()
        .filter(|c| {
            c.outcome
                == Outcome::Error(logpipe_testkit::hdfs::exceptions::RPC_NO_SUCH_METHOD.into())
        })
        .map(|c| c.method)
        .collect()
}

fn datanode_ops(hdfs: &FakeHdfs, op: &str) -> Vec<(usize, Outcome)> {
    hdfs.calls()
        .into_iter()
        .filter(|c| c.method == op)
        .filter_map(|c| match c.server {
            Server::DataNode(i) => Some((i, c.outcome)),
            Server::NameNode => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_filesystem_semantics_conform() {
    let hdfs = fake_with(
        2,
        NamespaceConfig {
            // Small pages, so listStatus / listFiles must follow remainingEntries.
            listing_limit: 4,
            ..mib_blocks()
        },
    )
    .await;
    let run = run_java(&hdfs, "suite", &[]).await;
    run.assert_all_ok(58);
    // append and create(APPEND) reached the NameNode and were refused as Hadoop refuses them.
    for method in ["append", "create"] {
        assert!(
            hdfs.calls().iter().any(|c| c.method == method
                && c.outcome
                    == Outcome::Error(
                        logpipe_testkit::hdfs::exceptions::UNSUPPORTED_OPERATION.into()
                    )),
            "no {method} refused with UnsupportedOperationException"
        );
    }
    assert!(count(&hdfs, "getContentSummary") >= 3);
    // The 3 getFileChecksum calls each asked a DataNode for the 3 blocks of a file.
    let checksums = datanode_ops(&hdfs, "BLOCK_CHECKSUM");
    assert!(
        checksums.len() == 9 && checksums.iter().all(|(_, o)| *o == Outcome::Success),
        "{checksums:?}"
    );
    assert!(
        hdfs.faults().count("getListing") >= 8,
        "the listings were not paged: {} getListing calls",
        hdfs.faults().count("getListing")
    );
    assert!(
        hdfs.faults().count("getReplicaVisibleLength") >= 1,
        "hflush visibility was not asked of a DataNode"
    );
    assert_eq!(
        unknown_methods(&hdfs),
        Vec::<String>::new(),
        "the Java client called methods the fake does not implement"
    );
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

/// Writes `size` bytes through the Java client, reads them back, and checks the replicas.
async fn java_write(hdfs: &FakeHdfs, path: &str, size: usize, seed: u64, extra: &[&str]) {
    let path_arg = format!("path={path}");
    let size_arg = format!("size={size}");
    let seed_arg = format!("seed={seed}");
    let mut args = vec![path_arg.as_str(), size_arg.as_str(), seed_arg.as_str()];
    args.extend_from_slice(extra);
    let run = run_java(hdfs, "write", &args).await;
    run.assert_all_ok(3);
    assert!(
        hdfs.stored_bytes(path).unwrap() == payload(size, seed),
        "the replicas of {path} differ from what was written"
    );
}

fn count(hdfs: &FakeHdfs, method: &str) -> usize {
    hdfs.faults().count(method)
}

fn assert_pipeline_recovered_once(hdfs: &FakeHdfs) {
    let methods = hdfs.faults().namenode_methods();
    for method in ["updateBlockForPipeline", "updatePipeline"] {
        assert_eq!(
            methods.iter().filter(|m| *m == method).count(),
            1,
            "{method} in {methods:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_recovers_from_an_error_ack_mid_pipeline() {
    let hdfs = fake_with(2, mib_blocks()).await;
    hdfs.faults().inject_pipeline_error_ack(
        PipelineErrorAck {
            position: 1,
            after_packets: 3,
        },
        Times::Once,
    );
    java_write(&hdfs, "/j/error-ack", 3 * MIB + 4321, 31, &[]).await;
    assert_pipeline_recovered_once(&hdfs);
    let writes = datanode_ops(&hdfs, "WRITE_BLOCK");
    assert!(
        writes.contains(&(0, Outcome::Error("ERROR ack at position 1".to_string()))),
        "{writes:?}"
    );
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_recovers_when_the_head_datanode_drops_mid_block() {
    let hdfs = fake_with(2, mib_blocks()).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(5), Times::Once);
    java_write(&hdfs, "/j/head-drop", 3 * MIB + 4321, 32, &[]).await;
    assert_pipeline_recovered_once(&hdfs);
    assert!(datanode_ops(&hdfs, "WRITE_BLOCK").contains(&(0, Outcome::Dropped)));
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_recovers_when_a_downstream_datanode_fails() {
    let hdfs = fake_with(2, mib_blocks()).await;
    hdfs.faults()
        .inject_datanode(1, DataNodeFault::DropWriteAfterPackets(3), Times::Once);
    java_write(&hdfs, "/j/downstream", 2 * MIB + 17, 33, &[]).await;
    assert_pipeline_recovered_once(&hdfs);
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_abandons_a_refused_block_and_excludes_the_datanode() {
    // Unlike hdfs-native (which fails the write), the Java client recovers from a refused
    // pipeline setup: abandonBlock, then addBlock with the DataNode in excludeNodes.
    let hdfs = fake_with(3, mib_blocks()).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::RefuseWrite, Times::Once);
    java_write(&hdfs, "/j/refused", MIB + 5000, 34, &[]).await;
    assert_eq!(count(&hdfs, "abandonBlock"), 1);
    let blocks = hdfs.block_datanodes("/j/refused").unwrap();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert!(
        !blocks[0].contains(&0) && blocks[0].len() == 2,
        "the retried first block excludes datanode 0: {blocks:?}"
    );
    assert_eq!(datanode_ops(&hdfs, "WRITE_BLOCK")[0], (0, Outcome::Dropped));
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_fails_the_write_when_its_only_datanode_fails() {
    let hdfs = fake_with(2, mib_blocks()).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(2), Times::Once);
    let run = run_java(
        &hdfs,
        "write",
        &[
            "path=/j/single",
            "size=2097152",
            "expect=fail",
            "conf.dfs.replication=1",
        ],
    )
    .await;
    run.assert_all_ok(1);
    assert_eq!(count(&hdfs, "updatePipeline"), 0);
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_client_replaces_a_failed_datanode_via_transfer_block() {
    let hdfs = fake_with(4, mib_blocks()).await;
    hdfs.faults()
        .inject_datanode(0, DataNodeFault::DropWriteAfterPackets(4), Times::Once);
    java_write(
        &hdfs,
        "/j/three",
        MIB + 100,
        35,
        &[
            "conf.dfs.replication=3",
            // The DEFAULT policy replaces a node of a 3-replica pipeline only after an hflush.
            "conf.dfs.client.block.write.replace-datanode-on-failure.policy=ALWAYS",
        ],
    )
    .await;
    assert_eq!(count(&hdfs, "getAdditionalDatanode"), 1);
    assert_eq!(
        datanode_ops(&hdfs, "TRANSFER_BLOCK")
            .iter()
            .filter(|(_, o)| *o == Outcome::Success)
            .count(),
        1
    );
    assert_pipeline_recovered_once(&hdfs);
    let blocks = hdfs.block_datanodes("/j/three").unwrap();
    assert!(
        blocks.iter().all(|b| b.len() == 3),
        "every block keeps 3 replicas: {blocks:?}"
    );
    assert_no_protocol_errors(&hdfs);
    hdfs.shutdown().await;
}
