//! Hot topics (热点): the terms that weigh most in a period (their messages that day or week
//! against how common they are over all history, TF-IDF), grouped into topics by the messages
//! they share, each labelled by its top terms, with its count, the trend against the period
//! before, its districts and categories, and its messages. Reads only the incrementally kept
//! day counts and term index; nothing is re-segmented per request.

use crate::InsightError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tongban_platform::db::{DbError, Value};
use tongban_platform::{params, Ctx};

/// Candidate terms considered per request, and topics returned.
const CANDIDATES: i64 = 300;
const TOP_TERMS: usize = 40;
const MAX_TOPICS: usize = 20;
/// Messages read per term when grouping.
const DOCS_PER_TERM: i64 = 2000;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TopicQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub district: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Topic {
    pub label: String,
    pub terms: Vec<String>,
    /// Key phrases of its messages by TextRank (e.g. 电梯停运).
    pub phrases: Vec<String>,
    pub count: i64,
    pub previous: i64,
    /// count / previous − 1, or null when there was nothing before.
    pub trend: Option<f64>,
    pub districts: Vec<String>,
    pub categories: Vec<String>,
    pub messages: Vec<String>,
    pub weight: f64,
}

/// Topics for a period and scope.
pub async fn topics(ctx: &Ctx, q: TopicQuery) -> Result<Vec<Topic>, InsightError> {
    let (from_ms, to_ms) = crate::range(ctx, q.from.as_deref(), q.to.as_deref(), 1)?;
    let tz = ctx.tz;
    let day = |ms: i64| {
        tongban_platform::time::date_of(ms, tz)
            .format("%Y-%m-%d")
            .to_string()
    };
    let (from_day, to_day) = (day(from_ms), day(to_ms - 1));
    let span = to_ms - from_ms;
    let (prev_from, prev_to) = (day(from_ms - span), day(from_ms - 1));
    if q.district.is_some() && q.department.is_some() {
        return Err(InsightError::DistrictAndDepartment);
    }
    let scope = match (&q.district, &q.department) {
        (Some(d), _) if !d.is_empty() => {
            let region = tongban_platform::region::current(&ctx.db).await?;
            if region.district(d).is_none() {
                return Err(InsightError::UnknownDistrict {
                    district: d.clone(),
                    known: region.district_names().join("、"),
                });
            }
            format!("d:{d}")
        }
        (_, Some(d)) if !d.is_empty() => format!("dept:{d}"),
        _ => "city".to_owned(),
    };
    let district = q.district.clone().filter(|d| !d.is_empty());
    let department = q.department.clone().filter(|d| !d.is_empty());
    Ok(ctx
        .db
        .read(move |c| {
            let total_docs = c
                .query_one("SELECT COUNT(*) AS n FROM insight_docs", &[])?
                .get_i64("n")?
                .max(1) as f64;
            let cands = c.query(
                "SELECT t.term, CAST(SUM(t.n) AS BIGINT) AS n, MAX(f.n) AS df FROM insight_term_days t JOIN insight_df f ON f.term = t.term
                 WHERE t.scope = $1 AND t.day >= $2 AND t.day <= $3 GROUP BY t.term ORDER BY SUM(t.n) DESC LIMIT $4",
                params![scope.as_str(), from_day.as_str(), to_day.as_str(), CANDIDATES],
            )?;
            let mut weighted: Vec<(String, i64, f64)> = cands
                .iter()
                .map(|r| {
                    let n = r.get_i64("n")?;
                    let df = r.get_i64("df")?.max(1) as f64;
                    Ok((r.get_str("term")?, n, n as f64 * (total_docs / df).ln().max(0.1)))
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            weighted.retain(|(_, n, _)| *n >= 2);
            weighted.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
            weighted.truncate(TOP_TERMS);
            // The messages of each weighty term in the period and scope.
            let mut docs_of: Vec<(String, f64, BTreeSet<i64>)> = Vec::new();
            for (term, _, w) in &weighted {
                let mut p: Vec<Value> = vec![term.as_str().into(), from_ms.into(), to_ms.into()];
                let mut sql = "SELECT d.order_id FROM insight_terms t JOIN insight_docs d ON d.order_id = t.order_id
                     WHERE t.term = $1 AND d.at >= $2 AND d.at < $3"
                    .to_owned();
                if let Some(d) = &district {
                    p.push(d.as_str().into());
                    sql.push_str(" AND d.district = $4");
                } else if let Some(d) = &department {
                    p.push(d.as_str().into());
                    sql.push_str(" AND d.department_code = $4");
                }
                sql.push_str(&format!(" LIMIT {DOCS_PER_TERM}"));
                let ids = c
                    .query(&sql, &p)?
                    .iter()
                    .map(|r| r.get_i64("order_id"))
                    .collect::<Result<BTreeSet<_>, _>>()?;
                if ids.len() >= 2 {
                    docs_of.push((term.clone(), *w, ids));
                }
            }
            // Greedy grouping: a term joins the first topic whose messages it mostly shares.
            let mut groups: Vec<(Vec<String>, f64, BTreeSet<i64>)> = Vec::new();
            for (term, w, ids) in docs_of {
                // It joins when most of its messages (seven in ten) are already in the topic.
                let home = groups.iter_mut().find(|(_, _, g)| {
                    let shared = ids.intersection(g).count();
                    shared * 10 >= ids.len() * 7
                });
                match home {
                    Some((terms, gw, g)) => {
                        terms.push(term);
                        *gw += w;
                        g.extend(ids);
                    }
                    None => groups.push((vec![term], w, ids)),
                }
            }
            groups.sort_by(|a, b| b.1.total_cmp(&a.1));
            groups.truncate(MAX_TOPICS);
            let mut out = Vec::new();
            for (terms, weight, ids) in groups {
                let id_list: Vec<i64> = ids.iter().copied().collect();
                let mut districts: BTreeMap<String, i64> = BTreeMap::new();
                let mut categories: BTreeMap<String, i64> = BTreeMap::new();
                let mut messages = Vec::new();
                for chunk in id_list.chunks(500) {
                    let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let p: Vec<Value> = chunk.iter().map(|i| Value::from(*i)).collect();
                    for r in c.query(
                        &format!("SELECT order_no, district, category, at FROM insight_docs WHERE order_id IN ({}) ORDER BY at DESC", marks.join(",")),
                        &p,
                    )? {
                        *districts.entry(r.get_str("district")?).or_insert(0) += 1;
                        *categories.entry(r.get_str("category")?).or_insert(0) += 1;
                        if messages.len() < 20 {
                            messages.push(r.get_str("order_no")?);
                        }
                    }
                }
                let seqs: Vec<_> = tongban_hotline::orders::texts_of(c, &messages)?
                    .iter()
                    .map(|t| crate::segment::sequence(&format!("{}。{}", t.title, t.content)))
                    .collect();
                let phrases = crate::textrank::phrases(&seqs, 3);
                let head = terms.first().cloned().unwrap_or_default();
                let previous = c
                    .query_one(
                        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_term_days WHERE scope = $1 AND term = $2 AND day >= $3 AND day <= $4",
                        params![scope.as_str(), head.as_str(), prev_from.as_str(), prev_to.as_str()],
                    )?
                    .get_i64("n")?;
                let count = ids.len() as i64;
                let by_count = |m: BTreeMap<String, i64>| {
                    let mut v: Vec<(String, i64)> = m.into_iter().collect();
                    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    v.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
                };
                out.push(Topic {
                    label: terms.iter().take(3).cloned().collect::<Vec<_>>().join(" · "),
                    terms,
                    phrases,
                    count,
                    previous,
                    trend: (previous > 0).then(|| ((count as f64 / previous as f64 - 1.0) * 100.0).round() / 100.0),
                    districts: by_count(districts),
                    categories: by_count(categories),
                    messages,
                    weight: (weight * 100.0).round() / 100.0,
                });
            }
            Ok(out)
        })
        .await?)
}

/// Which messages of a topic to list: its `terms` (comma separated, as a topic gives them),
/// and the topic's period and scope.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    pub terms: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub district: Option<String>,
    pub department: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    pub per_page: Option<i64>,
}

/// A message of a topic: the work order it came from (open it for the text).
#[derive(Debug, Serialize)]
pub struct Message {
    pub order_no: String,
    pub district: String,
    pub category: String,
    pub at: i64,
}

/// Most terms one list may ask for (a topic has at most [`TOP_TERMS`]).
const MAX_TERMS: usize = TOP_TERMS;

/// Every message of a topic, the newest first, one page at a time, with the total: those
/// holding any of its terms in the period and scope.
pub async fn messages(
    ctx: &Ctx,
    q: MessagesQuery,
    p: tongban_platform::http::Paging,
) -> Result<tongban_platform::http::Paged<Message>, InsightError> {
    let terms: Vec<String> = q
        .terms
        .as_deref()
        .unwrap_or("")
        .split([',', '，'])
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if terms.is_empty() || terms.len() > MAX_TERMS {
        return Err(InsightError::InvalidTerms(MAX_TERMS));
    }
    if q.district.is_some() && q.department.is_some() {
        return Err(InsightError::DistrictAndDepartment);
    }
    let (from_ms, to_ms) = crate::range(ctx, q.from.as_deref(), q.to.as_deref(), 1)?;
    let district = q.district.filter(|d| !d.is_empty());
    let department = q.department.filter(|d| !d.is_empty());
    ctx.db
        .read(move |c| {
            let mut args: Vec<Value> = vec![from_ms.into(), to_ms.into()];
            let mut marks = Vec::new();
            for t in &terms {
                args.push(t.as_str().into());
                marks.push(format!("${}", args.len()));
            }
            let mut w = format!(
                "d.at >= $1 AND d.at < $2 AND d.order_id IN (SELECT order_id FROM insight_terms WHERE term IN ({}))",
                marks.join(", ")
            );
            if let Some(d) = &district {
                args.push(d.as_str().into());
                w.push_str(&format!(" AND d.district = ${}", args.len()));
            } else if let Some(d) = &department {
                args.push(d.as_str().into());
                w.push_str(&format!(" AND d.department_code = ${}", args.len()));
            }
            let total = c
                .query_one(&format!("SELECT COUNT(*) AS n FROM insight_docs d WHERE {w}"), &args)?
                .get_i64("n")?;
            args.push(p.page_size.into());
            args.push(p.offset().into());
            let items = c
                .query(
                    &format!(
                        "SELECT d.order_no, d.district, d.category, d.at FROM insight_docs d WHERE {w}
                         ORDER BY d.at DESC, d.order_id DESC LIMIT ${} OFFSET ${}",
                        args.len() - 1,
                        args.len()
                    ),
                    &args,
                )?
                .iter()
                .map(|r| {
                    Ok(Message {
                        order_no: r.get_str("order_no")?,
                        district: r.get_str("district")?,
                        category: r.get_str("category")?,
                        at: r.get_i64("at")?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            Ok(tongban_platform::http::Paged::new(items, total, p))
        })
        .await
        .map_err(InsightError::from)
}
