//! [`MessageFrameBuilder`]: records in, a DataFrame and a [`DecodeReport`] out.

use std::sync::Arc;

use polars::prelude::{Column, DataFrame, IntoColumn, IntoLazy, LazyFrame, PlSmallStr, Series};
use truthound_streaming_core::{
    DeserializationError, FieldNote, MessageDeserializer, OnMalformed, RawMessage, Schema,
    StreamingDataSourceConfig,
};

use crate::columns::ColumnTree;
use crate::error::{Error, Result};
use crate::metadata::MetadataColumns;

/// A record left out of the frame because it could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedMessage {
    /// The record's partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// Why it could not be decoded.
    pub reason: String,
}

/// A decision inference made about a field, with where the field is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotedField {
    /// The field's path: the column name, then struct field names below it.
    pub path: Vec<String>,
    /// The decision.
    pub note: FieldNote,
}

/// What happened while records were decoded: rows made, records skipped, tombstones, and the
/// type decisions worth knowing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeReport {
    /// Rows in the frame (one per decoded record).
    pub rows: usize,
    /// Records that failed to decode and were skipped (`on_malformed = skip`), in read order.
    pub skipped: Vec<SkippedMessage>,
    /// Records without a value (tombstones); they make no row and are not errors.
    pub tombstones: usize,
    /// Fields whose values had incompatible types and were kept as JSON text.
    pub notes: Vec<NotedField>,
}

impl DecodeReport {
    /// All records seen: rows, skipped records and tombstones.
    pub fn messages_seen(&self) -> usize {
        self.rows + self.skipped.len() + self.tombstones
    }

    /// The note for the field at `path`, if inference made one.
    pub fn note_for(&self, path: &[&str]) -> Option<&FieldNote> {
        self.notes
            .iter()
            .find(|n| n.path.iter().map(String::as_str).eq(path.iter().copied()))
            .map(|n| &n.note)
    }
}

/// A decoded snapshot: the frame and what happened while it was built.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// One row per decoded record: data columns in first-seen order, then metadata columns.
    pub frame: DataFrame,
    /// Rows, skipped records, tombstones and type decisions.
    pub report: DecodeReport,
}

impl Snapshot {
    /// The frame's schema, with the report's notes.
    pub fn schema(&self) -> Schema {
        crate::schema::frame_schema(&self.frame, &self.report)
    }

    /// The frame as a LazyFrame.
    pub fn lazy(self) -> LazyFrame {
        self.frame.lazy()
    }
}

/// Decodes records into column buffers and builds a Polars DataFrame from them.
///
/// Each record's value is decoded by the deserializer straight into typed column buffers (no
/// per-record map or document). Objects become rows, with a column per field, in first-seen
/// order; other values go to a column named `value`. Column types are inferred as values arrive:
///
/// | values seen in a field | column type |
/// |---|---|
/// | only nulls (or the field is always missing) | `Null` |
/// | booleans / integers / floats / strings / bytes | `Boolean` / `Int64` / `Float64` / `String` / `Binary` |
/// | integers and floats | `Float64` |
/// | integers above `i64::MAX` (and no negative ones) | `UInt64` (else `Float64`) |
/// | objects | `Struct`, fields inferred by the same rules |
/// | arrays | `List`, elements inferred by the same rules |
/// | anything else mixed (a string and a number, an object and a scalar...) | `String` holding each value's JSON text, with a [`FieldNote::MixedTypesAsJsonText`] in the report |
///
/// A field missing from a record is null there; a field first seen late is null before.
/// Objects that were only ever empty (`{}`) give a `Null` column.
///
/// Records without a value (tombstones) make no row and are counted. A record that fails to
/// decode is rolled back (its partial values and any column it created are removed) and then,
/// per `on_malformed`, skipped and reported, or returned as an error naming its partition and
/// offset. A failing custom deserializer that emitted values before failing may still have
/// widened a column's type; the built-in ones validate before they emit.
///
/// Metadata columns follow the data columns, as the configuration asks: `{prefix}key`
/// (`include_key`; `String` for the `string` and `json` key deserializers, which keep the key's
/// text and require UTF-8, `Binary` for `bytes`, `String` for `avro` and `protobuf`, decoded by
/// the [key deserializer](Self::with_key_deserializer): a string as it is, anything else as
/// compact JSON), `{prefix}topic` (`String`),
/// `{prefix}partition` (`Int32`), `{prefix}offset` (`Int64`), `{prefix}timestamp`
/// (`Datetime(ms)`, UTC values without a time zone attached) for `include_metadata`, and `{prefix}headers`
/// (`List(Struct{key: String, value: Binary})`) for `include_headers`.
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_polars::MessageFrameBuilder;
/// use truthound_streaming_core::{RawMessage, StreamingDataSourceConfig};
///
/// let config = StreamingDataSourceConfig::default().with_include_key(false);
/// let messages = vec![
///     RawMessage::new("events", 0, 0, Some(r#"{"user_id": 1, "action": "login"}"#.into())),
///     RawMessage::new("events", 0, 1, Some(r#"{"user_id": 2, "amount": 9.5}"#.into())),
///     RawMessage::new("events", 0, 2, Some("not json".into())),
///     RawMessage::new("events", 0, 3, None),
/// ];
///
/// let mut builder = MessageFrameBuilder::new(&config, Arc::new(JSONDeserializer::new()));
/// builder.push_batch(&messages)?;
/// let (frame, report) = builder.finish()?;
///
/// let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
/// assert_eq!(names, ["user_id", "action", "amount"]);
/// assert_eq!(frame.height(), 2);
/// assert_eq!(report.skipped[0].offset, 2);
/// assert_eq!(report.tombstones, 1);
/// # Ok::<(), truthound_polars::Error>(())
/// ```
pub struct MessageFrameBuilder {
    deserializer: Arc<dyn MessageDeserializer>,
    on_malformed: OnMalformed,
    tree: ColumnTree,
    metadata: MetadataColumns,
    report: DecodeReport,
}

impl std::fmt::Debug for MessageFrameBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageFrameBuilder")
            .field("deserializer", &self.deserializer.name())
            .field("on_malformed", &self.on_malformed)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl MessageFrameBuilder {
    /// A builder for records decoded by `deserializer`, with the metadata columns and malformed
    /// record handling `config` asks for.
    pub fn new(
        config: &StreamingDataSourceConfig,
        deserializer: Arc<dyn MessageDeserializer>,
    ) -> Self {
        Self {
            deserializer,
            on_malformed: config.on_malformed,
            tree: ColumnTree::with_projection(config.columns.as_deref()),
            metadata: MetadataColumns::new(config, None),
            report: DecodeReport::default(),
        }
    }

    /// Decodes record keys with `deserializer`, for the key formats that need one (`avro`,
    /// `protobuf`: see [`KeyDeserializer`](truthound_streaming_core::KeyDeserializer)). Without
    /// it, such keys make their records malformed. The text and bytes key formats ignore it.
    #[must_use]
    pub fn with_key_deserializer(mut self, deserializer: Arc<dyn MessageDeserializer>) -> Self {
        self.metadata.set_key_deserializer(&deserializer);
        self
    }

    /// Overrides what happens to records that fail to decode.
    #[must_use]
    pub fn with_on_malformed(mut self, on_malformed: OnMalformed) -> Self {
        self.on_malformed = on_malformed;
        self
    }

    /// The rows built so far.
    pub fn rows(&self) -> usize {
        self.report.rows
    }

    /// The report so far.
    pub fn report(&self) -> &DecodeReport {
        &self.report
    }

    /// Decodes a batch of records, in order.
    ///
    /// # Errors
    /// With `on_malformed = error`, the first record that fails to decode, as
    /// [`Error::Source`] wrapping a [`DeserializationError`]; the rows before it stay.
    pub fn push_batch(&mut self, batch: &[RawMessage]) -> Result<()> {
        for msg in batch {
            self.push_message(msg)?;
        }
        Ok(())
    }

    /// Decodes one record.
    ///
    /// # Errors
    /// As [`push_batch`](Self::push_batch).
    pub fn push_message(&mut self, msg: &RawMessage) -> Result<()> {
        let Some(value) = &msg.value else {
            self.report.tombstones += 1;
            return Ok(());
        };
        if let Err(reason) = self.metadata.check_key(msg) {
            return self.malformed(msg, reason);
        }
        let mark = self.tree.begin_message();
        let decoded = match self.deserializer.deserialize_into(value, &mut self.tree) {
            Ok(()) => self.tree.end_message().map_err(str::to_owned),
            Err(failure) => Err(failure.into_reason()),
        };
        if let Err(reason) = decoded {
            self.tree.rollback(mark);
            return self.malformed(msg, reason);
        }
        self.metadata.push(msg);
        self.report.rows += 1;
        Ok(())
    }

    fn malformed(&mut self, msg: &RawMessage, reason: String) -> Result<()> {
        match self.on_malformed {
            OnMalformed::Error => Err(Error::from(DeserializationError {
                partition: msg.partition,
                offset: msg.offset,
                reason,
            })),
            _ => {
                self.report.skipped.push(SkippedMessage {
                    partition: msg.partition,
                    offset: msg.offset,
                    reason,
                });
                Ok(())
            }
        }
    }

    /// Builds the DataFrame: data columns in first-seen order, then metadata columns.
    ///
    /// # Errors
    /// [`Error::ColumnNameCollision`] when a data field has a metadata column's name, and
    /// [`Error::Polars`] if Polars rejects a column.
    pub fn finish(self) -> Result<(DataFrame, DecodeReport)> {
        let snapshot = self.finish_snapshot()?;
        Ok((snapshot.frame, snapshot.report))
    }

    /// Builds the DataFrame, as [`finish`](Self::finish), as a [`Snapshot`].
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub fn finish_snapshot(self) -> Result<Snapshot> {
        let mut report = self.report;
        let rows = self.tree.rows();
        let metadata_names = self.metadata.names();
        let built = self.tree.finish()?;
        let mut columns: Vec<Column> = Vec::with_capacity(built.len() + metadata_names.len());
        for col in built {
            if metadata_names.contains(&col.name) {
                return Err(Error::ColumnNameCollision { name: col.name });
            }
            report.notes.extend(
                col.notes
                    .into_iter()
                    .map(|(path, note)| NotedField { path, note }),
            );
            let series = Series::try_from((PlSmallStr::from(col.name.as_str()), col.array))?;
            columns.push(series.into_column());
        }
        columns.extend(self.metadata.finish()?);
        let frame = DataFrame::new(rows, columns)?;
        Ok(Snapshot { frame, report })
    }
}
