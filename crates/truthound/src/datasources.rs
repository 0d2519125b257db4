//! Data sources, under the module paths of the specification.

/// Streaming data sources: the Kafka source, deserializers, base traits and errors.
pub mod streaming {
    pub use truthound_streaming_core::{
        AutoOffsetReset, BaseStreamingDataSource, DeserializationError, DeserializerType,
        KeyDeserializer, MessageDeserializer, OnMalformed, RawMessage, Schema,
        StreamingDataSourceConfig, StreamingDataSourceError, StreamingDataSourceExt,
    };

    #[cfg(feature = "avro")]
    pub use truthound_avro::AvroDeserializer;
    #[cfg(feature = "json")]
    pub use truthound_json::{
        BytesDeserializer, JSONDeserializer, JsonSchemaDeserializer, StringDeserializer,
    };
    #[cfg(feature = "kafka")]
    pub use truthound_kafka::{
        KafkaConnectionError, KafkaDataSource, KafkaDataSourceConfig, KafkaDataSourceError,
        TopicInfo,
    };
    #[cfg(feature = "polars")]
    pub use truthound_polars::{DecodeReport, PolarsSourceExt, Snapshot};
}

/// Creates a Kafka source for `topic` on `bootstrap_servers` that reads at most
/// `max_messages`, and connects it (capturing the snapshot's end offsets).
#[cfg(feature = "kafka")]
pub async fn from_kafka(
    bootstrap_servers: &str,
    topic: &str,
    max_messages: usize,
) -> Result<truthound_kafka::KafkaDataSource, truthound_streaming_core::StreamingDataSourceError> {
    use truthound_streaming_core::BaseStreamingDataSource;
    let config = truthound_kafka::KafkaDataSourceConfig::new(bootstrap_servers, topic)
        .with_max_messages(max_messages);
    let mut source = truthound_kafka::KafkaDataSource::new(config)?;
    source.connect().await?;
    Ok(source)
}
