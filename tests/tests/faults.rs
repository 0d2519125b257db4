//! Faults of a real cluster in the middle of a snapshot, through a TCP proxy between the client
//! and a real broker that advertises the proxy (so every connection passes it): connections cut
//! after K bytes, every connection dropped and new ones refused for 2 s and for 8 s, a broker
//! that stops answering, and a broker restart on SQLite. A snapshot either comes out equal to a
//! clean one, or fails within its timeout naming the broker or the partitions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use truthound_kafka::{KafkaDataSource, KafkaDataSourceConfig};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_streaming_core::{BaseStreamingDataSource, StreamingDataSourceExt};
use truthound_tests::proxy::Proxy;
use truthound_tests::{SpawnedBroker, unique_topic};

const PARTITIONS: i32 = 3;
const PER_PARTITION: usize = 800;
/// Bytes of one value: the topic holds about 20 MB, read in several fetch rounds.
const VALUE_BYTES: usize = 8 * 1024;

/// A broker behind a proxy: it advertises the proxy's address.
fn proxied(mut broker: SpawnedBroker) -> (SpawnedBroker, Proxy) {
    let upstream: SocketAddr = broker.address().parse().unwrap();
    let proxy = Proxy::start(upstream);
    broker.set_advertised_address(proxy.addr().to_string());
    broker.restart();
    (broker, proxy)
}

/// A topic of `PARTITIONS` × `PER_PARTITION` JSON values of `VALUE_BYTES`.
async fn fill(proxy: &Proxy) -> String {
    let topic = unique_topic("faults");
    let client = KafkaClient::connect(ClientConfig::new([proxy.addr().to_string()]))
        .await
        .unwrap();
    client.create_topic(&topic, PARTITIONS, 1).await.unwrap();
    let pad = "x".repeat(VALUE_BYTES - 40);
    for p in 0..PARTITIONS {
        let records: Vec<ProduceRecord> = (0..PER_PARTITION)
            .map(|i| {
                ProduceRecord::new(Bytes::from(format!(
                    "{{\"p\":{p},\"i\":{i},\"pad\":\"{pad}\"}}"
                )))
            })
            .collect();
        for chunk in records.chunks(100) {
            client
                .produce(&topic, p, chunk.to_vec(), ProduceOptions::default())
                .await
                .unwrap();
        }
    }
    topic
}

fn source(proxy: SocketAddr, topic: &str, timeout: Duration) -> KafkaDataSource {
    KafkaDataSource::new(
        KafkaDataSourceConfig::new(proxy.to_string(), topic)
            .with_max_messages(1_000_000)
            .with_consume_timeout(timeout),
    )
    .unwrap()
}

type Rows = Vec<(i32, i64, Option<Bytes>)>;

/// Every message of the snapshot: partition, offset, value, in the order read per partition.
async fn snapshot(proxy: SocketAddr, topic: &str, timeout: Duration) -> Rows {
    let mut source = source(proxy, topic, timeout);
    source.connect().await.unwrap();
    let mut rows: Rows = source
        .consume(1_000_000)
        .await
        .unwrap_or_else(|e| panic!("the snapshot failed: {e}"))
        .into_iter()
        .map(|m| (m.partition, m.offset, m.value))
        .collect();
    rows.sort_by_key(|(p, o, _)| (*p, *o));
    rows
}

/// A clean snapshot, then the same with `fault` scheduled on the proxy; they must be equal.
async fn ridden_through(proxy: &Proxy, topic: &str, fault: impl FnOnce(&Proxy)) -> Duration {
    let clean = snapshot(proxy.addr(), topic, Duration::from_secs(60)).await;
    assert_eq!(clean.len(), PARTITIONS as usize * PER_PARTITION);
    let fired = proxy.faults_fired();
    fault(proxy);
    let started = Instant::now();
    let faulted = snapshot(proxy.addr(), topic, Duration::from_secs(60)).await;
    let took = started.elapsed();
    assert_eq!(
        proxy.faults_fired(),
        fired + 1,
        "the fault did not happen during the read"
    );
    assert_eq!(faulted.len(), clean.len());
    assert!(faulted == clean, "the snapshot differs from the clean one");
    took
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_cut_after_k_bytes_are_read_again_exactly() {
    let (_broker, proxy) = proxied(SpawnedBroker::memory());
    let topic = fill(&proxy).await;
    // Inside the first response (ApiVersions), inside a record batch, deep into the read.
    for k in [100, 70_000, 6_000_000] {
        ridden_through(&proxy, &topic, |proxy| {
            // Counted from after the clean read; the fault's read starts with the handshake.
            proxy.outage_after(proxy.downstream_bytes() + k, Duration::ZERO);
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_two_second_outage_in_the_middle_of_a_snapshot_is_ridden_through() {
    let (_broker, proxy) = proxied(SpawnedBroker::memory());
    let topic = fill(&proxy).await;
    let took = ridden_through(&proxy, &topic, |proxy| {
        proxy.outage_after(proxy.downstream_bytes() + 6_000_000, Duration::from_secs(2));
    })
    .await;
    assert!(took >= Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eight_second_outage_in_the_middle_of_a_snapshot_is_ridden_through() {
    let (_broker, proxy) = proxied(SpawnedBroker::memory());
    let topic = fill(&proxy).await;
    let took = ridden_through(&proxy, &topic, |proxy| {
        proxy.outage_after(proxy.downstream_bytes() + 6_000_000, Duration::from_secs(8));
    })
    .await;
    assert!(took >= Duration::from_secs(8), "{took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_on_sqlite_in_the_middle_of_a_read_is_ridden_through() {
    let (broker, proxy) = proxied(SpawnedBroker::sqlite());
    let topic = fill(&proxy).await;
    let clean = snapshot(proxy.addr(), &topic, Duration::from_secs(60)).await;
    // Cut every connection 6 MB into the read and hold new ones off for a second; the broker
    // restarts meanwhile (stop, start on the same port with the same storage).
    proxy.outage_after(proxy.downstream_bytes() + 6_000_000, Duration::from_secs(1));
    let proxy_addr = proxy.addr();
    let fired = proxy.faults_fired();
    let watcher = {
        let proxy = std::sync::Arc::new(proxy);
        let watched = proxy.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let mut broker = broker;
            let deadline = Instant::now() + Duration::from_secs(60);
            while watched.faults_fired() == fired && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            broker.restart();
            broker
        });
        (proxy, handle)
    };
    let rows = snapshot(proxy_addr, &topic, Duration::from_secs(60)).await;
    let (proxy, handle) = watcher;
    let _broker = handle.await.unwrap();
    assert_eq!(proxy.faults_fired(), fired + 1);
    assert!(rows == clean, "the snapshot differs from the clean one");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_that_stops_answering_fails_within_the_timeout_naming_it() {
    let (_broker, proxy) = proxied(SpawnedBroker::memory());
    let topic = fill(&proxy).await;

    // While connecting: the error names the broker and comes within the timeout.
    proxy.stall();
    let started = Instant::now();
    let mut stalled = source(proxy.addr(), &topic, Duration::from_secs(2));
    let err = stalled.connect().await.unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let broker = proxy.addr().to_string();
    assert!(
        err.ends_with(&format!(
            "could not reach any bootstrap broker: {broker} (ApiVersions request to broker \
             {broker} timed out after 2s)"
        )),
        "{err}"
    );

    // In the middle of a read: the error names each partition's position and the last error.
    proxy.resume();
    let mut reading = source(proxy.addr(), &topic, Duration::from_secs(3));
    reading.connect().await.unwrap();
    proxy.outage_after(proxy.downstream_bytes() + 6_000_000, Duration::ZERO);
    let watched = std::sync::Arc::new(proxy);
    let stall_after_cut = {
        let proxy = watched.clone();
        let fired = proxy.faults_fired();
        tokio::task::spawn_blocking(move || {
            while proxy.faults_fired() == fired {
                std::thread::sleep(Duration::from_millis(1));
            }
            proxy.stall();
        })
    };
    let started = Instant::now();
    let err = reading.consume(1_000_000).await.unwrap_err().to_string();
    stall_after_cut.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("consume_timeout of 3s ran out after"), "{err}");
    for p in 0..PARTITIONS {
        assert!(err.contains(&format!("partition {p} at offset ")), "{err}");
    }
    watched.resume();
}
