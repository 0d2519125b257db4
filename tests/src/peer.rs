//! The framing every scripted peer needs: read a request frame, start the response with its
//! header, answer ApiVersions with a list of versions, and put the length in front.
//!
//! A scripted peer speaks just enough of the protocol to do on demand what no real broker
//! does (crafted responses, misbehaving SASL servers); see `tests/tests/scripted_peer.rs` and
//! `tests/tests/sasl_peer.rs`.

// A harness fails by panicking, with the cause: that is what these unwraps do.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Encodable, decode_request_header_from_buffer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// One request read off `socket`: its header, its API, and the body after the header.
/// `None` when the client closed the connection.
pub async fn read_request(socket: &mut TcpStream) -> Option<(RequestHeader, ApiKey, Bytes)> {
    let mut len = [0u8; 4];
    socket.read_exact(&mut len).await.ok()?;
    let mut frame = BytesMut::zeroed(i32::from_be_bytes(len) as usize);
    socket.read_exact(&mut frame).await.ok()?;
    let mut frame = frame.freeze();
    let header = decode_request_header_from_buffer(&mut frame).unwrap();
    let key = ApiKey::try_from(header.request_api_key).unwrap();
    Some((header, key, frame))
}

/// A response buffer holding the response header for `header`'s request; the body is encoded
/// after it.
pub fn start_response(header: &RequestHeader, key: ApiKey) -> BytesMut {
    let version = match key {
        // ApiVersions responses always have a v0 header, so a client can read the error of
        // a version it does not speak.
        ApiKey::ApiVersions => 0,
        k => k.response_header_version(header.request_api_version),
    };
    let mut body = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(header.correlation_id)
        .encode(&mut body, version)
        .unwrap();
    body
}

/// An ApiVersions response listing `(api, min version, max version)`.
pub fn api_versions(keys: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(
        keys.iter()
            .map(|(k, lo, hi)| {
                ApiVersion::default()
                    .with_api_key(*k as i16)
                    .with_min_version(*lo)
                    .with_max_version(*hi)
            })
            .collect(),
    )
}

/// `body` with its 4-byte length in front, ready to write.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}
