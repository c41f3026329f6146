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
use logpipe_rollup::RollupConfig;
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
    /// `logpipe rollup`.
    pub rollup: RollupConfig,
}

impl Validate for Config {
    fn validate(&self, v: &mut Validator) {
        self.kafka.validate("kafka", v);
        self.generate.validate("generate", v);
        self.process.validate(v);
        self.archive.validate(v);
        self.rollup.validate(v);
    }
}

impl Config {
    /// Load `path`, or the defaults when no file is given (every secret
    /// file named is read: `check-config`).
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigErrors> {
        match path {
            Some(p) => config::load(p),
            None => Ok(Self::default()),
        }
    }

    /// Load `path` for the daemon of `section`: reads only that section's
    /// secret files, so one `logpipe.toml` serves every daemon on a host
    /// even though each systemd unit sees only its own credentials.
    pub fn load_for(path: Option<&Path>, section: &str) -> Result<Self, ConfigErrors> {
        match path {
            Some(p) => config::load_for(p, section),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A daemon reads only its own section's secrets; check-config reads all.
    #[test]
    fn a_daemon_does_not_need_the_other_daemons_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logpipe.toml");
        std::fs::write(
            &path,
            "[process]\ndatabase_url = \"mysql://logpipe@db:3306/logpipe\"\n\
             database_password_file = \"/run/credentials/logpipe-process.service/db-password\"\n",
        )
        .unwrap();
        let all = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(all.contains("`process.database_password_file`"), "{all}");
        assert!(Config::load_for(Some(&path), "generate").is_ok());
        assert!(Config::load_for(Some(&path), "archive").is_ok());
        let own = Config::load_for(Some(&path), "process")
            .unwrap_err()
            .to_string();
        assert!(own.contains("`process.database_password_file`"), "{own}");
    }
}
