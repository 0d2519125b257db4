//! Thin wrappers over `kafka-protocol`: frames, request and response headers, version choice.
//!
//! Nothing here does I/O. The connection layer hands complete frames in and out.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

mod bounds;

/// Errors of the protocol layer: bytes that do not encode or decode as the chosen version.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A request could not be encoded at the chosen version.
    #[error("cannot encode {api} v{version}: {message}")]
    Encode {
        /// The request's API.
        api: &'static str,
        /// The version it was encoded at.
        version: i16,
        /// What `kafka-protocol` reported.
        message: String,
    },
    /// A response could not be decoded at the version it was requested with.
    #[error("cannot decode {api} v{version} response: {message}")]
    Decode {
        /// The response's API.
        api: &'static str,
        /// The version it was decoded at.
        version: i16,
        /// What `kafka-protocol` reported.
        message: String,
    },
    /// The peer and this client share no version of an API.
    #[error(
        "the broker supports {api} versions {broker_min}..={broker_max}, this client {ours_min}..={ours_max}: no common version"
    )]
    NoCommonVersion {
        /// The API.
        api: &'static str,
        /// Lowest version the broker supports.
        broker_min: i16,
        /// Highest version the broker supports.
        broker_max: i16,
        /// Lowest version this client speaks.
        ours_min: i16,
        /// Highest version this client speaks.
        ours_max: i16,
    },
    /// The broker did not list the API at all.
    #[error("the broker does not support the {api} API")]
    UnsupportedApi {
        /// The API.
        api: &'static str,
    },
}

/// The name Kafka's documentation uses for an API key, for error messages.
pub(crate) fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::Produce => "Produce",
        ApiKey::Fetch => "Fetch",
        ApiKey::ListOffsets => "ListOffsets",
        ApiKey::Metadata => "Metadata",
        ApiKey::OffsetCommit => "OffsetCommit",
        ApiKey::OffsetFetch => "OffsetFetch",
        ApiKey::FindCoordinator => "FindCoordinator",
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::CreateTopics => "CreateTopics",
        ApiKey::DeleteTopics => "DeleteTopics",
        ApiKey::SaslHandshake => "SaslHandshake",
        ApiKey::SaslAuthenticate => "SaslAuthenticate",
        _ => "other",
    }
}

/// The versions of each API this client speaks: the intersection of what `kafka-protocol`
/// can encode and what the client code handles (for example Fetch below v13 names topics,
/// v13 and later identify them by id — both are handled).
pub(crate) fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    Some(match key {
        ApiKey::ApiVersions => (0, 3),
        ApiKey::Metadata => (1, 12),
        // v1 drops the old multi-offset form; v2+ carries the isolation level.
        ApiKey::ListOffsets => (1, 10),
        // v4 is the first with isolation level and aborted transactions.
        ApiKey::Fetch => (4, 17),
        // v3 is the first with record batch v2; v13 names topics by id only.
        ApiKey::Produce => (3, 12),
        ApiKey::CreateTopics => (2, 7),
        ApiKey::DeleteTopics => (1, 6),
        ApiKey::FindCoordinator => (0, 4),
        // v9 switches to the new consumer-group protocol's member epochs.
        ApiKey::OffsetCommit => (2, 8),
        // v8 batches several groups; v9 the new protocol's member epochs.
        ApiKey::OffsetFetch => (1, 7),
        ApiKey::SaslHandshake => (0, 1),
        ApiKey::SaslAuthenticate => (0, 2),
        _ => return None,
    })
}

/// The version of every API both sides support, learnt from ApiVersions.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionTable {
    ranges: Vec<(i16, i16, i16)>,
}

impl VersionTable {
    /// Builds the table from a broker's ApiVersions response.
    pub(crate) fn from_response(resp: &ApiVersionsResponse) -> Self {
        Self {
            ranges: resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version))
                .collect(),
        }
    }

    /// The highest version of `key` both sides speak.
    pub(crate) fn choose(&self, key: ApiKey) -> Result<i16, ProtocolError> {
        let api = api_name(key);
        let (ours_min, ours_max) =
            supported_versions(key).ok_or(ProtocolError::UnsupportedApi { api })?;
        let &(_, broker_min, broker_max) = self
            .ranges
            .iter()
            .find(|(k, _, _)| *k == key as i16)
            .ok_or(ProtocolError::UnsupportedApi { api })?;
        let version = ours_max.min(broker_max);
        if version < ours_min.max(broker_min) {
            return Err(ProtocolError::NoCommonVersion {
                api,
                broker_min,
                broker_max,
                ours_min,
                ours_max,
            });
        }
        Ok(version)
    }
}

/// The client software name and version sent in ApiVersions v3+.
pub(crate) const CLIENT_SOFTWARE_NAME: &str = "truthound-kafka-client";
/// See [`CLIENT_SOFTWARE_NAME`].
pub(crate) const CLIENT_SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Encodes one request frame: the 4-byte length, the request header and the body.
pub(crate) fn encode_request<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &str,
) -> Result<BytesMut, ProtocolError> {
    let key =
        ApiKey::try_from(R::KEY).map_err(|_| ProtocolError::UnsupportedApi { api: "unknown" })?;
    let api = api_name(key);
    let header_version = R::header_version(version);
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_owned())));
    let err = |e| ProtocolError::Encode {
        api,
        version,
        message: message(e),
    };
    let size = header.compute_size(header_version).map_err(err)?
        + request.compute_size(version).map_err(err)?;
    let mut buf = BytesMut::with_capacity(4 + size);
    buf.put_i32(i32::try_from(size).map_err(|_| ProtocolError::Encode {
        api,
        version,
        message: format!("request of {size} bytes is too large"),
    })?);
    header.encode(&mut buf, header_version).map_err(err)?;
    request.encode(&mut buf, version).map_err(err)?;
    Ok(buf)
}

/// Reads the correlation id at the front of a response frame (after the length prefix).
pub(crate) fn peek_correlation_id(frame: &[u8]) -> Option<i32> {
    frame
        .get(..4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decodes a response frame (without its length prefix) sent for a request of type `R`.
///
/// The frame is `Bytes`, so record data in Fetch responses stays a zero-copy slice of it.
pub(crate) fn decode_response<R: Request>(
    mut frame: Bytes,
    version: i16,
) -> Result<R::Response, ProtocolError> {
    let key =
        ApiKey::try_from(R::KEY).map_err(|_| ProtocolError::UnsupportedApi { api: "unknown" })?;
    let api = api_name(key);
    let err = |e| ProtocolError::Decode {
        api,
        version,
        message: message(e),
    };
    // ApiVersions responses always use header v0, whatever the request's version.
    let header_version = if key == ApiKey::ApiVersions {
        0
    } else {
        <R::Response as HeaderVersion>::header_version(version)
    };
    ResponseHeader::decode(&mut frame, header_version).map_err(err)?;
    // Every length in the body is checked against the bytes left before kafka-protocol
    // reserves memory from it.
    bounds::check(key, version, &frame).map_err(|e| ProtocolError::Decode {
        api,
        version,
        message: e.to_string(),
    })?;
    let response = <R::Response as Decodable>::decode(&mut frame, version).map_err(err)?;
    if frame.has_remaining() {
        tracing::debug!(
            api,
            version,
            trailing = frame.remaining(),
            "response has trailing bytes"
        );
    }
    Ok(response)
}

/// `kafka-protocol` reports errors as `anyhow::Error`; its message is all we keep, so anyhow
/// stays out of our API.
fn message<E: std::fmt::Display>(e: E) -> String {
    format!("{e:#}")
}

/// Kafka's own name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`), for messages.
pub fn error_code_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => "NONE".to_owned(),
        Some(kafka_protocol::ResponseError::Unknown(c)) => format!("UNKNOWN_ERROR_CODE_{c}"),
        Some(e) => screaming_snake(&e.to_string()),
    }
}

fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use proptest::prelude::*;

    #[test]
    fn error_names_follow_kafka() {
        assert_eq!(error_code_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(error_code_name(1), "OFFSET_OUT_OF_RANGE");
        assert_eq!(error_code_name(0), "NONE");
        assert_eq!(error_code_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(error_code_name(9999), "UNKNOWN_ERROR_CODE_9999");
    }

    fn table(entries: &[(ApiKey, i16, i16)]) -> VersionTable {
        let resp = ApiVersionsResponse::default().with_api_keys(
            entries
                .iter()
                .map(|&(k, min, max)| {
                    ApiVersion::default()
                        .with_api_key(k as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        );
        VersionTable::from_response(&resp)
    }

    #[test]
    fn version_choice_takes_highest_common() {
        let t = table(&[(ApiKey::Fetch, 0, 11), (ApiKey::Metadata, 0, 99)]);
        assert_eq!(t.choose(ApiKey::Fetch).unwrap(), 11);
        assert_eq!(t.choose(ApiKey::Metadata).unwrap(), 12);
        assert!(matches!(
            t.choose(ApiKey::Produce),
            Err(ProtocolError::UnsupportedApi { api: "Produce" })
        ));
        let old = table(&[(ApiKey::Fetch, 0, 3)]);
        let err = old.choose(ApiKey::Fetch).unwrap_err();
        assert!(err.to_string().contains("no common version"), "{err}");
    }

    proptest! {
        #[test]
        fn request_frames_carry_length_and_header(corr in any::<i32>(), version in 0i16..=3, id in "[a-z]{0,20}") {
            let req = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str(CLIENT_SOFTWARE_NAME))
                .with_client_software_version(StrBytes::from_static_str(CLIENT_SOFTWARE_VERSION));
            let frame = encode_request(&req, version, corr, &id).unwrap();
            let len = i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
            prop_assert_eq!(len, frame.len() - 4);
            let mut body = frame.freeze().slice(4..);
            let hv = ApiVersionsRequest::header_version(version);
            let header = RequestHeader::decode(&mut body, hv).unwrap();
            prop_assert_eq!(header.request_api_key, ApiKey::ApiVersions as i16);
            prop_assert_eq!(header.request_api_version, version);
            prop_assert_eq!(header.correlation_id, corr);
            let decoded = ApiVersionsRequest::decode(&mut body, version).unwrap();
            // The software name and version exist from v3 on.
            let want = if version >= 3 { req } else { ApiVersionsRequest::default() };
            prop_assert_eq!(decoded, want);
        }

        #[test]
        fn responses_round_trip(corr in any::<i32>(), version in 1i16..=12, names in proptest::collection::vec("[a-z]{1,12}", 0..5)) {
            use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
            use kafka_protocol::messages::{MetadataResponse, TopicName};
            let resp = MetadataResponse::default().with_topics(
                names.iter().map(|n| MetadataResponseTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))).collect());
            let hv = MetadataResponse::header_version(version);
            let mut buf = BytesMut::new();
            ResponseHeader::default().with_correlation_id(corr).encode(&mut buf, hv).unwrap();
            resp.encode(&mut buf, version).unwrap();
            let frame = buf.freeze();
            prop_assert_eq!(peek_correlation_id(&frame), Some(corr));
            let back = decode_response::<MetadataRequest>(frame, version).unwrap();
            prop_assert_eq!(back.topics.len(), names.len());
        }
    }
}
