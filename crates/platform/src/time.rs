//! Time: instants are stored as UTC milliseconds; dates are computed in the configured zone.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
pub use chrono_tz::Tz;

pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// The calendar date of an instant in `tz`.
pub fn date_of(millis: i64, tz: Tz) -> NaiveDate {
    tz.timestamp_millis_opt(millis)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_else(|| Utc::now().with_timezone(&tz).date_naive())
}

/// RFC 3339 text of an instant in `tz`, e.g. `2026-11-26T15:04:05+08:00`.
pub fn rfc3339(millis: i64, tz: Tz) -> String {
    match DateTime::<Utc>::from_timestamp_millis(millis) {
        Some(t) => t
            .with_timezone(&tz)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        None => String::new(),
    }
}

pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {name:?}; use an IANA name such as Asia/Shanghai"))
}

/// The first instant (UTC milliseconds) of `date` (YYYY-MM-DD) in `tz`; `None` when it is no date.
pub fn day_start(date: &str, tz: Tz) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.timestamp_millis())
}
