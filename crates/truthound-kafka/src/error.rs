//! Errors of the Kafka data source, named as in the spec.

use std::time::Duration;

use truthound_streaming_core::{DeserializationError, StreamingDataSourceError};

/// The source could not connect to the cluster. Carries the bootstrap servers tried.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot connect to Kafka at {}: {message}", bootstrap_servers.join(","))]
pub struct KafkaConnectionError {
    /// The bootstrap servers that were tried.
    pub bootstrap_servers: Vec<String>,
    /// What went wrong, per server.
    pub message: String,
}

/// How far one partition got when a read ran out of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The partition.
    pub partition: i32,
    /// Where its read started.
    pub start: i64,
    /// Where its read was to stop.
    pub end: i64,
    /// The position reached.
    pub position: i64,
}

/// Everything the Kafka data source reports. Converts into the generic
/// [`StreamingDataSourceError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaDataSourceError {
    /// A configuration field is invalid; the message names it and what would be accepted.
    #[error("invalid Kafka source configuration: {0}")]
    InvalidConfig(String),
    /// No broker could be reached.
    #[error(transparent)]
    Connection(#[from] KafkaConnectionError),
    /// The topic does not exist.
    #[error("topic {topic:?} does not exist{}", known_topics(.available))]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
        /// Some topics that do exist.
        available: Vec<String>,
    },
    /// A message could not be decoded (with `on_malformed = error`).
    #[error(transparent)]
    Deserialization(#[from] DeserializationError),
    /// The read took longer than `consume_timeout`.
    #[error(
        "consume_timeout of {timeout:?} ran out after {received} messages; {}{}",
        progress_text(.progress),
        .last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    Timeout {
        /// The timeout.
        timeout: Duration,
        /// Messages received before it ran out.
        received: usize,
        /// Each partition's progress.
        progress: Vec<PartitionProgress>,
        /// The failure that was being retried when time ran out, if any (a broker down, a
        /// partition without a leader).
        last_error: Option<String>,
    },
    /// Connecting, or looking up the topic and its offsets, did not finish within
    /// `consume_timeout`.
    #[error("{what} did not finish within consume_timeout of {timeout:?}: {reason}")]
    SetupTimeout {
        /// What was being done (e.g. "connecting to localhost:9092").
        what: String,
        /// The timeout.
        timeout: Duration,
        /// The last failure, or what was awaited.
        reason: String,
    },
    /// An operation needs `group_id`.
    #[error(
        "{operation} needs a consumer group: set group_id in KafkaDataSourceConfig (or ?group_id= in the connection string)"
    )]
    GroupRequired {
        /// The operation.
        operation: &'static str,
    },
    /// The source was used before `connect`.
    #[error(
        "the Kafka source is not connected: call connect() (or use the source inside `connect`/`close`)"
    )]
    NotConnected,
    /// A feature this build does not have.
    #[error("{0}")]
    Unsupported(String),
    /// A wire-client error (fetch, offsets, broker errors).
    #[error(transparent)]
    Client(#[from] truthound_kafka_client::Error),
}

fn known_topics(available: &[String]) -> String {
    if available.is_empty() {
        "; the cluster has no topics".to_owned()
    } else {
        let shown: Vec<&str> = available.iter().take(10).map(String::as_str).collect();
        let more = available.len().saturating_sub(shown.len());
        format!(
            "; topics on the cluster include: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            }
        )
    }
}

fn progress_text(progress: &[PartitionProgress]) -> String {
    progress
        .iter()
        .map(|p| {
            format!(
                "partition {} at offset {} of {}..{}",
                p.partition, p.position, p.start, p.end
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<KafkaDataSourceError> for StreamingDataSourceError {
    fn from(e: KafkaDataSourceError) -> Self {
        match e {
            KafkaDataSourceError::Deserialization(d) => {
                StreamingDataSourceError::Deserialization(d)
            }
            KafkaDataSourceError::Connection(c) => StreamingDataSourceError::Connection {
                message: c.message,
                servers: c.bootstrap_servers,
            },
            KafkaDataSourceError::NotConnected => StreamingDataSourceError::NotConnected,
            other => StreamingDataSourceError::source_error(other),
        }
    }
}

/// `Result` with [`KafkaDataSourceError`].
pub type Result<T, E = KafkaDataSourceError> = std::result::Result<T, E>;
