//! The client's error type.

use std::time::Duration;

use crate::connection::ConnectionError;
use crate::protocol::error_code_name;
use crate::records::RecordsError;

/// What can go wrong in a client call. Each variant names what a user needs to act on:
/// broker addresses, topic, partition, offset and the Kafka error code by its name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// None of the bootstrap brokers answered.
    #[error("could not reach any bootstrap broker: {}", format_tried(.tried))]
    NoBrokerReachable {
        /// Each address tried, with why it failed.
        tried: Vec<(String, String)>,
    },
    /// A connection-level failure (socket, timeout, protocol).
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The topic does not exist (it is not created by reading it).
    #[error("topic {topic:?} does not exist on the cluster")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
    },
    /// The partition does not exist in the topic.
    #[error("topic {topic:?} has no partition {partition} (it has {partition_count})")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
        /// How many partitions the topic has.
        partition_count: usize,
    },
    /// The broker answered with a Kafka error code.
    #[error("{api} failed{}: {} ({code}){}", where_(.topic, .partition), error_code_name(*.code), .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// The request's API.
        api: &'static str,
        /// The topic, when the error is about one.
        topic: Option<String>,
        /// The partition, when the error is about one.
        partition: Option<i32>,
        /// The Kafka error code.
        code: i16,
        /// The broker's error message, if it sent one.
        message: Option<String>,
    },
    /// The requested offset is outside the partition's log.
    #[error("offset {offset} is out of range for {topic}/{partition}")]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset fetched.
        offset: i64,
    },
    /// The partition's log no longer holds the offset asked for: retention or DeleteRecords
    /// removed it while the read was on its way there.
    #[error(
        "{topic}/{partition}: offset {offset} is no longer in the log, which now starts at {log_start} (retention or DeleteRecords removed the offsets before it); start at {log_start} or later"
    )]
    LogStartPassed {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset asked for.
        offset: i64,
        /// Where the partition's log starts now.
        log_start: i64,
    },
    /// A record batch could not be decoded.
    #[error("{topic}/{partition} at offset {offset}: {source}")]
    Records {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The fetch position.
        offset: i64,
        /// What was wrong with the batch.
        #[source]
        source: RecordsError,
    },
    /// A retriable condition persisted until the operation's deadline.
    #[error("{what} still failing after {attempts} attempts over {elapsed:?}: {last}")]
    RetriesExhausted {
        /// What was being done.
        what: String,
        /// How many attempts were made.
        attempts: u32,
        /// How long it took.
        elapsed: Duration,
        /// The last error.
        last: Box<Error>,
    },
    /// A Produce request was sent, then its connection failed or it timed out: the records may
    /// or may not have been written. It is not retried, so nothing is written twice.
    #[error(
        "producing to {topic}/{partition}: the outcome is unknown (the records may have been \
         written; not retried, to avoid duplicates): {source}"
    )]
    ProduceOutcomeUnknown {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The connection failure.
        #[source]
        source: ConnectionError,
    },
    /// The topic was deleted and created again (under the same name, with another topic id)
    /// while it was read: its offsets now mean other records, so the read stops.
    #[error(
        "topic {topic:?} was deleted and created again during the read (topic id {was}, now \
         {now}): take the snapshot again"
    )]
    TopicRecreated {
        /// The topic.
        topic: String,
        /// Its id when the read began.
        was: String,
        /// Its id now.
        now: String,
    },
    /// An operation did not finish by its deadline, with no failure to report (a broker that
    /// accepts requests and does not answer).
    #[error("{what} did not finish within {elapsed:?}")]
    Timeout {
        /// What was being done.
        what: String,
        /// How long it ran.
        elapsed: Duration,
    },
    /// The broker's answer did not make sense (missing partitions, unknown leader...).
    #[error("unexpected response from the broker: {0}")]
    UnexpectedResponse(String),
    /// A call's arguments were invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// The Kafka error code, when the broker sent one.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            Error::Kafka { code, .. } => Some(*code),
            Error::RetriesExhausted { last, .. } => last.kafka_code(),
            _ => None,
        }
    }

    /// Whether a retry after a metadata refresh may succeed: leadership moved, the
    /// connection dropped, or a retriable Kafka error code.
    pub(crate) fn is_retriable(&self) -> bool {
        match self {
            // No broker answered: during an outage or a restart, they come back.
            Error::NoBrokerReachable { .. } => true,
            // Socket failures and timeouts may pass; a version mismatch, a refused handshake or
            // a security failure will not.
            Error::Connection(e) => matches!(
                e,
                ConnectionError::Io { .. }
                    | ConnectionError::Connect { .. }
                    | ConnectionError::ConnectTimeout { .. }
                    | ConnectionError::RequestTimeout { .. }
            ),
            Error::Kafka { code, .. } => kafka_protocol::ResponseError::try_from_code(*code)
                .is_some_and(|e| e.is_retriable()),
            _ => false,
        }
    }
}

fn format_tried(tried: &[(String, String)]) -> String {
    if tried.is_empty() {
        return "no bootstrap servers were given".to_owned();
    }
    tried
        .iter()
        .map(|(addr, why)| format!("{addr} ({why})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn where_(topic: &Option<String>, partition: &Option<i32>) -> String {
    match (topic, partition) {
        (Some(t), Some(p)) => format!(" for {t}/{p}"),
        (Some(t), None) => format!(" for topic {t}"),
        _ => String::new(),
    }
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_to_fix() {
        let e = Error::NoBrokerReachable {
            tried: vec![
                ("a:9092".into(), "connection refused".into()),
                ("b:9092".into(), "timed out".into()),
            ],
        };
        assert_eq!(
            e.to_string(),
            "could not reach any bootstrap broker: a:9092 (connection refused), b:9092 (timed out)"
        );
        let e = Error::Kafka {
            api: "Fetch",
            topic: Some("t".into()),
            partition: Some(2),
            code: 6,
            message: None,
        };
        assert_eq!(
            e.to_string(),
            "Fetch failed for t/2: NOT_LEADER_OR_FOLLOWER (6)"
        );
        assert!(e.is_retriable());
        let e = Error::Kafka {
            api: "Fetch",
            topic: None,
            partition: None,
            code: 29,
            message: Some("denied".into()),
        };
        assert_eq!(
            e.to_string(),
            "Fetch failed: TOPIC_AUTHORIZATION_FAILED (29): denied"
        );
        assert!(!e.is_retriable());
    }
}
