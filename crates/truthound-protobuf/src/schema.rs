//! Message descriptors flattened for decoding: each message's fields by number, their kinds,
//! presence and defaults, and the well-known types read as values.

use std::collections::HashMap;

use prost_reflect::{Cardinality, FieldDescriptor, Kind as Reflect, MessageDescriptor, Value};
use truthound_streaming_core::{ScalarType, TimeUnit};

/// Where a compiled message sits in [`Compiled::messages`].
pub(crate) type MessageId = usize;

/// Where a compiled enum sits in [`Compiled::enums`].
pub(crate) type EnumId = usize;

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum(EnumId),
    Message(MessageId),
}

impl Kind {
    /// The wire type a single value of this kind has.
    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Self::Int32
            | Self::Int64
            | Self::Uint32
            | Self::Uint64
            | Self::Sint32
            | Self::Sint64
            | Self::Bool
            | Self::Enum(_) => 0,
            Self::Double | Self::Fixed64 | Self::Sfixed64 => 1,
            Self::String | Self::Bytes | Self::Message(_) => 2,
            Self::Float | Self::Fixed32 | Self::Sfixed32 => 5,
        }
    }

    /// Whether repeated values of this kind may be packed into one length-delimited record.
    pub(crate) fn packable(self) -> bool {
        self.wire_type() != 2
    }
}

/// What an absent singular field is reported as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Absent {
    /// Null: the field has presence (a message, `optional`, a oneof member, proto2).
    Null,
    /// A null of this type: the field has presence and its values have this column type (a
    /// scalar, a `Timestamp`, a `*Value` wrapper).
    Typed(ScalarType),
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Box<str>),
    Bytes(Box<[u8]>),
}

/// How a field is laid out.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Single(Absent),
    Repeated,
    /// A map: the entry message's key and value kinds, and what a missing value is.
    Map {
        key: Kind,
        value: Kind,
        value_absent: Absent,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) name: Box<str>,
    pub(crate) number: u32,
    pub(crate) kind: Kind,
    pub(crate) shape: Shape,
}

/// A message type read as a value rather than as an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// `google.protobuf.Timestamp`: a UTC timestamp.
    Timestamp,
    /// `google.protobuf.*Value` wrappers: the value of field 1.
    Wrapper,
}

#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) full_name: Box<str>,
    /// In declaration order.
    pub(crate) fields: Box<[Field]>,
    /// Field number to index in `fields`.
    pub(crate) by_number: HashMap<u32, usize>,
    pub(crate) special: Special,
}

impl Message {
    pub(crate) fn field(&self, number: u32) -> Option<usize> {
        self.by_number.get(&number).copied()
    }
}

/// An enum's values by number, for reporting symbols.
#[derive(Debug)]
pub(crate) struct Enum {
    pub(crate) values: HashMap<i32, Box<str>>,
}

/// The messages reachable from a root message, flattened.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) messages: Vec<Message>,
    pub(crate) enums: Vec<Enum>,
    pub(crate) root: MessageId,
}

/// Flattens messages and the messages and enums they refer to into a [`Compiled`].
#[derive(Default)]
pub(crate) struct Builder {
    messages: Vec<Message>,
    enums: Vec<Enum>,
    message_ids: HashMap<String, MessageId>,
    enum_ids: HashMap<String, EnumId>,
}

impl Builder {
    /// The flattened schema, decoding `root` when a payload does not say otherwise.
    pub(crate) fn finish(self, root: MessageId) -> Compiled {
        Compiled {
            messages: self.messages,
            enums: self.enums,
            root,
        }
    }

    /// The id of `descriptor`, flattened with what it refers to on first use.
    pub(crate) fn message(&mut self, descriptor: &MessageDescriptor) -> MessageId {
        if let Some(&id) = self.message_ids.get(descriptor.full_name()) {
            return id;
        }
        // Reserved before the fields, so that recursive messages refer to themselves.
        let id = self.messages.len();
        self.message_ids
            .insert(descriptor.full_name().to_owned(), id);
        self.messages.push(Message {
            full_name: descriptor.full_name().into(),
            fields: Box::new([]),
            by_number: HashMap::new(),
            special: special(descriptor.full_name()),
        });
        let fields: Vec<Field> = descriptor.fields().map(|f| self.field(&f)).collect();
        let by_number = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.number, i))
            .collect();
        let message = &mut self.messages[id];
        message.fields = fields.into();
        message.by_number = by_number;
        id
    }

    fn kind(&mut self, kind: &Reflect) -> Kind {
        match kind {
            Reflect::Double => Kind::Double,
            Reflect::Float => Kind::Float,
            Reflect::Int32 => Kind::Int32,
            Reflect::Int64 => Kind::Int64,
            Reflect::Uint32 => Kind::Uint32,
            Reflect::Uint64 => Kind::Uint64,
            Reflect::Sint32 => Kind::Sint32,
            Reflect::Sint64 => Kind::Sint64,
            Reflect::Fixed32 => Kind::Fixed32,
            Reflect::Fixed64 => Kind::Fixed64,
            Reflect::Sfixed32 => Kind::Sfixed32,
            Reflect::Sfixed64 => Kind::Sfixed64,
            Reflect::Bool => Kind::Bool,
            Reflect::String => Kind::String,
            Reflect::Bytes => Kind::Bytes,
            Reflect::Message(m) => Kind::Message(self.message(m)),
            Reflect::Enum(e) => {
                if let Some(&id) = self.enum_ids.get(e.full_name()) {
                    return Kind::Enum(id);
                }
                let id = self.enums.len();
                self.enum_ids.insert(e.full_name().to_owned(), id);
                self.enums.push(Enum {
                    values: e.values().map(|v| (v.number(), v.name().into())).collect(),
                });
                Kind::Enum(id)
            }
        }
    }

    fn field(&mut self, field: &FieldDescriptor) -> Field {
        let entry = match field.kind() {
            Reflect::Message(entry) if field.is_map() => Some(entry),
            _ => None,
        };
        let shape = if let Some(entry) = entry {
            let key = entry.map_entry_key_field();
            let value = entry.map_entry_value_field();
            Shape::Map {
                key: self.kind(&key.kind()),
                value: self.kind(&value.kind()),
                value_absent: absent(&value, false),
            }
        } else if field.cardinality() == Cardinality::Repeated {
            Shape::Repeated
        } else {
            Shape::Single(absent(field, field.supports_presence()))
        };
        let kind = if let Shape::Map { value, .. } = &shape {
            *value
        } else {
            self.kind(&field.kind())
        };
        Field {
            name: field.name().into(),
            number: field.number(),
            kind,
            shape,
        }
    }
}

/// What an absent singular field reads as: null with presence, else its default.
fn absent(field: &FieldDescriptor, presence: bool) -> Absent {
    if presence || matches!(field.kind(), Reflect::Message(_)) {
        return null_type(&field.kind()).map_or(Absent::Null, Absent::Typed);
    }
    match field.default_value() {
        Value::Bool(b) => Absent::Bool(b),
        Value::I32(v) => Absent::I64(i64::from(v)),
        Value::I64(v) => Absent::I64(v),
        Value::U32(v) => Absent::I64(i64::from(v)),
        Value::U64(v) => i64::try_from(v).map_or(Absent::U64(v), Absent::I64),
        Value::F32(v) => Absent::F64(f64::from(v)),
        Value::F64(v) => Absent::F64(v),
        Value::String(s) => Absent::Str(s.into()),
        Value::Bytes(b) => Absent::Bytes(b.to_vec().into()),
        Value::EnumNumber(n) => match field.kind() {
            Reflect::Enum(e) => e.get_value(n).map_or_else(
                || Absent::Str(n.to_string().into()),
                |v| Absent::Str(v.name().into()),
            ),
            _ => Absent::I64(i64::from(n)),
        },
        Value::Message(_) | Value::List(_) | Value::Map(_) => Absent::Null,
    }
}

/// The column type of a field of `kind`'s values, for its nulls; `None` for a message that is
/// a struct.
fn null_type(kind: &Reflect) -> Option<ScalarType> {
    Some(match kind {
        Reflect::Bool => ScalarType::Boolean,
        Reflect::Int32
        | Reflect::Sint32
        | Reflect::Sfixed32
        | Reflect::Int64
        | Reflect::Sint64
        | Reflect::Sfixed64
        | Reflect::Uint32
        | Reflect::Fixed32
        | Reflect::Uint64
        | Reflect::Fixed64 => ScalarType::Int64,
        Reflect::Float | Reflect::Double => ScalarType::Float64,
        Reflect::String | Reflect::Enum(_) => ScalarType::Utf8,
        Reflect::Bytes => ScalarType::Binary,
        Reflect::Message(m) => match special(m.full_name()) {
            Special::Timestamp => ScalarType::Datetime {
                unit: TimeUnit::Nanoseconds,
                utc: true,
            },
            Special::Wrapper => return m.fields().next().and_then(|f| null_type(&f.kind())),
            Special::None => return None,
        },
    })
}

fn special(full_name: &str) -> Special {
    match full_name {
        "google.protobuf.Timestamp" => Special::Timestamp,
        "google.protobuf.DoubleValue"
        | "google.protobuf.FloatValue"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.Int32Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.BoolValue"
        | "google.protobuf.StringValue"
        | "google.protobuf.BytesValue" => Special::Wrapper,
        _ => Special::None,
    }
}
