//! The Flume importer against golden files: each `tests/flume/NAME.conf` is
//! imported as agent `a1`, and its diagnostics (and, when it imports, the
//! printed TOML) must equal `tests/flume/NAME.out`. The reference config
//! `flume/logpipe-archive.conf` at the repository root is checked the same
//! way against `tests/flume/reference.out`. Run with `UPDATE_GOLDEN=1` to
//! rewrite the `.out` files after an intended change, then review the diff.

use std::path::{Path, PathBuf};

use logpipe_archiver::config::Codec;
use logpipe_archiver::flume::{self, Diagnostic, Severity};
use logpipe_archiver::ArchiveConfig;
use logpipe_core::config::{Validate, Validator};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");
const REFERENCE: &str = "../../flume/logpipe-archive.conf";

/// (file as named in diagnostics, file on disk, golden output)
fn cases() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = Path::new(MANIFEST).join("tests/flume");
    let mut cases: Vec<(String, PathBuf, PathBuf)> = std::fs::read_dir(&dir)
        .expect("tests/flume")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                format!("tests/flume/{name}"),
                p.clone(),
                p.with_extension("out"),
            )
        })
        .collect();
    cases.sort();
    cases.push((
        "flume/logpipe-archive.conf".into(),
        Path::new(MANIFEST).join(REFERENCE),
        dir.join("reference.out"),
    ));
    cases
}

fn import(shown: &str, on_disk: &Path) -> Result<flume::FlumeImport, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(on_disk).expect("read case");
    flume::import_text(Path::new(shown), &text, "a1")
}

fn render(result: &Result<flume::FlumeImport, Vec<Diagnostic>>) -> String {
    let lines = |ds: &[Diagnostic]| -> String { ds.iter().map(|d| format!("{d}\n")).collect() };
    match result {
        Ok(import) => format!(
            "{}--- imported; printed TOML:\n{}",
            lines(&import.notes),
            flume::to_toml(import)
        ),
        Err(ds) => format!("{}--- refused\n", lines(ds)),
    }
}

#[test]
fn flume_configs_match_their_golden_diagnostics() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (shown, on_disk, golden) in cases() {
        let got = render(&import(&shown, &on_disk));
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{shown}: output differs from {}\n--- got:\n{got}--- want:\n{want}",
                golden.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(UPDATE_GOLDEN=1 rewrites the .out files)",
        failures.join("\n")
    );
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Root {
    archive: ArchiveConfig,
}

impl Validate for Root {
    fn validate(&self, v: &mut Validator) {
        self.archive.validate(v)
    }
}

#[test]
fn flume_printed_toml_parses_back_into_the_same_config() {
    let mut imported = 0;
    for (shown, on_disk, _) in cases() {
        let Ok(import) = import(&shown, &on_disk) else {
            continue;
        };
        let toml = flume::to_toml(&import);
        let back = logpipe_core::config::parse::<Root>(Path::new("printed.toml"), &toml)
            .unwrap_or_else(|e| panic!("{shown}: the printed TOML does not load:\n{e}\n{toml}"))
            .archive;
        assert_eq!(
            format!("{back:?}"),
            format!("{:?}", import.config),
            "{shown}: round trip changed the config:\n{toml}"
        );
        imported += 1;
    }
    assert!(
        imported >= 4,
        "only {imported} cases import; the round trip proves little"
    );
}

#[test]
fn reference_flume_config_matches_the_default_layout() {
    let import = flume::import(&Path::new(MANIFEST).join(REFERENCE), "a1")
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert!(
        import.notes.iter().all(|d| d.severity == Severity::Note),
        "the reference imports without warnings: {:#?}",
        import.notes
    );
    let (got, default) = (&import.config, ArchiveConfig::default());
    assert_eq!(got.path, default.path);
    assert_eq!(got.topics, default.topics);
    assert_eq!(got.group_id, default.group_id);
    assert_eq!(format!("{:?}", got.roll), format!("{:?}", default.roll));
    assert_eq!(got.time_source, default.time_source);
    assert_eq!(got.time_field, default.time_field);
    assert_eq!(got.time_zone, default.time_zone);
    assert_eq!(got.round, default.round);
    assert_eq!(got.start_offset, default.start_offset);
    assert_eq!(got.completeness.markers, default.completeness.markers);
    // The documented differences: Flume cannot write zstd, and the root is
    // an HDFS URL rather than a local directory.
    assert_eq!((default.codec, got.codec), (Codec::Zstd, Codec::Gzip));
    assert_eq!(got.url, "hdfs://nn1.internal:8020/logpipe/archive");
    assert_eq!(
        got.kafka.get("bootstrap.servers"),
        Some("kafka1.internal:9092,kafka2.internal:9092")
    );
}

#[test]
fn flume_import_of_a_missing_file_names_it() {
    let e = flume::import(Path::new("/nonexistent/agent.conf"), "a1").unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].to_string()
            .starts_with("/nonexistent/agent.conf: error: cannot read"),
        "{}",
        e[0]
    );
}
