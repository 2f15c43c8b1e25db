//! When to try an HTTP request again, and after how long.
//!
//! Retried: 408, 409, 429 (but not an exhausted quota), 5xx, and a request
//! that never got an answer (refused, reset, timed out). The wait is what
//! the server asks (`retry-after-ms`, else `retry-after` in seconds or as
//! an HTTP date) when that is at most [`LONGEST_ASKED_WAIT`], else a delay
//! that doubles from [`FIRST_DELAY`] up to [`LONGEST_DELAY`], shortened by
//! up to a quarter at random so that clients do not retry in step.

use std::time::{Duration, SystemTime};

use crate::time::{days_from_civil, days_in_month};

/// The first delay when the server does not say how long to wait.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay chosen here.
pub const LONGEST_DELAY: Duration = Duration::from_secs(8);
/// The longest wait a server may ask for; longer, and the request fails.
pub const LONGEST_ASKED_WAIT: Duration = Duration::from_secs(120);

/// What the answer to a request says about trying again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after this long.
    After(Duration),
    /// Do not try again.
    Never,
}

/// The headers of an answer that bear on retrying, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryHeaders {
    /// `retry-after-ms`.
    pub after_ms: Option<String>,
    /// `retry-after`.
    pub after: Option<String>,
}

/// Whether an answer with `status` may be retried: the statuses that
/// mean "not now", unless the body says the quota is gone for good.
pub fn retryable_status(status: u16, body: &str) -> bool {
    match status {
        429 => !body.contains("insufficient_quota"),
        408 | 409 | 500..=599 => true,
        _ => false,
    }
}

/// How long to wait before attempt `attempt` (1 for the first retry),
/// given what the server asked and a random `jitter` in [0, 1).
pub fn wait_before(attempt: u32, asked: &RetryHeaders, now: SystemTime, jitter: f64) -> Verdict {
    if let Some(wait) = asked_wait(asked, now) {
        return match wait <= LONGEST_ASKED_WAIT {
            true => Verdict::After(wait),
            false => Verdict::Never,
        };
    }
    let doubled = FIRST_DELAY
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(LONGEST_DELAY);
    Verdict::After(doubled.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0)))
}

/// The wait the server asked for, if it asked in a form read here.
fn asked_wait(asked: &RetryHeaders, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = asked
        .after_ms
        .as_deref()
        .and_then(|v| v.trim().parse::<f64>().ok())
        && ms >= 0.0
    {
        return Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX));
    }
    let after = asked.after.as_deref()?.trim();
    if let Ok(seconds) = after.parse::<f64>() {
        return (seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    http_date(after).map(|at| at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Reads an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP
/// dates are sent in.
fn http_date(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let clock: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = clock.as_slice() else {
        return None;
    };
    let year = year.min(9999);
    let in_range = year >= 1
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(hour)
        && (0..60).contains(minute)
        && (0..=60).contains(second);
    if !in_range {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(seconds)
        .ok()
        .and_then(|s| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(after_ms: Option<&str>, after: Option<&str>) -> RetryHeaders {
        RetryHeaders {
            after_ms: after_ms.map(str::to_owned),
            after: after.map(str::to_owned),
        }
    }

    #[test]
    fn statuses_that_mean_not_now_are_retried() {
        for status in [408, 409, 429, 500, 502, 503, 529] {
            assert!(retryable_status(status, ""), "{status}");
        }
        for status in [400, 401, 402, 403, 404, 422] {
            assert!(!retryable_status(status, ""), "{status}");
        }
        let quota = r#"{"error":{"code":"insufficient_quota"}}"#;
        assert!(!retryable_status(429, quota));
    }

    #[test]
    fn the_server_says_how_long_else_the_delay_doubles_with_jitter() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let none = RetryHeaders::default();
        assert_eq!(wait_before(1, &none, now, 0.0), Verdict::After(FIRST_DELAY));
        assert_eq!(
            wait_before(3, &none, now, 0.0),
            Verdict::After(Duration::from_secs(2))
        );
        assert_eq!(
            wait_before(9, &none, now, 0.0),
            Verdict::After(LONGEST_DELAY)
        );
        assert_eq!(
            wait_before(1, &none, now, 0.999_999),
            Verdict::After(FIRST_DELAY.mul_f64(1.0 - 0.25 * 0.999_999))
        );
        let ms = asked(Some("1500"), Some("9"));
        assert_eq!(
            wait_before(1, &ms, now, 0.5),
            Verdict::After(Duration::from_millis(1500))
        );
        let seconds = asked(None, Some("2.5"));
        assert_eq!(
            wait_before(1, &seconds, now, 0.5),
            Verdict::After(Duration::from_millis(2500))
        );
        let date = asked(None, Some("Sun, 06 Nov 1994 08:49:47 GMT"));
        assert_eq!(
            wait_before(1, &date, now, 0.5),
            Verdict::After(Duration::from_secs(10))
        );
        let too_long = asked(None, Some("600"));
        assert_eq!(wait_before(1, &too_long, now, 0.5), Verdict::Never);
        let garbage = asked(Some("soon"), Some("later"));
        assert_eq!(
            wait_before(1, &garbage, now, 0.0),
            Verdict::After(FIRST_DELAY)
        );
    }

    #[test]
    fn http_dates_are_read() {
        let at = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
        );
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49 GMT"), None);
    }

    #[test]
    fn absurd_waits_give_up_instead_of_failing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (after_ms, after) in [
            (Some("1e300"), None),
            (None, Some("1e30")),
            (None, Some("inf")),
        ] {
            assert_eq!(
                wait_before(1, &asked(after_ms, after), now, 0.0),
                Verdict::Never,
                "{after_ms:?} {after:?}"
            );
        }
        let far = asked(None, Some("Sun, 06 Nov 999999999999 08:49:37 GMT"));
        assert_eq!(wait_before(1, &far, now, 0.0), Verdict::Never);
        for date in [
            "Sun, 99 Nov 2030 08:49:37 GMT",
            "Sun, 06 Nov 2030 99:49:37 GMT",
        ] {
            assert_eq!(http_date(date), None, "{date}");
        }
    }
}
