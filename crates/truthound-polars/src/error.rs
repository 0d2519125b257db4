//! The error type of the Polars adapter.

use polars::prelude::PolarsError;
use truthound_streaming_core::{ConfigError, DeserializationError, StreamingDataSourceError};

/// What can go wrong while turning a source or messages into a DataFrame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source failed, the configuration was rejected, or a record could not be decoded with
    /// `on_malformed = error`.
    #[error(transparent)]
    Source(#[from] StreamingDataSourceError),
    /// Polars rejected the built columns.
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
    /// A data column has the name of a metadata column.
    #[error(
        "column {name:?} is both a data field and a metadata column; choose another metadata_prefix"
    )]
    ColumnNameCollision {
        /// The name both columns have.
        name: String,
    },
    /// A [`FrameSink`](crate::FrameSink) or [`SegmentSpill`](crate::SegmentSpill) failed: the
    /// snapshot could not be written or its segments kept.
    #[error("{0}")]
    Sink(Box<dyn std::error::Error + Send + Sync>),
    /// A decoding thread could not be started or stopped unexpectedly.
    #[error("decoding: {0}")]
    Internal(String),
}

impl Error {
    /// The deserialization error inside, if this is one (with `on_malformed = error`).
    pub fn as_deserialization(&self) -> Option<&DeserializationError> {
        match self {
            Error::Source(e) => e.as_deserialization(),
            _ => None,
        }
    }
}

impl From<DeserializationError> for Error {
    fn from(e: DeserializationError) -> Self {
        Error::Source(e.into())
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Source(e.into())
    }
}

/// The result of the adapter's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
