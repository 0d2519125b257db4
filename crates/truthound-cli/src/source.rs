//! The flags every command shares, the source they configure, and the snapshot read with its
//! progress bar.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::{ExposeSecret, SecretString};
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig, ReadProgress, SaslMechanism};
use truthound_polars::{DecodeReport, FrameSink, PolarsSourceExt, Snapshot};

use crate::output::IpcSpill;
use truthound_streaming_core::{
    AutoOffsetReset, DeserializerType, KeyDeserializer, OnMalformed, StreamingDataSourceConfig,
};

/// The format of the messages' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ValueFormat {
    /// JSON documents: objects become rows, one column per field (typed by their JSON Schema
    /// with --schema-registry).
    Json,
    /// Avro: with --avro-schema (raw datums) or --schema-registry (Confluent framing).
    Avro,
    /// Protocol Buffers: with --protobuf-schema (raw or Confluent-framed messages).
    Protobuf,
    /// UTF-8 text: one `value` column.
    String,
    /// Raw bytes: one `value` column.
    Bytes,
}

/// `--key-format`: how the messages' keys become the `_kafka_key` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyFormat {
    /// UTF-8 text (the default).
    String,
    /// JSON text, kept as it is (a Confluent wire-format header is dropped).
    Json,
    /// Raw bytes.
    Bytes,
    /// Avro in the Confluent wire format, with --schema-registry: a string key as it is,
    /// others as compact JSON.
    Avro,
    /// Protobuf in the Confluent wire format, with --schema-registry: as compact JSON.
    Protobuf,
}

/// `--on-malformed`: what happens to a message that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Malformed {
    /// Leave it out of the snapshot, count it and say so.
    Skip,
    /// Stop: the command fails, naming the message's partition and offset.
    Error,
}

/// Where the snapshot starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartAt {
    Earliest,
    Latest,
    Offset(i64),
    /// Milliseconds since the epoch.
    Timestamp(i64),
}

fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

/// The first line of a password file, without its line ending.
fn read_secret_file(path: &std::path::Path, what: &str) -> anyhow::Result<SecretString> {
    let text = SecretString::from(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the {what} file {}", path.display()))?,
    );
    let line = text.expose_secret().lines().next().unwrap_or_default();
    if line.is_empty() {
        anyhow::bail!("the {what} file {} is empty", path.display());
    }
    Ok(SecretString::from(line))
}

fn parse_start(s: &str) -> Result<StartAt, String> {
    match s {
        "earliest" => Ok(StartAt::Earliest),
        "latest" => Ok(StartAt::Latest),
        _ => {
            if let Some(n) = s.strip_prefix("offset:") {
                n.parse()
                    .map(StartAt::Offset)
                    .map_err(|_| format!("{n:?} is not an offset (a whole number, 0 or more)"))
            } else if let Some(t) = s.strip_prefix("timestamp:") {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| StartAt::Timestamp(t.timestamp_millis()))
                    .map_err(|e| {
                        format!("{t:?} is not an RFC 3339 time such as 2026-01-31T12:00:00Z: {e}")
                    })
            } else {
                Err(format!(
                    "{s:?}: expected earliest, latest, offset:N or timestamp:RFC3339"
                ))
            }
        }
    }
}

/// `--timeout`: a positive, finite number of seconds, at most
/// [`StreamingDataSourceConfig::MAX_CONSUME_TIMEOUT`].
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let max = StreamingDataSourceConfig::MAX_CONSUME_TIMEOUT;
    let accepted = format!(
        "give a number of seconds above 0 and at most {} (365 days), e.g. 30 or 0.5",
        max.as_secs()
    );
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number: {accepted}"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > max.as_secs_f64() {
        return Err(format!("{s:?} is out of range: {accepted}"));
    }
    let timeout = Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("{s:?} is out of range: {accepted}"))?;
    if timeout.is_zero() {
        // Below a nanosecond: rounds to no time at all.
        return Err(format!("{s:?} is too short: {accepted}"));
    }
    Ok(timeout)
}

/// The snapshot size without --max-messages.
const DEFAULT_MAX_MESSAGES: usize = 100_000;

/// The topic to read and how (shared by every command).
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// The topic: kafka://host:port[,host:port...]/topic[?option=value&...] (options as in
    /// KafkaDataSourceConfig, e.g. ?isolation_level=read_uncommitted). `snapshot --plan` takes
    /// it from the plan; `check` also takes a directory of a plan's parts.
    #[arg(value_name = "URL")]
    pub(crate) url: Option<String>,
    /// The most messages the snapshot holds, shared fairly between partitions (default
    /// 100000).
    #[arg(long, value_name = "N")]
    pub(crate) max_messages: Option<usize>,
    /// Where to start: earliest, latest (the last --max-messages messages), offset:N (in every
    /// partition read) or timestamp:RFC3339.
    #[arg(long, value_name = "POSITION", value_parser = parse_start)]
    pub(crate) from: Option<StartAt>,
    /// Read only this partition.
    #[arg(long, value_name = "N")]
    pub(crate) partition: Option<i32>,
    /// Consumer group: the snapshot starts at its committed offsets (where it has some), and
    /// `info` shows them.
    #[arg(long, value_name = "GROUP")]
    pub(crate) group: Option<String>,
    /// The format of message values.
    #[arg(long, value_enum, default_value_t = ValueFormat::Json)]
    pub(crate) format: ValueFormat,
    /// The format of message keys (default: the URL's ?key_deserializer= option, else string).
    /// avro and protobuf decode Confluent-framed keys with --schema-registry.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) key_format: Option<KeyFormat>,
    /// Avro writer schema (a JSON file) for --format avro with raw Avro values.
    #[arg(long, value_name = "FILE")]
    pub(crate) avro_schema: Option<PathBuf>,
    /// The .proto schema (a file) for --format protobuf without --schema-registry; it may
    /// import the well-known types.
    #[arg(long, value_name = "FILE")]
    pub(crate) protobuf_schema: Option<PathBuf>,
    /// A JSON Schema (a file) typing --format json values without --schema-registry: dates,
    /// times and timestamps from `format`, floats from `number`.
    #[arg(long, value_name = "FILE")]
    pub(crate) json_schema: Option<PathBuf>,
    /// The message type of --format protobuf values (default: the schema's first message).
    #[arg(long, value_name = "NAME")]
    pub(crate) protobuf_message: Option<String>,
    /// What Avro values are read as: `latest` (the default with --schema-registry: the latest
    /// version of the subject, so that every message has its fields), `writer` (each message
    /// as its own writer schema), or a reader schema (a JSON file).
    #[arg(long, value_name = "latest|writer|FILE")]
    pub(crate) avro_reader_schema: Option<String>,
    /// Schema registry URL for --format avro, protobuf or json with Confluent-framed values:
    /// http:// or https://. With json, each document's JSON Schema types the columns (dates,
    /// times and timestamps from `format`, floats from `number`).
    #[arg(long, value_name = "URL")]
    pub(crate) schema_registry: Option<String>,
    /// The registry subject whose latest version values are read as (default: TOPIC-value).
    #[arg(long, value_name = "SUBJECT")]
    pub(crate) schema_registry_subject: Option<String>,
    /// Schema registry user name for HTTP basic auth (Confluent Cloud: the Schema Registry API
    /// key).
    #[arg(long, env = "TRUTHOUND_SCHEMA_REGISTRY_USER", value_name = "USER")]
    pub(crate) schema_registry_user: Option<String>,
    /// Schema registry password (Confluent Cloud: the Schema Registry API secret). Prefer
    /// TRUTHOUND_SCHEMA_REGISTRY_PASSWORD or --schema-registry-password-file: a password on
    /// the command line shows in `ps` and in shell history.
    #[arg(
        long,
        env = "TRUTHOUND_SCHEMA_REGISTRY_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        value_parser = parse_secret,
        conflicts_with = "schema_registry_password_file"
    )]
    pub(crate) schema_registry_password: Option<SecretString>,
    /// A file whose first line is the schema registry password.
    #[arg(
        long,
        env = "TRUTHOUND_SCHEMA_REGISTRY_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub(crate) schema_registry_password_file: Option<PathBuf>,
    /// PEM file of the certificate authorities to trust for an https:// schema registry
    /// (default: the webpki roots; --ssl-cafile is for the brokers only).
    #[arg(long, env = "TRUTHOUND_SCHEMA_REGISTRY_CAFILE", value_name = "FILE")]
    pub(crate) schema_registry_cafile: Option<String>,
    /// Add the _kafka_topic, _kafka_partition, _kafka_offset and _kafka_timestamp columns.
    #[arg(long)]
    pub(crate) include_metadata: bool,
    /// The longest the read may take, in seconds: a number above 0, up to 31536000 (365
    /// days); fractions such as 0.5 are fine.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "60",
        value_parser = parse_timeout,
        allow_negative_numbers = true
    )]
    pub(crate) timeout: Duration,
    /// What to do with a message whose value cannot be decoded: skip it (it is counted, said
    /// on stderr, and `check` reports it as an error), or stop with an error naming its
    /// partition and offset. Default: the URL's ?on_malformed= option, else skip.
    #[arg(long, value_enum, value_name = "ACTION")]
    pub(crate) on_malformed: Option<Malformed>,
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(long, env = "TRUTHOUND_SECURITY_PROTOCOL", value_name = "PROTOCOL")]
    pub(crate) security_protocol: Option<String>,
    /// PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (required with SASL credentials).
    #[arg(long, env = "TRUTHOUND_SASL_MECHANISM", value_name = "MECHANISM")]
    pub(crate) sasl_mechanism: Option<String>,
    /// SASL user name.
    #[arg(long, env = "TRUTHOUND_SASL_USERNAME", value_name = "USER")]
    pub(crate) sasl_username: Option<String>,
    /// SASL password. Prefer TRUTHOUND_SASL_PASSWORD or --sasl-password-file: a password on
    /// the command line shows in `ps` and in shell history.
    #[arg(
        long,
        env = "TRUTHOUND_SASL_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        value_parser = parse_secret,
        conflicts_with = "sasl_password_file"
    )]
    pub(crate) sasl_password: Option<SecretString>,
    /// A file whose first line is the SASL password.
    #[arg(long, env = "TRUTHOUND_SASL_PASSWORD_FILE", value_name = "FILE")]
    pub(crate) sasl_password_file: Option<PathBuf>,
    /// Send a SASL PLAIN password over SASL_PLAINTEXT (clear text) without a warning.
    #[arg(long)]
    pub(crate) allow_plaintext_password: bool,
    /// PEM file of the certificate authorities to trust.
    #[arg(long, env = "TRUTHOUND_SSL_CAFILE", value_name = "FILE")]
    pub(crate) ssl_cafile: Option<String>,
    /// PEM file of the client certificate.
    #[arg(long, env = "TRUTHOUND_SSL_CERTFILE", value_name = "FILE")]
    pub(crate) ssl_certfile: Option<String>,
    /// PEM file of the client key.
    #[arg(long, env = "TRUTHOUND_SSL_KEYFILE", value_name = "FILE")]
    pub(crate) ssl_keyfile: Option<String>,
}

impl SourceArgs {
    /// The source configuration the flags describe; `metadata` forces the metadata columns.
    pub(crate) fn config(&self, metadata: bool) -> anyhow::Result<KafkaDataSourceConfig> {
        // Validated at the end, once the flags and the environment completed it.
        let url = self.url.as_deref().ok_or_else(|| {
            anyhow::anyhow!("the topic is missing: give its URL, kafka://host:port/topic")
        })?;
        let mut config = KafkaDataSourceConfig::parse_connection_string(url)?
            .with_max_messages(self.max_messages.unwrap_or(DEFAULT_MAX_MESSAGES))
            .with_consume_timeout(self.timeout)
            .with_include_metadata(self.include_metadata || metadata)
            .with_deserializer_type(match self.format {
                ValueFormat::Json => DeserializerType::Json,
                ValueFormat::Avro => DeserializerType::Avro,
                ValueFormat::Protobuf => DeserializerType::Protobuf,
                ValueFormat::String => DeserializerType::String,
                ValueFormat::Bytes => DeserializerType::Bytes,
            });
        if let Some(key) = self.key_format {
            config = config.with_key_deserializer(match key {
                KeyFormat::String => KeyDeserializer::String,
                KeyFormat::Json => KeyDeserializer::Json,
                KeyFormat::Bytes => KeyDeserializer::Bytes,
                KeyFormat::Avro => KeyDeserializer::Avro,
                KeyFormat::Protobuf => KeyDeserializer::Protobuf,
            });
        }
        match self.on_malformed {
            None => {}
            Some(Malformed::Skip) => config = config.with_on_malformed(OnMalformed::Skip),
            Some(Malformed::Error) => config = config.with_on_malformed(OnMalformed::Error),
        }
        match self.from {
            None => {}
            Some(StartAt::Earliest) => {
                config = config.with_auto_offset_reset(AutoOffsetReset::Earliest);
            }
            Some(StartAt::Latest) => {
                config = config.with_auto_offset_reset(AutoOffsetReset::Latest)
            }
            Some(StartAt::Offset(n)) => config = config.with_start_offset(n),
            Some(StartAt::Timestamp(ms)) => config = config.with_start_timestamp(ms),
        }
        if let Some(p) = self.partition {
            config = config.with_partition(p);
        }
        if let Some(g) = &self.group {
            config = config.with_group_id(g.clone());
        }
        if let Some(path) = &self.avro_schema {
            let schema = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the Avro schema {}", path.display()))?;
            config = config.with_avro_schema(schema);
        }
        if let Some(path) = &self.json_schema {
            let schema = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the JSON Schema {}", path.display()))?;
            config = config.with_json_schema(schema);
        }
        if let Some(path) = &self.protobuf_schema {
            let proto = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the Protobuf schema {}", path.display()))?;
            config = config.with_protobuf_schema(proto, self.protobuf_message.clone());
        } else if let Some(message) = &self.protobuf_message {
            config.protobuf_message = Some(message.clone());
        }
        match self.avro_reader_schema.as_deref() {
            None => {}
            Some(word @ ("latest" | "writer")) => config = config.with_avro_reader_schema(word),
            Some(path) => {
                let schema = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "cannot read the Avro reader schema {path} (give latest, writer or a \
                         JSON file)"
                    )
                })?;
                config = config.with_avro_reader_schema(schema);
            }
        }
        if let Some(url) = &self.schema_registry {
            config = config.with_schema_registry_url(url.clone());
        }
        if let Some(subject) = &self.schema_registry_subject {
            config = config.with_schema_registry_subject(subject.clone());
        }
        self.with_credentials(config)
    }

    /// The flags that choose what is read and how it is decoded, by name, when given: a plan's
    /// share takes these from the plan.
    pub(crate) fn reading_flags(&self) -> Vec<&'static str> {
        [
            ("--max-messages", self.max_messages.is_some()),
            ("--from", self.from.is_some()),
            ("--partition", self.partition.is_some()),
            ("--group", self.group.is_some()),
            ("--format", self.format != ValueFormat::Json),
            ("--key-format", self.key_format.is_some()),
            ("--avro-schema", self.avro_schema.is_some()),
            ("--protobuf-schema", self.protobuf_schema.is_some()),
            ("--json-schema", self.json_schema.is_some()),
            ("--protobuf-message", self.protobuf_message.is_some()),
            ("--avro-reader-schema", self.avro_reader_schema.is_some()),
            ("--schema-registry", self.schema_registry.is_some()),
            (
                "--schema-registry-subject",
                self.schema_registry_subject.is_some(),
            ),
            ("--on-malformed", self.on_malformed.is_some()),
            ("--include-metadata", self.include_metadata),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// `config` with the credentials, TLS files and timeout the flags and the environment
    /// give (for the brokers and the schema registry), validated.
    pub(crate) fn with_credentials(
        &self,
        mut config: KafkaDataSourceConfig,
    ) -> anyhow::Result<KafkaDataSourceConfig> {
        config = config.with_consume_timeout(self.timeout);
        if let Some(user) = &self.schema_registry_user {
            config.schema_registry_username = Some(user.clone());
        }
        if let Some(path) = &self.schema_registry_password_file {
            config.schema_registry_password =
                Some(read_secret_file(path, "schema registry password")?);
        } else if let Some(password) = &self.schema_registry_password {
            config.schema_registry_password = Some(password.clone());
        }
        if let Some(path) = &self.schema_registry_cafile {
            config = config.with_schema_registry_ssl_cafile(path.clone());
        }
        if let Some(p) = &self.security_protocol {
            config = config.with_security_protocol(p.parse().map_err(anyhow::Error::msg)?);
        }
        if let Some(m) = &self.sasl_mechanism {
            config.sasl_mechanism = Some(m.parse::<SaslMechanism>().map_err(anyhow::Error::msg)?);
        }
        if let Some(user) = &self.sasl_username {
            config.sasl_username = Some(user.clone());
        }
        if let Some(path) = &self.sasl_password_file {
            config.sasl_password = Some(read_secret_file(path, "SASL password")?);
        } else if let Some(password) = &self.sasl_password {
            config.sasl_password = Some(password.clone());
        }
        if self.allow_plaintext_password {
            config = config.with_allow_plaintext_password(true);
        }
        if self.ssl_cafile.is_some() || self.ssl_certfile.is_some() || self.ssl_keyfile.is_some() {
            config = config.with_ssl_files(
                self.ssl_cafile.clone(),
                self.ssl_certfile.clone(),
                self.ssl_keyfile.clone(),
            );
        }
        config.validate()?;
        print_security_warnings(&config);
        Ok(config)
    }
}

/// Prints `config`'s security warnings on stderr (`--quiet` does not hide them).
fn print_security_warnings(config: &KafkaDataSourceConfig) {
    for warning in config.security_warnings() {
        eprintln!("warning: {warning}");
    }
}

/// Reads the snapshot into a DataFrame, with a progress bar on stderr when it is a terminal
/// and `quiet` is off.
pub(crate) async fn read_snapshot(
    config: KafkaDataSourceConfig,
    quiet: bool,
) -> anyhow::Result<Snapshot> {
    let (mut source, bar) = open_source(config, quiet, None)?;
    let snapshot = source.to_polars_dataframe().await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(snapshot?)
}

/// Reads the snapshot into `sink`, its segments waiting in `spill` (see
/// [`PolarsSourceExt::write_snapshot`]; the spill learns how many messages the read expects),
/// with the progress bar of [`read_snapshot`].
pub(crate) async fn write_snapshot(
    config: KafkaDataSourceConfig,
    quiet: bool,
    spill: std::sync::Arc<IpcSpill>,
    sink: &mut (dyn FrameSink + Send),
) -> anyhow::Result<DecodeReport> {
    let (mut source, bar) = open_source(config, quiet, Some(spill.clone()))?;
    let report = source.write_snapshot(spill, sink).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(report?)
}

/// The source, with a progress bar on stderr when it is a terminal and `quiet` is off; the
/// read's progress tells `spill` how many messages it expects.
fn open_source(
    config: KafkaDataSourceConfig,
    quiet: bool,
    spill: Option<std::sync::Arc<IpcSpill>>,
) -> anyhow::Result<(KafkaDataSource, Option<ProgressBar>)> {
    let mut source = KafkaDataSource::new(config)?;
    let bar = (!quiet && std::io::stderr().is_terminal()).then(progress_bar);
    if bar.is_some() || spill.is_some() {
        let bar = bar.clone();
        let started = Instant::now();
        source = source.with_progress(move |p: &ReadProgress| {
            if let Some(spill) = &spill {
                spill.expect(p.expected);
            }
            if let Some(bar) = &bar {
                update(bar, p, started);
            }
        });
    }
    Ok((source, bar))
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} messages  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn update(bar: &ProgressBar, p: &ReadProgress, started: Instant) {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    bar.set_length(p.expected as u64);
    bar.set_position(p.messages as u64);
    bar.set_message(format!(
        "{:.1} MB, {:.0} msg/s, {}/{} partitions done",
        p.bytes as f64 / 1e6,
        p.messages as f64 / secs,
        p.partitions_done,
        p.partitions
    ));
}
