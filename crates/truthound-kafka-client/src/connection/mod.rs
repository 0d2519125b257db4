//! One connection to one broker: socket, frames, correlation ids, many requests in flight.
//!
//! A writer holds the write half behind a mutex and writes whole frames; a reader task owns the
//! read half and hands each response frame to the request waiting for its correlation id. When
//! the socket fails, every waiting request gets the error and the connection is marked dead, so
//! the client layer drops it and reconnects.
//!
//! Security plugs in at [`Transport`]: the connection only needs a byte stream (plain TCP, or
//! TLS from [`tls`]), and the SASL exchange ([`sasl`]) runs on the connection after ApiVersions
//! and before it is handed out.

mod sasl;
mod tls;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::client::{SaslConfig, SaslMechanism};
use crate::protocol::{self, ProtocolError, VersionTable};

pub(crate) use tls::Tls;

/// Errors of the connection layer. Each names the broker address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The TCP connection could not be made.
    #[error("cannot connect to broker {broker}: {source}")]
    Connect {
        /// The broker's address.
        broker: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection was not made within the connect timeout.
    #[error("connecting to broker {broker} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The broker's address.
        broker: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// The TCP connection was made but the TLS handshake got no answer within the connect
    /// timeout: typically a listener that does not speak TLS (a plaintext Kafka listener waits
    /// silently for a request), or a broker that hangs.
    #[error(
        "TLS handshake with broker {broker} got no answer within {timeout:?}: does the broker's \
         listener speak TLS? (a plaintext Kafka listener waits silently for a request)"
    )]
    TlsHandshakeTimeout {
        /// The broker's address.
        broker: String,
        /// The connect timeout that ran out.
        timeout: Duration,
    },
    /// The connection failed while a request was in flight or being sent.
    #[error("connection to broker {broker} failed: {reason}")]
    Io {
        /// The broker's address.
        broker: String,
        /// What went wrong.
        reason: String,
    },
    /// No response came within the request timeout.
    #[error("{api} request to broker {broker} timed out after {timeout:?}")]
    RequestTimeout {
        /// The broker's address.
        broker: String,
        /// The request's API.
        api: &'static str,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// Encoding or decoding failed.
    #[error("broker {broker}: {source}")]
    Protocol {
        /// The broker's address.
        broker: String,
        /// The protocol error.
        #[source]
        source: ProtocolError,
    },
    /// The broker answered ApiVersions with an error code.
    #[error("broker {broker} refused ApiVersions with {code}")]
    Handshake {
        /// The broker's address.
        broker: String,
        /// Kafka's name of the error code.
        code: String,
    },
    /// The security settings do not fit together (e.g. a SASL protocol without credentials).
    #[error("invalid security settings: {0}")]
    InvalidSecurity(String),
    /// A TLS file (CA, client certificate or key) could not be used.
    #[error("TLS setup failed{}: {reason}", .path.as_ref().map(|p| format!(" for {}", p.display())).unwrap_or_default())]
    TlsSetup {
        /// The file at fault, when it is about a file.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// The TLS handshake with the broker failed (untrusted certificate, wrong host name, a
    /// listener that does not speak TLS).
    #[error("TLS handshake with broker {broker} failed: {reason}")]
    Tls {
        /// The broker's address.
        broker: String,
        /// What rustls reported, with a hint.
        reason: String,
    },
    /// The broker does not enable the SASL mechanism asked for.
    #[error("broker {broker} does not enable SASL mechanism {mechanism}; it enables: {}", if .enabled.is_empty() { "none".to_owned() } else { .enabled.join(", ") })]
    SaslMechanismNotEnabled {
        /// The broker's address.
        broker: String,
        /// The mechanism asked for.
        mechanism: SaslMechanism,
        /// The mechanisms the broker enables, as its SaslHandshake response lists them.
        enabled: Vec<String>,
    },
    /// The broker refused the credentials (SASL_AUTHENTICATION_FAILED or a SCRAM `e=` error).
    /// The password is never part of the message.
    #[error(
        "broker {broker} refused SASL {mechanism} authentication of user {username:?}: {message}"
    )]
    SaslAuthentication {
        /// The broker's address.
        broker: String,
        /// The mechanism used.
        mechanism: SaslMechanism,
        /// The user name presented.
        username: String,
        /// The broker's error (Kafka error name and message).
        message: String,
    },
    /// The SASL exchange went wrong other than by refused credentials: an unexpected message,
    /// a server signature that does not verify, an unusable SaslHandshake version.
    #[error("SASL {mechanism} exchange with broker {broker} failed: {reason}")]
    Sasl {
        /// The broker's address.
        broker: String,
        /// The mechanism used.
        mechanism: SaslMechanism,
        /// What went wrong.
        reason: String,
    },
}

impl ConnectionError {
    /// Whether the error comes from security settings or credentials: retrying or trying
    /// another broker with the same settings will not help.
    pub fn is_security(&self) -> bool {
        matches!(
            self,
            Self::InvalidSecurity(_)
                | Self::TlsSetup { .. }
                | Self::Tls { .. }
                | Self::SaslMechanismNotEnabled { .. }
                | Self::SaslAuthentication { .. }
                | Self::Sasl { .. }
        )
    }
}

/// A connected byte stream to a broker: plain TCP, or TLS over TCP.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// Settings for one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) client_id: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_frame_bytes: usize,
    /// TLS connector, for `SSL` and `SASL_SSL`.
    pub(crate) tls: Option<Tls>,
    /// SASL credentials, for `SASL_PLAINTEXT` and `SASL_SSL`.
    pub(crate) sasl: Option<SaslConfig>,
}

type Pending = HashMap<i32, oneshot::Sender<Result<Bytes, ConnectionError>>>;

struct Shared {
    broker: String,
    pending: Mutex<Pending>,
    dead: AtomicBool,
    /// The fatal TLS alert the broker ended the session with, if it did.
    tls_alert: Mutex<Option<rustls::AlertDescription>>,
}

impl Shared {
    fn fail_all(&self, reason: &str) {
        self.dead.store(true, Ordering::SeqCst);
        let pending = std::mem::take(&mut *lock(&self.pending));
        for (_, tx) in pending {
            let _ = tx.send(Err(ConnectionError::Io {
                broker: self.broker.clone(),
                reason: reason.to_owned(),
            }));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock leaves a plain map behind; keep going with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A connection to one broker, ready for requests (ApiVersions done).
pub(crate) struct Connection {
    shared: Arc<Shared>,
    writer: tokio::sync::Mutex<WriteHalf<Box<dyn Transport>>>,
    next_correlation_id: AtomicI32,
    versions: VersionTable,
    settings: ConnectionSettings,
    reader: tokio::task::JoinHandle<()>,
    /// When the SASL session is about to expire: from then on the connection is not handed
    /// out for new requests.
    retire_at: Option<Instant>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("broker", &self.shared.broker)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens a connection to `broker` (`host:port`): TCP, then TLS when configured (both
    /// within the connect timeout), ApiVersions, then SASL when configured.
    pub(crate) async fn connect(
        broker: &str,
        settings: &ConnectionSettings,
    ) -> Result<Self, ConnectionError> {
        let timeout = settings.connect_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let tcp = tokio::time::timeout_at(deadline, TcpStream::connect(broker))
            .await
            .map_err(|_| ConnectionError::ConnectTimeout {
                broker: broker.to_owned(),
                timeout,
            })?
            .map_err(|source| ConnectionError::Connect {
                broker: broker.to_owned(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let transport: Box<dyn Transport> = match &settings.tls {
            // The handshake gets what is left of the connect timeout: a listener that accepts
            // and never answers (a plaintext one waits for a Kafka request) cannot stall it.
            Some(tls) => Box::new(
                tokio::time::timeout_at(deadline, tls.connect(broker, tcp))
                    .await
                    .map_err(|_| ConnectionError::TlsHandshakeTimeout {
                        broker: broker.to_owned(),
                        timeout,
                    })??,
            ),
            None => Box::new(tcp),
        };
        let mut conn = Self::handshake(broker, transport, settings).await?;
        if let Some(sasl) = &settings.sasl {
            let started = Instant::now();
            if let Some(lifetime) = sasl::authenticate(&conn, sasl).await? {
                // KIP-368: the broker closes a connection whose session has expired. The
                // connection is retired at 85% of its lifetime (the Java client
                // re-authenticates between 85% and 95%): requests under way finish on it, new
                // ones go to a fresh connection that authenticates again.
                conn.retire_at = Some(started + lifetime.mul_f64(0.85));
            }
        }
        Ok(conn)
    }

    /// Runs ApiVersions on an open transport and returns the ready connection.
    pub(crate) async fn handshake(
        broker: &str,
        transport: Box<dyn Transport>,
        settings: &ConnectionSettings,
    ) -> Result<Self, ConnectionError> {
        let (read, write) = tokio::io::split(transport);
        let shared = Arc::new(Shared {
            broker: broker.to_owned(),
            pending: Mutex::new(HashMap::new()),
            dead: AtomicBool::new(false),
            tls_alert: Mutex::new(None),
        });
        let reader = tokio::spawn(read_loop(read, shared.clone(), settings.max_frame_bytes));
        let mut conn = Self {
            shared,
            writer: tokio::sync::Mutex::new(write),
            next_correlation_id: AtomicI32::new(0),
            versions: VersionTable::default(),
            settings: settings.clone(),
            reader,
            retire_at: None,
        };
        conn.versions = match conn.negotiate().await {
            Ok(versions) => versions,
            // A TLS 1.3 broker that refuses the client certificate says so with an alert on
            // the first read, after the handshake looked complete.
            Err(e) => return Err(conn.refused_by_tls().unwrap_or(e)),
        };
        Ok(conn)
    }

    /// The broker's TLS refusal as an error, when it ended the session with a fatal alert.
    fn refused_by_tls(&self) -> Option<ConnectionError> {
        let alert = (*lock(&self.shared.tls_alert))?;
        Some(ConnectionError::Tls {
            broker: self.broker().to_owned(),
            reason: tls::alert_reason(alert),
        })
    }

    /// ApiVersions: try v3 (flexible, with client software name), fall back to v0 when the
    /// broker answers UNSUPPORTED_VERSION (it then lists its versions in a v0 body).
    async fn negotiate(&self) -> Result<VersionTable, ConnectionError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(protocol::CLIENT_SOFTWARE_NAME))
            .with_client_software_version(StrBytes::from_static_str(
                protocol::CLIENT_SOFTWARE_VERSION,
            ));
        // A broker that does not know v3 answers in the v0 layout with UNSUPPORTED_VERSION,
        // which may not even decode as v3.
        let response = match self.send(&request, 3).await {
            Ok(r) if r.error_code != 35 => r,
            Ok(_) | Err(ConnectionError::Protocol { .. }) => self.send(&request, 0).await?,
            Err(e) => return Err(e),
        };
        if response.error_code != 0 {
            return Err(ConnectionError::Handshake {
                broker: self.broker().to_owned(),
                code: protocol::error_code_name(response.error_code),
            });
        }
        Ok(VersionTable::from_response(&response))
    }

    /// The broker's address.
    pub(crate) fn broker(&self) -> &str {
        &self.shared.broker
    }

    /// Whether the socket has failed; a dead connection is replaced, never reused.
    pub(crate) fn is_dead(&self) -> bool {
        self.shared.dead.load(Ordering::SeqCst)
    }

    /// Whether new requests may use this connection: it is alive and its SASL session (if it
    /// has a lifetime) is not about to expire.
    pub(crate) fn is_usable(&self) -> bool {
        !self.is_dead() && self.retire_at.is_none_or(|at| Instant::now() < at)
    }

    /// The version the request will be sent at.
    pub(crate) fn version_for(&self, key: ApiKey) -> Result<i16, ConnectionError> {
        self.versions
            .choose(key)
            .map_err(|source| ConnectionError::Protocol {
                broker: self.broker().to_owned(),
                source,
            })
    }

    /// Sends a request at the highest common version and waits for its response.
    pub(crate) async fn request<R: Request>(
        &self,
        request: &R,
    ) -> Result<(R::Response, i16), ConnectionError> {
        let key = api_key::<R>();
        let version = self.version_for(key)?;
        Ok((self.send(request, version).await?, version))
    }

    /// Sends a request at `version` and waits for its response.
    pub(crate) async fn send<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, ConnectionError> {
        let api = protocol::api_name(api_key::<R>());
        let frame = self.round_trip(request, version, api).await?;
        protocol::decode_response::<R>(frame, version).map_err(|source| ConnectionError::Protocol {
            broker: self.broker().to_owned(),
            source,
        })
    }

    async fn round_trip<R: Request>(
        &self,
        request: &R,
        version: i16,
        api: &'static str,
    ) -> Result<Bytes, ConnectionError> {
        if self.is_dead() {
            return Err(self.io_error("connection is closed"));
        }
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame =
            protocol::encode_request(request, version, correlation_id, &self.settings.client_id)
                .map_err(|source| ConnectionError::Protocol {
                    broker: self.broker().to_owned(),
                    source,
                })?;
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(correlation_id, tx);
        // From here on, however this future ends (also by being dropped), the guard leaves
        // the connection consistent: no stale waiter, and no half-written frame on a socket
        // that is still used.
        let mut guard = InFlight {
            shared: &self.shared,
            correlation_id,
            stage: Stage::Queued,
        };
        // Check again: the reader may have failed between the first check and the insert.
        if self.is_dead() {
            return Err(self.io_error("connection is closed"));
        }
        let timeout = self.settings.request_timeout;
        let timed_out = || ConnectionError::RequestTimeout {
            broker: self.broker().to_owned(),
            api,
            timeout,
        };
        // Waiting for the writer is not yet a fault of the connection.
        let mut writer = tokio::time::timeout(timeout, self.writer.lock())
            .await
            .map_err(|_| timed_out())?;
        guard.stage = Stage::Writing;
        let write = async {
            writer.write_all(&frame).await?;
            writer.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                guard.stage = Stage::Finished;
                self.shared.fail_all(&format!("write failed: {e}"));
                return Err(self.io_error(&format!("write failed: {e}")));
            }
            Err(_) => {
                guard.stage = Stage::Finished;
                // A half-written frame leaves the stream unusable.
                self.shared.fail_all("write timed out");
                return Err(timed_out());
            }
        }
        drop(writer);
        guard.stage = Stage::Sent;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => {
                guard.stage = Stage::Finished;
                result
            }
            Ok(Err(_)) => {
                guard.stage = Stage::Finished;
                Err(self.io_error("connection closed before the response arrived"))
            }
            Err(_) => {
                guard.stage = Stage::Finished;
                // A broker that does not answer in time is treated as gone, as Kafka's own
                // clients do: the connection is closed and the next request reconnects.
                self.shared
                    .fail_all(&format!("no response to {api} within {timeout:?}"));
                Err(timed_out())
            }
        }
    }

    fn io_error(&self, reason: &str) -> ConnectionError {
        ConnectionError::Io {
            broker: self.broker().to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// How far a request got, for [`InFlight`]'s clean-up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Registered, frame not yet written.
    Queued,
    /// Frame partly written.
    Writing,
    /// Frame written, response awaited.
    Sent,
    /// Done; nothing to clean up.
    Finished,
}

/// Cleans up after a request that did not finish normally (an error path, or the caller
/// dropping the future, for example on a timeout of its own).
struct InFlight<'a> {
    shared: &'a Shared,
    correlation_id: i32,
    stage: Stage,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        match self.stage {
            Stage::Finished => {}
            Stage::Writing => self
                .shared
                .fail_all("a request was cancelled while its frame was being written"),
            Stage::Queued | Stage::Sent => {
                lock(&self.shared.pending).remove(&self.correlation_id);
            }
        }
    }
}

/// The API key of a request type.
pub(crate) fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)
}

/// Bytes a response frame gets at once; larger frames grow as their bytes arrive, so a length
/// that lies costs memory only for the bytes actually sent.
const FRAME_CHUNK: usize = 8 * 1024 * 1024;

/// Reads a frame of `size` bytes into memory that is neither zeroed first nor larger than
/// what arrived (beyond [`FRAME_CHUNK`]).
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    read: &mut R,
    size: usize,
) -> std::io::Result<BytesMut> {
    let mut frame = BytesMut::with_capacity(size.min(FRAME_CHUNK));
    while frame.len() < size {
        let left = size - frame.len();
        if frame.capacity() == frame.len() {
            frame.reserve(left.min(frame.len().max(FRAME_CHUNK)));
        }
        let n = (&mut *read).take(left as u64).read_buf(&mut frame).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(frame)
}

/// Whether a frame's length bytes are the start of a TLS record (an alert or a handshake from
/// a TLS listener that got a plaintext request): 0x15 or 0x16, then version 3.x.
pub(crate) fn looks_like_tls(len: [u8; 4]) -> bool {
    matches!(len, [0x15 | 0x16, 0x03, 0x00..=0x04, _])
}

async fn read_loop(
    mut read: ReadHalf<Box<dyn Transport>>,
    shared: Arc<Shared>,
    max_frame_bytes: usize,
) {
    let reason = loop {
        let mut len = [0u8; 4];
        if let Err(e) = read.read_exact(&mut len).await {
            if let Some(rustls::Error::AlertReceived(alert)) = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                *lock(&shared.tls_alert) = Some(*alert);
                break tls::alert_reason(*alert);
            }
            break if e.kind() == std::io::ErrorKind::UnexpectedEof {
                "the broker closed the connection".to_owned()
            } else {
                format!("read failed: {e}")
            };
        }
        let size = i32::from_be_bytes(len);
        if looks_like_tls(len) {
            break "the broker answered with TLS: its listener expects TLS, so connect with \
                   security_protocol SSL (or SASL_SSL)"
                .to_owned();
        }
        if size < 4 || size as usize > max_frame_bytes {
            break format!("invalid response frame size {size} (limit {max_frame_bytes} bytes)");
        }
        let frame = match read_frame(&mut read, size as usize).await {
            Ok(frame) => frame,
            Err(e) => {
                break if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    "the broker closed the connection in the middle of a response".to_owned()
                } else {
                    format!("read failed: {e}")
                };
            }
        };
        let frame = frame.freeze();
        let Some(correlation_id) = protocol::peek_correlation_id(&frame) else {
            break "response frame without correlation id".to_owned();
        };
        let waiter = lock(&shared.pending).remove(&correlation_id);
        match waiter {
            Some(tx) => {
                let _ = tx.send(Ok(frame));
            }
            // The request timed out and was given up; its late response is dropped.
            None => {
                tracing::debug!(broker = %shared.broker, correlation_id, "late response dropped")
            }
        }
    };
    tracing::debug!(broker = %shared.broker, %reason, "connection closed");
    shared.fail_all(&reason);
}
