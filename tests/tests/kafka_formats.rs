//! Value formats and malformed-message accounting through KafkaDataSource, against the broker:
//! raw Avro, schema-registry framed Avro (with a small registry inside the test), and JSON with
//! bad messages skipped and reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use truthound::datasources::streaming::{
    DeserializerType, KafkaDataSource, KafkaDataSourceConfig, PolarsSourceExt,
};
use truthound_kafka_client::{ClientConfig, KafkaClient, ProduceOptions, ProduceRecord};
use truthound_tests::avro::{ORDER_SCHEMA, USER_EVENT_SCHEMA, framed, order, user_event};
use truthound_tests::{broker_address, unique_topic};

async fn topic_of(values: Vec<Option<Vec<u8>>>) -> String {
    let client = KafkaClient::connect(ClientConfig::new([broker_address()]))
        .await
        .unwrap();
    let topic = unique_topic("formats");
    client.create_topic(&topic, 1, 1).await.unwrap();
    let batch = values
        .into_iter()
        .map(|v| {
            let mut r = ProduceRecord::new(Bytes::new());
            r.value = v.map(Bytes::from);
            r
        })
        .collect();
    client
        .produce(&topic, 0, batch, ProduceOptions::default())
        .await
        .unwrap();
    topic
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_avro_values_become_columns() {
    let topic = topic_of(
        (0..5)
            .map(|i| Some(user_event(i, ["login", "logout"][i as usize % 2])))
            .collect(),
    )
    .await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_deserializer_type(DeserializerType::Avro)
        .with_avro_schema(USER_EVENT_SCHEMA)
        .with_include_key(false);
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    let df = snapshot.frame;
    assert_eq!(
        df.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        vec!["user_id", "action"]
    );
    let ids: Vec<i64> = df
        .column("user_id")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    assert_eq!(
        df.column("action").unwrap().str().unwrap().get(1),
        Some("logout")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn avro_logical_types_become_typed_columns() {
    // 2024-02-29T12:34:56.789Z, one microsecond before the epoch, 2024-02-29 and 1969-12-31,
    // 12:34:56.789 and midnight, -12.34 and 99999999.99 (the largest of precision 10).
    let topic = topic_of(vec![
        Some(order(1_709_210_096_789, -1, 19_782, 45_296_789, -1234)),
        Some(order(0, 0, -1, 0, 9_999_999_999)),
    ])
    .await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_deserializer_type(DeserializerType::Avro)
        .with_avro_schema(ORDER_SCHEMA)
        .with_include_key(false);
    let df = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap()
        .frame;
    use polars::prelude::{DataType, TimeUnit, TimeZone};
    assert_eq!(
        df.dtypes(),
        [
            DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
            DataType::Datetime(TimeUnit::Microseconds, None),
            DataType::Date,
            DataType::Time,
            DataType::Decimal(10, 2),
        ]
    );
    let text: Vec<String> = df
        .columns()
        .iter()
        .map(|c| {
            (0..2)
                .map(|i| c.get(i).unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    assert_eq!(
        text,
        [
            "2024-02-29 12:34:56.789 UTC | 1970-01-01 00:00:00 UTC",
            "1969-12-31 23:59:59.999999 | 1970-01-01 00:00:00",
            "2024-02-29 | 1969-12-31",
            "12:34:56.789 | 00:00:00",
            "-12.34 | 99999999.99",
        ]
    );
}

/// A registry that answers `GET /schemas/ids/7` with the schema and counts requests.
fn registry() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = if request_line.starts_with("GET /schemas/ids/7 ") {
                let escaped = USER_EVENT_SCHEMA
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', " ");
                ("200 OK", format!(r#"{{"schema": "{escaped}"}}"#))
            } else {
                (
                    "404 Not Found",
                    r#"{"error_code": 40403, "message": "Schema not found"}"#.to_owned(),
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_framed_avro_resolves_each_schema_once() {
    let (url, hits) = registry();
    let mut values: Vec<Option<Vec<u8>>> = (0..20)
        .map(|i| Some(framed(7, &user_event(i, "view"))))
        .collect();
    values.push(Some(framed(99, &user_event(1, "x")))); // unknown schema id
    values.push(Some(b"not framed".to_vec()));
    let topic = topic_of(values).await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic)
        .with_deserializer_type(DeserializerType::Avro)
        .with_schema_registry_url(url)
        .with_include_key(false);
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert_eq!(snapshot.frame.height(), 20);
    let skipped: Vec<(i32, i64)> = snapshot
        .report
        .skipped
        .iter()
        .map(|s| (s.partition, s.offset))
        .collect();
    assert_eq!(skipped, vec![(0, 20), (0, 21)]);
    assert!(
        snapshot.report.skipped[0].reason.contains("99"),
        "{:?}",
        snapshot.report.skipped[0]
    );
    assert!(
        snapshot.report.skipped[1]
            .reason
            .contains("Confluent wire format"),
        "{:?}",
        snapshot.report.skipped[1]
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "schema 7 fetched once, schema 99 once, the latest version of the subject (the reader \
         schema; this registry has none) looked up once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_is_skipped_and_reported_with_its_offset() {
    let topic = topic_of(vec![
        Some(br#"{"a": 1}"#.to_vec()),
        Some(b"{broken".to_vec()),
        None, // a tombstone
        Some(br#"{"a": 2}"#.to_vec()),
        Some(vec![0xff, 0xfe]),
    ])
    .await;
    let config = KafkaDataSourceConfig::new(broker_address(), &topic).with_include_key(false);
    let snapshot = KafkaDataSource::new(config)
        .unwrap()
        .to_polars_dataframe()
        .await
        .unwrap();
    assert_eq!(snapshot.frame.height(), 2);
    let report = &snapshot.report;
    assert_eq!(
        report.skipped.iter().map(|s| s.offset).collect::<Vec<_>>(),
        vec![1, 4]
    );
    assert_eq!(report.tombstones, 1);
    assert_eq!(report.messages_seen(), 5);
}
