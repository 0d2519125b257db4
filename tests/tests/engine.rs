//! The snapshot engine against the real broker: many fetch rounds per partition (the broker
//! caps a response at a few MiB), fetch-ahead under a small budget, and snapshots that are the
//! same frame for frame on every run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use polars::prelude::*;
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_kafka_client::{
    BoundedReader, ClientConfig, Compression, FetchOptions, IsolationLevel, KafkaClient,
    PartitionRange, ProduceOptions, ProduceRecord,
};
use truthound_polars::PolarsSourceExt;
use truthound_tests::{broker_address, unique_topic};

async fn client() -> KafkaClient {
    KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap()
}

/// Produces `count` records to `partition`, `per_batch` at a time, value `value(i)`.
async fn fill(
    client: &KafkaClient,
    topic: &str,
    partition: i32,
    count: usize,
    per_batch: usize,
    compression: Compression,
    value: impl Fn(usize) -> String,
) {
    let mut n = 0;
    while n < count {
        let k = (count - n).min(per_batch);
        let batch = (n..n + k)
            .map(|i| {
                ProduceRecord::new(Bytes::from(value(i))).with_key(Bytes::from(format!("k{i}")))
            })
            .collect();
        client
            .produce(
                topic,
                partition,
                batch,
                ProduceOptions::compressed(compression),
            )
            .await
            .unwrap();
        n += k;
    }
}

#[tokio::test]
async fn tens_of_megabytes_are_read_in_many_rounds_exactly() {
    let client = client().await;
    let topic = unique_topic("rounds");
    client.create_topic(&topic, 2, 1).await.unwrap();
    // 2 partitions of 12,000 records of ~1.5 KB that compress badly: 36 MB, many times what
    // one fetch response holds (the broker caps a response at about 5 MiB).
    let value = |p: usize| {
        move |i: usize| {
            let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let pad: String = (0..750)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    format!("{:02x}", x as u8)
                })
                .collect();
            format!("{{\"p\":{p},\"i\":{i},\"pad\":\"{pad}\"}}")
        }
    };
    fill(&client, &topic, 0, 12_000, 500, Compression::None, value(0)).await;
    fill(&client, &topic, 1, 12_000, 500, Compression::Lz4, value(1)).await;
    let marks = client
        .watermarks(&topic, IsolationLevel::ReadUncommitted)
        .await
        .unwrap();
    assert_eq!(marks[&0], (0, 12_000));
    // A small budget: the fetchers wait for the consumer instead of fetching the topic.
    let options = FetchOptions {
        prefetch_bytes: 4 * 1024 * 1024,
        partition_max_bytes: 1024 * 1024,
        ..FetchOptions::default()
    };
    let ranges = [0, 1].map(|partition| PartitionRange {
        partition,
        start: 100,
        end: 11_900,
    });
    let mut reader = BoundedReader::new(client.clone(), &topic, ranges, options);
    let mut next = [100i64, 100];
    let mut position = [100i64, 100];
    let mut chunks = [0usize; 2];
    while let Some(chunk) = reader.next_chunk().await.unwrap() {
        let p = chunk.partition() as usize;
        // Each chunk starts where the one before it ended.
        assert_eq!(chunk.start(), position[p]);
        position[p] = chunk.position();
        for r in chunk.decode().unwrap() {
            assert_eq!(r.offset, next[p], "partition {p}");
            let text = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap();
            assert!(
                text.starts_with(&format!("{{\"p\":{p},\"i\":{},", r.offset)),
                "{text:.40}"
            );
            assert_eq!(text.len(), value(p)(r.offset as usize).len());
            next[p] += 1;
        }
        chunks[p] += 1;
        // Simulate slow decoding: the fetchers must wait within the budget meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert_eq!(next, [11_900, 11_900]);
    assert!(reader.is_done());
    assert!(
        chunks.iter().all(|c| *c >= 3),
        "17 MB per partition in fetches of at most a few MiB: {chunks:?}"
    );
}

/// A topic of three partitions with 70,000 messages each (more than one 64 Ki-message segment
/// per partition), whose types change between segments: integers then floats, a field that
/// appears late, a struct that gains a field.
async fn varied_topic() -> String {
    let client = client().await;
    let topic = unique_topic("determinism");
    client.create_topic(&topic, 3, 1).await.unwrap();
    for p in 0..3 {
        fill(
            &client,
            &topic,
            p,
            70_000,
            5_000,
            Compression::Lz4,
            move |i| match i {
                0..66_000 => format!(r#"{{"n":{i},"d":{{"a":{p}}},"s":"v{}"}}"#, i % 97),
                _ => format!(r#"{{"n":{i}.5,"d":{{"a":{p},"b":[true]}},"s":null,"late":{i}}}"#),
            },
        )
        .await;
    }
    topic
}

async fn snapshot(topic: &str) -> DataFrame {
    let config = KafkaDataSourceConfig::new(broker_address(), topic)
        .with_max_messages(1_000_000)
        .with_include_metadata(true);
    let mut source = KafkaDataSource::new(config).unwrap();
    let snapshot = source.to_polars_dataframe().await.unwrap();
    assert!(snapshot.report.skipped.is_empty());
    snapshot.frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_snapshots_of_a_topic_are_equal_frame_for_frame() {
    let topic = varied_topic().await;
    let first = snapshot(&topic).await;
    let second = snapshot(&topic).await;
    assert_eq!(first.height(), 210_000);
    assert_eq!(first.schema(), second.schema());
    assert!(first.equals_missing(&second));
    // Rows by partition, then offset.
    let keys = first
        .clone()
        .lazy()
        .select([col("_kafka_partition"), col("_kafka_offset")])
        .collect()
        .unwrap();
    let partitions: Vec<i32> = keys
        .column("_kafka_partition")
        .unwrap()
        .i32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let offsets: Vec<i64> = keys
        .column("_kafka_offset")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let expected: Vec<(i32, i64)> = (0..3)
        .flat_map(|p| (0..70_000).map(move |o| (p, o)))
        .collect();
    let got: Vec<(i32, i64)> = partitions.into_iter().zip(offsets).collect();
    assert!(
        got == expected,
        "rows are not ordered by partition, then offset"
    );
    // The types one builder would have inferred over the whole snapshot.
    assert_eq!(first.column("n").unwrap().dtype(), &DataType::Float64);
    assert_eq!(first.column("late").unwrap().null_count(), 3 * 66_000);
    let d = first.column("d").unwrap();
    let DataType::Struct(fields) = d.dtype() else {
        panic!("d is {:?}", d.dtype())
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}
