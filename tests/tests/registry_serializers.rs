//! Topics written by confluent-kafka's schema-registry serializers (`AvroSerializer`,
//! `JSONSerializer`, `ProtobufSerializer`, with fastavro, jsonschema and protobuf in the interop
//! peer's virtualenv), against
//! a registry inside the test that speaks the Confluent REST API, read by KafkaDataSource.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use polars::prelude::{AnyValue, DataFrame, DataType, TimeUnit, TimeZone};
use truthound::datasources::streaming::{
    DeserializerType, KafkaDataSource, KafkaDataSourceConfig, KeyDeserializer, PolarsSourceExt,
};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_tests::registry::ConfluentRegistry;
use truthound_tests::{broker_address, python, unique_topic};

const PARTITIONS: usize = 3;

/// A new topic of `PARTITIONS` partitions, filled by `peer.py produce-registry` with `count`
/// records of `kind`, registering its schemas in `registry`.
async fn produced(registry: &ConfluentRegistry, kind: &str, count: usize) -> String {
    produced_with_keys(registry, kind, count, "string").await
}

/// As [`produced`], with keys of `keys` (`peer.py`'s `key_serializer`: string, avro, protobuf
/// or json; with the registry formats, record `i` has no key when `i % 10 == 9`).
async fn produced_with_keys(
    registry: &ConfluentRegistry,
    kind: &str,
    count: usize,
    keys: &str,
) -> String {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("serializers");
    client
        .create_topic(&topic, PARTITIONS as i32, 1)
        .await
        .unwrap();
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "interop", "peer.py"]
        .iter()
        .collect();
    let out = Command::new(python())
        .arg(script)
        .args([
            "produce-registry",
            &broker_address(),
            &topic,
            registry.url(),
            kind,
        ])
        .args([count.to_string(), PARTITIONS.to_string(), keys.to_owned()])
        .output()
        .expect("run the interop peer");
    assert!(
        out.status.success(),
        "the interop peer failed (its virtualenv needs confluent-kafka[avro,json,schemaregistry]: \
         `cargo xtask peer install`): {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    topic
}

/// The producer's record numbers in snapshot order: by partition, then offset (record `i` went
/// to partition `i % PARTITIONS`).
fn snapshot_order(count: usize) -> Vec<usize> {
    (0..PARTITIONS)
        .flat_map(|p| (p..count).step_by(PARTITIONS))
        .collect()
}

async fn read(config: KafkaDataSourceConfig) -> DataFrame {
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert!(
        snapshot.report.skipped.is_empty(),
        "{:?}",
        snapshot.report.skipped
    );
    snapshot.frame
}

fn names(df: &DataFrame) -> Vec<&str> {
    df.get_column_names().iter().map(|c| c.as_str()).collect()
}

fn cell(df: &DataFrame, column: &str, row: usize) -> String {
    match df.column(column).unwrap().get(row).unwrap() {
        AnyValue::Null => "null".to_owned(),
        AnyValue::String(s) => s.to_owned(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_evolving_avro_versions_read_as_the_latest_in_one_snapshot() {
    let registry = ConfluentRegistry::start();
    let count = 60;
    let topic = produced(&registry, "avro-evolving", count).await;
    let subject = format!("{topic}-value");
    let versions = registry.versions(&subject);
    assert_eq!(versions.len(), 3, "the peer registers three versions");

    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_deserializer_type(DeserializerType::Avro)
        .with_schema_registry_url(registry.url())
        .with_include_key(false);
    let df = read(config.clone()).await;
    // The latest version's fields and types, whichever version wrote each message.
    assert_eq!(names(&df), ["id", "score", "country", "tags", "since"]);
    assert_eq!(df.column("id").unwrap().dtype(), &DataType::Int64);
    assert_eq!(df.column("score").unwrap().dtype(), &DataType::Float64);
    assert_eq!(df.column("since").unwrap().dtype(), &DataType::Date);
    assert_eq!(df.height(), count);
    for (row, i) in snapshot_order(count).into_iter().enumerate() {
        let (score, country, tags, since) = match i % 3 {
            // v1: `country`, `tags` and `since` from v3's defaults; `nick` left out.
            0 => (
                i as f64 + 0.5,
                "unknown".to_owned(),
                "[\"new\"]".to_owned(),
                "null".to_owned(),
            ),
            1 => (
                i as f64 + 0.5,
                format!("C{}", i % 5),
                "[\"new\"]".to_owned(),
                "null".to_owned(),
            ),
            _ => {
                let tags: Vec<String> = (0..i % 4).map(|j| format!("\"t{j}\"")).collect();
                let since = if i % 2 == 1 {
                    "null".to_owned()
                } else {
                    // 2024-01-01 plus i days.
                    let days = 19_723 + i as i32;
                    truthound::core::temporal::iso_date(days)
                };
                (
                    i as f64 + 0.25,
                    format!("C{}", i % 5),
                    format!("[{}]", tags.join(", ")),
                    since,
                )
            }
        };
        assert_eq!(cell(&df, "id", row), i.to_string(), "row {row}");
        assert_eq!(cell(&df, "score", row), score.to_string(), "row {row}");
        assert_eq!(cell(&df, "country", row), country, "row {row}");
        assert_eq!(cell(&df, "tags", row), tags, "row {row}");
        assert_eq!(cell(&df, "since", row), since, "row {row}");
    }
    // Each schema id and the latest version were asked for once.
    for id in &versions {
        assert_eq!(registry.requests(&format!("GET /schemas/ids/{id}")), 1);
    }
    assert_eq!(
        registry.requests(&format!("GET /subjects/{subject}/versions/latest")),
        1
    );

    // Read as written: the union of every version's fields, missing ones null.
    let df = read(config.with_avro_reader_schema("writer")).await;
    assert_eq!(
        names(&df),
        ["id", "nick", "score", "country", "tags", "since"]
    );
    let first_v3 = snapshot_order(count)
        .iter()
        .position(|i| i % 3 == 2)
        .unwrap();
    assert_eq!(cell(&df, "nick", first_v3), "null");
    let first_v1 = snapshot_order(count)
        .iter()
        .position(|i| i % 3 == 0)
        .unwrap();
    assert_eq!(cell(&df, "country", first_v1), "null");
}

#[tokio::test(flavor = "multi_thread")]
async fn avro_logical_types_at_their_edges_from_fastavro() {
    let registry = ConfluentRegistry::start();
    let topic = produced(&registry, "avro-logical", 3).await;
    let df = read(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Avro)
            .with_schema_registry_url(registry.url())
            .with_include_key(false)
            .with_partition(0),
    )
    .await;
    // Partition 0 holds record 0 only; read every partition for the other two.
    assert_eq!(df.height(), 1);
    let df = read(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Avro)
            .with_schema_registry_url(registry.url())
            .with_include_key(false),
    )
    .await;
    assert_eq!(
        df.dtypes(),
        [
            DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            DataType::Datetime(TimeUnit::Milliseconds, None),
            DataType::Date,
            DataType::Time,
            DataType::Time,
            DataType::Decimal(38, 10),
            DataType::Decimal(38, 0),
            DataType::String,
        ]
    );
    let rows: Vec<String> = (0..3)
        .map(|row| {
            names(&df)
                .iter()
                .map(|c| cell(&df, c, row))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    assert_eq!(
        rows,
        [
            "1970-01-01 00:00:00 UTC | 1970-01-01 00:00:00 UTC | 1970-01-01 00:00:00 | 1970-01-01 \
             | 00:00:00 | 00:00:00 | 0.0000000000 | 0 | 00000000-0000-0000-0000-000000000000",
            "1969-12-31 23:59:59.999 UTC | 1969-12-31 23:59:59.999999 UTC | 1969-12-31 \
             23:59:59.999 | 1969-12-31 | 23:59:59.999 | 23:59:59.999999 | \
             -9999999999999999999999999999.9999999999 | -99999999999999999999999999999999999999 \
             | 550e8400-e29b-41d4-a716-446655440000",
            "9999-12-31 23:59:59.999 UTC | 9999-12-31 23:59:59.999999 UTC | 9999-12-31 \
             23:59:59.999 | 9999-12-31 | 12:00:00 | 12:00:00.000001 | \
             9999999999999999999999999999.9999999999 | 99999999999999999999999999999999999999 \
             | ffffffff-ffff-ffff-ffff-ffffffffffff",
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_framed_json_from_the_json_serializer() {
    let registry = ConfluentRegistry::start();
    let count = 30;
    let topic = produced(&registry, "json", count).await;
    let df = read(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Json)
            .with_include_key(false),
    )
    .await;
    assert_eq!(names(&df), ["sensor", "celsius", "ok"]);
    assert_eq!(df.height(), count);
    for (row, i) in snapshot_order(count).into_iter().enumerate() {
        assert_eq!(cell(&df, "sensor", row), format!("s{}", i % 4));
        assert_eq!(
            df.column("celsius")
                .unwrap()
                .get(row)
                .unwrap()
                .extract::<f64>(),
            Some(i as f64 / 4.0)
        );
        assert_eq!(cell(&df, "ok", row), (i % 3 != 0).to_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_schema_types_from_the_registry_make_the_columns() {
    let registry = ConfluentRegistry::start();
    let count = 30;
    let topic = produced(&registry, "json-typed", count).await;
    let snapshot = KafkaDataSource::new(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Json)
            .with_schema_registry_url(registry.url())
            .with_include_key(false),
    )
    .unwrap()
    .to_polars_dataframe()
    .await
    .unwrap();
    // Record 7 has a date that does not exist: skipped, with its place and the field.
    let skipped = &snapshot.report.skipped;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!((skipped[0].partition, skipped[0].offset), (1, 2));
    assert!(
        skipped[0]
            .reason
            .contains(r#"field "day": "2024-02-30" is not an RFC 3339 date"#),
        "{}",
        skipped[0].reason
    );
    let df = snapshot.frame;
    let utc_us = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let dtypes: Vec<(&str, DataType)> = df
        .columns()
        .iter()
        .map(|c| (c.name().as_str(), c.dtype().clone()))
        .collect();
    assert_eq!(
        dtypes,
        [
            ("sensor", DataType::String),
            ("at", utc_us.clone()),
            ("day", DataType::Date),
            ("clock", DataType::Time),
            // Written as integers, typed `number`.
            ("celsius", DataType::Float64),
            ("count", DataType::Int64),
            ("seen", utc_us),
            ("history", DataType::List(Box::new(DataType::Date))),
        ]
    );
    let order: Vec<usize> = snapshot_order(count)
        .into_iter()
        .filter(|&i| i != 7)
        .collect();
    assert_eq!(df.height(), order.len());
    for (row, &i) in order.iter().enumerate() {
        // 12:00:ss.ffffff+01:00 is 11:00:ss.ffffff UTC.
        let at = 1_709_204_400_000_000 + i as i64 * 1_000_000 + i as i64;
        let cell = |c: &str| df.column(c).unwrap().get(row).unwrap().into_static();
        let instant = |c: &str| {
            df.column(c)
                .unwrap()
                .datetime()
                .unwrap()
                .physical()
                .get(row)
        };
        assert_eq!(instant("at"), Some(at), "row {row}");
        assert_eq!(cell("day"), AnyValue::Date(19_723 + i as i32));
        assert_eq!(
            cell("clock"),
            AnyValue::Time((12 * 3600 + i as i64 * 60) * 1_000_000_000)
        );
        assert_eq!(cell("celsius"), AnyValue::Float64(i as f64));
        assert_eq!(cell("count"), AnyValue::Int64(i as i64 * 10));
        assert_eq!(instant("seen"), (i % 2 == 0).then_some(at));
        let history = df
            .column("history")
            .unwrap()
            .list()
            .unwrap()
            .get_as_series(row)
            .unwrap();
        let days: Vec<Option<i32>> = history.to_physical_repr().i32().unwrap().iter().collect();
        assert_eq!(
            days,
            (0..i as i32 % 3)
                .map(|j| Some(19_723 + j))
                .collect::<Vec<_>>()
        );
    }
    // The one schema was fetched once, by its id.
    let ids = value_schema_ids(&registry, &topic);
    assert_eq!(ids.len(), 1);
    assert_eq!(
        registry.requests(&format!("GET /schemas/ids/{}", ids[0])),
        1
    );
}

/// The message `peer.py` builds for the `protobuf` kind, as `.proto` text.
const READING_PROTO: &str = r#"syntax = "proto3";
package iot;
import "google/protobuf/timestamp.proto";
message Reading {
  enum Status { OK = 0; FAULT = 1; }
  string sensor = 1;
  double celsius = 2;
  repeated string tags = 3;
  google.protobuf.Timestamp at = 4;
  Status status = 5;
  map<string, int32> counts = 6;
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn confluent_framed_protobuf_from_the_protobuf_serializer() {
    let registry = ConfluentRegistry::start();
    let count = 30;
    let topic = produced(&registry, "protobuf", count).await;
    let df = read(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Protobuf)
            .with_protobuf_schema(READING_PROTO, None::<String>)
            .with_include_key(false),
    )
    .await;
    assert_eq!(
        names(&df),
        ["sensor", "celsius", "tags", "at", "status", "counts"]
    );
    assert_eq!(
        df.column("at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
    );
    assert_eq!(df.height(), count);
    for (row, i) in snapshot_order(count).into_iter().enumerate() {
        assert_eq!(cell(&df, "sensor", row), format!("s{}", i % 4));
        assert_eq!(
            df.column("celsius")
                .unwrap()
                .get(row)
                .unwrap()
                .extract::<f64>(),
            Some(i as f64 / 4.0)
        );
        let tags: Vec<String> = (0..i % 3).map(|j| format!("\"t{j}\"")).collect();
        assert_eq!(cell(&df, "tags", row), format!("[{}]", tags.join(", ")));
        let at = match df.column("at").unwrap().get(row).unwrap() {
            AnyValue::Datetime(ns, _, _) => ns,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            at,
            (1_700_000_000 + i as i64) * 1_000_000_000 + i as i64 * 1000
        );
        assert_eq!(cell(&df, "status", row), ["OK", "FAULT"][i % 2]);
    }
    // A map field is a struct of its keys: `c0` where the message had it, null elsewhere.
    let first_with = snapshot_order(count)
        .iter()
        .position(|i| i % 2 == 1)
        .unwrap();
    let counts = cell(&df, "counts", first_with);
    assert!(
        counts.contains(&snapshot_order(count)[first_with].to_string()),
        "{counts}"
    );
}

/// The schema ids the peer registered for a topic's values.
fn value_schema_ids(registry: &ConfluentRegistry, topic: &str) -> Vec<u32> {
    let ids = registry.versions(&format!("{topic}-value"));
    assert!(!ids.is_empty(), "the serializer registered {topic}-value");
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn protobuf_schemas_from_the_registry_by_id_descriptor_and_proto_text() {
    let registry = ConfluentRegistry::start();
    let count = 30;
    let topic = produced(&registry, "protobuf", count).await;
    let ids = value_schema_ids(&registry, &topic);
    assert_eq!(ids.len(), 1);
    let (registered, schema_type) = registry.schema(ids[0]);
    assert_eq!(schema_type, "PROTOBUF");
    // Also a raw message and a frame naming a schema id the registry does not have, at offsets
    // 10 and 11 of partition 0 (which holds records 0, 3, ... 27).
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let raw = ProduceRecord::new(Bytes::from_static(&[0x0a, 4, b's', b'-', b'9', b'9']));
    let unknown = ProduceRecord::new(Bytes::from_static(&[0, 0, 0, 0x30, 0x39, 0, 0x0a, 0]));
    client
        .produce(&topic, 0, vec![raw, unknown], ProduceOptions::default())
        .await
        .unwrap();

    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_deserializer_type(DeserializerType::Protobuf)
        .with_schema_registry_url(registry.url())
        .with_include_key(false);
    let check = |snapshot: truthound_polars::Snapshot| {
        let df = snapshot.frame;
        assert_eq!(
            names(&df),
            ["sensor", "celsius", "tags", "at", "status", "counts"]
        );
        assert_eq!(
            df.column("at").unwrap().dtype(),
            &DataType::Datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC))
        );
        assert_eq!(df.height(), count);
        for (row, i) in snapshot_order(count).into_iter().enumerate() {
            assert_eq!(cell(&df, "sensor", row), format!("s{}", i % 4));
            let tags: Vec<String> = (0..i % 3).map(|j| format!("\"t{j}\"")).collect();
            assert_eq!(cell(&df, "tags", row), format!("[{}]", tags.join(", ")));
            assert_eq!(cell(&df, "status", row), ["OK", "FAULT"][i % 2]);
        }
        let skipped: Vec<(i32, i64)> = snapshot
            .report
            .skipped
            .iter()
            .map(|s| (s.partition, s.offset))
            .collect();
        assert_eq!(skipped, [(0, 10), (0, 11)]);
        let reasons: Vec<&str> = snapshot
            .report
            .skipped
            .iter()
            .map(|s| s.reason.as_str())
            .collect();
        assert!(
            reasons[0].contains("magic byte 0x0a is not 0: expected Confluent wire format"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].contains("could not get Protobuf schema id 12345"),
            "{reasons:?}"
        );
    };
    // As the Python serializer registered it: a base64 FileDescriptorProto.
    assert!(!registered.contains("message"), "{registered}");
    let snapshot = KafkaDataSource::new(config.clone())
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    check(snapshot);
    assert_eq!(
        registry.requests(&format!("GET /schemas/ids/{}", ids[0])),
        1
    );

    // As the Java serializer registers it: .proto text.
    registry.replace_schema(ids[0], READING_PROTO);
    let snapshot = KafkaDataSource::new(config.clone())
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    check(snapshot);

    // A schema that is not Protobuf fails its messages with a reason naming the id.
    registry.replace_schema(ids[0], "message {");
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert_eq!(snapshot.frame.height(), 0);
    assert_eq!(snapshot.report.skipped.len(), count + 2);
    let reason = &snapshot.report.skipped[0].reason;
    assert!(
        reason.contains(&format!("Protobuf schema id {} (", ids[0]))
            && reason.contains("does not compile"),
        "{reason}"
    );
}

/// Keys written by the registry serializers: Avro records and Protobuf messages become their
/// compact JSON, a JSON key loses its wire-format header; keyless records have a null key.
#[tokio::test(flavor = "multi_thread")]
async fn keys_from_the_registry_serializers_make_the_key_column() {
    let registry = ConfluentRegistry::start();
    let count = 20;
    let order = snapshot_order(count);
    type Expected = fn(usize) -> String;
    let cases: [(KeyDeserializer, &str, Expected); 3] = [
        (KeyDeserializer::Avro, "avro", |i| {
            format!(r#"{{"site":"s{}","n":{i}}}"#, i % 4)
        }),
        (KeyDeserializer::Protobuf, "protobuf", |i| {
            format!(r#"{{"sensor":"s{}","celsius":{:?}"#, i % 4, i as f64 / 2.0)
        }),
        (KeyDeserializer::Json, "json", |i| {
            format!(r#"{{"id":{i}}}"#)
        }),
    ];
    for (kind, keys, expected) in cases {
        let topic = produced_with_keys(&registry, "json", count, keys).await;
        let config = KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_deserializer_type(DeserializerType::Json)
            .with_schema_registry_url(registry.url())
            .with_key_deserializer(kind);
        let df = read(config).await;
        assert_eq!(df.height(), count, "{keys}");
        assert_eq!(df.column("_kafka_key").unwrap().dtype(), &DataType::String);
        for (row, &i) in order.iter().enumerate() {
            let key = cell(&df, "_kafka_key", row);
            if i % 10 == 9 {
                assert_eq!(key, "null", "{keys} key of record {i}");
            } else if kind == KeyDeserializer::Protobuf {
                // The message's other fields follow with their proto3 defaults.
                assert!(
                    key.starts_with(&expected(i)),
                    "{keys} key of record {i}: {key}"
                );
            } else {
                assert_eq!(key, expected(i), "{keys} key of record {i}");
            }
            assert_eq!(cell(&df, "sensor", row), format!("s{}", i % 4));
        }
        if kind != KeyDeserializer::Json {
            // The key's schema was fetched once, by its id.
            let ids = registry.versions(&format!("{topic}-key"));
            assert_eq!(ids.len(), 1, "{keys}");
            assert_eq!(
                registry.requests(&format!("GET /schemas/ids/{}", ids[0])),
                1,
                "{keys}"
            );
        }
    }

    // A key that is not in the wire format is reported with its place.
    let topic = produced(&registry, "json", 6).await;
    let snapshot = KafkaDataSource::new(
        KafkaDataSourceConfig::new(broker_address(), &topic)
            .with_schema_registry_url(registry.url())
            .with_key_deserializer(KeyDeserializer::Avro),
    )
    .unwrap()
    .to_polars_dataframe()
    .await
    .unwrap();
    assert_eq!(snapshot.frame.height(), 0);
    let skipped = &snapshot.report.skipped;
    assert_eq!(skipped.len(), 6, "{skipped:?}");
    assert_eq!((skipped[0].partition, skipped[0].offset), (0, 0));
    assert!(
        skipped[0].reason.starts_with("key: "),
        "{}",
        skipped[0].reason
    );
}
