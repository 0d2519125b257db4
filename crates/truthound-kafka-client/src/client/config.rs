//! Client settings.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// How the client talks to brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// Plain TCP.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl std::str::FromStr for SecurityProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(Self::Plaintext),
            "SSL" => Ok(Self::Ssl),
            "SASL_PLAINTEXT" => Ok(Self::SaslPlaintext),
            "SASL_SSL" => Ok(Self::SaslSsl),
            other => Err(format!(
                "unknown security protocol {other:?}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )),
        }
    }
}

impl std::fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        })
    }
}

/// Settings of a [`KafkaClient`](crate::KafkaClient), built with `ClientConfig::new(..).with_*(..)`.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` of brokers to bootstrap from; the first that answers wins.
    pub bootstrap_servers: Vec<String>,
    /// The client id sent with every request.
    pub client_id: String,
    /// Time allowed for a TCP connection (and handshake) to a broker.
    pub connect_timeout: Duration,
    /// Time allowed for one request's response.
    pub request_timeout: Duration,
    /// How the client talks to brokers.
    pub security_protocol: SecurityProtocol,
    /// How long a retriable failure (leader moved, no leader, connection lost or refused, no
    /// broker reachable, coordinator moving) is retried, with backoff, before the operation
    /// fails with the last error. A [deadline](crate::KafkaClient::with_deadline) given to the
    /// client takes its place. The default, 30 s, outlasts a leader election after a broker
    /// dies (KRaft's `broker.session.timeout.ms` is 9 s).
    pub retry_timeout: Duration,
    /// First wait before a retry; it doubles up to [`ClientConfig::retry_backoff_max`].
    pub retry_backoff: Duration,
    /// Longest wait between retries.
    pub retry_backoff_max: Duration,
    /// Largest response frame accepted from a broker.
    pub max_response_bytes: usize,
    /// TLS settings, used by `SSL` and `SASL_SSL`; `None` there means [`TlsConfig::new`]
    /// (the webpki root certificates, no client certificate).
    pub tls: Option<TlsConfig>,
    /// SASL settings, required by `SASL_PLAINTEXT` and `SASL_SSL`.
    pub sasl: Option<SaslConfig>,
}

impl ClientConfig {
    /// Settings for these bootstrap servers (`"host:port"`, or a comma-separated list).
    pub fn new<I, S>(bootstrap_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            bootstrap_servers: bootstrap_servers
                .into_iter()
                .flat_map(|s| {
                    s.as_ref()
                        .split(',')
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect::<Vec<_>>()
                })
                .collect(),
            client_id: "truthound".to_owned(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            security_protocol: SecurityProtocol::Plaintext,
            retry_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(50),
            retry_backoff_max: Duration::from_secs(1),
            max_response_bytes: 512 * 1024 * 1024,
            tls: None,
            sasl: None,
        }
    }

    /// Sets the client id.
    pub fn with_client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets the request timeout.
    pub fn with_request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Sets the security protocol.
    pub fn with_security_protocol(mut self, p: SecurityProtocol) -> Self {
        self.security_protocol = p;
        self
    }

    /// Sets how long retriable failures are retried (without a deadline).
    pub fn with_retry_timeout(mut self, t: Duration) -> Self {
        self.retry_timeout = t;
        self
    }

    /// Sets the TLS settings (used when the security protocol is `SSL` or `SASL_SSL`).
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the SASL settings (used when the security protocol is `SASL_PLAINTEXT` or
    /// `SASL_SSL`).
    pub fn with_sasl(mut self, sasl: SaslConfig) -> Self {
        self.sasl = Some(sasl);
        self
    }
}

/// TLS settings: which certificate authorities to trust and, optionally, a client certificate.
///
/// The server name checked against each broker's certificate is the host part of the broker's
/// address (a DNS name or an IP address), as the cluster's metadata advertises it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM file with the CA certificates to trust; `None` trusts the webpki (Mozilla) roots.
    pub ca_file: Option<PathBuf>,
    /// PEM file with the client's certificate chain, for brokers that require client
    /// certificates (mutual TLS); needs [`TlsConfig::client_key_file`].
    pub client_cert_file: Option<PathBuf>,
    /// PEM file with the client's private key (PKCS#8, PKCS#1 or SEC1).
    pub client_key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// Trusts the webpki (Mozilla) root certificates; no client certificate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates in this PEM file instead of the webpki roots.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate chain and private key (PEM files).
    pub fn with_client_cert(
        mut self,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert_file = Some(cert_file.into());
        self.client_key_file = Some(key_file.into());
        self
    }
}

/// SASL mechanisms the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslMechanism {
    /// `PLAIN` (RFC 4616): user name and password in the clear; use it over TLS only.
    Plain,
    /// `SCRAM-SHA-256` (RFC 5802, RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
}

impl SaslMechanism {
    /// The mechanism's name as Kafka spells it (`SCRAM-SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl std::fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(Self::Plain),
            "SCRAM-SHA-256" => Ok(Self::ScramSha256),
            "SCRAM-SHA-512" => Ok(Self::ScramSha512),
            _ => Err(format!(
                "unknown sasl_mechanism {s:?}: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
            )),
        }
    }
}

/// SASL credentials. The password is a [`SecretString`]: `Debug` shows it as `[REDACTED]`,
/// it has no `Display`, and its memory is zeroed when dropped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SaslConfig {
    /// The mechanism.
    pub mechanism: SaslMechanism,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: SecretString,
}

impl SaslConfig {
    /// Credentials for `mechanism`.
    pub fn new(
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self {
            mechanism,
            username: username.into(),
            password: password.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = ClientConfig::new(["b:9092"]).with_sasl(SaslConfig::new(
            SaslMechanism::ScramSha512,
            "alice",
            "hunter2",
        ));
        let shown = format!("{config:?}");
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
