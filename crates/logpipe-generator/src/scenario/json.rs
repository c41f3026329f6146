//! A minimal JSON object writer for generated events: appends fields straight
//! into a reusable byte buffer (no intermediate value tree, no allocation per
//! event). Strings are escaped per RFC 8259.

/// Writes one JSON object into `buf`; call [`JsonObject::finish`] at the end.
pub struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> JsonObject<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Self { buf, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        write_str(self.buf, key);
        self.buf.push(b':');
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_str(self.buf, value);
        self
    }

    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        write_u64(self.buf, value);
        self
    }

    /// A fixed-point decimal `int.frac` with `frac_digits` digits, e.g. epoch
    /// seconds with microseconds (`1732243200.123456`) or a price in cents.
    pub fn fixed(&mut self, key: &str, scaled: u64, frac_digits: u32) -> &mut Self {
        self.key(key);
        write_fixed(self.buf, scaled, frac_digits);
        self
    }

    /// A string `before<n>after`, e.g. `"User 4821 logged in"`.
    pub fn str_with_number(&mut self, key: &str, before: &str, n: u64, after: &str) -> &mut Self {
        self.key(key);
        self.buf.push(b'"');
        escape_into(self.buf, before);
        write_u64(self.buf, n);
        escape_into(self.buf, after);
        self.buf.push(b'"');
        self
    }

    /// A string built from parts without an intermediate `String`.
    pub fn str_parts(&mut self, key: &str, parts: &[&str]) -> &mut Self {
        self.key(key);
        self.buf.push(b'"');
        for p in parts {
            escape_into(self.buf, p);
        }
        self.buf.push(b'"');
        self
    }

    pub fn finish(self) {
        self.buf.push(b'}');
    }
}

/// Write `scaled / 10^frac_digits` as a decimal with exactly `frac_digits` digits.
pub fn write_fixed(buf: &mut Vec<u8>, scaled: u64, frac_digits: u32) {
    let div = 10u64.pow(frac_digits);
    write_u64(buf, scaled / div);
    buf.push(b'.');
    let mut n = scaled % div;
    let mut digits = [b'0'; 20];
    for i in (0..frac_digits as usize).rev() {
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    buf.extend_from_slice(&digits[..frac_digits as usize]);
}

pub fn write_u64(buf: &mut Vec<u8>, n: u64) {
    let mut tmp = [0u8; 20];
    let start = digits(&mut tmp, n);
    buf.extend_from_slice(&tmp[start..]);
}

/// Writes the decimal digits of `n` at the end of `tmp`; returns where they start.
fn digits(tmp: &mut [u8; 20], mut n: u64) -> usize {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Decimal digits of `n`, formatted into `tmp` without allocating.
pub fn format_u64(tmp: &mut [u8; 20], n: u64) -> &str {
    let start = digits(tmp, n);
    // Only ASCII digits were written.
    std::str::from_utf8(&tmp[start..]).unwrap_or("0")
}

fn write_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    escape_into(buf, s);
    buf.push(b'"');
}

/// Whether any byte must be escaped. A fold rather than `any` so that it
/// vectorises (no early exit): nearly every string here is short and clean.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

pub(crate) fn escape_into(buf: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Fast path: nearly every string (keys, table values) needs no escaping,
    // and this check vectorises where the per-byte match below does not.
    if !needs_escape(bytes) {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                buf.extend_from_slice(&bytes[start..i]);
                buf.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(esc);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json_with_escapes_and_decimals() {
        let mut buf = Vec::new();
        let mut o = JsonObject::new(&mut buf);
        o.str("a\"b", "line\nnext\u{1}")
            .u64("n", 0)
            .fixed("ts", 1_732_243_200_000_042, 6)
            .str_parts("p", &["x", "\\", "y"]);
        o.finish();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["a\"b"], "line\nnext\u{1}");
        assert_eq!(v["n"], 0);
        assert_eq!(v["ts"].as_f64().unwrap(), 1_732_243_200.000_042);
        assert_eq!(
            std::str::from_utf8(&buf)
                .unwrap()
                .matches("1732243200.000042")
                .count(),
            1
        );
        assert_eq!(v["p"], "x\\y");
    }
}
