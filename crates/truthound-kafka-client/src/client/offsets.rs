//! ListOffsets, and committed offsets of a group without joining it.

use std::collections::BTreeMap;

use futures::future::try_join_all;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    BrokerId, GroupId, ListOffsetsRequest, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{Error, IsolationLevel, KafkaClient, Result};
use crate::connection::Connection;
use std::sync::Arc;

/// Which offset ListOffsets looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The end: the high watermark, or the last stable offset under read_committed.
    Latest,
    /// The first offset whose timestamp is at or after this many milliseconds since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ms) => ms,
        }
    }
}

fn topic_name(t: &str) -> TopicName {
    TopicName(StrBytes::from_string(t.to_owned()))
}

impl KafkaClient {
    /// Looks up one offset per partition. For [`OffsetSpec::Timestamp`], a partition with no
    /// record that late maps to `-1`.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[(i32, OffsetSpec)],
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<i32, i64>> {
        self.retrying("ListOffsets", Some(topic), || {
            self.list_offsets_once(topic, partitions, isolation)
        })
        .await
    }

    async fn list_offsets_once(
        &self,
        topic: &str,
        partitions: &[(i32, OffsetSpec)],
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<i32, i64>> {
        let spec: BTreeMap<i32, OffsetSpec> = partitions.iter().copied().collect();
        let groups = self.group_by_leader(topic, spec.keys().copied()).await?;
        let calls = groups.into_iter().map(|(leader, parts)| {
            let spec = &spec;
            async move {
                let conn = self.broker_connection(leader).await?;
                let request = ListOffsetsRequest::default()
                    // Only -1 marks a consumer; with the default 0 the broker would ignore
                    // the isolation level.
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(isolation as i8)
                    .with_topics(vec![
                        ListOffsetsTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(
                                parts
                                    .iter()
                                    .map(|p| {
                                        ListOffsetsPartition::default()
                                            .with_partition_index(*p)
                                            .with_timestamp(spec[p].wire())
                                    })
                                    .collect(),
                            ),
                    ]);
                let (response, _) = conn.request(&request).await?;
                let mut out = Vec::new();
                for t in response.topics {
                    for p in t.partitions {
                        if p.error_code != 0 {
                            return Err(Error::Kafka {
                                api: "ListOffsets",
                                topic: Some(topic.to_owned()),
                                partition: Some(p.partition_index),
                                code: p.error_code,
                                message: None,
                            });
                        }
                        out.push((p.partition_index, p.offset));
                    }
                }
                Ok::<_, Error>(out)
            }
        });
        let mut result = BTreeMap::new();
        for part in try_join_all(calls).await? {
            result.extend(part);
        }
        for p in spec.keys() {
            if !result.contains_key(p) {
                return Err(Error::UnexpectedResponse(format!(
                    "ListOffsets answer has no entry for {topic}/{p}"
                )));
            }
        }
        Ok(result)
    }

    /// Beginning and end offset of every partition of `topic`: partition → (log start, end),
    /// where end is the high watermark (last stable offset under read_committed).
    pub async fn watermarks(
        &self,
        topic: &str,
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<i32, (i64, i64)>> {
        let partitions = self.topic(topic).await?.partition_ids();
        self.partition_watermarks(topic, &partitions, isolation)
            .await
    }

    /// Beginning and end offset of the given partitions of `topic`, as [`Self::watermarks`].
    pub async fn partition_watermarks(
        &self,
        topic: &str,
        partitions: &[i32],
        isolation: IsolationLevel,
    ) -> Result<BTreeMap<i32, (i64, i64)>> {
        let earliest: Vec<_> = partitions
            .iter()
            .map(|p| (*p, OffsetSpec::Earliest))
            .collect();
        let latest: Vec<_> = partitions
            .iter()
            .map(|p| (*p, OffsetSpec::Latest))
            .collect();
        let (lo, hi) = futures::try_join!(
            self.list_offsets(topic, &earliest, isolation),
            self.list_offsets(topic, &latest, isolation)
        )?;
        Ok(lo
            .into_iter()
            .map(|(p, start)| (p, (start, hi.get(&p).copied().unwrap_or(start))))
            .collect())
    }

    /// The group coordinator's connection.
    async fn coordinator(&self, group: &str) -> Result<Arc<Connection>> {
        let conn = self.any_connection().await?;
        let version = conn.version_for(kafka_protocol::messages::ApiKey::FindCoordinator)?;
        let mut request = FindCoordinatorRequest::default().with_key_type(0);
        if version >= 4 {
            request = request.with_coordinator_keys(vec![StrBytes::from_string(group.to_owned())]);
        } else {
            request = request.with_key(StrBytes::from_string(group.to_owned()));
        }
        let response = conn.send(&request, version).await?;
        let (code, message, host, port) = if version >= 4 {
            let c = response.coordinators.into_iter().next().ok_or_else(|| {
                Error::UnexpectedResponse("FindCoordinator answer lists no coordinator".into())
            })?;
            (c.error_code, c.error_message, c.host, c.port)
        } else {
            (
                response.error_code,
                response.error_message,
                response.host,
                response.port,
            )
        };
        if code != 0 {
            return Err(Error::Kafka {
                api: "FindCoordinator",
                topic: None,
                partition: None,
                code,
                message: message.map(|m| format!("group {group:?}: {}", m.as_str())),
            });
        }
        Ok(self
            .connection(&format!("{}:{}", host.as_str(), port))
            .await?)
    }

    /// Commits offsets for `group` without joining it (generation -1, empty member id). The
    /// broker accepts this only while no live member holds the group.
    pub async fn commit_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<()> {
        self.retrying("OffsetCommit", None, || async {
            let conn = self.coordinator(group).await?;
            let request = OffsetCommitRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
                .with_generation_id_or_member_epoch(-1)
                .with_member_id(StrBytes::from_static_str(""))
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(topic_name(topic))
                        .with_partitions(
                            offsets
                                .iter()
                                .map(|(p, o)| {
                                    OffsetCommitRequestPartition::default()
                                        .with_partition_index(*p)
                                        .with_committed_offset(*o)
                                })
                                .collect(),
                        ),
                ]);
            let (response, _) = conn.request(&request).await?;
            for t in response.topics {
                for p in t.partitions {
                    if p.error_code != 0 {
                        return Err(Error::Kafka {
                            api: "OffsetCommit",
                            topic: Some(topic.to_owned()),
                            partition: Some(p.partition_index),
                            code: p.error_code,
                            message: Some(format!("group {group:?}")),
                        });
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// The offsets `group` has committed for `partitions` of `topic`; `None` where it has none.
    pub async fn committed_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<BTreeMap<i32, Option<i64>>> {
        self.retrying("OffsetFetch", None, || async {
            let conn = self.coordinator(group).await?;
            let request = OffsetFetchRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(topic_name(topic))
                        .with_partition_indexes(partitions.to_vec()),
                ]));
            let (response, _) = conn.request(&request).await?;
            if response.error_code != 0 {
                return Err(Error::Kafka {
                    api: "OffsetFetch",
                    topic: Some(topic.to_owned()),
                    partition: None,
                    code: response.error_code,
                    message: Some(format!("group {group:?}")),
                });
            }
            let mut out: BTreeMap<i32, Option<i64>> =
                partitions.iter().map(|p| (*p, None)).collect();
            for t in response.topics {
                for p in t.partitions {
                    if p.error_code != 0 {
                        return Err(Error::Kafka {
                            api: "OffsetFetch",
                            topic: Some(topic.to_owned()),
                            partition: Some(p.partition_index),
                            code: p.error_code,
                            message: Some(format!("group {group:?}")),
                        });
                    }
                    out.insert(
                        p.partition_index,
                        (p.committed_offset >= 0).then_some(p.committed_offset),
                    );
                }
            }
            Ok(out)
        })
        .await
    }
}
