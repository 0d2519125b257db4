//! JSON messages into a Polars frame: the JSON deserializer writing into the frame builder's
//! column buffers, type inference, rollback of malformed records, stacking of segments. Errors
//! (a malformed record, with `on_malformed = error`) are expected; a panic is a finding.
//!
//! Input: as `truthound_fuzz::build_frame` describes (flags, separator, messages).
//! Built without a sanitizer (see `cargo xtask help`).

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use truthound_json::JSONDeserializer;

fuzz_target!(|data: &[u8]| {
    truthound_fuzz::build_frame(data, Arc::new(JSONDeserializer::new()));
});
