//! Avro schema resolution (a writer schema read as a reader schema), rule by rule of the Avro
//! specification, with datums encoded by apache-avro from the writer schema.

use apache_avro::Schema;
use apache_avro::types::Value as Avro;
use truthound_avro::{AvroDeserializer, AvroError};
use truthound_streaming_core::{MessageDeserializer, TimeUnit, ValueVisitor};

/// `value` written with `writer` and read as `reader`, as compact JSON.
fn read_as(writer: &str, reader: &str, value: Avro) -> Result<String, String> {
    let schema = Schema::parse_str(writer).expect("test writer schema parses");
    let datum = apache_avro::to_avro_datum(&schema, value).expect("test value encodes");
    let deserializer = AvroDeserializer::from_writer_and_reader_json(writer, reader)
        .map_err(|e| format!("build: {e}"))?;
    deserializer
        .deserialize(&datum)
        .map(|v| v.to_string())
        .map_err(|e| e.into_reason())
}

fn record(fields: &str) -> String {
    format!(r#"{{"type": "record", "name": "R", "fields": [{fields}]}}"#)
}

fn incompatible(writer: &str, reader: &str) -> String {
    match AvroDeserializer::from_writer_and_reader_json(writer, reader) {
        Err(AvroError::Incompatible(reason)) => reason,
        other => panic!("expected Incompatible, got {other:?}"),
    }
}

#[test]
fn primitives_promote_as_the_specification_lists() {
    let cases: &[(&str, &str, Avro, &str)] = &[
        ("int", "long", Avro::Int(-7), "-7"),
        ("int", "double", Avro::Int(i32::MAX), "2147483647.0"),
        // Rounded to the reader's float, then widened for the report.
        ("int", "float", Avro::Int(16_777_217), "16777216.0"),
        ("long", "double", Avro::Long(1 << 53), "9007199254740992.0"),
        ("long", "float", Avro::Long(-3), "-3.0"),
        ("float", "double", Avro::Float(0.5), "0.5"),
        ("string", "bytes", Avro::String("hi".into()), "[104,105]"),
        ("bytes", "string", Avro::Bytes(b"ok".to_vec()), r#""ok""#),
    ];
    for (writer, reader, value, expected) in cases {
        let writer = format!(r#""{writer}""#);
        let reader = format!(r#""{reader}""#);
        let got = read_as(&writer, &reader, value.clone()).unwrap();
        assert_eq!(got, *expected, "{writer} as {reader}");
    }
    // Bytes that are not UTF-8 cannot be read as a string.
    let err = read_as(r#""bytes""#, r#""string""#, Avro::Bytes(vec![0xff])).unwrap_err();
    assert!(err.contains("not valid UTF-8"), "{err}");
    // No narrowing, and nothing between unrelated types.
    for (writer, reader) in [("long", "int"), ("double", "float"), ("string", "int")] {
        let reason = incompatible(&format!(r#""{writer}""#), &format!(r#""{reader}""#));
        assert_eq!(
            reason,
            format!("the writer's {writer} cannot be read as the reader's {reader}")
        );
    }
}

#[test]
fn records_match_fields_by_name_or_alias_default_the_missing_and_skip_the_removed() {
    let writer = record(
        r#"{"name": "a", "type": "int"},
           {"name": "gone", "type": {"type": "array", "items": {"type": "map", "values":
               {"type": "record", "name": "Deep", "fields": [{"name": "x", "type": "string"}]}}}},
           {"name": "old_name", "type": "string"},
           {"name": "z", "type": "boolean"}"#,
    );
    let reader = record(
        r#"{"name": "z", "type": "boolean"},
           {"name": "a", "type": "long"},
           {"name": "new_name", "aliases": ["old_name"], "type": "string"},
           {"name": "n", "type": ["null", "int"], "default": null},
           {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"},
            "default": 1700000000000},
           {"name": "blob", "type": "bytes", "default": "\u00ff\u0000"},
           {"name": "nested", "type": {"type": "record", "name": "N", "fields": [
               {"name": "k", "type": "string"}, {"name": "v", "type": "int", "default": 3}]},
            "default": {"k": "kk"}}"#,
    );
    let deep = |x: &str| Avro::Record(vec![("x".into(), Avro::String(x.into()))]);
    let value = Avro::Record(vec![
        ("a".into(), Avro::Int(1)),
        (
            "gone".into(),
            Avro::Array(vec![
                Avro::Map([("m".to_owned(), deep("skipped"))].into()),
                Avro::Map([("n".to_owned(), deep("also"))].into()),
            ]),
        ),
        ("old_name".into(), Avro::String("renamed".into())),
        ("z".into(), Avro::Boolean(true)),
    ]);
    // Fields in the writer's order, then the defaults in the reader's order; the removed
    // field's containers leave nothing behind.
    assert_eq!(
        read_as(&writer, &reader, value).unwrap(),
        r#"{"a":1,"new_name":"renamed","z":true,"n":null,"ts":1700000000000,"blob":[255,0],"nested":{"k":"kk","v":3}}"#
    );
}

#[test]
fn defaults_of_logical_types_are_typed_events() {
    #[derive(Default)]
    struct Typed(Vec<String>);
    impl ValueVisitor for Typed {
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
        fn decimal(&mut self, v: i128, p: u8, s: u8) {
            self.0.push(format!("decimal {v} {p} {s}"));
        }
    }
    let writer = record(r#"{"name": "id", "type": "int"}"#);
    let reader = record(
        r#"{"name": "id", "type": "int"},
           {"name": "at", "type": {"type": "long", "logicalType": "local-timestamp-micros"},
            "default": -1},
           {"name": "day", "type": {"type": "int", "logicalType": "date"}, "default": 0},
           {"name": "clock", "type": {"type": "int", "logicalType": "time-millis"},
            "default": 1000},
           {"name": "price", "type": {"type": "bytes", "logicalType": "decimal",
            "precision": 5, "scale": 2}, "default": "\u00ff\u0085"}"#,
    );
    let schema = Schema::parse_str(&writer).unwrap();
    let datum =
        apache_avro::to_avro_datum(&schema, Avro::Record(vec![("id".into(), Avro::Int(4))]))
            .unwrap();
    let deserializer = AvroDeserializer::from_writer_and_reader_json(&writer, &reader).unwrap();
    let mut events = Typed::default();
    deserializer.deserialize_into(&datum, &mut events).unwrap();
    assert_eq!(
        events.0,
        [
            "i64 4",
            "timestamp -1 us utc=false",
            "date 0",
            "time 1000 ms",
            "decimal -123 5 2",
        ]
    );
}

#[test]
fn enums_map_symbols_and_fall_back_to_the_reader_default() {
    let writer = r#"{"type": "enum", "name": "Suit", "symbols": ["HEARTS", "SPADES", "JOKER"]}"#;
    let with_default = r#"{"type": "enum", "name": "Suit",
        "symbols": ["SPADES", "HEARTS", "OTHER"], "default": "OTHER"}"#;
    let without = r#"{"type": "enum", "name": "Suit", "symbols": ["SPADES", "HEARTS"]}"#;
    let joker = || Avro::Enum(2, "JOKER".into());
    assert_eq!(
        read_as(writer, with_default, Avro::Enum(0, "HEARTS".into())).unwrap(),
        r#""HEARTS""#
    );
    assert_eq!(
        read_as(writer, with_default, joker()).unwrap(),
        r#""OTHER""#
    );
    assert_eq!(
        read_as(writer, without, Avro::Enum(1, "SPADES".into())).unwrap(),
        r#""SPADES""#
    );
    // Only a datum holding the missing symbol fails.
    let err = read_as(writer, without, joker()).unwrap_err();
    assert_eq!(
        err,
        "the writer's enum symbol \"JOKER\" is not in the reader's enum, which has no default \
         at byte 0"
    );
}

#[test]
fn unions_resolve_branch_by_branch() {
    // Writer union to reader union: each writer branch finds the reader's first match, exact
    // before promoted; a branch with no match fails only when a datum takes it.
    let writer = r#"["null", "int", "string", "boolean"]"#;
    let reader = r#"["string", "null", "double", "long"]"#;
    assert_eq!(
        read_as(writer, reader, Avro::Union(0, Box::new(Avro::Null))).unwrap(),
        "null"
    );
    assert_eq!(
        read_as(writer, reader, Avro::Union(1, Box::new(Avro::Int(5)))).unwrap(),
        // `long` follows `double` but is not a promotion: int promotes to the first of them.
        "5.0"
    );
    assert_eq!(
        read_as(
            writer,
            reader,
            Avro::Union(2, Box::new(Avro::String("s".into())))
        )
        .unwrap(),
        r#""s""#
    );
    let err = read_as(
        writer,
        reader,
        Avro::Union(3, Box::new(Avro::Boolean(true))),
    )
    .unwrap_err();
    assert_eq!(
        err,
        "the writer's union branch boolean cannot be read as the reader's union at byte 1"
    );
    // A writer's plain type read as a reader's union, and a union read as a plain type.
    assert_eq!(
        read_as(r#""long""#, r#"["null", "long"]"#, Avro::Long(9)).unwrap(),
        "9"
    );
    assert_eq!(
        read_as(
            r#"["null", "int"]"#,
            r#""long""#,
            Avro::Union(1, Box::new(Avro::Int(3)))
        )
        .unwrap(),
        "3"
    );
    let err = read_as(
        r#"["null", "int"]"#,
        r#""long""#,
        Avro::Union(0, Box::new(Avro::Null)),
    )
    .unwrap_err();
    assert!(
        err.contains("branch null cannot be read as the reader's long"),
        "{err}"
    );
    // A union none of whose branches can be read is refused up front.
    assert_eq!(
        incompatible(r#"["null", "boolean"]"#, r#""string""#),
        "no branch of the writer's union can be read as the reader's string"
    );
}

#[test]
fn incompatible_schemas_are_refused_naming_the_field() {
    let writer = record(
        r#"{"name": "inner", "type": {"type": "record", "name": "I", "fields": [
        {"name": "x", "type": "string"}]}}"#,
    );
    let reader = record(
        r#"{"name": "inner", "type": {"type": "record", "name": "I", "fields": [
        {"name": "x", "type": "int"}]}}"#,
    );
    assert_eq!(
        incompatible(&writer, &reader),
        "the writer's string cannot be read as the reader's int (in `inner.x`)"
    );
    let renamed = r#"{"type": "record", "name": "Other", "fields": []}"#;
    assert_eq!(
        incompatible(&record(""), renamed),
        "the writer's record `R` is not the reader's record `Other` (nor one of its aliases)"
    );
    let aliased = r#"{"type": "record", "name": "Other", "aliases": ["R"], "fields": []}"#;
    assert_eq!(
        read_as(&record(""), aliased, Avro::Record(vec![])).unwrap(),
        "{}"
    );
    let fixed = |size: u32| format!(r#"{{"type": "fixed", "name": "F", "size": {size}}}"#);
    assert_eq!(
        incompatible(&fixed(4), &fixed(8)),
        "the writer's fixed F of 4 bytes cannot be read as the reader's of 8"
    );
    // A default that does not fit its field's type.
    let reader = record(r#"{"name": "n", "type": "int", "default": "x"}"#);
    let err = AvroDeserializer::from_writer_and_reader_json(&record(""), &reader).unwrap_err();
    // apache-avro may refuse it when parsing; either way it does not build.
    assert!(
        matches!(
            err,
            AvroError::Incompatible(_) | AvroError::InvalidSchema(_)
        ),
        "{err}"
    );
}

#[test]
fn recursive_types_resolve() {
    let writer = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}"#;
    let reader = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": "double"}, {"name": "next", "type": ["null", "Node"]},
        {"name": "label", "type": "string", "default": "-"}]}"#;
    let node = |v: i32, next: Option<Avro>| {
        Avro::Record(vec![
            ("v".into(), Avro::Int(v)),
            (
                "next".into(),
                match next {
                    Some(n) => Avro::Union(1, Box::new(n)),
                    None => Avro::Union(0, Box::new(Avro::Null)),
                },
            ),
        ])
    };
    let list = node(1, Some(node(2, None)));
    assert_eq!(
        read_as(writer, reader, list).unwrap(),
        r#"{"v":1.0,"next":{"v":2.0,"next":null,"label":"-"},"label":"-"}"#
    );
}

#[test]
fn arrays_and_maps_resolve_their_items() {
    assert_eq!(
        read_as(
            r#"{"type": "array", "items": "int"}"#,
            r#"{"type": "array", "items": "double"}"#,
            Avro::Array(vec![Avro::Int(1), Avro::Int(-2)])
        )
        .unwrap(),
        "[1.0,-2.0]"
    );
    assert_eq!(
        read_as(
            r#"{"type": "map", "values": "float"}"#,
            r#"{"type": "map", "values": ["null", "double"]}"#,
            Avro::Map([("k".to_owned(), Avro::Float(0.25))].into())
        )
        .unwrap(),
        r#"{"k":0.25}"#
    );
}

#[test]
fn a_record_pair_that_cannot_resolve_fails_every_branch_that_holds_it() {
    let w = r#"{"type": "record", "name": "W", "fields": [{"name": "x", "type": "int"}]}"#;
    let writer = record(&format!(
        r#"{{"name": "a", "type": ["null", {w}]}}, {{"name": "b", "type": ["null", "W"]}}"#
    ));
    let reader = record(
        r#"{"name": "a", "type": ["null", {"type": "record", "name": "W", "fields": [
               {"name": "x", "type": "int"}, {"name": "z", "type": "int"}]}]},
           {"name": "b", "type": ["null", "W"]}"#,
    );
    let inner = || Avro::Record(vec![("x".into(), Avro::Int(1))]);
    let value = |a: Option<Avro>, b: Option<Avro>| {
        let branch = |v: Option<Avro>| match v {
            Some(v) => Avro::Union(1, Box::new(v)),
            None => Avro::Union(0, Box::new(Avro::Null)),
        };
        Avro::Record(vec![("a".into(), branch(a)), ("b".into(), branch(b))])
    };
    assert_eq!(
        read_as(&writer, &reader, value(None, None)).unwrap(),
        r#"{"a":null,"b":null}"#
    );
    for datum in [value(Some(inner()), None), value(None, Some(inner()))] {
        let err = read_as(&writer, &reader, datum).unwrap_err();
        assert!(
            err.contains("the reader's field `z` of record `W` is not in the writer's schema"),
            "{err}"
        );
    }
}

#[test]
fn union_branches_of_one_short_name_keep_their_own_types() {
    let union = r#"[{"type": "fixed", "name": "F", "namespace": "a", "size": 2},
                    {"type": "fixed", "name": "F", "namespace": "b", "size": 3}]"#;
    let deserializer = AvroDeserializer::from_schema_json(union).unwrap();
    // Branch 1 (b.F, 3 bytes), as written.
    let value = deserializer.deserialize(&[2, 7, 8, 9]).unwrap();
    assert_eq!(value.to_string(), "[7,8,9]");
    // Read as itself through resolution, each branch finds its full name.
    let value = read_as(
        union,
        union,
        Avro::Union(0, Box::new(Avro::Fixed(2, vec![1, 2]))),
    )
    .unwrap();
    assert_eq!(value, "[1,2]");
}

#[test]
fn an_alias_is_not_used_twice() {
    // A writer field and another aliased to the same reader field: the alias is not reused.
    let writer = record(r#"{"name": "a", "type": "int"}, {"name": "b", "type": "int"}"#);
    let reader = record(r#"{"name": "a", "aliases": ["b"], "type": "int"}"#);
    assert_eq!(
        read_as(
            &writer,
            &reader,
            Avro::Record(vec![("a".into(), Avro::Int(1)), ("b".into(), Avro::Int(2))])
        )
        .unwrap(),
        r#"{"a":1}"#
    );
}

mod hostile {
    use proptest::prelude::*;

    use super::*;

    /// A writer and reader pair touching every resolution rule: skipped containers, defaults,
    /// promotions, enum defaults, unions with an unreadable branch, recursion.
    const WRITER: &str = r#"{"type": "record", "name": "W", "fields": [
        {"name": "a", "type": "int"},
        {"name": "gone", "type": {"type": "map", "values": {"type": "array", "items": "W"}}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}},
        {"name": "u", "type": ["null", "long", "boolean", "string"]},
        {"name": "next", "type": ["null", "W"]}]}"#;
    const READER: &str = r#"{"type": "record", "name": "W", "fields": [
        {"name": "a", "type": "double"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["Y", "X", "O"],
         "default": "O"}},
        {"name": "u", "type": ["null", "float", "bytes"]},
        {"name": "next", "type": ["null", "W"]},
        {"name": "d", "type": {"type": "map", "values": "long"}, "default": {"k": 1}}]}"#;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the bytes, resolution-driven decoding returns, without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let deserializer =
                AvroDeserializer::from_writer_and_reader_json(WRITER, READER).unwrap();
            let _ = deserializer.deserialize(&bytes);
        }
    }
}
