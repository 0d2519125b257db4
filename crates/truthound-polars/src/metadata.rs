//! The metadata columns: key, topic, partition, offset, timestamp and headers.

use polars::prelude::{
    Column, Int64Chunked, IntoColumn, IntoSeries, PlSmallStr, PolarsResult, Series, TimeUnit,
};
use polars_arrow::array::{Array, ListArray, PrimitiveArray, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::offset::OffsetsBuffer;
use std::sync::Arc;
use truthound_streaming_core::{
    JsonWriter, KeyDeserializer, MessageDeserializer, RawMessage, StreamingDataSourceConfig,
    TimeUnit as CoreTimeUnit, ValueVisitor,
};

use crate::buffers::{Validity, VarBytes};

struct KeyColumn {
    decoder: KeyDecoder,
    values: VarBytes,
    validity: Validity,
}

/// How a key becomes its column's value.
enum KeyDecoder {
    /// The key's bytes, which must be UTF-8; `unframe` drops a Confluent wire-format header
    /// (JSON keys written by a registry serializer).
    Text { unframe: bool },
    /// The key's bytes as they are.
    Bytes,
    /// Decoded by a deserializer (Avro, Protobuf) into [`KeyText`].
    Decoded(Arc<dyn MessageDeserializer>, Box<KeyText>),
    /// A format that needs a deserializer, which the builder was not given.
    Missing(KeyDeserializer),
}

impl KeyDecoder {
    fn new(kind: KeyDeserializer, deserializer: Option<&Arc<dyn MessageDeserializer>>) -> Self {
        match (kind, deserializer) {
            (KeyDeserializer::Bytes, _) => Self::Bytes,
            (KeyDeserializer::String, _) => Self::Text { unframe: false },
            (KeyDeserializer::Json, _) => Self::Text { unframe: true },
            (_, Some(d)) => Self::Decoded(Arc::clone(d), Box::default()),
            (kind, None) => Self::Missing(kind),
        }
    }
}

/// The text of a decoded key: a string bare, anything else as compact JSON (records as
/// objects, numbers as numbers; timestamps, dates, times and decimals as their ISO or exact
/// text, without quotes when they are the whole key).
#[derive(Default)]
struct KeyText {
    json: JsonWriter,
    /// The key, when it is a string.
    bare: String,
    is_bare: bool,
    /// The key is a null.
    is_null: bool,
}

impl KeyText {
    fn clear(&mut self) {
        self.json.clear();
        self.bare.clear();
        self.is_bare = false;
        self.is_null = false;
    }

    fn whole(&self) -> bool {
        self.json.depth() == 0 && !self.json.is_complete() && !self.is_bare
    }

    /// The key's text, or `None` when the deserializer produced no complete value.
    fn text(&self) -> Option<&str> {
        if self.is_bare {
            return Some(&self.bare);
        }
        if !self.json.is_complete() {
            return None;
        }
        let json = self.json.as_str();
        // A whole-key string other than `str` (a timestamp, date, time or decimal) is ISO or
        // decimal text, which JSON writes without escapes: drop its quotes.
        Some(
            json.strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(json),
        )
    }
}

impl ValueVisitor for KeyText {
    fn null(&mut self) {
        if self.whole() {
            self.is_null = true;
        }
        self.json.null();
    }
    fn typed_null(&mut self, _: truthound_streaming_core::ScalarType) {
        self.null();
    }
    fn bool(&mut self, v: bool) {
        self.json.bool(v);
    }
    fn i64(&mut self, v: i64) {
        self.json.i64(v);
    }
    fn u64(&mut self, v: u64) {
        self.json.u64(v);
    }
    fn f64(&mut self, v: f64) {
        self.json.f64(v);
    }
    fn str(&mut self, v: &str) {
        if self.whole() {
            self.bare.push_str(v);
            self.is_bare = true;
        } else {
            self.json.str(v);
        }
    }
    fn bytes(&mut self, v: &[u8]) {
        self.json.bytes(v);
    }
    fn begin_object(&mut self, len: Option<usize>) {
        self.json.begin_object(len);
    }
    fn key(&mut self, k: &str) {
        self.json.key(k);
    }
    fn end_object(&mut self) {
        self.json.end_object();
    }
    fn begin_array(&mut self, len: Option<usize>) {
        self.json.begin_array(len);
    }
    fn end_array(&mut self) {
        self.json.end_array();
    }
    fn timestamp(&mut self, value: i64, unit: CoreTimeUnit, utc: bool) {
        self.json.timestamp(value, unit, utc);
    }
    fn date(&mut self, days: i32) {
        self.json.date(days);
    }
    fn time(&mut self, value: i64, unit: CoreTimeUnit) {
        self.json.time(value, unit);
    }
    fn decimal(&mut self, unscaled: i128, precision: u8, scale: u8) {
        self.json.decimal(unscaled, precision, scale);
    }
}

/// The Confluent wire format's header: magic byte 0 and a 4-byte schema id. JSON text never
/// starts with a zero byte, so a key that does is framed.
const FRAME_HEADER: usize = 5;

fn unframed(key: &[u8]) -> &[u8] {
    match key {
        [0, rest @ ..] if rest.len() >= FRAME_HEADER - 1 => &rest[FRAME_HEADER - 1..],
        _ => key,
    }
}

#[derive(Default)]
struct PositionColumns {
    topic: VarBytes,
    partition: Vec<i32>,
    offset: Vec<i64>,
    timestamp: Vec<i64>,
    timestamp_validity: Validity,
}

#[derive(Default)]
struct HeaderColumn {
    offsets: Vec<i64>,
    keys: VarBytes,
    values: VarBytes,
    value_validity: Validity,
}

/// Builds the metadata columns the configuration asks for, one row per decoded message.
pub(crate) struct MetadataColumns {
    prefix: String,
    rows: usize,
    key: Option<KeyColumn>,
    position: Option<PositionColumns>,
    headers: Option<HeaderColumn>,
}

impl MetadataColumns {
    /// The columns `config` asks for; `key_deserializer` decodes keys of the `avro` and
    /// `protobuf` key formats.
    pub(crate) fn new(
        config: &StreamingDataSourceConfig,
        key_deserializer: Option<&Arc<dyn MessageDeserializer>>,
    ) -> Self {
        Self {
            prefix: config.metadata_prefix.clone(),
            rows: 0,
            key: config.include_key.then(|| KeyColumn {
                decoder: KeyDecoder::new(config.key_deserializer, key_deserializer),
                values: VarBytes::default(),
                validity: Validity::default(),
            }),
            position: config.include_metadata.then(PositionColumns::default),
            headers: config.include_headers.then(|| HeaderColumn {
                offsets: vec![0],
                ..HeaderColumn::default()
            }),
        }
    }

    /// Decodes keys with `deserializer`, when the key format needs one (`avro`, `protobuf`);
    /// the text and bytes formats ignore it.
    pub(crate) fn set_key_deserializer(&mut self, deserializer: &Arc<dyn MessageDeserializer>) {
        if let Some(k) = &mut self.key
            && let KeyDecoder::Missing(kind) = k.decoder
        {
            k.decoder = KeyDecoder::new(kind, Some(deserializer));
        }
    }

    /// The column names, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        let p = &self.prefix;
        let mut names = Vec::new();
        if self.key.is_some() {
            names.push(format!("{p}key"));
        }
        if self.position.is_some() {
            for n in ["topic", "partition", "offset", "timestamp"] {
                names.push(format!("{p}{n}"));
            }
        }
        if self.headers.is_some() {
            names.push(format!("{p}headers"));
        }
        names
    }

    /// Checks that the message's key can be decoded, and decodes it for
    /// [`push`](Self::push); the reason when it cannot.
    pub(crate) fn check_key(&mut self, msg: &RawMessage) -> Result<(), String> {
        let (Some(k), Some(bytes)) = (&mut self.key, &msg.key) else {
            return Ok(());
        };
        match &mut k.decoder {
            KeyDecoder::Bytes => Ok(()),
            KeyDecoder::Text { unframe } => {
                let text = if *unframe { unframed(bytes) } else { bytes };
                std::str::from_utf8(text).map(|_| ()).map_err(|e| {
                    format!(
                        "key is not valid UTF-8 (invalid at byte {})",
                        e.valid_up_to() + (bytes.len() - text.len())
                    )
                })
            }
            KeyDecoder::Decoded(deserializer, text) => {
                text.clear();
                deserializer
                    .deserialize_into(bytes, text.as_mut())
                    .map_err(|e| format!("key: {}", e.reason()))?;
                match text.text() {
                    Some(_) => Ok(()),
                    None => Err(format!(
                        "key: the {} deserializer gave no complete value",
                        deserializer.name()
                    )),
                }
            }
            KeyDecoder::Missing(kind) => Err(format!(
                "key_deserializer {kind} needs a key deserializer, which this source does not \
                 give: read keys as string or bytes"
            )),
        }
    }

    /// Adds the message's row. Call [`check_key`](Self::check_key) first.
    pub(crate) fn push(&mut self, msg: &RawMessage) {
        let row = self.rows;
        if let Some(k) = &mut self.key {
            match &msg.key {
                Some(_) if matches!(&k.decoder, KeyDecoder::Decoded(_, t) if t.is_null) => {
                    k.values.push_empty();
                    k.validity.push_null(row);
                }
                Some(bytes) => {
                    match &k.decoder {
                        KeyDecoder::Text { unframe: true } => k.values.push(unframed(bytes)),
                        KeyDecoder::Decoded(_, text) => {
                            k.values.push(text.text().unwrap_or_default().as_bytes());
                        }
                        _ => k.values.push(bytes),
                    }
                    k.validity.push_valid();
                }
                None => {
                    k.values.push_empty();
                    k.validity.push_null(row);
                }
            }
        }
        if let Some(p) = &mut self.position {
            p.topic.push(msg.topic.as_bytes());
            p.partition.push(msg.partition);
            p.offset.push(msg.offset);
            match msg.timestamp {
                Some(ts) => {
                    p.timestamp.push(ts);
                    p.timestamp_validity.push_valid();
                }
                None => {
                    p.timestamp.push(0);
                    p.timestamp_validity.push_null(row);
                }
            }
        }
        if let Some(h) = &mut self.headers {
            for header in &msg.headers {
                let i = h.keys.len();
                h.keys.push(header.key.as_bytes());
                match &header.value {
                    Some(v) => {
                        h.values.push(v);
                        h.value_validity.push_valid();
                    }
                    None => {
                        h.values.push_empty();
                        h.value_validity.push_null(i);
                    }
                }
            }
            h.offsets.push(h.keys.len() as i64);
        }
        self.rows += 1;
    }

    /// Builds the columns.
    pub(crate) fn finish(self) -> PolarsResult<Vec<Column>> {
        let p = self.prefix;
        let rows = self.rows;
        let mut out = Vec::new();
        if let Some(k) = self.key {
            let validity = k.validity.into_bitmap(rows)?;
            let array = match k.decoder {
                KeyDecoder::Bytes => k.values.into_binary_array(validity)?,
                _ => k.values.into_utf8_array(validity)?,
            };
            out.push(column(format!("{p}key"), array)?);
        }
        if let Some(pos) = self.position {
            out.push(column(
                format!("{p}topic"),
                pos.topic.into_utf8_array(None)?,
            )?);
            let partition =
                PrimitiveArray::<i32>::try_new(ArrowDataType::Int32, pos.partition.into(), None)?;
            out.push(column(format!("{p}partition"), Box::new(partition))?);
            let offset =
                PrimitiveArray::<i64>::try_new(ArrowDataType::Int64, pos.offset.into(), None)?;
            out.push(column(format!("{p}offset"), Box::new(offset))?);
            let ts = PrimitiveArray::<i64>::try_new(
                ArrowDataType::Int64,
                pos.timestamp.into(),
                pos.timestamp_validity.into_bitmap(rows)?,
            )?;
            // No time zone attached: formatting zoned datetimes panics in Polars builds without
            // its `timezones` feature. The values are UTC.
            let ts = Int64Chunked::with_chunk(format!("{p}timestamp").into(), ts)
                .into_datetime(TimeUnit::Milliseconds, None);
            out.push(ts.into_series().into_column());
        }
        if let Some(h) = self.headers {
            let n = h.keys.len();
            let fields = vec![
                ArrowField::new("key".into(), ArrowDataType::LargeUtf8, false),
                ArrowField::new("value".into(), ArrowDataType::LargeBinary, true),
            ];
            let entries = StructArray::try_new(
                ArrowDataType::Struct(fields.clone()),
                n,
                vec![
                    h.keys.into_utf8_array(None)?,
                    h.values
                        .into_binary_array(h.value_validity.into_bitmap(n)?)?,
                ],
                None,
            )?;
            let item = ArrowField::new("item".into(), ArrowDataType::Struct(fields), true);
            let list = ListArray::<i64>::try_new(
                ArrowDataType::LargeList(Box::new(item)),
                OffsetsBuffer::try_from(h.offsets)?,
                Box::new(entries),
                None,
            )?;
            out.push(column(format!("{p}headers"), Box::new(list))?);
        }
        Ok(out)
    }
}

fn column(name: String, array: Box<dyn Array>) -> PolarsResult<Column> {
    Ok(Series::try_from((PlSmallStr::from(name), array))?.into_column())
}
