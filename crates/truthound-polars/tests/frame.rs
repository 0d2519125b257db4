//! Inference rules, malformed records, tombstones and metadata columns of `MessageFrameBuilder`.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use polars::prelude::*;
use truthound_json::{BytesDeserializer, StringDeserializer};
use truthound_polars::{Error, MessageFrameBuilder, SkippedMessage, frame_schema};
use truthound_streaming_core::{
    DataType as CoreType, DeserializeFailure, FieldNote, KeyDeserializer, MessageDeserializer,
    OnMalformed, RawMessage, StreamingDataSourceConfig, ValueVisitor,
};

fn mixed(seen: Vec<CoreType>) -> FieldNote {
    FieldNote::MixedTypesAsJsonText { seen }
}

#[test]
fn objects_become_rows_with_columns_in_first_seen_order() {
    let (df, report) = build(&[
        r#"{"user_id": 1, "action": "login", "ok": true, "amount": 1.5}"#,
        r#"{"user_id": 2, "action": "logout", "ok": false, "amount": 2.0}"#,
    ]);
    assert_eq!(names(&df), ["user_id", "action", "ok", "amount"]);
    assert_eq!(
        df.dtypes(),
        [
            DataType::Int64,
            DataType::String,
            DataType::Boolean,
            DataType::Float64
        ]
    );
    assert_eq!(ints(column(&df, "user_id")), [Some(1), Some(2)]);
    assert_eq!(
        strs(column(&df, "action")),
        [Some("login".into()), Some("logout".into())]
    );
    let ok: Vec<_> = column(&df, "ok").bool().unwrap().iter().collect();
    assert_eq!(ok, [Some(true), Some(false)]);
    assert_eq!(report.rows, 2);
    assert!(report.skipped.is_empty() && report.notes.is_empty());
}

#[test]
fn ints_and_floats_in_one_field_become_float64() {
    let (df, report) = build(&[
        r#"{"x": 1}"#,
        r#"{"x": 2.5}"#,
        r#"{"x": -3}"#,
        r#"{"x": null}"#,
    ]);
    assert_eq!(column(&df, "x").dtype(), &DataType::Float64);
    assert_eq!(
        floats(column(&df, "x")),
        [Some(1.0), Some(2.5), Some(-3.0), None]
    );
    assert!(report.notes.is_empty(), "widening is not a mixed-type note");
}

#[test]
fn big_unsigned_integers() {
    let (df, _) = build(&[
        r#"{"u": 1}"#,
        r#"{"u": 18446744073709551615}"#,
        r#"{"u": 2}"#,
    ]);
    let u: Vec<_> = column(&df, "u").u64().unwrap().iter().collect();
    assert_eq!(u, [Some(1), Some(u64::MAX), Some(2)]);

    // A negative value does not fit UInt64: Float64.
    let (df, _) = build(&[r#"{"u": 18446744073709551615}"#, r#"{"u": -1}"#]);
    assert_eq!(
        floats(column(&df, "u")),
        [Some(1.8446744073709552e19), Some(-1.0)]
    );
    let (df, _) = build(&[r#"{"u": -1}"#, r#"{"u": 18446744073709551615}"#]);
    assert_eq!(
        floats(column(&df, "u")),
        [Some(-1.0), Some(1.8446744073709552e19)]
    );

    // Beyond u64: a float.
    let (df, _) = build(&[r#"{"u": 1}"#, r#"{"u": 100000000000000000000}"#]);
    assert_eq!(floats(column(&df, "u")), [Some(1.0), Some(1e20)]);
}

#[test]
fn incompatible_scalars_become_json_text_with_a_note() {
    let (df, report) = build(&[
        r#"{"v": 123}"#,
        r#"{"v": "abc"}"#,
        r#"{"v": null}"#,
        r#"{"v": true}"#,
        r#"{"v": 1.5}"#,
        r#"{"v": "say \"hi\""}"#,
    ]);
    assert_eq!(column(&df, "v").dtype(), &DataType::String);
    assert_eq!(
        strs(column(&df, "v")),
        [
            Some("123".into()),
            Some("\"abc\"".into()),
            None,
            Some("true".into()),
            Some("1.5".into()),
            Some(r#""say \"hi\"""#.into()),
        ]
    );
    assert_eq!(
        report.note_for(&["v"]),
        Some(&mixed(vec![
            CoreType::Int64,
            CoreType::Utf8,
            CoreType::Boolean,
            CoreType::Float64
        ]))
    );
    let schema = frame_schema(&df, &report);
    let field = schema.field("v").unwrap();
    assert_eq!(field.data_type, CoreType::Utf8);
    assert!(field.nullable);
    assert!(matches!(
        field.note,
        Some(FieldNote::MixedTypesAsJsonText { .. })
    ));
}

#[test]
fn objects_mixed_with_scalars_become_json_text() {
    let (df, report) = build(&[
        r#"{"d": {"os": "ios", "v": [1, 2]}}"#,
        r#"{"d": {"os": null}}"#,
        r#"{"d": "n/a"}"#,
        r#"{"d": {"later": {"deep": [true]}}}"#,
        r#"{}"#,
        r#"{"d": [1, "x"]}"#,
    ]);
    assert_eq!(
        strs(column(&df, "d")),
        [
            Some(r#"{"os":"ios","v":[1,2]}"#.into()),
            Some(r#"{"os":null,"v":null}"#.into()),
            Some(r#""n/a""#.into()),
            Some(r#"{"later":{"deep":[true]}}"#.into()),
            None,
            Some(r#"[1,"x"]"#.into()),
        ]
    );
    let Some(FieldNote::MixedTypesAsJsonText { seen }) = report.note_for(&["d"]) else {
        panic!("no note: {report:?}");
    };
    assert_eq!(seen[0].to_string(), "Struct{os: Utf8, v: List<Int64>}");
    assert_eq!(seen[1], CoreType::Utf8);
    assert!(matches!(seen[2], CoreType::List(_)));
    assert_eq!(
        seen.len(),
        3,
        "a later object repeats the struct kind: {seen:?}"
    );
}

#[test]
fn mixed_list_elements_become_json_text_elements() {
    let (df, report) = build(&[r#"{"l": [1, 2]}"#, r#"{"l": ["a", {"b": 1}]}"#]);
    assert_eq!(
        column(&df, "l").dtype(),
        &DataType::List(Box::new(DataType::String))
    );
    let second = column(&df, "l").list().unwrap().get_as_series(1).unwrap();
    assert_eq!(
        strs(&second),
        [Some("\"a\"".into()), Some(r#"{"b":1}"#.into())]
    );
    // The note is attached to the list field.
    assert!(report.note_for(&["l"]).is_some());
    let schema = frame_schema(&df, &report);
    assert_eq!(
        schema.field("l").unwrap().data_type.to_string(),
        "List<Utf8>"
    );
    assert!(schema.field("l").unwrap().note.is_some());
}

#[test]
fn missing_fields_are_null_and_late_fields_are_backfilled() {
    let mut payloads: Vec<String> = (0..1000).map(|i| format!(r#"{{"a": {i}}}"#)).collect();
    payloads.push(r#"{"late": "x", "a": 1000}"#.into());
    payloads.push(r#"{"b": true}"#.into());
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let (df, _) = build(&refs);
    assert_eq!(names(&df), ["a", "late", "b"]);
    assert_eq!(df.height(), 1002);
    let late = strs(column(&df, "late"));
    assert!(late[..1000].iter().all(Option::is_none));
    assert_eq!(late[1000].as_deref(), Some("x"));
    assert_eq!(late[1001], None);
    assert_eq!(column(&df, "a").null_count(), 1);
    assert_eq!(ints(column(&df, "a"))[1000], Some(1000));
    assert_eq!(column(&df, "b").null_count(), 1001);
}

#[test]
fn nested_structs_and_lists() {
    let (df, report) = build(&[
        r#"{"device": {"os": "ios", "version": "17"}, "tags": ["a", "b"], "items": [{"sku": "x", "qty": 1}], "m": [[1], []]}"#,
        r#"{"device": {"version": "18", "extra": {"x": 1}}, "tags": [], "items": [{"sku": "y"}, {"qty": 2.5}]}"#,
        r#"{"device": null, "tags": null}"#,
    ]);
    let device = column(&df, "device");
    assert_eq!(
        device.dtype(),
        &DataType::Struct(vec![
            Field::new("os".into(), DataType::String),
            Field::new("version".into(), DataType::String),
            Field::new(
                "extra".into(),
                DataType::Struct(vec![Field::new("x".into(), DataType::Int64)])
            ),
        ])
    );
    let sc = device.struct_().unwrap();
    assert_eq!(
        strs(&sc.field_by_name("os").unwrap()),
        [Some("ios".into()), None, None]
    );
    assert_eq!(
        strs(&sc.field_by_name("version").unwrap()),
        [Some("17".into()), Some("18".into()), None]
    );
    assert_eq!(device.null_count(), 1);

    let tags = column(&df, "tags").list().unwrap();
    assert_eq!(tags.dtype(), &DataType::List(Box::new(DataType::String)));
    assert_eq!(
        strs(&tags.get_as_series(0).unwrap()),
        [Some("a".into()), Some("b".into())]
    );
    assert_eq!(tags.get_as_series(1).unwrap().len(), 0);
    assert!(tags.get_as_series(2).is_none());

    let items = column(&df, "items");
    assert_eq!(
        items.dtype(),
        &DataType::List(Box::new(DataType::Struct(vec![
            Field::new("sku".into(), DataType::String),
            Field::new("qty".into(), DataType::Float64),
        ])))
    );
    let m = column(&df, "m");
    assert_eq!(
        m.dtype(),
        &DataType::List(Box::new(DataType::List(Box::new(DataType::Int64))))
    );

    let schema = frame_schema(&df, &report);
    assert_eq!(
        schema.to_string(),
        "schema (4 fields)
├── device: Struct (nullable)
│   ├── os: Utf8 (nullable)
│   ├── version: Utf8 (nullable)
│   └── extra: Struct (nullable)
│       └── x: Int64 (nullable)
├── tags: List<Utf8> (nullable)
├── items: List<Struct> (nullable)
│   ├── sku: Utf8 (nullable)
│   └── qty: Float64 (nullable)
└── m: List<List<Int64>> (nullable)
"
    );
}

#[test]
fn only_nulls_and_only_empty_objects_give_null_columns() {
    let (df, _) = build(&[r#"{"n": null, "e": {}}"#, r#"{"n": null, "e": {}}"#]);
    assert_eq!(column(&df, "n").dtype(), &DataType::Null);
    assert_eq!(column(&df, "e").dtype(), &DataType::Null);
    assert_eq!(df.height(), 2);
}

#[test]
fn repeated_keys_keep_the_last_value() {
    let (df, _) = build(&[r#"{"a": 1, "a": 2, "s": {"x": 1, "x": 3}}"#, r#"{"a": 3}"#]);
    assert_eq!(ints(column(&df, "a")), [Some(2), Some(3)]);
    let s = column(&df, "s")
        .struct_()
        .unwrap()
        .field_by_name("x")
        .unwrap();
    assert_eq!(ints(&s), [Some(3), None]);
}

#[test]
fn field_order_changes_are_handled() {
    let (df, _) = build(&[
        r#"{"a": 1, "b": "x", "c": true}"#,
        r#"{"c": false, "a": 2, "b": "y"}"#,
        r#"{"b": "z", "c": true}"#,
        r#"{"a": 4, "b": "w", "c": null}"#,
    ]);
    assert_eq!(ints(column(&df, "a")), [Some(1), Some(2), None, Some(4)]);
    assert_eq!(
        strs(column(&df, "b")),
        [
            Some("x".into()),
            Some("y".into()),
            Some("z".into()),
            Some("w".into())
        ]
    );
    assert_eq!(column(&df, "c").null_count(), 1);
}

#[test]
fn non_object_values_go_to_a_value_column() {
    let (df, _) = build(&["1", "2", r#""three""#]);
    assert_eq!(names(&df), ["value"]);
    assert_eq!(
        strs(column(&df, "value")),
        [Some("1".into()), Some("2".into()), Some("\"three\"".into())]
    );

    let (df, _) = build(&["[1, 2]", "[]"]);
    assert_eq!(
        column(&df, "value").dtype(),
        &DataType::List(Box::new(DataType::Int64))
    );

    let msgs = messages(&["héllo", "", "x"]);
    let (df, _) = build_with(&bare(), Arc::new(StringDeserializer::new()), &msgs);
    assert_eq!(column(&df, "value").dtype(), &DataType::String);
    assert_eq!(strs(column(&df, "value"))[0].as_deref(), Some("héllo"));

    let mut msgs = messages(&["ab"]);
    msgs.push(RawMessage::new("t", 0, 1, Some(vec![0xff, 0].into())));
    let (df, _) = build_with(&bare(), Arc::new(BytesDeserializer::new()), &msgs);
    let values: Vec<Option<Vec<u8>>> = column(&df, "value")
        .binary()
        .unwrap()
        .iter()
        .map(|v| v.map(<[u8]>::to_vec))
        .collect();
    assert_eq!(values, [Some(b"ab".to_vec()), Some(vec![0xff, 0])]);
}

#[test]
fn malformed_records_are_skipped_with_partition_and_offset() {
    let payloads = [
        (0, 10, r#"{"a": 1}"#),
        (1, 20, r#"{"a": 2"#),
        (2, 30, r#"{"a": 3}"#),
        (2, 31, "\u{0}"),
        (0, 11, r#"{"a": 4, "b": "x"}"#),
    ];
    let msgs: Vec<RawMessage> = payloads
        .iter()
        .map(|(p, o, v)| RawMessage::new("t", *p, *o, Some(v.as_bytes().to_vec().into())))
        .collect();
    let (df, report) = build_with(&bare(), json(), &msgs);
    assert_eq!(ints(column(&df, "a")), [Some(1), Some(3), Some(4)]);
    assert_eq!(report.rows, 3);
    assert_eq!(report.messages_seen(), 5);
    let positions: Vec<(i32, i64)> = report
        .skipped
        .iter()
        .map(|s| (s.partition, s.offset))
        .collect();
    assert_eq!(positions, [(1, 20), (2, 31)]);
    assert!(
        report
            .skipped
            .iter()
            .all(|s| s.reason.starts_with("invalid JSON"))
    );
}

#[test]
fn error_mode_stops_at_the_first_malformed_record() {
    let config = bare().with_on_malformed(OnMalformed::Error);
    let mut msgs = messages(&[r#"{"a": 1}"#]);
    msgs.push(RawMessage::new("t", 3, 77, Some("{oops".into())));
    let mut b = MessageFrameBuilder::new(&config, json());
    let err = b.push_batch(&msgs).unwrap_err();
    let d = err.as_deserialization().expect("a deserialization error");
    assert_eq!((d.partition, d.offset), (3, 77));
    assert!(
        err.to_string()
            .starts_with("failed to deserialize message at partition 3, offset 77: invalid JSON"),
        "{err}"
    );
    // The rows before it stay.
    let (df, report) = b.finish().unwrap();
    assert_eq!(df.height(), 1);
    assert!(report.skipped.is_empty());
}

#[test]
fn a_failure_mid_object_rolls_back_everything_it_touched() {
    // Each failing record stops part-way through an object and touches columns: new fields,
    // a type change (int -> JSON text), a new nested list, a partial list.
    let (df, report) = build_with(
        &bare(),
        Arc::new(FailPartWay),
        &messages(&[
            r#"{"a": 1, "l": [1, 2], "s": {"x": 1}}"#,
            r#"FAIL5:{"a": 2, "new": [1, [2]], "zz": 1}"#,
            r#"FAIL3:{"a": "text", "l": [1]}"#,
            r#"FAIL6:{"l": [3, 4, 5], "a": 1}"#,
            r#"FAIL7:{"s": {"x": 2, "y": {"deep": [1]}}}"#,
            r#"FAIL4:{"other": [{"k": 1}]}"#,
            r#"{"a": 3, "l": [], "s": {"x": 5}}"#,
        ]),
    );
    assert_eq!(names(&df), ["a", "l", "s"]);
    assert_eq!(df.height(), 2);
    assert_eq!(column(&df, "a").dtype(), &DataType::Int64);
    assert_eq!(ints(column(&df, "a")), [Some(1), Some(3)]);
    let l = column(&df, "l").list().unwrap();
    assert_eq!(ints(&l.get_as_series(0).unwrap()), [Some(1), Some(2)]);
    assert_eq!(l.get_as_series(1).unwrap().len(), 0);
    assert_eq!(
        column(&df, "s").dtype(),
        &DataType::Struct(vec![Field::new("x".into(), DataType::Int64)])
    );
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    let offsets: Vec<i64> = report.skipped.iter().map(|s| s.offset).collect();
    assert_eq!(offsets, [1, 2, 3, 4, 5]);
    assert_eq!(report.skipped[0].reason, "failed after 5 events");
    // Every column has one value per row (Polars checks this on construction too).
    for c in df.columns() {
        assert_eq!(c.len(), 2);
    }
}

#[test]
fn a_value_that_never_completes_is_malformed() {
    // Success without a complete value (here: zero events) is still malformed.
    let (df, report) = build_with(&bare(), Arc::new(FailPartWay), &messages(&[r#"{"a": 1}"#]));
    assert_eq!(df.height(), 1);
    assert!(report.skipped.is_empty());

    struct Nothing;
    impl truthound_streaming_core::MessageDeserializer for Nothing {
        fn name(&self) -> &str {
            "nothing"
        }
        fn deserialize_into(
            &self,
            payload: &[u8],
            visitor: &mut dyn truthound_streaming_core::ValueVisitor,
        ) -> Result<(), truthound_streaming_core::DeserializeFailure> {
            match payload {
                b"two" => {
                    visitor.i64(1);
                    visitor.i64(2);
                }
                b"key" => {
                    visitor.key("k");
                }
                b"open" => visitor.begin_object(None),
                _ => {}
            }
            Ok(())
        }
    }
    let (df, report) = build_with(
        &bare(),
        Arc::new(Nothing),
        &messages(&["", "two", "key", "open"]),
    );
    assert_eq!(df.height(), 0);
    assert_eq!(df.width(), 0);
    assert_eq!(report.skipped.len(), 4);
    assert_eq!(
        report.skipped[0].reason,
        "the deserializer reported an incomplete value"
    );
    assert_eq!(
        report.skipped[1].reason,
        "the deserializer reported events that do not form a value"
    );
}

#[test]
fn tombstones_are_counted_not_rows() {
    let mut msgs = messages(&[r#"{"a": 1}"#]);
    msgs.push(RawMessage::new("t", 0, 1, None));
    msgs.push(RawMessage::new("t", 0, 2, None));
    let config = bare().with_on_malformed(OnMalformed::Error);
    let (df, report) = build_with(&config, json(), &msgs);
    assert_eq!(df.height(), 1);
    assert_eq!(report.tombstones, 2);
    assert_eq!(report.messages_seen(), 3);
}

#[test]
fn metadata_columns_as_in_the_spec() {
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let msgs = vec![
        RawMessage::new(
            "user-events",
            2,
            41,
            Some(r#"{"user_id": 1, "action": "login"}"#.into()),
        )
        .with_key("u1")
        .with_timestamp(1_704_067_200_000),
        RawMessage::new(
            "user-events",
            0,
            7,
            Some(r#"{"user_id": 2, "action": "logout"}"#.into()),
        ),
    ];
    let (df, _) = build_with(&config, json(), &msgs);
    assert_eq!(
        names(&df),
        [
            "user_id",
            "action",
            "_kafka_key",
            "_kafka_topic",
            "_kafka_partition",
            "_kafka_offset",
            "_kafka_timestamp"
        ]
    );
    assert_eq!(
        df.dtypes(),
        [
            DataType::Int64,
            DataType::String,
            DataType::String,
            DataType::String,
            DataType::Int32,
            DataType::Int64,
            DataType::Datetime(TimeUnit::Milliseconds, None),
        ]
    );
    assert_eq!(strs(column(&df, "_kafka_key")), [Some("u1".into()), None]);
    assert_eq!(
        strs(column(&df, "_kafka_topic")),
        [Some("user-events".into()), Some("user-events".into())]
    );
    let partitions: Vec<_> = column(&df, "_kafka_partition")
        .i32()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(partitions, [Some(2), Some(0)]);
    assert_eq!(ints(column(&df, "_kafka_offset")), [Some(41), Some(7)]);
    let ts = column(&df, "_kafka_timestamp");
    assert_eq!(ts.null_count(), 1);
    assert_eq!(
        ts.get(0).unwrap().to_string(),
        "2024-01-01 00:00:00",
        "timestamps are milliseconds since the epoch, UTC"
    );

    let schema = frame_schema(&df, &Default::default());
    assert_eq!(
        schema.field("_kafka_timestamp").unwrap().data_type,
        CoreType::Datetime(truthound_streaming_core::TimeUnit::Milliseconds, None)
    );
    assert_eq!(
        schema.field("_kafka_partition").unwrap().data_type,
        CoreType::Int32
    );
}

#[test]
fn headers_key_decoders_and_prefix() {
    let config = StreamingDataSourceConfig::default()
        .with_include_headers(true)
        .with_key_deserializer(KeyDeserializer::Bytes)
        .with_metadata_prefix("m_");
    let msgs = vec![
        RawMessage::new("t", 0, 0, Some("{}".into()))
            .with_key(vec![0xff_u8, 1])
            .with_header("trace", Some("abc".into()))
            .with_header("empty", None),
        RawMessage::new("t", 0, 1, Some(r#"{"x": 1}"#.into())),
    ];
    let (df, _) = build_with(&config, json(), &msgs);
    assert_eq!(names(&df), ["x", "m_key", "m_headers"]);
    assert_eq!(column(&df, "m_key").dtype(), &DataType::Binary);
    let headers = column(&df, "m_headers");
    assert_eq!(
        headers.dtype(),
        &DataType::List(Box::new(DataType::Struct(vec![
            Field::new("key".into(), DataType::String),
            Field::new("value".into(), DataType::Binary),
        ])))
    );
    let first = headers.list().unwrap().get_as_series(0).unwrap();
    let first = first.struct_().unwrap();
    assert_eq!(
        strs(&first.field_by_name("key").unwrap()),
        [Some("trace".into()), Some("empty".into())]
    );
    assert_eq!(first.field_by_name("value").unwrap().null_count(), 1);
    assert_eq!(headers.list().unwrap().get_as_series(1).unwrap().len(), 0);

    // A string key must be UTF-8; the record is malformed otherwise.
    let config = StreamingDataSourceConfig::default().with_key_deserializer(KeyDeserializer::Json);
    let msgs = vec![
        RawMessage::new("t", 0, 0, Some("{}".into())).with_key(r#"{"id": 1}"#),
        RawMessage::new("t", 0, 1, Some("{}".into())).with_key(vec![0xff_u8]),
    ];
    let (df, report) = build_with(&config, json(), &msgs);
    assert_eq!(
        strs(column(&df, "_kafka_key")),
        [Some(r#"{"id": 1}"#.into())]
    );
    assert_eq!(
        report.skipped,
        [SkippedMessage {
            partition: 0,
            offset: 1,
            reason: "key is not valid UTF-8 (invalid at byte 0)".into()
        }]
    );
}

/// A key "deserializer" for the tests: a key starting with `ts:` is a timestamp in
/// milliseconds, `!` fails, anything else is read as JSON.
struct TestKeys;

impl MessageDeserializer for TestKeys {
    fn name(&self) -> &str {
        "test-keys"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        if let Some(ms) = payload.strip_prefix(b"ts:") {
            let ms: i64 = std::str::from_utf8(ms).unwrap().parse().unwrap();
            visitor.timestamp(ms, truthound_streaming_core::TimeUnit::Milliseconds, true);
            return Ok(());
        }
        if payload == b"!" {
            return Err(DeserializeFailure::new("unknown magic byte 0x21"));
        }
        truthound_json::JSONDeserializer::new().deserialize_into(payload, visitor)
    }
}

#[test]
fn decoded_keys_are_text_strings_bare_and_the_rest_as_compact_json() {
    let config = StreamingDataSourceConfig::default().with_key_deserializer(KeyDeserializer::Avro);
    let keys: [Option<&[u8]>; 8] = [
        Some(br#""k1""#),
        Some(br#"{"site": "s\"1", "n": 3}"#),
        Some(b"42"),
        Some(b"ts:0"),
        None,
        Some(b"!"),
        Some(br#"[1, {"a": null}]"#),
        // A key that decodes to a null (Avro's null branch): a null, not the text "null".
        Some(b"null"),
    ];
    let msgs: Vec<RawMessage> = keys
        .iter()
        .zip(0..)
        .map(|(k, o)| {
            let m = RawMessage::new("t", 2, o, Some(format!(r#"{{"o": {o}}}"#).into()));
            match k {
                Some(k) => m.with_key(k.to_vec()),
                None => m,
            }
        })
        .collect();
    let mut b = MessageFrameBuilder::new(&config, json()).with_key_deserializer(Arc::new(TestKeys));
    b.push_batch(&msgs).unwrap();
    let (df, report) = b.finish().unwrap();
    assert_eq!(column(&df, "_kafka_key").dtype(), &DataType::String);
    assert_eq!(
        strs(column(&df, "_kafka_key")),
        [
            Some("k1".into()),
            Some(r#"{"site":"s\"1","n":3}"#.into()),
            Some("42".into()),
            Some("1970-01-01T00:00:00.000Z".into()),
            None,
            Some(r#"[1,{"a":null}]"#.into()),
            None,
        ]
    );
    assert_eq!(
        ints(column(&df, "o")),
        [
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(6),
            Some(7)
        ]
    );
    assert_eq!(
        report.skipped,
        [SkippedMessage {
            partition: 2,
            offset: 5,
            reason: "key: unknown magic byte 0x21".into()
        }]
    );

    // Without the deserializer, such keys cannot be read: each record says why.
    let (df, report) = build_with(&config, json(), &msgs[..1]);
    assert_eq!(df.height(), 0);
    assert!(
        report.skipped[0]
            .reason
            .contains("key_deserializer avro needs a key deserializer"),
        "{}",
        report.skipped[0].reason
    );

    // The text formats ignore a key deserializer.
    let text = StreamingDataSourceConfig::default();
    let mut b = MessageFrameBuilder::new(&text, json()).with_key_deserializer(Arc::new(TestKeys));
    b.push_batch(&msgs[..1]).unwrap();
    let (df, _) = b.finish().unwrap();
    assert_eq!(strs(column(&df, "_kafka_key")), [Some(r#""k1""#.into())]);
}

#[test]
fn json_keys_lose_a_confluent_frame() {
    let config = StreamingDataSourceConfig::default().with_key_deserializer(KeyDeserializer::Json);
    let mut framed = vec![0_u8, 0, 0, 0, 7];
    framed.extend_from_slice(br#"{"id": 1}"#);
    let mut bad = vec![0_u8, 0, 0, 0, 7];
    bad.push(0xff);
    let msgs = vec![
        RawMessage::new("t", 0, 0, Some("{}".into())).with_key(framed),
        RawMessage::new("t", 0, 1, Some("{}".into())).with_key(r#"{"id": 2}"#),
        RawMessage::new("t", 0, 2, Some("{}".into())).with_key(bad),
    ];
    let (df, report) = build_with(&config, json(), &msgs);
    assert_eq!(
        strs(column(&df, "_kafka_key")),
        [Some(r#"{"id": 1}"#.into()), Some(r#"{"id": 2}"#.into())]
    );
    // The position counts the header: byte 5 of the key as it was written.
    assert_eq!(
        report.skipped[0].reason,
        "key is not valid UTF-8 (invalid at byte 5)"
    );
}

#[test]
fn a_data_field_named_like_a_metadata_column_is_an_error() {
    let config = StreamingDataSourceConfig::default();
    let mut b = MessageFrameBuilder::new(&config, json());
    b.push_batch(&messages(&[r#"{"_kafka_key": 1}"#])).unwrap();
    let err = b.finish().unwrap_err();
    assert!(matches!(err, Error::ColumnNameCollision { ref name } if name == "_kafka_key"));
    assert!(err.to_string().contains("metadata_prefix"));
}

#[test]
fn no_records_give_an_empty_frame() {
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let (df, report) = build_with(&config, json(), &[]);
    assert_eq!(df.height(), 0);
    assert_eq!(df.width(), 5);
    assert_eq!(report, Default::default());
    let (df, _) = build(&[]);
    assert_eq!(df.shape(), (0, 0));
}

#[test]
fn infer_schema_skips_malformed_records() {
    let config = bare().with_on_malformed(OnMalformed::Error);
    let schema = truthound_polars::infer_schema(
        &config,
        json(),
        &messages(&[r#"{"a": 1, "b": "x"}"#, "garbage", r#"{"a": null}"#]),
    )
    .unwrap();
    assert_eq!(
        schema.to_string(),
        "schema (2 fields)\n├── a: Int64 (nullable)\n└── b: Utf8 (nullable)\n"
    );
}

#[test]
fn matches_the_polars_ndjson_reader_on_regular_data() {
    let lines: Vec<String> = (0..500)
        .map(|i| {
            format!(
                r#"{{"user_id": {i}, "action": "{}", "amount": {}.25, "device": {{"os": "{}", "version": "1.{}"}}, "tags": ["t{}", "x"], "flag": {}}}"#,
                ["login", "logout", "purchase"][i % 3],
                i * 3,
                ["ios", "android"][i % 2],
                i % 7,
                i % 5,
                i % 2 == 0
            )
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (ours, _) = build(&refs);
    let ndjson = lines.join("\n");
    let theirs = JsonReader::new(std::io::Cursor::new(ndjson.into_bytes()))
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .unwrap();
    assert_eq!(ours.schema(), theirs.schema());
    assert!(ours.equals_missing(&theirs));
}

/// Forwards every event to the visitor inside but never offers to skip a value, as a
/// deserializer that cannot skip would.
struct NoSkip<'a>(&'a mut dyn ValueVisitor);

impl ValueVisitor for NoSkip<'_> {
    fn null(&mut self) {
        self.0.null();
    }
    fn bool(&mut self, v: bool) {
        self.0.bool(v);
    }
    fn i64(&mut self, v: i64) {
        self.0.i64(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.u64(v);
    }
    fn f64(&mut self, v: f64) {
        self.0.f64(v);
    }
    fn str(&mut self, v: &str) {
        self.0.str(v);
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.bytes(v);
    }
    fn begin_object(&mut self, len: Option<usize>) {
        self.0.begin_object(len);
    }
    fn key(&mut self, k: &str) {
        self.0.key(k);
    }
    fn end_object(&mut self) {
        self.0.end_object();
    }
    fn begin_array(&mut self, len: Option<usize>) {
        self.0.begin_array(len);
    }
    fn end_array(&mut self) {
        self.0.end_array();
    }
}

/// JSON decoded without skipping values.
struct JsonWithoutSkipping;

impl truthound_streaming_core::MessageDeserializer for JsonWithoutSkipping {
    fn name(&self) -> &str {
        "json-no-skip"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), truthound_streaming_core::DeserializeFailure> {
        truthound_json::JSONDeserializer::new().deserialize_into(payload, &mut NoSkip(visitor))
    }
}

#[test]
fn projected_columns_are_the_full_frames_columns_and_the_rest_is_skipped() {
    let payloads = [
        r#"{"a": 1, "skip": {"x": [1, {"y": 2}], "z": "s"}, "b": [1, 2], "c": {"d": null}}"#,
        r#"{"skip": [[1], [2, [3, {"k": []}]]], "c": {"d": 4}, "a": 2.5}"#,
        r#"{"b": "text", "late": {"deep": {"er": [true]}}}"#,
        r#"{"a": {"now": "a struct"}, "skip": null, "c": 7}"#,
        "{not json",
        r#"[1, 2, 3]"#,
        r#"{"c": {"d": 5}, "skip": "s", "a": 3}"#,
    ];
    let msgs = messages(&payloads);
    let (full, full_report) = build_with(&bare(), json(), &msgs);
    for deserializer in [json(), Arc::new(JsonWithoutSkipping) as _] {
        let config = bare().with_columns(["c", "a", "value", "absent"]);
        let (projected, report) = build_with(&config, deserializer, &msgs);
        // First-seen order, as in the full frame; a projected name never seen has no column.
        assert_eq!(names(&projected), ["a", "c", "value"]);
        let expected = full.select(["a", "c", "value"]).unwrap();
        assert!(
            expected.equals_missing(&projected),
            "{expected}\n{projected}"
        );
        assert_eq!(report.skipped, full_report.skipped);
        assert_eq!(report.rows, full_report.rows);
        let notes: Vec<_> = full_report
            .notes
            .iter()
            .filter(|n| ["a", "c", "value"].contains(&n.path[0].as_str()))
            .cloned()
            .collect();
        assert_eq!(report.notes, notes);
    }
}

#[test]
fn a_json_schema_types_columns_the_documents_leave_null_or_out() {
    let schema = r#"{"type": "object", "properties": {
        "id": {"type": "integer"},
        "seen": {"type": ["string", "null"], "format": "date-time"},
        "score": {"type": "number"},
        "tag": {"type": "string"},
        "ok": {"type": "boolean"}
    }}"#;
    let d = Arc::new(truthound_json::JsonSchemaDeserializer::from_schema_json(schema).unwrap());
    let (df, report) = build_with(
        &bare(),
        d,
        &messages(&[r#"{"id": 1, "seen": null}"#, r#"{"id": 2, "ok": null}"#]),
    );
    assert!(report.skipped.is_empty() && report.notes.is_empty());
    // The columns of the first document, then those it left out, by name.
    assert_eq!(names(&df), ["id", "seen", "ok", "score", "tag"]);
    assert_eq!(
        df.dtypes(),
        [
            DataType::Int64,
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            DataType::Boolean,
            DataType::Float64,
            DataType::String,
        ]
    );
    for name in ["seen", "ok", "score", "tag"] {
        assert_eq!(column(&df, name).null_count(), 2, "{name}");
    }
    // A typed null does not change a column that has a type: text where the schema says
    // integer stays text, and its nulls are text nulls.
    let d = Arc::new(truthound_json::JsonSchemaDeserializer::from_schema_json(schema).unwrap());
    let (df, report) = build_with(
        &bare(),
        d,
        &messages(&[r#"{"id": "a"}"#, r#"{"id": null}"#]),
    );
    assert_eq!(column(&df, "id").dtype(), &DataType::String);
    assert_eq!(strs(column(&df, "id")), [Some("a".into()), None]);
    assert!(report.notes.is_empty());
}
