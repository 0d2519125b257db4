//! The fetchers' per-partition behaviour, against a scripted peer that serves two partitions of
//! 20 records each, 10 records per fetch, from the offset asked for, and misbehaves on demand:
//! one partition failing while the other goes on, throttled responses, and a log start that
//! moves past the read's position.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use truthound_kafka_client::{
    BoundedReader, ClientConfig, Error, FetchOptions, KafkaClient, LogStartMoved, PartitionRange,
    ProduceRecord, records::RecordBatchBuilder,
};
use truthound_tests::peer::{api_versions, frame, read_request, start_response};

const TOPIC: &str = "scripted";
const END: i64 = 20;

#[derive(Clone, Copy)]
enum Script {
    /// Partition 1 answers NOT_LEADER_OR_FOLLOWER to its first `n` fetches.
    Partition1Fails(usize),
    /// The first fetch of each partition is throttled for this long and holds no records.
    Throttled(Duration),
    /// The log of partition 0 starts at 5: fetches below answer OFFSET_OUT_OF_RANGE.
    LogStartAt5,
    /// Partition 0 holds messages at even offsets only (compacted): 10 messages in 20 offsets.
    Compacted,
    /// Partition 0 holds no message at all: its 20 offsets are compaction gaps.
    Empty0,
    /// Partition 0 is one batch of 20 records of 110 kB (2.2 MB), cut at the fetch's
    /// `partition_max_bytes` as a broker cuts its response at `max_bytes`.
    OneBigBatch,
}

/// One Fetch as the peer saw it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    partition: i32,
    offset: i64,
    max_bytes: i32,
    at: Instant,
}

struct Peer {
    addr: String,
    fetches: Arc<Mutex<Vec<Seen>>>,
}

impl Peer {
    fn fetches_of(&self, partition: i32) -> Vec<Seen> {
        self.fetches
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.partition == partition)
            .copied()
            .collect()
    }
}

/// Partition 0's records from `offset` on when only even offsets are left.
fn compacted_from(offset: i64) -> Bytes {
    let kept: Vec<i64> = (offset..END).filter(|o| o % 2 == 0).collect();
    RecordBatchBuilder::new(offset)
        .with_records(
            kept.iter()
                .map(|i| ProduceRecord::new(Bytes::from(format!("v{i}")))),
        )
        .with_offset_deltas(kept.iter().map(|o| (o - offset) as i32).collect())
        .with_last_offset_delta((END - 1 - offset) as i32)
        .finish()
        .unwrap()
}

/// A batch of no records covering `offset..END`, as compaction leaves one.
fn gaps_from(offset: i64) -> Bytes {
    RecordBatchBuilder::new(offset)
        .with_records(std::iter::empty())
        .with_offset_deltas(Vec::new())
        .with_last_offset_delta((END - 1 - offset) as i32)
        .finish()
        .unwrap()
}

/// Partition 0's only batch under [`Script::OneBigBatch`].
fn big_batch() -> Bytes {
    RecordBatchBuilder::new(0)
        .with_records(
            (0..END).map(|i| ProduceRecord::new(Bytes::from(vec![b'a' + i as u8; 110_000]))),
        )
        .finish()
        .unwrap()
}

fn records_from(offset: i64) -> Bytes {
    let n = (END - offset).clamp(0, 10);
    RecordBatchBuilder::new(offset)
        .with_records(
            (offset..offset + n).map(|i| ProduceRecord::new(Bytes::from(format!("v{i}")))),
        )
        .finish()
        .unwrap()
}

async fn start(script: Script) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fetches = Arc::new(Mutex::new(Vec::new()));
    let seen = fetches.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, addr.port(), script, seen.clone()));
        }
    });
    Peer {
        addr: addr.to_string(),
        fetches,
    }
}

async fn serve(mut socket: TcpStream, port: u16, script: Script, seen: Arc<Mutex<Vec<Seen>>>) {
    while let Some((header, key, mut request)) = read_request(&mut socket).await {
        let version = header.request_api_version;
        let mut body = start_response(&header, key);
        match key {
            ApiKey::ApiVersions => api_versions(&[
                (ApiKey::ApiVersions, 0, 3),
                (ApiKey::Metadata, 1, 12),
                (ApiKey::Fetch, 4, 12),
                (ApiKey::ListOffsets, 1, 7),
            ])
            .encode(&mut body, version)
            .unwrap(),
            ApiKey::Metadata => MetadataResponse::default()
                .with_brokers(vec![
                    MetadataResponseBroker::default()
                        .with_node_id(BrokerId(1))
                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                        .with_port(i32::from(port)),
                ])
                .with_controller_id(BrokerId(1))
                .with_topics(vec![
                    MetadataResponseTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_static_str(TOPIC))))
                        .with_topic_id(uuid::Uuid::from_bytes([7; 16]))
                        .with_partitions(
                            (0..2)
                                .map(|p| {
                                    MetadataResponsePartition::default()
                                        .with_partition_index(p)
                                        .with_leader_id(BrokerId(1))
                                })
                                .collect(),
                        ),
                ])
                .encode(&mut body, version)
                .unwrap(),
            ApiKey::ListOffsets => {
                let req = ListOffsetsRequest::decode(&mut request, version).unwrap();
                let topics = req
                    .topics
                    .iter()
                    .map(|t| {
                        ListOffsetsTopicResponse::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        // -2 earliest, -1 latest.
                                        let offset = match (p.timestamp, script) {
                                            (-2, Script::LogStartAt5) => 5,
                                            (-2, _) => 0,
                                            _ => END,
                                        };
                                        ListOffsetsPartitionResponse::default()
                                            .with_partition_index(p.partition_index)
                                            .with_timestamp(-1)
                                            .with_offset(offset)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                ListOffsetsResponse::default()
                    .with_topics(topics)
                    .encode(&mut body, version)
                    .unwrap();
            }
            ApiKey::Fetch => {
                let req = FetchRequest::decode(&mut request, version).unwrap();
                let mut throttle = 0;
                let partitions = req.topics[0]
                    .partitions
                    .iter()
                    .map(|p| {
                        let (partition, offset) = (p.partition, p.fetch_offset);
                        let earlier = {
                            let mut seen = seen.lock().unwrap();
                            let n = seen.iter().filter(|s| s.partition == partition).count();
                            seen.push(Seen {
                                partition,
                                offset,
                                max_bytes: p.partition_max_bytes,
                                at: Instant::now(),
                            });
                            n
                        };
                        let data = PartitionData::default()
                            .with_partition_index(partition)
                            .with_high_watermark(END)
                            .with_last_stable_offset(END);
                        match script {
                            Script::Partition1Fails(n) if partition == 1 && earlier < n => {
                                data.with_error_code(6)
                            }
                            Script::Throttled(t) if earlier == 0 => {
                                throttle = t.as_millis() as i32;
                                data.with_records(Some(Bytes::new()))
                            }
                            Script::LogStartAt5 if partition == 0 && offset < 5 => {
                                data.with_error_code(1)
                            }
                            Script::Compacted if partition == 0 => {
                                data.with_records(Some(compacted_from(offset)))
                            }
                            Script::Empty0 if partition == 0 => {
                                data.with_records(Some(gaps_from(offset)))
                            }
                            Script::OneBigBatch if partition == 0 => {
                                let batch = big_batch();
                                let cut = batch.len().min(p.partition_max_bytes as usize);
                                data.with_records(Some(batch.slice(..cut)))
                            }
                            _ => data.with_records(Some(records_from(offset))),
                        }
                    })
                    .collect();
                FetchResponse::default()
                    .with_throttle_time_ms(throttle)
                    .with_responses(vec![
                        FetchableTopicResponse::default()
                            .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
                            .with_partitions(partitions),
                    ])
                    .encode(&mut body, version)
                    .unwrap();
            }
            other => panic!("the scripted peer does not answer {other:?}"),
        }
        if socket.write_all(&frame(&body)).await.is_err() {
            return;
        }
    }
}

fn whole(partitions: &[i32]) -> Vec<PartitionRange> {
    partitions
        .iter()
        .map(|&partition| PartitionRange {
            partition,
            start: 0,
            end: END,
        })
        .collect()
}

/// Reads to the end; returns each partition's offsets in the order they came.
async fn read_all(reader: &mut BoundedReader) -> Result<[Vec<i64>; 2], Error> {
    let mut out = [Vec::new(), Vec::new()];
    while let Some(batch) = reader.next_batch().await? {
        for p in batch {
            out[p.partition as usize].extend(p.records.iter().map(|r| r.offset));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn one_partitions_errors_neither_discard_nor_hold_up_the_others() {
    let peer = start(Script::Partition1Fails(3)).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    let mut reader = BoundedReader::new(client, TOPIC, whole(&[0, 1]), FetchOptions::default());
    let [p0, p1] = read_all(&mut reader).await.unwrap();
    assert_eq!(p0, (0..END).collect::<Vec<_>>());
    assert_eq!(p1, (0..END).collect::<Vec<_>>());
    // Partition 0 was fetched exactly twice (0, then 10): its records were never thrown away
    // and fetched again because of partition 1's errors.
    let offsets: Vec<i64> = peer.fetches_of(0).iter().map(|s| s.offset).collect();
    assert_eq!(offsets, [0, 10]);
    // Partition 1 was retried (3 refusals, then 0 and 10), and partition 0 was done before
    // partition 1's retries were over.
    let p1_fetches = peer.fetches_of(1);
    let p1_offsets: Vec<i64> = p1_fetches.iter().map(|s| s.offset).collect();
    assert_eq!(p1_offsets, [0, 0, 0, 0, 10]);
    assert!(peer.fetches_of(0)[1].at < p1_fetches[3].at);
}

#[tokio::test]
async fn a_throttled_response_waits_as_long_and_is_no_stall() {
    let throttle = Duration::from_millis(400);
    let peer = start(Script::Throttled(throttle)).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    let mut reader = BoundedReader::new(client, TOPIC, whole(&[0]), FetchOptions::default());
    let [p0, _] = read_all(&mut reader).await.unwrap();
    assert_eq!(p0, (0..END).collect::<Vec<_>>());
    let fetches = peer.fetches_of(0);
    let offsets: Vec<i64> = fetches.iter().map(|s| s.offset).collect();
    assert_eq!(offsets, [0, 0, 10], "one throttled, then two with records");
    let waited = fetches[1].at - fetches[0].at;
    assert!(waited >= throttle, "the next fetch came after {waited:?}");
}

#[tokio::test]
async fn a_log_start_moved_past_the_position_is_skipped_or_an_error() {
    let peer = start(Script::LogStartAt5).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();

    // From the earliest offset: the read goes on at the new log start and says what was gone.
    let options = FetchOptions {
        log_start_moved: LogStartMoved::SkipToLogStart,
        ..FetchOptions::default()
    };
    let mut reader = BoundedReader::new(client.clone(), TOPIC, whole(&[0]), options);
    let first = reader.next_chunk().await.unwrap().unwrap();
    assert_eq!(first.gone(), Some(0..5));
    assert!(first.decode().unwrap().is_empty());
    let mut offsets = Vec::new();
    while let Some(chunk) = reader.next_chunk().await.unwrap() {
        assert_eq!(chunk.gone(), None);
        offsets.extend(chunk.decode().unwrap().iter().map(|r| r.offset));
    }
    assert_eq!(offsets, (5..END).collect::<Vec<_>>());

    // From an offset asked for: an error naming the partition, the offset and the log start.
    let mut reader = BoundedReader::new(client, TOPIC, whole(&[0]), FetchOptions::default());
    let err = read_all(&mut reader).await.unwrap_err();
    match &err {
        Error::LogStartPassed {
            topic,
            partition,
            offset,
            log_start,
        } => assert_eq!(
            (topic.as_str(), *partition, *offset, *log_start),
            (TOPIC, 0, 0, 5)
        ),
        other => panic!("expected LogStartPassed, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("scripted/0: offset 0 is no longer in the log, which now starts at 5"),
        "{err}"
    );
}

#[tokio::test]
async fn a_partition_with_fewer_messages_than_offsets_leaves_its_share_to_the_others() {
    use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};

    /// (partition, offset) of every message a read of `n` returns, sorted.
    async fn read_sorted(source: &mut KafkaDataSource, n: usize) -> Vec<(i32, i64)> {
        use futures::TryStreamExt;
        use truthound_streaming_core::BaseStreamingDataSource;
        let batches: Vec<_> = source
            .read_messages(n)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let mut got: Vec<(i32, i64)> = batches
            .iter()
            .flatten()
            .map(|m| (m.partition, m.offset))
            .collect();
        got.sort_unstable();
        got
    }

    let peer = start(Script::Compacted).await;
    // 30 of 40 offsets: 15 each by offsets, but partition 0 holds only 10 messages; partition 1
    // gives the 5 it could not.
    let config = KafkaDataSourceConfig::new(peer.addr.clone(), TOPIC).with_max_messages(30);
    let mut source = KafkaDataSource::new(config).unwrap();
    let got = read_sorted(&mut source, 30).await;
    let expected: Vec<(i32, i64)> = (0..END)
        .filter(|o| o % 2 == 0)
        .map(|o| (0, o))
        .chain((0..END).map(|o| (1, o)))
        .collect();
    assert_eq!(got, expected);
    // The same read again is the same snapshot.
    let again = read_sorted(&mut source, 30).await;
    assert_eq!(again, expected);
}

#[tokio::test]
async fn latest_n_means_the_last_n_messages_where_offsets_hold_fewer() {
    use futures::TryStreamExt;
    use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
    use truthound_streaming_core::{AutoOffsetReset, BaseStreamingDataSource};

    /// (partition, offset) of every message a read of the most recent `n` returns, in the
    /// order the stream gives them.
    async fn latest(addr: &str, n: usize) -> Vec<(i32, i64)> {
        let mut config = KafkaDataSourceConfig::new(addr, TOPIC).with_max_messages(n);
        config.streaming.auto_offset_reset = AutoOffsetReset::Latest;
        let mut source = KafkaDataSource::new(config).unwrap();
        let batches: Vec<_> = source
            .read_messages(n)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        batches
            .iter()
            .flatten()
            .map(|m| (m.partition, m.offset))
            .collect()
    }
    fn sorted(mut v: Vec<(i32, i64)>) -> Vec<(i32, i64)> {
        v.sort_unstable();
        v
    }

    let peer = start(Script::Compacted).await;
    // 12: six each. Partition 0's last six offsets hold three messages (14, 16, 18), so the
    // read goes back until it has its six: 8..18.
    let got = latest(&peer.addr, 12).await;
    let expected: Vec<(i32, i64)> = (8..END)
        .filter(|o| o % 2 == 0)
        .map(|o| (0, o))
        .chain((14..END).map(|o| (1, o)))
        .collect();
    assert_eq!(sorted(got.clone()), expected);
    // No message twice: the stream held exactly the expected messages.
    assert_eq!(got.len(), expected.len());
    // 26: thirteen each, but partition 0 holds ten messages in all; partition 1 gives the
    // other three from before its last thirteen offsets: 4..20.
    let got = sorted(latest(&peer.addr, 26).await);
    let expected: Vec<(i32, i64)> = (0..END)
        .filter(|o| o % 2 == 0)
        .map(|o| (0, o))
        .chain((4..END).map(|o| (1, o)))
        .collect();
    assert_eq!(got, expected);
    // More than there are: everything, once.
    let got = sorted(latest(&peer.addr, 100).await);
    assert_eq!(got.len(), 30);

    // One message of two partitions: the share is partition 0's, which holds none; partition
    // 1, whose first share was 0, gives it.
    let peer = start(Script::Empty0).await;
    assert_eq!(latest(&peer.addr, 1).await, [(1, END - 1)]);
    assert_eq!(
        sorted(latest(&peer.addr, 3).await),
        [(1, END - 3), (1, END - 2), (1, END - 1)]
    );
}

#[tokio::test]
async fn a_batch_larger_than_the_fetch_size_doubles_it_until_the_batch_fits() {
    let peer = start(Script::OneBigBatch).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    // A budget of 4 MiB over two partitions: each asks for the 1 MiB minimum at first.
    let options = FetchOptions {
        prefetch_bytes: 4 * 1024 * 1024,
        ..FetchOptions::default()
    };
    let mut reader = BoundedReader::new(client, TOPIC, whole(&[0, 1]), options);
    let [p0, p1] = read_all(&mut reader).await.unwrap();
    assert_eq!(p0, (0..END).collect::<Vec<_>>());
    assert_eq!(p1, (0..END).collect::<Vec<_>>());
    // 1 MiB and 2 MiB cut the 2.2 MB batch: the same offset again with twice the size, until
    // 4 MiB holds it.
    let fetches: Vec<(i64, i32)> = peer
        .fetches_of(0)
        .iter()
        .map(|s| (s.offset, s.max_bytes))
        .collect();
    const MIB: i32 = 1024 * 1024;
    assert_eq!(fetches, [(0, MIB), (0, 2 * MIB), (0, 4 * MIB)]);
    assert!(big_batch().len() > 2 * MIB as usize);
}
