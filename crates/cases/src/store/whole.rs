//! A case with its whole story (record, timeline, materials) read at once: what a citizen's
//! or a clerk's case page shows.

use super::{
    case_from, material_from, CaseRecord, Event, MaterialRecord, CASE_COLUMNS, MATERIALS_SQL,
};
use std::sync::LazyLock;
use tongban_platform::db::{json_rows_sql, rows_from_json, Conn, Db, DbError, Engine, Row};
use tongban_platform::params;

/// A case with its timeline and materials as read, not yet unsealed.
pub struct Whole {
    pub rec: CaseRecord,
    events: Vec<Row>,
    mats: Vec<Row>,
}

impl Whole {
    /// The timeline and materials, unsealed (only for a reader who may see them).
    pub fn open(self) -> Result<(CaseRecord, Vec<Event>, Vec<MaterialRecord>), DbError> {
        Ok((
            self.rec,
            self.events
                .iter()
                .map(event_from)
                .collect::<Result<_, _>>()?,
            self.mats
                .iter()
                .map(material_from)
                .collect::<Result<_, _>>()?,
        ))
    }
}

/// A case by number with its timeline and materials, read in one snapshot. On PostgreSQL
/// one statement (a snapshot by itself: no transaction around it, one round trip); on
/// SQLite, where a statement costs no round trip, three plain ones in the caller's read.
pub fn whole(c: &mut dyn Conn, case_no: &str) -> Result<Option<Whole>, DbError> {
    if c.engine() == Engine::Sqlite {
        return whole_apart(c, case_no);
    }
    let rows = c.query(whole_sql(), params![case_no])?;
    whole_from(rows)
}

/// As [`whole`], outside a transaction of the caller's: on PostgreSQL one flight from the
/// calling task ([`Db::fetch`]).
pub async fn fetch_whole(db: &Db, case_no: &str) -> Result<Option<Whole>, DbError> {
    if db.engine() == Engine::Sqlite {
        let case_no = case_no.to_owned();
        return db.read(move |c| whole_apart(c, &case_no)).await;
    }
    let answers = db.fetch(&[(whole_sql(), params![case_no])]).await?;
    whole_from(answers.into_iter().next().unwrap_or_default())
}

/// The case, then its timeline and materials by its id (SQLite: inside one read).
fn whole_apart(c: &mut dyn Conn, case_no: &str) -> Result<Option<Whole>, DbError> {
    let Some(row) = c.query_opt(&CASE_BY_NUMBER, params![case_no])? else {
        return Ok(None);
    };
    let rec = case_from(&row)?;
    let events = c.query(&EVENTS_BY_CASE, params![rec.id])?;
    let mats = c.query(MATERIALS_SQL, params![rec.id])?;
    Ok(Some(Whole { rec, events, mats }))
}

static CASE_BY_NUMBER: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_no = $1"));

static EVENTS_BY_CASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM case_events WHERE case_id = $1 ORDER BY id",
        EVENT_COLUMNS.join(", ")
    )
});

const EVENT_COLUMNS: [&str; 9] = [
    "at",
    "action",
    "from_status",
    "to_status",
    "actor_kind",
    "actor_name",
    "role",
    "department_code",
    "note",
];

const MATERIAL_COLUMNS: [&str; 8] = [
    "material_key",
    "filename",
    "content_type",
    "size",
    "sha",
    "uploaded_at",
    "certificate",
    "exchange_message",
];

/// The statement of [`whole`] on PostgreSQL: the case's columns, then its timeline and its
/// materials, each aggregated as JSON text.
fn whole_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let events = json_rows_sql(
            Engine::Postgres,
            &EVENT_COLUMNS,
            "case_events WHERE case_events.case_id = cases.id",
            "case_events.id",
        );
        let mats = json_rows_sql(
            Engine::Postgres,
            &MATERIAL_COLUMNS,
            "case_materials WHERE case_materials.case_id = cases.id",
            "case_materials.id",
        );
        format!(
            "SELECT {CASE_COLUMNS}, {events} AS events, {mats} AS materials FROM cases WHERE case_no = $1"
        )
    });
    &SQL
}

fn whole_from(rows: Vec<Row>) -> Result<Option<Whole>, DbError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Whole {
        rec: case_from(row)?,
        events: rows_from_json(&EVENT_COLUMNS, row.get_opt_str("events")?.as_deref())?,
        mats: rows_from_json(&MATERIAL_COLUMNS, row.get_opt_str("materials")?.as_deref())?,
    }))
}

fn event_from(r: &Row) -> Result<Event, DbError> {
    Ok(Event {
        at: r.get_i64("at")?,
        action: r.get_str("action")?,
        from_status: r.get_opt_str("from_status")?,
        to_status: r.get_str("to_status")?,
        actor_kind: r.get_str("actor_kind")?,
        actor_name: tongban_platform::vault::open_text(&r.get_str("actor_name")?)?,
        role: r.get_str("role")?,
        department_code: r.get_opt_str("department_code")?,
        note: tongban_platform::vault::open_text(&r.get_str("note")?)?,
    })
}
