//! Apache Avro payloads for Truthound streaming sources: [`AvroDeserializer`] decodes raw Avro
//! datums with a known writer schema, or Confluent schema-registry framed payloads whose writer
//! schemas it fetches by id, and reports each decoded value as
//! [`ValueVisitor`] events.
//!
//! Decoding reads the binary encoding straight from the payload and emits events as it goes: no
//! `apache_avro::types::Value` tree is built per message. apache-avro is used to parse and
//! validate schemas, and in tests to encode.
//!
//! # Layout
//! - [`AvroDeserializer`] (this module): the [`MessageDeserializer`] and its constructors.
//! - [`registry`]: [`RegistryBuilder`], the Confluent wire format, and the schema cache.
//! - [`error`]: [`AvroError`], why a deserializer could not be built, and the [`Result`] alias.
//! - `schema` (private): the writer schema compiled for decoding, resolved against the reader.
//! - `decode` (private): the datum decoder; see [`MAX_DEPTH`] and [`MAX_ZERO_WIDTH_ITEMS`].
//! - `logical` (private): text forms of dates, times, decimals and UUIDs.
//!
//! # From Avro to values
//! | Avro | Reported as |
//! | --- | --- |
//! | `null` | null |
//! | `boolean` | bool |
//! | `int`, `long` | i64 |
//! | `float`, `double` | f64 (a `float` widened exactly: `0.1f32` is `0.10000000149011612`) |
//! | `string` | str |
//! | `bytes`, `fixed` | bytes |
//! | `enum` | str: the symbol |
//! | `record` | object, fields in schema order |
//! | `map` | object, entries in encoded order |
//! | `array` | array |
//! | union | the value of the branch written (a `null` branch is null) |
//! | `uuid` (on `string` or `fixed(16)`) | str: `550e8400-e29b-41d4-a716-446655440000` |
//! | `date` | date (Polars `Date`) |
//! | `time-millis`, `time-micros` | time of day (Polars `Time`) |
//! | `timestamp-millis`, `-micros`, `-nanos` | timestamp in its unit, UTC (Polars `Datetime(unit, "UTC")`) |
//! | `local-timestamp-millis`, `-micros`, `-nanos` | timestamp in its unit, no zone (Polars `Datetime(unit)`) |
//! | `decimal` (on `bytes` or `fixed`), precision ≤ 38 | decimal (Polars `Decimal(precision, scale)`) |
//! | `decimal` beyond 38 digits, `big-decimal` | str: the exact value, `"-12.340"` for unscaled `-12340` at scale 3 |
//! | `duration` | object `{"months": i64, "days": i64, "millis": i64}` |
//!
//! Typed values reach the visitor as its `timestamp`, `date`, `time` and `decimal` events;
//! a visitor that does not handle them gets the count in the timestamp's unit, and ISO-8601 or
//! exact decimal text for the others (see [`ValueVisitor`]). A decimal with more digits than
//! its schema's precision is a decoding failure.
//!
//! # Costs and limits
//! Decoding allocates nothing per value except the text of logical types rendered as strings,
//! and a small stack per message when it has records, arrays or maps. In registry mode each
//! schema id costs one blocking HTTP lookup, on the thread that decodes its first message.
//!
//! Failures are [`DeserializeFailure`]s naming the byte position and the field path, such as
//! ``unexpected end of data reading a string of 9 bytes (1 byte left) at byte 12 (in
//! `user.tags[2]`)``. Beyond a well-formed datum for its schema, a payload must have no trailing
//! bytes, nest records, arrays and maps at most [`MAX_DEPTH`] deep, and hold at most
//! [`MAX_ZERO_WIDTH_ITEMS`] array items that encode to no bytes. Decimals are limited to 1 KiB
//! of unscaled bytes and big-decimal scales to ±4096.
//!
//! # Schema evolution
//! Without a reader schema, payloads are read as their writer schema says: a topic whose
//! schema evolved yields each message with its own writer's fields (the DataFrame adapter's
//! inference unifies them, missing fields being null). With one
//! ([`AvroDeserializer::from_writer_and_reader_json`], or in registry mode
//! [`RegistryBuilder::with_reader_subject`] for the latest version of a subject and
//! [`RegistryBuilder::with_reader_schema_json`]), Avro's schema resolution applies as the
//! specification defines it:
//! - record fields match by name or by the reader field's aliases; fields the writer lacks
//!   are reported from their defaults (after the writer's fields); fields the reader lacks are
//!   read and not reported;
//! - `int` widens to `long`, `float` or `double`, `long` to `float` or `double`, `float` to
//!   `double`, and `string` and `bytes` read as each other;
//! - enum symbols the reader lacks become its default symbol, or fail the message;
//! - each writer union branch is read as the reader's first matching branch (exact before
//!   promoted), and a branch with no match fails only the messages that take it;
//! - named types match by unqualified name or the reader's aliases; fixed sizes must agree;
//!   decimals of another precision or scale keep the writer's, so that values stay exact.
//!
//! A reader that cannot read a writer (a field without a default, types that neither match nor
//! promote) is an [`AvroError::Incompatible`] naming the field; in registry mode, every message
//! of that schema id fails with that reason. Registry schemas with `references` are resolved,
//! each referenced subject version fetched once.
//!
//! # Example
//! ```
//! use apache_avro::types::Value as AvroValue;
//! use truthound_avro::AvroDeserializer;
//! use truthound_streaming_core::{MessageDeserializer, Value};
//!
//! let schema = r#"{"type": "record", "name": "UserEvent", "fields": [
//!     {"name": "user_id", "type": "int"},
//!     {"name": "action", "type": "string"}
//! ]}"#;
//! let deserializer = AvroDeserializer::from_schema_json(schema)?;
//!
//! // A raw datum as a producer would write it (binary encoding, no container header).
//! let parsed = apache_avro::Schema::parse_str(schema)?;
//! let datum = apache_avro::to_avro_datum(
//!     &parsed,
//!     AvroValue::Record(vec![
//!         ("user_id".into(), AvroValue::Int(7)),
//!         ("action".into(), AvroValue::String("login".into())),
//!     ]),
//! )?;
//!
//! let value = deserializer.deserialize(&datum)?;
//! assert_eq!(value.to_string(), r#"{"user_id":7,"action":"login"}"#);
//! assert_eq!(value.get("action"), Some(&Value::Str("login".into())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod decode;
pub mod error;
mod logical;
pub mod registry;
mod schema;

use std::fmt;
use std::sync::Arc;

use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, ValueVisitor};

pub use apache_avro;
pub use decode::{MAX_DEPTH, MAX_ZERO_WIDTH_ITEMS};
pub use error::{AvroError, Result};
pub use registry::RegistryBuilder;

use registry::Registry;
use schema::Compiled;

/// The items most users need, for a glob import.
pub mod prelude {
    pub use crate::{AvroDeserializer, AvroError, RegistryBuilder};
}

/// Decodes Avro payloads into [`ValueVisitor`] events: raw binary datums with a fixed writer
/// schema, or Confluent wire-format payloads whose writer schemas come from a schema registry.
///
/// Build it from a writer schema ([`from_schema_json`](Self::from_schema_json),
/// [`from_schema_value`](Self::from_schema_value), [`new`](Self::new)) or from a registry URL
/// ([`with_registry`](Self::with_registry)). It is cheap to clone; clones share the registry
/// cache. See the [crate docs](crate) for how each Avro type is reported.
///
/// ```
/// use apache_avro::types::Value as AvroValue;
/// use truthound_avro::AvroDeserializer;
/// use truthound_streaming_core::MessageDeserializer;
///
/// let deserializer = AvroDeserializer::from_schema_json(
///     r#"{"type": "record", "name": "Reading", "fields": [
///         {"name": "sensor", "type": "string"},
///         {"name": "celsius", "type": ["null", "double"]},
///         {"name": "day", "type": {"type": "int", "logicalType": "date"}}
///     ]}"#,
/// )?;
///
/// let schema = apache_avro::Schema::parse_str(
///     r#"{"type": "record", "name": "Reading", "fields": [
///         {"name": "sensor", "type": "string"},
///         {"name": "celsius", "type": ["null", "double"]},
///         {"name": "day", "type": {"type": "int", "logicalType": "date"}}
///     ]}"#,
/// )?;
/// let datum = apache_avro::to_avro_datum(
///     &schema,
///     AvroValue::Record(vec![
///         ("sensor".into(), AvroValue::String("t-1".into())),
///         ("celsius".into(), AvroValue::Union(0, Box::new(AvroValue::Null))),
///         ("day".into(), AvroValue::Date(19_782)),
///     ]),
/// )?;
///
/// let value = deserializer.deserialize(&datum)?;
/// assert_eq!(value.to_string(), r#"{"sensor":"t-1","celsius":null,"day":"2024-02-29"}"#);
///
/// // A payload that is not a whole datum is a failure, never a panic.
/// let err = deserializer.deserialize(&datum[..2]).unwrap_err();
/// assert!(err.reason().starts_with("unexpected end of data"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AvroDeserializer {
    source: SchemaSource,
}

/// Where the writer schema of a payload comes from.
#[derive(Clone)]
enum SchemaSource {
    /// One schema for every payload, which is a raw datum.
    Fixed(Arc<Compiled>),
    /// The registry, by the id in each payload's wire-format header.
    Registry(Arc<Registry>),
}

impl AvroDeserializer {
    /// A deserializer of raw datums written with `schema`.
    ///
    /// A `uuid` on `fixed(16)` must come through [`from_schema_json`](Self::from_schema_json) or
    /// [`from_schema_value`](Self::from_schema_value): apache-avro's parsed `Schema` no longer
    /// tells it from a `uuid` on `string`, and is read as the latter.
    ///
    /// # Errors
    /// [`AvroError::InvalidSchema`] or [`AvroError::UnsupportedSchema`] when a named type cannot
    /// be resolved.
    pub fn new(schema: &apache_avro::Schema) -> Result<Self> {
        Ok(Self::fixed(Compiled::new(schema)?))
    }

    /// A deserializer of raw datums written with the schema in `json`, Avro's JSON schema text.
    ///
    /// # Errors
    /// [`AvroError::SchemaJson`] when the text is not JSON, [`AvroError::InvalidSchema`] when it
    /// is not a valid Avro schema.
    pub fn from_schema_json(json: &str) -> Result<Self> {
        Ok(Self::fixed(Compiled::from_json_text(json)?))
    }

    /// A deserializer of raw datums written with the schema in a parsed JSON document.
    ///
    /// # Errors
    /// [`AvroError::InvalidSchema`] when it is not a valid Avro schema.
    pub fn from_schema_value(json: &serde_json::Value) -> Result<Self> {
        Ok(Self::fixed(Compiled::from_json(json)?))
    }

    /// A deserializer of raw datums written with the `writer` schema and read as the `reader`
    /// schema (both Avro's JSON schema text), by Avro's schema resolution: the values have the
    /// reader's fields, those the writer lacks from their defaults; writer fields the reader
    /// lacks are read and left out; `int` and `long` widen to `float` and `double`, `float` to
    /// `double`, and `string` and `bytes` into each other; enum symbols the reader lacks become
    /// its default symbol.
    ///
    /// ```
    /// use apache_avro::types::Value as AvroValue;
    /// use truthound_avro::AvroDeserializer;
    /// use truthound_streaming_core::MessageDeserializer;
    ///
    /// let v1 = r#"{"type": "record", "name": "User", "fields": [
    ///     {"name": "id", "type": "int"}, {"name": "nick", "type": "string"}]}"#;
    /// let v2 = r#"{"type": "record", "name": "User", "fields": [
    ///     {"name": "id", "type": "long"},
    ///     {"name": "country", "type": "string", "default": "unknown"}]}"#;
    /// let deserializer = AvroDeserializer::from_writer_and_reader_json(v1, v2)?;
    ///
    /// let datum = apache_avro::to_avro_datum(
    ///     &apache_avro::Schema::parse_str(v1)?,
    ///     AvroValue::Record(vec![
    ///         ("id".into(), AvroValue::Int(7)),
    ///         ("nick".into(), AvroValue::String("ada".into())),
    ///     ]),
    /// )?;
    /// let value = deserializer.deserialize(&datum)?;
    /// assert_eq!(value.to_string(), r#"{"id":7,"country":"unknown"}"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`AvroError::SchemaJson`] or [`AvroError::InvalidSchema`] when either is not a valid
    /// schema; [`AvroError::Incompatible`], naming the field, when the reader cannot read what
    /// the writer writes.
    pub fn from_writer_and_reader_json(writer: &str, reader: &str) -> Result<Self> {
        let writer = schema::Parsed::from_texts(writer, &[])?;
        let reader = schema::Parsed::from_texts(reader, &[])?;
        Ok(Self::fixed(Compiled::resolve(&writer, Some(&reader))?))
    }

    /// Starts a deserializer of Confluent wire-format payloads (magic byte 0, 4-byte big-endian
    /// schema id, Avro datum) whose writer schemas are fetched from the schema registry at `url`
    /// with `GET {url}/schemas/ids/{id}`.
    ///
    /// Each schema id is looked up once and cached for the life of the deserializer (and its
    /// clones). The lookup is a blocking HTTP request on the thread that decodes the first
    /// message with that id. A failed lookup fails that message with a reason naming the id and
    /// the URL; later messages with the id fail the same way without a request until
    /// [`with_retry_after`](RegistryBuilder::with_retry_after) has passed, then ask again.
    /// `https://` URLs need this crate's `tls` feature (rustls with the ring provider; the
    /// webpki roots, or [`with_ca_file`](RegistryBuilder::with_ca_file)).
    pub fn with_registry(url: impl Into<String>) -> RegistryBuilder {
        RegistryBuilder::new(registry::RegistryConfig::new(url))
    }

    /// As [`with_registry`](Self::with_registry), with the registry's URL, credentials, CA
    /// file, timeout and retry delay already set.
    pub fn with_registry_config(config: registry::RegistryConfig) -> RegistryBuilder {
        RegistryBuilder::new(config)
    }

    fn fixed(schema: Compiled) -> Self {
        Self {
            source: SchemaSource::Fixed(Arc::new(schema)),
        }
    }
}

impl fmt::Debug for AvroDeserializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            SchemaSource::Fixed(schema) => f
                .debug_struct("AvroDeserializer")
                .field(
                    "schema",
                    &schema.root_name.as_deref().unwrap_or("(unnamed)"),
                )
                .finish(),
            SchemaSource::Registry(registry) => f
                .debug_struct("AvroDeserializer")
                .field("registry", registry)
                .finish(),
        }
    }
}

impl MessageDeserializer for AvroDeserializer {
    fn name(&self) -> &str {
        "avro"
    }

    /// Decodes one payload. Values are reported while they are read, so a failure part-way
    /// leaves an incomplete value for the caller to discard.
    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        match &self.source {
            SchemaSource::Fixed(schema) => decode::decode_datum(schema, payload, 0, visitor),
            SchemaSource::Registry(registry) => {
                let id = truthound_registry::parse_header(payload, registry::BODY)?;
                let schema = registry.schema(id)?;
                decode::decode_datum(&schema, payload, truthound_registry::HEADER_LEN, visitor)
            }
        }
    }
}
