//! New cases and their timeline: a submission's case with its first entry, a case loaded
//! from history, timeline entries (sealed before the write) and materials.

use super::{seal_form, Actor, CaseRecord, Event, MaterialRecord};
use crate::rules::{Action, Status};
use chrono::NaiveDate;
use serde_json::{Map, Value as Json};
use tongban_platform::db::{Conn, DbError, Engine};
use tongban_platform::params;

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

/// On PostgreSQL, the column that takes a new case's id before it is written, as
/// `identity::take_number` takes it (see [`insert_submitted`]).
pub const NEXT_ID: &str = "nextval(pg_get_serial_sequence('cases', 'id')) AS id";

/// Insert a new case, its id read back from the insert.
fn insert(c: &mut dyn Conn, n: &NewCase) -> Result<CaseRecord, DbError> {
    let id = c
        .query_one(
            "INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at, updated_at, version, channel)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1, $8) RETURNING id",
            params![n.case_no, n.matter_code, n.department_code, n.applicant_id, Status::Submitted.as_str(), n.sealed_form, n.now, n.channel],
        )?
        .get_i64("id")?;
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
        supplement_items: Vec::new(),
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
        let rec = insert(c, n)?;
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
        "INSERT INTO case_materials (case_id, material_key, filename, content_type, size, sha, uploaded_at, certificate, exchange_message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![case_id, m.key.as_str(), m.filename.as_str(), m.content_type.as_str(), m.size, m.sha.as_str(), m.uploaded_at, m.certificate.as_deref(), m.exchange_message.as_deref()],
    )?;
    Ok(())
}
