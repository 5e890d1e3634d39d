//! The website group's `stats` door for other rooms (the evaluation, the data board): sites,
//! articles published, visits per site, and disclosure requests answered on time, over a
//! period. Figures only; nothing about any requester.

use serde::Serialize;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct SiteFigures {
    pub code: String,
    pub name: String,
    pub published: i64,
    pub views: i64,
    pub visitors: i64,
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Period {
    pub sites: i64,
    /// Sites that published at least one article in the period.
    pub sites_updated: i64,
    pub published: i64,
    pub views: i64,
    /// Visitor-days, summed over sites.
    pub visitors: i64,
    pub by_site: Vec<SiteFigures>,
    /// The busiest columns: (site name, column name, views), at most ten.
    pub top_columns: Vec<(String, String, i64)>,
    pub requests_received: i64,
    pub requests_answered: i64,
    pub answered_on_time: i64,
}

/// Figures of days `[start_day, end_day)` (YYYY-MM-DD) and milliseconds `[start, end)`.
pub fn period(
    c: &mut dyn Conn,
    start_day: &str,
    end_day: &str,
    start: i64,
    end: i64,
) -> Result<Period, DbError> {
    let rows = c.query(
        "SELECT s.code, s.name,
            (SELECT COUNT(*) FROM articles a WHERE a.site_code = s.code AND a.published_at >= $3 AND a.published_at < $4) AS published,
            (SELECT CAST(COALESCE(SUM(v.views), 0) AS BIGINT) FROM site_visits v WHERE v.site_code = s.code AND v.day >= $1 AND v.day < $2) AS views,
            (SELECT COUNT(*) FROM site_visitors u WHERE u.site_code = s.code AND u.day >= $1 AND u.day < $2) AS visitors
         FROM sites s ORDER BY s.position, s.code",
        params![start_day, end_day, start, end],
    )?;
    let mut p = Period::default();
    for r in &rows {
        let f = SiteFigures {
            code: r.get_str("code")?,
            name: r.get_str("name")?,
            published: r.get_i64("published")?,
            views: r.get_i64("views")?,
            visitors: r.get_i64("visitors")?,
        };
        p.sites += 1;
        p.sites_updated += i64::from(f.published > 0);
        p.published += f.published;
        p.views += f.views;
        p.visitors += f.visitors;
        p.by_site.push(f);
    }
    for r in c.query(
        "SELECT s.name AS site, c.name AS col, CAST(SUM(v.views) AS BIGINT) AS n
         FROM site_visits v JOIN sites s ON s.code = v.site_code
         JOIN site_columns c ON c.site_code = v.site_code AND c.code = v.column_code
         WHERE v.day >= $1 AND v.day < $2 GROUP BY s.name, c.name ORDER BY n DESC, s.name, c.name LIMIT 10",
        params![start_day, end_day],
    )? {
        p.top_columns.push((r.get_str("site")?, r.get_str("col")?, r.get_i64("n")?));
    }
    let r = c.query_one(
        "SELECT COUNT(*) AS n FROM disclosure_requests WHERE created_at >= $1 AND created_at < $2",
        params![start, end],
    )?;
    p.requests_received = r.get_i64("n")?;
    let r = c.query_one(
        "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN answered_on <= due_on THEN 1 ELSE 0 END), 0) AS ok
         FROM disclosure_requests WHERE state = 'answered' AND answered_on >= $1 AND answered_on < $2",
        params![start_day, end_day],
    )?;
    p.requests_answered = r.get_i64("n")?;
    p.answered_on_time = r.get_i64("ok")?;
    Ok(p)
}
