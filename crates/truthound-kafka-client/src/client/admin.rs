//! Produce, and creating and deleting topics: what tests, the demo and the benchmarks need to
//! put data on a topic.

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateTopicsRequest, DeleteTopicsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{Error, KafkaClient, Result};
use crate::ConnectionError;
use crate::records::{Compression, ProduceRecord, RecordBatchBuilder};

/// How many replicas must have a produced batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// The leader only.
    Leader,
    /// All in-sync replicas.
    #[default]
    All,
}

/// How records are produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProduceOptions {
    /// The codec of the batch.
    pub compression: Compression,
    /// The acknowledgement asked for.
    pub acks: Acks,
}

impl ProduceOptions {
    /// Options with this codec and `acks = all`.
    pub fn compressed(compression: Compression) -> Self {
        Self {
            compression,
            acks: Acks::All,
        }
    }
}

fn name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_owned()))
}

impl KafkaClient {
    /// Appends `records` to `partition` of `topic` as one record batch and returns the offset
    /// of the first.
    pub async fn produce(
        &self,
        topic: &str,
        partition: i32,
        records: Vec<ProduceRecord>,
        options: ProduceOptions,
    ) -> Result<i64> {
        if records.is_empty() {
            return Err(Error::InvalidArgument("nothing to produce".into()));
        }
        let mut builder = RecordBatchBuilder::new(0).with_compression(options.compression);
        for r in records {
            builder.push(r);
        }
        let batch: Bytes = builder.finish().map_err(|source| Error::Records {
            topic: topic.to_owned(),
            partition,
            offset: 0,
            source,
        })?;
        self.produce_batch(topic, partition, batch, options.acks)
            .await
    }

    /// Sends an encoded record batch (or several, concatenated) to `partition`'s leader and
    /// returns the base offset the broker assigned.
    pub async fn produce_batch(
        &self,
        topic: &str,
        partition: i32,
        batch: Bytes,
        acks: Acks,
    ) -> Result<i64> {
        self.retrying("Produce", Some(topic), || async {
            let leader = *self
                .group_by_leader(topic, [partition])
                .await?
                .keys()
                .next()
                .ok_or_else(|| Error::UnexpectedResponse("no leader".into()))?;
            let conn = self.broker_connection(leader).await?;
            let request = ProduceRequest::default()
                .with_acks(match acks {
                    Acks::Leader => 1,
                    Acks::All => -1,
                })
                .with_timeout_ms(
                    i32::try_from(self.config().request_timeout.as_millis()).unwrap_or(i32::MAX),
                )
                .with_topic_data(vec![
                    TopicProduceData::default()
                        .with_name(name(topic))
                        .with_partition_data(vec![
                            PartitionProduceData::default()
                                .with_index(partition)
                                .with_records(Some(batch.clone())),
                        ]),
                ]);
            // Once the request may have reached the broker, a lost connection or a timeout
            // leaves the outcome unknown: retrying could write the records twice.
            let (response, _) = conn.request(&request).await.map_err(|e| match e {
                ConnectionError::Io { .. } | ConnectionError::RequestTimeout { .. } => {
                    Error::ProduceOutcomeUnknown {
                        topic: topic.to_owned(),
                        partition,
                        source: e,
                    }
                }
                other => other.into(),
            })?;
            let p = response
                .responses
                .into_iter()
                .flat_map(|t| t.partition_responses)
                .find(|p| p.index == partition)
                .ok_or_else(|| {
                    Error::UnexpectedResponse(format!(
                        "Produce answer has no entry for {topic}/{partition}"
                    ))
                })?;
            if p.error_code != 0 {
                return Err(Error::Kafka {
                    api: "Produce",
                    topic: Some(topic.to_owned()),
                    partition: Some(partition),
                    code: p.error_code,
                    message: p.error_message.map(|m| m.as_str().to_owned()),
                });
            }
            Ok(p.base_offset)
        })
        .await
    }

    /// Creates a topic. Succeeds also when it exists already with that name.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<()> {
        let conn = self.controller_connection().await?;
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(
                i32::try_from(self.config().request_timeout.as_millis()).unwrap_or(i32::MAX),
            )
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(name(topic))
                    .with_num_partitions(partitions)
                    .with_replication_factor(replication_factor),
            ]);
        let (response, _) = conn.request(&request).await?;
        for t in response.topics {
            // 36 = TOPIC_ALREADY_EXISTS
            if t.error_code != 0 && t.error_code != 36 {
                return Err(Error::Kafka {
                    api: "CreateTopics",
                    topic: Some(topic.to_owned()),
                    partition: None,
                    code: t.error_code,
                    message: t.error_message.map(|m| m.as_str().to_owned()),
                });
            }
        }
        self.forget_topic(topic);
        Ok(())
    }

    /// Deletes a topic.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        let conn = self.controller_connection().await?;
        let version = conn.version_for(kafka_protocol::messages::ApiKey::DeleteTopics)?;
        let mut request = DeleteTopicsRequest::default().with_timeout_ms(
            i32::try_from(self.config().request_timeout.as_millis()).unwrap_or(i32::MAX),
        );
        if version >= 6 {
            request = request.with_topics(vec![
                DeleteTopicState::default().with_name(Some(name(topic))),
            ]);
        } else {
            request = request.with_topic_names(vec![name(topic)]);
        }
        let response = conn.send(&request, version).await?;
        self.forget_topic(topic);
        for r in response.responses {
            if r.error_code != 0 {
                return Err(Error::Kafka {
                    api: "DeleteTopics",
                    topic: Some(topic.to_owned()),
                    partition: None,
                    code: r.error_code,
                    message: r.error_message.map(|m| m.as_str().to_owned()),
                });
            }
        }
        Ok(())
    }
}
