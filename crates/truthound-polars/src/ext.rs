//! [`PolarsSourceExt`]: DataFrames, LazyFrames and schemas from any streaming source.

use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use polars::prelude::{IntoLazy, LazyFrame};
use truthound_streaming_core::{
    BaseStreamingDataSource, KeyDeserializer, Schema, StreamingDataSourceError,
};

use crate::error::Result;
use crate::frame::{DecodeReport, Snapshot};
use crate::parallel::{FrameSink, ParallelFrameBuilder, SegmentSpill};

/// Polars conversion and schema inference for every [`BaseStreamingDataSource`].
///
/// Each method reads from the snapshot start (see
/// [`read_messages`](BaseStreamingDataSource::read_messages)), so [`get_schema`](Self::get_schema)
/// followed by [`to_polars_lazyframe`](Self::to_polars_lazyframe) gives the whole snapshot, not
/// what the sample left. Records are decoded on worker threads (one per core) while the source
/// is read, by a [`ParallelFrameBuilder`]; the frame's rows are ordered by partition, then
/// offset, the same from run to run.
///
/// Polars' `LazyFrame::collect` blocks in place when it finds a Tokio runtime, which panics on a
/// current-thread runtime (`#[tokio::main(flavor = "current_thread")]`, plain `#[tokio::test]`):
/// collect on a multi-threaded runtime, or use [`to_polars_dataframe`](Self::to_polars_dataframe).
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_polars::PolarsSourceExt;
/// use truthound_streaming_core::{InMemorySource, StreamingDataSourceConfig};
///
/// # futures::executor::block_on(async {
/// let payloads = (0..250).map(|i| format!(r#"{{"user_id": {i}, "action": "login"}}"#));
/// let config = StreamingDataSourceConfig::default()
///     .with_max_messages(200)
///     .with_schema_sample_size(10)
///     .with_include_metadata(true);
/// let mut source =
///     InMemorySource::from_payloads("events", config, Arc::new(JSONDeserializer::new()), payloads);
///
/// let schema = source.get_schema().await?;
/// assert_eq!(schema.len(), 7);
/// let df = source.to_polars_lazyframe().await?.collect()?;
/// assert_eq!(df.height(), 200);
/// let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
/// assert_eq!(
///     names,
///     ["user_id", "action", "_kafka_key", "_kafka_topic", "_kafka_partition", "_kafka_offset", "_kafka_timestamp"]
/// );
/// # Ok::<(), truthound_polars::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait PolarsSourceExt: BaseStreamingDataSource {
    /// Reads the snapshot (up to `max_messages` records) into a DataFrame, with its report.
    ///
    /// # Errors
    /// An invalid configuration, source errors, and with `on_malformed = error` the first record
    /// that fails to decode.
    async fn to_polars_dataframe(&mut self) -> Result<Snapshot>;

    /// Reads the snapshot into a LazyFrame (the records are read and decoded now).
    ///
    /// # Errors
    /// As [`to_polars_dataframe`](Self::to_polars_dataframe).
    async fn to_polars_lazyframe(&mut self) -> Result<LazyFrame>;

    /// Reads the snapshot into a LazyFrame, with the report of skipped records and tombstones.
    ///
    /// # Errors
    /// As [`to_polars_dataframe`](Self::to_polars_dataframe).
    async fn to_polars_lazyframe_with_report(&mut self) -> Result<(LazyFrame, DecodeReport)>;

    /// Reads the snapshot into `sink` chunk by chunk, in the order and with the columns of
    /// [`to_polars_dataframe`](Self::to_polars_dataframe), and returns the report: decoded
    /// segments wait in `spill` until the read ends and the columns' types are known, then are
    /// loaded and written one at a time, so memory does not grow with the snapshot. This is how
    /// `truthound snapshot -o FILE` writes files.
    ///
    /// The read and decoding run while this is awaited; loading and writing the segments at the
    /// end block the task's thread.
    ///
    /// # Errors
    /// As [`to_polars_dataframe`](Self::to_polars_dataframe), and what `sink` or `spill`
    /// failed with.
    async fn write_snapshot(
        &mut self,
        spill: Arc<dyn SegmentSpill>,
        sink: &mut (dyn FrameSink + Send),
    ) -> Result<DecodeReport>;

    /// Infers the schema from the first `schema_sample_size` records of the snapshot (a separate
    /// read; malformed records in the sample are skipped).
    ///
    /// # Errors
    /// An invalid configuration and source errors.
    async fn get_schema(&mut self) -> Result<Schema>;

    /// Reads the schema sample (the first `schema_sample_size` records, malformed ones skipped)
    /// into a frame, as [`get_schema`](Self::get_schema) does before it keeps only the schema.
    ///
    /// # Errors
    /// As [`get_schema`](Self::get_schema).
    async fn schema_sample(&mut self) -> Result<Snapshot>;
}

/// Reads up to `limit` records from the snapshot start into a builder.
async fn read_snapshot<S: BaseStreamingDataSource + ?Sized>(
    source: &mut S,
    limit: usize,
    sample: bool,
) -> Result<Snapshot> {
    let builder = builder_for(source, sample)?;
    read_into(source, limit, builder).await?.finish()
}

/// A builder decoding on a thread per core.
fn builder_for<S: BaseStreamingDataSource + ?Sized>(
    source: &S,
    sample: bool,
) -> Result<ParallelFrameBuilder> {
    let config = source.config();
    config.validate()?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut builder = ParallelFrameBuilder::new(config, source.value_deserializer(), threads);
    if matches!(
        config.key_deserializer,
        KeyDeserializer::Avro | KeyDeserializer::Protobuf
    ) && config.include_key
    {
        let key = source.key_deserializer().ok_or_else(|| {
            crate::Error::Source(StreamingDataSourceError::Unsupported(format!(
                "key_deserializer {} needs a key deserializer, which {} does not give: read \
                 keys as string or bytes, or set include_key false",
                config.key_deserializer,
                source.name()
            )))
        })?;
        builder = builder.with_key_deserializer(key);
    }
    if sample {
        builder = builder.with_on_malformed(truthound_streaming_core::OnMalformed::Skip);
    }
    Ok(builder)
}

/// Pushes up to `limit` records from the snapshot start into `builder`.
async fn read_into<S: BaseStreamingDataSource + ?Sized>(
    source: &mut S,
    limit: usize,
    mut builder: ParallelFrameBuilder,
) -> Result<ParallelFrameBuilder> {
    let mut batches = source.read_messages(limit).await?;
    let mut read = 0;
    while let Some(mut batch) = batches.try_next().await? {
        batch.truncate(limit - read);
        read += batch.len();
        builder.push_batch(batch).await?;
        if read == limit {
            break;
        }
    }
    drop(batches);
    Ok(builder)
}

#[async_trait]
impl<T: BaseStreamingDataSource + ?Sized> PolarsSourceExt for T {
    async fn to_polars_dataframe(&mut self) -> Result<Snapshot> {
        let limit = self.config().max_messages;
        read_snapshot(self, limit, false).await
    }

    async fn to_polars_lazyframe(&mut self) -> Result<LazyFrame> {
        Ok(self.to_polars_dataframe().await?.frame.lazy())
    }

    async fn to_polars_lazyframe_with_report(&mut self) -> Result<(LazyFrame, DecodeReport)> {
        let snapshot = self.to_polars_dataframe().await?;
        Ok((snapshot.frame.lazy(), snapshot.report))
    }

    async fn write_snapshot(
        &mut self,
        spill: Arc<dyn SegmentSpill>,
        sink: &mut (dyn FrameSink + Send),
    ) -> Result<DecodeReport> {
        let limit = self.config().max_messages;
        let builder = builder_for(self, false)?.with_spill(spill);
        read_into(self, limit, builder).await?.finish_into(sink)
    }

    async fn get_schema(&mut self) -> Result<Schema> {
        Ok(self.schema_sample().await?.schema())
    }

    async fn schema_sample(&mut self) -> Result<Snapshot> {
        let limit = self.config().schema_sample_limit();
        read_snapshot(self, limit, true).await
    }
}
