//! A broker that restarts under the client (sqlite engine, so the data survives): the client
//! notices the dead connection, reconnects, and the read continues exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use truthound_kafka_client::{
    BoundedReader, ClientConfig, FetchOptions, IsolationLevel, KafkaClient, PartitionRange,
    ProduceOptions, ProduceRecord,
};
use truthound_tests::{SpawnedBroker, unique_topic};

#[tokio::test]
async fn reads_survive_a_broker_restart() {
    let mut broker = SpawnedBroker::sqlite();
    let client = KafkaClient::connect(ClientConfig::new([broker.address()]))
        .await
        .unwrap();
    let topic = unique_topic("restart");
    client.create_topic(&topic, 1, 1).await.unwrap();
    for chunk in 0..4 {
        let batch = (0..100)
            .map(|i| ProduceRecord::new(Bytes::from(format!("{}", chunk * 100 + i))))
            .collect();
        client
            .produce(&topic, 0, batch, ProduceOptions::default())
            .await
            .unwrap();
    }
    let (_, end) = client
        .watermarks(&topic, IsolationLevel::ReadUncommitted)
        .await
        .unwrap()[&0];
    assert_eq!(end, 400);
    let read = |start, end| {
        BoundedReader::new(
            client.clone(),
            &topic,
            [PartitionRange {
                partition: 0,
                start,
                end,
            }],
            FetchOptions::default(),
        )
    };
    let mut values = Vec::new();
    let mut first = read(0, 200);
    while let Some(batch) = first.next_batch().await.unwrap() {
        values.extend(batch.into_iter().flat_map(|p| p.records));
    }
    assert_eq!(values.len(), 200);

    // The client's connection dies with the broker; the next read reconnects.
    broker.restart();

    let mut second = read(200, end);
    while let Some(batch) = second.next_batch().await.unwrap() {
        values.extend(batch.into_iter().flat_map(|p| p.records));
    }
    let got: Vec<String> = values
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
        .collect();
    let want: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}
