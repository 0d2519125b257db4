//! Every code block of the specification (`streaming-data-sources.md`), in Rust, run against
//! the test broker. Each test names the spec section it mirrors; docs/spec-coverage.md maps
//! them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use truthound::datasources::from_kafka;
use truthound::datasources::streaming::{
    AutoOffsetReset, BaseStreamingDataSource, DeserializationError, DeserializerType,
    JSONDeserializer, KafkaConnectionError, KafkaDataSource, KafkaDataSourceConfig,
    KafkaDataSourceError, MessageDeserializer, PolarsSourceExt, StreamingDataSourceConfig,
    StreamingDataSourceError, StreamingDataSourceExt,
};
use truthound::kafka::SaslMechanism;
use truthound_kafka_client::{
    ClientConfig, KafkaClient, ProduceOptions, ProduceRecord, SecurityProtocol,
};
use truthound_tests::{broker_address, unique_topic};

/// A topic of `n` user events per partition, as in the spec's JSON message format.
async fn user_events(partitions: i32, n: usize) -> String {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("user-events");
    client.create_topic(&topic, partitions, 1).await.unwrap();
    for p in 0..partitions {
        let batch = (0..n)
            .map(|i| {
                let action = ["login", "logout", "purchase"][i % 3];
                ProduceRecord::new(Bytes::from(format!(
                    r#"{{"user_id": {}, "action": "{action}", "timestamp": "2024-01-01T00:00:{:02}Z"}}"#,
                    p as usize * 1000 + i,
                    i % 60
                )))
                .with_key(Bytes::from(format!("user-{i}")))
                .with_header(Bytes::from_static(b"source"), Some(Bytes::from_static(b"web")))
                .with_timestamp(1_704_067_200_000 + i as i64)
            })
            .collect();
        client
            .produce(&topic, p, batch, ProduceOptions::default())
            .await
            .unwrap();
    }
    topic
}

// ## Apache Kafka / Basic Usage
#[tokio::test(flavor = "multi_thread")]
async fn basic_usage() {
    let topic = user_events(2, 50).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic).with_max_messages(10_000);
    let mut source = KafkaDataSource::new(config).unwrap();

    source.connect().await.unwrap();
    let schema = source.get_schema().await.unwrap();
    let lf = source.to_polars_lazyframe().await.unwrap();
    source.close().await.unwrap();

    assert_eq!(
        schema.names().collect::<Vec<_>>(),
        vec!["user_id", "action", "timestamp", "_kafka_key"]
    );
    // get_schema reads a sample; the frame still has every message.
    assert_eq!(lf.collect().unwrap().height(), 100);
}

// ## Connection String
#[tokio::test(flavor = "multi_thread")]
async fn connection_string() {
    let topic = user_events(1, 10).await;
    let mut source = KafkaDataSource::from_connection_string(
        &format!("kafka://{}/{topic}", broker_address()),
        Some(5000),
    )
    .unwrap();
    assert_eq!(source.kafka_config().streaming.max_messages, 5000);
    assert_eq!(source.count_messages().await.unwrap(), 10);

    // Multiple brokers: the first that answers wins.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut source = KafkaDataSource::from_connection_string(
        &format!("kafka://{dead},{}/{topic}", broker_address()),
        None,
    )
    .unwrap();
    assert_eq!(source.kafka_config().bootstrap_list().len(), 2);
    assert_eq!(source.count_messages().await.unwrap(), 10);
}

// ## Configuration
#[tokio::test(flavor = "multi_thread")]
async fn configuration_with_every_field() {
    let topic = user_events(3, 20).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        // Connection
        .with_group_id("truthound-datasource")
        // Consumption
        .with_max_messages(10_000)
        .with_consume_timeout(Duration::from_secs(30))
        .with_auto_offset_reset(AutoOffsetReset::Earliest)
        // Security
        .with_security_protocol(SecurityProtocol::Plaintext)
        .with_ssl_files(None, None, None)
        // Partition control
        .with_partition(1)
        .with_start_offset(5)
        .with_end_offset(15)
        // Message handling
        .with_key_deserializer("string".parse().unwrap())
        .with_include_key(true)
        .with_include_headers(false)
        .with_deserializer_type(DeserializerType::Json)
        // Metadata
        .with_include_metadata(false)
        .with_metadata_prefix("_kafka_".to_owned())
        // Schema inference
        .with_schema_sample_size(100);
    config.validate().unwrap();
    let mut source = KafkaDataSource::new(config).unwrap();
    let df = source.to_polars_dataframe().await.unwrap().frame;
    assert_eq!(df.height(), 10);
}

// ## Authentication (SASL/PLAIN, SASL/SCRAM, SSL/TLS) and Confluent Cloud
#[tokio::test(flavor = "multi_thread")]
async fn authentication_configs_are_carried_and_checked() {
    let plain = KafkaDataSourceConfig::new("kafka.example.com:9093", "secure-topic")
        .with_security_protocol(SecurityProtocol::SaslSsl)
        .with_sasl(SaslMechanism::Plain, "user", "password");
    plain.validate().unwrap();
    let scram = KafkaDataSourceConfig::new("kafka.example.com:9093", "secure-topic")
        .with_security_protocol(SecurityProtocol::SaslSsl)
        .with_sasl(SaslMechanism::ScramSha256, "user", "password");
    assert_eq!(scram.sasl_mechanism, Some(SaslMechanism::ScramSha256));
    let ssl = KafkaDataSourceConfig::new("kafka.example.com:9093", "secure-topic")
        .with_security_protocol(SecurityProtocol::Ssl)
        .with_ssl_files(
            Some("/path/to/ca.pem".into()),
            Some("/path/to/client.pem".into()),
            Some("/path/to/client.key".into()),
        );
    ssl.validate().unwrap();
    let confluent = KafkaDataSource::from_confluent(
        "pkc-xxxxx.us-east-1.aws.confluent.cloud:9092",
        "my-topic",
        "ABCDEFGHIJKLMNOP",
        "secret123",
        10_000,
    )
    .unwrap();
    let c = confluent.kafka_config();
    assert_eq!(c.security_protocol, SecurityProtocol::SaslSsl);
    assert_eq!(
        (c.sasl_mechanism, c.sasl_username.as_deref()),
        (Some(SaslMechanism::Plain), Some("ABCDEFGHIJKLMNOP"))
    );

    // The test broker's listener is plaintext: a SASL_SSL source fails its TLS handshake and
    // says so, naming the broker (TLS and SASL themselves are tested in security.rs).
    let mut source = KafkaDataSource::new(
        KafkaDataSourceConfig::new(broker_address(), "t")
            .with_security_protocol(SecurityProtocol::SaslSsl)
            .with_sasl(SaslMechanism::ScramSha256, "user", "password"),
    )
    .unwrap();
    let err = source.connect().await.unwrap_err().to_string();
    assert!(
        err.contains(&format!("TLS handshake with broker {}", broker_address())),
        "{err}"
    );
}

// ## Message Deserialization (JSON default, Avro) and ## Message Deserializers
#[test]
fn message_deserializers() {
    let config = KafkaDataSourceConfig::new("localhost:9092", "json-topic");
    assert_eq!(config.streaming.deserializer_type, DeserializerType::Json);

    let deserializer = JSONDeserializer::with_encoding("utf-8").unwrap();
    let message = deserializer
        .deserialize(br#"{"user": "alice", "action": "login"}"#)
        .unwrap();
    assert_eq!(message.to_string(), r#"{"user":"alice","action":"login"}"#);
    assert!(JSONDeserializer::with_encoding("latin-1").is_err());

    let schema = r#"{"type": "record", "name": "UserEvent", "fields": [
        {"name": "user_id", "type": "int"}, {"name": "action", "type": "string"}]}"#;
    let deserializer = truthound::avro::AvroDeserializer::from_schema_json(schema).unwrap();
    // user_id = 7 (zigzag 14), action = "login" (length 5, zigzag 10)
    let avro_bytes = [14u8, 10, b'l', b'o', b'g', b'i', b'n'];
    let message = deserializer.deserialize(&avro_bytes).unwrap();
    assert_eq!(message.to_string(), r#"{"user_id":7,"action":"login"}"#);

    let avro = KafkaDataSourceConfig::new("localhost:9092", "avro-topic")
        .with_deserializer_type(DeserializerType::Avro);
    assert!(
        avro.validate()
            .unwrap_err()
            .to_string()
            .contains("avro_schema")
    );
    avro.with_avro_schema(schema).validate().unwrap();
}

// ## Including Metadata
#[tokio::test(flavor = "multi_thread")]
async fn including_metadata() {
    let topic = user_events(1, 5).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_include_metadata(true)
        .with_include_key(true)
        .with_include_headers(true)
        .with_metadata_prefix("_kafka_".to_owned());
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    let df = source
        .to_polars_lazyframe()
        .await
        .unwrap()
        .collect()
        .unwrap();
    let columns: Vec<&str> = df
        .get_column_names()
        .into_iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        columns,
        vec![
            "user_id",
            "action",
            "timestamp",
            "_kafka_key",
            "_kafka_topic",
            "_kafka_partition",
            "_kafka_offset",
            "_kafka_timestamp",
            "_kafka_headers"
        ]
    );
}

// ## Partition Control
#[tokio::test(flavor = "multi_thread")]
async fn partition_control() {
    let topic = user_events(3, 40).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic).with_partition(0);
    let msgs = KafkaDataSource::new(config)
        .unwrap()
        .consume(1000)
        .await
        .unwrap();
    assert!(msgs.iter().all(|m| m.partition == 0) && msgs.len() == 40);

    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_start_offset(10)
        .with_end_offset(20);
    let msgs = KafkaDataSource::new(config)
        .unwrap()
        .consume(1000)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 30);
    assert!(msgs.iter().all(|m| (10..20).contains(&m.offset)));
}

// ## Topic Information
#[tokio::test(flavor = "multi_thread")]
async fn topic_information() {
    let topic = user_events(3, 7).await;
    let mut source =
        KafkaDataSource::new(KafkaDataSourceConfig::new(broker_address(), &topic)).unwrap();
    source.connect().await.unwrap();
    let info = source.topic_info().await.unwrap();
    assert_eq!(
        (
            info.topic.as_str(),
            info.partitions.clone(),
            info.partition_count
        ),
        (topic.as_str(), vec![0, 1, 2], 3)
    );
    let offsets = source.get_topic_offsets().await.unwrap();
    assert_eq!(
        offsets,
        BTreeMap::from([(0, (0, 7)), (1, (0, 7)), (2, (0, 7))])
    );
}

// ## Consuming Messages: Batch and Iterative Consumption
#[tokio::test(flavor = "multi_thread")]
async fn consuming_messages() {
    let topic = user_events(2, 150).await;
    let mut source =
        KafkaDataSource::new(KafkaDataSourceConfig::new(broker_address(), &topic)).unwrap();
    source.connect().await.unwrap();
    let df = source
        .to_polars_lazyframe()
        .await
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(df.height(), 300);

    let mut batches = source.iter_messages(100, 250);
    let mut seen = Vec::new();
    while let Some(batch) = batches.try_next().await.unwrap() {
        seen.push(batch.len());
    }
    assert_eq!(seen, vec![100, 100, 50]);
}

// ## Consumer Group Operations
#[tokio::test(flavor = "multi_thread")]
async fn consumer_group_operations() {
    let topic = user_events(2, 30).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_group_id(unique_topic("spec-group"))
        .with_max_messages(40);
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    let lf = source.to_polars_lazyframe().await.unwrap();
    assert_eq!(lf.collect().unwrap().height(), 40);
    source.commit_offsets().await.unwrap();
    let committed = source.get_committed_offsets().await.unwrap();
    assert_eq!(committed, BTreeMap::from([(0, 20), (1, 20)]));
}

// ## Sampling
#[tokio::test(flavor = "multi_thread")]
async fn sampling() {
    let topic = user_events(1, 100).await;
    let mut source =
        KafkaDataSource::new(KafkaDataSourceConfig::new(broker_address(), &topic)).unwrap();
    source.connect().await.unwrap();
    let mut sampled = source.sample(10).unwrap();
    sampled.connect().await.unwrap();
    let df = sampled
        .to_polars_lazyframe()
        .await
        .unwrap()
        .collect()
        .unwrap();
    // The first messages, not a random sample.
    assert_eq!(
        df.column("user_id")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
}

// ## Error Handling
#[tokio::test(flavor = "multi_thread")]
async fn error_handling() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut source =
        KafkaDataSource::new(KafkaDataSourceConfig::new(dead.clone(), "my-topic")).unwrap();
    match source.to_polars_lazyframe().await {
        Err(truthound::polars::Error::Source(StreamingDataSourceError::Connection {
            servers,
            ..
        })) => {
            assert_eq!(servers, vec![dead.clone()])
        }
        Err(other) => panic!("expected a connection error, got {other:?}"),
        Ok(_) => panic!("an unreachable broker must fail"),
    }
    // The Kafka-level error carries the bootstrap servers as in the spec.
    let err: KafkaConnectionError = KafkaConnectionError {
        bootstrap_servers: vec![dead.clone()],
        message: "refused".into(),
    };
    assert!(err.to_string().contains(&dead));

    // A malformed message, with on_malformed = error: the error names its offset.
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("malformed");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let batch = vec![
        ProduceRecord::new(Bytes::from_static(b"{\"ok\": 1}")),
        ProduceRecord::new(Bytes::from_static(b"{not json")),
    ];
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_on_malformed(truthound::datasources::streaming::OnMalformed::Error);
    let mut source = KafkaDataSource::new(config).unwrap();
    let err = source.to_polars_dataframe().await.unwrap_err();
    let d: &DeserializationError = err.as_deserialization().expect("a deserialization error");
    assert_eq!((d.partition, d.offset), (0, 1));
    // Kafka-level calls return KafkaDataSourceError, which converts into the generic error.
    let err = KafkaDataSource::new(KafkaDataSourceConfig::new(broker_address(), "")).unwrap_err();
    assert!(matches!(err, KafkaDataSourceError::InvalidConfig(_)));
    let generic: StreamingDataSourceError = err.into();
    assert!(generic.to_string().contains("topic is empty"), "{generic}");
}

// ## Factory Functions
#[tokio::test(flavor = "multi_thread")]
async fn factory_functions() {
    let topic = user_events(1, 12).await;
    let mut source = from_kafka(&broker_address(), &topic, 10_000).await.unwrap();
    let lf = source.to_polars_lazyframe().await.unwrap();
    assert_eq!(lf.collect().unwrap().height(), 12);
}

// ## Base Classes: a custom source needs only the traits (see also the example crate).
#[test]
fn base_classes_are_exported() {
    fn is_source<T: BaseStreamingDataSource>() {}
    is_source::<KafkaDataSource>();
    let _ = StreamingDataSourceConfig::default();
    let _: &dyn MessageDeserializer = &JSONDeserializer::new();
}

// ## Validation Example
#[tokio::test(flavor = "multi_thread")]
async fn validation_example() {
    use truthound::checks::{CheckOptions, RuleSet, RulesFormat, Validator};
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("user-events-check");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let rows = [
        r#"{"user_id": 1, "action": "login", "timestamp": "2024-01-01T00:00:00Z"}"#,
        r#"{"user_id": null, "action": "logout", "timestamp": "2024-01-01T00:00:01Z"}"#,
        r#"{"user_id": 3, "action": "dance", "timestamp": "yesterday"}"#,
    ];
    let batch = rows
        .iter()
        .map(|r| ProduceRecord::new(Bytes::from(*r)))
        .collect();
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();

    let config = KafkaDataSourceConfig::new(broker_address(), &topic).with_max_messages(10_000);
    let mut source = KafkaDataSource::new(config).unwrap();
    source.connect().await.unwrap();
    let lf = source.to_polars_lazyframe().await.unwrap();
    let df = lf.collect().unwrap();

    let report = truthound::check(
        &df,
        &CheckOptions::new()
            .with_validators([Validator::Null, Validator::Type])
            .with_columns(["user_id", "action", "timestamp"]),
    )
    .unwrap();
    assert_eq!(report.issues.len(), 1, "{report}"); // the null user_id

    let rules = RuleSet::parse(
        r#"
        [columns.user_id]
        rules = ["not_null"]
        [columns.action]
        rules = [{ type = "allowed_values", values = ["login", "logout", "purchase"] }]
        [columns.timestamp]
        rules = ["not_null", { type = "datetime" }]
        "#,
        RulesFormat::Toml,
    )
    .unwrap();
    let report = truthound::check(&df, &CheckOptions::new().with_rules(rules)).unwrap();
    println!(
        "Validated {} messages, found {} issues",
        df.height(),
        report.issues.len()
    );
    assert_eq!((df.height(), report.issues.len()), (3, 3), "{report}");
    source.close().await.unwrap();
}
