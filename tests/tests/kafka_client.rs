//! The wire client against the real test broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use truthound_kafka_client::{
    ClientConfig, Compression, Error, FetchOptions, IsolationLevel, KafkaClient, OffsetSpec,
    PartitionRange, ProduceOptions, ProduceRecord, Record,
};
use truthound_tests::{broker_address, codecs_on_the_wire, unique_topic};

async fn client() -> KafkaClient {
    KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .expect("connect to the test broker")
}

fn record(i: usize) -> ProduceRecord {
    let mut r = ProduceRecord::new(Bytes::from(format!("{{\"i\":{i}}}")))
        .with_timestamp(1_700_000_000_000 + i as i64);
    if !i.is_multiple_of(4) {
        r = r.with_key(Bytes::from(format!("k{i}")));
    }
    if i % 6 == 5 {
        r.value = None;
    }
    if i.is_multiple_of(3) {
        r = r
            .with_header(
                Bytes::from_static(b"trace"),
                Some(Bytes::from(format!("t{i}"))),
            )
            .with_header(Bytes::from_static(b"empty"), None);
    }
    r
}

fn assert_same(got: &Record, want: &ProduceRecord) {
    assert_eq!(got.key, want.key, "key at offset {}", got.offset);
    assert_eq!(got.value, want.value, "value at offset {}", got.offset);
    assert_eq!(
        got.headers, want.headers,
        "headers at offset {}",
        got.offset
    );
    assert_eq!(
        Some(got.timestamp),
        want.timestamp,
        "timestamp at offset {}",
        got.offset
    );
}

#[tokio::test]
async fn every_codec_round_trips_across_partitions() {
    let client = client().await;
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let topic = unique_topic(&format!("codec-{codec}"));
        client.create_topic(&topic, 3, 1).await.unwrap();
        let mut sent: BTreeMap<i32, Vec<ProduceRecord>> = BTreeMap::new();
        for partition in 0..3 {
            // Two batches per partition, so reads cross batch boundaries.
            for chunk in 0..2 {
                let batch: Vec<ProduceRecord> = (0..50)
                    .map(|i| record(partition as usize * 1000 + chunk * 50 + i))
                    .collect();
                let base = client
                    .produce(
                        &topic,
                        partition,
                        batch.clone(),
                        ProduceOptions::compressed(codec),
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    base,
                    chunk as i64 * 50,
                    "{codec}: base offset of batch {chunk}"
                );
                sent.entry(partition).or_default().extend(batch);
            }
        }
        let marks = client
            .watermarks(&topic, IsolationLevel::ReadUncommitted)
            .await
            .unwrap();
        assert_eq!(marks.len(), 3);
        for (partition, want) in &sent {
            assert_eq!(
                marks[partition],
                (0, 100),
                "{codec}: watermarks of {partition}"
            );
            let got = client
                .read_range(&topic, *partition, 0, 100, FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(
                got.len(),
                want.len(),
                "{codec}: records of partition {partition}"
            );
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!(g.offset, i as i64);
                assert_same(g, w);
            }
            // The broker stored two batches, each compressed with the codec asked for.
            let codecs = codecs_on_the_wire(&client, &topic, *partition, 100).await;
            assert_eq!(codecs, [codec, codec], "{codec}: batches of {partition}");
        }
        client.delete_topic(&topic).await.unwrap();
    }
}

#[tokio::test]
async fn bounded_ranges_start_and_end_inside_batches() {
    let client = client().await;
    let topic = unique_topic("ranges");
    client.create_topic(&topic, 2, 1).await.unwrap();
    for _ in 0..4 {
        let batch: Vec<ProduceRecord> = (0..25).map(record).collect();
        client
            .produce(&topic, 0, batch, ProduceOptions::default())
            .await
            .unwrap();
    }
    for (start, end) in [(0, 100), (3, 7), (24, 26), (10, 90), (99, 100), (50, 50)] {
        let got = client
            .read_range(&topic, 0, start, end, FetchOptions::default())
            .await
            .unwrap();
        let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
        assert_eq!(
            offsets,
            (start..end).collect::<Vec<_>>(),
            "range {start}..{end}"
        );
    }
    // Several partitions in one reader: partition 1 is empty and done from the start.
    let mut reader = truthound_kafka_client::BoundedReader::new(
        client.clone(),
        &topic,
        [
            PartitionRange {
                partition: 0,
                start: 5,
                end: 60,
            },
            PartitionRange {
                partition: 1,
                start: 0,
                end: 0,
            },
        ],
        FetchOptions::default(),
    );
    let mut n = 0;
    while let Some(batch) = reader.next_batch().await.unwrap() {
        for p in batch {
            assert_eq!(p.partition, 0);
            n += p.records.len();
        }
    }
    assert_eq!(n, 55);
    assert!(reader.is_done());
}

#[tokio::test]
async fn timestamp_lookup_finds_first_record_at_or_after() {
    let client = client().await;
    let topic = unique_topic("timestamps");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let batch: Vec<ProduceRecord> = (0..10)
        .map(|i| {
            ProduceRecord::new(Bytes::from(format!("v{i}"))).with_timestamp(1_000_000 + i * 1000)
        })
        .collect();
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();
    let at = |ts| OffsetSpec::Timestamp(ts);
    for (ts, want) in [
        (0, 0),
        (1_000_000, 0),
        (1_004_500, 5),
        (1_009_000, 9),
        (1_009_001, -1),
    ] {
        let got = client
            .list_offsets(&topic, &[(0, at(ts))], IsolationLevel::ReadUncommitted)
            .await
            .unwrap();
        assert_eq!(got[&0], want, "timestamp {ts}");
    }
    let ends = client
        .list_offsets(
            &topic,
            &[(0, OffsetSpec::Earliest)],
            IsolationLevel::ReadCommitted,
        )
        .await
        .unwrap();
    assert_eq!(ends[&0], 0);
}

#[tokio::test]
async fn group_offsets_commit_and_fetch_without_joining() {
    let client = client().await;
    let topic = unique_topic("commit");
    let group = unique_topic("group");
    client.create_topic(&topic, 2, 1).await.unwrap();
    let before = client
        .committed_offsets(&group, &topic, &[0, 1])
        .await
        .unwrap();
    assert_eq!(before, BTreeMap::from([(0, None), (1, None)]));
    client
        .commit_offsets(&group, &topic, &[(0, 17), (1, 4)])
        .await
        .unwrap();
    let after = client
        .committed_offsets(&group, &topic, &[0, 1])
        .await
        .unwrap();
    assert_eq!(after, BTreeMap::from([(0, Some(17)), (1, Some(4))]));
    client
        .commit_offsets(&group, &topic, &[(1, 9)])
        .await
        .unwrap();
    let again = client
        .committed_offsets(&group, &topic, &[0, 1])
        .await
        .unwrap();
    assert_eq!(again, BTreeMap::from([(0, Some(17)), (1, Some(9))]));
}

#[tokio::test]
async fn unknown_topic_is_a_clear_error_and_is_not_created() {
    let client = client().await;
    let topic = unique_topic("missing");
    let err = client.topic(&topic).await.unwrap_err();
    assert!(matches!(err, Error::UnknownTopic { .. }), "{err:?}");
    assert!(err.to_string().contains(&topic), "{err}");
    let err = client
        .list_offsets(
            &topic,
            &[(0, OffsetSpec::Latest)],
            IsolationLevel::ReadUncommitted,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownTopic { .. }), "{err:?}");
    assert!(
        !client.list_topics().await.unwrap().contains(&topic),
        "asking created the topic"
    );
}

#[tokio::test]
async fn unknown_partition_names_the_partition_count() {
    let client = client().await;
    let topic = unique_topic("partitions");
    client.create_topic(&topic, 2, 1).await.unwrap();
    let err = client
        .read_range(&topic, 5, 0, 1, FetchOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("topic {topic:?} has no partition 5 (it has 2)")
    );
}

#[tokio::test]
async fn unreachable_brokers_are_all_named() {
    // Ports from bound-then-dropped listeners refuse connections.
    let dead: Vec<String> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        })
        .collect();
    let err = KafkaClient::connect(ClientConfig::new(dead.clone()))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::NoBrokerReachable { ref tried } if tried.len() == 2),
        "{err:?}"
    );
    for addr in &dead {
        assert!(msg.contains(addr.as_str()), "{msg} names {addr}");
    }
    // The first that answers wins.
    let mut list = dead.clone();
    list.push(broker_address());
    let ok = KafkaClient::connect(ClientConfig::new(list)).await;
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[tokio::test]
async fn a_range_read_stops_at_its_end_and_one_past_the_end_fails_naming_it() {
    let client = client().await;
    let topic = unique_topic("end");
    client.create_topic(&topic, 1, 1).await.unwrap();
    client
        .produce(
            &topic,
            0,
            (0..5).map(record).collect(),
            ProduceOptions::default(),
        )
        .await
        .unwrap();
    // Ranges are captured from the watermarks, so a read never waits for data.
    let (_, end) = client
        .watermarks(&topic, IsolationLevel::ReadUncommitted)
        .await
        .unwrap()[&0];
    let t = std::time::Instant::now();
    let got = client
        .read_range(&topic, 0, 0, end, FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(got.len(), 5);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    // A range that ends beyond what the broker holds (an end from another cluster, or a log
    // truncated since) makes no progress at the broker's end: a clear error, not a hang.
    let err = client
        .read_range(&topic, 0, 0, end + 3, FetchOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "unexpected response from the broker: {topic}: no progress after 9 fetches: \
             partition 0 at offset 5 of 0..8 (the broker now ends it at 5: the log was \
             truncated, or the end offset did not come from this cluster)"
        )
    );
}
