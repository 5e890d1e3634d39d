//! Insight (work in progress): hot topics from the text of work orders and letters, and early
//! warnings of bursts, computed incrementally in event time over everything stored.

pub use tongban_web::charts;
pub mod dashboards;
pub mod evaluation;
pub mod facts;
pub mod index;
pub mod pages;
pub mod renames;
pub mod routes;
pub mod segment;
pub mod textrank;
pub mod topics;
pub mod visits;
pub mod warnings;

pub mod error;

pub use error::InsightError;
use tongban_platform::Ctx;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("insight", 1, "0001_insight"),
    tongban_platform::migration!("insight", 2, "0002_daily_figures"),
    tongban_platform::migration!("insight", 3, "0003_terms_without_identifiers"),
];

/// A period of whole days `[from, to]` (YYYY-MM-DD, in the configured zone) as epoch
/// milliseconds `[start, end)`; by default the last `default_days` days up to today.
pub fn range(
    ctx: &Ctx,
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
) -> Result<(i64, i64), InsightError> {
    let parse = |name: &'static str, v: &str| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
            .ok_or_else(|| InsightError::InvalidDate {
                name,
                value: v.to_owned(),
            })
    };
    let today = ctx.today();
    let to = match to.filter(|s| !s.is_empty()) {
        Some(v) => parse("to", v)?,
        None => today,
    };
    let from = match from.filter(|s| !s.is_empty()) {
        Some(v) => parse("from", v)?,
        None => to - chrono::Duration::days(default_days - 1),
    };
    if from > to {
        return Err(InsightError::InvalidRange("from must not be after to"));
    }
    if (to - from).num_days() > 400 {
        return Err(InsightError::InvalidRange(
            "ask for at most 400 days at once",
        ));
    }
    let start = |d: chrono::NaiveDate| {
        tongban_platform::time::day_start(&d.format("%Y-%m-%d").to_string(), ctx.tz)
    };
    let (Some(a), Some(b)) = (start(from), to.succ_opt().and_then(start)) else {
        return Err(InsightError::DateOutOfCalendar);
    };
    Ok((a, b))
}
