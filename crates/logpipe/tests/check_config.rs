//! `logpipe check-config`: golden tests for its error report (every problem,
//! with file:line:column, the key and what was expected), and every example
//! config in `config/` must pass. Set `UPDATE_GOLDEN=1` to rewrite the
//! expected `.err` files after a deliberate change of wording.

use std::path::{Path, PathBuf};
use std::process::Command;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check(dir: &Path, file: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .args(["check-config", file])
        .current_dir(dir)
        .env("RUST_LOG", "off")
        .output()
        .expect("run logpipe");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_golden(name: &str) {
    let dir = golden_dir();
    let (ok, _, stderr) = check(&dir, &format!("{name}.toml"));
    assert!(!ok, "{name}.toml must be rejected");
    let expected_path = dir.join(format!("{name}.err"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &stderr).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(stderr, expected, "report for {name}.toml changed");
}

#[test]
fn unknown_keys_are_each_reported_with_position_and_the_allowed_keys() {
    assert_golden("unknown_key");
}

#[test]
fn wrong_types_name_the_key_and_the_expected_type() {
    assert_golden("wrong_type");
}

#[test]
fn bad_durations_say_how_to_write_one() {
    assert_golden("bad_duration");
}

#[test]
fn missing_secret_files_are_reported_at_their_key() {
    assert_golden("missing_secret_file");
}

#[test]
fn missing_config_file_is_reported() {
    assert_golden("missing_config_file");
}

#[test]
fn invalid_enum_values_list_the_choices() {
    assert_golden("invalid_values");
}

#[test]
fn toml_syntax_errors_point_at_the_character() {
    assert_golden("syntax_error");
}

/// `[kafka] no_such_key = 1` in every `[*.kafka]` table: librdkafka's own
/// "No such configuration property", at the key, with the nearest name it
/// knows when there is one (`linger.mss`, a `_file` secret's name).
#[test]
fn unknown_librdkafka_properties_are_reported_in_every_kafka_table() {
    assert_golden("kafka_unknown_key");
}

/// `bootstrap_servers` (underscore) in every `[*.kafka]` table suggests
/// `bootstrap.servers`.
#[test]
fn underscore_spellings_of_librdkafka_properties_suggest_the_dotted_name() {
    assert_golden("kafka_underscore_key");
}

/// `acks = "maybe"`, `session.timeout.ms = "soon"`, an unknown codec, a
/// value out of range: librdkafka's verdict at the value, with the range or
/// choices it documents.
#[test]
fn values_librdkafka_refuses_are_reported_at_the_value() {
    assert_golden("kafka_bad_value");
}

/// A consumer property in `[generate.kafka]` (only a producer is built from
/// it) is an error; in the shared `[kafka]` and in the tables of the
/// consuming daemons (consumer + dead-letter producer) either kind is fine.
#[test]
fn consumer_properties_in_the_generators_kafka_table_are_refused() {
    assert_golden("kafka_wrong_client");
}

/// Each daemon refuses to start on such a config with the report
/// `check-config` gives, line for line.
#[test]
fn daemons_refuse_bad_kafka_properties_with_the_check_config_report() {
    let dir = golden_dir();
    for name in [
        "kafka_unknown_key",
        "kafka_underscore_key",
        "kafka_bad_value",
        "kafka_wrong_client",
    ] {
        let file = format!("{name}.toml");
        let (_, _, report) = check(&dir, &file);
        let problems: Vec<&str> = report
            .lines()
            .filter(|l| !l.contains("problem(s) found"))
            .collect();
        assert!(!problems.is_empty(), "{report}");
        let expected = format!("error: {}\n", problems.join("\n"));
        for daemon in ["generate", "process", "archive"] {
            let out = Command::new(env!("CARGO_BIN_EXE_logpipe"))
                .args([daemon, "--config", &file])
                .current_dir(&dir)
                .env("RUST_LOG", "off")
                .env_remove("NOTIFY_SOCKET")
                .output()
                .expect("run logpipe");
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert!(!out.status.success(), "{daemon} started with {file}");
            assert_eq!(stderr, expected, "logpipe {daemon} --config {file}");
        }
    }
}

/// A valid config whose roll settings will fill HDFS with small files
/// passes, with a warning at each such key (golden `small_files.warn`).
#[test]
fn small_file_settings_pass_with_a_warning_at_each_key() {
    let dir = golden_dir();
    let (ok, stdout, stderr) = check(&dir, "small_files.toml");
    assert!(ok, "warnings must not fail the check:\n{stderr}");
    assert_eq!(stdout.trim(), "small_files.toml: ok");
    let expected_path = dir.join("small_files.warn");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_path, &stderr).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(stderr, expected, "warnings for small_files.toml changed");
}

#[test]
fn out_of_range_values_are_reported_by_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[generate]\ncount = 0\nrate = -1.0\n",
    )
    .unwrap();
    let (ok, _, stderr) = check(dir.path(), "c.toml");
    assert!(!ok);
    assert!(
        stderr.contains("c.toml:2:1: `generate.count`: must be ≥ 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("c.toml:3:1: `generate.rate`: must be a number ≥ 0"),
        "{stderr}"
    );
}

/// Every example in `config/` passes, with its secret files provided the way
/// systemd would (the `/run/credentials/` paths redirected to a temp dir).
#[test]
fn every_example_config_is_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let tmp = tempfile::tempdir().unwrap();
    let creds = tmp.path().join("credentials");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace("/run/credentials/", &format!("{}/", creds.display()));
        for line in text.lines() {
            if let Some(secret) = line
                .split('"')
                .nth(1)
                .filter(|p| p.starts_with(creds.to_str().unwrap()))
            {
                let secret = Path::new(secret);
                std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
                std::fs::write(secret, "example-secret\n").unwrap();
            }
        }
        let name = path.file_name().unwrap().to_str().unwrap();
        std::fs::write(tmp.path().join(name), text).unwrap();
        let (ok, stdout, stderr) = check(tmp.path(), name);
        assert!(ok, "config/{name} is invalid:\n{stderr}");
        assert_eq!(stdout.trim(), format!("{name}: ok"));
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the example configs in config/, found {checked}"
    );
}
