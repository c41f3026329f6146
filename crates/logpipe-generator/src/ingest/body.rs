//! Parsing an ingest request body: one JSON object, a JSON array of objects,
//! or NDJSON (one object per line). Errors name the line (and element) that
//! is wrong, so a client can fix exactly that event.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Why a body was refused, phrased for the client.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BodyError {
    #[error("empty body: send a JSON object, a JSON array of objects, or NDJSON")]
    Empty,
    #[error("line {line}, column {column}: invalid JSON: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("line {line}: expected a JSON object, found {found}")]
    NotAnObject { line: usize, found: &'static str },
    #[error("array element {index} (line {line}): expected a JSON object, found {found}")]
    ElementNotAnObject {
        index: usize,
        line: usize,
        found: &'static str,
    },
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn line_of(body: &[u8], offset: usize) -> usize {
    body[..offset.min(body.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn syntax(e: serde_json::Error) -> BodyError {
    BodyError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Parse a body into its events (JSON objects), in order.
pub fn parse_events(body: &[u8]) -> Result<Vec<Map<String, Value>>, BodyError> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(BodyError::Empty)?;
    if body[start] == b'[' {
        let items: Vec<&RawValue> = serde_json::from_slice(body).map_err(syntax)?;
        let base = body.as_ptr() as usize;
        return items
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let line = line_of(body, raw.get().as_ptr() as usize - base);
                match serde_json::from_str::<Value>(raw.get()).map_err(syntax)? {
                    Value::Object(m) => Ok(m),
                    other => Err(BodyError::ElementNotAnObject {
                        index,
                        line,
                        found: kind(&other),
                    }),
                }
            })
            .collect();
    }
    // One object (possibly pretty-printed over several lines)...
    let whole = serde_json::from_slice::<Value>(body);
    let first_line = body[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let first_line_is_object = matches!(
        serde_json::from_slice::<Value>(first_line),
        Ok(Value::Object(_))
    );
    match whole {
        Ok(Value::Object(m)) => return Ok(vec![m]),
        Ok(other) => {
            return Err(BodyError::NotAnObject {
                line: line_of(body, start),
                found: kind(&other),
            })
        }
        Err(e) if !first_line_is_object => return Err(syntax(e)),
        Err(_) => {}
    }
    // ...or NDJSON: one object per line, blank lines ignored.
    let mut events = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line_no = i + 1;
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(m)) => events.push(m),
            Ok(other) => {
                return Err(BodyError::NotAnObject {
                    line: line_no,
                    found: kind(&other),
                })
            }
            Err(e) => {
                return Err(BodyError::Syntax {
                    line: line_no,
                    column: e.column(),
                    message: strip_position(&e.to_string()),
                })
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_object_array_and_ndjson() {
        assert_eq!(parse_events(br#"{"a":1}"#).unwrap().len(), 1);
        assert_eq!(parse_events(br#"[{"a":1},{"b":2}]"#).unwrap().len(), 2);
        assert_eq!(
            parse_events(b"{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn names_the_bad_line() {
        let e = parse_events(b"{\"a\":1}\n{\"b\":\n{\"c\":3}\n").unwrap_err();
        assert!(matches!(e, BodyError::Syntax { line: 2, .. }), "{e}");
        let e = parse_events(b"{\n  \"a\": 1,\n  \"b\": }\n").unwrap_err();
        assert!(
            matches!(e, BodyError::Syntax { line: 3, .. }),
            "pretty-printed object: {e}"
        );
        assert_eq!(parse_events(b"{\n  \"a\": 1\n}\n").unwrap().len(), 1);
        let e = parse_events(b"{\"a\":1}\n42\n").unwrap_err();
        assert_eq!(
            e,
            BodyError::NotAnObject {
                line: 2,
                found: "a number"
            }
        );
        let e = parse_events(b"[{\"a\":1},\n \"x\"]").unwrap_err();
        assert_eq!(
            e,
            BodyError::ElementNotAnObject {
                index: 1,
                line: 2,
                found: "a string"
            }
        );
        assert_eq!(parse_events(b"  \n").unwrap_err(), BodyError::Empty);
    }

    #[test]
    fn non_utf8_is_a_syntax_error() {
        let e = parse_events(b"{\"a\":\"\xff\"}").unwrap_err();
        assert!(matches!(e, BodyError::Syntax { line: 1, .. }), "{e}");
    }
}
