//! Observability, proven against real servers (no Grafana server can run
//! here, so every query and the dashboards' shape are proven instead):
//!
//! - `promtool` accepts `prometheus/prometheus.yml` and the rules, and every
//!   alert of `prometheus/rules/alerts.yml` has a unit test that fires and
//!   one that stays quiet (`prometheus/tests/alerts.test.yml`);
//! - every dashboard in `grafana/dashboards/` is well formed: unique uids,
//!   datasource uids that provisioning defines, a title, description and
//!   unit on every panel, counters only through `rate`/`increase` over
//!   `$__rate_interval`, Grafana macros in SQL, the pinned `schemaVersion`,
//!   and each type-checks (`tsc --strict`) as `@grafana/schema`'s
//!   `Dashboard` of the pinned Grafana release;
//! - Debian's real `prometheus` scrapes the real `logpipe` daemons (two
//!   generators, the processor, the archiver, all on one librdkafka mock
//!   cluster) and every Prometheus target of every dashboard, template
//!   variables substituted with the values Prometheus reports, returns at
//!   least one series; every MariaDB target, Grafana's macros expanded, runs
//!   as the SELECT-only account of `grafana/mariadb-grafana-user.sql` on the
//!   tables the processor and a real `logpipe rollup` of yesterday filled
//!   (a second archiver, without markers, holds events stamped yesterday)
//!   and returns rows with `time` first; the rollup pushes its result to
//!   Debian's `prometheus-pushgateway`, which Prometheus scrapes;
//! - one alert end to end: a SIGKILLed generator's `LogpipeDaemonDown`
//!   reaches Debian's `prometheus-alertmanager` within the rule's `for:` plus
//!   one scrape and one evaluation interval, and resolves after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use logpipe_testkit::kafka::{mock_cluster, produce, MockCluster, FAST_CLIENT_PROPERTIES};
use logpipe_testkit::mariadb::TestDb;
use logpipe_testkit::process::{free_port, KillOnDrop};
use serde_json::Value;
use sqlx::{Column, Connection, MySqlConnection, Row, ValueRef};

/// The Grafana release the dashboards are written for (README states it),
/// and the dashboard `schemaVersion` of that release.
const GRAFANA_VERSION: &str = "11.6";
const SCHEMA_VERSION: u64 = 41;

/// Events stamped yesterday 12:00 UTC onwards, for the rollup, in a topic
/// of their own (an archiver files a straggler behind its partition's
/// newest directory in that newest one, so they must not follow today's).
const YESTERDAY_EVENTS: usize = 300;
const PAST_AGGREGATION: &str = "\n[[process.aggregation]]\nname = \"past_logs\"\ntopic = \"past-logs\"\nwindow = \"1m\"\ngroup_by = [\"level\"]\n";

/// Intervals of the test's Prometheus, and the test's `for:` of the down alert.
const SCRAPE: Duration = Duration::from_secs(1);
const EVALUATION: Duration = Duration::from_secs(1);
const DOWN_FOR: Duration = Duration::from_secs(5);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A tool Debian installs into /usr/bin (scripts/test installs the packages).
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: scripts/test installs it (Debian packages prometheus, prometheus-alertmanager)");
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

// ---------------------------------------------------------------------------
// promtool

fn promtool(args: &[&str]) -> String {
    let out = Command::new(tool("promtool"))
        .args(args)
        .current_dir(repo().join("prometheus"))
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// The alert names declared in a rules file, in order.
fn alert_names(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|n| n.trim().to_owned())
        .collect()
}

#[test]
fn promtool_accepts_config_and_rules_and_every_alert_has_firing_and_quiet_tests() {
    let out = promtool(&["check", "config", "prometheus.yml"]);
    assert!(out.contains("SUCCESS: prometheus.yml is valid"), "{out}");
    assert!(out.contains("SUCCESS: 2 rule files found"), "{out}");
    let out = promtool(&["check", "rules", "rules/recording.yml", "rules/alerts.yml"]);
    assert_eq!(out.matches("SUCCESS").count(), 2, "{out}");
    let out = promtool(&["test", "rules", "tests/alerts.test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");

    let alerts = alert_names(&read(&repo().join("prometheus/rules/alerts.yml")));
    assert!(alerts.len() >= 19, "{alerts:?}");
    let tests = read(&repo().join("prometheus/tests/alerts.test.yml"));
    for a in &alerts {
        let fires = tests.contains(&format!("- alertname: {a}\n        eval_time: "))
            && tests
                .split(&format!("- alertname: {a}\n"))
                .skip(1)
                .any(|rest| rest.lines().take(3).any(|l| l.trim() == "exp_alerts:"));
        let quiet = tests.contains(&format!("{{alertname: {a}, eval_time: "))
            && tests
                .split(&format!("{{alertname: {a}, eval_time: "))
                .skip(1)
                .any(|rest| {
                    rest.lines()
                        .next()
                        .unwrap_or("")
                        .ends_with("exp_alerts: []}")
                });
        assert!(fires, "{a}: no unit test in which it fires");
        assert!(quiet, "{a}: no unit test in which it stays quiet");
    }
    println!(
        "promtool: config + 2 rule files valid; {} alerts, each with a firing and a quiet unit test",
        alerts.len()
    );
}

// ---------------------------------------------------------------------------
// Dashboards: shape

struct Dashboard {
    file: String,
    json: Value,
}

fn dashboards() -> Vec<Dashboard> {
    let dir = repo().join("grafana/dashboards");
    let mut out: Vec<Dashboard> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = read(&p);
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            Dashboard {
                file: p.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            }
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    assert!(out.len() >= 2, "expected the ops and logs dashboards");
    out
}

/// Every panel (rows' nested panels included), rows excluded.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().into_iter().flatten());
        } else {
            out.push(p);
        }
    }
    out
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The datasource uids `grafana/provisioning/datasources/*.yml` define.
fn provisioned_datasources() -> BTreeMap<String, String> {
    let dir = repo().join("grafana/provisioning/datasources");
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let text = read(&e.unwrap().path());
        let mut uid = None;
        for line in text.lines().map(str::trim) {
            if let Some(u) = line.strip_prefix("uid: ") {
                uid = Some(u.to_owned());
            } else if let (Some(t), Some(u)) = (line.strip_prefix("type: "), uid.take()) {
                out.insert(u, t.to_owned());
            }
        }
    }
    out
}

/// Metric names a PromQL expression reads that are counters or histogram
/// series, each with whether it is wrapped as `rate(name{…}[$__rate_interval])`
/// or `increase(…)`.
fn counter_uses(expr: &str) -> Vec<(String, bool)> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && ((bytes[i] as char).is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b':')
            {
                i += 1;
            }
            let name = &expr[start..i];
            let counter = ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .any(|s| name.ends_with(s))
                && name.contains('_')
                && !expr[..start].ends_with('"')
                && !expr[i..].starts_with('"');
            if counter && expr[i..].trim_start().starts_with(['{', '[']) {
                let before = expr[..start].trim_end();
                let wrapped = before.ends_with("rate(") || before.ends_with("increase(");
                let rest = &expr[i..];
                let after_selector = match rest.find('}') {
                    Some(end) if rest.starts_with('{') => &rest[end + 1..],
                    _ => rest,
                };
                out.push((
                    name.to_owned(),
                    wrapped && after_selector.starts_with("[$__rate_interval])"),
                ));
            }
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn dashboards_are_well_formed() {
    let datasources = provisioned_datasources();
    assert_eq!(
        datasources.get("logpipe-prometheus").map(String::as_str),
        Some("prometheus"),
        "{datasources:?}"
    );
    assert_eq!(
        datasources.get("logpipe-mariadb").map(String::as_str),
        Some("mysql")
    );
    let mut uids = BTreeSet::new();
    let mut checked = 0;
    for d in dashboards() {
        let f = &d.file;
        let j = &d.json;
        let uid = str_of(j, "uid");
        assert!(!uid.is_empty(), "{f}: no uid");
        assert!(uids.insert(uid.to_owned()), "{f}: uid {uid} used twice");
        assert!(!str_of(j, "title").is_empty(), "{f}: no title");
        assert_eq!(
            j["schemaVersion"].as_u64(),
            Some(SCHEMA_VERSION),
            "{f}: schemaVersion must be {SCHEMA_VERSION} (Grafana {GRAFANA_VERSION})"
        );
        let vars: BTreeSet<&str> = j["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| str_of(v, "name"))
            .collect();
        let mut ids = BTreeSet::new();
        for p in j["panels"].as_array().unwrap() {
            assert!(
                ids.insert(p["id"].as_u64().expect("panel id")),
                "{f}: panel id {} twice",
                p["id"]
            );
        }
        for p in panels(j) {
            let title = str_of(p, "title");
            let at = format!("{f}: panel {title:?}");
            assert!(!title.is_empty(), "{f}: a panel without a title");
            assert!(!str_of(p, "description").is_empty(), "{at}: no description");
            assert!(
                !str_of(&p["fieldConfig"]["defaults"], "unit").is_empty(),
                "{at}: no unit"
            );
            let ds = str_of(&p["datasource"], "uid");
            assert!(
                datasources.contains_key(ds),
                "{at}: datasource uid {ds:?} is not provisioned"
            );
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{at}: no query");
            for t in targets {
                let tds = str_of(&t["datasource"], "uid");
                assert_eq!(tds, ds, "{at}: target datasource differs from the panel's");
                let text = if datasources[ds] == "prometheus" {
                    let expr = str_of(t, "expr");
                    assert!(!expr.is_empty(), "{at}: empty expr");
                    for (name, ok) in counter_uses(expr) {
                        assert!(ok, "{at}: counter {name} must be read through rate/increase(…[$__rate_interval]): {expr}");
                    }
                    expr
                } else {
                    let sql = str_of(t, "rawSql");
                    assert!(
                        t["rawQuery"] == true && !sql.is_empty(),
                        "{at}: raw SQL expected"
                    );
                    assert!(
                        sql.contains("$__timeFilter("),
                        "{at}: no $__timeFilter: {sql}"
                    );
                    if str_of(t, "format") == "time_series" {
                        assert!(
                            sql.contains("$__timeGroupAlias("),
                            "{at}: time series without $__timeGroupAlias"
                        );
                    } else {
                        assert_eq!(str_of(t, "format"), "table", "{at}");
                    }
                    sql
                };
                for v in text.split('$').skip(1) {
                    let name: String = v
                        .trim_start_matches('{')
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        name.starts_with("__") || vars.contains(name.as_str()),
                        "{at}: ${name} is not a template variable"
                    );
                }
                checked += 1;
            }
        }
    }
    println!("dashboards: {} uids, {checked} targets checked", uids.len());
}

/// Where scripts/test installed `@grafana/schema` and `tsc`.
const GRAFANA_SCHEMA_ENV: &str = "LOGPIPE_GRAFANA_SCHEMA";

/// Every dashboard, written as a TypeScript object literal typed as
/// `@grafana/schema`'s `Dashboard` of the pinned Grafana release, passes
/// `tsc --strict`: unknown properties, missing required ones and wrong
/// types are errors. (String enums such as `ThresholdsMode` would need enum
/// references instead of JSON strings: the dashboards use none.)
#[test]
fn dashboards_type_check_against_grafana_schema_with_tsc() {
    let root = PathBuf::from(std::env::var_os(GRAFANA_SCHEMA_ENV).unwrap_or_else(|| {
        panic!("{GRAFANA_SCHEMA_ENV} is not set: run the suite with scripts/test (it installs @grafana/schema and typescript under target/grafana-schema)")
    }));
    let schema: Value = serde_json::from_str(&read(
        &root.join("node_modules/@grafana/schema/package.json"),
    ))
    .unwrap();
    let version = str_of(&schema, "version");
    assert!(
        version.starts_with(&format!("{GRAFANA_VERSION}.")),
        "@grafana/schema {version} installed; the dashboards pin Grafana {GRAFANA_VERSION}"
    );
    let dir = tempfile::tempdir_in(&root).unwrap();
    let mut files = Vec::new();
    for d in dashboards() {
        let name = d.file.trim_end_matches(".json").to_owned() + ".ts";
        std::fs::write(
            dir.path().join(&name),
            format!(
                "import type {{ Dashboard }} from '@grafana/schema';\nexport const dashboard: Dashboard = {};\n",
                serde_json::to_string_pretty(&d.json).unwrap()
            ),
        )
        .unwrap();
        files.push(format!("\"{name}\""));
    }
    std::fs::write(
        dir.path().join("tsconfig.json"),
        format!(
            r#"{{"compilerOptions": {{"strict": true, "noEmit": true, "module": "esnext", "moduleResolution": "bundler", "target": "es2020", "skipLibCheck": true}}, "files": [{}]}}"#,
            files.join(", ")
        ),
    )
    .unwrap();
    let out = Command::new(root.join("node_modules/.bin/tsc"))
        .args(["-p", "."])
        .current_dir(dir.path())
        .output()
        .expect("run tsc");
    assert!(
        out.status.success(),
        "dashboards do not type-check against @grafana/schema {version}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "tsc: {} dashboards type-check against @grafana/schema {version}",
        files.len()
    );
}

#[test]
fn counter_check_catches_bare_counters() {
    assert_eq!(
        counter_uses(r#"sum(rate(a_total{x="1"}[$__rate_interval])) / b_total"#),
        [("a_total".to_owned(), true)]
    );
    assert_eq!(
        counter_uses(r#"rate(a_total{x="1"}[5m]) + c_bucket{le="1"}"#),
        [
            ("a_total".to_owned(), false),
            ("c_bucket".to_owned(), false)
        ]
    );
}

// ---------------------------------------------------------------------------
// HTTP and URL helpers (HTTP/1.0: the servers answer unchunked and close)

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(status, body)` of one request; `None` if the connection failed.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let (status, body) = http(addr, "GET", path, &[], b"")?;
    (status == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

/// Poll `f` until it returns `Some`, at most `timeout`; panic naming `what`.
async fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---------------------------------------------------------------------------
// Prometheus

struct Prometheus {
    addr: SocketAddr,
}

impl Prometheus {
    /// Evaluate an instant query: `Ok(result array)` or `Err(error text)`.
    fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let (status, body) = http(
            self.addr,
            "GET",
            &format!("/api/v1/query?query={}", urlencode(expr)),
            &[],
            b"",
        )
        .ok_or("no answer from prometheus")?;
        let v: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    fn value(&self, expr: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        self.query(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                let v = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels, v)
            })
            .collect()
    }

    /// Values of `label` over the series `selector` matches (Grafana's
    /// `label_values(selector, label)`).
    fn label_values(&self, selector: &str, label: &str) -> BTreeSet<String> {
        let v = get_json(
            self.addr,
            &format!("/api/v1/series?match[]={}", urlencode(selector)),
        )
        .unwrap_or_else(|| panic!("series {selector}"));
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s[label].as_str().map(str::to_owned))
            .collect()
    }
}

/// A Grafana `label_values(selector, label)` variable query, split.
fn parse_label_values(q: &str) -> (String, String) {
    let inner = q
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("variable query {q:?} is not label_values(…)"));
    let (selector, label) = inner
        .rsplit_once(',')
        .expect("label_values(selector, label)");
    (selector.trim().to_owned(), label.trim().to_owned())
}

/// Substitute `$var`/`${var}` as Grafana does for a multi-value variable in
/// a regex matcher: `(a|b)`, values regex-escaped.
fn substitute_vars(expr: &str, vars: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut out = expr.to_owned();
    for (name, values) in vars {
        let alt = values
            .iter()
            .map(|v| {
                v.chars()
                    .flat_map(|c| {
                        if "\\.+*?()|[]{}^$".contains(c) {
                            vec!['\\', '\\', c]
                        } else {
                            vec![c]
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("|");
        let repl = format!("({alt})");
        out = out
            .replace(&format!("${{{name}}}"), &repl)
            .replace(&format!("${name}"), &repl);
    }
    out
}

/// `$var` in a MariaDB query as Grafana's MySQL datasource substitutes it:
/// a single value as it is (the query quotes it), a multi-value variable as
/// a list of quoted values (for `IN (…)`); "All" is every value.
fn substitute_sql_vars(sql: &str, vars: &BTreeMap<String, (bool, Vec<String>)>) -> String {
    let mut out = sql.to_owned();
    for (name, (multi, values)) in vars {
        let repl = if *multi {
            values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            values[0].clone()
        };
        out = out
            .replace(&format!("${{{name}}}"), &repl)
            .replace(&format!("${name}"), &repl);
    }
    out
}

/// The seconds of a dashboard's default time range (`"from": "now-30d"`).
fn dashboard_range(d: &Value) -> i64 {
    let from = d["time"]["from"].as_str().unwrap_or("now-1h");
    let spec = from
        .strip_prefix("now-")
        .unwrap_or_else(|| panic!("time.from {from:?} is not now-<n><unit>"));
    let (n, unit) = spec.split_at(spec.len() - 1);
    let n: i64 = n.parse().unwrap_or_else(|_| panic!("time.from {from:?}"));
    n * match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => panic!("time.from {from:?}: unit {unit}"),
    }
}

/// Grafana's built-in interval variables as the test's Prometheus sees them
/// ($__rate_interval = max($__interval + scrape interval, 4 × scrape interval)).
fn substitute_builtins(expr: &str) -> String {
    expr.replace("$__rate_interval", "15s")
        .replace("$__interval", "5s")
        .replace("$__range", "10m")
}

// ---------------------------------------------------------------------------
// Grafana's MySQL macros (pkg/tsdb/mysql macros): the subset the dashboards use,
// and an error for any other.

fn interval_seconds(s: &str) -> u64 {
    let s = s.trim().trim_matches('\'');
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("interval {s:?}"));
    n * match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        other => panic!("interval unit {other:?}"),
    }
}

fn expand_macros(sql: &str, from: i64, to: i64, interval: &str) -> String {
    let mut s = sql.replace("$__interval", interval);
    while let Some(at) = s.find("$__") {
        let name_end = at
            + s[at..]
                .find('(')
                .unwrap_or_else(|| panic!("macro without () in {sql}"));
        let name = &s[at + 3..name_end];
        let close = name_end + s[name_end..].find(')').expect("macro )");
        let args: Vec<&str> = s[name_end + 1..close].split(',').map(str::trim).collect();
        let expanded = match name {
            "timeFilter" => format!(
                "{} BETWEEN FROM_UNIXTIME({from}) AND FROM_UNIXTIME({to})",
                args[0]
            ),
            "timeFrom" => format!("FROM_UNIXTIME({from})"),
            "timeTo" => format!("FROM_UNIXTIME({to})"),
            "timeGroup" | "timeGroupAlias" => {
                let i = interval_seconds(args[1]);
                let g = format!("UNIX_TIMESTAMP({}) DIV {i} * {i}", args[0]);
                if name == "timeGroupAlias" {
                    format!("{g} AS \"time\"")
                } else {
                    g
                }
            }
            other => panic!("Grafana macro $__{other} is not expanded by this test: add it"),
        };
        s.replace_range(at..=close, &expanded);
    }
    s
}

#[test]
fn grafana_macros_expand_as_grafana_does() {
    assert_eq!(
        expand_macros(
            "SELECT $__timeGroupAlias(window_start, $__interval), 1 FROM t WHERE $__timeFilter(window_start)",
            100,
            200,
            "1m"
        ),
        "SELECT UNIX_TIMESTAMP(window_start) DIV 60 * 60 AS \"time\", 1 FROM t WHERE window_start BETWEEN FROM_UNIXTIME(100) AND FROM_UNIXTIME(200)"
    );
}

// ---------------------------------------------------------------------------
// The running pipeline

struct Daemon {
    args: Vec<String>,
    metrics: SocketAddr,
    child: KillOnDrop,
}

fn spawn(args: &[String], dir: &Path, name: &str) -> KillOnDrop {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_logpipe"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start logpipe {args:?}: {e}")),
    )
}

fn start_daemon(dir: &Path, name: &str, config: &str, subcommand: &str) -> Daemon {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let metrics = free_port();
    let args = vec![
        subcommand.to_owned(),
        "--config".to_owned(),
        path.display().to_string(),
        "--metrics-listen".to_owned(),
        metrics.to_string(),
    ];
    let child = spawn(&args, dir, name);
    Daemon {
        args,
        metrics,
        child,
    }
}

fn kafka_section(bootstrap: &str) -> String {
    let mut s = format!("[kafka]\n\"bootstrap.servers\" = \"{bootstrap}\"\n");
    for (k, v) in FAST_CLIENT_PROPERTIES {
        s.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    s
}

/// `config/process-dashboards.toml` pointed at the mock cluster and the test database.
fn processor_config(bootstrap: &str, db_url: &str) -> String {
    let shipped = read(&repo().join("config/process-dashboards.toml"));
    let (_, rest) = shipped
        .split_once("\n[process]\n")
        .expect("config/process-dashboards.toml has a [process] section");
    let (keys, aggregations) = rest
        .split_once("\n[[")
        .expect("config/process-dashboards.toml declares aggregations");
    let keys: String = keys
        .lines()
        .filter(|l| {
            !["database_url", "metrics_listen", "commit_interval"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "{}\n[process]\n{keys}database_url = \"{db_url}\"\ngroup_id = \"obs-process\"\ncommit_interval = \"200ms\"\ndrain_timeout = \"10s\"\n\n[process.kafka]\n\"statistics.interval.ms\" = \"500\"\n\n[[{aggregations}\n",
        kafka_section(bootstrap)
    )
}

fn scrape_target_file(dir: &Path, job: &str, targets: &[SocketAddr]) {
    let list = targets
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        dir.join("file_sd").join(format!("{job}.yml")),
        format!("- targets: [{list}]\n  labels:\n    host: test-vm\n"),
    )
    .unwrap();
}

/// The repository's Prometheus config and rules with the test's short
/// intervals; the down alert's `for:` shortened to [`DOWN_FOR`].
fn prometheus_files(dir: &Path) {
    let src = repo().join("prometheus");
    let mut config = read(&src.join("prometheus.yml"));
    for (from, to) in [
        (
            "scrape_interval: 15s",
            format!("scrape_interval: {}s", SCRAPE.as_secs()),
        ),
        ("scrape_timeout: 10s", "scrape_timeout: 1s".to_owned()),
        (
            "evaluation_interval: 15s",
            format!("evaluation_interval: {}s", EVALUATION.as_secs()),
        ),
    ] {
        assert!(config.contains(from), "prometheus.yml: {from} expected");
        config = config.replace(from, &to);
    }
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("file_sd")).unwrap();
    std::fs::copy(
        src.join("rules/recording.yml"),
        dir.join("rules/recording.yml"),
    )
    .unwrap();
    let alerts = read(&src.join("rules/alerts.yml"));
    let at = alerts
        .find("- alert: LogpipeDaemonDown")
        .expect("LogpipeDaemonDown rule");
    let for_at = at + alerts[at..].find("for: ").expect("for:");
    let for_end = for_at + alerts[for_at..].find('\n').unwrap();
    let alerts = format!(
        "{}for: {}s{}",
        &alerts[..for_at],
        DOWN_FOR.as_secs(),
        &alerts[for_end..]
    );
    std::fs::write(dir.join("rules/alerts.yml"), alerts).unwrap();
}

/// The last lines of every log the test's processes wrote, for a failure message.
fn logs_of(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {}\n", p.display()));
            for l in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    out
}

fn log_line(t: f64, level: &str) -> Vec<u8> {
    format!(r#"{{"timestamp": {t}, "level": "{level}", "message": "m", "host": "web-01", "service": "auth"}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_the_down_alert_work_against_real_prometheus_alertmanager_and_mariadb(
) {
    tokio::time::timeout(Duration::from_secs(300), run())
        .await
        .expect("test finished in time");
}

async fn run() {
    let started = now_s();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = TestDb::create().await;
    let cluster: MockCluster = mock_cluster(&[
        ("logs", 3),
        ("logs.dlq", 1),
        ("access-logs", 2),
        ("access-logs.dlq", 1),
        ("blocked", 1),
        ("blocked.dlq", 1),
        ("past-logs", 3),
        ("past-logs.dlq", 1),
    ]);
    let bootstrap = cluster.bootstrap_servers();

    // Alertmanager: one null receiver; the test reads its API.
    let am_addr = free_port();
    std::fs::write(
        dir.join("alertmanager.yml"),
        "route:\n  receiver: \"null\"\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let _alertmanager = KillOnDrop(
        Command::new(tool("prometheus-alertmanager"))
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address={am_addr}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
            .spawn()
            .expect("start prometheus-alertmanager"),
    );

    // The daemons.
    let token = "obs-token";
    std::fs::write(dir.join("ingest-token"), token).unwrap();
    let ingest = free_port();
    let gen_logs = start_daemon(
        dir,
        "generate-logs",
        &format!(
            "{}\n[generate]\ntopic = \"logs\"\nscenario = \"server-logs\"\nrate = 200\n",
            kafka_section(&bootstrap)
        ),
        "generate",
    );
    // HTTP ingest only, on a cluster of its own: the produce errors injected
    // there reach no other producer (a synthetic generator stops on one).
    let ingest_cluster: MockCluster = mock_cluster(&[("ingest", 1)]);
    let gen_ingest = start_daemon(
        dir,
        "generate-ingest",
        &format!(
            "{}\n[generate]\ntopic = \"ingest\"\nsynthetic = false\n\n[generate.http]\nenabled = true\nlisten = \"{ingest}\"\ntoken_file = \"{}\"\n",
            kafka_section(&ingest_cluster.bootstrap_servers()),
            dir.join("ingest-token").display()
        ),
        "generate",
    );
    let mut gen_access = start_daemon(
        dir,
        "generate-access",
        &format!(
            "{}\n[generate]\ntopic = \"access-logs\"\nscenario = \"access-logs\"\nrate = 100\n",
            kafka_section(&bootstrap)
        ),
        "generate",
    );
    let process = start_daemon(
        dir,
        "process",
        &format!(
            "{}{PAST_AGGREGATION}",
            processor_config(&bootstrap, &db.url)
        ),
        "process",
    );
    let archive_root = dir.join("archive");
    std::fs::create_dir_all(&archive_root).unwrap();
    // A file where topic `blocked` needs its directory: committing its first
    // file fails (not_a_directory, fatal), a sink error the HDFS panel shows.
    std::fs::write(archive_root.join("blocked"), "not a directory").unwrap();
    let archive = start_daemon(
        dir,
        "archive",
        &format!(
            "{}\n[archive]\nurl = \"file://{}\"\ntopics = [\"logs\", \"access-logs\", \"blocked\"]\ngroup_id = \"obs-archive\"\npath = \"%{{topic}}/dt=%Y-%m-%d/hr=%H/mi=%M/s=%S\"\nround = \"10s\"\n\n[archive.kafka]\n\"statistics.interval.ms\" = \"500\"\n\n[archive.roll]\nidle_timeout = \"1s\"\nmax_age = \"3s\"\n\n[archive.completeness]\nmarkers = true\nallowed_lateness = \"1s\"\n",
            kafka_section(&bootstrap),
            archive_root.display()
        ),
        "archive",
    );

    // Events of a closed day for the rollup: a second archiver without
    // markers files them by event time (with markers they would go to the
    // directory of their arrival, today); the Pushgateway takes its result.
    let daily_root = dir.join("archive-daily");
    std::fs::create_dir_all(&daily_root).unwrap();
    let archive_daily_section = format!(
        "[archive]\nurl = \"file://{}\"\ntopics = [\"past-logs\"]\ngroup_id = \"obs-archive-daily\"\n\n[archive.roll]\nidle_timeout = \"1s\"\nmax_age = \"3s\"\n\n[archive.completeness]\nmarkers = false\nallowed_lateness = \"1s\"\n",
        daily_root.display()
    );
    let archive_daily = start_daemon(
        dir,
        "archive-daily",
        &format!("{}\n{archive_daily_section}", kafka_section(&bootstrap)),
        "archive",
    );
    let pushgateway = free_port();
    let _pushgateway = KillOnDrop(
        Command::new(tool("prometheus-pushgateway"))
            .arg(format!("--web.listen-address={pushgateway}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("pushgateway.log")).unwrap())
            .spawn()
            .expect("start prometheus-pushgateway"),
    );

    // Prometheus scraping them through file_sd, alerting into Alertmanager.
    prometheus_files(dir);
    std::fs::write(
        dir.join("file_sd/pushgateway.json"),
        format!("[{{\"targets\": [\"{pushgateway}\"]}}]\n"),
    )
    .unwrap();
    scrape_target_file(
        dir,
        "logpipe-generate",
        &[gen_logs.metrics, gen_access.metrics, gen_ingest.metrics],
    );
    scrape_target_file(dir, "logpipe-process", &[process.metrics]);
    scrape_target_file(
        dir,
        "logpipe-archive",
        &[archive.metrics, archive_daily.metrics],
    );
    std::fs::write(
        dir.join("file_sd/alertmanager.yml"),
        format!("- targets: [\"{am_addr}\"]\n"),
    )
    .unwrap();
    let prom = Prometheus { addr: free_port() };
    let _prometheus = KillOnDrop(
        Command::new(tool("prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("prom-data").display()
            ))
            .arg(format!("--web.listen-address={}", prom.addr))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("start prometheus"),
    );
    let daemons = [
        &gen_logs,
        &gen_access,
        &gen_ingest,
        &process,
        &archive,
        &archive_daily,
    ];
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let up = prom.query("up").unwrap_or_default();
        // the daemons and the Pushgateway
        if up.iter().filter(|s| s["value"][1] == "1").count() == daemons.len() + 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scrape targets not all up after 90 s: {up:?}\n{}",
            logs_of(dir)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    wait_for("Alertmanager discovered", Duration::from_secs(30), || {
        let v = get_json(prom.addr, "/api/v1/alertmanagers")?;
        (!v["data"]["activeAlertmanagers"].as_array()?.is_empty()).then_some(())
    })
    .await;

    // What the healthy stream does not produce by itself: undecodable and
    // multi-line messages (DLQ), events an hour behind (late), ingest
    // answers other than 202, Kafka refusing some produce requests.
    wait_for(
        "the processor's first commit",
        Duration::from_secs(60),
        || {
            (!prom
                .value("logpipe_process_last_commit_timestamp_seconds")
                .is_empty())
            .then_some(())
        },
    )
    .await;
    let old = now_s() - 3600.0;
    let mut odd: Vec<(i32, Vec<u8>)> = (0..3).map(|p| (p, b"{not json".to_vec())).collect();
    odd.push((0, b"first line\nsecond line".to_vec()));
    odd.extend((0..3).map(|p| (p, log_line(old, "ERROR"))));
    produce(&bootstrap, "logs", &odd);
    let yesterday = chrono::Utc::now().date_naive().pred_opt().unwrap();
    let noon = yesterday
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp() as f64;
    let past: Vec<(i32, Vec<u8>)> = (0..YESTERDAY_EVENTS)
        .map(|i| {
            let level = ["INFO", "WARN", "ERROR"][i % 3];
            ((i % 3) as i32, log_line(noon + i as f64 * 7.0, level))
        })
        .collect();
    produce(&bootstrap, "past-logs", &past);
    produce(&bootstrap, "blocked", &[(0, log_line(now_s(), "INFO"))]);
    let body = br#"{"level": "INFO", "message": "from ingest"}"#;
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, text) = http(ingest, "POST", "/api/logs", &auth, body).expect("ingest answers");
    assert_eq!(status, 202, "{text}");
    let (status, _) = http(ingest, "POST", "/api/logs", &auth, b"{bad").unwrap();
    assert_eq!(status, 400);
    let (status, _) = http(
        ingest,
        "POST",
        "/api/logs",
        &[("Authorization", "Bearer wrong")],
        body,
    )
    .unwrap();
    assert_eq!(status, 401);
    wait_for(
        "dead letters of both consumers counted",
        Duration::from_secs(60),
        || {
            let p = prom.value("logpipe_process_dlq_events_total");
            let a = prom.value("logpipe_archive_dlq_events_total");
            (!p.is_empty() && !a.is_empty()).then_some(())
        },
    )
    .await;
    ingest_cluster.request_errors(
        rdkafka::types::RDKafkaApiKey::Produce,
        &[rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 2],
    );
    let (status, text) = http(ingest, "POST", "/api/logs", &auth, body).unwrap();
    assert!(
        status >= 500,
        "a refused delivery is not accepted: {status} {text}"
    );

    // The rollup of yesterday, as logpipe-rollup@<day>.service runs it: it
    // waits until the processor and the second archiver have covered the
    // day, writes daily_metrics and daily_reconciliation, and pushes.
    // (started once the processor has read yesterday's events: the timer
    // runs the rollup hours after its day, the test right after producing)
    let mut c = MySqlConnection::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counted: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(events + late) AS SIGNED) FROM logpipe_event_counts \
             WHERE topic = 'past-logs' AND minute_start >= ? AND minute_start < ?",
        )
        .bind(noon as i64)
        .bind(noon as i64 + 3600)
        .fetch_one(&mut c)
        .await
        .unwrap_or(None);
        if counted.unwrap_or(0) >= YESTERDAY_EVENTS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the processor did not count yesterday's events: {counted:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = c.close().await;
    let rollup_config = dir.join("rollup.toml");
    std::fs::write(
        &rollup_config,
        format!(
            "{}{PAST_AGGREGATION}\n{archive_daily_section}\n[rollup]\ndatabase_url = \"{}\"\nlate_horizon = \"0s\"\npoll_interval = \"200ms\"\n\n[[rollup.metric]]\nname = \"events_by_level\"\ntopic = \"past-logs\"\ngroup_by = [\"level\"]\n",
            processor_config(&bootstrap, &db.url),
            db.url
        ),
    )
    .unwrap();
    let day = yesterday.to_string();
    let rollup = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_logpipe"))
            .args(["rollup", "--config"])
            .arg(&rollup_config)
            .args(["--date", &day, "--wait", "60s", "--pushgateway"])
            .arg(format!("http://{pushgateway}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run logpipe rollup")
    })
    .await
    .unwrap();
    let rollup_out = String::from_utf8_lossy(&rollup.stdout).into_owned();
    assert!(
        rollup.status.success() && rollup_out.contains(": ok: "),
        "rollup of {yesterday}: {:?}\n{rollup_out}{}\n{}",
        rollup.status,
        String::from_utf8_lossy(&rollup.stderr),
        logs_of(dir)
    );
    println!("{}", rollup_out.trim());

    // The SELECT-only Grafana account, for the MariaDB variables and targets.
    let grafana_user = format!("lpg_{:012x}", rand::random::<u64>() >> 16);
    let sql = read(&repo().join("grafana/mariadb-grafana-user.sql"))
        .replace("'logpipe_grafana'", &format!("'{grafana_user}'"))
        .replace("`logpipe`", &format!("`{}`", db.name))
        .replace("'change-me'", "'obs-pass'");
    let mut admin = MySqlConnection::connect(&db.url).await.unwrap();
    for stmt in sql
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(';')
    {
        if !stmt.trim().is_empty() {
            sqlx::raw_sql(stmt)
                .execute(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("{stmt}: {e}"));
        }
    }
    let server = db
        .url
        .trim_start_matches("mysql://root@")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let grafana_url = format!("mysql://{grafana_user}:obs-pass@{server}/{}", db.name);
    let mut grafana = MySqlConnection::connect(&grafana_url)
        .await
        .expect("connect as the Grafana account");
    sqlx::raw_sql("SET time_zone = '+00:00'")
        .execute(&mut grafana)
        .await
        .unwrap();
    let denied = sqlx::raw_sql("DELETE FROM log_data")
        .execute(&mut grafana)
        .await;
    assert!(denied.is_err(), "the Grafana account must not write");
    let (archived, status): (i64, String) = sqlx::query_as(
        "SELECT archived, status FROM daily_reconciliation WHERE topic = 'past-logs' AND day = ?",
    )
    .bind(yesterday.to_string())
    .fetch_one(&mut grafana)
    .await
    .unwrap();
    assert!(
        archived == YESTERDAY_EVENTS as i64 && status == "ok",
        "yesterday: {archived} archived, {status}"
    );

    // Every Prometheus target of every dashboard returns series; every
    // MariaDB variable has values.
    let mut prom_targets = 0;
    let mut sql_targets = Vec::new();
    for d in dashboards() {
        let range_from = now_s() as i64 - dashboard_range(&d.json);
        let mut sql_vars: BTreeMap<String, (bool, Vec<String>)> = BTreeMap::new();
        let mut vars = BTreeMap::new();
        for v in d.json["templating"]["list"].as_array().unwrap() {
            let name = str_of(v, "name").to_owned();
            let q = v["query"]["query"]
                .as_str()
                .or(v["query"].as_str())
                .unwrap()
                .to_owned();
            if v["datasource"]["type"] == "mysql" {
                let q = substitute_sql_vars(&q, &sql_vars);
                let rows = sqlx::query(&q)
                    .fetch_all(&mut grafana)
                    .await
                    .unwrap_or_else(|e| panic!("{}: ${name}: {e}\n{q}", d.file));
                // (sqlx reports a utf8mb4_bin column as VARBINARY; Grafana's
                // driver reads it as text, so read the bytes as text too)
                let values: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        r.try_get::<String, _>(0).unwrap_or_else(|_| {
                            String::from_utf8(r.get::<Vec<u8>, _>(0)).expect("UTF-8 text")
                        })
                    })
                    .collect();
                assert!(!values.is_empty(), "{}: ${name} has no values\n{q}", d.file);
                println!("{}: ${name} = {values:?}", d.file);
                let multi = v["multi"].as_bool().unwrap_or(false);
                sql_vars.insert(name, (multi, values));
                continue;
            }
            let q = substitute_vars(&q, &vars);
            let (selector, label) = parse_label_values(&q);
            let values = wait_for(
                &format!("{}: values of ${name}", d.file),
                Duration::from_secs(60),
                || {
                    let vals = prom.label_values(&selector, &label);
                    (!vals.is_empty()).then_some(vals)
                },
            )
            .await;
            vars.insert(name, values);
        }
        for p in panels(&d.json) {
            for t in p["targets"].as_array().unwrap() {
                if let Some(sql) = t["rawSql"].as_str() {
                    sql_targets.push((
                        d.file.clone(),
                        str_of(p, "title").to_owned(),
                        str_of(t, "format").to_owned(),
                        substitute_sql_vars(sql, &sql_vars),
                        range_from,
                    ));
                    continue;
                }
                let expr = substitute_builtins(&substitute_vars(str_of(t, "expr"), &vars));
                let what = format!(
                    "{}: {:?} {}: {expr}",
                    d.file,
                    str_of(p, "title"),
                    str_of(t, "refId")
                );
                let series = wait_for(&what, Duration::from_secs(90), || match prom.query(&expr) {
                    Err(e) => panic!("{what}: {e}"),
                    Ok(r) if r.is_empty() => None,
                    Ok(r) => Some(r.len()),
                })
                .await;
                println!("{series:>3} series  {what}");
                prom_targets += 1;
            }
        }
    }

    // What the daemons export is right, not only present.
    let ready = prom.value("logpipe_ready");
    assert_eq!(
        ready.len(),
        daemons.len(),
        "{ready:?}\nup: {:?}\n{}",
        prom.value("up"),
        logs_of(dir)
    );
    assert!(
        ready.iter().all(|(_, v)| *v == 1.0),
        "every daemon READY: {ready:?}"
    );
    let now = now_s();
    for (labels, v) in prom.value("process_start_time_seconds") {
        assert!(
            v > started - 5.0 && v <= now,
            "{labels:?} started at {v}, test started {started}"
        );
    }
    for (labels, v) in prom.value("process_resident_memory_bytes") {
        assert!(v > 1e6 && v < 1e9, "{labels:?} RSS {v}");
    }
    let last = prom.value("logpipe_process_last_commit_timestamp_seconds");
    assert!(
        last.iter().all(|(_, v)| *v > started && *v <= now + 1.0),
        "{last:?}"
    );
    let failed = prom.value("sum(logpipe_producer_delivery_failed_total)");
    assert!(
        failed[0].1 >= 1.0,
        "the injected produce errors were counted: {failed:?}"
    );

    // Every MariaDB target, as the SELECT-only Grafana account.
    for (file, title, format, raw, from) in &sql_targets {
        let to = now_s() as i64 + 60;
        let query = expand_macros(raw, *from, to, "1m");
        let what = format!("{file}: {title:?}");
        let deadline = Instant::now() + Duration::from_secs(90);
        let rows = loop {
            let rows = sqlx::query(&query)
                .fetch_all(&mut grafana)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}\n{query}"));
            if !rows.is_empty() || Instant::now() > deadline {
                break rows;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(!rows.is_empty(), "{what}: no rows\n{query}");
        let columns: Vec<String> = rows[0]
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        // An aggregate over no rows is one row of NULLs: require values.
        let values = (0..columns.len())
            .filter(|i| !rows[0].try_get_raw(*i).unwrap().is_null())
            .count();
        assert_eq!(
            values,
            columns.len(),
            "{what}: NULLs in {columns:?}\n{query}"
        );
        if format == "time_series" {
            assert_eq!(
                columns[0], "time",
                "{what}: time series need `time` first: {columns:?}"
            );
            let t: i64 = rows[0]
                .try_get(0)
                .unwrap_or_else(|e| panic!("{what}: time is not epoch seconds: {e}"));
            assert!(
                t >= from - 86_400 && t <= to,
                "{what}: time {t} outside {from}..{to}"
            );
            assert!(columns.len() >= 2, "{what}: {columns:?}");
        }
        println!("{:>3} rows    {what}: {columns:?}", rows.len());
    }
    let _ = grafana.close().await;

    // The down alert end to end: SIGKILL one generator, its alert reaches
    // Alertmanager, a restart resolves it.
    let instance = gen_access.metrics.to_string();
    let down_alert = |instance: &str| -> Option<bool> {
        let alerts = get_json(am_addr, "/api/v2/alerts")?;
        Some(alerts.as_array()?.iter().any(|a| {
            a["labels"]["alertname"] == "LogpipeDaemonDown"
                && a["labels"]["instance"] == instance
                && a["labels"]["severity"] == "critical"
        }))
    };
    assert_eq!(
        down_alert(&instance),
        Some(false),
        "no down alert while it runs"
    );
    gen_access.child.signal("KILL");
    let killed = Instant::now();
    let bound = DOWN_FOR + SCRAPE + EVALUATION + Duration::from_secs(2);
    wait_for("LogpipeDaemonDown in Alertmanager", bound, || {
        down_alert(&instance).filter(|a| *a)
    })
    .await;
    let fired = killed.elapsed();
    assert!(
        fired >= DOWN_FOR,
        "fired after {fired:?}, before its for: {DOWN_FOR:?}"
    );
    gen_access.child = spawn(&gen_access.args, dir, "generate-access-restarted");
    let restarted = Instant::now();
    wait_for(
        "LogpipeDaemonDown resolved",
        Duration::from_secs(30),
        || down_alert(&instance).filter(|a| !*a),
    )
    .await;
    let resolved = restarted.elapsed();
    println!(
        "{prom_targets} Prometheus targets with series, {} MariaDB targets with rows; LogpipeDaemonDown in Alertmanager {:.1} s after SIGKILL (for: {} s, bound {:.0} s), resolved {:.1} s after restart",
        sql_targets.len(),
        fired.as_secs_f64(),
        DOWN_FOR.as_secs(),
        bound.as_secs_f64(),
        resolved.as_secs_f64()
    );

    drop(gen_access);
    drop(gen_logs);
    drop(gen_ingest);
    drop(ingest_cluster);
    drop(process);
    drop(archive);
    drop(archive_daily);
    drop(cluster);
    sqlx::raw_sql(&format!("DROP USER '{grafana_user}'@'%'"))
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = admin.close().await;
    db.drop().await;
}
