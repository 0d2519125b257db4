//! Errors of streaming sources.

use std::time::Duration;

use crate::config::ConfigError;

/// A record whose value (or key) could not be decoded, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to deserialize message at partition {partition}, offset {offset}: {reason}")]
pub struct DeserializationError {
    /// The record's partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// Why decoding failed.
    pub reason: String,
}

/// Everything that can go wrong while reading from a streaming source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamingDataSourceError {
    /// The configuration was rejected.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The source could not reach its servers.
    #[error("could not connect to {}: {message}", servers.join(","))]
    Connection {
        /// What went wrong.
        message: String,
        /// The servers that were tried.
        servers: Vec<String>,
    },
    /// A record could not be decoded (with `on_malformed = error`).
    #[error(transparent)]
    Deserialization(#[from] DeserializationError),
    /// A read waited longer than `consume_timeout`.
    #[error("timed out after {elapsed:?} having read {received} messages{}",
        expected.map(|e| format!(" of {e}")).unwrap_or_default())]
    Timeout {
        /// How long the read waited.
        elapsed: Duration,
        /// How many records had been read.
        received: usize,
        /// How many records were expected, when known.
        expected: Option<usize>,
    },
    /// An operation needs a connected source.
    #[error("the source is not connected")]
    NotConnected,
    /// The source was closed.
    #[error("the source is closed")]
    Closed,
    /// The source cannot do what was asked (for example, a deserializer type it does not have).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An error of a downstream source implementation.
    #[error(transparent)]
    Source(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl StreamingDataSourceError {
    /// Wraps an error of a source implementation.
    pub fn source_error(
        err: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Source(err.into())
    }

    /// The deserialization error inside, if this is one.
    pub fn as_deserialization(&self) -> Option<&DeserializationError> {
        match self {
            Self::Deserialization(e) => Some(e),
            _ => None,
        }
    }
}

/// The result of source operations.
pub type Result<T, E = StreamingDataSourceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_context() {
        let e = StreamingDataSourceError::from(DeserializationError {
            partition: 2,
            offset: 41,
            reason: "expected value".into(),
        });
        assert_eq!(
            e.to_string(),
            "failed to deserialize message at partition 2, offset 41: expected value"
        );
        assert_eq!(e.as_deserialization().map(|d| d.offset), Some(41));

        let e = StreamingDataSourceError::Connection {
            message: "refused".into(),
            servers: vec!["a:9092".into(), "b:9092".into()],
        };
        assert_eq!(e.to_string(), "could not connect to a:9092,b:9092: refused");

        let e = StreamingDataSourceError::Timeout {
            elapsed: Duration::from_secs(3),
            received: 5,
            expected: Some(10),
        };
        assert_eq!(
            e.to_string(),
            "timed out after 3s having read 5 messages of 10"
        );

        let e = StreamingDataSourceError::from(ConfigError::EmptyMetadataPrefix);
        assert!(
            e.to_string()
                .starts_with("invalid configuration: `metadata_prefix`")
        );

        let e = StreamingDataSourceError::source_error("disk on fire");
        assert_eq!(e.to_string(), "disk on fire");
        assert!(e.as_deserialization().is_none());
    }
}
