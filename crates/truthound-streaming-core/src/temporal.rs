//! Dates, times, timestamps and decimals as typed values: [`TimeUnit`], and their ISO-8601 and
//! exact decimal text forms (what a visitor that has no such type reports, see the default
//! methods of [`ValueVisitor`](crate::ValueVisitor)).

use std::fmt::{self, Write as _};

/// The unit of a timestamp or of a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeUnit {
    /// Milliseconds.
    Milliseconds,
    /// Microseconds.
    Microseconds,
    /// Nanoseconds.
    Nanoseconds,
}

impl TimeUnit {
    /// How many of this unit make a second.
    pub const fn per_second(self) -> i64 {
        match self {
            TimeUnit::Milliseconds => 1_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Nanoseconds => 1_000_000_000,
        }
    }

    /// The unit's short name, as Polars writes it: `ms`, `us`, `ns`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Milliseconds => "ms",
            TimeUnit::Microseconds => "us",
            TimeUnit::Nanoseconds => "ns",
        }
    }

    /// The digits after the decimal point of a second in this unit: 3, 6 or 9.
    const fn fraction_digits(self) -> usize {
        match self {
            TimeUnit::Milliseconds => 3,
            TimeUnit::Microseconds => 6,
            TimeUnit::Nanoseconds => 9,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The largest precision of a [`ValueVisitor::decimal`](crate::ValueVisitor::decimal): 38
/// digits, what an `i128` always holds (and Polars' `Decimal` allows).
pub const MAX_DECIMAL_PRECISION: u8 = 38;

const SECONDS_PER_DAY: i64 = 86_400;

/// `days` since 1970-01-01 as an ISO-8601 calendar date: `2024-02-29`. Years outside 0..=9999
/// get a sign and at least four digits, as in ISO-8601's expanded form: `+10000-01-01`,
/// `-0001-12-31`.
///
/// ```
/// use truthound_streaming_core::temporal::iso_date;
/// assert_eq!(iso_date(19_782), "2024-02-29");
/// assert_eq!(iso_date(-1), "1969-12-31");
/// ```
pub fn iso_date(days: i32) -> String {
    let mut out = String::with_capacity(10);
    write_date(&mut out, i64::from(days));
    out
}

/// Appends the ISO-8601 date `days` after 1970-01-01 (see [`iso_date`]).
fn write_date(out: &mut String, days: i64) {
    // Howard Hinnant's `civil_from_days`, on the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if (0..=9999).contains(&year) {
        let _ = write!(out, "{year:04}-{month:02}-{day:02}");
    } else {
        let sign = if year < 0 { '-' } else { '+' };
        let _ = write!(out, "{sign}{:04}-{month:02}-{day:02}", year.unsigned_abs());
    }
}

/// Appends `HH:MM:SS.fff` for `seconds` (0..86400) and a fraction in `unit`.
fn write_clock(out: &mut String, seconds: i64, fraction: i64, unit: TimeUnit) {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let _ = write!(
        out,
        "{h:02}:{m:02}:{s:02}.{fraction:0width$}",
        width = unit.fraction_digits()
    );
}

/// A time of day, `value` units after midnight, as `HH:MM:SS` and the unit's fractional digits
/// (`12:34:56.789` in milliseconds); `None` when it is not within one day.
///
/// ```
/// use truthound_streaming_core::temporal::{TimeUnit, iso_time};
/// assert_eq!(iso_time(45_296_789, TimeUnit::Milliseconds).as_deref(), Some("12:34:56.789"));
/// assert_eq!(iso_time(-1, TimeUnit::Microseconds), None);
/// ```
pub fn iso_time(value: i64, unit: TimeUnit) -> Option<String> {
    let per_second = unit.per_second();
    if !(0..SECONDS_PER_DAY * per_second).contains(&value) {
        return None;
    }
    let mut out = String::with_capacity(18);
    write_clock(&mut out, value / per_second, value % per_second, unit);
    Some(out)
}

/// A timestamp, `value` units since 1970-01-01T00:00:00, as an ISO-8601 date-time with the
/// unit's fractional digits, ending in `Z` when it is an instant in UTC (`utc`) and without a
/// zone when it is a local date-time.
///
/// ```
/// use truthound_streaming_core::temporal::{TimeUnit, iso_timestamp};
/// assert_eq!(iso_timestamp(1_709_210_096_789, TimeUnit::Milliseconds, true), "2024-02-29T12:34:56.789Z");
/// assert_eq!(iso_timestamp(-1, TimeUnit::Microseconds, false), "1969-12-31T23:59:59.999999");
/// ```
pub fn iso_timestamp(value: i64, unit: TimeUnit, utc: bool) -> String {
    let per_second = unit.per_second();
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    let mut out = String::with_capacity(32);
    write_date(&mut out, seconds.div_euclid(SECONDS_PER_DAY));
    out.push('T');
    write_clock(
        &mut out,
        seconds.rem_euclid(SECONDS_PER_DAY),
        fraction,
        unit,
    );
    if utc {
        out.push('Z');
    }
    out
}

/// The exact decimal text of `unscaled × 10^-scale`: `"-12.340"` for `-12340` at scale 3,
/// `"0.005"` for `5` at scale 3.
///
/// ```
/// use truthound_streaming_core::temporal::decimal_text;
/// assert_eq!(decimal_text(-12_340, 3), "-12.340");
/// assert_eq!(decimal_text(5, 3), "0.005");
/// assert_eq!(decimal_text(i128::MIN, 0), i128::MIN.to_string());
/// ```
pub fn decimal_text(unscaled: i128, scale: u8) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if unscaled < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// Whether `unscaled` has at most `precision` decimal digits.
///
/// ```
/// use truthound_streaming_core::temporal::fits_precision;
/// assert!(fits_precision(99_999, 5));
/// assert!(!fits_precision(-100_000, 5));
/// ```
pub fn fits_precision(unscaled: i128, precision: u8) -> bool {
    match 10_u128.checked_pow(u32::from(precision)) {
        Some(limit) => unscaled.unsigned_abs() < limit,
        None => true,
    }
}

/// The days from 1970-01-01 to this proleptic Gregorian date (`month` 1..=12, `day` checked
/// against the month's length); `None` for a date that does not exist.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let length = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=length).contains(&day) {
        return None;
    }
    // Howard Hinnant's `days_from_civil`, the inverse of `write_date`'s arithmetic.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `n` ASCII digits at the start of `s` as a number, and the rest.
fn digits(s: &[u8], n: usize) -> Option<(i64, &[u8])> {
    let (head, rest) = s.split_at_checked(n)?;
    let mut value = 0;
    for &b in head {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some((value, rest))
}

/// `YYYY-MM-DD` as days since 1970-01-01, and the rest.
fn parse_date_prefix(s: &[u8]) -> Option<(i64, &[u8])> {
    let (year, s) = digits(s, 4)?;
    let s = s.strip_prefix(b"-")?;
    let (month, s) = digits(s, 2)?;
    let s = s.strip_prefix(b"-")?;
    let (day, s) = digits(s, 2)?;
    Some((days_from_civil(year, month, day)?, s))
}

/// `HH:MM:SS[.fraction][Z|±HH:MM]` as microseconds after midnight (the fraction truncated to
/// microseconds; a leap second, `:60`, read as the last microsecond of its minute) and the
/// offset from UTC in seconds (`None` when the text gives none).
fn parse_clock(s: &[u8]) -> Option<(i64, Option<i64>)> {
    let (hour, s) = digits(s, 2)?;
    let s = s.strip_prefix(b":")?;
    let (minute, s) = digits(s, 2)?;
    let s = s.strip_prefix(b":")?;
    let (second, mut s) = digits(s, 2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut micros = 0;
    if let Some(rest) = s.strip_prefix(b".") {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let (fraction, rest) = rest.split_at(n);
        for (i, &b) in fraction.iter().take(6).enumerate() {
            micros += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
        }
        s = rest;
    }
    let of_day = if second == 60 {
        (hour * 3600 + minute * 60 + 59) * 1_000_000 + 999_999
    } else {
        (hour * 3600 + minute * 60 + second) * 1_000_000 + micros
    };
    let offset = match s {
        [] => None,
        [b'Z' | b'z'] => Some(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, rest) = digits(rest, 2)?;
            let rest = rest.strip_prefix(b":")?;
            let (m, rest) = digits(rest, 2)?;
            if !rest.is_empty() || h > 23 || m > 59 {
                return None;
            }
            let seconds = h * 3600 + m * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => return None,
    };
    Some((of_day, offset))
}

/// An RFC 3339 full date, `2024-02-29`, as days since 1970-01-01; `None` when the text is not
/// one or the date does not exist.
///
/// ```
/// use truthound_streaming_core::temporal::parse_iso_date;
/// assert_eq!(parse_iso_date("2024-02-29"), Some(19_782));
/// assert_eq!(parse_iso_date("1969-12-31"), Some(-1));
/// assert_eq!(parse_iso_date("2023-02-29"), None);
/// ```
pub fn parse_iso_date(text: &str) -> Option<i32> {
    match parse_date_prefix(text.as_bytes())? {
        (days, []) => i32::try_from(days).ok(),
        _ => None,
    }
}

/// An RFC 3339 time, `12:34:56[.ffffff][Z|±HH:MM]`, as microseconds after midnight UTC: an
/// offset is applied (wrapping around midnight), a time without one is taken as UTC. The
/// fraction is truncated to microseconds; `None` when the text is not a time.
///
/// ```
/// use truthound_streaming_core::temporal::parse_iso_time;
/// assert_eq!(parse_iso_time("12:34:56.789Z"), Some(45_296_789_000));
/// assert_eq!(parse_iso_time("01:00:00+02:00"), Some(23 * 3_600_000_000));
/// assert_eq!(parse_iso_time("24:00:00"), None);
/// ```
pub fn parse_iso_time(text: &str) -> Option<i64> {
    let (of_day, offset) = parse_clock(text.as_bytes())?;
    Some((of_day - offset.unwrap_or(0) * 1_000_000).rem_euclid(SECONDS_PER_DAY * 1_000_000))
}

/// An RFC 3339 date-time, `2024-02-29T12:34:56[.ffffff](Z|±HH:MM)`, as microseconds since
/// 1970-01-01T00:00:00Z. `t` or a space may stand for `T`; a date-time without an offset (as
/// Python's `isoformat()` writes naive ones) is taken as UTC. The fraction is truncated to
/// microseconds; `None` when the text is not a date-time.
///
/// ```
/// use truthound_streaming_core::temporal::parse_iso_timestamp;
/// assert_eq!(parse_iso_timestamp("1970-01-01T00:00:00Z"), Some(0));
/// assert_eq!(parse_iso_timestamp("1970-01-01T01:00:00.000001+01:00"), Some(1));
/// assert_eq!(parse_iso_timestamp("1969-12-31 23:59:59.999999"), Some(-1));
/// assert_eq!(parse_iso_timestamp("2024-02-30T00:00:00Z"), None);
/// ```
pub fn parse_iso_timestamp(text: &str) -> Option<i64> {
    let (days, rest) = parse_date_prefix(text.as_bytes())?;
    let rest = match rest {
        [b'T' | b't' | b' ', rest @ ..] => rest,
        _ => return None,
    };
    let (of_day, offset) = parse_clock(rest)?;
    let seconds = days * SECONDS_PER_DAY - offset.unwrap_or(0);
    seconds.checked_mul(1_000_000)?.checked_add(of_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_dates_and_timestamps_round_trip_through_their_text() {
        for days in [-719_528, -1, 0, 1, 19_782, 2_932_896] {
            let text = iso_date(days);
            assert_eq!(parse_iso_date(&text), Some(days), "{text}");
        }
        for micros in [
            i64::from(-719_528) * 86_400_000_000,
            -1,
            0,
            1,
            1_709_210_096_789_123,
        ] {
            let text = iso_timestamp(micros, TimeUnit::Microseconds, true);
            assert_eq!(parse_iso_timestamp(&text), Some(micros), "{text}");
        }
        for micros in [0, 1, 86_399_999_999] {
            let text = iso_time(micros, TimeUnit::Microseconds).unwrap();
            assert_eq!(parse_iso_time(&text), Some(micros), "{text}");
        }
    }

    #[test]
    fn parsing_refuses_what_is_not_rfc_3339() {
        for bad in [
            "",
            "2024-1-01",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "20240101",
            "2024-01-01x",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
        for bad in [
            "2024-01-01",
            "2024-01-01T",
            "2024-01-01T25:00:00Z",
            "2024-01-01T12:60:00Z",
            "2024-01-01T12:00:00.Z",
            "2024-01-01T12:00:00+0100",
            "2024-01-01T12:00:00+01:00x",
            "2024-01-01X12:00:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_iso_timestamp(bad), None, "{bad}");
        }
        // Nanoseconds are truncated; a leap second is the last microsecond of its minute.
        assert_eq!(
            parse_iso_timestamp("1970-01-01T00:00:00.123456789Z"),
            Some(123_456)
        );
        assert_eq!(parse_iso_time("23:59:60Z"), Some(86_399_999_999));
        assert_eq!(parse_iso_time("00:30:00-01:00"), Some(5_400_000_000));
    }

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
        use TimeUnit::*;
        assert_eq!(iso_time(0, Milliseconds).as_deref(), Some("00:00:00.000"));
        assert_eq!(
            iso_time(45_296_789, Milliseconds).as_deref(),
            Some("12:34:56.789")
        );
        assert_eq!(
            iso_time(86_399_999_999, Microseconds).as_deref(),
            Some("23:59:59.999999")
        );
        assert_eq!(
            iso_time(86_399_999_999_999, Nanoseconds).as_deref(),
            Some("23:59:59.999999999")
        );
        assert_eq!(iso_time(86_400_000_000, Microseconds), None);
        assert_eq!(iso_time(-1, Microseconds), None);
    }

    #[test]
    fn timestamps_are_iso_date_times_on_both_sides_of_the_epoch() {
        use TimeUnit::*;
        assert_eq!(
            iso_timestamp(0, Milliseconds, true),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso_timestamp(-1, Milliseconds, true),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            iso_timestamp(1, Nanoseconds, false),
            "1970-01-01T00:00:00.000000001"
        );
        assert_eq!(
            iso_timestamp(i64::MAX, Nanoseconds, true),
            "2262-04-11T23:47:16.854775807Z"
        );
        assert_eq!(
            iso_timestamp(i64::MIN, Nanoseconds, true),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            iso_timestamp(i64::MAX, Milliseconds, true),
            "+292278994-08-17T07:12:55.807Z"
        );
        assert_eq!(
            iso_timestamp(i64::MIN, Microseconds, false),
            "-290308-12-21T19:59:05.224192"
        );
    }

    #[test]
    fn decimals_are_exact_text() {
        assert_eq!(decimal_text(0, 0), "0");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(12_345, 2), "123.45");
        assert_eq!(decimal_text(-12_345, 2), "-123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(
            decimal_text(i128::MAX, 38),
            format!("1.{}", &i128::MAX.to_string()[1..])
        );
        assert!(fits_precision(0, 0));
        assert!(!fits_precision(1, 0));
        assert!(fits_precision(i128::MAX, 39));
        assert!(!fits_precision(i128::MIN, 38));
    }
}
