//! Articles of the sites: what an editor writes, with the 政务公开 metadata (索引号, 主题分类,
//! 发文机关, 成文日期, 发布日期, 文号, 有效性), and the queries that list and feed them. The
//! steps (draft → review → published, at once or at a set time → withdrawn) and who may take
//! them are in [`flow`]; attachments and images in [`files`].

pub mod files;
pub mod flow;
pub mod routes;

use crate::error::{problem, Problem};
use serde::{Deserialize, Serialize};
use tongban_platform::db::{Conn, DbError, Row, Value};
use tongban_platform::params;

/// The 主题分类 an article may take (`data/topics.txt`, its source named there).
pub fn topics() -> Vec<&'static str> {
    include_str!("../../data/topics.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// What kind of document an article is, for the annual report's 主动公开 table.
pub const DOC_KINDS: [&str; 3] = ["规章", "行政规范性文件", "其他"];
/// 有效性: empty where it does not apply (news).
pub const VALIDITIES: [&str; 5] = ["", "有效", "失效", "废止", "已修订"];
pub const STATES: [&str; 5] = ["draft", "review", "scheduled", "published", "withdrawn"];

/// An article as an editor sends it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub site: String,
    pub column: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub doc_kind: String,
    /// 发文机关; the owner department's name when empty.
    #[serde(default)]
    pub issuer: String,
    /// 成文日期, YYYY-MM-DD.
    #[serde(default)]
    pub written_on: Option<String>,
    /// 文号, like 锡政发〔2026〕12号.
    #[serde(default)]
    pub doc_no: String,
    #[serde(default)]
    pub validity: String,
}

impl Draft {
    /// Every problem, by field, to fix before it is kept.
    pub fn check(&mut self, today: chrono::NaiveDate) -> Result<(), Vec<Problem>> {
        let mut bad: Vec<Problem> = Vec::new();
        let mut f = |k: &str, code: &'static str, m: &str| bad.push(problem(k, code, m));
        self.title = self.title.trim().to_owned();
        let n = self.title.chars().count();
        if n == 0 || n > 200 {
            f("title", "title_length", "write a title of 1–200 characters");
        }
        if self.summary.chars().count() > 500 {
            f(
                "summary",
                "summary_length",
                "the summary may be at most 500 characters",
            );
        }
        if self.body.len() > 200_000 {
            f(
                "body",
                "body_length",
                "the text may be at most 200,000 bytes",
            );
        }
        if self.topic.is_empty() {
            self.topic = "综合政务".into();
        }
        if !topics().contains(&self.topic.as_str()) {
            f(
                "topic",
                "bad_option",
                "choose a 主题分类 from the list (GET /api/v1/sites gives it)",
            );
        }
        if self.doc_kind.is_empty() {
            self.doc_kind = "其他".into();
        }
        if !DOC_KINDS.contains(&self.doc_kind.as_str()) {
            f(
                "doc_kind",
                "bad_option",
                "one of 规章, 行政规范性文件, 其他",
            );
        }
        if !VALIDITIES.contains(&self.validity.as_str()) {
            f(
                "validity",
                "bad_option",
                "one of 有效, 失效, 废止, 已修订, or empty",
            );
        }
        if self.issuer.chars().count() > 60 {
            f(
                "issuer",
                "at_most_60",
                "发文机关 may be at most 60 characters",
            );
        }
        if self.doc_no.chars().count() > 60 {
            f("doc_no", "at_most_60", "文号 may be at most 60 characters");
        }
        self.written_on = self
            .written_on
            .take()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        if let Some(d) = &self.written_on {
            match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) if d <= today => {}
                Ok(_) => f(
                    "written_on",
                    "future_date",
                    "成文日期 cannot be in the future",
                ),
                Err(_) => f("written_on", "bad_date", "use a date like 2026-01-31"),
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub n: i64,
    pub name: String,
    /// pdf, docx, xlsx, jpg, png.
    pub kind: String,
    pub size: i64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: String,
    pub action: String,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Article {
    pub id: i64,
    pub site: String,
    pub site_name: String,
    pub column: String,
    pub column_name: String,
    pub department: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub state: String,
    pub index_no: Option<String>,
    pub topic: String,
    pub doc_kind: String,
    pub issuer: String,
    pub written_on: Option<String>,
    pub doc_no: String,
    pub validity: String,
    /// When a scheduled article goes out (RFC 3339).
    pub publish_at: Option<String>,
    /// 发布日期 (YYYY-MM-DD) and the moment (RFC 3339).
    pub published_on: Option<String>,
    pub published_at: Option<String>,
    pub author: String,
    pub reviewer: Option<String>,
    pub url: String,
    pub files: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
    #[serde(skip)]
    pub published_ms: Option<i64>,
    #[serde(skip)]
    pub changed_ms: i64,
}

impl Article {
    /// The body's paragraphs (blank-line separated), for pages.
    pub fn paragraphs(&self) -> Vec<String> {
        self.body
            .replace("\r\n", "\n")
            .split("\n\n")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    }
}

pub(crate) const SELECT: &str =
    "SELECT a.id, a.site_code, a.column_code, a.title, a.summary, a.body, a.state,
        a.index_no, a.topic, a.doc_kind, a.issuer, a.written_on, a.doc_no, a.validity, a.publish_at,
        a.published_at, a.author, a.reviewer, a.changed_at, s.name AS site_name,
        s.department_code, c.name AS column_name
 FROM articles a JOIN sites s ON s.code = a.site_code
 LEFT JOIN site_columns c ON c.site_code = a.site_code AND c.code = a.column_code";

pub(crate) fn from_row(r: &Row, tz: chrono_tz::Tz) -> Result<Article, DbError> {
    let id = r.get_i64("id")?;
    let site = r.get_str("site_code")?;
    let published = r.get_opt_i64("published_at")?;
    Ok(Article {
        id,
        url: format!("/sites/{site}/articles/{id}"),
        site_name: r.get_str("site_name")?,
        column: r.get_str("column_code")?,
        column_name: r.get_opt_str("column_name")?.unwrap_or_default(),
        department: r.get_str("department_code")?,
        title: r.get_str("title")?,
        summary: r.get_str("summary")?,
        body: r.get_str("body")?,
        state: r.get_str("state")?,
        index_no: r.get_opt_str("index_no")?,
        topic: r.get_str("topic")?,
        doc_kind: r.get_str("doc_kind")?,
        issuer: r.get_str("issuer")?,
        written_on: r.get_opt_str("written_on")?,
        doc_no: r.get_str("doc_no")?,
        validity: r.get_str("validity")?,
        publish_at: r
            .get_opt_i64("publish_at")?
            .map(|t| tongban_platform::time::rfc3339(t, tz)),
        published_on: published.map(|t| {
            tongban_platform::time::date_of(t, tz)
                .format("%Y-%m-%d")
                .to_string()
        }),
        published_at: published.map(|t| tongban_platform::time::rfc3339(t, tz)),
        published_ms: published,
        changed_ms: r.get_i64("changed_at")?,
        author: r.get_str("author")?,
        reviewer: r.get_opt_str("reviewer")?,
        files: Vec::new(),
        events: None,
        site,
    })
}

/// One article with its files (and, for staff, its events).
pub fn get(
    c: &mut dyn Conn,
    id: i64,
    tz: chrono_tz::Tz,
    with_events: bool,
) -> Result<Option<Article>, DbError> {
    let Some(r) = c.query_opt(&format!("{SELECT} WHERE a.id = $1"), params![id])? else {
        return Ok(None);
    };
    let mut a = from_row(&r, tz)?;
    a.files = files::list(c, &a)?;
    if with_events {
        let rows = c.query(
            "SELECT at, action, actor, note FROM article_events WHERE article_id = $1 ORDER BY id",
            params![id],
        )?;
        a.events = Some(
            rows.iter()
                .map(|r| {
                    Ok(Event {
                        at: tongban_platform::time::rfc3339(r.get_i64("at")?, tz),
                        action: r.get_str("action")?,
                        actor: r.get_str("actor")?,
                        note: r.get_str("note")?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?,
        );
    }
    Ok(Some(a))
}

/// What a list of articles is narrowed to.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub site: Option<String>,
    pub column: Option<String>,
    pub department: Option<String>,
    /// Published only unless a state is named (staff lists).
    pub state: Option<String>,
    pub topic: Option<String>,
    /// Published in this year.
    pub year: Option<i32>,
    pub limit: i64,
    pub offset: i64,
}

/// Articles newest first, with the total.
pub fn list(
    c: &mut dyn Conn,
    q: &ListQuery,
    tz: chrono_tz::Tz,
) -> Result<(Vec<Article>, i64), DbError> {
    let mut p: Vec<Value> = Vec::new();
    let mut w: Vec<String> = Vec::new();
    let mut eq = |col: &str, v: &Option<String>, p: &mut Vec<Value>| {
        if let Some(v) = v {
            p.push(v.as_str().into());
            w.push(format!("{col} = ${}", p.len()));
        }
    };
    eq("a.site_code", &q.site, &mut p);
    eq("a.column_code", &q.column, &mut p);
    eq("s.department_code", &q.department, &mut p);
    eq("a.topic", &q.topic, &mut p);
    eq(
        "a.state",
        &Some(q.state.clone().unwrap_or_else(|| "published".into())),
        &mut p,
    );
    if let Some(y) = q.year {
        let (from, to) = year_bounds(y, tz);
        p.push(from.into());
        p.push(to.into());
        w.push(format!(
            "a.published_at >= ${} AND a.published_at < ${}",
            p.len() - 1,
            p.len()
        ));
    }
    let wh = if w.is_empty() {
        "1 = 1".to_owned()
    } else {
        w.join(" AND ")
    };
    let total = c
        .query_one(
            &format!(
                "SELECT COUNT(*) AS n FROM articles a JOIN sites s ON s.code = a.site_code WHERE {wh}"
            ),
            &p,
        )?
        .get_i64("n")?;
    p.push(q.limit.into());
    p.push(q.offset.into());
    let rows = c.query(
        &format!(
            "{SELECT} WHERE {wh} ORDER BY COALESCE(a.published_at, a.changed_at) DESC, a.id DESC LIMIT ${} OFFSET ${}",
            p.len() - 1,
            p.len()
        ),
        &p,
    )?;
    let items = rows
        .iter()
        .map(|r| from_row(r, tz))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

/// The first and the after-last millisecond of `year` in `tz`.
pub fn year_bounds(year: i32, tz: chrono_tz::Tz) -> (i64, i64) {
    let at = |y: i32| {
        tongban_platform::time::day_start(&format!("{y:04}-01-01"), tz).unwrap_or(i64::MAX)
    };
    (at(year), at(year + 1))
}

/// The change feed the search follows: articles changed at or after `since`, oldest change
/// first, at most `limit`; with the newest change time.
pub fn changed_since(
    c: &mut dyn Conn,
    since: i64,
    limit: i64,
    tz: chrono_tz::Tz,
) -> Result<(Vec<Article>, i64), DbError> {
    let rows = c.query(
        &format!("{SELECT} WHERE a.changed_at >= $1 ORDER BY a.changed_at, a.id LIMIT $2"),
        params![since, limit],
    )?;
    let mut newest = since;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let a = from_row(r, tz)?;
        newest = newest.max(a.changed_ms);
        out.push(a);
    }
    Ok((out, newest))
}
