//! Interop with librdkafka (>= 2.2) through the `confluent-kafka` Python package: what it
//! produces we read back exactly, and what we produce it reads back exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use truthound_kafka_client::{
    ClientConfig, Compression, FetchOptions, IsolationLevel, KafkaClient, ProduceOptions,
    ProduceRecord, RecordHeader,
};
use truthound_tests::{broker_address, codecs_on_the_wire, python, unique_topic};

const COUNT: usize = 600;
const PARTITIONS: i32 = 3;

/// The same records as `reference(i)` in tests/interop/peer.py.
fn reference_record(i: usize) -> ProduceRecord {
    let key = (!i.is_multiple_of(5)).then(|| Bytes::from(format!("key-{i}")));
    let value = (i % 7 != 3).then(|| {
        Bytes::from(format!(
            "{{\"i\": {i}, \"pad\": \"{}\"}}",
            "x".repeat(i % 50)
        ))
    });
    let headers = if i.is_multiple_of(3) {
        vec![
            RecordHeader::new(Bytes::from_static(b"h"), Some(Bytes::from(format!("v{i}")))),
            RecordHeader::new(Bytes::from_static(b"n"), None),
        ]
    } else {
        vec![]
    };
    ProduceRecord {
        key,
        value,
        headers,
        timestamp: Some(1_700_000_000_000 + i as i64),
    }
}

fn peer() -> Command {
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "interop", "peer.py"]
        .iter()
        .collect();
    let mut c = Command::new(python());
    c.arg(script);
    c
}

fn run(mut c: Command) -> String {
    let out = c.output().expect("run the interop peer");
    assert!(
        out.status.success(),
        "interop peer failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn librdkafka_is_recent_enough() {
    let mut c = peer();
    c.arg("version");
    let v = run(c);
    let parts: Vec<u32> = v
        .trim()
        .split('.')
        .take(2)
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        parts[0] > 2 || (parts[0] == 2 && parts[1] >= 2),
        "librdkafka {v} is older than 2.2"
    );
}

#[tokio::test]
async fn records_librdkafka_produced_read_back_exactly() {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = unique_topic(&format!("from-rdkafka-{codec}"));
        client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
        let mut c = peer();
        c.args([
            "produce",
            &broker_address(),
            &topic,
            codec,
            &COUNT.to_string(),
            &PARTITIONS.to_string(),
        ]);
        run(c);
        let marks = client
            .watermarks(&topic, IsolationLevel::ReadUncommitted)
            .await
            .unwrap();
        let mut seen = 0;
        for (partition, (start, end)) in marks {
            let records = client
                .read_range(&topic, partition, start, end, FetchOptions::default())
                .await
                .unwrap();
            // Records of one partition keep their order: i = partition, partition + 3, ...
            for (n, r) in records.iter().enumerate() {
                let i = partition as usize + n * PARTITIONS as usize;
                let want = reference_record(i);
                assert_eq!(r.key, want.key, "{codec}: key of record {i}");
                assert_eq!(r.value, want.value, "{codec}: value of record {i}");
                assert_eq!(r.headers, want.headers, "{codec}: headers of record {i}");
                assert_eq!(
                    Some(r.timestamp),
                    want.timestamp,
                    "{codec}: timestamp of record {i}"
                );
            }
            seen += records.len();
            // librdkafka compressed what it sent with that codec: every batch on the wire says so.
            let codecs = codecs_on_the_wire(&client, &topic, partition, end).await;
            assert!(!codecs.is_empty(), "{codec}: batches of {partition}");
            let want: Compression = codec.parse().unwrap();
            assert!(
                codecs.iter().all(|c| *c == want),
                "{codec}: batches of {partition} were {codecs:?}"
            );
        }
        assert_eq!(seen, COUNT, "{codec}: all records read back");
    }
}

#[tokio::test]
async fn records_we_produce_read_back_exactly_in_librdkafka() {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    for codec in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let topic = unique_topic(&format!("to-rdkafka-{codec}"));
        client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
        let mut by_partition: BTreeMap<i32, Vec<(usize, ProduceRecord)>> = BTreeMap::new();
        for i in 0..COUNT {
            by_partition
                .entry(i as i32 % PARTITIONS)
                .or_default()
                .push((i, reference_record(i)));
        }
        for (p, records) in &by_partition {
            for chunk in records.chunks(100) {
                client
                    .produce(
                        &topic,
                        *p,
                        chunk.iter().map(|(_, r)| r.clone()).collect(),
                        ProduceOptions::compressed(codec),
                    )
                    .await
                    .unwrap();
            }
        }
        for (p, records) in &by_partition {
            let codecs = codecs_on_the_wire(&client, &topic, *p, records.len() as i64).await;
            assert_eq!(
                codecs,
                vec![codec; records.len().div_ceil(100)],
                "{codec}: batches of {p}"
            );
        }
        let mut c = peer();
        c.args(["consume", &broker_address(), &topic, &COUNT.to_string()]);
        let out = run(c);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), COUNT, "{codec}: librdkafka saw every record");
        for line in lines {
            let got = parse_line(line);
            let i = by_partition[&got.partition][got.offset as usize].0;
            let want = reference_record(i);
            let hex = |b: &Option<Bytes>| b.as_ref().map(|b| to_hex(b));
            assert_eq!(got.key, hex(&want.key), "{codec}: key of record {i}");
            assert_eq!(got.value, hex(&want.value), "{codec}: value of record {i}");
            let want_headers: Vec<(String, Option<String>)> = want
                .headers
                .iter()
                .map(|h| (String::from_utf8(h.key.to_vec()).unwrap(), hex(&h.value)))
                .collect();
            assert_eq!(got.headers, want_headers, "{codec}: headers of record {i}");
            assert_eq!(
                Some(got.timestamp),
                want.timestamp,
                "{codec}: timestamp of record {i}"
            );
        }
    }
}

struct PeerRecord {
    partition: i32,
    offset: i64,
    key: Option<String>,
    value: Option<String>,
    headers: Vec<(String, Option<String>)>,
    timestamp: i64,
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses one of the JSON lines `peer.py consume` prints.
fn parse_line(line: &str) -> PeerRecord {
    let v: serde_json::Value = serde_json::from_str(line).expect("peer line is JSON");
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    PeerRecord {
        partition: v["partition"].as_i64().unwrap() as i32,
        offset: v["offset"].as_i64().unwrap(),
        key: s("key"),
        value: s("value"),
        headers: v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_owned(),
                    h[1].as_str().map(str::to_owned),
                )
            })
            .collect(),
        timestamp: v["timestamp"].as_i64().unwrap(),
    }
}
