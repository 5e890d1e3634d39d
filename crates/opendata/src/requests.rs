//! Datasets people ask for: anyone may ask (the form at `/data/request`, a few times an hour
//! from one address); every request is public with its status and reply (`/data/requests`),
//! except the asker's contact, which only publishers see. A publisher of the department asked
//! (any publisher when none was named) answers: planned, published or declined, with a reply.

use crate::error::{invalid, OdError, Problems};
use serde::Serialize;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::identity::Staff;
use tongban_platform::params;

pub const STATUSES: [&str; 4] = ["open", "planned", "published", "declined"];

#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub department: Option<String>,
    /// Only for publishers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    pub status: String,
    pub reply: String,
    pub created_at: i64,
    pub answered_at: Option<i64>,
}

fn from_row(r: &Row, with_contact: bool) -> Result<Request, DbError> {
    Ok(Request {
        id: r.get_i64("id")?,
        title: r.get_str("title")?,
        description: r.get_str("description")?,
        department: r.get_opt_str("department_code")?,
        contact: if with_contact {
            Some(r.get_str("contact")?)
        } else {
            None
        },
        status: r.get_str("status")?,
        reply: r.get_str("reply")?,
        created_at: r.get_i64("created_at")?,
        answered_at: r.get_opt_i64("answered_at")?,
    })
}

/// A request as asked.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct Ask {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub contact: String,
}

fn limit(p: &mut Problems, field: &str, v: &str, min: usize, max: usize) {
    let n = v.chars().count();
    if n < min || n > max {
        p.entry(field.into()).or_default().push(if min > 0 {
            format!("{min} to {max} characters")
        } else {
            format!("at most {max} characters")
        });
    }
}

/// Record `a`; its number.
pub fn submit(c: &mut dyn Conn, a: &Ask, now: i64) -> Result<i64, OdError> {
    let (title, description, contact) = (a.title.trim(), a.description.trim(), a.contact.trim());
    let mut p = Problems::new();
    limit(&mut p, "title", title, 2, 100);
    limit(&mut p, "description", description, 0, 2000);
    limit(&mut p, "contact", contact, 0, 100);
    let department = a.department.trim();
    let department = if department.is_empty() {
        None
    } else if tongban_platform::identity::get_department(c, department)?.is_some() {
        Some(department)
    } else {
        p.entry("department".into())
            .or_default()
            .push(format!("no department {department:?}"));
        None
    };
    if !p.is_empty() {
        return Err(OdError::Invalid(p));
    }
    let r = c.query_one(
        "INSERT INTO od_requests (title, description, department_code, contact, status, reply, created_at)
         VALUES ($1, $2, $3, $4, 'open', '', $5) RETURNING id",
        params![title, description, department, contact, now],
    )?;
    Ok(r.get_i64("id")?)
}

/// A page of requests, newest first, and how many there are (`with_contact` for publishers).
pub fn list(
    c: &mut dyn Conn,
    status: Option<&str>,
    limit: i64,
    offset: i64,
    with_contact: bool,
) -> Result<(Vec<Request>, i64), DbError> {
    let (cond, p) = match status {
        Some(s) => ("WHERE status = $1", vec![s.into()]),
        None => ("WHERE $1 = ''", vec!["".into()]),
    };
    let total = c
        .query_one(&format!("SELECT COUNT(*) AS n FROM od_requests {cond}"), &p)?
        .get_i64("n")?;
    let mut q = p.clone();
    q.push(limit.into());
    q.push(offset.into());
    let items = c
        .query(
            &format!(
                "SELECT * FROM od_requests {cond} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            ),
            &q,
        )?
        .iter()
        .map(|r| from_row(r, with_contact))
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// Answer request `id` as `staff` (a publisher of the department asked, or any when none
/// was); the request as it now stands.
pub fn answer(
    c: &mut dyn Conn,
    staff: &Staff,
    id: i64,
    status: &str,
    reply: &str,
    now: i64,
) -> Result<Request, OdError> {
    if !STATUSES[1..].contains(&status) {
        return Err(invalid("status", "one of planned, published, declined"));
    }
    let reply = reply.trim();
    if reply.chars().count() > 2000 || (status == "declined" && reply.is_empty()) {
        return Err(invalid(
            "reply",
            "at most 2000 characters; say why when declining",
        ));
    }
    let Some(r) = c.query_opt("SELECT * FROM od_requests WHERE id = $1", params![id])? else {
        return Err(OdError::NotFound(format!("no dataset request {id}")));
    };
    let asked = from_row(&r, true)?;
    if let Some(d) = &asked.department {
        crate::write::own(staff, d)?;
    }
    c.execute(
        "UPDATE od_requests SET status = $1, reply = $2, answered_at = $3, answered_by = $4 WHERE id = $5",
        params![status, reply, now, staff.username.as_str(), id],
    )?;
    Ok(Request {
        status: status.to_owned(),
        reply: reply.to_owned(),
        answered_at: Some(now),
        ..asked
    })
}
