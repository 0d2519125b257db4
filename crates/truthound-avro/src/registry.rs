//! The Confluent schema registry: [`RegistryBuilder`], the wire-format header, and writer schemas
//! fetched by id over the registry's REST API and cached.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use truthound_streaming_core::DeserializeFailure;

use crate::error::{AvroError, Result};
use crate::schema::{Compiled, Parsed};
use crate::{AvroDeserializer, SchemaSource};

/// What a schema-registry payload must look like, for failure messages.
const WIRE_FORMAT: &str =
    "expected Confluent wire format: magic byte 0, 4-byte schema id, Avro datum";

/// The length of the wire-format header: the magic byte and the big-endian schema id.
pub(crate) const HEADER_LEN: usize = 5;

/// The largest registry response read; real schemas are a few KiB.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// The most schemas one schema may reference, directly or through others.
const MAX_REFERENCES: usize = 256;

/// The default for [`RegistryBuilder::with_timeout`]: 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default for [`RegistryBuilder::with_retry_after`].
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

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
    url: String,
    basic_auth: Option<(String, SecretString)>,
    ca_file: Option<PathBuf>,
    timeout: Duration,
    retry_after: Duration,
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
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            basic_auth: None,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
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
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Trusts the certificate authorities in this PEM file, instead of the webpki roots, for the
    /// registry's TLS (an `https://` URL; with `http://`, [`finish`](Self::finish) refuses it
    /// rather than ignore it). The file is read by `finish`.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Bounds one schema lookup, from connecting to reading the whole response (default
    /// [`DEFAULT_TIMEOUT`]). The lookup runs on the thread decoding the message, so a source
    /// with a deadline should give no more than it.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a failed lookup is remembered (default 5 s): until then, messages with that
    /// schema id fail at once with the same reason; the first one after it asks again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
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
        let base = check_url(&self.url)?;
        let reader = match &self.reader {
            ReaderChoice::Writer => Reader::Writer,
            ReaderChoice::Latest { subject, required } => Reader::Latest {
                subject: subject.clone(),
                required: *required,
                found: OnceLock::new(),
            },
            ReaderChoice::Given(json) => Reader::Given(Arc::new(ReaderSchema {
                parsed: Parsed::from_texts(json, &[])?,
                label: "the given reader schema".to_owned(),
            })),
        };
        if let Some((user, _)) = &self.basic_auth
            && (user.is_empty() || user.contains(':'))
        {
            return Err(AvroError::RegistryAuth(format!(
                "the user name {user:?} is empty or contains ':', which HTTP basic auth cannot \
                 carry"
            )));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("truthound-avro/", env!("CARGO_PKG_VERSION")));
        let config = match &self.ca_file {
            None => config,
            Some(path) if base.starts_with("http://") => {
                return Err(AvroError::RegistryCaFile {
                    path: path.clone(),
                    reason: "the registry URL is http://, which does not use TLS: use https:// \
                             or remove the CA file"
                        .to_owned(),
                });
            }
            Some(path) => with_roots(config, path)?,
        };
        let agent: ureq::Agent = config.build().into();
        let (authorization, secrets) = match self.basic_auth {
            Some((user, password)) => {
                let pair = SecretString::from(format!("{user}:{}", password.expose_secret()));
                let token = SecretString::from(base64(pair.expose_secret().as_bytes()));
                let header = SecretString::from(format!("Basic {}", token.expose_secret()));
                (Some(header), vec![password, token])
            }
            None => (None, Vec::new()),
        };
        let registry = Registry {
            base,
            agent,
            authorization,
            secrets,
            timeout: self.timeout,
            retry_after: self.retry_after,
            reader,
            schemas: RwLock::default(),
            failures: Mutex::default(),
        };
        Ok(AvroDeserializer {
            source: SchemaSource::Registry(Arc::new(registry)),
        })
    }
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("url", &redacted_url(&self.url))
            .field(
                "basic_auth_user",
                &self.basic_auth.as_ref().map(|(user, _)| user),
            )
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .field("reader", &self.reader)
            .finish()
    }
}

/// The agent configuration trusting only the certificates of the PEM file at `path`.
#[cfg(feature = "tls")]
fn with_roots(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    path: &std::path::Path,
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let invalid = |reason: String| AvroError::RegistryCaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        // Keys and other sections are skipped.
        if let PemItem::Certificate(certificate) =
            item.map_err(|e| invalid(format!("it is not valid PEM: {e}")))?
        {
            certificates.push(certificate);
        }
    }
    // rustls would silently skip certificates it cannot parse: check them here instead.
    let mut store = rustls::RootCertStore::empty();
    for (i, certificate) in certificates.iter().enumerate() {
        store
            .add(rustls::pki_types::CertificateDer::from(certificate.der()))
            .map_err(|e| invalid(format!("certificate {} cannot be a root: {e}", i + 1)))?;
    }
    if certificates.is_empty() {
        return Err(invalid(
            "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::new_with_certs(&certificates))
        .build();
    Ok(config.tls_config(tls))
}

/// Without TLS support an `https://` URL was refused already, and a CA file for `http://` too:
/// this is not reached.
#[cfg(not(feature = "tls"))]
fn with_roots(
    _: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    path: &std::path::Path,
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>> {
    Err(AvroError::RegistryCaFile {
        path: path.to_owned(),
        reason: "https registries need the `tls` feature of truthound-avro".to_owned(),
    })
}

/// `url` for messages: user information (before `@` in the authority) and any query or
/// fragment replaced by `***`.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (main, tail) = match rest.find(['?', '#']) {
        Some(at) => (&rest[..at], Some(&rest[at..at + 1])),
        None => (rest, None),
    };
    let authority_end = main.find('/').unwrap_or(main.len());
    let (authority, path) = main.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    match tail {
        Some(mark) => format!("{scheme}{authority}{path}{mark}***"),
        None => format!("{scheme}{authority}{path}"),
    }
}

/// The URL without a trailing slash, once it is known to be usable.
fn check_url(url: &str) -> Result<String> {
    let invalid = |reason: &str| AvroError::RegistryUrl {
        url: redacted_url(url),
        reason: reason.to_owned(),
    };
    let base = url.trim().trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        rest
    } else if let Some(rest) = base.strip_prefix("https://") {
        if !cfg!(feature = "tls") {
            return Err(invalid(
                "https registries need the `tls` feature of truthound-avro",
            ));
        }
        rest
    } else {
        return Err(invalid("expected an http:// or https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    if authority.contains('@') {
        return Err(invalid(
            "credentials in the URL would show in messages; use `with_basic_auth`",
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(invalid("a query or fragment cannot prefix API paths"));
    }
    format!("{base}/schemas/ids/0")
        .parse::<ureq::http::Uri>()
        .map_err(|e| invalid(&e.to_string()))?;
    Ok(base.to_owned())
}

/// The schema id of a wire-format payload, whose datum starts at [`HEADER_LEN`].
pub(crate) fn parse_header(payload: &[u8]) -> Result<u32, DeserializeFailure> {
    match payload {
        [0, a, b, c, d, ..] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        [magic, _, _, _, _, ..] => Err(DeserializeFailure::new(format!(
            "magic byte 0x{magic:02x} is not 0: {WIRE_FORMAT}"
        ))),
        _ => Err(DeserializeFailure::new(format!(
            "payload of {} bytes is too short: {WIRE_FORMAT}",
            payload.len()
        ))),
    }
}

/// A schema registry client with its cache of compiled writer schemas.
pub(crate) struct Registry {
    /// The registry URL without a trailing slash.
    base: String,
    agent: ureq::Agent,
    /// The `Authorization` header value, if any.
    authorization: Option<SecretString>,
    /// The password and its base64 form, scrubbed from anything a failure reason quotes (such
    /// as a registry's error message echoing the request).
    secrets: Vec<SecretString>,
    timeout: Duration,
    retry_after: Duration,
    /// What payloads are read as.
    reader: Reader,
    /// Compiled writer schemas, resolved against the reader schema when there is one.
    schemas: RwLock<HashMap<u32, Arc<Compiled>>>,
    /// Failed lookups: when, and the failure reason. The lock is also held while a lookup is in
    /// flight, so that each id is fetched once even when many threads miss the cache together
    /// (lookups are rare: one per schema id).
    failures: Mutex<HashMap<u32, (Instant, String)>>,
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
        if let Some(schema) = self.cached(id) {
            return Ok(schema);
        }
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schema) = self.cached(id) {
            return Ok(schema);
        }
        if let Some((at, reason)) = failures.get(&id)
            && at.elapsed() < self.retry_after
        {
            return Err(DeserializeFailure::new(reason.clone()));
        }
        let url = format!("{}/schemas/ids/{id}", self.base);
        let compiled = self
            .fetch(&url)
            .map_err(|reason| {
                self.scrub(format!(
                    "could not get Avro schema id {id} from {url}: {reason}"
                ))
            })
            .and_then(|writer| {
                let reader = self.reader_schema().map_err(|reason| {
                    self.scrub(format!("could not read schema id {id}: {reason}"))
                })?;
                Compiled::resolve(&writer, reader.as_ref().map(|r| &r.parsed)).map_err(|e| {
                    self.scrub(match &reader {
                        Some(reader) => format!(
                            "schema id {id} cannot be read as {}: {e} (without a reader \
                             schema, messages are read as written)",
                            reader.label
                        ),
                        None => format!("schema id {id} cannot be decoded: {e}"),
                    })
                })
            });
        match compiled {
            Ok(schema) => {
                let schema = Arc::new(schema);
                failures.remove(&id);
                self.schemas
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id, Arc::clone(&schema));
                Ok(schema)
            }
            Err(reason) => {
                failures.insert(id, (Instant::now(), reason.clone()));
                Err(DeserializeFailure::new(reason))
            }
        }
    }

    fn cached(&self, id: u32) -> Option<Arc<Compiled>> {
        self.schemas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// The reader schema, looking up the subject's latest version the first time. Called with
    /// the failures lock held, so the lookup happens once.
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
                let url = format!(
                    "{}/subjects/{}/versions/latest",
                    self.base,
                    path_segment(subject)
                );
                let schema = match self.document(&url) {
                    Ok(document) => {
                        let version = document.get("version").and_then(serde_json::Value::as_i64);
                        let id = document.get("id").and_then(serde_json::Value::as_i64);
                        let parsed = self.parsed(&document).map_err(|reason| {
                            format!("the latest version of subject `{subject}` ({url}): {reason}")
                        })?;
                        let label = match (version, id) {
                            (Some(version), Some(id)) => {
                                format!("version {version} (id {id}) of subject `{subject}`")
                            }
                            _ => format!("the latest version of subject `{subject}`"),
                        };
                        Some(Arc::new(ReaderSchema { parsed, label }))
                    }
                    // No such subject: the topic's schemas are named some other way.
                    Err(Fetch::NotFound(_)) if !required => None,
                    Err(Fetch::Failed(reason) | Fetch::NotFound(reason)) => {
                        return Err(format!(
                            "could not get the latest version of subject `{subject}` from \
                             {url}: {reason}"
                        ));
                    }
                };
                Ok(found.get_or_init(|| schema).clone())
            }
        }
    }

    /// The writer schema at `url` (`/schemas/ids/{id}`) with its references, parsed.
    fn fetch(&self, url: &str) -> Result<Parsed, String> {
        let document = self.document(url).map_err(Fetch::into_reason)?;
        self.parsed(&document)
    }

    /// A registry schema document (`schema`, `schemaType`, `references`) parsed, its
    /// references fetched (`/subjects/{subject}/versions/{version}`) recursively.
    fn parsed(&self, document: &serde_json::Value) -> Result<Parsed, String> {
        let text = schema_text(document)?;
        let mut texts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut pending: Vec<serde_json::Value> = references(document)?;
        while let Some(reference) = pending.pop() {
            let subject = reference
                .get("subject")
                .and_then(|s| s.as_str())
                .ok_or("a schema reference has no `subject`")?
                .to_owned();
            let version = match reference.get("version") {
                Some(serde_json::Value::Number(n)) => n.to_string(),
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => "latest".to_owned(),
            };
            if !seen.insert((subject.clone(), version.clone())) {
                continue;
            }
            if seen.len() > MAX_REFERENCES {
                return Err(format!("it references more than {MAX_REFERENCES} schemas"));
            }
            let url = format!(
                "{}/subjects/{}/versions/{}",
                self.base,
                path_segment(&subject),
                path_segment(&version)
            );
            let referenced = self.document(&url).map_err(|e| {
                format!(
                    "its reference to version {version} of subject `{subject}` ({url}): {}",
                    e.into_reason()
                )
            })?;
            texts.push(schema_text(&referenced)?.to_owned());
            pending.extend(references(&referenced)?);
        }
        Parsed::from_texts(text, &texts).map_err(|e| e.to_string())
    }

    /// One blocking `GET`, answered with a JSON document.
    fn document(&self, url: &str) -> Result<serde_json::Value, Fetch> {
        let mut request = self.agent.get(url).header(
            "Accept",
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization.expose_secret());
        }
        let mut response = request
            .call()
            .map_err(|e| Fetch::Failed(self.describe(e)))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| Fetch::Failed(format!("reading the response: {}", self.describe(e))))?;
        let document = serde_json::from_str::<serde_json::Value>(&body);
        if !status.is_success() {
            // The registry explains errors as {"error_code": 40403, "message": "..."}.
            let message = document
                .ok()
                .and_then(|d| d.get("message")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or_default().to_owned());
            let hint = match (status.as_u16(), self.authorization.is_some()) {
                (401, true) => {
                    " (the registry refused the credentials: check the registry user \
                                and password, for Confluent Cloud the Schema Registry API key \
                                and secret, not the cluster's)"
                }
                (401, false) => {
                    " (the registry needs credentials: give a registry user and \
                                 password)"
                }
                (403, _) => " (the registry user may not read this schema)",
                _ => "",
            };
            let reason = format!("HTTP {}: {message}{hint}", status.as_u16());
            return Err(if status.as_u16() == 404 {
                Fetch::NotFound(reason)
            } else {
                Fetch::Failed(reason)
            });
        }
        document.map_err(|e| Fetch::Failed(format!("the response is not JSON: {e}")))
    }
}

/// A failed registry request.
enum Fetch {
    /// HTTP 404: no such schema, subject or version.
    NotFound(String),
    /// Anything else.
    Failed(String),
}

impl Fetch {
    fn into_reason(self) -> String {
        match self {
            Self::NotFound(reason) | Self::Failed(reason) => reason,
        }
    }
}

/// The Avro schema text of a registry schema document.
fn schema_text(document: &serde_json::Value) -> Result<&str, String> {
    match document.get("schemaType").and_then(|t| t.as_str()) {
        None | Some("AVRO") => {}
        Some(other) => return Err(format!("it is a {other} schema, not Avro")),
    }
    document
        .get("schema")
        .and_then(|s| s.as_str())
        .ok_or_else(|| "the response has no `schema` string".to_owned())
}

/// The `references` of a registry schema document (none when absent).
fn references(document: &serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
    match document.get("references") {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err("its `references` is not an array".to_owned()),
    }
}

/// `text` as one URL path segment: everything but unreserved characters percent-encoded.
fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Registry {
    fn describe(&self, err: ureq::Error) -> String {
        if let Some(reason) = refused_certificate(&err) {
            return reason;
        }
        match err {
            ureq::Error::Timeout(_) => format!("no complete answer within {:?}", self.timeout),
            other => other.to_string(),
        }
    }

    /// `text` with every secret replaced by `***`.
    fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if !secret.is_empty() && text.contains(secret) {
                text = text.replace(secret, "***");
            }
        }
        text
    }
}

/// Why the registry's certificate was refused, and what to do, when that is what `err` is.
#[cfg(feature = "tls")]
fn refused_certificate(err: &ureq::Error) -> Option<String> {
    use rustls::CertificateError;
    let rustls_error = match err {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    let rustls::Error::InvalidCertificate(reason) = rustls_error else {
        return None;
    };
    Some(match reason {
        CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
            "the registry's TLS certificate is not trusted ({reason:?}): give the PEM file of \
             the certificate authority that signed it as the registry CA file"
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the registry's TLS certificate is not valid for the host in the URL \
                 ({reason:?}): use a host name the certificate names"
            )
        }
        other => format!("the registry's TLS certificate was refused ({other:?})"),
    })
}

#[cfg(not(feature = "tls"))]
fn refused_certificate(_: &ureq::Error) -> Option<String> {
    None
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<u32> = self
            .schemas
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        f.debug_struct("Registry")
            .field("url", &self.base)
            .field("basic_auth", &self.authorization.is_some())
            .field(
                "reader",
                &match &self.reader {
                    Reader::Writer => "as written".to_owned(),
                    Reader::Latest { subject, .. } => format!("latest of subject `{subject}`"),
                    Reader::Given(_) => "the given reader schema".to_owned(),
                },
            )
            .field("cached_schema_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// Standard base64 with padding, for the basic auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("user:pa ss", "dXNlcjpwYSBzcw=="),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            check_url("http://localhost:8081/").unwrap(),
            "http://localhost:8081"
        );
        assert_eq!(
            check_url(" http://registry/prefix ").unwrap(),
            "http://registry/prefix"
        );
        for bad in [
            "localhost:8081",
            "ftp://x",
            "http://",
            "http:///path",
            "http://user:pw@host",
            "http://host?x=1",
            "http://ho st",
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(matches!(err, AvroError::RegistryUrl { .. }), "{bad}: {err}");
        }
        assert_eq!(check_url("https://registry").is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn urls_in_messages_hide_credentials_and_queries() {
        for (url, shown) in [
            ("http://localhost:8081", "http://localhost:8081"),
            ("https://key:secret@host/p", "https://***@host/p"),
            ("https://a@b:c@host:1", "https://***@host:1"),
            ("http://host/p?token=x", "http://host/p?***"),
            ("http://host#x", "http://host#***"),
            ("user:pw@host", "***@host"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
        let err = check_url("http://key:secret@host").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn headers_are_checked() {
        assert_eq!(parse_header(&[0, 0, 0, 1, 2, 9]), Ok(258));
        assert_eq!(parse_header(&[0, 0xff, 0xff, 0xff, 0xff]), Ok(u32::MAX));
        let err = parse_header(&[1, 0, 0, 0, 1, 9]).unwrap_err();
        assert_eq!(
            err.reason(),
            format!("magic byte 0x01 is not 0: {WIRE_FORMAT}")
        );
        let err = parse_header(&[0, 0, 0]).unwrap_err();
        assert_eq!(
            err.reason(),
            format!("payload of 3 bytes is too short: {WIRE_FORMAT}")
        );
    }
}
