//! `truthound demo-fill` (hidden): fills a topic with the demo's events, with a known share of
//! bad rows.
//!
//! Event `i` (0-based, over all partitions; it goes to partition `i % partitions`) is:
//! `{"event_id", "user_id", "action", "timestamp", "amount", "country", "device": {"os",
//! "version"}, "tags": [...]}`, from a generator seeded by `--seed`. The bad rows depend on `i`
//! only, so their numbers are exact:
//!
//! | rows | what is wrong | caught by |
//! |---|---|---|
//! | `i % 100 == 7` | `user_id` is null | `not_null` |
//! | `i % 50 == 13` | `action` is `"jump"`, not a known action | `allowed_values` |
//! | `i % 200 == 42` | `timestamp` does not parse (`"yesterday"` or a month 13) | `datetime` |
//! | `i % 125 == 99` | `amount` is out of range (negative or over 10000) | `range` |
//!
//! With 30,000 events: 300 null ids (1%), 600 unknown actions (2%), 150 bad timestamps (0.5%)
//! and 240 bad amounts (0.8%). [`bad_rows`] computes these numbers for any count.

use bytes::Bytes;
use clap::Args;
use serde_json::Value;
use std::process::ExitCode;
use truthound_kafka::KafkaDataSourceConfig;
use truthound_kafka_client::{
    ClientConfig, Compression, KafkaClient, ProduceOptions, ProduceRecord,
};

/// Flags of `truthound demo-fill`.
#[derive(Debug, Args)]
pub(crate) struct DemoFillArgs {
    /// The topic to create and fill: kafka://host:port/topic.
    url: String,
    /// How many events.
    #[arg(long, default_value_t = 30_000)]
    count: usize,
    /// Partitions of the new topic.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// The generator's seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The codec of the produced batches: none, gzip, snappy, lz4 or zstd.
    #[arg(long, default_value_t = Compression::None)]
    compression: Compression,
}

/// SplitMix64: a small, seeded, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The bad rows among `count` events: (null user ids, unknown actions, bad timestamps, bad
/// amounts).
pub(crate) fn bad_rows(count: usize) -> (usize, usize, usize, usize) {
    let every = |m: usize, r: usize| (0..count).filter(|i| i % m == r).count();
    (every(100, 7), every(50, 13), every(200, 42), every(125, 99))
}

/// Event `i` as JSON.
fn event(i: usize, rng: &mut Rng) -> String {
    const ACTIONS: &[&str] = &["login", "logout", "view", "add_to_cart", "purchase"];
    const COUNTRIES: &[&str] = &["US", "DE", "FR", "JP", "BR", "IN", "GB", "KR"];
    const OS: &[&str] = &["ios", "android", "web"];
    const TAGS: &[&str] = &["new", "returning", "promo", "mobile", "beta"];
    // 2026-11-01T00:00:00Z, then about one event every 3 seconds.
    let start = 1_793_491_200_i64;
    let ms = (start + 3 * i as i64) * 1000 + rng.below(1000) as i64;
    let timestamp = chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    let action = rng.pick(ACTIONS);
    let mut amount = (action == "purchase").then(|| (rng.below(500_000) + 100) as f64 / 100.0);
    let os = rng.pick(OS);
    let tags: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(TAGS)).collect();
    let mut user_id = Some(format!("u{:05}", rng.below(5000)));
    let mut action = action.to_owned();
    let mut timestamp = timestamp;
    if i % 100 == 7 {
        user_id = None;
    }
    if i % 50 == 13 {
        "jump".clone_into(&mut action);
    }
    if i % 200 == 42 {
        timestamp = if i % 400 == 42 {
            "yesterday".to_owned()
        } else {
            "2026-13-45T25:61:00Z".to_owned()
        };
    }
    if i % 125 == 99 {
        amount = Some(if i % 250 == 99 { -12.5 } else { 250_000.0 });
    }
    // Written by hand to keep the fields in this order (a `serde_json` map sorts them).
    let text = |v: &str| Value::from(v).to_string();
    let or_null = |v: Option<String>| v.map_or_else(|| "null".to_owned(), |v| text(&v));
    let tags: Vec<String> = tags.iter().map(|t| text(t)).collect();
    format!(
        r#"{{"event_id":{},"user_id":{},"action":{},"timestamp":{},"amount":{},"country":{},"device":{{"os":{},"version":{}}},"tags":[{}]}}"#,
        text(&format!("e{i:07}")),
        or_null(user_id),
        text(&action),
        text(&timestamp),
        amount.map_or_else(|| "null".to_owned(), |a| Value::from(a).to_string()),
        text(rng.pick(COUNTRIES)),
        text(os),
        text(&format!("{}.{}", rng.below(5) + 10, rng.below(10))),
        tags.join(","),
    )
}

/// Creates the topic and produces the events.
pub(crate) async fn run(args: &DemoFillArgs) -> anyhow::Result<ExitCode> {
    let config = KafkaDataSourceConfig::from_connection_string(&args.url)?;
    let client = KafkaClient::connect(ClientConfig::new(config.bootstrap_list())).await?;
    client
        .create_topic(&config.topic, args.partitions, 1)
        .await?;
    let partitions = usize::try_from(args.partitions.max(1))?;
    let mut rng = Rng(args.seed);
    let mut pending: Vec<Vec<ProduceRecord>> = (0..partitions).map(|_| Vec::new()).collect();
    for i in 0..args.count {
        let value = event(i, &mut rng).into_bytes();
        let p = i % partitions;
        pending[p]
            .push(ProduceRecord::new(Bytes::from(value)).with_key(Bytes::from(format!("e{i:07}"))));
        if pending[p].len() == 500 {
            let batch = std::mem::take(&mut pending[p]);
            client
                .produce(
                    &config.topic,
                    i32::try_from(p)?,
                    batch,
                    ProduceOptions::compressed(args.compression),
                )
                .await?;
        }
    }
    for (p, batch) in pending.into_iter().enumerate() {
        if !batch.is_empty() {
            client
                .produce(
                    &config.topic,
                    i32::try_from(p)?,
                    batch,
                    ProduceOptions::compressed(args.compression),
                )
                .await?;
        }
    }
    let (ids, actions, timestamps, amounts) = bad_rows(args.count);
    println!(
        "Produced {} events to {} ({} partitions): bad rows by design: {ids} null user_id, \
         {actions} unknown action, {timestamps} unparsable timestamp, {amounts} out-of-range amount.",
        args.count, config.topic, args.partitions
    );
    Ok(ExitCode::SUCCESS)
}
