//! Ratings as citizens and departments meet them: rate a concluded case or a replied/closed
//! work order (一事一评), appeal once, and the department's rectification (整改) tasks with
//! callback and outcome.

use crate::orders;
use crate::ratings::{self, NewRating, RatingView};
use crate::rules::Status;
use crate::settings;
use crate::staff::reopen;
use crate::HotlineError;
use serde::{Deserialize, Serialize};
use tongban_cases::rules::Status as CaseStatus;
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{audit, mask, notify, params, vault, Ctx};

fn already_rated(what: &str, no: &str) -> HotlineError {
    HotlineError::AlreadyRated(format!(
        "{what} {no} has been rated; each is rated once (一事一评)"
    ))
}

/// Rate a concluded case of one's own.
pub async fn rate_case(
    ctx: &Ctx,
    citizen: i64,
    case_no: &str,
    n: NewRating,
) -> Result<RatingView, HotlineError> {
    let dims = ratings::check(&n)?;
    let no = case_no.to_owned();
    let cal = ctx.calendar();
    let by = ratings::rectify_by(&cal, ctx.today(), ctx.config.rectification_days);
    let source = audit::current_source();
    let res: Result<(), HotlineError> = ctx
        .db
        .transact(move |c| {
            let Some(k) =
                tongban_cases::store::for_rating(c, &no)?.filter(|k| k.applicant_id == citizen)
            else {
                return Err(HotlineError::CaseNotFound(format!(
                    "you have no case {no:?}"
                )));
            };
            if !matches!(
                k.status,
                CaseStatus::Approved | CaseStatus::Rejected | CaseStatus::NotAccepted
            ) {
                return Err(HotlineError::NotConcluded(format!(
                    "case {no} can be rated once it is decided; it is {}",
                    k.status.label_zh()
                )));
            }
            let subject = ratings::Subject {
                kind: "case",
                no: no.clone(),
                department: k.department_code.clone(),
                matter: Some(k.matter_code.clone()),
            };
            let now = tongban_platform::time::now_millis();
            match ratings::record(
                c,
                &subject,
                Some(citizen),
                n.level,
                &dims,
                &n.comment,
                false,
                now,
                by,
            ) {
                Err(DbError::Unique(_)) => return Err(already_rated("case", &no)),
                r => r?,
            };
            audit::append(c, &citizen_entry(citizen, "rating.case", &no, source))?;
            Ok(())
        })
        .await;
    res?;
    rating_of(ctx, "case", case_no).await
}

fn citizen_entry(citizen: i64, action: &str, object: &str, source: String) -> audit::Entry {
    audit::Entry {
        actor_kind: "citizen".into(),
        actor: citizen.to_string(),
        action: action.into(),
        object: object.into(),
        result: "ok".into(),
        source,
        ..audit::Entry::default()
    }
}

/// The return visit done online: the citizen who filed rates a replied (or closed) order. On
/// a replied order a good rating closes it and a bad one reopens it.
pub async fn rate_order(
    ctx: &Ctx,
    citizen: i64,
    order_no: &str,
    n: NewRating,
) -> Result<RatingView, HotlineError> {
    let dims = ratings::check(&n)?;
    let no = order_no.to_owned();
    let cal = ctx.calendar();
    let today = ctx.today();
    let by = ratings::rectify_by(&cal, today, ctx.config.rectification_days);
    let source = audit::current_source();
    let res: Result<(), HotlineError> = ctx
        .db
        .transact(move |c| {
            let Some(mut r) = orders::load(c, &no, true)?.filter(|r| r.citizen_id == Some(citizen))
            else {
                return Err(HotlineError::OrderNotFound(format!("you have no work order {no:?}")));
            };
            let rated = c
                .query_opt("SELECT 1 AS x FROM ratings WHERE subject_kind = 'workorder' AND subject_no = $1", params![no.as_str()])?
                .is_some();
            if rated {
                return Err(already_rated("work order", &no));
            }
            if !matches!(r.status, Status::Replied | Status::Closed) {
                return Err(HotlineError::NotReplied(format!(
                        "order {no} can be rated once it is answered; it is {}",
                        r.status.label_zh()
                    )));
            }
            let subject = ratings::Subject {
                kind: "workorder",
                no: no.clone(),
                department: r.department.clone().unwrap_or_default(),
                matter: None,
            };
            let now = tongban_platform::time::now_millis();
            match ratings::record(
                c,
                &subject,
                Some(citizen),
                n.level,
                &dims,
                &n.comment,
                false,
                now,
                by,
            ) {
                Err(DbError::Unique(_)) => return Err(already_rated("work order", &no)),
                x => x?,
            };
            if r.status == Status::Replied {
                let limits = settings::stored(c)?.limits;
                let (action, note) = if ratings::is_bad(n.level) {
                    reopen(&mut r, &cal, &limits, today);
                    (
                        "reopen",
                        format!("回访{}：{}", ratings::level_name(n.level), n.comment.trim()),
                    )
                } else {
                    r.status = crate::rules::next(r.status, crate::rules::Action::Close)
                        .unwrap_or(Status::Closed);
                    r.closed_at = Some(now);
                    ("close", format!("回访{}", ratings::level_name(n.level)))
                };
                orders::save(c, &r, now)?;
                orders::event(
                    c,
                    r.id,
                    now,
                    action,
                    r.status,
                    "citizen",
                    r.department.as_deref(),
                    &note,
                )?;
            }
            audit::append(c, &citizen_entry(citizen, "rating.workorder", &no, source))?;
            Ok(())
        })
        .await;
    res?;
    rating_of(ctx, "workorder", order_no).await
}

async fn rating_of(ctx: &Ctx, kind: &'static str, no: &str) -> Result<RatingView, HotlineError> {
    let no2 = no.to_owned();
    let tz = ctx.tz;
    ctx.db
        .read(move |c| ratings::get(c, kind, &no2, tz))
        .await?
        .ok_or_else(|| HotlineError::RatingNotFound(format!("{no} has no rating")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appeal {
    pub reason: String,
}

/// Appeal the decision on one's rating once: the rectification is opened again (or opened,
/// for a rating recorded by default) and the supervisor sees the appeal.
pub async fn appeal(
    ctx: &Ctx,
    citizen: i64,
    kind: &'static str,
    no: &str,
    a: Appeal,
) -> Result<(), HotlineError> {
    let reason = a.reason.trim().to_owned();
    let n = reason.chars().count();
    if n == 0 || n > 500 {
        return Err(HotlineError::ReasonRequired(
            "give the reason for the appeal (1-500 characters)".into(),
        ));
    }
    let no = no.to_owned();
    let cal = ctx.calendar();
    let by = ratings::rectify_by(&cal, ctx.today(), ctx.config.rectification_days);
    let source = audit::current_source();
    let owner_ok = move |c: &mut dyn Conn, no: &str| -> Result<bool, DbError> {
        Ok(match kind {
            "case" => {
                tongban_cases::store::for_rating(c, no)?.is_some_and(|k| k.applicant_id == citizen)
            }
            _ => orders::load(c, no, false)?.is_some_and(|r| r.citizen_id == Some(citizen)),
        })
    };
    let res: Result<(), HotlineError> = ctx
        .db
        .transact(move |c| {
            if !owner_ok(c, &no)? {
                return Err(HotlineError::NotFound(format!("you have no {kind} {no:?}")));
            }
            let Some(r) = c.query_opt(
                "SELECT id, department_code, appeal FROM ratings WHERE subject_kind = $1 AND subject_no = $2",
                params![kind, no.as_str()],
            )?
            else {
                return Err(HotlineError::NotRated(format!("{no} has no rating to appeal")));
            };
            if r.get_opt_str("appeal")?.is_some() {
                return Err(HotlineError::AlreadyAppealed("a rating decision may be appealed once".into()));
            }
            let id = r.get_i64("id")?;
            let keys = vault::keys().map_err(DbError::from)?;
            c.execute(
                "UPDATE ratings SET appeal = $1 WHERE id = $2",
                params![keys.encrypt(&reason).map_err(DbError::from)?, id],
            )?;
            let now = tongban_platform::time::now_millis();
            let by = by.format("%Y-%m-%d").to_string();
            let n = c.execute(
                "UPDATE rectifications SET status = 'open', due_by = $1, on_time = NULL, escalated = FALSE WHERE rating_id = $2",
                params![by.as_str(), id],
            )?;
            if n == 0 {
                c.execute(
                    "INSERT INTO rectifications (rating_id, department_code, status, due_by, created_at) VALUES ($1, $2, 'open', $3, $4)",
                    params![id, r.get_str("department_code")?, by.as_str(), now],
                )?;
            }
            audit::append(c, &citizen_entry(citizen, "rating.appeal", &no, source))?;
            Ok(())
        })
        .await;
    res
}

#[derive(Debug, Serialize)]
pub struct Rectification {
    pub id: i64,
    pub subject_kind: String,
    pub subject_no: String,
    pub department: String,
    /// The department's name, for labels (the code when it has none).
    pub department_name: String,
    pub level: i64,
    pub level_name: String,
    /// The rater's words with personal data masked; who rated is never shown.
    pub comment: String,
    pub status: String,
    pub due_by: String,
    pub overdue: bool,
    pub escalated: bool,
    pub callback_note: Option<String>,
    pub outcome: Option<String>,
    pub on_time: Option<bool>,
    pub appeal: Option<String>,
    pub actions: Vec<&'static str>,
}

/// Department staff who may work on rectifications.
pub fn department_role(s: &Staff) -> bool {
    [
        Role::Handler,
        Role::Clerk,
        Role::Reviewer,
        Role::Approver,
        Role::Admin,
    ]
    .iter()
    .any(|r| s.has(*r))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RectQuery {
    pub status: Option<String>,
    pub overdue: Option<bool>,
    /// Only those due on or after this day (`YYYY-MM-DD`).
    pub due_from: Option<String>,
    /// Only those due on or before this day (`YYYY-MM-DD`).
    pub due_to: Option<String>,
    pub page: Option<i64>,
    pub page_size: Option<i64>,
    /// The older name of `page_size`.
    pub per_page: Option<i64>,
}

/// One page of rectifications and how many there are.
#[derive(Debug, serde::Serialize)]
pub struct RectPage {
    pub items: Vec<Rectification>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

const RECT_SQL: &str = "SELECT x.id, x.department_code, d.name AS department_name, x.status, x.due_by, x.callback_note, x.outcome, x.on_time, x.escalated,
        r.subject_kind, r.subject_no, r.level, r.comment, r.appeal
     FROM rectifications x JOIN ratings r ON r.id = x.rating_id
     LEFT JOIN departments d ON d.code = x.department_code";

fn rect_of(
    r: &tongban_platform::db::Row,
    staff: &Staff,
    today: chrono::NaiveDate,
) -> Result<Rectification, DbError> {
    let keys = vault::keys().map_err(DbError::from)?;
    let level = r.get_i64("level")?;
    let status = r.get_str("status")?;
    let due = r.get_str("due_by")?;
    let dept = r.get_str("department_code")?;
    let open = |v: Option<String>| -> Result<Option<String>, DbError> {
        v.map(|x| {
            keys.decrypt(&x)
                .map(|t| mask::scrub_text(&t))
                .map_err(DbError::from)
        })
        .transpose()
    };
    let mine = dept == staff.department.code && department_role(staff);
    let actions = match status.as_str() {
        "open" if mine => vec!["callback"],
        "called_back" if mine => vec!["complete"],
        _ => vec![],
    };
    Ok(Rectification {
        id: r.get_i64("id")?,
        subject_kind: r.get_str("subject_kind")?,
        subject_no: r.get_str("subject_no")?,
        department_name: r
            .get_opt_str("department_name")?
            .unwrap_or_else(|| dept.clone()),
        department: dept,
        level,
        level_name: ratings::level_name(level).into(),
        comment: open(Some(r.get_str("comment")?))?.unwrap_or_default(),
        overdue: status != "done" && due < today.format("%Y-%m-%d").to_string(),
        status,
        due_by: due,
        escalated: r.get_bool("escalated")?,
        callback_note: r
            .get_opt_str("callback_note")?
            .map(|v| vault::open_text(&v))
            .transpose()?,
        outcome: r
            .get_opt_str("outcome")?
            .map(|v| vault::open_text(&v))
            .transpose()?,
        on_time: r.get_opt_bool("on_time")?,
        appeal: open(r.get_opt_str("appeal")?)?,
        actions,
    })
}

/// Rectifications: a department's own, or all for a supervisor.
/// A department's (or, for supervisors, every) rectification, one page at a time: open ones
/// first, the newest first (what was opened today is on the first page), then the done ones.
pub async fn rectifications(
    ctx: &Ctx,
    staff: &Staff,
    q: RectQuery,
) -> Result<RectPage, HotlineError> {
    let paging = tongban_platform::http::Paging::new(q.page, q.page_size.or(q.per_page), 20)?;
    let all = staff.has(Role::Supervisor);
    if !all && !department_role(staff) {
        return Err(HotlineError::Forbidden(
            "rectifications are for department staff and supervisors".into(),
        ));
    }
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| !["open", "called_back", "done"].contains(s))
    {
        return Err(HotlineError::InvalidStatus(format!(
            "status must be open, called_back or done, got {s:?}"
        )));
    }
    for (name, day) in [("due_from", &q.due_from), ("due_to", &q.due_to)] {
        if let Some(d) = day {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(HotlineError::InvalidQuery(format!(
                    "{name} must be a date like 2026-11-30, got {d:?}"
                )));
            }
        }
    }
    let today = ctx.today();
    let staff2 = staff.clone();
    let rows = ctx
        .db
        .read(move |c| {
            let mut p: Vec<Value> = Vec::new();
            let mut w = vec!["1 = 1".to_owned()];
            if let Some(d) = &q.due_from {
                p.push(d.as_str().into());
                w.push(format!("x.due_by >= ${}", p.len()));
            }
            if let Some(d) = &q.due_to {
                p.push(d.as_str().into());
                w.push(format!("x.due_by <= ${}", p.len()));
            }
            if !all {
                p.push(staff2.department.code.as_str().into());
                w.push(format!("x.department_code = ${}", p.len()));
            }
            if let Some(s) = &q.status {
                p.push(s.as_str().into());
                w.push(format!("x.status = ${}", p.len()));
            }
            if q.overdue.unwrap_or(false) {
                p.push(today.format("%Y-%m-%d").to_string().into());
                w.push(format!("x.status <> 'done' AND x.due_by < ${}", p.len()));
            }
            let wh = w.join(" AND ");
            let total = c
                .query_one(&format!("SELECT COUNT(*) AS n FROM rectifications x WHERE {wh}"), &p)?
                .get_i64("n")?;
            p.push(paging.page_size.into());
            p.push(paging.offset().into());
            let sql = format!(
                "{RECT_SQL} WHERE {wh} ORDER BY CASE WHEN x.status = 'done' THEN 1 ELSE 0 END, x.created_at DESC, x.id DESC LIMIT ${} OFFSET ${}",
                p.len() - 1,
                p.len()
            );
            let items = c
                .query(&sql, &p)?
                .iter()
                .map(|r| rect_of(r, &staff2, today))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RectPage {
                items,
                total,
                page: paging.page,
                page_size: paging.page_size,
            })
        })
        .await?;
    Ok(rows)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RectAction {
    pub action: String,
    pub note: Option<String>,
}

/// `callback` (the required call to the applicant, with what was said) then `complete`
/// (the written outcome).
pub async fn rectification_act(
    ctx: &Ctx,
    staff: &Staff,
    id: i64,
    a: RectAction,
) -> Result<Rectification, HotlineError> {
    if !["callback", "complete"].contains(&a.action.as_str()) {
        return Err(HotlineError::UnknownAction(
            "action must be callback or complete".into(),
        ));
    }
    let note = a.note.as_deref().unwrap_or("").trim().to_owned();
    if note.is_empty() || note.chars().count() > 2000 {
        return Err(HotlineError::NoteRequired(
            (if a.action == "callback" {
                "record the callback to the applicant (1-2000 characters)"
            } else {
                "write the outcome of the rectification (1-2000 characters)"
            })
            .into(),
        ));
    }
    let today = ctx.today();
    let staff2 = staff.clone();
    let source = audit::current_source();
    let res: Result<Rectification, HotlineError> = ctx
        .db
        .transact(move |c| {
            let lock = if c.engine() == tongban_platform::db::Engine::Postgres { " FOR UPDATE OF x" } else { "" };
            let Some(row) = c.query_opt(&format!("{RECT_SQL} WHERE x.id = $1{lock}"), params![id])? else {
                return Err(HotlineError::RectificationNotFound(format!("no rectification {id}")));
            };
            let cur = rect_of(&row, &staff2, today)?;
            if cur.department != staff2.department.code || !department_role(&staff2) {
                return Err(HotlineError::Forbidden("only the rated department works on its rectifications".into()));
            }
            if !cur.actions.contains(&a.action.as_str()) {
                return Err(HotlineError::ActionNotAllowed(format!("cannot {} rectification {id} now: it is {}", a.action, cur.status)));
            }
            let now = tongban_platform::time::now_millis();
            if a.action == "callback" {
                c.execute(
                    "UPDATE rectifications SET status = 'called_back', callback_note = $1, callback_at = $2 WHERE id = $3",
                    params![vault::seal_text(&note)?, now, id],
                )?;
            } else {
                let on_time = cur.due_by >= today.format("%Y-%m-%d").to_string();
                c.execute(
                    "UPDATE rectifications SET status = 'done', outcome = $1, done_at = $2, on_time = $3 WHERE id = $4",
                    params![vault::seal_text(&note)?, now, on_time, id],
                )?;
                tell_rater(c, &cur.subject_kind, &cur.subject_no, &note, now)?;
            }
            let mut e = audit::Entry::staff(&staff2, &format!("rectification.{}", a.action), &cur.subject_no, "ok");
            e.source = source;
            audit::append(c, &e)?;
            let row = c.query_one(&format!("{RECT_SQL} WHERE x.id = $1"), params![id])?;
            Ok(rect_of(&row, &staff2, today)?)
        })
        .await;
    res
}

/// Tell the applicant the outcome of the rectification of their rating.
fn tell_rater(
    c: &mut dyn Conn,
    kind: &str,
    no: &str,
    outcome: &str,
    now: i64,
) -> Result<(), DbError> {
    let text = format!("您对 {no} 的评价已整改：{outcome}");
    if kind == "workorder" {
        if let Some(r) = orders::load(c, no, false)? {
            return orders::tell_citizen(c, &r, &format!("您的评价已整改：{outcome}"), now);
        }
        return Ok(());
    }
    let rater = c
        .query_opt(
            "SELECT rater_id FROM ratings WHERE subject_kind = $1 AND subject_no = $2",
            params![kind, no],
        )?
        .map(|r| r.get_opt_i64("rater_id"))
        .transpose()?
        .flatten();
    if let Some(id) = rater {
        if let Some(p) = tongban_platform::identity::citizen_phone(c, id)? {
            notify::sms(c, &p, "好差评整改结果", &text, now)?;
        }
    }
    Ok(())
}
