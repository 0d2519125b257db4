//! Unit and property tests of the record-batch codec, on crafted batches.

use bytes::Bytes;
use proptest::prelude::*;

use super::header::CRC_START;
use super::varint::{
    read_varint, read_varlong, varint_len, varlong_len, write_varint, write_varlong,
};
use super::*;

const TS: i64 = 1_700_000_000_000;

fn rec(value: &str) -> ProduceRecord {
    ProduceRecord::new(value.to_owned()).with_timestamp(TS)
}

/// A plain batch of `values` at `base`.
fn batch(base: i64, values: &[&str]) -> Bytes {
    RecordBatchBuilder::new(base)
        .with_records(values.iter().map(|v| rec(v)))
        .finish()
        .unwrap()
}

/// A transactional batch of `n` records of producer `pid` at `base`.
fn txn_batch(base: i64, pid: i64, n: usize) -> Bytes {
    RecordBatchBuilder::new(base)
        .with_producer(pid, 0, 0)
        .transactional(true)
        .with_records((0..n).map(|i| rec(&format!("p{pid}-{i}"))))
        .finish()
        .unwrap()
}

/// A transaction marker of producer `pid` at `offset`.
fn marker(offset: i64, pid: i64, kind: ControlRecordType) -> Bytes {
    RecordBatchBuilder::new(offset)
        .with_producer(pid, 0, -1)
        .transactional(true)
        .control(true)
        .with_record(encode_control_record(kind, 3, TS))
        .finish()
        .unwrap()
}

fn concat(parts: &[&Bytes]) -> Bytes {
    parts
        .iter()
        .flat_map(|b| b.iter().copied())
        .collect::<Vec<u8>>()
        .into()
}

fn decode(
    data: &Bytes,
    opts: &DecodeOptions,
) -> Result<(Vec<Record>, DecodeSummary), RecordsError> {
    let mut out = Vec::new();
    let summary = decode_record_batches(data, opts, &mut out)?;
    assert_eq!(summary.records, out.len());
    // The fetcher's header walk reaches the same position without decoding.
    let scan = scan_record_batches(data).unwrap();
    assert_eq!(
        (scan.next_offset, scan.truncated_tail, scan.bytes),
        (summary.next_offset, summary.truncated_tail, summary.bytes)
    );
    Ok((out, summary))
}

fn offsets(records: &[Record]) -> Vec<i64> {
    records.iter().map(|r| r.offset).collect()
}

fn values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.as_deref().unwrap_or_default().to_vec()).unwrap())
        .collect()
}

/// Rewrites `batch_length` and the CRC after a test edited a batch's bytes.
fn reseal(mut batch: Vec<u8>) -> Bytes {
    let len = i32::try_from(batch.len() - 12).unwrap();
    batch[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch.into()
}

// ---------------------------------------------------------------- varints

#[test]
fn varint_known_encodings() {
    let cases: [(i32, &[u8]); 6] = [
        (0, &[0x00]),
        (-1, &[0x01]),
        (1, &[0x02]),
        (63, &[0x7e]),
        (-65, &[0x81, 0x01]),
        (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for (value, bytes) in cases {
        let mut out = Vec::new();
        write_varint(value, &mut out);
        assert_eq!(out, bytes, "{value}");
        assert_eq!(varint_len(value), bytes.len());
        let mut pos = 0;
        assert_eq!(read_varint(bytes, &mut pos), Some(value));
        assert_eq!(pos, bytes.len());
    }
    // Truncated, and longer than 5 bytes.
    assert_eq!(read_varint(&[0x80], &mut 0), None);
    assert_eq!(
        read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], &mut 0),
        None
    );
    assert_eq!(read_varlong(&[0x80; 11], &mut 0), None);
}

proptest! {
    #[test]
    fn varint_round_trip(v in any::<i32>()) {
        let mut out = Vec::new();
        write_varint(v, &mut out);
        prop_assert_eq!(out.len(), varint_len(v));
        let mut pos = 0;
        prop_assert_eq!(read_varint(&out, &mut pos), Some(v));
        prop_assert_eq!(pos, out.len());
    }

    #[test]
    fn varlong_round_trip(v in any::<i64>()) {
        let mut out = Vec::new();
        write_varlong(v, &mut out);
        prop_assert_eq!(out.len(), varlong_len(v));
        let mut pos = 0;
        prop_assert_eq!(read_varlong(&out, &mut pos), Some(v));
        prop_assert_eq!(pos, out.len());
    }
}

// ---------------------------------------------------------------- round trip

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_record() -> impl Strategy<Value = ProduceRecord> {
    (
        proptest::option::of(arb_bytes(40)),
        proptest::option::of(arb_bytes(300)),
        proptest::collection::vec(
            ("[a-z-]{0,12}", proptest::option::of(arb_bytes(20)))
                .prop_map(|(k, v)| RecordHeader::new(k, v)),
            0..4,
        ),
        any::<i64>(),
    )
        .prop_map(|(key, value, headers, ts)| ProduceRecord {
            key,
            value,
            headers,
            timestamp: Some(ts),
        })
}

fn arb_codec() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn batches_round_trip(
        records in proptest::collection::vec(arb_record(), 0..40),
        codec in arb_codec(),
        base in 0..i64::MAX / 2,
    ) {
        let data = RecordBatchBuilder::new(base)
            .with_compression(codec)
            .with_records(records.clone())
            .finish()
            .unwrap();
        let (out, summary) = decode(&data, &DecodeOptions::default()).unwrap();
        let expected: Vec<Record> = records
            .iter()
            .zip(base..)
            .map(|(r, offset)| Record {
                offset,
                timestamp: r.timestamp.unwrap(),
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r.headers.clone(),
            })
            .collect();
        prop_assert_eq!(out, expected);
        let n = i64::try_from(records.len()).unwrap();
        prop_assert_eq!(summary.next_offset, Some(base + n.max(1)));
        prop_assert_eq!(summary.batches, 1);
        prop_assert_eq!(summary.bytes, data.len());
        prop_assert!(!summary.truncated_tail);
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_record_batches(&Bytes::from(data), &DecodeOptions::default(), &mut Vec::new());
    }

    /// Damage a valid batch anywhere after its header and fix the CRC up, so the damage
    /// reaches the record parser and the decompressors.
    #[test]
    fn damaged_batches_never_panic(
        records in proptest::collection::vec(arb_record(), 1..8),
        codec in arb_codec(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        read_committed in any::<bool>(),
    ) {
        let data = RecordBatchBuilder::new(7)
            .with_compression(codec)
            .with_records(records)
            .finish()
            .unwrap();
        let mut bytes = data.to_vec();
        for (at, byte) in edits {
            let i = 21 + at.index(bytes.len() - 21);
            bytes[i] = byte;
        }
        let bytes = reseal(bytes);
        let opts = DecodeOptions {
            read_committed,
            aborted_transactions: vec![AbortedTransaction { producer_id: -1, first_offset: 0 }],
            ..DecodeOptions::default()
        };
        let _ = decode_record_batches(&bytes, &opts, &mut Vec::new());
        let cut = bytes.slice(..cut.index(bytes.len()));
        let _ = decode_record_batches(&cut, &opts, &mut Vec::new());
    }
}

#[test]
fn round_trip_every_codec_with_headers_and_nulls() {
    let records = vec![
        ProduceRecord::new("v0")
            .with_key("k0")
            .with_header("h", Some(Bytes::from_static(b"1")))
            .with_header("h", None)
            .with_timestamp(TS),
        ProduceRecord {
            key: None,
            value: None,
            headers: vec![],
            timestamp: Some(TS - 5),
        },
        ProduceRecord::new(vec![b'x'; 100_000]).with_timestamp(TS + 9),
    ];
    for codec in Compression::ALL {
        let data = RecordBatchBuilder::new(40)
            .with_compression(codec)
            .with_records(records.clone())
            .finish()
            .unwrap();
        let header = BatchHeader::parse(&data).unwrap().unwrap();
        assert_eq!(header.compression().unwrap(), codec);
        let (out, summary) = decode(&data, &DecodeOptions::default()).unwrap();
        assert_eq!(offsets(&out), [40, 41, 42], "{codec}");
        assert_eq!(out[0].key.as_deref(), Some(&b"k0"[..]));
        assert_eq!(out[0].headers.len(), 2);
        assert_eq!(out[0].headers[0].key_str(), Some("h"));
        assert_eq!(out[0].headers[0].value.as_deref(), Some(&b"1"[..]));
        assert_eq!(out[0].headers[1].value, None);
        assert_eq!((out[1].key.clone(), out[1].value.clone()), (None, None));
        assert_eq!(out[1].timestamp, TS - 5);
        assert_eq!(out[2].value.as_ref().map(Bytes::len), Some(100_000));
        assert_eq!(out[2].timestamp, TS + 9);
        assert_eq!(summary.next_offset, Some(43));
    }
}

#[test]
fn uncompressed_payloads_are_slices_of_the_fetched_buffer() {
    let data = batch(0, &["hello", "world"]);
    let (out, _) = decode(&data, &DecodeOptions::default()).unwrap();
    let range = data.as_ptr_range();
    for r in &out {
        let v = r.value.as_ref().unwrap();
        assert!(range.contains(&v.as_ptr()), "value was copied");
    }
    assert_eq!(values(&out), ["hello", "world"]);
}

#[test]
fn batch_header_fields() {
    let data = RecordBatchBuilder::new(1000)
        .with_producer(42, 3, 17)
        .transactional(true)
        .with_partition_leader_epoch(5)
        .with_compression(Compression::Snappy)
        .with_records([rec("a"), rec("b").with_timestamp(TS + 10)])
        .finish()
        .unwrap();
    let h = BatchHeader::parse(&data).unwrap().unwrap();
    assert_eq!(h.base_offset, 1000);
    assert_eq!(h.total_len(), data.len());
    assert_eq!(h.partition_leader_epoch, 5);
    assert_eq!(h.magic, 2);
    assert_eq!(h.last_offset_delta, 1);
    assert_eq!((h.base_timestamp, h.max_timestamp), (TS, TS + 10));
    assert_eq!(
        (h.producer_id, h.producer_epoch, h.base_sequence),
        (42, 3, 17)
    );
    assert_eq!(h.record_count, 2);
    assert_eq!(h.compression().unwrap(), Compression::Snappy);
    assert!(h.is_transactional() && !h.is_control());
    assert_eq!(h.timestamp_type(), TimestampType::CreateTime);
    assert_eq!((h.last_offset(), h.next_offset()), (1001, 1002));
    assert_eq!(BatchHeader::parse(&data[..60]).unwrap(), None);
    assert_eq!(BatchHeader::parse(&[]).unwrap(), None);
}

#[test]
fn compression_names() {
    for codec in Compression::ALL {
        assert_eq!(codec.to_string().parse::<Compression>().unwrap(), codec);
        assert_eq!(Compression::from_id(codec.id()), Some(codec));
    }
    assert_eq!("ZSTD".parse::<Compression>().unwrap(), Compression::Zstd);
    assert!("brotli".parse::<Compression>().is_err());
    assert_eq!(Compression::from_id(5), None);
}

// ---------------------------------------------------------------- positions and control

#[test]
fn control_batch_at_end_of_range_advances_next_offset() {
    let data = concat(&[
        &txn_batch(0, 7, 3),
        &marker(3, 7, ControlRecordType::Commit),
    ]);
    let opts = DecodeOptions::new(0).with_end_offset(4);
    let (out, summary) = decode(&data, &opts).unwrap();
    assert_eq!(offsets(&out), [0, 1, 2]);
    assert_eq!(summary.next_offset, Some(4));
    assert_eq!(summary.control_records, 1);
    assert_eq!(summary.batches, 2);
    assert_eq!(summary.bytes, data.len());
    assert!(!summary.truncated_tail);
}

#[test]
fn fetch_of_only_a_control_batch_advances() {
    let data = marker(10, 7, ControlRecordType::Abort);
    for read_committed in [false, true] {
        let opts = DecodeOptions {
            read_committed,
            ..DecodeOptions::new(10)
        };
        let (out, summary) = decode(&data, &opts).unwrap();
        assert!(out.is_empty());
        assert_eq!(summary.next_offset, Some(11));
        assert_eq!((summary.batches, summary.control_records), (1, 1));
    }
}

#[test]
fn control_record_keys() {
    for kind in [ControlRecordType::Abort, ControlRecordType::Commit] {
        let r = encode_control_record(kind, 9, TS);
        assert_eq!(
            parse_control_record_key(r.key.as_deref().unwrap()),
            Some(kind)
        );
        assert_eq!(r.value.as_deref(), Some(&[0, 0, 0, 0, 0, 9][..]));
    }
    assert_eq!(parse_control_record_key(&[0, 0, 0]), None);
    // A later key version is read as version 0, with whatever follows the type ignored.
    assert_eq!(
        parse_control_record_key(&[0, 1, 0, 0]),
        Some(ControlRecordType::Abort)
    );
    assert_eq!(
        parse_control_record_key(&[0, 7, 0, 1, 9, 9]),
        Some(ControlRecordType::Commit)
    );
    assert_eq!(parse_control_record_key(&[0, 0, 0, 2]), None);
}

/// Offsets: 0-1 txn of producer 5 (aborted), 2 plain, 3 ABORT(5), 4-5 txn of producer 5
/// (committed), 6-7 txn of producer 9 (committed), 8 COMMIT(5), 9 COMMIT(9).
fn transactions() -> Bytes {
    concat(&[
        &txn_batch(0, 5, 2),
        &batch(2, &["plain"]),
        &marker(3, 5, ControlRecordType::Abort),
        &txn_batch(4, 5, 2),
        &txn_batch(6, 9, 2),
        &marker(8, 5, ControlRecordType::Commit),
        &marker(9, 9, ControlRecordType::Commit),
    ])
}

#[test]
fn aborted_transaction_dropped_under_read_committed() {
    let aborted = vec![AbortedTransaction {
        producer_id: 5,
        first_offset: 0,
    }];
    let opts = DecodeOptions::new(0).with_read_committed(aborted);
    let (out, summary) = decode(&transactions(), &opts).unwrap();
    assert_eq!(offsets(&out), [2, 4, 5, 6, 7]);
    assert_eq!(values(&out), ["plain", "p5-0", "p5-1", "p9-0", "p9-1"]);
    assert_eq!(summary.aborted_records, 2);
    assert_eq!(summary.control_records, 3);
    assert_eq!(summary.next_offset, Some(10));
}

#[test]
fn abort_markers_with_a_later_key_version_still_end_the_transaction() {
    // The abort marker's key says version 1 (a newer broker): read as version 0, it still ends
    // producer 5's aborted transaction, so its next, committed one (4-5) is kept.
    let mut abort = encode_control_record(ControlRecordType::Abort, 3, TS);
    let mut key = abort.key.take().unwrap().to_vec();
    key[..2].copy_from_slice(&1i16.to_be_bytes());
    key.extend_from_slice(&[0xAB; 3]);
    abort.key = Some(key.into());
    let v1_marker = RecordBatchBuilder::new(3)
        .with_producer(5, 0, -1)
        .transactional(true)
        .control(true)
        .with_record(abort)
        .finish()
        .unwrap();
    let data = concat(&[
        &txn_batch(0, 5, 2),
        &batch(2, &["plain"]),
        &v1_marker,
        &txn_batch(4, 5, 2),
        &marker(6, 5, ControlRecordType::Commit),
    ]);
    let aborted = vec![AbortedTransaction {
        producer_id: 5,
        first_offset: 0,
    }];
    let opts = DecodeOptions::new(0).with_read_committed(aborted);
    let (out, summary) = decode(&data, &opts).unwrap();
    assert_eq!(offsets(&out), [2, 4, 5]);
    assert_eq!(summary.aborted_records, 2);
}

#[test]
fn aborted_transaction_kept_under_read_uncommitted() {
    let opts = DecodeOptions {
        aborted_transactions: vec![AbortedTransaction {
            producer_id: 5,
            first_offset: 0,
        }],
        ..DecodeOptions::new(0)
    };
    let (out, summary) = decode(&transactions(), &opts).unwrap();
    assert_eq!(offsets(&out), [0, 1, 2, 4, 5, 6, 7]);
    assert_eq!(summary.aborted_records, 0);
    assert_eq!(summary.control_records, 3);
}

#[test]
fn committed_transaction_kept_under_read_committed() {
    // Producer 9's transaction is reported aborted only from offset 100 on: not this one.
    let aborted = vec![AbortedTransaction {
        producer_id: 9,
        first_offset: 100,
    }];
    let opts = DecodeOptions::new(0).with_read_committed(aborted);
    let data = concat(&[
        &txn_batch(0, 9, 3),
        &marker(3, 9, ControlRecordType::Commit),
    ]);
    let (out, summary) = decode(&data, &opts).unwrap();
    assert_eq!(offsets(&out), [0, 1, 2]);
    assert_eq!((summary.aborted_records, summary.next_offset), (0, Some(4)));
}

#[test]
fn aborted_transaction_begun_before_the_fetch_position() {
    // The fetch starts mid-transaction: the broker reports a first offset before the data.
    let aborted = vec![AbortedTransaction {
        producer_id: 5,
        first_offset: 10,
    }];
    let data = concat(&[
        &txn_batch(20, 5, 2),
        &batch(22, &["x"]),
        &marker(23, 5, ControlRecordType::Abort),
    ]);
    let opts = DecodeOptions::new(20).with_read_committed(aborted);
    let (out, summary) = decode(&data, &opts).unwrap();
    assert_eq!(offsets(&out), [22]);
    assert_eq!(summary.aborted_records, 2);
    assert_eq!(summary.next_offset, Some(24));
}

#[test]
fn compaction_gaps_and_empty_batches() {
    let gappy = RecordBatchBuilder::new(100)
        .with_records([rec("a"), rec("b"), rec("c")])
        .with_offset_deltas(vec![0, 3, 7])
        .with_last_offset_delta(9)
        .finish()
        .unwrap();
    // Compaction keeps emptied batches of transactional producers: no records, offsets used.
    let empty = RecordBatchBuilder::new(110)
        .with_last_offset_delta(4)
        .finish()
        .unwrap();
    let data = concat(&[&gappy, &empty, &batch(115, &["d"])]);
    let (out, summary) = decode(&data, &DecodeOptions::default()).unwrap();
    assert_eq!(offsets(&out), [100, 103, 107, 115]);
    assert_eq!(summary.next_offset, Some(116));
    assert_eq!(summary.batches, 3);

    let (out, summary) = decode(&concat(&[&gappy, &empty]), &DecodeOptions::default()).unwrap();
    assert_eq!(offsets(&out), [100, 103, 107]);
    assert_eq!(summary.next_offset, Some(115));
}

#[test]
fn start_offset_inside_a_batch() {
    let data = concat(&[&batch(0, &["a", "b", "c"]), &batch(3, &["d", "e"])]);
    let (out, summary) = decode(&data, &DecodeOptions::new(1)).unwrap();
    assert_eq!(offsets(&out), [1, 2, 3, 4]);
    assert_eq!(summary.next_offset, Some(5));
    // A batch wholly before the start is skipped, still advancing.
    let (out, summary) = decode(&data, &DecodeOptions::new(3)).unwrap();
    assert_eq!(values(&out), ["d", "e"]);
    assert_eq!(summary.next_offset, Some(5));
}

#[test]
fn end_offset_inside_a_batch() {
    let data = concat(&[&batch(0, &["a", "b", "c"]), &batch(3, &["d", "e"])]);
    let (out, summary) = decode(&data, &DecodeOptions::new(0).with_end_offset(2)).unwrap();
    assert_eq!(offsets(&out), [0, 1]);
    // The position still moves past every complete batch; the caller stops on it.
    assert_eq!(summary.next_offset, Some(5));
    let (out, _) = decode(&data, &DecodeOptions::new(1).with_end_offset(4)).unwrap();
    assert_eq!(values(&out), ["b", "c", "d"]);
    let (out, _) = decode(&data, &DecodeOptions::new(1).with_end_offset(2)).unwrap();
    assert_eq!(values(&out), ["b"]);
}

#[test]
fn log_append_time_uses_max_timestamp() {
    let data = RecordBatchBuilder::new(0)
        .with_records([rec("a"), rec("b").with_timestamp(TS + 50)])
        .with_log_append_time(TS + 1000)
        .with_compression(Compression::Gzip)
        .finish()
        .unwrap();
    let h = BatchHeader::parse(&data).unwrap().unwrap();
    assert_eq!(h.timestamp_type(), TimestampType::LogAppendTime);
    let (out, _) = decode(&data, &DecodeOptions::default()).unwrap();
    assert_eq!(
        out.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        [TS + 1000; 2]
    );
    // CreateTime: base + delta, deltas may be negative.
    let data = RecordBatchBuilder::new(0)
        .with_records([rec("a"), rec("b").with_timestamp(TS - 50)])
        .finish()
        .unwrap();
    let (out, _) = decode(&data, &DecodeOptions::default()).unwrap();
    assert_eq!(
        out.iter().map(|r| r.timestamp).collect::<Vec<_>>(),
        [TS, TS - 50]
    );
}

// ---------------------------------------------------------------- truncation and corruption

#[test]
fn truncated_tail_at_every_byte() {
    let first = concat(&[&batch(0, &["a", "b"]), &batch(2, &["c"])]);
    let last = RecordBatchBuilder::new(3)
        .with_compression(Compression::Zstd)
        .with_records([rec("d"), rec("e")])
        .finish()
        .unwrap();
    let data = concat(&[&first, &last]);
    for cut in first.len()..data.len() {
        let (out, summary) = decode(&data.slice(..cut), &DecodeOptions::default()).unwrap();
        assert_eq!(values(&out), ["a", "b", "c"], "cut at {cut}");
        assert_eq!(summary.next_offset, Some(3));
        assert_eq!(summary.truncated_tail, cut > first.len(), "cut at {cut}");
        assert_eq!(summary.bytes, first.len());
    }
    // Cut inside the first batch: nothing complete.
    for cut in 1..batch(0, &["a", "b"]).len() {
        let (out, summary) = decode(&data.slice(..cut), &DecodeOptions::default()).unwrap();
        assert!(out.is_empty());
        assert_eq!((summary.next_offset, summary.truncated_tail), (None, true));
    }
    let (_, summary) = decode(&Bytes::new(), &DecodeOptions::default()).unwrap();
    assert_eq!(summary, DecodeSummary::default());
}

#[test]
fn crc_mismatch_names_the_batch() {
    let good = batch(0, &["a"]);
    let bad = batch(1, &["b", "c"]);
    for i in 17..bad.len() {
        let mut flipped = bad.to_vec();
        flipped[i] ^= 0x40;
        let data = concat(&[&good, &Bytes::from(flipped)]);
        let mut out = Vec::new();
        match decode_record_batches(&data, &DecodeOptions::default(), &mut out) {
            Err(RecordsError::CrcMismatch {
                base_offset: 1,
                expected,
                actual,
            }) => assert_ne!(expected, actual),
            other => panic!("byte {i}: {other:?}"),
        }
        assert_eq!(offsets(&out), [0], "earlier batches stay decoded");
    }
    let err = decode(
        &concat(&[&good, &{
            let mut b = bad.to_vec();
            b[70] ^= 1;
            Bytes::from(b)
        }]),
        &DecodeOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("offset 1"), "{err}");
}

#[test]
fn oversized_decompression_is_refused() {
    let zeros = Bytes::from(vec![0u8; 10 * 1024 * 1024]);
    for codec in [
        Compression::Zstd,
        Compression::Gzip,
        Compression::Lz4,
        Compression::Snappy,
    ] {
        let data = RecordBatchBuilder::new(77)
            .with_compression(codec)
            .with_record(ProduceRecord::new(zeros.clone()).with_timestamp(TS))
            .finish()
            .unwrap();
        assert!(data.len() < 1024 * 1024, "{codec}: {}", data.len());
        let opts = DecodeOptions::default().with_max_decompressed_bytes(1024 * 1024);
        match decode(&data, &opts) {
            Err(RecordsError::DecompressedTooLarge {
                base_offset: 77,
                limit: 1_048_576,
            }) => {}
            other => panic!("{codec}: {other:?}"),
        }
        let (out, _) = decode(&data, &DecodeOptions::default()).unwrap();
        assert_eq!(
            out[0].value.as_ref().map(Bytes::len),
            Some(zeros.len()),
            "{codec}"
        );
    }
}

#[test]
fn legacy_magic_is_unsupported() {
    // A v1 message: offset, size, crc, magic 1, attributes, timestamp, null key, value "x".
    let mut msg = Vec::new();
    msg.extend_from_slice(&42i64.to_be_bytes());
    msg.extend_from_slice(&23i32.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    msg.push(1);
    msg.push(0);
    msg.extend_from_slice(&TS.to_be_bytes());
    msg.extend_from_slice(&(-1i32).to_be_bytes());
    msg.extend_from_slice(&1i32.to_be_bytes());
    msg.push(b'x');
    let msg = Bytes::from(msg);
    for data in [msg.clone(), msg.slice(..17)] {
        match decode(&data, &DecodeOptions::default()) {
            Err(RecordsError::UnsupportedMagic {
                base_offset: 42,
                magic: 1,
            }) => {}
            other => panic!("{other:?}"),
        }
    }
    // Only the magic byte decides: 16 bytes are still a truncated tail.
    let (_, summary) = decode(&msg.slice(..16), &DecodeOptions::default()).unwrap();
    assert!(summary.truncated_tail);
}

#[test]
fn record_count_must_match_the_records() {
    let good = batch(5, &["a", "b"]);
    // Header says 3 records, 2 present.
    let mut more = good.to_vec();
    more[57..61].copy_from_slice(&3i32.to_be_bytes());
    // Header says 1 record, 2 present.
    let mut fewer = good.to_vec();
    fewer[57..61].copy_from_slice(&1i32.to_be_bytes());
    // A stray byte after the last record.
    let mut extra = good.to_vec();
    extra.push(0);
    for bytes in [more, fewer, extra] {
        match decode(&reseal(bytes), &DecodeOptions::default()) {
            Err(RecordsError::Corrupt { base_offset: 5, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn record_length_must_match_its_fields() {
    // One record whose length claims a byte more than its fields take.
    let good = batch(9, &["ab"]);
    let mut bytes = good.to_vec();
    let record_len = usize::from(bytes[61] / 2); // zigzag, one byte
    bytes[61] += 2;
    bytes.insert(62 + record_len, 0);
    match decode(&reseal(bytes), &DecodeOptions::default()) {
        Err(RecordsError::Corrupt {
            base_offset: 9,
            reason,
        }) => {
            assert_eq!(reason, "record length does not match its fields");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_codec_and_bad_lengths() {
    let mut bytes = batch(3, &["a"]).to_vec();
    bytes[22] |= 0x07; // codec id 7
    match decode(&reseal(bytes), &DecodeOptions::default()) {
        Err(RecordsError::UnsupportedCompression {
            base_offset: 3,
            codec: 7,
        }) => {}
        other => panic!("{other:?}"),
    }
    let mut bytes = batch(4, &["a"]).to_vec();
    bytes[8..12].copy_from_slice(&10i32.to_be_bytes());
    match decode(&Bytes::from(bytes), &DecodeOptions::default()) {
        Err(RecordsError::Corrupt { base_offset: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Damaged compressed data: the codec's error, naming the batch.
    let mut bytes = RecordBatchBuilder::new(6)
        .with_compression(Compression::Gzip)
        .with_record(rec("hello"))
        .finish()
        .unwrap()
        .to_vec();
    let n = bytes.len();
    bytes[n - 12] ^= 0xff;
    match decode(&reseal(bytes), &DecodeOptions::default()) {
        Err(RecordsError::Decompression {
            base_offset: 6,
            codec: Compression::Gzip,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn raw_snappy_without_xerial_framing() {
    let plain = batch(12, &["raw", "snappy"]);
    let section = snap::raw::Encoder::new()
        .compress_vec(&plain[61..])
        .unwrap();
    let mut bytes = plain[..61].to_vec();
    bytes[22] |= Compression::Snappy.id();
    bytes.extend_from_slice(&section);
    let (out, _) = decode(&reseal(bytes), &DecodeOptions::default()).unwrap();
    assert_eq!(values(&out), ["raw", "snappy"]);
    // The encoder writes xerial framing, as the Java producer does.
    let framed = RecordBatchBuilder::new(0)
        .with_compression(Compression::Snappy)
        .with_record(rec("x"))
        .finish()
        .unwrap();
    assert_eq!(&framed[61..69], b"\x82SNAPPY\x00");
}

#[test]
fn builder_rejects_bad_offset_deltas() {
    let two = || RecordBatchBuilder::new(0).with_records([rec("a"), rec("b")]);
    assert!(matches!(
        two().with_offset_deltas(vec![0]).finish(),
        Err(RecordsError::Encode { .. })
    ));
    assert!(two().with_offset_deltas(vec![2, 1]).finish().is_err());
    assert!(two().with_last_offset_delta(0).finish().is_err());
}

// ---------------------------------------------------------------- kafka-protocol interop

#[test]
fn kafka_protocol_reads_our_batches() {
    use kafka_protocol::records::RecordBatchDecoder;
    let data = RecordBatchBuilder::new(50)
        .with_producer(8, 1, 0)
        .with_records([
            rec("a")
                .with_key("k")
                .with_header("h", Some(Bytes::from_static(b"v"))),
            rec("b").with_timestamp(TS + 1),
        ])
        .finish()
        .unwrap();
    let sets = RecordBatchDecoder::decode_all(&mut data.clone()).unwrap();
    let records = &sets[0].records;
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].offset, records[1].offset), (50, 51));
    assert_eq!(records[0].key.as_deref(), Some(&b"k"[..]));
    assert_eq!(records[1].value.as_deref(), Some(&b"b"[..]));
    assert_eq!(records[1].timestamp, TS + 1);
    assert_eq!(records[0].producer_id, 8);
    assert_eq!(records[0].headers.len(), 1);
}

#[test]
fn we_read_kafka_protocol_batches() {
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records as kp;
    let records: Vec<kp::Record> = (0..3)
        .map(|i| {
            let mut headers = IndexMap::new();
            headers.insert(
                StrBytes::from_static_str("n"),
                Some(Bytes::from(vec![i as u8])),
            );
            kp::Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: kp::TimestampType::Creation,
                offset: 20 + i,
                sequence: i as i32,
                timestamp: TS + i,
                key: None,
                value: Some(Bytes::from(format!("v{i}"))),
                headers,
            }
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let opts = kp::RecordEncodeOptions {
        version: 2,
        compression: kp::Compression::None,
    };
    kp::RecordBatchEncoder::encode(&mut buf, &records, &opts).unwrap();
    let (out, summary) = decode(&buf.freeze(), &DecodeOptions::default()).unwrap();
    assert_eq!(offsets(&out), [20, 21, 22]);
    assert_eq!(values(&out), ["v0", "v1", "v2"]);
    assert_eq!(out[2].timestamp, TS + 2);
    assert_eq!(
        out[2].headers,
        [RecordHeader::new("n", Some(Bytes::from_static(&[2])))]
    );
    assert_eq!(summary.next_offset, Some(23));
}

#[test]
fn many_batches_under_the_per_batch_cap_cannot_add_up_past_the_total_cap() {
    // Four gzip batches of 1 MiB of zeros each: every one is under the per-batch cap of 2 MiB,
    // together they are over the total cap of 3 MiB.
    let zeros = Bytes::from(vec![0u8; 1024 * 1024]);
    let batches: Vec<Bytes> = (0..4)
        .map(|i| {
            RecordBatchBuilder::new(i)
                .with_compression(Compression::Gzip)
                .with_record(ProduceRecord::new(zeros.clone()))
                .finish()
                .unwrap()
        })
        .collect();
    let data = concat(&batches.iter().collect::<Vec<_>>());
    assert!(data.len() < 64 * 1024);
    let opts = DecodeOptions::default()
        .with_max_decompressed_bytes(2 * 1024 * 1024)
        .with_max_total_decompressed_bytes(3 * 1024 * 1024 + 1000);
    let mut out = Vec::new();
    match decode_record_batches(&data, &opts, &mut out) {
        Err(RecordsError::DecompressedTooLarge { base_offset: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
    // What came before the failing batch stays.
    assert_eq!(out.len(), 3);
    let opts = opts.with_max_total_decompressed_bytes(8 * 1024 * 1024);
    let (out, summary) = decode(&data, &opts).unwrap();
    assert_eq!(out.len(), 4);
    assert!(summary.decompressed_bytes >= 4 * 1024 * 1024);
}
