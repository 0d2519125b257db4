//! The trait layer of Truthound Streaming: what a bounded streaming data source is, what it
//! yields, and how its payloads are decoded.
//!
//! A source (Kafka, a file, an in-memory test fixture, your own) implements
//! [`BaseStreamingDataSource`]: it reads a bounded, reproducible snapshot of [`RawMessage`]s in
//! batches. A [`MessageDeserializer`] decodes one payload by driving a [`ValueVisitor`], so a
//! consumer such as the Polars adapter (`truthound-polars`) writes values straight into column
//! builders without an intermediate document tree. Anything that implements these two traits gets
//! schema inference and DataFrame conversion from the adapter crates for free.
//!
//! This crate depends on no other Truthound crate, on no DataFrame library and on no Kafka client.
//!
//! # Layout
//! - [`message`]: [`RawMessage`] and [`MessageHeader`], one record as fetched (zero-copy [`Bytes`]).
//! - [`config`]: [`StreamingDataSourceConfig`], its option enums and [`ConfigError`].
//! - [`value`]: the [`ValueVisitor`] event interface, the owned [`Value`] and [`ValueBuilder`].
//! - [`temporal`]: [`TimeUnit`] and the text forms of timestamps, dates, times and decimals,
//!   the typed values a visitor can receive.
//! - [`json_text`]: [`JsonWriter`], a visitor that renders visited values as compact JSON text.
//! - [`deserializer`]: the [`MessageDeserializer`] trait and [`DeserializeFailure`].
//! - [`schema`]: [`Schema`], [`Field`], [`DataType`] and [`FieldNote`], the inferred shape of a
//!   snapshot.
//! - [`error`]: [`StreamingDataSourceError`], [`DeserializationError`] and the [`Result`] alias.
//! - [`source`]: the [`BaseStreamingDataSource`] trait, [`Capabilities`], and
//!   [`StreamingDataSourceExt`] with the provided helpers (`iter_messages`, `consume`,
//!   `count_messages`).
//! - [`memory`]: [`InMemorySource`], a source over a `Vec<RawMessage>` for tests and examples.
//!
//! # Example
//! ```
//! use truthound_streaming_core::{RawMessage, Value, ValueBuilder, ValueVisitor};
//!
//! // A record as a source yields it.
//! let msg = RawMessage::new("events", 0, 42, Some(br#"{"user_id": 1}"#.to_vec().into()));
//! assert_eq!(msg.offset, 42);
//!
//! // Values are built (or consumed) through visitor events.
//! let mut builder = ValueBuilder::new();
//! builder.begin_object(Some(1));
//! builder.key("user_id");
//! builder.i64(1);
//! builder.end_object();
//! let value = builder.finish().expect("one complete value");
//! assert_eq!(value.to_string(), r#"{"user_id":1}"#);
//! ```

pub mod config;
pub mod deserializer;
pub mod error;
pub mod json_text;
pub mod memory;
pub mod message;
pub mod schema;
pub mod source;
pub mod temporal;
pub mod value;

pub use bytes::Bytes;
pub use config::{
    AutoOffsetReset, ConfigError, DeserializerType, KeyDeserializer, OnMalformed,
    StreamingDataSourceConfig,
};
pub use deserializer::{DeserializeFailure, MessageDeserializer};
pub use error::{DeserializationError, Result, StreamingDataSourceError};
pub use json_text::JsonWriter;
pub use memory::InMemorySource;
pub use message::{MessageHeader, RawMessage};
pub use schema::{DataType, Field, FieldNote, Schema};
pub use source::{BaseStreamingDataSource, Capabilities, MessageStream, StreamingDataSourceExt};
pub use temporal::TimeUnit;
pub use value::{ScalarType, Value, ValueBuilder, ValueVisitor};

/// The items most users need, for a glob import.
pub mod prelude {
    pub use crate::{
        BaseStreamingDataSource, DeserializationError, MessageDeserializer, RawMessage,
        StreamingDataSourceConfig, StreamingDataSourceError, StreamingDataSourceExt, Value,
        ValueVisitor,
    };
}
