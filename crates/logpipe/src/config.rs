//! The root of `/etc/logpipe/logpipe.toml`: shared `[kafka]` and `[metrics]`,
//! and one section per daemon (declared in that daemon's crate).

use std::net::SocketAddr;
use std::path::Path;

use logpipe_archiver::ArchiveConfig;
use logpipe_core::config::{
    self, ConfigErrors, KafkaProperties, MetricsConfig, Validate, Validator,
};
use logpipe_generator::GenerateConfig;
use logpipe_processor::ProcessConfig;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// librdkafka properties shared by every daemon (`"bootstrap.servers"`, TLS, SASL, …).
    pub kafka: KafkaProperties,
    /// The Prometheus `/metrics` listener.
    pub metrics: MetricsConfig,
    /// `logpipe generate`.
    pub generate: GenerateConfig,
    /// `logpipe process`.
    pub process: ProcessConfig,
    /// `logpipe archive`.
    pub archive: ArchiveConfig,
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        self.kafka.validate("kafka", v);
        self.generate.validate("generate", v);
        self.process.validate(v);
        self.archive.validate(v);
    }
}

impl Config {
    /// Load `path`, or the defaults when no file is given.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigErrors> {
        match path {
            Some(p) => config::load(p),
            None => Ok(Self::default()),
        }
    }

    /// Valid settings an operator should reconsider: (key, why).
    pub fn warnings(&self) -> Vec<(String, String)> {
        self.archive.small_file_warnings()
    }

    /// The metrics address for a daemon: CLI flag, then its section, then `[metrics]`.
    pub fn metrics_listen(
        &self,
        cli: Option<SocketAddr>,
        section: Option<SocketAddr>,
    ) -> SocketAddr {
        cli.or(section).unwrap_or(self.metrics.listen)
    }

    /// Shared Kafka properties with a daemon's overrides applied.
    pub fn kafka_for(&self, overrides: &KafkaProperties) -> KafkaProperties {
        self.kafka.merged(overrides)
    }
}
