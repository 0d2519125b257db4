//! Decoding JSON payloads: values, unicode, escapes, numbers, nesting, failures, round trips.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use truthound_json::{JSONDeserializer, deserializer_for};
use truthound_streaming_core::{
    DeserializerType, MessageDeserializer, Value, ValueBuilder, ValueVisitor,
};

fn decode(text: &str) -> Value {
    JSONDeserializer::new()
        .deserialize(text.as_bytes())
        .unwrap_or_else(|e| panic!("{text:?} should decode: {e}"))
}

fn obj(fields: Vec<(&str, Value)>) -> Value {
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[test]
fn scalars_at_the_top_level() {
    assert_eq!(decode("null"), Value::Null);
    assert_eq!(decode(" true "), Value::Bool(true));
    assert_eq!(decode("-12"), Value::Int(-12));
    assert_eq!(decode("0"), Value::Int(0));
    assert_eq!(decode("2.5"), Value::Float(2.5));
    assert_eq!(decode("1e3"), Value::Float(1000.0));
    assert_eq!(decode(r#""hi""#), Value::Str("hi".into()));
}

#[test]
fn objects_keep_field_order_and_nesting() {
    let v = decode(
        r#"{"user_id": 123, "device": {"os": "ios", "version": "17.1"}, "tags": ["a", [], [1, {"x": null}]], "empty": {}}"#,
    );
    let expected = obj(vec![
        ("user_id", Value::Int(123)),
        (
            "device",
            obj(vec![
                ("os", Value::Str("ios".into())),
                ("version", Value::Str("17.1".into())),
            ]),
        ),
        (
            "tags",
            Value::Array(vec![
                Value::Str("a".into()),
                Value::Array(vec![]),
                Value::Array(vec![Value::Int(1), obj(vec![("x", Value::Null)])]),
            ]),
        ),
        ("empty", obj(vec![])),
    ]);
    assert_eq!(v, expected);
}

#[test]
fn deep_nesting_does_not_recurse() {
    let depth = 500;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut v = decode(&text);
    let mut seen = 1;
    while let Value::Array(mut items) = v {
        match items.pop() {
            Some(inner) => {
                seen += 1;
                v = inner;
            }
            None => break,
        }
    }
    assert_eq!(seen, depth);
}

#[test]
fn unicode_and_escapes() {
    assert_eq!(decode(r#""caf\u00e9""#), Value::Str("café".into()));
    assert_eq!(decode(r#""\ud83d\ude00""#), Value::Str("😀".into()));
    assert_eq!(decode("\"😀 日本語\""), Value::Str("😀 日本語".into()));
    assert_eq!(
        decode(r#""q\"b\\s\/n\nr\rt\tb\bf\f""#),
        Value::Str("q\"b\\s/n\nr\rt\tb\u{8}f\u{c}".into())
    );
    assert_eq!(
        decode(r#"{"ключ": "значение"}"#),
        obj(vec![("ключ", Value::Str("значение".into()))])
    );
    // Escapes in keys are unescaped too.
    assert_eq!(decode(r#"{"a\"b": 1}"#), obj(vec![("a\"b", Value::Int(1))]));
}

#[test]
fn big_integers() {
    assert_eq!(decode("9223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(decode("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(decode("9223372036854775808"), Value::UInt(1 << 63));
    assert_eq!(decode("18446744073709551615"), Value::UInt(u64::MAX));
    // Beyond u64: a float.
    assert_eq!(
        decode("18446744073709551616"),
        Value::Float(18_446_744_073_709_551_616.0)
    );
    assert_eq!(
        decode("-9223372036854775809"),
        Value::Float(-9_223_372_036_854_775_809.0)
    );
    match decode("123456789012345678901234567890123456789012345") {
        Value::Float(f) => assert!((f / 1.234_567_890_123_456_8e44 - 1.0).abs() < 1e-12),
        other => panic!("expected a float, got {other:?}"),
    }
}

#[test]
fn invalid_payloads_fail_with_a_short_reason() {
    let d = JSONDeserializer::new();
    for bad in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"a\" 1}",
        b"[1,]",
        b"{\"a\":1}}",
        b"nul",
        b"1 2",
        b"\"unterminated",
        b"\"\xff\xfe\"",
        b"{\"a\":\"\xc3\"}",
        b"01",
    ] {
        let err = d
            .deserialize(bad)
            .expect_err(&format!("{:?} must fail", String::from_utf8_lossy(bad)));
        assert!(err.reason().starts_with("invalid JSON"), "{}", err.reason());
        assert!(err.reason().len() < 120, "{}", err.reason());
    }
}

#[test]
fn failure_emits_no_events() {
    // simd-json validates the whole payload before the tape is walked.
    #[derive(Default)]
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
    let mut count = Count::default();
    let d = JSONDeserializer::new();
    assert!(
        d.deserialize_into(br#"{"a": [1, 2, "x"#, &mut count)
            .is_err()
    );
    assert_eq!(count.0, 0);
    d.deserialize_into(br#"{"a": [1, 2]}"#, &mut count).unwrap();
    assert_eq!(count.0, 7);
}

#[test]
fn reentrant_use_on_one_thread() {
    // A visitor that decodes another payload while it is being driven.
    struct Nested(ValueBuilder, Vec<Value>);
    impl ValueVisitor for Nested {
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
            self.1
                .push(JSONDeserializer::new().deserialize(v.as_bytes()).unwrap());
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
    let mut v = Nested(ValueBuilder::new(), Vec::new());
    JSONDeserializer::new()
        .deserialize_into(br#"["[1]", "{\"a\": 2}"]"#, &mut v)
        .unwrap();
    assert_eq!(
        v.1,
        [
            Value::Array(vec![Value::Int(1)]),
            obj(vec![("a", Value::Int(2))])
        ]
    );
    assert_eq!(
        v.0.finish(),
        Some(Value::Array(vec![
            Value::Str("[1]".into()),
            Value::Str("{\"a\": 2}".into())
        ]))
    );
}

#[test]
fn encodings_and_factory() {
    for ok in ["utf-8", "UTF-8", "utf8", "Utf8", " utf-8 "] {
        assert!(JSONDeserializer::with_encoding(ok).is_ok(), "{ok}");
    }
    let err = JSONDeserializer::with_encoding("utf-16").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"unknown encoding "utf-16"; expected one of: utf-8, utf8"#
    );
    assert_eq!(
        deserializer_for(DeserializerType::Json).unwrap().name(),
        "json"
    );
    assert_eq!(
        deserializer_for(DeserializerType::Bytes).unwrap().name(),
        "bytes"
    );
    let err = deserializer_for(DeserializerType::Avro).unwrap_err();
    assert!(err.to_string().contains("avro"), "{err}");
}

/// Arbitrary JSON values (no bytes: JSON has none; only finite floats).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        ((i64::MAX as u64 + 1)..=u64::MAX).prop_map(Value::UInt),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8).prop_map(Value::Object),
        ]
    })
}

proptest! {
    #[test]
    fn serialized_values_decode_to_themselves(value in json_value()) {
        let text = value.to_string();
        let decoded = JSONDeserializer::new().deserialize(text.as_bytes());
        prop_assert_eq!(decoded, Ok(value), "text: {}", text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = JSONDeserializer::new().deserialize(&bytes);
    }
}

#[test]
fn schema_registry_framing_is_read_past() {
    let d = JSONDeserializer::new();
    let mut framed = vec![0, 0, 0, 1, 7];
    framed.extend_from_slice(br#"{"sensor": "s1", "ok": true}"#);
    assert_eq!(
        d.deserialize(&framed).unwrap(),
        obj(vec![
            ("sensor", Value::Str("s1".into())),
            ("ok", Value::Bool(true))
        ])
    );
    // A frame with no document, or a zero byte with no whole frame, is invalid JSON.
    for bad in [&[0_u8, 0, 0, 0, 1][..], &[0, 1, 2], &[0]] {
        let err = d.deserialize(bad).unwrap_err();
        assert!(err.reason().starts_with("invalid JSON"), "{bad:?}: {err}");
    }
}
