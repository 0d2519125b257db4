//! Polars for Truthound Streaming: records in, a [`DataFrame`](polars::prelude::DataFrame) or
//! [`LazyFrame`](polars::prelude::LazyFrame) and an inferred
//! [`Schema`](truthound_streaming_core::Schema) out.
//!
//! Any [`BaseStreamingDataSource`](truthound_streaming_core::BaseStreamingDataSource) gets
//! [`PolarsSourceExt`]: `get_schema`, `to_polars_dataframe` and `to_polars_lazyframe`. Underneath,
//! [`MessageFrameBuilder`] has the record deserializer write each value straight into typed
//! column buffers (a visitor, no per-record document), infers column types as values arrive, and
//! builds Arrow arrays once at the end. See [`MessageFrameBuilder`] for the type rules, malformed
//! records, tombstones and metadata columns.
//!
//! # Layout
//! - [`frame`]: [`MessageFrameBuilder`], [`Snapshot`], [`DecodeReport`] and [`SkippedMessage`].
//! - [`ext`]: [`PolarsSourceExt`], the source extension trait.
//! - [`parallel`]: [`ParallelFrameBuilder`], decoding batches on several threads as they
//!   arrive, [`FrameSink`] and [`SegmentSpill`] for snapshots written chunk by chunk, and
//!   [`build_parallel`] for records already in memory.
//! - [`schema`]: [`infer_schema`] and [`frame_schema`], core schemas of built frames.
//! - [`error`]: [`Error`] and the [`Result`] alias.
//! - `merge` (private): stacking frames built separately, their types reconciled.
//! - `columns` (private): the column-builder tree, the visitor that does the decoding work.
//! - `metadata` (private): the key, topic, partition, offset, timestamp and headers columns.
//! - `buffers` (private): truncatable bit, offset and byte buffers handed to Arrow without copies.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use truthound_json::JSONDeserializer;
//! use truthound_polars::PolarsSourceExt;
//! use truthound_streaming_core::{InMemorySource, RawMessage, StreamingDataSourceConfig};
//!
//! # futures::executor::block_on(async {
//! let messages = vec![
//!     RawMessage::new("t", 0, 0, Some(r#"{"id": 1, "device": {"os": "ios"}}"#.into())),
//!     RawMessage::new("t", 0, 1, Some(r#"{"id": "two", "tags": ["a"]}"#.into())),
//! ];
//! let config = StreamingDataSourceConfig::default().with_include_key(false);
//! let mut source = InMemorySource::new(config, Arc::new(JSONDeserializer::new()), messages);
//!
//! let snapshot = source.to_polars_dataframe().await?;
//! assert_eq!(snapshot.frame.shape(), (2, 3));
//! assert_eq!(snapshot.schema().to_string(), "\
//! schema (3 fields)
//! ├── id: Utf8 [mixed types kept as JSON text: Int64, Utf8]
//! ├── device: Struct (nullable)
//! │   └── os: Utf8 (nullable)
//! └── tags: List<Utf8> (nullable)
//! ");
//! assert!(snapshot.report.note_for(&["id"]).is_some());
//! # Ok::<(), truthound_polars::Error>(())
//! # }).unwrap();
//! ```

mod buffers;
mod columns;
pub mod error;
pub mod ext;
pub mod frame;
mod merge;
mod metadata;
pub mod parallel;
pub mod schema;

pub use error::{Error, Result};
pub use ext::PolarsSourceExt;
pub use frame::{DecodeReport, MessageFrameBuilder, NotedField, SkippedMessage, Snapshot};
pub use merge::stack_snapshots;
pub use parallel::{FrameSink, ParallelFrameBuilder, SegmentSpill, build_parallel};
pub use schema::{frame_schema, infer_schema};

/// The items most users need, for a glob import.
pub mod prelude {
    pub use crate::{DecodeReport, MessageFrameBuilder, PolarsSourceExt, Snapshot};
}
