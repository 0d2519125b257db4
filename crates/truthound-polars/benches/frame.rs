//! Records already in memory -> DataFrame: `MessageFrameBuilder` next to Polars' own NDJSON
//! reader over the same values joined by newlines.
//!
//! Run: `POLARS_MAX_THREADS=1 cargo bench -p truthound-polars --bench frame` for a one-thread
//! comparison (`MessageFrameBuilder` is single-threaded); without the variable Polars uses every
//! core, as does the `build_parallel` entry.
//! `BENCH_MESSAGES` sets the number of records (default 1 000 000, about 200 bytes each).
//! `BENCH_WORKLOAD` picks their shape: `events` (default: the demo's events, a nested struct and
//! a list), `wide` (60 fields in turn an int, a float, a string and a bool, about 900 bytes) or
//! `small` (an int, a float and a bool, about 40 bytes), the shapes of `cargo xtask bench peers`.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polars::prelude::{JsonFormat, JsonReader, SerReader};
use truthound_json::JSONDeserializer;
use truthound_polars::MessageFrameBuilder;
use truthound_streaming_core::{
    MessageDeserializer, RawMessage, StreamingDataSourceConfig, ValueVisitor,
};

/// A demo-like event stream: the payloads (one buffer, like a fetch) and their records.
struct Events {
    ndjson: Vec<u8>,
    messages: Vec<RawMessage>,
    payload_bytes: usize,
}

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// The shape of the generated values (`BENCH_WORKLOAD`).
#[derive(Clone, Copy)]
enum Workload {
    Events,
    Wide,
    Small,
}

impl Workload {
    fn from_env() -> Self {
        match std::env::var("BENCH_WORKLOAD").as_deref() {
            Err(_) | Ok("events") => Self::Events,
            Ok("wide") => Self::Wide,
            Ok("small") => Self::Small,
            Ok(other) => panic!("BENCH_WORKLOAD={other:?}: expected events, wide or small"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Wide => "wide",
            Self::Small => "small",
        }
    }
}

/// One `wide` value: 60 fields `f00`..`f59`, in turn an int, a float, a string and a bool.
fn push_wide(text: &mut String, rng: &mut Rng) {
    use std::fmt::Write;
    const WORDS: &[&str] = &["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    text.push('{');
    for field in 0..60 {
        if field > 0 {
            text.push(',');
        }
        let _ = write!(text, r#""f{field:02}":"#);
        let _ = match field % 4 {
            0 => write!(text, "{}", rng.next() % 10_000_000),
            1 => write!(text, "{:.3}", (rng.next() % 100_000_000) as f64 / 1000.0),
            2 => write!(text, r#""{}-{}""#, rng.pick(WORDS), rng.next() % 1000),
            _ => write!(text, "{}", rng.next() % 2 == 1),
        };
    }
    text.push('}');
}

/// One `small` value: an int, a float and a bool.
fn push_small(text: &mut String, rng: &mut Rng, i: usize) {
    use std::fmt::Write;
    let value = (rng.next() % 1_000_000) as f64 / 10_000.0;
    let flag = rng.next() % 2 == 1;
    let _ = write!(text, r#"{{"id":{i},"value":{value:.4},"flag":{flag}}}"#);
}

/// One `events` value: the demo's event, with a nested `device` struct and a `tags` list.
fn push_event(text: &mut String, rng: &mut Rng, i: usize) {
    const ACTIONS: &[&str] = &["login", "logout", "purchase", "view", "add_to_cart"];
    const COUNTRIES: &[&str] = &["US", "DE", "KR", "JP", "FR", "BR", "IN"];
    const OS: &[&str] = &["ios", "android", "windows", "macos", "linux"];
    const TAGS: &[&str] = &["new", "returning", "mobile", "promo", "vip", "beta"];
    let secs = 1_704_067_200 + i as u64;
    let (day, rem) = (secs / 86_400 - 19_723, secs % 86_400);
    let tags: Vec<String> = (0..1 + rng.next() % 3)
        .map(|_| format!("\"{}\"", rng.pick(TAGS)))
        .collect();
    text.push_str(&format!(
        r#"{{"user_id": {}, "action": "{}", "timestamp": "2024-01-{:02}T{:02}:{:02}:{:02}Z", "amount": {}.{:02}, "country": "{}", "device": {{"os": "{}", "version": "{}.{}"}}, "tags": [{}]}}"#,
        rng.next() % 1_000_000,
        rng.pick(ACTIONS),
        1 + day % 28,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        rng.next() % 10_000,
        rng.next() % 100,
        rng.pick(COUNTRIES),
        rng.pick(OS),
        10 + rng.next() % 8,
        rng.next() % 10,
        tags.join(", "),
    ));
}

fn events(n: usize, workload: Workload) -> Events {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut text = String::with_capacity(n * 210);
    let mut ranges = Vec::with_capacity(n);
    for i in 0..n {
        let start = text.len();
        match workload {
            Workload::Events => push_event(&mut text, &mut rng, i),
            Workload::Wide => push_wide(&mut text, &mut rng),
            Workload::Small => push_small(&mut text, &mut rng, i),
        }
        ranges.push(start..text.len());
        text.push('\n');
    }
    let ndjson = text.into_bytes();
    let buffer = Bytes::from(ndjson.clone());
    let topic: Arc<str> = Arc::from("events");
    let messages: Vec<RawMessage> = ranges
        .iter()
        .zip(0_i64..)
        .map(|(r, offset)| {
            RawMessage::new(Arc::clone(&topic), 0, offset, Some(buffer.slice(r.clone())))
                .with_timestamp(1_704_067_200_000 + offset)
        })
        .collect();
    let payload_bytes = ranges.iter().map(|r| r.len()).sum();
    Events {
        ndjson,
        messages,
        payload_bytes,
    }
}

fn ours(events: &Events) -> polars::prelude::DataFrame {
    let config = StreamingDataSourceConfig::default().with_include_key(false);
    let mut builder = MessageFrameBuilder::new(&config, Arc::new(JSONDeserializer::new()));
    builder.push_batch(&events.messages).expect("decodes");
    builder.finish().expect("builds").0
}

fn ours_parallel(events: &Events, threads: usize) -> polars::prelude::DataFrame {
    let config = StreamingDataSourceConfig::default().with_include_key(false);
    let deserializer = Arc::new(JSONDeserializer::new());
    truthound_polars::build_parallel(&config, deserializer, &events.messages, threads)
        .expect("builds")
        .frame
}

/// The JSON deserializer alone, into a visitor that only counts events: the parsing share.
fn decode_only(events: &Events) -> usize {
    struct Count(usize);
    impl ValueVisitor for Count {
        fn null(&mut self) {
            self.0 += 1;
        }
        fn bool(&mut self, _: bool) {
            self.0 += 1;
        }
        fn i64(&mut self, _: i64) {
            self.0 += 1;
        }
        fn u64(&mut self, _: u64) {
            self.0 += 1;
        }
        fn f64(&mut self, _: f64) {
            self.0 += 1;
        }
        fn str(&mut self, _: &str) {
            self.0 += 1;
        }
        fn bytes(&mut self, _: &[u8]) {
            self.0 += 1;
        }
        fn begin_object(&mut self, _: Option<usize>) {
            self.0 += 1;
        }
        fn key(&mut self, _: &str) {
            self.0 += 1;
        }
        fn end_object(&mut self) {
            self.0 += 1;
        }
        fn begin_array(&mut self, _: Option<usize>) {
            self.0 += 1;
        }
        fn end_array(&mut self) {
            self.0 += 1;
        }
    }
    let json = JSONDeserializer::new();
    let mut count = Count(0);
    for m in &events.messages {
        if let Some(v) = &m.value {
            json.deserialize_into(v, &mut count).expect("decodes");
        }
    }
    count.0
}

fn polars_ndjson(events: &Events) -> polars::prelude::DataFrame {
    JsonReader::new(Cursor::new(events.ndjson.as_slice()))
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .expect("polars reads")
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let workload = Workload::from_env();
    let events = events(n, workload);
    let polars_threads = std::env::var("POLARS_MAX_THREADS").unwrap_or_else(|_| {
        std::thread::available_parallelism()
            .map(|p| p.get().to_string())
            .unwrap_or_else(|_| "?".into())
    });
    eprintln!(
        "{n} {} records, {:.1} MB of payload ({:.0} bytes each); ours: 1 thread, Polars NDJSON reader: {polars_threads} thread(s)",
        workload.name(),
        events.payload_bytes as f64 / 1e6,
        events.payload_bytes as f64 / n as f64,
    );

    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());

    // All build the same frame. Polars' reader may order many inferred fields its own way (it
    // does for `wide`), so its columns are compared in ours' order.
    let (a, b) = (ours(&events), polars_ndjson(&events));
    let b = b.select(a.get_column_names_owned()).expect("same columns");
    assert_eq!(a.schema(), b.schema(), "same schema");
    assert!(a.equals_missing(&b), "same values");
    assert!(
        a.equals_missing(&ours_parallel(&events, cores)),
        "same values in parallel"
    );

    let mut group = c.benchmark_group(match workload {
        Workload::Events => "records_to_dataframe".to_owned(),
        other => format!("records_to_dataframe_{}", other.name()),
    });
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(events.payload_bytes as u64));
    group.bench_function("truthound_message_frame_builder", |bench| {
        bench.iter(|| black_box(ours(&events)));
    });
    group.bench_function(
        format!("truthound_build_parallel_{cores}_threads"),
        |bench| {
            bench.iter(|| black_box(ours_parallel(&events, cores)));
        },
    );
    group.bench_function("json_decode_only_no_columns", |bench| {
        bench.iter(|| black_box(decode_only(&events)));
    });
    group.bench_function(
        format!("polars_ndjson_reader_{polars_threads}_threads"),
        |bench| {
            bench.iter(|| black_box(polars_ndjson(&events)));
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
