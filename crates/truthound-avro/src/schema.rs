//! The writer schema compiled for decoding, resolved against a reader schema when there is one:
//! named references resolved to indices, logical types reduced to what the decoder emits, record
//! fields matched and defaulted, and a lower bound on each type's encoded size.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, Name, NamesRef, Namespace, RecordSchema};
use truthound_streaming_core::temporal::MAX_DECIMAL_PRECISION;
use truthound_streaming_core::{TimeUnit, ValueVisitor};

use crate::error::{AvroError, Result};
use crate::logical;

/// The `logicalType` that [`mark_fixed_uuids`] puts on `fixed(16)` schemas annotated `uuid`.
///
/// apache-avro 0.21 turns such a schema into `Schema::Uuid`, which its own decoder then reads as
/// a length-prefixed string; renaming the logical type keeps the `fixed` (16 raw bytes) visible.
const FIXED_UUID_MARKER: &str = "truthound.uuid-fixed16";

/// Where [`mark_fixed_uuids`] moves the default of a `decimal` field: apache-avro 0.21 refuses
/// valid decimal defaults (a string of bytes) when it parses a schema.
const DECIMAL_DEFAULT: &str = "truthound.decimal-default";

/// A field's default, wherever parsing left it.
fn default_of(field: &apache_avro::schema::RecordField) -> Option<&serde_json::Value> {
    field
        .default
        .as_ref()
        .or_else(|| field.custom_attributes.get(DECIMAL_DEFAULT))
}

/// Where a compiled type sits in [`Compiled::nodes`].
pub(crate) type NodeId = usize;

/// One compiled type: a container the decoder recurses into, or a scalar it reads in one step.
#[derive(Debug)]
pub(crate) enum Node {
    Array(NodeId),
    Map(NodeId),
    /// The writer's union: one node per writer branch, each resolved against the reader.
    Union(Box<[NodeId]>),
    Record(Box<Record>),
    Scalar(Scalar),
}

/// A record as the decoder reads it: the writer's fields in the writer's order, then the
/// reader's fields that the writer lacks, from their defaults.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) fields: Box<[Field]>,
    /// Reader fields the writer does not have, from their defaults.
    pub(crate) defaults: Box<[FieldDefault]>,
    /// How many fields the visitor is told of: the fields read and not skipped, and the
    /// defaults.
    pub(crate) reported: usize,
}

/// A reader field the writer does not have: its name and its default's events.
pub(crate) type FieldDefault = (Box<str>, Box<[Event]>);

/// A writer field: its name as reported (the reader's, which may be an alias's target) and its
/// type, or a field the reader does not have, read and not reported.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: Box<str>,
    pub(crate) node: NodeId,
    pub(crate) skip: bool,
}

/// One enum symbol of the writer, as read.
#[derive(Debug)]
pub(crate) enum Symbol {
    /// Reported as this text: the symbol, or the reader's default for a symbol it lacks.
    Known(Box<str>),
    /// A writer symbol the reader's enum lacks, with no default: reading it fails.
    Unknown(Box<str>),
}

/// A type read without recursion: what the decoder reads and what it reports.
#[derive(Debug)]
pub(crate) enum Scalar {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Enum(Box<[Symbol]>),
    Fixed(usize),
    /// `uuid` on `string`.
    Uuid,
    /// `uuid` on `fixed(16)`.
    FixedUuid,
    /// `decimal` on `bytes` (`fixed: None`) or on `fixed(n)`.
    Decimal {
        precision: usize,
        scale: usize,
        fixed: Option<usize>,
    },
    BigDecimal,
    Date,
    TimeMillis,
    TimeMicros,
    /// `timestamp-*` (`utc`) and `local-timestamp-*`.
    Timestamp {
        unit: TimeUnit,
        utc: bool,
    },
    Duration,
    /// A writer `int` (`int: true`) or `long` read as a reader's `float` (`single: true`) or
    /// `double`.
    LongAsFloat {
        int: bool,
        single: bool,
    },
    /// A writer union branch that the reader cannot read: a datum that takes it fails.
    Unreadable(Box<str>),
}

/// A value event, for the defaults of reader fields the writer lacks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    Null,
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(Box<str>),
    Bytes(Box<[u8]>),
    BeginObject(usize),
    Key(Box<str>),
    EndObject,
    BeginArray(usize),
    EndArray,
    Date(i32),
    Time(i64, TimeUnit),
    Timestamp(i64, TimeUnit, bool),
    Decimal(i128, u8, u8),
}

/// Reports `events` to `visitor`.
pub(crate) fn replay(events: &[Event], visitor: &mut dyn ValueVisitor) {
    for event in events {
        match event {
            Event::Null => visitor.null(),
            Event::Bool(b) => visitor.bool(*b),
            Event::I64(v) => visitor.i64(*v),
            Event::F64(v) => visitor.f64(*v),
            Event::Str(s) => visitor.str(s),
            Event::Bytes(b) => visitor.bytes(b),
            Event::BeginObject(n) => visitor.begin_object(Some(*n)),
            Event::Key(k) => visitor.key(k),
            Event::EndObject => visitor.end_object(),
            Event::BeginArray(n) => visitor.begin_array(Some(*n)),
            Event::EndArray => visitor.end_array(),
            Event::Date(days) => visitor.date(*days),
            Event::Time(v, unit) => visitor.time(*v, *unit),
            Event::Timestamp(v, unit, utc) => visitor.timestamp(*v, *unit, *utc),
            Event::Decimal(v, p, s) => visitor.decimal(*v, *p, *s),
        }
    }
}

/// A schema ready for decoding: an arena of [`Node`]s and the root's index.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) nodes: Vec<Node>,
    /// For each node, a lower bound on the bytes one encoded value takes (0 when a value can be
    /// empty, such as `null` or a record of nulls). Used to reject block counts that cannot fit.
    pub(crate) min_size: Vec<usize>,
    pub(crate) root: NodeId,
    /// The full name of the root type, when it is a named type (for debug output).
    pub(crate) root_name: Option<String>,
}

/// A parsed schema with the named schemas it refers to (a registry schema's references).
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: Schema,
    pub(crate) references: Vec<Schema>,
}

impl Parsed {
    /// Parses schema JSON text, whose named types may come from `references` (the JSON texts
    /// of named schemas, in any order).
    pub(crate) fn from_texts(text: &str, references: &[String]) -> Result<Self> {
        let root = marked_text(text)?;
        if references.is_empty() {
            return Ok(Self {
                root: Schema::parse_str(&root)?,
                references: Vec::new(),
            });
        }
        let references = references
            .iter()
            .map(|r| marked_text(r))
            .collect::<Result<Vec<_>>>()?;
        let (root, references) = Schema::parse_str_with_list(&root, &references)?;
        Ok(Self { root, references })
    }

    /// Parses a schema JSON document that refers to no other schema.
    pub(crate) fn from_json(json: &serde_json::Value) -> Result<Self> {
        let mut json = json.clone();
        mark_fixed_uuids(&mut json);
        Ok(Self {
            root: Schema::parse(&json)?,
            references: Vec::new(),
        })
    }
}

/// Schema text with [`mark_fixed_uuids`] applied.
fn marked_text(text: &str) -> Result<String> {
    let mut json: serde_json::Value = serde_json::from_str(text).map_err(AvroError::SchemaJson)?;
    mark_fixed_uuids(&mut json);
    Ok(json.to_string())
}

impl Compiled {
    /// Compiles a parsed schema, read as written.
    pub(crate) fn new(schema: &Schema) -> Result<Self> {
        Self::resolve(
            &Parsed {
                root: schema.clone(),
                references: Vec::new(),
            },
            None,
        )
    }

    /// Parses schema JSON text and compiles it.
    pub(crate) fn from_json_text(json: &str) -> Result<Self> {
        Self::resolve(&Parsed::from_texts(json, &[])?, None)
    }

    /// Parses a schema JSON document and compiles it.
    pub(crate) fn from_json(json: &serde_json::Value) -> Result<Self> {
        Self::resolve(&Parsed::from_json(json)?, None)
    }

    /// Compiles the reading of data written with `writer` as `reader` describes it (Avro's
    /// schema resolution), or as written when there is no reader schema.
    ///
    /// # Errors
    /// [`AvroError::Incompatible`] when the reader cannot read what the writer wrote (a reader
    /// field without a default that the writer lacks, types that do not match or promote,
    /// different names); [`AvroError::InvalidSchema`] or [`AvroError::UnsupportedSchema`] when a
    /// name cannot be resolved.
    pub(crate) fn resolve(writer: &Parsed, reader: Option<&Parsed>) -> Result<Self> {
        let writer_names = names_of(writer);
        let reader_names = reader.map(names_of);
        let mut resolver = Resolver {
            nodes: Vec::new(),
            memo: HashMap::new(),
            writer_names: &writer_names,
            reader_names: reader_names.as_ref().unwrap_or(&writer_names),
        };
        let (target, side) = match reader {
            Some(reader) => (&reader.root, Side::Reader),
            None => (&writer.root, Side::Writer),
        };
        let root = resolver
            .resolve(&writer.root, &None, target, &None, side)
            .map_err(|e| e.into_error(reader.is_some()))?;
        let nodes = resolver.nodes;
        let min_size = min_sizes(&nodes);
        Ok(Self {
            nodes,
            min_size,
            root,
            root_name: target.name().map(ToString::to_string),
        })
    }
}

/// The named types of a parsed schema and its references, by full name, whatever order the
/// references come in.
fn names_of(parsed: &Parsed) -> NamesRef<'_> {
    let mut names = HashMap::new();
    for schema in std::iter::once(&parsed.root).chain(&parsed.references) {
        collect_names(schema, &None, &mut names, 0);
    }
    names
}

/// Adds the named types defined in `schema` to `names`.
fn collect_names<'s>(schema: &'s Schema, ns: &Namespace, names: &mut NamesRef<'s>, depth: usize) {
    // Parsed schemas are trees as deep as their JSON; this only bounds a pathological one.
    if depth > 4 * MAX_DEFAULT_DEPTH {
        return;
    }
    match schema {
        Schema::Record(record) => {
            let full = record.name.fully_qualified_name(ns);
            let inner = full.namespace.clone();
            names.insert(full, schema);
            for field in &record.fields {
                collect_names(&field.schema, &inner, names, depth + 1);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.fully_qualified_name(ns), schema);
        }
        Schema::Fixed(fixed) => {
            names.insert(fixed.name.fully_qualified_name(ns), schema);
        }
        Schema::Decimal(d) => {
            if let Schema::Fixed(fixed) = d.inner.as_ref() {
                names.insert(fixed.name.fully_qualified_name(ns), schema);
            }
        }
        Schema::Array(array) => collect_names(&array.items, ns, names, depth + 1),
        Schema::Map(map) => collect_names(&map.types, ns, names, depth + 1),
        Schema::Union(union) => {
            for branch in union.variants() {
                collect_names(branch, ns, names, depth + 1);
            }
        }
        _ => {}
    }
}

/// Renames the `uuid` logical type of every `{"type": "fixed", "size": 16}` object to
/// [`FIXED_UUID_MARKER`], so that parsing keeps it a `fixed`, and moves the default of every
/// field of a `decimal` type to [`DECIMAL_DEFAULT`], so that parsing accepts it.
fn mark_fixed_uuids(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(map) => {
            let decimal_field = map.contains_key("name")
                && map.contains_key("default")
                && map
                    .get("type")
                    .and_then(|t| t.get("logicalType"))
                    .and_then(|t| t.as_str())
                    == Some("decimal");
            if decimal_field && let Some(default) = map.remove("default") {
                map.insert(DECIMAL_DEFAULT.into(), default);
            }
            let is_fixed_uuid = map.get("type").and_then(|t| t.as_str()) == Some("fixed")
                && map.get("size").and_then(serde_json::Value::as_u64) == Some(16)
                && map.get("logicalType").and_then(|t| t.as_str()) == Some("uuid");
            if is_fixed_uuid {
                map.insert("logicalType".into(), FIXED_UUID_MARKER.into());
            }
            map.values_mut().for_each(mark_fixed_uuids);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mark_fixed_uuids),
        _ => {}
    }
}

/// Which schema's names a reader-side reference is looked up in: the reader's, or the writer's
/// (when a type is read as written, with no reader schema, or for a writer field the reader
/// does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Writer,
    Reader,
}

/// Why a writer type cannot be read as the reader type.
#[derive(Debug)]
enum Mismatch {
    /// The schemas do not resolve: the reason, and the field path.
    Incompatible(String, Vec<String>),
    /// A name that does not resolve, or a schema the decoder cannot read.
    Unsupported(String),
}

impl Mismatch {
    fn incompatible(reason: impl Into<String>) -> Self {
        Self::Incompatible(reason.into(), Vec::new())
    }

    /// Adds the field (outermost last) this mismatch is in.
    fn in_field(mut self, field: &str) -> Self {
        if let Self::Incompatible(_, path) = &mut self {
            path.push(field.to_owned());
        }
        self
    }

    fn reason(&self) -> String {
        match self {
            Self::Incompatible(reason, path) if path.is_empty() => reason.clone(),
            Self::Incompatible(reason, path) => {
                let path: Vec<&str> = path.iter().rev().map(String::as_str).collect();
                format!("{reason} (in `{}`)", path.join("."))
            }
            Self::Unsupported(reason) => reason.clone(),
        }
    }

    fn into_error(self, resolving: bool) -> AvroError {
        match self {
            Self::Incompatible(..) if resolving => AvroError::Incompatible(self.reason()),
            _ => AvroError::UnsupportedSchema(self.reason()),
        }
    }
}

type Resolved<T> = std::result::Result<T, Mismatch>;

/// How far a default value may nest, as a bound on the recursion over it.
const MAX_DEFAULT_DEPTH: usize = 64;

/// Builds the decoding program of a writer schema read as a reader schema, following the
/// Avro specification's schema resolution. Reading a schema as written is the same with the
/// writer as its own reader.
struct Resolver<'s> {
    nodes: Vec<Node>,
    /// Records already compiled (or being compiled, for recursive types), by the writer's and
    /// the reader's full names and the reader's side.
    memo: HashMap<(Name, Name, Side), NodeId>,
    writer_names: &'s NamesRef<'s>,
    reader_names: &'s NamesRef<'s>,
}

/// The encoding a type shares with others, for matching union branches and promotions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed,
    Enum,
    Record,
    Array,
    Map,
    Union,
}

fn encoding(schema: &Schema) -> Encoding {
    match schema {
        Schema::Null => Encoding::Null,
        Schema::Boolean => Encoding::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Encoding::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Encoding::Long,
        Schema::Float => Encoding::Float,
        Schema::Double => Encoding::Double,
        Schema::Bytes | Schema::BigDecimal => Encoding::Bytes,
        Schema::Decimal(d) if matches!(*d.inner, Schema::Bytes) => Encoding::Bytes,
        Schema::String | Schema::Uuid => Encoding::String,
        Schema::Fixed(_) | Schema::Decimal(_) | Schema::Duration => Encoding::Fixed,
        Schema::Enum(_) => Encoding::Enum,
        Schema::Record(_) => Encoding::Record,
        Schema::Array(_) => Encoding::Array,
        Schema::Map(_) => Encoding::Map,
        Schema::Union(_) => Encoding::Union,
        // Resolved before this is asked.
        Schema::Ref { .. } => Encoding::Null,
    }
}

/// Whether a writer value of encoding `from` may be read as `to` (Avro's promotions).
fn promotes(from: Encoding, to: Encoding) -> bool {
    use Encoding::{Bytes, Double, Float, Int, Long, String};
    matches!(
        (from, to),
        (Int, Long | Float | Double)
            | (Long, Float | Double)
            | (Float, Double)
            | (String, Bytes)
            | (Bytes, String)
    )
}

/// The name of a named type (a `decimal` on `fixed` has its fixed's name).
fn name_of(schema: &Schema) -> Option<&Name> {
    match schema {
        Schema::Decimal(d) => match d.inner.as_ref() {
            Schema::Fixed(fixed) => Some(&fixed.name),
            _ => None,
        },
        other => other.name(),
    }
}

/// Whether the reader's named type reads the writer's: the same unqualified name, or one of
/// the reader's aliases.
fn names_match(writer: &Schema, reader: &Schema) -> bool {
    match (name_of(writer), name_of(reader)) {
        (Some(w), Some(r)) => {
            w.name == r.name
                || reader
                    .aliases()
                    .is_some_and(|aliases| aliases.iter().any(|a| a.name() == w.name))
        }
        _ => true,
    }
}

/// A short description of a type for messages: `"long"`, `"record UserEvent"`.
fn describe(schema: &Schema) -> String {
    let kind = match encoding(schema) {
        Encoding::Null => "null",
        Encoding::Boolean => "boolean",
        Encoding::Int => "int",
        Encoding::Long => "long",
        Encoding::Float => "float",
        Encoding::Double => "double",
        Encoding::Bytes => "bytes",
        Encoding::String => "string",
        Encoding::Fixed => "fixed",
        Encoding::Enum => "enum",
        Encoding::Record => "record",
        Encoding::Array => "array",
        Encoding::Map => "map",
        Encoding::Union => "union",
    };
    match name_of(schema) {
        Some(name) => format!("{kind} {}", name.name),
        None => kind.to_owned(),
    }
}

impl<'s> Resolver<'s> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn names(&self, side: Side) -> &'s NamesRef<'s> {
        match side {
            Side::Writer => self.writer_names,
            Side::Reader => self.reader_names,
        }
    }

    /// The definition behind a named reference, with the namespace its own names are relative
    /// to; any other schema as it is.
    fn deref<'a>(
        &self,
        schema: &'a Schema,
        ns: &Namespace,
        side: Side,
    ) -> Resolved<(&'a Schema, Namespace)>
    where
        's: 'a,
    {
        let Schema::Ref { name } = schema else {
            let own = match name_of(schema) {
                Some(name) => name.fully_qualified_name(ns).namespace,
                None => ns.clone(),
            };
            return Ok((schema, own));
        };
        let full = name.fully_qualified_name(ns);
        match self.names(side).get(&full).copied() {
            Some(Schema::Ref { .. }) => Err(Mismatch::Unsupported(format!(
                "type name `{full}` refers to another name"
            ))),
            Some(definition) => Ok((definition, full.namespace)),
            None => Err(Mismatch::Unsupported(format!("unknown type name `{full}`"))),
        }
    }

    /// The node reading a `writer` value as `reader`, whose references are looked up on
    /// `side`. `wns` and `rns` are the enclosing namespaces.
    fn resolve(
        &mut self,
        writer: &'s Schema,
        wns: &Namespace,
        reader: &'s Schema,
        rns: &Namespace,
        side: Side,
    ) -> Resolved<NodeId> {
        let (writer, wns) = self.deref(writer, wns, Side::Writer)?;
        let (reader, rns) = self.deref(reader, rns, side)?;
        if let Schema::Union(union) = writer {
            // Read as written: each branch as itself, by position.
            if side == Side::Writer && std::ptr::eq(writer, reader) {
                let mut branches = Vec::with_capacity(union.variants().len());
                for branch in union.variants() {
                    branches.push(self.resolve(branch, &wns, branch, &wns, side)?);
                }
                return Ok(self.push(Node::Union(branches.into())));
            }
            let mut readable = false;
            let mut branches = Vec::with_capacity(union.variants().len());
            for branch in union.variants() {
                let id = match self.resolve(branch, &wns, reader, &rns, side) {
                    Ok(id) => {
                        readable = true;
                        id
                    }
                    Err(mismatch @ Mismatch::Incompatible(..)) if side == Side::Reader => {
                        let (shown, _) = self.deref(branch, &wns, Side::Writer)?;
                        let reason = match encoding(shown) {
                            // A record's own reason says which field.
                            Encoding::Record => format!(
                                "the writer's union branch {} cannot be read as the reader's \
                                 {}: {}",
                                describe(shown),
                                describe(reader),
                                mismatch.reason()
                            ),
                            _ => format!(
                                "the writer's union branch {} cannot be read as the reader's {}",
                                describe(shown),
                                describe(reader)
                            ),
                        };
                        self.push(Node::Scalar(Scalar::Unreadable(reason.into())))
                    }
                    Err(other) => return Err(other),
                };
                branches.push(id);
            }
            if !readable {
                return Err(Mismatch::incompatible(format!(
                    "no branch of the writer's union can be read as the reader's {}",
                    describe(reader)
                )));
            }
            return Ok(self.push(Node::Union(branches.into())));
        }
        if let Schema::Union(union) = reader {
            let from = encoding(writer);
            let writer_full = name_of(writer).map(|n| n.fully_qualified_name(&wns));
            // The first branch of the same type and full name, else of the same type and
            // (unqualified or alias) name, else the first the writer's type promotes to.
            for pass in 0..3 {
                for branch in union.variants() {
                    let (branch, bns) = self.deref(branch, &rns, side)?;
                    let to = encoding(branch);
                    let fits = match pass {
                        0 => {
                            from == to
                                && name_of(branch).map(|n| n.fully_qualified_name(&bns))
                                    == writer_full
                        }
                        1 => from == to && names_match(writer, branch),
                        _ => promotes(from, to),
                    };
                    if fits {
                        return self.resolve(writer, &wns, branch, &bns, side);
                    }
                }
            }
            return Err(Mismatch::incompatible(format!(
                "the reader's union has no branch for the writer's {}",
                describe(writer)
            )));
        }
        match (writer, reader) {
            (Schema::Record(w), Schema::Record(r)) => {
                if !names_match(writer, reader) {
                    return Err(Mismatch::incompatible(format!(
                        "the writer's record `{}` is not the reader's record `{}` (nor one of \
                         its aliases)",
                        w.name.name, r.name.name
                    )));
                }
                self.record(w, &wns, r, &rns, side)
            }
            (Schema::Array(w), Schema::Array(r)) => {
                let items = self.resolve(&w.items, &wns, &r.items, &rns, side)?;
                Ok(self.push(Node::Array(items)))
            }
            (Schema::Map(w), Schema::Map(r)) => {
                let values = self.resolve(&w.types, &wns, &r.types, &rns, side)?;
                Ok(self.push(Node::Map(values)))
            }
            _ => {
                let scalar = self.scalar(writer, reader)?;
                Ok(self.push(Node::Scalar(scalar)))
            }
        }
    }

    /// A record: the writer's fields matched to the reader's by name or the reader field's
    /// aliases; writer fields the reader lacks are read and skipped; reader fields the writer
    /// lacks are their defaults.
    fn record(
        &mut self,
        writer: &'s RecordSchema,
        wns: &Namespace,
        reader: &'s RecordSchema,
        rns: &Namespace,
        side: Side,
    ) -> Resolved<NodeId> {
        let wfull = writer.name.fully_qualified_name(wns);
        let rfull = reader.name.fully_qualified_name(rns);
        let key = (wfull.clone(), rfull.clone(), side);
        if let Some(&id) = self.memo.get(&key) {
            return Ok(id);
        }
        // Reserved before the fields, so that the record can refer to itself.
        let id = self.push(Node::Scalar(Scalar::Null));
        self.memo.insert(key, id);
        let fields = self.record_fields(writer, &wfull, reader, &rfull, side);
        match fields {
            Ok(record) => {
                self.nodes[id] = Node::Record(Box::new(record));
                Ok(id)
            }
            Err(e) => {
                // Other references to this pair (in other union branches) fail when read.
                self.nodes[id] = Node::Scalar(Scalar::Unreadable(e.reason().into()));
                Err(e)
            }
        }
    }

    /// The fields of a record pair; see [`record`](Self::record).
    fn record_fields(
        &mut self,
        writer: &'s RecordSchema,
        wfull: &Name,
        reader: &'s RecordSchema,
        rfull: &Name,
        side: Side,
    ) -> Resolved<Record> {
        let mut matched = vec![false; reader.fields.len()];
        let mut fields = Vec::with_capacity(writer.fields.len());
        for field in &writer.fields {
            // The reader field of this name, else one that has it as an alias, not taken.
            let found = reader
                .fields
                .iter()
                .position(|r| r.name == field.name)
                .or_else(|| {
                    reader.fields.iter().enumerate().position(|(i, r)| {
                        !matched[i]
                            && r.aliases
                                .as_ref()
                                .is_some_and(|aliases| aliases.contains(&field.name))
                    })
                })
                .filter(|i| !matched[*i]);
            let (name, node, skip) = match found {
                Some(i) => {
                    matched[i] = true;
                    let target = &reader.fields[i];
                    let node = self
                        .resolve(
                            &field.schema,
                            &wfull.namespace,
                            &target.schema,
                            &rfull.namespace,
                            side,
                        )
                        .map_err(|e| e.in_field(&target.name))?;
                    (target.name.as_str(), node, false)
                }
                None => {
                    let node = self
                        .resolve(
                            &field.schema,
                            &wfull.namespace,
                            &field.schema,
                            &wfull.namespace,
                            Side::Writer,
                        )
                        .map_err(|e| e.in_field(&field.name))?;
                    (field.name.as_str(), node, true)
                }
            };
            fields.push(Field {
                name: name.into(),
                node,
                skip,
            });
        }
        let mut defaults = Vec::new();
        for (field, _) in reader.fields.iter().zip(&matched).filter(|(_, m)| !**m) {
            let Some(default) = default_of(field) else {
                return Err(Mismatch::incompatible(format!(
                    "the reader's field `{}` of record `{}` is not in the writer's schema and \
                     has no default",
                    field.name, reader.name.name
                )));
            };
            let mut events = Vec::new();
            self.default_events(
                default,
                &field.schema,
                &rfull.namespace,
                side,
                &mut events,
                0,
            )
            .map_err(|reason| {
                Mismatch::incompatible(format!("the default of the reader's field: {reason}"))
                    .in_field(&field.name)
            })?;
            defaults.push((Box::from(field.name.as_str()), events.into_boxed_slice()));
        }
        let reported = fields.iter().filter(|f| !f.skip).count() + defaults.len();
        Ok(Record {
            fields: fields.into(),
            defaults: defaults.into(),
            reported,
        })
    }

    /// A scalar pair: the same encoding (read as the reader's type, so that its logical type
    /// applies), or a promotion.
    fn scalar(&self, writer: &Schema, reader: &Schema) -> Resolved<Scalar> {
        let (from, to) = (encoding(writer), encoding(reader));
        let mismatch = || {
            Mismatch::incompatible(format!(
                "the writer's {} cannot be read as the reader's {}",
                describe(writer),
                describe(reader)
            ))
        };
        if from == to {
            if !names_match(writer, reader) {
                return Err(mismatch());
            }
            return match (writer, reader) {
                (Schema::Enum(w), Schema::Enum(r)) => Ok(Scalar::Enum(
                    w.symbols
                        .iter()
                        .map(|symbol| {
                            if r.symbols.contains(symbol) {
                                Symbol::Known(symbol.as_str().into())
                            } else if let Some(default) = &r.default {
                                Symbol::Known(default.as_str().into())
                            } else {
                                Symbol::Unknown(symbol.as_str().into())
                            }
                        })
                        .collect(),
                )),
                _ if from == Encoding::Fixed && fixed_size(writer) != fixed_size(reader) => {
                    Err(Mismatch::incompatible(format!(
                        "the writer's {} of {} bytes cannot be read as the reader's of {}",
                        describe(writer),
                        fixed_size(writer),
                        fixed_size(reader)
                    )))
                }
                // Decimals of other precision or scale: the value as written, exactly.
                (Schema::Decimal(w), Schema::Decimal(r))
                    if (w.precision, w.scale) != (r.precision, r.scale) =>
                {
                    leaf(writer)
                }
                _ => leaf(reader),
            };
        }
        if !promotes(from, to) {
            return Err(mismatch());
        }
        match (from, to) {
            // The same varint, or the same length-prefixed bytes: read as the reader's type.
            (Encoding::Int, Encoding::Long)
            | (Encoding::String, Encoding::Bytes)
            | (Encoding::Bytes, Encoding::String) => leaf(reader),
            // A float is reported widened already.
            (Encoding::Float, Encoding::Double) => Ok(Scalar::Float),
            (Encoding::Int | Encoding::Long, Encoding::Float | Encoding::Double) => {
                Ok(Scalar::LongAsFloat {
                    int: from == Encoding::Int,
                    single: to == Encoding::Float,
                })
            }
            _ => Err(mismatch()),
        }
    }

    /// The events of a field's JSON default, typed by the field's (reader) schema.
    fn default_events(
        &self,
        json: &serde_json::Value,
        schema: &'s Schema,
        ns: &Namespace,
        side: Side,
        out: &mut Vec<Event>,
        depth: usize,
    ) -> std::result::Result<(), String> {
        use serde_json::Value as J;
        if depth > MAX_DEFAULT_DEPTH {
            return Err(format!("it nests deeper than {MAX_DEFAULT_DEPTH} levels"));
        }
        let (schema, ns) = self.deref(schema, ns, side).map_err(|e| e.reason())?;
        let wrong = || format!("{json} is not a {}", describe(schema));
        let int = || json.as_i64().ok_or_else(wrong);
        let event = match schema {
            Schema::Union(union) => {
                // The first branch the value fits (the specification's first branch, or any
                // branch as later versions and most libraries accept).
                for branch in union.variants() {
                    let mark = out.len();
                    if self
                        .default_events(json, branch, &ns, side, out, depth + 1)
                        .is_ok()
                    {
                        return Ok(());
                    }
                    out.truncate(mark);
                }
                return Err(format!("{json} fits no branch of the union"));
            }
            Schema::Null if json.is_null() => Event::Null,
            Schema::Boolean => Event::Bool(json.as_bool().ok_or_else(wrong)?),
            Schema::Long => Event::I64(int()?),
            Schema::Int => Event::I64(i64::from(i32::try_from(int()?).map_err(|_| wrong())?)),
            Schema::Date => Event::Date(i32::try_from(int()?).map_err(|_| wrong())?),
            Schema::TimeMillis => Event::Time(int()?, TimeUnit::Milliseconds),
            Schema::TimeMicros => Event::Time(int()?, TimeUnit::Microseconds),
            Schema::TimestampMillis => Event::Timestamp(int()?, TimeUnit::Milliseconds, true),
            Schema::TimestampMicros => Event::Timestamp(int()?, TimeUnit::Microseconds, true),
            Schema::TimestampNanos => Event::Timestamp(int()?, TimeUnit::Nanoseconds, true),
            Schema::LocalTimestampMillis => Event::Timestamp(int()?, TimeUnit::Milliseconds, false),
            Schema::LocalTimestampMicros => Event::Timestamp(int()?, TimeUnit::Microseconds, false),
            Schema::LocalTimestampNanos => Event::Timestamp(int()?, TimeUnit::Nanoseconds, false),
            #[allow(clippy::cast_possible_truncation)]
            Schema::Float => Event::F64(f64::from(json.as_f64().ok_or_else(wrong)? as f32)),
            Schema::Double => Event::F64(json.as_f64().ok_or_else(wrong)?),
            Schema::String | Schema::Uuid => Event::Str(json.as_str().ok_or_else(wrong)?.into()),
            Schema::Fixed(fixed)
                if fixed.attributes.get("logicalType").and_then(|t| t.as_str())
                    == Some(FIXED_UUID_MARKER) =>
            {
                let bytes = <[u8; 16]>::try_from(default_bytes(json)?)
                    .map_err(|_| format!("{json} is not 16 bytes"))?;
                Event::Str(logical::uuid_text(&bytes).into())
            }
            Schema::Fixed(fixed) => {
                let bytes = default_bytes(json)?;
                if bytes.len() != fixed.size {
                    return Err(format!("{json} is not {} bytes", fixed.size));
                }
                Event::Bytes(bytes.into())
            }
            Schema::Bytes => Event::Bytes(default_bytes(json)?.into()),
            Schema::Decimal(d) => {
                let bytes = default_bytes(json)?;
                match (
                    u8::try_from(d.precision)
                        .ok()
                        .filter(|p| *p <= MAX_DECIMAL_PRECISION),
                    u8::try_from(d.scale),
                    logical::decimal_i128(&bytes),
                ) {
                    (Some(p), Ok(s), Some(v)) => {
                        if !truthound_streaming_core::temporal::fits_precision(v, p) {
                            return Err(format!("{json} has more than {p} digits"));
                        }
                        Event::Decimal(v, p, s)
                    }
                    _ => Event::Str(
                        logical::decimal_text(&bytes, i64::try_from(d.scale).unwrap_or(0))?.into(),
                    ),
                }
            }
            Schema::Enum(e) => {
                let symbol = json.as_str().ok_or_else(wrong)?;
                if !e.symbols.iter().any(|s| s == symbol) {
                    return Err(format!("{symbol:?} is not a symbol of enum `{}`", e.name));
                }
                Event::Str(symbol.into())
            }
            Schema::Array(array) => {
                let J::Array(items) = json else {
                    return Err(wrong());
                };
                out.push(Event::BeginArray(items.len()));
                for item in items {
                    self.default_events(item, &array.items, &ns, side, out, depth + 1)?;
                }
                Event::EndArray
            }
            Schema::Map(map) => {
                let J::Object(entries) = json else {
                    return Err(wrong());
                };
                out.push(Event::BeginObject(entries.len()));
                for (key, value) in entries {
                    out.push(Event::Key(key.as_str().into()));
                    self.default_events(value, &map.types, &ns, side, out, depth + 1)?;
                }
                Event::EndObject
            }
            Schema::Record(record) => {
                let J::Object(entries) = json else {
                    return Err(wrong());
                };
                out.push(Event::BeginObject(record.fields.len()));
                for field in &record.fields {
                    let value = entries
                        .get(&field.name)
                        .or_else(|| default_of(field))
                        .ok_or_else(|| format!("it has no value for field `{}`", field.name))?;
                    out.push(Event::Key(field.name.as_str().into()));
                    self.default_events(value, &field.schema, &ns, side, out, depth + 1)?;
                }
                Event::EndObject
            }
            _ => return Err(wrong()),
        };
        out.push(event);
        Ok(())
    }
}

/// The bytes of a `bytes` or `fixed` default: a JSON string whose code points are the bytes.
fn default_bytes(json: &serde_json::Value) -> std::result::Result<Vec<u8>, String> {
    let text = json
        .as_str()
        .ok_or_else(|| format!("{json} is not a string of bytes"))?;
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("{c:?} in {json} is not a byte")))
        .collect()
}

/// The size of a `fixed`-encoded type.
fn fixed_size(schema: &Schema) -> usize {
    match schema {
        Schema::Fixed(fixed) => fixed.size,
        Schema::Decimal(d) => match d.inner.as_ref() {
            Schema::Fixed(fixed) => fixed.size,
            _ => 0,
        },
        Schema::Duration => 12,
        _ => 0,
    }
}

/// The scalar reading a non-container type as itself.
fn leaf(schema: &Schema) -> Resolved<Scalar> {
    Ok(match schema {
        Schema::Null => Scalar::Null,
        Schema::Boolean => Scalar::Boolean,
        Schema::Int => Scalar::Int,
        Schema::Long => Scalar::Long,
        Schema::Float => Scalar::Float,
        Schema::Double => Scalar::Double,
        Schema::Bytes => Scalar::Bytes,
        Schema::String => Scalar::String,
        Schema::Uuid => Scalar::Uuid,
        Schema::Date => Scalar::Date,
        Schema::TimeMillis => Scalar::TimeMillis,
        Schema::TimeMicros => Scalar::TimeMicros,
        Schema::TimestampMillis => timestamp(TimeUnit::Milliseconds, true),
        Schema::TimestampMicros => timestamp(TimeUnit::Microseconds, true),
        Schema::TimestampNanos => timestamp(TimeUnit::Nanoseconds, true),
        Schema::LocalTimestampMillis => timestamp(TimeUnit::Milliseconds, false),
        Schema::LocalTimestampMicros => timestamp(TimeUnit::Microseconds, false),
        Schema::LocalTimestampNanos => timestamp(TimeUnit::Nanoseconds, false),
        Schema::Duration => Scalar::Duration,
        Schema::BigDecimal => Scalar::BigDecimal,
        Schema::Enum(e) => Scalar::Enum(
            e.symbols
                .iter()
                .map(|s| Symbol::Known(s.as_str().into()))
                .collect(),
        ),
        Schema::Fixed(fixed) => {
            let marked_uuid = fixed.size == 16
                && fixed.attributes.get("logicalType").and_then(|t| t.as_str())
                    == Some(FIXED_UUID_MARKER);
            if marked_uuid {
                Scalar::FixedUuid
            } else {
                Scalar::Fixed(fixed.size)
            }
        }
        Schema::Decimal(DecimalSchema {
            precision,
            scale,
            inner,
        }) => match inner.as_ref() {
            Schema::Bytes => Scalar::Decimal {
                precision: *precision,
                scale: *scale,
                fixed: None,
            },
            Schema::Fixed(fixed) => Scalar::Decimal {
                precision: *precision,
                scale: *scale,
                fixed: Some(fixed.size),
            },
            other => {
                return Err(Mismatch::Unsupported(format!(
                    "a decimal must be `bytes` or `fixed`, not {other:?}"
                )));
            }
        },
        other => {
            return Err(Mismatch::Unsupported(format!(
                "{} is not a scalar type",
                describe(other)
            )));
        }
    })
}

/// A `timestamp-*` (`utc`) or `local-timestamp-*` in `unit`.
fn timestamp(unit: TimeUnit, utc: bool) -> Scalar {
    Scalar::Timestamp { unit, utc }
}

/// A lower bound on the encoded size of each node, by fixpoint iteration from zero (every round
/// keeps the values lower bounds; a few rounds are enough to see through nesting, and recursive
/// types simply stay smaller than their true minimum).
fn min_sizes(nodes: &[Node]) -> Vec<usize> {
    let mut sizes = vec![0_usize; nodes.len()];
    for _ in 0..8 {
        let mut changed = false;
        for (id, node) in nodes.iter().enumerate() {
            let size = match node {
                Node::Array(_) | Node::Map(_) | Node::Union(_) => 1,
                Node::Record(record) => record
                    .fields
                    .iter()
                    .fold(0_usize, |acc, field| acc.saturating_add(sizes[field.node])),
                Node::Scalar(scalar) => scalar_min_size(scalar),
            };
            if size != sizes[id] {
                sizes[id] = size;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    sizes
}

/// The least bytes one encoded value of a scalar takes.
fn scalar_min_size(scalar: &Scalar) -> usize {
    match scalar {
        Scalar::Null | Scalar::Unreadable(_) => 0,
        Scalar::Boolean
        | Scalar::LongAsFloat { .. }
        | Scalar::Int
        | Scalar::Long
        | Scalar::Bytes
        | Scalar::String
        | Scalar::Enum(_)
        | Scalar::Uuid
        | Scalar::BigDecimal
        | Scalar::Date
        | Scalar::TimeMillis
        | Scalar::TimeMicros
        | Scalar::Timestamp { .. }
        | Scalar::Decimal { fixed: None, .. } => 1,
        Scalar::Float => 4,
        Scalar::Double => 8,
        Scalar::Duration => 12,
        Scalar::FixedUuid => 16,
        Scalar::Fixed(size)
        | Scalar::Decimal {
            fixed: Some(size), ..
        } => *size,
    }
}
