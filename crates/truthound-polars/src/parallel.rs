//! [`build_parallel`]: decoding records that are already in memory on several threads.

use std::sync::Arc;

use polars::prelude::{DataFrame, Schema as FrameSchema};
use truthound_streaming_core::{MessageDeserializer, RawMessage, StreamingDataSourceConfig};

use crate::error::Result;
use crate::frame::{DecodeReport, MessageFrameBuilder, Snapshot};
use crate::merge::{Plan, Summary};
use crate::metadata::MetadataColumns;

/// Where the finished segments of a [`ParallelFrameBuilder`] wait for the end of the read, out
/// of memory (for instance as Arrow IPC files in a temporary directory), so that a snapshot
/// written to a file by [`finish_into`](ParallelFrameBuilder::finish_into) takes memory for the
/// segments being decoded only, however long it is.
///
/// [`store`](Self::store) is called on the decoding threads, once per segment, with an id no
/// other segment of the build has; [`load`](Self::load) once per id, in snapshot order, on the
/// thread that calls `finish_into`, which may then drop what it kept of it.
pub trait SegmentSpill: Send + Sync {
    /// Keeps the frame of segment `id`.
    ///
    /// # Errors
    /// What keeping it failed with (an I/O error, for instance, as [`Error::Sink`](crate::Error::Sink)).
    fn store(&self, id: u64, frame: &mut DataFrame) -> Result<()>;

    /// The frame stored as `id`, as it was stored.
    ///
    /// # Errors
    /// What reading it back failed with.
    fn load(&self, id: u64) -> Result<DataFrame>;

    /// Whether a finished segment's `frame` may wait in memory instead of being
    /// [stored](Self::store), when segments of `kept` bytes (by `DataFrame::estimated_size`)
    /// already wait there: a spill that keeps a whole short snapshot spares it the round trip,
    /// one that keeps at most a budget bounds memory. The default keeps none.
    fn keep(&self, kept: usize, frame: &DataFrame) -> bool {
        let _ = (kept, frame);
        false
    }
}

/// Receives a snapshot chunk by chunk, in snapshot order, each chunk with the columns and types
/// given to [`start`](Self::start): a file writer, for instance.
pub trait FrameSink {
    /// Called once, before the first chunk, with the columns of the whole snapshot.
    ///
    /// # Errors
    /// A schema the sink cannot hold (nested columns for CSV, say), or an I/O error.
    fn start(&mut self, schema: &FrameSchema) -> Result<()>;

    /// The next chunk.
    ///
    /// # Errors
    /// What writing it failed with.
    fn write(&mut self, chunk: DataFrame) -> Result<()>;
}

/// A sink that stacks the chunks into one frame.
#[derive(Default)]
struct Stacked(Option<DataFrame>);

impl FrameSink for Stacked {
    fn start(&mut self, _schema: &FrameSchema) -> Result<()> {
        Ok(())
    }

    fn write(&mut self, chunk: DataFrame) -> Result<()> {
        match &mut self.0 {
            None => self.0 = Some(chunk),
            Some(frame) => {
                frame.vstack_mut(&chunk)?;
            }
        }
        Ok(())
    }
}

/// Fewer records than this per thread are decoded on one thread: starting threads and merging
/// would cost more than they save.
const MIN_RECORDS_PER_THREAD: usize = 16 * 1024;

/// Decodes `messages` on up to `threads` threads and returns the same snapshot as
/// [`MessageFrameBuilder`] would.
///
/// The records are cut into one contiguous chunk per thread; each chunk is decoded by its own
/// builder and the frames are stacked in order, their types reconciled as one builder would
/// have inferred them (a column missing or only null in a chunk, integers and floats, struct
/// fields seen in some chunks only). When a chunk kept a field as JSON text, or the chunks'
/// types could only be reconciled as JSON text, the records are decoded again on one thread.
/// The stacked frame has one Arrow chunk per thread.
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_streaming_core::{RawMessage, StreamingDataSourceConfig};
///
/// let messages: Vec<RawMessage> = (0..50_000)
///     .map(|i| {
///         let json = if i < 40_000 { format!(r#"{{"n": {i}}}"#) } else { format!(r#"{{"n": {i}.5, "late": true}}"#) };
///         RawMessage::new("t", 0, i, Some(json.into()))
///     })
///     .collect();
/// let config = StreamingDataSourceConfig::default().with_include_key(false);
/// let snapshot =
///     truthound_polars::build_parallel(&config, Arc::new(JSONDeserializer::new()), &messages, 2)?;
/// assert_eq!(snapshot.frame.height(), 50_000);
/// assert_eq!(snapshot.frame.column("n")?.dtype(), &polars::prelude::DataType::Float64);
/// assert_eq!(snapshot.frame.column("late")?.null_count(), 40_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`MessageFrameBuilder::push_batch`] and [`MessageFrameBuilder::finish`]; with
/// `on_malformed = error`, the first malformed record in snapshot order.
pub fn build_parallel(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: &[RawMessage],
    threads: usize,
) -> Result<Snapshot> {
    let threads = threads.min(messages.len() / MIN_RECORDS_PER_THREAD).max(1);
    if threads == 1 {
        return build_one(config, deserializer, messages);
    }
    let chunk = messages.len().div_ceil(threads);
    let parts: Vec<Result<Snapshot>> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .map(|part| {
                let deserializer = Arc::clone(&deserializer);
                scope.spawn(move || build_one(config, deserializer, part))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
    // Types kept as JSON text are written the same way by the builder and by stacking, but
    // a struct's missing fields may differ in form: decode such records on one thread.
    if parts.iter().any(|p| !p.report.notes.is_empty()) {
        return build_one(config, deserializer, messages);
    }
    let metadata = MetadataColumns::new(config, None).names();
    let stacked = crate::merge::stack(parts, &metadata)?;
    if stacked.report.notes.is_empty() {
        Ok(stacked)
    } else {
        build_one(config, deserializer, messages)
    }
}

fn build_one(
    config: &StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    messages: &[RawMessage],
) -> Result<Snapshot> {
    let mut builder = MessageFrameBuilder::new(config, deserializer);
    builder.push_batch(messages)?;
    builder.finish_snapshot()
}

/// Messages of one partition decoded by one builder: a segment is the partition's next
/// [`SEGMENT_MESSAGES`] messages of a run of rising offsets, so segments, and the frame, do not
/// depend on how the messages were batched or on which thread decoded them. The key is the
/// partition, the segment's first offset and a sequence number (for runs that repeat offsets).
type SegmentKey = (i32, i64, u64);

/// Messages per segment.
pub const SEGMENT_MESSAGES: usize = 64 * 1024;

enum Job {
    Push(SegmentKey, Vec<RawMessage>),
    Close(SegmentKey),
}

/// The first error a worker met (with `on_malformed = error`), by segment order.
type FirstError = Arc<std::sync::Mutex<Option<(SegmentKey, crate::Error)>>>;

/// Bytes of finished segments kept in memory instead of spilled (see
/// [`SegmentSpill::keep`]), over all workers.
type KeptBytes = Arc<std::sync::atomic::AtomicUsize>;

/// A decoded segment: its frame, or where it went and what stacking needs of it.
enum Finished {
    Kept(Snapshot),
    Spilled(Summary),
}

/// What a worker thread returns: each segment it decoded, with its frame or error.
type Segments = Vec<(SegmentKey, Result<Finished>)>;

struct Workers {
    senders: Vec<futures::channel::mpsc::Sender<Job>>,
    handles: Vec<std::thread::JoinHandle<Segments>>,
}

/// Builds a DataFrame from batches of messages as they arrive, on several threads.
///
/// Each partition's messages are cut into segments of [`SEGMENT_MESSAGES`]; each segment is
/// decoded by its own [`MessageFrameBuilder`] on one of the worker threads, while the caller
/// goes on reading. [`finish`](Self::finish) stacks the segments' frames in order of
/// partition, then offset (each run of rising offsets placed by its first offset), with their
/// types reconciled (see `build_parallel`). The frame is the same whatever the batching and
/// the thread timing, so two builds of the same messages are equal; each segment is one Arrow
/// chunk.
///
/// A worker holds the batch it decodes and one more queued; [`push_batch`](Self::push_batch)
/// puts a third in the queue and waits while the workers are behind, so memory stays bounded
/// when decoding is slower than reading. (A queue of four held 35–55 MB more at peak on
/// snapshots of 1M events and 200k wide messages, each queued batch being a fetched chunk's
/// messages, and gained no speed.)
///
/// ```
/// use std::sync::Arc;
/// use truthound_json::JSONDeserializer;
/// use truthound_polars::parallel::ParallelFrameBuilder;
/// use truthound_streaming_core::{RawMessage, StreamingDataSourceConfig};
///
/// # futures::executor::block_on(async {
/// let config = StreamingDataSourceConfig::default().with_include_metadata(true);
/// let mut builder = ParallelFrameBuilder::new(&config, Arc::new(JSONDeserializer::new()), 2);
/// // Partitions interleave as they are read; the frame is ordered by partition, then offset.
/// for offset in 0..3 {
///     for partition in [1, 0] {
///         let json = format!(r#"{{"p": {partition}, "o": {offset}}}"#);
///         builder.push_batch(vec![RawMessage::new("t", partition, offset, Some(json.into()))]).await?;
///     }
/// }
/// let snapshot = builder.finish()?;
/// let partitions = snapshot.frame.column("_kafka_partition")?.as_materialized_series().clone();
/// let partitions: Vec<i32> = partitions.i32()?.into_no_null_iter().collect();
/// assert_eq!(partitions, [0, 0, 0, 1, 1, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct ParallelFrameBuilder {
    config: StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    key_deserializer: Option<Arc<dyn MessageDeserializer>>,
    on_malformed: truthound_streaming_core::OnMalformed,
    threads: usize,
    workers: Option<Workers>,
    /// Per partition: the open segment, the messages in it, its worker, and the offset of the
    /// last message pushed.
    open: std::collections::BTreeMap<i32, OpenSegment>,
    next_worker: usize,
    next_seq: u64,
    first_error: FirstError,
    segment_messages: usize,
    spill: Option<std::sync::Arc<dyn SegmentSpill>>,
    kept: KeptBytes,
}

/// The segment a partition's next messages go to.
#[derive(Debug, Clone, Copy)]
struct OpenSegment {
    key: SegmentKey,
    messages: usize,
    worker: usize,
    last_offset: i64,
}

impl std::fmt::Debug for ParallelFrameBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelFrameBuilder")
            .field("threads", &self.threads)
            .field("partitions", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl ParallelFrameBuilder {
    /// A builder decoding on `threads` threads (at least one), started on the first batch.
    pub fn new(
        config: &StreamingDataSourceConfig,
        deserializer: Arc<dyn MessageDeserializer>,
        threads: usize,
    ) -> Self {
        Self {
            config: config.clone(),
            deserializer,
            key_deserializer: None,
            on_malformed: config.on_malformed,
            threads: threads.max(1),
            workers: None,
            open: std::collections::BTreeMap::new(),
            next_worker: 0,
            next_seq: 0,
            first_error: FirstError::default(),
            segment_messages: SEGMENT_MESSAGES,
            spill: None,
            kept: KeptBytes::default(),
        }
    }

    /// Hands finished segments to `spill` instead of keeping them in memory, but for those
    /// the spill [keeps](SegmentSpill::keep): with [`finish_into`](Self::finish_into), memory
    /// then holds the segments being decoded, those kept and one segment being written,
    /// whatever the length of the snapshot.
    #[must_use]
    pub fn with_spill(mut self, spill: Arc<dyn SegmentSpill>) -> Self {
        self.spill = Some(spill);
        self
    }

    /// Decodes record keys with `deserializer`, as
    /// [`MessageFrameBuilder::with_key_deserializer`] does.
    #[must_use]
    pub fn with_key_deserializer(mut self, deserializer: Arc<dyn MessageDeserializer>) -> Self {
        self.key_deserializer = Some(deserializer);
        self
    }

    /// Cuts segments of `n` messages (at least 1) instead of [`SEGMENT_MESSAGES`]: more,
    /// smaller chunks (for tests of the stacking, or to spread a small read over more threads).
    #[must_use]
    pub fn with_segment_messages(mut self, n: usize) -> Self {
        self.segment_messages = n.max(1);
        self
    }

    /// Overrides what happens to records that fail to decode.
    #[must_use]
    pub fn with_on_malformed(
        mut self,
        on_malformed: truthound_streaming_core::OnMalformed,
    ) -> Self {
        self.on_malformed = on_malformed;
        self
    }

    fn workers(&mut self) -> &mut Workers {
        let (config, on_malformed) = (&self.config, self.on_malformed);
        let (threads, deserializer, key_deserializer, first_error, spill, kept) = (
            self.threads,
            &self.deserializer,
            &self.key_deserializer,
            &self.first_error,
            &self.spill,
            &self.kept,
        );
        self.workers.get_or_insert_with(|| {
            let mut senders = Vec::with_capacity(threads);
            let mut handles = Vec::with_capacity(threads);
            for i in 0..threads {
                // One queued batch (and the sender's own slot): see the type's docs.
                let (tx, rx) = futures::channel::mpsc::channel(1);
                let (config, deserializer, key_deserializer, first_error, spill, kept) = (
                    config.clone(),
                    deserializer.clone(),
                    key_deserializer.clone(),
                    first_error.clone(),
                    spill.clone(),
                    kept.clone(),
                );
                let handle = std::thread::Builder::new()
                    .name(format!("truthound-decode-{i}"))
                    .spawn(move || {
                        let worker = Worker {
                            config: &config,
                            deserializer,
                            key_deserializer,
                            on_malformed,
                            first_error: &first_error,
                            spill: spill.as_deref(),
                            kept: &kept,
                        };
                        worker.run(rx)
                    })
                    .unwrap_or_else(|e| panic!("cannot start a decoding thread: {e}"));
                senders.push(tx);
                handles.push(handle);
            }
            Workers { senders, handles }
        })
    }

    fn take_error(&self) -> Option<crate::Error> {
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|(_, e)| e)
    }

    async fn send(&mut self, worker: usize, job: Job) -> Result<()> {
        use futures::SinkExt;
        let sent = self.workers().senders[worker].send(job).await;
        if sent.is_err() {
            return Err(self
                .take_error()
                .unwrap_or_else(|| crate::Error::Internal("a decoding thread stopped".into())));
        }
        Ok(())
    }

    /// Hands a batch of messages to the workers. Messages of one partition come in runs of
    /// rising offsets (partitions may interleave); a run that starts at or below the last offset
    /// pushed for its partition, as when a read goes back for earlier offsets, begins a segment
    /// of its own, placed by its offsets.
    ///
    /// # Errors
    /// With `on_malformed = error`, a record that failed to decode in an earlier batch.
    pub async fn push_batch(&mut self, batch: Vec<RawMessage>) -> Result<()> {
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        let mut rest = batch;
        while !rest.is_empty() {
            let partition = rest[0].partition;
            let run = 1 + rest
                .windows(2)
                .take_while(|w| w[1].partition == partition && w[1].offset > w[0].offset)
                .count();
            let open = match self.open.get(&partition) {
                Some(open) if rest[0].offset > open.last_offset => *open,
                stale => {
                    if let Some(open) = stale.copied() {
                        self.send(open.worker, Job::Close(open.key)).await?;
                    }
                    let worker = self.next_worker;
                    self.next_worker = (worker + 1) % self.threads;
                    self.next_seq += 1;
                    OpenSegment {
                        key: (partition, rest[0].offset, self.next_seq),
                        messages: 0,
                        worker,
                        last_offset: rest[0].offset,
                    }
                }
            };
            let take = run.min(self.segment_messages - open.messages);
            let tail = rest.split_off(take);
            let piece = std::mem::replace(&mut rest, tail);
            let last_offset = piece[piece.len() - 1].offset;
            self.send(open.worker, Job::Push(open.key, piece)).await?;
            if open.messages + take == self.segment_messages {
                self.send(open.worker, Job::Close(open.key)).await?;
                // The partition's next message opens the next segment, on the next worker.
                self.open.remove(&partition);
            } else {
                self.open.insert(
                    partition,
                    OpenSegment {
                        messages: open.messages + take,
                        last_offset,
                        ..open
                    },
                );
            }
        }
        Ok(())
    }

    /// Waits for the workers and stacks the segments' frames.
    ///
    /// # Errors
    /// As [`MessageFrameBuilder::finish`]; with `on_malformed = error`, the first malformed
    /// record found.
    pub fn finish(self) -> Result<Snapshot> {
        let mut stacked = Stacked::default();
        let report = self.finish_into(&mut stacked)?;
        Ok(Snapshot {
            frame: stacked.0.unwrap_or_default(),
            report,
        })
    }

    /// Waits for the workers and writes the segments' frames to `sink`, one at a time in
    /// snapshot order, each with the columns and types of the whole snapshot (reconciled as
    /// [`finish`](Self::finish) reconciles them, from what each segment holds); returns the
    /// report. Stacking what the sink receives gives the frame `finish` gives. With a
    /// [spill](Self::with_spill), each spilled segment is loaded back just before it is
    /// written.
    ///
    /// This blocks the calling thread while segments are loaded and written.
    ///
    /// # Errors
    /// As [`finish`](Self::finish), and what the sink or the spill failed with.
    pub fn finish_into(mut self, sink: &mut dyn FrameSink) -> Result<DecodeReport> {
        let metadata = MetadataColumns::new(&self.config, None).names();
        let mut segments = Vec::new();
        if let Some(workers) = self.workers.take() {
            drop(workers.senders);
            for handle in workers.handles {
                segments.extend(
                    handle
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
        }
        if let Some(e) = self.take_error() {
            return Err(e);
        }
        if segments.is_empty() {
            let mut empty = MessageFrameBuilder::new(&self.config, self.deserializer.clone());
            if let Some(k) = &self.key_deserializer {
                empty = empty.with_key_deserializer(k.clone());
            }
            let empty = empty.finish_snapshot()?;
            sink.start(empty.frame.schema())?;
            sink.write(empty.frame)?;
            return Ok(empty.report);
        }
        segments.sort_by_key(|(key, _)| *key);
        // Each segment's summary plans the stacking; a kept segment's frame waits beside it.
        let mut kept: Vec<(u64, Option<Snapshot>)> = Vec::with_capacity(segments.len());
        let mut summaries: Vec<Summary> = Vec::with_capacity(segments.len());
        for (key, finished) in segments {
            match finished? {
                Finished::Kept(s) => {
                    summaries.push(Summary::of(&s));
                    kept.push((key.2, Some(s)));
                }
                Finished::Spilled(summary) => {
                    summaries.push(summary);
                    kept.push((key.2, None));
                }
            }
        }
        let plan = Plan::new(&summaries, &metadata);
        sink.start(plan.schema())?;
        for ((id, frame), summary) in kept.into_iter().zip(summaries) {
            let part = match frame {
                Some(s) => s,
                None => {
                    let spill = self.spill.as_deref().ok_or_else(|| {
                        crate::Error::Internal("a segment was spilled without a spill".into())
                    })?;
                    Snapshot {
                        frame: spill.load(id)?,
                        report: summary.into_report(),
                    }
                }
            };
            sink.write(plan.conform(part)?)?;
        }
        Ok(plan.report)
    }
}

/// A worker thread: decodes the segments it is given, each with its own builder.
struct Worker<'a> {
    config: &'a StreamingDataSourceConfig,
    deserializer: Arc<dyn MessageDeserializer>,
    key_deserializer: Option<Arc<dyn MessageDeserializer>>,
    on_malformed: truthound_streaming_core::OnMalformed,
    first_error: &'a FirstError,
    spill: Option<&'a dyn SegmentSpill>,
    kept: &'a KeptBytes,
}

impl Worker<'_> {
    fn run(&self, mut jobs: futures::channel::mpsc::Receiver<Job>) -> Segments {
        use futures::StreamExt;
        let mut open: Vec<(SegmentKey, MessageFrameBuilder)> = Vec::new();
        let mut done = Vec::new();
        let mut failed: Vec<SegmentKey> = Vec::new();
        while let Some(job) = futures::executor::block_on(jobs.next()) {
            match job {
                Job::Push(key, messages) => {
                    if failed.contains(&key) {
                        continue;
                    }
                    let i = open.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
                        let mut b =
                            MessageFrameBuilder::new(self.config, self.deserializer.clone())
                                .with_on_malformed(self.on_malformed);
                        if let Some(k) = &self.key_deserializer {
                            b = b.with_key_deserializer(k.clone());
                        }
                        open.push((key, b));
                        open.len() - 1
                    });
                    if let Err(e) = open[i].1.push_batch(&messages) {
                        open.retain(|(k, _)| *k != key);
                        failed.push(key);
                        self.fail(key, e);
                    }
                }
                Job::Close(key) => {
                    if let Some(i) = open.iter().position(|(k, _)| *k == key) {
                        let (_, builder) = open.swap_remove(i);
                        done.push((key, self.finish(key, builder)));
                    }
                }
            }
        }
        for (key, builder) in open {
            done.push((key, self.finish(key, builder)));
        }
        done
    }

    /// Records `e` as the first error if no earlier segment has one.
    fn fail(&self, key: SegmentKey, e: crate::Error) {
        let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(k, _)| key < *k) {
            *first = Some((key, e));
        }
    }

    /// The segment's frame, kept (without a spill, or within the spill's memory budget) or
    /// spilled.
    fn finish(&self, key: SegmentKey, builder: MessageFrameBuilder) -> Result<Finished> {
        use std::sync::atomic::Ordering;
        let mut snapshot = builder.finish_snapshot()?;
        match self.spill {
            None => Ok(Finished::Kept(snapshot)),
            Some(spill) if spill.keep(self.kept.load(Ordering::Relaxed), &snapshot.frame) => {
                self.kept
                    .fetch_add(snapshot.frame.estimated_size(), Ordering::Relaxed);
                Ok(Finished::Kept(snapshot))
            }
            Some(spill) => {
                let summary = Summary::of(&snapshot);
                spill.store(key.2, &mut snapshot.frame)?;
                Ok(Finished::Spilled(summary))
            }
        }
    }
}
