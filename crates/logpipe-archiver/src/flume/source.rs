//! The Kafka source (`type = org.apache.flume.source.kafka.KafkaSource`):
//! topics, consumer group, and the `kafka.consumer.*` properties, which pass
//! through to librdkafka unless they only exist in the Java client.

use logpipe_core::config::KafkaProperties;

use super::{Component, Importer, Prop, Severity};
use crate::config::StartOffset;

/// What the Kafka source contributes.
pub(super) struct SourceOut {
    pub(super) topics: Option<Vec<String>>,
    pub(super) group_id: String,
    pub(super) kafka: KafkaProperties,
    pub(super) start_offset: StartOffset,
    pub(super) channels: Vec<String>,
    pub(super) channels_line: usize,
    /// The header holding the topic (`topicHeader`), `None` with
    /// `setTopicHeader = false`.
    pub(super) topic_header: Option<String>,
}

impl Default for SourceOut {
    fn default() -> Self {
        Self {
            topics: None,
            group_id: "flume".into(),
            kafka: KafkaProperties::default(),
            start_offset: StartOffset::Earliest,
            channels: Vec::new(),
            channels_line: 0,
            topic_header: Some("topic".into()),
        }
    }
}

impl Importer {
    pub(super) fn map_source(&mut self, mut c: Component) -> SourceOut {
        let mut out = SourceOut::default();
        c.take("type");
        match c.take("channels") {
            Some(p) => {
                out.channels = p.value.split_whitespace().map(str::to_owned).collect();
                out.channels_line = p.line;
            }
            None => self.push(
                Severity::Error,
                c.line,
                &c.key("channels"),
                "not set: Flume needs the channel that connects this source to the sink",
            ),
        }

        // Topics.
        let regex = c.take("kafka.topics.regex");
        let mut topics = c.take("kafka.topics");
        if let Some(old) = c.take("topic") {
            if topics.is_some() {
                self.note(
                    &old,
                    "ignored: deprecated since Flume 1.7, and kafka.topics is set",
                );
            } else {
                self.warn(&old, "deprecated since Flume 1.7; read as kafka.topics");
                topics = Some(old);
            }
        }
        if let Some(r) = &regex {
            self.error(
                r,
                "logpipe archive subscribes to named topics only (recovery reads each topic's files back by name): list them in kafka.topics, comma-separated",
            );
        }
        match topics {
            Some(p) => {
                let names: Vec<String> = p
                    .value
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                let mut ok = !names.is_empty();
                if names.is_empty() {
                    self.error(
                        &p,
                        "names no topic; list the topics to archive, comma-separated",
                    );
                }
                for t in &names {
                    if !t
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    {
                        ok = false;
                        self.error(
                            &p,
                            format!("\"{t}\" is not a Kafka topic name (letters, digits, '.', '_', '-')"),
                        );
                    }
                }
                if ok && regex.is_none() {
                    self.origins.insert("topics", p.origin());
                    out.topics = Some(names);
                }
            }
            None if regex.is_none() => self.push(
                Severity::Error,
                c.line,
                &c.key("kafka.topics"),
                "not set: name the topics to archive (kafka.topics = logs)",
            ),
            None => {}
        }

        // The consumer group.
        let mut group = c.take("kafka.consumer.group.id");
        if let Some(old) = c.take("groupId") {
            if group.is_some() {
                self.note(
                    &old,
                    "ignored: deprecated since Flume 1.7, and kafka.consumer.group.id is set",
                );
            } else {
                self.warn(
                    &old,
                    "deprecated since Flume 1.7; read as kafka.consumer.group.id",
                );
                group = Some(old);
            }
        }
        let (group_line, group_key) = match &group {
            Some(p) => {
                out.group_id = p.value.clone();
                self.origins.insert("group_id", p.origin());
                (p.line, p.key.clone())
            }
            None => {
                self.origins.insert(
                    "group_id",
                    format!(
                        "Flume's default {} = \"flume\"",
                        c.key("kafka.consumer.group.id")
                    ),
                );
                (c.line, c.key("kafka.consumer.group.id"))
            }
        };
        if out.group_id.trim().is_empty() {
            self.push(Severity::Error, group_line, &group_key, "must not be empty");
        } else {
            self.push(
                Severity::Note,
                group_line,
                &group_key,
                format!(
                    "logpipe archive joins consumer group \"{}\": stop the Flume agent first, or the two split the partitions between them (or set another group_id)",
                    out.group_id
                ),
            );
        }

        if let Some(p) = c.take("kafka.consumer.auto.offset.reset") {
            match p.value.to_ascii_lowercase().as_str() {
                "earliest" => out.start_offset = StartOffset::Earliest,
                "latest" => out.start_offset = StartOffset::Latest,
                _ => self.error(
                    &p,
                    format!(
                        "{} cannot be mapped: start_offset (where a partition without archived files starts) is earliest or latest",
                        p.shown()
                    ),
                ),
            }
            self.origins.insert("start_offset", p.origin());
        }

        // Everything else under kafka.consumer. passes through to librdkafka.
        for (name, p) in c.take_prefixed("kafka.consumer.") {
            self.consumer_property(&name["kafka.consumer.".len()..], &p, &mut out.kafka);
        }
        match c.take("kafka.bootstrap.servers") {
            Some(p) if !p.value.is_empty() => {
                out.kafka.set("bootstrap.servers", p.value.clone());
            }
            Some(p) => self.error(
                &p,
                "must not be empty: the Kafka brokers, host:port[,host:port]",
            ),
            None => self.push(
                Severity::Error,
                c.line,
                &c.key("kafka.bootstrap.servers"),
                "not set: Flume requires it too (the Kafka brokers, host:port[,host:port])",
            ),
        }

        // Headers: the topic's name is what %{topic} in hdfs.path refers to.
        let set_header = c.take("setTopicHeader");
        let header = c.take("topicHeader");
        if let Some(p) = &header {
            out.topic_header = Some(p.value.clone());
        }
        if let Some(p) = &set_header {
            if !self.boolean(p) {
                out.topic_header = None;
            }
        }

        if let Some(p) = c.take("useFlumeEventFormat") {
            if self.boolean(&p) {
                self.error(
                    &p,
                    "Flume's Avro event format is not unpacked: logpipe archives each Kafka value byte for byte",
                );
            }
        }
        for (name, p) in c.take_rest() {
            match name.as_str() {
                "batchSize" | "batchDurationMillis" => self.note(
                    &p,
                    "ignored: logpipe reads Kafka continuously and commits files by [archive.roll], not in channel batches",
                ),
                "backoffSleepIncrement" | "maxBackoffSleep" => {
                    self.note(&p, "ignored: librdkafka waits for records itself")
                }
                "migrateZookeeperOffsets" => {
                    self.note(&p, "ignored: logpipe resumes from the archive's file names")
                }
                "zookeeperConnect" => self.warn(
                    &p,
                    "ignored: offsets in ZooKeeper are not read; logpipe resumes from the archive's file names and talks to the brokers only",
                ),
                n if n == "interceptors" || n.starts_with("interceptors.") => self.warn(
                    &p,
                    "ignored: interceptors are not run; logpipe archives each Kafka value byte for byte and takes its time from the record (time_source)",
                ),
                n if n.starts_with("selector.") => {
                    self.note(&p, "ignored: there is no channel to select")
                }
                _ => self.warn(&p, "not a Kafka source setting logpipe maps; ignored"),
            }
        }
        out
    }

    /// One `kafka.consumer.*` property: Java client names librdkafka also
    /// understands pass through; the Java-only ones are named with their fix.
    fn consumer_property(&mut self, name: &str, p: &Prop, kafka: &mut KafkaProperties) {
        match name {
            "enable.auto.commit" => self.note(
                p,
                "ignored: logpipe never commits offsets automatically; the archive's file names are the offsets",
            ),
            "key.deserializer" | "value.deserializer" => self.note(
                p,
                "ignored: librdkafka hands values over as bytes, archived byte for byte",
            ),
            "max.poll.records" => {
                self.note(p, "ignored: a Java client setting librdkafka has no counterpart for")
            }
            "ssl.truststore.location" | "ssl.truststore.password" | "ssl.truststore.type" => {
                self.error(
                    p,
                    "librdkafka does not read Java trust stores: export the CA certificate as PEM (keytool -exportcert -rfc) and set \"ssl.ca.location\" in [archive.kafka]",
                )
            }
            "ssl.keystore.type" if p.value.eq_ignore_ascii_case("pkcs12") => {
                self.note(p, "ignored: librdkafka reads PKCS#12 key stores")
            }
            "ssl.keystore.type" => self.error(
                p,
                "librdkafka reads PKCS#12 key stores only: convert it (keytool -importkeystore -deststoretype PKCS12) and drop ssl.keystore.type",
            ),
            "sasl.jaas.config" => self.error(
                p,
                "librdkafka has no JAAS: set sasl.username and sasl.password_file (PLAIN, SCRAM) or sasl.kerberos.principal and sasl.kerberos.keytab (GSSAPI) in [archive.kafka]",
            ),
            "ssl.endpoint.identification.algorithm" if p.value.is_empty() => {
                self.note(p, "Java's empty value turns host name checks off; librdkafka spells it \"none\"");
                kafka.set(name, "none");
            }
            "partition.assignment.strategy" => {
                let mut mapped = Vec::new();
                for s in p.value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let class = s.rsplit('.').next().unwrap_or(s);
                    match class {
                        "RangeAssignor" | "range" => mapped.push("range"),
                        "RoundRobinAssignor" | "roundrobin" => mapped.push("roundrobin"),
                        _ => {
                            self.error(
                                p,
                                format!(
                                    "\"{s}\" cannot be mapped: logpipe commits open files when partitions are revoked and needs an eager strategy, range or roundrobin"
                                ),
                            );
                            return;
                        }
                    }
                }
                kafka.set(name, mapped.join(","));
            }
            _ => {
                kafka.set(name, p.value.clone());
            }
        }
    }
}
