//! Timestamps (Unix milliseconds, shown as RFC 3339 UTC) and durations like `30d`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// A point in time, stored as milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The earliest time RFC 3339 can write: 0000-01-01T00:00:00Z.
    pub const EARLIEST: Timestamp = Timestamp(days_from_civil(0, 1, 1) * MS_PER_DAY);

    /// The latest time RFC 3339 can write: 9999-12-31T23:59:59.999Z.
    pub const LATEST: Timestamp = Timestamp(days_from_civil(10_000, 1, 1) * MS_PER_DAY - 1);

    /// Returns the current time.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// Returns the time `duration` before this one.
    pub fn minus(self, duration: Duration) -> Self {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// Parses an RFC 3339 timestamp such as `2024-05-08T13:56:00Z`,
    /// `2024-05-08T13:56:00.250+02:00`, or a bare date `2024-05-08` (midnight UTC).
    ///
    /// # Failure
    /// Returns an invalid-input error naming the text when it is not of that
    /// form, or when its time in UTC falls outside the years 0000 to 9999
    /// (it could not be written back in RFC 3339).
    pub fn parse(text: &str) -> Result<Self> {
        let time = parse_rfc3339(text.trim()).ok_or_else(|| {
            Error::invalid(format!(
                "invalid timestamp {text:?}: expected RFC 3339, e.g. 2024-05-08T13:56:00Z"
            ))
        })?;
        if !(Self::EARLIEST..=Self::LATEST).contains(&time) {
            return Err(Error::invalid(format!(
                "timestamp {text:?} is outside the years 0000 to 9999 in UTC"
            )));
        }
        Ok(time)
    }

    /// Parses a time bound: a duration back from `now` (`7d`, `2h`, as
    /// [`parse_duration`] reads) or a time [`Timestamp::parse`] reads.
    ///
    /// # Failure
    /// Returns an invalid-input error naming both forms when the text is neither.
    pub fn parse_bound(text: &str, now: Timestamp) -> Result<Self> {
        if let Ok(ago) = parse_duration(text) {
            return Ok(now.minus(ago).max(Self::EARLIEST));
        }
        Self::parse(text).map_err(|_| {
            Error::invalid(format!(
                "invalid time {text:?}: expected a duration back from now (e.g. 7d, 2h, \
                 90m) or RFC 3339 (e.g. 2024-05-08T13:56:00Z, 2024-05-08)"
            ))
        })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses a duration such as `90s`, `15m`, `12h`, `30d` or `2w`.
///
/// # Failure
/// Returns an invalid-input error when the number or the unit is missing or unknown.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || {
        Error::invalid(format!(
            "invalid duration {text:?}: expected a number and a unit (s, m, h, d, w), e.g. 30d"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    number
        .checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let num = |range: std::ops::Range<usize>| num_of(text.get(range)?);
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Some(Timestamp(days * MS_PER_DAY));
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes.len() < 20 {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded: String = fraction[..digits]
            .chars()
            .chain("000".chars())
            .take(3)
            .collect();
        millis = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = (num_of(rest.get(1..3)?)?, num_of(rest.get(4..6)?)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
        _ => return None,
    };
    let ms =
        days * MS_PER_DAY + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
    Some(Timestamp(ms))
}

fn num_of(part: &str) -> Option<i64> {
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The days of `month` (1–12) of `year`.
pub(crate) fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for ms in [
            0,
            1,
            951_782_400_000,
            1_683_554_160_250,
            -86_400_001,
            4_102_444_800_000,
        ] {
            let text = Timestamp(ms).to_string();
            assert_eq!(Timestamp::parse(&text).unwrap(), Timestamp(ms), "{text}");
        }
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_offsets_and_dates() {
        let utc = Timestamp::parse("2023-05-08T13:56:00Z").unwrap();
        assert_eq!(Timestamp::parse("2023-05-08T15:56:00+02:00").unwrap(), utc);
        assert_eq!(
            Timestamp::parse("2023-05-08T13:56:00.5Z").unwrap().0,
            utc.0 + 500
        );
        assert_eq!(
            Timestamp::parse("2023-05-08").unwrap().0,
            utc.0 - (13 * 60 + 56) * 60_000
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2023",
            "2023-02-30",
            "2023-13-01",
            "2023-05-08T25:00:00Z",
            "2023-05-08T13:56:00",
            "２０２３-05-08",
            "9999-12-31T23:30:00-01:00",
            "0000-01-01T00:00:00+01:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_printable_range_round_trips() {
        for time in [Timestamp::EARLIEST, Timestamp::LATEST] {
            assert_eq!(Timestamp::parse(&time.to_string()).unwrap(), time);
        }
        assert_eq!(Timestamp::LATEST.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            Timestamp::parse("9999-12-31T23:30:00+01:00")
                .unwrap()
                .to_string(),
            "9999-12-31T22:30:00.000Z"
        );
    }

    #[test]
    fn parses_relative_and_absolute_bounds() {
        let now = Timestamp::parse("2024-05-08T12:00:00Z").unwrap();
        let bound = |text| Timestamp::parse_bound(text, now).unwrap().to_string();
        assert_eq!(bound("7d"), "2024-05-01T12:00:00.000Z");
        assert_eq!(bound("2h"), "2024-05-08T10:00:00.000Z");
        assert_eq!(bound("2024-01-02"), "2024-01-02T00:00:00.000Z");
        assert_eq!(bound("99999999w"), Timestamp::EARLIEST.to_string());
        for bad in ["", "7", "7y", "yesterday", "2024-13-01"] {
            let err = Timestamp::parse_bound(bad, now).unwrap_err();
            assert!(err.message().contains("7d"), "{bad}: {}", err.message());
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        for bad in ["", "d", "10", "10y", "-1d", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
