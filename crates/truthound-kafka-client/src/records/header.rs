//! The fixed part of a v2 record batch: its 61-byte header and the attribute bits.

use std::fmt;
use std::str::FromStr;

use super::{ParseCompressionError, RecordsError};

/// Size of the v2 batch header, from `base_offset` to `records_count` inclusive.
pub const BATCH_HEADER_LEN: usize = 61;

/// Bytes before `batch_length` starts counting: `base_offset` (8) and `batch_length` (4).
pub(crate) const LOG_OVERHEAD: usize = 12;
/// Position of the magic byte; the same in v0/v1 message sets, so legacy data is recognised.
pub(crate) const MAGIC_OFFSET: usize = 16;
/// Position of `attributes`, where the CRC-32C coverage starts.
pub(crate) const CRC_START: usize = 21;
/// The smallest valid `batch_length`: a header without records.
pub(crate) const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;

const COMPRESSION_MASK: i16 = 0x07;
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
pub(crate) const TRANSACTIONAL_BIT: i16 = 0x10;
pub(crate) const CONTROL_BIT: i16 = 0x20;
const DELETE_HORIZON_BIT: i16 = 0x40;

/// The compression codec of a record batch (attribute bits 0-2).
///
/// Parses from and displays as Kafka's `compression.type` names: `none`, `gzip`, `snappy`,
/// `lz4`, `zstd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Uncompressed (id 0).
    #[default]
    None,
    /// Gzip (id 1).
    Gzip,
    /// Snappy (id 2), xerial-framed as the Java client writes it.
    Snappy,
    /// LZ4 frame format (id 3).
    Lz4,
    /// Zstandard (id 4).
    Zstd,
}

impl Compression {
    /// All codecs, in id order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec with wire id `id` (attribute bits 0-2), or `None` for an unknown id.
    pub fn from_id(id: u8) -> Option<Self> {
        Self::ALL.get(usize::from(id)).copied()
    }

    /// The codec's wire id.
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec's `compression.type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compression {
    type Err = ParseCompressionError;

    /// Parses a `compression.type` name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseCompressionError { name: s.to_owned() })
    }
}

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer; each record carries its own timestamp.
    #[default]
    CreateTime,
    /// Set by the broker when it appended the batch; every record gets the batch's
    /// `max_timestamp`.
    LogAppendTime,
}

/// The header of a v2 record batch, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the batch's first record (before compaction).
    pub base_offset: i64,
    /// Length of the batch after this field: `total_len() - 12`.
    pub batch_length: i32,
    /// Leader epoch of the broker that appended the batch.
    pub partition_leader_epoch: i32,
    /// Message format version; always 2 for a parsed header.
    pub magic: i8,
    /// CRC-32C of the bytes from `attributes` to the end of the batch.
    pub crc: u32,
    /// Codec, timestamp type, transactional, control and delete-horizon bits.
    pub attributes: i16,
    /// Offset of the batch's last record (before compaction) minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp that record timestamp deltas are relative to.
    pub base_timestamp: i64,
    /// Largest record timestamp, or the append time under [`TimestampType::LogAppendTime`].
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id; -1 if none.
    pub producer_id: i64,
    /// Producer epoch; -1 if none.
    pub producer_epoch: i16,
    /// Producer sequence number of the first record; -1 if none.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the batch header at the start of `data`.
    ///
    /// Returns `Ok(None)` when `data` is too short to hold a header (a truncated tail). It does
    /// not check that the whole batch is present nor verify the CRC.
    ///
    /// # Errors
    /// [`RecordsError::UnsupportedMagic`] for anything but a v2 batch (checked as soon as the
    /// magic byte is present), [`RecordsError::Corrupt`] for an impossible batch length, record
    /// count or last offset delta.
    pub fn parse(data: &[u8]) -> Result<Option<BatchHeader>, RecordsError> {
        let Some(&magic) = data.get(MAGIC_OFFSET) else {
            return Ok(None);
        };
        let Some(h) = data.first_chunk::<BATCH_HEADER_LEN>() else {
            if magic != 2 {
                return Err(RecordsError::UnsupportedMagic {
                    base_offset: i64::from_be_bytes(field(data, 0).unwrap_or_default()),
                    magic: magic as i8,
                });
            }
            return Ok(None);
        };
        let base_offset = i64::from_be_bytes(at(h, 0));
        if magic != 2 {
            return Err(RecordsError::UnsupportedMagic {
                base_offset,
                magic: magic as i8,
            });
        }
        let header = BatchHeader {
            base_offset,
            batch_length: i32::from_be_bytes(at(h, 8)),
            partition_leader_epoch: i32::from_be_bytes(at(h, 12)),
            magic: magic as i8,
            crc: u32::from_be_bytes(at(h, 17)),
            attributes: i16::from_be_bytes(at(h, 21)),
            last_offset_delta: i32::from_be_bytes(at(h, 23)),
            base_timestamp: i64::from_be_bytes(at(h, 27)),
            max_timestamp: i64::from_be_bytes(at(h, 35)),
            producer_id: i64::from_be_bytes(at(h, 43)),
            producer_epoch: i16::from_be_bytes(at(h, 51)),
            base_sequence: i32::from_be_bytes(at(h, 53)),
            record_count: i32::from_be_bytes(at(h, 57)),
        };
        let corrupt = |reason| RecordsError::Corrupt {
            base_offset,
            reason,
        };
        if header.batch_length < MIN_BATCH_LENGTH {
            return Err(corrupt("batch length is smaller than the batch header"));
        }
        if header.record_count < 0 {
            return Err(corrupt("negative record count"));
        }
        if header.last_offset_delta < 0 {
            return Err(corrupt("negative last offset delta"));
        }
        if base_offset
            .checked_add(i64::from(header.last_offset_delta) + 1)
            .is_none()
        {
            return Err(corrupt("last offset overflows"));
        }
        Ok(Some(header))
    }

    /// The batch's codec.
    ///
    /// # Errors
    /// [`RecordsError::UnsupportedCompression`] for codec ids 5-7.
    pub fn compression(&self) -> Result<Compression, RecordsError> {
        let id = (self.attributes & COMPRESSION_MASK) as u8;
        Compression::from_id(id).ok_or(RecordsError::UnsupportedCompression {
            base_offset: self.base_offset,
            codec: id,
        })
    }

    /// Whether the batch belongs to a transaction (attribute bit 4).
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records, i.e. transaction markers (attribute bit 5).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Whether `base_timestamp` is a compaction delete horizon (attribute bit 6).
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_BIT != 0
    }

    /// The batch's timestamp type (attribute bit 3).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Offset of the batch's last record before compaction: `base_offset + last_offset_delta`.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// The fetch position after this batch: `last_offset() + 1`.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// The batch's full size in bytes, header included.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + usize::try_from(self.batch_length).unwrap_or(0)
    }
}

/// `N` header bytes starting at `pos`; `pos + N` is within the header for every call site.
fn at<const N: usize>(header: &[u8; BATCH_HEADER_LEN], pos: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = header.get(pos..pos + N) {
        out.copy_from_slice(src);
    }
    out
}

/// `N` bytes of `data` at `pos`, if present.
fn field<const N: usize>(data: &[u8], pos: usize) -> Option<[u8; N]> {
    data.get(pos..)?.first_chunk::<N>().copied()
}
