//! Truthound Streaming: take a bounded, exact snapshot of a Kafka topic into a Polars
//! DataFrame, so that its data quality can be checked.
//!
//! This facade gathers the project's crates behind feature flags, with the module paths of the
//! specification (`truthound::datasources::streaming::KafkaDataSource`, ...):
//!
//! ```no_run
//! use truthound::datasources::streaming::{KafkaDataSource, KafkaDataSourceConfig};
//! use truthound::prelude::*;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = KafkaDataSourceConfig::new("localhost:9092", "my-topic").with_max_messages(10_000);
//! let mut source = KafkaDataSource::new(config)?;
//! source.connect().await?;
//! let schema = source.get_schema().await?;
//! let lf = source.to_polars_lazyframe().await?;
//! println!("{schema}\n{:?}", lf.collect()?);
//! source.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `kafka` (default): [`datasources::streaming::KafkaDataSource`] and
//!   [`datasources::from_kafka`], on the project's own wire client.
//! - `json` (default): the JSON, string and bytes deserializers, on simd-json.
//! - `polars` (default): `to_polars_dataframe`, `to_polars_lazyframe` and `get_schema` for every
//!   source, through [`PolarsSourceExt`](datasources::streaming::PolarsSourceExt).
//! - `checks` (default): [`check()`](crate::check()) and the [`checks`] crate: validators and
//!   per-column rules over a frame, evaluated in one pass, with a report.
//! - `avro`: the Avro deserializer (raw datums, or a schema registry).
//! - `protobuf`: the Protobuf deserializer (a `.proto` schema, raw or Confluent-framed messages).
//! - `json-schema`: JSON documents typed by their JSON Schema from a schema registry
//!   (`deserializer_type json` with `schema_registry_url`).
//!
//! # Layout
//! - [`datasources`]: the spec's module paths: `streaming` and the `from_kafka` factory.
//! - [`prelude`]: the traits a program needs in scope.
//! - [`check()`]: the spec's `th.check(df, ...)` (feature `checks`).
//! - Short names of the sub-crates: [`core`], `kafka`, `client`, `json`, `polars`, `checks`,
//!   `avro`, `protobuf`.

pub use truthound_streaming_core as core;

#[cfg(feature = "avro")]
pub use truthound_avro as avro;
#[cfg(feature = "checks")]
pub use truthound_checks as checks;
#[cfg(feature = "checks")]
pub use truthound_checks::check;
#[cfg(feature = "json")]
pub use truthound_json as json;
#[cfg(feature = "kafka")]
pub use truthound_kafka as kafka;
#[cfg(feature = "kafka")]
pub use truthound_kafka_client as client;
#[cfg(feature = "polars")]
pub use truthound_polars as polars;
#[cfg(feature = "protobuf")]
pub use truthound_protobuf as protobuf;

pub mod datasources;

/// The traits a program needs in scope, gathered from the sub-crates' preludes.
pub mod prelude {
    #[cfg(feature = "polars")]
    pub use truthound_polars::PolarsSourceExt;
    pub use truthound_streaming_core::prelude::*;
}
