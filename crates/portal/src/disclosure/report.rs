//! The annual report on government information disclosure (政府信息公开工作年度报告) of a
//! department, made from the data in the national format (国办公开办函〔2021〕30号): 主动公开
//! (rules and normative documents made, repealed and in force; articles published) and the
//! 依申请公开 table — new and carried-over requests, the year's outcomes by type and reason,
//! and what carries into the next year — in columns by kind of requester.

use super::{ORG_KINDS, OUTCOMES};
use serde::Serialize;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

/// The table's columns: 自然人, the five kinds of 法人或其他组织, 总计.
pub const COLUMNS: usize = 7;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// The row as the national table names it.
    pub label: String,
    /// Nesting: 0 for 一、…, 1 for (一)…, 2 for 1. …
    pub level: u8,
    pub cells: [i64; COLUMNS],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DocRow {
    pub kind: String,
    pub made: i64,
    pub repealed: i64,
    pub in_force: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub department: String,
    pub year: i32,
    /// Articles published in the year on the department's sites.
    pub published: i64,
    pub documents: Vec<DocRow>,
    pub column_names: Vec<String>,
    pub requests: Vec<Line>,
}

fn column(applicant_kind: &str, org_kind: &str) -> usize {
    if applicant_kind != "organization" {
        return 0;
    }
    1 + ORG_KINDS
        .iter()
        .position(|(k, _)| *k == org_kind)
        .unwrap_or(ORG_KINDS.len() - 1)
}

fn add(cells: &mut [i64; COLUMNS], col: usize) {
    cells[col] += 1;
    cells[COLUMNS - 1] += 1;
}

/// The report of `department` for `year`.
pub fn make(
    c: &mut dyn Conn,
    department: &str,
    year: i32,
    tz: chrono_tz::Tz,
) -> Result<Report, DbError> {
    let (from, to) = crate::articles::year_bounds(year, tz);
    let (first_day, last_day) = (format!("{year:04}-01-01"), format!("{year:04}-12-31"));
    let published = c
        .query_one(
            "SELECT COUNT(*) AS n FROM articles a JOIN sites s ON s.code = a.site_code
             WHERE s.department_code = $1 AND a.published_at >= $2 AND a.published_at < $3",
            params![department, from, to],
        )?
        .get_i64("n")?;
    let mut documents = Vec::new();
    for kind in ["规章", "行政规范性文件"] {
        let n = |c: &mut dyn Conn,
                 cond: &str,
                 p: Vec<tongban_platform::db::Value>|
         -> Result<i64, DbError> {
            c.query_one(
                &format!(
                    "SELECT COUNT(*) AS n FROM articles a JOIN sites s ON s.code = a.site_code
                     WHERE s.department_code = $1 AND a.doc_kind = $2 AND {cond}"
                ),
                &p,
            )?
            .get_i64("n")
        };
        let base = || -> Vec<tongban_platform::db::Value> { vec![department.into(), kind.into()] };
        let mut p = base();
        p.extend([from.into(), to.into()]);
        let made = n(c, "a.published_at >= $3 AND a.published_at < $4", p.clone())?;
        let repealed = n(
            c,
            "a.published_at IS NOT NULL AND ((a.withdrawn_at >= $3 AND a.withdrawn_at < $4)
               OR (a.state = 'published' AND a.validity IN ('废止', '失效') AND a.changed_at >= $3 AND a.changed_at < $4))",
            p,
        )?;
        let mut p = base();
        p.push(to.into());
        let in_force = n(
            c,
            "a.published_at < $3 AND a.validity = '有效' AND (a.state = 'published' OR a.withdrawn_at >= $3)",
            p,
        )?;
        documents.push(DocRow {
            kind: kind.into(),
            made,
            repealed,
            in_force,
        });
    }
    let rows = c.query(
        "SELECT applicant_kind, org_kind, state, received_on, created_at, answered_on, outcome, reason, updated_at
         FROM disclosure_requests WHERE department_code = $1 AND created_at < $2",
        params![department, to],
    )?;
    let mut new = [0i64; COLUMNS];
    let mut carried = [0i64; COLUMNS];
    let mut onward = [0i64; COLUMNS];
    // Outcome rows, in the order of OUTCOMES and their reasons.
    type Tally = ([i64; COLUMNS], &'static str, &'static str);
    let mut results: Vec<(String, Vec<Tally>)> = OUTCOMES
        .iter()
        .map(|(o, name, reasons)| {
            let lines = reasons
                .iter()
                .map(|(r, rn)| ([0i64; COLUMNS], *r, *rn))
                .collect();
            (format!("{o}|{name}"), lines)
        })
        .collect();
    let mut total = [0i64; COLUMNS];
    for r in &rows {
        let col = column(&r.get_str("applicant_kind")?, &r.get_str("org_kind")?);
        let created = r.get_i64("created_at")?;
        let state = r.get_str("state")?;
        // When it was concluded: the answer's day, or (withdrawn) its last change.
        let concluded: Option<String> = match state.as_str() {
            "answered" => r.get_opt_str("answered_on")?,
            "withdrawn" => Some(
                tongban_platform::time::date_of(r.get_i64("updated_at")?, tz)
                    .format("%Y-%m-%d")
                    .to_string(),
            ),
            _ => None,
        };
        let before_year = |d: &str| d < first_day.as_str();
        if concluded.as_deref().is_some_and(before_year) {
            continue;
        }
        if created >= from {
            add(&mut new, col);
        } else {
            add(&mut carried, col);
        }
        match concluded.filter(|d| d.as_str() <= last_day.as_str()) {
            None => add(&mut onward, col),
            Some(_) => {
                let (o, reason) = if state == "withdrawn" {
                    ("other".to_owned(), "other".to_owned())
                } else {
                    (
                        r.get_opt_str("outcome")?.unwrap_or_default(),
                        r.get_opt_str("reason")?.unwrap_or_default(),
                    )
                };
                if let Some((_, lines)) = results
                    .iter_mut()
                    .find(|(k, _)| k.split('|').next() == Some(o.as_str()))
                {
                    if let Some(line) = lines.iter_mut().find(|l| l.1 == reason) {
                        add(&mut line.0, col);
                    }
                }
                add(&mut total, col);
            }
        }
    }
    let mut requests = vec![
        Line {
            label: "一、本年新收政府信息公开申请数量".into(),
            level: 0,
            cells: new,
        },
        Line {
            label: "二、上年结转政府信息公开申请数量".into(),
            level: 0,
            cells: carried,
        },
        Line {
            label: "三、本年度办理结果".into(),
            level: 0,
            cells: [0; COLUMNS],
        },
    ];
    const ORDINALS: [&str; 6] = ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"];
    for (i, (key, lines)) in results.iter().enumerate() {
        let name = key.split('|').nth(1).unwrap_or_default();
        let mut sum = [0i64; COLUMNS];
        for l in lines {
            for (s, v) in sum.iter_mut().zip(l.0.iter()) {
                *s += v;
            }
        }
        requests.push(Line {
            label: format!("{}{name}", ORDINALS[i]),
            level: 1,
            cells: sum,
        });
        // 予以公开 and 部分公开 are single rows in the national table.
        if lines.len() > 1 && i > 1 {
            for (j, l) in lines.iter().enumerate() {
                requests.push(Line {
                    label: format!("{}.{}", j + 1, l.2),
                    level: 2,
                    cells: l.0,
                });
            }
        }
    }
    requests.push(Line {
        label: "（七）总计".into(),
        level: 1,
        cells: total,
    });
    requests.push(Line {
        label: "四、结转下年度继续办理".into(),
        level: 0,
        cells: onward,
    });
    let mut column_names = vec!["自然人".to_owned()];
    column_names.extend(ORG_KINDS.iter().map(|(_, n)| n.to_string()));
    column_names.push("总计".into());
    Ok(Report {
        department: department.to_owned(),
        year,
        published,
        documents,
        column_names,
        requests,
    })
}
