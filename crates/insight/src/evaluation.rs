//! The e-government evaluation (电子政务发展评估) of a month, from the platform's own data, on
//! four dimensions — 基础准备, 在线服务, 电子参与, 移动政务 — each with named indicators and their
//! formulas, month-on-month and year-on-year changes, and a composite index with configurable
//! weights. Served as JSON and written as an XLSX workbook by `tongban report evaluation`.

use crate::InsightError;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, Ctx};

mod districts;
mod indicators;
mod output;
pub use districts::{Basis, DistrictFigures};
use indicators::INDICATORS;
pub use output::{charts, workbook};

pub const DIMENSIONS: [(&str, &str, &str); 4] = [
    ("readiness", "基础准备", "Infrastructure readiness"),
    ("online", "在线服务", "Online services"),
    ("participation", "电子参与", "E-participation"),
    ("mobile", "移动政务", "Mobile government"),
];

#[derive(Debug, Clone, Serialize)]
pub struct Indicator {
    pub code: &'static str,
    pub name: &'static str,
    pub name_en: &'static str,
    pub unit: &'static str,
    pub formula: &'static str,
    pub value: Option<f64>,
    /// 0–100 where the indicator is a rate; volumes are reported without a score.
    pub score: Option<f64>,
    pub previous: Option<f64>,
    pub year_ago: Option<f64>,
    /// Change against the month before / the same month a year before: for a rate (unit
    /// `%`) the difference in percentage points (个百分点), for a volume the relative change.
    pub mom: Option<f64>,
    pub yoy: Option<f64>,
    /// Whether `mom` and `yoy` are percentage points (a rate) rather than a ratio.
    pub change_in_points: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dimension {
    pub code: &'static str,
    pub name: &'static str,
    pub name_en: &'static str,
    pub weight: f64,
    pub score: Option<f64>,
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub month: String,
    pub from: String,
    pub to: String,
    pub index: Option<f64>,
    pub dimensions: Vec<Dimension>,
    /// E-participation per district or county of the region, in the region's order.
    pub districts: Vec<DistrictFigures>,
}

/// The first day of a month `YYYY-MM`.
pub fn parse_month(m: &str) -> Result<NaiveDate, InsightError> {
    NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(|| InsightError::InvalidMonth(m.to_owned()))
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

fn prev_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 1 {
        (d.year() - 1, 12)
    } else {
        (d.year(), d.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

fn count(c: &mut dyn Conn, sql: &str, p: &[tongban_platform::db::Value]) -> Result<i64, DbError> {
    c.query_one(sql, p)?.get_i64("n")
}

struct Period {
    start_day: String,
    end_day: String,
    start: i64,
    end: i64,
    start_date: NaiveDate,
}

/// The indicator values of one month: (code, value).
fn values(
    c: &mut dyn Conn,
    p: &Period,
    now: i64,
    cal: &Calendar,
    population: Option<i64>,
    tz: tongban_platform::time::Tz,
) -> Result<Vec<(&'static str, Option<f64>)>, DbError> {
    let (s, e) = (p.start, p.end);
    let mut v = Vec::new();
    // 基础准备
    // Availability counts from the first minute the platform recorded itself serving.
    let first_up = c
        .query_one("SELECT MIN(minute) AS m FROM insight_uptime", &[])?
        .get_opt_i64("m")?;
    let span_start = first_up.map_or(e, |m| s.max(m * 60_000));
    let span_end = e.min(now);
    let minutes = ((span_end - span_start) / 60_000).max(0);
    let up = count(
        c,
        "SELECT COUNT(*) AS n FROM insight_uptime WHERE minute >= $1 AND minute < $2",
        params![span_start / 60_000, span_end / 60_000],
    )?;
    v.push((
        "availability",
        (minutes > 0)
            .then(|| pct(up.min(minutes), minutes))
            .flatten(),
    ));
    let catalog = tongban_catalog::stats::counts(c)?;
    let participation = tongban_hotline::stats::period(c, s, e)?;
    let published = catalog.published;
    v.push(("guides_complete", pct(catalog.complete, published)));
    let depts = tongban_platform::identity::list_departments(c)?;
    let connected = depts
        .iter()
        .filter(|d| {
            catalog.departments.contains(&d.code) || participation.departments.contains(&d.code)
        })
        .count() as i64;
    v.push(("departments_connected", pct(connected, depts.len() as i64)));
    let sharing = tongban_exchange::stats::period(c, s, e, now)?;
    let sharing_depts = depts
        .iter()
        .filter(|d| sharing.departments.contains(&d.code))
        .count() as i64;
    v.push(("data_sharing", pct(sharing_depts, depts.len() as i64)));
    v.push(("exchanges", Some(sharing.answered as f64)));
    let web = tongban_portal::stats::period(c, &p.start_day, &p.end_day, s, e)?;
    v.push(("sites_updated", pct(web.sites_updated, web.sites)));
    v.push((
        "disclosure_on_time",
        pct(web.answered_on_time, web.requests_answered),
    ));
    v.push(("site_visits", Some(web.views as f64)));
    let open = tongban_opendata::stats::period(c, &p.start_day, &p.end_day)?;
    v.push(("open_datasets", Some(open.datasets as f64)));
    v.push((
        "open_data_use",
        Some((open.downloads + open.api_calls) as f64),
    ));
    // 在线服务
    v.push(("fully_online", pct(catalog.fully_online, published)));
    v.push((
        "at_most_one_visit",
        pct(catalog.at_most_one_visit, published),
    ));
    let cases = tongban_cases::stats::totals(c, s, e, cal, tz)?;
    let n = cases.decided;
    v.push(("cases_on_time", pct(cases.on_time, n)));
    v.push((
        "avg_working_days",
        (n > 0).then(|| (cases.days_taken as f64 * 10.0 / n as f64).round() / 10.0),
    ));
    v.push((
        "avg_promised_days",
        (n > 0).then(|| (cases.days_promised as f64 * 10.0 / n as f64).round() / 10.0),
    ));
    let users = tongban_platform::identity::count_accounts(c, Some(e))?;
    v.push(("registered_users", Some(users as f64)));
    let visits = count(
        c,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day < $2",
        params![p.start_day.as_str(), p.end_day.as_str()],
    )?;
    v.push(("monthly_visits", Some(visits as f64)));
    // 电子参与
    let orders = participation.received;
    v.push((
        "orders_per_10k",
        population
            .filter(|p| *p > 0)
            .map(|p| (orders as f64 * 10_000.0 / p as f64 * 100.0).round() / 100.0),
    ));
    v.push((
        "answered_on_time",
        pct(participation.replied_on_time, participation.replied),
    ));
    v.push((
        "satisfaction",
        pct(participation.satisfied, participation.rated),
    ));
    // Rectifications due in the month: an open one past its day counts as late.
    let today = tongban_platform::time::date_of(now, tz)
        .format("%Y-%m-%d")
        .to_string();
    let (due, on_time) =
        tongban_hotline::stats::rectifications_due(c, &p.start_day, &p.end_day, &today)?;
    v.push(("rectified_on_time", pct(on_time, due)));
    v.push(("letters_published", Some(participation.published as f64)));
    // 移动政务
    v.push((
        "mobile_orders_share",
        pct(participation.received_mobile, orders),
    ));
    v.push(("mobile_cases_share", pct(cases.mobile, cases.submitted)));
    let mobile_views = count(
        c,
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day < $2 AND device = 'mobile'",
        params![p.start_day.as_str(), p.end_day.as_str()],
    )?;
    v.push(("mobile_visits_share", pct(mobile_views, visits)));
    let mobile_users = count(
        c,
        "SELECT COUNT(*) AS n FROM insight_visitors WHERE day >= $1 AND day < $2 AND device = 'mobile'",
        params![p.start_day.as_str(), p.end_day.as_str()],
    )?;
    v.push(("mobile_visitor_days", Some(mobile_users as f64)));
    let _ = p.start_date;
    Ok(v)
}

/// The change from `before` to `now`: a rate (`points`) moves by percentage points (80% →
/// 84% is +4 个百分点, not +5%), a volume by its ratio to the period before.
fn change(now: Option<f64>, before: Option<f64>, points: bool) -> Option<f64> {
    match (now, before) {
        (Some(a), Some(b)) if points => Some(((a - b) * 10.0).round() / 10.0),
        (Some(a), Some(b)) if b != 0.0 => Some(((a / b - 1.0) * 1000.0).round() / 1000.0),
        _ => None,
    }
}

fn period(d: NaiveDate, tz: tongban_platform::time::Tz) -> Option<Period> {
    let end = next_month(d);
    let ds = |x: NaiveDate| x.format("%Y-%m-%d").to_string();
    Some(Period {
        start: tongban_platform::time::day_start(&ds(d), tz)?,
        end: tongban_platform::time::day_start(&ds(end), tz)?,
        start_day: ds(d),
        end_day: ds(end),
        start_date: d,
    })
}

fn with_speed(mut v: Vec<(&'static str, Option<f64>)>) -> Vec<(&'static str, Option<f64>)> {
    let get =
        |k: &str, v: &[(&str, Option<f64>)]| v.iter().find(|(c, _)| *c == k).and_then(|(_, x)| *x);
    let speed = match (get("avg_promised_days", &v), get("avg_working_days", &v)) {
        (Some(p), Some(t)) if t > 0.0 => Some((p / t * 100.0).min(100.0)),
        (Some(_), Some(_)) => Some(100.0),
        _ => None,
    };
    v.push(("avg_days_score", speed.map(|s| (s * 10.0).round() / 10.0)));
    v
}

/// The report of month `d` (its first day).
pub fn compute(
    c: &mut dyn Conn,
    d: NaiveDate,
    now: i64,
    cal: &Calendar,
    basis: &Basis,
    tz: tongban_platform::time::Tz,
) -> Result<Report, DbError> {
    let (population, weights) = (basis.population, &basis.weights[..]);
    let bad = || DbError::Decode("the month cannot be placed in the calendar".into());
    let this = period(d, tz).ok_or_else(bad)?;
    let prev = period(prev_month(d), tz).ok_or_else(bad)?;
    let year_ago = NaiveDate::from_ymd_opt(d.year() - 1, d.month(), 1)
        .and_then(|y| period(y, tz))
        .ok_or_else(bad)?;
    let cur = with_speed(values(c, &this, now, cal, population, tz)?);
    let before = with_speed(values(c, &prev, now, cal, population, tz)?);
    let ago = with_speed(values(c, &year_ago, now, cal, population, tz)?);
    let find =
        |v: &[(&str, Option<f64>)], k: &str| v.iter().find(|(c, _)| *c == k).and_then(|(_, x)| *x);
    let total_w: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut dims = Vec::new();
    for (i, (code, name, name_en)) in DIMENSIONS.iter().enumerate() {
        let indicators: Vec<Indicator> = INDICATORS
            .iter()
            .filter(|x| x.1 == i)
            .map(|(code, _, name, name_en, unit, formula, scored)| {
                let value = find(&cur, code);
                let points = *unit == "%";
                Indicator {
                    code,
                    name,
                    name_en,
                    unit,
                    formula,
                    value,
                    score: if *scored {
                        value.map(|v| v.clamp(0.0, 100.0))
                    } else {
                        None
                    },
                    previous: find(&before, code),
                    year_ago: find(&ago, code),
                    mom: change(value, find(&before, code), points),
                    yoy: change(value, find(&ago, code), points),
                    change_in_points: points,
                }
            })
            .collect();
        let scores: Vec<f64> = indicators.iter().filter_map(|x| x.score).collect();
        dims.push(Dimension {
            code,
            name,
            name_en,
            weight: weights.get(i).copied().unwrap_or(0.0) / total_w,
            score: (!scores.is_empty())
                .then(|| (scores.iter().sum::<f64>() / scores.len() as f64 * 10.0).round() / 10.0),
            indicators,
        });
    }
    let scored: Vec<(f64, f64)> = dims
        .iter()
        .filter_map(|d| d.score.map(|s| (d.weight, s)))
        .collect();
    let w: f64 = scored.iter().map(|(w, _)| w).sum();
    let index = (w > 0.0)
        .then(|| (scored.iter().map(|(w, s)| w * s).sum::<f64>() / w * 10.0).round() / 10.0);
    let districts = districts::by_district(c, &this, &basis.districts)?;
    Ok(Report {
        month: d.format("%Y-%m").to_string(),
        from: this.start_day,
        to: prev_day(&this.end_day),
        index,
        dimensions: dims,
        districts,
    })
}

fn prev_day(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.pred_opt())
        .map_or_else(|| day.to_owned(), |d| d.format("%Y-%m-%d").to_string())
}

/// The report for a month `YYYY-MM` (default: the month before this one).
pub async fn report(ctx: &Ctx, month: Option<&str>) -> Result<Report, InsightError> {
    let d = match month.filter(|m| !m.is_empty()) {
        Some(m) => parse_month(m)?,
        None => prev_month(
            NaiveDate::from_ymd_opt(ctx.today().year(), ctx.today().month(), 1)
                .unwrap_or(ctx.today()),
        ),
    };
    let cal = ctx.calendar();
    let region = tongban_platform::region::current(&ctx.db).await?;
    let (basis, tz) = (Basis::of(&ctx.config, &region), ctx.tz);
    let now = tongban_platform::time::now_millis();
    Ok(ctx
        .db
        .read(move |c| compute(c, d, now, &cal, &basis, tz))
        .await?)
}

#[cfg(test)]
mod tests {

    #[test]
    fn rates_move_by_points_volumes_by_ratio() {
        assert_eq!(super::change(Some(84.0), Some(80.0), true), Some(4.0));
        assert_eq!(super::change(Some(80.0), Some(84.0), true), Some(-4.0));
        assert_eq!(super::change(Some(84.0), Some(0.0), true), Some(84.0));
        assert_eq!(super::change(Some(120.0), Some(100.0), false), Some(0.2));
        assert_eq!(super::change(Some(5.0), Some(0.0), false), None);
        assert_eq!(super::change(None, Some(1.0), true), None);
    }

    use super::*;

    #[test]
    fn months() {
        assert_eq!(
            parse_month("2026-10").unwrap(),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
        assert!(
            parse_month("2026-13").is_err()
                && parse_month("10/2026").is_err()
                && parse_month("1999-01").is_err()
        );
        assert_eq!(
            next_month(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
        assert_eq!(
            prev_month(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()
        );
        // 移动政务: orders, applications and visits from mobile, and mobile visitors.
        assert_eq!(INDICATORS.iter().filter(|x| x.1 == 3).count(), 4);
    }
}
