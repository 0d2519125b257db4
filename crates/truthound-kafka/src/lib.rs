//! [`KafkaDataSource`]: a bounded, exact snapshot of a Kafka topic as a Truthound streaming
//! source.
//!
//! The source implements [`BaseStreamingDataSource`](truthound_streaming_core::BaseStreamingDataSource)
//! on the project's own wire client (`truthound-kafka-client`). With the Polars adapter it
//! turns a topic into a DataFrame; see the `truthound` facade crate for the one-import form.
//!
//! ```no_run
//! use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
//! use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceExt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = KafkaDataSourceConfig::new("localhost:9092", "my-topic").with_max_messages(10_000);
//! let mut source = KafkaDataSource::new(config)?;
//! source.connect().await?;
//! let messages = source.consume(10_000).await?;
//! println!("{} messages", messages.len());
//! source.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`KafkaDataSourceConfig`], validation and `kafka://` connection strings.
//! - [`source`]: [`KafkaDataSource`]: capture, start positions, bounded reads, offsets.
//! - [`plan`]: where each partition's read starts and how `max_messages` is shared.
//! - [`shares`]: [`SnapshotPlan`]: a snapshot's offset ranges written down and split into
//!   shares for independent workers.
//! - [`error`]: [`KafkaDataSourceError`], [`KafkaConnectionError`].

pub mod config;
pub mod error;
pub mod plan;
pub mod shares;
pub mod source;

pub use config::{KafkaDataSourceConfig, SaslMechanism, ShareRanges};
pub use error::{KafkaConnectionError, KafkaDataSourceError, PartitionProgress, Result};
pub use plan::{PartitionBounds, PartitionPlan};
pub use shares::{MAX_SHARES, OffsetRange, PLAN_VERSION, SnapshotPlan, split_shares};
pub use source::{GoneOffsets, KafkaDataSource, ReadProgress, TopicInfo};
pub use truthound_kafka_client::{IsolationLevel, SecurityProtocol};
