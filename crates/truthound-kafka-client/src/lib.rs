//! A Kafka wire-protocol client for bounded, exact reads, built by hand on `kafka-protocol`.
//!
//! It does what a snapshot reader needs and no more: find partition leaders, capture end
//! offsets, fetch offset ranges from every broker at once and decode their record batches
//! without copying record data, produce (for tests and demos), and commit offsets for a group
//! without joining it.
//!
//! ```no_run
//! use truthound_kafka_client::{ClientConfig, FetchOptions, IsolationLevel, KafkaClient};
//!
//! # async fn run() -> truthound_kafka_client::Result<()> {
//! let client = KafkaClient::connect(ClientConfig::new(["localhost:9092"])).await?;
//! let ends = client.watermarks("events", IsolationLevel::ReadUncommitted).await?;
//! for (partition, (start, end)) in ends {
//!     let records = client
//!         .read_range("events", partition, start, end, FetchOptions::default())
//!         .await?;
//!     assert_eq!(records.len() as i64, end - start); // no compaction, no transactions
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`records`]: record batch v2 codec: zero-copy decoding, compression, CRC-32C, encoding.
//! - `protocol`: frames, headers and version choice over `kafka-protocol` (private).
//! - `connection`: one socket to one broker, many requests in flight (private).
//! - [`client`]: [`KafkaClient`]: metadata, leader routing, list-offsets, fetch and the
//!   [`BoundedReader`], produce, topics, group offsets.

pub mod client;
mod connection;
mod protocol;
pub mod records;

pub use client::{
    Acks, BoundedReader, ClientConfig, Error, FetchOptions, IsolationLevel, KafkaClient,
    OffsetSpec, PartitionMetadata, PartitionRange, PartitionRecords, ProduceOptions, Result,
    SecurityProtocol, TopicMetadata,
};
pub use connection::ConnectionError;
pub use protocol::{ProtocolError, error_code_name};
pub use records::{Compression, ProduceRecord, Record, RecordHeader, RecordsError};
