//! The built-in value deserializers of Truthound Streaming: JSON (on simd-json's tape), UTF-8
//! strings and raw bytes.
//!
//! Each implements [`MessageDeserializer`]: it decodes one payload by driving a
//! [`ValueVisitor`](truthound_streaming_core::ValueVisitor), so the Polars adapter writes values
//! straight into column buffers. [`JSONDeserializer`] parses with simd-json into a tape that is
//! reused between calls (per thread) and walks the tape: there is no document tree.
//!
//! # Layout
//! - [`json`]: [`JSONDeserializer`], JSON documents.
//! - [`schema`]: [`JsonSchemaDeserializer`], JSON documents typed by a JSON Schema (dates,
//!   times and timestamps from `format`, floats from `number`), fixed or, with the `registry`
//!   feature, from a Confluent schema registry by the id in each payload.
//! - [`text`]: [`StringDeserializer`] (one string per payload) and [`BytesDeserializer`] (the
//!   payload bytes as they are).
//! - [`deserializer_for`]: the built-in deserializer for a configured
//!   [`DeserializerType`].
//!
//! # Example
//! ```
//! use truthound_json::JSONDeserializer;
//! use truthound_streaming_core::{MessageDeserializer, Value};
//!
//! let json = JSONDeserializer::with_encoding("UTF-8")?;
//! let value = json.deserialize(br#"{"user": "alice", "action": "login"}"#)?;
//! assert_eq!(value.get("user"), Some(&Value::Str("alice".into())));
//! assert_eq!(value.to_string(), r#"{"user":"alice","action":"login"}"#);
//! assert!(json.deserialize(b"{not json").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod json;
#[cfg(feature = "registry")]
mod registry;
pub mod schema;
pub mod text;

use std::sync::Arc;

pub use json::{JSONDeserializer, JsonDeserializer};
pub use schema::{JsonSchemaDeserializer, JsonSchemaError};
pub use text::{BytesDeserializer, StringDeserializer};
use truthound_streaming_core::{DeserializerType, MessageDeserializer, StreamingDataSourceError};

/// The encodings the deserializers accept: UTF-8, by either name.
pub const SUPPORTED_ENCODINGS: &[&str] = &["utf-8", "utf8"];

/// The built-in deserializer for a configured value format.
///
/// ```
/// use truthound_streaming_core::DeserializerType;
///
/// let d = truthound_json::deserializer_for(DeserializerType::String)?;
/// assert_eq!(d.name(), "string");
/// assert!(truthound_json::deserializer_for(DeserializerType::Avro).is_err());
/// # Ok::<(), truthound_streaming_core::StreamingDataSourceError>(())
/// ```
///
/// # Errors
/// [`StreamingDataSourceError::Unsupported`] for formats this crate does not decode (Avro).
pub fn deserializer_for(
    kind: DeserializerType,
) -> Result<Arc<dyn MessageDeserializer>, StreamingDataSourceError> {
    match kind {
        DeserializerType::Json => Ok(Arc::new(JSONDeserializer::new())),
        DeserializerType::String => Ok(Arc::new(StringDeserializer::new())),
        DeserializerType::Bytes => Ok(Arc::new(BytesDeserializer::new())),
        other => Err(StreamingDataSourceError::Unsupported(format!(
            "`{other}` values need a deserializer from another crate (truthound-json has json, string and bytes)"
        ))),
    }
}

/// Checks an encoding name against [`SUPPORTED_ENCODINGS`], case-insensitively.
fn check_encoding(encoding: &str) -> Result<(), truthound_streaming_core::ConfigError> {
    let trimmed = encoding.trim();
    if SUPPORTED_ENCODINGS
        .iter()
        .any(|e| trimmed.eq_ignore_ascii_case(e))
    {
        Ok(())
    } else {
        Err(truthound_streaming_core::ConfigError::UnknownVariant {
            field: "encoding",
            given: encoding.to_owned(),
            valid: SUPPORTED_ENCODINGS,
        })
    }
}
