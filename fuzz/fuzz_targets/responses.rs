//! Response decoding of the wire client: any bytes, decoded as the response to one of the
//! requests the client sends, at a version it negotiates. Errors are expected; a panic, an abort
//! or an allocation over the fuzzer's limit is a finding.
//!
//! Input: one byte choosing the API (of `fuzzing::API_KEYS`), one choosing the version (within
//! that API's range), then the frame without its length prefix: the response header, the body.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use truthound_kafka_client::fuzzing;

fuzz_target!(|data: &[u8]| {
    let [api, version, frame @ ..] = data else {
        return;
    };
    let api_key = fuzzing::API_KEYS[usize::from(*api) % fuzzing::API_KEYS.len()];
    let Some((min, max)) = fuzzing::supported_versions(api_key) else {
        return;
    };
    let version = min + i16::from(*version) % (max - min + 1);
    let _ = fuzzing::decode_response(api_key, version, Bytes::copy_from_slice(frame));
});
