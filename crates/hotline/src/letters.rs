//! The public mailbox (公开信件): letters whose writers asked for them to be public, once an
//! editor has published a version with personal data removed; and per-department figures.

use crate::ratings::percent;
use crate::settings;
use crate::HotlineError;
use serde::{Deserialize, Serialize};
use tongban_platform::db::{DbError, Value};
use tongban_platform::{params, Ctx};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LetterQuery {
    pub department: Option<String>,
    pub category: Option<String>,
    pub q: Option<String>,
    /// One letter, by its order number (where the one search links to).
    pub order: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// The older name of `page_size`.
    pub per_page: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Letter {
    pub order_no: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub title: String,
    pub category: String,
    pub category_name: String,
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub received_on: String,
    pub replied_on: Option<String>,
    pub text: String,
    pub reply: String,
}

#[derive(Debug, Serialize)]
pub struct Letters {
    pub items: Vec<Letter>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// A published letter as the one search indexes it (its public, scrubbed version).
#[derive(Debug, Clone)]
pub struct PublishedLetter {
    pub order_no: String,
    pub title: String,
    pub text: String,
    pub reply: String,
    pub department: Option<String>,
    pub department_name: Option<String>,
    /// Milliseconds.
    pub published_at: i64,
}

/// The public mailbox's change feed for followers (the search index): letters published at
/// or after `since` (milliseconds), oldest first, at most `limit`; with the time of the
/// newest. Letters are published once and never taken back.
pub fn published_since(
    c: &mut dyn tongban_platform::db::Conn,
    since: i64,
    limit: i64,
) -> Result<(Vec<PublishedLetter>, i64), DbError> {
    let rows = c.query(
        "SELECT o.order_no, o.public_title, o.public_text, o.public_reply, o.department_code,
                d.name AS dname, o.published_at
         FROM work_orders o LEFT JOIN departments d ON d.code = o.department_code
         WHERE o.public AND o.published_at IS NOT NULL AND o.published_at >= $1
         ORDER BY o.published_at, o.id LIMIT $2",
        params![since, limit],
    )?;
    let mut newest = since;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let at = r.get_i64("published_at")?;
        newest = newest.max(at);
        out.push(PublishedLetter {
            order_no: r.get_str("order_no")?,
            title: r.get_opt_str("public_title")?.unwrap_or_default(),
            text: r.get_opt_str("public_text")?.unwrap_or_default(),
            reply: r.get_opt_str("public_reply")?.unwrap_or_default(),
            department: r.get_opt_str("department_code")?,
            department_name: r.get_opt_str("dname")?,
            published_at: at,
        });
    }
    Ok((out, newest))
}

/// Published letters, newest first; filter by department, category (a top-level category
/// takes its sub-categories) and words in the title or text.
pub async fn list(ctx: &Ctx, q: LetterQuery) -> Result<Letters, HotlineError> {
    let tongban_platform::http::Paging {
        page,
        page_size: per_page,
    } = tongban_platform::http::Paging::new(q.page, q.page_size.or(q.per_page), 20)?;
    let words =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
    if words.as_ref().is_some_and(|w| w.chars().count() > 50) {
        return Err(HotlineError::InvalidQuery(
            "search with at most 50 characters".into(),
        ));
    }
    let tz = ctx.tz;
    Ok(ctx
        .db
        .read(move |c| {
            let s = settings::load(c)?;
            let mut p: Vec<Value> = Vec::new();
            let mut w = vec!["o.published_at IS NOT NULL AND o.public".to_owned()];
            if let Some(d) = q.department.as_deref().filter(|d| !d.is_empty()) {
                p.push(d.into());
                w.push(format!("o.department_code = ${}", p.len()));
            }
            if let Some(no) = q.order.as_deref().filter(|d| !d.is_empty()) {
                p.push(no.into());
                w.push(format!("o.order_no = ${}", p.len()));
            }
            if let Some(cat) = q.category.as_deref().filter(|d| !d.is_empty()) {
                p.push(cat.into());
                p.push(format!("{cat}.%").into());
                w.push(format!("(o.category = ${} OR o.category LIKE ${})", p.len() - 1, p.len()));
            }
            if let Some(words) = &words {
                let pat = format!("%{}%", words.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
                p.push(pat.into());
                w.push(format!("(o.public_title LIKE ${n} ESCAPE '\\' OR o.public_text LIKE ${n} ESCAPE '\\')", n = p.len()));
            }
            let wh = w.join(" AND ");
            let total = c
                .query_one(&format!("SELECT COUNT(*) AS n FROM work_orders o WHERE {wh}"), &p)?
                .get_i64("n")?;
            p.push(per_page.into());
            p.push(((page - 1).saturating_mul(per_page)).into());
            let rows = c.query(
                &format!(
                    "SELECT o.order_no, o.order_type, o.title, o.public_title, o.category, o.department_code, d.name AS dname, o.received_at,
                            o.replied_at, o.public_text, o.public_reply
                     FROM work_orders o LEFT JOIN departments d ON d.code = o.department_code
                     WHERE {wh} ORDER BY o.published_at DESC, o.id DESC LIMIT ${} OFFSET ${}",
                    p.len() - 1,
                    p.len()
                ),
                &p,
            )?;
            let day = |ms: i64| tongban_platform::time::date_of(ms, tz).format("%Y-%m-%d").to_string();
            let items = rows
                .iter()
                .map(|r| {
                    let cat = r.get_str("category")?;
                    Ok(Letter {
                        order_no: r.get_str("order_no")?,
                        order_type: r.get_str("order_type")?,
                        // Letters published before editors wrote a public title show the
                        // citizen's own, scrubbed.
                        title: match r.get_opt_str("public_title")? {
                            Some(t) => t,
                            None => tongban_platform::mask::scrub_text(&tongban_platform::vault::open_text(&r.get_str("title")?)?),
                        },
                        category_name: s.category_name(&cat),
                        category: cat,
                        department: r.get_opt_str("department_code")?,
                        department_name: r.get_opt_str("dname")?,
                        received_on: day(r.get_i64("received_at")?),
                        replied_on: r.get_opt_i64("replied_at")?.map(day),
                        text: r.get_opt_str("public_text")?.unwrap_or_default(),
                        reply: r.get_opt_str("public_reply")?.unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            Ok(Letters {
                items,
                total,
                page,
                per_page,
            })
        })
        .await?)
}

#[derive(Debug, Serialize)]
pub struct DeptFigures {
    pub department: String,
    pub department_name: String,
    pub received: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    /// Percent of answered orders answered within the limit.
    pub on_time_rate: Option<f64>,
    pub rated: i64,
    /// Percent of ratings 基本满意 or better.
    pub satisfaction_rate: Option<f64>,
}

/// Per-department figures over all work orders (not only public letters).
pub async fn stats(ctx: &Ctx) -> Result<Vec<DeptFigures>, HotlineError> {
    Ok(ctx
        .db
        .read(|c| {
            let rows = c.query(
                "SELECT o.department_code AS k, d.name AS dname, COUNT(*) AS received,
                        SUM(CASE WHEN o.replied_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
                        SUM(CASE WHEN o.replied_on_time THEN 1 ELSE 0 END) AS on_time
                 FROM work_orders o LEFT JOIN departments d ON d.code = o.department_code
                 WHERE o.department_code IS NOT NULL GROUP BY o.department_code, d.name ORDER BY o.department_code",
                &[],
            )?;
            let mut out = Vec::new();
            for r in rows {
                let k = r.get_str("k")?;
                let rt = c.query_one(
                    "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END), 0) AS good
                     FROM ratings WHERE subject_kind = 'workorder' AND department_code = $1",
                    params![k.as_str()],
                )?;
                let (received, answered, on_time) = (
                    r.get_i64("received")?,
                    r.get_opt_i64("answered")?.unwrap_or(0),
                    r.get_opt_i64("on_time")?.unwrap_or(0),
                );
                let (rated, good) = (rt.get_i64("n")?, rt.get_i64("good")?);
                out.push(DeptFigures {
                    department_name: r.get_opt_str("dname")?.unwrap_or_default(),
                    department: k,
                    received,
                    answered,
                    answered_on_time: on_time,
                    on_time_rate: percent(on_time, answered),
                    rated,
                    satisfaction_rate: percent(good, rated),
                });
            }
            Ok(out)
        })
        .await?)
}
