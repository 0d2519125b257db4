//! Frame reading and response decoding together: a byte stream as a broker's socket would
//! deliver it, read frame by frame as the connection's read loop does (4-byte length, the TLS
//! and size checks, the frame reader, the correlation id), each frame decoded as a response.
//!
//! Input: one byte choosing the API, one choosing the version (as in `responses`), then the
//! stream: length-prefixed frames, possibly cut short.

#![no_main]

use libfuzzer_sys::fuzz_target;
use truthound_kafka_client::fuzzing;

/// The frame size limit, far below the client's default (`max_response_bytes`) so that a
/// lying length is rejected before it costs the fuzzer memory.
const MAX_FRAME_BYTES: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let [api, version, stream @ ..] = data else {
        return;
    };
    let mut stream: &[u8] = stream;
    let api_key = fuzzing::API_KEYS[usize::from(*api) % fuzzing::API_KEYS.len()];
    let Some((min, max)) = fuzzing::supported_versions(api_key) else {
        return;
    };
    let version = min + i16::from(*version) % (max - min + 1);
    // The read loop's checks, in its order; whatever it would close the connection on ends
    // the stream here.
    while let Some((len, rest)) = stream.split_first_chunk::<4>() {
        stream = rest;
        if fuzzing::looks_like_tls(*len) {
            return;
        }
        let size = i32::from_be_bytes(*len);
        let Ok(size) = usize::try_from(size) else {
            return;
        };
        if !(4..=MAX_FRAME_BYTES).contains(&size) {
            return;
        }
        let Ok(frame) = fuzzing::read_frame(&mut stream, size) else {
            return;
        };
        if fuzzing::peek_correlation_id(&frame).is_none() {
            return;
        }
        let _ = fuzzing::decode_response(api_key, version, frame);
    }
});
