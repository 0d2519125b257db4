//! Decoding Protocol Buffers payloads encoded by prost-reflect's `DynamicMessage` from the same
//! `.proto` text: every scalar, nested and repeated messages, maps, oneofs, enums, well-known
//! types, defaults, the Confluent wire format, and hostile bytes.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use prost_reflect::prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MapKey, Value as P};
use truthound_protobuf::{ProtobufDeserializer, ProtobufError};
use truthound_streaming_core::{MessageDeserializer, ScalarType, TimeUnit, ValueVisitor};

const PROTO: &str = r#"syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Status { UNKNOWN = 0; PAID = 1; SHIPPED = 2; }
message Line { string sku = 1; int32 qty = 2; }
message Order {
  int64 id = 1;
  uint64 big = 2;
  sint32 delta = 3;
  fixed32 f32 = 4;
  sfixed64 sf64 = 5;
  float ratio = 6;
  double price = 7;
  bool paid = 8;
  string note = 9;
  bytes blob = 10;
  Status status = 11;
  repeated Line lines = 12;
  repeated int32 codes = 13;
  map<string, int64> counts = 14;
  map<int32, Line> by_pos = 15;
  oneof payment { string card = 16; string iban = 17; }
  optional int32 maybe = 18;
  google.protobuf.Timestamp at = 19;
  google.protobuf.Int64Value wrapped = 20;
  Line main = 21;
  message Note { string text = 1; }
  Note inner = 22;
}"#;

/// The schema compiled independently of the code under test, for the encoder.
fn pool() -> DescriptorPool {
    struct One(protox::file::File);
    impl protox::file::FileResolver for One {
        fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
            if name == "shop.proto" {
                Ok(self.0.clone())
            } else {
                Err(protox::Error::file_not_found(name))
            }
        }
    }
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(One(
        protox::file::File::from_source("shop.proto", PROTO).unwrap()
    ));
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_file("shop.proto").unwrap();
    compiler.descriptor_pool()
}

fn message(pool: &DescriptorPool, name: &str) -> DynamicMessage {
    DynamicMessage::new(pool.get_message_by_name(name).unwrap())
}

fn line(pool: &DescriptorPool, sku: &str, qty: i32) -> DynamicMessage {
    let mut line = message(pool, "shop.Line");
    line.set_field_by_name("sku", P::String(sku.into()));
    line.set_field_by_name("qty", P::I32(qty));
    line
}

fn order_deserializer() -> ProtobufDeserializer {
    ProtobufDeserializer::from_proto(PROTO, Some("shop.Order")).unwrap()
}

fn decode(payload: &[u8]) -> Result<String, String> {
    order_deserializer()
        .deserialize(payload)
        .map(|v| v.to_string())
        .map_err(|e| e.into_reason())
}

#[test]
fn every_type_is_reported_in_declaration_order() {
    let pool = pool();
    let mut order = message(&pool, "shop.Order");
    order.set_field_by_name("id", P::I64(-7));
    order.set_field_by_name("big", P::U64(u64::MAX));
    order.set_field_by_name("delta", P::I32(-3));
    order.set_field_by_name("f32", P::U32(4_000_000_000));
    order.set_field_by_name("sf64", P::I64(i64::MIN));
    order.set_field_by_name("ratio", P::F32(0.5));
    order.set_field_by_name("price", P::F64(12.25));
    order.set_field_by_name("paid", P::Bool(true));
    order.set_field_by_name("note", P::String("é!".into()));
    order.set_field_by_name("blob", P::Bytes(vec![1, 2].into()));
    order.set_field_by_name("status", P::EnumNumber(2));
    order.set_field_by_name(
        "lines",
        P::List(vec![
            P::Message(line(&pool, "a", 1)),
            P::Message(line(&pool, "b", 2)),
        ]),
    );
    order.set_field_by_name("codes", P::List(vec![P::I32(5), P::I32(-1)]));
    order.set_field_by_name(
        "counts",
        P::Map([(MapKey::String("x".into()), P::I64(3))].into()),
    );
    order.set_field_by_name(
        "by_pos",
        P::Map([(MapKey::I32(-2), P::Message(line(&pool, "c", 3)))].into()),
    );
    order.set_field_by_name("iban", P::String("DE00".into()));
    order.set_field_by_name("maybe", P::I32(0));
    let mut at = message(&pool, "google.protobuf.Timestamp");
    at.set_field_by_name("seconds", P::I64(1_709_210_096));
    at.set_field_by_name("nanos", P::I32(789_000_001));
    order.set_field_by_name("at", P::Message(at));
    let mut wrapped = message(&pool, "google.protobuf.Int64Value");
    wrapped.set_field_by_name("value", P::I64(42));
    order.set_field_by_name("wrapped", P::Message(wrapped));
    order.set_field_by_name("main", P::Message(line(&pool, "m", 0)));
    let mut inner = message(&pool, "shop.Order.Note");
    inner.set_field_by_name("text", P::String("hi".into()));
    order.set_field_by_name("inner", P::Message(inner));

    assert_eq!(
        decode(&order.encode_to_vec()).unwrap(),
        concat!(
            r#"{"id":-7,"big":18446744073709551615,"delta":-3,"f32":4000000000,"#,
            r#""sf64":-9223372036854775808,"ratio":0.5,"price":12.25,"paid":true,"note":"é!","#,
            r#""blob":[1,2],"status":"SHIPPED","#,
            r#""lines":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"codes":[5,-1],"#,
            r#""counts":{"x":3},"by_pos":{"-2":{"sku":"c","qty":3}},"card":null,"iban":"DE00","#,
            r#""maybe":0,"at":1709210096789000001,"wrapped":42,"main":{"sku":"m","qty":0},"#,
            r#""inner":{"text":"hi"}}"#
        )
    );
}

#[test]
fn absent_fields_are_defaults_or_null_with_presence() {
    assert_eq!(
        decode(&[]).unwrap(),
        concat!(
            r#"{"id":0,"big":0,"delta":0,"f32":0,"sf64":0,"ratio":0.0,"price":0.0,"#,
            r#""paid":false,"note":"","blob":[],"status":"UNKNOWN","lines":[],"codes":[],"#,
            r#""counts":{},"by_pos":{},"card":null,"iban":null,"maybe":null,"at":null,"#,
            r#""wrapped":null,"main":null,"inner":null}"#
        )
    );
}

#[test]
fn absent_fields_with_presence_are_nulls_of_their_type() {
    #[derive(Default)]
    struct Nulls {
        key: String,
        seen: Vec<String>,
    }
    impl ValueVisitor for Nulls {
        fn null(&mut self) {
            self.seen.push(format!("{} null", self.key));
        }
        fn typed_null(&mut self, ty: ScalarType) {
            self.seen.push(format!("{} {ty:?}", self.key));
        }
        fn bool(&mut self, _: bool) {}
        fn i64(&mut self, _: i64) {}
        fn u64(&mut self, _: u64) {}
        fn f64(&mut self, _: f64) {}
        fn str(&mut self, _: &str) {}
        fn bytes(&mut self, _: &[u8]) {}
        fn begin_object(&mut self, _: Option<usize>) {}
        fn key(&mut self, k: &str) {
            k.clone_into(&mut self.key);
        }
        fn end_object(&mut self) {}
        fn begin_array(&mut self, _: Option<usize>) {}
        fn end_array(&mut self) {}
    }
    let mut nulls = Nulls::default();
    order_deserializer()
        .deserialize_into(&[], &mut nulls)
        .unwrap();
    assert_eq!(
        nulls.seen,
        [
            "card Utf8",
            "iban Utf8",
            "maybe Int64",
            "at Datetime { unit: Nanoseconds, utc: true }",
            "wrapped Int64",
            "main null",
            "inner null",
        ]
    );
}

#[test]
fn field_order_on_the_wire_unpacked_repeats_and_unknown_fields_do_not_matter() {
    let deserializer = ProtobufDeserializer::from_proto(
        "syntax = \"proto3\"; message M { int32 a = 1; repeated int32 r = 2; string s = 3; }",
        None,
    )
    .unwrap();
    // s = "z", r = 1 (unpacked), unknown field 9 (varint), a = 5, r = [2, 3] (packed),
    // a = 6 (the last wins), r = 4 (unpacked).
    let payload = [
        0x1a, 1, b'z', 0x10, 1, 0x48, 0x7f, 0x08, 5, 0x12, 2, 2, 3, 0x08, 6, 0x10, 4,
    ];
    assert_eq!(
        deserializer.deserialize(&payload).unwrap().to_string(),
        r#"{"a":6,"r":[1,2,3,4],"s":"z"}"#
    );
}

#[test]
fn the_confluent_wire_format_picks_the_message_by_index() {
    let pool = pool();
    let deserializer = order_deserializer();
    let line_bytes = line(&pool, "q", 9).encode_to_vec();
    // Index path [0] written as a single 0: the file's first message, Line.
    let mut framed = vec![0, 0, 0, 0, 7, 0];
    framed.extend(&line_bytes);
    assert_eq!(
        deserializer.deserialize(&framed).unwrap().to_string(),
        r#"{"sku":"q","qty":9}"#
    );
    // Path [1, 0]: Order's first nested message, Note (count 2, zigzag-encoded).
    let mut note = message(&pool, "shop.Order.Note");
    note.set_field_by_name("text", P::String("n".into()));
    let mut framed = vec![0, 0, 0, 0, 7, 4, 2, 0];
    framed.extend(note.encode_to_vec());
    assert_eq!(
        deserializer.deserialize(&framed).unwrap().to_string(),
        r#"{"text":"n"}"#
    );
    let err = deserializer
        .deserialize(&[0, 0, 0, 0, 7, 2, 10])
        .unwrap_err();
    assert_eq!(
        err.reason(),
        "message-index path [5] names no message of the schema"
    );
}

#[test]
fn timestamps_are_typed_events() {
    #[derive(Default)]
    struct Seen(Vec<String>);
    impl ValueVisitor for Seen {
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
    }
    let deserializer = ProtobufDeserializer::from_proto(
        "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\";
         message E { google.protobuf.Timestamp at = 1; }",
        None,
    )
    .unwrap();
    let pool = pool();
    let at = |seconds: i64, nanos: i32| {
        let mut at = message(&pool, "google.protobuf.Timestamp");
        at.set_field_by_name("seconds", P::I64(seconds));
        at.set_field_by_name("nanos", P::I32(nanos));
        let body = at.encode_to_vec();
        let mut payload = vec![0x0a, u8::try_from(body.len()).unwrap()];
        payload.extend(body);
        payload
    };
    let events = |payload: &[u8]| {
        let mut seen = Seen::default();
        deserializer.deserialize_into(payload, &mut seen).unwrap();
        seen.0
    };
    assert_eq!(events(&at(-1, 999_999_999)), ["timestamp -1 ns utc=true"]);
    assert_eq!(events(&at(0, 0)), ["timestamp 0 ns utc=true"]);
    // 9999-12-31T23:59:59.999999Z is beyond nanoseconds in an i64: ISO text, to the µs.
    assert_eq!(
        events(&at(253_402_300_799, 999_999_000)),
        ["str 9999-12-31T23:59:59.999999Z"]
    );
    let err = deserializer.deserialize(&at(0, -1)).unwrap_err();
    assert!(
        err.reason().contains("nanos -1 is not within a second"),
        "{err}"
    );
}

#[test]
fn bad_payloads_fail_naming_the_byte_and_field() {
    for (payload, reason) in [
        (&[0x08][..], "unexpected end of data in a varint at byte 1"),
        (
            &[0x4a, 5, b'a'][..],
            "a length of 5 runs past the message (1 bytes left) at byte 1",
        ),
        (
            &[0x4a, 1, 0xff][..],
            "a string is not valid UTF-8 at byte 2 (in `note`)",
        ),
        (
            &[0x0d, 0, 0, 0, 0][..],
            "field `id` (number 1) is 32-bit, but its type is written varint at byte 0",
        ),
        (&[0x03][..], "invalid field number 0 at byte 0"),
        (
            &[0x0b][..],
            "field 1 is a group, which is not supported at byte 0",
        ),
    ] {
        assert_eq!(decode(payload).unwrap_err(), reason, "{payload:?}");
    }
    // Nesting beyond the limit: Line inside Order inside ... (a recursive schema).
    let deserializer =
        ProtobufDeserializer::from_proto("syntax = \"proto3\"; message N { N next = 1; }", None)
            .unwrap();
    let mut payload: Vec<u8> = Vec::new();
    for _ in 0..200 {
        let mut outer = vec![0x0a];
        let len = payload.len();
        let mut n = len;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                outer.push(b);
                break;
            }
            outer.push(b | 0x80);
        }
        outer.extend(payload);
        payload = outer;
    }
    let err = deserializer.deserialize(&payload).unwrap_err();
    assert!(
        err.reason()
            .starts_with("messages nested deeper than 100 levels"),
        "{err}"
    );
}

#[test]
fn schemas_that_cannot_be_used_fail_at_construction() {
    let err = ProtobufDeserializer::from_proto("syntax = \"proto3\"; message {", None).unwrap_err();
    assert!(matches!(err, ProtobufError::Compile(_)), "{err}");
    let err = ProtobufDeserializer::from_proto(PROTO, Some("Nope")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the Protobuf schema has no message \"Nope\"; it has: shop.Line, shop.Order"
    );
    let err = ProtobufDeserializer::from_proto("syntax = \"proto3\";", None).unwrap_err();
    assert!(matches!(err, ProtobufError::NoMessage), "{err}");
    // A plain name is enough when it is unique.
    assert!(ProtobufDeserializer::from_proto(PROTO, Some("Order")).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Whatever the bytes, decoding returns, without panicking.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        static ORDER: std::sync::LazyLock<ProtobufDeserializer> =
            std::sync::LazyLock::new(order_deserializer);
        let _ = ORDER.deserialize(&bytes);
    }
}
