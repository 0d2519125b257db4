//! Fetch, and the bounded read built on it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::try_join_all;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{Error, KafkaClient, Result, SHORT_WAIT};
use crate::records::{AbortedTransaction, DecodeOptions, Record, decode_record_batches};

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

/// How fetches are sized.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Which records are returned.
    pub isolation: IsolationLevel,
    /// Upper bound of one fetch response, over all its partitions.
    pub max_bytes: i32,
    /// Upper bound per partition in one fetch (the broker still returns at least one batch).
    pub partition_max_bytes: i32,
    /// Upper bound of one batch once decompressed; a larger batch is an error.
    pub max_decompressed_bytes: usize,
    /// How long the broker may wait for data. Bounded reads only ask for data known to be
    /// there, so this is short.
    pub max_wait: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            isolation: IsolationLevel::ReadUncommitted,
            max_bytes: 64 * 1024 * 1024,
            partition_max_bytes: 8 * 1024 * 1024,
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_wait: SHORT_WAIT,
        }
    }
}

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

/// Records of one partition from one round of fetches.
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

#[derive(Debug, Clone)]
struct PartitionState {
    range: PartitionRange,
    position: i64,
    max_bytes: i32,
    /// The end the broker reported in the last response (high watermark, or last stable
    /// offset under read_committed).
    broker_end: Option<i64>,
    /// Stopped early by the caller (see [`BoundedReader::finish_partition`]).
    finished: bool,
}

impl PartitionState {
    fn done(&self) -> bool {
        self.finished || self.position >= self.range.end
    }
}

/// A read of fixed offset ranges of one topic's partitions, which ends exactly when every
/// partition's fetch position reaches its range's end.
///
/// The end is reached by **position**, not by the last record's offset, so ranges whose last
/// offsets are transaction markers, aborted records or compaction gaps end on time. Each call
/// to [`BoundedReader::next_batch`] sends one Fetch per leader broker — all brokers at once —
/// covering every unfinished partition.
#[derive(Debug)]
pub struct BoundedReader {
    client: KafkaClient,
    topic: String,
    options: FetchOptions,
    partitions: Vec<PartitionState>,
    /// Rounds sent so far; rotates the order partitions are asked for in, so a broker that
    /// fills a response in request order cannot starve the last ones.
    round: usize,
    /// Rounds in a row in which no partition moved.
    stalled_rounds: u32,
    /// The topic's id when the read began (from [`BoundedReader::with_topic_id`], else the
    /// first round's metadata): a topic deleted and created again under the same name has
    /// another id, and its offsets mean other records.
    topic_id: std::sync::OnceLock<[u8; 16]>,
}

/// Rounds in a row without progress on any partition, before giving up.
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
        let partitions = ranges
            .into_iter()
            .map(|range| PartitionState {
                range,
                position: range.start,
                max_bytes: options.partition_max_bytes,
                broker_end: None,
                finished: false,
            })
            .fold(Vec::<PartitionState>::new(), |mut v, p| {
                // One state per partition: a repeated partition keeps its first range.
                if !v.iter().any(|q| q.range.partition == p.range.partition) {
                    v.push(p);
                }
                v
            });
        Self {
            client,
            topic: topic.into(),
            options,
            partitions,
            round: 0,
            stalled_rounds: 0,
            topic_id: std::sync::OnceLock::new(),
        }
    }

    /// Reads only the topic with this id (as captured with the ranges' ends, e.g.
    /// [`TopicMetadata::topic_id`](crate::TopicMetadata::topic_id)): should the topic be
    /// deleted and created again under the same name, the read fails with
    /// [`Error::TopicRecreated`] instead of reading the new topic's records at the old offsets.
    /// An all-zero id (a broker without topic ids) checks nothing.
    #[must_use]
    pub fn with_topic_id(self, topic_id: [u8; 16]) -> Self {
        if topic_id != [0; 16] {
            let _ = self.topic_id.set(topic_id);
        }
        self
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Each partition's range and current position.
    pub fn positions(&self) -> Vec<(PartitionRange, i64)> {
        self.partitions
            .iter()
            .map(|p| (p.range, p.position))
            .collect()
    }

    /// Stops reading `partition` before its range ends (for example when the caller has taken
    /// all it wants from it). Returns whether it was already done.
    pub fn finish_partition(&mut self, partition: i32) -> bool {
        match self
            .partitions
            .iter_mut()
            .find(|p| p.range.partition == partition)
        {
            Some(p) => {
                let was = p.done();
                p.finished = true;
                was
            }
            None => true,
        }
    }

    /// Whether every partition reached its end.
    pub fn is_done(&self) -> bool {
        self.partitions.iter().all(PartitionState::done)
    }

    /// Fetches the next records of every unfinished partition. `None` once all are done.
    ///
    /// A round in which no partition moves (the broker returned nothing new, or left
    /// partitions out) is retried with backoff; after several such rounds the read fails with
    /// each partition's position, its end and the end the broker reports now.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<PartitionRecords>>> {
        let mut backoff = self.client.config().retry_backoff;
        loop {
            if self.is_done() {
                return Ok(None);
            }
            let fetched = self
                .client
                .retrying("Fetch", Some(&self.topic), || self.fetch_round())
                .await?;
            self.round = self.round.wrapping_add(1);
            let mut seen = HashSet::new();
            let mut out = Vec::with_capacity(fetched.len());
            for f in fetched {
                // A partition we did not ask for, or one listed twice, is ignored.
                if !seen.insert(f.partition) {
                    continue;
                }
                let Some(st) = self
                    .partitions
                    .iter_mut()
                    .find(|s| s.range.partition == f.partition && !s.done())
                else {
                    continue;
                };
                st.broker_end = Some(f.end_now);
                match f.next_offset {
                    Some(next) if next > st.position => st.position = next,
                    _ => {
                        if f.truncated_tail {
                            // The first batch is larger than the per-partition limit.
                            st.max_bytes = st.max_bytes.saturating_mul(2);
                        }
                        continue;
                    }
                }
                out.push(PartitionRecords {
                    partition: st.range.partition,
                    records: f.records,
                    position: st.position,
                    high_watermark: f.high_watermark,
                    done: st.done(),
                });
            }
            if !out.is_empty() {
                self.stalled_rounds = 0;
                out.sort_by_key(|p| p.partition);
                return Ok(Some(out));
            }
            self.stalled_rounds += 1;
            if self.stalled_rounds > MAX_STALLS {
                return Err(self.stall_error());
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.client.config().retry_backoff_max);
        }
    }

    fn stall_error(&self) -> Error {
        let detail: Vec<String> = self
            .partitions
            .iter()
            .filter(|p| !p.done())
            .map(|p| {
                let now = match p.broker_end {
                    Some(e) if e < p.range.end => format!(
                        "the broker now ends it at {e}: the log was truncated, or the end offset did not come from this cluster"
                    ),
                    Some(e) => format!("the broker reports its end at {e}"),
                    None => "the broker did not return it".to_owned(),
                };
                format!(
                    "partition {} at offset {} of {}..{} ({now})",
                    p.range.partition, p.position, p.range.start, p.range.end
                )
            })
            .collect();
        Error::UnexpectedResponse(format!(
            "{}: no progress after {} fetches: {}",
            self.topic,
            self.stalled_rounds,
            detail.join("; ")
        ))
    }

    /// One Fetch per leader broker, all at once; decodes what came back. Changes no state, so
    /// it can be retried whole.
    async fn fetch_round(&self) -> Result<Vec<Fetched>> {
        let meta = self.client.topic(&self.topic).await?;
        if meta.topic_id != [0; 16] {
            let was = *self.topic_id.get_or_init(|| meta.topic_id);
            if was != meta.topic_id {
                return Err(Error::TopicRecreated {
                    topic: self.topic.clone(),
                    was: uuid::Uuid::from_bytes(was).to_string(),
                    now: uuid::Uuid::from_bytes(meta.topic_id).to_string(),
                });
            }
        }
        let mut pending: Vec<i32> = self
            .partitions
            .iter()
            .filter(|p| !p.done())
            .map(|p| p.range.partition)
            .collect();
        if !pending.is_empty() {
            let shift = self.round % pending.len();
            pending.rotate_left(shift);
        }
        let groups = self.client.group_by_leader(&self.topic, pending).await?;
        let state: HashMap<i32, &PartitionState> = self
            .partitions
            .iter()
            .map(|p| (p.range.partition, p))
            .collect();
        let calls = groups.into_iter().map(|(leader, parts)| {
            let state = &state;
            let meta = &meta;
            async move {
                let conn = self.client.broker_connection(leader).await?;
                let mut version = conn.version_for(ApiKey::Fetch)?;
                if version >= 13 && meta.topic_id == [0; 16] {
                    // Metadata came without a topic id (an older broker in the cluster): name
                    // the topic instead, with the last version that does.
                    version = 12;
                }
                let mut topic = FetchTopic::default().with_partitions(
                    parts
                        .iter()
                        .map(|p| {
                            FetchPartition::default()
                                .with_partition(*p)
                                .with_fetch_offset(state[p].position)
                                .with_partition_max_bytes(state[p].max_bytes)
                        })
                        .collect(),
                );
                if version >= 13 {
                    topic = topic.with_topic_id(uuid::Uuid::from_bytes(meta.topic_id));
                } else {
                    topic = topic.with_topic(TopicName(StrBytes::from_string(self.topic.clone())));
                }
                let request = FetchRequest::default()
                    .with_replica_id(kafka_protocol::messages::BrokerId(-1))
                    .with_max_wait_ms(
                        i32::try_from(self.options.max_wait.as_millis()).unwrap_or(i32::MAX),
                    )
                    .with_min_bytes(1)
                    .with_max_bytes(self.options.max_bytes)
                    .with_isolation_level(self.options.isolation as i8)
                    .with_topics(vec![topic]);
                let response = conn.send(&request, version).await?;
                if response.error_code != 0 {
                    return Err(Error::Kafka {
                        api: "Fetch",
                        topic: Some(self.topic.clone()),
                        partition: None,
                        code: response.error_code,
                        message: None,
                    });
                }
                let mut out = Vec::new();
                for t in response.responses {
                    for p in t.partitions {
                        if let Some(st) = state.get(&p.partition_index) {
                            out.push(self.decode_partition(st, p)?);
                        }
                    }
                }
                Ok::<_, Error>(out)
            }
        });
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    fn decode_partition(&self, st: &PartitionState, p: PartitionData) -> Result<Fetched> {
        if p.error_code == 1 {
            return Err(Error::OffsetOutOfRange {
                topic: self.topic.clone(),
                partition: st.range.partition,
                offset: st.position,
            });
        }
        if p.error_code != 0 {
            return Err(Error::Kafka {
                api: "Fetch",
                topic: Some(self.topic.clone()),
                partition: Some(p.partition_index),
                code: p.error_code,
                message: None,
            });
        }
        let data = p.records.unwrap_or_default();
        let options = DecodeOptions {
            start_offset: st.position,
            end_offset: Some(st.range.end),
            read_committed: self.options.isolation == IsolationLevel::ReadCommitted,
            aborted_transactions: p
                .aborted_transactions
                .unwrap_or_default()
                .iter()
                .map(|a| AbortedTransaction {
                    producer_id: a.producer_id.0,
                    first_offset: a.first_offset,
                })
                .collect(),
            max_decompressed_bytes: self.options.max_decompressed_bytes,
        };
        let mut records = Vec::new();
        let summary = decode_record_batches(&data, &options, &mut records).map_err(|source| {
            Error::Records {
                topic: self.topic.clone(),
                partition: st.range.partition,
                offset: st.position,
                source,
            }
        })?;
        let end_now = match self.options.isolation {
            IsolationLevel::ReadCommitted if p.last_stable_offset >= 0 => p.last_stable_offset,
            _ => p.high_watermark,
        };
        Ok(Fetched {
            partition: st.range.partition,
            records,
            next_offset: summary.next_offset,
            truncated_tail: summary.truncated_tail,
            high_watermark: p.high_watermark,
            end_now,
        })
    }
}

/// What one partition's part of a fetch response held.
struct Fetched {
    partition: i32,
    records: Vec<Record>,
    next_offset: Option<i64>,
    truncated_tail: bool,
    high_watermark: i64,
    end_now: i64,
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
