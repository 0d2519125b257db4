//! [`JsonSchemaDeserializer`]: JSON documents typed by a JSON Schema, fixed or from a schema
//! registry.
//!
//! A JSON document says less about its types than its schema does: a date-time is a string, and
//! a `number` field whose values happen to be whole is written as integers. The schema is
//! compiled once into *shapes* (for each place in a document: an object's properties, an
//! array's items, or what a scalar becomes) and the document's walk follows them:
//!
//! | JSON Schema | event reported | Polars dtype |
//! |---|---|---|
//! | `{"type": "string", "format": "date-time"}` | [`timestamp`](ValueVisitor::timestamp), µs, UTC | `Datetime(us, "UTC")` |
//! | `{"type": "string", "format": "date"}` | [`date`](ValueVisitor::date) | `Date` |
//! | `{"type": "string", "format": "time"}` | [`time`](ValueVisitor::time), µs, UTC | `Time` |
//! | `{"type": "number"}` | [`f64`](ValueVisitor::f64), also for `3` | `Float64` |
//! | `{"type": "integer"}` | [`i64`](ValueVisitor::i64), also for `3.0` | `Int64` |
//! | anything else | as the document has it | as for plain JSON |
//!
//! Schemas are followed through `properties`, `items`, `$ref` (to `#/…` in the same schema or,
//! with a registry, to a referenced schema by its name), and `anyOf`/`oneOf`/`allOf` with one
//! alternative besides `{"type": "null"}` (how optional fields are written, e.g. by pydantic);
//! `"type": ["string", "null"]` is a nullable string. A string that a `format` names but that
//! does not parse fails its message, with the field and the text in the reason. Values that do
//! not have the type the schema says (a number where it says string) are reported as they are:
//! the schema guides the columns, it does not validate.

use std::collections::HashMap;
use std::sync::Arc;

use simd_json::OwnedValue;
use simd_json::prelude::{ValueAsArray as _, ValueAsObject as _, ValueAsScalar as _};
use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, ValueVisitor};

use crate::json::{Scalar, Types, decode, unframed};

/// The most shapes one schema compiles to, to bound what a hostile schema costs.
const MAX_SHAPES: usize = 100_000;
/// The deepest nesting of schemas followed; deeper places are untyped.
const MAX_DEPTH: usize = 128;

/// A JSON Schema that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonSchemaError {
    /// The schema is not JSON, or not a JSON Schema this deserializer can follow.
    #[error("invalid JSON Schema: {0}")]
    Schema(String),
    /// The registry's URL, credentials or CA file are not usable.
    #[cfg(feature = "registry")]
    #[error(transparent)]
    Registry(#[from] truthound_registry::RegistryError),
}

/// Decodes JSON payloads (the `"json"` deserializer type) with the types of a JSON Schema.
///
/// [`from_schema_json`](Self::from_schema_json) takes one schema for every message; with the
/// `registry` feature, `with_registry` reads payloads in the Confluent
/// wire format (as `JSONSerializer` writes them) with the schema their id names, fetched once
/// per id. See the [module documentation](self) for what the schema changes. Documents are
/// parsed as [`JSONDeserializer`](crate::JSONDeserializer) parses them, on reused per-thread
/// buffers.
///
/// ```
/// use truthound_json::JsonSchemaDeserializer;
/// use truthound_streaming_core::{MessageDeserializer, Value};
///
/// let schema = r#"{
///   "type": "object",
///   "properties": {
///     "at": {"type": "string", "format": "date-time"},
///     "celsius": {"type": "number"}
///   }
/// }"#;
/// let d = JsonSchemaDeserializer::from_schema_json(schema)?;
/// let v = d.deserialize(br#"{"at": "2024-02-29T12:00:00+01:00", "celsius": 21}"#)?;
/// // An owned `Value` has no timestamp type: it holds the count of microseconds (the Polars
/// // adapter builds a `Datetime(us, "UTC")` column).
/// assert_eq!(v.to_string(), r#"{"at":1709204400000000,"celsius":21.0}"#);
/// let err = d.deserialize(br#"{"at": "yesterday"}"#).unwrap_err();
/// assert!(err.reason().starts_with(r#"field "at": "yesterday" is not an RFC 3339 date-time"#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct JsonSchemaDeserializer {
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Fixed(Arc<Shapes>),
    #[cfg(feature = "registry")]
    Registry(Arc<crate::registry::Registry>),
}

impl JsonSchemaDeserializer {
    /// A deserializer typing every document by this JSON Schema. Payloads may be plain JSON or
    /// Confluent-framed (the id in the frame is not looked at).
    ///
    /// # Errors
    /// [`JsonSchemaError::Schema`] when `schema` is not JSON, or holds a `$ref` to a place it
    /// does not have.
    pub fn from_schema_json(schema: &str) -> Result<Self, JsonSchemaError> {
        let shapes = Shapes::compile(schema, &[]).map_err(JsonSchemaError::Schema)?;
        Ok(Self {
            source: Source::Fixed(Arc::new(shapes)),
        })
    }

    /// A deserializer for the Confluent wire format whose schemas come from the registry at
    /// `url` (`http://`; `https://` with the `tls` feature), with the default timeout and
    /// retry delay. Unframed payloads are read as plain JSON.
    ///
    /// # Errors
    /// As [`with_registry_config`](Self::with_registry_config).
    #[cfg(feature = "registry")]
    pub fn with_registry(url: impl Into<String>) -> Result<Self, JsonSchemaError> {
        Self::with_registry_config(truthound_registry::RegistryConfig::new(url))
    }

    /// As [`with_registry`](Self::with_registry), with a registry configuration (credentials,
    /// CA file, timeout, retry delay). No request is made until the first framed message.
    ///
    /// ```
    /// use truthound_json::JsonSchemaDeserializer;
    /// use truthound_registry::RegistryConfig;
    ///
    /// let config = RegistryConfig::new("http://localhost:8081").with_basic_auth("svc", "secret");
    /// let d = JsonSchemaDeserializer::with_registry_config(config)?;
    /// assert!(!format!("{d:?}").contains("secret"));
    /// # Ok::<(), truthound_json::JsonSchemaError>(())
    /// ```
    ///
    /// # Errors
    /// [`JsonSchemaError::Registry`] when the URL, the credentials or the CA file are not
    /// usable (see [`RegistryConfig::connect`](truthound_registry::RegistryConfig::connect)).
    #[cfg(feature = "registry")]
    pub fn with_registry_config(
        config: truthound_registry::RegistryConfig,
    ) -> Result<Self, JsonSchemaError> {
        let registry = crate::registry::Registry::new(config)?;
        Ok(Self {
            source: Source::Registry(Arc::new(registry)),
        })
    }
}

impl MessageDeserializer for JsonSchemaDeserializer {
    fn name(&self) -> &str {
        "json"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        match &self.source {
            Source::Fixed(shapes) => decode(unframed(payload), &**shapes, visitor),
            #[cfg(feature = "registry")]
            Source::Registry(registry) => match payload {
                [0, ..] => {
                    let id = truthound_registry::parse_header(payload, "JSON document")?;
                    let shapes = registry.shapes(id)?;
                    decode(
                        &payload[truthound_registry::HEADER_LEN..],
                        &*shapes,
                        visitor,
                    )
                }
                _ => decode(payload, &crate::json::Untyped, visitor),
            },
        }
    }
}

/// One place in a document, as the schema describes it.
#[derive(Clone, Debug)]
enum Shape {
    /// A scalar, and what it becomes (also a container the schema says nothing of).
    Scalar(Scalar),
    /// An object with these properties, sorted by name for binary search.
    Object(Box<[(Box<str>, u32)]>),
    /// An array whose items all have this shape.
    Array(u32),
}

/// A compiled JSON Schema: shape 0 is the untyped one, [`root`](Types::root) the document's.
#[derive(Debug)]
pub(crate) struct Shapes {
    shapes: Vec<Shape>,
    root: u32,
}

impl Types for Shapes {
    #[inline]
    fn root(&self) -> u32 {
        self.root
    }

    #[inline]
    fn field(&self, object: u32, key: &str) -> Option<(u32, usize)> {
        match &self.shapes[object as usize] {
            Shape::Object(properties) => properties
                .binary_search_by(|(name, _)| (**name).cmp(key))
                .ok()
                .map(|i| (properties[i].1, i)),
            _ => None,
        }
    }

    #[inline]
    fn declared(&self, object: u32) -> &[(Box<str>, u32)] {
        match &self.shapes[object as usize] {
            Shape::Object(properties) => properties,
            _ => &[],
        }
    }

    #[inline]
    fn items(&self, array: u32) -> u32 {
        match &self.shapes[array as usize] {
            Shape::Array(items) => *items,
            _ => 0,
        }
    }

    #[inline]
    fn scalar(&self, shape: u32) -> Scalar {
        match &self.shapes[shape as usize] {
            Shape::Scalar(scalar) => *scalar,
            _ => Scalar::AsIs,
        }
    }
}

impl Shapes {
    /// Compiles `schema`, whose `$ref`s may name the `references` (name, schema text).
    pub(crate) fn compile(schema: &str, references: &[(&str, &str)]) -> Result<Self, String> {
        let parse = |text: &str| {
            let mut bytes = text.as_bytes().to_vec();
            simd_json::to_owned_value(&mut bytes).map_err(|e| format!("not JSON ({e})"))
        };
        let mut documents = vec![(String::new(), parse(schema)?)];
        for (name, text) in references {
            let document = parse(text).map_err(|e| format!("reference `{name}` is {e}"))?;
            documents.push(((*name).to_owned(), document));
        }
        let mut compiler = Compiler {
            documents: &documents,
            shapes: vec![Shape::Scalar(Scalar::AsIs)],
            refs: HashMap::new(),
        };
        let root = compiler.shape(0, &documents[0].1, 0)?;
        Ok(Self {
            shapes: compiler.shapes,
            root,
        })
    }
}

struct Compiler<'a> {
    /// The schema (first, named "") and its references, by name.
    documents: &'a [(String, OwnedValue)],
    shapes: Vec<Shape>,
    /// The shape of each `$ref` target compiled so far: (document, JSON pointer).
    refs: HashMap<(usize, String), u32>,
}

impl Compiler<'_> {
    fn push(&mut self, shape: Shape) -> Result<u32, String> {
        if self.shapes.len() >= MAX_SHAPES {
            return Err(format!("more than {MAX_SHAPES} places to type"));
        }
        self.shapes.push(shape);
        Ok((self.shapes.len() - 1) as u32)
    }

    /// The shape of `schema`, found in document `doc`.
    fn shape(&mut self, doc: usize, schema: &OwnedValue, depth: usize) -> Result<u32, String> {
        let Some(object) = schema.as_object() else {
            return Ok(0); // `true`, `false`, or not a schema.
        };
        if depth > MAX_DEPTH {
            return Ok(0);
        }
        if let Some(target) = object.get("$ref").and_then(|r| r.as_str()) {
            return self.reference(doc, target, depth);
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let Some(alternatives) = object.get(combinator).and_then(|a| a.as_array()) {
                let typed: Vec<&OwnedValue> =
                    alternatives.iter().filter(|a| !is_null_type(a)).collect();
                return match typed.as_slice() {
                    [one] => self.shape(doc, one, depth + 1),
                    _ => Ok(0),
                };
            }
        }
        let types: Vec<&str> = match object.get("type") {
            Some(t) => match (t.as_str(), t.as_array()) {
                (Some(one), _) => vec![one],
                (None, Some(many)) => many
                    .iter()
                    .filter_map(|t| t.as_str())
                    .filter(|t| *t != "null")
                    .collect(),
                _ => Vec::new(),
            },
            None if object.contains_key("properties") => vec!["object"],
            None if object.contains_key("items") => vec!["array"],
            None => Vec::new(),
        };
        let shape = match types.as_slice() {
            ["string"] => match object.get("format").and_then(|f| f.as_str()) {
                Some("date-time") => Shape::Scalar(Scalar::DateTime),
                Some("date") => Shape::Scalar(Scalar::Date),
                Some("time") => Shape::Scalar(Scalar::Time),
                _ => Shape::Scalar(Scalar::String),
            },
            ["boolean"] => Shape::Scalar(Scalar::Boolean),
            ["integer"] => Shape::Scalar(Scalar::Integer),
            ["number"] | ["integer", "number"] | ["number", "integer"] => {
                Shape::Scalar(Scalar::Number)
            }
            ["object"] => {
                let Some(properties) = object.get("properties").and_then(|p| p.as_object()) else {
                    return Ok(0);
                };
                // Every property, typed or not: those a document leaves out are its nulls.
                let mut declared = Vec::with_capacity(properties.len());
                for (name, property) in properties.iter() {
                    let shape = self.shape(doc, property, depth + 1)?;
                    declared.push((Box::<str>::from(name.as_str()), shape));
                }
                if declared.is_empty() {
                    return Ok(0);
                }
                declared.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                Shape::Object(declared.into_boxed_slice())
            }
            ["array"] => match object.get("items") {
                Some(items) if items.as_object().is_some() => {
                    match self.shape(doc, items, depth + 1)? {
                        0 => return Ok(0),
                        items => Shape::Array(items),
                    }
                }
                _ => return Ok(0),
            },
            _ => return Ok(0),
        };
        self.push(shape)
    }

    /// The shape of a `$ref`: `#/json/pointer` in this document, or `name[#/pointer]` of a
    /// referenced schema (the fragment may be left out for the whole schema).
    fn reference(&mut self, doc: usize, target: &str, depth: usize) -> Result<u32, String> {
        let (name, pointer) = target.split_once('#').unwrap_or((target, ""));
        let doc = if name.is_empty() {
            doc
        } else {
            self.documents
                .iter()
                .position(|(n, _)| n == name)
                .ok_or_else(|| {
                    format!(
                        "`$ref` {target:?} names a schema it has no reference to (references: {})",
                        self.reference_names()
                    )
                })?
        };
        let key = (doc, pointer.to_owned());
        if let Some(&shape) = self.refs.get(&key) {
            return Ok(shape);
        }
        let documents = self.documents;
        let schema = resolve(&documents[doc].1, pointer)
            .ok_or_else(|| format!("`$ref` {target:?} points to nothing in its schema"))?;
        // A place-holder first, so that a schema referring to itself ends (untyped within).
        let slot = self.push(Shape::Scalar(Scalar::AsIs))?;
        self.refs.insert(key, slot);
        let shape = self.shape(doc, schema, depth + 1)?;
        self.shapes[slot as usize] = self.shapes[shape as usize].clone();
        Ok(slot)
    }

    fn reference_names(&self) -> String {
        let names: Vec<&str> = self.documents[1..]
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// Whether a schema is `{"type": "null"}`.
fn is_null_type(schema: &OwnedValue) -> bool {
    schema
        .as_object()
        .and_then(|o| o.get("type"))
        .and_then(|t| t.as_str())
        == Some("null")
}

/// The value a JSON pointer (RFC 6901, `/a/b~1c`; empty for the whole) points to.
fn resolve<'v>(root: &'v OwnedValue, pointer: &str) -> Option<&'v OwnedValue> {
    if pointer.is_empty() {
        return Some(root);
    }
    let mut value = root;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        value = match (value.as_object(), value.as_array()) {
            (Some(object), _) => object.get(token.as_str())?,
            (None, Some(array)) => array.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use truthound_streaming_core::{ScalarType, TimeUnit, Value, ValueVisitor};

    fn read(schema: &str, document: &str) -> Result<String, String> {
        let d = JsonSchemaDeserializer::from_schema_json(schema).map_err(|e| e.to_string())?;
        d.deserialize(document.as_bytes())
            .map(|v| v.to_string())
            .map_err(|e| e.into_reason())
    }

    #[test]
    fn formats_and_numbers_follow_the_schema() {
        let schema = r#"{"type": "object", "properties": {
            "at": {"type": "string", "format": "date-time"},
            "day": {"type": ["string", "null"], "format": "date"},
            "clock": {"type": "string", "format": "time"},
            "n": {"type": "integer"},
            "x": {"type": "number"},
            "name": {"type": "string"}
        }}"#;
        assert_eq!(
            read(
                schema,
                r#"{"at": "1970-01-01T00:00:00.5Z", "day": "1970-01-02", "clock": "00:00:01Z",
                   "n": 3.0, "x": 3, "name": "2024-01-01", "other": 1}"#
            )
            .unwrap(),
            r#"{"at":500000,"day":"1970-01-02","clock":"00:00:01.000000","n":3,"x":3.0,"name":"2024-01-01","other":1}"#
        );
        // Nulls stay null, and values of another type than the schema's are kept; the
        // properties left out follow as nulls, by name.
        assert_eq!(
            read(schema, r#"{"day": null, "at": 5, "n": 2.5}"#).unwrap(),
            r#"{"day":null,"at":5,"n":2.5,"clock":null,"name":null,"x":null}"#
        );
        let err = read(schema, r#"{"day": "2023-02-29"}"#).unwrap_err();
        assert_eq!(
            err,
            r#"field "day": "2023-02-29" is not an RFC 3339 date, which the JSON Schema's `format` says it is"#
        );
    }

    #[test]
    fn nesting_refs_and_optional_alternatives_are_followed() {
        let schema = r##"{
            "$defs": {
                "Stamp": {"type": "string", "format": "date-time"},
                "Node": {"type": "object", "properties": {
                    "at": {"$ref": "#/$defs/Stamp"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}
            },
            "properties": {
                "tree": {"$ref": "#/$defs/Node"},
                "maybe": {"anyOf": [{"$ref": "#/$defs/Stamp"}, {"type": "null"}]},
                "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]}
            }
        }"##;
        let out = read(
            schema,
            r#"{"tree": {"at": "1970-01-01T00:00:01Z", "children": [
                   {"at": "1970-01-01T00:00:02Z", "children": [{"at": "1970-01-01T00:00:03Z"}]}]},
                "maybe": "1970-01-01T00:00:04Z", "either": 1.0}"#,
        )
        .unwrap();
        assert_eq!(
            out,
            r#"{"tree":{"at":1000000,"children":[{"at":2000000,"children":[{"at":3000000,"children":null}]}]},"maybe":4000000,"either":1.0}"#
        );
    }

    /// Records the nulls a document's events have: `None` for an untyped one.
    #[derive(Default)]
    struct Nulls {
        key: String,
        seen: Vec<(String, Option<ScalarType>)>,
    }

    impl ValueVisitor for Nulls {
        fn null(&mut self) {
            self.seen.push((self.key.clone(), None));
        }
        fn typed_null(&mut self, ty: ScalarType) {
            self.seen.push((self.key.clone(), Some(ty)));
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

    #[test]
    fn nulls_and_left_out_properties_have_the_schema_types() {
        let d = JsonSchemaDeserializer::from_schema_json(
            r#"{"type": "object", "properties": {
                "at": {"type": ["string", "null"], "format": "date-time"},
                "n": {"type": "integer"},
                "x": {"type": "number"},
                "ok": {"type": "boolean"},
                "name": {"type": "string"},
                "nested": {"type": "object", "properties": {"day": {"type": "string", "format": "date"}}},
                "any": {}
            }}"#,
        )
        .unwrap();
        let mut nulls = Nulls::default();
        d.deserialize_into(
            br#"{"at": null, "nested": {}, "name": "a", "big": {"x": 1}}"#,
            &mut nulls,
        )
        .unwrap();
        let at = ScalarType::Datetime {
            unit: TimeUnit::Microseconds,
            utc: true,
        };
        assert_eq!(
            nulls.seen,
            [
                ("at".to_owned(), Some(at)),
                ("day".to_owned(), Some(ScalarType::Date)),
                ("any".to_owned(), None),
                ("n".to_owned(), Some(ScalarType::Int64)),
                ("ok".to_owned(), Some(ScalarType::Boolean)),
                ("x".to_owned(), Some(ScalarType::Float64)),
            ]
        );
        // A key given twice counts once: the properties left out are still reported.
        let mut nulls = Nulls::default();
        d.deserialize_into(
            br#"{"at": "1970-01-01T00:00:00Z", "at": "1970-01-01T00:00:00Z", "n": 1, "x": 1,
                 "ok": true, "name": "a", "nested": {"day": null}}"#,
            &mut nulls,
        )
        .unwrap();
        assert_eq!(
            nulls.seen,
            [
                ("day".to_owned(), Some(ScalarType::Date)),
                ("any".to_owned(), None)
            ]
        );
        // An undeclared object inside ("big") is walked as it is, its keys skipped correctly.
        let mut nulls = Nulls::default();
        d.deserialize_into(
            br#"{"big": {"a": [1, {"b": null}]}, "at": "1970-01-01T00:00:00Z", "n": 1, "x": 1,
                 "ok": true, "name": "a", "nested": {"day": null}, "any": null}"#,
            &mut nulls,
        )
        .unwrap();
        assert_eq!(
            nulls.seen,
            [
                ("b".to_owned(), None),
                ("day".to_owned(), Some(ScalarType::Date)),
                ("any".to_owned(), None),
            ]
        );
    }

    #[test]
    fn references_to_other_schemas_resolve_by_name() {
        let shapes = Shapes::compile(
            r#"{"properties": {"at": {"$ref": "stamp.json"}, "n": {"$ref": "defs.json#/n"}}}"#,
            &[
                ("stamp.json", r#"{"type": "string", "format": "date"}"#),
                ("defs.json", r#"{"n": {"type": "number"}}"#),
            ],
        )
        .unwrap();
        let mut builder = truthound_streaming_core::ValueBuilder::new();
        decode(br#"{"at": "1970-01-11", "n": 1}"#, &shapes, &mut builder).unwrap();
        assert_eq!(
            builder.finish().unwrap().to_string(),
            r#"{"at":"1970-01-11","n":1.0}"#
        );
    }

    #[test]
    fn unusable_schemas_say_why() {
        let err = |schema: &str| read(schema, "{}").unwrap_err();
        assert!(
            err("{").starts_with("invalid JSON Schema: not JSON"),
            "{}",
            err("{")
        );
        assert_eq!(
            err(r##"{"properties": {"a": {"$ref": "#/$defs/Missing"}}}"##),
            r##"invalid JSON Schema: `$ref` "#/$defs/Missing" points to nothing in its schema"##
        );
        assert_eq!(
            err(r#"{"properties": {"a": {"$ref": "other.json"}}}"#),
            r#"invalid JSON Schema: `$ref` "other.json" names a schema it has no reference to (references: none)"#
        );
        // A schema that refers to itself forever compiles, untyped where it loops.
        assert_eq!(
            read(r##"{"$ref": "#"}"##, r#"{"a": 1}"#).unwrap(),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn framed_documents_are_read_past_the_frame() {
        let d = JsonSchemaDeserializer::from_schema_json(
            r#"{"properties": {"x": {"type": "number"}}}"#,
        )
        .unwrap();
        let v = d.deserialize(b"\0\0\0\0\x07{\"x\": 1}").unwrap();
        assert_eq!(v.get("x"), Some(&Value::Float(1.0)));
    }
}
