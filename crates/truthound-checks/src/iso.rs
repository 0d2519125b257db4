//! ISO 8601 text as the physical values of Polars' temporal columns, for range bounds: days
//! since the epoch, nanoseconds since midnight, units since the epoch.

/// Days from 1970-01-01 to `year-month-day` on the proleptic Gregorian calendar (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `n` ASCII digits at the front of `s`, and the rest.
fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

/// `YYYY-MM-DD` at the front of `s` as days since 1970-01-01, and the rest.
fn date_prefix(s: &str) -> Option<(i64, &str)> {
    let (year, rest) = digits(s, 4)?;
    let (month, rest) = digits(rest.strip_prefix('-')?, 2)?;
    let (day, rest) = digits(rest.strip_prefix('-')?, 2)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((days_from_civil(year, month, day), rest))
}

/// `HH:MM[:SS[.fraction]]` at the front of `s` as nanoseconds since midnight, and the rest.
fn time_prefix(s: &str) -> Option<(i64, &str)> {
    let (h, rest) = digits(s, 2)?;
    let (m, mut rest) = digits(rest.strip_prefix(':')?, 2)?;
    let mut sec = 0;
    let mut nanos = 0_i64;
    if let Some(after) = rest.strip_prefix(':') {
        let (s, after) = digits(after, 2)?;
        sec = s;
        rest = after;
        if let Some(after) = rest.strip_prefix('.') {
            let len = after.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 || len > 9 {
                return None;
            }
            let (fraction, after) = digits(after, len)?;
            nanos = i64::from(fraction) * 10_i64.pow(9 - u32::try_from(len).ok()?);
            rest = after;
        }
    }
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let seconds = i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec);
    Some((seconds * 1_000_000_000 + nanos, rest))
}

/// A date, `YYYY-MM-DD`, as days since 1970-01-01.
pub(crate) fn date(s: &str) -> Option<i64> {
    match date_prefix(s.trim())? {
        (days, "") => Some(days),
        _ => None,
    }
}

/// A time of day, `HH:MM[:SS[.fraction]]`, as nanoseconds since midnight.
pub(crate) fn time(s: &str) -> Option<i64> {
    match time_prefix(s.trim())? {
        (nanos, "") => Some(nanos),
        _ => None,
    }
}

/// A date or a date-time (`T` or a space between, an optional fraction, and an optional `Z` or
/// `±hh:mm` offset) as nanoseconds since 1970-01-01T00:00 in UTC when it has an offset, and in
/// the column's own clock when it has none. A date alone is its midnight.
pub(crate) fn datetime_nanos(s: &str) -> Option<i128> {
    let (days, rest) = date_prefix(s.trim())?;
    let day_nanos = i128::from(days) * 86_400_000_000_000;
    if rest.is_empty() {
        return Some(day_nanos);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let (nanos, zone) = time_prefix(rest)?;
    let offset_minutes: i64 = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &zone[1..];
            let (h, rest) = digits(zone, 2)?;
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            let (m, rest) = digits(rest, 2)?;
            if !rest.is_empty() || h > 23 || m > 59 {
                return None;
            }
            sign * (i64::from(h) * 60 + i64::from(m))
        }
    };
    Some(day_nanos + i128::from(nanos) - i128::from(offset_minutes) * 60_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_date_times_parse_to_physical_values() {
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("2024-02-29"), Some(19_782));
        assert_eq!(date("1969-12-31"), Some(-1));
        assert_eq!(date("2023-02-29"), None);
        assert_eq!(date("2024-13-01"), None);
        assert_eq!(date("2024-1-01"), None);
        assert_eq!(time("00:00"), Some(0));
        assert_eq!(time("12:34:56.789"), Some(45_296_789_000_000));
        assert_eq!(time("23:59:59.999999999"), Some(86_399_999_999_999));
        assert_eq!(time("24:00:00"), None);
        assert_eq!(datetime_nanos("1970-01-01"), Some(0));
        assert_eq!(datetime_nanos("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(datetime_nanos("1970-01-01 01:00:00+01:00"), Some(0));
        assert_eq!(datetime_nanos("1969-12-31T23:00:00-0100"), Some(0));
        assert_eq!(
            datetime_nanos("2024-02-29T12:34:56.789Z"),
            Some(1_709_210_096_789_000_000)
        );
        assert_eq!(
            datetime_nanos("2024-02-29T12:34"),
            Some(1_709_210_040_000_000_000)
        );
        assert_eq!(datetime_nanos("2024-02-29X12:00"), None);
        assert_eq!(datetime_nanos("2024-02-29T12:00+25:00"), None);
    }
}
