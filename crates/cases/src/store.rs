//! Case storage: insert, read with timeline and materials, move state, queues and counts.

use crate::rules::Status;
use serde_json::{Map, Value as Json};
use tongban_platform::db::{Conn, DbError, Engine, Row, Value};
use tongban_platform::params;

pub mod drafts;
pub mod earlier;
mod recent;
mod whole;
mod writes;
pub use recent::{fetch_story, RecentCases, Story, TOPIC};
pub use whole::{fetch_whole, whole, Whole};
pub use writes::*;

#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: i64,
    pub case_no: String,
    pub matter_code: String,
    pub department_code: String,
    pub applicant_id: i64,
    pub status: Status,
    pub form: Map<String, Json>,
    pub submitted_at: i64,
    pub accepted_on: Option<String>,
    pub deadline: Option<String>,
    pub resume_status: Option<Status>,
    pub paused_on: Option<String>,
    pub supplement_note: Option<String>,
    /// The field and material keys a supplement request names (一次性告知), while asked.
    pub supplement_items: Vec<String>,
    pub concluded_at: Option<i64>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: i64,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_kind: String,
    pub actor_name: String,
    pub role: String,
    pub department_code: Option<String>,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct MaterialRecord {
    pub key: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha: String,
    pub uploaded_at: i64,
    /// The number of the e-certificate that stood for this material (免提交), checked
    /// valid when the case was submitted; its file is the certificate's PDF.
    pub certificate: Option<String>,
    /// The message id of the signed data-sharing answer that stood for this material (its
    /// file is the answer as a 数据核验单 PDF).
    pub exchange_message: Option<String>,
}

/// Who did something, as the timeline records it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: i64,
    pub name: String,
    pub role: String,
    pub department_code: Option<String>,
    /// How the audit log names the actor: a staff username or a citizen account id.
    pub login: String,
    /// Where the request came from.
    pub source: String,
}

const CASE_COLUMNS: &str =
    "id, case_no, matter_code, department_code, applicant_id, status, form, submitted_at,
    accepted_on, deadline, resume_status, paused_on, supplement_note, supplement_items, concluded_at, version";

fn status_of(s: &str) -> Result<Status, DbError> {
    Status::parse(s).ok_or_else(|| DbError::Decode(format!("unknown status {s:?}")))
}

/// The form is applicant data: stored SM4-encrypted as a whole.
/// A form as stored: its JSON, SM4-sealed.
pub fn seal_form(form: &Map<String, Json>) -> Result<String, DbError> {
    let text = serde_json::to_string(form).map_err(|e| DbError::Decode(e.to_string()))?;
    tongban_platform::vault::keys()
        .and_then(|k| k.encrypt(&text))
        .map_err(DbError::from)
}

pub fn open_form(stored: &str) -> Result<Map<String, Json>, DbError> {
    let text = tongban_platform::vault::keys()
        .and_then(|k| k.decrypt(stored))
        .map_err(DbError::from)?;
    serde_json::from_str(&text).map_err(|e| DbError::Decode(e.to_string()))
}

/// This room's sealed columns (key rotation re-seals them).
pub const SEALED: &[tongban_platform::keyring::Sealed] = &[
    tongban_platform::keyring::Sealed {
        table: "cases",
        column: "form",
    },
    tongban_platform::keyring::Sealed {
        table: "cases",
        column: "supplement_note",
    },
    tongban_platform::keyring::Sealed {
        table: "case_events",
        column: "note",
    },
    tongban_platform::keyring::Sealed {
        table: "case_events",
        column: "actor_name",
    },
    tongban_platform::keyring::Sealed {
        table: "drafts",
        column: "form",
    },
];

fn case_from(r: &Row) -> Result<CaseRecord, DbError> {
    Ok(CaseRecord {
        id: r.get_i64("id")?,
        case_no: r.get_str("case_no")?,
        matter_code: r.get_str("matter_code")?,
        department_code: r.get_str("department_code")?,
        applicant_id: r.get_i64("applicant_id")?,
        status: status_of(&r.get_str("status")?)?,
        form: open_form(&r.get_str("form")?)?,
        submitted_at: r.get_i64("submitted_at")?,
        accepted_on: r.get_opt_str("accepted_on")?,
        deadline: r.get_opt_str("deadline")?,
        resume_status: r
            .get_opt_str("resume_status")?
            .map(|s| status_of(&s))
            .transpose()?,
        paused_on: r.get_opt_str("paused_on")?,
        supplement_note: r
            .get_opt_str("supplement_note")?
            .map(|v| tongban_platform::vault::open_text(&v))
            .transpose()?,
        supplement_items: match r.get_opt_str("supplement_items")? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| DbError::Decode(e.to_string()))?
            }
            None => Vec::new(),
        },
        concluded_at: r.get_opt_i64("concluded_at")?,
        version: r.get_i64("version")?,
    })
}

/// Read a case by number; on PostgreSQL `lock` takes a row lock for the transaction.
pub fn get(c: &mut dyn Conn, case_no: &str, lock: bool) -> Result<Option<CaseRecord>, DbError> {
    let suffix = if lock && c.engine() == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    c.query_opt(
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_no = $1{suffix}"),
        params![case_no],
    )?
    .as_ref()
    .map(case_from)
    .transpose()
}

const MATERIALS_SQL: &str =
    "SELECT material_key, filename, content_type, size, sha, uploaded_at, certificate, exchange_message FROM case_materials WHERE case_id = $1 ORDER BY id";

pub fn materials(c: &mut dyn Conn, case_id: i64) -> Result<Vec<MaterialRecord>, DbError> {
    c.query(MATERIALS_SQL, params![case_id])?
        .iter()
        .map(material_from)
        .collect()
}

fn material_from(r: &Row) -> Result<MaterialRecord, DbError> {
    Ok(MaterialRecord {
        key: r.get_str("material_key")?,
        filename: r.get_str("filename")?,
        content_type: r.get_str("content_type")?,
        size: r.get_i64("size")?,
        sha: r.get_str("sha")?,
        uploaded_at: r.get_i64("uploaded_at")?,
        certificate: r.get_opt_str("certificate")?,
        exchange_message: r.get_opt_str("exchange_message")?,
    })
}

/// Write the changed fields of `rec` if nobody changed the case meanwhile. The change is
/// announced: every node stops using the case as it held it ([`RecentCases`]).
pub fn update(c: &mut dyn Conn, rec: &CaseRecord, now: i64) -> Result<bool, DbError> {
    let form = seal_form(&rec.form)?;
    c.announce(TOPIC)?;
    let n = c.execute(
        "UPDATE cases SET status = $1, form = $2, accepted_on = $3, deadline = $4, resume_status = $5, paused_on = $6,
            supplement_note = $7, concluded_at = $8, updated_at = $9, version = version + 1,
            supplement_items = $12
         WHERE id = $10 AND version = $11",
        params![
            rec.status.as_str(),
            form,
            rec.accepted_on.as_deref(),
            rec.deadline.as_deref(),
            rec.resume_status.map(|s| s.as_str()),
            rec.paused_on.as_deref(),
            rec.supplement_note
                .as_deref()
                .map(tongban_platform::vault::seal_text)
                .transpose()?,
            rec.concluded_at,
            now,
            rec.id,
            rec.version,
            (!rec.supplement_items.is_empty())
                .then(|| serde_json::to_string(&rec.supplement_items).unwrap_or_default())
        ],
    )?;
    Ok(n == 1)
}

pub fn list_for_applicant(
    c: &mut dyn Conn,
    applicant_id: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CaseRecord>, i64), DbError> {
    let total = c
        .query_one(
            "SELECT COUNT(*) AS n FROM cases WHERE applicant_id = $1",
            params![applicant_id],
        )?
        .get_i64("n")?;
    let rows = c.query(
        &format!("SELECT {CASE_COLUMNS} FROM cases WHERE applicant_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"),
        params![applicant_id, limit, offset],
    )?;
    Ok((rows.iter().map(case_from).collect::<Result<_, _>>()?, total))
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub statuses: Vec<Status>,
    pub matter_code: Option<String>,
    /// Only accepted cases whose deadline is before this date.
    pub overdue_before: Option<String>,
    /// Only cases of these applicants (an empty list matches nothing).
    pub applicants: Option<Vec<i64>>,
    pub limit: i64,
    pub offset: i64,
}

/// A department's cases: new work first (submitted, not yet accepted, oldest first: it has no
/// deadline until accepted, and would otherwise fall to the last page), then soonest deadline
/// (overdue first), then oldest submission.
pub fn queue(
    c: &mut dyn Conn,
    department: &str,
    f: &QueueFilter,
) -> Result<(Vec<CaseRecord>, i64), DbError> {
    let mut args: Vec<Value> = vec![Value::from(department)];
    let mut cond = vec!["department_code = $1".to_string()];
    if !f.statuses.is_empty() {
        let mut marks = Vec::new();
        for s in &f.statuses {
            args.push(Value::from(s.as_str()));
            marks.push(format!("${}", args.len()));
        }
        cond.push(format!("status IN ({})", marks.join(", ")));
    }
    if let Some(m) = &f.matter_code {
        args.push(Value::from(m.as_str()));
        cond.push(format!("matter_code = ${}", args.len()));
    }
    if let Some(d) = &f.overdue_before {
        args.push(Value::from(d.as_str()));
        cond.push(format!(
            "status = 'accepted' AND deadline < ${}",
            args.len()
        ));
    }
    if let Some(ids) = &f.applicants {
        if ids.is_empty() {
            cond.push("1 = 0".into());
        } else {
            let mut marks = Vec::new();
            for id in ids {
                args.push(Value::Int(*id));
                marks.push(format!("${}", args.len()));
            }
            cond.push(format!("applicant_id IN ({})", marks.join(", ")));
        }
    }
    let where_ = cond.join(" AND ");
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM cases WHERE {where_}"),
            &args,
        )?
        .get_i64("n")?;
    args.push(Value::Int(f.limit));
    args.push(Value::Int(f.offset));
    let n = args.len();
    let rows = c.query(
        &format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE {where_}
             ORDER BY CASE WHEN status = 'submitted' THEN 0 ELSE 1 END, deadline IS NULL, deadline, submitted_at, id
             LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        &args,
    )?;
    Ok((rows.iter().map(case_from).collect::<Result<_, _>>()?, total))
}

/// Case counts by status, for one department or (with `None`) for all.
pub fn count_by_status(
    c: &mut dyn Conn,
    department: Option<&str>,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows = match department {
        Some(d) => c.query(
            "SELECT status, COUNT(*) AS n FROM cases WHERE department_code = $1 GROUP BY status",
            params![d],
        )?,
        None => c.query(
            "SELECT status, COUNT(*) AS n FROM cases GROUP BY status",
            &[],
        )?,
    };
    rows.iter()
        .map(|r| Ok((r.get_str("status")?, r.get_i64("n")?)))
        .collect()
}

/// The matters with the most applications, most first.
pub fn popular_matters(c: &mut dyn Conn, limit: i64) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT matter_code, COUNT(*) AS n FROM cases GROUP BY matter_code ORDER BY n DESC, matter_code LIMIT $1",
        params![limit],
    )?
    .iter()
    .map(|r| r.get_str("matter_code"))
    .collect()
}

/// A case as the rating room sees it (一事一评 applies to concluded cases).
#[derive(Debug, Clone)]
pub struct Concluded {
    pub case_no: String,
    pub applicant_id: i64,
    pub department_code: String,
    pub matter_code: String,
    pub status: Status,
    pub concluded_at: Option<i64>,
}

fn concluded_of(r: &Row) -> Result<Concluded, DbError> {
    let s = r.get_str("status")?;
    Ok(Concluded {
        case_no: r.get_str("case_no")?,
        applicant_id: r.get_i64("applicant_id")?,
        department_code: r.get_str("department_code")?,
        matter_code: r.get_str("matter_code")?,
        status: Status::parse(&s).ok_or_else(|| DbError::Decode(format!("status {s:?}")))?,
        concluded_at: r.get_opt_i64("concluded_at")?,
    })
}

/// One case by number, for rating.
pub fn for_rating(c: &mut dyn Conn, case_no: &str) -> Result<Option<Concluded>, DbError> {
    c.query_opt(
        "SELECT case_no, applicant_id, department_code, matter_code, status, concluded_at FROM cases WHERE case_no = $1",
        params![case_no],
    )?
    .as_ref()
    .map(concluded_of)
    .transpose()
}

/// Cases decided (approved, rejected, not accepted) in `[after, until)`, oldest first.
pub fn decided_between(
    c: &mut dyn Conn,
    after: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<Concluded>, DbError> {
    c.query(
        "SELECT case_no, applicant_id, department_code, matter_code, status, concluded_at FROM cases
         WHERE concluded_at >= $1 AND concluded_at < $2 AND status IN ('approved', 'rejected', 'not_accepted')
         ORDER BY concluded_at, id LIMIT $3",
        params![after, until, limit],
    )?
    .iter()
    .map(concluded_of)
    .collect()
}
