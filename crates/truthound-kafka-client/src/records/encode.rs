//! Encoding v2 record batches: for producing, and for crafting test input (transactions,
//! control markers, compaction gaps).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::compression;
use super::header::{
    CONTROL_BIT, CRC_START, MIN_BATCH_LENGTH, TIMESTAMP_TYPE_BIT, TRANSACTIONAL_BIT,
};
use super::varint::{varint_len, varlong_len, write_varint, write_varlong};
use super::{BATCH_HEADER_LEN, Compression, RecordHeader, RecordsError, TimestampType};

/// A record to encode; the producing counterpart of [`Record`](super::Record).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProduceRecord {
    /// The record key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The record value; `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// The record headers, in order.
    pub headers: Vec<RecordHeader>,
    /// Milliseconds since the Unix epoch; `None` takes the wall clock at
    /// [`RecordBatchBuilder::finish`].
    pub timestamp: Option<i64>,
}

impl ProduceRecord {
    /// A record with a value and nothing else.
    pub fn new(value: impl Into<Bytes>) -> Self {
        Self {
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, key: impl Into<Bytes>, value: Option<Bytes>) -> Self {
        self.headers.push(RecordHeader::new(key, value));
        self
    }

    /// Sets the timestamp (milliseconds since the Unix epoch).
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// The kind of a transaction marker (the `type` field of a control record key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// The transaction was aborted (type 0).
    Abort,
    /// The transaction was committed (type 1).
    Commit,
}

/// A transaction marker record: key `[version i16 = 0][type i16]`, value
/// `[version i16 = 0][coordinator_epoch i32]`.
///
/// Put it alone in a batch built with `.transactional(true).control(true)` and the
/// transaction's producer id and epoch, as the broker writes markers.
pub fn encode_control_record(
    kind: ControlRecordType,
    coordinator_epoch: i32,
    timestamp: i64,
) -> ProduceRecord {
    let kind: i16 = match kind {
        ControlRecordType::Abort => 0,
        ControlRecordType::Commit => 1,
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    ProduceRecord {
        key: Some(key.into()),
        value: Some(value.into()),
        headers: Vec::new(),
        timestamp: Some(timestamp),
    }
}

/// The marker type in a control record key, or `None` for a short key or an unknown type.
///
/// Keys of any version are read as version 0 (the version, then the type), as Kafka's Java
/// client does: later versions may only add fields after these, so a marker written by a newer
/// broker is still an abort or a commit, and an abort marker is never taken for data.
pub fn parse_control_record_key(key: &[u8]) -> Option<ControlRecordType> {
    let (_version, rest) = key.split_first_chunk::<2>()?;
    let (kind, _) = rest.split_first_chunk::<2>()?;
    match i16::from_be_bytes(*kind) {
        0 => Some(ControlRecordType::Abort),
        1 => Some(ControlRecordType::Commit),
        _ => None,
    }
}

/// Builds one v2 record batch.
///
/// ```
/// # use truthound_kafka_client::records::*;
/// let batch = RecordBatchBuilder::new(100)
///     .with_compression(Compression::Lz4)
///     .with_record(ProduceRecord::new("hello").with_key("k").with_timestamp(1_700_000_000_000))
///     .finish()?;
/// let mut out = Vec::new();
/// decode_record_batches(&batch, &DecodeOptions::default(), &mut out)?;
/// assert_eq!(out[0].offset, 100);
/// # Ok::<(), RecordsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    base_offset: i64,
    partition_leader_epoch: i32,
    compression: Compression,
    timestamp_type: TimestampType,
    max_timestamp: Option<i64>,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    offset_deltas: Option<Vec<i32>>,
    last_offset_delta: Option<i32>,
    records: Vec<ProduceRecord>,
}

impl RecordBatchBuilder {
    /// An empty, uncompressed, non-transactional CreateTime batch starting at `base_offset`
    /// (use 0 when producing: the broker assigns offsets).
    pub fn new(base_offset: i64) -> Self {
        Self {
            base_offset,
            partition_leader_epoch: -1,
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            max_timestamp: None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            offset_deltas: None,
            last_offset_delta: None,
            records: Vec::new(),
        }
    }

    /// Sets the codec for the records section.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Sets the idempotent/transactional producer id, epoch and first sequence number
    /// (default -1 for all three: no producer).
    pub fn with_producer(
        mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction (attribute bit 4).
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (attribute bit 5); see [`encode_control_record`].
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Sets the timestamp type (attribute bit 3).
    pub fn with_timestamp_type(mut self, timestamp_type: TimestampType) -> Self {
        self.timestamp_type = timestamp_type;
        self
    }

    /// Marks the batch LogAppendTime with the broker's append time `timestamp`, stored as the
    /// batch's `max_timestamp`.
    pub fn with_log_append_time(mut self, timestamp: i64) -> Self {
        self.timestamp_type = TimestampType::LogAppendTime;
        self.max_timestamp = Some(timestamp);
        self
    }

    /// Sets the partition leader epoch (default -1).
    pub fn with_partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Gives each record an explicit offset delta instead of `0, 1, 2, ...`, to craft batches
    /// as compaction leaves them. One strictly increasing, non-negative delta per record.
    pub fn with_offset_deltas(mut self, deltas: Vec<i32>) -> Self {
        self.offset_deltas = Some(deltas);
        self
    }

    /// Overrides `last_offset_delta` (default: the last record's delta), as compaction leaves it
    /// when it removes the batch's last records. Must not be below the last record's delta.
    pub fn with_last_offset_delta(mut self, delta: i32) -> Self {
        self.last_offset_delta = Some(delta);
        self
    }

    /// Appends a record.
    pub fn push(&mut self, record: ProduceRecord) -> &mut Self {
        self.records.push(record);
        self
    }

    /// Appends a record, builder style.
    pub fn with_record(mut self, record: ProduceRecord) -> Self {
        self.records.push(record);
        self
    }

    /// Appends records, builder style.
    pub fn with_records(mut self, records: impl IntoIterator<Item = ProduceRecord>) -> Self {
        self.records.extend(records);
        self
    }

    /// Number of records added so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Encodes the batch: header, records (compressed with the chosen codec) and CRC-32C.
    ///
    /// # Errors
    /// [`RecordsError::Encode`] for offset deltas that do not fit the records, a field or batch
    /// over `i32::MAX` bytes, or a compressor failure.
    pub fn finish(self) -> Result<Bytes, RecordsError> {
        let base_offset = self.base_offset;
        let fail = |reason: String| RecordsError::Encode {
            base_offset,
            reason,
        };
        let count =
            i32::try_from(self.records.len()).map_err(|_| fail("too many records".into()))?;
        let deltas: Vec<i32> = match self.offset_deltas {
            Some(deltas) => {
                if deltas.len() != self.records.len() {
                    return Err(fail(format!(
                        "{} offset deltas for {} records",
                        deltas.len(),
                        self.records.len()
                    )));
                }
                if deltas.first().is_some_and(|&d| d < 0) || deltas.windows(2).any(|w| w[0] >= w[1])
                {
                    return Err(fail(
                        "offset deltas must be non-negative and increasing".into(),
                    ));
                }
                deltas
            }
            None => (0..count).collect(),
        };
        let last_record_delta = deltas.last().copied().unwrap_or(0);
        let last_offset_delta = match self.last_offset_delta {
            Some(d) if d < last_record_delta => {
                return Err(fail(format!(
                    "last offset delta {d} is below the last record's delta {last_record_delta}"
                )));
            }
            Some(d) => d,
            None => last_record_delta,
        };

        let now = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        };
        let needs_clock = self.records.iter().any(|r| r.timestamp.is_none());
        let clock = if needs_clock { now() } else { 0 };
        let timestamps: Vec<i64> = self
            .records
            .iter()
            .map(|r| r.timestamp.unwrap_or(clock))
            .collect();
        // As the Java producer does: the first record's timestamp is the base.
        let base_timestamp = timestamps.first().copied().unwrap_or(-1);
        let max_timestamp = self
            .max_timestamp
            .or_else(|| timestamps.iter().copied().max())
            .unwrap_or(-1);

        let mut body = Vec::new();
        for ((record, &delta), &ts) in self.records.iter().zip(&deltas).zip(&timestamps) {
            write_record(record, delta, ts.wrapping_sub(base_timestamp), &mut body)
                .map_err(|reason| fail(reason.into()))?;
        }
        let records = compression::compress(self.compression, &body)
            .map_err(|e| fail(format!("{} compression failed: {e}", self.compression)))?;
        let batch_length = i32::try_from(records.len())
            .ok()
            .and_then(|n| n.checked_add(MIN_BATCH_LENGTH))
            .ok_or_else(|| fail("batch over i32::MAX bytes".into()))?;

        let mut attributes = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if self.control {
            attributes |= CONTROL_BIT;
        }

        let mut out = Vec::with_capacity(BATCH_HEADER_LEN + records.len());
        out.extend_from_slice(&base_offset.to_be_bytes());
        out.extend_from_slice(&batch_length.to_be_bytes());
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(2);
        out.extend_from_slice(&[0; 4]); // CRC, filled in below
        out.extend_from_slice(&attributes.to_be_bytes());
        out.extend_from_slice(&last_offset_delta.to_be_bytes());
        out.extend_from_slice(&base_timestamp.to_be_bytes());
        out.extend_from_slice(&max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&records);
        let crc = crc32c::crc32c(out.get(CRC_START..).unwrap_or_default());
        if let Some(slot) = out.get_mut(CRC_START - 4..CRC_START) {
            slot.copy_from_slice(&crc.to_be_bytes());
        }
        Ok(Bytes::from(out))
    }
}

/// Appends one record (length-prefixed) to `out`.
fn write_record(
    record: &ProduceRecord,
    offset_delta: i32,
    timestamp_delta: i64,
    out: &mut Vec<u8>,
) -> Result<(), &'static str> {
    let key_len = nullable_len(record.key.as_deref())?;
    let value_len = nullable_len(record.value.as_deref())?;
    let header_count = i32::try_from(record.headers.len()).map_err(|_| "too many headers")?;
    let mut size = 1 // attributes
        + varlong_len(timestamp_delta)
        + varint_len(offset_delta)
        + varint_len(key_len)
        + record.key.as_ref().map_or(0, Bytes::len)
        + varint_len(value_len)
        + record.value.as_ref().map_or(0, Bytes::len)
        + varint_len(header_count);
    for h in &record.headers {
        let k = nullable_len(Some(&h.key))?;
        let v = nullable_len(h.value.as_deref())?;
        size +=
            varint_len(k) + h.key.len() + varint_len(v) + h.value.as_ref().map_or(0, Bytes::len);
    }
    let size = i32::try_from(size).map_err(|_| "record over i32::MAX bytes")?;
    out.reserve(varint_len(size) + size as usize);
    write_varint(size, out);
    out.push(0);
    write_varlong(timestamp_delta, out);
    write_varint(offset_delta, out);
    write_nullable(key_len, record.key.as_deref(), out);
    write_nullable(value_len, record.value.as_deref(), out);
    write_varint(header_count, out);
    for h in &record.headers {
        write_nullable(h.key.len() as i32, Some(&h.key), out);
        write_nullable(nullable_len(h.value.as_deref())?, h.value.as_deref(), out);
    }
    Ok(())
}

/// The wire length of an optional byte string: -1 for null.
fn nullable_len(bytes: Option<&[u8]>) -> Result<i32, &'static str> {
    bytes.map_or(Ok(-1), |b| {
        i32::try_from(b.len()).map_err(|_| "field over i32::MAX bytes")
    })
}

fn write_nullable(len: i32, bytes: Option<&[u8]>, out: &mut Vec<u8>) {
    write_varint(len, out);
    if let Some(b) = bytes {
        out.extend_from_slice(b);
    }
}
