//! The column-builder tree: a [`ValueVisitor`] that writes decoded values straight into typed
//! buffers, infers each column's type as it goes, and builds Arrow arrays at the end.
//!
//! Nodes live in an arena (`Vec<Node>`) and refer to each other by index. Node 0 is the root, a
//! struct whose fields are the data columns; every message adds one root row. Type rules:
//! nulls fit any type; integers and floats widen to `Float64`; objects become structs and arrays
//! lists; timestamps, dates, times and decimals keep their type when every value has the same
//! (unit and zone, precision and scale); any other combination turns the node into `Utf8` JSON
//! text (with a note).

use std::collections::HashMap;

use polars::prelude::{PolarsResult, polars_err};
use polars_arrow::array::{Array, BooleanArray, ListArray, NullArray, PrimitiveArray, StructArray};
use polars_arrow::datatypes::{ArrowDataType, Field as ArrowField, TimeUnit as ArrowTimeUnit};
use polars_arrow::offset::OffsetsBuffer;
use truthound_streaming_core::temporal::{self, MAX_DECIMAL_PRECISION, TimeUnit};
use truthound_streaming_core::{DataType, FieldNote, JsonWriter, ScalarType, ValueVisitor};

use crate::buffers::{Bits, Validity, VarBytes};

type NodeId = usize;

/// The root node: its fields are the data columns.
pub(crate) const ROOT: NodeId = 0;

/// The column a non-object top-level value goes to.
pub(crate) const VALUE_COLUMN: &str = "value";

/// The fields of a struct node, found by name.
#[derive(Debug, Default, Clone)]
struct Fields {
    ids: Vec<NodeId>,
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, usize>,
    /// The position expected for the next key: messages of one topic usually repeat the field
    /// order, so checking the name at this position first avoids hashing.
    cursor: usize,
}

/// The values of a node, by the type inferred so far.
#[derive(Debug, Clone)]
enum Kind {
    /// Only nulls so far.
    Null,
    Bool(Bits),
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Float(Vec<f64>),
    Str(VarBytes),
    Binary(VarBytes),
    /// Timestamps, all in `unit` and all instants in UTC (`utc`) or all local.
    Datetime {
        values: Vec<i64>,
        unit: TimeUnit,
        utc: bool,
    },
    /// Days since 1970-01-01.
    Date(Vec<i32>),
    /// Nanoseconds since midnight.
    Time(Vec<i64>),
    /// Unscaled decimals, all of this precision and scale.
    Decimal {
        values: Vec<i128>,
        precision: u8,
        scale: u8,
    },
    List {
        offsets: Vec<i64>,
        child: NodeId,
    },
    Struct(Fields),
    /// Values of incompatible types, each kept as its JSON text.
    Json(VarBytes),
}

#[derive(Debug, Clone)]
struct Node {
    len: usize,
    validity: Validity,
    kind: Kind,
    /// For `Json` nodes: the types seen, in first-seen order.
    mixed: Vec<DataType>,
}

impl Node {
    fn new() -> Self {
        Self {
            len: 0,
            validity: Validity::default(),
            kind: Kind::Null,
            mixed: Vec::new(),
        }
    }

    /// A `Null` node that already holds `len` nulls (a field first seen at row `len`).
    fn nulls(len: usize) -> Self {
        Self { len, ..Self::new() }
    }
}

/// An open container while a message is being visited.
#[derive(Debug, Clone, Copy)]
enum Open {
    Struct(NodeId),
    List { list: NodeId, child: NodeId },
}

/// Where the tree stood before a message, so a failed message can be undone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    nodes: usize,
    rows: usize,
}

/// The shallow type of a value, for mixed-type notes.
fn shallow(kind: ShallowKind) -> DataType {
    match kind {
        ShallowKind::Bool => DataType::Boolean,
        ShallowKind::Int => DataType::Int64,
        ShallowKind::UInt => DataType::UInt64,
        ShallowKind::Float => DataType::Float64,
        ShallowKind::Str => DataType::Utf8,
        ShallowKind::Binary => DataType::Binary,
        ShallowKind::Datetime(unit, utc) => datetime_type(unit, utc),
        ShallowKind::Date => DataType::Date,
        ShallowKind::Time => DataType::Time,
        ShallowKind::Decimal(precision, scale) => DataType::Decimal { precision, scale },
        ShallowKind::Object => DataType::Struct(Vec::new()),
        ShallowKind::Array => DataType::List(Box::new(DataType::Null)),
    }
}

#[derive(Debug, Clone, Copy)]
enum ShallowKind {
    Bool,
    Int,
    UInt,
    Float,
    Str,
    Binary,
    Datetime(TimeUnit, bool),
    Date,
    Time,
    Decimal(u8, u8),
    Object,
    Array,
}

/// The schema type of timestamps in `unit`, instants in UTC or local.
fn datetime_type(unit: TimeUnit, utc: bool) -> DataType {
    DataType::Datetime(unit, utc.then(|| "UTC".to_owned()))
}

/// Whether a mixed-type note lists `a` and `b` once: structs and lists whatever their fields
/// or elements, other types when they are equal (so `Datetime(ms)` and `Datetime(us)` are two).
pub(crate) fn same_kind(a: &DataType, b: &DataType) -> bool {
    match (a, b) {
        (DataType::Struct(_), DataType::Struct(_)) | (DataType::List(_), DataType::List(_)) => true,
        _ => a == b,
    }
}

/// Arrow's name for `unit`.
fn arrow_unit(unit: TimeUnit) -> ArrowTimeUnit {
    match unit {
        TimeUnit::Milliseconds => ArrowTimeUnit::Millisecond,
        TimeUnit::Microseconds => ArrowTimeUnit::Microsecond,
        TimeUnit::Nanoseconds => ArrowTimeUnit::Nanosecond,
    }
}

/// Nanoseconds in a day: the end of the times of day.
const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The column-builder tree and the visitor state of the message being decoded.
#[derive(Debug)]
pub(crate) struct ColumnTree {
    nodes: Vec<Node>,
    stack: Vec<Open>,
    /// The field named by the last `key`, waiting for its value.
    pending: Option<NodeId>,
    /// The `Json` node whose value is being captured as text by `writer`.
    capture: Option<NodeId>,
    writer: JsonWriter,
    /// Whether the message's top-level value has started.
    top_started: bool,
    /// Whether the events broke the value grammar.
    broken: bool,
    /// Nodes as they were before the current message changed their type, to undo a failed
    /// message exactly. Type changes are rare (a few per column), so this is usually empty.
    undo: Vec<(NodeId, Node)>,
    /// The arena size when the current message began; newer nodes need no undo.
    message_nodes: usize,
    /// The top-level fields to build (`None`: all); the others' values are ignored.
    projection: Option<Vec<Box<str>>>,
    /// While the value of a field outside the projection arrives: the depth of its open
    /// containers (0 before its first event).
    ignore: Option<usize>,
}

/// An event, as far as ignoring a value goes.
#[derive(Clone, Copy)]
enum Event {
    Scalar,
    Key,
    Begin,
    End,
}

impl Default for ColumnTree {
    fn default() -> Self {
        let mut root = Node::new();
        root.kind = Kind::Struct(Fields::default());
        Self {
            nodes: vec![root],
            stack: Vec::new(),
            pending: None,
            capture: None,
            writer: JsonWriter::new(),
            top_started: false,
            broken: false,
            undo: Vec::new(),
            message_nodes: 1,
            projection: None,
            ignore: None,
        }
    }
}

impl ColumnTree {
    /// A tree that builds only the top-level fields named in `columns`, when given.
    pub(crate) fn with_projection(columns: Option<&[String]>) -> Self {
        Self {
            projection: columns.map(|c| c.iter().map(|n| n.as_str().into()).collect()),
            ..Self::default()
        }
    }

    /// Swallows `event` when it belongs to an ignored value; `true` if it did.
    fn ignored(&mut self, event: Event) -> bool {
        let Some(depth) = self.ignore else {
            return false;
        };
        self.ignore = match (event, depth) {
            (Event::Begin, d) => Some(d + 1),
            (Event::End, 0) | (Event::Key, 0) => {
                // A value cannot start with these: the events break the grammar.
                self.broken = true;
                None
            }
            (Event::End, 1) | (Event::Scalar, 0) => None,
            (Event::End, d) => Some(d - 1),
            (Event::Scalar | Event::Key, d) => Some(d),
        };
        true
    }
}

/// A built data column: its name, array and any mixed-type notes below it.
pub(crate) struct BuiltColumn {
    pub(crate) name: String,
    pub(crate) array: Box<dyn Array>,
    pub(crate) notes: Vec<(Vec<String>, FieldNote)>,
}

impl ColumnTree {
    /// The number of complete rows.
    pub(crate) fn rows(&self) -> usize {
        self.nodes[ROOT].len
    }

    /// Prepares for a message and returns the state to roll back to if it fails.
    pub(crate) fn begin_message(&mut self) -> Mark {
        self.stack.clear();
        self.pending = None;
        self.ignore = None;
        self.capture = None;
        self.top_started = false;
        self.broken = false;
        self.undo.clear();
        self.message_nodes = self.nodes.len();
        if let Kind::Struct(fields) = &mut self.nodes[ROOT].kind {
            fields.cursor = 0;
        }
        Mark {
            nodes: self.nodes.len(),
            rows: self.nodes[ROOT].len,
        }
    }

    /// Completes the message's row. Fails, without changing the tree, when the events did not
    /// form exactly one complete value.
    pub(crate) fn end_message(&mut self) -> Result<(), &'static str> {
        if self.broken {
            return Err("the deserializer reported events that do not form a value");
        }
        if !self.top_started
            || !self.stack.is_empty()
            || self.capture.is_some()
            || self.ignore.is_some()
        {
            return Err("the deserializer reported an incomplete value");
        }
        self.complete_struct(ROOT);
        Ok(())
    }

    /// Undoes everything since `mark`: values, fields created and nodes added.
    pub(crate) fn rollback(&mut self, mark: Mark) {
        self.stack.clear();
        self.pending = None;
        self.ignore = None;
        self.capture = None;
        self.writer.clear();
        self.nodes.truncate(mark.nodes);
        // Type changes first (newest last, so undo in reverse), then lengths.
        while let Some((id, node)) = self.undo.pop() {
            if let Some(slot) = self.nodes.get_mut(id) {
                *slot = node;
            }
        }
        // Fields and list children created by the failed message point past the arena now.
        for id in 0..self.nodes.len() {
            match &mut self.nodes[id].kind {
                Kind::Struct(fields) if fields.ids.iter().any(|&c| c >= mark.nodes) => {
                    let keep = fields.ids.iter().take_while(|&&c| c < mark.nodes).count();
                    fields.ids.truncate(keep);
                    fields.names.truncate(keep);
                    fields.index.retain(|_, pos| *pos < keep);
                    fields.cursor = 0;
                }
                Kind::List { child, .. } if *child >= mark.nodes => {
                    // The list was created by the failed message: its earlier rows are nulls,
                    // so a fresh empty child is right.
                    let fresh = self.nodes.len();
                    if let Kind::List { child, .. } = &mut self.nodes[id].kind {
                        *child = fresh;
                    }
                    self.nodes.push(Node::new());
                }
                _ => {}
            }
        }
        self.truncate(ROOT, mark.rows);
    }

    /// Cuts node `id` (and what hangs below it) back to `len` values.
    fn truncate(&mut self, id: NodeId, len: usize) {
        let node = &mut self.nodes[id];
        node.len = node.len.min(len);
        node.validity.truncate(len);
        let mut children: Vec<(NodeId, usize)> = Vec::new();
        match &mut node.kind {
            Kind::Null => {}
            Kind::Bool(v) => v.truncate(len),
            Kind::Int(v) | Kind::Time(v) | Kind::Datetime { values: v, .. } => v.truncate(len),
            Kind::UInt(v) => v.truncate(len),
            Kind::Float(v) => v.truncate(len),
            Kind::Date(v) => v.truncate(len),
            Kind::Decimal { values, .. } => values.truncate(len),
            Kind::Str(v) | Kind::Binary(v) | Kind::Json(v) => v.truncate(len),
            Kind::List { offsets, child } => {
                offsets.truncate(len + 1);
                let end = offsets.last().copied().unwrap_or(0) as usize;
                children.push((*child, end));
            }
            Kind::Struct(fields) => children.extend(fields.ids.iter().map(|&c| (c, len))),
        }
        for (child, child_len) in children {
            self.truncate(child, child_len);
        }
    }

    // ----- routing -----

    /// The node the next value goes to; `None` (and the message marked broken) when the events
    /// do not allow a value here.
    fn value_dest(&mut self) -> Option<NodeId> {
        match self.stack.last() {
            Some(Open::Struct(_)) => {
                let dest = self.pending.take();
                if dest.is_none() {
                    self.broken = true;
                }
                dest
            }
            Some(Open::List { child, .. }) => Some(*child),
            None if self.top_started => {
                self.broken = true;
                None
            }
            None => {
                self.top_started = true;
                self.field(ROOT, VALUE_COLUMN)
            }
        }
    }

    /// The field `name` of struct node `id`, created (null up to now) when new. A field that
    /// already has a value in the current row (a repeated key) is cut back: the last one wins.
    fn field(&mut self, id: NodeId, name: &str) -> Option<NodeId> {
        let rows = self.nodes[id].len;
        let next_id = self.nodes.len();
        let Kind::Struct(fields) = &mut self.nodes[id].kind else {
            self.broken = true;
            return None;
        };
        let pos = match fields.names.get(fields.cursor) {
            Some(n) if **n == *name => fields.cursor,
            _ => match fields.index.get(name) {
                Some(&pos) => pos,
                None => {
                    let pos = fields.ids.len();
                    fields.ids.push(next_id);
                    fields.names.push(name.into());
                    fields.index.insert(name.into(), pos);
                    fields.cursor = pos + 1;
                    self.nodes.push(Node::nulls(rows));
                    return Some(next_id);
                }
            },
        };
        fields.cursor = pos + 1;
        let child = fields.ids[pos];
        if self.nodes[child].len > rows {
            self.truncate(child, rows);
        }
        Some(child)
    }

    // ----- completing values -----

    /// Ends a struct value: fields missing from it get a null.
    fn complete_struct(&mut self, id: NodeId) {
        let rows = self.nodes[id].len;
        let count = match &self.nodes[id].kind {
            Kind::Struct(f) => f.ids.len(),
            _ => 0,
        };
        for i in 0..count {
            let child = match &self.nodes[id].kind {
                Kind::Struct(f) => f.ids[i],
                _ => continue,
            };
            if self.nodes[child].len <= rows {
                self.push_null(child);
            }
        }
        let node = &mut self.nodes[id];
        node.validity.push_valid();
        node.len += 1;
    }

    /// Appends a null to node `id` (and to every field below a struct).
    fn push_null(&mut self, id: NodeId) {
        let node = &mut self.nodes[id];
        let len = node.len;
        let mut fields = 0;
        match &mut node.kind {
            Kind::Null => {
                node.len += 1;
                return;
            }
            Kind::Bool(v) => v.push(false),
            Kind::Int(v) | Kind::Time(v) | Kind::Datetime { values: v, .. } => v.push(0),
            Kind::UInt(v) => v.push(0),
            Kind::Float(v) => v.push(0.0),
            Kind::Date(v) => v.push(0),
            Kind::Decimal { values, .. } => values.push(0),
            Kind::Str(v) | Kind::Binary(v) | Kind::Json(v) => v.push_empty(),
            Kind::List { offsets, .. } => offsets.push(offsets.last().copied().unwrap_or(0)),
            Kind::Struct(f) => fields = f.ids.len(),
        }
        node.validity.push_null(len);
        node.len += 1;
        for i in 0..fields {
            if let Kind::Struct(f) = &self.nodes[id].kind {
                let child = f.ids[i];
                self.push_null(child);
            }
        }
    }

    // ----- type changes -----

    /// Keeps node `id` as it is now, before its type changes, unless the current message
    /// created it or already kept it.
    fn save(&mut self, id: NodeId) {
        if id >= self.message_nodes || self.undo.iter().any(|(saved, _)| *saved == id) {
            return;
        }
        self.undo.push((id, self.nodes[id].clone()));
    }

    /// Turns a `Null` node into an empty typed node of `kind`, with its nulls kept.
    fn materialize(&mut self, id: NodeId, make: impl FnOnce(usize, &mut Vec<Node>) -> Kind) {
        self.save(id);
        let len = self.nodes[id].len;
        let kind = make(len, &mut self.nodes);
        let node = &mut self.nodes[id];
        node.kind = kind;
        node.validity = Validity::all_null(len);
    }

    /// Rewrites the integers of node `id` as floats.
    #[allow(clippy::cast_precision_loss)]
    fn widen_to_float(&mut self, id: NodeId) {
        self.save(id);
        let node = &mut self.nodes[id];
        let floats: Vec<f64> = match &node.kind {
            Kind::Int(v) => v.iter().map(|&x| x as f64).collect(),
            Kind::UInt(v) => v.iter().map(|&x| x as f64).collect(),
            _ => return,
        };
        node.kind = Kind::Float(floats);
    }

    /// The type node `id` has now, in schema terms.
    fn data_type(&self, id: NodeId) -> DataType {
        match &self.nodes[id].kind {
            Kind::Null => DataType::Null,
            Kind::Bool(_) => DataType::Boolean,
            Kind::Int(_) => DataType::Int64,
            Kind::UInt(_) => DataType::UInt64,
            Kind::Float(_) => DataType::Float64,
            Kind::Str(_) | Kind::Json(_) => DataType::Utf8,
            Kind::Binary(_) => DataType::Binary,
            Kind::Datetime { unit, utc, .. } => datetime_type(*unit, *utc),
            Kind::Date(_) => DataType::Date,
            Kind::Time(_) => DataType::Time,
            Kind::Decimal {
                precision, scale, ..
            } => DataType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            Kind::List { child, .. } => DataType::List(Box::new(self.data_type(*child))),
            Kind::Struct(f) => DataType::Struct(
                f.ids
                    .iter()
                    .zip(&f.names)
                    .map(|(&c, n)| {
                        truthound_streaming_core::Field::new(&**n, self.data_type(c), true)
                    })
                    .collect(),
            ),
        }
    }

    /// Records that a value of `kind` went to `Json` node `id`.
    fn note_mixed(&mut self, id: NodeId, kind: ShallowKind) {
        let t = shallow(kind);
        if !self.nodes[id].mixed.iter().any(|a| same_kind(a, &t)) {
            self.save(id);
        }
        let node = &mut self.nodes[id];
        if !node.mixed.iter().any(|a| same_kind(a, &t)) {
            node.mixed.push(t);
        }
    }

    /// Turns node `id` into JSON text: every value so far is rewritten as its JSON text.
    fn convert_to_json(&mut self, id: NodeId, incoming: ShallowKind) {
        self.save(id);
        let before = self.data_type(id);
        let len = self.nodes[id].len;
        let mut text = VarBytes::default();
        let mut writer = std::mem::take(&mut self.writer);
        for row in 0..len {
            if self.nodes[id].validity.is_valid(row) {
                writer.clear();
                self.write_json(id, row, &mut writer);
                text.push(writer.as_str().as_bytes());
            } else {
                text.push_empty();
            }
        }
        writer.clear();
        self.writer = writer;
        let old = std::mem::replace(&mut self.nodes[id].kind, Kind::Json(text));
        // Free what hung below; nothing refers to those nodes any more.
        let mut orphans = Vec::new();
        match old {
            Kind::List { child, .. } => orphans.push(child),
            Kind::Struct(f) => orphans.extend(f.ids),
            _ => {}
        }
        while let Some(o) = orphans.pop() {
            self.save(o);
            let old = std::mem::replace(&mut self.nodes[o], Node::new());
            match old.kind {
                Kind::List { child, .. } => orphans.push(child),
                Kind::Struct(f) => orphans.extend(f.ids),
                _ => {}
            }
        }
        let node = &mut self.nodes[id];
        node.mixed = vec![before];
        self.note_mixed(id, incoming);
    }

    /// Writes row `row` of node `id` as JSON.
    fn write_json(&self, id: NodeId, row: usize, w: &mut JsonWriter) {
        let node = &self.nodes[id];
        if !node.validity.is_valid(row) {
            w.null();
            return;
        }
        match &node.kind {
            Kind::Null => w.null(),
            Kind::Bool(v) => w.bool(v.get(row)),
            Kind::Int(v) => w.i64(v.get(row).copied().unwrap_or_default()),
            Kind::UInt(v) => w.u64(v.get(row).copied().unwrap_or_default()),
            Kind::Float(v) => w.f64(v.get(row).copied().unwrap_or_default()),
            Kind::Str(v) => w.str(std::str::from_utf8(v.get(row)).unwrap_or_default()),
            Kind::Binary(v) => w.bytes(v.get(row)),
            Kind::Datetime { values, unit, utc } => {
                w.timestamp(values.get(row).copied().unwrap_or_default(), *unit, *utc);
            }
            Kind::Date(v) => w.date(v.get(row).copied().unwrap_or_default()),
            Kind::Time(v) => w.time(
                v.get(row).copied().unwrap_or_default(),
                TimeUnit::Nanoseconds,
            ),
            Kind::Decimal {
                values,
                precision,
                scale,
            } => w.decimal(
                values.get(row).copied().unwrap_or_default(),
                *precision,
                *scale,
            ),
            Kind::Json(v) => w.raw_value(std::str::from_utf8(v.get(row)).unwrap_or("null")),
            Kind::List { offsets, child } => {
                let start = offsets.get(row).copied().unwrap_or(0) as usize;
                let end = offsets.get(row + 1).copied().unwrap_or(0) as usize;
                w.begin_array(Some(end - start));
                for i in start..end {
                    self.write_json(*child, i, w);
                }
                w.end_array();
            }
            Kind::Struct(f) => {
                w.begin_object(Some(f.ids.len()));
                for (&c, name) in f.ids.iter().zip(&f.names) {
                    w.key(name);
                    self.write_json(c, row, w);
                }
                w.end_object();
            }
        }
    }

    // ----- captured JSON text -----

    /// Starts capturing a value of `kind` at `Json` node `id` (converting it first if needed).
    fn start_capture(&mut self, id: NodeId, kind: ShallowKind) {
        if matches!(self.nodes[id].kind, Kind::Json(_)) {
            self.note_mixed(id, kind);
        } else {
            self.convert_to_json(id, kind);
        }
        self.writer.clear();
        self.capture = Some(id);
    }

    /// Sends an event to the capture, if one is running; stores the text once complete.
    #[inline]
    fn captured(&mut self, event: impl FnOnce(&mut JsonWriter)) -> bool {
        let Some(id) = self.capture else {
            return false;
        };
        event(&mut self.writer);
        if self.writer.is_complete() {
            let node = &mut self.nodes[id];
            if let Kind::Json(text) = &mut node.kind {
                text.push(self.writer.as_str().as_bytes());
            }
            node.validity.push_valid();
            node.len += 1;
            self.capture = None;
        }
        true
    }

    /// Completes a scalar at node `id`: counts it when its typed buffer took it (`stored`),
    /// otherwise keeps it as JSON text.
    fn stored_or_json(
        &mut self,
        id: NodeId,
        stored: bool,
        kind: ShallowKind,
        event: impl FnOnce(&mut JsonWriter),
    ) {
        if stored {
            let node = &mut self.nodes[id];
            node.validity.push_valid();
            node.len += 1;
        } else {
            self.scalar_as_json(id, kind, event);
        }
    }

    /// Stores a scalar at node `id` as JSON text.
    fn scalar_as_json(
        &mut self,
        id: NodeId,
        kind: ShallowKind,
        event: impl FnOnce(&mut JsonWriter),
    ) {
        self.start_capture(id, kind);
        self.captured(event);
    }

    // ----- building -----

    /// Builds the data columns (the root's fields, in first-seen order).
    pub(crate) fn finish(mut self) -> PolarsResult<Vec<BuiltColumn>> {
        let rows = self.nodes[ROOT].len;
        let Kind::Struct(fields) = std::mem::replace(&mut self.nodes[ROOT].kind, Kind::Null) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(fields.ids.len());
        for (id, name) in fields.ids.into_iter().zip(fields.names) {
            let mut notes = Vec::new();
            let mut path = vec![name.to_string()];
            let (array, _) = self.build(id, rows, &mut path, &mut notes)?;
            out.push(BuiltColumn {
                name: name.into(),
                array,
                notes,
            });
        }
        Ok(out)
    }

    /// Builds node `id` (which must hold `len` values) into an Arrow array.
    fn build(
        &mut self,
        id: NodeId,
        len: usize,
        path: &mut Vec<String>,
        notes: &mut Vec<(Vec<String>, FieldNote)>,
    ) -> PolarsResult<(Box<dyn Array>, ArrowDataType)> {
        let node = std::mem::replace(&mut self.nodes[id], Node::new());
        if node.len != len {
            return Err(polars_err!(
                ComputeError: "column {} has {} values, expected {}", path.join("."), node.len, len
            ));
        }
        let validity = node.validity.into_bitmap(len)?;
        let array: Box<dyn Array> = match node.kind {
            Kind::Null => Box::new(NullArray::try_new(ArrowDataType::Null, len)?),
            Kind::Bool(values) => Box::new(BooleanArray::try_new(
                ArrowDataType::Boolean,
                values.into_bitmap()?,
                validity,
            )?),
            Kind::Int(values) => Box::new(PrimitiveArray::<i64>::try_new(
                ArrowDataType::Int64,
                values.into(),
                validity,
            )?),
            Kind::UInt(values) => Box::new(PrimitiveArray::<u64>::try_new(
                ArrowDataType::UInt64,
                values.into(),
                validity,
            )?),
            Kind::Float(values) => Box::new(PrimitiveArray::<f64>::try_new(
                ArrowDataType::Float64,
                values.into(),
                validity,
            )?),
            Kind::Str(values) => values.into_utf8_array(validity)?,
            Kind::Datetime { values, unit, utc } => Box::new(PrimitiveArray::<i64>::try_new(
                ArrowDataType::Timestamp(arrow_unit(unit), utc.then(|| "UTC".into())),
                values.into(),
                validity,
            )?),
            Kind::Date(values) => Box::new(PrimitiveArray::<i32>::try_new(
                ArrowDataType::Date32,
                values.into(),
                validity,
            )?),
            Kind::Time(values) => Box::new(PrimitiveArray::<i64>::try_new(
                ArrowDataType::Time64(ArrowTimeUnit::Nanosecond),
                values.into(),
                validity,
            )?),
            Kind::Decimal {
                values,
                precision,
                scale,
            } => Box::new(PrimitiveArray::<i128>::try_new(
                ArrowDataType::Decimal(usize::from(precision), usize::from(scale)),
                values.into(),
                validity,
            )?),
            Kind::Json(values) => {
                notes.push((
                    path.clone(),
                    FieldNote::MixedTypesAsJsonText { seen: node.mixed },
                ));
                values.into_utf8_array(validity)?
            }
            Kind::Binary(values) => values.into_binary_array(validity)?,
            Kind::List { offsets, child } => {
                let child_len = offsets.last().copied().unwrap_or(0) as usize;
                let (values, child_type) = self.build(child, child_len, path, notes)?;
                let field = ArrowField::new("item".into(), child_type, true);
                Box::new(ListArray::<i64>::try_new(
                    ArrowDataType::LargeList(Box::new(field)),
                    OffsetsBuffer::try_from(offsets)?,
                    values,
                    validity,
                )?)
            }
            Kind::Struct(fields) => {
                if fields.ids.is_empty() {
                    // Only empty objects were seen: there is nothing to make a struct of.
                    Box::new(NullArray::try_new(ArrowDataType::Null, len)?)
                } else {
                    let mut arrow_fields = Vec::with_capacity(fields.ids.len());
                    let mut values = Vec::with_capacity(fields.ids.len());
                    for (c, name) in fields.ids.into_iter().zip(fields.names) {
                        path.push(name.to_string());
                        let (array, dtype) = self.build(c, len, path, notes)?;
                        path.pop();
                        arrow_fields.push(ArrowField::new((*name).into(), dtype, true));
                        values.push(array);
                    }
                    Box::new(StructArray::try_new(
                        ArrowDataType::Struct(arrow_fields),
                        len,
                        values,
                        validity,
                    )?)
                }
            }
        };
        let dtype = array.dtype().clone();
        Ok((array, dtype))
    }
}

impl ValueVisitor for ColumnTree {
    fn null(&mut self) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.null()) {
            return;
        }
        if let Some(id) = self.value_dest() {
            self.push_null(id);
        }
    }

    /// A null that gives a column of only nulls so far its type; a column with a type keeps
    /// it (a null is a null there).
    fn typed_null(&mut self, ty: ScalarType) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.null()) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            let kind = |len: usize| match ty {
                ScalarType::Boolean => Some(Kind::Bool(Bits::filled(len, false))),
                ScalarType::Int64 => Some(Kind::Int(vec![0; len])),
                ScalarType::Float64 => Some(Kind::Float(vec![0.0; len])),
                ScalarType::Utf8 => Some(Kind::Str(VarBytes::with_len_empty(len))),
                ScalarType::Binary => Some(Kind::Binary(VarBytes::with_len_empty(len))),
                ScalarType::Datetime { unit, utc } => Some(Kind::Datetime {
                    values: vec![0; len],
                    unit,
                    utc,
                }),
                ScalarType::Date => Some(Kind::Date(vec![0; len])),
                ScalarType::Time => Some(Kind::Time(vec![0; len])),
                ScalarType::Decimal { precision, scale }
                    if precision > 0
                        && precision <= MAX_DECIMAL_PRECISION
                        && scale <= precision =>
                {
                    Some(Kind::Decimal {
                        values: vec![0; len],
                        precision,
                        scale,
                    })
                }
                _ => None,
            };
            if let Some(k) = kind(self.nodes[id].len) {
                self.materialize(id, |_, _| k);
            }
        }
        self.push_null(id);
    }

    fn bool(&mut self, v: bool) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.bool(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Bool(Bits::filled(len, false)));
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Bool(bits) => {
                bits.push(v);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Bool, |w| w.bool(v)),
        }
    }

    fn i64(&mut self, v: i64) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.i64(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        match self.nodes[id].kind {
            Kind::Null => self.materialize(id, |len, _| Kind::Int(vec![0; len])),
            Kind::UInt(_) if v < 0 => self.widen_to_float(id),
            _ => {}
        }
        let node = &mut self.nodes[id];
        #[allow(clippy::cast_precision_loss)]
        let stored = match &mut node.kind {
            Kind::Int(values) => {
                values.push(v);
                true
            }
            Kind::UInt(values) => {
                values.push(v.unsigned_abs());
                true
            }
            Kind::Float(values) => {
                values.push(v as f64);
                true
            }
            _ => false,
        };
        self.stored_or_json(id, stored, ShallowKind::Int, |w| w.i64(v));
    }

    fn u64(&mut self, v: u64) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.u64(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        let fits = i64::try_from(v).is_ok();
        match &self.nodes[id].kind {
            Kind::Null => self.materialize(id, |len, _| Kind::UInt(vec![0; len])),
            Kind::Int(values) if !fits => {
                if values.iter().all(|&x| x >= 0) {
                    self.save(id);
                    let node = &mut self.nodes[id];
                    if let Kind::Int(values) = &node.kind {
                        node.kind = Kind::UInt(values.iter().map(|&x| x.unsigned_abs()).collect());
                    }
                } else {
                    self.widen_to_float(id);
                }
            }
            _ => {}
        }
        let node = &mut self.nodes[id];
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
        let stored = match &mut node.kind {
            Kind::UInt(values) => {
                values.push(v);
                true
            }
            // Only reached when `v` fits (see above).
            Kind::Int(values) => {
                values.push(v as i64);
                true
            }
            Kind::Float(values) => {
                values.push(v as f64);
                true
            }
            _ => false,
        };
        self.stored_or_json(id, stored, ShallowKind::UInt, |w| w.u64(v));
    }

    fn f64(&mut self, v: f64) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.f64(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        match self.nodes[id].kind {
            Kind::Null => self.materialize(id, |len, _| Kind::Float(vec![0.0; len])),
            Kind::Int(_) | Kind::UInt(_) => self.widen_to_float(id),
            _ => {}
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Float(values) => {
                values.push(v);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Float, |w| w.f64(v)),
        }
    }

    fn str(&mut self, v: &str) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.str(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Str(VarBytes::with_len_empty(len)));
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Str(values) => {
                values.push(v.as_bytes());
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Str, |w| w.str(v)),
        }
    }

    fn bytes(&mut self, v: &[u8]) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.bytes(v)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Binary(VarBytes::with_len_empty(len)));
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Binary(values) => {
                values.push(v);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Binary, |w| w.bytes(v)),
        }
    }

    fn begin_object(&mut self, len: Option<usize>) {
        if self.ignored(Event::Begin) {
            return;
        }
        if self.captured(|w| w.begin_object(len)) {
            return;
        }
        if self.stack.is_empty() && !self.top_started {
            // The message's object is the root row itself.
            self.top_started = true;
            if let Kind::Struct(fields) = &mut self.nodes[ROOT].kind {
                fields.cursor = 0;
            }
            self.stack.push(Open::Struct(ROOT));
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |_, _| Kind::Struct(Fields::default()));
        }
        match &mut self.nodes[id].kind {
            Kind::Struct(fields) => {
                fields.cursor = 0;
                self.stack.push(Open::Struct(id));
            }
            _ => {
                self.start_capture(id, ShallowKind::Object);
                self.captured(|w| w.begin_object(len));
            }
        }
    }

    fn key(&mut self, k: &str) {
        if self.ignored(Event::Key) {
            return;
        }
        if self.captured(|w| w.key(k)) {
            return;
        }
        match self.stack.last() {
            Some(&Open::Struct(id)) if self.pending.is_none() => {
                if id == ROOT
                    && let Some(wanted) = &self.projection
                    && !wanted.iter().any(|w| **w == *k)
                {
                    self.ignore = Some(0);
                    return;
                }
                self.pending = self.field(id, k);
            }
            _ => self.broken = true,
        }
    }

    fn end_object(&mut self) {
        if self.ignored(Event::End) {
            return;
        }
        if self.captured(JsonWriter::end_object) {
            return;
        }
        match self.stack.pop() {
            Some(Open::Struct(id)) if self.pending.is_none() => {
                if id != ROOT {
                    self.complete_struct(id);
                }
            }
            _ => self.broken = true,
        }
    }

    fn begin_array(&mut self, len: Option<usize>) {
        if self.ignored(Event::Begin) {
            return;
        }
        if self.captured(|w| w.begin_array(len)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, nodes| {
                let child = nodes.len();
                nodes.push(Node::new());
                Kind::List {
                    offsets: vec![0; len + 1],
                    child,
                }
            });
        }
        match &self.nodes[id].kind {
            Kind::List { child, .. } => {
                let child = *child;
                self.stack.push(Open::List { list: id, child });
            }
            _ => {
                self.start_capture(id, ShallowKind::Array);
                self.captured(|w| w.begin_array(len));
            }
        }
    }

    fn end_array(&mut self) {
        if self.ignored(Event::End) {
            return;
        }
        if self.captured(JsonWriter::end_array) {
            return;
        }
        match self.stack.pop() {
            Some(Open::List { list, child }) => {
                let end = self.nodes[child].len as i64;
                let node = &mut self.nodes[list];
                if let Kind::List { offsets, .. } = &mut node.kind {
                    offsets.push(end);
                }
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.broken = true,
        }
    }

    fn timestamp(&mut self, v: i64, unit: TimeUnit, utc: bool) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.timestamp(v, unit, utc)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Datetime {
                values: vec![0; len],
                unit,
                utc,
            });
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Datetime {
                values,
                unit: u,
                utc: z,
            } if *u == unit && *z == utc => {
                values.push(v);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Datetime(unit, utc), |w| {
                w.timestamp(v, unit, utc);
            }),
        }
    }

    fn date(&mut self, days: i32) {
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.date(days)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Date(vec![0; len]));
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Date(values) => {
                values.push(days);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Date, |w| w.date(days)),
        }
    }

    fn time(&mut self, v: i64, unit: TimeUnit) {
        let nanos = v
            .checked_mul(TimeUnit::Nanoseconds.per_second() / unit.per_second())
            .filter(|n| (0..NANOS_PER_DAY).contains(n));
        let Some(nanos) = nanos else {
            // Not a time of day: reported as the visitor interface's default does.
            match temporal::iso_time(v, unit) {
                Some(text) => self.str(&text),
                None => self.i64(v),
            }
            return;
        };
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.time(nanos, TimeUnit::Nanoseconds)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Time(vec![0; len]));
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Time(values) => {
                values.push(nanos);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Time, |w| {
                w.time(nanos, TimeUnit::Nanoseconds);
            }),
        }
    }

    fn decimal(&mut self, unscaled: i128, precision: u8, scale: u8) {
        if precision == 0
            || precision > MAX_DECIMAL_PRECISION
            || scale > precision
            || !temporal::fits_precision(unscaled, precision)
        {
            // Not a decimal a column can hold: its exact text, as the interface's default.
            self.str(&temporal::decimal_text(unscaled, scale));
            return;
        }
        if self.ignored(Event::Scalar) {
            return;
        }
        if self.captured(|w| w.decimal(unscaled, precision, scale)) {
            return;
        }
        let Some(id) = self.value_dest() else {
            return;
        };
        if matches!(self.nodes[id].kind, Kind::Null) {
            self.materialize(id, |len, _| Kind::Decimal {
                values: vec![0; len],
                precision,
                scale,
            });
        }
        let node = &mut self.nodes[id];
        match &mut node.kind {
            Kind::Decimal {
                values,
                precision: p,
                scale: s,
            } if *p == precision && *s == scale => {
                values.push(unscaled);
                node.validity.push_valid();
                node.len += 1;
            }
            _ => self.scalar_as_json(id, ShallowKind::Decimal(precision, scale), |w| {
                w.decimal(unscaled, precision, scale);
            }),
        }
    }

    fn skip_value(&mut self) -> bool {
        if self.ignore == Some(0) {
            self.ignore = None;
            true
        } else {
            false
        }
    }
}
