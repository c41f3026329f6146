//! librdkafka's own view of its configuration: which property names exist,
//! which client (producer, consumer or both) each applies to, and whether a
//! value is accepted — asked of the linked librdkafka itself
//! (`rd_kafka_conf_set`, `rd_kafka_conf_dump`, `rd_kafka_conf_properties_show`),
//! so the checks follow the library version instead of a copied list.

use std::collections::BTreeMap;
use std::ffi::{c_char, CStr};
use std::sync::OnceLock;

use rdkafka::bindings as rd;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;
use rdkafka::ClientConfig;

/// A librdkafka client logpipe creates from a `[*.kafka]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaClient {
    Producer,
    Consumer,
}

impl KafkaClient {
    pub fn name(self) -> &'static str {
        match self {
            KafkaClient::Producer => "producer",
            KafkaClient::Consumer => "consumer",
        }
    }
}

/// Which clients librdkafka applies a property to (its `C/P` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Both,
    Producer,
    Consumer,
}

impl Scope {
    pub fn applies_to(self, client: KafkaClient) -> bool {
        matches!(
            (self, client),
            (Scope::Both, _)
                | (Scope::Producer, KafkaClient::Producer)
                | (Scope::Consumer, KafkaClient::Consumer)
        )
    }
}

/// What librdkafka documents about one property.
#[derive(Debug, Clone)]
struct Property {
    scope: Scope,
    /// `Range` column: `1 .. 3600000`, `none, gzip, snappy, lz4, zstd`, …
    range: String,
    /// `*Type: integer*` from the description.
    kind: String,
}

/// The property table of the linked librdkafka.
#[derive(Debug)]
pub struct Catalog {
    /// Every name `rd_kafka_conf_set` accepts: canonical names from the
    /// dumps (including hidden ones such as `test.mock.num.brokers`) and the
    /// documented aliases (`bootstrap.servers`, `acks`, `linger.ms`, which
    /// the dumps leave out).
    names: Vec<String>,
    /// Documented (non-hidden) properties by name, aliases included.
    documented: BTreeMap<String, Property>,
}

/// Why librdkafka refused a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such name; `nearest` is the closest name librdkafka knows.
    UnknownName {
        message: String,
        nearest: Option<String>,
    },
    /// The name exists but the value is not accepted.
    InvalidValue { message: String },
}

impl Catalog {
    /// The catalog of the linked librdkafka (read once per process).
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Catalog::read)
    }

    fn read() -> Catalog {
        let documented = parse_properties_show(&properties_show());
        let mut names = dumped_names();
        names.extend(documented.keys().cloned());
        names.sort();
        names.dedup();
        Catalog { names, documented }
    }

    /// Which clients `name` applies to; `None` for an unknown or hidden
    /// property (librdkafka does not document its scope).
    pub fn scope(&self, name: &str) -> Option<Scope> {
        self.documented.get(name).map(|p| p.scope)
    }

    /// Ask librdkafka whether it accepts `name = value` on its own.
    pub fn check(&self, name: &str, value: &str) -> Result<(), Refusal> {
        let mut one = ClientConfig::new();
        one.set(name, value);
        match one.create_native_config() {
            Ok(_) => Ok(()),
            Err(KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, desc, ..)) => {
                Err(Refusal::UnknownName {
                    message: desc,
                    nearest: self.nearest(name),
                })
            }
            Err(KafkaError::ClientConfig(_, desc, ..)) => {
                let mut message = desc.trim().to_owned();
                if let Some(expected) = self.expected(name) {
                    message.push_str(&format!(" ({expected})"));
                }
                Err(Refusal::InvalidValue { message })
            }
            // A NUL byte in the name or value (CString conversion).
            Err(e) => Err(Refusal::InvalidValue {
                message: e.to_string(),
            }),
        }
    }

    /// Whether librdkafka knows `name` at all (for `<name>_file` secrets,
    /// whose value is not shown to it here).
    pub fn knows(&self, name: &str) -> bool {
        self.names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// The known name closest to `name`: one that differs only in case or
    /// in `_`/`-` for `.` first, else the smallest edit distance within a
    /// third of the name's length. Documented names win ties.
    pub fn nearest(&self, name: &str) -> Option<String> {
        let wanted = normalize(name);
        let limit = (wanted.chars().count() / 3).max(1);
        self.names
            .iter()
            .map(|candidate| {
                let distance = edit_distance(&wanted, &normalize(candidate));
                let hidden = !self.documented.contains_key(candidate);
                (distance, hidden, candidate)
            })
            .filter(|(distance, ..)| *distance <= limit)
            .min()
            .map(|(.., candidate)| candidate.clone())
    }

    /// What librdkafka documents about the values of `name`:
    /// `documented as an integer in 1 .. 3600000`, `… one of: none, gzip, …`.
    /// `None` when it documents nothing more than its own error says.
    fn expected(&self, name: &str) -> Option<String> {
        let p = self.documented.get(name)?;
        let range = p.range.trim();
        let kind = p.kind.as_str();
        match kind {
            "boolean" | "" => None, // librdkafka's message already says "true or false"
            "enum value" | "CSV flags" if !range.is_empty() => {
                Some(format!("librdkafka documents one of: {range}"))
            }
            _ if range.is_empty() => Some(format!("librdkafka documents {} {kind}", article(kind))),
            _ => Some(format!(
                "librdkafka documents {} {kind} in {range}",
                article(kind)
            )),
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn normalize(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '-' => '.',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// Canonical property names from `rd_kafka_conf_dump` and
/// `rd_kafka_topic_conf_dump` of fresh configs.
fn dumped_names() -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: fresh configs are created, dumped and destroyed here; each
    // dump array holds `cnt` NUL-terminated strings (name, value pairs) and
    // is released with rd_kafka_conf_dump_free.
    unsafe {
        let conf = rd::rd_kafka_conf_new();
        let mut cnt = 0usize;
        let arr = rd::rd_kafka_conf_dump(conf, &mut cnt);
        collect_names(arr, cnt, &mut names);
        rd::rd_kafka_conf_dump_free(arr, cnt);
        rd::rd_kafka_conf_destroy(conf);

        let tconf = rd::rd_kafka_topic_conf_new();
        let mut cnt = 0usize;
        let arr = rd::rd_kafka_topic_conf_dump(tconf, &mut cnt);
        collect_names(arr, cnt, &mut names);
        rd::rd_kafka_conf_dump_free(arr, cnt);
        rd::rd_kafka_topic_conf_destroy(tconf);
    }
    names
}

/// # Safety
/// `arr` must hold `cnt` valid C strings (or nulls), names at even indices.
unsafe fn collect_names(arr: *mut *const c_char, cnt: usize, out: &mut Vec<String>) {
    for i in (0..cnt).step_by(2) {
        let p = *arr.add(i);
        if !p.is_null() {
            out.push(CStr::from_ptr(p).to_string_lossy().into_owned());
        }
    }
}

/// The text of `rd_kafka_conf_properties_show` (librdkafka's CONFIGURATION.md table).
fn properties_show() -> String {
    let mut buf: *mut c_char = std::ptr::null_mut();
    let mut len: libc::size_t = 0;
    // SAFETY: open_memstream gives a FILE* writing into a malloc'ed buffer
    // that is valid after fclose, NUL-terminated, `len` bytes long; it is
    // freed with libc::free after copying.
    unsafe {
        let fp = libc::open_memstream(&mut buf, &mut len);
        if fp.is_null() {
            return String::new();
        }
        rd::rd_kafka_conf_properties_show(fp);
        libc::fclose(fp);
        if buf.is_null() {
            return String::new();
        }
        let text = CStr::from_ptr(buf).to_string_lossy().into_owned();
        libc::free(buf.cast());
        text
    }
}

/// Rows `name | C/P | range | default | importance | description` of the
/// global and topic tables.
fn parse_properties_show(text: &str) -> BTreeMap<String, Property> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.splitn(6, '|').map(str::trim).collect();
        let [name, cp, range, _default, _importance, description] = cells[..] else {
            continue;
        };
        let scope = match cp {
            "*" => Scope::Both,
            "P" => Scope::Producer,
            "C" => Scope::Consumer,
            _ => continue, // the header row and its `---` line
        };
        let kind = description
            .rsplit_once("*Type: ")
            .and_then(|(_, t)| t.split_once('*'))
            .map_or(String::new(), |(t, _)| t.to_owned());
        out.insert(
            name.to_owned(),
            Property {
                scope,
                range: range.to_owned(),
                kind,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_comes_from_the_linked_librdkafka() {
        let c = Catalog::get();
        // From the dumps (hidden, not in the documented table) and from the
        // documented table (aliases the dumps leave out).
        assert!(c.knows("test.mock.num.brokers"));
        assert!(c.scope("test.mock.num.brokers").is_none());
        assert!(c.knows("metadata.broker.list"));
        assert!(c.knows("bootstrap.servers"));
        assert_eq!(c.scope("bootstrap.servers"), Some(Scope::Both));
        assert_eq!(c.scope("session.timeout.ms"), Some(Scope::Consumer));
        assert_eq!(c.scope("group.id"), Some(Scope::Consumer));
        assert_eq!(c.scope("acks"), Some(Scope::Producer));
        assert_eq!(c.scope("linger.ms"), Some(Scope::Producer));
        assert!(!c.knows("bootstrap_servers"));
        assert!(c.names.len() > 150, "{}", c.names.len());
    }

    #[test]
    fn nearest_names_prefer_separator_and_case_slips_then_small_edits() {
        let c = Catalog::get();
        assert_eq!(
            c.nearest("bootstrap_servers").as_deref(),
            Some("bootstrap.servers")
        );
        assert_eq!(
            c.nearest("Session-Timeout-Ms").as_deref(),
            Some("session.timeout.ms")
        );
        assert_eq!(c.nearest("linger.mss").as_deref(), Some("linger.ms"));
        assert_eq!(
            c.nearest("test.mock.num_brokers").as_deref(),
            Some("test.mock.num.brokers")
        );
        assert_eq!(c.nearest("no_such_key"), None);
    }

    #[test]
    fn librdkafka_judges_names_and_values() {
        let c = Catalog::get();
        assert_eq!(c.check("bootstrap.servers", "a:9092"), Ok(()));
        assert_eq!(c.check("acks", "all"), Ok(()));
        match c.check("bootstrap_servers", "a:9092") {
            Err(Refusal::UnknownName { message, nearest }) => {
                assert!(
                    message.contains("No such configuration property"),
                    "{message}"
                );
                assert_eq!(nearest.as_deref(), Some("bootstrap.servers"));
            }
            other => panic!("{other:?}"),
        }
        match c.check("session.timeout.ms", "soon") {
            Err(Refusal::InvalidValue { message }) => {
                assert!(message.contains("session.timeout.ms"), "{message}");
                assert!(message.contains("1 .. 3600000"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.check("acks", "maybe"),
            Err(Refusal::InvalidValue { .. })
        ));
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("linger.ms", "linger.ms"), 0);
        assert_eq!(edit_distance("linger.mss", "linger.ms"), 1);
        assert_eq!(edit_distance("acsk", "acks"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
