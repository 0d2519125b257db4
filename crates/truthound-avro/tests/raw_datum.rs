//! Raw-datum mode: every Avro type encoded by apache-avro decodes to the documented value, and
//! bad payloads fail with a reason, never a panic.

use apache_avro::types::Value as Avro;
use apache_avro::{BigDecimal, Days, Decimal, Duration, Millis, Months, Schema};
use proptest::prelude::*;
use truthound_avro::{AvroDeserializer, AvroError, MAX_DEPTH, MAX_ZERO_WIDTH_ITEMS};
use truthound_streaming_core::{MessageDeserializer, TimeUnit, Value, ValueVisitor};

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

/// Encodes `value` with apache-avro under `schema_json` and decodes it with our deserializer.
fn round_trip(schema_json: &str, value: Avro) -> Value {
    let schema = Schema::parse_str(schema_json).expect("test schema parses");
    let datum = apache_avro::to_avro_datum(&schema, value).expect("test value encodes");
    let deserializer = AvroDeserializer::from_schema_json(schema_json).expect("schema compiles");
    let decoded = deserializer.deserialize(&datum).expect("datum decodes");
    // The other constructors decode the same way.
    // (Compared as debug text, in which NaN equals itself.)
    let from_schema = AvroDeserializer::new(&schema).expect("schema compiles");
    let again = from_schema.deserialize(&datum).expect("datum decodes");
    assert_eq!(format!("{again:?}"), format!("{decoded:?}"));
    let json: serde_json::Value = serde_json::from_str(schema_json).expect("schema is JSON");
    let from_value = AvroDeserializer::from_schema_value(&json).expect("schema compiles");
    let again = from_value.deserialize(&datum).expect("datum decodes");
    assert_eq!(format!("{again:?}"), format!("{decoded:?}"));
    decoded
}

fn decode(schema_json: &str, datum: &[u8]) -> Result<Value, String> {
    AvroDeserializer::from_schema_json(schema_json)
        .expect("schema compiles")
        .deserialize(datum)
        .map_err(|e| e.into_reason())
}

/// What a visitor that knows typed values receives for `value` encoded under `schema_json`.
fn typed_events(schema_json: &str, value: Avro) -> Vec<String> {
    let schema = Schema::parse_str(schema_json).expect("test schema parses");
    let datum = apache_avro::to_avro_datum(&schema, value).expect("test value encodes");
    events_of(schema_json, &datum)
}

/// The typed events (and strings) a datum decodes to, as text.
fn events_of(schema_json: &str, datum: &[u8]) -> Vec<String> {
    #[derive(Default)]
    struct Events(Vec<String>);
    impl ValueVisitor for Events {
        fn null(&mut self) {}
        fn bool(&mut self, _: bool) {}
        fn i64(&mut self, v: i64) {
            self.0.push(format!("i64 {v}"));
        }
        fn u64(&mut self, _: u64) {}
        fn f64(&mut self, _: f64) {}
        fn str(&mut self, v: &str) {
            self.0.push(format!("str {v}"));
        }
        fn bytes(&mut self, _: &[u8]) {}
        fn begin_object(&mut self, _: Option<usize>) {}
        fn key(&mut self, _: &str) {}
        fn end_object(&mut self) {}
        fn begin_array(&mut self, _: Option<usize>) {}
        fn end_array(&mut self) {}
        fn timestamp(&mut self, v: i64, unit: TimeUnit, utc: bool) {
            self.0.push(format!("timestamp {v} {unit} utc={utc}"));
        }
        fn date(&mut self, days: i32) {
            self.0.push(format!("date {days}"));
        }
        fn time(&mut self, v: i64, unit: TimeUnit) {
            self.0.push(format!("time {v} {unit}"));
        }
        fn decimal(&mut self, unscaled: i128, precision: u8, scale: u8) {
            self.0
                .push(format!("decimal {unscaled} {precision} {scale}"));
        }
        fn typed_null(&mut self, ty: truthound_streaming_core::ScalarType) {
            self.0.push(format!("null {ty:?}"));
        }
    }
    let mut events = Events::default();
    AvroDeserializer::from_schema_json(schema_json)
        .expect("schema compiles")
        .deserialize_into(datum, &mut events)
        .expect("datum decodes");
    events.0
}

/// Zigzag varint, for hand-written datums.
fn long(v: i64) -> Vec<u8> {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn primitives() {
    assert_eq!(round_trip(r#""null""#, Avro::Null), Value::Null);
    assert_eq!(
        round_trip(r#""boolean""#, Avro::Boolean(true)),
        Value::Bool(true)
    );
    assert_eq!(
        round_trip(r#""boolean""#, Avro::Boolean(false)),
        Value::Bool(false)
    );
    for v in [0, 1, -1, 63, -64, 64, i32::MIN, i32::MAX] {
        assert_eq!(round_trip(r#""int""#, Avro::Int(v)), Value::Int(v.into()));
    }
    for v in [0, -1, 1 << 40, i64::MIN, i64::MAX] {
        assert_eq!(round_trip(r#""long""#, Avro::Long(v)), Value::Int(v));
    }
    for v in [0.0_f32, -1.5, 0.1, f32::MAX, f32::INFINITY] {
        assert_eq!(
            round_trip(r#""float""#, Avro::Float(v)),
            Value::Float(f64::from(v))
        );
    }
    for v in [0.0, -2.25, 0.1, f64::MIN_POSITIVE, f64::NEG_INFINITY] {
        assert_eq!(round_trip(r#""double""#, Avro::Double(v)), Value::Float(v));
    }
    let nan = round_trip(r#""double""#, Avro::Double(f64::NAN));
    assert!(matches!(nan, Value::Float(f) if f.is_nan()));
    assert_eq!(
        round_trip(r#""bytes""#, Avro::Bytes(vec![0, 255, 7])),
        Value::Bytes(vec![0, 255, 7])
    );
    assert_eq!(
        round_trip(r#""bytes""#, Avro::Bytes(vec![])),
        Value::Bytes(vec![])
    );
    assert_eq!(
        round_trip(r#""string""#, Avro::String("héllo, 世界 🦀".into())),
        s("héllo, 世界 🦀")
    );
    assert_eq!(
        round_trip(r#""string""#, Avro::String(String::new())),
        s("")
    );
}

#[test]
fn named_types() {
    let schema = r#"{"type": "enum", "name": "Action", "symbols": ["LOGIN", "LOGOUT", "VIEW"]}"#;
    assert_eq!(round_trip(schema, Avro::Enum(2, "VIEW".into())), s("VIEW"));
    assert_eq!(
        round_trip(schema, Avro::Enum(0, "LOGIN".into())),
        s("LOGIN")
    );

    let schema = r#"{"type": "fixed", "name": "Hash", "size": 4}"#;
    assert_eq!(
        round_trip(schema, Avro::Fixed(4, vec![1, 2, 3, 4])),
        Value::Bytes(vec![1, 2, 3, 4])
    );
    let schema = r#"{"type": "fixed", "name": "Empty", "size": 0}"#;
    assert_eq!(
        round_trip(schema, Avro::Fixed(0, vec![])),
        Value::Bytes(vec![])
    );

    let schema = r#"{"type": "record", "name": "UserEvent", "fields": [
        {"name": "user_id", "type": "int"},
        {"name": "action", "type": "string"},
        {"name": "score", "type": "double"}
    ]}"#;
    let value = Avro::Record(vec![
        ("user_id".into(), Avro::Int(123)),
        ("action".into(), Avro::String("login".into())),
        ("score".into(), Avro::Double(0.5)),
    ]);
    assert_eq!(
        round_trip(schema, value),
        obj(vec![
            ("user_id", Value::Int(123)),
            ("action", s("login")),
            ("score", Value::Float(0.5)),
        ])
    );

    let schema = r#"{"type": "record", "name": "Nothing", "fields": []}"#;
    assert_eq!(round_trip(schema, Avro::Record(vec![])), obj(vec![]));
}

#[test]
fn unions() {
    let schema = r#"["null", "string", "long"]"#;
    assert_eq!(
        round_trip(schema, Avro::Union(0, Box::new(Avro::Null))),
        Value::Null
    );
    assert_eq!(
        round_trip(schema, Avro::Union(1, Box::new(Avro::String("x".into())))),
        s("x")
    );
    assert_eq!(
        round_trip(schema, Avro::Union(2, Box::new(Avro::Long(-9)))),
        Value::Int(-9)
    );

    let schema = r#"{"type": "record", "name": "R", "fields": [
        {"name": "a", "type": ["null", "int"], "default": null},
        {"name": "b", "type": ["int", "null"]},
        {"name": "c", "type": ["null", {"type": "record", "name": "Inner",
            "fields": [{"name": "x", "type": "boolean"}]}]}
    ]}"#;
    let value = Avro::Record(vec![
        ("a".into(), Avro::Union(0, Box::new(Avro::Null))),
        ("b".into(), Avro::Union(0, Box::new(Avro::Int(5)))),
        (
            "c".into(),
            Avro::Union(
                1,
                Box::new(Avro::Record(vec![("x".into(), Avro::Boolean(true))])),
            ),
        ),
    ]);
    assert_eq!(
        round_trip(schema, value),
        obj(vec![
            ("a", Value::Null),
            ("b", Value::Int(5)),
            ("c", obj(vec![("x", Value::Bool(true))])),
        ])
    );
}

#[test]
fn nested_records_arrays_and_maps() {
    let schema = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
        {"name": "id", "type": "long"},
        {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line",
            "fields": [
                {"name": "sku", "type": "string"},
                {"name": "qty", "type": "int"},
                {"name": "tags", "type": {"type": "array", "items": "string"}}
            ]}}},
        {"name": "attributes", "type": {"type": "map", "values": {"type": "map", "values": "long"}}},
        {"name": "matrix", "type": {"type": "array", "items": {"type": "array", "items": "int"}}},
        {"name": "first_line", "type": ["null", "shop.Line"]},
        {"name": "backup", "type": ["null", "Line"]}
    ]}"#;
    let line = |sku: &str, qty: i32, tags: &[&str]| {
        Avro::Record(vec![
            ("sku".into(), Avro::String(sku.into())),
            ("qty".into(), Avro::Int(qty)),
            (
                "tags".into(),
                Avro::Array(tags.iter().map(|t| Avro::String((*t).into())).collect()),
            ),
        ])
    };
    let line_value = |sku: &str, qty: i64, tags: &[&str]| {
        obj(vec![
            ("sku", s(sku)),
            ("qty", Value::Int(qty)),
            ("tags", Value::Array(tags.iter().map(|t| s(t)).collect())),
        ])
    };
    let value = Avro::Record(vec![
        ("id".into(), Avro::Long(77)),
        (
            "lines".into(),
            Avro::Array(vec![line("a-1", 2, &["red", "xl"]), line("b-2", 1, &[])]),
        ),
        (
            "attributes".into(),
            // One entry per map: apache-avro's maps are hash maps, so order is not ours to test.
            Avro::Map(
                [(
                    "dims".to_owned(),
                    Avro::Map([("w".to_owned(), Avro::Long(3))].into()),
                )]
                .into(),
            ),
        ),
        (
            "matrix".into(),
            Avro::Array(vec![
                Avro::Array(vec![Avro::Int(1), Avro::Int(2)]),
                Avro::Array(vec![]),
            ]),
        ),
        (
            "first_line".into(),
            Avro::Union(1, Box::new(line("a-1", 2, &["red"]))),
        ),
        ("backup".into(), Avro::Union(0, Box::new(Avro::Null))),
    ]);
    assert_eq!(
        round_trip(schema, value),
        obj(vec![
            ("id", Value::Int(77)),
            (
                "lines",
                Value::Array(vec![
                    line_value("a-1", 2, &["red", "xl"]),
                    line_value("b-2", 1, &[]),
                ])
            ),
            (
                "attributes",
                obj(vec![("dims", obj(vec![("w", Value::Int(3))]))])
            ),
            (
                "matrix",
                Value::Array(vec![
                    Value::Array(vec![Value::Int(1), Value::Int(2)]),
                    Value::Array(vec![]),
                ])
            ),
            ("first_line", line_value("a-1", 2, &["red"])),
            ("backup", Value::Null),
        ])
    );
}

#[test]
fn maps_keep_encoded_order_across_blocks() {
    // Two blocks, the second with a negative count and a byte size, as Java writers may write.
    let schema = r#"{"type": "map", "values": "int"}"#;
    let mut datum = long(2);
    for (k, v) in [("b", 1), ("a", 2)] {
        datum.extend(long(1));
        datum.extend(k.as_bytes());
        datum.extend(long(v));
    }
    let block: Vec<u8> = [long(1), b"c".to_vec(), long(3)].concat();
    datum.extend(long(-1));
    datum.extend(long(block.len() as i64));
    datum.extend(block);
    datum.extend(long(0));
    assert_eq!(
        decode(schema, &datum).unwrap(),
        obj(vec![
            ("b", Value::Int(1)),
            ("a", Value::Int(2)),
            ("c", Value::Int(3))
        ])
    );

    let schema = r#"{"type": "array", "items": "long"}"#;
    let datum: Vec<u8> = [
        long(-2),
        long(2),
        long(5),
        long(6),
        long(1),
        long(7),
        long(0),
    ]
    .concat();
    assert_eq!(
        decode(schema, &datum).unwrap(),
        Value::Array(vec![Value::Int(5), Value::Int(6), Value::Int(7)])
    );
}

#[test]
fn recursive_types() {
    let schema = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "Node"]}
    ]}"#;
    let value = Avro::Record(vec![
        ("value".into(), Avro::Int(1)),
        (
            "next".into(),
            Avro::Union(
                1,
                Box::new(Avro::Record(vec![
                    ("value".into(), Avro::Int(2)),
                    ("next".into(), Avro::Union(0, Box::new(Avro::Null))),
                ])),
            ),
        ),
    ]);
    assert_eq!(
        round_trip(schema, value),
        obj(vec![
            ("value", Value::Int(1)),
            (
                "next",
                obj(vec![("value", Value::Int(2)), ("next", Value::Null)])
            ),
        ])
    );

    // A list of `nodes` records: value, branch 1, ..., value, branch 0.
    let list = |nodes: usize| {
        let mut datum = Vec::new();
        for i in 0..nodes {
            datum.extend(long(i as i64));
            datum.extend(long(i64::from(i + 1 < nodes)));
        }
        datum
    };
    // MAX_DEPTH records nest fine, even on a small stack; one more fails cleanly instead of
    // exhausting the stack.
    let deserializer = AvroDeserializer::from_schema_json(schema).unwrap();
    let deepest = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut sink = truthound_streaming_core::JsonWriter::new();
            deserializer
                .deserialize_into(&list(MAX_DEPTH), &mut sink)
                .map(|()| sink.as_str().len())
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(deepest.is_ok(), "{deepest:?}");
    let err = decode(schema, &list(MAX_DEPTH + 1)).unwrap_err();
    assert!(
        err.starts_with(&format!("nesting deeper than {MAX_DEPTH} levels")),
        "{err}"
    );
}

#[test]
fn logical_types() {
    let date = r#"{"type": "int", "logicalType": "date"}"#;
    assert_eq!(round_trip(date, Avro::Date(0)), s("1970-01-01"));
    assert_eq!(round_trip(date, Avro::Date(19_782)), s("2024-02-29"));
    assert_eq!(round_trip(date, Avro::Date(-1)), s("1969-12-31"));

    let time = r#"{"type": "int", "logicalType": "time-millis"}"#;
    assert_eq!(
        round_trip(time, Avro::TimeMillis(45_296_789)),
        s("12:34:56.789")
    );
    let time = r#"{"type": "long", "logicalType": "time-micros"}"#;
    assert_eq!(
        round_trip(time, Avro::TimeMicros(45_296_789_012)),
        s("12:34:56.789012")
    );

    // 2024-01-02T03:04:05.678901234Z, in each unit: reported as typed timestamps, in their
    // unit, instants in UTC or local date-times.
    let nanos: i64 = 1_704_164_645_678_901_234;
    let cases = [
        (
            "timestamp-millis",
            Avro::TimestampMillis(nanos / 1_000_000),
            nanos / 1_000_000,
            TimeUnit::Milliseconds,
            true,
        ),
        (
            "timestamp-micros",
            Avro::TimestampMicros(nanos / 1000),
            nanos / 1000,
            TimeUnit::Microseconds,
            true,
        ),
        (
            "timestamp-nanos",
            Avro::TimestampNanos(nanos),
            nanos,
            TimeUnit::Nanoseconds,
            true,
        ),
        (
            "local-timestamp-millis",
            Avro::LocalTimestampMillis(nanos / 1_000_000),
            nanos / 1_000_000,
            TimeUnit::Milliseconds,
            false,
        ),
        (
            "local-timestamp-micros",
            Avro::LocalTimestampMicros(nanos / 1000),
            nanos / 1000,
            TimeUnit::Microseconds,
            false,
        ),
        (
            "local-timestamp-nanos",
            Avro::LocalTimestampNanos(-1),
            -1,
            TimeUnit::Nanoseconds,
            false,
        ),
    ];
    for (logical, value, count, unit, utc) in cases {
        let schema = format!(r#"{{"type": "long", "logicalType": "{logical}"}}"#);
        assert_eq!(
            typed_events(&schema, value),
            [format!("timestamp {count} {unit} utc={utc}")],
            "{logical}"
        );
    }
    assert_eq!(
        round_trip(
            r#"{"type": "long", "logicalType": "timestamp-micros"}"#,
            Avro::TimestampMicros(-1)
        ),
        Value::Int(-1)
    );
    let date = r#"{"type": "int", "logicalType": "date"}"#;
    assert_eq!(typed_events(date, Avro::Date(-719_529)), ["date -719529"]);
    let time = r#"{"type": "long", "logicalType": "time-micros"}"#;
    assert_eq!(
        typed_events(time, Avro::TimeMicros(86_399_999_999)),
        ["time 86399999999 us"]
    );
    let time = r#"{"type": "int", "logicalType": "time-millis"}"#;
    assert_eq!(typed_events(time, Avro::TimeMillis(0)), ["time 0 ms"]);
    // Decimals of up to 38 digits are typed, at their edges; wider ones are exact text.
    let max38: i128 = 10_i128.pow(38) - 1;
    let wide = r#"{"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 38}"#;
    for unscaled in [max38, -max38, 0] {
        let datum = [
            long(i64::try_from(unscaled.to_be_bytes().len()).unwrap()),
            unscaled.to_be_bytes().to_vec(),
        ]
        .concat();
        assert_eq!(
            events_of(wide, &datum),
            [format!("decimal {unscaled} 38 38")]
        );
    }
    let too_many = (max38 + 1).to_be_bytes();
    let datum = [long(16), too_many.to_vec()].concat();
    let err = AvroDeserializer::from_schema_json(wide)
        .unwrap()
        .deserialize(&datum)
        .unwrap_err()
        .into_reason();
    assert!(err.contains("more than the schema's 38 digits"), "{err}");
    let huge = r#"{"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 2}"#;
    let datum = [long(1), vec![0x7b]].concat();
    assert_eq!(events_of(huge, &datum), ["str 1.23"]);

    let uuid = r#"{"type": "string", "logicalType": "uuid"}"#;
    let id = apache_avro::Uuid::parse_str("550e8400-e29b-41d4-a716-446655440000").unwrap();
    assert_eq!(
        round_trip(uuid, Avro::Uuid(id)),
        s("550e8400-e29b-41d4-a716-446655440000")
    );

    let decimal = r#"{"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}"#;
    for (unscaled, text) in [
        (12_345_i64, "123.45"),
        (-5, "-0.05"),
        (0, "0.00"),
        (-100, "-1.00"),
    ] {
        let value = Avro::Decimal(Decimal::from(unscaled.to_be_bytes().to_vec()));
        assert_eq!(round_trip(decimal, value), s(text), "{unscaled}");
    }
    let decimal = r#"{"type": "fixed", "name": "Money", "size": 8,
        "logicalType": "decimal", "precision": 18, "scale": 4}"#;
    let value = Avro::Decimal(Decimal::from((-1_234_567_i64).to_be_bytes().to_vec()));
    assert_eq!(round_trip(decimal, value), s("-123.4567"));

    let big = r#"{"type": "bytes", "logicalType": "big-decimal"}"#;
    for text in ["123.4500", "-0.001", "0", "98765432109876543210.0123456789"] {
        let value = Avro::BigDecimal(text.parse::<BigDecimal>().unwrap());
        assert_eq!(round_trip(big, value), s(text), "{text}");
    }

    let duration = r#"{"type": "fixed", "name": "Span", "size": 12, "logicalType": "duration"}"#;
    let value = Avro::Duration(Duration::new(
        Months::new(14),
        Days::new(3),
        Millis::new(u32::MAX),
    ));
    assert_eq!(
        round_trip(duration, value),
        obj(vec![
            ("months", Value::Int(14)),
            ("days", Value::Int(3)),
            ("millis", Value::Int(u32::MAX.into())),
        ])
    );
}

#[test]
fn uuid_on_fixed_16_is_read_as_16_raw_bytes() {
    let bytes: Vec<u8> = (0..16).map(|i| i * 17).collect();
    // The same binary as a plain fixed(16): no length prefix.
    let plain = Schema::parse_str(r#"{"type": "fixed", "name": "Id", "size": 16}"#).unwrap();
    let datum = apache_avro::to_avro_datum(&plain, Avro::Fixed(16, bytes)).unwrap();
    assert_eq!(datum.len(), 16);
    let uuid = r#"{"type": "fixed", "name": "Id", "size": 16, "logicalType": "uuid"}"#;
    assert_eq!(
        decode(uuid, &datum).unwrap(),
        s("00112233-4455-6677-8899-aabbccddeeff")
    );
}

#[test]
fn trailing_bytes_fail() {
    let mut datum = long(5);
    datum.push(0);
    assert_eq!(
        decode(r#""long""#, &datum).unwrap_err(),
        "1 trailing byte after the Avro datum (it ends at byte 1 of 2)"
    );
    datum.extend([1, 2]);
    assert_eq!(
        decode(r#""long""#, &datum).unwrap_err(),
        "3 trailing bytes after the Avro datum (it ends at byte 1 of 4)"
    );
    // An empty payload is a complete `null` and nothing else.
    assert_eq!(decode(r#""null""#, &[]).unwrap(), Value::Null);
    assert!(decode(r#""null""#, &[0]).is_err());
}

/// A datum that exercises every node type, for the prefix and garbage tests.
const EVERYTHING: &str = r#"{"type": "record", "name": "All", "fields": [
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "by", "type": "bytes"},
    {"name": "s", "type": "string"},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B"]}},
    {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 3}},
    {"name": "a", "type": {"type": "array", "items": ["null", "string"]}},
    {"name": "m", "type": {"type": "map", "values": "long"}},
    {"name": "u", "type": ["null", "E"]},
    {"name": "dt", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tm", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
    {"name": "bd", "type": {"type": "bytes", "logicalType": "big-decimal"}},
    {"name": "dur", "type": {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}},
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}}
]}"#;

fn everything_datum() -> Vec<u8> {
    let schema = Schema::parse_str(EVERYTHING).expect("test schema parses");
    let value = Avro::Record(vec![
        ("b".into(), Avro::Boolean(true)),
        ("i".into(), Avro::Int(-300)),
        ("l".into(), Avro::Long(1 << 50)),
        ("f".into(), Avro::Float(1.5)),
        ("d".into(), Avro::Double(-0.25)),
        ("by".into(), Avro::Bytes(vec![9, 8, 7])),
        ("s".into(), Avro::String("text".into())),
        ("e".into(), Avro::Enum(1, "B".into())),
        ("fx".into(), Avro::Fixed(3, vec![1, 2, 3])),
        (
            "a".into(),
            Avro::Array(vec![
                Avro::Union(1, Box::new(Avro::String("x".into()))),
                Avro::Union(0, Box::new(Avro::Null)),
            ]),
        ),
        (
            "m".into(),
            Avro::Map([("k".to_owned(), Avro::Long(1))].into()),
        ),
        (
            "u".into(),
            Avro::Union(1, Box::new(Avro::Enum(0, "A".into()))),
        ),
        ("dt".into(), Avro::Date(10)),
        ("tm".into(), Avro::TimeMicros(1_000_001)),
        ("ts".into(), Avro::TimestampMicros(1_500)),
        ("dec".into(), Avro::Decimal(Decimal::from(vec![0x30, 0x39]))),
        (
            "bd".into(),
            Avro::BigDecimal("1.25".parse().expect("a decimal")),
        ),
        (
            "dur".into(),
            Avro::Duration(Duration::new(Months::new(1), Days::new(2), Millis::new(3))),
        ),
        (
            "id".into(),
            Avro::Uuid(apache_avro::Uuid::from_bytes([7; 16])),
        ),
    ]);
    apache_avro::to_avro_datum(&schema, value).expect("test value encodes")
}

#[test]
fn everything_decodes() {
    let value = decode(EVERYTHING, &everything_datum()).unwrap();
    assert_eq!(
        value.to_string(),
        concat!(
            r#"{"b":true,"i":-300,"l":1125899906842624,"f":1.5,"d":-0.25,"by":[9,8,7],"s":"text","#,
            r#""e":"B","fx":[1,2,3],"a":["x",null],"m":{"k":1},"u":"A","dt":"1970-01-11","#,
            r#""tm":"00:00:01.000001","ts":1500,"dec":"12.345","bd":"1.25","#,
            r#""dur":{"months":1,"days":2,"millis":3},"id":"07070707-0707-0707-0707-070707070707"}"#
        )
    );
}

/// Where each field of [`everything_datum`] starts.
const FIELD_STARTS: [(usize, &str); 19] = [
    (0, "b"),
    (1, "i"),
    (3, "l"),
    (11, "f"),
    (15, "d"),
    (23, "by"),
    (27, "s"),
    (32, "e"),
    (33, "fx"),
    (36, "a"),
    (42, "m"),
    (47, "u"),
    (49, "dt"),
    (50, "tm"),
    (53, "ts"),
    (55, "dec"),
    (58, "bd"),
    (62, "dur"),
    (74, "id"),
];

#[test]
fn every_truncation_fails() {
    let datum = everything_datum();
    // The uuid, last: a length byte and 36 characters.
    assert_eq!(datum.len(), 74 + 1 + 36);
    let deserializer = AvroDeserializer::from_schema_json(EVERYTHING).unwrap();
    for len in 0..datum.len() {
        let err = deserializer
            .deserialize(&datum[..len])
            .expect_err("a strict prefix is never a whole datum");
        // The field the datum was cut in: the last one starting at or before the cut.
        let field = FIELD_STARTS
            .iter()
            .rev()
            .find(|(start, _)| *start <= len)
            .map(|(_, name)| *name)
            .unwrap();
        let text = err.to_string();
        assert!(
            text.contains(&format!("(in `{field}")),
            "prefix of {len} bytes: {text}"
        );
        // Block counts are checked against the bytes left before items are read: a cut right
        // after the count of the array's (2 items) or the map's (1 item) block says so; every
        // other cut is the end of data in the value being read.
        if [37, 38, 43, 44].contains(&len) {
            let block = if field == "a" {
                "an array block of 2"
            } else {
                "a map block of 1"
            };
            assert!(
                err.reason()
                    .starts_with(&format!("{block} items cannot fit")),
                "prefix of {len} bytes: {text}"
            );
        } else {
            assert!(
                err.reason().starts_with("unexpected end of data reading "),
                "prefix of {len} bytes: {text}"
            );
        }
    }
}

#[test]
fn failures_name_the_position_and_path() {
    let schema = r#"{"type": "record", "name": "R", "fields": [
        {"name": "user", "type": {"type": "record", "name": "U", "fields": [
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "attrs", "type": {"type": "map", "values": "boolean"}}
        ]}}
    ]}"#;
    // tags = ["ok", <string of 9 bytes with 1 present>]
    let datum: Vec<u8> = [long(2), long(2), b"ok".to_vec(), long(9), b"x".to_vec()].concat();
    assert_eq!(
        decode(schema, &datum).unwrap_err(),
        "unexpected end of data reading a string of 9 bytes (1 byte left) at byte 4 (in `user.tags[1]`)"
    );
    // tags = [], attrs = {"flag": <byte 7>}
    let datum: Vec<u8> = [
        long(0),
        long(1),
        long(4),
        b"flag".to_vec(),
        vec![7],
        long(0),
    ]
    .concat();
    assert_eq!(
        decode(schema, &datum).unwrap_err(),
        r#"invalid boolean byte 0x07 at byte 7 (in `user.attrs["flag"]`)"#
    );
}

#[test]
fn invalid_values_fail() {
    let cases: &[(&str, Vec<u8>, &str)] = &[
        (
            r#""boolean""#,
            vec![2],
            "invalid boolean byte 0x02 at byte 0",
        ),
        (
            r#""int""#,
            long(1 << 31),
            "2147483648 is out of range for an int at byte 0",
        ),
        (
            r#""long""#,
            vec![0xff; 11],
            "a long overflows 64 bits at byte 0",
        ),
        (
            r#""long""#,
            [vec![0xff; 9], vec![0x02]].concat(),
            "a long overflows 64 bits at byte 0",
        ),
        (
            r#""string""#,
            long(-1),
            "negative length -1 for a string at byte 0",
        ),
        (
            r#""string""#,
            [long(2), vec![0xc3, 0x28]].concat(),
            "a string is not valid UTF-8 at byte 0",
        ),
        (
            r#"{"type": "enum", "name": "E", "symbols": ["A"]}"#,
            long(1),
            "enum index 1 out of range: the enum has 1 symbols at byte 0",
        ),
        (
            r#"["null", "int"]"#,
            long(-1),
            "union branch -1 out of range: the union has 2 branches at byte 0",
        ),
        (
            r#"{"type": "array", "items": "long"}"#,
            [long(1_000_000), long(1)].concat(),
            "an array block of 1000000 items cannot fit (1 byte left) at byte 0",
        ),
        (
            r#"{"type": "array", "items": "long"}"#,
            [long(-1), long(-5), long(1), long(0)].concat(),
            "block size -5 does not fit (2 bytes left) at byte 1",
        ),
        (
            r#"{"type": "array", "items": "null"}"#,
            [long(i64::MAX), long(0)].concat(),
            "more than 65536 array items that encode to no bytes at byte 0",
        ),
        (
            r#"{"type": "array", "items": "long"}"#,
            [long(i64::MIN)].concat(),
            "unexpected end of data reading a block size at byte 10",
        ),
        (
            r#"{"type": "long", "logicalType": "time-micros"}"#,
            long(86_400_000_000),
            "time-micros 86400000000 is not within a day at byte 0",
        ),
        (
            r#"{"type": "bytes", "logicalType": "big-decimal"}"#,
            {
                let inner = [long(1), vec![1], long(1 << 20)].concat();
                [long(inner.len() as i64), inner].concat()
            },
            "big-decimal scale 1048576 is outside ±4096 at byte 3",
        ),
        (
            r#"{"type": "bytes", "logicalType": "big-decimal"}"#,
            [long(4), long(1), vec![1], long(-2), vec![0]].concat(),
            "1 unexpected byte(s) after a big-decimal's scale at byte 4",
        ),
    ];
    for (schema, datum, expected) in cases {
        assert_eq!(&decode(schema, datum).unwrap_err(), expected, "{schema}");
    }

    // Zero-width items within the budget are fine.
    let nulls = decode(
        r#"{"type": "array", "items": "null"}"#,
        &[long(MAX_ZERO_WIDTH_ITEMS as i64), long(0)].concat(),
    )
    .unwrap();
    assert!(matches!(nulls, Value::Array(items) if items.len() == MAX_ZERO_WIDTH_ITEMS as usize));
}

#[test]
fn invalid_schemas_fail_at_construction() {
    let err = AvroDeserializer::from_schema_json("{not json").unwrap_err();
    assert!(matches!(err, AvroError::SchemaJson(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("the Avro schema is not valid JSON"),
        "{err}"
    );

    for bad in [
        r#""integer""#,
        r#"{"type": "record", "name": "R", "fields": [{"name": "a", "type": "Missing"}]}"#,
        r#"{"type": "enum", "name": "E", "symbols": ["A", "A"]}"#,
        r#"["null", "null"]"#,
        r#"{"type": "fixed", "name": "F"}"#,
    ] {
        let err = AvroDeserializer::from_schema_json(bad).unwrap_err();
        assert!(matches!(err, AvroError::InvalidSchema(_)), "{bad}: {err:?}");
        assert!(
            err.to_string().starts_with("invalid Avro schema: "),
            "{err}"
        );
    }

    let err = AvroDeserializer::from_schema_value(&serde_json::json!({"type": "map"})).unwrap_err();
    assert!(matches!(err, AvroError::InvalidSchema(_)), "{err:?}");
}

#[test]
fn name_and_debug() {
    let deserializer = AvroDeserializer::from_schema_json(r#""string""#).unwrap();
    assert_eq!(deserializer.name(), "avro");
    assert_eq!(
        format!("{deserializer:?}"),
        r#"AvroDeserializer { schema: "(unnamed)" }"#
    );
    let deserializer = AvroDeserializer::from_schema_json(
        r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": []}"#,
    )
    .unwrap();
    assert_eq!(
        format!("{deserializer:?}"),
        r#"AvroDeserializer { schema: "shop.Order" }"#
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..256)) {
        let deserializer = AvroDeserializer::from_schema_json(EVERYTHING).unwrap();
        let _ = deserializer.deserialize(&payload);
        let recursive = AvroDeserializer::from_schema_json(r#"{"type": "record", "name": "N",
            "fields": [{"name": "next", "type": ["null", "N", {"type": "map", "values": "N"},
            {"type": "array", "items": "N"}]}]}"#).unwrap();
        let _ = recursive.deserialize(&payload);
    }

    #[test]
    fn mutated_datums_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut datum = everything_datum();
        for (index, byte) in flips {
            let i = index.index(datum.len());
            datum[i] = byte;
        }
        let deserializer = AvroDeserializer::from_schema_json(EVERYTHING).unwrap();
        let _ = deserializer.deserialize(&datum);
    }

    #[test]
    fn records_round_trip(
        i in any::<i32>(),
        l in any::<i64>(),
        text in ".{0,20}",
        raw in proptest::collection::vec(any::<u8>(), 0..20),
        items in proptest::collection::vec(proptest::option::of(any::<i64>()), 0..20),
    ) {
        let schema = r#"{"type": "record", "name": "P", "fields": [
            {"name": "i", "type": "int"},
            {"name": "l", "type": "long"},
            {"name": "s", "type": "string"},
            {"name": "b", "type": "bytes"},
            {"name": "a", "type": {"type": "array", "items": ["null", "long"]}}
        ]}"#;
        let value = Avro::Record(vec![
            ("i".into(), Avro::Int(i)),
            ("l".into(), Avro::Long(l)),
            ("s".into(), Avro::String(text.clone())),
            ("b".into(), Avro::Bytes(raw.clone())),
            ("a".into(), Avro::Array(items.iter().map(|item| match item {
                None => Avro::Union(0, Box::new(Avro::Null)),
                Some(v) => Avro::Union(1, Box::new(Avro::Long(*v))),
            }).collect())),
        ]);
        let expected = obj(vec![
            ("i", Value::Int(i.into())),
            ("l", Value::Int(l)),
            ("s", Value::Str(text)),
            ("b", Value::Bytes(raw)),
            ("a", Value::Array(items.iter().map(|item| item.map_or(Value::Null, Value::Int)).collect())),
        ]);
        prop_assert_eq!(round_trip(schema, value), expected);
    }
}

#[test]
fn the_null_of_a_nullable_scalar_has_its_type() {
    let schema = r#"{"type": "record", "name": "R", "fields": [
        {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "n", "type": ["long", "null"]},
        {"name": "d", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}]},
        {"name": "either", "type": ["null", "long", "string"]},
        {"name": "r", "type": ["null", {"type": "record", "name": "In", "fields": []}]}
    ]}"#;
    // Every field null: branch 0 of each union but `n`'s (branch 1).
    let datum = [0, 2, 0, 0, 0];
    assert_eq!(
        events_of(schema, &datum),
        [
            "null Datetime { unit: Microseconds, utc: true }",
            "null Int64",
            "null Decimal { precision: 9, scale: 2 }",
        ]
    );
}
