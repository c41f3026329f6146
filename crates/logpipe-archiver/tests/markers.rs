//! `_SUCCESS` markers: a time directory gets one once it can no longer
//! change, holding each partition's offset range and record count; a record
//! that arrives for a complete directory goes to the directory of its
//! arrival, and the marked directory stays as it was.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use logpipe_core::archive::{SuccessMarker, SUCCESS_MARKER};
use logpipe_core::config::HumanDuration;
use logpipe_testkit::kafka::{mock_cluster, produce};

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Every `_SUCCESS` under `root` (a local archive): directory → marker.
fn markers(root: &std::path::Path) -> BTreeMap<String, SuccessMarker> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() == SUCCESS_MARKER {
                let m: SuccessMarker = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                out.insert(m.dir.clone(), m);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_directories_get_a_marker_and_late_records_do_not_break_it() {
    let cluster = mock_cluster(&[("logs", 3)]);
    let bootstrap = cluster.bootstrap_servers();
    let dir = tempfile::tempdir().unwrap();
    let (mut c, kafka) = local_config(&dir, &bootstrap);
    // Five-second directories so that they complete within the test.
    c.path = "%{topic}/dt=%Y-%m-%d/t=%H-%M-%S".into();
    c.round = Some(HumanDuration::from_secs(5));
    c.completeness.allowed_lateness = HumanDuration::from_secs(2);
    c.roll.idle_timeout = HumanDuration::from_millis(300);
    c.roll.max_records = 0;
    c.completeness.markers = true;
    let running = Running::start(c.clone(), kafka);

    let evs = events(3_000, 3, now_secs(), 2.0);
    produce(&bootstrap, "logs", &evs);
    let cc = c.clone();
    wait_until("all archived", Duration::from_secs(30), move || {
        read_back(&cc, "logs").len() == 3_000
    })
    .await;
    // Every directory holding a file gets its marker once complete.
    let root = dir.path().to_path_buf();
    let files = {
        let cc = c.clone();
        blocking(move || {
            let sink =
                logpipe_archiver::sink::open(&cc, tokio::runtime::Handle::current()).unwrap();
            let t = logpipe_archiver::path::PathTemplate::parse(&cc.path).unwrap();
            logpipe_archiver::verify::list_files(sink.as_ref(), &t, "logs").unwrap()
        })
        .await
    };
    let data_dirs: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f.path.rsplit_once('/').unwrap().0.to_owned())
        .collect();
    let r = root.clone();
    let dd = data_dirs.clone();
    wait_until(
        "markers in every data directory",
        Duration::from_secs(40),
        move || {
            let m = markers(&r);
            dd.iter().all(|d| m.contains_key(d))
        },
    )
    .await;

    let marked = markers(&root);
    let mut records: BTreeMap<i32, u64> = BTreeMap::new();
    for d in &data_dirs {
        let m = &marked[d];
        assert_eq!(m.topic, "logs");
        for (p, s) in &m.partitions {
            *records.entry(*p).or_default() += s.records;
            let in_dir: Vec<_> = files
                .iter()
                .filter(|f| f.path.starts_with(&format!("{d}/")) && f.range.partition == *p)
                .collect();
            assert_eq!(s.files, in_dir.len() as u64, "{d} partition {p}");
            assert_eq!(
                s.first_offset,
                in_dir.iter().map(|f| f.range.start).min().unwrap()
            );
            assert_eq!(
                s.last_offset,
                in_dir.iter().map(|f| f.range.end).max().unwrap()
            );
        }
    }
    assert_eq!(
        records,
        BTreeMap::from([(0, 1000), (1, 1000), (2, 1000)]),
        "markers count every record once"
    );

    // A record for a marked directory arrives: it goes where it arrived.
    let oldest = data_dirs.iter().next().unwrap().clone();
    let before = std::fs::read(root.join(&oldest).join(SUCCESS_MARKER)).unwrap();
    let listing = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(&root.join(&oldest));
    let late = format!(
        r#"{{"timestamp":{:.3},"level":"ERROR","message":"late"}}"#,
        now_secs() - 30.0
    );
    produce(&bootstrap, "logs", &[(0, late.into_bytes())]);
    let cc = c.clone();
    wait_until(
        "the late record archived",
        Duration::from_secs(30),
        move || read_back(&cc, "logs").len() == 3_001,
    )
    .await;
    running.stop().await;
    assert_eq!(
        std::fs::read(root.join(&oldest).join(SUCCESS_MARKER)).unwrap(),
        before,
        "the marker is unchanged"
    );
    assert_eq!(
        listing(&root.join(&oldest)),
        files_before,
        "no file was added to the complete directory"
    );
    let cc = c.clone();
    let got = blocking(move || read_back(&cc, "logs")).await;
    assert_eq!(got.len(), 3_001);
    assert!(got
        .get(&(0, 1000))
        .is_some_and(|l| l.ends_with(br#""message":"late"}"#)));
}
