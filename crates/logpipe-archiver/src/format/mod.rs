//! File formats: how records become the bytes of one archive file.
//! An [`Encoder`] takes records one at a time and hands out the encoded
//! (compressed) bytes as they accumulate, so a file is streamed to the sink
//! and never held whole in memory.

pub mod jsonl;
pub mod parquet;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{ArchiveConfig, FileFormat};

/// Why a record cannot be written (the `reason` label of dead letters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwritable {
    pub reason: &'static str,
    pub message: String,
}

/// Streams records into one file's bytes.
pub trait Encoder: Send {
    /// Add one record (a Kafka value). An error means the record cannot be
    /// represented in this format; the file is unchanged.
    fn append(&mut self, value: &[u8]) -> Result<(), Unwritable>;
    /// Encoded bytes produced so far and not yet taken.
    fn pending_output(&self) -> usize;
    /// Take the encoded bytes produced so far.
    fn take_output(&mut self) -> Vec<u8>;
    /// End the file: the remaining bytes (trailers included).
    fn finish(self: Box<Self>) -> std::io::Result<Vec<u8>>;
}

/// Each topic's encoder settings, checked once at start.
pub struct Formats {
    config: Arc<ArchiveConfig>,
    /// With `format = "parquet"`: each archived topic's schema.
    parquet: HashMap<String, Arc<parquet::TopicSchema>>,
}

impl Formats {
    pub fn new(config: Arc<ArchiveConfig>) -> Result<Self, String> {
        let mut schemas = HashMap::new();
        if config.format == FileFormat::Parquet {
            for topic in &config.topics {
                let schema = parquet::TopicSchema::for_topic(&config, topic)
                    .map_err(|e| format!("archive.parquet.topics.{topic}: {e}"))?;
                schemas.insert(topic.clone(), Arc::new(schema));
            }
        }
        Ok(Self {
            config,
            parquet: schemas,
        })
    }

    /// A fresh encoder for one file of `topic`.
    pub fn encoder(&self, topic: &str) -> std::io::Result<Box<dyn Encoder>> {
        match self.config.format {
            FileFormat::Jsonl => Ok(Box::new(jsonl::JsonLines::new(
                self.config.codec,
                self.config.codec_level,
            )?)),
            FileFormat::Parquet => {
                let schema = self.parquet.get(topic).ok_or_else(|| {
                    std::io::Error::other(format!("topic \"{topic}\" is not archived"))
                })?;
                Ok(Box::new(parquet::ParquetFile::new(schema.clone())?))
            }
        }
    }
}
