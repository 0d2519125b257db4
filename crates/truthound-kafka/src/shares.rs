//! Snapshot plans: one snapshot's exact offset ranges, captured once and split into shares that
//! independent workers read.
//!
//! A [`SnapshotPlan`] is what [`KafkaDataSource`] would read, written down: the topic (with its
//! id, so that a re-created topic is noticed), the decoding options, and per partition the
//! offsets `start..end` the snapshot covers. Its [shares](SnapshotPlan::shares) cut that
//! sequence of ranges (partition by partition, in order) into `N` pieces of about equal offset
//! counts: a large partition is split by offset, small ones are grouped. A worker reads one
//! share with [`SnapshotPlan::share_config`]; the shares' union is the plan, without overlap.
//!
//! The plan is JSON ([`to_json`](SnapshotPlan::to_json), [`from_json`](SnapshotPlan::from_json)),
//! versioned by its `truthound_plan` field. It holds no secrets: credentials come from each
//! worker's own configuration.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::KafkaDataSourceConfig;
use crate::error::{KafkaDataSourceError, Result};
use crate::source::KafkaDataSource;

/// The plan format's version, the `truthound_plan` field.
pub const PLAN_VERSION: u64 = 1;

/// The most shares a plan has.
pub const MAX_SHARES: usize = 100_000;

/// The offsets `start..end` of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetRange {
    /// The partition.
    pub partition: i32,
    /// The first offset.
    pub start: i64,
    /// The offset after the last one.
    pub end: i64,
}

impl OffsetRange {
    /// How many offsets the range holds (under compaction or with transaction markers, more
    /// than the messages it holds).
    pub fn offsets(&self) -> u64 {
        u64::try_from(self.end - self.start).unwrap_or(0)
    }
}

/// The decoding options a plan carries: the connection-string options of
/// [`KafkaDataSourceConfig::with_options`] that say how values are read (never credentials).
const OPTIONS: &[&str] = &[
    "deserializer_type",
    "key_deserializer",
    "include_key",
    "include_headers",
    "include_metadata",
    "metadata_prefix",
    "on_malformed",
    "isolation_level",
    "schema_registry_url",
    "schema_registry_subject",
    "protobuf_message",
    "security_protocol",
    "sasl_mechanism",
];

/// The schema texts a plan carries, by configuration field.
const SCHEMAS: &[&str] = &[
    "avro_schema",
    "avro_reader_schema",
    "protobuf_schema",
    "json_schema",
];

/// A snapshot, planned: its offset ranges and their shares. See the [module](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPlan {
    /// The brokers the plan was made on.
    pub bootstrap_servers: String,
    /// The topic.
    pub topic: String,
    /// The topic's id (32 hex digits) when the plan was made; `None` for brokers without ids.
    pub topic_id: Option<String>,
    /// Decoding options, as connection-string options (see
    /// [`KafkaDataSourceConfig::with_options`]).
    pub options: BTreeMap<String, String>,
    /// Schema texts by configuration field: `avro_schema`, `avro_reader_schema`,
    /// `protobuf_schema`, `json_schema`.
    pub schemas: BTreeMap<String, String>,
    /// The offsets the snapshot covers, by partition (an empty range where a partition has
    /// nothing to read).
    pub partitions: Vec<OffsetRange>,
    /// The shares: share `k` reads `shares[k]` (at most one range per partition).
    pub shares: Vec<Vec<OffsetRange>>,
}

impl SnapshotPlan {
    /// Plans what `source` would read, split into `shares` shares (at least 1). The source
    /// connects (capturing each partition's end as a snapshot does) if it has not yet.
    ///
    /// # Errors
    /// Connection and configuration errors, as for a read.
    pub async fn capture(source: &mut KafkaDataSource, shares: usize) -> Result<Self> {
        if shares > MAX_SHARES {
            return Err(KafkaDataSourceError::InvalidConfig(format!(
                "{shares} shares: a plan has at most {MAX_SHARES}"
            )));
        }
        let config = source.kafka_config().clone();
        let limit = config.streaming.max_messages;
        let planned = source.plan(limit).await?;
        let topic_id = source.captured_topic_id().await?;
        let partitions: Vec<OffsetRange> = planned
            .iter()
            .map(|p| {
                let quota = i64::try_from(p.quota).unwrap_or(i64::MAX);
                // Forward reads stop after the quota; the last-N reads start quota before the
                // end. Either way the plan is the offsets a quota's worth of messages take.
                if p.extend_back_to.is_some() {
                    OffsetRange {
                        partition: p.partition,
                        start: p.end.saturating_sub(quota).max(p.start),
                        end: p.end,
                    }
                } else {
                    OffsetRange {
                        partition: p.partition,
                        start: p.start,
                        end: p.end.min(p.start.saturating_add(quota)),
                    }
                }
            })
            .collect();
        Ok(Self {
            bootstrap_servers: config.bootstrap_servers.clone(),
            topic: config.topic.clone(),
            topic_id: topic_id.map(hex),
            options: plan_options(&config),
            schemas: plan_schemas(&config),
            shares: split_shares(&partitions, shares),
            partitions,
        })
    }

    /// The offsets the plan covers.
    pub fn offsets(&self) -> u64 {
        self.partitions.iter().map(OffsetRange::offsets).sum()
    }

    /// A configuration that reads share `share`: the plan's topic and options, the share's
    /// ranges, and nothing else. Add credentials to it as to any configuration.
    ///
    /// # Errors
    /// A share number beyond the plan's, or options the configuration rejects.
    pub fn share_config(&self, share: usize) -> Result<KafkaDataSourceConfig> {
        let ranges = self.shares.get(share).ok_or_else(|| {
            KafkaDataSourceError::InvalidConfig(format!(
                "share {share} is not in the plan, which has shares 0 to {}",
                self.shares.len().saturating_sub(1)
            ))
        })?;
        let mut config = KafkaDataSourceConfig::new(&self.bootstrap_servers, &self.topic)
            .with_options(&self.options)?;
        for (field, text) in &self.schemas {
            config = match field.as_str() {
                "avro_schema" => config.with_avro_schema(text.clone()),
                "avro_reader_schema" => config.with_avro_reader_schema(text.clone()),
                "protobuf_schema" => {
                    let message = config.protobuf_message.clone();
                    config.with_protobuf_schema(text.clone(), message)
                }
                "json_schema" => config.with_json_schema(text.clone()),
                other => {
                    return Err(KafkaDataSourceError::InvalidConfig(format!(
                        "the plan has an unknown schema field {other:?}"
                    )));
                }
            };
        }
        let topic_id = match &self.topic_id {
            None => None,
            Some(text) => Some(unhex(text).ok_or_else(|| {
                KafkaDataSourceError::InvalidConfig(format!(
                    "the plan's topic_id {text:?} is not 32 hex digits"
                ))
            })?),
        };
        Ok(config
            .with_max_messages(usize::MAX)
            .with_share(topic_id, ranges.clone()))
    }

    /// The plan as JSON (pretty-printed, keys in a fixed order).
    pub fn to_json(&self) -> String {
        let ranges = |r: &[OffsetRange]| -> Vec<Value> {
            r.iter()
                .map(|r| json!({"partition": r.partition, "start": r.start, "end": r.end}))
                .collect()
        };
        let value = json!({
            "truthound_plan": PLAN_VERSION,
            "bootstrap_servers": self.bootstrap_servers,
            "topic": self.topic,
            "topic_id": self.topic_id,
            "options": self.options,
            "schemas": self.schemas,
            "partitions": ranges(&self.partitions),
            "shares": self.shares.iter().map(|s| ranges(s)).collect::<Vec<_>>(),
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a plan written by [`to_json`](Self::to_json), checking that its shares cover its
    /// partitions exactly.
    ///
    /// # Errors
    /// Not JSON, another `truthound_plan` version, a missing field, or shares that do not
    /// cover the partitions exactly once.
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |why: String| KafkaDataSourceError::InvalidConfig(format!("invalid plan: {why}"));
        let value: Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        match value.get("truthound_plan").and_then(Value::as_u64) {
            Some(PLAN_VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "version {v}; this build reads version {PLAN_VERSION}"
                )));
            }
            None => return Err(bad("no truthound_plan version field".into())),
        }
        let string = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("no {key}")))
        };
        let map = |key: &str| -> Result<BTreeMap<String, String>> {
            match value.get(key) {
                None | Some(Value::Null) => Ok(BTreeMap::new()),
                Some(Value::Object(o)) => o
                    .iter()
                    .map(|(k, v)| {
                        v.as_str()
                            .map(|s| (k.clone(), s.to_owned()))
                            .ok_or_else(|| bad(format!("{key}.{k} is not a string")))
                    })
                    .collect(),
                Some(_) => Err(bad(format!("{key} is not an object"))),
            }
        };
        let ranges = |v: &Value, place: &str| -> Result<Vec<OffsetRange>> {
            v.as_array()
                .ok_or_else(|| bad(format!("{place} is not a list")))?
                .iter()
                .map(|r| {
                    let field = |k: &str| r.get(k).and_then(Value::as_i64);
                    match (field("partition"), field("start"), field("end")) {
                        (Some(p), Some(start), Some(end)) if 0 <= start && start <= end => {
                            Ok(OffsetRange {
                                partition: i32::try_from(p)
                                    .map_err(|_| bad(format!("partition {p} in {place}")))?,
                                start,
                                end,
                            })
                        }
                        _ => Err(bad(format!(
                            "a range in {place} needs partition, start and end (0 <= start <= end)"
                        ))),
                    }
                })
                .collect()
        };
        let partitions = ranges(
            value.get("partitions").unwrap_or(&Value::Null),
            "partitions",
        )?;
        let shares = value
            .get("shares")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no shares".into()))?
            .iter()
            .enumerate()
            .map(|(k, s)| ranges(s, &format!("share {k}")))
            .collect::<Result<Vec<_>>>()?;
        if shares.is_empty() || shares.len() > MAX_SHARES {
            return Err(bad(format!(
                "{} shares: a plan has 1 to {MAX_SHARES}",
                shares.len()
            )));
        }
        for (k, share) in shares.iter().enumerate() {
            let mut seen: Vec<i32> = share.iter().map(|r| r.partition).collect();
            seen.sort_unstable();
            if seen.windows(2).any(|w| w[0] == w[1]) {
                return Err(bad(format!("share {k} has two ranges of one partition")));
            }
        }
        let topic_id = match value.get("topic_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .filter(|s| unhex(s).is_some())
                    .ok_or_else(|| bad("topic_id is not 32 hex digits".into()))?
                    .to_owned(),
            ),
        };
        let options = map("options")?;
        if let Some(k) = options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(bad(format!(
                "option {k:?} is not one a plan carries ({})",
                OPTIONS.join(", ")
            )));
        }
        let schemas = map("schemas")?;
        if let Some(k) = schemas.keys().find(|k| !SCHEMAS.contains(&k.as_str())) {
            return Err(bad(format!(
                "schema {k:?} is not one a plan carries ({})",
                SCHEMAS.join(", ")
            )));
        }
        let plan = Self {
            bootstrap_servers: string("bootstrap_servers")?,
            topic: string("topic")?,
            topic_id,
            options,
            schemas,
            partitions,
            shares,
        };
        if let Err(why) = covers_exactly(&plan.partitions, &plan.shares) {
            return Err(bad(why));
        }
        Ok(plan)
    }

    /// A short identity of the plan (16 hex digits of a hash of its JSON), which parts and
    /// manifests carry so that a part of another plan is noticed.
    pub fn id(&self) -> String {
        // FNV-1a, 64 bits: stable across builds and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.to_json().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }

    /// The partitions as Spark's Kafka source option `assign` (JSON: `{"topic": [0, 1]}`), to
    /// go with [`spark_offsets`](Self::spark_offsets): Spark wants offsets for every partition
    /// it is assigned.
    pub fn spark_assign(&self) -> String {
        let partitions: Vec<i32> = self.partitions.iter().map(|r| r.partition).collect();
        json!({ &self.topic: partitions }).to_string()
    }

    /// The plan as Spark's Kafka source options `startingOffsets` and `endingOffsets` (JSON:
    /// `{"topic": {"0": 23, "1": 0}}`), for reading the same offsets with Spark's own source.
    pub fn spark_offsets(&self) -> (String, String) {
        let side = |f: fn(&OffsetRange) -> i64| {
            let per: serde_json::Map<String, Value> = self
                .partitions
                .iter()
                .map(|r| (r.partition.to_string(), json!(f(r))))
                .collect();
            json!({ &self.topic: per }).to_string()
        };
        (side(|r| r.start), side(|r| r.end))
    }
}

/// Cuts the ranges, in order, into `shares` (at least 1) pieces of about equal offset counts:
/// share `k` takes offsets `k·T/N .. (k+1)·T/N` of the `T` offsets in sequence. A share may be
/// empty when there are fewer offsets than shares.
pub fn split_shares(partitions: &[OffsetRange], shares: usize) -> Vec<Vec<OffsetRange>> {
    let n = shares.max(1) as u128;
    let total: u128 = partitions.iter().map(|r| u128::from(r.offsets())).sum();
    let bound = |k: u128| u64::try_from(k * total / n).unwrap_or(u64::MAX);
    let mut out = Vec::with_capacity(n as usize);
    for k in 0..n {
        let (from, to) = (bound(k), bound(k + 1));
        let mut share = Vec::new();
        let mut at: u64 = 0;
        for r in partitions {
            let len = r.offsets();
            let (lo, hi) = (from.max(at), to.min(at + len));
            if lo < hi {
                share.push(OffsetRange {
                    partition: r.partition,
                    start: r.start + i64::try_from(lo - at).unwrap_or(i64::MAX),
                    end: r.start + i64::try_from(hi - at).unwrap_or(i64::MAX),
                });
            }
            at += len;
        }
        out.push(share);
    }
    out
}

/// Whether `shares` cover `partitions` exactly: every offset once, nothing outside.
fn covers_exactly(
    partitions: &[OffsetRange],
    shares: &[Vec<OffsetRange>],
) -> std::result::Result<(), String> {
    let mut by_partition: BTreeMap<i32, Vec<(i64, i64)>> = BTreeMap::new();
    for r in shares.iter().flatten().filter(|r| r.end > r.start) {
        by_partition
            .entry(r.partition)
            .or_default()
            .push((r.start, r.end));
    }
    let mut planned: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for r in partitions.iter().filter(|r| r.end > r.start) {
        if planned.insert(r.partition, (r.start, r.end)).is_some() {
            return Err(format!("partition {} is listed twice", r.partition));
        }
    }
    for (partition, mut ranges) in by_partition {
        let Some(&(start, end)) = planned.get(&partition) else {
            return Err(format!(
                "a share reads partition {partition}, which the plan does not"
            ));
        };
        ranges.sort_unstable();
        let mut at = start;
        for (s, e) in ranges {
            if s != at {
                return Err(format!(
                    "the shares of partition {partition} leave a gap or overlap at offset {}",
                    at.min(s)
                ));
            }
            at = e;
        }
        if at != end {
            return Err(format!(
                "the shares of partition {partition} end at {at}, the plan at {end}"
            ));
        }
        planned.remove(&partition);
    }
    match planned.keys().next() {
        Some(p) => Err(format!("no share reads partition {p}")),
        None => Ok(()),
    }
}

fn plan_options(config: &KafkaDataSourceConfig) -> BTreeMap<String, String> {
    let s = &config.streaming;
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        out.insert(k.to_owned(), v);
    };
    put("deserializer_type", s.deserializer_type.to_string());
    put("key_deserializer", s.key_deserializer.to_string());
    put("include_key", s.include_key.to_string());
    put("include_headers", s.include_headers.to_string());
    put("include_metadata", s.include_metadata.to_string());
    put("metadata_prefix", s.metadata_prefix.clone());
    put("on_malformed", s.on_malformed.to_string());
    put(
        "isolation_level",
        match config.isolation_level {
            truthound_kafka_client::IsolationLevel::ReadUncommitted => "read_uncommitted",
            _ => "read_committed",
        }
        .to_owned(),
    );
    if let Some(url) = &config.schema_registry_url {
        put("schema_registry_url", url.clone());
    }
    if let Some(subject) = &config.schema_registry_subject {
        put("schema_registry_subject", subject.clone());
    }
    if let Some(message) = &config.protobuf_message {
        put("protobuf_message", message.clone());
    }
    put("security_protocol", config.security_protocol.to_string());
    if let Some(m) = &config.sasl_mechanism {
        put("sasl_mechanism", m.to_string());
    }
    debug_assert!(out.keys().all(|k| OPTIONS.contains(&k.as_str())));
    out
}

fn plan_schemas(config: &KafkaDataSourceConfig) -> BTreeMap<String, String> {
    let fields = [
        ("avro_schema", &config.avro_schema),
        ("avro_reader_schema", &config.avro_reader_schema),
        ("protobuf_schema", &config.protobuf_schema),
        ("json_schema", &config.json_schema),
    ];
    debug_assert!(fields.iter().all(|(k, _)| SCHEMAS.contains(k)));
    fields
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), v.clone())))
        .collect()
}

fn hex(id: [u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut out = [0_u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(partition: i32, start: i64, end: i64) -> OffsetRange {
        OffsetRange {
            partition,
            start,
            end,
        }
    }

    #[test]
    fn shares_split_large_partitions_and_group_small_ones() {
        let partitions = [r(0, 0, 100), r(1, 10, 12), r(2, 5, 6), r(3, 0, 40)];
        let shares = split_shares(&partitions, 3);
        // 143 offsets: 47, 48 and 48.
        assert_eq!(
            shares,
            [
                vec![r(0, 0, 47)],
                vec![r(0, 47, 95)],
                vec![r(0, 95, 100), r(1, 10, 12), r(2, 5, 6), r(3, 0, 40)],
            ]
        );
        covers_exactly(&partitions, &shares).unwrap();
        // More shares than offsets: some are empty, the cover is still exact.
        let shares = split_shares(&[r(0, 7, 9)], 4);
        assert_eq!(shares, [vec![], vec![r(0, 7, 8)], vec![], vec![r(0, 8, 9)]]);
        assert_eq!(split_shares(&[], 2), [vec![], vec![]]);
        // Zero shares is one share.
        assert_eq!(split_shares(&partitions, 0), [partitions.to_vec()]);
    }

    #[test]
    fn every_split_covers_the_plan_exactly() {
        for n in 1..12 {
            let partitions = [r(0, 3, 50), r(4, 0, 1), r(7, 100, 207)];
            let shares = split_shares(&partitions, n);
            covers_exactly(&partitions, &shares).unwrap();
            let sizes: Vec<u64> = shares
                .iter()
                .map(|s| s.iter().map(OffsetRange::offsets).sum())
                .collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{n}: {sizes:?}");
            assert!(shares.iter().all(|s| {
                let mut seen: Vec<i32> = s.iter().map(|r| r.partition).collect();
                seen.dedup();
                seen.len() == s.len()
            }));
        }
    }

    #[test]
    fn covers_exactly_names_gaps_overlaps_and_strangers() {
        let partitions = [r(0, 0, 10), r(1, 0, 5)];
        let err = |shares: &[Vec<OffsetRange>]| covers_exactly(&partitions, shares).unwrap_err();
        assert!(err(&[vec![r(0, 0, 4), r(0, 5, 10), r(1, 0, 5)]]).contains("gap or overlap"));
        assert!(err(&[vec![r(0, 0, 6)], vec![r(0, 5, 10), r(1, 0, 5)]]).contains("overlap"));
        assert!(err(&[vec![r(0, 0, 10)]]).contains("no share reads partition 1"));
        assert!(err(&[vec![r(0, 0, 10), r(1, 0, 5), r(2, 0, 1)]]).contains("partition 2"));
        assert!(err(&[vec![r(0, 0, 9), r(1, 0, 5)]]).contains("end at 9"));
    }

    fn plan() -> SnapshotPlan {
        let partitions = vec![r(0, 0, 10), r(2, 4, 9)];
        SnapshotPlan {
            bootstrap_servers: "b1:9092,b2:9092".into(),
            topic: "events".into(),
            topic_id: Some("00112233445566778899aabbccddeeff".into()),
            options: [("deserializer_type".to_owned(), "json".to_owned())].into(),
            schemas: [("json_schema".to_owned(), r#"{"type": "object"}"#.to_owned())].into(),
            shares: split_shares(&partitions, 2),
            partitions,
        }
    }

    #[test]
    fn plans_round_trip_through_json_and_are_checked() {
        let plan = plan();
        let text = plan.to_json();
        assert_eq!(SnapshotPlan::from_json(&text).unwrap(), plan);
        assert_eq!(plan.id(), SnapshotPlan::from_json(&text).unwrap().id());
        assert_eq!(plan.id().len(), 16);
        let mut other = plan.clone();
        other.partitions[0].end = 11;
        other.shares = split_shares(&other.partitions, 2);
        assert_ne!(other.id(), plan.id());

        let edit = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            SnapshotPlan::from_json(&text.replacen(from, to, 1))
                .unwrap_err()
                .to_string()
        };
        assert!(edit(r#""truthound_plan": 1"#, r#""truthound_plan": 2"#).contains("version 2"));
        assert!(edit(r#""topic": "events""#, r#""topik": "events""#).contains("no topic"));
        assert!(edit(r#""end": 7"#, r#""end": 8"#).contains("partition 0"));
        assert!(
            edit(r#""topic_id": "00"#, r#""topic_id": "zz"#).contains("topic_id is not 32 hex")
        );
        assert!(
            SnapshotPlan::from_json("[1")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }

    #[test]
    fn a_share_config_reads_its_ranges_with_the_plan_options() {
        let plan = plan();
        let config = plan.share_config(1).unwrap();
        assert_eq!(config.topic, "events");
        assert_eq!(config.bootstrap_servers, "b1:9092,b2:9092");
        assert_eq!(config.json_schema.as_deref(), Some(r#"{"type": "object"}"#));
        let share = config.share.as_ref().unwrap();
        assert_eq!(share.ranges, plan.shares[1]);
        assert_eq!(share.topic_id, unhex("00112233445566778899aabbccddeeff"));
        config.validate().unwrap();
        let err = plan.share_config(2).unwrap_err().to_string();
        assert!(
            err.contains("share 2 is not in the plan, which has shares 0 to 1"),
            "{err}"
        );
    }

    #[test]
    fn spark_offsets_name_each_partition() {
        let (start, end) = plan().spark_offsets();
        assert_eq!(start, r#"{"events":{"0":0,"2":4}}"#);
        assert_eq!(end, r#"{"events":{"0":10,"2":9}}"#);
        assert_eq!(plan().spark_assign(), r#"{"events":[0,2]}"#);
    }

    #[test]
    fn plans_that_could_read_something_else_are_refused() {
        let text = plan().to_json();
        let edit = |from: &str, to: &str| {
            assert!(text.contains(from), "{from}");
            SnapshotPlan::from_json(&text.replacen(from, to, 1))
                .unwrap_err()
                .to_string()
        };
        let err = edit(r#""deserializer_type": "json""#, r#""ssl_cafile": "/x""#);
        assert!(
            err.contains(r#"option "ssl_cafile" is not one a plan carries"#),
            "{err}"
        );
        let err = edit(r#""json_schema":"#, r#""avro_schemaa":"#);
        assert!(err.contains("is not one a plan carries"), "{err}");
        let err = edit(r#""start": 0"#, r#""start": -1"#);
        assert!(err.contains("0 <= start <= end"), "{err}");
    }
}
