//! [`JSONDeserializer`]: JSON documents, parsed by simd-json into a reused tape.

use std::cell::RefCell;

use simd_json::prelude::ValueAsScalar as _;
use simd_json::{Buffers, Node, StaticNode, Tape};
use truthound_streaming_core::{
    ConfigError, DeserializeFailure, MessageDeserializer, ScalarType, TimeUnit, ValueVisitor,
};

/// Decodes JSON payloads (the `"json"` deserializer type).
///
/// Each payload is copied once into a per-thread scratch buffer (simd-json parses in place),
/// parsed into simd-json's tape, and the tape is walked into the visitor; scratch buffers and the
/// tape are reused between calls, so steady-state decoding does not allocate.
///
/// Numbers: integers that fit `i64` are reported with
/// [`ValueVisitor::i64`], larger non-negative ones up to `u64::MAX` with
/// [`ValueVisitor::u64`], and integers beyond that range as `f64` (with rounding). A payload must
/// hold exactly one JSON value; invalid JSON and invalid UTF-8 are failures.
///
/// Payloads in the Confluent schema-registry wire format (as its `JSONSerializer` writes them:
/// a zero byte, a 4-byte schema id, then the document) are read past the 5-byte frame: JSON
/// text never starts with a zero byte, so plain and framed documents can share a topic. The
/// schema itself is not fetched; the columns come from the documents, as for plain JSON (the
/// [`JsonSchemaDeserializer`](crate::JsonSchemaDeserializer) types them by their schema).
///
/// ```
/// use truthound_json::JSONDeserializer;
/// use truthound_streaming_core::{MessageDeserializer, Value};
///
/// let d = JSONDeserializer::new();
/// let v = d.deserialize(br#"{"big": 18446744073709551615, "huge": 1e400, "s": "\u00e9"}"#);
/// assert!(v.is_err(), "1e400 is out of range for f64");
///
/// let v = d.deserialize(br#"{"big": 18446744073709551615, "s": "\u00e9"}"#)?;
/// assert_eq!(v.get("big"), Some(&Value::UInt(u64::MAX)));
/// assert_eq!(v.get("s"), Some(&Value::Str("é".into())));
/// # Ok::<(), truthound_streaming_core::DeserializeFailure>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JSONDeserializer {
    _private: (),
}

/// The idiomatic Rust spelling of [`JSONDeserializer`].
pub type JsonDeserializer = JSONDeserializer;

impl JSONDeserializer {
    /// A UTF-8 JSON deserializer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A JSON deserializer for `encoding`; only UTF-8 (`"utf-8"` or `"utf8"`, any case) exists,
    /// as JSON exchanged between systems must be UTF-8 (RFC 8259).
    ///
    /// ```
    /// let err = truthound_json::JSONDeserializer::with_encoding("latin-1").unwrap_err();
    /// assert_eq!(err.to_string(), r#"unknown encoding "latin-1"; expected one of: utf-8, utf8"#);
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::UnknownVariant`] naming the supported encodings.
    pub fn with_encoding(encoding: &str) -> Result<Self, ConfigError> {
        crate::check_encoding(encoding)?;
        Ok(Self::new())
    }
}

/// Per-thread parse state, reused between payloads.
struct Scratch {
    /// The payload copy simd-json parses (and unescapes strings) in place.
    input: Vec<u8>,
    buffers: Buffers,
    /// The tape's allocation, kept empty between calls.
    tape: Vec<Node<'static>>,
    /// Open containers while walking.
    stack: Vec<Open>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            input: Vec::new(),
            buffers: Buffers::new(512),
            tape: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn decode<T: Types>(
        &mut self,
        payload: &[u8],
        types: &T,
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        self.input.clear();
        self.input.extend_from_slice(payload);
        let mut tape = Tape(relifetime(std::mem::take(&mut self.tape)));
        let result = match simd_json::fill_tape(&mut self.input, &mut self.buffers, &mut tape) {
            Ok(()) => walk(&tape.0, &mut self.stack, types, visitor),
            Err(e) => Err(DeserializeFailure::new(format!("invalid JSON: {e}"))),
        };
        self.tape = relifetime(tape.0);
        result
    }
}

/// Empties a tape vector and gives it another lifetime, keeping its allocation (the in-place
/// `collect` of a `vec::IntoIter` into a vector of a same-layout type reuses the buffer).
fn relifetime<'b>(mut nodes: Vec<Node<'_>>) -> Vec<Node<'b>> {
    nodes.clear();
    nodes
        .into_iter()
        .map(|_| Node::Static(StaticNode::Null))
        .collect()
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// An open container while walking.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Open {
    is_object: bool,
    /// Entries left.
    left: usize,
    /// The container's shape.
    shape: u32,
    /// Where it starts on the tape.
    start: usize,
    /// How many of an object's keys are properties its shape declares.
    matched: usize,
    /// Which of the first 64 declared properties the object has (so that a key given twice
    /// counts once).
    seen: u64,
}

/// What a walk knows of the value's types: for a JSON Schema, the shape of each value by its
/// place in the document ([`crate::schema`]); [`Untyped`] knows nothing. Shapes are numbers
/// that only the implementation interprets; the walk passes them around.
pub(crate) trait Types {
    /// The shape of the whole document.
    fn root(&self) -> u32;
    /// The shape of the value of `key` in an object of shape `object`, and the property's
    /// place in [`declared`](Self::declared): `None` when the shape does not declare it.
    fn field(&self, object: u32, key: &str) -> Option<(u32, usize)>;
    /// The properties an object of shape `object` declares, sorted by name, with their shapes.
    /// Those a document leaves out are reported as (typed) nulls.
    fn declared(&self, object: u32) -> &[(Box<str>, u32)];
    /// The shape of the items of an array of shape `array`.
    fn items(&self, array: u32) -> u32;
    /// What a scalar of this shape becomes.
    fn scalar(&self, shape: u32) -> Scalar;
}

/// What a scalar of a shape becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// As it is in the document.
    AsIs,
    /// A string with `format: date-time`: a UTC timestamp in microseconds.
    DateTime,
    /// A string with `format: date`.
    Date,
    /// A string with `format: time`: microseconds after midnight UTC.
    Time,
    /// `type: integer`: an integral float (`3.0`) as an integer.
    Integer,
    /// `type: number`: integers as floats, so that the column is one of floats from its first
    /// value.
    Number,
    /// `type: string` without a format: as it is; a null is a `Utf8` null.
    String,
    /// `type: boolean`: as it is; a null is a `Boolean` null.
    Boolean,
}

impl Scalar {
    /// The type of this shape's nulls, when the schema gives one.
    pub(crate) const fn null_type(self) -> Option<ScalarType> {
        match self {
            Self::AsIs => None,
            Self::DateTime => Some(ScalarType::Datetime {
                unit: TimeUnit::Microseconds,
                utc: true,
            }),
            Self::Date => Some(ScalarType::Date),
            Self::Time => Some(ScalarType::Time),
            Self::Integer => Some(ScalarType::Int64),
            Self::Number => Some(ScalarType::Float64),
            Self::String => Some(ScalarType::Utf8),
            Self::Boolean => Some(ScalarType::Boolean),
        }
    }
}

/// No types: every value as the document has it.
pub(crate) struct Untyped;

impl Types for Untyped {
    #[inline(always)]
    fn root(&self) -> u32 {
        0
    }
    #[inline(always)]
    fn field(&self, _: u32, _: &str) -> Option<(u32, usize)> {
        None
    }
    #[inline(always)]
    fn declared(&self, _: u32) -> &[(Box<str>, u32)] {
        &[]
    }
    #[inline(always)]
    fn items(&self, _: u32) -> u32 {
        0
    }
    #[inline(always)]
    fn scalar(&self, _: u32) -> Scalar {
        Scalar::AsIs
    }
}

/// Reports the value on `nodes` to `visitor`, depth first, without recursion, typed by `types`.
fn walk<T: Types>(
    nodes: &[Node<'_>],
    stack: &mut Vec<Open>,
    types: &T,
    visitor: &mut dyn ValueVisitor,
) -> Result<(), DeserializeFailure> {
    let truncated = || DeserializeFailure::new("invalid JSON: truncated tape");
    stack.clear();
    let mut idx = 0;
    let mut shape = types.root();
    // The last key seen, to name the field in a failure.
    let mut key: &str = "";
    loop {
        match *nodes.get(idx).ok_or_else(truncated)? {
            Node::String(s) => match types.scalar(shape) {
                Scalar::DateTime => typed(
                    truthound_streaming_core::temporal::parse_iso_timestamp(s),
                    s,
                    key,
                    "date-time",
                    |v| visitor.timestamp(v, TimeUnit::Microseconds, true),
                )?,
                Scalar::Date => typed(
                    truthound_streaming_core::temporal::parse_iso_date(s),
                    s,
                    key,
                    "date",
                    |v| visitor.date(v),
                )?,
                Scalar::Time => typed(
                    truthound_streaming_core::temporal::parse_iso_time(s),
                    s,
                    key,
                    "time",
                    |v| visitor.time(v, TimeUnit::Microseconds),
                )?,
                _ => visitor.str(s),
            },
            Node::Static(node) => scalar(node, types.scalar(shape), visitor),
            Node::Object { len, .. } => {
                visitor.begin_object(Some(len));
                stack.push(Open {
                    is_object: true,
                    left: len,
                    shape,
                    start: idx,
                    matched: 0,
                    seen: 0,
                });
            }
            Node::Array { len, .. } => {
                visitor.begin_array(Some(len));
                stack.push(Open {
                    is_object: false,
                    left: len,
                    shape,
                    start: idx,
                    matched: 0,
                    seen: 0,
                });
            }
        }
        idx += 1;
        // Close finished containers, then position on the next value (after its key).
        loop {
            let Some(open) = stack.last_mut() else {
                return Ok(());
            };
            if open.left == 0 {
                if open.is_object {
                    let declared = types.declared(open.shape);
                    // Up to 64 properties, the bit set says exactly; beyond, a key given twice
                    // may hide a property left out.
                    let present = if declared.len() <= 64 {
                        open.seen.count_ones() as usize
                    } else {
                        open.matched
                    };
                    if declared.len() > present {
                        report_missing(nodes, open.start, declared, types, visitor);
                    }
                    visitor.end_object();
                } else {
                    visitor.end_array();
                }
                stack.pop();
                continue;
            }
            open.left -= 1;
            if open.is_object {
                match nodes.get(idx) {
                    Some(&Node::String(k)) => {
                        visitor.key(k);
                        key = k;
                        shape = match types.field(open.shape, k) {
                            Some((s, i)) => {
                                open.matched += 1;
                                if i < 64 {
                                    open.seen |= 1 << i;
                                }
                                s
                            }
                            None => 0,
                        };
                    }
                    _ => return Err(DeserializeFailure::new("invalid JSON: object key expected")),
                }
                idx += 1;
                if visitor.skip_value() {
                    // The value, containers with all they hold, is passed over on the tape.
                    idx += match *nodes.get(idx).ok_or_else(truncated)? {
                        Node::Object { count, .. } | Node::Array { count, .. } => 1 + count,
                        Node::String(_) | Node::Static(_) => 1,
                    };
                    continue;
                }
            } else {
                shape = types.items(open.shape);
            }
            break;
        }
    }
}

/// Reports a string the schema gives a format, parsed; a failure naming the field when it does
/// not parse.
fn typed<V>(
    parsed: Option<V>,
    text: &str,
    key: &str,
    format: &str,
    report: impl FnOnce(V),
) -> Result<(), DeserializeFailure> {
    match parsed {
        Some(v) => {
            report(v);
            Ok(())
        }
        None => {
            let shown: String = text.chars().take(64).collect();
            let more = if shown.len() < text.len() { "…" } else { "" };
            let place = if key.is_empty() {
                "the value".to_owned()
            } else {
                format!("field {key:?}")
            };
            Err(DeserializeFailure::new(format!(
                "{place}: {shown:?}{more} is not an RFC 3339 {format}, which the JSON Schema's \
                 `format` says it is"
            )))
        }
    }
}

/// Reports the properties of `declared` that the object starting at `start` on the tape
/// leaves out: each as its key and a null of its shape's type.
#[cold]
fn report_missing<T: Types>(
    nodes: &[Node<'_>],
    start: usize,
    declared: &[(Box<str>, u32)],
    types: &T,
    visitor: &mut dyn ValueVisitor,
) {
    let Some(&Node::Object { len, .. }) = nodes.get(start) else {
        return;
    };
    let mut present: Vec<&str> = Vec::with_capacity(len);
    let mut i = start + 1;
    for _ in 0..len {
        let Some(&Node::String(k)) = nodes.get(i) else {
            return;
        };
        present.push(k);
        i += 1 + match nodes.get(i + 1) {
            Some(Node::Object { count, .. } | Node::Array { count, .. }) => 1 + count,
            _ => 1,
        };
    }
    present.sort_unstable();
    for (name, shape) in declared {
        if present.binary_search(&&**name).is_ok() {
            continue;
        }
        visitor.key(name);
        if visitor.skip_value() {
            continue;
        }
        match types.scalar(*shape).null_type() {
            Some(ty) => visitor.typed_null(ty),
            None => visitor.null(),
        }
    }
}

fn scalar(node: StaticNode, typed: Scalar, visitor: &mut dyn ValueVisitor) {
    match node {
        StaticNode::Null => match typed.null_type() {
            Some(ty) => visitor.typed_null(ty),
            None => visitor.null(),
        },
        StaticNode::Bool(b) => visitor.bool(b),
        StaticNode::I64(v) if typed == Scalar::Number => visitor.f64(v as f64),
        StaticNode::U64(v) if typed == Scalar::Number => visitor.f64(v as f64),
        StaticNode::F64(v)
            if typed == Scalar::Integer
                && v.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) =>
        {
            visitor.i64(v as i64);
        }
        StaticNode::I64(v) => visitor.i64(v),
        StaticNode::U64(v) => match i64::try_from(v) {
            Ok(v) => visitor.i64(v),
            Err(_) => visitor.u64(v),
        },
        StaticNode::F64(v) => visitor.f64(v),
        // 128-bit integers exist when another crate in the build (Polars) turns on simd-json's
        // `128bit` feature; they are beyond `u64` and are reported as floats.
        #[allow(unreachable_patterns)]
        other => match other.cast_f64() {
            Some(f) => visitor.f64(f),
            None => visitor.null(),
        },
    }
}

/// Decodes one JSON document (past a Confluent wire-format frame, if it has one) into
/// `visitor`, typed by `types`, on this thread's reused scratch buffers.
pub(crate) fn decode<T: Types>(
    payload: &[u8],
    types: &T,
    visitor: &mut dyn ValueVisitor,
) -> Result<(), DeserializeFailure> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => scratch.decode(payload, types, visitor),
        // A visitor that decodes JSON itself, on the same thread: use a fresh scratch.
        Err(_) => Scratch::new().decode(payload, types, visitor),
    })
}

/// The document in a payload: past the Confluent wire format's magic byte 0 and schema id
/// when it has them (JSON text never starts with a zero byte).
pub(crate) fn unframed(payload: &[u8]) -> &[u8] {
    match payload {
        [0, _, _, _, _, document @ ..] => document,
        other => other,
    }
}

impl MessageDeserializer for JSONDeserializer {
    fn name(&self) -> &str {
        "json"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        decode(unframed(payload), &Untyped, visitor)
    }
}
