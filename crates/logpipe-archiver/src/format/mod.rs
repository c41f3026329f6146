//! File formats: how records become the bytes of one archive file.
//! An [`Encoder`] takes records one at a time and hands out the encoded
//! (compressed) bytes as they accumulate, so a file is streamed to the sink
//! and never held whole in memory.

pub mod jsonl;

use crate::config::ArchiveConfig;

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

/// A fresh encoder for one file of `config`'s format.
pub fn encoder(config: &ArchiveConfig) -> std::io::Result<Box<dyn Encoder>> {
    match config.format {
        crate::config::FileFormat::Jsonl => Ok(Box::new(jsonl::JsonLines::new(
            config.codec,
            config.codec_level,
        )?)),
    }
}
