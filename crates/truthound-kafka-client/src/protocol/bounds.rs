//! A walk over a response body that checks every length on the wire against the bytes left,
//! before `kafka-protocol` decodes it.
//!
//! `kafka-protocol` 0.18 reserves `Vec` capacity from array lengths read off the wire
//! (`Vec::with_capacity(n)`), so a few bytes from a hostile or broken peer claiming 2^31
//! elements abort the process on allocation. This module describes, per API and version, the
//! layout of every response the client reads ([`Shape`]s of [`Field`]s, as Kafka's message
//! definitions give them) and walks a body along it: an array may claim at most as many
//! elements as bytes are left (each takes at least one), a string or byte field at most the
//! bytes left. Only a body that passes is handed to `kafka-protocol`, whose allocations are then
//! bounded by the frame's own size.
//!
//! The walk reads nothing into memory: it moves a position over the body. Record data in Fetch
//! responses is skipped by its length, so the walk costs a few hundred nanoseconds per
//! partition whatever the records weigh. The layouts are checked against `kafka-protocol`'s own
//! encoder at every version the client speaks (see the tests).

use std::fmt;

use kafka_protocol::messages::ApiKey;

/// The wire type of one field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    I8,
    I16,
    I32,
    I64,
    Bool,
    Uuid,
    /// A string, nullable or not (compact in flexible versions).
    Str,
    /// Bytes, nullable or not — Fetch's record data among them (compact in flexible versions).
    Bytes,
    /// An array of structures.
    Array(&'static Shape),
    /// An array of 32-bit integers (broker ids).
    Int32s,
    /// An array of strings.
    Strs,
    /// One structure (only as a tagged field).
    One(&'static Shape),
}

/// One field of a structure and the versions that carry it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) min: i16,
    pub(crate) max: i16,
}

impl Field {
    /// The field is in versions `min` and later.
    const fn since(self, min: i16) -> Self {
        Self { min, ..self }
    }

    /// The field is in versions up to `max`.
    const fn until(self, max: i16) -> Self {
        Self { max, ..self }
    }

    fn in_version(&self, version: i16) -> bool {
        (self.min..=self.max).contains(&version)
    }
}

/// A field in every version.
const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        min: 0,
        max: i16::MAX,
    }
}

/// A structure: its fields in wire order and, in flexible versions, its known tagged fields.
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) fields: &'static [Field],
    pub(crate) tags: &'static [(u32, Field)],
}

/// A response body: its top-level shape and the first flexible version (compact lengths and
/// tagged fields), `i16::MAX` for an API that never became flexible.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Body {
    pub(crate) flexible_from: i16,
    pub(crate) shape: &'static Shape,
}

/// Why a body was refused, with the byte position in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LengthError {
    /// The field being read.
    pub(crate) field: &'static str,
    /// Where in the body (after the response header).
    pub(crate) at: usize,
    /// What was wrong.
    pub(crate) kind: LengthErrorKind,
}

/// See [`LengthError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LengthErrorKind {
    /// A length larger than the bytes left.
    TooLong { claimed: i64, left: usize },
    /// A negative length other than -1 (null).
    Negative(i64),
    /// The body ends inside the field.
    Truncated,
    /// An unsigned varint longer than five bytes.
    BadVarint,
}

impl fmt::Display for LengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { field, at, kind } = self;
        match kind {
            LengthErrorKind::TooLong { claimed, left } => write!(
                f,
                "field {field} at byte {at} claims a length of {claimed}, but only {left} bytes are left"
            ),
            LengthErrorKind::Negative(n) => {
                write!(f, "field {field} at byte {at} has a negative length ({n})")
            }
            LengthErrorKind::Truncated => {
                write!(f, "the response ends inside field {field} (byte {at})")
            }
            LengthErrorKind::BadVarint => {
                write!(
                    f,
                    "field {field} at byte {at} has an unsigned varint longer than 5 bytes"
                )
            }
        }
    }
}

/// Checks `body` (a response without its header) of API `key` at `version`. APIs without a
/// layout here pass unchecked; every API the client sends has one (tested).
pub(crate) fn check(key: ApiKey, version: i16, body: &[u8]) -> Result<(), LengthError> {
    let Some(layout) = layout(key) else {
        return Ok(());
    };
    let mut walk = Walk {
        buf: body,
        pos: 0,
        version,
        flexible: version >= layout.flexible_from,
    };
    walk.shape(layout.shape, "response")
}

struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
    version: i16,
    flexible: bool,
}

impl Walk<'_> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn err(&self, field: &'static str, kind: LengthErrorKind) -> LengthError {
        LengthError {
            field,
            at: self.pos,
            kind,
        }
    }

    fn skip(&mut self, n: usize, field: &'static str) -> Result<(), LengthError> {
        if n > self.left() {
            return Err(self.err(field, LengthErrorKind::Truncated));
        }
        self.pos += n;
        Ok(())
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LengthError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or_else(|| self.err(field, LengthErrorKind::Truncated))?;
        self.pos += N;
        Ok(bytes.try_into().expect("slice of N bytes"))
    }

    fn uvarint(&mut self, field: &'static str) -> Result<u32, LengthError> {
        let start = self.pos;
        let mut value = 0u32;
        for i in 0..5 {
            let [b] = self.fixed::<1>(field)?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.pos = start;
        Err(self.err(field, LengthErrorKind::BadVarint))
    }

    /// A length prefix: compact (unsigned varint, n + 1, 0 for null) in flexible versions,
    /// else `classic` bytes big-endian signed (-1 for null). Null is returned as 0.
    fn length(&mut self, field: &'static str, classic_i32: bool) -> Result<usize, LengthError> {
        let at = self.pos;
        let n: i64 = if self.flexible {
            i64::from(self.uvarint(field)?) - 1
        } else if classic_i32 {
            i64::from(i32::from_be_bytes(self.fixed::<4>(field)?))
        } else {
            i64::from(i16::from_be_bytes(self.fixed::<2>(field)?))
        };
        let error = |kind| LengthError { field, at, kind };
        match n {
            -1 => Ok(0),
            n if n < 0 => Err(error(LengthErrorKind::Negative(n))),
            n if n as u64 > self.left() as u64 => Err(error(LengthErrorKind::TooLong {
                claimed: n,
                left: self.left(),
            })),
            n => Ok(n as usize),
        }
    }

    fn shape(&mut self, shape: &Shape, name: &'static str) -> Result<(), LengthError> {
        for field in shape.fields {
            if field.in_version(self.version) {
                self.ty(field.ty, field.name)?;
            }
        }
        if !self.flexible {
            return Ok(());
        }
        let count = self.uvarint(name)?;
        if count as usize > self.left() {
            return Err(self.err(
                name,
                LengthErrorKind::TooLong {
                    claimed: i64::from(count),
                    left: self.left(),
                },
            ));
        }
        for _ in 0..count {
            let tag = self.uvarint(name)?;
            let size = self.uvarint(name)? as usize;
            // Known tags are decoded from the body itself (their size is not consulted), so
            // they are walked; unknown ones are kept as bytes of their size.
            match shape
                .tags
                .iter()
                .find(|(t, field)| *t == tag && field.in_version(self.version))
            {
                Some((_, field)) => self.ty(field.ty, field.name)?,
                None => self.skip(size, name)?,
            }
        }
        Ok(())
    }

    fn ty(&mut self, ty: Ty, field: &'static str) -> Result<(), LengthError> {
        match ty {
            Ty::I8 | Ty::Bool => self.skip(1, field),
            Ty::I16 => self.skip(2, field),
            Ty::I32 => self.skip(4, field),
            Ty::I64 => self.skip(8, field),
            Ty::Uuid => self.skip(16, field),
            Ty::Str => {
                let n = self.length(field, false)?;
                self.skip(n, field)
            }
            Ty::Bytes => {
                let n = self.length(field, true)?;
                self.skip(n, field)
            }
            Ty::Int32s => {
                let n = self.length(field, true)?;
                self.skip(n.saturating_mul(4), field)
            }
            Ty::Strs => {
                let n = self.length(field, true)?;
                (0..n).try_for_each(|_| self.ty(Ty::Str, field))
            }
            Ty::Array(shape) => {
                let n = self.length(field, true)?;
                (0..n).try_for_each(|_| self.shape(shape, field))
            }
            Ty::One(shape) => self.shape(shape, field),
        }
    }
}

use Ty::{Bool, Bytes, I8, I16, I32, I64, Int32s, One, Str, Strs, Uuid};

const fn array(shape: &'static Shape) -> Ty {
    Ty::Array(shape)
}

/// The layout of each response the client reads, for the versions `kafka-protocol` 0.18
/// decodes (Kafka's message definitions).
pub(crate) fn layout(key: ApiKey) -> Option<Body> {
    let (flexible_from, shape) = match key {
        ApiKey::ApiVersions => (3, &API_VERSIONS),
        ApiKey::Metadata => (9, &METADATA),
        ApiKey::ListOffsets => (6, &LIST_OFFSETS),
        ApiKey::Fetch => (12, &FETCH),
        ApiKey::Produce => (9, &PRODUCE),
        ApiKey::CreateTopics => (5, &CREATE_TOPICS),
        ApiKey::DeleteTopics => (4, &DELETE_TOPICS),
        ApiKey::FindCoordinator => (3, &FIND_COORDINATOR),
        ApiKey::OffsetCommit => (8, &OFFSET_COMMIT),
        ApiKey::OffsetFetch => (6, &OFFSET_FETCH),
        ApiKey::SaslHandshake => (i16::MAX, &SASL_HANDSHAKE),
        ApiKey::SaslAuthenticate => (2, &SASL_AUTHENTICATE),
        _ => return None,
    };
    Some(Body {
        flexible_from,
        shape,
    })
}

const NO_TAGS: &[(u32, Field)] = &[];

// ApiVersions

static API_VERSION: Shape = Shape {
    fields: &[
        f("api_key", I16),
        f("min_version", I16),
        f("max_version", I16),
    ],
    tags: NO_TAGS,
};
static SUPPORTED_FEATURE: Shape = Shape {
    fields: &[
        f("name", Str).since(3),
        f("min_version", I16).since(3),
        f("max_version", I16).since(3),
    ],
    tags: NO_TAGS,
};
static FINALIZED_FEATURE: Shape = Shape {
    fields: &[
        f("name", Str).since(3),
        f("max_version_level", I16).since(3),
        f("min_version_level", I16).since(3),
    ],
    tags: NO_TAGS,
};
static API_VERSIONS: Shape = Shape {
    fields: &[
        f("error_code", I16),
        f("api_keys", array(&API_VERSION)),
        f("throttle_time_ms", I32).since(1),
    ],
    tags: &[
        (0, f("supported_features", array(&SUPPORTED_FEATURE))),
        (1, f("finalized_features_epoch", I64)),
        (2, f("finalized_features", array(&FINALIZED_FEATURE))),
        (3, f("zk_migration_ready", Bool)),
    ],
};

// Metadata

static METADATA_BROKER: Shape = Shape {
    fields: &[
        f("node_id", I32),
        f("host", Str),
        f("port", I32),
        f("rack", Str).since(1),
    ],
    tags: NO_TAGS,
};
static METADATA_PARTITION: Shape = Shape {
    fields: &[
        f("error_code", I16),
        f("partition_index", I32),
        f("leader_id", I32),
        f("leader_epoch", I32).since(7),
        f("replica_nodes", Int32s),
        f("isr_nodes", Int32s),
        f("offline_replicas", Int32s).since(5),
    ],
    tags: NO_TAGS,
};
static METADATA_TOPIC: Shape = Shape {
    fields: &[
        f("error_code", I16),
        f("name", Str),
        f("topic_id", Uuid).since(10),
        f("is_internal", Bool).since(1),
        f("partitions", array(&METADATA_PARTITION)),
        f("topic_authorized_operations", I32).since(8),
    ],
    tags: NO_TAGS,
};
static METADATA: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32).since(3),
        f("brokers", array(&METADATA_BROKER)),
        f("cluster_id", Str).since(2),
        f("controller_id", I32).since(1),
        f("topics", array(&METADATA_TOPIC)),
        f("cluster_authorized_operations", I32).since(8).until(10),
        f("error_code", I16).since(13),
    ],
    tags: NO_TAGS,
};

// ListOffsets

static LIST_OFFSETS_PARTITION: Shape = Shape {
    fields: &[
        f("partition_index", I32),
        f("error_code", I16),
        f("timestamp", I64),
        f("offset", I64),
        f("leader_epoch", I32).since(4),
    ],
    tags: NO_TAGS,
};
static LIST_OFFSETS_TOPIC: Shape = Shape {
    fields: &[
        f("name", Str),
        f("partitions", array(&LIST_OFFSETS_PARTITION)),
    ],
    tags: NO_TAGS,
};
static LIST_OFFSETS: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32).since(2),
        f("topics", array(&LIST_OFFSETS_TOPIC)),
    ],
    tags: NO_TAGS,
};

// Fetch

static ABORTED_TRANSACTION: Shape = Shape {
    fields: &[f("producer_id", I64), f("first_offset", I64)],
    tags: NO_TAGS,
};
static EPOCH_END_OFFSET: Shape = Shape {
    fields: &[f("epoch", I32).since(12), f("end_offset", I64).since(12)],
    tags: NO_TAGS,
};
static FETCH_LEADER: Shape = Shape {
    fields: &[
        f("leader_id", I32).since(12),
        f("leader_epoch", I32).since(12),
    ],
    tags: NO_TAGS,
};
static SNAPSHOT_ID: Shape = Shape {
    fields: &[f("end_offset", I64), f("epoch", I32)],
    tags: NO_TAGS,
};
static FETCH_NODE_ENDPOINT: Shape = Shape {
    fields: &[
        f("node_id", I32).since(16),
        f("host", Str).since(16),
        f("port", I32).since(16),
        f("rack", Str).since(16),
    ],
    tags: NO_TAGS,
};
static FETCH_PARTITION: Shape = Shape {
    fields: &[
        f("partition_index", I32),
        f("error_code", I16),
        f("high_watermark", I64),
        f("last_stable_offset", I64),
        f("log_start_offset", I64).since(5),
        f("aborted_transactions", array(&ABORTED_TRANSACTION)),
        f("preferred_read_replica", I32).since(11),
        f("records", Bytes),
    ],
    tags: &[
        (0, f("diverging_epoch", One(&EPOCH_END_OFFSET))),
        (1, f("current_leader", One(&FETCH_LEADER))),
        (2, f("snapshot_id", One(&SNAPSHOT_ID))),
    ],
};
static FETCH_TOPIC: Shape = Shape {
    fields: &[
        f("topic", Str).until(12),
        f("topic_id", Uuid).since(13),
        f("partitions", array(&FETCH_PARTITION)),
    ],
    tags: NO_TAGS,
};
static FETCH: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32),
        f("error_code", I16).since(7),
        f("session_id", I32).since(7),
        f("responses", array(&FETCH_TOPIC)),
    ],
    tags: &[(
        0,
        f("node_endpoints", array(&FETCH_NODE_ENDPOINT)).since(16),
    )],
};

// Produce

static BATCH_INDEX_ERROR: Shape = Shape {
    fields: &[
        f("batch_index", I32).since(8),
        f("batch_index_error_message", Str).since(8),
    ],
    tags: NO_TAGS,
};
static PRODUCE_LEADER: Shape = Shape {
    fields: &[
        f("leader_id", I32).since(10),
        f("leader_epoch", I32).since(10),
    ],
    tags: NO_TAGS,
};
static PRODUCE_NODE_ENDPOINT: Shape = Shape {
    fields: &[
        f("node_id", I32).since(10),
        f("host", Str).since(10),
        f("port", I32).since(10),
        f("rack", Str).since(10),
    ],
    tags: NO_TAGS,
};
static PRODUCE_PARTITION: Shape = Shape {
    fields: &[
        f("index", I32),
        f("error_code", I16),
        f("base_offset", I64),
        f("log_append_time_ms", I64),
        f("log_start_offset", I64).since(5),
        f("record_errors", array(&BATCH_INDEX_ERROR)).since(8),
        f("error_message", Str).since(8),
    ],
    tags: &[(0, f("current_leader", One(&PRODUCE_LEADER)).since(10))],
};
static PRODUCE_TOPIC: Shape = Shape {
    fields: &[
        f("name", Str).until(12),
        f("topic_id", Uuid).since(13),
        f("partition_responses", array(&PRODUCE_PARTITION)),
    ],
    tags: NO_TAGS,
};
static PRODUCE: Shape = Shape {
    fields: &[
        f("responses", array(&PRODUCE_TOPIC)),
        f("throttle_time_ms", I32),
    ],
    tags: &[(
        0,
        f("node_endpoints", array(&PRODUCE_NODE_ENDPOINT)).since(10),
    )],
};

// CreateTopics and DeleteTopics

static CREATABLE_TOPIC_CONFIG: Shape = Shape {
    fields: &[
        f("name", Str).since(5),
        f("value", Str).since(5),
        f("read_only", Bool).since(5),
        f("config_source", I8).since(5),
        f("is_sensitive", Bool).since(5),
    ],
    tags: NO_TAGS,
};
static CREATABLE_TOPIC_RESULT: Shape = Shape {
    fields: &[
        f("name", Str),
        f("topic_id", Uuid).since(7),
        f("error_code", I16),
        f("error_message", Str),
        f("num_partitions", I32).since(5),
        f("replication_factor", I16).since(5),
        f("configs", array(&CREATABLE_TOPIC_CONFIG)).since(5),
    ],
    tags: &[(0, f("topic_config_error_code", I16))],
};
static CREATE_TOPICS: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32),
        f("topics", array(&CREATABLE_TOPIC_RESULT)),
    ],
    tags: NO_TAGS,
};
static DELETABLE_TOPIC_RESULT: Shape = Shape {
    fields: &[
        f("name", Str),
        f("topic_id", Uuid).since(6),
        f("error_code", I16),
        f("error_message", Str).since(5),
    ],
    tags: NO_TAGS,
};
static DELETE_TOPICS: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32),
        f("responses", array(&DELETABLE_TOPIC_RESULT)),
    ],
    tags: NO_TAGS,
};

// FindCoordinator, OffsetCommit, OffsetFetch

static COORDINATOR: Shape = Shape {
    fields: &[
        f("key", Str).since(4),
        f("node_id", I32).since(4),
        f("host", Str).since(4),
        f("port", I32).since(4),
        f("error_code", I16).since(4),
        f("error_message", Str).since(4),
    ],
    tags: NO_TAGS,
};
static FIND_COORDINATOR: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32).since(1),
        f("error_code", I16).until(3),
        f("error_message", Str).since(1).until(3),
        f("node_id", I32).until(3),
        f("host", Str).until(3),
        f("port", I32).until(3),
        f("coordinators", array(&COORDINATOR)).since(4),
    ],
    tags: NO_TAGS,
};
static OFFSET_COMMIT_PARTITION: Shape = Shape {
    fields: &[f("partition_index", I32), f("error_code", I16)],
    tags: NO_TAGS,
};
static OFFSET_COMMIT_TOPIC: Shape = Shape {
    fields: &[
        f("name", Str).until(9),
        f("topic_id", Uuid).since(10),
        f("partitions", array(&OFFSET_COMMIT_PARTITION)),
    ],
    tags: NO_TAGS,
};
static OFFSET_COMMIT: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32).since(3),
        f("topics", array(&OFFSET_COMMIT_TOPIC)),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH_PARTITION: Shape = Shape {
    fields: &[
        f("partition_index", I32).until(7),
        f("committed_offset", I64).until(7),
        f("committed_leader_epoch", I32).since(5).until(7),
        f("metadata", Str).until(7),
        f("error_code", I16).until(7),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH_TOPIC: Shape = Shape {
    fields: &[
        f("name", Str).until(7),
        f("partitions", array(&OFFSET_FETCH_PARTITION)).until(7),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH_GROUP_PARTITION: Shape = Shape {
    fields: &[
        f("partition_index", I32).since(8),
        f("committed_offset", I64).since(8),
        f("committed_leader_epoch", I32).since(8),
        f("metadata", Str).since(8),
        f("error_code", I16).since(8),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH_GROUP_TOPIC: Shape = Shape {
    fields: &[
        f("name", Str).since(8).until(9),
        f("topic_id", Uuid).since(10),
        f("partitions", array(&OFFSET_FETCH_GROUP_PARTITION)).since(8),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH_GROUP: Shape = Shape {
    fields: &[
        f("group_id", Str).since(8),
        f("topics", array(&OFFSET_FETCH_GROUP_TOPIC)).since(8),
        f("error_code", I16).since(8),
    ],
    tags: NO_TAGS,
};
static OFFSET_FETCH: Shape = Shape {
    fields: &[
        f("throttle_time_ms", I32).since(3),
        f("topics", array(&OFFSET_FETCH_TOPIC)).until(7),
        f("error_code", I16).since(2).until(7),
        f("groups", array(&OFFSET_FETCH_GROUP)).since(8),
    ],
    tags: NO_TAGS,
};

// SASL

static SASL_HANDSHAKE: Shape = Shape {
    fields: &[f("error_code", I16), f("mechanisms", Strs)],
    tags: NO_TAGS,
};
static SASL_AUTHENTICATE: Shape = Shape {
    fields: &[
        f("error_code", I16),
        f("error_message", Str),
        f("auth_bytes", Bytes),
        f("session_lifetime_ms", I64).since(1),
    ],
    tags: NO_TAGS,
};

#[cfg(test)]
mod tests;
