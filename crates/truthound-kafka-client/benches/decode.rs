//! Decode throughput of the record-batch codec per compression codec, against kafka-protocol's
//! `RecordBatchDecoder` on the same uncompressed bytes.
//!
//! Input: 100 000 records with ~200-byte JSON-ish values and short keys, in batches of 1 000.
//! Run with `cargo bench -p truthound-kafka-client --bench decode`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use truthound_kafka_client::records::{
    Compression, DecodeOptions, ProduceRecord, RecordBatchBuilder, decode_record_batches,
};

const RECORDS: usize = 100_000;
const BATCH: usize = 1_000;

/// A ~200-byte JSON object that varies from record to record, as real payloads do.
fn value(i: usize) -> String {
    format!(
        r#"{{"id":{i},"user":"user-{:05}","event":"{}","page":"/shop/category-{}/item-{:06}","amount":{}.{:02},"currency":"EUR","ts":"2024-05-{:02}T12:{:02}:{:02}Z","client":"web/4.2","tags":["a","b{}"],"ok":{}}}"#,
        i % 50_000,
        ["click", "view", "purchase", "refund"][i % 4],
        i % 13,
        (i * 7_919) % 1_000_000,
        i % 997,
        i % 100,
        1 + i % 28,
        i % 60,
        (i / 60) % 60,
        i % 7,
        i.is_multiple_of(3),
    )
}

/// The fetched `records` bytes: all batches back to back, and the total value bytes.
fn fetch(codec: Compression) -> (Bytes, u64) {
    let mut data = Vec::new();
    let mut value_bytes = 0u64;
    for start in (0..RECORDS).step_by(BATCH) {
        let records = (start..start + BATCH).map(|i| {
            let v = value(i);
            value_bytes += v.len() as u64;
            ProduceRecord::new(v)
                .with_key(format!("key-{}", i % 10_000))
                .with_timestamp(1_700_000_000_000 + i as i64)
        });
        let batch = RecordBatchBuilder::new(start as i64)
            .with_compression(codec)
            .with_records(records.collect::<Vec<_>>())
            .finish()
            .expect("encode");
        data.extend_from_slice(&batch);
    }
    (Bytes::from(data), value_bytes)
}

fn ours(data: &Bytes) -> usize {
    let mut out = Vec::new();
    let summary = decode_record_batches(data, &DecodeOptions::default(), &mut out).expect("decode");
    assert_eq!(summary.records, RECORDS);
    out.len()
}

fn kafka_protocol(data: &Bytes) -> usize {
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut data.clone())
        .expect("kafka-protocol decode");
    let n = sets.iter().map(|s| s.records.len()).sum();
    assert_eq!(n, RECORDS);
    n
}

fn bench(c: &mut Criterion) {
    let inputs: Vec<(Compression, Bytes, u64)> = Compression::ALL
        .into_iter()
        .map(|codec| {
            let (data, value_bytes) = fetch(codec);
            eprintln!(
                "{codec}: {RECORDS} records, {value_bytes} value bytes, {} bytes fetched",
                data.len()
            );
            (codec, data, value_bytes)
        })
        .collect();
    let (_, plain, value_bytes) = inputs[0].clone();

    let throughputs = [
        ("decode/records", Throughput::Elements(RECORDS as u64)),
        ("decode/value-bytes", Throughput::BytesDecimal(value_bytes)),
    ];
    for (name, throughput) in throughputs {
        let mut group = c.benchmark_group(name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(throughput);
        for (codec, data, _) in &inputs {
            group.bench_with_input(BenchmarkId::new("truthound", codec), data, |b, d| {
                b.iter(|| ours(d))
            });
        }
        group.bench_with_input(
            BenchmarkId::new("kafka-protocol", "none"),
            &plain,
            |b, d| b.iter(|| kafka_protocol(d)),
        );
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
