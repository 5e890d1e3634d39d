//! What staff do to an order: the action request, its check against the roles and the
//! lifecycle rules (`rules::decide`), and the change with its timeline entry, audit entry and
//! notice to the citizen, in one transaction.

use super::*;

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ActionReq {
    pub action: String,
    pub department: Option<String>,
    pub note: Option<String>,
    pub days: Option<i64>,
    pub public_text: Option<String>,
    /// With `publish`: the public title (the citizen's own, scrubbed, when not given).
    pub public_title: Option<String>,
    /// With `close`: the level the citizen gave on the return visit (回访), 1..5.
    pub level: Option<i64>,
}

fn text(v: &Option<String>, what: &str, max: usize) -> Result<String, HotlineError> {
    let t = v.as_deref().unwrap_or("").trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(HotlineError::NoteRequired(format!(
            "{what} (1-{max} characters)"
        )));
    }
    Ok(t.to_owned())
}

/// Take an action; returns the order's new status.
pub async fn act(
    ctx: &Ctx,
    staff: &Staff,
    order_no: &str,
    a: ActionReq,
) -> Result<String, HotlineError> {
    if !ACTIONS.contains(&a.action.as_str()) {
        return Err(HotlineError::UnknownAction(format!(
            "action must be one of {}",
            ACTIONS.join(", ")
        )));
    }
    let today = ctx.today();
    let cal = ctx.calendar();
    let rect_days = ctx.config.rectification_days;
    let staff2 = staff.clone();
    let no = order_no.to_owned();
    let source = audit::current_source();
    let denied_source = source.clone();
    let action = a.action.clone();
    let a_name = a.action.clone();
    let res = ctx
        .db
        .transact(move |c| {
            let staff = staff2;
            let Some(mut r) = orders::load(c, &no, true)? else {
                return Err(Refused::Error(HotlineError::OrderNotFound(format!(
                    "no work order {no:?}"
                ))));
            };
            check_action(&staff, &r, &a.action).map_err(Refused::Denied)?;
            apply(c, &staff, &mut r, &a, today, &cal, rect_days).map_err(Refused::Error)?;
            let mut entry =
                audit::Entry::staff(&staff, &format!("workorder.{}", a_name), &no, "ok");
            entry.source = source;
            audit::append(c, &entry)?;
            Ok(r.status.as_str().to_owned())
        })
        .await;
    match res {
        Ok(status) => Ok(status),
        Err(Refused::Error(e)) => Err(e),
        // A refusal of who asks is audited on its own (the transaction was rolled back).
        Err(Refused::Denied(e)) => {
            let mut entry =
                audit::Entry::staff(staff, &format!("workorder.{action}"), order_no, "denied");
            entry.source = denied_source;
            entry.detail = e.to_string();
            audit::record(&ctx.db, entry).await;
            Err(e)
        }
    }
}

/// Why an action did not happen: the rules refused who asked (audited as denied), or
/// something else went wrong. Either way the transaction is rolled back.
enum Refused {
    Denied(HotlineError),
    Error(HotlineError),
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Refused {
        Refused::Error(e.into())
    }
}

/// The change itself, inside the write transaction; an error rolls it back.
#[allow(clippy::too_many_arguments)]
fn apply(
    c: &mut dyn Conn,
    staff: &Staff,
    r: &mut Rec,
    a: &ActionReq,
    today: chrono::NaiveDate,
    cal: &tongban_platform::calendar::Calendar,
    rect_days: u32,
) -> Result<(), HotlineError> {
    let now = tongban_platform::time::now_millis();
    let limits = settings::stored(c)?.limits;
    let actor = staff.username.clone();
    let dept = staff.department.code.clone();
    let mut note = a.note.as_deref().unwrap_or("").trim().to_owned();
    let mut tell: Option<String> = None;
    // The status each action leads to comes from the rules (checked before `apply`).
    let next = decide(r, &a.action)?;
    match a.action.as_str() {
        "dispatch" => {
            let d = a.department.as_deref().unwrap_or("").trim().to_owned();
            if d.is_empty() || tongban_platform::identity::get_department(c, &d)?.is_none() {
                return Err(HotlineError::UnknownDepartment(format!(
                    "give the department to send the order to (a department code), got {d:?}"
                )));
            }
            let dl = rules::deadlines(cal, &limits, r.order_type, today);
            r.status = next;
            r.department = Some(d.clone());
            r.sign_by = Some(dl.sign_by);
            r.return_by = Some(dl.return_by);
            r.answer_by = Some(dl.answer_by);
            r.escalated = false;
            orders::save(c, r, now)?;
            c.execute(
                "UPDATE work_orders SET dispatched_on = $1 WHERE id = $2",
                params![ymd(Some(today)), r.id],
            )?;
            orders::event(c, r.id, now, "dispatch", r.status, &actor, Some(&d), &note)?;
            return Ok(());
        }
        "sign" => r.status = next,
        "return" => {
            note = text(
                &a.note,
                "give the reason this order is not for your department",
                500,
            )?;
            if r.return_by.is_some_and(|d| today > d) {
                return Err(HotlineError::ReturnTooLate(format!(
                    "a misrouted order must be returned by {}; ask the dispatcher to re-route it",
                    ymd(r.return_by).unwrap_or_default()
                )));
            }
            r.status = next;
            r.department = None;
            r.sign_by = None;
            r.return_by = None;
            r.answer_by = None;
            r.escalated = false;
            r.extension_days = None;
            r.extension_reason = None;
        }
        "reply" => {
            let reply = text(&a.note, "write the reply to the citizen", 5000)?;
            r.status = next;
            r.replied_on_time = Some(r.answer_by.is_none_or(|d| today <= d));
            r.reply = Some(reply.clone());
            r.replied_at = Some(now);
            r.extension_days = None;
            r.extension_reason = None;
            tell = Some(format!("已答复：{reply}"));
        }
        "extend" => {
            note = text(&a.note, "give the reason for the extension", 500)?;
            let days = a.days.unwrap_or(0);
            if days < 1 || days > i64::from(limits.max_extension) {
                return Err(HotlineError::InvalidDays(format!(
                    "an extension is 1 to {} working days",
                    limits.max_extension
                )));
            }
            r.extension_days = Some(days);
            r.extension_reason = Some(note.clone());
        }
        "approve_extension" => {
            let days = r.extension_days.unwrap_or(0);
            let base = r.answer_by.unwrap_or(today);
            let new = rules::extend(cal, &limits, base, days as u32)
                .map_err(HotlineError::InvalidDays)?;
            r.answer_by = Some(new);
            r.extension_days = None;
            r.escalated = false;
            if note.is_empty() {
                note = format!("延期 {days} 个工作日至 {new}");
            }
        }
        "supervise" => {
            note = text(&a.note, "write the supervision instruction (督办意见)", 500)?;
            r.supervised = true;
        }
        "publish" => {
            let public_text = text(
                &a.public_text,
                "write the public version of the letter",
                5000,
            )?;
            let reply = match a.note.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(n) => n.to_owned(),
                None => r.reply.clone().unwrap_or_default(),
            };
            let title = match a.public_title.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => {
                    if t.chars().count() > 100 {
                        return Err(HotlineError::InvalidTitle(
                            "the public title may be at most 100 characters".into(),
                        ));
                    }
                    t.to_owned()
                }
                _ => r.title.clone(),
            };
            r.public_title = Some(mask::scrub_text(&title));
            r.public_text = Some(mask::scrub_text(&public_text));
            r.public_reply = Some(mask::scrub_text(&reply));
            r.published_at = Some(now);
            note = String::new();
        }
        _ => {
            // close: the return visit (回访). A bad level reopens the order.
            let level = a.level;
            if let Some(l) = level {
                if !(1..=5).contains(&l) {
                    return Err(HotlineError::InvalidLevel("level must be 1 to 5".into()));
                }
                if ratings::is_bad(l) && note.is_empty() {
                    return Err(HotlineError::CommentRequired(
                        "record what the citizen said (note) with a bad return visit".into(),
                    ));
                }
            }
            let already = c
                .query_opt("SELECT 1 AS x FROM ratings WHERE subject_kind = 'workorder' AND subject_no = $1", params![r.order_no.as_str()])?
                .is_some();
            if let (Some(l), false) = (level, already) {
                let subject = ratings::Subject {
                    kind: "workorder",
                    no: r.order_no.clone(),
                    department: r.department.clone().unwrap_or_default(),
                    matter: None,
                };
                ratings::record(
                    c,
                    &subject,
                    None,
                    l,
                    "{}",
                    &note,
                    false,
                    now,
                    ratings::rectify_by(cal, today, rect_days),
                )?;
                if ratings::is_bad(l) {
                    reopen(r, cal, &limits, today);
                    orders::save(c, r, now)?;
                    orders::event(
                        c,
                        r.id,
                        now,
                        "reopen",
                        r.status,
                        &actor,
                        r.department.as_deref(),
                        &note,
                    )?;
                    return Ok(());
                }
            }
            r.status = next;
            r.closed_at = Some(now);
            tell = Some("已办结，感谢您的参与。".into());
        }
    }
    orders::save(c, r, now)?;
    let ev_dept = if a.action == "return" {
        Some(dept.as_str())
    } else {
        r.department.as_deref()
    };
    orders::event(c, r.id, now, &a.action, r.status, &actor, ev_dept, &note)?;
    if let Some(t) = tell {
        orders::tell_citizen(c, r, &t, now)?;
    }
    Ok(())
}

/// A bad return visit sends the order back to the department with a fresh answer limit.
pub fn reopen(
    r: &mut Rec,
    cal: &tongban_platform::calendar::Calendar,
    limits: &rules::Limits,
    today: chrono::NaiveDate,
) {
    // The rules decide where a reopened order goes (an order that is not replied stays).
    if let Ok(next) = rules::decide(r.status, facts(r), rules::Action::Reopen) {
        r.status = next;
    }
    r.answer_by = Some(cal.add_workdays(today, limits.answer_days(r.order_type)));
    r.escalated = false;
    r.closed_at = None;
}
