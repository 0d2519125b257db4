//! The Confluent schema registry: [`RegistryBuilder`], and writer schemas fetched by id
//! through [`truthound_registry`] and compiled once per id.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::SecretString;
use truthound_registry::{LookupError, RegistryClient, RegistryError, SchemaCache, SchemaType};
use truthound_streaming_core::DeserializeFailure;

use crate::error::{AvroError, Result};
use crate::schema::{Compiled, Parsed};
use crate::{AvroDeserializer, SchemaSource};

pub use truthound_registry::{DEFAULT_TIMEOUT, RegistryConfig};

/// What follows the wire-format header, for failure messages.
pub(crate) const BODY: &str = "Avro datum";

/// Builds an [`AvroDeserializer`] for payloads in the Confluent wire format, whose writer schemas
/// come from a schema registry. Start it with [`AvroDeserializer::with_registry`].
///
/// For Confluent Cloud, the registry is `https://` (the `tls` feature) with its own API key and
/// secret as basic auth. Neither the password nor the `Authorization` header ever shows in
/// `Debug` output, errors or failure reasons; a URL is shown without its user information.
///
/// ```
/// use std::time::Duration;
/// use truthound_avro::AvroDeserializer;
///
/// let deserializer = AvroDeserializer::with_registry("http://localhost:8081")
///     .with_basic_auth("svc-quality", "secret")
///     .with_timeout(Duration::from_secs(3))
///     .finish()?;
/// // The password never shows in debug output.
/// assert!(!format!("{deserializer:?}").contains("secret"));
/// # Ok::<(), truthound_avro::AvroError>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `finish` is called"]
pub struct RegistryBuilder {
    config: RegistryConfig,
    reader: ReaderChoice,
}

/// Which schema payloads are read as.
#[derive(Clone, Debug)]
enum ReaderChoice {
    /// Each payload as its writer schema says.
    Writer,
    /// The latest version of this subject, looked up once; `required`: a missing subject fails
    /// the messages instead of reading them as written.
    Latest { subject: String, required: bool },
    /// This schema's JSON text.
    Given(String),
}

impl RegistryBuilder {
    pub(crate) fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            reader: ReaderChoice::Writer,
        }
    }

    /// Reads every payload as the latest version of `subject` (for a topic's values under
    /// Confluent's default naming, `{topic}-value`), by Avro's schema resolution: one frame has
    /// the fields of that version whichever schema id wrote each message; fields it added are
    /// filled from its defaults, fields it removed are left out, and promoted types (`int` to
    /// `long`, `float` or `double`, and so on) are widened.
    ///
    /// The version is looked up once, with the first message. When the registry has no such
    /// subject, every message fails with a reason naming it; see
    /// [`with_reader_subject_if_present`](Self::with_reader_subject_if_present). Without a
    /// reader subject or [`with_reader_schema_json`](Self::with_reader_schema_json), payloads
    /// are read as written: a topic whose schema evolved yields each message with its own
    /// writer's fields.
    pub fn with_reader_subject(mut self, subject: impl Into<String>) -> Self {
        self.reader = ReaderChoice::Latest {
            subject: subject.into(),
            required: true,
        };
        self
    }

    /// As [`with_reader_subject`](Self::with_reader_subject), but when the registry has no
    /// such subject (HTTP 404: the topic's schemas are registered under other subject names),
    /// payloads are read as written.
    pub fn with_reader_subject_if_present(mut self, subject: impl Into<String>) -> Self {
        self.reader = ReaderChoice::Latest {
            subject: subject.into(),
            required: false,
        };
        self
    }

    /// Reads every payload as this schema (Avro's JSON schema text), by Avro's schema
    /// resolution; see [`with_reader_subject`](Self::with_reader_subject). The schema is
    /// parsed by [`finish`](Self::finish).
    pub fn with_reader_schema_json(mut self, json: impl Into<String>) -> Self {
        self.reader = ReaderChoice::Given(json.into());
        self
    }

    /// Authenticates to the registry with HTTP basic auth (Confluent Cloud: the schema registry
    /// API key and secret).
    pub fn with_basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.config = self.config.with_basic_auth(user, password);
        self
    }

    /// Trusts the certificate authorities in this PEM file, instead of the webpki roots, for the
    /// registry's TLS (an `https://` URL; with `http://`, [`finish`](Self::finish) refuses it
    /// rather than ignore it). The file is read by `finish`.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config = self.config.with_ca_file(path);
        self
    }

    /// Bounds one schema lookup, from connecting to reading the whole response (default
    /// [`DEFAULT_TIMEOUT`]). The lookup runs on the thread decoding the message, so a source
    /// with a deadline should give no more than it.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.config = self.config.with_timeout(timeout);
        self
    }

    /// How long a failed lookup is remembered (default 5 s): until then, messages with that
    /// schema id fail at once with the same reason; the first one after it asks again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.config = self.config.with_retry_after(retry_after);
        self
    }

    /// Checks the URL, the credentials and the CA file, and builds the deserializer. No request
    /// is made until the first message.
    ///
    /// # Errors
    /// - [`AvroError::RegistryUrl`] when the URL is not `http://host[:port][/path]` (or
    ///   `https://` with the `tls` feature), or carries credentials (use
    ///   [`with_basic_auth`](Self::with_basic_auth), which keeps them out of messages).
    /// - [`AvroError::RegistryAuth`] when the user name is empty or contains `:`, which basic
    ///   auth cannot carry.
    /// - [`AvroError::RegistryCaFile`] when the CA file cannot be read, holds no PEM
    ///   certificate, or is given for an `http://` URL.
    /// - [`AvroError::SchemaJson`] or [`AvroError::InvalidSchema`] when a reader schema given
    ///   with [`with_reader_schema_json`](Self::with_reader_schema_json) is not a valid schema.
    pub fn finish(self) -> Result<AvroDeserializer> {
        let client = self.config.connect().map_err(|e| match e {
            RegistryError::Url { url, reason } => AvroError::RegistryUrl { url, reason },
            RegistryError::CaFile { path, reason } => AvroError::RegistryCaFile { path, reason },
            RegistryError::Auth(reason) => AvroError::RegistryAuth(reason),
            other => AvroError::RegistryAuth(other.to_string()),
        })?;
        let reader = match self.reader {
            ReaderChoice::Writer => Reader::Writer,
            ReaderChoice::Latest { subject, required } => Reader::Latest {
                subject,
                required,
                found: OnceLock::new(),
            },
            ReaderChoice::Given(json) => Reader::Given(Arc::new(ReaderSchema {
                parsed: Parsed::from_texts(&json, &[])?,
                label: "the given reader schema".to_owned(),
            })),
        };
        let registry = Registry {
            schemas: client.cache(),
            client,
            reader,
        };
        Ok(AvroDeserializer {
            source: SchemaSource::Registry(Arc::new(registry)),
        })
    }
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("registry", &self.config)
            .field("reader", &self.reader)
            .finish()
    }
}

/// A schema registry client with its cache of compiled writer schemas.
pub(crate) struct Registry {
    client: RegistryClient,
    /// What payloads are read as.
    reader: Reader,
    /// Compiled writer schemas, resolved against the reader schema when there is one.
    schemas: SchemaCache<Compiled>,
}

/// What a [`Registry`] reads payloads as.
enum Reader {
    /// Each payload as written.
    Writer,
    /// The latest version of a subject, once looked up: `None` when the registry has no such
    /// subject.
    Latest {
        subject: String,
        required: bool,
        found: OnceLock<Option<Arc<ReaderSchema>>>,
    },
    /// A schema given by the user.
    Given(Arc<ReaderSchema>),
}

/// A reader schema and where it came from, for messages.
struct ReaderSchema {
    parsed: Parsed,
    label: String,
}

impl Registry {
    /// The compiled writer schema with this id, fetched on first use.
    pub(crate) fn schema(&self, id: u32) -> Result<Arc<Compiled>, DeserializeFailure> {
        self.schemas.get_or_load(id, || {
            let url = self.client.schema_url(id);
            let writer = self
                .client
                .schema_by_id(id, SchemaType::Avro)
                .map_err(|e| e.to_string())
                .and_then(|schema| parsed(&schema))
                .map_err(|reason| {
                    self.client.scrub(format!(
                        "could not get Avro schema id {id} from {url}: {reason}"
                    ))
                })?;
            let reader = self.reader_schema().map_err(|reason| {
                self.client
                    .scrub(format!("could not read schema id {id}: {reason}"))
            })?;
            Compiled::resolve(&writer, reader.as_ref().map(|r| &r.parsed)).map_err(|e| {
                self.client.scrub(match &reader {
                    Some(reader) => format!(
                        "schema id {id} cannot be read as {}: {e} (without a reader schema, \
                         messages are read as written)",
                        reader.label
                    ),
                    None => format!("schema id {id} cannot be decoded: {e}"),
                })
            })
        })
    }

    /// The reader schema, looking up the subject's latest version the first time. Called
    /// while the cache loads an id, so the lookup happens once.
    fn reader_schema(&self) -> Result<Option<Arc<ReaderSchema>>, String> {
        match &self.reader {
            Reader::Writer => Ok(None),
            Reader::Given(schema) => Ok(Some(Arc::clone(schema))),
            Reader::Latest {
                subject,
                required,
                found,
            } => {
                if let Some(found) = found.get() {
                    return Ok(found.clone());
                }
                let url = self.client.latest_url(subject);
                let schema = match self.client.latest(subject, SchemaType::Avro) {
                    Ok(schema) => {
                        let parsed = parsed(&schema).map_err(|reason| {
                            format!("the latest version of subject `{subject}` ({url}): {reason}")
                        })?;
                        let label = match (schema.version, schema.id) {
                            (Some(version), Some(id)) => {
                                format!("version {version} (id {id}) of subject `{subject}`")
                            }
                            _ => format!("the latest version of subject `{subject}`"),
                        };
                        Some(Arc::new(ReaderSchema { parsed, label }))
                    }
                    // No such subject: the topic's schemas are named some other way.
                    Err(LookupError::NotFound(_)) if !required => None,
                    Err(LookupError::Unusable(reason)) => {
                        return Err(format!(
                            "the latest version of subject `{subject}` ({url}): {reason}"
                        ));
                    }
                    Err(e) => {
                        return Err(format!(
                            "could not get the latest version of subject `{subject}` from \
                             {url}: {e}"
                        ));
                    }
                };
                Ok(found.get_or_init(|| schema).clone())
            }
        }
    }
}

/// A registry schema parsed with the schemas it references.
fn parsed(schema: &truthound_registry::Schema) -> Result<Parsed, String> {
    let references: Vec<String> = schema.references.iter().map(|r| r.schema.clone()).collect();
    Parsed::from_texts(&schema.schema, &references).map_err(|e| e.to_string())
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("client", &self.client)
            .field(
                "reader",
                &match &self.reader {
                    Reader::Writer => "as written".to_owned(),
                    Reader::Latest { subject, .. } => format!("latest of subject `{subject}`"),
                    Reader::Given(_) => "the given reader schema".to_owned(),
                },
            )
            .field("cached_schema_ids", &self.schemas.ids())
            .finish_non_exhaustive()
    }
}
