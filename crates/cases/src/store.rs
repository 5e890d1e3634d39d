//! Case storage: insert, read with timeline and materials, move state, queues and counts.

use crate::rules::{Action, Status};
use chrono::NaiveDate;
use serde_json::{Map, Value as Json};
use tongban_platform::db::{Conn, DbError, Engine, Row, Value};
use tongban_platform::params;

mod recent;
mod whole;
pub use recent::{fetch_story, RecentCases, Story, TOPIC};
pub use whole::{fetch_whole, whole, Whole};

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
    accepted_on, deadline, resume_status, paused_on, supplement_note, concluded_at, version";

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

fn open_form(stored: &str) -> Result<Map<String, Json>, DbError> {
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
        concluded_at: r.get_opt_i64("concluded_at")?,
        version: r.get_i64("version")?,
    })
}

pub struct NewCase<'a> {
    pub case_no: &'a str,
    pub matter_code: &'a str,
    pub department_code: &'a str,
    pub applicant_id: i64,
    pub form: &'a Map<String, Json>,
    /// `form` as stored ([`seal_form`]): sealed before the write, outside the writer.
    pub sealed_form: &'a str,
    pub now: i64,
    /// `web` or `mobile`.
    pub channel: &'a str,
}

/// Insert a new case; the record as stored.
/// On PostgreSQL, the column that takes a new case's id before it is written (see
/// [`insert`]), for the statement that takes its number too.
pub const NEXT_ID: &str = "nextval(pg_get_serial_sequence('cases', 'id')) AS id";

/// Insert a new case. With its `id` taken beforehand ([`NEXT_ID`]) nothing waits for
/// the insert's answer (it travels with the job's next statement, see
/// [`Conn::execute_later`]); without, the row's id is read back from the insert.
pub fn insert(c: &mut dyn Conn, id: Option<i64>, n: &NewCase) -> Result<CaseRecord, DbError> {
    let form = n.sealed_form;
    let id = match id {
        Some(id) => {
            c.execute_later(
                "INSERT INTO cases (id, case_no, matter_code, department_code, applicant_id, status, form, submitted_at, updated_at, version, channel)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, $9)",
                params![id, n.case_no, n.matter_code, n.department_code, n.applicant_id, Status::Submitted.as_str(), form, n.now, n.channel],
            )?;
            id
        }
        None => c
            .query_one(
                "INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at, updated_at, version, channel)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1, $8) RETURNING id",
                params![n.case_no, n.matter_code, n.department_code, n.applicant_id, Status::Submitted.as_str(), form, n.now, n.channel],
            )?
            .get_i64("id")?,
    };
    Ok(submitted(id, n))
}

/// A new case's record as stored: what was just written, not read (and unsealed) back.
fn submitted(id: i64, n: &NewCase) -> CaseRecord {
    CaseRecord {
        id,
        case_no: n.case_no.to_owned(),
        matter_code: n.matter_code.to_owned(),
        department_code: n.department_code.to_owned(),
        applicant_id: n.applicant_id,
        status: Status::Submitted,
        form: n.form.clone(),
        submitted_at: n.now,
        accepted_on: None,
        deadline: None,
        resume_status: None,
        paused_on: None,
        supplement_note: None,
        concluded_at: None,
        version: 1,
    }
}

/// A new case with its first timeline entry (`who` submitted it, the entry sealed
/// beforehand). With its `id` taken beforehand (PostgreSQL, [`NEXT_ID`]) both rows are one
/// statement that nothing waits for; otherwise as [`insert`] and [`add_sealed_event`].
pub fn insert_submitted(
    c: &mut dyn Conn,
    id: Option<i64>,
    n: &NewCase,
    who: &Actor,
    sealed: &SealedEntry,
) -> Result<(CaseRecord, Event), DbError> {
    let step = Step {
        action: Action::Submit,
        from: None,
        to: Status::Submitted,
    };
    let Some(id) = id.filter(|_| c.engine() == Engine::Postgres) else {
        let rec = insert(c, id, n)?;
        let event = add_sealed_event(c, rec.id, n.now, step, who, sealed)?;
        return Ok((rec, event));
    };
    // The entry's foreign key is checked when the statement ends, its case written by then.
    c.execute_later(
        "WITH c AS (
             INSERT INTO cases (id, case_no, matter_code, department_code, applicant_id, status, form, submitted_at, updated_at, version, channel)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, $9))
         INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_kind, actor_id, actor_name, role, department_code, note)
         VALUES ($1, $8, $10, NULL, $6, $11, $12, $13, $14, $15, $16)",
        params![
            id, n.case_no, n.matter_code, n.department_code, n.applicant_id, Status::Submitted.as_str(), n.sealed_form, n.now, n.channel,
            step.action.as_str(), who.kind, who.id, sealed.sealed_name.as_str(), who.role.as_str(), who.department_code.as_deref(),
            sealed.sealed_note.as_str()
        ],
    )?;
    Ok((submitted(id, n), event_of(n.now, step, who, sealed)))
}

/// A case loaded from history (the demo city, or an import of a city's past): already
/// accepted and perhaps decided, without a timeline.
pub struct HistoricCase<'a> {
    pub case_no: &'a str,
    pub matter_code: &'a str,
    pub department_code: &'a str,
    pub applicant_id: i64,
    pub status: Status,
    pub form: &'a Map<String, Json>,
    pub submitted_at: i64,
    pub accepted_on: NaiveDate,
    pub deadline: NaiveDate,
    pub concluded_at: Option<i64>,
    pub channel: &'a str,
}

pub fn insert_historic(c: &mut dyn Conn, n: &HistoricCase) -> Result<(), DbError> {
    let form = seal_form(n.form)?;
    c.execute(
        "INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at, accepted_on,
            deadline, concluded_at, updated_at, version, channel)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $7, 1, $11)",
        params![
            n.case_no, n.matter_code, n.department_code, n.applicant_id, n.status.as_str(), form, n.submitted_at,
            n.accepted_on.format("%Y-%m-%d").to_string(), n.deadline.format("%Y-%m-%d").to_string(), n.concluded_at, n.channel
        ],
    )?;
    Ok(())
}

/// One move of the state machine, as the timeline records it.
#[derive(Clone, Copy)]
pub struct Step {
    pub action: Action,
    pub from: Option<Status>,
    pub to: Status,
}

pub fn add_event(
    c: &mut dyn Conn,
    case_id: i64,
    at: i64,
    step: Step,
    who: &Actor,
    note: &str,
) -> Result<Event, DbError> {
    add_sealed_event(c, case_id, at, step, who, &seal_entry(who, note)?)
}

/// A timeline entry's note, with the actor's name and the note as stored (the actor may be
/// the applicant: names and notes are sealed), made before a write so the writer does not
/// seal.
pub struct SealedEntry {
    note: String,
    sealed_name: String,
    sealed_note: String,
}

pub fn seal_entry(who: &Actor, note: &str) -> Result<SealedEntry, DbError> {
    Ok(SealedEntry {
        note: note.to_owned(),
        sealed_name: tongban_platform::vault::seal_text(&who.name)?,
        sealed_note: tongban_platform::vault::seal_text(note)?,
    })
}

/// As [`add_event`], with the name and note sealed beforehand ([`seal_entry`] of `who`).
pub fn add_sealed_event(
    c: &mut dyn Conn,
    case_id: i64,
    at: i64,
    step: Step,
    who: &Actor,
    sealed: &SealedEntry,
) -> Result<Event, DbError> {
    let Step { action, from, to } = step;
    c.execute_later(
        "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_kind, actor_id, actor_name, role, department_code, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params![
            case_id,
            at,
            action.as_str(),
            from.map(|s| s.as_str()),
            to.as_str(),
            who.kind,
            who.id,
            sealed.sealed_name.as_str(),
            who.role.as_str(),
            who.department_code.as_deref(),
            sealed.sealed_note.as_str()
        ],
    )?;
    Ok(event_of(at, step, who, sealed))
}

/// A timeline entry as the timeline reads it back.
fn event_of(at: i64, step: Step, who: &Actor, sealed: &SealedEntry) -> Event {
    let Step { action, from, to } = step;
    Event {
        at,
        action: action.as_str().to_owned(),
        from_status: from.map(|s| s.as_str().to_owned()),
        to_status: to.as_str().to_owned(),
        actor_kind: who.kind.to_owned(),
        actor_name: who.name.clone(),
        role: who.role.clone(),
        department_code: who.department_code.clone(),
        note: sealed.note.clone(),
    }
}

pub fn add_material(c: &mut dyn Conn, case_id: i64, m: &MaterialRecord) -> Result<(), DbError> {
    c.execute_later(
        "INSERT INTO case_materials (case_id, material_key, filename, content_type, size, sha, uploaded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![case_id, m.key.as_str(), m.filename.as_str(), m.content_type.as_str(), m.size, m.sha.as_str(), m.uploaded_at],
    )?;
    Ok(())
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
    "SELECT material_key, filename, content_type, size, sha, uploaded_at FROM case_materials WHERE case_id = $1 ORDER BY id";

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
    })
}

/// Write the changed fields of `rec` if nobody changed the case meanwhile. The change is
/// announced: every node stops using the case as it held it ([`RecentCases`]).
pub fn update(c: &mut dyn Conn, rec: &CaseRecord, now: i64) -> Result<bool, DbError> {
    let form = seal_form(&rec.form)?;
    c.announce(TOPIC)?;
    let n = c.execute(
        "UPDATE cases SET status = $1, form = $2, accepted_on = $3, deadline = $4, resume_status = $5, paused_on = $6,
            supplement_note = $7, concluded_at = $8, updated_at = $9, version = version + 1
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
            rec.version
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
