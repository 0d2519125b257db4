//! [`KafkaDataSourceConfig`]: every field of the spec's configuration, validated when a source
//! is built, and the `kafka://` connection string.

use std::collections::BTreeMap;
use std::time::Duration;

use truthound_kafka_client::{IsolationLevel, SecurityProtocol};
use truthound_streaming_core::{
    AutoOffsetReset, DeserializerType, KeyDeserializer, OnMalformed, StreamingDataSourceConfig,
};

use crate::error::KafkaDataSourceError;

pub use truthound_kafka_client::SaslMechanism;

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
    /// SASL password.
    pub sasl_password: Option<String>,
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
    /// Schema registry URL for `deserializer_type = avro` with Confluent-framed values.
    pub schema_registry_url: Option<String>,
    /// The client id sent to the brokers.
    pub client_id: String,
    /// Time allowed to connect to a broker.
    pub connect_timeout: Duration,
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
            ssl_cafile: None,
            ssl_certfile: None,
            ssl_keyfile: None,
            partition: None,
            start_offset: None,
            end_offset: None,
            start_timestamp: None,
            isolation_level: IsolationLevel::ReadCommitted,
            avro_schema: None,
            schema_registry_url: None,
            client_id: "truthound".to_owned(),
            connect_timeout: Duration::from_secs(10),
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
        password: impl Into<String>,
    ) -> Self {
        self.sasl_mechanism = Some(mechanism);
        self.sasl_username = Some(username.into());
        self.sasl_password = Some(password.into());
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

    /// Sets the schema registry URL for Confluent-framed Avro values.
    #[must_use]
    pub fn with_schema_registry_url(mut self, url: impl Into<String>) -> Self {
        self.schema_registry_url = Some(url.into());
        self
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
        let sasl = matches!(
            self.security_protocol,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        );
        if sasl
            && (self.sasl_mechanism.is_none()
                || self.sasl_username.is_none()
                || self.sasl_password.is_none())
        {
            return bad(format!(
                "security_protocol {} needs sasl_mechanism, sasl_username and sasl_password",
                self.security_protocol
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

    /// Parses `kafka://host:port[,host:port...]/topic[?option=value&...]` (the `kafka://` is
    /// optional). Options are field names: `max_messages`, `group_id`, `partition`,
    /// `start_offset`, `end_offset`, `auto_offset_reset`, `deserializer_type`,
    /// `key_deserializer`, `include_key`, `include_headers`, `include_metadata`,
    /// `metadata_prefix`, `schema_sample_size`, `consume_timeout` (seconds), `start_timestamp`
    /// (ms since the epoch),
    /// `security_protocol`, `isolation_level`.
    pub fn from_connection_string(url: &str) -> Result<Self, KafkaDataSourceError> {
        let expected = |why: &str| {
            KafkaDataSourceError::InvalidConfig(format!(
                "invalid connection string {url:?}: {why}; expected kafka://host:port[,host:port...]/topic[?option=value&...]"
            ))
        };
        let rest = url.strip_prefix("kafka://").unwrap_or(url);
        if rest.contains("://") {
            return Err(expected("the scheme must be kafka://"));
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
        let config = Self::new(servers, topic).with_options(&options)?;
        config.validate()?;
        Ok(config)
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
                    let t = Duration::try_from_secs_f64(secs).map_err(|_| {
                        KafkaDataSourceError::InvalidConfig(format!(
                            "option consume_timeout={v:?}: give a positive number of seconds"
                        ))
                    })?;
                    self.with_consume_timeout(t)
                }
                "start_timestamp" => self.with_start_timestamp(parse(k, v)?),
                "security_protocol" => self.with_security_protocol(parse_err(v.parse())?),
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
}
