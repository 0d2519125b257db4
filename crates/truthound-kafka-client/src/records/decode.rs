//! Decoding fetched record batches into [`Record`]s without copying their payloads.

use std::collections::HashSet;

use bytes::Bytes;

use super::compression::{self, DecompressError};
use super::encode::{ControlRecordType, parse_control_record_key};
use super::header::CRC_START;
use super::varint::{read_varint, read_varlong};
use super::{
    BATCH_HEADER_LEN, BatchHeader, Compression, Record, RecordHeader, RecordsError, TimestampType,
};

/// The smallest encoded record: length, attributes, timestamp delta, offset delta, key length,
/// value length and header count, one byte each. Bounds preallocation for hostile counts.
const MIN_RECORD_LEN: usize = 7;

/// A transaction the broker reports as aborted in a fetch response (read_committed only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbortedTransaction {
    /// The producer that aborted.
    pub producer_id: i64,
    /// Offset of the transaction's first batch.
    pub first_offset: i64,
}

/// What [`decode_record_batches`] keeps and how it guards memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Records below this offset are dropped (a batch may begin before the fetch position).
    /// Default 0.
    pub start_offset: i64,
    /// Exclusive upper bound: records at or after it are dropped. Default `None` (no bound).
    pub end_offset: Option<i64>,
    /// Drop the batches of aborted transactions (`isolation.level=read_committed`).
    /// Default `false`.
    pub read_committed: bool,
    /// The fetch response's aborted transactions for this partition; used only when
    /// `read_committed`. Need not be sorted.
    pub aborted_transactions: Vec<AbortedTransaction>,
    /// Cap on the decompressed size of one batch, against decompression bombs.
    /// Default [`DecodeOptions::DEFAULT_MAX_DECOMPRESSED_BYTES`].
    pub max_decompressed_bytes: usize,
    /// Cap on the decompressed size of all batches of one call together, so that many
    /// batches each under the per-batch cap cannot add up. Default: no cap.
    pub max_total_decompressed_bytes: usize,
}

impl DecodeOptions {
    /// The default cap on one batch's decompressed size: 64 MiB.
    pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 64 * 1024 * 1024;

    /// Options keeping every record from `start_offset` on, read_uncommitted.
    pub fn new(start_offset: i64) -> Self {
        Self {
            start_offset,
            ..Self::default()
        }
    }

    /// Drops records at or after `end_offset` (exclusive bound).
    pub fn with_end_offset(mut self, end_offset: i64) -> Self {
        self.end_offset = Some(end_offset);
        self
    }

    /// Reads committed data only, dropping the batches of `aborted_transactions`.
    pub fn with_read_committed(mut self, aborted_transactions: Vec<AbortedTransaction>) -> Self {
        self.read_committed = true;
        self.aborted_transactions = aborted_transactions;
        self
    }

    /// Sets the cap on one batch's decompressed size.
    pub fn with_max_decompressed_bytes(mut self, limit: usize) -> Self {
        self.max_decompressed_bytes = limit;
        self
    }

    /// Sets the cap on the decompressed size of all batches of one call together.
    pub fn with_max_total_decompressed_bytes(mut self, limit: usize) -> Self {
        self.max_total_decompressed_bytes = limit;
        self
    }

    fn window(&self) -> Window {
        Window {
            start: self.start_offset,
            end: self.end_offset,
        }
    }
}

/// The offsets whose records are kept: `start..end`.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: Option<i64>,
}

impl Window {
    const ALL: Window = Window {
        start: i64::MIN,
        end: None,
    };

    fn contains(self, offset: i64) -> bool {
        offset >= self.start && self.end.is_none_or(|end| offset < end)
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            start_offset: 0,
            end_offset: None,
            read_committed: false,
            aborted_transactions: Vec::new(),
            max_decompressed_bytes: Self::DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_total_decompressed_bytes: usize::MAX,
        }
    }
}

/// What one [`decode_record_batches`] call went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeSummary {
    /// The fetch position after the last complete batch (`base_offset + last_offset_delta + 1`),
    /// whether its records were kept, filtered, aborted or control records; `None` if the data
    /// held no complete batch.
    pub next_offset: Option<i64>,
    /// Records appended to `out`.
    pub records: usize,
    /// Complete batches processed.
    pub batches: usize,
    /// Control records (transaction markers) skipped.
    pub control_records: usize,
    /// Records dropped as part of aborted transactions (read_committed only).
    pub aborted_records: usize,
    /// Whether the data ended with a partial batch, as when the broker cuts at `max_bytes`.
    pub truncated_tail: bool,
    /// Bytes of `data` taken by the complete batches.
    pub bytes: usize,
    /// Bytes the compressed batches decompressed to.
    pub decompressed_bytes: usize,
}

/// Decodes the record batches in `data` (a fetched partition's `records`), appending the data
/// records within the options' offset range to `out`.
///
/// Keys, values and header payloads are slices of `data`, or of one decompressed buffer per
/// compressed batch. Control batches are skipped; under `read_committed` the batches of aborted
/// transactions are dropped. A partial batch at the end of `data` is expected and ends decoding
/// (see [`DecodeSummary::truncated_tail`]); fetch again from [`DecodeSummary::next_offset`].
///
/// # Errors
/// Any malformed complete batch: CRC mismatch, a format other than v2, an unknown codec,
/// a decompression failure or a batch over `max_decompressed_bytes`, or records that do not
/// match the header. On error `out` keeps the records of the batches before the failing one.
pub fn decode_record_batches(
    data: &Bytes,
    opts: &DecodeOptions,
    out: &mut Vec<Record>,
) -> Result<DecodeSummary, RecordsError> {
    let mut summary = DecodeSummary::default();
    let mut txns = TxnState::new(opts);
    let mut pos = 0;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        let Some(header) = BatchHeader::parse(rest)? else {
            summary.truncated_tail = true;
            break;
        };
        let total = header.total_len();
        let Some(batch) = rest.get(..total) else {
            summary.truncated_tail = true;
            break;
        };
        let actual = crc32c::crc32c(batch.get(CRC_START..).unwrap_or_default());
        if actual != header.crc {
            return Err(RecordsError::CrcMismatch {
                base_offset: header.base_offset,
                expected: header.crc,
                actual,
            });
        }
        let kept = out.len();
        let section = pos + BATCH_HEADER_LEN..pos + total;
        if let Err(e) = decode_batch(data, section, &header, opts, &mut txns, out, &mut summary) {
            out.truncate(kept);
            return Err(e);
        }
        summary.records += out.len() - kept;
        summary.batches += 1;
        summary.bytes += total;
        summary.next_offset = Some(header.next_offset());
        pos += total;
    }
    Ok(summary)
}

/// What [`scan_record_batches`] found: where the next fetch starts, without decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchScan {
    /// The fetch position after the last complete batch, as
    /// [`DecodeSummary::next_offset`]; `None` if the data held no complete batch.
    pub next_offset: Option<i64>,
    /// Complete batches.
    pub batches: usize,
    /// Whether the data ended with a partial batch.
    pub truncated_tail: bool,
    /// Bytes taken by the complete batches.
    pub bytes: usize,
}

/// Walks the batch headers of `data` only (no CRC, no decompression): enough for a fetcher to
/// send the next fetch while the batches are decoded elsewhere.
/// [`decode_record_batches`] on the same data reaches the same `next_offset`, or fails.
///
/// # Errors
/// A header that is not v2 or whose length is impossible.
pub fn scan_record_batches(data: &[u8]) -> Result<BatchScan, RecordsError> {
    let mut scan = BatchScan::default();
    let mut pos = 0;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        let Some(header) = BatchHeader::parse(rest)? else {
            scan.truncated_tail = true;
            break;
        };
        let total = header.total_len();
        if rest.len() < total {
            scan.truncated_tail = true;
            break;
        }
        scan.batches += 1;
        scan.bytes += total;
        scan.next_offset = Some(header.next_offset());
        pos += total;
    }
    Ok(scan)
}

/// Handles one complete, CRC-checked batch whose records section is `data[section]`.
fn decode_batch(
    data: &Bytes,
    section: std::ops::Range<usize>,
    header: &BatchHeader,
    opts: &DecodeOptions,
    txns: &mut TxnState,
    out: &mut Vec<Record>,
    summary: &mut DecodeSummary,
) -> Result<(), RecordsError> {
    let compression = header.compression()?;
    // Control batches are small and rare: decode them aside, in full, for the marker type.
    let limit = opts.max_decompressed_bytes.min(
        opts.max_total_decompressed_bytes
            .saturating_sub(summary.decompressed_bytes),
    );
    if header.is_control() {
        let mut markers = Vec::new();
        summary.decompressed_bytes += decode_section(
            data,
            section,
            header,
            compression,
            limit,
            Window::ALL,
            &mut markers,
        )?;
        if opts.read_committed && header.producer_id >= 0 {
            txns.consume_up_to(header.last_offset());
            let is_abort = markers
                .first()
                .and_then(|m| m.key.as_deref())
                .and_then(parse_control_record_key)
                == Some(ControlRecordType::Abort);
            if is_abort {
                txns.aborted.remove(&header.producer_id);
            }
        }
        summary.control_records += markers.len();
        return Ok(());
    }
    if opts.read_committed && header.producer_id >= 0 {
        txns.consume_up_to(header.last_offset());
        if header.is_transactional() && txns.aborted.contains(&header.producer_id) {
            summary.aborted_records += usize::try_from(header.record_count).unwrap_or(0);
            return Ok(());
        }
    }
    // Nothing of this batch is wanted: skip it without decompressing.
    if header.last_offset() < opts.start_offset
        || opts.end_offset.is_some_and(|end| header.base_offset >= end)
    {
        return Ok(());
    }
    summary.decompressed_bytes += decode_section(
        data,
        section,
        header,
        compression,
        limit,
        opts.window(),
        out,
    )?;
    Ok(())
}

/// Decompresses (if needed, up to `limit` bytes) and parses a records section, keeping the
/// records in `window`. Returns the decompressed size (0 for an uncompressed batch).
fn decode_section(
    data: &Bytes,
    section: std::ops::Range<usize>,
    header: &BatchHeader,
    compression: Compression,
    limit: usize,
    window: Window,
    out: &mut Vec<Record>,
) -> Result<usize, RecordsError> {
    let base_offset = header.base_offset;
    if compression == Compression::None {
        return parse_records(data, section, header, window, out)
            .map(|()| 0)
            .map_err(|reason| RecordsError::Corrupt {
                base_offset,
                reason,
            });
    }
    let compressed = data.get(section).unwrap_or_default();
    let buf = match compression::decompress(compression, compressed, limit) {
        Ok(buf) => Bytes::from(buf),
        Err(DecompressError::TooLarge) => {
            return Err(RecordsError::DecompressedTooLarge { base_offset, limit });
        }
        Err(DecompressError::Codec(source)) => {
            return Err(RecordsError::Decompression {
                base_offset,
                codec: compression,
                source,
            });
        }
    };
    let len = buf.len();
    parse_records(&buf, 0..len, header, window, out)
        .map(|()| len)
        .map_err(|reason| RecordsError::Corrupt {
            base_offset,
            reason,
        })
}

/// Parses the `header.record_count` records in `buf[section]`, appending those whose offset is
/// in `window` to `out`. Payloads are slices of `buf`.
fn parse_records(
    buf: &Bytes,
    section: std::ops::Range<usize>,
    header: &BatchHeader,
    window: Window,
    out: &mut Vec<Record>,
) -> Result<(), &'static str> {
    // Reads stop at the section's end, never in the next batch.
    let bytes = buf
        .get(..section.end)
        .ok_or("records section out of bounds")?;
    let mut pos = section.start;
    let count = usize::try_from(header.record_count).unwrap_or(0);
    out.reserve(count.min(section.len() / MIN_RECORD_LEN));
    let log_append_time = header.timestamp_type() == TimestampType::LogAppendTime;
    for _ in 0..count {
        let len = read_varint(bytes, &mut pos).ok_or("fewer records than the record count")?;
        let len = usize::try_from(len).map_err(|_| "negative record length")?;
        let end = pos
            .checked_add(len)
            .filter(|&end| end <= bytes.len())
            .ok_or("record runs past the end of the batch")?;
        let record = bytes.get(..end).unwrap_or_default();
        // Attributes: unused in v2.
        pos += 1;
        let timestamp_delta = read_varlong(record, &mut pos).ok_or("bad timestamp delta")?;
        let offset_delta = read_varint(record, &mut pos).ok_or("bad offset delta")?;
        let offset = header
            .base_offset
            .checked_add(i64::from(offset_delta))
            .ok_or("record offset overflows")?;
        if !window.contains(offset) {
            pos = end;
            continue;
        }
        let key = read_bytes(buf, record, &mut pos)?;
        let value = read_bytes(buf, record, &mut pos)?;
        let header_count = read_varint(record, &mut pos).ok_or("bad header count")?;
        let header_count = usize::try_from(header_count).map_err(|_| "negative header count")?;
        let headers = if header_count == 0 {
            Vec::new()
        } else {
            // Each header takes at least two bytes: bound the allocation by what is left.
            let mut headers = Vec::with_capacity(header_count.min(end.saturating_sub(pos) / 2));
            for _ in 0..header_count {
                let key = read_bytes(buf, record, &mut pos)?.ok_or("null header key")?;
                let value = read_bytes(buf, record, &mut pos)?;
                headers.push(RecordHeader { key, value });
            }
            headers
        };
        if pos != end {
            return Err("record length does not match its fields");
        }
        let timestamp = if log_append_time {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(timestamp_delta)
        };
        out.push(Record {
            offset,
            timestamp,
            key,
            value,
            headers,
        });
    }
    if pos != bytes.len() {
        return Err("bytes left after the last record");
    }
    Ok(())
}

/// Reads a varint-length-prefixed byte string (-1 = null) from `record` at `pos`, as a slice
/// of `buf` (of which `record` is a prefix).
#[inline]
fn read_bytes(buf: &Bytes, record: &[u8], pos: &mut usize) -> Result<Option<Bytes>, &'static str> {
    let len = read_varint(record, pos).ok_or("bad length varint")?;
    let Ok(len) = usize::try_from(len) else {
        return if len == -1 {
            Ok(None)
        } else {
            Err("negative length")
        };
    };
    let start = *pos;
    let end = start
        .checked_add(len)
        .filter(|&end| end <= record.len())
        .ok_or("field runs past the end of its record")?;
    *pos = end;
    Ok(Some(buf.slice(start..end)))
}

/// The Java consumer's aborted-transaction tracking, within one fetch response.
///
/// Transactions are taken in `first_offset` order; once a batch reaches a transaction's first
/// offset its producer counts as aborted, until that producer's ABORT marker.
struct TxnState {
    pending: Vec<AbortedTransaction>,
    next: usize,
    aborted: HashSet<i64>,
}

impl TxnState {
    fn new(opts: &DecodeOptions) -> Self {
        let mut pending = if opts.read_committed {
            opts.aborted_transactions.clone()
        } else {
            Vec::new()
        };
        pending.sort_by_key(|t| t.first_offset);
        Self {
            pending,
            next: 0,
            aborted: HashSet::new(),
        }
    }

    /// Marks aborted every producer whose aborted transaction starts at or before `offset`.
    fn consume_up_to(&mut self, offset: i64) {
        while let Some(txn) = self.pending.get(self.next) {
            if txn.first_offset > offset {
                break;
            }
            self.aborted.insert(txn.producer_id);
            self.next += 1;
        }
    }
}
