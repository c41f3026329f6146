//! The systemd units in `systemd/`: every one passes `systemd-analyze verify`
//! with no output at all (it only warns on unknown keys and bad values, and
//! still exits 0), has a `systemd-analyze security --offline=true` exposure of
//! at most 2.0, and loads exactly the credentials that `config/logpipe.toml`
//! reads from `/run/credentials/<unit>/`. The checks themselves are proven to
//! fail on a unit with a typo and on an unhardened unit.
//!
//! verify runs in a scratch root (`--root`) holding the machine's own unit
//! directory, the real `logpipe` binary at `/usr/bin/logpipe` and the
//! machine's `systemd-cat` (logpipe-failure@.service), so the units'
//! `ExecStart=` resolves exactly as on an installed host. Exposure is
//! measured for the services; a timer runs no process of its own (it
//! starts logpipe-rollup.service, which is measured).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The hardening target (DESIGN.md §5).
const MAX_EXPOSURE: f64 = 2.0;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn units() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(repo().join("systemd"))
        .expect("systemd/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("service" | "timer" | "target" | "socket" | "path")
            )
        })
        .collect();
    units.sort();
    assert!(!units.is_empty(), "no units in systemd/");
    units
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// A template is verified and measured as one instance of it.
fn instance_name(unit: &str) -> String {
    unit.replacen("@.", "@example.", 1)
}

/// A scratch root for `systemd-analyze verify --root`: the machine's units
/// (for sysinit.target and friends) and the real binary at /usr/bin/logpipe.
fn verify_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("the machine's systemd unit directory (install the systemd package)");
    let dest = root.path().join("usr/lib/systemd/system");
    std::fs::create_dir_all(&dest).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", system_units.display()))
        .arg(&dest)
        .status()
        .unwrap();
    assert!(status.success(), "copy {}", system_units.display());
    let bin = root.path().join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = Path::new(env!("CARGO_BIN_EXE_logpipe"));
    if std::fs::hard_link(exe, bin.join("logpipe")).is_err() {
        std::fs::copy(exe, bin.join("logpipe")).unwrap();
    }
    // logpipe-failure@.service logs through the machine's systemd-cat.
    let cat = ["/usr/bin/systemd-cat", "/bin/systemd-cat"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("systemd-cat (install the systemd package)");
    std::fs::copy(cat, bin.join("systemd-cat")).unwrap();
    std::fs::create_dir_all(root.path().join("etc/systemd/system")).unwrap();
    root
}

/// `systemd-analyze verify` of `unit` installed into `root`: its combined
/// output (empty when clean) and whether it exited 0.
fn verify(root: &Path, unit: &Path, name: &str) -> (bool, String) {
    let dir = root.join("etc/systemd/system");
    std::fs::copy(unit, dir.join(file_name(unit))).unwrap();
    let out = Command::new("systemd-analyze")
        .arg(format!("--root={}", root.display()))
        .args(["verify", name])
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze (install the systemd package)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The overall exposure `systemd-analyze security --offline=true` reports.
fn exposure(unit: &Path) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let name = instance_name(&file_name(unit));
    // An instance of a template is measured from a copy named like one.
    let path = dir.path().join(&name);
    std::fs::copy(unit, &path).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&path)
        .env("SYSTEMD_COLORS", "0")
        .output()
        .expect("run systemd-analyze");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "{name}: no exposure in systemd-analyze security output:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let value = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name}: cannot read the exposure in {line:?}"));
    value
}

/// The `Key=value` lines of a unit, in order (comments and sections dropped).
fn directives(unit: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(unit)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('[') && !l.is_empty())
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_unit_verifies_without_a_single_line_of_output() {
    let root = verify_root();
    for unit in units() {
        let name = instance_name(&file_name(&unit));
        let (ok, output) = verify(root.path(), &unit, &name);
        assert!(
            ok && output.trim().is_empty(),
            "systemd-analyze verify {name}: exit ok={ok}, output:\n{output}"
        );
    }
}

#[test]
fn every_unit_has_exposure_at_most_2() {
    let mut measured = BTreeMap::new();
    for unit in units() {
        if unit.extension().is_some_and(|e| e == "service") {
            measured.insert(file_name(&unit), exposure(&unit));
        }
    }
    for batch in [
        "logpipe-rollup.service",
        "logpipe-rollup@.service",
        "logpipe-failure@.service",
    ] {
        assert!(
            measured.contains_key(batch),
            "{batch} measured: {measured:?}"
        );
    }
    eprintln!("systemd-analyze security --offline=true: {measured:?}");
    for (unit, value) in &measured {
        assert!(
            *value <= MAX_EXPOSURE,
            "{unit}: exposure {value} > {MAX_EXPOSURE} (systemd-analyze security --offline=true)"
        );
    }
}

#[test]
fn the_checks_catch_a_typo_and_an_unhardened_unit() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("logpipe-typo.service");
    std::fs::write(
        &typo,
        "[Service]\nType=notify\nExecStart=/usr/bin/logpipe generate\nProtectSytem=strict\n",
    )
    .unwrap();
    let root = verify_root();
    let (ok, output) = verify(root.path(), &typo, "logpipe-typo.service");
    assert!(
        ok && output.contains("ProtectSytem"),
        "verify must exit 0 yet name the unknown key (which is why any output fails): ok={ok} {output:?}"
    );
    let bare = dir.path().join("logpipe-bare.service");
    std::fs::write(&bare, "[Service]\nExecStart=/usr/bin/logpipe generate\n").unwrap();
    let value = exposure(&bare);
    assert!(
        value > MAX_EXPOSURE,
        "an unhardened unit must measure above {MAX_EXPOSURE}, got {value}"
    );
}

/// Every `/run/credentials/<unit>/<name>` that the example config reads is
/// loaded by that unit (`LoadCredential=<name>:...`), from a file under
/// /etc/logpipe/credentials/; and every unit runs the daemon its name says,
/// on /etc/logpipe/logpipe.toml, checked by `check-config` first.
#[test]
fn credentials_in_the_example_config_are_loaded_by_their_units() {
    let config = std::fs::read_to_string(repo().join("config/logpipe.toml")).unwrap();
    let mut wanted: Vec<(String, String)> = Vec::new();
    for line in config.lines().filter(|l| !l.trim_start().starts_with('#')) {
        if let Some(rest) = line.split("\"/run/credentials/").nth(1) {
            let path = rest.split('"').next().unwrap();
            let (unit, name) = path.split_once('/').expect("credential path <unit>/<name>");
            wanted.push((unit.to_string(), name.to_string()));
        }
    }
    assert!(
        wanted.len() >= 2,
        "config/logpipe.toml reads the ingest token and the database password from credentials: {wanted:?}"
    );
    for (unit, name) in &wanted {
        let path = repo().join("systemd").join(unit);
        assert!(
            path.exists(),
            "config/logpipe.toml reads a credential of {unit}, which systemd/ lacks"
        );
        let loads: Vec<String> = directives(&path)
            .into_iter()
            .filter(|(k, _)| k == "LoadCredential")
            .map(|(_, v)| v)
            .collect();
        assert!(
            loads.contains(&format!("{name}:/etc/logpipe/credentials/{name}")),
            "{unit} must have LoadCredential={name}:/etc/logpipe/credentials/{name}; it has {loads:?}"
        );
    }
    for (unit, daemon) in [
        ("logpipe-generate.service", "generate"),
        ("logpipe-process.service", "process"),
        ("logpipe-archive.service", "archive"),
    ] {
        let d = directives(&repo().join("systemd").join(unit));
        let get = |key: &str| -> Vec<&str> {
            d.iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(
            get("ExecStart"),
            [format!(
                "/usr/bin/logpipe {daemon} --config /etc/logpipe/logpipe.toml"
            )],
            "{unit}"
        );
        assert_eq!(
            get("ExecStartPre"),
            ["/usr/bin/logpipe check-config /etc/logpipe/logpipe.toml"],
            "{unit}"
        );
        assert_eq!(get("Type"), ["notify"], "{unit}");
        assert_eq!(get("Restart"), ["on-failure"], "{unit}");
    }
}

/// `TimeoutStopSec=` of every daemon's unit is above that daemon's drain
/// timeout in the example config (or its built-in default), so systemd never
/// SIGKILLs a drain that is still within its budget.
#[test]
fn stop_timeouts_exceed_the_drain_timeouts() {
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("config/logpipe.toml")).unwrap())
            .unwrap();
    // Built-in defaults (crates/logpipe-*/src/config.rs) when the example omits it.
    for (unit, section, default_secs) in [
        ("logpipe-generate.service", "generate", 10),
        ("logpipe-process.service", "process", 30),
        ("logpipe-archive.service", "archive", 60),
        ("logpipe-process@.service", "process", 30),
        ("logpipe-archive@.service", "archive", 60),
    ] {
        let drain = config
            .get(section)
            .and_then(|s| s.get("drain_timeout"))
            .and_then(|v| v.as_str())
            .map(seconds)
            .unwrap_or(default_secs);
        let stop = directives(&repo().join("systemd").join(unit))
            .into_iter()
            .find(|(k, _)| k == "TimeoutStopSec")
            .map(|(_, v)| seconds(&v))
            .unwrap_or_else(|| panic!("{unit}: no TimeoutStopSec="));
        assert!(
            stop >= drain + 10,
            "{unit}: TimeoutStopSec={stop}s must exceed [{section}] drain_timeout={drain}s by 10s or more"
        );
    }
}

/// The rollup is a batch: `Type=oneshot`, no `Restart=` (the timer's next
/// run, or a re-run by hand, repeats a failed day), a start timeout above
/// the sensor's wait, exit 75 (not complete in time) a failure that
/// `OnFailure=` reports, and a daily persistent timer that starts it.
#[test]
fn the_rollup_is_a_oneshot_batch_on_a_daily_timer() {
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("config/logpipe.toml")).unwrap())
            .unwrap();
    let wait = config
        .get("rollup")
        .and_then(|s| s.get("wait"))
        .and_then(|v| v.as_str())
        .map(seconds)
        .unwrap_or(7200);
    for (unit, exec) in [
        (
            "logpipe-rollup.service",
            "/usr/bin/logpipe rollup --config /etc/logpipe/logpipe.toml",
        ),
        (
            "logpipe-rollup@.service",
            "/usr/bin/logpipe rollup --config /etc/logpipe/logpipe.toml --date %i",
        ),
    ] {
        let d = directives(&repo().join("systemd").join(unit));
        let get = |key: &str| -> Vec<&str> {
            d.iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("Type"), ["oneshot"], "{unit}");
        assert_eq!(get("ExecStart"), [exec], "{unit}");
        assert_eq!(
            get("ExecStartPre"),
            ["/usr/bin/logpipe check-config /etc/logpipe/logpipe.toml"],
            "{unit}"
        );
        assert!(
            get("Restart").is_empty(),
            "{unit}: no Restart= for a timer's batch"
        );
        assert!(
            get("SuccessExitStatus")
                .iter()
                .all(|v| !v.split_whitespace().any(|c| c == "75")),
            "{unit}: exit 75 must fail the unit"
        );
        assert_eq!(get("OnFailure"), ["logpipe-failure@%n.service"], "{unit}");
        assert_eq!(
            get("LoadCredential"),
            ["db-password:/etc/logpipe/credentials/db-password"],
            "{unit}"
        );
        let start = get("TimeoutStartSec");
        assert_eq!(start.len(), 1, "{unit}: TimeoutStartSec=");
        assert!(
            seconds(start[0]) > wait,
            "{unit}: TimeoutStartSec={} must exceed [rollup] wait={wait}s",
            start[0]
        );
    }
    let timer = directives(&repo().join("systemd/logpipe-rollup.timer"));
    let has = |key: &str, value: &str| timer.iter().any(|(k, v)| k == key && v == value);
    assert!(has("Unit", "logpipe-rollup.service"), "{timer:?}");
    assert!(has("Persistent", "true"), "{timer:?}");
    assert!(has("WantedBy", "timers.target"), "{timer:?}");
    for key in ["OnCalendar", "RandomizedDelaySec", "AccuracySec"] {
        assert!(timer.iter().any(|(k, _)| k == key), "timer: no {key}=");
    }
}

/// "30s", "2min", "1m" as seconds.
fn seconds(v: &str) -> u64 {
    let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits.parse().unwrap_or_else(|_| panic!("duration {v:?}"));
    match &v[digits.len()..] {
        "s" | "" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        other => panic!("duration {v:?}: unit {other:?}"),
    }
}
