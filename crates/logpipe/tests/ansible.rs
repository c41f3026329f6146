//! `ansible/`: `site.yml` passes `ansible-playbook --syntax-check` against the
//! example inventory and `ansible-lint` with the production profile, and the
//! logpipe role's config task renders a `/etc/logpipe/logpipe.toml` that the
//! real binary accepts (the role's own `check-config` validation), while a
//! bad inventory value is refused by that same validation.
//!
//! Ansible and ansible-lint come from pip, in the virtualenv scripts/test
//! creates (`target/ansible-venv`, or `LOGPIPE_ANSIBLE_VENV`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn venv_bin(tool: &str) -> PathBuf {
    let venv = std::env::var_os("LOGPIPE_ANSIBLE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/ansible-venv"));
    let bin = venv.join("bin").join(tool);
    assert!(
        bin.exists(),
        "{} is missing: scripts/test creates the Ansible virtualenv (pip install ansible ansible-lint)",
        bin.display()
    );
    bin
}

fn run(tool: &str, args: &[&str]) -> Output {
    let bin = venv_bin(tool);
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(&bin)
        .args(args)
        .current_dir(repo().join("ansible"))
        .env("PATH", path)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("NO_COLOR", "1")
        .env("ANSIBLE_LOCAL_TEMP", std::env::temp_dir())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn site_yml_passes_the_syntax_check() {
    let out = run(
        "ansible-playbook",
        &["--syntax-check", "-i", "inventories/example", "site.yml"],
    );
    assert!(
        out.status.success(),
        "ansible-playbook --syntax-check:\n{}",
        text(&out)
    );
}

#[test]
fn site_yml_and_every_role_pass_ansible_lint_production() {
    let out = run(
        "ansible-lint",
        &[
            "--nocolor",
            "--profile",
            "production",
            "site.yml",
            "roles",
            "tests",
        ],
    );
    let report = text(&out);
    assert!(
        out.status.success() && report.contains("Profile 'production' was required, and it passed"),
        "ansible-lint --profile production:\n{report}"
    );
}

/// Render the config task with `extra` variables; Ok(dir) when it passed.
fn render(extra: &[&str]) -> (bool, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let creds = dir.path().join("credentials");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&creds).unwrap();
    for name in ["ingest-token", "db-password", "kafka-password"] {
        std::fs::write(creds.join(name), "s3cret\n").unwrap();
    }
    let vars = [
        format!("render_dir={}", out_dir.display()),
        format!("credentials_dir={}", creds.display()),
        format!("logpipe_bin={}", env!("CARGO_BIN_EXE_logpipe")),
    ];
    let mut args = vec!["-i", "localhost,", "tests/render-config.yml"];
    for v in &vars {
        args.extend(["-e", v.as_str()]);
    }
    for v in extra {
        args.extend(["-e", v]);
    }
    let out = run("ansible-playbook", &args);
    (out.status.success(), text(&out), dir)
}

#[test]
fn the_role_renders_configs_the_binary_accepts() {
    let (ok, report, dir) = render(&[]);
    assert!(ok, "render-config.yml:\n{report}");
    let read = |rel: &str| {
        let file = dir.path().join("out").join(rel);
        std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e}\n{report}", file.display()))
    };
    // Several daemons on one host: one file per daemon, holding only its own
    // section (and so only its own secrets).
    for variant in ["plain", "sasl"] {
        for daemon in ["generate", "process", "archive"] {
            let config = read(&format!("all/{variant}/logpipe-{daemon}.toml"));
            let table: toml::Table = toml::from_str(&config).unwrap();
            let mut sections: Vec<&str> = table.keys().map(String::as_str).collect();
            sections.sort();
            let mut expected = vec!["kafka", daemon];
            expected.sort();
            assert_eq!(sections, expected, "{variant}/{daemon}:\n{config}");
            assert_eq!(
                config.contains(&format!(
                    "/run/credentials/logpipe-{daemon}.service/kafka-password"
                )),
                variant == "sasl",
                "{variant}/{daemon}:\n{config}"
            );
            assert!(
                !["generate", "process", "archive"]
                    .iter()
                    .filter(|other| **other != daemon)
                    .any(|other| config.contains(&format!("logpipe-{other}.service"))),
                "{variant}/{daemon} names another unit's credentials:\n{config}"
            );
        }
        // The rollup's file: the archive it reads and the processor's group,
        // with its own credential only (the rollup reads no Kafka).
        let config = read(&format!("all/{variant}/logpipe-rollup.toml"));
        let table: toml::Table = toml::from_str(&config).unwrap();
        let mut sections: Vec<&str> = table.keys().map(String::as_str).collect();
        sections.sort();
        assert_eq!(
            sections,
            ["archive", "kafka", "process", "rollup"],
            "{variant}/rollup:\n{config}"
        );
        assert!(
            config.contains("/run/credentials/logpipe-rollup.service/db-password")
                && !["generate", "process", "archive"]
                    .iter()
                    .any(|other| config.contains(&format!("logpipe-{other}.service"))),
            "{variant}/rollup names another unit's credentials:\n{config}"
        );
    }
    // One daemon: the single /etc/logpipe/logpipe.toml the units read.
    let single: toml::Table = toml::from_str(&read("single.toml")).unwrap();
    assert!(single.contains_key("process") && !single.contains_key("generate"));
    let rollup: toml::Table = toml::from_str(&read("rollup/logpipe.toml")).unwrap();
    assert!(rollup.contains_key("rollup") && rollup.contains_key("archive"));
}

#[test]
fn a_bad_inventory_value_is_refused_by_the_roles_check() {
    let (ok, report, dir) = render(&["logpipe_archive_codec=snappy"]);
    assert!(!ok, "codec snappy must be refused:\n{report}");
    assert!(
        report.contains("archive.codec") || report.contains("codec"),
        "the refusal names the key:\n{report}"
    );
    assert!(
        !dir.path()
            .join("out/all/plain/logpipe-archive.toml")
            .exists(),
        "a refused config must not be installed"
    );
}
