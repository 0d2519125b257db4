//! Errors raised while building a deserializer: [`AvroError`] and the [`Result`] alias.
//!
//! Decoding a payload never returns these: a bad payload is a
//! [`DeserializeFailure`](truthound_streaming_core::DeserializeFailure) with a short reason.

/// Why an [`AvroDeserializer`](crate::AvroDeserializer) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AvroError {
    /// The schema JSON is not valid JSON.
    #[error("the Avro schema is not valid JSON: {0}")]
    SchemaJson(#[source] serde_json::Error),
    /// The schema is not a valid Avro schema (unknown type, bad name, duplicate union branch...).
    #[error("invalid Avro schema: {0}")]
    InvalidSchema(#[source] Box<apache_avro::Error>),
    /// The schema is valid Avro but uses something this crate cannot decode.
    #[error("unsupported Avro schema: {0}")]
    UnsupportedSchema(String),
    /// The writer schema cannot be read as the reader schema by Avro's schema resolution: a
    /// reader field without a default that the writer lacks, types that neither match nor
    /// promote, or named types of other names.
    #[error("the reader schema cannot read the writer schema: {0}")]
    Incompatible(String),
    /// The schema registry URL is not one this build can reach.
    #[error("invalid schema registry URL {url:?}: {reason}")]
    RegistryUrl {
        /// The URL as given, with any user information and query shown as `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file for the registry's TLS cannot be used.
    #[error("cannot use the schema registry CA file {}: {reason}", path.display())]
    RegistryCaFile {
        /// The file as given.
        path: std::path::PathBuf,
        /// Why: unreadable, no PEM certificate in it, or not needed by the URL.
        reason: String,
    },
    /// The registry credentials cannot be sent as HTTP basic auth.
    #[error("invalid schema registry credentials: {0}")]
    RegistryAuth(String),
}

impl From<apache_avro::Error> for AvroError {
    fn from(err: apache_avro::Error) -> Self {
        Self::InvalidSchema(Box::new(err))
    }
}

/// The result of building a deserializer.
pub type Result<T, E = AvroError> = std::result::Result<T, E>;
