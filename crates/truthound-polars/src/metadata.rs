//! The metadata columns: key, topic, partition, offset, timestamp and headers.

use polars::prelude::{
    Column, Int64Chunked, IntoColumn, IntoSeries, PlSmallStr, PolarsResult, Series, TimeUnit,
};
use polars_arrow::array::{Array, ListArray, PrimitiveArray, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField};
use polars_arrow::offset::OffsetsBuffer;
use truthound_streaming_core::{KeyDeserializer, RawMessage, StreamingDataSourceConfig};

use crate::buffers::{Validity, VarBytes};

struct KeyColumn {
    decoder: KeyDeserializer,
    values: VarBytes,
    validity: Validity,
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
    pub(crate) fn new(config: &StreamingDataSourceConfig) -> Self {
        Self {
            prefix: config.metadata_prefix.clone(),
            rows: 0,
            key: config.include_key.then(|| KeyColumn {
                decoder: config.key_deserializer,
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

    /// Checks that the message's key can be decoded; the reason when it cannot.
    pub(crate) fn check_key(&self, msg: &RawMessage) -> Result<(), String> {
        match (&self.key, &msg.key) {
            (Some(k), Some(bytes)) if k.decoder != KeyDeserializer::Bytes => {
                std::str::from_utf8(bytes).map(|_| ()).map_err(|e| {
                    format!(
                        "key is not valid UTF-8 (invalid at byte {})",
                        e.valid_up_to()
                    )
                })
            }
            _ => Ok(()),
        }
    }

    /// Adds the message's row. Call [`check_key`](Self::check_key) first.
    pub(crate) fn push(&mut self, msg: &RawMessage) {
        let row = self.rows;
        if let Some(k) = &mut self.key {
            match &msg.key {
                Some(bytes) => {
                    k.values.push(bytes);
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
                KeyDeserializer::Bytes => k.values.into_binary_array(validity)?,
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
