//! `[kafka]`: librdkafka properties passed through unchanged, so operators
//! can set TLS, SASL and tuning exactly as librdkafka documents them
//! (including `test.mock.num.brokers`, which starts an in-process mock
//! cluster). Each daemon section may carry its own `kafka` table whose
//! entries override the shared ones. A property named `<name>_file` is read
//! from that file at start-up and passed as `<name>` (for secrets such as
//! `sasl.password`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rdkafka::ClientConfig;
use serde::{Deserialize, Deserializer};

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

    /// Check that secret files exist; `section` is the dotted key of the table.
    pub fn validate(&self, section: &str, v: &mut Validator) {
        for (k, path) in &self.0 {
            if k.ends_with("_file") {
                if let Err(e) = std::fs::read_to_string(path) {
                    v.error(
                        format!("{section}.{k}"),
                        format!("cannot read secret file {path}: {e}"),
                    );
                }
            }
        }
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
        props.client_config()
    }
}
