//! Crash safety of the real binary: `logpipe archive` is SIGKILLed at
//! random points mid-stream, ten times, into local files and into the fake
//! HDFS, and restarted each time (by a new consumer group: Kafka's committed
//! offsets cannot help it, only the archive's file names). After a final
//! clean stop every produced (partition, offset) is archived exactly once,
//! byte for byte, `archive verify` is clean and no temporary is left.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use logpipe_archiver::path::PathTemplate;
use logpipe_archiver::verify;
use logpipe_archiver::ArchiveConfig;
use logpipe_testkit::hdfs::FakeHdfs;
use logpipe_testkit::kafka::{mock_cluster, produce};
use logpipe_testkit::process::{spawn_daemon, KillOnDrop};
use rand::{Rng, SeedableRng};

const TOTAL: usize = 60_000;
const KILLS: usize = 10;

/// The `[archive]` section both the child and the checks use.
fn archive_section(url: &str, hdfs: Option<&FakeHdfs>, group: &str) -> String {
    let mut s = format!(
        r#"[archive]
url = "{url}"
topics = ["logs"]
group_id = "{group}"

[archive.roll]
max_records = 1000
idle_timeout = "500ms"

[archive.completeness]
markers = false
"#
    );
    if let Some(fake) = hdfs {
        s.push_str(&format!(
            "\n[archive.hdfs]\nuser = \"logpipe\"\nconfig_dir = \"{}\"\n\n[archive.hdfs.properties]\n",
            fake.config_dir().display()
        ));
        for (k, v) in FakeHdfs::client_config() {
            s.push_str(&format!("\"{k}\" = \"{v}\"\n"));
        }
    }
    s
}

fn write_config(dir: &Path, bootstrap: &str, section: &str) -> std::path::PathBuf {
    let path = dir.join("logpipe.toml");
    let toml = format!(
        "[kafka]\n\"bootstrap.servers\" = \"{bootstrap}\"\n\"session.timeout.ms\" = \"6000\"\n\"fetch.wait.max.ms\" = \"10\"\n\n{section}"
    );
    std::fs::write(&path, toml).unwrap();
    path
}

fn spawn_archive(config: &Path) -> KillOnDrop {
    spawn_daemon(env!("CARGO_BIN_EXE_logpipe"), "archive", config)
}

fn parse_config(section: &str) -> ArchiveConfig {
    #[derive(serde::Deserialize)]
    struct Root {
        archive: ArchiveConfig,
    }
    toml::from_str::<Root>(section).unwrap().archive
}

/// Offsets the committed file names account for (a cheap listing).
fn committed(c: &ArchiveConfig) -> u64 {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    let t = PathTemplate::parse(&c.path).unwrap();
    verify::list_files(sink.as_ref(), &t, "logs")
        .unwrap()
        .iter()
        .map(|f| f.range.len())
        .sum()
}

/// (partition, offset) → line, asserting no offset is archived twice.
fn read_back(c: &ArchiveConfig) -> Archived {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    let t = PathTemplate::parse(&c.path).unwrap();
    let mut out = BTreeMap::new();
    for f in verify::list_files(sink.as_ref(), &t, "logs").unwrap() {
        let lines = verify::read_records(sink.as_ref(), &f).unwrap();
        assert_eq!(lines.len() as u64, f.range.len(), "{}", f.path);
        for (i, line) in lines.into_iter().enumerate() {
            assert!(
                out.insert((f.range.partition, f.range.start + i as i64), line)
                    .is_none(),
                "{} twice",
                f.path
            );
        }
    }
    out
}

/// (partition, offset) → value.
type Archived = BTreeMap<(i32, i64), Vec<u8>>;

/// The messages to produce, and what the archive must then hold.
fn events() -> (Vec<(i32, Vec<u8>)>, Archived) {
    let mut next = [0i64; 3];
    let mut msgs = Vec::new();
    let mut want = BTreeMap::new();
    for i in 0..TOTAL {
        let p = (i % 3) as i32;
        let t = 1_712_350_800.0 + i as f64 * 0.1;
        let v = format!(r#"{{"timestamp":{t:.1},"level":"INFO","message":"crash test {i}"}}"#)
            .into_bytes();
        want.insert((p, next[p as usize]), v.clone());
        next[p as usize] += 1;
        msgs.push((p, v));
    }
    (msgs, want)
}

async fn crash_cycles(url: String, hdfs: Option<&FakeHdfs>) {
    let cluster = mock_cluster(&[("logs", 3)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (msgs, want) = events();
    let seed: u64 = rand::random();
    eprintln!("kill points from seed {seed}");
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let check = parse_config(&archive_section(&url, hdfs, "check"));
    let mut produced = 0;
    let mut killed_mid_file = 0;
    for cycle in 0..=KILLS {
        // Feed the topic as we go, so kills land while records are arriving.
        let upto = (TOTAL * (cycle + 1) / (KILLS + 1)).min(TOTAL);
        produce(&bootstrap, "logs", &msgs[produced..upto]);
        produced = upto;
        let config = write_config(
            dir.path(),
            &bootstrap,
            &archive_section(&url, hdfs, &format!("crash-{cycle}")),
        );
        let mut child = spawn_archive(&config);
        let c = check.clone();
        let before = tokio::task::spawn_blocking(move || committed(&c))
            .await
            .unwrap();
        if cycle == KILLS {
            // The last run finishes the job and stops cleanly (SIGTERM).
            wait_committed(&check, TOTAL as u64, Duration::from_secs(120)).await;
            child.signal("TERM");
            let status = child.wait_exit(Duration::from_secs(60));
            assert!(status.success(), "clean stop: {status}");
            break;
        }
        // Progress first (so the kill is mid-stream), then a random moment.
        wait_committed(&check, before + 1, Duration::from_secs(60)).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..400))).await;
        if let Some(status) = child.exited() {
            panic!("logpipe archive exited on its own in cycle {cycle}: {status}");
        }
        drop(child); // SIGKILL
        let c = check.clone();
        let open = tokio::task::spawn_blocking(move || temporaries(&c))
            .await
            .unwrap();
        if !open.is_empty() {
            killed_mid_file += 1;
        }
    }
    assert!(
        killed_mid_file >= 1,
        "no kill landed while a file was open ({KILLS} kills)"
    );
    eprintln!("{killed_mid_file} of {KILLS} kills left an open temporary behind");
    let c = check.clone();
    let (got, reports, temps) = tokio::task::spawn_blocking(move || {
        let sink = logpipe_archiver::sink::open(&c, tokio::runtime::Handle::current()).unwrap();
        let t = PathTemplate::parse(&c.path).unwrap();
        let files = verify::list_files(sink.as_ref(), &t, "logs").unwrap();
        let reports = verify::check(&files, |f| verify::count_records(sink.as_ref(), f)).unwrap();
        (read_back(&c), reports, temporaries(&c))
    })
    .await
    .unwrap();
    assert_eq!(got.len(), want.len(), "every offset archived once");
    assert!(got == want, "archived lines are the produced values");
    for r in &reports {
        assert!(r.is_clean(), "{r:?}");
    }
    assert!(
        temps.is_empty(),
        "temporaries after a clean stop: {temps:?}"
    );
}

fn temporaries(c: &ArchiveConfig) -> Vec<String> {
    let sink = logpipe_archiver::sink::open(c, tokio::runtime::Handle::current()).unwrap();
    sink.list(logpipe_core::archive::TEMP_DIR)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect()
}

async fn wait_committed(c: &ArchiveConfig, at_least: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let cc = c.clone();
        let n = tokio::task::spawn_blocking(move || committed(&cc))
            .await
            .unwrap();
        if n >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {at_least} offsets committed after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_archiver_into_local_files_archives_each_offset_once() {
    let root = tempfile::tempdir().unwrap();
    let url = format!("file://{}", root.path().display());
    tokio::time::timeout(Duration::from_secs(400), crash_cycles(url, None))
        .await
        .expect("within 400 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_archiver_into_hdfs_archives_each_offset_once() {
    let fake = FakeHdfs::start().await.unwrap();
    let url = format!("{}/archive", fake.url());
    tokio::time::timeout(Duration::from_secs(400), crash_cycles(url, Some(&fake)))
        .await
        .expect("within 400 s");
    assert!(
        fake.protocol_errors().is_empty(),
        "{:?}",
        fake.protocol_errors()
    );
}
