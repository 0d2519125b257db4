//! The public client: bootstrap, metadata cache, leader routing, and the calls a bounded
//! reader needs (list-offsets, fetch, produce, offsets without joining a group, topics).
//!
//! [`KafkaClient`] is cheap to clone (an `Arc` inside) and safe to share between tasks; it keeps
//! one connection per broker and routes each partition's requests to its leader.

mod admin;
mod config;
mod error;
mod fetch;
mod offsets;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

pub use admin::{Acks, ProduceOptions};
pub use config::{ClientConfig, SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig};
pub use error::{Error, Result};
pub use fetch::{
    BoundedReader, FetchOptions, FetchedChunk, IsolationLevel, LogStartMoved, PartitionRange,
    PartitionRecords,
};
pub use offsets::OffsetSpec;

use crate::connection::{Connection, ConnectionError, ConnectionSettings, Tls};

/// A partition of a topic as the cluster's metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The partition number.
    pub partition: i32,
    /// The node id of its leader, or -1 when it has none right now.
    pub leader: i32,
}

/// A topic as the cluster's metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic's name.
    pub name: String,
    /// The topic's id (all zero on brokers without topic ids).
    pub topic_id: [u8; 16],
    /// Its partitions, sorted by number.
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    /// The partition numbers, sorted.
    pub fn partition_ids(&self) -> Vec<i32> {
        self.partitions.iter().map(|p| p.partition).collect()
    }
}

/// A Kafka client for bounded reads. See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct KafkaClient {
    inner: Arc<Inner>,
    /// When operations of this handle give up (see [`KafkaClient::with_deadline`]).
    deadline: Option<Instant>,
}

impl std::fmt::Debug for KafkaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaClient")
            .field("bootstrap_servers", &self.inner.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: ClientConfig,
    settings: ConnectionSettings,
    /// Node id → `host:port`.
    brokers: RwLock<HashMap<i32, String>>,
    /// The controller's node id, from the last metadata response.
    controller: RwLock<Option<i32>>,
    /// `host:port` → that broker's connection slot. Each slot has its own lock, so connecting
    /// to a slow broker holds up only requests to that broker. Dead connections are replaced
    /// on next use.
    connections: std::sync::Mutex<HashMap<String, Slot>>,
    /// Topic name → metadata; entries are dropped when a request finds them stale.
    topics: RwLock<HashMap<String, Arc<TopicMetadata>>>,
    /// Topic name → the error code the last metadata response gave for it.
    topic_errors: RwLock<HashMap<String, i16>>,
}

/// One broker's connection, behind a lock held while (re)connecting.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

/// Whether `err` is a connection lost in the middle of a response, during connecting.
fn lost_mid_response(err: &Error) -> bool {
    const MID_RESPONSE: &str = "in the middle of a response";
    match err {
        Error::Connection(ConnectionError::Io { reason, .. }) => reason.contains(MID_RESPONSE),
        Error::NoBrokerReachable { tried } => {
            tried.iter().any(|(_, why)| why.contains(MID_RESPONSE))
        }
        _ => false,
    }
}

/// A broker whose listener requires SASL answers ApiVersions, then closes the connection at the
/// first other request of a client that did not authenticate: say so, instead of only "closed".
fn hint_authentication(err: Error, protocol: SecurityProtocol) -> Error {
    match err {
        Error::Connection(ConnectionError::Io { broker, reason })
            if matches!(
                protocol,
                SecurityProtocol::Plaintext | SecurityProtocol::Ssl
            ) && reason.contains("closed the connection") =>
        {
            Error::Connection(ConnectionError::Io {
                broker,
                reason: format!(
                    "{reason} after the handshake: does its listener require SASL \
                     authentication? (security protocol is {protocol}; set SASL_SSL or \
                     SASL_PLAINTEXT with a mechanism, user name and password)"
                ),
            })
        }
        other => other,
    }
}

impl KafkaClient {
    /// Connects to the first bootstrap broker that answers and loads the cluster's brokers.
    ///
    /// With `SSL` and `SASL_SSL` every connection is TLS (see [`TlsConfig`]); with
    /// `SASL_PLAINTEXT` and `SASL_SSL` every connection authenticates with the
    /// [`SaslConfig`] before it is used.
    ///
    /// Fails with [`Error::NoBrokerReachable`] naming every address tried and why. A security
    /// failure (unreadable TLS file, untrusted certificate, refused credentials, a SASL
    /// mechanism the broker does not enable) is returned as it is, as
    /// [`Error::Connection`], without trying the other bootstrap servers.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        let protocol = config.security_protocol;
        let tls = match protocol {
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => Some(Tls::new(
                config.tls.as_ref().unwrap_or(&TlsConfig::default()),
            )?),
            _ => None,
        };
        let sasl = match protocol {
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
                Some(config.sasl.clone().ok_or_else(|| {
                    ConnectionError::InvalidSecurity(format!(
                        "security protocol {protocol} needs SASL credentials \
                         (ClientConfig::with_sasl)"
                    ))
                })?)
            }
            _ => None,
        };
        let settings = ConnectionSettings {
            client_id: config.client_id.clone(),
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            max_frame_bytes: config.max_response_bytes,
            tls,
            sasl,
        };
        let client = Self {
            deadline: None,
            inner: Arc::new(Inner {
                config,
                settings,
                brokers: RwLock::new(HashMap::new()),
                controller: RwLock::new(None),
                connections: std::sync::Mutex::new(HashMap::new()),
                topics: RwLock::new(HashMap::new()),
                topic_errors: RwLock::new(HashMap::new()),
            }),
        };
        // A connection lost in the middle of a response (a network blip, a broker restarting)
        // is retried within retry_timeout; a broker that refuses connections, or closes them
        // before answering, fails at once: the address or the settings are wrong.
        let started = Instant::now();
        let mut backoff = client.inner.config.retry_backoff;
        loop {
            let attempt = async {
                client.bootstrap().await?;
                client.refresh_metadata(&[]).await.map(drop)
            };
            match attempt.await {
                Ok(()) => return Ok(client),
                Err(err)
                    if lost_mid_response(&err)
                        && started.elapsed() + backoff < client.inner.config.retry_timeout =>
                {
                    tracing::debug!(error = %err, "connecting again");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(client.inner.config.retry_backoff_max);
                }
                Err(err) => return Err(hint_authentication(err, protocol)),
            }
        }
    }

    /// The settings this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A handle to the same client (same connections and metadata) whose operations end by
    /// `deadline`: retriable failures are retried until then instead of for
    /// [`ClientConfig::retry_timeout`], and a request still under way then is given up. An
    /// operation that runs out of time fails with [`Error::RetriesExhausted`] carrying the
    /// last failure, or [`Error::Timeout`] when there was none.
    #[must_use]
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            inner: self.inner.clone(),
            deadline: Some(deadline),
        }
    }

    /// The deadline set by [`KafkaClient::with_deadline`].
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    async fn bootstrap(&self) -> Result<Arc<Connection>> {
        let mut tried = Vec::new();
        for addr in &self.inner.config.bootstrap_servers {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) if e.is_security() => return Err(e.into()),
                Err(e) => tried.push((addr.clone(), short_reason(&e))),
            }
        }
        Err(Error::NoBrokerReachable { tried })
    }

    /// The connection to `addr`, opened if there is none or the last one died.
    async fn connection(&self, addr: &str) -> Result<Arc<Connection>, ConnectionError> {
        let slot = self
            .inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr.to_owned())
            .or_default()
            .clone();
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.is_usable()) {
            return Ok(c.clone());
        }
        let conn = Arc::new(Connection::connect(addr, &self.inner.settings).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Any live connection: an open one, else a known broker, else a bootstrap server.
    async fn any_connection(&self) -> Result<Arc<Connection>> {
        let slots: Vec<Slot> = self
            .inner
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for slot in slots {
            // A slot being connected is skipped rather than waited for.
            if let Ok(guard) = slot.try_lock()
                && let Some(c) = guard.as_ref().filter(|c| c.is_usable())
            {
                return Ok(c.clone());
            }
        }
        let known: Vec<String> = read(&self.inner.brokers).values().cloned().collect();
        for addr in known {
            if let Ok(c) = self.connection(&addr).await {
                return Ok(c);
            }
        }
        self.bootstrap().await
    }

    /// The connection to node `id`.
    async fn broker_connection(&self, id: i32) -> Result<Arc<Connection>> {
        let addr = read(&self.inner.brokers).get(&id).cloned();
        let addr = match addr {
            Some(a) => a,
            None => {
                self.refresh_metadata(&[]).await?;
                read(&self.inner.brokers).get(&id).cloned().ok_or_else(|| {
                    Error::UnexpectedResponse(format!("node {id} is not in the cluster metadata"))
                })?
            }
        };
        Ok(self.connection(&addr).await?)
    }

    /// The controller's connection (for creating and deleting topics).
    async fn controller_connection(&self) -> Result<Arc<Connection>> {
        let id = *read(&self.inner.controller);
        match id {
            Some(id) if id >= 0 => self.broker_connection(id).await,
            _ => self.any_connection().await,
        }
    }

    /// Asks the cluster for metadata of `topics` (all topics when empty) and updates the
    /// broker list and topic cache. Never creates a topic.
    pub async fn refresh_metadata(&self, topics: &[&str]) -> Result<Vec<TopicMetadata>> {
        let conn = self.any_connection().await?;
        let request = MetadataRequest::default()
            .with_topics(if topics.is_empty() {
                None
            } else {
                Some(
                    topics
                        .iter()
                        .map(|t| {
                            MetadataRequestTopic::default()
                                .with_name(Some(TopicName(StrBytes::from_string((*t).to_owned()))))
                        })
                        .collect(),
                )
            })
            .with_allow_auto_topic_creation(false);
        let (response, _) = conn.request(&request).await?;
        {
            let mut brokers = write(&self.inner.brokers);
            for b in &response.brokers {
                brokers.insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
            }
        }
        *write(&self.inner.controller) = Some(response.controller_id.0);
        let mut out = Vec::new();
        let mut cache = write(&self.inner.topics);
        for t in response.topics {
            let Some(name) = t.name.map(|n| n.0.as_str().to_owned()) else {
                continue;
            };
            if t.error_code != 0 {
                cache.remove(&name);
                write(&self.inner.topic_errors).insert(name, t.error_code);
                continue;
            }
            write(&self.inner.topic_errors).remove(&name);
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader: if p.error_code == 0 || p.error_code == 9 {
                        p.leader_id.0
                    } else {
                        -1
                    },
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            let meta = TopicMetadata {
                name: name.clone(),
                topic_id: *t.topic_id.as_bytes(),
                partitions,
            };
            cache.insert(name, Arc::new(meta.clone()));
            out.push(meta);
        }
        Ok(out)
    }

    /// The topic's metadata, from the cache or the cluster.
    ///
    /// Fails with [`Error::UnknownTopic`] when the topic does not exist, and with
    /// [`Error::Kafka`] for other topic errors (for example TOPIC_AUTHORIZATION_FAILED).
    pub async fn topic(&self, topic: &str) -> Result<Arc<TopicMetadata>> {
        if let Some(t) = read(&self.inner.topics).get(topic) {
            return Ok(t.clone());
        }
        self.refresh_metadata(&[topic]).await?;
        if let Some(t) = read(&self.inner.topics).get(topic) {
            return Ok(t.clone());
        }
        // UNKNOWN_TOPIC_OR_PARTITION (3), or no entry at all: the topic does not exist. Any
        // other code (not authorized, no leader yet) is reported as what it is; the
        // retriable ones are retried by the callers.
        match read(&self.inner.topic_errors).get(topic).copied() {
            Some(code) if code != 3 => Err(Error::Kafka {
                api: "Metadata",
                topic: Some(topic.to_owned()),
                partition: None,
                code,
                message: None,
            }),
            _ => Err(Error::UnknownTopic {
                topic: topic.to_owned(),
            }),
        }
    }

    /// The names of all topics on the cluster, sorted.
    pub async fn list_topics(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .refresh_metadata(&[])
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        Ok(names)
    }

    fn forget_topic(&self, topic: &str) {
        write(&self.inner.topics).remove(topic);
    }

    /// The leader of each partition, grouped: node id → partitions. Fails when a partition
    /// does not exist; a partition without a leader right now is a retriable error.
    async fn group_by_leader(
        &self,
        topic: &str,
        partitions: impl IntoIterator<Item = i32>,
    ) -> Result<HashMap<i32, Vec<i32>>> {
        let meta = self.topic(topic).await?;
        let mut groups: HashMap<i32, Vec<i32>> = HashMap::new();
        for p in partitions {
            let Some(pm) = meta.partitions.iter().find(|m| m.partition == p) else {
                return Err(Error::UnknownPartition {
                    topic: topic.to_owned(),
                    partition: p,
                    partition_count: meta.partitions.len(),
                });
            };
            if pm.leader < 0 {
                self.forget_topic(topic);
                return Err(Error::Kafka {
                    api: "Metadata",
                    topic: Some(topic.to_owned()),
                    partition: Some(p),
                    code: 5,
                    message: None,
                });
            }
            groups.entry(pm.leader).or_default().push(p);
        }
        Ok(groups)
    }

    /// Runs `op` and retries it, with backoff and a metadata refresh, while it fails with a
    /// retriable error (leader moved, no leader, connection lost, no broker reachable,
    /// coordinator moving), until the deadline ([`KafkaClient::with_deadline`], else
    /// [`ClientConfig::retry_timeout`] from now). An attempt still running at the deadline is
    /// given up.
    async fn retrying<T, F, Fut>(&self, what: &str, topic: Option<&str>, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let start = Instant::now();
        let give_up = self
            .deadline
            .unwrap_or_else(|| start + self.inner.config.retry_timeout);
        let mut backoff = self.inner.config.retry_backoff;
        let mut attempts = 0;
        let mut last: Option<Error> = None;
        let out_of_time = |attempts: u32, last: Option<Error>| match last {
            Some(last) => Error::RetriesExhausted {
                what: what.to_owned(),
                attempts,
                elapsed: start.elapsed(),
                last: Box::new(last),
            },
            None => Error::Timeout {
                what: what.to_owned(),
                elapsed: start.elapsed(),
            },
        };
        loop {
            attempts += 1;
            let Ok(result) = tokio::time::timeout_at(give_up.into(), op()).await else {
                return Err(out_of_time(attempts, last));
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() => {
                    tracing::debug!(what, attempts, error = %e, "retrying");
                    if Instant::now() + backoff >= give_up {
                        return Err(out_of_time(attempts, Some(e)));
                    }
                    if let Some(t) = topic {
                        self.forget_topic(t);
                    }
                    last = Some(e);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.inner.config.retry_backoff_max);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The reason part of a connection error, for the list of tried bootstrap servers.
fn short_reason(e: &ConnectionError) -> String {
    match e {
        ConnectionError::Connect { source, .. } => source.to_string(),
        ConnectionError::ConnectTimeout { timeout, .. } => format!("timed out after {timeout:?}"),
        other => other.to_string(),
    }
}

/// How long to wait for a request when the data is known to be there.
pub(crate) const SHORT_WAIT: Duration = Duration::from_millis(100);
