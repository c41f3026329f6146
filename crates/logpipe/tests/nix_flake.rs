//! `flake.nix` and `nix/`: every `.nix` file parses (`nix-instantiate
//! --parse`), and the flake evaluates against the local stand-in for nixpkgs
//! (`nix/stand-in-nixpkgs`, passed with `--override-input`; nixpkgs itself
//! cannot be downloaded here): the package is built from Cargo.lock with the
//! workspace version and installs the units, `apps`/`checks`/`devShells`
//! exist, and the NixOS module renders, for each daemon, a unit drop-in and a
//! TOML config that the real binary's `check-config` accepts (and refuses
//! with an unknown key), and for the rollup its units, timer and a config
//! with `[archive]`, `[process]` and `[rollup]` (refused with a bad measure). What a real `nix build` would add — nixpkgs itself
//! compiling the crate — is not proven here.

use std::path::{Path, PathBuf};
use std::process::Command;

const SYSTEM: &str = "x86_64-linux";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Run a nix command. One at a time: on a fresh machine the first nix
/// command creates `/nix/var/nix` (gcroots, profiles), and two tests doing
/// so at once fail with "creating symlink … File exists".
fn nix(args: &[&str]) -> (bool, String, String) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = Command::new(args[0])
        .args(&args[1..])
        .env(
            "NIX_CONFIG",
            "experimental-features = nix-command flakes\nbuild-users-group =",
        )
        .output()
        .unwrap_or_else(|e| panic!("run {} (install nix-bin): {e}", args[0]));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn nix_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            nix_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "nix") {
            found.push(path);
        }
    }
}

#[test]
fn every_nix_file_parses() {
    let mut files = vec![repo().join("flake.nix")];
    nix_files(&repo().join("nix"), &mut files);
    assert!(files.len() >= 5, "flake.nix and nix/: {files:?}");
    for file in files {
        let (ok, _, err) = nix(&["nix-instantiate", "--parse", file.to_str().unwrap()]);
        assert!(ok, "nix-instantiate --parse {}:\n{err}", file.display());
    }
}

/// The flake's sources in a scratch directory (a `path:` flake: no git).
fn flake_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for item in [
        "flake.nix",
        "nix",
        "Cargo.toml",
        "Cargo.lock",
        "systemd",
        "config",
        "README.md",
    ] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo().join(item))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "copy {item}");
    }
    dir
}

/// `nix eval --json` of `attr` of the flake in `dir`, through `apply`.
fn eval(dir: &Path, attr: &str, apply: &str) -> serde_json::Value {
    let stand_in = format!("path:{}/nix/stand-in-nixpkgs", dir.display());
    let flake = format!("path:{}#{attr}", dir.display());
    let (ok, out, err) = nix(&[
        "nix",
        "eval",
        "--impure",
        "--json",
        "--no-write-lock-file",
        "--override-input",
        "nixpkgs",
        &stand_in,
        "--apply",
        apply,
        &flake,
    ]);
    assert!(ok, "nix eval {attr}:\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("nix eval {attr}: {e}: {out}"))
}

#[test]
fn the_flake_evaluates_against_the_stand_in_nixpkgs() {
    let dir = flake_copy();
    let package = eval(
        dir.path(),
        &format!("packages.{SYSTEM}.default"),
        "p: { inherit (p) pname version cargoBuildFlags postInstall; lock = baseNameOf (toString p.cargoLock.lockFile); }",
    );
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let version = workspace["workspace"]["package"]["version"]
        .as_str()
        .unwrap();
    assert_eq!(package["pname"], "logpipe");
    assert_eq!(package["version"], version);
    assert_eq!(package["lock"], "Cargo.lock");
    assert_eq!(
        package["cargoBuildFlags"],
        serde_json::json!(["--package", "logpipe"])
    );
    let post = package["postInstall"].as_str().unwrap();
    assert!(
        post.contains("$out/lib/systemd/system")
            && post.contains("s|/usr/bin/logpipe|$out/bin/logpipe|g"),
        "units installed with ExecStart into $out:\n{post}"
    );
    let app = eval(dir.path(), &format!("apps.{SYSTEM}.default"), "a: a");
    assert_eq!(app["type"], "app");
    assert!(
        app["program"]
            .as_str()
            .unwrap()
            .ends_with("-logpipe-0.1.0/bin/logpipe"),
        "{app}"
    );
    let checks = eval(
        dir.path(),
        &format!("checks.{SYSTEM}"),
        "c: builtins.attrNames c",
    );
    assert_eq!(
        checks,
        serde_json::json!(["build", "clippy", "fmt", "tests"])
    );
    let clippy = eval(
        dir.path(),
        &format!("checks.{SYSTEM}.clippy"),
        "c: c.buildPhase",
    );
    assert!(clippy.as_str().unwrap().contains("-D warnings"), "{clippy}");
    let shell = eval(
        dir.path(),
        &format!("devShells.{SYSTEM}.default"),
        "s: s.name",
    );
    assert_eq!(shell, "shell");
}

/// The NixOS module evaluated with `values` for services.logpipe.
fn module(dir: &Path, values: &str) -> serde_json::Value {
    let s = dir.join("nix/stand-in-nixpkgs");
    let apply = format!(
        "m: let lib = import {s}/lib.nix; pkgs = import {s}/pkgs.nix {{ inherit lib; system = \"{SYSTEM}\"; }}; \
         in import {s}/module-eval.nix {{ module = m; inherit pkgs; values.services.logpipe = {values}; }}",
        s = s.display()
    );
    eval(dir, "nixosModules.default", &apply)
}

/// `logpipe check-config` of a rendered file, its credentials redirected to
/// files in a scratch directory (as systemd's LoadCredential= would).
fn check_rendered(file: &str) -> (bool, String) {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for unit in ["generate", "process", "archive", "rollup"] {
        let creds = dir.path().join(format!("logpipe-{unit}.service"));
        std::fs::create_dir_all(&creds).unwrap();
        for name in ["ingest-token", "db-password"] {
            std::fs::write(creds.join(name), "s3cret\n").unwrap();
        }
    }
    let local = dir.path().join("config.toml");
    std::fs::write(
        &local,
        text.replace("/run/credentials/", &format!("{}/", dir.path().display())),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logpipe"))
        .arg("check-config")
        .arg(&local)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{text}\n---\n{}", String::from_utf8_lossy(&out.stderr)),
    )
}

const ALL_DAEMONS: &str = r#"{
  kafka.bootstrapServers = "k1:9092,k2:9092";
  generate = { enable = true; rate = 500; credentials."ingest-token" = "/run/keys/token"; };
  process = { enable = true; databaseUrl = "mysql://logpipe@db1:3306/logpipe"; credentials."db-password" = "/run/keys/db"; };
  archive = { enable = true; url = "hdfs://nn1:8020/logpipe/archive"; codec = "gzip"; };
}"#;

#[test]
fn the_nixos_module_renders_configs_the_binary_accepts() {
    let dir = flake_copy();
    let config = module(dir.path(), ALL_DAEMONS);
    let package = config["systemd"]["packages"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        package.ends_with("-logpipe-0.1.0"),
        "systemd.packages: the units of systemd/ ({package})"
    );
    for (daemon, credential) in [
        ("generate", Some("ingest-token:/run/keys/token")),
        ("process", Some("db-password:/run/keys/db")),
        ("archive", None),
    ] {
        let unit = &config["systemd"]["services"][format!("logpipe-{daemon}")];
        assert_eq!(unit["overrideStrategy"], "asDropin", "{daemon}: {unit}");
        let service = &unit["serviceConfig"];
        let exec = service["ExecStart"][1].as_str().unwrap();
        let prefix = format!("{package}/bin/logpipe {daemon} --config ");
        let file = exec.strip_prefix(&prefix).unwrap_or_else(|| {
            panic!("{daemon}: ExecStart {exec:?} does not start with {prefix:?}")
        });
        assert_eq!(
            service["ExecStart"][0], "",
            "{daemon}: the unit's ExecStart is reset"
        );
        assert_eq!(
            service["ExecStartPre"][1].as_str().unwrap(),
            format!("{package}/bin/logpipe check-config {file}")
        );
        let loads: Vec<&str> = service["LoadCredential"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let expected: Vec<&str> = std::iter::once("").chain(credential).collect();
        assert_eq!(loads, expected, "{daemon}: LoadCredential");
        let (ok, report) = check_rendered(file);
        assert!(ok, "{daemon}: rendered config refused:\n{report}");
        let rendered: toml::Table =
            toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert!(
            rendered.contains_key(daemon) && rendered.contains_key("kafka"),
            "{daemon}: [kafka] and [{daemon}] rendered:\n{report}"
        );
    }
}

#[test]
fn an_unknown_settings_key_is_refused_by_check_config() {
    let dir = flake_copy();
    let config = module(
        dir.path(),
        r#"{
  kafka.bootstrapServers = "k1:9092";
  process = { enable = true; databaseUrl = "mysql://logpipe@db1:3306/logpipe"; settings.comit_interval = "1s"; };
}"#,
    );
    let services = config["systemd"]["services"].as_object().unwrap();
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["logpipe-process"],
        "only enabled daemons get a unit"
    );
    let exec = services["logpipe-process"]["serviceConfig"]["ExecStart"][1]
        .as_str()
        .unwrap();
    let file = exec.rsplit(' ').next().unwrap();
    let (ok, report) = check_rendered(file);
    assert!(
        !ok && report.contains("comit_interval"),
        "a typo in settings must be refused naming the key:\n{report}"
    );
}

/// A host running only the rollup: [archive] describes the archive it reads
/// (the archiver itself is not enabled), [process] the consumer group.
fn rollup(metric: &str) -> String {
    format!(
        r#"{{
  archive = {{ url = "hdfs://nn1:8020/logpipe/archive"; codec = "gzip"; }};
  process.groupId = "logpipe-process-eu";
  rollup = {{
    enable = true;
    schedule = "*-*-* 02:15:00 UTC";
    databaseUrl = "mysql://logpipe@db1:3306/logpipe";
    databasePasswordFile = "/run/keys/db";
    pushgateway = "http://127.0.0.1:9091";
    metrics = [ {metric} ];
  }};
}}"#
    )
}

#[test]
fn the_nixos_module_renders_the_rollup_units_timer_and_config() {
    let dir = flake_copy();
    let config = module(
        dir.path(),
        &rollup(r#"{ name = "events_by_level"; topic = "logs"; groupBy = [ "level" ]; }"#),
    );
    let package = config["systemd"]["packages"][0]
        .as_str()
        .unwrap()
        .to_string();
    let services = config["systemd"]["services"].as_object().unwrap();
    assert_eq!(
        services.keys().collect::<Vec<_>>(),
        ["logpipe-failure@", "logpipe-rollup", "logpipe-rollup@"],
        "only the rollup's units (and its OnFailure= handler)"
    );
    let mut files = Vec::new();
    for (unit, date) in [("logpipe-rollup", ""), ("logpipe-rollup@", " --date %i")] {
        assert_eq!(
            services[unit]["overrideStrategy"], "asDropin",
            "{unit}: {}",
            services[unit]
        );
        let service = &services[unit]["serviceConfig"];
        let exec = service["ExecStart"][1].as_str().unwrap();
        let prefix = format!("{package}/bin/logpipe rollup --config ");
        let file = exec
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(date))
            .unwrap_or_else(|| {
                panic!("{unit}: ExecStart {exec:?} is not {prefix:?} <file>{date:?}")
            });
        assert_eq!(
            service["ExecStart"][0], "",
            "{unit}: the unit's ExecStart is reset"
        );
        assert_eq!(
            service["ExecStartPre"][1].as_str().unwrap(),
            format!("{package}/bin/logpipe check-config {file}")
        );
        assert_eq!(
            service["LoadCredential"],
            serde_json::json!(["", "db-password:/run/keys/db"]),
            "{unit}: LoadCredential"
        );
        files.push(file.to_string());
    }
    assert_eq!(files[0], files[1], "both rollup units read the same config");
    let timer = &config["systemd"]["timers"]["logpipe-rollup"];
    assert_eq!(timer["overrideStrategy"], "asDropin", "{timer}");
    assert_eq!(
        timer["timerConfig"]["OnCalendar"],
        serde_json::json!(["", "*-*-* 02:15:00 UTC"]),
        "the timer's OnCalendar= is reset to rollup.schedule"
    );
    assert_eq!(timer["wantedBy"], serde_json::json!(["timers.target"]));
    let (ok, report) = check_rendered(&files[0]);
    assert!(ok, "rollup: rendered config refused:\n{report}");
    let rendered: toml::Table =
        toml::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(
        rendered["archive"]["url"].as_str(),
        Some("hdfs://nn1:8020/logpipe/archive"),
        "{report}"
    );
    assert_eq!(
        rendered["process"]["group_id"].as_str(),
        Some("logpipe-process-eu"),
        "{report}"
    );
    let section = rendered["rollup"].as_table().unwrap();
    assert_eq!(
        section["database_password_file"].as_str(),
        Some("/run/credentials/logpipe-rollup.service/db-password"),
        "{report}"
    );
    let metric = &section["metric"].as_array().unwrap()[0];
    assert_eq!(metric["measure"].as_str(), Some("count"), "{report}");
    assert_eq!(
        metric["group_by"].as_array().unwrap()[0].as_str(),
        Some("level"),
        "{report}"
    );
}

#[test]
fn a_bad_rollup_measure_is_refused_by_check_config() {
    let dir = flake_copy();
    let config = module(
        dir.path(),
        &rollup(r#"{ name = "median_latency"; topic = "logs"; measure = "median(x)"; }"#),
    );
    let exec = config["systemd"]["services"]["logpipe-rollup"]["serviceConfig"]["ExecStart"][1]
        .as_str()
        .unwrap();
    let file = exec.rsplit(' ').next().unwrap();
    let (ok, report) = check_rendered(file);
    assert!(
        !ok && report.contains("`rollup.metric[0].measure`: unknown measure \"median(x)\""),
        "a bad measure must be refused naming the key:\n{report}"
    );
}
