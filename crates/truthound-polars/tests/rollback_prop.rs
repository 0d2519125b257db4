//! Property: records that fail part-way leave no trace; the frame equals the one built from the
//! records that decode.

// Test helpers unwrap like the tests themselves (clippy.toml allows it only inside #[test]).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use truthound_polars::MessageFrameBuilder;
use truthound_streaming_core::Value;

fn field_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5_i64..5).prop_map(Value::Int),
        Just(Value::UInt(u64::MAX)),
        (-5.0_f64..5.0).prop_map(Value::Float),
        "[a-c]{0,2}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[xy]", inner), 0..3).prop_map(Value::Object),
        ]
    })
}

fn record() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-d]", field_value()), 0..4).prop_map(Value::Object)
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn failed_records_leave_no_trace(
        records in prop::collection::vec((record(), prop::option::weighted(0.3, 0_usize..12)), 0..12)
    ) {
        let all: Vec<String> = records
            .iter()
            .map(|(v, cut)| match cut {
                Some(n) => format!("FAIL{n}:{v}"),
                None => v.to_string(),
            })
            .collect();
        let good: Vec<String> = records
            .iter()
            .filter(|(_, cut)| cut.is_none())
            .map(|(v, _)| v.to_string())
            .collect();

        let mut with_failures = MessageFrameBuilder::new(&bare(), Arc::new(FailPartWay));
        with_failures.push_batch(&messages(&refs(&all))).unwrap();
        let (a, ra) = with_failures.finish().unwrap();

        let mut clean = MessageFrameBuilder::new(&bare(), Arc::new(FailPartWay));
        clean.push_batch(&messages(&refs(&good))).unwrap();
        let (b, rb) = clean.finish().unwrap();

        prop_assert_eq!(a.schema(), b.schema());
        prop_assert!(a.equals_missing(&b), "{:?}\n{:?}", a, b);
        prop_assert_eq!(ra.notes, rb.notes);
        prop_assert_eq!(ra.rows, rb.rows);
        prop_assert_eq!(ra.skipped.len(), records.len() - good.len());
    }
}
