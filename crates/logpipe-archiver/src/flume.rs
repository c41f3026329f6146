//! Migration from Apache Flume: read an agent config (Java `.properties`)
//! and map its Kafka source and HDFS sink onto an [`ArchiveConfig`],
//! reporting every key that has no counterpart, with its line and the
//! reason. Where the file is silent, Flume's own defaults apply — including
//! the ones that make tiny files, which are then warned about.
//!
//! ```text
//! a1.sources.r1.kafka.topics = logs         →  topics = ["logs"]
//! a1.sinks.k1.hdfs.path = hdfs://nn:8020/flume/%{topic}/%Y-%m-%d
//!                                           →  url  = "hdfs://nn:8020/flume"
//!                                              path = "%{topic}/%Y-%m-%d"
//! a1.sinks.k1.hdfs.rollInterval = 600       →  roll.max_age = "10m"
//! ```
//!
//! `properties` reads the file keeping line numbers; this module picks the
//! agent and its components; `source` maps the Kafka source, `sink` the HDFS
//! sink (with `hdfs_path` and `values`); `print` writes the TOML.

mod hdfs_path;
mod print;
mod properties;
mod sink;
mod source;
mod values;

pub use print::to_toml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use logpipe_core::config::{Validate, Validator};

use crate::config::ArchiveConfig;

/// The `type` of the one Flume source that can be mapped.
pub const KAFKA_SOURCE: &str = "org.apache.flume.source.kafka.KafkaSource";

/// The HDFS sink's class, also accepted for `type = hdfs`.
const HDFS_SINK_CLASS: &str = "org.apache.flume.sink.hdfs.HDFSEventSink";

/// What "never" becomes where Flume allows 0 and logpipe needs a limit.
const NEVER_SECS: u64 = 365 * 86_400;
const NEVER_BYTES: u64 = 1 << 40;

/// How much a [`Diagnostic`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Consumed or ignored on purpose; nothing to do.
    Note,
    /// Mapped, but not exactly as Flume behaves, or ignored although it
    /// changes what is written: read it before switching over.
    Warning,
    /// Cannot be mapped; the import fails.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding about one key of the Flume file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line of the key; for a key the file does not set, the line
    /// declaring its component (`type`); 0 when there is none.
    pub line: usize,
    /// The full Flume key (`a1.sinks.k1.hdfs.rollSize`).
    pub key: String,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}: ", self.severity)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// A Flume agent mapped onto `[archive]`.
#[derive(Debug, Clone)]
pub struct FlumeImport {
    /// The equivalent config; the Kafka source's consumer properties are in
    /// `config.kafka` (`[archive.kafka]`).
    pub config: ArchiveConfig,
    /// Notes and warnings, in file order (errors fail the import).
    pub notes: Vec<Diagnostic>,
    file: PathBuf,
    agent: String,
    /// Where each printed setting came from, by TOML key, for [`to_toml`].
    origins: BTreeMap<&'static str, String>,
}

/// Import agent `agent` of the Flume config at `path`. On failure every
/// diagnostic is returned (notes and warnings too, for context), at least
/// one of them an error.
pub fn import(path: &Path, agent: &str) -> Result<FlumeImport, Vec<Diagnostic>> {
    match std::fs::read_to_string(path) {
        Ok(text) => import_text(path, &text, agent),
        Err(e) => Err(vec![Diagnostic {
            file: path.to_owned(),
            line: 0,
            key: String::new(),
            severity: Severity::Error,
            message: format!("cannot read the Flume config: {e}"),
        }]),
    }
}

/// [`import`] of text already read; `path` is only used in diagnostics.
pub fn import_text(path: &Path, text: &str, agent: &str) -> Result<FlumeImport, Vec<Diagnostic>> {
    let mut im = Importer {
        file: path.to_owned(),
        diagnostics: Vec::new(),
        origins: BTreeMap::new(),
        roll_keys: BTreeMap::new(),
    };
    let config = im.run(text, agent);
    let mut diagnostics = im.diagnostics;
    diagnostics.sort_by_key(|d| d.line);
    match config {
        Some(config) if diagnostics.iter().all(|d| d.severity < Severity::Error) => {
            Ok(FlumeImport {
                config,
                notes: diagnostics,
                file: path.to_owned(),
                agent: agent.to_owned(),
                origins: im.origins,
            })
        }
        _ => Err(diagnostics),
    }
}

/// One key of the agent, its value trimmed and without an inline comment.
#[derive(Debug, Clone)]
struct Prop {
    key: String,
    value: String,
    line: usize,
}

impl Prop {
    /// The value as it may appear in a message (secrets are not repeated).
    fn shown(&self) -> String {
        shown(&self.key, &self.value)
    }

    fn origin(&self) -> String {
        format!("{} = {} (line {})", self.key, self.shown(), self.line)
    }
}

fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "jaas", "secret", "token"]
        .iter()
        .any(|s| k.contains(s))
}

fn shown(key: &str, value: &str) -> String {
    if is_secret(key) {
        "\"(redacted)\"".into()
    } else {
        format!("\"{value}\"")
    }
}

/// A source or sink: `<agent>.sources.<name>.*`.
#[derive(Debug)]
struct Component {
    /// `a1.sources.r1`
    prefix: String,
    /// Its `type` line (else its first key's): where "not set" is reported.
    line: usize,
    /// By property name (`kafka.topics`).
    props: BTreeMap<String, Prop>,
}

impl Component {
    fn take(&mut self, name: &str) -> Option<Prop> {
        self.props.remove(name)
    }

    fn kind(&self) -> Option<&str> {
        self.props.get("type").map(|p| p.value.as_str())
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// Remaining properties whose name starts with `prefix`, in file order.
    fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, Prop)> {
        let names: Vec<String> = self
            .props
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        let mut out: Vec<(String, Prop)> = names
            .into_iter()
            .filter_map(|n| self.props.remove(&n).map(|p| (n, p)))
            .collect();
        out.sort_by_key(|(_, p)| p.line);
        out
    }

    fn take_rest(&mut self) -> Vec<(String, Prop)> {
        self.take_prefixed("")
    }
}

struct Importer {
    file: PathBuf,
    diagnostics: Vec<Diagnostic>,
    origins: BTreeMap<&'static str, String>,
    /// Roll settings by field: the Flume key, its line, whether defaulted.
    roll_keys: BTreeMap<&'static str, (String, usize, bool)>,
}

impl Importer {
    fn push(&mut self, severity: Severity, line: usize, key: &str, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            line,
            key: key.to_owned(),
            severity,
            message: message.into(),
        });
    }

    fn note(&mut self, p: &Prop, message: impl Into<String>) {
        self.push(Severity::Note, p.line, &p.key, message);
    }

    fn warn(&mut self, p: &Prop, message: impl Into<String>) {
        self.push(Severity::Warning, p.line, &p.key, message);
    }

    fn error(&mut self, p: &Prop, message: impl Into<String>) {
        self.push(Severity::Error, p.line, &p.key, message);
    }

    fn run(&mut self, text: &str, agent: &str) -> Option<ArchiveConfig> {
        let (entries, malformed) = properties::parse(text);
        for m in malformed {
            self.push(Severity::Error, m.line, "", m.message);
        }
        let props = self.select_agent(&entries, agent)?;
        let (sources, sinks) = self.components(props, agent);
        let source = self.pick(
            sources,
            agent,
            "sources",
            "source",
            |t| t == KAFKA_SOURCE,
            KAFKA_SOURCE,
        );
        let sink = self.pick(sinks, agent, "sinks", "sink", is_hdfs_sink, "hdfs");

        let mut config = ArchiveConfig::default();
        let source = source.map(|c| self.map_source(c)).unwrap_or_default();
        if let Some(topics) = &source.topics {
            config.topics = topics.clone();
        }
        config.group_id = source.group_id.clone();
        config.kafka = source.kafka.clone();
        config.start_offset = source.start_offset;
        let sink = sink.map(|c| self.map_sink(c, &source, &mut config));
        let (Some(_), Some(sink_line)) = (source.topics, sink) else {
            return None;
        };
        self.small_file_warnings(&config);
        let mut v = Validator::default();
        config.validate(&mut v);
        if let Err(e) = v.into_result() {
            // Every key is checked on its own above; this is the backstop.
            self.push(
                Severity::Error,
                sink_line,
                "",
                format!("the mapped config is not valid: {e}"),
            );
        }
        Some(config)
    }

    /// The agent's keys, last value winning as in Java, with inline comments
    /// removed; `None` (with an error) when the file has no such agent.
    fn select_agent(&mut self, entries: &[properties::Entry], agent: &str) -> Option<Vec<Prop>> {
        let prefix = format!("{agent}.");
        let mut props: BTreeMap<String, Prop> = BTreeMap::new();
        let mut others: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for e in entries {
            if !e.key.starts_with(&prefix) {
                let name = e.key.split('.').next().unwrap_or_default().to_owned();
                let seen = others.entry(name).or_insert((e.line, 0));
                seen.1 += 1;
                continue;
            }
            let p = Prop {
                key: e.key.clone(),
                value: self.strip_comment(e),
                line: e.line,
            };
            if let Some(old) = props.insert(e.key.clone(), p.clone()) {
                self.warn(
                    &p,
                    format!(
                        "also set on line {} ({}); Flume uses this last value",
                        old.line,
                        old.shown()
                    ),
                );
            }
        }
        if props.is_empty() {
            let defined: Vec<&str> = others
                .keys()
                .filter(|name| {
                    entries.iter().any(|e| {
                        ["sources", "sinks", "channels"]
                            .iter()
                            .any(|list| e.key == format!("{name}.{list}"))
                    })
                })
                .map(String::as_str)
                .collect();
            let found = if defined.is_empty() {
                "this file defines no agent (no NAME.sources, NAME.sinks or NAME.channels key)"
                    .to_owned()
            } else {
                format!(
                    "this file defines agent{} {}: pick one with --agent",
                    if defined.len() > 1 { "s" } else { "" },
                    defined.join(", ")
                )
            };
            self.push(
                Severity::Error,
                0,
                agent,
                format!("no key starts with \"{prefix}\"; {found}"),
            );
            return None;
        }
        for (name, (line, count)) in others {
            self.push(
                Severity::Note,
                line,
                &name,
                format!(
                    "{count} key{} not of agent {agent}: ignored",
                    if count > 1 { "s" } else { "" }
                ),
            );
        }
        let mut props: Vec<Prop> = props.into_values().collect();
        props.sort_by_key(|p| p.line);
        Some(props)
    }

    /// Flume keeps `value  # comment` whole; a hand-written file means the
    /// part before the `#`.
    fn strip_comment(&mut self, e: &properties::Entry) -> String {
        let v = e.value.as_str();
        let hash = v
            .char_indices()
            .find(|&(i, c)| c == '#' && (i == 0 || v[..i].ends_with([' ', '\t', '\x0c'])));
        let Some((i, _)) = hash else {
            return v.trim().to_owned();
        };
        let kept = v[..i].trim().to_owned();
        let p = Prop {
            key: e.key.clone(),
            value: v.to_owned(),
            line: e.line,
        };
        self.warn(
            &p,
            format!(
                "Flume reads the whole value {} including the `#` comment; read here as {} (put comments on a line of their own)",
                p.shown(),
                shown(&e.key, &kept)
            ),
        );
        kept
    }

    /// Sort the agent's keys into its sources and sinks; everything else is
    /// reported here.
    fn components(&mut self, props: Vec<Prop>, agent: &str) -> (Listed, Listed) {
        let mut sources = Listed::default();
        let mut sinks = Listed::default();
        for p in props {
            let rest = &p.key[agent.len() + 1..];
            let (group, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let listed = match group {
                "sources" => &mut sources,
                "sinks" => &mut sinks,
                "channels" => {
                    self.note(
                        &p,
                        "ignored: Kafka is the buffer (logpipe reads straight from Kafka and re-reads a failed file's range), so there is no channel",
                    );
                    continue;
                }
                "sinkgroups" => {
                    self.warn(
                        &p,
                        "ignored: sink groups (failover, load balancing) have no counterpart; run more logpipe archive processes in one consumer group instead",
                    );
                    continue;
                }
                "configfilters" => {
                    self.warn(
                        &p,
                        "ignored: config filters are not applied; write the values into the file (keep secrets in *_file properties of [archive.kafka])",
                    );
                    continue;
                }
                _ => {
                    self.warn(&p, "not a key of a Flume agent; ignored");
                    continue;
                }
            };
            if tail.is_empty() {
                listed.names = p.value.split_whitespace().map(str::to_owned).collect();
                listed.list = Some(p);
                continue;
            }
            let Some((name, property)) = tail.split_once('.') else {
                self.warn(
                    &p,
                    format!("not a key of a Flume component (expected {agent}.{group}.NAME.PROPERTY); ignored"),
                );
                continue;
            };
            let c = listed
                .found
                .entry(name.to_owned())
                .or_insert_with(|| Component {
                    prefix: format!("{agent}.{group}.{name}"),
                    line: p.line,
                    props: BTreeMap::new(),
                });
            if property == "type" {
                c.line = p.line;
            }
            c.props.insert(property.to_owned(), p);
        }
        (sources, sinks)
    }

    /// The one component of `list` if it is the one kind logpipe maps;
    /// otherwise an error naming what was found.
    fn pick(
        &mut self,
        mut listed: Listed,
        agent: &str,
        list: &str,
        what: &str,
        wanted: impl Fn(&str) -> bool,
        wanted_name: &str,
    ) -> Option<Component> {
        let list_key = format!("{agent}.{list}");
        for (name, c) in &listed.found {
            if !listed.names.contains(name) {
                let listed_as = listed
                    .list
                    .as_ref()
                    .map_or("is not set".to_owned(), |p| format!("is {}", p.shown()));
                self.push(
                    Severity::Warning,
                    c.line,
                    &c.prefix,
                    format!(
                        "{name} is not named in {list_key} (which {listed_as}), so Flume does not start it; its {} key{} ignored",
                        c.props.len(),
                        if c.props.len() > 1 { "s are" } else { " is" }
                    ),
                );
            }
        }
        let Some(list_prop) = listed.list.take() else {
            self.push(
                Severity::Error,
                0,
                &list_key,
                format!("not set: name the agent's {what} ({list_key} = NAME; logpipe maps one {what} of type {wanted_name})"),
            );
            return None;
        };
        let found: Vec<String> = listed
            .names
            .iter()
            .map(|n| {
                let kind = listed
                    .found
                    .get(n)
                    .and_then(Component::kind)
                    .unwrap_or("no type");
                format!("{n} ({kind})")
            })
            .collect();
        // Map the one component of the wanted kind even when the list has
        // others, so that its own problems are reported in the same run.
        let matching: Vec<String> = listed
            .names
            .iter()
            .filter(|n| {
                listed
                    .found
                    .get(*n)
                    .and_then(Component::kind)
                    .is_some_and(&wanted)
            })
            .cloned()
            .collect();
        if listed.names.len() != 1 || matching.len() != 1 {
            let found = if found.is_empty() {
                "names none".to_owned()
            } else {
                format!("names {}", found.join(", "))
            };
            self.error(
                &list_prop,
                format!("{found}; logpipe archive maps exactly one {what}, of type {wanted_name}"),
            );
        }
        match matching.as_slice() {
            [one] => listed.found.remove(one),
            _ => None,
        }
    }

    /// Java's `Boolean.valueOf`: "true" in any case is true, anything else
    /// false — a warning for values that are neither.
    fn boolean(&mut self, p: &Prop) -> bool {
        if p.value.eq_ignore_ascii_case("true") {
            true
        } else {
            if !p.value.eq_ignore_ascii_case("false") {
                self.warn(
                    p,
                    format!(
                        "{} is not true or false; Flume reads it as false, and so does this import",
                        p.shown()
                    ),
                );
            }
            false
        }
    }

    /// `ArchiveConfig::small_file_warnings`, pointed at the Flume keys.
    fn small_file_warnings(&mut self, config: &ArchiveConfig) {
        for (field, message) in config.small_file_warnings() {
            let field = field.strip_prefix("archive.").unwrap_or(&field);
            let Some((key, line, defaulted)) = self.roll_keys.get(field).cloned() else {
                self.push(Severity::Warning, 0, field, message);
                continue;
            };
            let message = if defaulted {
                format!("not set, so Flume's default applies: {message}")
            } else {
                message
            };
            self.push(Severity::Warning, line, &key, message);
        }
    }
}

/// A component list (`a1.sources = r1`) and the components found.
#[derive(Default)]
struct Listed {
    list: Option<Prop>,
    names: Vec<String>,
    found: BTreeMap<String, Component>,
}

fn is_hdfs_sink(kind: &str) -> bool {
    kind.eq_ignore_ascii_case("hdfs") || kind == HDFS_SINK_CLASS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flume_secrets_are_not_repeated_in_diagnostics() {
        let text = "a1.sources = r1\na1.sources.r1.kafka.consumer.sasl.jaas.config = x password=\"hunter2\" # login\n";
        let e = import_text(Path::new("t.conf"), text, "a1").unwrap_err();
        let all: String = e.iter().map(|d| format!("{d}\n")).collect();
        assert!(
            all.contains("sasl.jaas.config") && !all.contains("hunter2"),
            "{all}"
        );
    }
}
