//! [`RegistryClient`]: schemas by id and by subject, over the registry's REST API.

use std::collections::HashSet;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::cache::SchemaCache;
use crate::{RegistryConfig, RegistryError, basic_auth, check_url};

/// The largest registry response read; real schemas are a few KiB.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// The most schemas one schema may reference, directly or through others.
const MAX_REFERENCES: usize = 256;

/// The kinds of schema a registry holds (its `schemaType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaType {
    /// `AVRO`, also what a document without `schemaType` is.
    Avro,
    /// `PROTOBUF`: `.proto` text, or a base64 `FileDescriptorProto`.
    Protobuf,
    /// `JSON`: a JSON Schema.
    Json,
}

impl SchemaType {
    /// The registry's name for it: `AVRO`, `PROTOBUF`, `JSON`.
    pub fn registry_name(self) -> &'static str {
        match self {
            Self::Avro => "AVRO",
            Self::Protobuf => "PROTOBUF",
            Self::Json => "JSON",
        }
    }

    /// Its name for people: `Avro`, `Protobuf`, `JSON Schema`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Avro => "Avro",
            Self::Protobuf => "Protobuf",
            Self::Json => "JSON Schema",
        }
    }
}

/// A registered schema with every schema it references.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Schema {
    /// The schema text as the registry gives it.
    pub schema: String,
    /// Its id, when the registry said (subject lookups do).
    pub id: Option<u32>,
    /// Its version in the subject looked up, when it was looked up by subject.
    pub version: Option<i64>,
    /// Every schema it references, directly or through others, each once, in no particular
    /// order.
    pub references: Vec<Reference>,
}

/// A schema referenced by another.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Reference {
    /// The name it is referenced by: for Avro the full name of a type it defines, for Protobuf
    /// the import path (`shop/address.proto`), for JSON Schema a URL.
    pub name: String,
    /// The subject it is registered under.
    pub subject: String,
    /// The version of that subject (`latest` when the reference gives none).
    pub version: String,
    /// Its text.
    pub schema: String,
}

impl Schema {
    /// A schema with this text and nothing else known about it.
    pub fn new(schema: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            id: None,
            version: None,
            references: Vec::new(),
        }
    }
}

impl Reference {
    /// A reference by `name` to `version` of `subject`, whose text is `schema`.
    pub fn new(
        name: impl Into<String>,
        subject: impl Into<String>,
        version: impl Into<String>,
        schema: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            subject: subject.into(),
            version: version.into(),
            schema: schema.into(),
        }
    }
}

/// Why a schema could not be had.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// HTTP 404: no such schema id, subject or version.
    NotFound(String),
    /// The request failed: the network, the deadline, the credentials, an error status.
    Failed(String),
    /// The schema came but cannot be used: it has another type, or a reference could not be
    /// had.
    Unusable(String),
}

impl LookupError {
    /// Why, in words, with no secret in it.
    pub fn reason(&self) -> &str {
        match self {
            Self::NotFound(reason) | Self::Failed(reason) | Self::Unusable(reason) => reason,
        }
    }
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// A schema registry client: blocking requests with the configured deadline and credentials.
/// Build it with [`RegistryConfig::connect`].
pub struct RegistryClient {
    /// The registry URL without a trailing slash.
    base: String,
    agent: ureq::Agent,
    /// The `Authorization` header value, if any.
    authorization: Option<SecretString>,
    /// The password and its base64 form, scrubbed from anything a failure reason quotes (such
    /// as a registry's error message echoing the request).
    secrets: Vec<SecretString>,
    timeout: std::time::Duration,
    retry_after: std::time::Duration,
}

impl RegistryClient {
    pub(crate) fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let base = check_url(&config.url)?;
        let (authorization, secrets) = match &config.basic_auth {
            Some((user, password)) => {
                let (header, secrets) = basic_auth(user, password)?;
                (Some(header), secrets)
            }
            None => (None, Vec::new()),
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("truthound/", env!("CARGO_PKG_VERSION")));
        let agent = match &config.ca_file {
            None => agent,
            Some(path) if base.starts_with("http://") => {
                return Err(RegistryError::CaFile {
                    path: path.clone(),
                    reason: "the registry URL is http://, which does not use TLS: use https:// \
                             or remove the CA file"
                        .to_owned(),
                });
            }
            Some(path) => with_roots(agent, path)?,
        };
        Ok(Self {
            base,
            agent: agent.build().into(),
            authorization,
            secrets,
            timeout: config.timeout,
            retry_after: config.retry_after,
        })
    }

    /// The registry URL, without a trailing slash (it never holds credentials).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The URL of schema `id`: `{url}/schemas/ids/{id}`.
    pub fn schema_url(&self, id: u32) -> String {
        format!("{}/schemas/ids/{id}", self.base)
    }

    /// The URL of a subject's latest version: `{url}/subjects/{subject}/versions/latest`.
    pub fn latest_url(&self, subject: &str) -> String {
        format!(
            "{}/subjects/{}/versions/latest",
            self.base,
            path_segment(subject)
        )
    }

    /// An empty cache that remembers failures for the configured
    /// [`retry_after`](RegistryConfig::with_retry_after).
    pub fn cache<T>(&self) -> SchemaCache<T> {
        SchemaCache::new(self.retry_after)
    }

    /// Schema `id` (`GET /schemas/ids/{id}`), which must be of type `kind`, with its
    /// references.
    ///
    /// # Errors
    /// A [`LookupError`] saying why; its reason is scrubbed of secrets.
    pub fn schema_by_id(&self, id: u32, kind: SchemaType) -> Result<Schema, LookupError> {
        let document = self.document(&self.schema_url(id))?;
        self.schema(&document, kind)
    }

    /// The latest version of `subject`, which must be of type `kind`, with its references.
    ///
    /// # Errors
    /// [`LookupError::NotFound`] when the registry has no such subject, others as for
    /// [`schema_by_id`](Self::schema_by_id).
    pub fn latest(&self, subject: &str, kind: SchemaType) -> Result<Schema, LookupError> {
        let document = self.document(&self.latest_url(subject))?;
        let mut schema = self.schema(&document, kind)?;
        schema.version = document.get("version").and_then(serde_json::Value::as_i64);
        Ok(schema)
    }

    /// `text` with every secret replaced by `***`.
    pub fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            let secret = secret.expose_secret();
            if !secret.is_empty() && text.contains(secret) {
                text = text.replace(secret, "***");
            }
        }
        text
    }

    /// A registry schema document (`schema`, `schemaType`, `references`) with its references
    /// fetched (`/subjects/{subject}/versions/{version}`) recursively.
    fn schema(
        &self,
        document: &serde_json::Value,
        kind: SchemaType,
    ) -> Result<Schema, LookupError> {
        let unusable = |reason: String| LookupError::Unusable(self.scrub(reason));
        let schema = schema_text(document, kind).map_err(unusable)?.to_owned();
        let id = document
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .and_then(|id| u32::try_from(id).ok());
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        let mut pending = references(document).map_err(unusable)?;
        while let Some(reference) = pending.pop() {
            let field = |name: &str| reference.get(name).and_then(|s| s.as_str());
            let subject = field("subject")
                .ok_or_else(|| unusable("a schema reference has no `subject`".to_owned()))?
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
                return Err(unusable(format!(
                    "it references more than {MAX_REFERENCES} schemas"
                )));
            }
            let url = format!(
                "{}/subjects/{}/versions/{}",
                self.base,
                path_segment(&subject),
                path_segment(&version)
            );
            let referenced = self.document(&url).map_err(|e| {
                unusable(format!(
                    "its reference to version {version} of subject `{subject}` ({url}): {e}"
                ))
            })?;
            found.push(Reference {
                name: field("name").unwrap_or(&subject).to_owned(),
                schema: schema_text(&referenced, kind).map_err(unusable)?.to_owned(),
                subject,
                version,
            });
            pending.extend(references(&referenced).map_err(unusable)?);
        }
        Ok(Schema {
            schema,
            id,
            version: None,
            references: found,
        })
    }

    /// One blocking `GET`, answered with a JSON document.
    fn document(&self, url: &str) -> Result<serde_json::Value, LookupError> {
        let failed = |reason: String| LookupError::Failed(self.scrub(reason));
        let mut request = self.agent.get(url).header(
            "Accept",
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization.expose_secret());
        }
        let mut response = request.call().map_err(|e| failed(self.describe(e)))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| failed(format!("reading the response: {}", self.describe(e))))?;
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
            let reason = self.scrub(format!("HTTP {}: {message}{hint}", status.as_u16()));
            return Err(if status.as_u16() == 404 {
                LookupError::NotFound(reason)
            } else {
                LookupError::Failed(reason)
            });
        }
        document.map_err(|e| failed(format!("the response is not JSON: {e}")))
    }

    fn describe(&self, err: ureq::Error) -> String {
        if let Some(reason) = refused_certificate(&err) {
            return reason;
        }
        match err {
            ureq::Error::Timeout(_) => format!("no complete answer within {:?}", self.timeout),
            other => other.to_string(),
        }
    }
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.base)
            .field("basic_auth", &self.authorization.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The schema text of a registry schema document of type `kind`.
fn schema_text(document: &serde_json::Value, kind: SchemaType) -> Result<&str, String> {
    let found = document
        .get("schemaType")
        .and_then(|t| t.as_str())
        .unwrap_or("AVRO");
    if found != kind.registry_name() {
        return Err(format!("it is a {found} schema, not {}", kind.label()));
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

/// The agent configuration trusting only the certificates of the PEM file at `path`.
#[cfg(feature = "tls")]
fn with_roots(
    config: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    path: &std::path::Path,
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>, RegistryError> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let invalid = |reason: String| RegistryError::CaFile {
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
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>, RegistryError> {
    Err(RegistryError::CaFile {
        path: path.to_owned(),
        reason: "https registries need a build with the `tls` feature".to_owned(),
    })
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
