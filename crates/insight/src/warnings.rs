//! Early warnings (预警), in event time. For every top-level category × district, the
//! expected number of messages in the last three hours is learned from the previous four
//! weeks, shaped by the city's hour-of-week pattern; an improbably high count (Poisson upper
//! tail below `P_LIMIT`, at least `MIN_COUNT` messages and twice the expectation) raises a
//! `rate` warning. A term never seen in a district before that repeats there within six hours
//! raises a `term` warning. Each warning records when it would have fired (`detected_at`).

use crate::index::hour_of_week;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{audit, params, Ctx};

/// Hours in the observation window.
pub const WINDOW_HOURS: i64 = 3;
/// Weeks of history the expectation is learned from.
pub const HISTORY_WEEKS: i64 = 4;
/// The Poisson tail probability below which a count is improbably high.
pub const P_LIMIT: f64 = 1e-6;
/// Fewer messages than this never warn.
pub const MIN_COUNT: i64 = 6;
/// A new term must repeat this often within `TERM_HOURS` in a district.
pub const TERM_COUNT: i64 = 4;
pub const TERM_HOURS: i64 = 6;
/// A district needs this much history before its terms can be new.
pub const TERM_HISTORY_DAYS: i64 = 7;

/// What a batch of messages touched.
#[derive(Debug, Default, Clone)]
pub struct Touched {
    /// (top-level category, district) → the event times of the batch's messages there.
    pub keys: BTreeMap<(String, String), Vec<i64>>,
    /// (term, district, event time) of every term occurrence.
    pub terms: Vec<(String, String, i64)>,
}

impl Touched {
    pub fn note(&mut self, category: &str, district: &str, at: i64) {
        self.keys
            .entry((category.to_owned(), district.to_owned()))
            .or_default()
            .push(at);
    }
}

fn ln_factorial(k: i64) -> f64 {
    (2..=k).map(|i| (i as f64).ln()).sum()
}

/// P(X ≥ k) for X ~ Poisson(λ), summed from the tail (no cancellation for small values).
pub fn poisson_sf(k: i64, lambda: f64) -> f64 {
    if k <= 0 {
        return 1.0;
    }
    let lambda = lambda.max(1e-9);
    let mut term = (-lambda + k as f64 * lambda.ln() - ln_factorial(k)).exp();
    let mut sum = 0.0;
    let mut i = k;
    while i < k + 1000 {
        sum += term;
        i += 1;
        term *= lambda / i as f64;
        if term < sum * 1e-12 {
            break;
        }
    }
    sum.min(1.0)
}

/// The city's hour-of-week shape over the history window: factor per slot, mean 1.
fn seasonal(
    c: &mut dyn Conn,
    from: i64,
    to: i64,
    tz: tongban_platform::time::Tz,
) -> Result<[f64; 168], DbError> {
    let rows = c.query(
        "SELECT hour, CAST(SUM(n) AS BIGINT) AS n FROM insight_hours WHERE hour >= $1 AND hour <= $2 GROUP BY hour",
        params![from, to],
    )?;
    let mut slots = [0f64; 168];
    let mut total = 0f64;
    for r in rows {
        let n = r.get_i64("n")? as f64;
        slots[hour_of_week(r.get_i64("hour")?, tz)] += n;
        total += n;
    }
    let mean = total / 168.0;
    let mut f = [1f64; 168];
    for (i, s) in slots.iter().enumerate() {
        f[i] = (s + 1.0) / (mean + 1.0);
    }
    Ok(f)
}

#[derive(Debug, Clone, Serialize)]
pub struct Warning {
    pub id: i64,
    pub kind: String,
    pub category: Option<String>,
    /// The category's name, for labels (never the code).
    pub category_name: Option<String>,
    pub district: Option<String>,
    pub term: Option<String>,
    pub department: Option<String>,
    pub since: String,
    pub detected_at: String,
    pub observed: i64,
    pub expected: f64,
    pub p_value: f64,
    pub samples: Vec<String>,
    pub status: String,
    pub note: Option<String>,
}

/// Evaluate the warnings for what a batch touched.
pub async fn evaluate(ctx: &Ctx, t: &Touched) -> Result<usize, DbError> {
    let tz = ctx.tz;
    let t = t.clone();
    // Only the rules are needed, not the tree.
    let routing = ctx
        .db
        .read(tongban_hotline::settings::stored)
        .await?
        .routing();
    ctx.db
        .write(move |c| {
            let mut made = 0;
            let mut shapes: HashMap<i64, [f64; 168]> = HashMap::new();
            for ((cat, district), times) in &t.keys {
                let mut times = times.clone();
                times.sort_unstable();
                let Some(last) = times.last().copied() else { continue };
                let h = last.div_euclid(3_600_000);
                let from = h - WINDOW_HOURS - HISTORY_WEEKS * 168 + 1;
                let to = h - WINDOW_HOURS;
                let shape = match shapes.entry(h) {
                    std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                    std::collections::hash_map::Entry::Vacant(e) => *e.insert(seasonal(c, from, to, tz)?),
                };
                let Some(per_hour) = learned_rate(c, cat, district, from, to)? else { continue };
                // Evaluated at each message's time, as if they had arrived one by one: the
                // window counts come from one read of the place's message times.
                let (Some(&first), Some(&last)) = (times.first(), times.last()) else { continue };
                let arrivals: Vec<i64> = c
                    .query(
                        "SELECT at FROM insight_docs WHERE district = $1 AND (category = $2 OR category LIKE $3) AND at > $4 AND at <= $5 ORDER BY at",
                        params![district.as_str(), cat.as_str(), format!("{cat}.%"), first - WINDOW_HOURS * 3_600_000, last],
                    )?
                    .iter()
                    .map(|r| r.get_i64("at"))
                    .collect::<Result<_, _>>()?;
                for at in times {
                    let lo = arrivals.partition_point(|x| *x <= at - WINDOW_HOURS * 3_600_000);
                    let hi = arrivals.partition_point(|x| *x <= at);
                    let observed = (hi - lo) as i64;
                    if observed < MIN_COUNT {
                        continue;
                    }
                    let Some(w) = rate_warning(c, cat, district, at, observed, per_hour, &shape, tz)? else { continue };
                    // The department that answers most of the burst's messages, else the rules.
                    let dept = c
                        .query_opt(
                            "SELECT department_code, COUNT(*) AS n FROM insight_docs WHERE district = $1 AND (category = $2 OR category LIKE $3)
                             AND at >= $4 AND at <= $5 AND department_code IS NOT NULL GROUP BY department_code ORDER BY COUNT(*) DESC LIMIT 1",
                            params![district.as_str(), cat.as_str(), format!("{cat}.%"), w.since, w.detected_at],
                        )?
                        .map(|r| r.get_str("department_code"))
                        .transpose()?
                        .or_else(|| routing.route(cat, district).map(str::to_owned));
                    insert(c, &w, dept.as_deref())?;
                    made += 1;
                    break;
                }
            }
            let mut occurrences: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
            for (term, district, at) in &t.terms {
                occurrences.entry((term.clone(), district.clone())).or_default().push(*at);
            }
            // Most terms are old in their district: one read per district and chunk of terms
            // settles them.
            let mut first_seen: HashMap<(String, String), i64> = HashMap::new();
            let mut by_district: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (term, district) in occurrences.keys() {
                by_district.entry(district).or_default().push(term);
            }
            for (district, terms) in by_district {
                for chunk in terms.chunks(400) {
                    let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
                    let mut p = vec![tongban_platform::db::Value::from(district)];
                    p.extend(chunk.iter().map(|t| tongban_platform::db::Value::from(*t)));
                    for r in c.query(
                        &format!(
                            "SELECT term, first_at FROM insight_term_districts WHERE district = $1 AND term IN ({})",
                            marks.join(", ")
                        ),
                        &p,
                    )? {
                        first_seen.insert((r.get_str("term")?, district.to_owned()), r.get_i64("first_at")?);
                    }
                }
            }
            for ((term, district), mut times) in occurrences {
                times.sort_unstable();
                let first_seen = first_seen.get(&(term.clone(), district.clone())).copied();
                let earliest = times.first().copied().unwrap_or(0);
                if first_seen.is_none_or(|f| f < earliest - 48 * 3_600_000) {
                    continue;
                }
                for at in times {
                    if let Some(w) = term_warning(c, &term, &district, at)? {
                        insert(c, &w, None)?;
                        made += 1;
                        break;
                    }
                }
            }
            Ok(made)
        })
        .await
}

struct NewWarning {
    kind: &'static str,
    category: Option<String>,
    district: String,
    term: Option<String>,
    since: i64,
    detected_at: i64,
    observed: i64,
    expected: f64,
    p: f64,
    samples: Vec<String>,
}

/// Messages per hour at a place over the history window, or `None` without a week of it.
fn learned_rate(
    c: &mut dyn Conn,
    cat: &str,
    district: &str,
    from: i64,
    to: i64,
) -> Result<Option<f64>, DbError> {
    let first = c
        .query_one("SELECT MIN(hour) AS h FROM insight_hours", &[])?
        .get_opt_i64("h")?
        .unwrap_or(to);
    let start = from.max(first);
    let covered = to - start + 1;
    if covered < 168 {
        return Ok(None);
    }
    let base = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_hours WHERE category = $1 AND district = $2 AND hour >= $3 AND hour <= $4",
            params![cat, district, start, to],
        )?
        .get_i64("n")? as f64;
    Ok(Some(base / covered as f64))
}

/// The rate test at event time `at`: the messages of the last `WINDOW_HOURS` against the
/// learned rate shaped by the hour of the week.
#[allow(clippy::too_many_arguments)]
fn rate_warning(
    c: &mut dyn Conn,
    cat: &str,
    district: &str,
    at: i64,
    observed: i64,
    per_hour: f64,
    shape: &[f64; 168],
    tz: tongban_platform::time::Tz,
) -> Result<Option<NewWarning>, DbError> {
    let window_start = at - WINDOW_HOURS * 3_600_000;
    let like = format!("{cat}.%");
    let h = at.div_euclid(3_600_000);
    let expected: f64 = ((h - WINDOW_HOURS + 1)..=h)
        .map(|x| per_hour * shape[hour_of_week(x, tz)])
        .sum::<f64>()
        .max(0.05);
    let p = poisson_sf(observed, expected);
    if p >= P_LIMIT || (observed as f64) < 2.0 * expected {
        return Ok(None);
    }
    // One warning per burst: none while another for the same place is recent.
    let recent = c.query_opt(
        "SELECT id FROM insight_warnings WHERE kind = 'rate' AND category = $1 AND district = $2 AND detected_at > $3 AND detected_at <= $4",
        params![cat, district, at - 24 * 3_600_000, at + 24 * 3_600_000],
    )?;
    if recent.is_some() {
        return Ok(None);
    }
    let docs = c.query(
        "SELECT order_no, at FROM insight_docs WHERE district = $1 AND (category = $2 OR category LIKE $3) AND at > $4 AND at <= $5
         ORDER BY at",
        params![district, cat, like.as_str(), window_start, at],
    )?;
    let since = docs
        .first()
        .map(|r| r.get_i64("at"))
        .transpose()?
        .unwrap_or(window_start);
    let samples = docs
        .iter()
        .rev()
        .take(5)
        .map(|r| r.get_str("order_no"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(NewWarning {
        kind: "rate",
        category: Some(cat.to_owned()),
        district: district.to_owned(),
        term: None,
        since,
        detected_at: at,
        observed,
        expected,
        p,
        samples,
    }))
}

fn term_warning(
    c: &mut dyn Conn,
    term: &str,
    district: &str,
    at: i64,
) -> Result<Option<NewWarning>, DbError> {
    let Some(first) = c
        .query_opt(
            "SELECT first_at FROM insight_term_districts WHERE term = $1 AND district = $2",
            params![term, district],
        )?
        .map(|r| r.get_i64("first_at"))
        .transpose()?
    else {
        return Ok(None);
    };
    // New: first seen in this district within the last two days (and at most `at`).
    if first < at - 48 * 3_600_000 || first > at {
        return Ok(None);
    }
    let district_since = c
        .query_one(
            "SELECT MIN(at) AS a FROM insight_docs WHERE district = $1",
            params![district],
        )?
        .get_opt_i64("a")?
        .unwrap_or(at);
    if district_since > first - TERM_HISTORY_DAYS * 86_400_000 {
        return Ok(None);
    }
    let docs = c.query(
        "SELECT d.order_no, d.at FROM insight_terms t JOIN insight_docs d ON d.order_id = t.order_id
         WHERE t.term = $1 AND d.district = $2 AND d.at > $3 AND d.at <= $4 ORDER BY d.at",
        params![term, district, at - TERM_HOURS * 3_600_000, at],
    )?;
    let observed = docs.len() as i64;
    if observed < TERM_COUNT {
        return Ok(None);
    }
    // Place names are not news, and one new-term warning per district a day is enough: the
    // first term that repeats stands for the incident.
    if crate::segment::is_place(term)
        || c.query_opt(
            "SELECT id FROM insight_warnings WHERE kind = 'term' AND district = $1 AND (term = $2 OR (detected_at > $3 AND detected_at <= $4))",
            params![district, term, at - 86_400_000, at],
        )?
        .is_some()
    {
        return Ok(None);
    }
    let samples = docs
        .iter()
        .rev()
        .take(5)
        .map(|r| r.get_str("order_no"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(NewWarning {
        kind: "term",
        category: None,
        district: district.to_owned(),
        term: Some(term.to_owned()),
        since: first,
        detected_at: at,
        observed,
        expected: 0.0,
        p: 0.0,
        samples,
    }))
}

/// Tell the supervisors and the responsible department's handlers (those with an e-mail).
fn tell_staff(c: &mut dyn Conn, w: &NewWarning, dept: Option<&str>) -> Result<(), DbError> {
    let what = match (&w.term, &w.category) {
        (Some(t), _) => format!("{}出现新词“{t}”", w.district),
        (None, Some(cat)) => format!(
            "{} {} 类诉求量异常",
            w.district,
            tongban_hotline::categories::name_of(c, cat)?.unwrap_or_else(|| cat.clone())
        ),
        _ => w.district.clone(),
    };
    let subject = format!("12345 预警：{what}");
    let text = format!(
        "{what}：实际 {} 件，预期 {:.1} 件。示例工单：{}。请登录工作台确认并处置。",
        w.observed,
        w.expected,
        w.samples.join("、")
    );
    let mut to = tongban_platform::identity::staff_emails(c, Role::Supervisor, None)?;
    if let Some(d) = dept {
        to.extend(tongban_platform::identity::staff_emails(
            c,
            Role::Handler,
            Some(d),
        )?);
    }
    to.sort();
    to.dedup();
    let now = tongban_platform::time::now_millis();
    for addr in to {
        tongban_platform::notify::email(c, &addr, &subject, &text, now)?;
    }
    Ok(())
}

fn insert(c: &mut dyn Conn, w: &NewWarning, dept: Option<&str>) -> Result<(), DbError> {
    tell_staff(c, w, dept)?;
    c.execute(
        "INSERT INTO insight_warnings (kind, category, district, term, department_code, since, detected_at, observed, expected,
            p_value, samples, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12)",
        params![
            w.kind,
            w.category.as_deref(),
            w.district.as_str(),
            w.term.as_deref(),
            dept,
            w.since,
            w.detected_at,
            w.observed,
            w.expected,
            w.p,
            serde_json::to_string(&w.samples).unwrap_or_else(|_| "[]".into()),
            tongban_platform::time::now_millis()
        ],
    )?;
    Ok(())
}

mod handling;
pub use handling::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tail() {
        assert!((poisson_sf(0, 3.0) - 1.0).abs() < 1e-12);
        // P(X ≥ 1) = 1 - e^-λ
        assert!((poisson_sf(1, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-9);
        // P(X ≥ 10 | λ = 1) ≈ 1.114e-7
        let p = poisson_sf(10, 1.0);
        assert!((p - 1.114e-7).abs() / 1.114e-7 < 0.01, "{p}");
        assert!(poisson_sf(200, 1.0) < 1e-100);
        assert!(poisson_sf(5, 50.0) > 0.999);
    }
}
