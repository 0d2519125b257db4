//! Kafka record batches (message format v2): a zero-copy decoder and an encoder.
//!
//! This is the hot path of a fetch. [`decode_record_batches`] turns the `records` bytes of one
//! fetched partition into [`Record`]s whose keys, values and header payloads are [`Bytes`] slices
//! of the fetched buffer: nothing is copied for uncompressed batches, and a compressed batch is
//! decompressed once into one buffer that its records then share. The only per-record heap
//! allocation is the headers `Vec` of a record that has headers.
//!
//! The decoder applies the rules a bounded, exact reader depends on:
//! - a partial batch at the end of the data (the broker cuts at `max_bytes`) ends decoding
//!   without an error ([`DecodeSummary::truncated_tail`]);
//! - the position to fetch next is `base_offset + last_offset_delta + 1` of the last complete
//!   batch ([`DecodeSummary::next_offset`]), so compaction gaps and trailing control batches
//!   neither stall nor end a read early;
//! - control batches are skipped, and under `read_committed` the batches of aborted
//!   transactions are dropped the way the Java consumer does it;
//! - the CRC-32C of every batch is verified, decompression is capped per batch
//!   ([`DecodeOptions::max_decompressed_bytes`]), and malformed input gives a [`RecordsError`]
//!   naming the batch's base offset, never a panic.
//!
//! [`RecordBatchBuilder`] writes v2 batches in any of the four codecs, for producing and for
//! crafting test input.
//!
//! # Layout
//! - `header`: the fixed 61-byte batch header, [`Compression`] and [`TimestampType`].
//! - `decode`: [`decode_record_batches`] and its options and summary.
//! - `encode`: [`RecordBatchBuilder`], [`ProduceRecord`] and control-record helpers.
//! - `compression`: the codecs, with the decompressed-size cap.
//! - `varint`: Kafka's zigzag varints.
//! - `error`: [`RecordsError`].

use bytes::Bytes;

mod compression;
mod decode;
mod encode;
mod error;
mod header;
mod varint;

#[cfg(test)]
mod tests;

pub use decode::{
    AbortedTransaction, BatchScan, DecodeOptions, DecodeSummary, decode_record_batches,
    scan_record_batches,
};
pub use encode::{
    ControlRecordType, ProduceRecord, RecordBatchBuilder, encode_control_record,
    parse_control_record_key,
};
pub use error::{ParseCompressionError, RecordsError};
pub use header::{BATCH_HEADER_LEN, BatchHeader, Compression, TimestampType};

/// One decoded record of a data batch.
///
/// `key`, `value` and the header payloads share the buffer they were decoded from (the fetched
/// response, or the decompressed batch), so keeping a `Record` keeps that buffer alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's offset in its partition.
    pub offset: i64,
    /// Milliseconds since the Unix epoch: the producer's timestamp under
    /// [`TimestampType::CreateTime`], the broker's append time under
    /// [`TimestampType::LogAppendTime`].
    pub timestamp: i64,
    /// The record key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The record value; `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// The record headers, in wire order (keys may repeat).
    pub headers: Vec<RecordHeader>,
}

/// One record header: a key (UTF-8 text by convention) and an optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The header key's raw bytes.
    pub key: Bytes,
    /// The header value; `None` for a null value.
    pub value: Option<Bytes>,
}

impl RecordHeader {
    /// Creates a header from a key and an optional value.
    pub fn new(key: impl Into<Bytes>, value: Option<Bytes>) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }

    /// The key as text, or `None` if it is not valid UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }
}
