//! [`KafkaDataSource`]: a bounded, exact snapshot of a Kafka topic.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use truthound_kafka_client::{
    BoundedReader, ClientConfig, FetchOptions, KafkaClient, LogStartMoved, OffsetSpec,
    PartitionRange, Record,
};
use truthound_streaming_core::{
    AutoOffsetReset, BaseStreamingDataSource, Capabilities, DeserializerType, KeyDeserializer,
    MessageDeserializer, MessageHeader, MessageStream, RawMessage, StreamingDataSourceConfig,
    StreamingDataSourceError,
};

use crate::config::KafkaDataSourceConfig;
use crate::error::{KafkaConnectionError, KafkaDataSourceError, PartitionProgress, Result};
use crate::plan::{PartitionBounds, PartitionPlan, fair_share, plan_from_starts, plan_latest};

/// Partitions and their count, as the spec's `_get_topic_info` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic.
    pub topic: String,
    /// Its partition numbers, sorted.
    pub partitions: Vec<i32>,
    /// How many partitions it has.
    pub partition_count: usize,
}

/// Progress of a running read, for progress bars.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadProgress {
    /// Messages read so far.
    pub messages: usize,
    /// Key and value bytes read so far.
    pub bytes: usize,
    /// The most messages the read will return.
    pub expected: usize,
    /// Partitions that reached their end.
    pub partitions_done: usize,
    /// Partitions read.
    pub partitions: usize,
}

type ProgressFn = Arc<dyn Fn(&ReadProgress) + Send + Sync>;

/// What the source captured when it connected: the client and each partition's bounds.
#[derive(Debug, Clone)]
struct Snapshot {
    client: KafkaClient,
    /// The topic's id when the ends were captured (all zeros without topic ids).
    topic_id: [u8; 16],
    bounds: Vec<PartitionBounds>,
    /// Per partition, the offset after the last message the latest read returned.
    reached: Arc<Mutex<BTreeMap<i32, i64>>>,
    /// Offsets the latest read found removed from the log before it got to them.
    gone: Arc<Mutex<Vec<GoneOffsets>>>,
}

/// Offsets of a partition that retention or DeleteRecords removed while a read from the
/// earliest offset was on its way to them: the read went on from the new log start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoneOffsets {
    /// The partition.
    pub partition: i32,
    /// The offsets that were gone (end exclusive).
    pub offsets: std::ops::Range<i64>,
}

/// A bounded, exact snapshot of a Kafka topic.
///
/// On [`connect`](BaseStreamingDataSource::connect) the source captures each partition's end
/// offset (the high watermark, or the last stable offset under read_committed). Every read ends
/// there, at `end_offset`, or at `max_messages` — whichever comes first — so the same call on an
/// unchanged topic returns the same messages. Reads never count empty polls.
///
/// Where a read starts in each partition, in order of precedence:
/// 1. `start_offset` (clamped into the partition's log), or `start_timestamp`;
/// 2. the offset `group_id` committed for the partition, if it has one;
/// 3. `auto_offset_reset`: `earliest` = the log start; `latest` = the most recent messages,
///    the last `max_messages` before the captured end.
///
/// `max_messages` is shared fairly among the partitions read: each gets an equal share, a
/// partition holding fewer gives the rest to the others, and a remainder goes to the lowest
/// partition numbers. A snapshot of 1000 messages from 6 partitions holds messages of all 6.
///
/// With the Polars adapter (`truthound-polars`), the source gets `to_polars_lazyframe`,
/// `to_polars_dataframe` and `get_schema` from [`BaseStreamingDataSource`].
pub struct KafkaDataSource {
    config: KafkaDataSourceConfig,
    name: String,
    deserializer: Arc<dyn MessageDeserializer>,
    key_deserializer: Option<Arc<dyn MessageDeserializer>>,
    snapshot: Option<Snapshot>,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for KafkaDataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaDataSource")
            .field("name", &self.name)
            .field("connected", &self.snapshot.is_some())
            .finish_non_exhaustive()
    }
}

fn deserializer_for(config: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    Ok(match config.streaming.deserializer_type {
        DeserializerType::Json => json_deserializer(config)?,
        DeserializerType::String => Arc::new(truthound_json::StringDeserializer::new()),
        DeserializerType::Bytes => Arc::new(truthound_json::BytesDeserializer::new()),
        DeserializerType::Avro => avro_deserializer(config)?,
        DeserializerType::Protobuf => protobuf_deserializer(config)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(KafkaDataSourceError::Unsupported(format!(
                "deserializer_type {other:?} is not supported by the Kafka source"
            )));
        }
    })
}

/// The schema registry at `url` with the configured credentials and CA file. A lookup blocks
/// the thread decoding the message, so its timeout is the registry's default (10 s) or
/// `consume_timeout` when shorter.
#[cfg(any(feature = "avro", feature = "protobuf", feature = "json-schema"))]
fn registry_config(
    config: &KafkaDataSourceConfig,
    url: &str,
) -> truthound_registry::RegistryConfig {
    let mut registry = truthound_registry::RegistryConfig::new(url)
        .with_timeout(truthound_registry::DEFAULT_TIMEOUT.min(config.streaming.consume_timeout));
    if let (Some(user), Some(password)) = (
        &config.schema_registry_username,
        &config.schema_registry_password,
    ) {
        registry = registry.with_basic_auth(user.clone(), password.clone());
    }
    if let Some(path) = &config.schema_registry_ssl_cafile {
        registry = registry.with_ca_file(path);
    }
    registry
}

/// The Avro deserializer: with a fixed writer schema, or with the schema registry and its
/// credentials and CA file; read as `avro_reader_schema` (by default, with the registry, the
/// latest version of `schema_registry_subject` or `{topic}-value`).
///
/// A registry lookup blocks the thread decoding the message, so its timeout is the registry's
/// default (10 s) or `consume_timeout` when shorter: a registry that does not answer costs a
/// read at most about its own deadline. The failure is remembered for a few seconds, so the
/// other messages with that schema id are skipped at once, each reported with its partition
/// and offset. When the lookup used the whole deadline and more fetches remain, the read ends
/// with its timeout error instead.
#[cfg(feature = "avro")]
fn avro_deserializer(config: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    let invalid = |e: truthound_avro::AvroError| KafkaDataSourceError::InvalidConfig(e.to_string());
    if let Some(url) = &config.schema_registry_url {
        let mut registry =
            truthound_avro::AvroDeserializer::with_registry_config(registry_config(config, url));
        registry = match config.avro_reader_schema.as_deref().map(str::trim) {
            // A subject named in the configuration must exist; the default one may not (other
            // subject naming strategies), and then messages are read as written.
            None | Some("latest") => match &config.schema_registry_subject {
                Some(subject) => registry.with_reader_subject(subject.clone()),
                None => registry.with_reader_subject_if_present(format!("{}-value", config.topic)),
            },
            Some("writer") => registry,
            Some(json) => registry.with_reader_schema_json(json),
        };
        return Ok(Arc::new(registry.finish().map_err(invalid)?));
    }
    let schema = config.avro_schema.as_deref().ok_or_else(|| {
        KafkaDataSourceError::InvalidConfig(
            "deserializer_type avro needs avro_schema or schema_registry_url".into(),
        )
    })?;
    Ok(Arc::new(
        match config.avro_reader_schema.as_deref().map(str::trim) {
            None | Some("writer") => truthound_avro::AvroDeserializer::from_schema_json(schema),
            Some(reader) => {
                truthound_avro::AvroDeserializer::from_writer_and_reader_json(schema, reader)
            }
        }
        .map_err(invalid)?,
    ))
}

/// The Protobuf deserializer: of the configured `.proto` schema and message type, or with the
/// schema registry (timeout and failures as for Avro: see `avro_deserializer`).
#[cfg(feature = "protobuf")]
fn protobuf_deserializer(config: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    use truthound_protobuf::ProtobufDeserializer;
    let invalid =
        |e: truthound_protobuf::ProtobufError| KafkaDataSourceError::InvalidConfig(e.to_string());
    if let Some(url) = &config.schema_registry_url {
        let registry = ProtobufDeserializer::with_registry_config(registry_config(config, url));
        return Ok(Arc::new(registry.finish().map_err(invalid)?));
    }
    let proto = config.protobuf_schema.as_deref().ok_or_else(|| {
        KafkaDataSourceError::InvalidConfig(
            "deserializer_type protobuf needs protobuf_schema or schema_registry_url".into(),
        )
    })?;
    ProtobufDeserializer::from_proto(proto, config.protobuf_message.as_deref())
        .map(|d| Arc::new(d) as Arc<dyn MessageDeserializer>)
        .map_err(invalid)
}

/// The JSON deserializer: plain, typed by `json_schema`, or with the schema registry's JSON
/// Schemas typing Confluent-framed documents (timeout and failures as for Avro: see `avro_deserializer`).
fn json_deserializer(config: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    match &config.schema_registry_url {
        None => match &config.json_schema {
            None => Ok(Arc::new(truthound_json::JSONDeserializer::new())),
            Some(schema) => truthound_json::JsonSchemaDeserializer::from_schema_json(schema)
                .map(|d| Arc::new(d) as Arc<dyn MessageDeserializer>)
                .map_err(|e| KafkaDataSourceError::InvalidConfig(format!("json_schema: {e}"))),
        },
        #[cfg(feature = "json-schema")]
        Some(url) => truthound_json::JsonSchemaDeserializer::with_registry_config(
            registry_config(config, url),
        )
        .map(|d| Arc::new(d) as Arc<dyn MessageDeserializer>)
        .map_err(|e| KafkaDataSourceError::InvalidConfig(e.to_string())),
        #[cfg(not(feature = "json-schema"))]
        Some(_) => Err(KafkaDataSourceError::Unsupported(
            "deserializer_type json with schema_registry_url needs the `json-schema` feature: enable it on truthound-kafka (or the truthound facade), or remove schema_registry_url".into(),
        )),
    }
}

/// The key deserializer of the `avro` and `protobuf` key formats: the schema registry's
/// schemas, each key read as written (no reader schema: keys are read whole, not joined with
/// other versions' fields). `None` for the text and bytes formats.
fn key_deserializer_for(
    config: &KafkaDataSourceConfig,
) -> Result<Option<Arc<dyn MessageDeserializer>>> {
    let kind = config.streaming.key_deserializer;
    if !config.streaming.include_key
        || !matches!(kind, KeyDeserializer::Avro | KeyDeserializer::Protobuf)
    {
        return Ok(None);
    }
    let url = config.schema_registry_url.as_deref().ok_or_else(|| {
        KafkaDataSourceError::InvalidConfig(format!(
            "key_deserializer {kind} needs schema_registry_url"
        ))
    })?;
    Ok(Some(match kind {
        KeyDeserializer::Avro => avro_registry_keys(config, url)?,
        _ => protobuf_registry_keys(config, url)?,
    }))
}

#[cfg(feature = "avro")]
fn avro_registry_keys(
    config: &KafkaDataSourceConfig,
    url: &str,
) -> Result<Arc<dyn MessageDeserializer>> {
    truthound_avro::AvroDeserializer::with_registry_config(registry_config(config, url))
        .finish()
        .map(|d| Arc::new(d) as Arc<dyn MessageDeserializer>)
        .map_err(|e| KafkaDataSourceError::InvalidConfig(e.to_string()))
}

#[cfg(not(feature = "avro"))]
fn avro_registry_keys(_: &KafkaDataSourceConfig, _: &str) -> Result<Arc<dyn MessageDeserializer>> {
    Err(KafkaDataSourceError::Unsupported(
        "key_deserializer avro needs the `avro` feature: enable it on truthound-kafka (or the truthound facade)".into(),
    ))
}

#[cfg(feature = "protobuf")]
fn protobuf_registry_keys(
    config: &KafkaDataSourceConfig,
    url: &str,
) -> Result<Arc<dyn MessageDeserializer>> {
    truthound_protobuf::ProtobufDeserializer::with_registry_config(registry_config(config, url))
        .finish()
        .map(|d| Arc::new(d) as Arc<dyn MessageDeserializer>)
        .map_err(|e| KafkaDataSourceError::InvalidConfig(e.to_string()))
}

#[cfg(not(feature = "protobuf"))]
fn protobuf_registry_keys(
    _: &KafkaDataSourceConfig,
    _: &str,
) -> Result<Arc<dyn MessageDeserializer>> {
    Err(KafkaDataSourceError::Unsupported(
        "key_deserializer protobuf needs the `protobuf` feature: enable it on truthound-kafka (or the truthound facade)".into(),
    ))
}

#[cfg(not(feature = "protobuf"))]
fn protobuf_deserializer(_: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    Err(KafkaDataSourceError::Unsupported(
        "deserializer_type protobuf needs the `protobuf` feature: enable it on truthound-kafka (or the truthound facade)".into(),
    ))
}

#[cfg(not(feature = "avro"))]
fn avro_deserializer(_: &KafkaDataSourceConfig) -> Result<Arc<dyn MessageDeserializer>> {
    Err(KafkaDataSourceError::Unsupported(
        "deserializer_type avro needs the `avro` feature: enable it on truthound-kafka (or the truthound facade)".into(),
    ))
}

impl KafkaDataSource {
    /// A source for this configuration, validated now; it connects on
    /// [`connect`](BaseStreamingDataSource::connect).
    pub fn new(config: KafkaDataSourceConfig) -> Result<Self> {
        config.validate()?;
        warn_once(&config);
        let deserializer = deserializer_for(&config)?;
        let key_deserializer = key_deserializer_for(&config)?;
        let name = format!("kafka://{}/{}", config.bootstrap_servers, config.topic);
        Ok(Self {
            config,
            name,
            deserializer,
            key_deserializer,
            snapshot: None,
            progress: None,
        })
    }

    /// A source from `kafka://host:port[,host:port...]/topic[?option=value...]`, with the
    /// maximum number of messages.
    pub fn from_connection_string(url: &str, max_messages: Option<usize>) -> Result<Self> {
        let mut config = KafkaDataSourceConfig::from_connection_string(url)?;
        if let Some(n) = max_messages {
            config = config.with_max_messages(n);
        }
        Self::new(config)
    }

    /// A source for Confluent Cloud: SASL_SSL with PLAIN, the API key as user name and the
    /// API secret as password.
    ///
    /// For Avro values through Confluent Cloud's Schema Registry, which has its own API key
    /// and secret, build the configuration instead:
    /// [`KafkaDataSourceConfig::confluent_cloud`] then
    /// [`with_schema_registry`](KafkaDataSourceConfig::with_schema_registry), and
    /// [`KafkaDataSource::new`].
    pub fn from_confluent(
        bootstrap_servers: impl Into<String>,
        topic: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<secrecy::SecretString>,
        max_messages: usize,
    ) -> Result<Self> {
        let config =
            KafkaDataSourceConfig::confluent_cloud(bootstrap_servers, topic, api_key, api_secret)
                .with_max_messages(max_messages);
        Self::new(config)
    }

    /// The configuration.
    pub fn kafka_config(&self) -> &KafkaDataSourceConfig {
        &self.config
    }

    /// Sets `consume_timeout` for the operations from now on (each of connecting, planning and
    /// reading is bounded by it), keeping the snapshot already captured.
    pub fn set_consume_timeout(&mut self, timeout: Duration) {
        self.config.streaming = self.config.streaming.clone().with_consume_timeout(timeout);
    }

    /// Calls `f` with the progress of every read, after each fetch.
    #[must_use]
    pub fn with_progress(mut self, f: impl Fn(&ReadProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Connects (if not yet connected) and returns the captured snapshot.
    async fn snapshot(&mut self) -> Result<&Snapshot> {
        if self.snapshot.is_none() {
            self.snapshot = Some(self.capture().await?);
        }
        self.snapshot
            .as_ref()
            .ok_or(KafkaDataSourceError::NotConnected)
    }

    async fn capture(&self) -> Result<Snapshot> {
        let servers = self.config.bootstrap_list();
        let timeout = self.config.streaming.consume_timeout;
        let deadline = deadline_after(Instant::now(), timeout);
        // Each step of connecting (TCP, TLS, ApiVersions, SASL, metadata) is bounded by what
        // is left of consume_timeout, so a stalled broker is named within it.
        let client_config = ClientConfig::new(servers.clone())
            .with_client_id(self.config.client_id.clone())
            .with_connect_timeout(self.config.connect_timeout.min(timeout))
            .with_request_timeout(
                ClientConfig::new(servers.clone())
                    .request_timeout
                    .min(timeout),
            )
            .with_security_protocol(self.config.security_protocol);
        let client_config = with_security(client_config, &self.config);
        // Each request is bounded by the timeout itself and names its broker and API; this
        // bound, a little later, only catches what adds up across several requests.
        let backstop = deadline + Duration::from_millis(500);
        let connected =
            tokio::time::timeout_at(backstop.into(), KafkaClient::connect(client_config))
                .await
                .map_err(|_| KafkaDataSourceError::SetupTimeout {
                    what: format!("connecting to {}", servers.join(",")),
                    timeout,
                    reason: "no complete answer to the connection handshake".into(),
                })?;
        let client = connected.map_err(|e| match e {
            truthound_kafka_client::Error::NoBrokerReachable { .. }
            | truthound_kafka_client::Error::Connection(_) => {
                KafkaDataSourceError::Connection(KafkaConnectionError {
                    bootstrap_servers: servers.clone(),
                    message: e.to_string(),
                })
            }
            other => other.into(),
        })?;
        let snapshot_client = client.clone();
        let client = client.with_deadline(deadline);
        let setup_timeout = |e: truthound_kafka_client::Error| match e {
            truthound_kafka_client::Error::RetriesExhausted { .. }
            | truthound_kafka_client::Error::Timeout { .. } => KafkaDataSourceError::SetupTimeout {
                what: format!("reading the offsets of {}", self.config.topic),
                timeout,
                reason: e.to_string(),
            },
            other => other.into(),
        };
        let topic = &self.config.topic;
        let meta = match client.topic(topic).await {
            Ok(m) => m,
            Err(truthound_kafka_client::Error::UnknownTopic { .. }) => {
                let available = client.list_topics().await.unwrap_or_default();
                return Err(KafkaDataSourceError::UnknownTopic {
                    topic: topic.clone(),
                    available,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let partitions: Vec<i32> = match self.config.partition {
            Some(p) if meta.partitions.iter().any(|m| m.partition == p) => vec![p],
            Some(p) => {
                return Err(truthound_kafka_client::Error::UnknownPartition {
                    topic: topic.clone(),
                    partition: p,
                    partition_count: meta.partitions.len(),
                }
                .into());
            }
            None => meta.partition_ids(),
        };
        let marks = client
            .partition_watermarks(topic, &partitions, self.config.isolation_level)
            .await
            .map_err(setup_timeout)?;
        let bounds = partitions
            .iter()
            .map(|p| {
                let (beginning, end) = marks[p];
                let mut end = end.max(beginning);
                if let Some(e) = self.config.end_offset {
                    end = end.min(e.max(beginning));
                }
                PartitionBounds {
                    partition: *p,
                    beginning,
                    end,
                }
            })
            .collect();
        Ok(Snapshot {
            client: snapshot_client,
            topic_id: meta.topic_id,
            bounds,
            reached: Arc::new(Mutex::new(BTreeMap::new())),
            gone: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Where each partition's read starts and how many messages it takes, for a read of at
    /// most `limit` messages.
    pub async fn plan(&mut self, limit: usize) -> Result<Vec<PartitionPlan>> {
        let config = self.config.clone();
        let mut snapshot = self.snapshot().await?.clone();
        snapshot.client = snapshot.client.with_deadline(deadline_after(
            Instant::now(),
            config.streaming.consume_timeout,
        ));
        if let Some(share) = &config.share {
            return share_plan(&config.topic, &snapshot, share);
        }
        let partitions: Vec<i32> = snapshot.bounds.iter().map(|b| b.partition).collect();
        let mut starts: BTreeMap<i32, i64> = BTreeMap::new();
        if let Some(o) = config.start_offset {
            starts = partitions.iter().map(|p| (*p, o)).collect();
        } else if let Some(ts) = config.start_timestamp {
            let spec: Vec<_> = partitions
                .iter()
                .map(|p| (*p, OffsetSpec::Timestamp(ts)))
                .collect();
            let found = snapshot
                .client
                .list_offsets(&config.topic, &spec, config.isolation_level)
                .await?;
            for b in &snapshot.bounds {
                // -1: no message that late, so nothing to read in this partition.
                let o = found[&b.partition];
                starts.insert(b.partition, if o < 0 { b.end } else { o });
            }
        } else if let Some(group) = &config.group_id {
            let committed = snapshot
                .client
                .committed_offsets(group, &config.topic, &partitions)
                .await?;
            for b in &snapshot.bounds {
                // A committed offset outside the log (deleted by retention, or from another
                // cluster) falls back to auto_offset_reset, as in Kafka consumers.
                if let Some(Some(o)) = committed.get(&b.partition)
                    && (b.beginning..=b.end).contains(o)
                {
                    starts.insert(b.partition, *o);
                }
            }
        }
        let uncovered: Vec<PartitionBounds> = snapshot
            .bounds
            .iter()
            .filter(|b| !starts.contains_key(&b.partition))
            .copied()
            .collect();
        if uncovered.is_empty() {
            return Ok(plan_from_starts(&snapshot.bounds, &starts, limit));
        }
        match config.streaming.auto_offset_reset {
            AutoOffsetReset::Earliest => {
                for b in &uncovered {
                    starts.insert(b.partition, b.beginning);
                }
                Ok(plan_from_starts(&snapshot.bounds, &starts, limit))
            }
            _ if uncovered.len() == snapshot.bounds.len() => {
                Ok(plan_latest(&snapshot.bounds, limit))
            }
            _ => {
                // Mixed: partitions with a committed offset start there; the others take the
                // most recent messages. Share the budget by what each could give.
                let covered = plan_from_starts(
                    &snapshot
                        .bounds
                        .iter()
                        .filter(|b| starts.contains_key(&b.partition))
                        .copied()
                        .collect::<Vec<_>>(),
                    &starts,
                    usize::MAX,
                );
                let available: BTreeMap<i32, u64> = covered
                    .iter()
                    .map(|p| (p.partition, (p.end - p.start) as u64))
                    .chain(
                        uncovered
                            .iter()
                            .map(|b| (b.partition, (b.end - b.beginning) as u64)),
                    )
                    .collect();
                let quotas = fair_share(&available, limit as u64);
                let mut plan: Vec<PartitionPlan> = covered
                    .into_iter()
                    .map(|p| PartitionPlan {
                        quota: quotas[&p.partition] as usize,
                        ..p
                    })
                    .chain(uncovered.iter().map(|b| {
                        let q = quotas[&b.partition];
                        PartitionPlan {
                            partition: b.partition,
                            start: (b.end - q as i64).max(b.beginning),
                            end: b.end,
                            quota: q as usize,
                            extend_back_to: Some(b.beginning),
                        }
                    }))
                    .collect();
                plan.sort_by_key(|p| p.partition);
                Ok(plan)
            }
        }
    }

    /// The topic's id as captured (`None` where the brokers have no topic ids).
    pub(crate) async fn captured_topic_id(&mut self) -> Result<Option<[u8; 16]>> {
        let id = self.snapshot().await?.topic_id;
        Ok((id != [0; 16]).then_some(id))
    }

    /// Topic metadata: partitions and their count.
    pub async fn topic_info(&mut self) -> Result<TopicInfo> {
        let topic = self.config.topic.clone();
        let snapshot = self.snapshot().await?;
        let partitions = snapshot.client.topic(&topic).await?.partition_ids();
        Ok(TopicInfo {
            topic,
            partition_count: partitions.len(),
            partitions,
        })
    }

    /// Each partition's beginning and end offset right now: partition → (beginning, end).
    pub async fn get_topic_offsets(&mut self) -> Result<BTreeMap<i32, (i64, i64)>> {
        let (topic, iso) = (self.config.topic.clone(), self.config.isolation_level);
        let snapshot = self.snapshot().await?;
        Ok(snapshot.client.watermarks(&topic, iso).await?)
    }

    /// The bounds captured at connect time: the snapshot every read stays within.
    pub async fn snapshot_bounds(&mut self) -> Result<Vec<PartitionBounds>> {
        Ok(self.snapshot().await?.bounds.clone())
    }

    /// Commits, for `group_id`, the position after the last message the latest read returned
    /// in each partition. Does not join the group: the broker accepts the commit only while no
    /// live consumer holds it. Returns what was committed.
    pub async fn commit_offsets(&mut self) -> Result<BTreeMap<i32, i64>> {
        let group = self
            .config
            .group_id
            .clone()
            .ok_or(KafkaDataSourceError::GroupRequired {
                operation: "commit_offsets",
            })?;
        let topic = self.config.topic.clone();
        let snapshot = self.snapshot().await?;
        let reached = snapshot
            .reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if !reached.is_empty() {
            let offsets: Vec<(i32, i64)> = reached.iter().map(|(p, o)| (*p, *o)).collect();
            snapshot
                .client
                .commit_offsets(&group, &topic, &offsets)
                .await?;
        }
        Ok(reached)
    }

    /// The offsets `group_id` has committed, for the partitions read; partitions without a
    /// committed offset are left out.
    pub async fn get_committed_offsets(&mut self) -> Result<BTreeMap<i32, i64>> {
        let group = self
            .config
            .group_id
            .clone()
            .ok_or(KafkaDataSourceError::GroupRequired {
                operation: "get_committed_offsets",
            })?;
        let topic = self.config.topic.clone();
        let snapshot = self.snapshot().await?;
        let partitions: Vec<i32> = snapshot.bounds.iter().map(|b| b.partition).collect();
        Ok(snapshot
            .client
            .committed_offsets(&group, &topic, &partitions)
            .await?
            .into_iter()
            .filter_map(|(p, o)| o.map(|o| (p, o)))
            .collect())
    }

    /// A source of the same snapshot whose reads count as this source's: after one of its
    /// reads, this source's [`commit_offsets`](Self::commit_offsets) commits where that read
    /// got and [`gone_offsets`](Self::gone_offsets) says what it found gone. It lets a read go
    /// on (the Python binding's message iterator) while this source stays free for other calls.
    ///
    /// # Errors
    /// As [`new`](Self::new) (the configuration is this source's, already valid).
    pub fn reader(&self) -> Result<Self> {
        let mut s = Self::new(self.config.clone())?;
        // The same deserializers: schemas fetched from a registry are fetched once.
        s.deserializer = self.deserializer.clone();
        s.key_deserializer = self.key_deserializer.clone();
        s.snapshot = self.snapshot.clone();
        s.progress = self.progress.clone();
        Ok(s)
    }

    /// A source over the same topic that reads at most `n` messages. Kafka has no random
    /// sampling: the sample is the first `n` messages of the same snapshot plan.
    pub fn sample(&self, n: usize) -> Result<Self> {
        let mut config = self.config.clone();
        config.streaming = config.streaming.with_max_messages(n);
        let mut s = Self::new(config)?;
        s.deserializer = self.deserializer.clone();
        s.key_deserializer = self.key_deserializer.clone();
        s.snapshot = self.snapshot.clone().map(|mut snap| {
            snap.reached = Arc::new(Mutex::new(BTreeMap::new()));
            snap.gone = Arc::new(Mutex::new(Vec::new()));
            snap
        });
        Ok(s)
    }

    /// Offsets the latest read could not return because retention or DeleteRecords removed
    /// them from the log while the read was on its way (reads from the earliest offset go on
    /// from the new log start; with `start_offset` the read fails instead).
    pub fn gone_offsets(&self) -> Vec<GoneOffsets> {
        self.snapshot.as_ref().map_or_else(Vec::new, |s| {
            s.gone.lock().unwrap_or_else(|p| p.into_inner()).clone()
        })
    }

    /// Connects if needed and checks the topic is readable. `Ok(())` means a snapshot can be
    /// taken.
    pub async fn validate_connection(&mut self) -> Result<()> {
        self.snapshot().await.map(|_| ())
    }

    /// Reads the snapshot: at most `limit` messages, in batches as fetched.
    pub async fn read(&mut self, limit: usize) -> Result<MessageStream<'static>> {
        let plan = self.plan(limit).await?;
        let snapshot = self.snapshot().await?.clone();
        snapshot
            .reached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        snapshot
            .gone
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        // A start asked for explicitly fails when retention passes it during the read; a read
        // from the earliest offset (or a committed one) goes on from the new log start.
        let log_start_moved = if self.config.start_offset.is_some() || self.config.share.is_some() {
            LogStartMoved::Fail
        } else {
            LogStartMoved::SkipToLogStart
        };
        let read = Read::new(
            snapshot,
            self.config.topic.clone(),
            plan,
            FetchOptions {
                isolation: self.config.isolation_level,
                log_start_moved,
                ..FetchOptions::default()
            },
            self.config.streaming.consume_timeout,
            self.progress.clone(),
        );
        Ok(futures::stream::try_unfold(read, |mut r| async move {
            match r.next().await? {
                Some(batch) => Ok(Some((batch, r))),
                None => Ok(None),
            }
        })
        .map(|r: Result<Vec<RawMessage>>| r.map_err(StreamingDataSourceError::from))
        .boxed())
    }
}

/// The read of a plan's share: its ranges, checked against the topic as captured now.
fn share_plan(
    topic: &str,
    snapshot: &Snapshot,
    share: &crate::config::ShareRanges,
) -> Result<Vec<PartitionPlan>> {
    let bad = |why: String| Err(KafkaDataSourceError::InvalidConfig(why));
    if let Some(expected) = share.topic_id
        && snapshot.topic_id != [0; 16]
        && snapshot.topic_id != expected
    {
        return bad(format!(
            "topic {topic} is not the one the plan was made for: its id changed (it was \
             deleted and created again); make a new plan"
        ));
    }
    let mut plan = Vec::with_capacity(share.ranges.len());
    for r in share.ranges.iter().filter(|r| r.end > r.start) {
        let Some(b) = snapshot.bounds.iter().find(|b| b.partition == r.partition) else {
            return bad(format!(
                "the plan reads partition {} of {topic}, which has no such partition",
                r.partition
            ));
        };
        if r.start < b.beginning {
            return bad(format!(
                "partition {} of {topic} no longer has offsets {}..{} of the plan (its log \
                 starts at {}: retention or DeleteRecords removed them); make a new plan",
                r.partition, r.start, b.beginning, b.beginning
            ));
        }
        if r.end > b.end {
            return bad(format!(
                "the plan reads partition {} of {topic} to offset {}, past its end {} (the \
                 topic was truncated, or the plan is for another cluster)",
                r.partition, r.end, b.end
            ));
        }
        plan.push(PartitionPlan {
            partition: r.partition,
            start: r.start,
            end: r.end,
            quota: usize::try_from(r.end - r.start).unwrap_or(usize::MAX),
            extend_back_to: None,
        });
    }
    plan.sort_by_key(|p| p.partition);
    Ok(plan)
}

/// The longest a deadline is put in the future: a timeout beyond this (unvalidated configs
/// can hold up to `Duration::MAX`) waits this long instead of overflowing `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// `now + timeout`, saturating at [`FAR_FUTURE`] when the sum would overflow the clock.
fn deadline_after(now: Instant, timeout: Duration) -> Instant {
    now.checked_add(timeout)
        .or_else(|| now.checked_add(FAR_FUTURE))
        // Only a clock that cannot count 30 years ahead gets here.
        .unwrap_or(now)
}

/// A chunk's records as messages, decoded on a blocking thread.
struct Decoded {
    partition: i32,
    /// The partition's read generation when the chunk was handed out.
    generation: u32,
    last: bool,
    gone: Option<std::ops::Range<i64>>,
    messages: std::result::Result<Vec<RawMessage>, truthound_kafka_client::Error>,
}

/// One read's state: the fetchers, the chunks being decoded, what each partition may still
/// take, the deadline.
///
/// Fetched chunks are decoded (CRC, decompression, records to messages) on Tokio's blocking
/// threads, several at once, while the fetchers go on fetching; results are taken in the order
/// the chunks arrived, so each partition's messages stay in offset order.
struct Read {
    reader: BoundedReader,
    decoding: futures::stream::FuturesOrdered<tokio::task::JoinHandle<Decoded>>,
    /// Chunks decoded at once: one per core. (One more held 32–38 MB more at peak on snapshots
    /// of 1M events and 200k wide messages, each chunk a fetch's batches decompressed, and
    /// gained no speed.)
    decode_ahead: usize,
    topic: Arc<str>,
    quota: BTreeMap<i32, usize>,
    reached: Arc<Mutex<BTreeMap<i32, i64>>>,
    gone: Arc<Mutex<Vec<GoneOffsets>>>,
    plan: Vec<PartitionPlan>,
    deadline: Instant,
    timeout: Duration,
    progress: ReadProgress,
    on_progress: Option<ProgressFn>,
    /// Partitions whose range ended or whose quota is used.
    finished: BTreeSet<i32>,
    /// Partitions whose range ended.
    ended: BTreeSet<i32>,
    /// Messages taken from each partition.
    taken: BTreeMap<i32, usize>,
    /// The most messages each partition can give: its offsets, until its range ends, then
    /// what it gave.
    available: BTreeMap<i32, u64>,
    /// The messages the read takes in all: `max_messages` or all there are.
    total: u64,
    /// Per partition, how often its read was resumed: decoded chunks of an earlier
    /// generation are stale.
    generation: BTreeMap<i32, u32>,
}

impl Read {
    fn new(
        snapshot: Snapshot,
        topic: String,
        plan: Vec<PartitionPlan>,
        options: FetchOptions,
        timeout: Duration,
        on_progress: Option<ProgressFn>,
    ) -> Self {
        let ranges: Vec<PartitionRange> = plan
            .iter()
            .map(|p| PartitionRange {
                partition: p.partition,
                start: p.start,
                end: p.end,
            })
            .collect();
        let deadline = deadline_after(Instant::now(), timeout);
        let mut reader = BoundedReader::new(
            snapshot.client.with_deadline(deadline),
            topic.clone(),
            ranges,
            options,
        )
        .with_topic_id(snapshot.topic_id);
        let finished: BTreeSet<i32> = plan
            .iter()
            .filter(|p| p.quota == 0 || p.start >= p.end)
            .map(|p| p.partition)
            .collect();
        // A partition with no quota is not fetched, unless another one falls short.
        for p in &finished {
            reader.finish_partition(*p);
        }
        let progress = ReadProgress {
            expected: plan.iter().map(|p| p.quota).sum(),
            partitions: plan.len(),
            partitions_done: finished.len(),
            ..ReadProgress::default()
        };
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        // An empty range has ended, unless it is a read of the most recent messages that may
        // still go back for earlier ones (a partition whose first share was 0).
        let ended = plan
            .iter()
            .filter(|p| p.start >= p.end && p.extend_back_to.is_none_or(|floor| p.start <= floor))
            .map(|p| p.partition)
            .collect();
        let taken = plan.iter().map(|p| (p.partition, 0)).collect();
        // A read of the most recent messages can go back to the log start.
        let available = plan
            .iter()
            .map(|p| {
                let from = p.extend_back_to.unwrap_or(p.start).min(p.start);
                (p.partition, (p.end - from).max(0) as u64)
            })
            .collect();
        let total = plan.iter().map(|p| p.quota as u64).sum();
        Self {
            reader,
            decoding: futures::stream::FuturesOrdered::new(),
            decode_ahead: cores,
            topic: Arc::from(topic),
            quota: plan.iter().map(|p| (p.partition, p.quota)).collect(),
            reached: snapshot.reached,
            gone: snapshot.gone,
            plan,
            deadline,
            timeout,
            progress,
            on_progress,
            ended,
            taken,
            available,
            total,
            generation: BTreeMap::new(),
            finished,
        }
    }

    /// Shares the read's messages again after a partition's range ended: a partition that
    /// gave fewer messages than its share (compaction gaps, transaction markers, aborted
    /// records) leaves the rest to the others, as [`fair_share`] over what each can give.
    /// The shares depend only on the partitions' contents, not on which ended first.
    fn rebalance(&mut self) {
        let shares = fair_share(&self.available, self.total);
        for (partition, share) in shares {
            let taken = self.taken.get(&partition).copied().unwrap_or(0);
            let quota = (share as usize).saturating_sub(taken);
            self.quota.insert(partition, quota);
            if quota > 0 && !self.ended.contains(&partition) && self.finished.remove(&partition) {
                if self.can_extend_back(partition) {
                    if !self.extend_back(partition) {
                        self.finished.insert(partition);
                    }
                    continue;
                }
                let from = self
                    .reached
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&partition)
                    .copied()
                    .or_else(|| {
                        self.plan
                            .iter()
                            .find(|p| p.partition == partition)
                            .map(|p| p.start)
                    })
                    .unwrap_or(0);
                *self.generation.entry(partition).or_default() += 1;
                if !self.reader.resume_partition(partition, from) {
                    self.finished.insert(partition);
                }
            }
        }
    }

    /// Whether `partition` is read for its most recent messages and has offsets left before
    /// the part read so far.
    fn can_extend_back(&self, partition: i32) -> bool {
        self.plan
            .iter()
            .find(|p| p.partition == partition)
            .is_some_and(|p| p.extend_back_to.is_some_and(|floor| p.start > floor))
    }

    /// Reads the `quota` offsets before what `partition` has read so far (down to the log
    /// start): a read of the most recent messages whose offsets held fewer messages than its
    /// share (compaction gaps, transaction markers, aborted records) goes back for the rest.
    /// Those messages arrive after the partition's later ones; the frame builder places them
    /// by offset.
    fn extend_back(&mut self, partition: i32) -> bool {
        let quota = self.quota.get(&partition).copied().unwrap_or(0);
        let Some(plan) = self.plan.iter_mut().find(|p| p.partition == partition) else {
            return false;
        };
        let Some(floor) = plan.extend_back_to else {
            return false;
        };
        if quota == 0 || plan.start <= floor {
            return false;
        }
        let low = plan
            .start
            .saturating_sub(i64::try_from(quota).unwrap_or(i64::MAX))
            .max(floor);
        *self.generation.entry(partition).or_default() += 1;
        if !self.reader.refetch_partition(partition, low, plan.start) {
            return false;
        }
        plan.start = low;
        self.finished.remove(&partition);
        true
    }

    fn timeout_error(&self, last_error: Option<String>) -> KafkaDataSourceError {
        let positions: BTreeMap<i32, i64> = self
            .reader
            .positions()
            .into_iter()
            .map(|(r, pos)| (r.partition, pos))
            .collect();
        KafkaDataSourceError::Timeout {
            timeout: self.timeout,
            received: self.progress.messages,
            progress: self
                .plan
                .iter()
                .map(|p| PartitionProgress {
                    partition: p.partition,
                    start: p.start,
                    end: p.end,
                    position: positions.get(&p.partition).copied().unwrap_or(p.start),
                })
                .collect(),
            last_error,
        }
    }

    /// The reader's error as the source reports it: a read that ran out of time names where
    /// each partition got.
    fn read_error(&self, e: truthound_kafka_client::Error) -> KafkaDataSourceError {
        match e {
            e @ truthound_kafka_client::Error::RetriesExhausted { .. } => {
                self.timeout_error(Some(e.to_string()))
            }
            truthound_kafka_client::Error::Timeout { .. } => self.timeout_error(None),
            other => other.into(),
        }
    }

    /// Starts decoding `chunk` on a blocking thread.
    fn decode(&mut self, chunk: truthound_kafka_client::FetchedChunk) {
        let topic = self.topic.clone();
        let generation = self
            .generation
            .get(&chunk.partition())
            .copied()
            .unwrap_or(0);
        self.decoding
            .push_back(tokio::task::spawn_blocking(move || Decoded {
                generation,
                partition: chunk.partition(),
                last: chunk.is_last(),
                gone: chunk.gone(),
                messages: chunk.decode().map(|records| {
                    records
                        .into_iter()
                        .map(|r| to_message(&topic, chunk.partition(), r))
                        .collect()
                }),
            }));
    }

    async fn next(&mut self) -> Result<Option<Vec<RawMessage>>> {
        loop {
            let deadline = tokio::time::Instant::from(self.deadline);
            let fetching = !self.reader.is_done();
            let decoded = if self.decoding.is_empty() {
                if !fetching {
                    return Ok(None);
                }
                let chunk = tokio::select! {
                    chunk = self.reader.next_chunk() => chunk,
                    () = tokio::time::sleep_until(deadline) => return Err(self.timeout_error(None)),
                };
                match chunk {
                    Ok(Some(chunk)) => self.decode(chunk),
                    Ok(None) => {}
                    Err(e) => return Err(self.read_error(e)),
                }
                continue;
            } else if fetching && self.decoding.len() < self.decode_ahead {
                tokio::select! {
                    biased;
                    decoded = self.decoding.next() => decoded,
                    chunk = self.reader.next_chunk() => {
                        match chunk {
                            Ok(Some(chunk)) => self.decode(chunk),
                            Ok(None) => {}
                            Err(e) => return Err(self.read_error(e)),
                        }
                        continue;
                    }
                    () = tokio::time::sleep_until(deadline) => return Err(self.timeout_error(None)),
                }
            } else {
                tokio::select! {
                    decoded = self.decoding.next() => decoded,
                    () = tokio::time::sleep_until(deadline) => return Err(self.timeout_error(None)),
                }
            };
            let Some(decoded) = decoded else { continue };
            let decoded = decoded.map_err(|e| {
                KafkaDataSourceError::Client(truthound_kafka_client::Error::UnexpectedResponse(
                    format!("decoding a fetched chunk failed: {e}"),
                ))
            })?;
            if let Some(gone) = &decoded.gone
                && !gone.is_empty()
            {
                self.gone
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(GoneOffsets {
                        partition: decoded.partition,
                        offsets: gone.clone(),
                    });
            }
            let partition = decoded.partition;
            if self.generation.get(&partition).copied().unwrap_or(0) != decoded.generation
                || self.ended.contains(&partition)
            {
                continue;
            }
            let mut messages = decoded.messages.map_err(|e| self.read_error(e))?;
            let quota = self.quota.entry(partition).or_default();
            messages.truncate(*quota);
            *quota -= messages.len();
            let quota_left = *quota;
            *self.taken.entry(partition).or_default() += messages.len();
            if let Some(last) = messages.last() {
                // Earlier offsets read later (see `extend_back`) do not move it back.
                let mut reached = self.reached.lock().unwrap_or_else(|p| p.into_inner());
                let at = reached.entry(partition).or_insert(last.offset + 1);
                *at = (*at).max(last.offset + 1);
            }
            if decoded.last && self.can_extend_back(partition) {
                // The offsets read so far of a partition read for its most recent messages
                // are done: take the rest of its share from the offsets before them, or keep
                // them for later, should another partition fall short.
                if quota_left == 0 || !self.extend_back(partition) {
                    self.finished.insert(partition);
                }
            } else if decoded.last {
                self.ended.insert(partition);
                self.finished.insert(partition);
                let gave = self.taken.get(&partition).copied().unwrap_or(0) as u64;
                let could = self.available.get(&partition).copied().unwrap_or(0);
                if gave < could {
                    self.available.insert(partition, gave);
                    self.rebalance();
                }
            } else if quota_left == 0 && self.finished.insert(partition) {
                self.reader.finish_partition(partition);
            }
            self.progress.bytes += messages
                .iter()
                .map(|m| {
                    m.key.as_ref().map_or(0, |k| k.len()) + m.value.as_ref().map_or(0, |v| v.len())
                })
                .sum::<usize>();
            self.progress.messages += messages.len();
            self.progress.partitions_done = self.finished.len();
            if let Some(f) = &self.on_progress {
                f(&self.progress);
            }
            if !messages.is_empty() {
                return Ok(Some(messages));
            }
        }
    }
}

fn to_message(topic: &Arc<str>, partition: i32, r: Record) -> RawMessage {
    RawMessage {
        topic: topic.clone(),
        partition,
        offset: r.offset,
        timestamp: Some(r.timestamp),
        key: r.key,
        value: r.value,
        headers: r
            .headers
            .into_iter()
            .map(|h| MessageHeader {
                // Header keys are UTF-8 text by convention: checked without the lossy
                // conversion's machinery, which cost more than the copy.
                key: match std::str::from_utf8(&h.key) {
                    Ok(key) => key.to_owned(),
                    Err(_) => String::from_utf8_lossy(&h.key).into_owned(),
                },
                value: h.value,
            })
            .collect(),
    }
}

#[async_trait]
impl BaseStreamingDataSource for KafkaDataSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn config(&self) -> &StreamingDataSourceConfig {
        &self.config.streaming
    }

    fn value_deserializer(&self) -> Arc<dyn MessageDeserializer> {
        self.deserializer.clone()
    }

    fn key_deserializer(&self) -> Option<Arc<dyn MessageDeserializer>> {
        self.key_deserializer.clone()
    }

    async fn connect(&mut self) -> truthound_streaming_core::Result<()> {
        self.snapshot().await?;
        Ok(())
    }

    async fn close(&mut self) -> truthound_streaming_core::Result<()> {
        self.snapshot = None;
        Ok(())
    }

    async fn read_messages(
        &mut self,
        limit: usize,
    ) -> truthound_streaming_core::Result<MessageStream<'_>> {
        Ok(self.read(limit).await?)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::NONE
            .with_partitions(true)
            .with_offsets(true)
            .with_timestamps(true)
            .with_commit(true)
            .with_seek(true)
    }
}

/// Logs `config`'s [security warnings](KafkaDataSourceConfig::security_warnings), the first
/// time a source has any in this process.
fn warn_once(config: &KafkaDataSourceConfig) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let warnings = config.security_warnings();
    if !warnings.is_empty() && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        for warning in warnings {
            tracing::warn!("{warning}");
        }
    }
}

/// The TLS files and SASL credentials of `config`, as the wire client takes them. The client
/// uses TLS settings only for `SSL`/`SASL_SSL` and credentials only for the SASL protocols.
fn with_security(client: ClientConfig, config: &KafkaDataSourceConfig) -> ClientConfig {
    use truthound_kafka_client::{SaslConfig, TlsConfig};
    let mut client = client;
    if config.ssl_cafile.is_some() || config.ssl_certfile.is_some() || config.ssl_keyfile.is_some()
    {
        let mut tls = TlsConfig::new();
        tls.ca_file = config.ssl_cafile.as_ref().map(Into::into);
        tls.client_cert_file = config.ssl_certfile.as_ref().map(Into::into);
        tls.client_key_file = config.ssl_keyfile.as_ref().map(Into::into);
        client = client.with_tls(tls);
    }
    if let (Some(mechanism), Some(username), Some(password)) = (
        config.sasl_mechanism,
        &config.sasl_username,
        &config.sasl_password,
    ) {
        client = client.with_sasl(SaslConfig::new(mechanism, username, password.clone()));
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = Instant::now();
        assert_eq!(
            deadline_after(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(deadline_after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            deadline_after(now, Duration::from_secs_f64(1e19)),
            now + FAR_FUTURE
        );
    }
}
