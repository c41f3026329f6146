//! Parquet: each record (a JSON object) becomes one row of its topic's
//! schema, so Spark, Hive, Trino and DuckDB query the archive directly.
//! Values are buffered per column until `row_group_bytes`, then written as
//! one row group (zstd pages, dictionary encoding, statistics); the encoded
//! bytes are handed to the sink as they accumulate and the footer is
//! written when the file is finished.
//!
//! A record is checked whole before any of it is buffered: not an object,
//! a field of the wrong type, a missing required field or (by default) a
//! field the schema does not name, and the record is refused with a reason
//! — the caller dead-letters it — while the file stays unchanged.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize as _;

use crate::config::{ArchiveConfig, FieldConfig, FieldType, UnknownFields};
use crate::format::{Encoder, Unwritable};
use logpipe_core::event_time::TimeFormat;

/// Built-in schemas: the events of each generator scenario.
const PRESETS: &[(&str, &[(&str, FieldType)])] = {
    use FieldType::*;
    &[
        (
            "server-logs",
            &[
                ("timestamp", Timestamp),
                ("level", String),
                ("message", String),
                ("host", String),
                ("service", String),
            ],
        ),
        (
            "access-logs",
            &[
                ("timestamp", Timestamp),
                ("ip", String),
                ("method", String),
                ("path", String),
                ("status", Int64),
                ("bytes", Int64),
                ("latency_ms", Int64),
                ("user_agent", String),
            ],
        ),
        (
            "car-transactions",
            &[
                ("timestamp", Timestamp),
                ("transaction_id", String),
                ("buyer", String),
                ("brand", String),
                ("model", String),
                ("year", Int64),
                ("color", String),
                ("country", String),
                ("branch", String),
                ("price", Double),
            ],
        ),
        (
            "user-events",
            &[
                ("user_id", Int64),
                ("event_type", String),
                ("timestamp", Timestamp),
                ("page_id", Int64),
                ("session_id", String),
            ],
        ),
        (
            "user-profiles",
            &[
                ("id", Int64),
                ("first_name", String),
                ("last_name", String),
                ("email", String),
                ("address", String),
                ("city", String),
                ("country", String),
                ("birth_date", Date),
                ("registered", Date),
                ("timestamp", Timestamp),
            ],
        ),
    ]
};

/// The built-in schema a topic gets when the config names none.
fn default_preset(topic: &str) -> Option<&'static str> {
    match topic {
        "logs" => Some("server-logs"),
        t => PRESETS.iter().find(|(n, _)| *n == t).map(|(n, _)| *n),
    }
}

fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A topic's columns, checked and ready to encode with.
#[derive(Debug)]
pub struct TopicSchema {
    fields: Vec<FieldConfig>,
    unknown: UnknownFields,
    parquet: Arc<Type>,
    properties: Arc<WriterProperties>,
    row_group_bytes: usize,
}

impl TopicSchema {
    /// `topic`'s schema from `config`: its `[archive.parquet.topics.<topic>]`
    /// entry, else the built-in one of the same name. The error says what is
    /// wrong and how to declare it.
    pub fn for_topic(config: &ArchiveConfig, topic: &str) -> Result<TopicSchema, String> {
        let entry = config.parquet.topics.get(topic);
        let fields: Vec<FieldConfig> = match entry {
            Some(e) if e.schema.is_some() && !e.fields.is_empty() => {
                return Err("give either `schema` (built-in) or `fields`, not both".into())
            }
            Some(e) if !e.fields.is_empty() => e.fields.clone(),
            _ => {
                let name = match entry.and_then(|e| e.schema.as_deref()) {
                    Some(n) => n,
                    None => default_preset(topic).ok_or_else(|| {
                        format!(
                            "topic \"{topic}\" has no Parquet schema: declare [[archive.parquet.topics.{topic}.fields]] (name, type) or a built-in `schema` ({})",
                            preset_names()
                        )
                    })?,
                };
                let (_, preset) = PRESETS.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                    format!(
                        "unknown built-in schema \"{name}\"; known: {}",
                        preset_names()
                    )
                })?;
                preset
                    .iter()
                    .map(|(n, kind)| FieldConfig {
                        name: (*n).to_owned(),
                        kind: *kind,
                        required: false,
                        time_format: TimeFormat::EpochSeconds,
                    })
                    .collect()
            }
        };
        for (i, f) in fields.iter().enumerate() {
            if f.name.is_empty() {
                return Err(format!("field {} has an empty name", i + 1));
            }
            if fields[..i].iter().any(|g| g.name == f.name) {
                return Err(format!("field \"{}\" is declared twice", f.name));
            }
        }
        let columns = fields
            .iter()
            .map(|f| column_type(f).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let parquet = Type::group_type_builder("schema")
            .with_fields(columns)
            .build()
            .map_err(|e| e.to_string())?;
        let level = match config.codec_level {
            0 => 1,
            l => l as i32,
        };
        let zstd = parquet::basic::ZstdLevel::try_new(level).map_err(|e| e.to_string())?;
        let properties = WriterProperties::builder()
            .set_compression(parquet::basic::Compression::ZSTD(zstd))
            .set_created_by(concat!("logpipe archive ", env!("CARGO_PKG_VERSION")).to_owned())
            .build();
        Ok(TopicSchema {
            fields,
            unknown: config.parquet.unknown_fields,
            parquet: Arc::new(parquet),
            properties: Arc::new(properties),
            row_group_bytes: config.parquet.row_group_bytes.0 as usize,
        })
    }

    /// Column names and types, in order (for messages and tests).
    pub fn fields(&self) -> &[FieldConfig] {
        &self.fields
    }
}

fn column_type(f: &FieldConfig) -> parquet::errors::Result<Type> {
    let (physical, logical) = match f.kind {
        FieldType::String => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
        FieldType::Json => (PhysicalType::BYTE_ARRAY, Some(LogicalType::Json)),
        FieldType::Int64 => (PhysicalType::INT64, None),
        FieldType::Double => (PhysicalType::DOUBLE, None),
        FieldType::Bool => (PhysicalType::BOOLEAN, None),
        FieldType::Date => (PhysicalType::INT32, Some(LogicalType::Date)),
        FieldType::Timestamp => (
            PhysicalType::INT64,
            Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
        ),
    };
    Type::primitive_type_builder(&f.name, physical)
        .with_logical_type(logical)
        .with_repetition(if f.required {
            Repetition::REQUIRED
        } else {
            Repetition::OPTIONAL
        })
        .build()
}

/// One column's buffered values of the current row group. Byte values
/// are kept in one buffer with their end offsets (no allocation per value);
/// the row group's `ByteArray`s are slices of it, made at flush.
enum Values {
    Bytes { data: Vec<u8>, ends: Vec<usize> },
    I64(Vec<i64>),
    I32(Vec<i32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
}

struct Column {
    values: Values,
    /// Definition levels (1 = present, 0 = null) of an OPTIONAL column.
    def: Option<Vec<i16>>,
}

/// A parsed field value.
#[derive(Debug)]
enum Cell<'a> {
    Null,
    Bytes(Cow<'a, [u8]>),
    I64(i64),
    I32(i32),
    F64(f64),
    Bool(bool),
}

/// Rows handed to a column writer per call when writing a row group.
const BATCH: usize = 8192;

/// A Parquet file being encoded.
pub struct ParquetFile {
    schema: Arc<TopicSchema>,
    writer: SerializedFileWriter<Vec<u8>>,
    columns: Vec<Column>,
    rows: usize,
    buffered: usize,
}

impl ParquetFile {
    pub fn new(schema: Arc<TopicSchema>) -> std::io::Result<Self> {
        let writer = SerializedFileWriter::new(
            Vec::with_capacity(1 << 20),
            schema.parquet.clone(),
            schema.properties.clone(),
        )
        .map_err(std::io::Error::other)?;
        let columns = schema
            .fields
            .iter()
            .map(|f| Column {
                values: match f.kind {
                    FieldType::String | FieldType::Json => Values::Bytes {
                        data: Vec::new(),
                        ends: Vec::new(),
                    },
                    FieldType::Int64 | FieldType::Timestamp => Values::I64(Vec::new()),
                    FieldType::Date => Values::I32(Vec::new()),
                    FieldType::Double => Values::F64(Vec::new()),
                    FieldType::Bool => Values::Bool(Vec::new()),
                },
                def: (!f.required).then(Vec::new),
            })
            .collect();
        Ok(Self {
            schema,
            writer,
            columns,
            rows: 0,
            buffered: 0,
        })
    }

    /// Write the buffered rows as one row group.
    fn flush_row_group(&mut self) -> parquet::errors::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for column in &mut self.columns {
            let mut w = group
                .next_column()?
                .ok_or_else(|| parquet::errors::ParquetError::General("column count".into()))?;
            let def = column.def.as_deref();
            match &mut column.values {
                Values::Bytes { data, ends } => {
                    // In slices of BATCH rows, so the ByteArrays made for the
                    // writer never cost more than BATCH × 32 bytes at once.
                    let all = bytes::Bytes::from(std::mem::take(data));
                    let writer = w.typed::<ByteArrayType>();
                    let (mut start, mut next) = (0, 0);
                    let rows = def.map_or(ends.len(), <[i16]>::len);
                    for first in (0..rows).step_by(BATCH) {
                        let levels = def.map(|d| &d[first..(first + BATCH).min(rows)]);
                        let present = levels.map_or((first + BATCH).min(rows) - first, |l| {
                            l.iter().filter(|&&x| x == 1).count()
                        });
                        let values: Vec<ByteArray> = ends[next..next + present]
                            .iter()
                            .map(|&end| {
                                let v = ByteArray::from(all.slice(start..end));
                                start = end;
                                v
                            })
                            .collect();
                        next += present;
                        writer.write_batch(&values, levels, None)?;
                    }
                    0
                }
                Values::I64(v) => w.typed::<Int64Type>().write_batch(v, def, None)?,
                Values::I32(v) => w.typed::<Int32Type>().write_batch(v, def, None)?,
                Values::F64(v) => w.typed::<DoubleType>().write_batch(v, def, None)?,
                Values::Bool(v) => w.typed::<BoolType>().write_batch(v, def, None)?,
            };
            w.close()?;
            match &mut column.values {
                Values::Bytes { data, ends } => {
                    data.clear();
                    ends.clear();
                }
                Values::I64(v) => v.clear(),
                Values::I32(v) => v.clear(),
                Values::F64(v) => v.clear(),
                Values::Bool(v) => v.clear(),
            }
            if let Some(d) = &mut column.def {
                d.clear();
            }
        }
        group.close()?;
        self.rows = 0;
        self.buffered = 0;
        Ok(())
    }
}

impl Encoder for ParquetFile {
    fn append(&mut self, value: &[u8]) -> Result<(), Unwritable> {
        let mut cells: Vec<Option<Cell<'_>>> = Vec::new();
        cells.resize_with(self.schema.fields.len(), || None);
        let mut de = serde_json::Deserializer::from_slice(value);
        let parsed = RowSeed {
            schema: &self.schema,
            cells: &mut cells,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        if let Err(e) = parsed {
            return Err(Unwritable {
                reason: if e.is_data() {
                    "schema_mismatch"
                } else {
                    "not_json"
                },
                message: e.to_string(),
            });
        }
        for (f, cell) in self.schema.fields.iter().zip(&cells) {
            if f.required && matches!(cell, None | Some(Cell::Null)) {
                return Err(Unwritable {
                    reason: "schema_mismatch",
                    message: format!("required field \"{}\" is missing or null", f.name),
                });
            }
        }
        for (column, cell) in self.columns.iter_mut().zip(cells) {
            let cell = cell.unwrap_or(Cell::Null);
            if let Some(def) = &mut column.def {
                def.push(i16::from(!matches!(cell, Cell::Null)));
            }
            self.buffered += 10;
            match (&mut column.values, cell) {
                (_, Cell::Null) => {}
                (Values::Bytes { data, ends }, Cell::Bytes(b)) => {
                    self.buffered += b.len();
                    data.extend_from_slice(&b);
                    ends.push(data.len());
                }
                (Values::I64(v), Cell::I64(x)) => v.push(x),
                (Values::I32(v), Cell::I32(x)) => v.push(x),
                (Values::F64(v), Cell::F64(x)) => v.push(x),
                (Values::Bool(v), Cell::Bool(x)) => v.push(x),
                (_, cell) => unreachable!("a {cell:?} for a column of another type"),
            }
        }
        self.rows += 1;
        if self.buffered >= self.schema.row_group_bytes {
            self.flush_row_group().map_err(|e| Unwritable {
                reason: "encoder",
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn pending_output(&self) -> usize {
        self.writer.inner().len()
    }

    fn take_output(&mut self) -> Vec<u8> {
        // The writer counts the bytes it wrote itself (footer offsets stay
        // right); taking them out of the Vec only moves them to the sink.
        std::mem::replace(self.writer.inner_mut(), Vec::with_capacity(1 << 20))
    }

    fn finish(mut self: Box<Self>) -> std::io::Result<Vec<u8>> {
        self.flush_row_group().map_err(std::io::Error::other)?;
        self.writer.into_inner().map_err(std::io::Error::other)
    }
}

/// Deserializes one record into `cells`, by the schema's field order.
struct RowSeed<'s, 'c, 'de> {
    schema: &'s TopicSchema,
    cells: &'c mut Vec<Option<Cell<'de>>>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (one row)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let Some(i) = self.schema.fields.iter().position(|f| f.name == *key) else {
                if self.schema.unknown == UnknownFields::Reject {
                    return Err(de::Error::custom(format_args!(
                        "field \"{key}\" is not in the topic's Parquet schema (declare it, or set archive.parquet.unknown_fields = \"ignore\")"
                    )));
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if self.cells[i].is_some() {
                return Err(de::Error::custom(format_args!(
                    "field \"{key}\" appears twice"
                )));
            }
            let field = &self.schema.fields[i];
            self.cells[i] = Some(map.next_value_seed(CellSeed { field })?);
        }
        Ok(())
    }
}

/// Deserializes one field's value as its column type.
struct CellSeed<'f> {
    field: &'f FieldConfig,
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_> {
    type Value = Cell<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cell<'de>, D::Error> {
        match self.field.kind {
            FieldType::Json => {
                let raw = <&'de serde_json::value::RawValue>::deserialize(d)?;
                Ok(match raw.get() {
                    "null" => Cell::Null,
                    text => Cell::Bytes(Cow::Borrowed(text.as_bytes())),
                })
            }
            // By what the JSON holds, so null is null for every type.
            _ => d.deserialize_any(self),
        }
    }
}

impl CellSeed<'_> {
    fn wrong<E: de::Error>(&self, got: &dyn fmt::Display) -> E {
        E::custom(format_args!(
            "field \"{}\": expected {}, got {got}",
            self.field.name,
            self.expected()
        ))
    }

    fn expected(&self) -> &'static str {
        match (self.field.kind, self.field.time_format) {
            (FieldType::String, _) => "a string",
            (FieldType::Json, _) => "any JSON value",
            (FieldType::Int64, _) => "an integer",
            (FieldType::Double, _) => "a number",
            (FieldType::Bool, _) => "true or false",
            (FieldType::Date, _) => "a date string YYYY-MM-DD",
            (FieldType::Timestamp, TimeFormat::EpochSeconds) => "epoch seconds (a number)",
            (FieldType::Timestamp, TimeFormat::EpochMillis) => "epoch milliseconds (an integer)",
            (FieldType::Timestamp, TimeFormat::Rfc3339) => "an RFC 3339 time string",
        }
    }

    fn micros<E: de::Error>(&self, micros: f64) -> Result<Cell<'static>, E> {
        // Within ±292,000 years of the epoch an i64 of microseconds is exact.
        if micros.is_finite() && micros.abs() < 9.2e18 {
            Ok(Cell::I64(micros.round() as i64))
        } else {
            Err(self.wrong(&format_args!("{micros} µs, out of range")))
        }
    }
}

impl<'de> Visitor<'de> for CellSeed<'_> {
    type Value = Cell<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "field \"{}\" as {}", self.field.name, self.expected())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Cell<'de>, E> {
        Ok(Cell::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Cell<'de>, E> {
        match self.field.kind {
            FieldType::Bool => Ok(Cell::Bool(v)),
            _ => Err(self.wrong(&format_args!("{v}"))),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell<'de>, E> {
        match (self.field.kind, self.field.time_format) {
            (FieldType::Int64, _) => Ok(Cell::I64(v)),
            (FieldType::Double, _) => Ok(Cell::F64(v as f64)),
            (FieldType::Timestamp, TimeFormat::EpochSeconds) => v
                .checked_mul(1_000_000)
                .map(Cell::I64)
                .ok_or_else(|| self.wrong(&format_args!("{v}, out of range"))),
            (FieldType::Timestamp, TimeFormat::EpochMillis) => v
                .checked_mul(1_000)
                .map(Cell::I64)
                .ok_or_else(|| self.wrong(&format_args!("{v}, out of range"))),
            _ => Err(self.wrong(&format_args!("the number {v}"))),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell<'de>, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) if self.field.kind == FieldType::Double => Ok(Cell::F64(v as f64)),
            Err(_) => Err(self.wrong(&format_args!("{v}, beyond a signed 64-bit integer"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell<'de>, E> {
        match (self.field.kind, self.field.time_format) {
            (FieldType::Double, _) => Ok(Cell::F64(v)),
            (FieldType::Timestamp, TimeFormat::EpochSeconds) => self.micros(v * 1e6),
            _ => Err(self.wrong(&format_args!("the number {v}"))),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cell<'de>, E> {
        match self.field.kind {
            FieldType::String => Ok(Cell::Bytes(Cow::Borrowed(v.as_bytes()))),
            _ => self.visit_str(v),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell<'de>, E> {
        match (self.field.kind, self.field.time_format) {
            (FieldType::String, _) => Ok(Cell::Bytes(Cow::Owned(v.as_bytes().to_vec()))),
            (FieldType::Date, _) => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| {
                    Cell::I32(
                        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
                            as i32,
                    )
                })
                .map_err(|_| self.wrong(&format_args!("\"{v}\""))),
            (FieldType::Timestamp, TimeFormat::Rfc3339) => chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| Cell::I64(t.timestamp_micros()))
                .map_err(|e| self.wrong(&format_args!("\"{v}\" ({e})"))),
            _ => Err(self.wrong(&format_args!("the string \"{v}\""))),
        }
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Cell<'de>, A::Error> {
        Err(self.wrong(&"an array (declare the field as type \"json\")"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Cell<'de>, A::Error> {
        Err(self.wrong(&"an object (declare the field as type \"json\")"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn config(extra: &str) -> ArchiveConfig {
        #[derive(serde::Deserialize)]
        struct Root {
            archive: ArchiveConfig,
        }
        let raw = format!("[archive]\nformat = \"parquet\"\ntopics = [\"logs\", \"t\"]\n{extra}");
        toml::from_str::<Root>(&raw).unwrap().archive
    }

    fn encode(schema: TopicSchema, values: &[&[u8]]) -> (Vec<u8>, Vec<Result<(), Unwritable>>) {
        let mut e: Box<dyn Encoder> = Box::new(ParquetFile::new(Arc::new(schema)).unwrap());
        let mut out = Vec::new();
        let results = values
            .iter()
            .map(|v| {
                let r = e.append(v);
                out.extend(e.take_output());
                r
            })
            .collect();
        out.extend(e.finish().unwrap());
        (out, results)
    }

    fn rows(file: Vec<u8>) -> Vec<String> {
        let reader = SerializedFileReader::new(bytes::Bytes::from(file)).unwrap();
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().to_json_value().to_string())
            .collect()
    }

    #[test]
    fn server_logs_preset_round_trips_and_bad_records_are_refused_whole() {
        let c = config("");
        let schema = TopicSchema::for_topic(&c, "logs").unwrap();
        let (file, results) = encode(
            schema,
            &[
                br#"{"timestamp": 1700000000.123456, "level": "INFO", "message": "a \"q\"", "host": "web-1", "service": "api"}"#,
                br#"{"timestamp": 1700000001, "level": 5, "message": "x", "host": "h", "service": "s"}"#,
                br#"{"timestamp": 1700000002, "level": "WARN", "extra": 1}"#,
                br#"[1, 2]"#,
                b"not json",
                br#"{"level": "ERROR", "host": null}"#,
            ],
        );
        let reasons: Vec<Option<&str>> = results
            .iter()
            .map(|r| r.as_ref().err().map(|u| u.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                None,
                Some("schema_mismatch"),
                Some("schema_mismatch"),
                Some("schema_mismatch"),
                Some("not_json"),
                None
            ]
        );
        let msg = &results[1].as_ref().unwrap_err().message;
        assert!(
            msg.contains("field \"level\": expected a string, got the number 5"),
            "{msg}"
        );
        let msg = &results[2].as_ref().unwrap_err().message;
        assert!(
            msg.contains("\"extra\" is not in the topic's Parquet schema"),
            "{msg}"
        );
        let got = rows(file);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].contains(r#""level":"INFO""#) && got[0].contains(r#"a \"q\""#),
            "{}",
            got[0]
        );
        assert!(
            got[0].contains("2023-11-14 22:13:20.123456"),
            "micros kept: {}",
            got[0]
        );
        assert!(
            got[1].contains(r#""timestamp":null"#) && got[1].contains(r#""host":null"#),
            "{}",
            got[1]
        );
    }

    #[test]
    fn declared_fields_with_every_type_and_several_row_groups() {
        let c = config(
            r#"[archive.parquet]
row_group_bytes = "1MiB"
unknown_fields = "ignore"
[[archive.parquet.topics.t.fields]]
name = "at"
type = "timestamp"
time_format = "rfc3339"
required = true
[[archive.parquet.topics.t.fields]]
name = "n"
type = "int64"
[[archive.parquet.topics.t.fields]]
name = "x"
type = "double"
[[archive.parquet.topics.t.fields]]
name = "ok"
type = "bool"
[[archive.parquet.topics.t.fields]]
name = "day"
type = "date"
[[archive.parquet.topics.t.fields]]
name = "doc"
type = "json"
"#,
        );
        let schema = TopicSchema::for_topic(&c, "t").unwrap();
        let values: Vec<Vec<u8>> = (0..20_000)
            .map(|i| {
                format!(
                    r#"{{"at": "2024-04-05T19:34:{:02}.5+02:00", "n": {i}, "x": 1.5, "ok": true, "day": "2024-02-29", "doc": {{"a": [1, {i}]}}, "ignored": "y{}"}}"#,
                    i % 60,
                    "z".repeat(100)
                )
                .into_bytes()
            })
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
        let (file, results) = encode(schema, &refs);
        assert!(results.iter().all(Result::is_ok));
        let reader = SerializedFileReader::new(bytes::Bytes::from(file.clone())).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 20_000);
        assert!(
            reader.metadata().num_row_groups() > 1,
            "row groups bounded by bytes"
        );
        let got = rows(file);
        assert_eq!(
            got[7],
            r#"{"at":"2024-04-05 17:34:07.500000 +00:00","day":"2024-02-29","doc":"{\"a\": [1, 7]}","n":7,"ok":true,"x":1.5}"#
        );
        let (_, refused) = encode(
            TopicSchema::for_topic(&c, "t").unwrap(),
            &[br#"{"n": 1}"#, br#"{"at": "yesterday"}"#],
        );
        assert!(refused[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("required field \"at\""));
        assert!(refused[1]
            .as_ref()
            .unwrap_err()
            .message
            .contains("RFC 3339"));
    }

    #[test]
    fn schema_errors_say_what_to_declare() {
        let c = config("");
        let e = TopicSchema::for_topic(&c, "t").unwrap_err();
        assert!(
            e.contains("[[archive.parquet.topics.t.fields]]") && e.contains("server-logs"),
            "{e}"
        );
        let c = config("[archive.parquet.topics.t]\nschema = \"nope\"\n");
        assert!(TopicSchema::for_topic(&c, "t")
            .unwrap_err()
            .contains("unknown built-in schema \"nope\""));
        for preset in [
            "server-logs",
            "access-logs",
            "car-transactions",
            "user-events",
            "user-profiles",
        ] {
            let c = config(&format!(
                "[archive.parquet.topics.t]\nschema = \"{preset}\"\n"
            ));
            assert!(TopicSchema::for_topic(&c, "t").is_ok(), "{preset}");
        }
    }
}
