//! The generic configuration every streaming source shares, and its validation.
//!
//! Connection settings (brokers, security, partitions) belong to each source's own config; this
//! one holds what decides the snapshot's size and how its records become rows.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a configuration value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count that must be positive was zero.
    #[error("`{field}` must be at least 1, got 0")]
    Zero {
        /// The option's name.
        field: &'static str,
    },
    /// A duration that must be positive was zero.
    #[error("`{field}` must be longer than zero")]
    ZeroDuration {
        /// The option's name.
        field: &'static str,
    },
    /// A duration was longer than the most the option accepts.
    #[error("`{field}` must be at most {} s, got {} s", max.as_secs(), given.as_secs_f64())]
    DurationTooLong {
        /// The option's name.
        field: &'static str,
        /// What was given.
        given: Duration,
        /// The longest accepted.
        max: Duration,
    },
    /// `metadata_prefix` was empty, which would let metadata columns collide with data columns.
    #[error(
        "`metadata_prefix` must not be empty (metadata columns would collide with data columns)"
    )]
    EmptyMetadataPrefix,
    /// A named choice was not one of the known names.
    #[error("unknown {field} {given:?}; expected one of: {}", valid.join(", "))]
    UnknownVariant {
        /// The option's name.
        field: &'static str,
        /// What was given.
        given: String,
        /// The accepted names.
        valid: &'static [&'static str],
    },
}

/// Where a source starts reading when it has no stored position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AutoOffsetReset {
    /// From the oldest retained record (a full scan, up to `max_messages`).
    #[default]
    Earliest,
    /// From the end: only records that arrive after the snapshot starts.
    Latest,
}

/// The format of record values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DeserializerType {
    /// JSON documents; objects become rows with one column per field.
    #[default]
    Json,
    /// Apache Avro (needs an Avro deserializer crate).
    Avro,
    /// Protocol Buffers (needs a Protobuf deserializer crate).
    Protobuf,
    /// UTF-8 text: one `Utf8` column named `value`.
    ///
    /// Deviation from the Python library, where `"string"` was an alias of the JSON deserializer.
    String,
    /// Raw bytes: one `Binary` column named `value`.
    Bytes,
}

/// How record keys are decoded into the key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyDeserializer {
    /// The key's JSON text, kept as `Utf8` (it must be valid UTF-8). A key in the Confluent
    /// wire format (written by a registry's JSON serializer) loses its 5-byte header.
    Json,
    /// UTF-8 text as `Utf8` (the default, as in the Python library).
    #[default]
    String,
    /// The key bytes as `Binary`.
    Bytes,
    /// Avro in the Confluent wire format, decoded with the schema registry's schema; the column
    /// is `Utf8`: a string key as it is, anything else as compact JSON. The source gives the
    /// deserializer ([`BaseStreamingDataSource::key_deserializer`](crate::BaseStreamingDataSource::key_deserializer)).
    Avro,
    /// Protobuf in the Confluent wire format, as [`Avro`](Self::Avro): a message key becomes
    /// its compact JSON.
    Protobuf,
}

/// What happens to a record whose value fails to deserialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnMalformed {
    /// Leave the record out and report its partition, offset and reason (the default).
    #[default]
    Skip,
    /// Stop with a [`DeserializationError`](crate::DeserializationError).
    Error,
}

macro_rules! named_enum {
    ($ty:ident, $field:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl $ty {
            /// Every accepted name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The lowercase name, as accepted by [`FromStr`].
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = ConfigError;

            /// Parses a name case-insensitively (surrounding whitespace ignored).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let trimmed = s.trim();
                $(
                    if trimmed.eq_ignore_ascii_case($name) {
                        return Ok(Self::$variant);
                    }
                )+
                Err(ConfigError::UnknownVariant {
                    field: $field,
                    given: s.to_owned(),
                    valid: Self::NAMES,
                })
            }
        }
    };
}

named_enum!(AutoOffsetReset, "auto_offset_reset", [Earliest => "earliest", Latest => "latest"]);
named_enum!(DeserializerType, "deserializer_type", [
    Json => "json", Avro => "avro", Protobuf => "protobuf", String => "string", Bytes => "bytes",
]);
named_enum!(KeyDeserializer, "key_deserializer", [
    Json => "json", String => "string", Bytes => "bytes", Avro => "avro", Protobuf => "protobuf",
]);
named_enum!(OnMalformed, "on_malformed", [Skip => "skip", Error => "error"]);

/// The options every streaming source shares: snapshot size, decoding and extra columns.
///
/// Build it from [`Default`] with the `with_*` methods, then [`validate`](Self::validate) it (the
/// adapters validate it again before reading).
///
/// ```
/// use std::time::Duration;
/// use truthound_streaming_core::{OnMalformed, StreamingDataSourceConfig};
///
/// let config = StreamingDataSourceConfig::default()
///     .with_max_messages(5_000)
///     .with_consume_timeout(Duration::from_secs(10))
///     .with_include_metadata(true)
///     .with_on_malformed(OnMalformed::Error);
/// config.validate()?;
/// assert_eq!(config.schema_sample_size, 100);
/// # Ok::<(), truthound_streaming_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamingDataSourceConfig {
    /// The most records a snapshot holds (default 10 000).
    pub max_messages: usize,
    /// How long a read may wait for records before it gives up (default 30 s).
    pub consume_timeout: Duration,
    /// Where reading starts without a stored position (default earliest).
    pub auto_offset_reset: AutoOffsetReset,
    /// The format of record values (default JSON).
    pub deserializer_type: DeserializerType,
    /// How keys are decoded (default string).
    pub key_deserializer: KeyDeserializer,
    /// Add a `{prefix}key` column (default true).
    pub include_key: bool,
    /// Add a `{prefix}headers` column (default false).
    pub include_headers: bool,
    /// Add `{prefix}topic`, `{prefix}partition`, `{prefix}offset` and `{prefix}timestamp` columns
    /// (default false).
    pub include_metadata: bool,
    /// The prefix of metadata column names (default `"_kafka_"`).
    pub metadata_prefix: String,
    /// How many records schema inference reads (default 100).
    pub schema_sample_size: usize,
    /// What happens to records that fail to deserialize (default skip).
    pub on_malformed: OnMalformed,
    /// The data columns to build, by top-level field name (default `None`: every field). The
    /// values of other fields are skipped while decoding, which makes a snapshot that needs a
    /// few columns of wide messages faster. The key and metadata columns are not affected.
    pub columns: Option<Vec<String>>,
}

impl Default for StreamingDataSourceConfig {
    fn default() -> Self {
        Self {
            max_messages: 10_000,
            consume_timeout: Duration::from_secs(30),
            auto_offset_reset: AutoOffsetReset::Earliest,
            deserializer_type: DeserializerType::Json,
            key_deserializer: KeyDeserializer::String,
            include_key: true,
            include_headers: false,
            include_metadata: false,
            metadata_prefix: "_kafka_".to_owned(),
            schema_sample_size: 100,
            on_malformed: OnMalformed::Skip,
            columns: None,
        }
    }
}

impl StreamingDataSourceConfig {
    /// The longest `consume_timeout` accepted: 365 days. Longer is no bound at all, and a
    /// deadline that far out can overflow the clock's arithmetic on some platforms.
    pub const MAX_CONSUME_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// The default configuration (same as [`Default::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the most records a snapshot holds.
    #[must_use]
    pub fn with_max_messages(mut self, max_messages: usize) -> Self {
        self.max_messages = max_messages;
        self
    }

    /// Sets how long a read may wait for records.
    #[must_use]
    pub fn with_consume_timeout(mut self, timeout: Duration) -> Self {
        self.consume_timeout = timeout;
        self
    }

    /// Sets where reading starts without a stored position.
    #[must_use]
    pub fn with_auto_offset_reset(mut self, reset: AutoOffsetReset) -> Self {
        self.auto_offset_reset = reset;
        self
    }

    /// Sets the format of record values.
    #[must_use]
    pub fn with_deserializer_type(mut self, kind: DeserializerType) -> Self {
        self.deserializer_type = kind;
        self
    }

    /// Sets how keys are decoded.
    #[must_use]
    pub fn with_key_deserializer(mut self, kind: KeyDeserializer) -> Self {
        self.key_deserializer = kind;
        self
    }

    /// Adds or removes the key column.
    #[must_use]
    pub fn with_include_key(mut self, include: bool) -> Self {
        self.include_key = include;
        self
    }

    /// Adds or removes the headers column.
    #[must_use]
    pub fn with_include_headers(mut self, include: bool) -> Self {
        self.include_headers = include;
        self
    }

    /// Adds or removes the topic, partition, offset and timestamp columns.
    #[must_use]
    pub fn with_include_metadata(mut self, include: bool) -> Self {
        self.include_metadata = include;
        self
    }

    /// Sets the prefix of metadata column names.
    #[must_use]
    pub fn with_metadata_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.metadata_prefix = prefix.into();
        self
    }

    /// Sets how many records schema inference reads.
    #[must_use]
    pub fn with_schema_sample_size(mut self, size: usize) -> Self {
        self.schema_sample_size = size;
        self
    }

    /// Sets what happens to records that fail to deserialize.
    #[must_use]
    pub fn with_on_malformed(mut self, on_malformed: OnMalformed) -> Self {
        self.on_malformed = on_malformed;
        self
    }

    /// Builds only these data columns (top-level fields); the others' values are skipped while
    /// decoding. See [`columns`](Self::columns).
    #[must_use]
    pub fn with_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Checks that the options make sense together; the first problem found is returned.
    ///
    /// # Errors
    /// [`ConfigError::Zero`] for a zero `max_messages` or `schema_sample_size`,
    /// [`ConfigError::ZeroDuration`] for a zero `consume_timeout`,
    /// [`ConfigError::DurationTooLong`] for a `consume_timeout` over
    /// [`MAX_CONSUME_TIMEOUT`](Self::MAX_CONSUME_TIMEOUT), and
    /// [`ConfigError::EmptyMetadataPrefix`] when metadata, key or header columns are asked for
    /// with an empty prefix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_messages == 0 {
            return Err(ConfigError::Zero {
                field: "max_messages",
            });
        }
        if self.schema_sample_size == 0 {
            return Err(ConfigError::Zero {
                field: "schema_sample_size",
            });
        }
        if self.consume_timeout.is_zero() {
            return Err(ConfigError::ZeroDuration {
                field: "consume_timeout",
            });
        }
        if self.consume_timeout > Self::MAX_CONSUME_TIMEOUT {
            return Err(ConfigError::DurationTooLong {
                field: "consume_timeout",
                given: self.consume_timeout,
                max: Self::MAX_CONSUME_TIMEOUT,
            });
        }
        let any_metadata = self.include_metadata || self.include_key || self.include_headers;
        if any_metadata && self.metadata_prefix.is_empty() {
            return Err(ConfigError::EmptyMetadataPrefix);
        }
        Ok(())
    }

    /// The number of records schema inference reads: `schema_sample_size`, capped by
    /// `max_messages`.
    pub fn schema_sample_limit(&self) -> usize {
        self.schema_sample_size.min(self.max_messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let c = StreamingDataSourceConfig::default();
        assert_eq!(c.max_messages, 10_000);
        assert_eq!(c.consume_timeout, Duration::from_secs(30));
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Earliest);
        assert_eq!(c.deserializer_type, DeserializerType::Json);
        assert_eq!(c.key_deserializer, KeyDeserializer::String);
        assert!(c.include_key);
        assert!(!c.include_headers);
        assert!(!c.include_metadata);
        assert_eq!(c.metadata_prefix, "_kafka_");
        assert_eq!(c.schema_sample_size, 100);
        assert_eq!(c.on_malformed, OnMalformed::Skip);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_zero_counts() {
        let c = StreamingDataSourceConfig::default().with_max_messages(0);
        assert_eq!(
            c.validate(),
            Err(ConfigError::Zero {
                field: "max_messages"
            })
        );
        let c = StreamingDataSourceConfig::default().with_schema_sample_size(0);
        let err = c.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`schema_sample_size` must be at least 1, got 0"
        );
    }

    #[test]
    fn validate_rejects_zero_timeout() {
        let c = StreamingDataSourceConfig::default().with_consume_timeout(Duration::ZERO);
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroDuration {
                field: "consume_timeout"
            })
        );
    }

    #[test]
    fn validate_rejects_timeouts_beyond_the_maximum() {
        let max = StreamingDataSourceConfig::MAX_CONSUME_TIMEOUT;
        let c = StreamingDataSourceConfig::default().with_consume_timeout(max);
        assert_eq!(c.validate(), Ok(()));
        for given in [max + Duration::from_nanos(1), Duration::MAX] {
            let c = StreamingDataSourceConfig::default().with_consume_timeout(given);
            let err = c.validate().unwrap_err();
            assert_eq!(
                err,
                ConfigError::DurationTooLong {
                    field: "consume_timeout",
                    given,
                    max
                }
            );
            assert!(
                err.to_string()
                    .starts_with("`consume_timeout` must be at most 31536000 s"),
                "{err}"
            );
        }
    }

    #[test]
    fn validate_rejects_empty_prefix_only_when_columns_use_it() {
        let c = StreamingDataSourceConfig::default().with_metadata_prefix("");
        assert_eq!(c.validate(), Err(ConfigError::EmptyMetadataPrefix));
        let c = c.with_include_key(false);
        assert_eq!(c.validate(), Ok(()));
        let c = c.with_include_headers(true);
        assert_eq!(c.validate(), Err(ConfigError::EmptyMetadataPrefix));
    }

    #[test]
    fn sample_limit_is_capped_by_max_messages() {
        let c = StreamingDataSourceConfig::default().with_max_messages(10);
        assert_eq!(c.schema_sample_limit(), 10);
        assert_eq!(c.with_max_messages(1000).schema_sample_limit(), 100);
    }

    #[test]
    fn from_str_accepts_known_names_case_insensitively() {
        assert_eq!(
            "json".parse::<DeserializerType>(),
            Ok(DeserializerType::Json)
        );
        assert_eq!(
            " AVRO ".parse::<DeserializerType>(),
            Ok(DeserializerType::Avro)
        );
        assert_eq!(
            "String".parse::<DeserializerType>(),
            Ok(DeserializerType::String)
        );
        assert_eq!(
            "bytes".parse::<DeserializerType>(),
            Ok(DeserializerType::Bytes)
        );
        assert_eq!(
            "latest".parse::<AutoOffsetReset>(),
            Ok(AutoOffsetReset::Latest)
        );
        assert_eq!(
            "bytes".parse::<KeyDeserializer>(),
            Ok(KeyDeserializer::Bytes)
        );
        assert_eq!("error".parse::<OnMalformed>(), Ok(OnMalformed::Error));
        for kind in [
            DeserializerType::Json,
            DeserializerType::Avro,
            DeserializerType::Protobuf,
            DeserializerType::String,
            DeserializerType::Bytes,
        ] {
            assert_eq!(kind.to_string().parse::<DeserializerType>(), Ok(kind));
        }
    }

    #[test]
    fn from_str_error_lists_the_valid_names() {
        let err = "xml".parse::<DeserializerType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown deserializer_type "xml"; expected one of: json, avro, protobuf, string, bytes"#
        );
        let err = "xml".parse::<KeyDeserializer>().unwrap_err();
        assert_eq!(
            err,
            ConfigError::UnknownVariant {
                field: "key_deserializer",
                given: "xml".into(),
                valid: &["json", "string", "bytes", "avro", "protobuf"],
            }
        );
        assert_eq!(
            " Avro".parse::<KeyDeserializer>(),
            Ok(KeyDeserializer::Avro)
        );
        assert!("".parse::<AutoOffsetReset>().is_err());
    }
}
