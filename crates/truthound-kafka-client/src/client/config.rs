//! Client settings.

use std::time::Duration;

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
    /// How many times a retriable failure (leader moved, connection lost) is retried.
    pub retries: u32,
    /// First wait before a retry; it doubles up to [`ClientConfig::retry_backoff_max`].
    pub retry_backoff: Duration,
    /// Longest wait between retries.
    pub retry_backoff_max: Duration,
    /// Largest response frame accepted from a broker.
    pub max_response_bytes: usize,
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
            retries: 8,
            retry_backoff: Duration::from_millis(50),
            retry_backoff_max: Duration::from_secs(1),
            max_response_bytes: 512 * 1024 * 1024,
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

    /// Sets how many times retriable failures are retried.
    pub fn with_retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
}
