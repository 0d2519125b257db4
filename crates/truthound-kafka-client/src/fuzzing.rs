//! Entry points for the fuzz targets in `fuzz/`: response decoding and frame reading, which are
//! private to the client. Not a stable API.
//!
//! Each function is a thin wrapper over the code the connection runs on bytes from the network,
//! so a fuzz target reaches exactly that code.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreateTopicsRequest, DeleteTopicsRequest, FetchRequest,
    FindCoordinatorRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, ProduceRequest, SaslAuthenticateRequest, SaslHandshakeRequest,
};

use crate::connection;
use crate::protocol::{self, ProtocolError};

/// Every API the client sends, by key, in the order of [`ApiKey`].
pub const API_KEYS: [i16; 12] = [
    ApiKey::Produce as i16,
    ApiKey::Fetch as i16,
    ApiKey::ListOffsets as i16,
    ApiKey::Metadata as i16,
    ApiKey::OffsetCommit as i16,
    ApiKey::OffsetFetch as i16,
    ApiKey::FindCoordinator as i16,
    ApiKey::SaslHandshake as i16,
    ApiKey::ApiVersions as i16,
    ApiKey::CreateTopics as i16,
    ApiKey::DeleteTopics as i16,
    ApiKey::SaslAuthenticate as i16,
];

/// The versions of `api_key` the client negotiates (lowest, highest), `None` for an API it
/// does not send.
pub fn supported_versions(api_key: i16) -> Option<(i16, i16)> {
    protocol::supported_versions(ApiKey::try_from(api_key).ok()?)
}

/// Decodes a response frame (without its length prefix: the response header, then the body)
/// as the client does for a request of `api_key` sent at `version`, and drops the result.
///
/// # Errors
/// What the client would report: [`ProtocolError::Decode`] for bytes that are not such a
/// response, [`ProtocolError::UnsupportedApi`] for an API the client does not send.
pub fn decode_response(api_key: i16, version: i16, frame: Bytes) -> Result<(), ProtocolError> {
    let unsupported = ProtocolError::UnsupportedApi { api: "unknown" };
    let key = ApiKey::try_from(api_key).map_err(|_| unsupported)?;
    match key {
        ApiKey::Produce => protocol::decode_response::<ProduceRequest>(frame, version).map(drop),
        ApiKey::Fetch => protocol::decode_response::<FetchRequest>(frame, version).map(drop),
        ApiKey::ListOffsets => {
            protocol::decode_response::<ListOffsetsRequest>(frame, version).map(drop)
        }
        ApiKey::Metadata => protocol::decode_response::<MetadataRequest>(frame, version).map(drop),
        ApiKey::OffsetCommit => {
            protocol::decode_response::<OffsetCommitRequest>(frame, version).map(drop)
        }
        ApiKey::OffsetFetch => {
            protocol::decode_response::<OffsetFetchRequest>(frame, version).map(drop)
        }
        ApiKey::FindCoordinator => {
            protocol::decode_response::<FindCoordinatorRequest>(frame, version).map(drop)
        }
        ApiKey::ApiVersions => {
            protocol::decode_response::<ApiVersionsRequest>(frame, version).map(drop)
        }
        ApiKey::CreateTopics => {
            protocol::decode_response::<CreateTopicsRequest>(frame, version).map(drop)
        }
        ApiKey::DeleteTopics => {
            protocol::decode_response::<DeleteTopicsRequest>(frame, version).map(drop)
        }
        ApiKey::SaslHandshake => {
            protocol::decode_response::<SaslHandshakeRequest>(frame, version).map(drop)
        }
        ApiKey::SaslAuthenticate => {
            protocol::decode_response::<SaslAuthenticateRequest>(frame, version).map(drop)
        }
        _ => Err(ProtocolError::UnsupportedApi {
            api: protocol::api_name(key),
        }),
    }
}

/// Whether a frame's 4 length bytes are the start of a TLS record, as the connection's read
/// loop checks before it reads a frame.
pub fn looks_like_tls(len: [u8; 4]) -> bool {
    connection::looks_like_tls(len)
}

/// Reads one frame of `size` bytes (the length prefix already read) from the front of `stream`
/// with the connection's frame reader, advancing `stream` past it.
///
/// # Errors
/// `UnexpectedEof` when `stream` holds fewer than `size` bytes.
pub fn read_frame(stream: &mut &[u8], size: usize) -> std::io::Result<Bytes> {
    // A byte slice is always ready, so the reader completes without waiting.
    let mut future = pin!(connection::read_frame(stream, size));
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(frame) = future.as_mut().poll(&mut cx) {
            return frame.map(bytes::BytesMut::freeze);
        }
    }
}

/// The correlation id at the front of a response frame, as the read loop takes it.
pub fn peek_correlation_id(frame: &[u8]) -> Option<i32> {
    protocol::peek_correlation_id(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_has_versions_and_decodes() {
        for api_key in API_KEYS {
            let (min, max) = supported_versions(api_key).expect("a version range");
            assert!(min <= max);
            for version in min..=max {
                let err = decode_response(api_key, version, Bytes::new()).unwrap_err();
                assert!(matches!(err, ProtocolError::Decode { .. }), "{err}");
            }
        }
        assert!(supported_versions(ApiKey::JoinGroup as i16).is_none());
        let err = decode_response(ApiKey::JoinGroup as i16, 0, Bytes::new()).unwrap_err();
        assert!(matches!(err, ProtocolError::UnsupportedApi { .. }), "{err}");
    }

    #[test]
    fn frames_are_read_from_a_slice() {
        let mut stream: &[u8] = b"abcdefg";
        assert_eq!(read_frame(&mut stream, 4).unwrap(), &b"abcd"[..]);
        assert_eq!(stream, b"efg");
        let err = read_frame(&mut stream, 4).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(peek_correlation_id(b"\0\0\0\x07rest"), Some(7));
        assert!(looks_like_tls([0x15, 0x03, 0x03, 0x00]));
    }
}
