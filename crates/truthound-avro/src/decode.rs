//! The datum decoder: reads Avro binary encoding straight from the payload slice and reports each
//! value to a [`ValueVisitor`] as it is read, without building a value tree.
//!
//! Every read is bounds-checked against the payload; lengths and block counts are checked
//! against the bytes that remain before anything is allocated, so no input can make the decoder
//! panic, allocate more than a small multiple of the payload, or loop without consuming bytes
//! (see [`MAX_DEPTH`] and [`MAX_ZERO_WIDTH_ITEMS`]).

use std::fmt::{self, Write as _};

use truthound_streaming_core::temporal::MAX_DECIMAL_PRECISION;
use truthound_streaming_core::{DeserializeFailure, ScalarType, TimeUnit, ValueVisitor};

use crate::logical;
use crate::schema::{self, Compiled, Node, NodeId, Record, Scalar, Symbol};

/// The deepest nesting of records, arrays and maps a datum may have. A recursive schema such as a
/// linked list can otherwise nest as deep as the payload is long (or, for a record that contains
/// itself, without end); the limit also spares consumers that recurse over the events.
pub const MAX_DEPTH: usize = 128;

/// How many array items whose encoding can be empty (`null`, a record of nulls) one datum may
/// hold: such items consume no bytes, so a lying block count is otherwise only bounded by time.
pub const MAX_ZERO_WIDTH_ITEMS: u64 = 1 << 16;

/// Decodes the datum that starts at `start` in `payload` and runs to its end, reporting it to
/// `visitor`. Positions in failures count from the start of `payload`.
pub(crate) fn decode_datum(
    schema: &Compiled,
    payload: &[u8],
    start: usize,
    visitor: &mut dyn ValueVisitor,
) -> Result<(), DeserializeFailure> {
    let mut decoder = Decoder {
        schema,
        cur: Cursor {
            buf: payload,
            pos: start,
        },
        zero_width_items: 0,
    };
    decoder.datum(visitor).map_err(DecodeError::into_failure)?;
    let trailing = payload.len() - decoder.cur.pos;
    if trailing > 0 {
        return Err(DeserializeFailure::new(format!(
            "{trailing} trailing byte{} after the Avro datum (it ends at byte {} of {})",
            if trailing == 1 { "" } else { "s" },
            decoder.cur.pos,
            payload.len()
        )));
    }
    Ok(())
}

/// One step of the path to the value that failed.
#[derive(Debug)]
enum Segment {
    Field(Box<str>),
    Index(u64),
    Key(String),
}

/// A decoding failure with its byte position and the path to the failing value.
#[derive(Debug)]
struct DecodeError {
    reason: String,
    pos: usize,
    /// Outermost segment first.
    path: Vec<Segment>,
}

impl DecodeError {
    fn new(reason: impl Into<String>, pos: usize) -> Self {
        Self {
            reason: reason.into(),
            pos,
            path: Vec::new(),
        }
    }

    fn into_failure(self) -> DeserializeFailure {
        DeserializeFailure::new(self.to_string())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.pos)?;
        if self.path.is_empty() {
            return Ok(());
        }
        let mut path = String::new();
        for segment in &self.path {
            match segment {
                Segment::Field(name) if path.is_empty() => path.push_str(name),
                Segment::Field(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                Segment::Index(i) => {
                    let _ = write!(path, "[{i}]");
                }
                Segment::Key(k) => {
                    let _ = write!(path, "[{k:?}]");
                }
            }
        }
        write!(f, " (in `{path}`)")
    }
}

type DecodeResult<T> = Result<T, DecodeError>;

/// Adds the path through the first `depth` frames of `stack` to a failure.
fn with_path(mut error: DecodeError, stack: &[Frame<'_>], depth: usize) -> DecodeError {
    error.path = stack[..depth].iter().filter_map(Frame::segment).collect();
    error
}

/// `"1 byte left"`, `"3 bytes left"`.
fn bytes_left(n: usize) -> String {
    if n == 1 {
        "1 byte left".to_owned()
    } else {
        format!("{n} bytes left")
    }
}

/// The visitor of writer fields the reader does not have: every event is dropped.
struct Discard;

/// The type of a null in place of `scalar`: the type its values make (see the crate's type
/// table); `None` for a struct (`duration`) or a type without values.
fn null_type(scalar: &Scalar) -> Option<ScalarType> {
    Some(match scalar {
        Scalar::Boolean => ScalarType::Boolean,
        Scalar::Int | Scalar::Long => ScalarType::Int64,
        Scalar::Float | Scalar::Double | Scalar::LongAsFloat { .. } => ScalarType::Float64,
        Scalar::String
        | Scalar::Enum(_)
        | Scalar::Uuid
        | Scalar::FixedUuid
        | Scalar::BigDecimal => ScalarType::Utf8,
        Scalar::Bytes | Scalar::Fixed(_) => ScalarType::Binary,
        Scalar::Decimal {
            precision, scale, ..
        } => match (u8::try_from(*precision), u8::try_from(*scale)) {
            (Ok(precision), Ok(scale)) if precision <= MAX_DECIMAL_PRECISION => {
                ScalarType::Decimal { precision, scale }
            }
            _ => ScalarType::Utf8,
        },
        Scalar::Date => ScalarType::Date,
        Scalar::TimeMillis | Scalar::TimeMicros => ScalarType::Time,
        Scalar::Timestamp { unit, utc } => ScalarType::Datetime {
            unit: *unit,
            utc: *utc,
        },
        Scalar::Null | Scalar::Duration | Scalar::Unreadable(_) => return None,
    })
}

impl ValueVisitor for Discard {
    fn null(&mut self) {}
    fn bool(&mut self, _: bool) {}
    fn i64(&mut self, _: i64) {}
    fn u64(&mut self, _: u64) {}
    fn f64(&mut self, _: f64) {}
    fn str(&mut self, _: &str) {}
    fn bytes(&mut self, _: &[u8]) {}
    fn begin_array(&mut self, _: Option<usize>) {}
    fn end_array(&mut self) {}
    fn begin_object(&mut self, _: Option<usize>) {}
    fn key(&mut self, _: &str) {}
    fn end_object(&mut self) {}
    fn timestamp(&mut self, _: i64, _: TimeUnit, _: bool) {}
    fn date(&mut self, _: i32) {}
    fn time(&mut self, _: i64, _: TimeUnit) {}
    fn decimal(&mut self, _: i128, _: u8, _: u8) {}
}

/// A read position in a byte slice; every read checks the bounds.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn eof(&self, what: &str) -> DecodeError {
        DecodeError::new(format!("unexpected end of data reading {what}"), self.pos)
    }

    fn byte(&mut self, what: &str) -> DecodeResult<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(|| self.eof(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> DecodeResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(DecodeError::new(
                format!(
                    "unexpected end of data reading {what}: {n} bytes needed, {}",
                    bytes_left(self.remaining())
                ),
                self.pos,
            ));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, what: &str) -> DecodeResult<[u8; N]> {
        let bytes = self.take(N, what)?;
        <[u8; N]>::try_from(bytes).map_err(|_| self.eof(what))
    }

    /// A zigzag varint (`long`).
    fn long(&mut self, what: &str) -> DecodeResult<i64> {
        let start = self.pos;
        let mut raw: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            // The tenth byte may only carry the top bit of the 64.
            if shift == 63 && b > 1 {
                return Err(DecodeError::new(format!("{what} overflows 64 bits"), start));
            }
            raw |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                #[allow(clippy::cast_possible_wrap)]
                return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
            }
        }
        Err(DecodeError::new(
            format!("{what} is longer than 10 bytes"),
            start,
        ))
    }

    /// A zigzag varint that must fit an `int`.
    fn int(&mut self, what: &str) -> DecodeResult<i32> {
        let start = self.pos;
        let v = self.long(what)?;
        i32::try_from(v)
            .map_err(|_| DecodeError::new(format!("{v} is out of range for {what}"), start))
    }

    /// A length prefix: non-negative and no more than what remains.
    fn len(&mut self, what: &str) -> DecodeResult<usize> {
        let start = self.pos;
        let len = self.long(what)?;
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => Ok(len),
            Ok(_) => Err(DecodeError::new(
                format!(
                    "unexpected end of data reading {what} of {len} bytes ({})",
                    bytes_left(self.remaining())
                ),
                start,
            )),
            Err(_) => Err(DecodeError::new(
                format!("negative length {len} for {what}"),
                start,
            )),
        }
    }

    /// Length-prefixed bytes (`bytes`, `string`).
    fn bytes(&mut self, what: &str) -> DecodeResult<&'a [u8]> {
        let len = self.len(what)?;
        self.take(len, what)
    }

    fn str(&mut self, what: &str) -> DecodeResult<&'a str> {
        let start = self.pos;
        let bytes = self.bytes(what)?;
        std::str::from_utf8(bytes)
            .map_err(|_| DecodeError::new(format!("{what} is not valid UTF-8"), start))
    }
}

struct Decoder<'a> {
    schema: &'a Compiled,
    cur: Cursor<'a>,
    /// Array items counted against [`MAX_ZERO_WIDTH_ITEMS`].
    zero_width_items: u64,
}

/// A record, array or map being decoded, on the decoder's explicit stack.
enum Frame<'a> {
    Record {
        record: &'a Record,
        /// The next field to decode.
        next: usize,
    },
    Array {
        items: NodeId,
        item_size: usize,
        /// Items left in the current block.
        left: u64,
        /// Items started so far.
        started: u64,
    },
    Map {
        values: NodeId,
        entry_size: usize,
        /// Entries left in the current block.
        left: u64,
        /// The key of the entry being decoded.
        key: &'a str,
    },
}

impl Frame<'_> {
    /// The path segment of the child this frame decoded last.
    fn segment(&self) -> Option<Segment> {
        match self {
            Frame::Record { record, next } => record
                .fields
                .get(next.checked_sub(1)?)
                .map(|field| Segment::Field(field.name.clone())),
            Frame::Array { started, .. } => Some(Segment::Index(started.checked_sub(1)?)),
            Frame::Map { key, .. } => Some(Segment::Key((*key).to_owned())),
        }
    }
}

impl<'a> Decoder<'a> {
    /// Decodes one value of the root type, depth first. Containers live on an explicit stack
    /// rather than the call stack, so nesting costs heap, not stack, whatever the build.
    fn datum(&mut self, visitor: &mut dyn ValueVisitor) -> DecodeResult<()> {
        let mut stack: Vec<Frame<'a>> = Vec::new();
        let mut next = Some(self.schema.root);
        // While a writer field the reader does not have is read, its events go nowhere: the
        // depth of the record it is in.
        let mut muted: Option<usize> = None;
        let mut discard = Discard;
        macro_rules! sink {
            () => {
                if muted.is_some() {
                    &mut discard as &mut dyn ValueVisitor
                } else {
                    &mut *visitor
                }
            };
        }
        loop {
            if let Some(id) = next.take() {
                // Entering a value: the top frame's current child is the one failing, if any.
                self.enter(id, &mut stack, sink!())
                    .map_err(|e| with_path(e, &stack, stack.len()))?;
            }
            if muted == Some(stack.len()) {
                muted = None;
            }
            // Between values: a failure here (a block count) belongs to the top container.
            let depth = stack.len();
            let Some(top) = stack.last_mut() else {
                return Ok(());
            };
            let step = match top {
                Frame::Record { record, next: i } => match record.fields.get(*i) {
                    Some(field) => {
                        *i += 1;
                        if field.skip {
                            muted = muted.or(Some(depth));
                        } else if muted.is_none() {
                            visitor.key(&field.name);
                        }
                        Ok(Some(field.node))
                    }
                    None => Ok(None),
                },
                Frame::Array {
                    items,
                    item_size,
                    left,
                    started,
                } => self.refill(left, *item_size, "an array block").map(|more| {
                    more.then(|| {
                        *left -= 1;
                        *started += 1;
                        *items
                    })
                }),
                Frame::Map {
                    values,
                    entry_size,
                    left,
                    key,
                } => match self.refill(left, *entry_size, "a map block") {
                    Ok(true) => self.cur.str("a map key").map(|k| {
                        *left -= 1;
                        *key = k;
                        if muted.is_none() {
                            visitor.key(k);
                        }
                        Some(*values)
                    }),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e),
                },
            };
            match step {
                Ok(Some(child)) => next = Some(child),
                Ok(None) => {
                    let sink = sink!();
                    match stack.pop() {
                        Some(Frame::Record { record, .. }) => {
                            for (name, events) in &record.defaults {
                                sink.key(name);
                                schema::replay(events, sink);
                            }
                            sink.end_object();
                        }
                        Some(Frame::Map { .. }) => sink.end_object(),
                        Some(Frame::Array { .. }) => sink.end_array(),
                        None => {}
                    }
                }
                Err(e) => return Err(with_path(e, &stack, stack.len() - 1)),
            }
        }
    }

    /// Starts a value of type `id`: a scalar is decoded whole, a container is opened and pushed.
    fn enter(
        &mut self,
        mut id: NodeId,
        stack: &mut Vec<Frame<'a>>,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        let schema = self.schema;
        loop {
            let frame = match &schema.nodes[id] {
                Node::Scalar(scalar) => return self.scalar(scalar, visitor),
                Node::Union(branches) => {
                    let start = self.cur.pos;
                    let index = self.cur.long("a union branch index")?;
                    id = *usize::try_from(index)
                        .ok()
                        .and_then(|i| branches.get(i))
                        .ok_or_else(|| {
                            DecodeError::new(
                                format!(
                                    "union branch {index} out of range: the union has {} branches",
                                    branches.len()
                                ),
                                start,
                            )
                        })?;
                    // The null of a nullable scalar (`["null", T]`) is a null of T's type.
                    if let (Node::Scalar(Scalar::Null), [a, b]) = (&schema.nodes[id], &**branches) {
                        let other = if *a == id { *b } else { *a };
                        if let Node::Scalar(scalar) = &schema.nodes[other]
                            && let Some(ty) = null_type(scalar)
                        {
                            visitor.typed_null(ty);
                            return Ok(());
                        }
                    }
                    continue;
                }
                Node::Record(record) => Frame::Record { record, next: 0 },
                Node::Array(items) => Frame::Array {
                    items: *items,
                    item_size: schema.min_size[*items],
                    left: 0,
                    started: 0,
                },
                Node::Map(values) => Frame::Map {
                    values: *values,
                    // Each entry carries at least its key's length byte.
                    entry_size: schema.min_size[*values].saturating_add(1),
                    left: 0,
                    key: "",
                },
            };
            if stack.len() >= MAX_DEPTH {
                return Err(DecodeError::new(
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                    self.cur.pos,
                ));
            }
            match &frame {
                Frame::Record { record, .. } => visitor.begin_object(Some(record.reported)),
                Frame::Array { .. } => visitor.begin_array(None),
                Frame::Map { .. } => visitor.begin_object(None),
            }
            stack.push(frame);
            return Ok(());
        }
    }

    /// Whether the current array or map block has an item left, reading the next block's count
    /// when it is used up (a count of 0 ends the sequence).
    fn refill(&mut self, left: &mut u64, item_size: usize, what: &str) -> DecodeResult<bool> {
        if *left == 0 {
            *left = self.block_count(item_size, what)?;
        }
        Ok(*left > 0)
    }

    /// Decodes one scalar.
    fn scalar(&mut self, scalar: &Scalar, visitor: &mut dyn ValueVisitor) -> DecodeResult<()> {
        match scalar {
            Scalar::Null => visitor.null(),
            Scalar::Boolean => match self.cur.byte("a boolean")? {
                0 => visitor.bool(false),
                1 => visitor.bool(true),
                b => {
                    return Err(DecodeError::new(
                        format!("invalid boolean byte 0x{b:02x}"),
                        self.cur.pos - 1,
                    ));
                }
            },
            Scalar::Int => visitor.i64(i64::from(self.cur.int("an int")?)),
            Scalar::Long => visitor.i64(self.cur.long("a long")?),
            Scalar::Float => {
                let bytes = self.cur.array::<4>("a float")?;
                visitor.f64(f64::from(f32::from_le_bytes(bytes)));
            }
            Scalar::Double => visitor.f64(f64::from_le_bytes(self.cur.array::<8>("a double")?)),
            Scalar::Bytes => visitor.bytes(self.cur.bytes("bytes")?),
            Scalar::String => visitor.str(self.cur.str("a string")?),
            Scalar::Fixed(size) => visitor.bytes(self.cur.take(*size, "a fixed")?),
            Scalar::Uuid => {
                let start = self.cur.pos;
                let raw = self.cur.bytes("a uuid")?;
                match (std::str::from_utf8(raw), <&[u8; 16]>::try_from(raw)) {
                    (Ok(text), _) => visitor.str(text),
                    // 16 raw bytes behind a length, as apache-avro also accepts for a uuid.
                    (Err(_), Ok(bytes)) => visitor.str(&logical::uuid_text(bytes)),
                    (Err(_), Err(_)) => {
                        return Err(DecodeError::new("a uuid is not valid UTF-8", start));
                    }
                }
            }
            Scalar::FixedUuid => visitor.str(&logical::uuid_text(&self.cur.array::<16>("a uuid")?)),
            Scalar::Enum(symbols) => {
                let start = self.cur.pos;
                let index = self.cur.int("an enum index")?;
                let symbol = usize::try_from(index)
                    .ok()
                    .and_then(|i| symbols.get(i))
                    .ok_or_else(|| {
                        DecodeError::new(
                            format!(
                                "enum index {index} out of range: the enum has {} symbols",
                                symbols.len()
                            ),
                            start,
                        )
                    })?;
                match symbol {
                    Symbol::Known(text) => visitor.str(text),
                    Symbol::Unknown(text) => {
                        return Err(DecodeError::new(
                            format!(
                                "the writer's enum symbol {text:?} is not in the reader's enum, \
                                 which has no default"
                            ),
                            start,
                        ));
                    }
                }
            }
            Scalar::LongAsFloat { int, single } => {
                let value = if *int {
                    i64::from(self.cur.int("an int")?)
                } else {
                    self.cur.long("a long")?
                };
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
                let widened = if *single {
                    f64::from(value as f32)
                } else {
                    value as f64
                };
                visitor.f64(widened);
            }
            Scalar::Unreadable(reason) => {
                return Err(DecodeError::new(reason.to_string(), self.cur.pos));
            }
            Scalar::Decimal {
                precision,
                scale,
                fixed,
            } => {
                let start = self.cur.pos;
                let unscaled = match fixed {
                    Some(size) => self.cur.take(*size, "a decimal")?,
                    None => self.cur.bytes("a decimal")?,
                };
                let typed = u8::try_from(*precision)
                    .ok()
                    .filter(|p| *p <= MAX_DECIMAL_PRECISION)
                    .zip(u8::try_from(*scale).ok());
                match (typed, logical::decimal_i128(unscaled)) {
                    (Some((precision, scale)), Some(value)) => {
                        if !truthound_streaming_core::temporal::fits_precision(value, precision) {
                            return Err(DecodeError::new(
                                format!(
                                    "decimal {} has more than the schema's {precision} digits",
                                    truthound_streaming_core::temporal::decimal_text(value, scale)
                                ),
                                start,
                            ));
                        }
                        visitor.decimal(value, precision, scale);
                    }
                    _ => {
                        // Beyond 38 digits: the exact text.
                        let scale = i64::try_from(*scale).unwrap_or(i64::MAX);
                        let text = logical::decimal_text(unscaled, scale)
                            .map_err(|reason| DecodeError::new(reason, start))?;
                        visitor.str(&text);
                    }
                }
            }
            Scalar::BigDecimal => {
                let text = self.big_decimal()?;
                visitor.str(&text);
            }
            Scalar::Date => visitor.date(self.cur.int("a date")?),
            Scalar::TimeMillis => {
                let start = self.cur.pos;
                let millis = self.cur.int("a time-millis")?;
                if !(0..86_400_000).contains(&millis) {
                    return Err(DecodeError::new(
                        format!("time-millis {millis} is not within a day"),
                        start,
                    ));
                }
                visitor.time(i64::from(millis), TimeUnit::Milliseconds);
            }
            Scalar::TimeMicros => {
                let start = self.cur.pos;
                let micros = self.cur.long("a time-micros")?;
                if !(0..86_400_000_000).contains(&micros) {
                    return Err(DecodeError::new(
                        format!("time-micros {micros} is not within a day"),
                        start,
                    ));
                }
                visitor.time(micros, TimeUnit::Microseconds);
            }
            Scalar::Timestamp { unit, utc } => {
                let raw = self.cur.long("a timestamp")?;
                visitor.timestamp(raw, *unit, *utc);
            }
            Scalar::Duration => {
                let raw = self.cur.array::<12>("a duration")?;
                let part = |i: usize| {
                    i64::from(u32::from_le_bytes([
                        raw[i],
                        raw[i + 1],
                        raw[i + 2],
                        raw[i + 3],
                    ]))
                };
                visitor.begin_object(Some(3));
                visitor.key("months");
                visitor.i64(part(0));
                visitor.key("days");
                visitor.i64(part(4));
                visitor.key("millis");
                visitor.i64(part(8));
                visitor.end_object();
            }
        }
        Ok(())
    }

    /// The item count of the next array or map block (0 at the end), checked against the bytes
    /// left given that each item takes at least `item_size` bytes.
    fn block_count(&mut self, item_size: usize, what: &str) -> DecodeResult<u64> {
        let start = self.cur.pos;
        let raw = self.cur.long(what)?;
        if raw < 0 {
            // A negative count is followed by the block's size in bytes.
            let size_at = self.cur.pos;
            let size = self.cur.long("a block size")?;
            if usize::try_from(size).map_or(true, |size| size > self.cur.remaining()) {
                return Err(DecodeError::new(
                    format!(
                        "block size {size} does not fit ({})",
                        bytes_left(self.cur.remaining())
                    ),
                    size_at,
                ));
            }
        }
        let count = raw.unsigned_abs();
        if item_size == 0 {
            self.zero_width_items = self.zero_width_items.saturating_add(count);
            if self.zero_width_items > MAX_ZERO_WIDTH_ITEMS {
                return Err(DecodeError::new(
                    format!("more than {MAX_ZERO_WIDTH_ITEMS} array items that encode to no bytes"),
                    start,
                ));
            }
        } else if count > (self.cur.remaining() / item_size) as u64 {
            return Err(DecodeError::new(
                format!(
                    "{what} of {count} items cannot fit ({})",
                    bytes_left(self.cur.remaining())
                ),
                start,
            ));
        }
        Ok(count)
    }

    /// A `big-decimal`: bytes holding the unscaled value's bytes and then the scale as a long.
    fn big_decimal(&mut self) -> DecodeResult<String> {
        let len = self.cur.len("a big-decimal")?;
        let start = self.cur.pos;
        let end = start + len;
        let mut inner = Cursor {
            buf: &self.cur.buf[..end],
            pos: start,
        };
        self.cur.pos = end;
        let unscaled = inner.bytes("big-decimal digits")?;
        let scale_at = inner.pos;
        let scale = inner.long("a big-decimal scale")?;
        if inner.pos != end {
            return Err(DecodeError::new(
                format!(
                    "{} unexpected byte(s) after a big-decimal's scale",
                    end - inner.pos
                ),
                inner.pos,
            ));
        }
        if scale.unsigned_abs() > logical::MAX_BIG_DECIMAL_SCALE {
            return Err(DecodeError::new(
                format!(
                    "big-decimal scale {scale} is outside ±{}",
                    logical::MAX_BIG_DECIMAL_SCALE
                ),
                scale_at,
            ));
        }
        logical::decimal_text(unscaled, scale).map_err(|reason| DecodeError::new(reason, start))
    }
}
