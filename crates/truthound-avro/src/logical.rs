//! Text forms of Avro logical types: ISO-8601 dates and times, exact decimals, UUIDs.

use std::fmt::Write as _;

/// The largest decimal (unscaled two's-complement bytes) rendered as text: 1 KiB, about 2,466
/// digits, far beyond any real `precision`, and a bound on the quadratic digit conversion.
pub(crate) const MAX_DECIMAL_BYTES: usize = 1024;

/// The largest `big-decimal` scale (either sign) rendered as text, a bound on zero padding.
pub(crate) const MAX_BIG_DECIMAL_SCALE: u64 = 4096;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// `days` since 1970-01-01 as an ISO-8601 calendar date (`2024-02-29`; years outside 0..=9999
/// get a sign and at least four digits, as in ISO-8601's expanded form: `+10000-01-01`).
pub(crate) fn iso_date(days: i32) -> String {
    // Howard Hinnant's `civil_from_days`, on the proleptic Gregorian calendar.
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if (0..=9999).contains(&year) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        format!("{sign}{:04}-{month:02}-{day:02}", year.unsigned_abs())
    }
}

/// A time of day given in `micros` after midnight as `HH:MM:SS` with `fraction_digits` (3 or 6)
/// fractional digits, or `None` when it is not within one day.
pub(crate) fn iso_time(micros: i64, fraction_digits: usize) -> Option<String> {
    if !(0..MILLIS_PER_DAY * 1000).contains(&micros) {
        return None;
    }
    let secs = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    Some(if fraction_digits == 3 {
        format!("{h:02}:{m:02}:{s:02}.{:03}", fraction / 1000)
    } else {
        format!("{h:02}:{m:02}:{s:02}.{fraction:06}")
    })
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
    fn dates_are_iso_calendar_dates() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(-1), "1969-12-31");
        assert_eq!(iso_date(19_782), "2024-02-29");
        assert_eq!(iso_date(-719_528), "0000-01-01");
        assert_eq!(iso_date(-719_529), "-0001-12-31");
        assert_eq!(iso_date(2_932_897), "+10000-01-01");
        assert_eq!(iso_date(i32::MIN), "-5877641-06-23");
        assert_eq!(iso_date(i32::MAX), "+5881580-07-11");
    }

    #[test]
    fn times_are_iso_times_within_a_day() {
        assert_eq!(iso_time(0, 3).as_deref(), Some("00:00:00.000"));
        assert_eq!(iso_time(45_296_789_000, 3).as_deref(), Some("12:34:56.789"));
        assert_eq!(
            iso_time(86_399_999_999, 6).as_deref(),
            Some("23:59:59.999999")
        );
        assert_eq!(iso_time(86_400_000_000, 6), None);
        assert_eq!(iso_time(-1, 6), None);
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
