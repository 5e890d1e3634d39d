//! What a case looks like to the outside: the JSON shapes for citizens and staff, built from
//! stored records and the rules (deadline flags, allowed actions).

use crate::rules::{clock, next_status, Action, Status, STAFF_ACTIONS};
use crate::store::{CaseRecord, Event, MaterialRecord};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use tongban_catalog::Matter;
use tongban_platform::calendar::Calendar;
use tongban_platform::identity::{Citizen, Department, Staff};
use tongban_platform::time::rfc3339;

#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    pub action: String,
    pub action_label: String,
    pub from: Option<String>,
    pub to: String,
    pub role: String,
    pub department: Option<String>,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct MaterialView {
    pub key: String,
    pub name: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sm3: String,
    pub uploaded_at: String,
    /// A later file of the same material replaced this one (a supplement, say).
    pub replaced: bool,
    /// How the console may show it inline: `pdf`, `image`, or not at all.
    pub preview: Option<&'static str>,
    /// The e-certificate that stood for it (免提交): its number, checked valid when the case
    /// was submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The message id of the signed data-sharing answer that stood for it (免提交).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_message: Option<String>,
}

/// How a file of this type and name can be shown inline (the preview route checks the
/// content itself before it shows anything).
fn preview_kind(content_type: &str, filename: &str) -> Option<&'static str> {
    let ext = filename
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match (content_type, ext.as_str()) {
        ("application/pdf", _) | (_, "pdf") => Some("pdf"),
        ("image/png" | "image/jpeg" | "image/gif", _) | (_, "png" | "jpg" | "jpeg" | "gif") => {
            Some("image")
        }
        _ => None,
    }
}

/// An item a supplement request names: a field of the form or a material.
#[derive(Debug, Serialize)]
pub struct AskedItem {
    pub key: String,
    /// `field` or `material`.
    pub kind: &'static str,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Serialize)]
pub struct CaseView {
    pub case_no: String,
    pub matter_code: String,
    pub matter_name: String,
    pub department: Department,
    pub status: Status,
    pub status_label: &'static str,
    pub submitted_at: String,
    pub accepted_on: Option<String>,
    pub deadline: Option<String>,
    pub promised_days: u32,
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub due_soon: bool,
    /// What the department asked the applicant to fix, while `needs_supplement`.
    pub supplement_request: Option<String>,
    /// The items the request names (一次性告知), while `needs_supplement`; empty when it
    /// names none (then any field may be corrected).
    pub supplement_items: Vec<AskedItem>,
    pub form: Map<String, Value>,
    pub materials: Vec<MaterialView>,
    pub timeline: Vec<TimelineEntry>,
    /// The whole step bar, steps to come included with the dates they are due by.
    pub steps: Vec<crate::steps::Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<Applicant>,
    /// Actions the viewer may take now.
    pub allowed_actions: Vec<&'static str>,
    /// Whether ID numbers and phones are shown masked.
    pub masked: bool,
}

#[derive(Debug, Serialize)]
pub struct CaseSummary {
    pub case_no: String,
    pub matter_code: String,
    pub matter_name: String,
    pub status: Status,
    pub status_label: &'static str,
    pub submitted_at: String,
    pub deadline: Option<String>,
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub due_soon: bool,
    /// A submitted case not yet accepted: the last working day to accept or refuse it
    /// (受理时限, the matter's limit counted from the day it arrived), working days left
    /// (negative when past), and whether it is past.
    pub accept_by: Option<String>,
    pub accept_days_left: Option<i64>,
    pub accept_overdue: bool,
}

/// The last working day to accept a case that arrived on `arrived`, with the matter's limit
/// of `days` working days (0: the day it arrives, or the next working day if that is not
/// one).
pub fn accept_by(cal: &Calendar, arrived: NaiveDate, days: u32) -> NaiveDate {
    if days == 0 && cal.is_workday(arrived) {
        arrived
    } else {
        cal.add_workdays(arrived, days.max(1))
    }
}

pub fn parse_date(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

pub struct Env<'a> {
    pub cal: &'a Calendar,
    pub tz: chrono_tz::Tz,
    pub today: NaiveDate,
}

pub fn summary(rec: &CaseRecord, matter_name: String, accept_days: u32, env: &Env) -> CaseSummary {
    let (days_left, overdue, due_soon) =
        clock(env.cal, rec.status, parse_date(&rec.deadline), env.today);
    let accept = (rec.status == Status::Submitted).then(|| {
        let arrived = tongban_platform::time::date_of(rec.submitted_at, env.tz);
        accept_by(env.cal, arrived, accept_days)
    });
    CaseSummary {
        case_no: rec.case_no.clone(),
        matter_code: rec.matter_code.clone(),
        matter_name,
        status: rec.status,
        status_label: rec.status.label_zh(),
        submitted_at: rfc3339(rec.submitted_at, env.tz),
        deadline: rec.deadline.clone(),
        days_left,
        overdue,
        due_soon,
        accept_by: accept.map(|d| d.format("%Y-%m-%d").to_string()),
        accept_days_left: accept.map(|d| env.cal.days_left(env.today, d)),
        accept_overdue: accept.is_some_and(|d| env.today > d),
    }
}

pub enum Viewer<'a> {
    Applicant,
    /// A staff member; `true` when they may and did ask to see personal data unmasked.
    Staff(&'a Staff, &'a Citizen, bool),
}

/// Mask the ID numbers and phone numbers of a form, by the matter's field types.
fn mask_form(form: Map<String, Value>, matter: &Matter) -> Map<String, Value> {
    form.into_iter()
        .map(|(k, v)| {
            let kind = matter
                .fields
                .iter()
                .find(|f| f.key == k)
                .map(|f| f.kind.as_str());
            let masked = match (kind, &v) {
                (Some("id_number"), Value::String(s)) => {
                    Value::String(tongban_platform::mask::id_number(s))
                }
                (Some("phone"), Value::String(s)) => {
                    Value::String(tongban_platform::mask::phone(s))
                }
                _ => v,
            };
            (k, masked)
        })
        .collect()
}

pub fn full(
    rec: CaseRecord,
    matter: &Matter,
    events: Vec<Event>,
    mats: Vec<MaterialRecord>,
    viewer: Viewer,
    env: &Env,
) -> CaseView {
    let (days_left, overdue, due_soon) =
        clock(env.cal, rec.status, parse_date(&rec.deadline), env.today);
    let allowed_actions: Vec<&'static str> = match &viewer {
        Viewer::Applicant => [Action::Supplement, Action::Withdraw]
            .into_iter()
            .filter(|a| next_status(rec.status, rec.resume_status, *a).is_ok())
            .map(Action::as_str)
            .collect(),
        Viewer::Staff(staff, _, _) => STAFF_ACTIONS
            .into_iter()
            .filter(|a| a.role().is_some_and(|r| staff.has(r)))
            .filter(|a| next_status(rec.status, rec.resume_status, *a).is_ok())
            .map(Action::as_str)
            .collect(),
    };
    let unmasked = matches!(viewer, Viewer::Staff(_, _, true));
    let steps = crate::steps::steps(
        &rec,
        &events,
        matter.accept_days,
        matter.promised_days,
        env.cal,
        env.tz,
    );
    let applicant = match viewer {
        Viewer::Staff(_, c, true) => Some(Applicant {
            name: c.name.clone(),
            id_number: c.id_number.clone(),
            phone: c.phone.clone(),
        }),
        Viewer::Staff(_, c, false) => Some(Applicant {
            name: c.name.clone(),
            id_number: tongban_platform::mask::id_number(&c.id_number),
            phone: tongban_platform::mask::phone(&c.phone),
        }),
        Viewer::Applicant => None,
    };
    let material_name = |key: &str| {
        matter
            .materials
            .iter()
            .find(|m| m.key == key)
            .map(|m| m.name.clone())
            .or_else(|| {
                matter
                    .fields
                    .iter()
                    .find(|f| f.key == key)
                    .map(|f| f.label_zh.clone())
            })
            .unwrap_or_else(|| key.to_owned())
    };
    let supplement_items = if rec.status == Status::NeedsSupplement {
        rec.supplement_items
            .iter()
            .map(|k| AskedItem {
                kind: if matter.fields.iter().any(|f| &f.key == k) {
                    "field"
                } else {
                    "material"
                },
                label: material_name(k),
                key: k.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    // Of several files of one material, all but the newest were replaced.
    let newest: std::collections::HashMap<&str, usize> = mats
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key.as_str(), i))
        .collect();
    let replaced: Vec<bool> = mats
        .iter()
        .enumerate()
        .map(|(i, m)| newest.get(m.key.as_str()) != Some(&i))
        .collect();
    CaseView {
        supplement_items,
        case_no: rec.case_no,
        matter_code: rec.matter_code,
        matter_name: matter.name.clone(),
        department: matter.department.clone(),
        status: rec.status,
        status_label: rec.status.label_zh(),
        submitted_at: rfc3339(rec.submitted_at, env.tz),
        accepted_on: rec.accepted_on,
        deadline: rec.deadline,
        promised_days: matter.promised_days,
        days_left,
        overdue,
        due_soon,
        supplement_request: if rec.status == Status::NeedsSupplement {
            rec.supplement_note
        } else {
            None
        },
        form: if unmasked {
            rec.form
        } else {
            mask_form(rec.form, matter)
        },
        masked: !unmasked,
        steps,
        materials: mats
            .into_iter()
            .zip(replaced)
            .map(|(m, replaced)| MaterialView {
                replaced,
                preview: preview_kind(&m.content_type, &m.filename),
                name: material_name(&m.key),
                key: m.key,
                filename: m.filename,
                content_type: m.content_type,
                size: m.size,
                sm3: m.sha,
                uploaded_at: rfc3339(m.uploaded_at, env.tz),
                certificate: m.certificate,
                exchange_message: m.exchange_message,
            })
            .collect(),
        timeline: events
            .into_iter()
            .map(|e| TimelineEntry {
                at: rfc3339(e.at, env.tz),
                action_label: action_label(&e.action),
                action: e.action,
                from: e.from_status,
                to: e.to_status,
                role: e.role,
                department: e.department_code,
                actor: if e.actor_kind == "citizen" {
                    "申请人".to_owned()
                } else {
                    e.actor_name
                },
                note: e.note,
            })
            .collect(),
        applicant,
        allowed_actions,
    }
}

fn action_label(a: &str) -> String {
    crate::rules::ALL_ACTIONS
        .into_iter()
        .find(|x| x.as_str() == a)
        .map_or_else(|| a.to_owned(), |x| x.label_zh().to_owned())
}
