//! KafkaDataSource against the real broker: the snapshot's semantics, message by message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig, KafkaDataSourceError};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_streaming_core::{
    AutoOffsetReset, BaseStreamingDataSource, RawMessage, StreamingDataSourceError,
    StreamingDataSourceExt,
};
use truthound_tests::{broker_address, unique_topic};

async fn client() -> KafkaClient {
    KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap()
}

/// A topic with `per_partition[p]` JSON messages in partition p: `{"p": p, "n": n}`.
async fn topic_with(per_partition: &[usize]) -> String {
    let client = client().await;
    let topic = unique_topic("source");
    client
        .create_topic(&topic, per_partition.len() as i32, 1)
        .await
        .unwrap();
    for (p, count) in per_partition.iter().enumerate() {
        let mut n = 0;
        while n < *count {
            let chunk = (*count - n).min(200);
            let batch = (n..n + chunk)
                .map(|i| {
                    ProduceRecord::new(Bytes::from(format!("{{\"p\":{p},\"n\":{i}}}")))
                        .with_key(Bytes::from(format!("k{i}")))
                })
                .collect();
            client
                .produce(&topic, p as i32, batch, ProduceOptions::default())
                .await
                .unwrap();
            n += chunk;
        }
    }
    topic
}

fn config(topic: &str) -> KafkaDataSourceConfig {
    KafkaDataSourceConfig::new(broker_address(), topic)
}

fn per_partition(msgs: &[RawMessage]) -> BTreeMap<i32, Vec<i64>> {
    let mut out: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for m in msgs {
        out.entry(m.partition).or_default().push(m.offset);
    }
    out
}

#[tokio::test]
async fn a_snapshot_is_exact_and_reproducible() {
    let topic = topic_with(&[300, 250, 10]).await;
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(100_000)).unwrap();
    source.connect().await.unwrap();
    let first = source.consume(100_000).await.unwrap();
    assert_eq!(first.len(), 560);
    let by_p = per_partition(&first);
    assert_eq!(by_p[&0], (0..300).collect::<Vec<_>>());
    assert_eq!(by_p[&1], (0..250).collect::<Vec<_>>());
    assert_eq!(by_p[&2], (0..10).collect::<Vec<_>>());
    // Messages produced after connect are outside the snapshot.
    client()
        .await
        .produce(
            &topic,
            0,
            vec![ProduceRecord::new(Bytes::from_static(b"{\"late\":1}"))],
            ProduceOptions::default(),
        )
        .await
        .unwrap();
    let second = source.consume(100_000).await.unwrap();
    let key = |m: &RawMessage| (m.partition, m.offset, m.value.clone());
    assert_eq!(
        first.iter().map(key).collect::<Vec<_>>(),
        second.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(source.count_messages().await.unwrap(), 560);
    source.close().await.unwrap();
}

#[tokio::test]
async fn max_messages_is_shared_fairly_across_partitions() {
    let topic = topic_with(&[400, 400, 400, 400, 400, 30]).await;
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(1000)).unwrap();
    let msgs = source.consume(1000).await.unwrap();
    assert_eq!(msgs.len(), 1000);
    let counts: Vec<usize> = per_partition(&msgs).values().map(Vec::len).collect();
    // 30 from the small partition; 970 shared by five: 194 each.
    assert_eq!(counts, vec![194, 194, 194, 194, 194, 30]);
    // Each partition's messages are its first ones (earliest), in order.
    for (_, offsets) in per_partition(&msgs) {
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn latest_takes_the_most_recent_messages() {
    let topic = topic_with(&[100, 50]).await;
    let mut source = KafkaDataSource::new(
        config(&topic)
            .with_max_messages(40)
            .with_auto_offset_reset(AutoOffsetReset::Latest),
    )
    .unwrap();
    let msgs = source.consume(40).await.unwrap();
    let by_p = per_partition(&msgs);
    assert_eq!(by_p[&0], (80..100).collect::<Vec<_>>());
    assert_eq!(by_p[&1], (30..50).collect::<Vec<_>>());
}

#[tokio::test]
async fn partition_and_offset_range() {
    let topic = topic_with(&[100, 100]).await;
    let mut source = KafkaDataSource::new(
        config(&topic)
            .with_partition(1)
            .with_start_offset(10)
            .with_end_offset(35),
    )
    .unwrap();
    let msgs = source.consume(10_000).await.unwrap();
    assert_eq!(
        per_partition(&msgs),
        BTreeMap::from([(1, (10..35).collect::<Vec<_>>())])
    );
    let info = source.topic_info().await.unwrap();
    assert_eq!((info.partitions, info.partition_count), (vec![0, 1], 2));
    let offsets = source.get_topic_offsets().await.unwrap();
    assert_eq!(offsets, BTreeMap::from([(0, (0, 100)), (1, (0, 100))]));
}

#[tokio::test]
async fn start_timestamp_finds_the_first_message_that_late() {
    let client = client().await;
    let topic = unique_topic("ts-source");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let batch = (0..20)
        .map(|i| {
            ProduceRecord::new(Bytes::from(format!("{{\"n\":{i}}}")))
                .with_timestamp(5_000 + i * 100)
        })
        .collect();
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();
    let mut source = KafkaDataSource::new(config(&topic).with_start_timestamp(5_950)).unwrap();
    let msgs = source.consume(100).await.unwrap();
    assert_eq!(
        msgs.iter().map(|m| m.offset).collect::<Vec<_>>(),
        (10..20).collect::<Vec<_>>()
    );
    assert_eq!(msgs[0].timestamp, Some(6_000));
}

#[tokio::test]
async fn commit_then_reread_starts_after_the_committed_position() {
    let topic = topic_with(&[60, 60]).await;
    let group = unique_topic("source-group");
    let cfg = config(&topic).with_group_id(&group).with_max_messages(50);
    let mut source = KafkaDataSource::new(cfg.clone()).unwrap();
    let first = source.consume(50).await.unwrap();
    assert_eq!(first.len(), 50);
    let committed = source.commit_offsets().await.unwrap();
    assert_eq!(committed, BTreeMap::from([(0, 25), (1, 25)]));
    assert_eq!(source.get_committed_offsets().await.unwrap(), committed);
    // A new source for the same group continues where the commit left off.
    let mut next = KafkaDataSource::new(cfg.with_max_messages(1000)).unwrap();
    let rest = next.consume(1000).await.unwrap();
    let by_p = per_partition(&rest);
    assert_eq!(by_p[&0], (25..60).collect::<Vec<_>>());
    assert_eq!(by_p[&1], (25..60).collect::<Vec<_>>());
}

#[tokio::test]
async fn commit_without_group_names_the_fix() {
    let topic = topic_with(&[1]).await;
    let mut source = KafkaDataSource::new(config(&topic)).unwrap();
    let err = source.commit_offsets().await.unwrap_err();
    assert!(err.to_string().contains("set group_id"), "{err}");
}

#[tokio::test]
async fn iter_messages_yields_batches_of_the_asked_size() {
    let topic = topic_with(&[130]).await;
    let mut source = KafkaDataSource::new(config(&topic)).unwrap();
    let mut stream = source.iter_messages(50, 120);
    let mut sizes = Vec::new();
    use futures::TryStreamExt;
    while let Some(batch) = stream.try_next().await.unwrap() {
        sizes.push(batch.len());
    }
    assert_eq!(sizes, vec![50, 50, 20]);
}

#[tokio::test]
async fn sample_reads_fewer_messages_from_the_same_snapshot() {
    let topic = topic_with(&[100, 100]).await;
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(10_000)).unwrap();
    source.connect().await.unwrap();
    let mut sampled = source.sample(10).unwrap();
    let msgs = sampled.consume(10).await.unwrap();
    assert_eq!(msgs.len(), 10);
    assert_eq!(
        per_partition(&msgs)
            .values()
            .map(Vec::len)
            .collect::<Vec<_>>(),
        vec![5, 5]
    );
}

#[tokio::test]
async fn unknown_topic_lists_existing_topics() {
    let existing = topic_with(&[1]).await;
    let mut source = KafkaDataSource::new(config(&unique_topic("nope"))).unwrap();
    let err = source.validate_connection().await.unwrap_err();
    match &err {
        KafkaDataSourceError::UnknownTopic { available, .. } => {
            assert!(available.contains(&existing), "{available:?}")
        }
        other => panic!("expected UnknownTopic, got {other:?}"),
    }
    assert!(
        err.to_string().contains("topics on the cluster include"),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_cluster_is_a_connection_error_with_the_servers() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut source = KafkaDataSource::new(KafkaDataSourceConfig::new(dead.clone(), "t")).unwrap();
    let err = source.connect().await.unwrap_err();
    match err {
        StreamingDataSourceError::Connection { servers, message } => {
            assert_eq!(servers, vec![dead.clone()]);
            assert!(message.contains(&dead), "{message}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_read_that_runs_out_of_time_says_how_far_it_got() {
    let topic = topic_with(&[2000]).await;
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(100_000)).unwrap();
    source.connect().await.unwrap();
    // Connected in time; the read itself has no time at all.
    source.set_consume_timeout(Duration::from_nanos(1));
    let err = source.read(100_000).await.unwrap();
    use futures::TryStreamExt;
    let err = err.try_collect::<Vec<_>>().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("consume_timeout"), "{msg}");
    assert!(msg.contains("partition 0 at offset"), "{msg}");
}

#[tokio::test]
async fn progress_reports_every_partition_done() {
    use std::sync::{Arc, Mutex};
    let topic = topic_with(&[50, 50, 0]).await;
    let seen: Arc<Mutex<Vec<truthound_kafka::ReadProgress>>> = Arc::default();
    let sink = seen.clone();
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(60))
        .unwrap()
        .with_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let msgs = source.consume(60).await.unwrap();
    assert_eq!(msgs.len(), 60);
    let last = seen
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("progress was reported");
    assert_eq!((last.messages, last.expected), (60, 60));
    assert_eq!((last.partitions_done, last.partitions), (3, 3));
    let value_bytes: usize = msgs
        .iter()
        .map(|m| m.value.as_ref().map_or(0, |v| v.len()))
        .sum();
    let key_bytes: usize = msgs
        .iter()
        .map(|m| m.key.as_ref().map_or(0, |k| k.len()))
        .sum();
    assert_eq!(last.bytes, value_bytes + key_bytes);
}

#[tokio::test]
async fn a_plan_share_reads_its_ranges_and_refuses_what_it_cannot_read_exactly() {
    use truthound_kafka::{OffsetRange, SnapshotPlan};
    let topic = topic_with(&[50, 30, 0]).await;
    let mut source = KafkaDataSource::new(config(&topic).with_max_messages(60)).unwrap();
    let plan = SnapshotPlan::capture(&mut source, 4).await.unwrap();
    // 60 messages shared fairly: 30 and 30; the empty partition has an empty range.
    assert_eq!(
        plan.partitions,
        [
            OffsetRange {
                partition: 0,
                start: 0,
                end: 30
            },
            OffsetRange {
                partition: 1,
                start: 0,
                end: 30
            },
            OffsetRange {
                partition: 2,
                start: 0,
                end: 0
            },
        ]
    );
    assert!(plan.topic_id.is_some(), "the test broker has topic ids");
    let mut union: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for k in 0..plan.shares.len() {
        let mut share = KafkaDataSource::new(plan.share_config(k).unwrap()).unwrap();
        let msgs = share.consume(usize::MAX).await.unwrap();
        assert_eq!(msgs.len(), 15, "share {k}");
        for (p, offsets) in per_partition(&msgs) {
            union.entry(p).or_default().extend(offsets);
        }
    }
    assert_eq!(
        union,
        BTreeMap::from([(0, (0..30).collect()), (1, (0..30).collect())])
    );

    let read = |config: KafkaDataSourceConfig| async move {
        KafkaDataSource::new(config)
            .unwrap()
            .consume(usize::MAX)
            .await
            .unwrap_err()
            .to_string()
    };
    let past_end = config(&topic).with_max_messages(usize::MAX).with_share(
        None,
        vec![OffsetRange {
            partition: 1,
            start: 10,
            end: 31,
        }],
    );
    let err = read(past_end).await;
    assert!(err.contains("to offset 31, past its end 30"), "{err}");
    let no_partition = config(&topic).with_max_messages(usize::MAX).with_share(
        None,
        vec![OffsetRange {
            partition: 7,
            start: 0,
            end: 1,
        }],
    );
    let err = read(no_partition).await;
    assert!(err.contains("which has no such partition"), "{err}");
    let other_topic = config(&topic).with_max_messages(usize::MAX).with_share(
        Some([7; 16]),
        vec![OffsetRange {
            partition: 0,
            start: 0,
            end: 1,
        }],
    );
    let err = read(other_topic).await;
    assert!(err.contains("its id changed"), "{err}");
    let err = config(&topic)
        .with_partition(0)
        .with_share(None, vec![])
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("partition set with a plan's share"), "{err}");
}
