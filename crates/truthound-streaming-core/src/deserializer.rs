//! Decoding one payload: the [`MessageDeserializer`] trait.

use std::fmt;

use crate::value::{Value, ValueBuilder, ValueVisitor};

/// Why a payload could not be decoded: a short, human-readable reason.
///
/// It carries no position: the caller knows which record it was decoding and wraps the failure
/// into a [`DeserializationError`](crate::DeserializationError) with partition and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeserializeFailure {
    reason: String,
}

impl DeserializeFailure {
    /// A failure with the given reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Takes the reason.
    pub fn into_reason(self) -> String {
        self.reason
    }
}

impl fmt::Display for DeserializeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for DeserializeFailure {}

/// Decodes one payload (a record value or key) into visitor events.
///
/// Implementations drive a [`ValueVisitor`] instead of returning a document, so consumers build
/// what they need (column buffers, JSON text, a [`Value`]) without an intermediate tree. The
/// trait is object safe; sources hand out `Arc<dyn MessageDeserializer>`.
///
/// A custom deserializer implements [`name`](Self::name) and
/// [`deserialize_into`](Self::deserialize_into):
///
/// ```
/// use truthound_streaming_core::{DeserializeFailure, MessageDeserializer, Value, ValueVisitor};
///
/// /// Payloads like `user=7;action=login`.
/// struct KeyValuePairs;
///
/// impl MessageDeserializer for KeyValuePairs {
///     fn name(&self) -> &str {
///         "kv"
///     }
///
///     fn deserialize_into(
///         &self,
///         payload: &[u8],
///         visitor: &mut dyn ValueVisitor,
///     ) -> Result<(), DeserializeFailure> {
///         let text = std::str::from_utf8(payload)
///             .map_err(|_| DeserializeFailure::new("payload is not valid UTF-8"))?;
///         visitor.begin_object(None);
///         for pair in text.split(';').filter(|p| !p.is_empty()) {
///             let (k, v) = pair
///                 .split_once('=')
///                 .ok_or_else(|| DeserializeFailure::new(format!("no `=` in {pair:?}")))?;
///             visitor.key(k);
///             match v.parse::<i64>() {
///                 Ok(n) => visitor.i64(n),
///                 Err(_) => visitor.str(v),
///             }
///         }
///         visitor.end_object();
///         Ok(())
///     }
/// }
///
/// let value = KeyValuePairs.deserialize(b"user=7;action=login")?;
/// assert_eq!(value.to_string(), r#"{"user":7,"action":"login"}"#);
/// assert!(KeyValuePairs.deserialize(b"oops").is_err());
/// # Ok::<(), DeserializeFailure>(())
/// ```
pub trait MessageDeserializer: Send + Sync {
    /// A short name for messages and logs, such as `"json"`.
    fn name(&self) -> &str;

    /// Decodes `payload` and reports its value to `visitor`.
    ///
    /// On success exactly one complete value was reported. On failure the events reported so far
    /// (possibly none) form an incomplete value that the caller discards; implementations should
    /// validate before they emit when that is cheap.
    ///
    /// # Errors
    /// A [`DeserializeFailure`] with a short reason when the payload is not valid for this format.
    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure>;

    /// Decodes `payload` into an owned [`Value`], for per-message use.
    ///
    /// # Errors
    /// As [`deserialize_into`](Self::deserialize_into); also when the events did not form exactly
    /// one value.
    fn deserialize(&self, payload: &[u8]) -> Result<Value, DeserializeFailure> {
        let mut builder = ValueBuilder::new();
        self.deserialize_into(payload, &mut builder)?;
        builder.finish().ok_or_else(|| {
            DeserializeFailure::new(format!(
                "deserializer `{}` did not report exactly one complete value",
                self.name()
            ))
        })
    }
}

impl fmt::Debug for dyn MessageDeserializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageDeserializer")
            .field("name", &self.name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl MessageDeserializer for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn deserialize_into(
            &self,
            payload: &[u8],
            visitor: &mut dyn ValueVisitor,
        ) -> Result<(), DeserializeFailure> {
            visitor.begin_array(None);
            if payload.is_empty() {
                return Err(DeserializeFailure::new("empty"));
            }
            Ok(())
        }
    }

    #[test]
    fn deserialize_reports_failures_and_incomplete_values() {
        let err = Broken.deserialize(b"").unwrap_err();
        assert_eq!(err.reason(), "empty");
        let err = Broken.deserialize(b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "deserializer `broken` did not report exactly one complete value"
        );
        let d: &dyn MessageDeserializer = &Broken;
        assert_eq!(
            format!("{d:?}"),
            r#"MessageDeserializer { name: "broken" }"#
        );
    }
}
