//! Errors of the record-batch codec.

use super::Compression;

/// A record batch could not be decoded or encoded.
///
/// Every decoding variant names the base offset of the batch at fault, so a caller can report
/// where in the partition the bad data sits. A partial batch at the end of fetched data is not
/// an error (see [`DecodeSummary::truncated_tail`](super::DecodeSummary::truncated_tail)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The batch's CRC-32C does not match its contents.
    #[error(
        "record batch at offset {base_offset}: CRC-32C mismatch (header {expected:#010x}, computed {actual:#010x})"
    )]
    CrcMismatch {
        /// Base offset of the batch.
        base_offset: i64,
        /// The CRC stored in the batch header.
        expected: u32,
        /// The CRC computed over the batch.
        actual: u32,
    },

    /// The data is not a v2 record batch (magic 0 and 1 are the legacy message sets).
    #[error(
        "record batch at offset {base_offset}: message format v{magic} is unsupported (only v2)"
    )]
    UnsupportedMagic {
        /// Base offset of the batch (or message set entry).
        base_offset: i64,
        /// The magic byte found.
        magic: i8,
    },

    /// The batch's attributes name a compression codec this decoder does not know.
    #[error("record batch at offset {base_offset}: unknown compression codec id {codec}")]
    UnsupportedCompression {
        /// Base offset of the batch.
        base_offset: i64,
        /// The codec id from attribute bits 0-2.
        codec: u8,
    },

    /// The batch is malformed: lengths, counts or varints do not add up.
    #[error("record batch at offset {base_offset} is corrupt: {reason}")]
    Corrupt {
        /// Base offset of the batch.
        base_offset: i64,
        /// What is wrong.
        reason: &'static str,
    },

    /// The batch decompresses to more than the configured cap.
    #[error(
        "record batch at offset {base_offset}: decompressed size exceeds the limit of {limit} bytes (the per-batch cap, or what the cap on all batches of the fetch left; raise max_decompressed_bytes or max_decompressed_bytes_per_chunk if such batches are expected)"
    )]
    DecompressedTooLarge {
        /// Base offset of the batch.
        base_offset: i64,
        /// The cap that applied: [`DecodeOptions::max_decompressed_bytes`](super::DecodeOptions::max_decompressed_bytes),
        /// or what [`DecodeOptions::max_total_decompressed_bytes`](super::DecodeOptions::max_total_decompressed_bytes)
        /// left, whichever was smaller.
        limit: usize,
    },

    /// The codec rejected the batch's compressed data.
    #[error("record batch at offset {base_offset}: {codec} decompression failed: {source}")]
    Decompression {
        /// Base offset of the batch.
        base_offset: i64,
        /// The batch's codec.
        codec: Compression,
        /// The codec's error.
        #[source]
        source: std::io::Error,
    },

    /// A batch could not be built (encoding side).
    #[error("cannot encode record batch at offset {base_offset}: {reason}")]
    Encode {
        /// Base offset of the batch being built.
        base_offset: i64,
        /// What is wrong.
        reason: String,
    },
}

/// A compression codec name was not one of `none`, `gzip`, `snappy`, `lz4`, `zstd`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression codec {name:?} (expected none, gzip, snappy, lz4 or zstd)")]
pub struct ParseCompressionError {
    pub(crate) name: String,
}
