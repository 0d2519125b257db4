//! `build_parallel` gives the same snapshot as one builder.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use polars::prelude::*;
use truthound_polars::{MessageFrameBuilder, Snapshot, build_parallel};
use truthound_streaming_core::{OnMalformed, RawMessage, StreamingDataSourceConfig};

fn sequential(config: &StreamingDataSourceConfig, msgs: &[RawMessage]) -> Snapshot {
    let mut b = MessageFrameBuilder::new(config, json());
    b.push_batch(msgs).unwrap();
    b.finish_snapshot().unwrap()
}

fn assert_same(
    config: &StreamingDataSourceConfig,
    payloads: &[String],
    threads: usize,
) -> Snapshot {
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let msgs = messages(&refs);
    let one = sequential(config, &msgs);
    let many = build_parallel(config, json(), &msgs, threads).unwrap();
    assert_eq!(one.frame.schema(), many.frame.schema());
    assert!(one.frame.equals_missing(&many.frame));
    assert_eq!(one.report, many.report);
    many
}

#[test]
fn regular_records() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| format!(r#"{{"id": {i}, "s": "x{i}", "d": {{"a": [1, {i}]}}}}"#))
        .collect();
    let config = StreamingDataSourceConfig::default().with_include_metadata(true);
    let snapshot = assert_same(&config, &payloads, 2);
    assert_eq!(snapshot.frame.column("id").unwrap().n_chunks(), 2);
}

#[test]
fn late_fields_nulls_widening_and_malformed_records() {
    let payloads: Vec<String> = (0..50_000)
        .map(|i| match i {
            _ if i % 9_999 == 0 => "{oops".to_owned(),
            0..20_000 => format!(r#"{{"n": {i}, "maybe": null}}"#),
            _ => format!(r#"{{"n": {i}.5, "maybe": "v", "late": [true]}}"#),
        })
        .collect();
    let snapshot = assert_same(&bare(), &payloads, 3);
    assert_eq!(snapshot.report.skipped.len(), 6);
    assert_eq!(names(&snapshot.frame), ["n", "maybe", "late"]);
}

#[test]
fn mixed_types_fall_back_to_one_thread() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| {
            if i < 30_000 {
                format!(r#"{{"v": {i}}}"#)
            } else {
                format!(r#"{{"v": "s{i}"}}"#)
            }
        })
        .collect();
    let snapshot = assert_same(&bare(), &payloads, 2);
    assert_eq!(
        snapshot.frame.column("v").unwrap().dtype(),
        &DataType::String
    );
    assert_eq!(snapshot.frame.column("v").unwrap().n_chunks(), 1);
}

#[test]
fn error_mode_reports_the_first_malformed_record() {
    let payloads: Vec<String> = (0..40_000)
        .map(|i| {
            if i == 25_000 || i == 39_000 {
                "x".into()
            } else {
                format!("{{\"i\": {i}}}")
            }
        })
        .collect();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let config = bare().with_on_malformed(OnMalformed::Error);
    let err = build_parallel(&config, json(), &messages(&refs), 4).unwrap_err();
    assert_eq!(err.as_deserialization().map(|d| d.offset), Some(25_000));
}

#[test]
fn small_inputs_use_one_thread() {
    let payloads: Vec<String> = (0..100).map(|i| format!("{{\"i\": {i}}}")).collect();
    let snapshot = assert_same(&bare(), &payloads, 8);
    assert_eq!(snapshot.frame.column("i").unwrap().n_chunks(), 1);
}
