//! Avro datums into a Polars frame: the Avro deserializer, with one fixed writer schema of
//! every Avro type and logical type (`fuzz/avro/event.avsc`), writing into the frame builder.
//! Errors are expected; a panic is a finding.
//!
//! Input: as `truthound_fuzz::build_frame` describes (flags, separator, messages); each message
//! is a raw datum of the schema (no schema-registry framing: that mode fetches schemas).
//! Built without a sanitizer (see `cargo xtask help`).

#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use truthound_avro::AvroDeserializer;

static DESERIALIZER: LazyLock<Arc<AvroDeserializer>> = LazyLock::new(|| {
    let schema = include_str!("../avro/event.avsc");
    Arc::new(AvroDeserializer::from_schema_json(schema).expect("the fuzz schema is valid"))
});

fuzz_target!(|data: &[u8]| {
    truthound_fuzz::build_frame(data, DESERIALIZER.clone());
});
