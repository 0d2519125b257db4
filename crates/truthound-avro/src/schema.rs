//! The writer schema compiled for decoding: named references resolved to indices, logical types
//! reduced to what the decoder emits, and a lower bound on each type's encoded size.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, Name, Namespace, ResolvedSchema};
use truthound_streaming_core::TimeUnit;

use crate::error::{AvroError, Result};

/// The `logicalType` that [`mark_fixed_uuids`] puts on `fixed(16)` schemas annotated `uuid`.
///
/// apache-avro 0.21 turns such a schema into `Schema::Uuid`, which its own decoder then reads as
/// a length-prefixed string; renaming the logical type keeps the `fixed` (16 raw bytes) visible.
const FIXED_UUID_MARKER: &str = "truthound.uuid-fixed16";

/// Where a compiled type sits in [`Compiled::nodes`].
pub(crate) type NodeId = usize;

/// One compiled type: a container the decoder recurses into, or a scalar it reads in one step.
#[derive(Debug)]
pub(crate) enum Node {
    Array(NodeId),
    Map(NodeId),
    Union(Box<[NodeId]>),
    Record(Box<[(Box<str>, NodeId)]>),
    Scalar(Scalar),
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
    Enum(Box<[Box<str>]>),
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

impl Compiled {
    /// Compiles a parsed schema.
    pub(crate) fn new(schema: &Schema) -> Result<Self> {
        let resolved = ResolvedSchema::try_from(schema)?;
        let mut compiler = Compiler {
            nodes: Vec::new(),
            by_name: HashMap::new(),
            names: resolved.get_names(),
        };
        let root = compiler.compile(schema, &None)?;
        let nodes = compiler.nodes;
        let min_size = min_sizes(&nodes);
        Ok(Self {
            nodes,
            min_size,
            root,
            root_name: schema.name().map(ToString::to_string),
        })
    }

    /// Parses schema JSON text and compiles it.
    pub(crate) fn from_json_text(json: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(AvroError::SchemaJson)?;
        Self::from_json(&value)
    }

    /// Parses a schema JSON document and compiles it.
    pub(crate) fn from_json(json: &serde_json::Value) -> Result<Self> {
        let mut json = json.clone();
        mark_fixed_uuids(&mut json);
        let schema = Schema::parse(&json)?;
        Self::new(&schema)
    }
}

/// Renames the `uuid` logical type of every `{"type": "fixed", "size": 16}` object to
/// [`FIXED_UUID_MARKER`], so that parsing keeps it a `fixed`.
fn mark_fixed_uuids(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Object(map) => {
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

struct Compiler<'s, 'n> {
    nodes: Vec<Node>,
    /// Named types already compiled (or being compiled, for recursive types).
    by_name: HashMap<Name, NodeId>,
    /// Every named type of the schema, from apache-avro's resolution.
    names: &'n HashMap<Name, &'s Schema>,
}

impl Compiler<'_, '_> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reserves a node for a named type before its children are compiled, so that the type can
    /// refer to itself.
    fn reserve_named(&mut self, name: &Name, enclosing: &Namespace) -> (NodeId, Name) {
        let full = name.fully_qualified_name(enclosing);
        let id = self.push(Node::Scalar(Scalar::Null));
        self.by_name.insert(full.clone(), id);
        (id, full)
    }

    fn compile(&mut self, schema: &Schema, ns: &Namespace) -> Result<NodeId> {
        let node = match schema {
            Schema::Null => Node::Scalar(Scalar::Null),
            Schema::Boolean => Node::Scalar(Scalar::Boolean),
            Schema::Int => Node::Scalar(Scalar::Int),
            Schema::Long => Node::Scalar(Scalar::Long),
            Schema::Float => Node::Scalar(Scalar::Float),
            Schema::Double => Node::Scalar(Scalar::Double),
            Schema::Bytes => Node::Scalar(Scalar::Bytes),
            Schema::String => Node::Scalar(Scalar::String),
            Schema::Uuid => Node::Scalar(Scalar::Uuid),
            Schema::Date => Node::Scalar(Scalar::Date),
            Schema::TimeMillis => Node::Scalar(Scalar::TimeMillis),
            Schema::TimeMicros => Node::Scalar(Scalar::TimeMicros),
            Schema::TimestampMillis => timestamp(TimeUnit::Milliseconds, true),
            Schema::TimestampMicros => timestamp(TimeUnit::Microseconds, true),
            Schema::TimestampNanos => timestamp(TimeUnit::Nanoseconds, true),
            Schema::LocalTimestampMillis => timestamp(TimeUnit::Milliseconds, false),
            Schema::LocalTimestampMicros => timestamp(TimeUnit::Microseconds, false),
            Schema::LocalTimestampNanos => timestamp(TimeUnit::Nanoseconds, false),
            Schema::Duration => Node::Scalar(Scalar::Duration),
            Schema::BigDecimal => Node::Scalar(Scalar::BigDecimal),
            Schema::Array(array) => {
                let items = self.compile(&array.items, ns)?;
                Node::Array(items)
            }
            Schema::Map(map) => {
                let values = self.compile(&map.types, ns)?;
                Node::Map(values)
            }
            Schema::Union(union) => {
                let branches = union
                    .variants()
                    .iter()
                    .map(|branch| self.compile(branch, ns))
                    .collect::<Result<Box<[_]>>>()?;
                Node::Union(branches)
            }
            Schema::Record(record) => {
                let (id, full) = self.reserve_named(&record.name, ns);
                let fields = record
                    .fields
                    .iter()
                    .map(|field| {
                        let child = self.compile(&field.schema, &full.namespace)?;
                        Ok((Box::from(field.name.as_str()), child))
                    })
                    .collect::<Result<Box<[_]>>>()?;
                self.nodes[id] = Node::Record(fields);
                return Ok(id);
            }
            Schema::Enum(e) => {
                let (id, _) = self.reserve_named(&e.name, ns);
                self.nodes[id] = Node::Scalar(Scalar::Enum(
                    e.symbols.iter().map(|s| Box::from(s.as_str())).collect(),
                ));
                return Ok(id);
            }
            Schema::Fixed(fixed) => {
                let (id, _) = self.reserve_named(&fixed.name, ns);
                let marked_uuid = fixed.size == 16
                    && fixed.attributes.get("logicalType").and_then(|t| t.as_str())
                        == Some(FIXED_UUID_MARKER);
                self.nodes[id] = Node::Scalar(if marked_uuid {
                    Scalar::FixedUuid
                } else {
                    Scalar::Fixed(fixed.size)
                });
                return Ok(id);
            }
            Schema::Decimal(DecimalSchema {
                precision,
                scale,
                inner,
            }) => match inner.as_ref() {
                Schema::Bytes => Node::Scalar(Scalar::Decimal {
                    precision: *precision,
                    scale: *scale,
                    fixed: None,
                }),
                Schema::Fixed(fixed) => {
                    let (id, _) = self.reserve_named(&fixed.name, ns);
                    self.nodes[id] = Node::Scalar(Scalar::Decimal {
                        precision: *precision,
                        scale: *scale,
                        fixed: Some(fixed.size),
                    });
                    return Ok(id);
                }
                other => {
                    return Err(AvroError::UnsupportedSchema(format!(
                        "a decimal must be `bytes` or `fixed`, not {other:?}"
                    )));
                }
            },
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(ns);
                if let Some(&id) = self.by_name.get(&full) {
                    return Ok(id);
                }
                // A name used before its definition was compiled (apache-avro allows it in some
                // orders): compile the definition now, in its own namespace.
                let Some(definition) = self.names.get(&full).copied() else {
                    return Err(AvroError::UnsupportedSchema(format!(
                        "unknown type name `{full}`"
                    )));
                };
                if matches!(definition, Schema::Ref { .. }) {
                    return Err(AvroError::UnsupportedSchema(format!(
                        "type name `{full}` refers to another name"
                    )));
                }
                return self.compile(definition, &full.namespace);
            }
        };
        Ok(self.push(node))
    }
}

/// The node of a `timestamp-*` (`utc`) or `local-timestamp-*` in `unit`.
fn timestamp(unit: TimeUnit, utc: bool) -> Node {
    Node::Scalar(Scalar::Timestamp { unit, utc })
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
                Node::Record(fields) => fields
                    .iter()
                    .fold(0_usize, |acc, (_, child)| acc.saturating_add(sizes[*child])),
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
        Scalar::Null => 0,
        Scalar::Boolean
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
