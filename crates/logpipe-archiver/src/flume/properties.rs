//! A reader of Java `.properties` text (the format of Flume agent configs)
//! that keeps the line each key starts on, so every diagnostic can point at
//! it. It follows `java.util.Properties.load`: comments are lines whose first
//! non-blank character is `#` or `!`; a key ends at the first unescaped `=`,
//! `:` or blank; a line ending in an odd number of backslashes continues on
//! the next one (whose leading blanks are dropped); `\t \n \r \f \uXXXX` are
//! escapes and any other `\x` stands for `x`.

/// One `key = value` pair, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line the key is on (the first line of a continued value).
    pub line: usize,
}

/// A line Java would refuse to load (a malformed `\uXXXX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub line: usize,
    pub message: String,
}

/// Blanks as `Properties` counts them: space, tab and form feed.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Every entry in file order (a repeated key appears twice; Java keeps the
/// last), and the lines that could not be read.
pub fn parse(text: &str) -> (Vec<Entry>, Vec<Malformed>) {
    let mut entries = Vec::new();
    let mut malformed = Vec::new();
    // The logical line being assembled: its first line number and its text
    // with continuations joined.
    let mut pending: Option<(usize, String)> = None;
    for (index, natural) in natural_lines(text).enumerate() {
        let number = index + 1;
        let piece = natural.trim_start_matches(is_blank);
        let (start, mut logical) = match pending.take() {
            Some(open) => open,
            None => {
                if piece.is_empty() || piece.starts_with('#') || piece.starts_with('!') {
                    continue;
                }
                (number, String::new())
            }
        };
        let trailing = piece.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&piece[..piece.len() - 1]);
            pending = Some((start, logical));
        } else {
            logical.push_str(piece);
            split_entry(start, &logical, &mut entries, &mut malformed);
        }
    }
    // A continuation at the end of the file: Java drops the backslash.
    if let Some((start, logical)) = pending {
        split_entry(start, &logical, &mut entries, &mut malformed);
    }
    (entries, malformed)
}

/// Lines ended by `\n`, `\r\n` or `\r`.
fn natural_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\n', '\r']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                (!s.is_empty()).then_some(s)
            }
        }
    })
}

/// Split a logical line into its key and value, as `Properties.load` does.
fn split_entry(line: usize, logical: &str, entries: &mut Vec<Entry>, bad: &mut Vec<Malformed>) {
    let mut key_end = logical.len();
    let mut value_start = logical.len();
    let mut has_separator = false;
    let mut escaped = false;
    for (i, c) in logical.char_indices() {
        if !escaped && (c == '=' || c == ':') {
            key_end = i;
            value_start = i + 1;
            has_separator = true;
            break;
        }
        if !escaped && is_blank(c) {
            key_end = i;
            value_start = i + 1;
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    // Blanks, then at most one separator if the key did not end at one.
    let mut rest = &logical[value_start..];
    while let Some(c) = rest.chars().next() {
        let separator = !has_separator && (c == '=' || c == ':');
        if !is_blank(c) && !separator {
            break;
        }
        has_separator |= separator;
        rest = &rest[c.len_utf8()..];
    }
    match (unescape(&logical[..key_end]), unescape(rest)) {
        (Ok(key), Ok(value)) => entries.push(Entry { key, value, line }),
        (Err(message), _) | (_, Err(message)) => bad.push(Malformed { line, message }),
    }
}

/// Resolve backslash escapes; `\uXXXX` pairs that form a UTF-16 surrogate
/// pair become one character.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut units: Vec<u16> = Vec::new();
    let mut chars = s.chars();
    let flush = |units: &mut Vec<u16>, out: &mut String| -> Result<(), String> {
        for c in char::decode_utf16(units.drain(..)) {
            out.push(c.map_err(|e| {
                format!(
                    "\\u{:04X} is half of a UTF-16 surrogate pair without its other half",
                    e.unpaired_surrogate()
                )
            })?);
        }
        Ok(())
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut units, &mut out)?;
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        if e == 'u' {
            let hex: String = chars.by_ref().take(4).collect();
            let unit = (hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u16::from_str_radix(&hex, 16).ok())
                .flatten()
                .ok_or_else(|| {
                    format!(
                        "malformed \\uXXXX escape \"\\u{hex}\" (Java refuses to load this file)"
                    )
                })?;
            units.push(unit);
            continue;
        }
        flush(&mut units, &mut out)?;
        out.push(match e {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0c',
            other => other,
        });
    }
    flush(&mut units, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        let (entries, bad) = parse(text);
        assert!(bad.is_empty(), "{bad:?}");
        entries
            .into_iter()
            .map(|e| (e.key, e.value, e.line))
            .collect()
    }

    fn one(key: &str, value: &str, line: usize) -> (String, String, usize) {
        (key.into(), value.into(), line)
    }

    #[test]
    fn separators_are_equals_colon_or_blanks() {
        assert_eq!(
            pairs("a=1\nb : 2\nc 3\n  d\t=\t4\ne\nf = = 5\ng:\n"),
            [
                one("a", "1", 1),
                one("b", "2", 2),
                one("c", "3", 3),
                one("d", "4", 4),
                one("e", "", 5),
                one("f", "= 5", 6),
                one("g", "", 7),
            ]
        );
    }

    #[test]
    fn comments_only_start_a_line() {
        assert_eq!(
            pairs("# c\n   ! c\na = x # not a comment\n\n \t\nb=#x\n"),
            [one("a", "x # not a comment", 3), one("b", "#x", 6)]
        );
    }

    #[test]
    fn continuations_drop_leading_blanks_and_keep_the_first_line_number() {
        assert_eq!(
            pairs("a = one, \\\n    two, \\\n\t# three\nb = x\\\\\nc = y\\\n\nd = z\\"),
            [
                one("a", "one, two, # three", 1),
                one("b", "x\\", 4),
                one("c", "y", 5),
                one("d", "z", 7),
            ]
        );
        // A comment line does not continue, even if it ends in a backslash.
        assert_eq!(
            pairs("# x \\\na = 1\r\nb = 2\rc = 3"),
            [one("a", "1", 2), one("b", "2", 3), one("c", "3", 4)]
        );
    }

    #[test]
    fn escapes_resolve_in_keys_and_values() {
        assert_eq!(
            pairs("k\\=ey\\ 1 = t\\tn\\nr\\rf\\f\\\\ \\q\\u00e9\\uD83D\\uDE00\n"),
            [one("k=ey 1", "t\tn\nr\rf\x0c\\ q\u{e9}\u{1F600}", 1)]
        );
    }

    #[test]
    fn malformed_unicode_escapes_name_their_line() {
        let (entries, bad) = parse("a = 1\nb = \\u12G4\nc = \\uD83D\n");
        assert_eq!(
            entries,
            [Entry {
                key: "a".into(),
                value: "1".into(),
                line: 1
            }]
        );
        assert_eq!(bad.len(), 2);
        assert_eq!((bad[0].line, bad[1].line), (2, 3));
        assert!(bad[0].message.contains("\\u12G4"), "{}", bad[0].message);
        assert!(bad[1].message.contains("D83D"), "{}", bad[1].message);
    }
}
