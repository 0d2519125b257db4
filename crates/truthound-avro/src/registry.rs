//! The Confluent schema registry: [`RegistryBuilder`], the wire-format header, and writer schemas
//! fetched by id over the registry's REST API and cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use truthound_streaming_core::DeserializeFailure;

use crate::error::{AvroError, Result};
use crate::schema::Compiled;
use crate::{AvroDeserializer, SchemaSource};

/// What a schema-registry payload must look like, for failure messages.
const WIRE_FORMAT: &str =
    "expected Confluent wire format: magic byte 0, 4-byte schema id, Avro datum";

/// The length of the wire-format header: the magic byte and the big-endian schema id.
pub(crate) const HEADER_LEN: usize = 5;

/// The largest registry response read; real schemas are a few KiB.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// The default for [`RegistryBuilder::with_timeout`].
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default for [`RegistryBuilder::with_retry_after`].
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Builds an [`AvroDeserializer`] for payloads in the Confluent wire format, whose writer schemas
/// come from a schema registry. Start it with [`AvroDeserializer::with_registry`].
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
    timeout: Duration,
    retry_after: Duration,
}

impl RegistryBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            basic_auth: None,
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
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

    /// Bounds one schema lookup, from connecting to reading the whole response (default 10 s).
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

    /// Checks the URL and builds the deserializer. No request is made until the first message.
    ///
    /// # Errors
    /// [`AvroError::RegistryUrl`] when the URL is not `http://host[:port][/path]` (or `https://`
    /// with the `tls` feature), or carries credentials (use
    /// [`with_basic_auth`](Self::with_basic_auth), which keeps them out of messages).
    pub fn finish(self) -> Result<AvroDeserializer> {
        let base = check_url(&self.url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("truthound-avro/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let authorization = self.basic_auth.map(|(user, password)| {
            let pair = SecretString::from(format!("{user}:{}", password.expose_secret()));
            SecretString::from(format!("Basic {}", base64(pair.expose_secret().as_bytes())))
        });
        let registry = Registry {
            base,
            agent,
            authorization,
            timeout: self.timeout,
            retry_after: self.retry_after,
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
            .field("url", &self.url)
            .field(
                "basic_auth_user",
                &self.basic_auth.as_ref().map(|(user, _)| user),
            )
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// The URL without a trailing slash, once it is known to be usable.
fn check_url(url: &str) -> Result<String> {
    let invalid = |reason: &str| AvroError::RegistryUrl {
        url: url.to_owned(),
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
    timeout: Duration,
    retry_after: Duration,
    schemas: RwLock<HashMap<u32, Arc<Compiled>>>,
    /// Failed lookups: when, and the failure reason. The lock is also held while a lookup is in
    /// flight, so that each id is fetched once even when many threads miss the cache together
    /// (lookups are rare: one per schema id).
    failures: Mutex<HashMap<u32, (Instant, String)>>,
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
        match self.fetch(&url) {
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
                let reason = format!("could not get Avro schema id {id} from {url}: {reason}");
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

    /// One blocking `GET {base}/schemas/ids/{id}`, compiled.
    fn fetch(&self, url: &str) -> Result<Compiled, String> {
        let mut request = self.agent.get(url).header(
            "Accept",
            "application/vnd.schemaregistry.v1+json, application/json",
        );
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization.expose_secret());
        }
        let mut response = request.call().map_err(|e| self.describe(e))?;
        let status = response.status();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|e| format!("reading the response: {}", self.describe(e)))?;
        let document = serde_json::from_str::<serde_json::Value>(&body);
        if !status.is_success() {
            // The registry explains errors as {"error_code": 40403, "message": "..."}.
            let message = document
                .ok()
                .and_then(|d| d.get("message")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or_default().to_owned());
            return Err(format!("HTTP {}: {message}", status.as_u16()));
        }
        let document = document.map_err(|e| format!("the response is not JSON: {e}"))?;
        match document.get("schemaType").and_then(|t| t.as_str()) {
            None | Some("AVRO") => {}
            Some(other) => return Err(format!("it is a {other} schema, not Avro")),
        }
        if document
            .get("references")
            .and_then(|r| r.as_array())
            .is_some_and(|r| !r.is_empty())
        {
            return Err("it uses schema references, which are not supported yet".to_owned());
        }
        let text = document
            .get("schema")
            .and_then(|s| s.as_str())
            .ok_or("the response has no `schema` string")?;
        Compiled::from_json_text(text).map_err(|e| e.to_string())
    }
}

impl Registry {
    fn describe(&self, err: ureq::Error) -> String {
        match err {
            ureq::Error::Timeout(_) => format!("no complete answer within {:?}", self.timeout),
            other => other.to_string(),
        }
    }
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
