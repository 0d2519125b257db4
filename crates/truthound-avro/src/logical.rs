//! Avro logical types beyond what the visitor's typed events carry: decimals as `i128` or, past
//! 38 digits, as exact text; UUIDs as text.

use std::fmt::Write as _;

/// The largest decimal (unscaled two's-complement bytes) rendered as text: 1 KiB, about 2,466
/// digits, far beyond any real `precision`, and a bound on the quadratic digit conversion.
pub(crate) const MAX_DECIMAL_BYTES: usize = 1024;

/// The largest `big-decimal` scale (either sign) rendered as text, a bound on zero padding.
pub(crate) const MAX_BIG_DECIMAL_SCALE: u64 = 4096;

/// A big-endian two's complement integer (Avro's unscaled decimal) as an `i128`, when it fits
/// (empty bytes are zero).
pub(crate) fn decimal_i128(unscaled: &[u8]) -> Option<i128> {
    let negative = unscaled.first().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0 };
    // Sign bytes in front beyond 16 are allowed, as long as they only extend the sign.
    let cut = unscaled.len().saturating_sub(16);
    let (head, tail) = unscaled.split_at(cut);
    if head.iter().any(|&b| b != fill) {
        return None;
    }
    if let Some(&first) = tail.first()
        && !head.is_empty()
        && (first & 0x80 != 0) != negative
    {
        return None;
    }
    let mut bytes = [fill; 16];
    bytes[16 - tail.len()..].copy_from_slice(tail);
    Some(i128::from_be_bytes(bytes))
}

/// 16 bytes as a lowercase hyphenated UUID (`8-4-4-4-12` hex digits).
pub(crate) fn uuid_text(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The exact decimal text of `unscaled × 10^-scale`, where `unscaled` is a big-endian two's
/// complement integer (as Avro's `decimal` and `big-decimal` store it): `"-12.340"` for
/// `-12340` with scale 3. Empty bytes are zero.
///
/// # Errors
/// A reason when `unscaled` is longer than [`MAX_DECIMAL_BYTES`].
pub(crate) fn decimal_text(unscaled: &[u8], scale: i64) -> Result<String, String> {
    if unscaled.len() > MAX_DECIMAL_BYTES {
        return Err(format!(
            "decimal of {} bytes exceeds the {MAX_DECIMAL_BYTES}-byte limit",
            unscaled.len()
        ));
    }
    let negative = unscaled.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = unscaled.to_vec();
    if negative {
        // Two's complement negation; the top byte is at most 0x7f after inversion, so the carry
        // never runs off the front.
        magnitude.iter_mut().for_each(|b| *b = !*b);
        for b in magnitude.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    let digits = unsigned_digits(&magnitude);

    let mut out = String::with_capacity(digits.len() + 3);
    if negative {
        out.push('-');
    }
    match usize::try_from(scale) {
        Ok(0) => out.push_str(&digits),
        Ok(scale) if digits.len() > scale => {
            let (int, frac) = digits.split_at(digits.len() - scale);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
        Ok(scale) => {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(&digits);
        }
        Err(_) => {
            // A negative scale multiplies by a power of ten.
            out.push_str(&digits);
            if digits != "0" {
                let zeros = usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX);
                out.extend(std::iter::repeat_n('0', zeros));
            }
        }
    }
    Ok(out)
}

/// The decimal digits of a big-endian unsigned integer (`"0"` for zero or no bytes).
fn unsigned_digits(magnitude: &[u8]) -> String {
    const CHUNK: u64 = 1_000_000_000;
    // Big-endian 32-bit limbs, without leading zero bytes.
    let significant = magnitude
        .iter()
        .position(|&b| b != 0)
        .map_or(&[][..], |first| &magnitude[first..]);
    let mut limbs: Vec<u32> = Vec::with_capacity(significant.len().div_ceil(4));
    let head = significant.len() % 4;
    if head > 0 {
        limbs.push(
            significant[..head]
                .iter()
                .fold(0, |acc, &b| acc << 8 | u32::from(b)),
        );
    }
    for chunk in significant[head..].chunks_exact(4) {
        limbs.push(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
    }

    // Repeated division by 10^9, least significant chunk first.
    let mut chunks: Vec<u32> = Vec::new();
    let mut start = 0;
    while start < limbs.len() {
        let mut rem: u64 = 0;
        for limb in &mut limbs[start..] {
            let cur = rem << 32 | u64::from(*limb);
            // cur < 10^9 · 2^32, so the quotient fits in 32 bits.
            *limb = u32::try_from(cur / CHUNK).unwrap_or(u32::MAX);
            rem = cur % CHUNK;
        }
        chunks.push(u32::try_from(rem).unwrap_or(0));
        while start < limbs.len() && limbs[start] == 0 {
            start += 1;
        }
    }

    let Some((most, rest)) = chunks.split_last() else {
        return "0".to_owned();
    };
    let mut out = most.to_string();
    for chunk in rest.iter().rev() {
        let _ = write!(out, "{chunk:09}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscaled_decimals_that_fit_become_i128() {
        assert_eq!(decimal_i128(&[]), Some(0));
        assert_eq!(decimal_i128(&[0x80]), Some(-128));
        assert_eq!(decimal_i128(&[0xff, 0x7f]), Some(-129));
        assert_eq!(decimal_i128(&i128::MAX.to_be_bytes()), Some(i128::MAX));
        assert_eq!(decimal_i128(&i128::MIN.to_be_bytes()), Some(i128::MIN));
        let mut wide = vec![0xff; 4];
        wide.extend_from_slice(&(-5_i128).to_be_bytes());
        assert_eq!(decimal_i128(&wide), Some(-5));
        let mut too_big = vec![0x01];
        too_big.extend_from_slice(&[0; 16]);
        assert_eq!(decimal_i128(&too_big), None);
        // 0x00 then a byte with the top bit set: positive, beyond i128::MAX.
        let mut positive = vec![0x00];
        positive.extend_from_slice(&[0xff; 16]);
        assert_eq!(decimal_i128(&positive), None);
    }

    #[test]
    fn uuids_are_hyphenated_hex() {
        let bytes: [u8; 16] = std::array::from_fn(|i| (i as u8) * 17);
        assert_eq!(uuid_text(&bytes), "00112233-4455-6677-8899-aabbccddeeff");
    }

    #[test]
    fn decimals_are_exact_text() {
        let d = |v: i128, scale: i64| decimal_text(&v.to_be_bytes(), scale).unwrap();
        assert_eq!(d(0, 0), "0");
        assert_eq!(d(0, 2), "0.00");
        assert_eq!(d(12_345, 2), "123.45");
        assert_eq!(d(-12_345, 2), "-123.45");
        assert_eq!(d(5, 3), "0.005");
        assert_eq!(d(-5, 3), "-0.005");
        assert_eq!(d(-1, 0), "-1");
        assert_eq!(d(-128, 0), "-128");
        assert_eq!(d(7, -3), "7000");
        assert_eq!(d(0, -3), "0");
        assert_eq!(d(i128::MAX, 0), i128::MAX.to_string());
        assert_eq!(d(i128::MIN, 0), i128::MIN.to_string());
        assert_eq!(d(1_000_000_000, 0), "1000000000");
        assert_eq!(d(1_000_000_000_000_000_000, 9), "1000000000.000000000");
        assert_eq!(decimal_text(&[], 1).unwrap(), "0.0");
        assert_eq!(decimal_text(&[0x80], 0).unwrap(), "-128");
        assert_eq!(decimal_text(&[0xff, 0x7f], 0).unwrap(), "-129");
        // 2^96 = 79228162514264337593543950336
        let mut big = vec![0_u8; 13];
        big[0] = 1;
        assert_eq!(
            decimal_text(&big, 0).unwrap(),
            "79228162514264337593543950336"
        );
        assert!(decimal_text(&vec![1; MAX_DECIMAL_BYTES + 1], 0).is_err());
    }
}
