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

/// The LZ4 frame format's magic number (little-endian on the wire).
const LZ4_MAGIC: u32 = 0x184D_2204;
/// Earlier blocks a linked block may refer to.
const LZ4_WINDOW: usize = 64 * 1024;

fn lz4_error(reason: &str) -> DecompressError {
    DecompressError::Codec(io::Error::new(
        io::ErrorKind::InvalidData,
        reason.to_owned(),
    ))
}

/// Decompresses LZ4 frames (as Kafka writes them: one frame, 64 KiB blocks) block by block
/// straight into one output buffer, with no intermediate copy. Linked blocks decode with the
/// output's last 64 KiB as their dictionary. Frame and block checksums are not checked: the
/// batch's CRC-32C already covers the compressed bytes.
fn decompress_lz4(input: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    // Reserved once: what the frames' blocks can hold (a block decodes in place into room
    // for a whole block), so the output never moves while it grows.
    let mut out: Vec<u8> = Vec::with_capacity(
        lz4_capacity(input)
            .min(limit)
            .min(input.len().saturating_mul(MAX_HINT_RATIO)),
    );
    let mut rest = input;
    while !rest.is_empty() {
        rest = lz4_frame(rest, &mut out, limit)?;
    }
    Ok(out)
}

/// The largest block of a frame whose block descriptor byte is `bd`.
fn lz4_block_max(bd: u8) -> Option<usize> {
    match (bd >> 4) & 0x07 {
        4 => Some(64 * 1024),
        5 => Some(256 * 1024),
        6 => Some(1024 * 1024),
        7 => Some(4 * 1024 * 1024),
        _ => None,
    }
}

/// Room for decoding the LZ4 frames of `input` block by block: the size of each stored block
/// and the frame's block size for each compressed one, from the block headers alone. Where the
/// headers are not what [`lz4_frame`] expects, four times the input (it then fails or grows).
fn lz4_capacity(input: &[u8]) -> usize {
    let fallback = input.len().saturating_mul(4);
    let mut room = 0usize;
    let mut rest = input;
    while !rest.is_empty() {
        let Some((&[m0, m1, m2, m3, flg, bd], after)) = rest.split_first_chunk::<6>() else {
            return fallback;
        };
        if u32::from_le_bytes([m0, m1, m2, m3]) != LZ4_MAGIC {
            return fallback;
        }
        let Some(block_max) = lz4_block_max(bd) else {
            return fallback;
        };
        let skip = if flg & 0x08 != 0 { 9 } else { 1 };
        let Some(mut blocks) = after.get(skip..) else {
            return fallback;
        };
        loop {
            let Some((size, after)) = blocks.split_first_chunk::<4>() else {
                return fallback;
            };
            let size = u32::from_le_bytes(*size);
            if size == 0 {
                blocks = after;
                break;
            }
            let len = (size & 0x7FFF_FFFF) as usize;
            room = room.saturating_add(if size & 0x8000_0000 != 0 {
                len
            } else {
                block_max
            });
            let checksum = if flg & 0x10 != 0 { 4 } else { 0 };
            let Some(after) = after.get(len + checksum..) else {
                return fallback;
            };
            blocks = after;
        }
        let checksum = if flg & 0x04 != 0 { 4 } else { 0 };
        let Some(after) = blocks.get(checksum..) else {
            return fallback;
        };
        rest = after;
    }
    room
}

/// Decodes the frame at the start of `input` into `out`; returns what follows it.
fn lz4_frame<'a>(
    input: &'a [u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<&'a [u8], DecompressError> {
    let take = |input: &'a [u8], n: usize| -> Result<(&'a [u8], &'a [u8]), DecompressError> {
        (input.len() >= n)
            .then(|| input.split_at(n))
            .ok_or_else(|| lz4_error("LZ4 frame ends early"))
    };
    let (magic, input) = take(input, 4)?;
    if u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) != LZ4_MAGIC {
        return Err(lz4_error("not an LZ4 frame (wrong magic number)"));
    }
    let (descriptor, mut input) = take(input, 2)?;
    let (flg, bd) = (descriptor[0], descriptor[1]);
    if flg >> 6 != 0b01 {
        return Err(lz4_error("unsupported LZ4 frame version"));
    }
    let independent = flg & 0x20 != 0;
    let block_checksum = flg & 0x10 != 0;
    let content_size = flg & 0x08 != 0;
    let content_checksum = flg & 0x04 != 0;
    let dictionary = flg & 0x01 != 0;
    if dictionary {
        return Err(lz4_error(
            "LZ4 frames with a dictionary id are not supported",
        ));
    }
    let block_max = lz4_block_max(bd).ok_or_else(|| lz4_error("invalid LZ4 block size"))?;
    if content_size {
        input = take(input, 8)?.1;
    }
    // The header checksum byte.
    input = take(input, 1)?.1;
    loop {
        let (size, next) = take(input, 4)?;
        input = next;
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
        if size == 0 {
            break;
        }
        let stored = size & 0x8000_0000 != 0;
        let len = (size & 0x7FFF_FFFF) as usize;
        if len > block_max {
            return Err(lz4_error("LZ4 block larger than the frame's block size"));
        }
        let (block, next) = take(input, len)?;
        input = next;
        if block_checksum {
            input = take(input, 4)?.1;
        }
        let start = out.len();
        if stored {
            if start + len > limit {
                return Err(DecompressError::TooLarge);
            }
            out.extend_from_slice(block);
            continue;
        }
        if start + block_max > limit {
            // The block may still fit: decode it into what is left under the cap.
            let room = limit.saturating_sub(start);
            out.resize(start + room, 0);
        } else {
            out.resize(start + block_max, 0);
        }
        let (before, after) = out.split_at_mut(start);
        let written = if independent || before.is_empty() {
            lz4_flex::block::decompress_into(block, after)
        } else {
            let dict = &before[before.len().saturating_sub(LZ4_WINDOW)..];
            lz4_flex::block::decompress_into_with_dict(block, after, dict)
        };
        match written {
            Ok(n) => out.truncate(start + n),
            Err(lz4_flex::block::DecompressError::OutputTooSmall { .. })
                if start + block_max > limit =>
            {
                return Err(DecompressError::TooLarge);
            }
            Err(e) => return Err(lz4_error(&format!("LZ4 block: {e}"))),
        }
    }
    if content_checksum {
        input = take(input, 4)?.1;
    }
    Ok(input)
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
        Compression::Lz4 => decompress_lz4(input, limit),
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

#[cfg(test)]
mod tests {
    use lz4_flex::frame::{BlockMode, BlockSize, FrameEncoder, FrameInfo};

    use super::*;

    /// Text that repeats across 64 KiB blocks, so linked blocks refer back to earlier ones.
    fn text(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| {
                b"the quick brown fox jumps over the lazy dog 0123456789"[i % 53] ^ (i / 7000) as u8
            })
            .collect()
    }

    fn lz4(data: &[u8], info: FrameInfo) -> Vec<u8> {
        let mut enc = FrameEncoder::with_frame_info(info, Vec::new());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn lz4_frames_of_every_shape_decode_block_by_block() {
        let data = text(300_000);
        for mode in [BlockMode::Independent, BlockMode::Linked] {
            for size in [BlockSize::Max64KB, BlockSize::Max256KB, BlockSize::Max4MB] {
                for checksums in [false, true] {
                    let info = FrameInfo::new()
                        .block_mode(mode)
                        .block_size(size)
                        .block_checksums(checksums)
                        .content_checksum(checksums)
                        .content_size(checksums.then_some(data.len() as u64));
                    let frame = lz4(&data, info);
                    let out = decompress(Compression::Lz4, &frame, usize::MAX).unwrap();
                    assert!(out == data, "{mode:?} {size:?} {checksums}");
                    // Reserved once from the block headers: the output never grew (unless
                    // the headers claim more than the cap on guesses, as 4 MiB blocks of
                    // this very compressible text do).
                    let room = lz4_capacity(&frame);
                    assert!(room >= data.len() && room < data.len() + 2 * 4 * 1024 * 1024);
                    if room <= frame.len() * MAX_HINT_RATIO {
                        assert_eq!(out.capacity(), room, "{mode:?} {size:?} {checksums}");
                    }
                    // Two frames in a row are one stream.
                    let twice = [frame.clone(), frame].concat();
                    let out = decompress(Compression::Lz4, &twice, usize::MAX).unwrap();
                    assert_eq!(out.len(), 2 * data.len());
                }
            }
        }
        // Incompressible data is stored in uncompressed blocks.
        let noise: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let frame = lz4(&noise, FrameInfo::new());
        assert!(decompress(Compression::Lz4, &frame, usize::MAX).unwrap() == noise);
        // Headers that are not an LZ4 frame's leave the guess at four times the input.
        assert_eq!(lz4_capacity(b"not lz4 at all"), 4 * 14);
        assert_eq!(
            lz4_capacity(&frame[..frame.len() - 3]),
            4 * (frame.len() - 3)
        );
    }

    #[test]
    fn lz4_output_is_capped_and_broken_frames_are_errors() {
        let data = vec![0u8; 1_000_000];
        let frame = lz4(&data, FrameInfo::new());
        assert!(matches!(
            decompress(Compression::Lz4, &frame, 999_999),
            Err(DecompressError::TooLarge)
        ));
        assert_eq!(
            decompress(Compression::Lz4, &frame, 1_000_000)
                .unwrap()
                .len(),
            1_000_000
        );
        for cut in [0, 3, 6, 7, 20, frame.len() - 1] {
            assert!(
                matches!(
                    decompress(Compression::Lz4, &frame[..cut.max(1)], usize::MAX),
                    Err(DecompressError::Codec(_))
                ),
                "cut at {cut}"
            );
        }
        let mut bad = frame.clone();
        bad[0] ^= 1;
        assert!(decompress(Compression::Lz4, &bad, usize::MAX).is_err());
        let mut corrupt = frame;
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        // Corrupt compressed bytes are an error or different bytes, never a panic.
        let _ = decompress(Compression::Lz4, &corrupt, usize::MAX);
    }
}
