//! The four codecs of a record batch's records section, with a cap on the decompressed size.

use std::io::{self, Read, Write};

use super::Compression;

/// Snappy-java's stream header: magic, then version and minimum compatible version (both 1).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Snappy-java's default block size, which the Java producer writes.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// How a preallocation guess may exceed the compressed size: enough for text, while a
/// hostile size claim in a small batch cannot reserve the whole cap up front.
const MAX_HINT_RATIO: usize = 256;

/// Why decompression failed.
#[derive(Debug)]
pub(crate) enum DecompressError {
    /// The output would exceed the cap.
    TooLarge,
    /// The codec rejected the input.
    Codec(io::Error),
}

impl From<io::Error> for DecompressError {
    fn from(e: io::Error) -> Self {
        DecompressError::Codec(e)
    }
}

/// Decompresses a batch's records section, failing once the output exceeds `limit` bytes.
///
/// The output is produced incrementally (streaming decoders behind a `take`, or per-block
/// length checks for snappy), so a "zip bomb" costs at most `limit` bytes of memory.
pub(crate) fn decompress(
    codec: Compression,
    input: &[u8],
    limit: usize,
) -> Result<Vec<u8>, DecompressError> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(DecompressError::TooLarge);
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => {
            // The gzip trailer holds the uncompressed size modulo 2^32: a good first guess.
            let hint = input
                .last_chunk::<4>()
                .map_or(0, |t| u32::from_le_bytes(*t) as usize);
            read_capped(flate2::read::MultiGzDecoder::new(input), input, limit, hint)
        }
        Compression::Snappy => decompress_snappy(input, limit),
        Compression::Lz4 => read_capped(
            lz4_flex::frame::FrameDecoder::new(input),
            input,
            limit,
            input.len().saturating_mul(4),
        ),
        Compression::Zstd => {
            let hint = zstd::zstd_safe::get_frame_content_size(input)
                .ok()
                .flatten()
                .map_or(input.len().saturating_mul(4), |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                });
            read_capped(
                zstd::stream::read::Decoder::with_buffer(input)?,
                input,
                limit,
                hint,
            )
        }
    }
}

/// Reads `reader` to its end into one buffer, stopping with `TooLarge` past `limit` bytes.
fn read_capped(
    reader: impl Read,
    input: &[u8],
    limit: usize,
    hint: usize,
) -> Result<Vec<u8>, DecompressError> {
    let hint = hint
        .min(limit)
        .min(input.len().saturating_mul(MAX_HINT_RATIO));
    // One byte more than the limit, to tell "exactly at the limit" from "over it".
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(hint.saturating_add(1));
    reader.take(cap).read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge);
    }
    Ok(out)
}

/// Snappy as Kafka clients write it: xerial framing (`XERIAL_MAGIC`, then blocks of
/// `[i32 length][raw snappy block]`), or a single raw snappy block without framing.
fn decompress_snappy(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let mut decoder = snap::raw::Decoder::new();
    let mut out = Vec::new();
    if input.starts_with(&XERIAL_MAGIC) {
        let mut rest = input.get(XERIAL_HEADER_LEN..).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated xerial snappy header",
            )
        })?;
        while !rest.is_empty() {
            let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated xerial block length",
                )
            })?;
            let len = usize::try_from(i32::from_be_bytes(*len)).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "negative xerial block length")
            })?;
            if len > tail.len() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "xerial block runs past the end of the batch",
                )
                .into());
            }
            let (block, tail) = tail.split_at(len);
            snappy_block(&mut decoder, block, limit, &mut out)?;
            rest = tail;
        }
    } else {
        snappy_block(&mut decoder, input, limit, &mut out)?;
    }
    Ok(out)
}

/// Appends one raw snappy block to `out`, checking its declared size against `limit` before
/// allocating.
fn snappy_block(
    decoder: &mut snap::raw::Decoder,
    block: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecompressError> {
    let len = snap::raw::decompress_len(block).map_err(io::Error::from)?;
    let start = out.len();
    let end = start.checked_add(len).ok_or(DecompressError::TooLarge)?;
    if end > limit {
        return Err(DecompressError::TooLarge);
    }
    out.resize(end, 0);
    let dst = out.get_mut(start..).unwrap_or_default();
    let written = decoder.decompress(block, dst).map_err(io::Error::from)?;
    out.truncate(start + written);
    Ok(())
}

/// Compresses a records section with `codec`, in the framing Kafka clients expect.
pub(crate) fn compress(codec: Compression, input: &[u8]) -> io::Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(input.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(input)?;
            enc.finish()
        }
        Compression::Snappy => {
            let mut encoder = snap::raw::Encoder::new();
            let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + input.len() / 2);
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            for chunk in input.chunks(XERIAL_BLOCK_SIZE) {
                let block = encoder.compress_vec(chunk).map_err(io::Error::from)?;
                let len = i32::try_from(block.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "block too large"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        Compression::Lz4 => {
            // 64 KiB independent blocks, as the Java producer writes them.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(input)?;
            Ok(enc.finish()?)
        }
        // Level 3 is zstd's and Kafka's default.
        Compression::Zstd => zstd::bulk::compress(input, 3),
    }
}
