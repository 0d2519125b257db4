//! One record as a source fetched it.

use std::sync::Arc;

use bytes::Bytes;

/// One record header: a key and an optional value (Kafka headers may carry a null value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// The header key.
    pub key: String,
    /// The header value, `None` when the producer sent a null value.
    pub value: Option<Bytes>,
}

impl MessageHeader {
    /// Creates a header from a key and an optional value.
    pub fn new(key: impl Into<String>, value: Option<Bytes>) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }
}

/// One record of a snapshot, as fetched: position, timestamp, key, value and headers.
///
/// Key and value are [`Bytes`], so a source can hand out slices of its fetch buffer without
/// copying. A `value` of `None` is a tombstone (a delete marker in a compacted topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The topic (or, for other sources, the stream name); shared between the records of a batch.
    pub topic: Arc<str>,
    /// The partition the record was read from.
    pub partition: i32,
    /// The record's offset within its partition.
    pub offset: i64,
    /// The record timestamp in milliseconds since the Unix epoch, when the source has one.
    pub timestamp: Option<i64>,
    /// The record key, `None` when absent.
    pub key: Option<Bytes>,
    /// The record value, `None` for a tombstone.
    pub value: Option<Bytes>,
    /// The record headers, in the order they were sent.
    pub headers: Vec<MessageHeader>,
}

impl RawMessage {
    /// Creates a record with a position and a value; no timestamp, key or headers.
    pub fn new(
        topic: impl Into<Arc<str>>,
        partition: i32,
        offset: i64,
        value: Option<Bytes>,
    ) -> Self {
        Self {
            topic: topic.into(),
            partition,
            offset,
            timestamp: None,
            key: None,
            value,
            headers: Vec::new(),
        }
    }

    /// Sets the timestamp (milliseconds since the Unix epoch).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Appends a header.
    #[must_use]
    pub fn with_header(mut self, key: impl Into<String>, value: Option<Bytes>) -> Self {
        self.headers.push(MessageHeader::new(key, value));
        self
    }

    /// Whether this record is a tombstone (it has no value).
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// The size of key, value and headers in bytes, a measure of payload volume.
    pub fn payload_len(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
            .sum();
        self.key.as_ref().map_or(0, Bytes::len)
            + self.value.as_ref().map_or(0, Bytes::len)
            + headers
    }
}
