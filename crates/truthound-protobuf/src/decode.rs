//! The message decoder: reads the wire format straight from the payload and reports each
//! message's fields in declaration order, whatever order they were written in.
//!
//! A message is read in two steps: its records are scanned into a reused list (field, value
//! position), then the fields are reported one by one, in declaration order, from that list;
//! absent fields get their default (or null, for fields with presence). Nothing is allocated
//! per message once the list has grown. Every read is bounds-checked; nesting is limited to
//! [`MAX_DEPTH`].

use truthound_streaming_core::temporal::{self, TimeUnit};
use truthound_streaming_core::{DeserializeFailure, ValueVisitor};

use crate::schema::{Absent, Compiled, Field, Kind, MessageId, Shape, Special};

/// The deepest nesting of messages a payload may have.
pub const MAX_DEPTH: usize = 100;

/// One value record of a message, as scanned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    /// The field's index in its message.
    field: usize,
    /// The order it was read in, so that the last of a singular field wins.
    seq: usize,
    value: Raw,
}

/// A value as the wire format holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// Length-delimited: the byte range in the payload.
    Len(usize, usize),
}

/// Decodes one message of the root type from `payload[start..]`.
pub(crate) fn decode(
    schema: &Compiled,
    root: MessageId,
    payload: &[u8],
    start: usize,
    records: &mut Vec<Record>,
    visitor: &mut dyn ValueVisitor,
) -> Result<(), DeserializeFailure> {
    let mut decoder = Decoder {
        schema,
        payload,
        records,
    };
    decoder.records.clear();
    decoder
        .message(root, start, payload.len(), 0, visitor)
        .map_err(|e| DeserializeFailure::new(e.to_string()))
}

/// A reusable record list, one per decoding thread.
pub(crate) type Records = Vec<Record>;

#[derive(Debug)]
struct DecodeError {
    reason: String,
    pos: usize,
    /// Innermost field first.
    path: Vec<Box<str>>,
}

impl DecodeError {
    fn new(reason: impl Into<String>, pos: usize) -> Self {
        Self {
            reason: reason.into(),
            pos,
            path: Vec::new(),
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.pos)?;
        if !self.path.is_empty() {
            let path: Vec<&str> = self.path.iter().rev().map(AsRef::as_ref).collect();
            write!(f, " (in `{}`)", path.join("."))?;
        }
        Ok(())
    }
}

type DecodeResult<T> = Result<T, DecodeError>;

struct Decoder<'a> {
    schema: &'a Compiled,
    payload: &'a [u8],
    records: &'a mut Vec<Record>,
}

fn varint(buf: &[u8], pos: &mut usize) -> DecodeResult<u64> {
    let start = *pos;
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let Some(&b) = buf.get(*pos) else {
            return Err(DecodeError::new(
                "unexpected end of data in a varint",
                start,
            ));
        };
        *pos += 1;
        if shift == 63 && b > 1 {
            return Err(DecodeError::new("a varint overflows 64 bits", start));
        }
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::new("a varint is longer than 10 bytes", start))
}

fn fixed<const N: usize>(buf: &[u8], pos: &mut usize, end: usize) -> DecodeResult<[u8; N]> {
    let start = *pos;
    let bytes = buf
        .get(start..start + N)
        .filter(|_| start + N <= end)
        .ok_or_else(|| {
            DecodeError::new(format!("unexpected end of data reading {N} bytes"), start)
        })?;
    *pos += N;
    <[u8; N]>::try_from(bytes).map_err(|_| DecodeError::new("short read", start))
}

/// Reads one record of a message ending at `end`: its field number, wire type and value.
fn record(buf: &[u8], pos: &mut usize, end: usize) -> DecodeResult<(u32, u8, Raw)> {
    let at = *pos;
    let tag = varint(buf, pos)?;
    let number = u32::try_from(tag >> 3)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| DecodeError::new(format!("invalid field number {}", tag >> 3), at))?;
    #[allow(clippy::cast_possible_truncation)]
    let wire = (tag & 7) as u8;
    let value = match wire {
        0 => Raw::Varint(varint(buf, pos)?),
        1 => Raw::Fixed64(u64::from_le_bytes(fixed::<8>(buf, pos, end)?)),
        5 => Raw::Fixed32(u32::from_le_bytes(fixed::<4>(buf, pos, end)?)),
        2 => {
            let len_at = *pos;
            let len = varint(buf, pos)?;
            let left = end - *pos;
            let len = usize::try_from(len)
                .ok()
                .filter(|len| *len <= left)
                .ok_or_else(|| {
                    DecodeError::new(
                        format!("a length of {len} runs past the message ({left} bytes left)"),
                        len_at,
                    )
                })?;
            *pos += len;
            Raw::Len(*pos - len, *pos)
        }
        3 | 4 => {
            return Err(DecodeError::new(
                format!("field {number} is a group, which is not supported"),
                at,
            ));
        }
        other => {
            return Err(DecodeError::new(
                format!("invalid wire type {other} for field {number}"),
                at,
            ));
        }
    };
    Ok((number, wire, value))
}

const fn wire_name(wire: u8) -> &'static str {
    match wire {
        0 => "varint",
        1 => "64-bit",
        2 => "length-delimited",
        3 | 4 => "group",
        _ => "32-bit",
    }
}

impl Decoder<'_> {
    /// Scans the records of the message in `payload[start..end]` onto `self.records`.
    fn scan(&mut self, id: MessageId, start: usize, end: usize) -> DecodeResult<()> {
        let message = &self.schema.messages[id];
        let buf = &self.payload[..end];
        let mut pos = start;
        while pos < end {
            let at = pos;
            let (number, wire, value) = record(buf, &mut pos, end)?;
            // Fields the schema does not know are skipped, as protobuf readers do.
            let Some(index) = message.field(number) else {
                continue;
            };
            let field = &message.fields[index];
            let expected = field.kind.wire_type();
            let packed =
                wire == 2 && field.kind.packable() && matches!(field.shape, Shape::Repeated);
            let entry = wire == 2 && matches!(field.shape, Shape::Map { .. });
            if wire != expected && !packed && !entry {
                return Err(DecodeError::new(
                    format!(
                        "field `{}` (number {number}) is {}, but its type is written {}",
                        field.name,
                        wire_name(wire),
                        wire_name(expected)
                    ),
                    at,
                ));
            }
            let seq = self.records.len();
            self.records.push(Record {
                field: index,
                seq,
                value,
            });
        }
        Ok(())
    }

    /// Decodes and reports the message in `payload[start..end]`.
    fn message(
        &mut self,
        id: MessageId,
        start: usize,
        end: usize,
        depth: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new(
                format!("messages nested deeper than {MAX_DEPTH} levels"),
                start,
            ));
        }
        let base = self.records.len();
        self.scan(id, start, end)?;
        let schema = self.schema;
        let message = &schema.messages[id];
        self.records[base..].sort_unstable_by_key(|r| (r.field, r.seq));
        let result = match message.special {
            Special::Timestamp => self.timestamp(base, start, visitor),
            Special::Wrapper => match message.fields.first() {
                Some(field) => {
                    let run = self.run(base, 0);
                    self.single(field, run, depth, visitor)
                }
                None => {
                    visitor.null();
                    Ok(())
                }
            },
            Special::None => {
                visitor.begin_object(Some(message.fields.len()));
                let mut result = Ok(());
                for (index, field) in message.fields.iter().enumerate() {
                    let run = self.run(base, index);
                    visitor.key(&field.name);
                    if visitor.skip_value() {
                        continue;
                    }
                    let done = match &field.shape {
                        Shape::Single(_) => self.single(field, run, depth, visitor),
                        Shape::Repeated => self.repeated(field, run, depth, visitor),
                        Shape::Map {
                            key,
                            value,
                            value_absent,
                        } => self.map(field, *key, *value, value_absent, run, depth, visitor),
                    };
                    if let Err(mut e) = done {
                        e.path.push(field.name.clone());
                        result = Err(e);
                        break;
                    }
                }
                if result.is_ok() {
                    visitor.end_object();
                }
                result
            }
        };
        self.records.truncate(base);
        result
    }

    /// The records of field `index` among those from `base`: a range of `self.records`.
    fn run(&self, base: usize, index: usize) -> std::ops::Range<usize> {
        let records = &self.records[base..];
        let from = records.partition_point(|r| r.field < index);
        let to = records.partition_point(|r| r.field <= index);
        base + from..base + to
    }

    fn single(
        &mut self,
        field: &Field,
        run: std::ops::Range<usize>,
        depth: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        match run.clone().last().map(|i| self.records[i].value) {
            // The last value wins, as for any protobuf reader (messages would merge; the last
            // one is kept whole).
            Some(value) => self.value(field.kind, value, depth, visitor),
            None => {
                let absent = match &field.shape {
                    Shape::Single(absent) => absent,
                    _ => &Absent::Null,
                };
                report_absent(absent, visitor);
                Ok(())
            }
        }
    }

    fn repeated(
        &mut self,
        field: &Field,
        run: std::ops::Range<usize>,
        depth: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        visitor.begin_array(None);
        for i in run {
            let value = self.records[i].value;
            match value {
                Raw::Len(start, end) if field.kind.packable() => {
                    let mut pos = start;
                    while pos < end {
                        let item = match field.kind.wire_type() {
                            0 => Raw::Varint(varint(&self.payload[..end], &mut pos)?),
                            1 => Raw::Fixed64(u64::from_le_bytes(fixed::<8>(
                                self.payload,
                                &mut pos,
                                end,
                            )?)),
                            _ => Raw::Fixed32(u32::from_le_bytes(fixed::<4>(
                                self.payload,
                                &mut pos,
                                end,
                            )?)),
                        };
                        self.value(field.kind, item, depth, visitor)?;
                    }
                }
                other => self.value(field.kind, other, depth, visitor)?,
            }
        }
        visitor.end_array();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        field: &Field,
        key: Kind,
        value: Kind,
        value_absent: &Absent,
        run: std::ops::Range<usize>,
        depth: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        visitor.begin_object(None);
        for i in run {
            let Raw::Len(start, end) = self.records[i].value else {
                return Err(DecodeError::new(
                    format!("a map entry of `{}` is not length-delimited", field.name),
                    start_of(self.records[i].value),
                ));
            };
            // An entry: key (1) and value (2), each possibly absent; the last of each wins.
            let (mut key_raw, mut value_raw) = (None, None);
            let mut pos = start;
            let buf = &self.payload[..end];
            while pos < end {
                let at = pos;
                let (number, wire, raw) = record(buf, &mut pos, end)?;
                match number {
                    1 if wire == key.wire_type() => key_raw = Some(raw),
                    2 if wire == value.wire_type() => value_raw = Some(raw),
                    1 | 2 => {
                        return Err(DecodeError::new(
                            format!("a map entry's {} has the wrong wire type", wire_name(wire)),
                            at,
                        ));
                    }
                    _ => {}
                }
            }
            let key_text = match key_raw {
                Some(raw) => self.key_text(key, raw)?,
                None => default_key_text(key),
            };
            visitor.key(&key_text);
            match value_raw {
                Some(raw) => self.value(value, raw, depth, visitor)?,
                None => match value {
                    Kind::Message(id) => self.message(id, end, end, depth + 1, visitor)?,
                    _ => report_absent(value_absent, visitor),
                },
            }
        }
        visitor.end_object();
        Ok(())
    }

    /// A map key as text: strings as they are, numbers and booleans written out.
    fn key_text(&self, kind: Kind, raw: Raw) -> DecodeResult<String> {
        let mut text = Text(String::new());
        self.scalar(kind, raw, &mut text)?;
        Ok(text.0)
    }

    fn value(
        &mut self,
        kind: Kind,
        raw: Raw,
        depth: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        match (kind, raw) {
            (Kind::Message(id), Raw::Len(start, end)) => {
                self.message(id, start, end, depth + 1, visitor)
            }
            _ => self.scalar(kind, raw, visitor),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    fn scalar(&self, kind: Kind, raw: Raw, visitor: &mut dyn ValueVisitor) -> DecodeResult<()> {
        match (kind, raw) {
            (Kind::Int32, Raw::Varint(v)) => visitor.i64(i64::from(v as i32)),
            (Kind::Int64, Raw::Varint(v)) => visitor.i64(v as i64),
            (Kind::Uint32, Raw::Varint(v)) => visitor.i64(i64::from(v as u32)),
            (Kind::Uint64, Raw::Varint(v)) | (Kind::Fixed64, Raw::Fixed64(v)) => {
                match i64::try_from(v) {
                    Ok(v) => visitor.i64(v),
                    Err(_) => visitor.u64(v),
                }
            }
            (Kind::Sint32, Raw::Varint(v)) => {
                let v = v as u32;
                visitor.i64(i64::from((v >> 1) as i32 ^ -((v & 1) as i32)));
            }
            (Kind::Sint64, Raw::Varint(v)) => visitor.i64((v >> 1) as i64 ^ -((v & 1) as i64)),
            (Kind::Bool, Raw::Varint(v)) => visitor.bool(v != 0),
            (Kind::Enum(id), Raw::Varint(v)) => {
                let number = v as i32;
                match self.schema.enums[id].values.get(&number) {
                    Some(symbol) => visitor.str(symbol),
                    // A value this schema does not know (a newer writer's): its number.
                    None => visitor.str(&number.to_string()),
                }
            }
            (Kind::Fixed32, Raw::Fixed32(v)) => visitor.i64(i64::from(v)),
            (Kind::Sfixed32, Raw::Fixed32(v)) => visitor.i64(i64::from(v as i32)),
            (Kind::Float, Raw::Fixed32(v)) => visitor.f64(f64::from(f32::from_bits(v))),
            (Kind::Sfixed64, Raw::Fixed64(v)) => visitor.i64(v as i64),
            (Kind::Double, Raw::Fixed64(v)) => visitor.f64(f64::from_bits(v)),
            (Kind::String, Raw::Len(start, end)) => {
                let text = std::str::from_utf8(&self.payload[start..end])
                    .map_err(|_| DecodeError::new("a string is not valid UTF-8", start))?;
                visitor.str(text);
            }
            (Kind::Bytes, Raw::Len(start, end)) => visitor.bytes(&self.payload[start..end]),
            (_, raw) => {
                return Err(DecodeError::new(
                    "a value's wire type does not match its field",
                    start_of(raw),
                ));
            }
        }
        Ok(())
    }

    /// A `google.protobuf.Timestamp`: seconds (field 1) and nanos (field 2) since the epoch,
    /// reported in nanoseconds, UTC; beyond the nanosecond range (1677 to 2262), as ISO text.
    #[allow(clippy::cast_possible_wrap)]
    fn timestamp(
        &self,
        base: usize,
        start: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> DecodeResult<()> {
        let last = |index: usize| self.run(base, index).last().map(|i| self.records[i].value);
        let seconds = match last(0) {
            Some(Raw::Varint(v)) => v as i64,
            _ => 0,
        };
        let nanos = match last(1) {
            Some(Raw::Varint(v)) => i64::from(v as i32),
            _ => 0,
        };
        if !(0..1_000_000_000).contains(&nanos) {
            return Err(DecodeError::new(
                format!("a Timestamp's nanos {nanos} is not within a second"),
                start,
            ));
        }
        match seconds
            .checked_mul(1_000_000_000)
            .and_then(|ns| ns.checked_add(nanos))
        {
            Some(ns) => visitor.timestamp(ns, TimeUnit::Nanoseconds, true),
            None => match seconds
                .checked_mul(1_000_000)
                .and_then(|us| us.checked_add(nanos / 1000))
            {
                Some(us) => visitor.str(&temporal::iso_timestamp(us, TimeUnit::Microseconds, true)),
                None => visitor.str(&format!("{seconds}s+{nanos}ns")),
            },
        }
        Ok(())
    }
}

const fn start_of(raw: Raw) -> usize {
    match raw {
        Raw::Len(start, _) => start,
        _ => 0,
    }
}

fn report_absent(absent: &Absent, visitor: &mut dyn ValueVisitor) {
    match absent {
        Absent::Null => visitor.null(),
        Absent::Typed(ty) => visitor.typed_null(*ty),
        Absent::Bool(b) => visitor.bool(*b),
        Absent::I64(v) => visitor.i64(*v),
        Absent::U64(v) => visitor.u64(*v),
        Absent::F64(v) => visitor.f64(*v),
        Absent::Str(s) => visitor.str(s),
        Absent::Bytes(b) => visitor.bytes(b),
    }
}

fn default_key_text(kind: Kind) -> String {
    match kind {
        Kind::Bool => "false".to_owned(),
        Kind::String | Kind::Bytes => String::new(),
        _ => "0".to_owned(),
    }
}

/// Collects one scalar as text, for map keys.
struct Text(String);

impl ValueVisitor for Text {
    fn null(&mut self) {}
    fn bool(&mut self, v: bool) {
        self.0 = v.to_string();
    }
    fn i64(&mut self, v: i64) {
        self.0 = v.to_string();
    }
    fn u64(&mut self, v: u64) {
        self.0 = v.to_string();
    }
    fn f64(&mut self, v: f64) {
        self.0 = v.to_string();
    }
    fn str(&mut self, v: &str) {
        v.clone_into(&mut self.0);
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0 = String::from_utf8_lossy(v).into_owned();
    }
    fn begin_object(&mut self, _: Option<usize>) {}
    fn key(&mut self, _: &str) {}
    fn end_object(&mut self) {}
    fn begin_array(&mut self, _: Option<usize>) {}
    fn end_array(&mut self) {}
}
