//! The steps of a request after it is made: the department's (ask for a correction, which
//! stops the count; extend once; answer with an Art. 36 outcome) and the requester's (send
//! the correction, which starts the count again; withdraw). Each is audited and kept on the
//! request.

use super::{day, event, fetch, get_as, invalid, may_handle, missing, outcome_names, parse_day};
use super::{Request, Who};
use super::{EXTENSION_DAYS, LIMIT_DAYS, OUTCOMES};
use crate::error::{problem, PortalError};
use serde::Deserialize;
use tongban_platform::audit::{self, Entry};
use tongban_platform::identity::Staff;
use tongban_platform::vault::seal_text;
use tongban_platform::{params, Ctx};

/// A staff step: `correct` (ask the requester to correct: the count stops), `extend` (once,
/// by 20 working days), `answer` (an outcome with its reason).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
}

pub const STAFF_ACTIONS: [&str; 3] = ["correct", "extend", "answer"];

pub async fn act(
    ctx: &Ctx,
    staff: &Staff,
    no: &str,
    action: &str,
    step: Step,
) -> Result<Request, PortalError> {
    if !STAFF_ACTIONS.contains(&action) {
        return Err(PortalError::NotFound(
            "unknown_action",
            format!("no step {action}: one of {}", STAFF_ACTIONS.join(", ")),
        ));
    }
    // The step is audited (done or refused); reading the request for it is not a read.
    let (_, req) = fetch(ctx, no).await?.ok_or_else(|| missing(no))?;
    if !may_handle(staff, &req.department) {
        audit::record(
            &ctx.db,
            Entry::staff(staff, &format!("disclosure.{action}"), no, "denied"),
        )
        .await;
        return Err(PortalError::Forbidden(
            "only the department's 政务公开 reviewers (site_reviewer) act on its requests".into(),
        ));
    }
    let note = step.note.trim().to_owned();
    if note.chars().count() > 5_000 {
        return Err(invalid(vec![problem(
            "note",
            "note_too_long",
            "at most 5,000 characters",
        )]));
    }
    if req.state != "received" {
        return Err(PortalError::Conflict(format!(
            "the request is {}; only a request awaiting an answer takes this step",
            req.state
        )));
    }
    let cal = ctx.calendar();
    let (sql, params_, event_note): (&str, Vec<tongban_platform::db::Value>, String) = match action
    {
        "correct" => {
            if note.is_empty() {
                return Err(invalid(vec![problem(
                    "note",
                    "need_note",
                    "say what the requester should correct (一次性告知)",
                )]));
            }
            (
                "UPDATE disclosure_requests SET state = 'correcting', due_on = NULL, correction_note = $1, updated_at = $2
                 WHERE request_no = $3 AND state = 'received'",
                vec![note.as_str().into()],
                note.clone(),
            )
        }
        "extend" => {
            if req.extended {
                return Err(PortalError::Conflict(
                    "the limit was extended once already (Art. 33 allows one extension)".into(),
                ));
            }
            if note.is_empty() {
                return Err(invalid(vec![problem(
                    "note",
                    "need_note",
                    "say why the answer needs longer",
                )]));
            }
            let due = req
                .due_on
                .as_deref()
                .and_then(parse_day)
                .unwrap_or_else(|| ctx.today());
            let new_due = day(cal.add_workdays(due, EXTENSION_DAYS));
            (
                "UPDATE disclosure_requests SET extended = TRUE, due_on = $1, updated_at = $2
                 WHERE request_no = $3 AND state = 'received' AND NOT extended",
                vec![new_due.as_str().into()],
                format!("{new_due} {note}"),
            )
        }
        _ => {
            if outcome_names(&step.outcome, &step.reason).is_none() {
                let all: Vec<String> = OUTCOMES
                    .iter()
                    .flat_map(|(o, _, rs)| {
                        rs.iter().map(move |(r, _)| {
                            if r.is_empty() {
                                o.to_string()
                            } else {
                                format!("{o}/{r}")
                            }
                        })
                    })
                    .collect();
                return Err(invalid(vec![problem(
                    "outcome",
                    "bad_outcome",
                    format!("an outcome with its reason: {}", all.join(", ")),
                )]));
            }
            if step.outcome != "public" && note.is_empty() {
                return Err(invalid(vec![problem(
                    "note",
                    "need_reasons",
                    "an answer other than 予以公开 gives its reasons and the legal basis",
                )]));
            }
            (
                "UPDATE disclosure_requests SET state = 'answered', answer = $1, outcome = $4, reason = $5,
                   answered_on = $6, updated_at = $2
                 WHERE request_no = $3 AND state = 'received'",
                vec![note.as_str().into()],
                format!("{}/{} {note}", step.outcome, step.reason),
            )
        }
    };
    let (no2, s2, now, action2) = (
        no.to_owned(),
        staff.clone(),
        tongban_platform::time::now_millis(),
        action.to_owned(),
    );
    let today = day(ctx.today());
    let (outcome, reason) = (step.outcome.clone(), step.reason.clone());
    ctx.db
        .transact(move |c| -> Result<(), PortalError> {
            let mut p = params_;
            p.push(now.into());
            p.push(no2.as_str().into());
            if action2 == "answer" {
                p.push(outcome.as_str().into());
                p.push(reason.as_str().into());
                p.push(today.as_str().into());
            }
            if c.execute(sql, &p)? == 0 {
                return Err(PortalError::Conflict(
                    "the request changed meanwhile: load it again".into(),
                ));
            }
            let id = c
                .query_one(
                    "SELECT id FROM disclosure_requests WHERE request_no = $1",
                    params![no2.as_str()],
                )?
                .get_i64("id")?;
            event(c, id, now, &action2, &s2.username, &event_note)?;
            audit::append(
                c,
                &Entry::staff(&s2, &format!("disclosure.{action2}"), &no2, "ok")
                    .with_detail(event_note.chars().take(200).collect::<String>()),
            )?;
            Ok(())
        })
        .await?;
    Ok(fetch(ctx, no).await?.ok_or_else(|| missing(no))?.1)
}

/// The requester's steps: `corrected` (the corrected description; the count starts again
/// today) or `withdraw`.
pub async fn applicant_act(
    ctx: &Ctx,
    account: i64,
    no: &str,
    action: &str,
    text: &str,
) -> Result<Request, PortalError> {
    let req = get_as(ctx, no, Who::Applicant(account)).await?;
    let text = text.trim().to_owned();
    let now = tongban_platform::time::now_millis();
    let cal = ctx.calendar();
    let today = ctx.today();
    let received = if cal.is_workday(today) {
        today
    } else {
        cal.add_workdays(today, 1)
    };
    let no2 = no.to_owned();
    match action {
        "corrected" => {
            if req.state != "correcting" {
                return Err(PortalError::Conflict(
                    "the department has not asked for a correction".into(),
                ));
            }
            let n = text.chars().count();
            if n == 0 || n > 5_000 {
                return Err(invalid(vec![problem(
                    "description",
                    "text_too_long",
                    "1–5000 characters",
                )]));
            }
            let due = day(cal.add_workdays(received, LIMIT_DAYS));
            ctx.db
                .transact(move |c| -> Result<(), PortalError> {
                    let sealed = seal_text(&text)?;
                    if c.execute(
                        "UPDATE disclosure_requests SET state = 'received', description = $1, received_on = $2, due_on = $3,
                           updated_at = $4 WHERE request_no = $5 AND state = 'correcting'",
                        params![sealed, day(received), due.as_str(), now, no2.as_str()],
                    )? == 0
                    {
                        return Err(PortalError::Conflict("the request changed meanwhile: load it again".into()));
                    }
                    let id = c.query_one("SELECT id FROM disclosure_requests WHERE request_no = $1", params![no2.as_str()])?.get_i64("id")?;
                    event(c, id, now, "corrected", "applicant", "")?;
                    audit::append(c, &Entry::citizen(account, "disclosure.corrected", &no2, "ok"))?;
                    Ok(())
                })
                .await?;
        }
        "withdraw" => {
            if !matches!(req.state.as_str(), "received" | "correcting") {
                return Err(PortalError::Conflict(format!(
                    "the request is {}",
                    req.state
                )));
            }
            ctx.db
                .transact(move |c| -> Result<(), PortalError> {
                    if c.execute(
                        "UPDATE disclosure_requests SET state = 'withdrawn', due_on = NULL, updated_at = $1
                         WHERE request_no = $2 AND state IN ('received', 'correcting')",
                        params![now, no2.as_str()],
                    )? == 0
                    {
                        return Err(PortalError::Conflict("the request changed meanwhile: load it again".into()));
                    }
                    let id = c.query_one("SELECT id FROM disclosure_requests WHERE request_no = $1", params![no2.as_str()])?.get_i64("id")?;
                    event(c, id, now, "withdraw", "applicant", &text)?;
                    audit::append(c, &Entry::citizen(account, "disclosure.withdraw", &no2, "ok"))?;
                    Ok(())
                })
                .await?;
        }
        _ => {
            return Err(PortalError::NotFound(
                "unknown_action",
                format!("no step {action}: corrected or withdraw"),
            ))
        }
    }
    get_as(ctx, no, Who::Applicant(account)).await
}
