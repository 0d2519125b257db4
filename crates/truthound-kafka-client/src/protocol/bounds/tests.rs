//! The layouts are generated into bodies that `kafka-protocol` must decode completely and
//! encode back to the same bytes, at every version the client speaks: a field of the wrong
//! type, version or order in a layout breaks that. Then hostile lengths are refused, and
//! whatever `kafka-protocol` accepts the walk accepts too.

use super::*;
use crate::protocol::supported_versions;
use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsResponse, CreateTopicsResponse, DeleteTopicsResponse, FetchResponse,
    FindCoordinatorResponse, ListOffsetsResponse, MetadataResponse, OffsetCommitResponse,
    OffsetFetchResponse, ProduceResponse, SaslAuthenticateResponse, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};

/// A small deterministic generator (SplitMix64), so failures name a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Gen {
    rng: Rng,
    version: i16,
    flexible: bool,
}

impl Gen {
    /// Values are never a field's default (1..=1000, `true`, non-empty tagged arrays), since
    /// `kafka-protocol` leaves tagged fields at their default out when it encodes.
    fn small(&mut self) -> u64 {
        1 + self.rng.below(1000)
    }

    fn length(&mut self, out: &mut Vec<u8>, n: usize, classic_i32: bool) {
        if self.flexible {
            put_uvarint(out, n as u32 + 1);
        } else if classic_i32 {
            out.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
    }

    fn count(&mut self, tagged: bool) -> usize {
        self.rng.below(3) as usize + usize::from(tagged)
    }

    fn ty(&mut self, out: &mut Vec<u8>, ty: Ty, tagged: bool) {
        match ty {
            Ty::I8 => out.push(self.small() as u8 % 100 + 1),
            Ty::Bool => out.push(1),
            Ty::I16 => out.extend_from_slice(&(self.small() as i16).to_be_bytes()),
            Ty::I32 => out.extend_from_slice(&(self.small() as i32).to_be_bytes()),
            Ty::I64 => out.extend_from_slice(&(self.small() as i64).to_be_bytes()),
            Ty::Uuid => {
                out.extend_from_slice(&self.rng.next().to_be_bytes());
                out.extend_from_slice(&self.rng.next().to_be_bytes());
            }
            Ty::Str => {
                let n = 1 + self.rng.below(6) as usize;
                self.length(out, n, false);
                out.extend((0..n).map(|_| b'a' + self.rng.below(26) as u8));
            }
            Ty::Bytes => {
                let n = self.rng.below(9) as usize;
                self.length(out, n, true);
                out.extend((0..n).map(|_| self.rng.next() as u8));
            }
            Ty::Int32s => {
                let n = self.count(tagged);
                self.length(out, n, true);
                (0..n).for_each(|_| self.ty(out, Ty::I32, tagged));
            }
            Ty::Strs => {
                let n = self.count(tagged);
                self.length(out, n, true);
                (0..n).for_each(|_| self.ty(out, Ty::Str, tagged));
            }
            Ty::Array(shape) => {
                let n = self.count(tagged);
                self.length(out, n, true);
                (0..n).for_each(|_| self.shape(out, shape, tagged));
            }
            Ty::One(shape) => self.shape(out, shape, tagged),
        }
    }

    fn shape(&mut self, out: &mut Vec<u8>, shape: &Shape, tagged: bool) {
        for field in shape.fields {
            if field.in_version(self.version) {
                self.ty(out, field.ty, tagged);
            }
        }
        if !self.flexible {
            return;
        }
        let mut tags = Vec::new();
        for (tag, field) in shape.tags {
            if field.in_version(self.version) && self.rng.below(2) == 0 {
                let mut value = Vec::new();
                self.ty(&mut value, field.ty, true);
                tags.push((*tag, value));
            }
        }
        put_uvarint(out, tags.len() as u32);
        for (tag, value) in tags {
            put_uvarint(out, tag);
            put_uvarint(out, value.len() as u32);
            out.extend_from_slice(&value);
        }
    }
}

fn generate(key: ApiKey, version: i16, seed: u64) -> Vec<u8> {
    let body = layout(key).expect("a layout");
    let mut generator = Gen {
        rng: Rng(seed),
        version,
        flexible: version >= body.flexible_from,
    };
    let mut out = Vec::new();
    generator.shape(&mut out, body.shape, false);
    out
}

fn versions(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let (min, max) = supported_versions(key).expect("a supported API");
    min..=max
}

/// Every generated body passes the walk, decodes with nothing left over and encodes back to
/// the same bytes.
fn round_trip<R: Decodable + Encodable + std::fmt::Debug>(key: ApiKey) {
    for version in versions(key) {
        for seed in 0..150 {
            let body = generate(key, version, seed);
            let context = format!("{key:?} v{version} seed {seed}");
            check(key, version, &body).unwrap_or_else(|e| panic!("{context}: {e}"));
            let mut buf = bytes::Bytes::from(body.clone());
            let decoded = R::decode(&mut buf, version).unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(buf.remaining(), 0, "{context}: bytes left over");
            let mut again = BytesMut::new();
            decoded
                .encode(&mut again, version)
                .unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(&again[..], &body[..], "{context}: {decoded:?}");
        }
    }
}

#[test]
fn layouts_match_kafka_protocol_at_every_version() {
    round_trip::<ApiVersionsResponse>(ApiKey::ApiVersions);
    round_trip::<MetadataResponse>(ApiKey::Metadata);
    round_trip::<ListOffsetsResponse>(ApiKey::ListOffsets);
    round_trip::<FetchResponse>(ApiKey::Fetch);
    round_trip::<ProduceResponse>(ApiKey::Produce);
    round_trip::<CreateTopicsResponse>(ApiKey::CreateTopics);
    round_trip::<DeleteTopicsResponse>(ApiKey::DeleteTopics);
    round_trip::<FindCoordinatorResponse>(ApiKey::FindCoordinator);
    round_trip::<OffsetCommitResponse>(ApiKey::OffsetCommit);
    round_trip::<OffsetFetchResponse>(ApiKey::OffsetFetch);
    round_trip::<SaslHandshakeResponse>(ApiKey::SaslHandshake);
    round_trip::<SaslAuthenticateResponse>(ApiKey::SaslAuthenticate);
}

#[test]
fn every_api_the_client_speaks_has_a_layout() {
    for key in [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::FindCoordinator,
        ApiKey::ApiVersions,
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::SaslHandshake,
        ApiKey::SaslAuthenticate,
    ] {
        assert!(supported_versions(key).is_some(), "{key:?}");
        assert!(layout(key).is_some(), "{key:?} has no layout");
    }
}

#[test]
fn a_classic_array_claiming_two_billion_elements_is_refused() {
    // Metadata v1: brokers is the first field; 2^31 - 1 of them in 8 bytes.
    let mut body = i32::MAX.to_be_bytes().to_vec();
    body.extend_from_slice(&[0; 4]);
    let err = check(ApiKey::Metadata, 1, &body).unwrap_err();
    assert_eq!(
        err,
        LengthError {
            field: "brokers",
            at: 0,
            kind: LengthErrorKind::TooLong {
                claimed: i64::from(i32::MAX),
                left: 4
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "field brokers at byte 0 claims a length of 2147483647, but only 4 bytes are left"
    );
}

#[test]
fn a_compact_array_deep_inside_is_refused() {
    // Fetch v12: throttle, error code, session id, then one topic whose partitions array
    // claims 2^32 - 2 elements.
    let mut body = vec![0; 4 + 2 + 4];
    body.push(2); // one topic
    body.push(2); // topic name "a"
    body.push(b'a');
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let err = check(ApiKey::Fetch, 12, &body).unwrap_err();
    assert_eq!(err.field, "partitions");
    assert_eq!(err.at, 13);
    assert_eq!(
        err.kind,
        LengthErrorKind::TooLong {
            claimed: i64::from(u32::MAX) - 1,
            left: 0
        }
    );
}

#[test]
fn a_hostile_array_inside_a_known_tagged_field_is_refused() {
    // Fetch v16 with no topics and tag 0 (node endpoints) claiming a huge array; its tag
    // size says 1 byte, which kafka-protocol does not consult.
    let mut body = vec![0; 4 + 2 + 4];
    body.push(1); // no topics
    body.push(1); // one tagged field
    body.push(0); // tag 0
    body.push(1); // size 1
    body.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x07]);
    let err = check(ApiKey::Fetch, 16, &body).unwrap_err();
    assert_eq!(err.field, "node_endpoints");
    assert!(matches!(err.kind, LengthErrorKind::TooLong { .. }), "{err}");
}

#[test]
fn strings_bytes_varints_and_negative_lengths_are_bounded() {
    // SaslAuthenticate v0: error code, a string of 30000 bytes with 2 left.
    let mut body = vec![0, 0];
    body.extend_from_slice(&30000i16.to_be_bytes());
    body.extend_from_slice(b"ab");
    let err = check(ApiKey::SaslAuthenticate, 0, &body).unwrap_err();
    assert_eq!(err.field, "error_message");
    assert_eq!(
        err.kind,
        LengthErrorKind::TooLong {
            claimed: 30000,
            left: 2
        }
    );
    // -2 is no length at all.
    let mut body = vec![0, 0];
    body.extend_from_slice(&(-2i16).to_be_bytes());
    let err = check(ApiKey::SaslAuthenticate, 0, &body).unwrap_err();
    assert_eq!(err.kind, LengthErrorKind::Negative(-2));
    // A varint of six continuation bytes.
    let body = [0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80];
    let err = check(ApiKey::SaslAuthenticate, 2, &body).unwrap_err();
    assert_eq!(err.kind, LengthErrorKind::BadVarint);
    // A body that stops inside a fixed field.
    let err = check(ApiKey::SaslAuthenticate, 0, &[0]).unwrap_err();
    assert_eq!(
        (err.field, err.kind),
        ("error_code", LengthErrorKind::Truncated)
    );
}

/// Damaged bodies: the walk never panics, what it accepts decodes without a huge allocation,
/// and what it refuses as truncated or negative `kafka-protocol` refuses too.
fn accepts_what_decodes<R: Decodable>(key: ApiKey) {
    let mut rng = Rng(7);
    for version in versions(key) {
        for seed in 0..120 {
            let mut body = generate(key, version, seed);
            if body.is_empty() {
                continue;
            }
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(body.len() as u64) as usize;
                body[i] = match rng.below(3) {
                    0 => rng.next() as u8,
                    1 => 0xff,
                    _ => 0,
                };
            }
            if rng.below(4) == 0 {
                body.truncate(rng.below(body.len() as u64) as usize);
            }
            let context = format!("{key:?} v{version} seed {seed}: {body:?}");
            let safe_to_decode = match check(key, version, &body) {
                Ok(()) => true,
                // kafka-protocol reads at most five varint bytes and ignores a sixth.
                Err(LengthError {
                    kind: LengthErrorKind::BadVarint,
                    ..
                }) => false,
                // Past a length that claims too much, kafka-protocol would go on reading
                // elements from bytes the walk never checked.
                Err(LengthError {
                    kind: LengthErrorKind::TooLong { .. },
                    ..
                }) => false,
                // Truncated or negative: the decode takes the walk's path up to the same byte
                // and must fail there too.
                Err(e) => {
                    let mut buf = bytes::Bytes::from(body.clone());
                    assert!(
                        R::decode(&mut buf, version).is_err(),
                        "{context}: the walk refused ({e}) what kafka-protocol decodes"
                    );
                    false
                }
            };
            if safe_to_decode {
                let mut buf = bytes::Bytes::from(body);
                let _ = R::decode(&mut buf, version);
            }
        }
    }
    // The other direction, on the undamaged bodies: decode succeeds, so must the walk.
    for version in versions(key) {
        let body = generate(key, version, 99);
        let mut buf = bytes::Bytes::from(body.clone());
        assert!(R::decode(&mut buf, version).is_ok());
        assert!(check(key, version, &body).is_ok());
    }
}

#[test]
fn damaged_bodies_never_panic_the_walk() {
    accepts_what_decodes::<ApiVersionsResponse>(ApiKey::ApiVersions);
    accepts_what_decodes::<MetadataResponse>(ApiKey::Metadata);
    accepts_what_decodes::<ListOffsetsResponse>(ApiKey::ListOffsets);
    accepts_what_decodes::<FetchResponse>(ApiKey::Fetch);
    accepts_what_decodes::<ProduceResponse>(ApiKey::Produce);
    accepts_what_decodes::<CreateTopicsResponse>(ApiKey::CreateTopics);
    accepts_what_decodes::<DeleteTopicsResponse>(ApiKey::DeleteTopics);
    accepts_what_decodes::<FindCoordinatorResponse>(ApiKey::FindCoordinator);
    accepts_what_decodes::<OffsetCommitResponse>(ApiKey::OffsetCommit);
    accepts_what_decodes::<OffsetFetchResponse>(ApiKey::OffsetFetch);
    accepts_what_decodes::<SaslHandshakeResponse>(ApiKey::SaslHandshake);
    accepts_what_decodes::<SaslAuthenticateResponse>(ApiKey::SaslAuthenticate);
}
