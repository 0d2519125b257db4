//! Protocol Buffers payloads for Truthound streaming sources: [`ProtobufDeserializer`] decodes
//! messages of a `.proto` schema compiled at run time (pure Rust, with `protox`), raw or in the
//! Confluent schema-registry wire format, with the schema given or fetched from the registry by
//! each message's schema id, and reports each as [`ValueVisitor`] events.
//!
//! Decoding reads the wire format straight from the payload: no message tree is built. Each
//! message's fields are reported in declaration order whatever order they were written in, so
//! every message of a topic gives the same columns.
//!
//! # Layout
//! - [`ProtobufDeserializer`] (this module): the [`MessageDeserializer`] and its constructors.
//! - [`ProtobufError`]: why a deserializer could not be built.
//! - [`registry`]: [`RegistryBuilder`], schemas from a Confluent schema registry, compiled
//!   once per id.
//! - `schema` (private): message descriptors flattened for decoding.
//! - `decode` (private): the wire-format decoder; see [`MAX_DEPTH`].
//!
//! # From Protobuf to values
//! | Protobuf | Reported as (Polars column) |
//! | --- | --- |
//! | `int32`, `int64`, `sint*`, `sfixed*`, `uint32`, `fixed32` | i64 (`Int64`) |
//! | `uint64`, `fixed64` | i64, or u64 above `i64::MAX` |
//! | `float`, `double` | f64 (`Float64`) |
//! | `bool` | bool (`Boolean`) |
//! | `string` | str (`String`) |
//! | `bytes` | bytes (`Binary`) |
//! | enum | str: the value's name, or its number when the schema does not know it |
//! | message | object (`Struct`), fields in declaration order |
//! | `repeated` (packed or not) | array (`List`) |
//! | `map<K, V>` | object keyed by the key's text (`Struct`) |
//! | `oneof` | each member a field; the ones not set are null |
//! | `google.protobuf.Timestamp` | timestamp in ns, UTC (`Datetime(ns, "UTC")`); beyond 1677–2262, ISO-8601 text |
//! | `google.protobuf.*Value` wrappers | the wrapped value, null when absent |
//!
//! A field missing from a message is its default (0, `false`, `""`, the first enum value, an
//! empty list or map), as every protobuf reader sees it; fields with presence (messages,
//! `optional`, oneof members, proto2 fields) are null instead. Fields the schema does not know
//! are skipped. Groups (proto2) are not supported and fail the message.
//!
//! # Example
//! ```
//! use truthound_protobuf::ProtobufDeserializer;
//! use truthound_streaming_core::MessageDeserializer;
//!
//! let deserializer = ProtobufDeserializer::from_proto(
//!     r#"syntax = "proto3";
//!        message Reading { string sensor = 1; double celsius = 2; repeated int32 codes = 3; }"#,
//!     None,
//! )?;
//! // sensor = "t-1" (field 1, length-delimited), codes = [7, 8] (field 3, packed).
//! let payload = [0x0a, 3, b't', b'-', b'1', 0x1a, 2, 7, 8];
//! let value = deserializer.deserialize(&payload)?;
//! assert_eq!(value.to_string(), r#"{"sensor":"t-1","celsius":0.0,"codes":[7,8]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
pub mod registry;
mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use prost_reflect::{DescriptorPool, MessageDescriptor};
use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, ValueVisitor};

pub use decode::MAX_DEPTH;
pub use registry::RegistryBuilder;
pub use truthound_registry::RegistryError;

use schema::Compiled;

/// The file name a schema given as text is compiled under.
const SCHEMA_FILE: &str = "schema.proto";

/// Why a [`ProtobufDeserializer`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtobufError {
    /// The `.proto` text does not compile; the message names the line and column.
    #[error("the Protobuf schema does not compile: {0}")]
    Compile(String),
    /// The message type asked for is not in the schema.
    #[error("the Protobuf schema has no message {name:?}; it has: {known}")]
    UnknownMessage {
        /// The name asked for.
        name: String,
        /// The messages the schema defines, comma-separated.
        known: String,
    },
    /// The schema defines no message.
    #[error("the Protobuf schema defines no message")]
    NoMessage,
    /// The schema registry's URL, credentials or CA file cannot be used.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// Decodes Protocol Buffers payloads into [`ValueVisitor`] events.
///
/// Built from a schema given as text ([`from_proto`](Self::from_proto)), payloads are raw
/// messages of the chosen type, or in the Confluent wire format (a zero byte, a 4-byte schema
/// id, the message-index path, then the message), as Confluent's `ProtobufSerializer` writes
/// them: a raw message never starts with a zero byte (field number 0 does not exist), so the
/// two can share a topic. In the wire format, the message-index path picks the message type
/// among the schema's; the schema id is not looked up, so the payloads must have been written
/// with this schema.
///
/// Built from a schema registry ([`with_registry`](Self::with_registry)), payloads are in the
/// wire format and each one's schema is the registry's schema with that id.
///
/// It is cheap to clone. See the [crate docs](crate) for how each type is reported.
#[derive(Clone)]
pub struct ProtobufDeserializer {
    source: Source,
}

/// Where a [`ProtobufDeserializer`]'s schema comes from.
#[derive(Clone)]
enum Source {
    /// One schema, given as text.
    Fixed(Arc<Fixed>),
    /// The registry, by the schema id in each payload's wire-format header.
    Registry(Arc<registry::Registry>),
}

/// A compiled schema, with its messages for message-index paths.
pub(crate) struct Fixed {
    schema: Compiled,
    /// The schema's top-level messages in declaration order, for message-index paths; each
    /// with its nested messages, recursively.
    index: Vec<Indexed>,
}

/// A message of the schema and its nested messages, in declaration order.
struct Indexed {
    id: schema::MessageId,
    nested: Vec<Indexed>,
}

impl ProtobufDeserializer {
    /// A deserializer of messages of the `.proto` schema `source`: of the type named `message`
    /// (full name, such as `shop.Order`, or the plain name when unique), or the first message
    /// of the file when `None`. Imports of the well-known types (`google/protobuf/*.proto`) are
    /// resolved; other imports are not.
    ///
    /// # Errors
    /// [`ProtobufError::Compile`] when the text does not compile,
    /// [`ProtobufError::UnknownMessage`] or [`ProtobufError::NoMessage`] when there is no such
    /// message.
    pub fn from_proto(source: &str, message: Option<&str>) -> Result<Self, ProtobufError> {
        let file = protox::file::File::from_source(SCHEMA_FILE, source)
            .map_err(|e| ProtobufError::Compile(e.to_string()))?;
        let pool = compile(SCHEMA_FILE, vec![file]).map_err(ProtobufError::Compile)?;
        let fixed = Fixed::from_pool(&pool, SCHEMA_FILE, message)?;
        Ok(Self {
            source: Source::Fixed(Arc::new(fixed)),
        })
    }

    /// A deserializer of payloads in the Confluent wire format whose schemas are fetched from
    /// the schema registry at `url`, as Confluent's serializers register them: `.proto` text
    /// or a base64 `FileDescriptorProto`, with the files it imports as `references` (the
    /// well-known types `google/protobuf/*.proto` need none). Each schema id is fetched and
    /// compiled once, on the thread that decodes its first message; the message-index path
    /// of each payload picks the message type. A payload without the wire-format header fails
    /// with a reason saying so.
    ///
    /// A lookup that fails (registry down, unknown id) fails the messages with that id, with a
    /// reason naming the id and the URL, until
    /// [`with_retry_after`](RegistryBuilder::with_retry_after) has passed, then asks again.
    /// `https://` registries need the `tls` feature (rustls: the webpki roots, or
    /// [`with_ca_file`](RegistryBuilder::with_ca_file)).
    pub fn with_registry(url: impl Into<String>) -> RegistryBuilder {
        RegistryBuilder::new(registry::RegistryConfig::new(url))
    }

    /// As [`with_registry`](Self::with_registry), with the registry's URL, credentials, CA
    /// file, timeout and retry delay already set.
    pub fn with_registry_config(config: registry::RegistryConfig) -> RegistryBuilder {
        RegistryBuilder::new(config)
    }
}

impl Fixed {
    /// The messages of the file named `file` in `pool`, with `message` (or the file's first)
    /// as the root.
    fn from_pool(
        pool: &DescriptorPool,
        file: &str,
        message: Option<&str>,
    ) -> Result<Self, ProtobufError> {
        let file = pool
            .files()
            .find(|f| f.name() == file)
            .ok_or(ProtobufError::NoMessage)?;
        let top: Vec<MessageDescriptor> = file.messages().collect();
        let descriptor = match message {
            None => top.first().cloned().ok_or(ProtobufError::NoMessage)?,
            Some(name) => find_message(pool, &file, name)?,
        };
        // Every message of the file, so that message-index paths can pick any of them.
        let mut builder = schema::Builder::default();
        let root = builder.message(&descriptor);
        let index = top.iter().map(|m| indexed(&mut builder, m)).collect();
        Ok(Self {
            schema: builder.finish(root),
            index,
        })
    }

    /// The message type of a payload that is raw or framed, and where its message starts.
    fn target(&self, payload: &[u8]) -> Result<(schema::MessageId, usize), DeserializeFailure> {
        if payload.first() != Some(&0) {
            return Ok((self.schema.root, 0));
        }
        if payload.len() < truthound_registry::HEADER_LEN {
            return Err(DeserializeFailure::new(format!(
                "payload of {} bytes is too short for the Confluent wire format (magic byte 0, \
                 4-byte schema id, message indexes, message)",
                payload.len()
            )));
        }
        self.indexed_target(payload, truthound_registry::HEADER_LEN)
    }

    /// The message type named by the message-index path at `pos`, and where its message
    /// starts.
    fn indexed_target(
        &self,
        payload: &[u8],
        mut pos: usize,
    ) -> Result<(schema::MessageId, usize), DeserializeFailure> {
        let zigzag = |pos: &mut usize| -> Result<i64, DeserializeFailure> {
            let mut value: u64 = 0;
            for shift in (0..64).step_by(7) {
                let b = *payload
                    .get(*pos)
                    .ok_or_else(|| DeserializeFailure::new("the message-index path ends early"))?;
                *pos += 1;
                value |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    #[allow(clippy::cast_possible_wrap)]
                    return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
                }
            }
            Err(DeserializeFailure::new(
                "a message index is longer than 10 bytes",
            ))
        };
        let count = zigzag(&mut pos)?;
        if count == 0 {
            // The common case, written as a single 0: the first message of the schema.
            let first = self.index.first().ok_or_else(|| {
                DeserializeFailure::new("the schema has no message for index path [0]")
            })?;
            return Ok((first.id, pos));
        }
        if !(1..=64).contains(&count) {
            return Err(DeserializeFailure::new(format!(
                "a message-index path of {count} indexes is not valid"
            )));
        }
        let mut level: &[Indexed] = &self.index;
        let mut id = None;
        let mut path = Vec::new();
        for _ in 0..count {
            let i = zigzag(&mut pos)?;
            path.push(i);
            let found = usize::try_from(i)
                .ok()
                .and_then(|i| level.get(i))
                .ok_or_else(|| {
                    DeserializeFailure::new(format!(
                        "message-index path {path:?} names no message of the schema"
                    ))
                })?;
            id = Some(found.id);
            level = &found.nested;
        }
        Ok((id.unwrap_or(self.schema.root), pos))
    }

    /// Decodes the message of type `id` that starts at `start`.
    fn decode(
        &self,
        id: schema::MessageId,
        payload: &[u8],
        start: usize,
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        RECORDS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut records) => {
                decode::decode(&self.schema, id, payload, start, &mut records, visitor)
            }
            Err(_) => decode::decode(&self.schema, id, payload, start, &mut Vec::new(), visitor),
        })
    }
}

/// `name` among the pool's messages: its full name, or a plain name that only one has.
fn find_message(
    pool: &DescriptorPool,
    file: &prost_reflect::FileDescriptor,
    name: &str,
) -> Result<MessageDescriptor, ProtobufError> {
    if let Some(found) = pool.get_message_by_name(name) {
        return Ok(found);
    }
    let mut matches = pool.all_messages().filter(|m| m.name() == name);
    if let (Some(found), None) = (matches.next(), matches.next()) {
        return Ok(found);
    }
    let known: Vec<String> = file.messages().map(|m| m.full_name().to_owned()).collect();
    Err(ProtobufError::UnknownMessage {
        name: name.to_owned(),
        known: known.join(", "),
    })
}

fn indexed(builder: &mut schema::Builder, message: &MessageDescriptor) -> Indexed {
    Indexed {
        id: builder.message(message),
        nested: message
            .child_messages()
            .filter(|m| !m.is_map_entry())
            .map(|m| indexed(builder, &m))
            .collect(),
    }
}

/// Compiles the file named `main` among `files`, with the files it imports: from `files`, or
/// the well-known types (`google/protobuf/*.proto`).
fn compile(main: &str, files: Vec<protox::file::File>) -> Result<DescriptorPool, String> {
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(Files(
        files
            .into_iter()
            .map(|file| (file.name().to_owned(), file))
            .collect(),
    ));
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_file(main).map_err(|e| e.to_string())?;
    Ok(compiler.descriptor_pool())
}

/// A file resolver holding the files given: a schema and the schemas it imports.
struct Files(HashMap<String, protox::file::File>);

impl protox::file::FileResolver for Files {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| protox::Error::file_not_found(name))
    }
}

thread_local! {
    static RECORDS: RefCell<decode::Records> = const { RefCell::new(Vec::new()) };
}

impl fmt::Debug for ProtobufDeserializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ProtobufDeserializer");
        match &self.source {
            Source::Fixed(fixed) => out.field(
                "message",
                &fixed.schema.messages[fixed.schema.root].full_name,
            ),
            Source::Registry(registry) => out.field("registry", registry),
        };
        out.finish_non_exhaustive()
    }
}

impl MessageDeserializer for ProtobufDeserializer {
    fn name(&self) -> &str {
        "protobuf"
    }

    /// Decodes one payload. A payload that fails is reported with a reason naming the byte and
    /// the field; nothing is reported for it before the failure is known only for the fields
    /// read so far, as for every deserializer.
    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        match &self.source {
            Source::Fixed(fixed) => {
                let (id, start) = fixed.target(payload)?;
                fixed.decode(id, payload, start, visitor)
            }
            Source::Registry(registry) => {
                let schema_id = truthound_registry::parse_header(payload, registry::BODY)?;
                let fixed = registry.schema(schema_id)?;
                let (id, start) = fixed.indexed_target(payload, truthound_registry::HEADER_LEN)?;
                fixed.decode(id, payload, start, visitor)
            }
        }
    }
}
