//! Writes the committed seed corpus, `fuzz/corpus/TARGET/*`: valid inputs of every target, made
//! with the crates' own encoders, so that the fuzzer starts from inputs that get deep.
//!
//! `cargo xtask fuzz --seed` runs it; so does
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --features seeds --example seeds`.
//! The files are rewritten in place (same names, same bytes for the same code); stale ones are
//! not removed.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsResponse, BrokerId, CreateTopicsResponse, DeleteTopicsResponse, FetchResponse,
    FindCoordinatorResponse, ListOffsetsResponse, MetadataResponse, OffsetCommitResponse,
    OffsetFetchResponse, ProduceResponse, ProducerId, ResponseHeader, SaslAuthenticateResponse,
    SaslHandshakeResponse, TopicName, api_versions_response, create_topics_response,
    delete_topics_response, fetch_response, find_coordinator_response, list_offsets_response,
    metadata_response, offset_commit_response, offset_fetch_response, produce_response,
};
use kafka_protocol::protocol::{Encodable, HeaderVersion, StrBytes};
use truthound_kafka_client::fuzzing;
use truthound_kafka_client::records::{
    Compression, ControlRecordType, DecodeOptions, ProduceRecord, RecordBatchBuilder,
    decode_record_batches, encode_control_record,
};
use truthound_streaming_core::MessageDeserializer;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result {
    let root = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let mut seeds = Seeds { root, written: 0 };
    record_batches(&mut seeds)?;
    responses(&mut seeds)?;
    json_columns(&mut seeds)?;
    avro_columns(&mut seeds)?;
    println!("{} seed files in {}", seeds.written, seeds.root.display());
    Ok(())
}

struct Seeds {
    root: PathBuf,
    written: usize,
}

impl Seeds {
    fn write(&mut self, target: &str, name: &str, bytes: &[u8]) -> Result {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        self.written += 1;
        Ok(())
    }
}

/// A few records with keys, headers, a null value and timestamps.
fn sample_records(count: usize) -> Vec<ProduceRecord> {
    (0..count)
        .map(|i| {
            let value = format!(
                r#"{{"id": {i}, "user": "u{}", "amount": {}.25}}"#,
                i % 3,
                i * 7
            );
            let mut record = ProduceRecord::new(value)
                .with_key(format!("key-{i}"))
                .with_timestamp(1_700_000_000_000 + i as i64);
            if i % 2 == 0 {
                record = record.with_header("trace", Some(Bytes::from(format!("t{i}"))));
            }
            record
        })
        .chain(std::iter::once(ProduceRecord {
            key: Some(Bytes::from_static(b"gone")),
            value: None,
            headers: Vec::new(),
            timestamp: Some(1_700_000_001_000),
        }))
        .collect()
}

fn batch(base_offset: i64, compression: Compression, records: usize) -> Result<Bytes> {
    Ok(RecordBatchBuilder::new(base_offset)
        .with_compression(compression)
        .with_records(sample_records(records))
        .finish()?)
}

/// `record_batches`: a flag byte (0: checked CRCs, all offsets, read_uncommitted), then batches.
fn record_batches(seeds: &mut Seeds) -> Result {
    for compression in Compression::ALL {
        let mut input = vec![0u8];
        let batch = batch(0, compression, 6)?;
        let mut out = Vec::new();
        decode_record_batches(&batch, &DecodeOptions::default(), &mut out)?;
        if out.len() != 7 {
            return Err(format!("the {compression} seed decodes to {} records", out.len()).into());
        }
        input.extend_from_slice(&batch);
        seeds.write("record_batches", &format!("batch-{compression}"), &input)?;
    }
    // Two batches, then a partial one as a broker cuts at max_bytes; offsets 1..100 only.
    let mut input = vec![8u8];
    input.extend_from_slice(&batch(0, Compression::None, 3)?);
    input.extend_from_slice(&batch(4, Compression::Zstd, 3)?);
    let tail = batch(8, Compression::Gzip, 3)?;
    input.extend_from_slice(&tail[..tail.len() / 2]);
    seeds.write("record_batches", "two-and-a-partial", &input)?;
    // read_committed: an aborted transaction (producer 7 from offset 10), its data batch and
    // its abort marker, then committed data of another producer with its commit marker.
    let mut input = vec![2u8];
    input.extend_from_slice(&7i64.to_be_bytes());
    input.extend_from_slice(&10i64.to_be_bytes());
    let transactional = |base, producer, records: Vec<ProduceRecord>, control| {
        RecordBatchBuilder::new(base)
            .with_producer(producer, 0, 0)
            .transactional(true)
            .control(control)
            .with_records(records)
            .finish()
    };
    input.extend_from_slice(&transactional(10, 7, sample_records(2), false)?);
    let abort = encode_control_record(ControlRecordType::Abort, 1, 1_700_000_002_000);
    input.extend_from_slice(&transactional(13, 7, vec![abort], true)?);
    input.extend_from_slice(&transactional(14, 8, sample_records(2), false)?);
    let commit = encode_control_record(ControlRecordType::Commit, 1, 1_700_000_003_000);
    input.extend_from_slice(&transactional(17, 8, vec![commit], true)?);
    seeds.write("record_batches", "transactions", &input)?;
    Ok(())
}

/// One response frame (header and body, no length prefix) of API `key` at `version`.
fn frame<R: Encodable + HeaderVersion>(key: i16, version: i16, response: &R) -> Result<Vec<u8>> {
    // ApiVersions responses always use header v0.
    let header_version = if key == 18 {
        0
    } else {
        R::header_version(version)
    };
    let mut buf = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(7)
        .encode(&mut buf, header_version)?;
    response.encode(&mut buf, version)?;
    Ok(buf.to_vec())
}

fn name(text: &'static str) -> StrBytes {
    StrBytes::from_static_str(text)
}

fn topic(text: &'static str) -> TopicName {
    TopicName(name(text))
}

/// A response of each API at `version`, with some content in it.
fn response(key: i16, version: i16, records: &Bytes) -> Result<Vec<u8>> {
    let topic_id = uuid_of(1);
    match key {
        0 => frame(
            key,
            version,
            &ProduceResponse::default().with_responses(vec![
                produce_response::TopicProduceResponse::default()
                    .with_name(topic("events"))
                    .with_partition_responses(vec![
                        produce_response::PartitionProduceResponse::default()
                            .with_index(0)
                            .with_base_offset(42),
                    ]),
            ]),
        ),
        1 => {
            let mut topic_response = fetch_response::FetchableTopicResponse::default()
                .with_partitions(vec![
                    fetch_response::PartitionData::default()
                        .with_partition_index(0)
                        .with_high_watermark(20)
                        .with_last_stable_offset(20)
                        .with_aborted_transactions(Some(vec![
                            fetch_response::AbortedTransaction::default()
                                .with_producer_id(ProducerId(7))
                                .with_first_offset(10),
                        ]))
                        .with_records(Some(records.clone())),
                ]);
            topic_response = if version >= 13 {
                topic_response.with_topic_id(topic_id)
            } else {
                topic_response.with_topic(topic("events"))
            };
            frame(
                key,
                version,
                &FetchResponse::default().with_responses(vec![topic_response]),
            )
        }
        2 => frame(
            key,
            version,
            &ListOffsetsResponse::default().with_topics(vec![
                list_offsets_response::ListOffsetsTopicResponse::default()
                    .with_name(topic("events"))
                    .with_partitions(vec![
                        list_offsets_response::ListOffsetsPartitionResponse::default()
                            .with_partition_index(0)
                            .with_offset(20),
                    ]),
            ]),
        ),
        3 => {
            let mut topic_meta = metadata_response::MetadataResponseTopic::default()
                .with_name(Some(topic("events")))
                .with_partitions(vec![
                    metadata_response::MetadataResponsePartition::default()
                        .with_partition_index(0)
                        .with_leader_id(BrokerId(1))
                        .with_replica_nodes(vec![BrokerId(1)])
                        .with_isr_nodes(vec![BrokerId(1)]),
                ]);
            if version >= 10 {
                topic_meta = topic_meta.with_topic_id(topic_id);
            }
            frame(
                key,
                version,
                &MetadataResponse::default()
                    .with_brokers(vec![
                        metadata_response::MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(name("localhost"))
                            .with_port(9092),
                    ])
                    .with_controller_id(BrokerId(1))
                    .with_topics(vec![topic_meta]),
            )
        }
        8 => frame(
            key,
            version,
            &OffsetCommitResponse::default().with_topics(vec![
                offset_commit_response::OffsetCommitResponseTopic::default()
                    .with_name(topic("events"))
                    .with_partitions(vec![
                        offset_commit_response::OffsetCommitResponsePartition::default()
                            .with_partition_index(0),
                    ]),
            ]),
        ),
        9 => frame(
            key,
            version,
            &OffsetFetchResponse::default().with_topics(vec![
                offset_fetch_response::OffsetFetchResponseTopic::default()
                    .with_name(topic("events"))
                    .with_partitions(vec![
                        offset_fetch_response::OffsetFetchResponsePartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(12)
                            .with_metadata(Some(name(""))),
                    ]),
            ]),
        ),
        10 => {
            let response = if version >= 4 {
                FindCoordinatorResponse::default().with_coordinators(vec![
                    find_coordinator_response::Coordinator::default()
                        .with_key(name("group"))
                        .with_node_id(BrokerId(1))
                        .with_host(name("localhost"))
                        .with_port(9092),
                ])
            } else {
                FindCoordinatorResponse::default()
                    .with_node_id(BrokerId(1))
                    .with_host(name("localhost"))
                    .with_port(9092)
            };
            frame(key, version, &response)
        }
        18 => frame(
            key,
            version,
            &ApiVersionsResponse::default().with_api_keys(
                fuzzing::API_KEYS
                    .iter()
                    .filter_map(|&api| {
                        let (min, max) = fuzzing::supported_versions(api)?;
                        Some(
                            api_versions_response::ApiVersion::default()
                                .with_api_key(api)
                                .with_min_version(min)
                                .with_max_version(max),
                        )
                    })
                    .collect(),
            ),
        ),
        19 => frame(
            key,
            version,
            &CreateTopicsResponse::default().with_topics(vec![
                create_topics_response::CreatableTopicResult::default()
                    .with_name(topic("events"))
                    .with_error_code(36),
            ]),
        ),
        20 => frame(
            key,
            version,
            &DeleteTopicsResponse::default().with_responses(vec![
                delete_topics_response::DeletableTopicResult::default()
                    .with_name(Some(topic("events"))),
            ]),
        ),
        17 => frame(
            key,
            version,
            &SaslHandshakeResponse::default()
                .with_mechanisms(vec![name("PLAIN"), name("SCRAM-SHA-256")]),
        ),
        36 => frame(
            key,
            version,
            &SaslAuthenticateResponse::default()
                .with_auth_bytes(Bytes::from_static(b"r=nonce,s=c2FsdA==,i=4096")),
        ),
        _ => Err(format!("no sample response for API {key}").into()),
    }
}

/// `responses` (the API and version bytes, then a frame) and `frames` (the same two bytes, then
/// two length-prefixed frames), for each API at its lowest and highest version.
fn responses(seeds: &mut Seeds) -> Result {
    let records = batch(0, Compression::Lz4, 3)?;
    for (index, &key) in fuzzing::API_KEYS.iter().enumerate() {
        let (min, max) = fuzzing::supported_versions(key).ok_or("an API without versions")?;
        for version in [min, max] {
            let body = response(key, version, &records)
                .map_err(|e| format!("API {key} v{version}: {e}"))?;
            fuzzing::decode_response(key, version, Bytes::copy_from_slice(&body))
                .map_err(|e| format!("the API {key} v{version} seed does not decode: {e}"))?;
            let mut input = vec![index as u8, (version - min) as u8];
            input.extend_from_slice(&body);
            seeds.write("responses", &format!("api{key}-v{version}"), &input)?;
            let mut stream = input[..2].to_vec();
            for _ in 0..2 {
                stream.extend_from_slice(&(body.len() as i32).to_be_bytes());
                stream.extend_from_slice(&body);
            }
            seeds.write("frames", &format!("api{key}-v{version}"), &stream)?;
        }
    }
    Ok(())
}

/// `json_columns`: a flag byte, the separator `\n`, then one JSON document per line.
fn json_columns(seeds: &mut Seeds) -> Result {
    let lines: &[(&str, u8, &[&str])] = &[
        (
            "flat",
            0,
            &[
                r#"{"id": 1, "name": "a", "score": 1.5, "ok": true}"#,
                r#"{"id": 2, "name": "b", "score": 2, "ok": false, "late": null}"#,
                r#"{"id": 18446744073709551615, "name": "\u00e9\ud83d\ude00", "score": -1e300}"#,
            ],
        ),
        (
            "nested",
            0,
            &[
                r#"{"user": {"id": 1, "tags": ["x", "y"], "geo": {"lat": 1.0}}, "items": [{"sku": "a", "qty": 2}]}"#,
                r#"{"user": {"id": 2, "tags": [], "geo": null}, "items": [{"sku": "b"}, {"qty": 1.5}]}"#,
                r#"{"user": {}, "items": [[1, 2], [3]]}"#,
            ],
        ),
        (
            "mixed",
            0,
            &[
                r#"{"v": 1, "w": [1, "two"], "x": {"a": 1}}"#,
                r#"{"v": "one", "w": {"k": true}, "x": 3}"#,
                r#"[1, 2, 3]"#,
                r#""just a string""#,
                r#"{"v": 1, "broken": "#,
                "",
                r#"{"v": 2.5, "x": {"a": "b", "c": [null]}}"#,
            ],
        ),
        // Keys (length byte first) as JSON text, metadata and headers columns.
        (
            "keys-metadata",
            1 | 2 | 8 | 16,
            &[
                "\u{3}\"k\"{\"id\": 1}",
                "\u{2}{}{\"id\": 2, \"_kafka_offset\": 9}",
                "\u{4}nope{\"id\": 3}",
            ],
        ),
        // Stacked segments of 2 messages, with types that change between segments.
        (
            "segments",
            64,
            &[
                r#"{"a": 1, "b": {"c": 1}}"#,
                r#"{"a": 2}"#,
                r#"{"a": 2.5, "b": {"d": "x"}}"#,
                r#"{"a": null, "b": null, "e": [1]}"#,
                r#"{"a": 3, "e": [1.5, null]}"#,
            ],
        ),
        (
            "on-malformed-error",
            32,
            &[r#"{"a": 1}"#, r#"{"a": tru}"#, r#"{"a": 2}"#],
        ),
    ];
    for (name, flags, lines) in lines {
        let mut input = vec![*flags, b'\n'];
        input.extend_from_slice(lines.join("\n").as_bytes());
        seeds.write("json_columns", name, &input)?;
    }
    Ok(())
}

/// Avro's binary encoding, enough for the seed datums of `fuzz/avro/event.avsc`.
#[derive(Default)]
struct Datum(Vec<u8>);

impl Datum {
    fn long(&mut self, n: i64) -> &mut Self {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        loop {
            let byte = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                self.0.push(byte);
                return self;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.long(b.len() as i64);
        self.0.extend_from_slice(b);
        self
    }

    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
}

/// One datum of the seed schema; `variant` varies unions, counts and values.
fn event(variant: i64) -> Vec<u8> {
    let mut d = Datum::default();
    d.long(variant * 1_000_003) // id
        .raw(&[u8::from(variant % 2 == 0)]) // flag
        .long(-variant) // count
        .raw(&(variant as f32 / 3.0).to_le_bytes()) // ratio
        .raw(&(variant as f64 * 1.5e10).to_le_bytes()) // score
        .bytes(format!("name-{variant}").as_bytes())
        .bytes(&[0, 1, 2, 255]); // blob
    // note: null, or the string branch.
    if variant % 2 == 0 {
        d.long(0);
    } else {
        d.long(1).bytes(b"a note");
    }
    // any: each branch in turn.
    match variant % 6 {
        0 => d.long(0),
        1 => d.long(1).long(i64::MAX),
        2 => d.long(2).raw(&f64::NAN.to_le_bytes()),
        3 => d.long(3).bytes(b"text"),
        4 => d.long(4).bytes(&[0xde, 0xad]),
        _ => d.long(5).raw(&[1]),
    };
    d.long(variant % 3) // kind
        .raw(b"\x01\x02\x03\x04"); // digest
    // tags: two blocks, the second with a negative count and its byte size.
    d.long(2).bytes(b"x").bytes(b"y");
    if variant % 2 == 1 {
        d.long(-1).long(2).bytes(b"z");
    }
    d.long(0);
    // attrs: {"a": 1, "b": null}
    d.long(2)
        .bytes(b"a")
        .long(1)
        .long(1)
        .bytes(b"b")
        .long(0)
        .long(0);
    // nested: a node with one child, or null.
    if variant % 3 == 0 {
        d.long(0);
    } else {
        d.long(1).long(1).long(1).long(2).long(0).long(0);
    }
    // nulls: three items that encode to nothing.
    d.long(3).long(0);
    d.bytes(b"550e8400-e29b-41d4-a716-446655440000") // uid
        .raw(&[0x55; 16]) // fuid
        .long(19_782 + variant) // day
        .long(45_296_789) // time_ms
        .long(45_296_789_012) // time_us
        .long(1_700_000_000_000) // ts_ms
        .long(1_700_000_000_000_123) // ts_us
        .long(-1_700_000_000_000_123_456) // ts_ns
        .long(1_700_000_000_000) // local_ts
        .bytes(&(-12_340i64 - variant).to_be_bytes()[5..]) // price
        .raw(&(123_456_789i64 * variant).to_be_bytes()); // fprice
    // big: unscaled bytes, then the scale.
    let mut big = Datum::default();
    big.bytes(&[0x30, 0x39]).long(2);
    d.bytes(&big.0);
    // span: months, days, millis, little-endian u32s.
    for n in [1u32, 2, 3_600_000] {
        d.raw(&n.to_le_bytes());
    }
    d.0
}

/// `avro_columns`: a flag byte, the separator 0xC1 (a byte no seed datum contains: checked),
/// then raw datums.
fn avro_columns(seeds: &mut Seeds) -> Result {
    const SEPARATOR: u8 = 0xC1;
    let schema =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("avro/event.avsc"))?;
    let deserializer = truthound_avro::AvroDeserializer::from_schema_json(&schema)?;
    let cases: &[(&str, u8, &[i64])] = &[
        ("one", 0, &[1]),
        ("variants", 0, &[0, 1, 2, 3, 4, 5]),
        ("segments-metadata", 64 | 8 | 16, &[1, 2, 3, 4, 5]),
    ];
    for (name, flags, variants) in cases {
        let mut input = vec![*flags, SEPARATOR];
        for (i, &variant) in variants.iter().enumerate() {
            let datum = event(variant);
            deserializer
                .deserialize(&datum)
                .map_err(|e| format!("seed datum {variant} does not decode: {e}"))?;
            if datum.contains(&SEPARATOR) {
                return Err(format!("seed datum {variant} contains the separator").into());
            }
            if i > 0 {
                input.push(SEPARATOR);
            }
            input.extend_from_slice(&datum);
        }
        seeds.write("avro_columns", name, &input)?;
    }
    Ok(())
}

fn uuid_of(n: u8) -> uuid::Uuid {
    uuid::Uuid::from_bytes([n; 16])
}
