//! The example source gets schema inference and Polars conversion from the traits alone.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use futures::TryStreamExt;
use polars::prelude::DataType;
use truthound_example_ndjson_source::NdjsonFileSource;
use truthound_polars::PolarsSourceExt;
use truthound_streaming_core::{
    BaseStreamingDataSource, DataType as CoreType, DeserializerType, OnMalformed,
    StreamingDataSourceConfig, StreamingDataSourceExt,
};

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn events(n: usize) -> String {
    (0..n)
        .map(|i| match i {
            7 => "{\"user_id\": 7, \"action\": \n".to_owned(), // a line cut short
            _ => format!("{{\"user_id\": {i}, \"action\": \"login\", \"amount\": {i}.5}}\n"),
        })
        .collect()
}

fn config() -> StreamingDataSourceConfig {
    StreamingDataSourceConfig::default()
        .with_include_key(false)
        .with_schema_sample_size(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_then_frame_reads_every_row() {
    let file = TempFile::new("events.ndjson", &events(2500));
    let mut source = NdjsonFileSource::new(&file.0, config().with_include_metadata(true))
        .unwrap()
        .with_batch_size(300);

    let schema = source.get_schema().await.unwrap();
    assert_eq!(
        schema.names().collect::<Vec<_>>(),
        [
            "user_id",
            "action",
            "amount",
            "_kafka_topic",
            "_kafka_partition",
            "_kafka_offset",
            "_kafka_timestamp"
        ]
    );
    assert_eq!(schema.field("amount").unwrap().data_type, CoreType::Float64);

    let lf = source.to_polars_lazyframe().await.unwrap();
    let df = lf.collect().unwrap();
    assert_eq!(df.height(), 2499);
    let topic = df
        .column("_kafka_topic")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .map(str::to_owned);
    assert_eq!(
        topic.as_deref(),
        Some(file.0.file_name().unwrap().to_str().unwrap())
    );
}

#[tokio::test]
async fn malformed_lines_are_reported_with_their_offset() {
    let file = TempFile::new("malformed.ndjson", &events(20));
    let mut source = NdjsonFileSource::new(&file.0, config()).unwrap();
    let snapshot = source.to_polars_dataframe().await.unwrap();
    assert_eq!(snapshot.frame.height(), 19);
    assert_eq!(snapshot.report.skipped.len(), 1);
    assert_eq!(snapshot.report.skipped[0].offset, 7);
    assert_eq!(snapshot.report.skipped[0].partition, 0);

    let mut strict =
        NdjsonFileSource::new(&file.0, config().with_on_malformed(OnMalformed::Error)).unwrap();
    let err = strict.to_polars_dataframe().await.unwrap_err();
    assert!(err.to_string().contains("partition 0, offset 7"), "{err}");
}

#[tokio::test]
async fn blank_lines_crlf_and_max_messages() {
    let file = TempFile::new(
        "crlf.ndjson",
        "{\"a\": 1}\r\n\r\n   \n{\"a\": 2}\r\n{\"a\": 3}",
    );
    let mut source = NdjsonFileSource::new(&file.0, config()).unwrap();
    let offsets: Vec<i64> = source
        .consume(10)
        .await
        .unwrap()
        .iter()
        .map(|m| m.offset)
        .collect();
    assert_eq!(offsets, [0, 3, 4]);
    assert_eq!(source.count_messages().await.unwrap(), 3);

    let mut capped = NdjsonFileSource::new(&file.0, config().with_max_messages(2)).unwrap();
    let snapshot = capped.to_polars_dataframe().await.unwrap();
    assert_eq!(snapshot.frame.height(), 2);
    let batches: Vec<_> = capped.iter_messages(1, 10).try_collect().await.unwrap();
    assert_eq!(batches.len(), 2, "max_messages caps every read");
}

#[tokio::test]
async fn the_snapshot_is_fixed_at_first_read() {
    let file = TempFile::new("growing.ndjson", "{\"a\": 1}\n");
    let mut source = NdjsonFileSource::new(&file.0, config()).unwrap();
    assert_eq!(source.count_messages().await.unwrap(), 1);
    std::fs::write(&file.0, "{\"a\": 1}\n{\"a\": 2}\n").unwrap();
    assert_eq!(source.count_messages().await.unwrap(), 1);
    source.close().await.unwrap();
    assert_eq!(
        source.count_messages().await.unwrap(),
        2,
        "a new connection sees the new file"
    );
}

#[tokio::test]
async fn string_deserializer_and_missing_files() {
    let file = TempFile::new("lines.txt", "plain text\nmore\n");
    let cfg = config().with_deserializer_type(DeserializerType::String);
    let mut source = NdjsonFileSource::new(&file.0, cfg).unwrap();
    let snapshot = source.to_polars_dataframe().await.unwrap();
    assert_eq!(
        snapshot.frame.column("value").unwrap().dtype(),
        &DataType::String
    );

    let mut missing = NdjsonFileSource::new("/nonexistent/x.ndjson", config()).unwrap();
    let err = missing.to_polars_dataframe().await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("could not connect to /nonexistent/x.ndjson"),
        "{err}"
    );

    let avro = config().with_deserializer_type(DeserializerType::Avro);
    assert!(NdjsonFileSource::new(&file.0, avro).is_err());
}

/// Generic code sees only the traits.
async fn rows_of<S: BaseStreamingDataSource + ?Sized>(source: &mut S) -> usize {
    source.get_schema().await.unwrap();
    source.to_polars_dataframe().await.unwrap().frame.height()
}

#[tokio::test]
async fn generic_code_over_the_trait() {
    let file = TempFile::new("generic.ndjson", &events(50));
    let mut boxed: Box<dyn BaseStreamingDataSource> =
        Box::new(NdjsonFileSource::new(&file.0, config()).unwrap());
    assert_eq!(rows_of(boxed.as_mut()).await, 49);
    assert!(boxed.name().starts_with("file://"));
}
