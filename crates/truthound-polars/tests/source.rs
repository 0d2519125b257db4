//! The source extension trait: schemas, DataFrames and LazyFrames from a source.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use truthound_polars::PolarsSourceExt;
use truthound_streaming_core::{
    BaseStreamingDataSource, ConfigError, DataType as CoreType, InMemorySource, OnMalformed,
    StreamingDataSourceConfig, StreamingDataSourceError,
};

fn source(n: usize, config: StreamingDataSourceConfig) -> InMemorySource {
    let payloads: Vec<String> = (0..n)
        .map(|i| {
            if i % 50 == 49 {
                "{broken".to_owned()
            } else if i < 150 {
                format!(r#"{{"id": {i}, "kind": "a"}}"#)
            } else {
                // A field that only appears after the schema sample.
                format!(r#"{{"id": {i}, "kind": "b", "late": {i}.5}}"#)
            }
        })
        .collect();
    InMemorySource::from_payloads("events", config, json(), payloads).with_batch_size(64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_schema_then_lazyframe_returns_every_row() {
    let config = StreamingDataSourceConfig::default()
        .with_max_messages(400)
        .with_schema_sample_size(20)
        .with_include_key(false);
    let mut src = source(1000, config);

    let schema = src.get_schema().await.unwrap();
    assert_eq!(schema.names().collect::<Vec<_>>(), ["id", "kind"]);
    assert_eq!(schema.field("id").unwrap().data_type, CoreType::Int64);

    let (lf, report) = src.to_polars_lazyframe_with_report().await.unwrap();
    let df = lf.collect().unwrap();
    // 400 records read, 8 of them malformed (offsets 49, 99, ..., 399).
    assert_eq!(df.height(), 392);
    assert_eq!(report.skipped.len(), 8);
    assert_eq!(report.skipped[7].offset, 399);
    assert_eq!(names(&df), ["id", "kind", "late"]);
    assert_eq!(
        src.reads(),
        2,
        "the schema sample and the snapshot are separate reads"
    );

    let df = src.to_polars_lazyframe().await.unwrap().collect().unwrap();
    assert_eq!(df.height(), 392);
    let snapshot = src.to_polars_dataframe().await.unwrap();
    assert_eq!(snapshot.frame.height(), 392);
    assert_eq!(snapshot.schema().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_schema_skips_malformed_records_even_in_error_mode() {
    let config = StreamingDataSourceConfig::default()
        .with_schema_sample_size(100)
        .with_on_malformed(OnMalformed::Error)
        .with_include_key(false);
    let mut src = source(100, config);
    assert_eq!(src.get_schema().await.unwrap().len(), 2);
    let err = src.to_polars_dataframe().await.unwrap_err();
    assert_eq!(err.as_deserialization().map(|d| d.offset), Some(49));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_reported_before_reading() {
    let config = StreamingDataSourceConfig::default().with_max_messages(0);
    let mut src = source(10, config);
    let err = src.to_polars_dataframe().await.unwrap_err();
    assert!(matches!(
        err,
        truthound_polars::Error::Source(StreamingDataSourceError::Config(ConfigError::Zero {
            field: "max_messages"
        }))
    ));
    assert_eq!(src.reads(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_on_trait_objects_and_reports_source_errors() {
    let config = StreamingDataSourceConfig::default()
        .with_include_metadata(true)
        .with_max_messages(30);
    let mut boxed: Box<dyn BaseStreamingDataSource> = Box::new(source(40, config));
    let snapshot = boxed.to_polars_dataframe().await.unwrap();
    assert_eq!(snapshot.frame.height(), 30);
    let offsets = snapshot
        .frame
        .column("_kafka_offset")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    assert_eq!(offsets.get(29), Some(29));
    boxed.close().await.unwrap();
    let err = boxed.get_schema().await.unwrap_err();
    assert_eq!(err.to_string(), "the source is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deserializer_is_shared_not_cloned() {
    let d = json();
    let src = InMemorySource::new(bare(), Arc::clone(&d), Vec::new());
    assert!(Arc::ptr_eq(&src.value_deserializer(), &d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_that_need_a_deserializer_fail_early_when_the_source_has_none() {
    let config = StreamingDataSourceConfig::default()
        .with_key_deserializer(truthound_streaming_core::KeyDeserializer::Protobuf);
    let mut src = source(10, config);
    let err = src.to_polars_dataframe().await.unwrap_err().to_string();
    assert!(
        err.contains("key_deserializer protobuf needs a key deserializer")
            && err.contains("memory://events"),
        "{err}"
    );
    assert_eq!(src.reads(), 0, "nothing is read before the error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parallel_builder_decodes_keys_in_every_segment() {
    use truthound_polars::ParallelFrameBuilder;
    use truthound_streaming_core::{KeyDeserializer, RawMessage};

    let config = StreamingDataSourceConfig::default().with_key_deserializer(KeyDeserializer::Avro);
    let mut b = ParallelFrameBuilder::new(&config, json(), 2)
        .with_segment_messages(3)
        .with_key_deserializer(json());
    for offset in 0..5_i64 {
        let batch = (0..2)
            .map(|p| {
                RawMessage::new("t", p, offset, Some(format!(r#"{{"v": {offset}}}"#).into()))
                    .with_key(format!(r#"{{"p": {p}, "o": {offset}}}"#))
            })
            .collect();
        b.push_batch(batch).await.unwrap();
    }
    let snapshot = b.finish().unwrap();
    let keys = strs(column(&snapshot.frame, "_kafka_key"));
    let expected: Vec<Option<String>> = (0..2)
        .flat_map(|p| (0..5).map(move |o| Some(format!(r#"{{"p":{p},"o":{o}}}"#))))
        .collect();
    assert_eq!(keys, expected);
}
