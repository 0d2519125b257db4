//! Payloads that are not documents: UTF-8 text and raw bytes.

use truthound_streaming_core::{
    ConfigError, DeserializeFailure, MessageDeserializer, ValueVisitor,
};

/// Decodes each payload as one UTF-8 string value (the `"string"` deserializer type).
///
/// The Polars adapter turns these into a single `Utf8` column named `value`. (The Python library
/// treated `"string"` as JSON; this is the deliberate difference.)
///
/// ```
/// use truthound_json::StringDeserializer;
/// use truthound_streaming_core::{MessageDeserializer, Value};
///
/// let d = StringDeserializer::new();
/// assert_eq!(d.deserialize("héllo".as_bytes())?, Value::Str("héllo".into()));
/// assert!(d.deserialize(&[0xff, 0xfe]).is_err());
/// # Ok::<(), truthound_streaming_core::DeserializeFailure>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StringDeserializer {
    _private: (),
}

impl StringDeserializer {
    /// A UTF-8 string deserializer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A string deserializer for `encoding`; only UTF-8 (`"utf-8"` or `"utf8"`, any case) exists.
    ///
    /// # Errors
    /// [`ConfigError::UnknownVariant`] naming the supported encodings.
    pub fn with_encoding(encoding: &str) -> Result<Self, ConfigError> {
        crate::check_encoding(encoding)?;
        Ok(Self::new())
    }
}

impl MessageDeserializer for StringDeserializer {
    fn name(&self) -> &str {
        "string"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        match std::str::from_utf8(payload) {
            Ok(s) => {
                visitor.str(s);
                Ok(())
            }
            Err(e) => Err(DeserializeFailure::new(format!(
                "invalid UTF-8 at byte {}",
                e.valid_up_to()
            ))),
        }
    }
}

/// Passes each payload through as one byte-string value (the `"bytes"` deserializer type).
///
/// The Polars adapter turns these into a single `Binary` column named `value`. It never fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesDeserializer {
    _private: (),
}

impl BytesDeserializer {
    /// A bytes deserializer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl MessageDeserializer for BytesDeserializer {
    fn name(&self) -> &str {
        "bytes"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        visitor.bytes(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use truthound_streaming_core::Value;

    #[test]
    fn string_reports_the_bad_byte() {
        let d = StringDeserializer::new();
        let err = d.deserialize(b"ab\xffcd").unwrap_err();
        assert_eq!(err.reason(), "invalid UTF-8 at byte 2");
        assert_eq!(d.deserialize(b"").unwrap(), Value::Str(String::new()));
        assert!(StringDeserializer::with_encoding("utf8").is_ok());
        assert!(StringDeserializer::with_encoding("ascii").is_err());
    }

    #[test]
    fn bytes_pass_through() {
        let d = BytesDeserializer::new();
        assert_eq!(
            d.deserialize(&[0, 255]).unwrap(),
            Value::Bytes(vec![0, 255])
        );
        assert_eq!(d.name(), "bytes");
    }
}
