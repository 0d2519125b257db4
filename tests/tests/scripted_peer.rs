//! Failures no real broker shows on demand, from a scripted peer that speaks just enough of the
//! protocol: a connection cut in the middle of a Fetch response, and a corrupt record batch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchResponse, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use truthound_kafka_client::{
    BoundedReader, ClientConfig, Error, FetchOptions, KafkaClient, PartitionRange, ProduceRecord,
    RecordsError, records::RecordBatchBuilder,
};
use truthound_tests::peer::{api_versions, frame, read_request, start_response};

const TOPIC: &str = "scripted";

#[derive(Clone, Copy)]
enum Script {
    /// Cut the first `n` Fetch responses halfway, then answer normally.
    CutFetches(usize),
    /// Answer every Fetch with a batch whose CRC does not match.
    CorruptBatch,
    /// Never answer the first Fetch (the connection stays open), then answer normally.
    SilentFirstFetch,
    /// The topic is deleted and created again under the same name after the first Metadata:
    /// later Metadata responses carry another topic id, and the first Fetch answers
    /// UNKNOWN_TOPIC_OR_PARTITION, as a broker does while the topic is gone.
    RecreatedTopic,
    /// Answer every Fetch with a body whose topic array claims 2^32 - 2 elements in a few
    /// bytes, as a hostile or broken peer might.
    HostileArrayLength,
}

struct Peer {
    addr: String,
    fetches: Arc<AtomicUsize>,
}

/// The scripted topic's id: `generation` 0 before it is re-created, 1 after.
fn topic_id(generation: u8) -> uuid::Uuid {
    uuid::Uuid::from_bytes([generation + 1; 16])
}

fn batch() -> Bytes {
    let records = (0..20).map(|i| ProduceRecord::new(Bytes::from(format!("value-{i}"))));
    RecordBatchBuilder::new(0)
        .with_records(records)
        .finish()
        .unwrap()
}

async fn start(script: Script) -> Peer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let metadata_calls = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve(
                socket,
                addr.port(),
                script,
                counter.clone(),
                metadata_calls.clone(),
            ));
        }
    });
    Peer {
        addr: addr.to_string(),
        fetches,
    }
}

async fn serve(
    mut socket: TcpStream,
    port: u16,
    script: Script,
    fetches: Arc<AtomicUsize>,
    metadata_calls: Arc<AtomicUsize>,
) {
    while let Some((header, key, _)) = read_request(&mut socket).await {
        let version = header.request_api_version;
        let mut body = start_response(&header, key);
        let mut cut = false;
        match key {
            ApiKey::ApiVersions => api_versions(&[
                (ApiKey::ApiVersions, 0, 3),
                (ApiKey::Metadata, 1, 12),
                (ApiKey::Fetch, 4, 12),
            ])
            .encode(&mut body, version)
            .unwrap(),
            ApiKey::Metadata => {
                let generation = u8::from(
                    matches!(script, Script::RecreatedTopic)
                        && metadata_calls.fetch_add(1, Ordering::SeqCst) > 0,
                );
                MetadataResponse::default()
                    .with_brokers(vec![
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_static_str("127.0.0.1"))
                            .with_port(port as i32),
                    ])
                    .with_controller_id(BrokerId(1))
                    .with_topics(vec![
                        MetadataResponseTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_static_str(TOPIC))))
                            .with_topic_id(topic_id(generation))
                            .with_partitions(vec![
                                MetadataResponsePartition::default()
                                    .with_partition_index(0)
                                    .with_leader_id(BrokerId(1)),
                            ]),
                    ])
                    .encode(&mut body, version)
                    .unwrap();
            }
            ApiKey::Fetch if matches!(script, Script::HostileArrayLength) => {
                fetches.fetch_add(1, Ordering::SeqCst);
                assert_eq!(version, 12, "the peer offers Fetch up to v12 (flexible)");
                // throttle_time_ms, error_code, session_id, then the compact `responses`
                // array's length: the unsigned varint 2^32 - 1, that is 2^32 - 2 elements.
                body.extend_from_slice(&[0; 10]);
                body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
                body.extend_from_slice(&[0; 3]);
            }
            ApiKey::Fetch => {
                let n = fetches.fetch_add(1, Ordering::SeqCst);
                let mut records = BytesMut::from(&batch()[..]);
                let mut error_code = 0;
                match script {
                    Script::RecreatedTopic => {
                        if n == 0 {
                            error_code = 3; // UNKNOWN_TOPIC_OR_PARTITION
                        }
                    }
                    Script::CutFetches(k) => cut = n < k,
                    Script::SilentFirstFetch if n == 0 => {
                        // Keep the socket open and say nothing.
                        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                    }
                    Script::SilentFirstFetch => {}
                    Script::HostileArrayLength => unreachable!("answered above"),
                    Script::CorruptBatch => {
                        let last = records.len() - 1;
                        records[last] ^= 0xff;
                    }
                }
                FetchResponse::default()
                    .with_responses(vec![
                        FetchableTopicResponse::default()
                            .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
                            .with_partitions(vec![
                                PartitionData::default()
                                    .with_partition_index(0)
                                    .with_error_code(error_code)
                                    .with_high_watermark(20)
                                    .with_last_stable_offset(20)
                                    .with_records(Some(records.freeze())),
                            ]),
                    ])
                    .encode(&mut body, version)
                    .unwrap();
            }
            other => panic!("the scripted peer does not answer {other:?}"),
        }
        let out = frame(&body);
        if cut {
            let _ = socket.write_all(&out[..out.len() / 2]).await;
            return; // drop the socket in the middle of the response
        }
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_response_cut_midway_is_retried_on_a_new_connection() {
    let peer = start(Script::CutFetches(2)).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    let records = client
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(records[19].value.as_deref(), Some(&b"value-19"[..]));
    assert_eq!(
        peer.fetches.load(Ordering::SeqCst),
        3,
        "two cut responses, then one whole"
    );
}

#[tokio::test]
async fn a_connection_that_keeps_failing_gives_up_at_the_deadline_with_the_cause() {
    let peer = start(Script::CutFetches(usize::MAX)).await;
    let client = KafkaClient::connect(
        ClientConfig::new([peer.addr.clone()]).with_retry_timeout(Duration::from_secs(1)),
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    let msg = err.to_string();
    // Retried with backoff (50, 100, 200, 400 ms...) until the second is over, not beyond.
    assert!(
        matches!(err, Error::RetriesExhausted { attempts, .. } if attempts >= 4),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    // The same read with a deadline of its own ends by that deadline instead.
    let started = std::time::Instant::now();
    let err = client
        .with_deadline(started + Duration::from_millis(300))
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RetriesExhausted { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(600));
    assert!(msg.contains("in the middle of a response"), "{msg}");
    assert!(msg.contains(&peer.addr), "{msg}");
}

#[tokio::test]
async fn a_corrupt_batch_is_an_error_naming_where() {
    let peer = start(Script::CorruptBatch).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    let err = client
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap_err();
    match &err {
        Error::Records {
            topic,
            partition,
            offset,
            source,
        } => {
            assert_eq!((topic.as_str(), *partition, *offset), (TOPIC, 0, 0));
            assert!(
                matches!(source, RecordsError::CrcMismatch { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected a records error, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with("scripted/0 at offset 0"),
        "{err}"
    );
}

#[tokio::test]
async fn a_broker_that_stops_answering_is_left_for_a_new_connection() {
    let peer = start(Script::SilentFirstFetch).await;
    let config = ClientConfig::new([peer.addr.clone()])
        .with_request_timeout(std::time::Duration::from_millis(300));
    let client = KafkaClient::connect(config).await.unwrap();
    let records = client
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(records.len(), 20);
    assert_eq!(
        peer.fetches.load(Ordering::SeqCst),
        2,
        "one unanswered, one answered"
    );
}

#[tokio::test]
async fn a_topic_deleted_and_created_again_during_a_read_stops_it() {
    let peer = start(Script::RecreatedTopic).await;
    let client = KafkaClient::connect(ClientConfig::new([peer.addr.clone()]))
        .await
        .unwrap();
    let meta = client.topic(TOPIC).await.unwrap();
    assert_eq!(meta.topic_id, *topic_id(0).as_bytes());
    // The ranges were captured for the topic as it was; the broker then lost it (the first
    // Fetch), and the metadata looked up again names a topic of the same name with another id.
    let mut reader = BoundedReader::new(
        client,
        TOPIC,
        [PartitionRange {
            partition: 0,
            start: 0,
            end: 20,
        }],
        FetchOptions::default(),
    )
    .with_topic_id(meta.topic_id);
    let err = reader.next_batch().await.unwrap_err();
    match &err {
        Error::TopicRecreated { topic, was, now } => {
            assert_eq!(topic, TOPIC);
            assert_eq!(was, &topic_id(0).to_string());
            assert_eq!(now, &topic_id(1).to_string());
        }
        other => panic!("expected TopicRecreated, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("topic \"scripted\" was deleted and created again during the read"),
        "{err}"
    );
}

#[tokio::test]
async fn a_response_claiming_billions_of_elements_is_an_error_not_an_abort() {
    let peer = start(Script::HostileArrayLength).await;
    let config = ClientConfig::new([peer.addr.clone()]).with_retry_timeout(Duration::from_secs(1));
    let client = KafkaClient::connect(config).await.unwrap();
    let err = client
        .read_range(TOPIC, 0, 0, 20, FetchOptions::default())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(
            "cannot decode Fetch v12 response: field responses at byte 10 claims a length of \
             4294967294, but only 3 bytes are left"
        ),
        "{msg}"
    );
    assert!(peer.fetches.load(Ordering::SeqCst) >= 1);
}
