//! JSON lines: each Kafka value written as one line, byte for byte, then
//! compressed with zstd, gzip or nothing. A value that would break the line
//! structure is never written broken: JSON with a raw newline (only possible
//! as whitespace between tokens) is compacted; anything else with a newline,
//! and a null value (a tombstone), is refused with a reason.

use std::io::Write;

use crate::config::Codec;
use crate::format::{Encoder, Unwritable};

enum Sink {
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Plain(Vec<u8>),
}

impl Sink {
    fn buffer(&mut self) -> &mut Vec<u8> {
        match self {
            Sink::Zstd(z) => z.get_mut(),
            Sink::Gzip(g) => g.get_mut(),
            Sink::Plain(v) => v,
        }
    }
    fn buffer_len(&self) -> usize {
        match self {
            Sink::Zstd(z) => z.get_ref().len(),
            Sink::Gzip(g) => g.get_ref().len(),
            Sink::Plain(v) => v.len(),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Zstd(z) => z.write_all(b),
            Sink::Gzip(g) => g.write_all(b),
            Sink::Plain(v) => {
                v.extend_from_slice(b);
                Ok(())
            }
        }
    }
}

/// A JSON-lines file being encoded.
pub struct JsonLines {
    out: Sink,
    scratch: Vec<u8>,
}

impl JsonLines {
    /// `level` 0 picks the codec's fast default (zstd 1, gzip 1).
    pub fn new(codec: Codec, level: u32) -> std::io::Result<Self> {
        let out = match codec {
            Codec::Zstd => {
                let mut z = zstd::stream::write::Encoder::new(
                    Vec::with_capacity(1 << 20),
                    level.max(1) as i32,
                )?;
                z.include_checksum(true)?;
                Sink::Zstd(z)
            }
            Codec::Gzip => Sink::Gzip(flate2::write::GzEncoder::new(
                Vec::with_capacity(1 << 20),
                flate2::Compression::new(level.clamp(1, 9)),
            )),
            Codec::None => Sink::Plain(Vec::with_capacity(1 << 20)),
        };
        Ok(Self {
            out,
            scratch: Vec::new(),
        })
    }
}

impl Encoder for JsonLines {
    fn append(&mut self, value: &[u8]) -> Result<(), Unwritable> {
        let line: &[u8] = if memchr::memchr(b'\n', value).is_none() {
            value
        } else {
            self.scratch.clear();
            compact_json(value, &mut self.scratch)?;
            &self.scratch
        };
        let io = |e: std::io::Error| Unwritable {
            reason: "encoder",
            message: e.to_string(),
        };
        self.out.write_all(line).map_err(io)?;
        self.out.write_all(b"\n").map_err(io)
    }

    fn pending_output(&self) -> usize {
        self.out.buffer_len()
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::replace(self.out.buffer(), Vec::with_capacity(1 << 20))
    }

    fn finish(self: Box<Self>) -> std::io::Result<Vec<u8>> {
        match self.out {
            Sink::Zstd(z) => z.finish(),
            Sink::Gzip(g) => g.finish(),
            Sink::Plain(v) => Ok(v),
        }
    }
}

/// Write `value` without the whitespace between its JSON tokens (strings are
/// copied unchanged), or refuse it when it is not valid JSON.
pub fn compact_json(value: &[u8], out: &mut Vec<u8>) -> Result<(), Unwritable> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(value) {
        return Err(Unwritable {
            reason: "newline_in_value",
            message: format!(
                "the value contains a newline and is not JSON ({e}); it cannot be one line"
            ),
        });
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in value {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(b);
            in_string = b == b'"';
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn encode(codec: Codec, values: &[&[u8]]) -> Vec<u8> {
        let mut e: Box<dyn Encoder> = Box::new(JsonLines::new(codec, 0).unwrap());
        let mut out = Vec::new();
        for v in values {
            e.append(v).unwrap();
            out.extend(e.take_output());
        }
        out.extend(e.finish().unwrap());
        out
    }

    #[test]
    fn each_codec_round_trips_values_byte_for_byte() {
        let values: Vec<&[u8]> = vec![
            br#"{"a":1,  "b":"x y"}"#,
            b"not json at all",
            br#"{"k":"\u00e9"}"#,
        ];
        let want = b"{\"a\":1,  \"b\":\"x y\"}\nnot json at all\n{\"k\":\"\\u00e9\"}\n".to_vec();
        assert_eq!(encode(Codec::None, &values), want);
        let z = encode(Codec::Zstd, &values);
        assert_eq!(zstd::decode_all(&z[..]).unwrap(), want);
        let g = encode(Codec::Gzip, &values);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&g[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, want);
    }

    #[test]
    fn json_with_a_raw_newline_is_compacted_not_broken() {
        let out = encode(
            Codec::None,
            &[b"{\n  \"msg\": \"two  words\",\n  \"n\": [1, 2]\n}"],
        );
        assert_eq!(out, b"{\"msg\":\"two  words\",\"n\":[1,2]}\n");
    }

    #[test]
    fn text_with_a_newline_is_refused_with_a_reason() {
        let mut e = JsonLines::new(Codec::None, 0).unwrap();
        let err = e.append(b"line one\nline two").unwrap_err();
        assert_eq!(err.reason, "newline_in_value");
        assert!(err.message.contains("not JSON"), "{}", err.message);
        assert_eq!(e.pending_output(), 0, "nothing written");
    }
}
