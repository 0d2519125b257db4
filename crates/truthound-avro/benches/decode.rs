//! Avro datums already in memory -> visitor events: as written, read as a newer reader schema
//! (schema resolution: a promotion, a skipped field, two defaults), and into a visitor that
//! wants one field of eight (Avro cannot skip a value unread, so the decoder reports them all).
//!
//! Run: `cargo bench -p truthound-avro --bench decode`. `BENCH_MESSAGES` sets the number of
//! datums (default 200 000, about 60 bytes each).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use apache_avro::Schema;
use apache_avro::types::Value as Avro;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use truthound_avro::AvroDeserializer;
use truthound_streaming_core::{MessageDeserializer, ValueVisitor};

const WRITER: &str = r#"{"type": "record", "name": "Event", "fields": [
    {"name": "user_id", "type": "int"},
    {"name": "action", "type": "string"},
    {"name": "amount", "type": ["null", "double"]},
    {"name": "device", "type": {"type": "record", "name": "Device", "fields": [
        {"name": "os", "type": "string"}, {"name": "version", "type": "int"}]}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ok", "type": "boolean"},
    {"name": "legacy", "type": "string"}]}"#;

/// The next version: `user_id` widened, `legacy` dropped, two fields with defaults.
const READER: &str = r#"{"type": "record", "name": "Event", "fields": [
    {"name": "user_id", "type": "long"},
    {"name": "action", "type": "string"},
    {"name": "amount", "type": ["null", "double"]},
    {"name": "device", "type": {"type": "record", "name": "Device", "fields": [
        {"name": "os", "type": "string"}, {"name": "version", "type": "int"}]}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ok", "type": "boolean"},
    {"name": "country", "type": "string", "default": "unknown"},
    {"name": "score", "type": ["null", "double"], "default": null}]}"#;

fn datums(n: usize) -> Vec<Vec<u8>> {
    let schema = Schema::parse_str(WRITER).expect("the bench schema parses");
    (0..n)
        .map(|i| {
            let value = Avro::Record(vec![
                ("user_id".into(), Avro::Int(i as i32)),
                (
                    "action".into(),
                    Avro::String(["login", "view", "purchase"][i % 3].into()),
                ),
                (
                    "amount".into(),
                    if i % 4 == 0 {
                        Avro::Union(0, Box::new(Avro::Null))
                    } else {
                        Avro::Union(1, Box::new(Avro::Double(i as f64 / 8.0)))
                    },
                ),
                (
                    "device".into(),
                    Avro::Record(vec![
                        ("os".into(), Avro::String("linux".into())),
                        ("version".into(), Avro::Int((i % 7) as i32)),
                    ]),
                ),
                (
                    "tags".into(),
                    Avro::Array((0..i % 3).map(|t| Avro::String(format!("t{t}"))).collect()),
                ),
                (
                    "at".into(),
                    Avro::TimestampMillis(1_700_000_000_000 + i as i64),
                ),
                ("ok".into(), Avro::Boolean(i % 5 != 0)),
                ("legacy".into(), Avro::String("x".into())),
            ]);
            apache_avro::to_avro_datum(&schema, value).expect("the bench value encodes")
        })
        .collect()
}

/// Counts events, as a cheap stand-in for a column builder; with `only`, wants one field.
#[derive(Default)]
struct Count {
    events: u64,
    only: Option<&'static str>,
    last_key_wanted: bool,
}

impl ValueVisitor for Count {
    fn null(&mut self) {
        self.events += 1;
    }
    fn bool(&mut self, _: bool) {
        self.events += 1;
    }
    fn i64(&mut self, v: i64) {
        self.events += 1 + u64::from(v == 0);
    }
    fn u64(&mut self, _: u64) {
        self.events += 1;
    }
    fn f64(&mut self, _: f64) {
        self.events += 1;
    }
    fn str(&mut self, v: &str) {
        self.events += v.len() as u64;
    }
    fn bytes(&mut self, v: &[u8]) {
        self.events += v.len() as u64;
    }
    fn begin_object(&mut self, _: Option<usize>) {}
    fn key(&mut self, k: &str) {
        self.last_key_wanted = self.only.is_none_or(|only| only == k);
    }
    fn end_object(&mut self) {}
    fn begin_array(&mut self, _: Option<usize>) {}
    fn end_array(&mut self) {}
    fn skip_value(&mut self) -> bool {
        !self.last_key_wanted
    }
}

fn decode(c: &mut Criterion) {
    let n = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let datums = datums(n);
    let bytes: usize = datums.iter().map(Vec::len).sum();
    let as_written = AvroDeserializer::from_schema_json(WRITER).expect("the writer compiles");
    let resolved = AvroDeserializer::from_writer_and_reader_json(WRITER, READER)
        .expect("the reader reads the writer");
    let mut group = c.benchmark_group("avro_decode");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    let run = |deserializer: &AvroDeserializer, only: Option<&'static str>| {
        let mut count = Count {
            only,
            ..Count::default()
        };
        for datum in &datums {
            deserializer
                .deserialize_into(datum, &mut count)
                .expect("the bench datums decode");
        }
        black_box(count.events)
    };
    group.bench_function("as_written", |b| b.iter(|| run(&as_written, None)));
    group.bench_function("resolved", |b| b.iter(|| run(&resolved, None)));
    group.bench_function("projected_one_field", |b| {
        b.iter(|| run(&as_written, Some("user_id")))
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
