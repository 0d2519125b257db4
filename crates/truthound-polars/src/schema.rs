//! Schemas: the core [`Schema`] of a built frame, and inference from a sample of records.

use std::sync::Arc;

use polars::prelude::{DataFrame, DataType as PlDataType, Series};
use truthound_streaming_core::{
    DataType, Field, MessageDeserializer, RawMessage, Schema, StreamingDataSourceConfig,
};

use crate::error::Result;
use crate::frame::{DecodeReport, MessageFrameBuilder};

/// Infers the schema of `messages` as [`MessageFrameBuilder`] would build them.
///
/// Malformed records are skipped whatever `on_malformed` says: a sample should describe the
/// records that decode.
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_streaming_core::{DataType, RawMessage, StreamingDataSourceConfig};
///
/// let messages: Vec<RawMessage> = [r#"{"a": 1}"#, r#"{"a": 2.5, "b": [true]}"#]
///     .iter()
///     .zip(0..)
///     .map(|(json, offset)| RawMessage::new("t", 0, offset, Some(json.as_bytes().to_vec().into())))
///     .collect();
/// let config = StreamingDataSourceConfig::default().with_include_key(false);
/// let schema = truthound_polars::infer_schema(&config, Arc::new(JSONDeserializer::new()), &messages)?;
/// assert_eq!(schema.field("a").map(|f| &f.data_type), Some(&DataType::Float64));
/// assert_eq!(schema.to_string(), "\
/// schema (2 fields)
/// ├── a: Float64
/// └── b: List<Boolean> (nullable)
/// ");
/// # Ok::<(), truthound_polars::Error>(())
/// ```
///
/// # Errors
/// As [`MessageFrameBuilder::finish`].
pub fn infer_schema(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: &[RawMessage],
) -> Result<Schema> {
    let mut builder = MessageFrameBuilder::new(config, deserializer)
        .with_on_malformed(truthound_streaming_core::OnMalformed::Skip);
    builder.push_batch(messages)?;
    let snapshot = builder.finish_snapshot()?;
    Ok(snapshot.schema())
}

/// The core [`Schema`] of a frame built by this crate, with the report's notes attached.
///
/// Types map from Polars' (`String` to [`DataType::Utf8`], `Datetime(unit, zone)` to
/// [`DataType::Datetime`] with the same unit and zone, `Date`, `Time` and `Decimal(p, s)` to
/// their namesakes); a field is nullable when it holds a null. Polars types this crate
/// does not produce map to the nearest core type (other integers to `Int64`, other floats to
/// `Float64`), or to `Utf8`.
pub fn frame_schema(frame: &DataFrame, report: &DecodeReport) -> Schema {
    let mut path = Vec::new();
    let fields = frame
        .columns()
        .iter()
        .map(|c| field_of(c.as_materialized_series(), &mut path, report))
        .collect();
    Schema::new(fields)
}

fn field_of(series: &Series, path: &mut Vec<String>, report: &DecodeReport) -> Field {
    let name = series.name().to_string();
    path.push(name.clone());
    let data_type = type_of(series, path, report);
    let note = report
        .notes
        .iter()
        .find(|n| n.path == *path)
        .map(|n| n.note.clone());
    path.pop();
    Field {
        name,
        data_type,
        nullable: series.null_count() > 0,
        note,
    }
}

fn type_of(series: &Series, path: &mut Vec<String>, report: &DecodeReport) -> DataType {
    match series.dtype() {
        PlDataType::Struct(_) => match series.struct_() {
            Ok(ca) => DataType::Struct(
                ca.fields_as_series()
                    .iter()
                    .map(|f| field_of(f, path, report))
                    .collect(),
            ),
            Err(_) => DataType::Struct(Vec::new()),
        },
        PlDataType::List(inner) => match series.list() {
            Ok(ca) => DataType::List(Box::new(type_of(&ca.get_inner(), path, report))),
            Err(_) => DataType::List(Box::new(map_shallow(inner))),
        },
        other => map_shallow(other),
    }
}

/// The core type of a Polars type, with struct fields (all nullable) and element types.
pub(crate) fn core_type(dtype: &PlDataType) -> DataType {
    map_shallow(dtype)
}

fn map_shallow(dtype: &PlDataType) -> DataType {
    match dtype {
        PlDataType::Null => DataType::Null,
        PlDataType::Boolean => DataType::Boolean,
        PlDataType::Int32 | PlDataType::Int16 | PlDataType::Int8 => DataType::Int32,
        PlDataType::Int64 | PlDataType::UInt8 | PlDataType::UInt16 | PlDataType::UInt32 => {
            DataType::Int64
        }
        PlDataType::UInt64 => DataType::UInt64,
        PlDataType::Float32 | PlDataType::Float64 => DataType::Float64,
        PlDataType::Binary | PlDataType::BinaryOffset => DataType::Binary,
        PlDataType::Datetime(unit, tz) => DataType::Datetime(
            crate::merge::core_unit(*unit),
            tz.as_ref().map(ToString::to_string),
        ),
        PlDataType::Date => DataType::Date,
        PlDataType::Time => DataType::Time,
        PlDataType::Decimal(precision, scale) => DataType::Decimal {
            precision: u8::try_from(*precision).unwrap_or(u8::MAX),
            scale: u8::try_from(*scale).unwrap_or(u8::MAX),
        },
        PlDataType::List(inner) => DataType::List(Box::new(map_shallow(inner))),
        PlDataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| Field::new(f.name().as_str(), map_shallow(f.dtype()), true))
                .collect(),
        ),
        _ => DataType::Utf8,
    }
}
