//! `[kafka]`: librdkafka properties passed through unchanged, so operators
//! can set TLS, SASL and tuning exactly as librdkafka documents them
//! (including `test.mock.num.brokers`, which starts an in-process mock
//! cluster). Each daemon section may carry its own `kafka` table whose
//! entries override the shared ones. A property named `<name>_file` is read
//! from that file at start-up and passed as `<name>` (for secrets such as
//! `sasl.password`).
//!
//! Every property is checked by librdkafka itself when the config is loaded
//! (`check-config` and every daemon's start): unknown names (with the
//! nearest name librdkafka knows) and values it refuses are reported at
//! their `file:line:column`. Which clients read which table:
//!
//! | table              | clients built from it                              |
//! |--------------------|----------------------------------------------------|
//! | `[kafka]`          | every one below (shared)                           |
//! | `[generate.kafka]` | the generator's producer only                      |
//! | `[process.kafka]`  | the processor's consumer and its dead-letter producer |
//! | `[archive.kafka]`  | the archiver's consumer and its dead-letter producer  |
//!
//! A property librdkafka scopes to the other kind of client (a consumer's
//! `session.timeout.ms` in `[generate.kafka]`) is an error, since librdkafka
//! would only warn and ignore it; in a table that feeds both kinds each
//! client is given only the properties that apply to it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdkafka::ClientConfig;
use serde::{Deserialize, Deserializer};

use super::librdkafka::{Catalog, KafkaClient, Refusal, Scope};
use super::Validator;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaProperties(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for KafkaProperties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Str(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        let raw = BTreeMap::<String, Scalar>::deserialize(d).map_err(|e| {
            serde::de::Error::custom(format!(
                "librdkafka properties must be strings, numbers or booleans ({e})"
            ))
        })?;
        Ok(Self(
            raw.into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Scalar::Str(s) => s,
                        Scalar::Int(i) => i.to_string(),
                        Scalar::Float(f) => f.to_string(),
                        Scalar::Bool(b) => b.to_string(),
                    };
                    (k, v)
                })
                .collect(),
        ))
    }
}

impl KafkaProperties {
    /// The shared properties with `overrides` applied on top.
    pub fn merged(&self, overrides: &KafkaProperties) -> KafkaProperties {
        let mut out = self.0.clone();
        out.extend(overrides.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        KafkaProperties(out)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// [`validate_for`](Self::validate_for) a table from which both a
    /// consumer and a producer are built (`[kafka]`, `[process.kafka]`,
    /// `[archive.kafka]`).
    pub fn validate(&self, section: &str, v: &mut Validator) {
        self.validate_for(section, &[KafkaClient::Consumer, KafkaClient::Producer], v);
    }

    /// Check every property with librdkafka (name, value, and that it
    /// applies to one of `clients`, the clients built from this table) and
    /// that secret files can be read; `section` is the dotted key of the
    /// table. A `<name>_file` secret is checked by name only: its value is
    /// never put into a message.
    pub fn validate_for(&self, section: &str, clients: &[KafkaClient], v: &mut Validator) {
        let catalog = Catalog::get();
        for (k, value) in &self.0 {
            let key = format!("{section}.{k}");
            let (name, checked) = match k.strip_suffix("_file") {
                Some(name) => {
                    if let Err(e) = std::fs::read_to_string(value) {
                        v.error(&key, format!("cannot read secret file {value}: {e}"));
                    }
                    // Any value will do to learn whether the name exists.
                    let checked = match catalog.check(name, "") {
                        Err(Refusal::InvalidValue { .. }) => Ok(()),
                        other => other,
                    };
                    (name, checked)
                }
                None => (k.as_str(), catalog.check(k, value)),
            };
            if let Err(Refusal::UnknownName { message, nearest }) = checked {
                let (suffix, named_by) = if name.len() < k.len() {
                    ("_file", format!(" (named by \"{k}\")"))
                } else {
                    ("", String::new())
                };
                let hint = match nearest {
                    Some(n) => format!("; did you mean \"{n}{suffix}\"?"),
                    None => "; no librdkafka property has a similar name \
                             (they are listed in librdkafka's CONFIGURATION.md)"
                        .to_owned(),
                };
                v.error(key, format!("librdkafka: {message}{named_by}{hint}"));
                continue;
            }
            // A property of the other kind of client is wrong whatever its value.
            if let Some(scope) = catalog.scope(name) {
                if !clients.iter().any(|c| scope.applies_to(*c)) {
                    let kind = match scope {
                        Scope::Consumer => "consumer",
                        Scope::Producer => "producer",
                        Scope::Both => unreachable!("applies to every client"),
                    };
                    let only: Vec<&str> = clients.iter().map(|c| c.name()).collect();
                    v.error(
                        key,
                        format!(
                            "\"{name}\" is a librdkafka {kind} property, but [{section}] configures only a {} \
                             (librdkafka would ignore it)",
                            only.join(" and a ")
                        ),
                    );
                    continue;
                }
            }
            if let Err(Refusal::InvalidValue { message }) = checked {
                v.value_error(key, format!("librdkafka: {message}"));
            }
        }
    }

    /// The properties that apply to `client`: those librdkafka scopes to
    /// the other kind of client are left out (librdkafka would warn about
    /// and ignore them), so one table can serve a consumer and a producer.
    pub fn for_client(&self, client: KafkaClient) -> KafkaProperties {
        let catalog = Catalog::get();
        KafkaProperties(
            self.0
                .iter()
                .filter(|(k, _)| {
                    let name = k.strip_suffix("_file").unwrap_or(k);
                    catalog.scope(name).is_none_or(|s| s.applies_to(client))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// [`client_config`](Self::client_config) of the properties that apply to `client`.
    pub fn client_config_for(&self, client: KafkaClient) -> anyhow::Result<ClientConfig> {
        self.for_client(client).client_config()
    }

    /// Build a librdkafka client config, reading `*_file` secrets.
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        let mut cfg = ClientConfig::new();
        for (k, v) in &self.0 {
            match k.strip_suffix("_file") {
                Some(name) => {
                    let secret = super::Secret {
                        path: PathBuf::from(v),
                    }
                    .read()?;
                    cfg.set(name, secret);
                }
                None => {
                    cfg.set(k, v);
                }
            }
        }
        Ok(cfg)
    }
}

impl KafkaProperties {
    /// Settings of a consumer whose offsets live outside Kafka (the
    /// processor's database, the archiver's file names): the operator's
    /// properties, our defaults where unset, and what that depends on
    /// forced — an eager assignment strategy (open work is committed on
    /// revocation), no automatic offset commits or stores. `section` names
    /// the daemon's config section in errors.
    pub fn externally_committed_consumer(
        &self,
        section: &str,
        group_id: &str,
        from_earliest: bool,
    ) -> anyhow::Result<ClientConfig> {
        let mut props = self.clone();
        for (key, value) in [
            ("statistics.interval.ms", "5000"),
            ("queued.max.messages.kbytes", "16384"),
            ("partition.assignment.strategy", "range,roundrobin"),
        ] {
            if props.get(key).is_none() {
                props.set(key, value);
            }
        }
        if let Some(strategy) = props
            .get("partition.assignment.strategy")
            .filter(|s| s.contains("cooperative"))
        {
            anyhow::bail!(
                "{section}.kafka: partition.assignment.strategy \"{strategy}\" is cooperative; {section} commits its open work \
                 on revocation and needs an eager strategy (range, roundrobin)"
            );
        }
        if props.get("bootstrap.servers").is_none() && props.get("test.mock.num.brokers").is_none()
        {
            anyhow::bail!(
                "kafka: \"bootstrap.servers\" is not set (in [kafka] or [{section}.kafka])"
            );
        }
        props.set("group.id", group_id.to_owned());
        props.set("enable.auto.commit", "false");
        props.set("enable.auto.offset.store", "false");
        props.set(
            "auto.offset.reset",
            if from_earliest { "earliest" } else { "latest" },
        );
        props.client_config_for(KafkaClient::Consumer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> KafkaProperties {
        KafkaProperties(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// One table serves a consumer and a producer: each gets what applies
    /// to it, by librdkafka's scope; shared and hidden properties go to both.
    #[test]
    fn each_client_gets_only_the_properties_librdkafka_applies_to_it() {
        let p = props(&[
            ("bootstrap.servers", "b:9092"),
            ("session.timeout.ms", "6000"),
            ("group.id", "g"),
            ("linger.ms", "20"),
            ("acks", "all"),
            ("sasl.password_file", "/run/credentials/x"),
            ("test.mock.num.brokers", "1"),
        ]);
        let keys = |c| -> Vec<String> { p.for_client(c).0.into_keys().collect() };
        assert_eq!(
            keys(KafkaClient::Producer),
            [
                "acks",
                "bootstrap.servers",
                "linger.ms",
                "sasl.password_file",
                "test.mock.num.brokers"
            ]
        );
        assert_eq!(
            keys(KafkaClient::Consumer),
            [
                "bootstrap.servers",
                "group.id",
                "sasl.password_file",
                "session.timeout.ms",
                "test.mock.num.brokers"
            ]
        );
    }

    /// Values set outside a file (`-X` flags) are checked the same way.
    #[test]
    fn validation_names_the_key_and_librdkafkas_verdict() {
        let p = props(&[
            ("bootstrap_servers", "b:9092"),
            ("acks", "maybe"),
            ("session.timeout.ms", "6000"),
        ]);
        let mut v = Validator::default();
        p.validate_for("generate.kafka", &[KafkaClient::Producer], &mut v);
        let err = v.into_result().unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert!(
            lines[0].starts_with("`generate.kafka.acks`: librdkafka: Invalid value"),
            "{err}"
        );
        assert!(
            lines[1].ends_with("did you mean \"bootstrap.servers\"?"),
            "{err}"
        );
        assert!(
            lines[2].contains("consumer property, but [generate.kafka] configures only a producer"),
            "{err}"
        );
        // The same consumer property is fine where a consumer is built too.
        let mut v = Validator::default();
        props(&[("session.timeout.ms", "6000"), ("linger.ms", "5")]).validate("kafka", &mut v);
        assert!(v.into_result().is_ok());
    }
}
