//! Timestamps, dates, times and decimals reported as typed events become Polars `Datetime`,
//! `Date`, `Time` and `Decimal` columns, in one builder and across parallel chunks alike.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use polars::prelude::*;
use truthound_polars::{MessageFrameBuilder, build_parallel, frame_schema};
use truthound_streaming_core::{
    DataType as CoreType, DeserializeFailure, FieldNote, MessageDeserializer, TimeUnit as Unit,
    ValueVisitor,
};

/// Payloads of `name=kind:value` pairs separated by `;`, reported as one object whose fields
/// are typed events: `ms`/`us`/`ns` (UTC timestamps), `lus` (local, microseconds), `date`,
/// `tms`/`tus` (times of day), `dec` (`unscaled/precision/scale`), `int` and `null`.
#[derive(Debug)]
struct Typed;

impl MessageDeserializer for Typed {
    fn name(&self) -> &str {
        "typed"
    }

    fn deserialize_into(
        &self,
        payload: &[u8],
        visitor: &mut dyn ValueVisitor,
    ) -> Result<(), DeserializeFailure> {
        let text = std::str::from_utf8(payload).unwrap();
        visitor.begin_object(None);
        for pair in text.split(';').filter(|p| !p.is_empty()) {
            let (name, rest) = pair.split_once('=').unwrap();
            let (kind, value) = rest.split_once(':').unwrap_or((rest, ""));
            visitor.key(name);
            let int = || value.parse::<i64>().unwrap();
            match kind {
                "ms" => visitor.timestamp(int(), Unit::Milliseconds, true),
                "us" => visitor.timestamp(int(), Unit::Microseconds, true),
                "ns" => visitor.timestamp(int(), Unit::Nanoseconds, true),
                "lus" => visitor.timestamp(int(), Unit::Microseconds, false),
                "date" => visitor.date(i32::try_from(int()).unwrap()),
                "tms" => visitor.time(int(), Unit::Milliseconds),
                "tus" => visitor.time(int(), Unit::Microseconds),
                "dec" => {
                    let parts: Vec<&str> = value.split('/').collect();
                    visitor.decimal(
                        parts[0].parse().unwrap(),
                        parts[1].parse().unwrap(),
                        parts[2].parse().unwrap(),
                    );
                }
                "int" => visitor.i64(int()),
                "null" => visitor.null(),
                other => panic!("unknown kind {other}"),
            }
        }
        visitor.end_object();
        Ok(())
    }
}

fn typed() -> Arc<dyn MessageDeserializer> {
    Arc::new(Typed)
}

fn build_typed(payloads: &[&str]) -> (DataFrame, truthound_polars::DecodeReport) {
    let mut b = MessageFrameBuilder::new(&bare(), typed());
    b.push_batch(&messages(payloads)).unwrap();
    b.finish().unwrap()
}

fn physical_i64(s: &Series) -> Vec<Option<i64>> {
    s.to_physical_repr()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

#[test]
fn typed_events_become_temporal_and_decimal_columns() {
    let (df, report) = build_typed(&[
        "at=ms:1709210096789;local=lus:-1;day=date:19782;clock=tms:45296789;price=dec:-1234/10/2",
        "at=null;local=lus:0;day=date:-719529;clock=tus:86399999999;price=dec:9999999999/10/2",
        "at=ms:-1;day=null;price=null",
    ]);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
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
    assert_eq!(
        physical_i64(column(&df, "at")),
        [Some(1_709_210_096_789), None, Some(-1)]
    );
    assert_eq!(
        physical_i64(column(&df, "local")),
        [Some(-1), Some(0), None]
    );
    assert_eq!(
        physical_i64(column(&df, "day")),
        [Some(19_782), Some(-719_529), None]
    );
    // Times of day are nanoseconds, whatever unit they came in.
    assert_eq!(
        physical_i64(column(&df, "clock")),
        [Some(45_296_789_000_000), Some(86_399_999_999_000), None]
    );
    let price: Vec<Option<i128>> = column(&df, "price")
        .decimal()
        .unwrap()
        .physical()
        .iter()
        .collect();
    assert_eq!(price, [Some(-1234), Some(9_999_999_999), None]);

    // The schema says what the columns are.
    let schema = frame_schema(&df, &report);
    let types: Vec<String> = schema
        .fields
        .iter()
        .map(|f| f.data_type.to_string())
        .collect();
    assert_eq!(
        types,
        [
            "Datetime(ms, UTC)",
            "Datetime(us)",
            "Date",
            "Time",
            "Decimal(10, 2)"
        ]
    );
}

#[test]
fn differing_units_zones_or_scales_become_json_text_with_a_note() {
    let (df, report) = build_typed(&[
        "a=ms:0;b=us:1;c=dec:5/4/1;d=int:7",
        "a=us:1000;b=lus:1;c=dec:5/4/2;d=ms:0",
    ]);
    assert_eq!(df.dtypes(), vec![DataType::String; 4]);
    assert_eq!(
        strs(column(&df, "a")),
        [
            Some(r#""1970-01-01T00:00:00.000Z""#.into()),
            Some(r#""1970-01-01T00:00:00.001000Z""#.into())
        ]
    );
    assert_eq!(
        strs(column(&df, "b")),
        [
            Some(r#""1970-01-01T00:00:00.000001Z""#.into()),
            Some(r#""1970-01-01T00:00:00.000001""#.into())
        ]
    );
    assert_eq!(
        strs(column(&df, "c")),
        [Some(r#""0.5""#.into()), Some(r#""0.05""#.into())]
    );
    assert_eq!(
        strs(column(&df, "d")),
        [
            Some("7".into()),
            Some(r#""1970-01-01T00:00:00.000Z""#.into())
        ]
    );
    let notes: Vec<(String, FieldNote)> = report
        .notes
        .iter()
        .map(|n| (n.path.join("."), n.note.clone()))
        .collect();
    let utc = || Some("UTC".to_owned());
    assert_eq!(
        notes,
        [
            (
                "a".to_owned(),
                FieldNote::MixedTypesAsJsonText {
                    seen: vec![
                        CoreType::Datetime(Unit::Milliseconds, utc()),
                        CoreType::Datetime(Unit::Microseconds, utc())
                    ]
                }
            ),
            (
                "b".to_owned(),
                FieldNote::MixedTypesAsJsonText {
                    seen: vec![
                        CoreType::Datetime(Unit::Microseconds, utc()),
                        CoreType::Datetime(Unit::Microseconds, None)
                    ]
                }
            ),
            (
                "c".to_owned(),
                FieldNote::MixedTypesAsJsonText {
                    seen: vec![
                        CoreType::Decimal {
                            precision: 4,
                            scale: 1
                        },
                        CoreType::Decimal {
                            precision: 4,
                            scale: 2
                        }
                    ]
                }
            ),
            (
                "d".to_owned(),
                FieldNote::MixedTypesAsJsonText {
                    seen: vec![
                        CoreType::Int64,
                        CoreType::Datetime(Unit::Milliseconds, utc())
                    ]
                }
            ),
        ]
    );
}

#[test]
fn decimals_and_times_a_column_cannot_hold_are_text() {
    // 40 digits of precision, more digits than declared, and a time past midnight.
    let (df, report) = build_typed(&[
        "wide=dec:1/40/0;over=dec:1000/3/0;late=tms:86400000",
        "wide=dec:-25/40/1;over=dec:999/3/0;late=tms:86400001",
    ]);
    assert_eq!(
        strs(column(&df, "wide")),
        [Some("1".into()), Some("-2.5".into())]
    );
    // A first value that does not fit makes the column text; the next fits, but is text too.
    assert_eq!(column(&df, "over").dtype(), &DataType::String);
    assert_eq!(column(&df, "late").dtype(), &DataType::Int64);
    assert!(
        report.notes.iter().any(
            |n| n.path == ["over"] && matches!(&n.note, FieldNote::MixedTypesAsJsonText { .. })
        )
    );
}

#[test]
fn parallel_chunks_stack_typed_columns_like_one_builder() {
    // The first chunk has only nulls in `at`, the later ones timestamps; `day` appears late.
    let payloads: Vec<String> = (0..40_000)
        .map(|i| match i {
            0..20_000 => format!("n=int:{i};at=null;price=dec:{i}/12/3"),
            _ => format!(
                "n=int:{i};at=us:{};price=dec:-{i}/12/3;day=date:{i}",
                i * 1000
            ),
        })
        .collect();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let msgs = messages(&refs);
    let mut one = MessageFrameBuilder::new(&bare(), typed());
    one.push_batch(&msgs).unwrap();
    let one = one.finish_snapshot().unwrap();
    let many = build_parallel(&bare(), typed(), &msgs, 3).unwrap();
    assert_eq!(one.frame.schema(), many.frame.schema());
    assert!(one.frame.equals_missing(&many.frame));
    assert_eq!(one.report, many.report);
    assert_eq!(
        many.frame.dtypes(),
        [
            DataType::Int64,
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            DataType::Decimal(12, 3),
            DataType::Date,
        ]
    );
}
