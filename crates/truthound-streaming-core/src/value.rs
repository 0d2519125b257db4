//! The visitor events a deserializer emits, and the owned [`Value`] they can build.
//!
//! A decoded payload is one *value*: a scalar, or `begin_object` followed by zero or more
//! (`key`, value) pairs and `end_object`, or `begin_array` followed by zero or more values and
//! `end_array`. A [`MessageDeserializer`](crate::MessageDeserializer) reports the value through a
//! [`ValueVisitor`]; consumers decide what to build from the events.

use std::fmt;

use crate::json_text::JsonWriter;
use crate::temporal::{self, TimeUnit};

/// Receives the events of one decoded value, depth first.
///
/// The methods cannot fail: a visitor that wants to reject a shape records that and reports it
/// once the deserializer returns. When a deserializer fails part-way, the events seen so far
/// belong to an incomplete value and the consumer discards them (see
/// [`MessageDeserializer::deserialize_into`](crate::MessageDeserializer::deserialize_into)).
pub trait ValueVisitor {
    /// A null.
    fn null(&mut self);
    /// A boolean.
    fn bool(&mut self, v: bool);
    /// A signed integer.
    fn i64(&mut self, v: i64);
    /// An unsigned integer. Deserializers use it only for values above `i64::MAX`.
    fn u64(&mut self, v: u64);
    /// A floating point number.
    fn f64(&mut self, v: f64);
    /// A string.
    fn str(&mut self, v: &str);
    /// A byte string.
    fn bytes(&mut self, v: &[u8]);
    /// The start of an object; `len` is the number of fields when the deserializer knows it.
    fn begin_object(&mut self, len: Option<usize>);
    /// The key of the next field of the current object; its value follows.
    fn key(&mut self, k: &str);
    /// The end of the current object.
    fn end_object(&mut self);
    /// The start of an array; `len` is the number of elements when the deserializer knows it.
    fn begin_array(&mut self, len: Option<usize>);
    /// The end of the current array.
    fn end_array(&mut self);
    /// Asked by a deserializer that can skip values, right after [`key`](Self::key): `true`
    /// when the visitor does not want that field's value, which the deserializer then skips
    /// without reporting it (the object's next key, or its end, comes next). The default wants
    /// every value. A deserializer that never asks reports every value, and a visitor that
    /// answers `true` must then ignore the value's events itself.
    fn skip_value(&mut self) -> bool {
        false
    }

    /// A timestamp: `value` units since 1970-01-01T00:00:00. `utc`: an instant, in UTC (Avro's
    /// `timestamp-*`, Protobuf's `Timestamp`); otherwise a local date-time without a zone
    /// (Avro's `local-timestamp-*`).
    ///
    /// The default reports [`i64`](Self::i64)`(value)`, the count in its unit.
    fn timestamp(&mut self, value: i64, unit: TimeUnit, utc: bool) {
        let _ = (unit, utc);
        self.i64(value);
    }

    /// A calendar date, `days` since 1970-01-01.
    ///
    /// The default reports the ISO-8601 text ([`temporal::iso_date`]): `"2024-02-29"`.
    fn date(&mut self, days: i32) {
        self.str(&temporal::iso_date(days));
    }

    /// A time of day, `value` units after midnight (below one day).
    ///
    /// The default reports the ISO-8601 text ([`temporal::iso_time`]): `"12:34:56.789"`, or
    /// the count when it is not within a day.
    fn time(&mut self, value: i64, unit: TimeUnit) {
        match temporal::iso_time(value, unit) {
            Some(text) => self.str(&text),
            None => self.i64(value),
        }
    }

    /// An exact decimal, `unscaled × 10^-scale`, declared with `precision` digits (at most
    /// [`MAX_DECIMAL_PRECISION`](temporal::MAX_DECIMAL_PRECISION), with `scale <= precision`,
    /// and `unscaled` within them).
    ///
    /// The default reports the exact text ([`temporal::decimal_text`]): `"-12.340"`.
    fn decimal(&mut self, unscaled: i128, precision: u8, scale: u8) {
        let _ = precision;
        self.str(&temporal::decimal_text(unscaled, scale));
    }

    /// A null whose type the deserializer's schema knows: a nullable timestamp that is null,
    /// or a field a JSON Schema declares and the document leaves out. A column builder can
    /// give the column that type even when no value in it has one.
    ///
    /// The default reports [`null`](Self::null).
    fn typed_null(&mut self, ty: ScalarType) {
        let _ = ty;
        self.null();
    }
}

/// The type of a [`typed_null`](ValueVisitor::typed_null): the scalar types a column can have,
/// as the other events make them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScalarType {
    /// As [`bool`](ValueVisitor::bool) makes it.
    Boolean,
    /// As [`i64`](ValueVisitor::i64) makes it.
    Int64,
    /// As [`f64`](ValueVisitor::f64) makes it.
    Float64,
    /// As [`str`](ValueVisitor::str) makes it.
    Utf8,
    /// As [`bytes`](ValueVisitor::bytes) makes it.
    Binary,
    /// As [`timestamp`](ValueVisitor::timestamp) makes it.
    Datetime {
        /// The unit.
        unit: TimeUnit,
        /// Instants in UTC, or local date-times.
        utc: bool,
    },
    /// As [`date`](ValueVisitor::date) makes it.
    Date,
    /// As [`time`](ValueVisitor::time) makes it.
    Time,
    /// As [`decimal`](ValueVisitor::decimal) makes it.
    Decimal {
        /// The number of significant digits.
        precision: u8,
        /// The number of digits after the point.
        scale: u8,
    },
}

/// A decoded value, owned: what [`MessageDeserializer::deserialize`](crate::MessageDeserializer::deserialize)
/// returns for per-message use.
///
/// Its [`Display`](fmt::Display) is compact JSON (see [`JsonWriter`] for how bytes and
/// non-finite floats are written).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// A null.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer above `i64::MAX`.
    UInt(u64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// An object, fields in their original order.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Replays this value as visitor events.
    pub fn visit(&self, visitor: &mut dyn ValueVisitor) {
        match self {
            Value::Null => visitor.null(),
            Value::Bool(v) => visitor.bool(*v),
            Value::Int(v) => visitor.i64(*v),
            Value::UInt(v) => visitor.u64(*v),
            Value::Float(v) => visitor.f64(*v),
            Value::Str(v) => visitor.str(v),
            Value::Bytes(v) => visitor.bytes(v),
            Value::Array(items) => {
                visitor.begin_array(Some(items.len()));
                for item in items {
                    item.visit(visitor);
                }
                visitor.end_array();
            }
            Value::Object(fields) => {
                visitor.begin_object(Some(fields.len()));
                for (k, v) in fields {
                    visitor.key(k);
                    v.visit(visitor);
                }
                visitor.end_object();
            }
        }
    }

    /// The value of the first field named `key`, if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a number (large integers lose precision).
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::UInt(v) => Some(*v as f64),
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut writer = JsonWriter::new();
        self.visit(&mut writer);
        f.write_str(writer.as_str())
    }
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),+ $(,)?) => {
        $(impl From<$ty> for Value {
            fn from(v: $ty) -> Self {
                Value::$variant(v.into())
            }
        })+
    };
}
value_from!(bool => Bool, i64 => Int, i32 => Int, f64 => Float, String => Str, &str => Str,
    Vec<u8> => Bytes, Vec<Value> => Array);

impl From<u64> for Value {
    /// Values up to `i64::MAX` become [`Value::Int`], larger ones [`Value::UInt`].
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Value::UInt(v), Value::Int)
    }
}

/// A partly built array or object.
#[derive(Debug)]
enum Frame {
    Array(Vec<Value>),
    Object(Vec<(String, Value)>, Option<String>),
}

/// A [`ValueVisitor`] that builds an owned [`Value`].
///
/// ```
/// use truthound_streaming_core::{Value, ValueBuilder, ValueVisitor};
///
/// let mut b = ValueBuilder::new();
/// b.begin_array(None);
/// b.i64(1);
/// b.str("two");
/// b.end_array();
/// assert_eq!(b.finish(), Some(Value::Array(vec![Value::Int(1), Value::Str("two".into())])));
/// ```
#[derive(Debug, Default)]
pub struct ValueBuilder {
    stack: Vec<Frame>,
    done: Option<Value>,
    /// Set when events broke the grammar (for example `key` outside an object).
    malformed: bool,
}

impl ValueBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built value, if the events formed exactly one complete value.
    pub fn finish(self) -> Option<Value> {
        if self.malformed || !self.stack.is_empty() {
            return None;
        }
        self.done
    }

    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            Some(Frame::Array(items)) => items.push(value),
            Some(Frame::Object(fields, pending)) => match pending.take() {
                Some(k) => fields.push((k, value)),
                None => self.malformed = true,
            },
            None => {
                if self.done.is_some() {
                    self.malformed = true;
                }
                self.done = Some(value);
            }
        }
    }
}

impl ValueVisitor for ValueBuilder {
    fn null(&mut self) {
        self.push(Value::Null);
    }
    fn bool(&mut self, v: bool) {
        self.push(Value::Bool(v));
    }
    fn i64(&mut self, v: i64) {
        self.push(Value::Int(v));
    }
    fn u64(&mut self, v: u64) {
        self.push(Value::from(v));
    }
    fn f64(&mut self, v: f64) {
        self.push(Value::Float(v));
    }
    fn str(&mut self, v: &str) {
        self.push(Value::Str(v.to_owned()));
    }
    fn bytes(&mut self, v: &[u8]) {
        self.push(Value::Bytes(v.to_vec()));
    }
    fn begin_object(&mut self, len: Option<usize>) {
        self.stack
            .push(Frame::Object(Vec::with_capacity(len.unwrap_or(0)), None));
    }
    fn key(&mut self, k: &str) {
        match self.stack.last_mut() {
            Some(Frame::Object(_, pending @ None)) => *pending = Some(k.to_owned()),
            _ => self.malformed = true,
        }
    }
    fn end_object(&mut self) {
        match self.stack.pop() {
            Some(Frame::Object(fields, None)) => self.push(Value::Object(fields)),
            _ => self.malformed = true,
        }
    }
    fn begin_array(&mut self, len: Option<usize>) {
        self.stack
            .push(Frame::Array(Vec::with_capacity(len.unwrap_or(0))));
    }
    fn end_array(&mut self) {
        match self.stack.pop() {
            Some(Frame::Array(items)) => self.push(Value::Array(items)),
            _ => self.malformed = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(fields: Vec<(&str, Value)>) -> Value {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    #[test]
    fn builds_nested_values_from_events() {
        let mut b = ValueBuilder::new();
        b.begin_object(Some(3));
        b.key("id");
        b.u64(7);
        b.key("tags");
        b.begin_array(None);
        b.str("a");
        b.null();
        b.end_array();
        b.key("inner");
        b.begin_object(None);
        b.key("big");
        b.u64(u64::MAX);
        b.key("f");
        b.f64(1.5);
        b.key("ok");
        b.bool(true);
        b.key("raw");
        b.bytes(&[1, 2]);
        b.end_object();
        b.end_object();
        let expected = obj(vec![
            ("id", Value::Int(7)),
            (
                "tags",
                Value::Array(vec![Value::Str("a".into()), Value::Null]),
            ),
            (
                "inner",
                obj(vec![
                    ("big", Value::UInt(u64::MAX)),
                    ("f", Value::Float(1.5)),
                    ("ok", Value::Bool(true)),
                    ("raw", Value::Bytes(vec![1, 2])),
                ]),
            ),
        ]);
        assert_eq!(b.finish(), Some(expected));
    }

    #[test]
    fn incomplete_or_ungrammatical_events_build_nothing() {
        let mut b = ValueBuilder::new();
        b.begin_object(None);
        b.key("a");
        assert_eq!(b.finish(), None);

        let mut b = ValueBuilder::new();
        b.begin_array(None);
        b.key("a");
        b.end_array();
        assert_eq!(b.finish(), None);

        let mut b = ValueBuilder::new();
        b.i64(1);
        b.i64(2);
        assert_eq!(b.finish(), None);

        let mut b = ValueBuilder::new();
        b.end_object();
        assert_eq!(b.finish(), None);

        assert_eq!(ValueBuilder::new().finish(), None);
    }

    #[test]
    fn replaying_a_value_rebuilds_it() {
        let v = obj(vec![
            ("a", Value::Array(vec![Value::Int(-1), Value::Float(2.25)])),
            ("b", obj(vec![])),
            ("c", Value::Bytes(vec![0xff])),
        ]);
        let mut b = ValueBuilder::new();
        v.visit(&mut b);
        assert_eq!(b.finish(), Some(v));
    }

    #[test]
    fn display_is_compact_json() {
        let v = obj(vec![
            ("s", Value::Str("q\"\\\n\u{1}é".into())),
            ("n", Value::Null),
            ("f", Value::Float(1.0)),
            ("nan", Value::Float(f64::NAN)),
            ("u", Value::UInt(u64::MAX)),
            ("b", Value::Bytes(vec![104, 105])),
            ("l", Value::Array(vec![Value::Bool(false), Value::Int(-3)])),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{"s":"q\"\\\n\u0001é","n":null,"f":1.0,"nan":null,"u":18446744073709551615,"b":[104,105],"l":[false,-3]}"#
        );
    }

    #[test]
    fn accessors() {
        let v = obj(vec![("a", Value::from(3_u64)), ("b", Value::from("x"))]);
        assert_eq!(v.get("a").and_then(Value::as_i64), Some(3));
        assert_eq!(v.get("a").and_then(Value::as_f64), Some(3.0));
        assert_eq!(v.get("b").and_then(Value::as_str), Some("x"));
        assert!(v.get("zz").is_none());
        assert_eq!(Value::from(u64::MAX), Value::UInt(u64::MAX));
        assert!(Value::default().is_null());
    }
}
