//! The whole step bar of a case, as the applicant sees it: 提交, 受理, 审查, 办结, each done
//! (with its date), under way, still to come (with the date it is expected by, where the
//! rules give one) or not reached (the case ended before it).

use crate::rules::Status;
use crate::store::{CaseRecord, Event};
use crate::view::{accept_by, parse_date};
use chrono::NaiveDate;
use serde::Serialize;
use tongban_platform::calendar::Calendar;
use tongban_platform::time::{date_of, Tz};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `submit`, `accept`, `review` or `decide` (labels in the i18n catalogues under `step.`).
    pub key: &'static str,
    /// `done`, `current`, `todo` or `ended`.
    pub state: &'static str,
    /// When it was done, or (with `expected`) the day it is due by.
    pub date: Option<String>,
    pub expected: bool,
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The steps of `rec` with its timeline `events`, for a matter that accepts within
/// `accept_days` and decides within `promised_days` working days of acceptance.
pub fn steps(
    rec: &CaseRecord,
    events: &[Event],
    accept_days: u32,
    promised_days: u32,
    cal: &Calendar,
    tz: Tz,
) -> Vec<Step> {
    let done_on = |actions: &[&str]| {
        events
            .iter()
            .rev()
            .find(|e| actions.contains(&e.action.as_str()))
            .map(|e| ymd(date_of(e.at, tz)))
    };
    let step = |key, state, date: Option<String>, expected| Step {
        key,
        state,
        date,
        expected,
    };
    let arrived = date_of(rec.submitted_at, tz);
    let ended = matches!(rec.status, Status::NotAccepted | Status::Withdrawn);
    let decided = done_on(&["approve", "reject"]);
    let accepted = done_on(&["accept"]);
    let reviewed = done_on(&["review"]).or_else(|| decided.clone());

    let accept = match (&accepted, rec.status) {
        (Some(d), _) => step("accept", "done", Some(d.clone()), false),
        (None, Status::NotAccepted) => step("accept", "ended", done_on(&["not_accept"]), false),
        (None, _) if ended => step("accept", "ended", None, false),
        (None, _) => step(
            "accept",
            "current",
            Some(ymd(accept_by(cal, arrived, accept_days))),
            true,
        ),
    };
    // Decided by the deadline once accepted; before that, the promised days after the day
    // it is to be accepted by.
    let due = parse_date(&rec.deadline).or_else(|| {
        (accepted.is_none() && !ended)
            .then(|| cal.add_workdays(accept_by(cal, arrived, accept_days), promised_days))
    });
    let under_way = accepted.is_some() && decided.is_none() && !ended;
    let review = match &reviewed {
        Some(d) => step("review", "done", Some(d.clone()), false),
        None if ended => step("review", "ended", None, false),
        None if under_way => step("review", "current", None, false),
        None => step("review", "todo", None, false),
    };
    let decide = match &decided {
        Some(d) => step("decide", "done", Some(d.clone()), false),
        None if ended => step("decide", "ended", None, false),
        None => step(
            "decide",
            if under_way && reviewed.is_some() {
                "current"
            } else {
                "todo"
            },
            due.map(ymd),
            true,
        ),
    };
    vec![
        step("submit", "done", Some(ymd(arrived)), false),
        accept,
        review,
        decide,
    ]
}
