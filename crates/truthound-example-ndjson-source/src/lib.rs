//! An example of a custom Truthound streaming source: NDJSON files.
//!
//! This is what a downstream user copies to plug a new data source into Truthound Streaming.
//! [`NdjsonFileSource`] implements only
//! [`BaseStreamingDataSource`](truthound_streaming_core::BaseStreamingDataSource) (about 100 lines);
//! schema inference, DataFrame/LazyFrame conversion, malformed-record reporting and metadata
//! columns then come from the traits: `iter_messages`/`consume` from
//! [`StreamingDataSourceExt`](truthound_streaming_core::StreamingDataSourceExt) and
//! `get_schema`/`to_polars_dataframe`/`to_polars_lazyframe` from
//! [`PolarsSourceExt`](truthound_polars::PolarsSourceExt).
//!
//! Try it: `cargo run -p truthound-example-ndjson-source --bin ndjson-snapshot -- events.ndjson 1000`.
//!
//! # Layout
//! - [`file`](mod@file): [`NdjsonFileSource`], one record per line of a file.
//! - `bin/ndjson-snapshot.rs`: a command that prints a file's schema, frame and decode report.
//!
//! # Example
//! ```
//! use truthound_example_ndjson_source::NdjsonFileSource;
//! use truthound_polars::PolarsSourceExt;
//! use truthound_streaming_core::StreamingDataSourceConfig;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let path = std::env::temp_dir().join(format!("doc-{}.ndjson", std::process::id()));
//! std::fs::write(&path, "{\"user_id\": 1, \"action\": \"login\"}\nnot json\n{\"user_id\": 2}\n")?;
//!
//! let config = StreamingDataSourceConfig::default().with_include_metadata(true);
//! let mut source = NdjsonFileSource::new(&path, config)?;
//! let schema = source.get_schema().await?;
//! let snapshot = source.to_polars_dataframe().await?;
//! assert_eq!(schema.len(), 7);
//! assert_eq!(snapshot.frame.height(), 2);
//! assert_eq!(snapshot.report.skipped[0].offset, 1); // the line number
//! # std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```

pub mod file;

pub use file::NdjsonFileSource;
