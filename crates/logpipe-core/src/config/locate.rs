//! Maps byte offsets in a TOML document to line/column and to the dotted key
//! whose value contains them, and dotted keys back to their spans.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(raw: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(raw.len());
    let before = &raw[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The deepest dotted key whose key or value span contains `offset`.
///
/// Tables written as `[section]` headers only span their header in toml's
/// model, so every table is searched, not just those whose span matches.
pub fn key_at(table: &DeTable<'_>, offset: usize) -> Option<String> {
    let mut header_match = None;
    for (key, value) in table.iter() {
        let name = key.get_ref().to_string();
        let here = key.span().contains(&offset) || value.span().contains(&offset);
        match value.get_ref() {
            DeValue::Table(t) => {
                if let Some(rest) = key_at(t, offset) {
                    return Some(join(&name, &rest));
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let inner = match item.get_ref() {
                        DeValue::Table(t) => key_at(t, offset),
                        _ => None,
                    };
                    if let Some(rest) = inner {
                        return Some(format!("{name}[{i}].{rest}"));
                    }
                    if item.span().contains(&offset) {
                        return Some(format!("{name}[{i}]"));
                    }
                }
            }
            _ => {}
        }
        if here {
            header_match = Some(name);
        }
    }
    header_match
}

fn join(name: &str, rest: &str) -> String {
    format!("{name}.{rest}")
}

/// Span of the key at a dotted path (`generate.http.listen`,
/// `process.aggregation[0].slide`), or of its nearest existing parent. Keys
/// may themselves contain dots (librdkafka's `sasl.password_file`): the
/// longest key matching the rest of the path wins.
pub fn span_of(table: &DeTable<'_>, path: &str) -> Option<Range<usize>> {
    find(table, path).map(|(key, _, _)| key)
}

/// Span of the value at a dotted path, when the whole path exists.
pub fn value_span_of(table: &DeTable<'_>, path: &str) -> Option<Range<usize>> {
    find(table, path).and_then(|(_, value, complete)| complete.then_some(value))
}

/// Key and value spans of the deepest existing key along `path`, and
/// whether that key is the whole path.
fn find(table: &DeTable<'_>, path: &str) -> Option<(Range<usize>, Range<usize>, bool)> {
    let mut current = table;
    let mut rest = path;
    let mut best = None;
    loop {
        let found = current
            .iter()
            .filter_map(|(k, v)| {
                let name: &str = k.get_ref();
                let after = rest.strip_prefix(name)?;
                (after.is_empty() || after.starts_with('.') || after.starts_with('['))
                    .then_some((k, v, after))
            })
            .max_by_key(|(k, _, _)| k.get_ref().len());
        let Some((key, value, after)) = found else {
            return best;
        };
        best = Some((key.span(), value.span(), false));
        let (value, after) = match (value.get_ref(), after.strip_prefix('[')) {
            (DeValue::Array(items), Some(idx)) => {
                let (i, tail) = idx.split_once(']')?;
                match items.get(i.parse::<usize>().ok()?) {
                    Some(item) => (item, tail),
                    None => return best,
                }
            }
            _ => (value, after),
        };
        if after.is_empty() {
            return Some((key.span(), value.span(), true));
        }
        rest = match after.strip_prefix('.') {
            Some(r) => r,
            None => return best,
        };
        match value.get_ref() {
            DeValue::Table(t) => current = t,
            _ => return best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let raw = "a = 1\nbé = 2\n";
        assert_eq!(line_col(raw, 0), (1, 1));
        assert_eq!(line_col(raw, 6), (2, 1));
        assert_eq!(line_col(raw, 10), (2, 4));
    }

    #[test]
    fn key_at_finds_nested_key() {
        let raw = "[generate]\nrate = 5\n[generate.http]\nlisten = \"x\"\n";
        let doc = DeTable::parse(raw).unwrap();
        let off = raw.find("\"x\"").unwrap();
        assert_eq!(
            key_at(doc.get_ref(), off).as_deref(),
            Some("generate.http.listen")
        );
        let span = span_of(doc.get_ref(), "generate.rate").unwrap();
        assert_eq!(&raw[span], "rate");
    }

    #[test]
    fn span_of_handles_dotted_keys_and_arrays() {
        let raw =
            "[kafka]\n\"sasl.password_file\" = \"x\"\n[[agg]]\nsize = 1\n[[agg]]\nslide = 2\n";
        let doc = DeTable::parse(raw).unwrap();
        let span = span_of(doc.get_ref(), "kafka.sasl.password_file").unwrap();
        assert_eq!(&raw[span], "\"sasl.password_file\"");
        let span = span_of(doc.get_ref(), "agg[1].slide").unwrap();
        assert_eq!(&raw[span], "slide");
        let span = span_of(doc.get_ref(), "agg[1].missing").unwrap();
        assert_eq!(&raw[span], "agg", "nearest existing parent");
    }

    #[test]
    fn value_span_of_points_at_the_value_of_an_existing_key_only() {
        let raw = "[process.kafka]\n\"session.timeout.ms\" = \"soon\"\n[[agg]]\nsize = 1\n";
        let doc = DeTable::parse(raw).unwrap();
        let span = value_span_of(doc.get_ref(), "process.kafka.session.timeout.ms").unwrap();
        assert_eq!(&raw[span], "\"soon\"");
        let span = value_span_of(doc.get_ref(), "agg[0].size").unwrap();
        assert_eq!(&raw[span], "1");
        assert_eq!(value_span_of(doc.get_ref(), "process.kafka.acks"), None);
    }
}
