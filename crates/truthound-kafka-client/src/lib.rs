//! A Kafka wire-protocol client for bounded, exact reads, built by hand on `kafka-protocol`.
//!
//! It does what a snapshot reader needs and no more: find partition leaders, capture end
//! offsets, fetch offset ranges with a fetcher per partition that fetches ahead within a byte
//! budget (every broker at once, each partition retrying on its own), decode record batches
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
//! # Security
//!
//! [`SecurityProtocol`] chooses TLS and/or SASL as Kafka clients do; [`TlsConfig`] names the CA
//! file (default: the webpki roots) and an optional client certificate, [`SaslConfig`] the
//! mechanism and credentials:
//!
//! ```no_run
//! use truthound_kafka_client::{
//!     ClientConfig, KafkaClient, SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig,
//! };
//!
//! # async fn run() -> truthound_kafka_client::Result<()> {
//! let config = ClientConfig::new(["broker-1.example.com:9093"])
//!     .with_security_protocol(SecurityProtocol::SaslSsl)
//!     .with_tls(TlsConfig::new().with_ca_file("/etc/kafka/ca.pem"))
//!     .with_sasl(SaslConfig::new(SaslMechanism::ScramSha512, "reader", "secret"));
//! let client = KafkaClient::connect(config).await?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! Security failures are typed [`ConnectionError`]s naming the broker: `TlsSetup` (a file and
//! what is wrong with it), `Tls`, `SaslAuthentication`, `SaslMechanismNotEnabled`, `Sasl`.
//!
//! # Layout
//! - [`records`]: record batch v2 codec: zero-copy decoding, compression, CRC-32C, encoding.
//! - `protocol`: frames, headers and version choice over `kafka-protocol` (private).
//! - `connection`: one socket to one broker (TCP or TLS through rustls), SASL authentication
//!   (PLAIN, SCRAM-SHA-256/512), many requests in flight (private).
//! - [`client`]: [`KafkaClient`]: metadata, leader routing, list-offsets, fetch and the
//!   [`BoundedReader`] with its per-partition fetchers and [`FetchedChunk`]s, produce, topics,
//!   group offsets.
//! - `fuzzing`: entry points for the fuzz targets in `fuzz/` (hidden, not a stable API).

pub mod client;
mod connection;
/// Entry points for the fuzz targets in `fuzz/` (response decoding and frame reading, which are
/// otherwise private); not a stable API.
#[doc(hidden)]
pub mod fuzzing;
mod protocol;
pub mod records;

pub use client::{
    Acks, BoundedReader, ClientConfig, Error, FetchOptions, FetchedChunk, IsolationLevel,
    KafkaClient, LogStartMoved, OffsetSpec, PartitionMetadata, PartitionRange, PartitionRecords,
    ProduceOptions, Result, SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig, TopicMetadata,
};
pub use connection::ConnectionError;
pub use protocol::{ProtocolError, error_code_name};
pub use records::{Compression, ProduceRecord, Record, RecordHeader, RecordsError};
/// The secret type of passwords ([`SaslConfig::password`]), re-exported from `secrecy`.
pub use secrecy::{ExposeSecret, SecretString};
