//! Importing history from a city's old hotline system: work orders as JSON lines. The whole
//! file is checked first and bad lines are reported by number; a file with any bad line
//! imports nothing. A good file is imported in one transaction, with deadlines from the
//! working-day calendar and timelines as if the orders had arrived live.

use crate::orders::{event, ymd, CHANNELS};
use crate::rules::{self, OrderType, Status};
use crate::settings::Settings;
use chrono::DateTime;
use serde::Deserialize;
use std::collections::HashSet;
use std::io::BufRead;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, vault};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub order_no: String,
    /// RFC 3339 with offset.
    pub received_at: String,
    pub channel: String,
    #[serde(rename = "type")]
    pub order_type: String,
    pub category: String,
    pub district: String,
    pub street: String,
    pub title: String,
    pub content: String,
    pub status: String,
    pub closed_at: Option<String>,
    /// The department that handled it; routed by the current rules when absent.
    pub department: Option<String>,
    /// The department's answer and when it was given (for replied and closed orders).
    pub reply: Option<String>,
    pub replied_at: Option<String>,
}

/// A checked line, ready to store.
pub struct Checked {
    line: Line,
    t: OrderType,
    status: Status,
    received: i64,
    closed: Option<i64>,
    replied: Option<i64>,
    department: Option<String>,
}

fn time(name: &str, v: &str, now: i64) -> Result<i64, String> {
    let t = DateTime::parse_from_rfc3339(v)
        .map_err(|_| {
            format!("{name} must be RFC 3339 with an offset, e.g. 2025-03-01T09:30:00+08:00")
        })?
        .timestamp_millis();
    // 2000-01-01 .. a day from now.
    if !(946_684_800_000..=now + 86_400_000).contains(&t) {
        return Err(format!("{name} {v} is out of range (2000-01-01 to today)"));
    }
    Ok(t)
}

/// Check one line against the rules and the configuration.
pub fn check_line(
    text: &str,
    s: &Settings,
    departments: &[String],
    now: i64,
) -> Result<Checked, String> {
    let line: Line = serde_json::from_str(text).map_err(|e| format!("not a work order: {e}"))?;
    let len = |v: &str| v.trim().chars().count();
    if len(&line.order_no) == 0 || len(&line.order_no) > 40 {
        return Err("order_no needs 1-40 characters".into());
    }
    let received = time("received_at", &line.received_at, now)?;
    if !CHANNELS.contains(&line.channel.as_str()) {
        return Err(format!("channel must be one of {}", CHANNELS.join(", ")));
    }
    let t = OrderType::parse(&line.order_type)
        .ok_or("type must be consult, help, complaint, report, suggestion or praise")?;
    if !s.category_exists(&line.category) {
        return Err(format!(
            "category {:?} is not in the category tree",
            line.category
        ));
    }
    if !s.district_exists(&line.district) {
        return Err(format!(
            "district {:?} is not one of the city's districts",
            line.district
        ));
    }
    if len(&line.street) > 100 || len(&line.title) == 0 || len(&line.title) > 100 {
        return Err("street needs at most 100 characters and title 1-100".into());
    }
    if len(&line.content) == 0 || len(&line.content) > 20_000 {
        return Err("content needs 1-20000 characters".into());
    }
    let status = Status::parse(&line.status)
        .ok_or("status must be received, dispatched, returned, signed, replied or closed")?;
    let closed = match (&line.closed_at, status) {
        (Some(c), Status::Closed) => {
            let c = time("closed_at", c, now)?;
            if c < received {
                return Err("closed_at is before received_at".into());
            }
            Some(c)
        }
        (None, Status::Closed) => return Err("a closed order needs closed_at".into()),
        (Some(_), _) => return Err("closed_at is only for closed orders".into()),
        (None, _) => None,
    };
    let replied = match (&line.replied_at, &line.reply) {
        (Some(at), Some(text)) => {
            let at = time("replied_at", at, now)?;
            if at < received || closed.is_some_and(|c| at > c) {
                return Err("replied_at must fall between received_at and closed_at".into());
            }
            if len(text) == 0 || len(text) > 5000 {
                return Err("reply needs 1-5000 characters".into());
            }
            Some(at)
        }
        (None, None) => None,
        _ => return Err("give reply and replied_at together".into()),
    };
    if replied.is_some() && !matches!(status, Status::Replied | Status::Closed) {
        return Err("only replied or closed orders have a reply".into());
    }
    let department = match &line.department {
        Some(d) if !departments.contains(d) => return Err(format!("department {d:?} is unknown")),
        Some(d) => Some(d.clone()),
        None => s.route(&line.category, &line.district),
    };
    if department.is_none() && !matches!(status, Status::Received | Status::Returned) {
        return Err("no department: give one, or add a routing rule for this category".into());
    }
    Ok(Checked {
        line,
        t,
        status,
        received,
        closed,
        replied,
        department,
    })
}

/// What checking a file found: its good lines, and each bad one (number: reason).
#[derive(Debug, Default)]
pub struct FileCheck {
    pub good: usize,
    pub errors: Vec<String>,
}

/// Check every line of `reader`, keeping at most `max_errors` bad ones.
pub fn check_all(
    reader: impl BufRead,
    c: &mut dyn Conn,
    s: &Settings,
    departments: &[String],
    now: i64,
    max_errors: usize,
) -> Result<FileCheck, DbError> {
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut good = 0;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let text = match line {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("line {n}: cannot read: {e}"));
                break;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match check_line(&text, s, departments, now) {
            Ok(k) => {
                if !seen.insert(k.line.order_no.clone()) {
                    errors.push(format!(
                        "line {n}: order_no {} appears twice in the file",
                        k.line.order_no
                    ));
                } else if c
                    .query_opt(
                        "SELECT 1 AS x FROM work_orders WHERE order_no = $1",
                        params![k.line.order_no.as_str()],
                    )?
                    .is_some()
                {
                    errors.push(format!(
                        "line {n}: order_no {} is already stored",
                        k.line.order_no
                    ));
                } else {
                    good += 1;
                }
            }
            Err(e) => errors.push(format!("line {n}: {e}")),
        }
        if errors.len() >= max_errors {
            break;
        }
    }
    Ok(FileCheck { good, errors })
}

/// Store one checked line with its timeline.
pub fn store(
    c: &mut dyn Conn,
    k: Checked,
    cal: &Calendar,
    s: &Settings,
    tz: tongban_platform::time::Tz,
) -> Result<(), DbError> {
    let keys = vault::keys().map_err(DbError::from)?;
    let day = tongban_platform::time::date_of(k.received, tz);
    let dl = k
        .department
        .as_ref()
        .map(|_| rules::deadlines(cal, &s.limits, k.t, day));
    let (sign_by, answer_by) = (dl.map(|d| d.sign_by), dl.map(|d| d.answer_by));
    let due = ymd(rules::due_in(k.status, sign_by, answer_by));
    let updated = k.closed.unwrap_or(k.received);
    let id = c
        .query_one(
            "INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, status, department_code,
                received_at, sign_by, return_by, answer_by, due_on, closed_at, updated_at, version, channel, dispatched_on)
             VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18) RETURNING id",
            params![
                k.line.order_no.trim(),
                k.t.as_str(),
                k.line.category.as_str(),
                k.line.district.as_str(),
                keys.encrypt(k.line.street.trim()).map_err(DbError::from)?,
                keys.encrypt(k.line.title.trim()).map_err(DbError::from)?,
                keys.encrypt(k.line.content.trim()).map_err(DbError::from)?,
                k.status.as_str(),
                k.department.as_deref(),
                k.received,
                ymd(sign_by),
                ymd(dl.map(|d| d.return_by)),
                ymd(answer_by),
                due,
                k.closed,
                updated,
                k.line.channel.as_str(),
                ymd(k.department.as_ref().map(|_| day))
            ],
        )?
        .get_i64("id")?;
    event(
        c,
        id,
        k.received,
        "receive",
        Status::Received,
        "import",
        None,
        "",
    )?;
    if let Some(d) = &k.department {
        event(
            c,
            id,
            k.received,
            "dispatch",
            Status::Dispatched,
            "import",
            Some(d),
            "",
        )?;
    }
    if let (Some(at), Some(text)) = (k.replied, &k.line.reply) {
        let on_time = answer_by.is_none_or(|d| tongban_platform::time::date_of(at, tz) <= d);
        c.execute(
            "UPDATE work_orders SET reply = $1, replied_at = $2, replied_on_time = $3 WHERE id = $4",
            params![
                keys.encrypt(text.trim()).map_err(DbError::from)?,
                at,
                on_time,
                id
            ],
        )?;
        let dept = k.department.as_deref();
        event(
            c,
            id,
            at,
            "reply",
            Status::Replied,
            "import",
            dept,
            text.trim(),
        )?;
    }
    if let Some(at) = k.closed {
        event(
            c,
            id,
            at,
            "close",
            Status::Closed,
            "import",
            k.department.as_deref(),
            "",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(extra: &str) -> String {
        format!(
            r#"{{"order_no":"OLD-1","received_at":"2025-03-01T09:30:00+08:00","channel":"phone","type":"complaint","category":"utility.water","district":"东区","street":"中山路","title":"停水","content":"停水两天"{extra},"status":"closed","closed_at":"2025-03-03T10:00:00+08:00"}}"#
        )
    }

    #[test]
    fn lines_are_checked() {
        use crate::categories::{Category, Tree};
        let cat = |code: &str, parent: Option<&str>| Category {
            code: code.into(),
            name: code.into(),
            parent: parent.map(Into::into),
            keywords: vec![],
        };
        let s = Settings {
            tree: std::sync::Arc::new(Tree::new(
                vec![cat("utility", None), cat("utility.water", Some("utility"))],
                vec![],
            )),
            districts: std::sync::Arc::new(vec!["东区".into(), "西区".into()]),
            routing: vec![crate::settings::RouteRule {
                category: "utility.water".into(),
                district: None,
                department: "d-water".into(),
            }],
            ..Settings::default()
        };
        let depts = vec!["d-water".to_string()];
        let now = 1_800_000_000_000;
        let k = check_line(&line(""), &s, &depts, now).unwrap();
        assert_eq!(
            k.department.as_deref(),
            Some("d-water"),
            "routed by the rules"
        );
        for (bad, why) in [
            (line("").replace("东区", "火星区"), "district"),
            (
                line("").replace("2025-03-01T09:30:00+08:00", "2025-03-01"),
                "RFC 3339",
            ),
            (
                line("").replace("2025-03-01T09:30:00+08:00", "1999-03-01T09:30:00+08:00"),
                "out of range",
            ),
            (
                line("").replace("2025-03-03T10:00:00", "2025-02-03T10:00:00"),
                "before",
            ),
            (line("").replace("\"停水两天\"", "\"\""), "content"),
            (line(r#","department":"wx-none""#), "unknown"),
            ("{}".to_string(), "not a work order"),
            ("😀".to_string(), "not a work order"),
        ] {
            let e = check_line(&bad, &s, &depts, now).err().unwrap_or_default();
            assert!(e.contains(why), "{why}: {e}");
        }
    }
}
