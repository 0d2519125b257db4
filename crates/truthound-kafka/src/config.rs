//! [`KafkaDataSourceConfig`]: every field of the spec's configuration, validated when a source
//! is built, and the `kafka://` connection string.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use truthound_kafka_client::{IsolationLevel, SecurityProtocol};
use truthound_streaming_core::{
    AutoOffsetReset, DeserializerType, KeyDeserializer, OnMalformed, StreamingDataSourceConfig,
};

use crate::error::KafkaDataSourceError;

pub use truthound_kafka_client::SaslMechanism;

/// The SASL mechanisms, as errors list them.
const SASL_MECHANISMS: &str = "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512";

/// Settings of a [`KafkaDataSource`](crate::KafkaDataSource), with the spec's field names.
///
/// Built with [`KafkaDataSourceConfig::new`] and `with_*` methods; the generic streaming
/// fields (`max_messages`, `consume_timeout`, `auto_offset_reset`, deserializers, metadata
/// columns, `schema_sample_size`) live in [`KafkaDataSourceConfig::streaming`].
///
/// ```
/// use truthound_kafka::KafkaDataSourceConfig;
///
/// let config = KafkaDataSourceConfig::new("localhost:9092", "user-events")
///     .with_group_id("truthound-datasource")
///     .with_max_messages(10_000)
///     .with_include_metadata(true);
/// config.validate()?;
/// # Ok::<(), truthound_kafka::KafkaDataSourceError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KafkaDataSourceConfig {
    /// `host:port` list of brokers to bootstrap from (comma-separated).
    pub bootstrap_servers: String,
    /// The topic to read.
    pub topic: String,
    /// The consumer group whose committed offsets are a start position and where
    /// `commit_offsets` writes. `None` (the default): no group is consulted.
    pub group_id: Option<String>,
    /// The generic streaming settings: `max_messages`, `consume_timeout`, `auto_offset_reset`,
    /// deserializers, metadata columns, `schema_sample_size`, `on_malformed`.
    pub streaming: StreamingDataSourceConfig,
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: SecurityProtocol,
    /// The SASL mechanism, for the SASL protocols.
    pub sasl_mechanism: Option<SaslMechanism>,
    /// SASL user name.
    pub sasl_username: Option<String>,
    /// SASL password: a [`SecretString`], shown as `[REDACTED]` by `Debug`.
    pub sasl_password: Option<SecretString>,
    /// Accept SASL PLAIN over `SASL_PLAINTEXT` without a warning (the password crosses the
    /// network in clear text); default `false`.
    pub allow_plaintext_password: bool,
    /// PEM file of the certificate authorities to trust.
    pub ssl_cafile: Option<String>,
    /// PEM file of the client certificate.
    pub ssl_certfile: Option<String>,
    /// PEM file of the client key.
    pub ssl_keyfile: Option<String>,
    /// Read only this partition (`None`: all partitions).
    pub partition: Option<i32>,
    /// Start at this offset in every partition read (clamped into each partition's log).
    pub start_offset: Option<i64>,
    /// Stop before this offset (exclusive) in every partition read.
    pub end_offset: Option<i64>,
    /// Start at the first message at or after this time (milliseconds since the epoch).
    pub start_timestamp: Option<i64>,
    /// Which records are visible; the default, read_committed, hides aborted transactions
    /// and ends at the last stable offset.
    pub isolation_level: IsolationLevel,
    /// Writer schema (JSON) for `deserializer_type = avro` with raw datums.
    pub avro_schema: Option<String>,
    /// The `.proto` schema (its text) for `deserializer_type = protobuf` without a schema
    /// registry; it may import the well-known types (`google/protobuf/*.proto`). With
    /// `schema_registry_url`, each message's schema is the registry's and this stays `None`.
    pub protobuf_schema: Option<String>,
    /// The message type of the values with `protobuf_schema` (`shop.Order`, or a plain name
    /// that is unique); `None`: the first message of the schema. Confluent-framed values say
    /// their own type.
    pub protobuf_message: Option<String>,
    /// A JSON Schema (its text) typing `deserializer_type = json` values without a schema
    /// registry: dates, times and timestamps from `format`, floats from `number`, integers from
    /// `integer` (see `truthound_json::schema`). With `schema_registry_url`, each framed
    /// document's schema is the registry's and this stays `None`.
    pub json_schema: Option<String>,
    /// What Avro values are read as, by Avro's schema resolution (defaults fill fields a
    /// writer lacks, fields the reader lacks are left out, `int` widens to `long` and so on):
    /// - `None` (the default): with the schema registry, the latest version of
    ///   `schema_registry_subject` (so that one frame has one set of columns however the
    ///   schema evolved; when the registry has no such subject, as written); with
    ///   `avro_schema`, as written;
    /// - `"latest"`: the same, stated;
    /// - `"writer"`: every message as its own writer schema, no resolution (a registry
    ///   topic's frame then has the union of every version's fields);
    /// - anything else: a reader schema's JSON.
    pub avro_reader_schema: Option<String>,
    /// The registry subject whose latest version is the reader schema; `None` (the default):
    /// `{topic}-value`, Confluent's default subject naming.
    pub schema_registry_subject: Option<String>,
    /// Schema registry URL for `deserializer_type = avro`, `protobuf` or `json` with
    /// Confluent-framed values: `http://` or `https://` (Confluent Cloud), without credentials
    /// in it. For `json`, each framed document's JSON Schema types its columns (formats,
    /// `number`, `integer`; see `truthound_json::schema`).
    pub schema_registry_url: Option<String>,
    /// Schema registry user name for HTTP basic auth (Confluent Cloud: the Schema Registry API
    /// key, not the cluster's).
    pub schema_registry_username: Option<String>,
    /// Schema registry password for HTTP basic auth (Confluent Cloud: the Schema Registry API
    /// secret): a [`SecretString`], shown as `[REDACTED]` by `Debug`.
    pub schema_registry_password: Option<SecretString>,
    /// PEM file of the certificate authorities to trust for an `https://` schema registry.
    /// `None` (the default): the webpki roots, which is what a public registry such as
    /// Confluent Cloud needs. `ssl_cafile` is for the brokers only and never used for the
    /// registry, as in Confluent's clients (`schema.registry.ssl.ca.location`).
    pub schema_registry_ssl_cafile: Option<String>,
    /// The client id sent to the brokers.
    pub client_id: String,
    /// Time allowed to connect to a broker.
    pub connect_timeout: Duration,
    /// Read exactly these offset ranges, a share of a [`SnapshotPlan`](crate::SnapshotPlan)
    /// (`None`, the default: plan the read from the other fields). See
    /// [`with_share`](Self::with_share).
    pub share: Option<ShareRanges>,
}

/// The offsets a share of a [`SnapshotPlan`](crate::SnapshotPlan) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRanges {
    /// The topic's id when the plan was made: a read of a topic with another id (deleted and
    /// re-created) fails. `None`: not checked.
    pub topic_id: Option<[u8; 16]>,
    /// The ranges, at most one per partition.
    pub ranges: Vec<crate::OffsetRange>,
}

macro_rules! streaming_setter {
    ($(#[$doc:meta] $name:ident($field:ident: $ty:ty) => $inner:ident;)*) => {
        $(
            #[$doc]
            #[must_use]
            pub fn $name(mut self, $field: $ty) -> Self {
                self.streaming = self.streaming.$inner($field);
                self
            }
        )*
    };
}

impl KafkaDataSourceConfig {
    /// A configuration for `topic` on `bootstrap_servers`, with the spec's defaults.
    pub fn new(bootstrap_servers: impl Into<String>, topic: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            topic: topic.into(),
            group_id: None,
            streaming: StreamingDataSourceConfig::default(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            allow_plaintext_password: false,
            ssl_cafile: None,
            ssl_certfile: None,
            ssl_keyfile: None,
            partition: None,
            start_offset: None,
            end_offset: None,
            start_timestamp: None,
            isolation_level: IsolationLevel::ReadCommitted,
            avro_schema: None,
            avro_reader_schema: None,
            schema_registry_subject: None,
            protobuf_schema: None,
            protobuf_message: None,
            json_schema: None,
            schema_registry_url: None,
            schema_registry_username: None,
            schema_registry_password: None,
            schema_registry_ssl_cafile: None,
            client_id: "truthound".to_owned(),
            connect_timeout: Duration::from_secs(10),
            share: None,
        }
    }

    /// The bootstrap servers as a list.
    pub fn bootstrap_list(&self) -> Vec<String> {
        self.bootstrap_servers
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    streaming_setter! {
        /// Sets `max_messages`, the most messages a snapshot holds.
        with_max_messages(n: usize) => with_max_messages;
        /// Sets `consume_timeout`, the longest a read may take.
        with_consume_timeout(t: Duration) => with_consume_timeout;
        /// Sets `auto_offset_reset`: where to start without an offset or committed position.
        with_auto_offset_reset(r: AutoOffsetReset) => with_auto_offset_reset;
        /// Sets `deserializer_type`, the format of record values.
        with_deserializer_type(t: DeserializerType) => with_deserializer_type;
        /// Sets `key_deserializer`, the format of record keys.
        with_key_deserializer(k: KeyDeserializer) => with_key_deserializer;
        /// Sets `include_key`: add the key column.
        with_include_key(yes: bool) => with_include_key;
        /// Sets `include_headers`: add the headers column.
        with_include_headers(yes: bool) => with_include_headers;
        /// Sets `include_metadata`: add topic, partition, offset and timestamp columns.
        with_include_metadata(yes: bool) => with_include_metadata;
        /// Sets `metadata_prefix`, the prefix of metadata column names.
        with_metadata_prefix(p: String) => with_metadata_prefix;
        /// Sets `schema_sample_size`, how many messages schema inference reads.
        with_schema_sample_size(n: usize) => with_schema_sample_size;
        /// Sets what happens to a message that cannot be decoded.
        with_on_malformed(o: OnMalformed) => with_on_malformed;
        /// Builds only these data columns (top-level fields), skipping the others' values.
        with_columns(columns: Vec<String>) => with_columns;
    }

    /// Sets `group_id`.
    #[must_use]
    pub fn with_group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// Reads only this partition.
    #[must_use]
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Starts at this offset.
    #[must_use]
    pub fn with_start_offset(mut self, offset: i64) -> Self {
        self.start_offset = Some(offset);
        self
    }

    /// Stops before this offset.
    #[must_use]
    pub fn with_end_offset(mut self, offset: i64) -> Self {
        self.end_offset = Some(offset);
        self
    }

    /// Starts at the first message at or after this time (ms since the epoch).
    #[must_use]
    pub fn with_start_timestamp(mut self, ms: i64) -> Self {
        self.start_timestamp = Some(ms);
        self
    }

    /// Sets the isolation level.
    #[must_use]
    pub fn with_isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation_level = level;
        self
    }

    /// Sets the security protocol.
    #[must_use]
    pub fn with_security_protocol(mut self, p: SecurityProtocol) -> Self {
        self.security_protocol = p;
        self
    }

    /// Sets SASL mechanism, user name and password.
    #[must_use]
    pub fn with_sasl(
        mut self,
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.sasl_mechanism = Some(mechanism);
        self.sasl_username = Some(username.into());
        self.sasl_password = Some(password.into());
        self
    }

    /// Accepts SASL PLAIN over `SASL_PLAINTEXT` without a warning.
    #[must_use]
    pub fn with_allow_plaintext_password(mut self, yes: bool) -> Self {
        self.allow_plaintext_password = yes;
        self
    }

    /// Sets the TLS files: CA bundle, client certificate, client key.
    #[must_use]
    pub fn with_ssl_files(
        mut self,
        cafile: Option<String>,
        certfile: Option<String>,
        keyfile: Option<String>,
    ) -> Self {
        self.ssl_cafile = cafile;
        self.ssl_certfile = certfile;
        self.ssl_keyfile = keyfile;
        self
    }

    /// Sets the Avro writer schema (JSON) for raw Avro values.
    #[must_use]
    pub fn with_avro_schema(mut self, schema_json: impl Into<String>) -> Self {
        self.avro_schema = Some(schema_json.into());
        self
    }

    /// Sets what Avro values are read as: `"latest"`, `"writer"` or a reader schema's JSON
    /// (see [`avro_reader_schema`](Self::avro_reader_schema)).
    ///
    /// ```
    /// use truthound_kafka::KafkaDataSourceConfig;
    ///
    /// let config = KafkaDataSourceConfig::new("localhost:9092", "members")
    ///     .with_schema_registry_url("http://localhost:8081")
    ///     .with_avro_reader_schema("writer");
    /// assert!(config.validate().is_ok());
    /// ```
    #[must_use]
    pub fn with_avro_reader_schema(mut self, reader: impl Into<String>) -> Self {
        self.avro_reader_schema = Some(reader.into());
        self
    }

    /// Sets the `.proto` schema (text) and, optionally, the message type of Protobuf values.
    #[must_use]
    pub fn with_protobuf_schema(
        mut self,
        proto: impl Into<String>,
        message: Option<impl Into<String>>,
    ) -> Self {
        self.protobuf_schema = Some(proto.into());
        self.protobuf_message = message.map(Into::into);
        self
    }

    /// Sets the JSON Schema (text) that types JSON values.
    #[must_use]
    pub fn with_json_schema(mut self, schema: impl Into<String>) -> Self {
        self.json_schema = Some(schema.into());
        self
    }

    /// Sets the registry subject whose latest version Avro values are read as (default
    /// `{topic}-value`).
    #[must_use]
    pub fn with_schema_registry_subject(mut self, subject: impl Into<String>) -> Self {
        self.schema_registry_subject = Some(subject.into());
        self
    }

    /// Reads exactly `ranges` (at most one per partition) of the topic whose id is `topic_id`:
    /// a share of a [`SnapshotPlan`](crate::SnapshotPlan). Nothing else decides where the read
    /// starts or ends (`partition`, `start_offset`, `end_offset`, `start_timestamp` and
    /// `group_id` are refused with it); a range that retention has removed in part, or that
    /// ends past the partition's end, fails the read instead of reading something else.
    #[must_use]
    pub fn with_share(
        mut self,
        topic_id: Option<[u8; 16]>,
        ranges: Vec<crate::OffsetRange>,
    ) -> Self {
        self.share = Some(ShareRanges { topic_id, ranges });
        self
    }

    /// Sets the schema registry URL for Confluent-framed Avro values.
    #[must_use]
    pub fn with_schema_registry_url(mut self, url: impl Into<String>) -> Self {
        self.schema_registry_url = Some(url.into());
        self
    }

    /// Sets the schema registry: its URL and the HTTP basic auth credentials (Confluent Cloud:
    /// the Schema Registry API key and secret).
    ///
    /// ```
    /// use truthound_kafka::KafkaDataSourceConfig;
    /// use truthound_streaming_core::DeserializerType;
    ///
    /// let config = KafkaDataSourceConfig::confluent_cloud(
    ///     "pkc-0000.eu-west-1.aws.confluent.cloud:9092", "orders", "CLUSTER_KEY", "cluster-secret")
    ///     .with_schema_registry(
    ///         "https://psrc-0000.eu-west-1.aws.confluent.cloud", "SR_KEY", "registry-secret")
    ///     .with_deserializer_type(DeserializerType::Avro);
    /// config.validate()?;
    /// assert!(!format!("{config:?}").contains("registry-secret"));
    /// # Ok::<(), truthound_kafka::KafkaDataSourceError>(())
    /// ```
    #[must_use]
    pub fn with_schema_registry(
        self,
        url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.with_schema_registry_url(url)
            .with_schema_registry_auth(username, password)
    }

    /// Sets the schema registry's HTTP basic auth credentials.
    #[must_use]
    pub fn with_schema_registry_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.schema_registry_username = Some(username.into());
        self.schema_registry_password = Some(password.into());
        self
    }

    /// Sets the PEM file of the certificate authorities to trust for an `https://` schema
    /// registry (instead of the webpki roots).
    #[must_use]
    pub fn with_schema_registry_ssl_cafile(mut self, path: impl Into<String>) -> Self {
        self.schema_registry_ssl_cafile = Some(path.into());
        self
    }

    /// A configuration for Confluent Cloud: `SASL_SSL` with `PLAIN`, the cluster API key as
    /// user name and its secret as password. Add the registry with
    /// [`with_schema_registry`](Self::with_schema_registry).
    pub fn confluent_cloud(
        bootstrap_servers: impl Into<String>,
        topic: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<SecretString>,
    ) -> Self {
        Self::new(bootstrap_servers, topic)
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_sasl(SaslMechanism::Plain, api_key, api_secret)
    }

    /// The schema registry fields fit together: credentials come as a pair, and every
    /// registry setting needs `schema_registry_url`; a CA file needs an `https://` URL.
    fn validate_schema_registry(&self) -> Result<(), KafkaDataSourceError> {
        let bad = |m: String| Err(KafkaDataSourceError::InvalidConfig(m));
        let set: Vec<&str> = [
            (
                "schema_registry_username",
                self.schema_registry_username.is_some(),
            ),
            (
                "schema_registry_password",
                self.schema_registry_password.is_some(),
            ),
            (
                "schema_registry_ssl_cafile",
                self.schema_registry_ssl_cafile.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let Some(url) = &self.schema_registry_url else {
            if set.is_empty() {
                return Ok(());
            }
            return bad(format!(
                "{} set, but schema_registry_url is not: give the registry URL, or remove {}",
                set.join(", "),
                if set.len() == 1 { "it" } else { "them" }
            ));
        };
        let authority = url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        if authority.contains('@') {
            return bad(format!(
                "schema_registry_url {:?} has credentials in it, which would show in messages: \
                 give schema_registry_username and schema_registry_password instead",
                redacted_registry_url(url)
            ));
        }
        if self.schema_registry_username.is_some() != self.schema_registry_password.is_some() {
            return bad(
                "schema registry basic auth needs both schema_registry_username and \
                 schema_registry_password"
                    .into(),
            );
        }
        if self.schema_registry_ssl_cafile.is_some() && !url.trim().starts_with("https://") {
            return bad(format!(
                "schema_registry_ssl_cafile set, but schema_registry_url {:?} is not https://: \
                 use https://, or remove it",
                redacted_registry_url(url)
            ));
        }
        Ok(())
    }

    /// Checks every field; the error names the field and what would be accepted.
    pub fn validate(&self) -> Result<(), KafkaDataSourceError> {
        let bad = |m: String| Err(KafkaDataSourceError::InvalidConfig(m));
        if self.bootstrap_list().is_empty() {
            return bad("bootstrap_servers is empty: give at least one host:port".into());
        }
        for s in self.bootstrap_list() {
            // An IPv6 host goes in brackets: `[::1]:9092`.
            let host_ok = |h: &str| match h.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
                None => !h.is_empty() && !h.contains(':'),
            };
            let ok = s
                .rsplit_once(':')
                .is_some_and(|(h, p)| host_ok(h) && p.parse::<u16>().is_ok());
            if !ok {
                return bad(format!(
                    "bootstrap server {s:?} is not host:port (an IPv6 address goes in brackets: \
                     [::1]:9092)"
                ));
            }
        }
        if self.topic.is_empty() {
            return bad("topic is empty".into());
        }
        if self.topic.len() > 249
            || !self
                .topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return bad(format!(
                "topic {:?} is not a valid Kafka topic name (up to 249 of a-z A-Z 0-9 . _ -)",
                self.topic
            ));
        }
        self.streaming
            .validate()
            .map_err(|e| KafkaDataSourceError::InvalidConfig(e.to_string()))?;
        if let Some(p) = self.partition
            && p < 0
        {
            return bad(format!("partition is {p}: partitions are numbered from 0"));
        }
        if let Some(o) = self.start_offset
            && o < 0
        {
            return bad(format!("start_offset is {o}: offsets are 0 or more"));
        }
        if let Some(o) = self.end_offset
            && o < 0
        {
            return bad(format!("end_offset is {o}: offsets are 0 or more"));
        }
        if let (Some(s), Some(e)) = (self.start_offset, self.end_offset)
            && e < s
        {
            return bad(format!("end_offset {e} is before start_offset {s}"));
        }
        if let Some(t) = self.start_timestamp
            && t < 0
        {
            return bad(format!(
                "start_timestamp is {t}: give milliseconds since 1970-01-01T00:00:00Z (0 or more)"
            ));
        }
        if self.start_offset.is_some() && self.start_timestamp.is_some() {
            return bad("give start_offset or start_timestamp, not both".into());
        }
        if let Some(share) = &self.share {
            let others = [
                ("partition", self.partition.is_some()),
                ("start_offset", self.start_offset.is_some()),
                ("end_offset", self.end_offset.is_some()),
                ("start_timestamp", self.start_timestamp.is_some()),
                ("group_id", self.group_id.is_some()),
            ];
            if let Some((field, _)) = others.iter().find(|(_, set)| *set) {
                return bad(format!(
                    "{field} set with a plan's share: the share's ranges say what is read; \
                     remove {field}"
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for r in &share.ranges {
                if r.partition < 0 || r.start < 0 || r.end < r.start {
                    return bad(format!(
                        "share range {}:{}..{} is not a partition's offsets",
                        r.partition, r.start, r.end
                    ));
                }
                if !seen.insert(r.partition) {
                    return bad(format!(
                        "the share has two ranges of partition {}",
                        r.partition
                    ));
                }
            }
        }
        self.validate_security()?;
        self.validate_schema_registry()?;
        if self.schema_registry_url.is_none() {
            if self.avro_reader_schema.as_deref().map(str::trim) == Some("latest") {
                return bad(
                    "avro_reader_schema latest needs schema_registry_url: give the registry, \
                     or a reader schema's JSON"
                        .into(),
                );
            }
            if self.schema_registry_subject.is_some() {
                return bad(
                    "schema_registry_subject set, but schema_registry_url is not: give the \
                     registry URL, or remove it"
                        .into(),
                );
            }
        }
        if self.streaming.deserializer_type == DeserializerType::Protobuf {
            match (&self.protobuf_schema, &self.schema_registry_url) {
                (None, None) => {
                    return bad(
                        "deserializer_type protobuf needs protobuf_schema (the .proto \
                         text; in the CLI, --protobuf-schema FILE) or schema_registry_url \
                         (--schema-registry URL) for Confluent-framed values"
                            .into(),
                    );
                }
                (Some(_), Some(_)) => {
                    return bad(
                        "protobuf_schema and schema_registry_url are both set: with the \
                         registry, each message's schema is the one its schema id names; \
                         remove one"
                            .into(),
                    );
                }
                (None, Some(_)) if self.protobuf_message.is_some() => {
                    return bad("protobuf_message set with schema_registry_url: each \
                         Confluent-framed value names its message type (its message-index \
                         path); remove it"
                        .into());
                }
                _ => {}
            }
        }
        if self.json_schema.is_some() {
            if self.streaming.deserializer_type != DeserializerType::Json {
                return bad(format!(
                    "json_schema set, but deserializer_type is {}: it types json values; \
                     remove it, or read the values as json",
                    self.streaming.deserializer_type
                ));
            }
            if self.schema_registry_url.is_some() {
                return bad(
                    "json_schema and schema_registry_url are both set: with the \
                     registry, each document's schema is the one its schema id names; remove \
                     one"
                    .into(),
                );
            }
        }
        let registry_keys = self.streaming.include_key
            && matches!(
                self.streaming.key_deserializer,
                KeyDeserializer::Avro | KeyDeserializer::Protobuf
            );
        if registry_keys && self.schema_registry_url.is_none() {
            return bad(format!(
                "key_deserializer {} needs schema_registry_url (--schema-registry URL): keys \
                 in the Confluent wire format are decoded with the registry's schemas",
                self.streaming.key_deserializer
            ));
        }
        if matches!(
            self.streaming.deserializer_type,
            DeserializerType::String | DeserializerType::Bytes
        ) && self.schema_registry_url.is_some()
            && !registry_keys
        {
            return bad(format!(
                "schema_registry_url set, but deserializer_type {} does not use a registry \
                 (avro, protobuf and json do): remove it, or choose the values' format",
                self.streaming.deserializer_type
            ));
        }
        if self.streaming.deserializer_type == DeserializerType::Avro
            && self.avro_schema.is_none()
            && self.schema_registry_url.is_none()
        {
            return bad(
                "deserializer_type avro needs avro_schema (a writer schema) or schema_registry_url"
                    .into(),
            );
        }
        Ok(())
    }

    /// The security fields fit together: SASL credentials only with a SASL protocol and then
    /// all of them, TLS files only with a TLS protocol, a client certificate with its key.
    /// Settings that would otherwise be ignored are errors, so that a client never talks plain
    /// TCP while its user believes it authenticates or encrypts.
    fn validate_security(&self) -> Result<(), KafkaDataSourceError> {
        let bad = |m: String| Err(KafkaDataSourceError::InvalidConfig(m));
        let protocol = self.security_protocol;
        let (sasl, tls) = match protocol {
            SecurityProtocol::SaslPlaintext => (true, false),
            SecurityProtocol::SaslSsl => (true, true),
            SecurityProtocol::Ssl => (false, true),
            _ => (false, false),
        };
        let credentials: Vec<&str> = [
            ("sasl_mechanism", self.sasl_mechanism.is_some()),
            ("sasl_username", self.sasl_username.is_some()),
            ("sasl_password", self.sasl_password.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let files: Vec<&str> = [
            ("ssl_cafile", self.ssl_cafile.is_some()),
            ("ssl_certfile", self.ssl_certfile.is_some()),
            ("ssl_keyfile", self.ssl_keyfile.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if sasl {
            if self.sasl_mechanism.is_none() {
                return bad(format!(
                    "security_protocol {protocol} needs sasl_mechanism: one of {SASL_MECHANISMS}"
                ));
            }
            if self.sasl_username.is_none() || self.sasl_password.is_none() {
                return bad(format!(
                    "security_protocol {protocol} needs sasl_username and sasl_password"
                ));
            }
        } else if !credentials.is_empty() {
            return bad(format!(
                "{} set, but security_protocol is {protocol}, which does not authenticate: \
                 set security_protocol to SASL_SSL (or SASL_PLAINTEXT), or remove them",
                credentials.join(", ")
            ));
        }
        if !tls && !files.is_empty() {
            return bad(format!(
                "{} set, but security_protocol is {protocol}, which does not use TLS: set \
                 security_protocol to SSL (or SASL_SSL), or remove them",
                files.join(", ")
            ));
        }
        if self.ssl_certfile.is_some() != self.ssl_keyfile.is_some() {
            return bad(
                "a client certificate needs both ssl_certfile and ssl_keyfile (PEM files)".into(),
            );
        }
        Ok(())
    }

    /// Warnings about settings that work but are unsafe: today, SASL PLAIN over
    /// `SASL_PLAINTEXT`, which sends the password in clear text, unless
    /// [`allow_plaintext_password`](Self::allow_plaintext_password) is set.
    ///
    /// [`KafkaDataSource`](crate::KafkaDataSource) logs them (`tracing`, once per process);
    /// the command line prints them on stderr.
    pub fn security_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.security_protocol == SecurityProtocol::SaslPlaintext
            && self.sasl_mechanism == Some(SaslMechanism::Plain)
            && !self.allow_plaintext_password
        {
            warnings.push(format!(
                "SASL PLAIN over SASL_PLAINTEXT sends the password in clear text to {}: use \
                 SASL_SSL, or a SCRAM mechanism, or allow it explicitly \
                 (allow_plaintext_password)",
                self.bootstrap_servers
            ));
        }
        warnings.extend(self.schema_registry_warnings());
        warnings
    }

    /// The schema registry's part of [`security_warnings`](Self::security_warnings): basic
    /// auth over `http://` sends the registry password in clear text.
    fn schema_registry_warnings(&self) -> Option<String> {
        let url = self.schema_registry_url.as_deref()?.trim();
        (self.schema_registry_password.is_some() && url.starts_with("http://")).then(|| {
            format!(
                "the schema registry password goes in clear text to {}: use an https:// \
                 registry URL",
                redacted_registry_url(url)
            )
        })
    }

    /// Parses `kafka://host:port[,host:port...]/topic[?option=value&...]` (the `kafka://` is
    /// optional). Options are field names: `max_messages`, `group_id`, `partition`,
    /// `start_offset`, `end_offset`, `auto_offset_reset`, `deserializer_type`,
    /// `key_deserializer`, `include_key`, `include_headers`, `include_metadata`,
    /// `metadata_prefix`, `schema_sample_size`, `consume_timeout` (seconds), `start_timestamp`
    /// (ms since the epoch), `isolation_level`, `on_malformed`, and the security options
    /// `security_protocol`, `sasl_mechanism`, `sasl_username`, `ssl_cafile`, `ssl_certfile`,
    /// `ssl_keyfile`, `allow_plaintext_password`, and the schema registry options
    /// `schema_registry_url`, `schema_registry_username`, `schema_registry_ssl_cafile`,
    /// `schema_registry_subject`, `avro_reader_schema` (`latest` or `writer` here; a reader
    /// schema's JSON through the field or the CLI's `--avro-reader-schema FILE`).
    ///
    /// Passwords are not accepted in a connection string: URLs end up in logs, shell history
    /// and `ps`. Errors show the string with anything that looks like a credential as `***`.
    pub fn from_connection_string(url: &str) -> Result<Self, KafkaDataSourceError> {
        let config = Self::parse_connection_string(url)?;
        config.validate()?;
        Ok(config)
    }

    /// Like [`from_connection_string`](Self::from_connection_string) without the final
    /// [`validate`](Self::validate): for callers that complete the configuration first, such as
    /// a command line adding a password read from the environment to the user name given in
    /// the string, then validate it.
    pub fn parse_connection_string(url: &str) -> Result<Self, KafkaDataSourceError> {
        let expected = |why: &str| {
            KafkaDataSourceError::InvalidConfig(format!(
                "invalid connection string {:?}: {why}; expected kafka://host:port[,host:port...]/topic[?option=value&...]",
                redacted_url(url)
            ))
        };
        let rest = url.strip_prefix("kafka://").unwrap_or(url);
        // Option values may be URLs (schema_registry_url): only the part before them counts.
        if rest
            .split('?')
            .next()
            .is_some_and(|main| main.contains("://"))
        {
            return Err(expected("the scheme must be kafka://"));
        }
        if rest
            .split(['/', '?'])
            .next()
            .is_some_and(|a| a.contains('@'))
        {
            return Err(expected(
                "credentials in the connection string are not accepted (URLs end up in logs \
                 and shell history): give sasl_username in the options and the password \
                 through the configuration or TRUTHOUND_SASL_PASSWORD",
            ));
        }
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (servers, topic) = main
            .split_once('/')
            .ok_or_else(|| expected("no /topic after the servers"))?;
        if servers.is_empty() {
            return Err(expected("no servers"));
        }
        if topic.is_empty() || topic.contains('/') {
            return Err(expected("the topic is missing or contains '/'"));
        }
        let mut options = BTreeMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| expected(&format!("option {pair:?} has no '='")))?;
            options.insert(k.to_owned(), v.to_owned());
        }
        Self::new(servers, topic).with_options(&options)
    }

    /// Applies options given by name, as in a connection string.
    pub fn with_options(
        mut self,
        options: &BTreeMap<String, String>,
    ) -> Result<Self, KafkaDataSourceError> {
        fn parse<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, KafkaDataSourceError> {
            v.parse().map_err(|_| {
                KafkaDataSourceError::InvalidConfig(format!(
                    "option {k}={v:?} has an invalid value"
                ))
            })
        }
        fn parse_err<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, KafkaDataSourceError> {
            r.map_err(|e| KafkaDataSourceError::InvalidConfig(e.to_string()))
        }
        for (k, v) in options {
            let v = v.as_str();
            self = match k.as_str() {
                "max_messages" => self.with_max_messages(parse(k, v)?),
                "group_id" => self.with_group_id(v),
                "partition" => self.with_partition(parse(k, v)?),
                "start_offset" => self.with_start_offset(parse(k, v)?),
                "end_offset" => self.with_end_offset(parse(k, v)?),
                "auto_offset_reset" => self.with_auto_offset_reset(parse_err(v.parse())?),
                "deserializer_type" => self.with_deserializer_type(parse_err(v.parse())?),
                "key_deserializer" => self.with_key_deserializer(parse_err(v.parse())?),
                "include_key" => self.with_include_key(parse(k, v)?),
                "include_headers" => self.with_include_headers(parse(k, v)?),
                "include_metadata" => self.with_include_metadata(parse(k, v)?),
                "metadata_prefix" => self.with_metadata_prefix(v.to_owned()),
                "schema_sample_size" => self.with_schema_sample_size(parse(k, v)?),
                "consume_timeout" => {
                    let secs = parse::<f64>(k, v)?;
                    let max = StreamingDataSourceConfig::MAX_CONSUME_TIMEOUT;
                    // Checked here, not only by validate(): a command-line --timeout may
                    // replace it before the configuration is validated.
                    let t = Duration::try_from_secs_f64(secs)
                        .ok()
                        .filter(|t| !t.is_zero() && *t <= max)
                        .ok_or_else(|| {
                            KafkaDataSourceError::InvalidConfig(format!(
                                "option consume_timeout={v:?}: give a number of seconds above 0 \
                                 and at most {}",
                                max.as_secs()
                            ))
                        })?;
                    self.with_consume_timeout(t)
                }
                "start_timestamp" => self.with_start_timestamp(parse(k, v)?),
                "security_protocol" => self.with_security_protocol(parse_err(v.parse())?),
                "sasl_mechanism" => {
                    self.sasl_mechanism = Some(parse_err(v.parse())?);
                    self
                }
                "sasl_username" => {
                    self.sasl_username = Some(v.to_owned());
                    self
                }
                "ssl_cafile" => {
                    self.ssl_cafile = Some(v.to_owned());
                    self
                }
                "ssl_certfile" => {
                    self.ssl_certfile = Some(v.to_owned());
                    self
                }
                "ssl_keyfile" => {
                    self.ssl_keyfile = Some(v.to_owned());
                    self
                }
                "allow_plaintext_password" => self.with_allow_plaintext_password(parse(k, v)?),
                "schema_registry_url" => self.with_schema_registry_url(v),
                "schema_registry_username" => {
                    self.schema_registry_username = Some(v.to_owned());
                    self
                }
                "schema_registry_ssl_cafile" => self.with_schema_registry_ssl_cafile(v),
                "schema_registry_subject" => self.with_schema_registry_subject(v),
                "protobuf_message" => {
                    self.protobuf_message = Some(v.to_owned());
                    self
                }
                "avro_reader_schema" => self.with_avro_reader_schema(v),
                "on_malformed" => self.with_on_malformed(parse_err(v.parse())?),
                secret if is_secret_option(secret) => {
                    return Err(KafkaDataSourceError::InvalidConfig(format!(
                        "option {secret} is not accepted here: secrets in connection strings \
                         end up in logs and shell history; set it in the configuration, or in \
                         the environment variable TRUTHOUND_{} for the command line",
                        secret.to_ascii_uppercase()
                    )));
                }
                "isolation_level" => self.with_isolation_level(match v {
                    "read_committed" => IsolationLevel::ReadCommitted,
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    _ => {
                        return Err(KafkaDataSourceError::InvalidConfig(format!(
                            "isolation_level {v:?}: expected read_committed or read_uncommitted"
                        )));
                    }
                }),
                other => {
                    return Err(KafkaDataSourceError::InvalidConfig(format!(
                        "unknown option {other:?}"
                    )));
                }
            };
        }
        Ok(self)
    }
}

/// Whether a connection-string option names a secret (its value is never echoed).
fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "credential"]
        .iter()
        .any(|word| key.contains(word))
}

/// A schema registry URL with its user information shown as `***`.
fn redacted_registry_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[end..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// `url` with its credentials replaced by `***`: user information before `@` in the servers
/// part, and the values of options whose names say they are secrets.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let (main, query) = match rest.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (rest, None),
    };
    let authority_end = main.find('/').unwrap_or(main.len());
    let (authority, path) = main.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, hosts)) => format!("***@{hosts}"),
        None => authority.to_owned(),
    };
    let mut out = format!("{scheme}{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret_option(k) => format!("{k}=***"),
                Some((k, v)) if k == "schema_registry_url" => {
                    format!("{k}={}", redacted_registry_url(v))
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings() {
        let c = KafkaDataSourceConfig::from_connection_string("kafka://localhost:9092/my-topic")
            .unwrap();
        assert_eq!(
            (c.bootstrap_servers.as_str(), c.topic.as_str()),
            ("localhost:9092", "my-topic")
        );
        let c = KafkaDataSourceConfig::from_connection_string(
            "kafka://broker1:9092,broker2:9092/my-topic?max_messages=5000&include_metadata=true",
        )
        .unwrap();
        assert_eq!(c.bootstrap_list(), vec!["broker1:9092", "broker2:9092"]);
        let v6 =
            KafkaDataSourceConfig::from_connection_string("kafka://[::1]:9092,[fe80::2]:9093/t")
                .unwrap();
        assert_eq!(v6.bootstrap_list(), vec!["[::1]:9092", "[fe80::2]:9093"]);
        assert_eq!(c.streaming.max_messages, 5000);
        assert!(c.streaming.include_metadata);
        let c = KafkaDataSourceConfig::from_connection_string("localhost:9092/t").unwrap();
        assert_eq!(c.topic, "t");
    }

    #[test]
    fn malformed_connection_strings_show_the_form() {
        for bad in [
            "kafka://localhost:9092",
            "http://localhost:9092/t",
            "kafka:///t",
            "kafka://localhost:9092/",
            "kafka://localhost/t",
            "kafka://localhost:9092/t?max_messages",
            "kafka://localhost:9092/t?max_messages=lots",
            "kafka://localhost:9092/t?colour=blue",
            "kafka://localhost:9092/t?consume_timeout=-1",
            "kafka://localhost:9092/t?consume_timeout=nan",
        ] {
            let err = KafkaDataSourceConfig::from_connection_string(bad)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("kafka://host:port")
                    || err.contains("option")
                    || err.contains("host:port"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn protobuf_takes_a_schema_or_a_registry_not_both() {
        let protobuf = || {
            KafkaDataSourceConfig::new("broker:9092", "t")
                .with_deserializer_type(DeserializerType::Protobuf)
        };
        let err = |config: KafkaDataSourceConfig| config.validate().unwrap_err().to_string();
        assert!(err(protobuf()).contains("needs protobuf_schema"));
        let schema = "syntax = \"proto3\"; message M { int32 a = 1; }";
        protobuf()
            .with_protobuf_schema(schema, None::<String>)
            .validate()
            .unwrap();
        let registry = protobuf().with_schema_registry_url("http://registry:8081");
        registry.validate().unwrap();
        assert!(
            err(registry
                .clone()
                .with_protobuf_schema(schema, None::<String>))
            .contains("both set")
        );
        let mut named = registry;
        named.protobuf_message = Some("M".into());
        assert!(err(named).contains("protobuf_message set with schema_registry_url"));
    }

    #[test]
    fn a_registry_is_only_for_formats_that_use_one() {
        let with = |kind| {
            KafkaDataSourceConfig::new("broker:9092", "t")
                .with_deserializer_type(kind)
                .with_schema_registry_url("http://registry:8081")
                .validate()
        };
        with(DeserializerType::Json).unwrap();
        let schema = r#"{"type": "object"}"#;
        let err = with(DeserializerType::Json).map(|_| ()).and_then(|()| {
            KafkaDataSourceConfig::new("broker:9092", "t")
                .with_schema_registry_url("http://registry:8081")
                .with_json_schema(schema)
                .validate()
        });
        assert!(err.unwrap_err().to_string().contains("both set"));
        KafkaDataSourceConfig::new("broker:9092", "t")
            .with_json_schema(schema)
            .validate()
            .unwrap();
        let err = KafkaDataSourceConfig::new("broker:9092", "t")
            .with_deserializer_type(DeserializerType::String)
            .with_json_schema(schema)
            .validate()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("json_schema set, but deserializer_type is string")
        );
        for kind in [DeserializerType::String, DeserializerType::Bytes] {
            let err = with(kind).unwrap_err().to_string();
            assert!(
                err.contains(&format!("deserializer_type {kind} does not use a registry")),
                "{err}"
            );
        }
    }

    #[test]
    fn registry_keys_need_the_registry_and_it_may_serve_only_them() {
        let keys = |kind| {
            KafkaDataSourceConfig::new("broker:9092", "t")
                .with_deserializer_type(DeserializerType::String)
                .with_key_deserializer(kind)
        };
        for kind in [KeyDeserializer::Avro, KeyDeserializer::Protobuf] {
            let err = keys(kind).validate().unwrap_err().to_string();
            assert!(
                err.contains(&format!(
                    "key_deserializer {kind} needs schema_registry_url"
                )),
                "{err}"
            );
            // String values with a registry for the keys.
            keys(kind)
                .with_schema_registry_url("http://registry:8081")
                .validate()
                .unwrap();
            // Without the key column, the key format does not matter.
            keys(kind).with_include_key(false).validate().unwrap();
        }
        let parsed = KafkaDataSourceConfig::parse_connection_string(
            "kafka://b:9092/t?key_deserializer=avro&schema_registry_url=http://r:8081",
        )
        .unwrap();
        assert_eq!(parsed.streaming.key_deserializer, KeyDeserializer::Avro);
        parsed.validate().unwrap();
    }

    /// A password that must never appear in any output.
    const SECRET: &str = "pw-4f1c9a";

    #[test]
    fn no_debug_or_error_shows_a_password() {
        let config = KafkaDataSourceConfig::new("broker:9093", "t")
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_sasl(SaslMechanism::ScramSha512, "alice", SECRET);
        config.validate().unwrap();
        let shown = format!("{config:?}");
        assert!(
            shown.contains("alice") && !shown.contains(SECRET),
            "{shown}"
        );

        // Every security validation error, with the password set.
        let with_password = |protocol| {
            let mut c = KafkaDataSourceConfig::new("broker:9093", "t")
                .with_security_protocol(protocol)
                .with_sasl(SaslMechanism::Plain, "alice", SECRET);
            c.sasl_mechanism = None;
            c
        };
        for config in [
            with_password(SecurityProtocol::SaslSsl),
            with_password(SecurityProtocol::Plaintext),
            with_password(SecurityProtocol::Ssl),
        ] {
            let err = config.validate().unwrap_err();
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(SECRET), "{text}");
            }
        }

        // Connection strings with credentials, in every place a user might put them.
        for url in [
            format!("kafka://alice:{SECRET}@broker:9092/t"),
            format!("kafka://broker:9092/t?sasl_password={SECRET}"),
            format!("kafka://broker:9092/t?max_messages=x&schema_registry_password={SECRET}"),
            format!("kafka://alice:{SECRET}@broker:9092"),
            format!("http://alice:{SECRET}@broker:9092/t"),
        ] {
            let err = KafkaDataSourceConfig::from_connection_string(&url).unwrap_err();
            for text in [err.to_string(), format!("{err:?}")] {
                assert!(!text.contains(SECRET), "{url}: {text}");
            }
        }
    }

    #[test]
    fn credentials_in_connection_strings_are_refused_with_the_way_to_give_them() {
        let err = KafkaDataSourceConfig::from_connection_string(&format!(
            "kafka://alice:{SECRET}@broker:9092/t"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"kafka://***@broker:9092/t\"")
                && err.contains("credentials in the connection string are not accepted"),
            "{err}"
        );
        let err = KafkaDataSourceConfig::from_connection_string(&format!(
            "kafka://broker:9092/t?sasl_password={SECRET}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("option sasl_password is not accepted here")
                && err.contains("environment variable TRUTHOUND_SASL_PASSWORD"),
            "{err}"
        );
        assert_eq!(
            redacted_url("kafka://b:1/t?sasl_username=u&api_secret=s&x=1"),
            "kafka://b:1/t?sasl_username=u&api_secret=***&x=1"
        );
    }

    #[test]
    fn security_options_in_connection_strings() {
        let c = KafkaDataSourceConfig::from_connection_string(
            "kafka://broker:9093/t?security_protocol=SASL_SSL&sasl_mechanism=SCRAM-SHA-512\
             &sasl_username=alice&ssl_cafile=/etc/ca.pem",
        );
        // No password: the configuration is incomplete, and says what is missing.
        let err = c.unwrap_err().to_string();
        assert!(
            err.contains("needs sasl_username and sasl_password"),
            "{err}"
        );
        let c = KafkaDataSourceConfig::new("broker:9093", "t")
            .with_options(
                &[
                    ("security_protocol", "SASL_SSL"),
                    ("sasl_mechanism", "SCRAM-SHA-512"),
                    ("sasl_username", "alice"),
                    ("ssl_cafile", "/etc/ca.pem"),
                    ("on_malformed", "error"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            )
            .unwrap();
        assert_eq!(c.sasl_mechanism, Some(SaslMechanism::ScramSha512));
        assert_eq!(c.sasl_username.as_deref(), Some("alice"));
        assert_eq!(c.ssl_cafile.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(c.streaming.on_malformed, OnMalformed::Error);
    }

    #[test]
    fn settings_that_would_be_ignored_are_errors() {
        let base = || KafkaDataSourceConfig::new("broker:9093", "t");
        let cases = [
            (
                base().with_sasl(SaslMechanism::Plain, "u", "p"),
                "sasl_mechanism, sasl_username, sasl_password set, but security_protocol is \
                 PLAINTEXT, which does not authenticate",
            ),
            (
                base()
                    .with_security_protocol(SecurityProtocol::Ssl)
                    .with_sasl(SaslMechanism::Plain, "u", "p"),
                "security_protocol is SSL, which does not authenticate",
            ),
            (
                base().with_ssl_files(Some("/ca.pem".into()), None, None),
                "ssl_cafile set, but security_protocol is PLAINTEXT, which does not use TLS",
            ),
            (
                base()
                    .with_security_protocol(SecurityProtocol::SaslPlaintext)
                    .with_sasl(SaslMechanism::ScramSha256, "u", "p")
                    .with_ssl_files(None, Some("/c.pem".into()), Some("/k.pem".into())),
                "ssl_certfile, ssl_keyfile set, but security_protocol is SASL_PLAINTEXT",
            ),
            (
                base()
                    .with_security_protocol(SecurityProtocol::Ssl)
                    .with_ssl_files(None, Some("/c.pem".into()), None),
                "needs both ssl_certfile and ssl_keyfile",
            ),
            (
                {
                    let mut c = base()
                        .with_security_protocol(SecurityProtocol::SaslSsl)
                        .with_sasl(SaslMechanism::Plain, "u", "p");
                    c.sasl_mechanism = None;
                    c
                },
                "needs sasl_mechanism: one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
            ),
        ];
        for (config, want) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn plain_over_plaintext_warns_unless_allowed() {
        let c = KafkaDataSourceConfig::new("broker:9092", "t")
            .with_security_protocol(SecurityProtocol::SaslPlaintext)
            .with_sasl(SaslMechanism::Plain, "u", "p");
        c.validate().unwrap();
        let warnings = c.security_warnings();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with(
                "SASL PLAIN over SASL_PLAINTEXT sends the password in clear text to broker:9092"
            ),
            "{warnings:?}"
        );
        assert!(
            c.clone()
                .with_allow_plaintext_password(true)
                .security_warnings()
                .is_empty()
        );
        let scram = KafkaDataSourceConfig::new("broker:9092", "t")
            .with_security_protocol(SecurityProtocol::SaslPlaintext)
            .with_sasl(SaslMechanism::ScramSha256, "u", "p");
        assert!(scram.security_warnings().is_empty());
        let tls = KafkaDataSourceConfig::new("broker:9092", "t")
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_sasl(SaslMechanism::Plain, "u", "p");
        assert!(tls.security_warnings().is_empty());
    }

    #[test]
    fn validation_names_the_field() {
        let base = || KafkaDataSourceConfig::new("localhost:9092", "t");
        let cases = [
            (
                KafkaDataSourceConfig::new("localhost:9092", ""),
                "topic is empty",
            ),
            (
                KafkaDataSourceConfig::new("", "t"),
                "bootstrap_servers is empty",
            ),
            (
                KafkaDataSourceConfig::new("::1:9092", "t"),
                "an IPv6 address goes in brackets",
            ),
            (
                KafkaDataSourceConfig::new("[not-v6]:9092", "t"),
                "is not host:port",
            ),
            (
                KafkaDataSourceConfig::new("localhost:9092", "a b"),
                "not a valid Kafka topic name",
            ),
            (base().with_max_messages(0), "max_messages"),
            (base().with_start_offset(-1), "start_offset is -1"),
            (base().with_end_offset(-5), "end_offset is -5"),
            (
                base().with_start_offset(10).with_end_offset(5),
                "before start_offset",
            ),
            (base().with_partition(-1), "partition is -1"),
            (base().with_start_timestamp(-1), "start_timestamp is -1"),
            (
                base().with_deserializer_type(DeserializerType::Avro),
                "avro_schema",
            ),
            (
                base().with_avro_reader_schema("latest"),
                "avro_reader_schema latest needs schema_registry_url",
            ),
            (
                base().with_schema_registry_subject("s"),
                "schema_registry_subject set, but schema_registry_url is not",
            ),
            (
                base().with_security_protocol(SecurityProtocol::SaslSsl),
                "sasl_mechanism",
            ),
        ];
        for (config, want) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
        base().validate().unwrap();
    }
    #[test]
    fn schema_registry_settings_fit_together() {
        let base = || {
            KafkaDataSourceConfig::new("localhost:9092", "t")
                .with_deserializer_type(DeserializerType::Avro)
        };
        let registry = || base().with_schema_registry_url("https://registry.example");
        let mut user_only = registry();
        user_only.schema_registry_username = Some("SR_KEY".into());
        let mut password_only = registry();
        password_only.schema_registry_password = Some("registry-secret".into());
        let cases = [
            (
                user_only,
                "schema registry basic auth needs both schema_registry_username and \
                 schema_registry_password",
            ),
            (
                password_only,
                "schema registry basic auth needs both schema_registry_username and \
                 schema_registry_password",
            ),
            (
                base()
                    .with_avro_schema("\"long\"")
                    .with_schema_registry_auth("SR_KEY", "registry-secret")
                    .with_schema_registry_ssl_cafile("ca.pem"),
                "schema_registry_username, schema_registry_password, schema_registry_ssl_cafile \
                 set, but schema_registry_url is not",
            ),
            (
                base()
                    .with_schema_registry_url("http://registry.example")
                    .with_schema_registry_ssl_cafile("ca.pem"),
                "schema_registry_ssl_cafile set, but schema_registry_url \"http://registry.example\" \
                 is not https://",
            ),
            (
                base().with_schema_registry_url("https://SR_KEY:registry-secret@registry.example"),
                "schema_registry_url \"https://***@registry.example\" has credentials in it",
            ),
        ];
        for (config, want) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
            assert!(!err.contains("registry-secret"), "{err}");
        }
        let config = registry()
            .with_schema_registry_auth("SR_KEY", "registry-secret")
            .with_schema_registry_ssl_cafile("ca.pem");
        config.validate().unwrap();
        assert!(config.security_warnings().is_empty());
        let debug = format!("{config:?}");
        assert!(!debug.contains("registry-secret"), "{debug}");
        // Basic auth over http:// works, with a warning.
        let config = base().with_schema_registry("http://registry:8081", "SR_KEY", "pw");
        config.validate().unwrap();
        assert_eq!(
            config.security_warnings(),
            vec![
                "the schema registry password goes in clear text to http://registry:8081: use \
                 an https:// registry URL"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn schema_registry_options_in_connection_strings() {
        let c = KafkaDataSourceConfig::parse_connection_string(
            "kafka://localhost:9092/t?deserializer_type=avro\
             &schema_registry_url=https://registry.example:8081/prefix\
             &schema_registry_username=SR_KEY&schema_registry_ssl_cafile=/etc/ca.pem\
             &schema_registry_subject=club.Member&avro_reader_schema=writer",
        )
        .unwrap();
        assert_eq!(c.schema_registry_subject.as_deref(), Some("club.Member"));
        assert_eq!(c.avro_reader_schema.as_deref(), Some("writer"));
        assert_eq!(
            c.schema_registry_url.as_deref(),
            Some("https://registry.example:8081/prefix")
        );
        assert_eq!(c.schema_registry_username.as_deref(), Some("SR_KEY"));
        assert_eq!(c.schema_registry_ssl_cafile.as_deref(), Some("/etc/ca.pem"));
        assert!(c.schema_registry_password.is_none());
        // Complete only with the password, which a connection string cannot give.
        let err = KafkaDataSourceConfig::from_connection_string(
            "kafka://localhost:9092/t?deserializer_type=avro&schema_registry_url=https://r\
             &schema_registry_username=SR_KEY",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("schema_registry_password"), "{err}");
        c.with_schema_registry_auth("SR_KEY", "registry-secret")
            .validate()
            .unwrap();

        // The password is refused; the user name without it is an error too.
        let err = KafkaDataSourceConfig::from_connection_string(
            "kafka://localhost:9092/t?schema_registry_url=https://r\
             &schema_registry_password=registry-secret",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("option schema_registry_password is not accepted here"),
            "{err}"
        );
        assert!(!err.contains("registry-secret"), "{err}");
        // Credentials inside the registry URL never show.
        for url in [
            "kafka://localhost:9092/t?schema_registry_url=https://SR_KEY:registry-secret@r",
            "kafka://localhost:9092/t?schema_registry_url=https://SR_KEY:registry-secret@r&x=1",
        ] {
            let err = KafkaDataSourceConfig::from_connection_string(url)
                .unwrap_err()
                .to_string();
            assert!(!err.contains("registry-secret"), "{err}");
        }
        assert_eq!(
            redacted_url("kafka://h:1/t?schema_registry_url=https://k:s@r:1/p&x=1"),
            "kafka://h:1/t?schema_registry_url=https://***@r:1/p&x=1"
        );
    }
}
