//! The Confluent schema registry for Truthound's deserializers: [`RegistryConfig`] checks a
//! registry's URL, credentials and CA file and connects a [`RegistryClient`], which fetches
//! schemas by id or by subject with every schema they reference; [`SchemaCache`] keeps each
//! schema id's compiled form (or its failure, for a while); [`parse_header`] reads the
//! wire-format header (magic byte 0, 4-byte big-endian schema id) that Confluent's serializers
//! put before every payload.
//!
//! It is shared by the Avro and Protobuf deserializers, which compile what it fetches. Lookups
//! are blocking HTTP requests (`ureq`): one per schema id, on the thread that decodes the
//! first message with that id.
//!
//! Secrets stay secret: the password and the `Authorization` header never show in `Debug`
//! output, errors or failure reasons ([`RegistryClient::scrub`] removes them from text a
//! registry sends back), and URLs are shown without user information
//! ([`redacted_url`]).
//!
//! # Layout
//! - [`RegistryConfig`], [`RegistryError`] (this module): what a registry is and why it
//!   cannot be used.
//! - `client` (private): [`RegistryClient`], [`Schema`], [`Reference`], [`SchemaType`] and
//!   [`LookupError`]: the REST calls.
//! - `cache` (private): [`SchemaCache`].
//! - `wire` (private): [`parse_header`] and [`HEADER_LEN`].
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use truthound_registry::RegistryConfig;
//!
//! let client = RegistryConfig::new("http://localhost:8081")
//!     .with_basic_auth("svc-quality", "secret")
//!     .with_timeout(Duration::from_secs(3))
//!     .connect()?;
//! // No request is made until a schema is asked for, and the password never shows.
//! assert!(!format!("{client:?}").contains("secret"));
//! # Ok::<(), truthound_registry::RegistryError>(())
//! ```

mod cache;
mod client;
mod wire;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use cache::SchemaCache;
pub use client::{LookupError, Reference, RegistryClient, Schema, SchemaType};
pub use wire::{HEADER_LEN, parse_header};

/// The default for [`RegistryConfig::with_timeout`]: 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default for [`RegistryConfig::with_retry_after`]: 5 s.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why a registry cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The URL is not one this build can reach.
    #[error("invalid schema registry URL {url:?}: {reason}")]
    Url {
        /// The URL as given, with any user information and query shown as `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file for the registry's TLS cannot be used.
    #[error("cannot use the schema registry CA file {}: {reason}", path.display())]
    CaFile {
        /// The file as given.
        path: PathBuf,
        /// Why: unreadable, no PEM certificate in it, or not needed by the URL.
        reason: String,
    },
    /// The credentials cannot be sent as HTTP basic auth.
    #[error("invalid schema registry credentials: {0}")]
    Auth(String),
}

/// A schema registry: its URL, credentials, CA file and deadlines. [`connect`](Self::connect)
/// checks them and builds the [`RegistryClient`].
///
/// For Confluent Cloud, the registry is `https://` (the `tls` feature) with its own API key and
/// secret as basic auth.
#[derive(Clone)]
#[must_use = "a configuration does nothing until `connect` is called"]
pub struct RegistryConfig {
    pub(crate) url: String,
    pub(crate) basic_auth: Option<(String, SecretString)>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) timeout: Duration,
    pub(crate) retry_after: Duration,
}

impl RegistryConfig {
    /// The registry at `url` (`http://host[:port][/path]`, or `https://` with the `tls`
    /// feature), without credentials, with the default deadlines.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            basic_auth: None,
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
            retry_after: DEFAULT_RETRY_AFTER,
        }
    }

    /// Authenticates with HTTP basic auth (Confluent Cloud: the schema registry API key and
    /// secret).
    pub fn with_basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Trusts the certificate authorities in this PEM file, instead of the webpki roots, for the
    /// registry's TLS (an `https://` URL; with `http://`, [`connect`](Self::connect) refuses it
    /// rather than ignore it). The file is read by `connect`.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Bounds one request, from connecting to reading the whole response (default
    /// [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a failed lookup is remembered by a [`SchemaCache`] made with
    /// [`RegistryClient::cache`] (default [`DEFAULT_RETRY_AFTER`]): until then, messages with
    /// that schema id fail at once with the same reason; the first one after it asks again.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Checks the URL, the credentials and the CA file, and builds the client. No request is
    /// made.
    ///
    /// # Errors
    /// - [`RegistryError::Url`] when the URL is not `http://host[:port][/path]` (or
    ///   `https://` with the `tls` feature), or carries credentials (use
    ///   [`with_basic_auth`](Self::with_basic_auth), which keeps them out of messages).
    /// - [`RegistryError::Auth`] when the user name is empty or contains `:`, which basic
    ///   auth cannot carry.
    /// - [`RegistryError::CaFile`] when the CA file cannot be read, holds no PEM certificate,
    ///   or is given for an `http://` URL.
    pub fn connect(self) -> Result<RegistryClient, RegistryError> {
        RegistryClient::new(self)
    }
}

impl fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("url", &redacted_url(&self.url))
            .field(
                "basic_auth_user",
                &self.basic_auth.as_ref().map(|(user, _)| user),
            )
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// `url` for messages: user information (before `@` in the authority) and any query or
/// fragment replaced by `***`.
///
/// ```
/// use truthound_registry::redacted_url;
///
/// assert_eq!(redacted_url("https://key:secret@host/p?token=x"), "https://***@host/p?***");
/// ```
pub fn redacted_url(url: &str) -> String {
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
pub(crate) fn check_url(url: &str) -> Result<String, RegistryError> {
    let invalid = |reason: &str| RegistryError::Url {
        url: redacted_url(url),
        reason: reason.to_owned(),
    };
    let base = url.trim().trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        rest
    } else if let Some(rest) = base.strip_prefix("https://") {
        if !cfg!(feature = "tls") {
            return Err(invalid(
                "https registries need a build with the `tls` feature",
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

/// The `Authorization` header for basic auth, and the secrets to scrub from messages: the
/// password and its base64 form.
pub(crate) fn basic_auth(
    user: &str,
    password: &SecretString,
) -> Result<(SecretString, Vec<SecretString>), RegistryError> {
    if user.is_empty() || user.contains(':') {
        return Err(RegistryError::Auth(format!(
            "the user name {user:?} is empty or contains ':', which HTTP basic auth cannot carry"
        )));
    }
    let pair = SecretString::from(format!("{user}:{}", password.expose_secret()));
    let token = SecretString::from(base64(pair.expose_secret().as_bytes()));
    let header = SecretString::from(format!("Basic {}", token.expose_secret()));
    Ok((header, vec![password.clone(), token]))
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
            assert!(matches!(err, RegistryError::Url { .. }), "{bad}: {err}");
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
    fn basic_auth_refuses_user_names_it_cannot_carry() {
        let password = SecretString::from("pw");
        for user in ["", "a:b"] {
            assert!(matches!(
                basic_auth(user, &password),
                Err(RegistryError::Auth(_))
            ));
        }
        let (header, secrets) = basic_auth("user", &password).unwrap();
        assert_eq!(header.expose_secret(), "Basic dXNlcjpwdw==");
        assert_eq!(secrets.len(), 2);
    }
}
