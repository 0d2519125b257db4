//! The [`BaseStreamingDataSource`] trait that sources implement, and the helpers every source
//! gets through [`StreamingDataSourceExt`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

use crate::config::{ConfigError, StreamingDataSourceConfig};
use crate::deserializer::MessageDeserializer;
use crate::error::{Result, StreamingDataSourceError};
use crate::message::RawMessage;

/// A stream of record batches, in snapshot order; an `Err` item ends the read.
pub type MessageStream<'a> = BoxStream<'a, Result<Vec<RawMessage>>>;

/// What a source can do beyond reading a snapshot, so generic code can adapt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// Records come from more than one partition, and partitions are meaningful.
    pub partitions: bool,
    /// Offsets are stable positions that can be read again.
    pub offsets: bool,
    /// Records carry timestamps.
    pub timestamps: bool,
    /// The source can store consumed positions (commit offsets).
    pub commit: bool,
    /// The source can start at a given position.
    pub seek: bool,
}

impl Capabilities {
    /// No capability beyond reading.
    pub const NONE: Self = Self {
        partitions: false,
        offsets: false,
        timestamps: false,
        commit: false,
        seek: false,
    };

    /// Sets [`partitions`](Self::partitions).
    #[must_use]
    pub const fn with_partitions(mut self, yes: bool) -> Self {
        self.partitions = yes;
        self
    }

    /// Sets [`offsets`](Self::offsets).
    #[must_use]
    pub const fn with_offsets(mut self, yes: bool) -> Self {
        self.offsets = yes;
        self
    }

    /// Sets [`timestamps`](Self::timestamps).
    #[must_use]
    pub const fn with_timestamps(mut self, yes: bool) -> Self {
        self.timestamps = yes;
        self
    }

    /// Sets [`commit`](Self::commit).
    #[must_use]
    pub const fn with_commit(mut self, yes: bool) -> Self {
        self.commit = yes;
        self
    }

    /// Sets [`seek`](Self::seek).
    #[must_use]
    pub const fn with_seek(mut self, yes: bool) -> Self {
        self.seek = yes;
        self
    }
}

/// A bounded streaming data source: it reads a reproducible snapshot of records in batches.
///
/// Implement the required methods; the adapters do the rest. [`StreamingDataSourceExt`] adds
/// `iter_messages`, `consume` and `count_messages` to every implementation, and
/// `truthound-polars` adds `get_schema`, `to_polars_dataframe` and `to_polars_lazyframe`.
///
/// # Contract
/// - [`read_messages`](Self::read_messages) reads from the start of the snapshot every time it
///   is called. A snapshot is fixed when the source first reads (Kafka: the end offsets captured
///   then), so a schema sample and a later full read see the same records.
/// - A source connects on first use when [`connect`](Self::connect) was not called; `connect` and
///   `close` are idempotent.
/// - Expected conditions are not errors: an empty topic is an empty stream.
///
/// See [`InMemorySource`](crate::InMemorySource) for a complete small implementation.
#[async_trait]
pub trait BaseStreamingDataSource: Send {
    /// A name for messages and logs, such as `kafka://host:9092/topic`.
    fn name(&self) -> &str;

    /// The shared options: snapshot size, decoding and extra columns.
    fn config(&self) -> &StreamingDataSourceConfig;

    /// The deserializer for record values; shared so it can be held while the source reads.
    fn value_deserializer(&self) -> Arc<dyn MessageDeserializer>;

    /// The deserializer for record keys, for the key formats that need one (`avro`,
    /// `protobuf`; see [`KeyDeserializer`](crate::KeyDeserializer)). The default is `None`:
    /// keys are read as text or bytes.
    fn key_deserializer(&self) -> Option<Arc<dyn MessageDeserializer>> {
        None
    }

    /// Opens connections ahead of the first read. The default does nothing.
    ///
    /// # Errors
    /// [`StreamingDataSourceError::Connection`] and the like, per source.
    async fn connect(&mut self) -> Result<()> {
        Ok(())
    }

    /// Releases connections. The default does nothing.
    ///
    /// # Errors
    /// Per source.
    async fn close(&mut self) -> Result<()> {
        Ok(())
    }

    /// Reads the snapshot from its start: at most `limit` records, in batches.
    ///
    /// Calling it again starts again from the same start (a bounded, reproducible snapshot); that
    /// is what lets a schema be inferred from a sample and the full snapshot be read afterwards.
    ///
    /// # Errors
    /// When the read cannot start; errors during the read are items of the stream.
    async fn read_messages(&mut self, limit: usize) -> Result<MessageStream<'_>>;

    /// What the source can do beyond reading. The default is [`Capabilities::NONE`].
    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
    }
}

/// Helpers every [`BaseStreamingDataSource`] gets, through a blanket implementation.
///
/// ```
/// use futures::TryStreamExt;
/// use truthound_streaming_core::{InMemorySource, StreamingDataSourceConfig, StreamingDataSourceExt};
/// # use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, ValueVisitor};
/// # struct Utf8;
/// # impl MessageDeserializer for Utf8 {
/// #     fn name(&self) -> &str { "string" }
/// #     fn deserialize_into(&self, p: &[u8], v: &mut dyn ValueVisitor) -> Result<(), DeserializeFailure> {
/// #         v.str(std::str::from_utf8(p).map_err(|e| DeserializeFailure::new(e.to_string()))?);
/// #         Ok(())
/// #     }
/// # }
///
/// # futures::executor::block_on(async {
/// let payloads = (0..10).map(|i| format!("event {i}"));
/// let mut source = InMemorySource::from_payloads(
///     "events",
///     StreamingDataSourceConfig::default(),
///     std::sync::Arc::new(Utf8),
///     payloads,
/// );
///
/// let batches: Vec<_> = source.iter_messages(4, 9).try_collect().await?;
/// let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
/// assert_eq!(sizes, [4, 4, 1]);
///
/// assert_eq!(source.consume(3).await?.len(), 3);
/// assert_eq!(source.count_messages().await?, 10);
/// # Ok::<(), truthound_streaming_core::StreamingDataSourceError>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait StreamingDataSourceExt: BaseStreamingDataSource {
    /// Reads up to `max_messages` records from the snapshot start, re-chunked into batches of
    /// `batch_size` (the last one may be shorter).
    ///
    /// A `batch_size` of zero yields a single [`ConfigError::Zero`] error.
    fn iter_messages(&mut self, batch_size: usize, max_messages: usize) -> MessageStream<'_>;

    /// Reads up to `max_messages` records from the snapshot start into one vector.
    ///
    /// # Errors
    /// Those of [`read_messages`](BaseStreamingDataSource::read_messages).
    async fn consume(&mut self, max_messages: usize) -> Result<Vec<RawMessage>>;

    /// Counts the records of the snapshot (up to the configured `max_messages`).
    ///
    /// # Errors
    /// Those of [`read_messages`](BaseStreamingDataSource::read_messages).
    async fn count_messages(&mut self) -> Result<usize>;
}

#[async_trait]
impl<T: BaseStreamingDataSource + ?Sized> StreamingDataSourceExt for T {
    fn iter_messages(&mut self, batch_size: usize, max_messages: usize) -> MessageStream<'_> {
        if batch_size == 0 {
            let err = StreamingDataSourceError::Config(ConfigError::Zero {
                field: "batch_size",
            });
            return stream::once(async move { Err(err) }).boxed();
        }
        let inner = stream::once(self.read_messages(max_messages))
            .try_flatten()
            .boxed();
        Rechunk::new(inner, batch_size, max_messages).boxed()
    }

    async fn consume(&mut self, max_messages: usize) -> Result<Vec<RawMessage>> {
        let mut out = Vec::new();
        let mut batches = self.read_messages(max_messages).await?;
        while let Some(batch) = batches.try_next().await? {
            let room = max_messages - out.len();
            out.extend(batch.into_iter().take(room));
            if out.len() == max_messages {
                break;
            }
        }
        Ok(out)
    }

    async fn count_messages(&mut self) -> Result<usize> {
        let max = self.config().max_messages;
        let mut batches = self.read_messages(max).await?;
        let mut n = 0;
        while let Some(batch) = batches.try_next().await? {
            n += batch.len();
        }
        Ok(n.min(max))
    }
}

/// Re-chunks a stream of batches into batches of a fixed size and caps the total.
struct Rechunk<'a> {
    inner: Option<MessageStream<'a>>,
    pending: VecDeque<RawMessage>,
    /// An error to yield once the records read before it are out.
    deferred: Option<StreamingDataSourceError>,
    batch_size: usize,
    /// How many more records may be yielded.
    remaining: usize,
}

impl<'a> Rechunk<'a> {
    fn new(inner: MessageStream<'a>, batch_size: usize, max: usize) -> Self {
        Self {
            inner: Some(inner),
            pending: VecDeque::new(),
            deferred: None,
            batch_size,
            remaining: max,
        }
    }

    fn take(&mut self, n: usize) -> Vec<RawMessage> {
        let n = n.min(self.pending.len());
        if n == self.pending.len() {
            // Whole buffer: `Vec::from(VecDeque)` reuses the allocation.
            return Vec::from(std::mem::take(&mut self.pending));
        }
        self.pending.drain(..n).collect()
    }
}

impl Stream for Rechunk<'_> {
    type Item = Result<Vec<RawMessage>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.pending.len() >= this.batch_size {
                let n = this.batch_size;
                return Poll::Ready(Some(Ok(this.take(n))));
            }
            let Some(inner) = this.inner.as_mut() else {
                if !this.pending.is_empty() {
                    let n = this.pending.len();
                    return Poll::Ready(Some(Ok(this.take(n))));
                }
                return Poll::Ready(this.deferred.take().map(Err));
            };
            match ready!(inner.poll_next_unpin(cx)) {
                Some(Ok(batch)) => {
                    let keep = batch.len().min(this.remaining);
                    this.remaining -= keep;
                    if this.pending.is_empty() && keep == batch.len() {
                        this.pending = VecDeque::from(batch);
                    } else {
                        this.pending.extend(batch.into_iter().take(keep));
                    }
                    if this.remaining == 0 {
                        this.inner = None;
                    }
                }
                Some(Err(e)) => {
                    this.inner = None;
                    this.deferred = Some(e);
                }
                None => this.inner = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemorySource;
    use crate::{DeserializeFailure, ValueVisitor};
    use bytes::Bytes;

    struct Raw;
    impl MessageDeserializer for Raw {
        fn name(&self) -> &str {
            "bytes"
        }
        fn deserialize_into(
            &self,
            payload: &[u8],
            visitor: &mut dyn ValueVisitor,
        ) -> Result<(), DeserializeFailure> {
            visitor.bytes(payload);
            Ok(())
        }
    }

    fn source(n: usize, fetch_batch: usize) -> InMemorySource {
        let payloads = (0..n).map(|i| Bytes::from(format!("m{i}")));
        InMemorySource::from_payloads(
            "t",
            StreamingDataSourceConfig::default(),
            Arc::new(Raw),
            payloads,
        )
        .with_batch_size(fetch_batch)
    }

    async fn sizes(src: &mut InMemorySource, batch: usize, max: usize) -> Vec<usize> {
        let batches: Vec<Vec<RawMessage>> =
            src.iter_messages(batch, max).try_collect().await.unwrap();
        // Records come out in order, without gaps.
        let offsets: Vec<i64> = batches.iter().flatten().map(|m| m.offset).collect();
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
        batches.iter().map(Vec::len).collect()
    }

    #[tokio::test]
    async fn iter_messages_rechunks_small_fetches_into_full_batches() {
        let mut src = source(25, 3);
        assert_eq!(sizes(&mut src, 10, 100).await, [10, 10, 5]);
    }

    #[tokio::test]
    async fn iter_messages_splits_large_fetches() {
        let mut src = source(25, 100);
        assert_eq!(sizes(&mut src, 7, 100).await, [7, 7, 7, 4]);
    }

    #[tokio::test]
    async fn iter_messages_caps_the_total() {
        let mut src = source(25, 4);
        assert_eq!(sizes(&mut src, 5, 12).await, [5, 5, 2]);
        assert_eq!(sizes(&mut src, 5, 0).await, Vec::<usize>::new());
        // Every call starts from the snapshot start again.
        assert_eq!(sizes(&mut src, 50, 50).await, [25]);
        assert_eq!(src.reads(), 3);
    }

    #[tokio::test]
    async fn iter_messages_rejects_zero_batch_size() {
        let mut src = source(3, 3);
        let items: Vec<_> = src.iter_messages(0, 10).collect().await;
        assert_eq!(items.len(), 1);
        assert!(matches!(
            &items[0],
            Err(StreamingDataSourceError::Config(ConfigError::Zero {
                field: "batch_size"
            }))
        ));
    }

    #[tokio::test]
    async fn iter_messages_yields_records_before_a_failure() {
        let fail_after = |n: usize| {
            let ok =
                stream::iter((0..n).map(|i| Ok(vec![RawMessage::new("t", 0, i as i64, None)])));
            let err = stream::once(async { Err(StreamingDataSourceError::Closed) });
            ok.chain(err).boxed()
        };
        let items: Vec<_> = Rechunk::new(fail_after(5), 2, 100).collect().await;
        let shape: Vec<std::result::Result<usize, String>> = items
            .into_iter()
            .map(|r| r.map(|b| b.len()).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            shape,
            [Ok(2), Ok(2), Ok(1), Err("the source is closed".to_owned())]
        );
    }

    #[tokio::test]
    async fn consume_and_count() {
        let mut src = source(25, 4);
        let all = src.consume(1000).await.unwrap();
        assert_eq!(all.len(), 25);
        assert_eq!(src.consume(6).await.unwrap().len(), 6);
        assert_eq!(src.count_messages().await.unwrap(), 25);
        let mut capped = source(25, 4);
        capped.set_config(StreamingDataSourceConfig::default().with_max_messages(7));
        assert_eq!(capped.count_messages().await.unwrap(), 7);
    }

    #[tokio::test]
    async fn works_through_a_trait_object() {
        let mut boxed: Box<dyn BaseStreamingDataSource> = Box::new(source(5, 2));
        assert_eq!(boxed.consume(10).await.unwrap().len(), 5);
        assert_eq!(boxed.name(), "memory://t");
        assert_eq!(boxed.capabilities(), Capabilities::NONE.with_offsets(true));
        boxed.connect().await.unwrap();
        boxed.close().await.unwrap();
        assert!(matches!(
            boxed.read_messages(1).await.map(|_| ()),
            Err(StreamingDataSourceError::Closed)
        ));
    }
}
