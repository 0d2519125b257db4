//! The record-batch decoder (`records::decode_record_batches`) on arbitrary bytes, with the
//! options a fetch uses. Errors are expected; a panic is a finding, and so is a decode that
//! succeeds where the header scan (`scan_record_batches`) disagrees with it.
//!
//! Input: one flag byte, then the `records` bytes of a fetched partition. Flags:
//! - bit 0: rewrite each complete batch's CRC-32C before decoding, so that mutated batches
//!   reach decompression and record parsing instead of stopping at the checksum;
//! - bit 1: read_committed, with the 16 bytes after the flags as one aborted transaction
//!   (producer id, first offset; big-endian);
//! - bit 2: a 4 KiB decompression cap per batch instead of the default 64 MiB;
//! - bit 3: keep only offsets 1..100 instead of all.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use truthound_kafka_client::records::{
    AbortedTransaction, BatchHeader, DecodeOptions, decode_record_batches, scan_record_batches,
};

/// Where the CRC-32C sits in a batch header, and where the bytes it covers start.
const CRC_AT: usize = 17;
const CRC_START: usize = 21;

/// All batches of one input together decompress to at most this, so that many batches near the
/// per-batch cap stay under the fuzzer's memory limit.
const MAX_TOTAL_DECOMPRESSED: usize = 256 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut opts =
        DecodeOptions::new(i64::MIN).with_max_total_decompressed_bytes(MAX_TOTAL_DECOMPRESSED);
    if flags & 2 != 0 {
        let Some((txn, tail)) = rest.split_first_chunk::<16>() else {
            return;
        };
        let (producer, first) = txn.split_at(8);
        let aborted = AbortedTransaction {
            producer_id: i64::from_be_bytes(producer.try_into().unwrap_or_default()),
            first_offset: i64::from_be_bytes(first.try_into().unwrap_or_default()),
        };
        opts = opts.with_read_committed(vec![aborted]);
        rest = tail;
    }
    if flags & 4 != 0 {
        opts = opts.with_max_decompressed_bytes(4 * 1024);
    }
    if flags & 8 != 0 {
        opts.start_offset = 1;
        opts = opts.with_end_offset(100);
    }
    let mut records = rest.to_vec();
    if flags & 1 != 0 {
        fix_crcs(&mut records);
    }
    let records = Bytes::from(records);

    let mut out = Vec::new();
    let decoded = decode_record_batches(&records, &opts, &mut out);
    if let Ok(summary) = decoded {
        assert_eq!(summary.records, out.len());
        let scan = scan_record_batches(&records).expect("the scan fails where decoding succeeds");
        assert_eq!(scan.next_offset, summary.next_offset, "next offset");
        assert_eq!(scan.batches, summary.batches, "batches");
        assert_eq!(scan.bytes, summary.bytes, "bytes");
        assert_eq!(
            scan.truncated_tail, summary.truncated_tail,
            "truncated tail"
        );
        for record in &out {
            assert!(
                record.offset >= opts.start_offset,
                "record below the start offset"
            );
            assert!(
                opts.end_offset.is_none_or(|end| record.offset < end),
                "record past the end"
            );
        }
    }
});

/// Rewrites the CRC of every complete batch in `data`, walking the batches as the decoder does.
fn fix_crcs(data: &mut [u8]) {
    let mut pos = 0;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        let Ok(Some(header)) = BatchHeader::parse(rest) else {
            return;
        };
        let total = header.total_len();
        let Some(batch) = data.get_mut(pos..pos + total) else {
            return;
        };
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[CRC_AT..CRC_START].copy_from_slice(&crc.to_be_bytes());
        pos += total;
    }
}
