//! Fetch, and the bounded read built on it: a fetcher per partition that keeps fetching ahead
//! within a byte budget, while the caller decodes what came before.

use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::{Error, KafkaClient, Result, SHORT_WAIT};
use crate::records::{
    AbortedTransaction, BatchHeader, DecodeOptions, Record, decode_record_batches,
    scan_record_batches,
};

/// Which records a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(i8)]
pub enum IsolationLevel {
    /// Every record, also of open and aborted transactions.
    #[default]
    ReadUncommitted = 0,
    /// Only committed records; the end is the last stable offset.
    ReadCommitted = 1,
}

/// What a read does when a partition's log start moves past its position (retention or
/// DeleteRecords removed offsets it had not read yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogStartMoved {
    /// Fail with [`Error::LogStartPassed`], naming the partition, the offset and the log start:
    /// for reads whose start was asked for explicitly.
    #[default]
    Fail,
    /// Go on from the new log start; the chunk that moves there reports the offsets that were
    /// gone ([`FetchedChunk::gone`]): for reads from the earliest offset.
    SkipToLogStart,
}

/// How fetches are sized.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Which records are returned.
    pub isolation: IsolationLevel,
    /// Upper bound of one fetch response.
    pub max_bytes: i32,
    /// Upper bound per partition in one fetch (the broker still returns at least one batch).
    /// Each partition fetches `prefetch_bytes / (4 × partitions)` at a time, at least 1 MiB,
    /// at most this.
    pub partition_max_bytes: i32,
    /// Upper bound of one batch once decompressed; a larger batch is an error.
    pub max_decompressed_bytes: usize,
    /// Upper bound of one fetched chunk's batches together once decompressed; more is an
    /// error. With a few chunks decoded at once, this bounds a read's decompressed memory.
    pub max_decompressed_bytes_per_chunk: usize,
    /// How long the broker may wait for data. Bounded reads only ask for data known to be
    /// there, so this is short.
    pub max_wait: Duration,
    /// Fetched bytes in flight or waiting to be taken, over all partitions of a read. The
    /// fetchers stop asking for more while this much is outstanding, so a slow consumer holds
    /// at most this much (plus one response per partition, when a broker returns more than
    /// was asked for), whatever the topic's size.
    pub prefetch_bytes: usize,
    /// What happens when the log start moves past a partition's position.
    pub log_start_moved: LogStartMoved,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            isolation: IsolationLevel::ReadUncommitted,
            max_bytes: 64 * 1024 * 1024,
            partition_max_bytes: 8 * 1024 * 1024,
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_decompressed_bytes_per_chunk: 512 * 1024 * 1024,
            max_wait: SHORT_WAIT,
            prefetch_bytes: 64 * 1024 * 1024,
            log_start_moved: LogStartMoved::Fail,
        }
    }
}

/// The smallest fetch size per partition: Kafka's own consumers' default.
const MIN_PARTITION_FETCH: i32 = 1024 * 1024;

/// One partition's part of a bounded read: offsets `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRange {
    /// The partition.
    pub partition: i32,
    /// The first offset to read.
    pub start: i64,
    /// The offset to stop before.
    pub end: i64,
}

/// Records of one partition from one fetch.
#[derive(Debug, Clone)]
pub struct PartitionRecords {
    /// The partition.
    pub partition: i32,
    /// The records, in offset order, all within the partition's range.
    pub records: Vec<Record>,
    /// The fetch position after these records.
    pub position: i64,
    /// The partition's high watermark as the broker reported it.
    pub high_watermark: i64,
    /// Whether the partition has reached the end of its range.
    pub done: bool,
}

/// One fetch's worth of one partition, not yet decoded: the record batches as they came from
/// the broker. [`FetchedChunk::decode`] does the CPU work (CRC, decompression, parsing) on
/// whichever thread calls it; chunks of different partitions decode independently.
///
/// A chunk holds its share of the read's [`prefetch_bytes`](FetchOptions::prefetch_bytes)
/// until it is dropped.
#[derive(Debug)]
pub struct FetchedChunk {
    topic: Arc<str>,
    partition: i32,
    start: i64,
    position: i64,
    high_watermark: i64,
    range_end: i64,
    data: Bytes,
    aborted: Vec<AbortedTransaction>,
    read_committed: bool,
    max_decompressed_bytes: usize,
    max_decompressed_total: usize,
    gone: Option<Range<i64>>,
    done: bool,
    /// Which fetcher of the partition sent it (see [`BoundedReader::resume_partition`]).
    epoch: u32,
    _budget: BudgetShare,
}

impl FetchedChunk {
    /// The partition.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The fetch position this chunk starts at.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The fetch position after this chunk.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// The partition's high watermark as the broker reported it.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// Whether the partition's range ends with this chunk.
    pub fn is_last(&self) -> bool {
        self.done
    }

    /// Offsets that were removed from the log (retention, DeleteRecords) before the read got
    /// to them, under [`LogStartMoved::SkipToLogStart`]: the read went on at the end of this
    /// range. Such a chunk holds no records.
    pub fn gone(&self) -> Option<Range<i64>> {
        self.gone.clone()
    }

    /// Bytes of record batches in the chunk.
    pub fn len_bytes(&self) -> usize {
        self.data.len()
    }

    /// Room for the chunk's records, reserved once: the record counts of its batch headers,
    /// but no more than one record per 8 bytes fetched, so that a hostile count reserves
    /// little (a chunk of records more compressed than that grows as it decodes).
    fn record_capacity(&self) -> usize {
        self.batch_headers()
            .iter()
            .map(|h| usize::try_from(h.record_count).unwrap_or(0))
            .fold(0, usize::saturating_add)
            .min(self.data.len() / 8)
    }

    /// The headers of the chunk's complete record batches, as the broker stored them (codec,
    /// producer, offsets, record counts), read without checking CRCs or decompressing. A
    /// truncated last batch, or bytes that are no batch header, end the list.
    pub fn batch_headers(&self) -> Vec<BatchHeader> {
        let mut headers = Vec::new();
        let mut rest = &self.data[..];
        while let Ok(Some(header)) = BatchHeader::parse(rest) {
            let Some(next) = rest.get(header.total_len()..) else {
                break;
            };
            headers.push(header);
            rest = next;
        }
        headers
    }

    /// Decodes the chunk's records within the partition's range. Keys and values are slices of
    /// the fetched or decompressed buffers.
    ///
    /// # Errors
    /// [`Error::Records`] for a malformed batch, naming the partition and the chunk's start.
    pub fn decode(&self) -> Result<Vec<Record>> {
        if self.data.is_empty() {
            return Ok(Vec::new());
        }
        let mut records = Vec::with_capacity(self.record_capacity());
        let options = DecodeOptions {
            start_offset: self.start,
            end_offset: Some(self.range_end),
            read_committed: self.read_committed,
            aborted_transactions: self.aborted.clone(),
            max_decompressed_bytes: self.max_decompressed_bytes,
            max_total_decompressed_bytes: self.max_decompressed_total,
        };
        decode_record_batches(&self.data, &options, &mut records).map_err(|source| {
            Error::Records {
                topic: self.topic.to_string(),
                partition: self.partition,
                offset: self.start,
                source,
            }
        })?;
        Ok(records)
    }
}

/// Permits of the prefetch budget (in KiB), given back when dropped.
#[derive(Debug)]
struct BudgetShare {
    budget: Arc<Semaphore>,
    units: u32,
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.budget.add_permits(self.units as usize);
    }
}

/// Bytes as budget units (KiB, rounded up).
fn units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

#[derive(Debug)]
struct PartitionState {
    range: PartitionRange,
    /// The position after the chunks handed to the caller.
    position: i64,
    /// Stopped early by the caller (see [`BoundedReader::finish_partition`]).
    finished: bool,
    task: Option<JoinHandle<()>>,
    /// Counts the partition's fetchers: chunks of an earlier one are stale.
    epoch: u32,
}

impl PartitionState {
    fn done(&self) -> bool {
        self.finished || self.position >= self.range.end
    }
}

/// What a partition's fetcher tells the reader.
enum Event {
    Chunk(FetchedChunk),
    /// The partition's fetcher of this epoch stopped with an error.
    Failed(i32, u32, Error),
}

/// What the fetchers of one read share.
#[derive(Debug)]
struct Fetcher {
    client: KafkaClient,
    topic: Arc<str>,
    options: FetchOptions,
    /// The topic's id when the read began (from [`BoundedReader::with_topic_id`], else the
    /// first fetch's metadata).
    topic_id: OnceLock<[u8; 16]>,
    budget: Arc<Semaphore>,
    budget_units: u32,
    /// Bytes a partition asks for in one fetch.
    partition_fetch: i32,
}

/// A read of fixed offset ranges of one topic's partitions, which ends exactly when every
/// partition's fetch position reaches its range's end.
///
/// The end is reached by **position**, not by the last record's offset, so ranges whose last
/// offsets are transaction markers, aborted records or compaction gaps end on time.
///
/// Each partition has its own fetcher, started on the first call: it fetches from the
/// partition's leader, finds the next position from the batch headers alone and fetches again
/// at once, while the caller decodes what came before; all partitions' fetchers together keep
/// at most [`prefetch_bytes`](FetchOptions::prefetch_bytes) outstanding. Partitions are
/// independent: one partition's retriable error (a leader moving, a broker restarting) is
/// retried with backoff for that partition alone, until the client's deadline, while the
/// others go on; other brokers are never held up. A throttled response (`throttle_time_ms`)
/// makes that partition's fetcher wait as long before its next fetch.
///
/// The fetchers need a Tokio runtime; they stop when the reader is dropped.
#[derive(Debug)]
pub struct BoundedReader {
    client: KafkaClient,
    topic: Arc<str>,
    options: FetchOptions,
    topic_id: Option<[u8; 16]>,
    partitions: Vec<PartitionState>,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    /// Kept to start fetchers again ([`BoundedReader::resume_partition`]).
    running: Option<(Arc<Fetcher>, mpsc::UnboundedSender<Event>)>,
}

/// Fetches in a row without progress on a partition, before giving up.
const MAX_STALLS: u32 = 8;

impl BoundedReader {
    /// A reader of these ranges of `topic`. Empty ranges are done from the start; a partition
    /// given twice keeps its first range.
    pub fn new(
        client: KafkaClient,
        topic: impl Into<String>,
        ranges: impl IntoIterator<Item = PartitionRange>,
        options: FetchOptions,
    ) -> Self {
        let mut partitions: Vec<PartitionState> = Vec::new();
        for range in ranges {
            // One state per partition: a repeated partition keeps its first range.
            if !partitions
                .iter()
                .any(|q| q.range.partition == range.partition)
            {
                partitions.push(PartitionState {
                    range,
                    position: range.start,
                    finished: false,
                    task: None,
                    epoch: 0,
                });
            }
        }
        Self {
            client,
            topic: Arc::from(topic.into()),
            options,
            topic_id: None,
            partitions,
            events: None,
            running: None,
        }
    }

    /// Reads only the topic with this id (as captured with the ranges' ends, e.g.
    /// [`TopicMetadata::topic_id`](crate::TopicMetadata::topic_id)): should the topic be
    /// deleted and created again under the same name, the read fails with
    /// [`Error::TopicRecreated`] instead of reading the new topic's records at the old offsets.
    /// An all-zero id (a broker without topic ids) checks nothing.
    #[must_use]
    pub fn with_topic_id(mut self, topic_id: [u8; 16]) -> Self {
        if topic_id != [0; 16] {
            self.topic_id = Some(topic_id);
        }
        self
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Each partition's range and the position after the chunks handed out so far.
    pub fn positions(&self) -> Vec<(PartitionRange, i64)> {
        self.partitions
            .iter()
            .map(|p| (p.range, p.position))
            .collect()
    }

    /// Stops reading `partition` before its range ends (for example when the caller has taken
    /// all it wants from it): its fetcher stops and chunks already fetched are dropped.
    /// Returns whether it was already done.
    pub fn finish_partition(&mut self, partition: i32) -> bool {
        match self
            .partitions
            .iter_mut()
            .find(|p| p.range.partition == partition)
        {
            Some(p) => {
                let was = p.done();
                p.finished = true;
                if let Some(task) = p.task.take() {
                    task.abort();
                }
                was
            }
            None => true,
        }
    }

    /// Reads `partition` again from `from` up to its range's end, after
    /// [`finish_partition`](Self::finish_partition) stopped it (for example when the caller
    /// finds it may take more after all). Returns whether a fetcher was started: not for an
    /// unknown partition, one still running, or `from` at or past the range's end.
    pub fn resume_partition(&mut self, partition: i32, from: i64) -> bool {
        let Some(st) = self
            .partitions
            .iter_mut()
            .find(|p| p.range.partition == partition)
        else {
            return false;
        };
        if !st.finished || from >= st.range.end {
            return false;
        }
        st.finished = false;
        st.position = from;
        st.epoch += 1;
        if let Some((fetcher, tx)) = &self.running {
            let range = PartitionRange {
                start: from,
                ..st.range
            };
            st.task = Some(tokio::spawn(fetch_partition(
                fetcher.clone(),
                range,
                st.epoch,
                tx.clone(),
            )));
        }
        true
    }

    /// Reads `partition` over `start..end` in place of its range, once it reached its end or
    /// was finished: for example the offsets before its range, when a read of the most recent
    /// messages found fewer messages there than it needs. Returns whether a fetcher was
    /// started: not for an unknown partition, one still being read, or an empty range.
    pub fn refetch_partition(&mut self, partition: i32, start: i64, end: i64) -> bool {
        let Some(st) = self
            .partitions
            .iter_mut()
            .find(|p| p.range.partition == partition)
        else {
            return false;
        };
        if !st.done() || start >= end {
            return false;
        }
        if let Some(task) = st.task.take() {
            task.abort();
        }
        st.range = PartitionRange {
            partition,
            start,
            end,
        };
        st.finished = false;
        st.position = start;
        st.epoch += 1;
        if let Some((fetcher, tx)) = &self.running {
            st.task = Some(tokio::spawn(fetch_partition(
                fetcher.clone(),
                st.range,
                st.epoch,
                tx.clone(),
            )));
        }
        true
    }

    /// Whether every partition reached its end.
    pub fn is_done(&self) -> bool {
        self.partitions.iter().all(PartitionState::done)
    }

    /// Starts the fetchers of the unfinished partitions, once.
    fn start(&mut self) {
        if self.events.is_none() {
            let active = self.partitions.iter().filter(|p| !p.done()).count().max(1);
            let budget_bytes = self
                .options
                .prefetch_bytes
                .max(MIN_PARTITION_FETCH as usize);
            let share = i32::try_from(budget_bytes / (4 * active)).unwrap_or(i32::MAX);
            let fetcher = Arc::new(Fetcher {
                client: self.client.clone(),
                topic: self.topic.clone(),
                options: self.options.clone(),
                topic_id: self.topic_id.map(OnceLock::from).unwrap_or_default(),
                budget: Arc::new(Semaphore::new(units(budget_bytes) as usize)),
                budget_units: units(budget_bytes),
                partition_fetch: share
                    .max(MIN_PARTITION_FETCH)
                    .min(self.options.partition_max_bytes.max(1)),
            });
            let (tx, rx) = mpsc::unbounded_channel();
            for p in self.partitions.iter_mut().filter(|p| !p.done()) {
                let range = PartitionRange {
                    start: p.position,
                    ..p.range
                };
                let task =
                    tokio::spawn(fetch_partition(fetcher.clone(), range, p.epoch, tx.clone()));
                p.task = Some(task);
            }
            self.events = Some(rx);
            self.running = Some((fetcher, tx));
        }
    }

    /// The next fetched chunk of any unfinished partition, as soon as one arrives; `None` once
    /// every partition is done. Chunks of one partition come in offset order; partitions
    /// interleave as their fetches complete.
    ///
    /// Cancel-safe: a call dropped before it returns loses no chunk.
    ///
    /// # Errors
    /// The first partition that failed: a retriable condition that lasted until the client's
    /// deadline ([`Error::RetriesExhausted`]), a fatal broker error, a malformed batch header,
    /// a moved log start under [`LogStartMoved::Fail`], a re-created topic, or a partition
    /// that made no progress in several fetches.
    pub async fn next_chunk(&mut self) -> Result<Option<FetchedChunk>> {
        loop {
            if self.is_done() {
                return Ok(None);
            }
            self.start();
            let Some(events) = self.events.as_mut() else {
                return Ok(None);
            };
            let Some(event) = events.recv().await else {
                return Err(Error::UnexpectedResponse(format!(
                    "{}: the fetchers stopped before the read was done",
                    self.topic
                )));
            };
            match event {
                Event::Chunk(chunk) => {
                    let Some(st) = self.partitions.iter_mut().find(|s| {
                        s.range.partition == chunk.partition && !s.done() && s.epoch == chunk.epoch
                    }) else {
                        continue;
                    };
                    st.position = chunk.position;
                    return Ok(Some(chunk));
                }
                Event::Failed(partition, epoch, error) => {
                    if self
                        .partitions
                        .iter()
                        .any(|s| s.range.partition == partition && !s.done() && s.epoch == epoch)
                    {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// Fetches and decodes the next records of any unfinished partition. `None` once all are
    /// done. Each call returns one partition's chunk; see [`next_chunk`](Self::next_chunk)
    /// to decode elsewhere.
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk) and [`FetchedChunk::decode`].
    pub async fn next_batch(&mut self) -> Result<Option<Vec<PartitionRecords>>> {
        let Some(chunk) = self.next_chunk().await? else {
            return Ok(None);
        };
        let records = chunk.decode()?;
        Ok(Some(vec![PartitionRecords {
            partition: chunk.partition,
            records,
            position: chunk.position,
            high_watermark: chunk.high_watermark,
            done: chunk.done,
        }]))
    }
}

impl Drop for BoundedReader {
    fn drop(&mut self) {
        for p in &mut self.partitions {
            if let Some(task) = p.task.take() {
                task.abort();
            }
        }
    }
}

/// What one partition's part of a fetch response held.
enum Fetched {
    Data {
        records: Bytes,
        high_watermark: i64,
        end_now: i64,
        aborted: Vec<AbortedTransaction>,
        throttle: Duration,
    },
    /// OFFSET_OUT_OF_RANGE: the position is outside the partition's log.
    OutOfRange,
}

/// One partition's fetcher: fetch, find the next position from the batch headers, hand the
/// chunk over, fetch again, until the range's end.
async fn fetch_partition(
    fetcher: Arc<Fetcher>,
    range: PartitionRange,
    epoch: u32,
    events: mpsc::UnboundedSender<Event>,
) {
    let initial_backoff = fetcher.client.config().retry_backoff;
    let mut position = range.start;
    let mut max_bytes = fetcher.partition_fetch;
    let mut stalls = 0;
    let mut backoff = initial_backoff;
    let fail = |error: Error| {
        let _ = events.send(Event::Failed(range.partition, epoch, error));
    };
    while position < range.end {
        let want = units(max_bytes as usize).clamp(1, fetcher.budget_units);
        let Ok(permit) = fetcher.budget.clone().acquire_many_owned(want).await else {
            return;
        };
        let fetched = fetcher
            .client
            .retrying("Fetch", Some(&fetcher.topic), || {
                fetcher.fetch_once(range.partition, position, max_bytes)
            })
            .await;
        let (records, high_watermark, end_now, aborted, throttle) = match fetched {
            Err(e) => return fail(e),
            Ok(Fetched::OutOfRange) => {
                drop(permit);
                match fetcher.after_out_of_range(range.partition, position).await {
                    Ok(log_start) => {
                        let chunk = fetcher.chunk(
                            range,
                            epoch,
                            position,
                            log_start,
                            log_start,
                            Bytes::new(),
                            Vec::new(),
                            Some(position..log_start.min(range.end)),
                            BudgetShare {
                                budget: fetcher.budget.clone(),
                                units: 0,
                            },
                        );
                        if events.send(Event::Chunk(chunk)).is_err() {
                            return;
                        }
                        position = log_start;
                        continue;
                    }
                    Err(e) => return fail(e),
                }
            }
            Ok(Fetched::Data {
                records,
                high_watermark,
                end_now,
                aborted,
                throttle,
            }) => (records, high_watermark, end_now, aborted, throttle),
        };
        let scan = match scan_record_batches(&records) {
            Ok(scan) => scan,
            Err(source) => {
                return fail(Error::Records {
                    topic: fetcher.topic.to_string(),
                    partition: range.partition,
                    offset: position,
                    source,
                });
            }
        };
        match scan.next_offset {
            Some(next) if next > position => {
                // The chunk holds what it weighs, as far as the budget has it: a broker may
                // return more than was asked for (at least one whole batch). Waiting for the
                // excess could deadlock fetchers that all hold their first share, so a read
                // may exceed the budget by one response per partition.
                let weight = units(records.len()).min(fetcher.budget_units);
                permit.forget();
                let units_held = if weight > want {
                    match fetcher.budget.try_acquire_many(weight - want) {
                        Ok(extra) => {
                            extra.forget();
                            weight
                        }
                        Err(_) => want,
                    }
                } else {
                    fetcher.budget.add_permits((want - weight) as usize);
                    weight
                };
                let share = BudgetShare {
                    budget: fetcher.budget.clone(),
                    units: units_held,
                };
                let chunk = fetcher.chunk(
                    range,
                    epoch,
                    position,
                    next,
                    high_watermark,
                    records,
                    aborted,
                    None,
                    share,
                );
                if events.send(Event::Chunk(chunk)).is_err() {
                    return;
                }
                position = next;
                stalls = 0;
                backoff = initial_backoff;
            }
            _ if scan.truncated_tail && max_bytes < i32::MAX => {
                // The first batch is larger than what was asked for.
                max_bytes = max_bytes.saturating_mul(2);
            }
            _ if !throttle.is_zero() => {
                // An empty throttled response is the broker asking to wait, not a stall.
            }
            _ => {
                stalls += 1;
                if stalls > MAX_STALLS {
                    return fail(fetcher.stall_error(range, position, end_now, stalls));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(fetcher.client.config().retry_backoff_max);
            }
        }
        if !throttle.is_zero() {
            tokio::time::sleep(throttle).await;
        }
    }
}

impl Fetcher {
    #[allow(clippy::too_many_arguments)]
    fn chunk(
        &self,
        range: PartitionRange,
        epoch: u32,
        start: i64,
        position: i64,
        high_watermark: i64,
        data: Bytes,
        aborted: Vec<AbortedTransaction>,
        gone: Option<Range<i64>>,
        budget: BudgetShare,
    ) -> FetchedChunk {
        FetchedChunk {
            topic: self.topic.clone(),
            partition: range.partition,
            start,
            position,
            high_watermark,
            range_end: range.end,
            data,
            aborted,
            read_committed: self.options.isolation == IsolationLevel::ReadCommitted,
            max_decompressed_bytes: self.options.max_decompressed_bytes,
            max_decompressed_total: self.options.max_decompressed_bytes_per_chunk,
            gone,
            done: position >= range.end,
            epoch,
            _budget: budget,
        }
    }

    fn stall_error(&self, range: PartitionRange, position: i64, end_now: i64, n: u32) -> Error {
        let now = if end_now < range.end {
            format!(
                "the broker now ends it at {end_now}: the log was truncated, or the end offset did not come from this cluster"
            )
        } else {
            format!("the broker reports its end at {end_now}")
        };
        Error::UnexpectedResponse(format!(
            "{}: no progress after {n} fetches: partition {} at offset {position} of {}..{} ({now})",
            self.topic, range.partition, range.start, range.end
        ))
    }

    /// Where to go on after OFFSET_OUT_OF_RANGE at `position`: the new log start, when the
    /// options allow skipping to it.
    async fn after_out_of_range(&self, partition: i32, position: i64) -> Result<i64> {
        let marks = self
            .client
            .partition_watermarks(&self.topic, &[partition], self.options.isolation)
            .await?;
        let (log_start, _) = marks
            .get(&partition)
            .copied()
            .unwrap_or((position, position));
        if position >= log_start {
            return Err(Error::OffsetOutOfRange {
                topic: self.topic.to_string(),
                partition,
                offset: position,
            });
        }
        match self.options.log_start_moved {
            LogStartMoved::SkipToLogStart => Ok(log_start),
            LogStartMoved::Fail => Err(Error::LogStartPassed {
                topic: self.topic.to_string(),
                partition,
                offset: position,
                log_start,
            }),
        }
    }

    /// One Fetch of one partition from its leader. Changes no state, so it can be retried.
    async fn fetch_once(&self, partition: i32, position: i64, max_bytes: i32) -> Result<Fetched> {
        let meta = self.client.topic(&self.topic).await?;
        if meta.topic_id != [0; 16] {
            let was = *self.topic_id.get_or_init(|| meta.topic_id);
            if was != meta.topic_id {
                return Err(Error::TopicRecreated {
                    topic: self.topic.to_string(),
                    was: uuid::Uuid::from_bytes(was).to_string(),
                    now: uuid::Uuid::from_bytes(meta.topic_id).to_string(),
                });
            }
        }
        let groups = self
            .client
            .group_by_leader(&self.topic, [partition])
            .await?;
        let Some(leader) = groups.keys().next().copied() else {
            return Err(Error::UnexpectedResponse(format!(
                "{}/{partition} has no leader in the metadata",
                self.topic
            )));
        };
        let conn = self.client.broker_connection(leader).await?;
        let mut version = conn.version_for(ApiKey::Fetch)?;
        if version >= 13 && meta.topic_id == [0; 16] {
            // Metadata came without a topic id (an older broker in the cluster): name the
            // topic instead, with the last version that does.
            version = 12;
        }
        let mut topic = FetchTopic::default().with_partitions(vec![
            FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(position)
                .with_partition_max_bytes(max_bytes),
        ]);
        if version >= 13 {
            topic = topic.with_topic_id(uuid::Uuid::from_bytes(meta.topic_id));
        } else {
            topic = topic.with_topic(TopicName(StrBytes::from_string(self.topic.to_string())));
        }
        let request = FetchRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(-1))
            .with_max_wait_ms(i32::try_from(self.options.max_wait.as_millis()).unwrap_or(i32::MAX))
            .with_min_bytes(1)
            .with_max_bytes(self.options.max_bytes.max(max_bytes))
            .with_isolation_level(self.options.isolation as i8)
            .with_topics(vec![topic]);
        let response = conn.send(&request, version).await?;
        let throttle = Duration::from_millis(u64::try_from(response.throttle_time_ms).unwrap_or(0));
        if response.error_code != 0 {
            return Err(Error::Kafka {
                api: "Fetch",
                topic: Some(self.topic.to_string()),
                partition: None,
                code: response.error_code,
                message: None,
            });
        }
        let Some(p) = response
            .responses
            .into_iter()
            .flat_map(|t| t.partitions)
            .find(|p| p.partition_index == partition)
        else {
            // Left out of the response: no progress this time.
            return Ok(Fetched::Data {
                records: Bytes::new(),
                high_watermark: -1,
                end_now: -1,
                aborted: Vec::new(),
                throttle,
            });
        };
        if p.error_code == 1 {
            return Ok(Fetched::OutOfRange);
        }
        if p.error_code != 0 {
            return Err(Error::Kafka {
                api: "Fetch",
                topic: Some(self.topic.to_string()),
                partition: Some(p.partition_index),
                code: p.error_code,
                message: None,
            });
        }
        let end_now = match self.options.isolation {
            IsolationLevel::ReadCommitted if p.last_stable_offset >= 0 => p.last_stable_offset,
            _ => p.high_watermark,
        };
        Ok(Fetched::Data {
            records: p.records.unwrap_or_default(),
            high_watermark: p.high_watermark,
            end_now,
            aborted: p
                .aborted_transactions
                .unwrap_or_default()
                .iter()
                .map(|a| AbortedTransaction {
                    producer_id: a.producer_id.0,
                    first_offset: a.first_offset,
                })
                .collect(),
            throttle,
        })
    }
}

impl KafkaClient {
    /// Reads `partition` of `topic` from `start` up to `end` (exclusive) and returns every
    /// record in that range. For large ranges use a [`BoundedReader`].
    pub async fn read_range(
        &self,
        topic: &str,
        partition: i32,
        start: i64,
        end: i64,
        options: FetchOptions,
    ) -> Result<Vec<Record>> {
        let mut reader = BoundedReader::new(
            self.clone(),
            topic,
            [PartitionRange {
                partition,
                start,
                end,
            }],
            options,
        );
        let mut out = Vec::new();
        while let Some(batch) = reader.next_batch().await? {
            for p in batch {
                out.extend(p.records);
            }
        }
        Ok(out)
    }
}
