//! Configuration loading shared by every daemon: one TOML file, parsed with
//! spans so that every error names `file:line:column`, the key, and what was
//! expected. The section types themselves live with the daemon they configure;
//! this module provides the loader, the error report and the value types they
//! share (durations, byte sizes, secrets, Kafka properties, metrics).

mod kafka;
pub mod librdkafka;
mod locate;
mod values;

pub use kafka::KafkaProperties;
pub use librdkafka::KafkaClient;
pub use values::{ByteSize, HumanDuration, MetricsConfig, Secret};

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column; 0 when the problem has no position (e.g. the
    /// file itself cannot be read).
    pub line: usize,
    pub column: usize,
    /// Dotted key path (`generate.http.listen`), when known.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        match &self.key {
            Some(key) => write!(f, ": `{key}`: {}", self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

/// Every problem found in a config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Checks a config beyond what its types express (ranges, cross-field rules,
/// secret files). Report problems with [`Validator::error`] by dotted key path.
pub trait Validate {
    fn validate(&self, v: &mut Validator);
}

/// Collects semantic problems during [`Validate::validate`].
#[derive(Default)]
pub struct Validator {
    problems: Vec<Problem>,
    /// Read only the secret files of this section (a daemon under systemd
    /// can read only its own credentials); `None` checks every secret.
    secrets_of: Option<String>,
}

struct Problem {
    key: String,
    message: String,
    /// Point at the value rather than the key.
    at_value: bool,
}

impl Validator {
    /// Record a problem with the setting at `key` (dotted path), reported
    /// at the key.
    pub fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
            at_value: false,
        });
    }

    /// Record a problem with the value of `key`, reported at the value.
    pub fn value_error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            message: message.into(),
            at_value: true,
        });
    }

    /// Problems found so far as one error (for values set outside a file,
    /// e.g. by command-line flags, where there is no line to point at).
    pub fn into_result(self) -> anyhow::Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("`{}`: {}", p.key, p.message))
            .collect();
        anyhow::bail!("{}", lines.join("\n"))
    }

    /// Check a `database_url` at `key`: `mysql://`/`mariadb://` or
    /// `sqlite:`, and no password in it (that belongs in the
    /// `database_password_file` beside it).
    pub fn database_url(&mut self, key: &str, url: &str) {
        if !(url.starts_with("mysql://")
            || url.starts_with("mariadb://")
            || url.starts_with("sqlite:"))
        {
            self.error(
                key,
                format!("unsupported database URL \"{url}\"; expected mysql://user@host:3306/db or sqlite://path"),
            );
        }
        if url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .is_some_and(|(auth, _)| auth.contains(':'))
        {
            self.error(
                key,
                "the URL contains a password; put it in a file named by database_password_file",
            );
        }
    }

    /// Check that a secret given as `<key>_file` can be read.
    pub fn secret(&mut self, key: &str, secret: &Option<Secret>) {
        if let Some(section) = &self.secrets_of {
            if key.split('.').next() != Some(section.as_str()) {
                return;
            }
        }
        if let Some(secret) = secret {
            if let Err(e) = secret.read() {
                self.error(key, e.to_string());
            }
        }
    }
}

/// Load and validate a config file, reporting every problem found.
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<T, ConfigErrors> {
    load_impl(path, None)
}

/// [`load`] for the daemon of `section`: every problem is still reported,
/// but only that section's secret files are read — the others belong to
/// daemons whose credentials this process cannot (and need not) see.
pub fn load_for<T: DeserializeOwned + Validate>(
    path: &Path,
    section: &str,
) -> Result<T, ConfigErrors> {
    load_impl(path, Some(section))
}

fn load_impl<T: DeserializeOwned + Validate>(
    path: &Path,
    secrets_of: Option<&str>,
) -> Result<T, ConfigErrors> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            key: None,
            message: format!("cannot read config file: {e}"),
        }])
    })?;
    parse_impl(path, &raw, secrets_of)
}

/// Parse and validate config text; `path` is only used in messages.
pub fn parse<T: DeserializeOwned + Validate>(path: &Path, raw: &str) -> Result<T, ConfigErrors> {
    parse_impl(path, raw, None)
}

fn parse_impl<T: DeserializeOwned + Validate>(
    path: &Path,
    raw: &str,
    secrets_of: Option<&str>,
) -> Result<T, ConfigErrors> {
    let report = Report { path, raw };
    let (root, syntax) = DeTable::parse_recoverable(raw);
    if !syntax.is_empty() {
        return Err(ConfigErrors(
            syntax.iter().map(|e| report.toml_error(&root, e)).collect(),
        ));
    }

    // serde stops at the first error, so deserialize each top-level section
    // on its own, and a failing section key by key, to report every wrong
    // key rather than only the first. This requires every section of `T`
    // (and every key of a section) to have a default.
    let mut errors = Vec::new();
    for (key, value) in root.get_ref().iter() {
        let Err(section_error) = deserialize_only::<T>(&root, &[(key, value)]) else {
            continue;
        };
        let mut key_errors = Vec::new();
        if let DeValue::Table(table) = value.get_ref() {
            for (sub_key, sub_value) in table.iter() {
                let mut one = DeTable::new();
                one.insert(sub_key.clone(), sub_value.clone());
                let section = Spanned::new(value.span(), DeValue::Table(one));
                if let Err(e) = deserialize_only::<T>(&root, &[(key, &section)]) {
                    key_errors.push(report.toml_error(&root, &e));
                }
            }
        }
        if key_errors.is_empty() {
            // Only the combination is wrong (e.g. a missing required key).
            key_errors.push(report.toml_error(&root, &section_error));
        }
        errors.extend(key_errors);
    }
    if !errors.is_empty() {
        let mut errors = sorted(errors);
        errors.dedup();
        return Err(ConfigErrors(errors));
    }

    // Sections that pass alone may still clash as a whole (a cross-section
    // rule in a custom Deserialize): the whole document gets the last word.
    let config = T::deserialize(toml::de::Deserializer::from(root.clone()))
        .map_err(|e| ConfigErrors(vec![report.toml_error(&root, &e)]))?;
    let mut validator = Validator {
        secrets_of: secrets_of.map(str::to_owned),
        ..Validator::default()
    };
    config.validate(&mut validator);
    if validator.problems.is_empty() {
        return Ok(config);
    }
    let errors = validator
        .problems
        .into_iter()
        .map(|p| match p.at_value {
            false => report.at_key(&root, p.key, p.message),
            true => report.at_value(&root, p.key, p.message),
        })
        .collect();
    Err(ConfigErrors(sorted(errors)))
}

/// Place messages about dotted keys of config text `raw` (warnings about a
/// config that loaded) at their keys' `file:line:column`, in file order.
pub fn at_keys(path: &Path, raw: &str, messages: Vec<(String, String)>) -> Vec<ConfigError> {
    let report = Report { path, raw };
    let (root, _) = DeTable::parse_recoverable(raw);
    sorted(
        messages
            .into_iter()
            .map(|(key, message)| report.at_key(&root, key, message))
            .collect(),
    )
}

/// Deserialize a document holding only `entries` at the top level.
fn deserialize_only<T: DeserializeOwned>(
    root: &Spanned<DeTable<'_>>,
    entries: &[(&Spanned<toml::de::DeString<'_>>, &Spanned<DeValue<'_>>)],
) -> Result<T, toml::de::Error> {
    let mut doc = DeTable::new();
    for (k, v) in entries {
        doc.insert((*k).clone(), (*v).clone());
    }
    T::deserialize(toml::de::Deserializer::from(Spanned::new(root.span(), doc)))
}

fn sorted(mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
    errors.sort_by_key(|e| (e.line, e.column));
    errors
}

struct Report<'a> {
    path: &'a Path,
    raw: &'a str,
}

impl Report<'_> {
    fn toml_error(&self, root: &Spanned<DeTable<'_>>, e: &toml::de::Error) -> ConfigError {
        let span = e.span().unwrap_or(0..0);
        let (line, column) = locate::line_col(self.raw, span.start);
        let key = locate::key_at(root.get_ref(), span.start).filter(|k| !k.is_empty());
        ConfigError {
            file: self.path.to_owned(),
            line,
            column,
            key,
            message: e.message().trim().to_owned(),
        }
    }

    fn at_value(&self, root: &Spanned<DeTable<'_>>, key: String, message: String) -> ConfigError {
        match locate::value_span_of(root.get_ref(), &key) {
            Some(span) => {
                let (line, column) = locate::line_col(self.raw, span.start);
                ConfigError {
                    file: self.path.to_owned(),
                    line,
                    column,
                    key: Some(key),
                    message,
                }
            }
            None => self.at_key(root, key, message),
        }
    }

    fn at_key(&self, root: &Spanned<DeTable<'_>>, key: String, message: String) -> ConfigError {
        // A key that is absent (a required value left out) has no position
        // of its own; point at the nearest enclosing table that exists.
        let (line, column) = locate::span_of(root.get_ref(), &key)
            .map_or((0, 0), |span| locate::line_col(self.raw, span.start));
        ConfigError {
            file: self.path.to_owned(),
            line,
            column,
            key: Some(key),
            message,
        }
    }
}
