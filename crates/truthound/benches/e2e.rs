//! End to end against the test broker: a snapshot of a topic of demo-like JSON events, as raw
//! messages and as a DataFrame, next to librdkafka (confluent-kafka) reading the same topic.
//!
//! Run with `cargo xtask bench e2e` (it starts the broker and sets the variables), or by hand:
//! `TRUTHOUND_TEST_BROKER=127.0.0.1:9092 TRUTHOUND_TEST_PYTHON=<venv>/bin/python cargo bench -p truthound --bench e2e`.
//! `TRUTHOUND_BENCH_MESSAGES` sets the topic size (default 1,000,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use truthound::client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound::datasources::streaming::{
    BaseStreamingDataSource, KafkaDataSource, KafkaDataSourceConfig, PolarsSourceExt,
    StreamingDataSourceExt,
};

const PARTITIONS: i32 = 3;
const RUNS: usize = 3;

fn event(i: usize) -> String {
    const ACTIONS: [&str; 4] = ["login", "logout", "purchase", "view"];
    const COUNTRIES: [&str; 5] = ["DE", "US", "FR", "JP", "BR"];
    format!(
        r#"{{"user_id":{},"action":"{}","timestamp":"2024-03-{:02}T{:02}:{:02}:{:02}Z","amount":{}.{:02},"country":"{}","device":{{"os":"{}","version":"{}.{}"}},"tags":["t{}","t{}"]}}"#,
        i * 7919 % 100_000,
        ACTIONS[i % 4],
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 60) % 60,
        i % 500,
        i % 100,
        COUNTRIES[i % 5],
        if i.is_multiple_of(2) {
            "ios"
        } else {
            "android"
        },
        10 + i % 7,
        i % 10,
        i % 13,
        i % 17
    )
}

async fn fill(broker: &str, topic: &str, n: usize) -> usize {
    let client = KafkaClient::connect(ClientConfig::new([broker]))
        .await
        .unwrap();
    client.create_topic(topic, PARTITIONS, 1).await.unwrap();
    let mut bytes = 0;
    let chunk = 5_000;
    let mut i = 0;
    while i < n {
        let end = (i + chunk).min(n);
        let p = (i / chunk) as i32 % PARTITIONS;
        let batch: Vec<ProduceRecord> = (i..end)
            .map(|j| {
                let v = event(j);
                bytes += v.len();
                ProduceRecord::new(Bytes::from(v))
            })
            .collect();
        client
            .produce(topic, p, batch, ProduceOptions::default())
            .await
            .unwrap();
        i = end;
    }
    bytes
}

fn report(name: &str, n: usize, bytes: usize, times: &mut [Duration]) -> f64 {
    times.sort();
    let best = times[0].as_secs_f64();
    let median = times[times.len() / 2].as_secs_f64();
    let rate = n as f64 / median;
    println!(
        "{name:<34} {n:>9} msgs  median {median:>7.3} s  best {best:>7.3} s  {:>6.2} M msgs/s  {:>7.1} MB/s",
        rate / 1e6,
        bytes as f64 / median / 1e6
    );
    rate
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let broker = std::env::var("TRUTHOUND_TEST_BROKER").expect(
        "TRUTHOUND_TEST_BROKER is not set: run `cargo xtask bench e2e`, which starts the test broker",
    );
    let n: usize = std::env::var("TRUTHOUND_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let topic = format!("bench-e2e-{}-{n}", std::process::id());
    let t = Instant::now();
    let bytes = rt.block_on(fill(&broker, &topic, n));
    println!(
        "filled {topic}: {n} messages, {:.1} MB of values, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let config = KafkaDataSourceConfig::new(broker.clone(), &topic)
        .with_max_messages(n)
        .with_include_key(false);
    let mut raw = Vec::new();
    let mut frame = Vec::new();
    for _ in 0..RUNS {
        raw.push(rt.block_on(async {
            let t = Instant::now();
            let mut source = KafkaDataSource::new(config.clone()).unwrap();
            source.connect().await.unwrap();
            let got = source.consume(n).await.unwrap();
            assert_eq!(got.len(), n);
            t.elapsed()
        }));
        frame.push(rt.block_on(async {
            let t = Instant::now();
            let mut source = KafkaDataSource::new(config.clone()).unwrap();
            source.connect().await.unwrap();
            let snapshot = source.to_polars_dataframe().await.unwrap();
            assert_eq!(snapshot.frame.height(), n);
            t.elapsed()
        }));
    }
    println!();
    let ours_raw = report("truthound: raw messages", n, bytes, &mut raw);
    let ours_frame = report("truthound: DataFrame (9 columns)", n, bytes, &mut frame);

    match std::env::var("TRUTHOUND_TEST_PYTHON") {
        Ok(python) => {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/interop/peer.py");
            let mut peer = Vec::new();
            for _ in 0..RUNS {
                let out = Command::new(&python)
                    .args([script, "bench-consume", &broker, &topic, &n.to_string()])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let text = String::from_utf8(out.stdout).unwrap();
                let fields: Vec<&str> = text.split_whitespace().collect();
                assert_eq!(
                    fields[0].parse::<usize>().unwrap(),
                    n,
                    "librdkafka read everything"
                );
                peer.push(Duration::from_secs_f64(fields[1].parse().unwrap()));
            }
            let rdkafka = report("librdkafka 2.16 (confluent-kafka)", n, bytes, &mut peer);
            println!(
                "\nratio to librdkafka (same broker, same run): raw {:.2}x, DataFrame {:.2}x",
                ours_raw / rdkafka,
                ours_frame / rdkafka
            );
        }
        Err(_) => println!("(TRUTHOUND_TEST_PYTHON is not set: no librdkafka figure)"),
    }
}
