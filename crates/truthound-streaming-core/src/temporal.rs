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
