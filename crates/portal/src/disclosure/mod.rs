//! Disclosure on request (依申请公开): citizens and legal persons ask a department for
//! government information; the department answers within 20 working days, extendable once
//! by 20 (政府信息公开条例 Art. 33), counted on the working-day calendar; while the requester
//! corrects an unclear request the count stops, and starts again from the day the corrected
//! request arrives (Art. 30). Answers take the regulation's outcome types (Art. 36) with
//! reasons, the rows of the national annual report's table. Who may do what is here; the
//! HTTP faces are in [`routes`] and the annual report in [`report`].

pub mod pages;
pub mod report;
pub mod routes;
mod steps;

pub use steps::{act, applicant_act, Step, STAFF_ACTIONS};

use crate::error::{problem, PortalError, Problem};
use serde::{Deserialize, Serialize};
use tongban_platform::audit::{self, Entry};
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::vault::{open_text, seal_text};
use tongban_platform::{params, Ctx};

/// Working days to answer, and of the one extension.
pub const LIMIT_DAYS: u32 = 20;
pub const EXTENSION_DAYS: u32 = 20;

/// Kinds of legal person, as the annual report's columns (法人或其他组织).
pub const ORG_KINDS: [(&str, &str); 5] = [
    ("business", "商业企业"),
    ("research", "科研机构"),
    ("social", "社会公益组织"),
    ("legal", "法律服务机构"),
    ("other", "其他"),
];

/// Outcomes (Art. 36) and their reasons, as the annual report's rows.
/// An outcome: its code, its name, and its reasons (code, name).
pub type Outcome = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

pub const OUTCOMES: [Outcome; 6] = [
    (
        "public",
        "予以公开",
        &[
            ("", "予以公开"),
            ("already_public", "已主动公开，告知获取方式和途径"),
        ],
    ),
    ("partial", "部分公开", &[("", "部分公开")]),
    (
        "withheld",
        "不予公开",
        &[
            ("state_secret", "属于国家秘密"),
            ("law_forbids", "其他法律行政法规禁止公开"),
            ("security", "危及“三安全一稳定”"),
            ("third_party", "保护第三方合法权益"),
            ("internal", "属于三类内部事务信息"),
            ("process", "属于四类过程性信息"),
            ("enforcement", "属于行政执法案卷"),
            ("query", "属于行政查询事项"),
        ],
    ),
    (
        "unavailable",
        "无法提供",
        &[
            ("not_held", "本机关不掌握相关政府信息"),
            ("need_making", "没有现成信息需要另行制作"),
            ("unclear", "补正后申请内容仍不明确"),
        ],
    ),
    (
        "not_processed",
        "不予处理",
        &[
            ("petition", "信访举报投诉类申请"),
            ("repeat", "重复申请"),
            ("publication", "要求提供公开出版物"),
            ("excessive", "无正当理由大量反复申请"),
            ("confirm", "要求行政机关确认或重新出具已获取信息"),
        ],
    ),
    (
        "other",
        "其他处理",
        &[
            (
                "no_correction",
                "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            ),
            (
                "no_fee",
                "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            ),
            ("other", "其他"),
        ],
    ),
];

/// The name of an outcome and of its reason.
pub fn outcome_names(outcome: &str, reason: &str) -> Option<(&'static str, &'static str)> {
    let (_, name, reasons) = OUTCOMES.iter().find(|(k, _, _)| *k == outcome)?;
    let (_, r) = reasons.iter().find(|(k, _)| *k == reason)?;
    Some((name, r))
}

pub const DELIVERIES: [(&str, &str); 3] = [
    ("online", "网上获取"),
    ("post", "邮寄"),
    ("pickup", "当面领取"),
];

/// A request as the requester sends it.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub department: String,
    /// person (公民) or organization (法人或其他组织).
    pub applicant_kind: String,
    #[serde(default)]
    pub org_kind: String,
    /// The person's or the organization's name.
    pub applicant: String,
    /// An organization's 统一社会信用代码.
    #[serde(default)]
    pub credit_code: String,
    /// Phone, address or email to answer to.
    pub contact: String,
    /// The information asked for (名称、文号或者便于查询的其他特征性描述, Art. 29).
    pub description: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub delivery: String,
}

impl NewRequest {
    pub fn check(&mut self) -> Result<(), Vec<Problem>> {
        let mut bad = Vec::new();
        let mut f = |k: &str, code: &'static str, m: String| bad.push(problem(k, code, m));
        if !matches!(self.applicant_kind.as_str(), "person" | "organization") {
            f(
                "applicant_kind",
                "bad_option",
                "person (公民) or organization (法人或其他组织)".into(),
            );
        }
        if self.applicant_kind == "organization" {
            if !ORG_KINDS.iter().any(|(k, _)| *k == self.org_kind) {
                f(
                    "org_kind",
                    "bad_option",
                    format!("one of {}", ORG_KINDS.map(|x| x.0).join(", ")),
                );
            }
            match tongban_platform::ids::CreditCode::parse(self.credit_code.trim()) {
                Ok(c) => self.credit_code = c.as_str().to_owned(),
                Err(e) => f(
                    "credit_code",
                    "invalid_credit_code",
                    format!("统一社会信用代码: {e}"),
                ),
            }
        } else {
            self.org_kind.clear();
            self.credit_code.clear();
        }
        for (k, v, max) in [
            ("applicant", &mut self.applicant, 100usize),
            ("contact", &mut self.contact, 200),
            ("description", &mut self.description, 5_000),
            ("purpose", &mut self.purpose, 1_000),
        ] {
            *v = v.trim().to_owned();
            let n = v.chars().count();
            if k != "purpose" && n == 0 {
                f(k, "required", format!("1–{max} characters"));
            } else if n > max {
                f(k, "text_too_long", format!("at most {max} characters"));
            }
        }
        if self.delivery.is_empty() {
            self.delivery = "online".into();
        }
        if !DELIVERIES.iter().any(|(k, _)| *k == self.delivery) {
            f("delivery", "bad_option", "online, post or pickup".into());
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub at: String,
    pub action: String,
    pub actor: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub request_no: String,
    pub department: String,
    pub department_name: String,
    pub applicant_kind: String,
    pub org_kind: String,
    pub applicant: String,
    pub credit_code: Option<String>,
    pub contact: String,
    pub description: String,
    pub purpose: String,
    pub delivery: String,
    /// received, correcting, answered, withdrawn.
    pub state: String,
    pub received_on: String,
    pub due_on: Option<String>,
    /// Working days left (negative: overdue), while an answer is awaited.
    pub days_left: Option<i64>,
    pub extended: bool,
    pub correction_note: Option<String>,
    pub outcome: Option<String>,
    pub outcome_name: Option<String>,
    pub reason: Option<String>,
    pub reason_name: Option<String>,
    pub answer: Option<String>,
    pub answered_on: Option<String>,
    pub events: Vec<Event>,
}

pub(crate) fn invalid(fields: Vec<Problem>) -> PortalError {
    PortalError::invalid("invalid_request", fields)
}

pub(crate) fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(crate) fn event(
    c: &mut dyn Conn,
    id: i64,
    at: i64,
    action: &str,
    actor: &str,
    note: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO disclosure_events (request_id, at, action, actor, note) VALUES ($1, $2, $3, $4, $5)",
        params![id, at, action, actor, note],
    )?;
    Ok(())
}

/// Submit a request (a logged-in citizen, for themself or an organization they act for).
pub async fn submit(ctx: &Ctx, account: i64, mut r: NewRequest) -> Result<Request, PortalError> {
    r.check().map_err(invalid)?;
    let dept = r.department.clone();
    let known = ctx
        .db
        .read(move |c| tongban_platform::identity::get_department(c, &dept))
        .await?;
    if known.is_none() {
        return Err(invalid(vec![problem(
            "department",
            "bad_option",
            format!("no department {}", r.department),
        )]));
    }
    let cal = ctx.calendar();
    let today = ctx.today();
    // A request arriving on a rest day is received on the next working day.
    let received = if cal.is_workday(today) {
        today
    } else {
        cal.add_workdays(today, 1)
    };
    let due = cal.add_workdays(received, LIMIT_DAYS);
    let now = tongban_platform::time::now_millis();
    let year = day(today)[..4].to_owned();
    let no = ctx
        .db
        .transact(move |c| -> Result<String, PortalError> {
            // Numbered by the row's id: unique on every node without a counter to contend for.
            let pending = format!("pending-{now}-{account}");
            let credit = (!r.credit_code.is_empty()).then(|| seal_text(&r.credit_code)).transpose()?;
            let id = c
                .query_one(
                    "INSERT INTO disclosure_requests (request_no, department_code, account_id, applicant_kind, org_kind,
                       applicant, credit_code, contact, description, purpose, delivery, state, received_on, due_on,
                       extended, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'received', $12, $13, FALSE, $14, $14) RETURNING id",
                    params![
                        pending.as_str(), r.department.as_str(), account, r.applicant_kind.as_str(), r.org_kind.as_str(),
                        seal_text(&r.applicant)?, credit, seal_text(&r.contact)?, seal_text(&r.description)?,
                        seal_text(&r.purpose)?, r.delivery.as_str(), day(received), day(due), now
                    ],
                )?
                .get_i64("id")?;
            let no = format!("GK{year}{id:06}");
            c.execute(
                "UPDATE disclosure_requests SET request_no = $1 WHERE id = $2",
                params![no.as_str(), id],
            )?;
            event(c, id, now, "submit", "applicant", "")?;
            audit::append(c, &Entry::citizen(account, "disclosure.submit", &no, "ok").with_detail(r.department.clone()))?;
            Ok(no)
        })
        .await?;
    get_as(ctx, &no, Who::Applicant(account)).await
}

/// Who reads or acts.
#[derive(Clone, Copy)]
pub enum Who<'a> {
    Applicant(i64),
    Staff(&'a Staff),
}

const SELECT: &str = "SELECT r.*, d.name AS dname FROM disclosure_requests r
 LEFT JOIN departments d ON d.code = r.department_code";

fn from_row(
    r: &Row,
    cal: &tongban_platform::calendar::Calendar,
    today: chrono::NaiveDate,
) -> Result<(i64, i64, Request), DbError> {
    let outcome = r.get_opt_str("outcome")?;
    let reason = r.get_opt_str("reason")?;
    let names = outcome
        .as_deref()
        .and_then(|o| outcome_names(o, reason.as_deref().unwrap_or("")));
    let state = r.get_str("state")?;
    let due_on = r.get_opt_str("due_on")?;
    let days_left = due_on
        .as_deref()
        .and_then(parse_day)
        .filter(|_| state == "received")
        .map(|d| cal.days_left(today, d));
    let credit = r
        .get_opt_str("credit_code")?
        .map(|s| open_text(&s))
        .transpose()?;
    Ok((
        r.get_i64("id")?,
        r.get_i64("account_id")?,
        Request {
            request_no: r.get_str("request_no")?,
            department: r.get_str("department_code")?,
            department_name: r.get_opt_str("dname")?.unwrap_or_default(),
            applicant_kind: r.get_str("applicant_kind")?,
            org_kind: r.get_str("org_kind")?,
            applicant: open_text(&r.get_str("applicant")?)?,
            credit_code: credit,
            contact: open_text(&r.get_str("contact")?)?,
            description: open_text(&r.get_str("description")?)?,
            purpose: open_text(&r.get_str("purpose")?)?,
            delivery: r.get_str("delivery")?,
            state,
            received_on: r.get_str("received_on")?,
            due_on,
            days_left,
            extended: r.get_bool("extended")?,
            correction_note: r.get_opt_str("correction_note")?,
            outcome_name: names.map(|n| n.0.to_owned()),
            reason_name: names.map(|n| n.1.to_owned()),
            outcome,
            reason,
            answer: r.get_opt_str("answer")?,
            answered_on: r.get_opt_str("answered_on")?,
            events: Vec::new(),
        },
    ))
}

pub(crate) fn may_handle(staff: &Staff, department: &str) -> bool {
    staff.has(Role::SiteReviewer) && staff.department.code == department
}

/// One request with its requester's account, whoever asks (not audited: the callers are).
pub(crate) async fn fetch(ctx: &Ctx, no: &str) -> Result<Option<(i64, Request)>, PortalError> {
    let (cal, today, no2, tz) = (ctx.calendar(), ctx.today(), no.to_owned(), ctx.tz);
    let found = ctx
        .db
        .read(move |c| {
            let Some(r) = c.query_opt(&format!("{SELECT} WHERE r.request_no = $1"), params![no2.as_str()])? else {
                return Ok(None);
            };
            let (id, account, mut req) = from_row(&r, &cal, today)?;
            let rows = c.query(
                "SELECT at, action, actor, note FROM disclosure_events WHERE request_id = $1 ORDER BY id",
                params![id],
            )?;
            req.events = rows
                .iter()
                .map(|e| {
                    Ok(Event {
                        at: tongban_platform::time::rfc3339(e.get_i64("at")?, tz),
                        action: e.get_str("action")?,
                        actor: e.get_str("actor")?,
                        note: e.get_str("note")?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()?;
            Ok(Some((account, req)))
        })
        .await?;
    Ok(found)
}

pub(crate) fn missing(no: &str) -> PortalError {
    PortalError::NotFound("no_such_request", format!("no disclosure request {no}"))
}

/// One request, for its requester or the department's 政务公开 staff (a staff read of the
/// requester's data is audited).
pub async fn get_as(ctx: &Ctx, no: &str, who: Who<'_>) -> Result<Request, PortalError> {
    let found = fetch(ctx, no).await?;
    let missing = || missing(no);
    let (account, req) = found.ok_or_else(missing)?;
    match who {
        Who::Applicant(a) if a == account => Ok(req),
        Who::Applicant(_) => Err(missing()),
        Who::Staff(s) if may_handle(s, &req.department) => {
            audit::record(&ctx.db, Entry::staff(s, "disclosure.read", no, "ok")).await;
            Ok(req)
        }
        Who::Staff(s) => {
            audit::record(&ctx.db, Entry::staff(s, "disclosure.read", no, "denied")).await;
            Err(PortalError::Forbidden(
                "only the department's 政务公开 reviewers (site_reviewer) read its requests".into(),
            ))
        }
    }
}

/// Requests, newest first: a requester's own, or a department's (optionally in one state).
pub async fn list(
    ctx: &Ctx,
    who: Who<'_>,
    state: Option<String>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Request>, i64), PortalError> {
    let (col, val): (&str, tongban_platform::db::Value) = match who {
        Who::Applicant(a) => ("r.account_id", a.into()),
        Who::Staff(s) => {
            if !s.has(Role::SiteReviewer) {
                return Err(PortalError::Forbidden(
                    "only 政务公开 reviewers (site_reviewer) list disclosure requests".into(),
                ));
            }
            ("r.department_code", s.department.code.as_str().into())
        }
    };
    let (cal, today) = (ctx.calendar(), ctx.today());
    Ok(ctx
        .db
        .read(move |c| {
            let mut p = vec![val];
            let mut w = format!("{col} = $1");
            if let Some(s) = state {
                p.push(s.into());
                w.push_str(" AND r.state = $2");
            }
            let total = c
                .query_one(
                    &format!("SELECT COUNT(*) AS n FROM disclosure_requests r WHERE {w}"),
                    &p,
                )?
                .get_i64("n")?;
            p.push(limit.into());
            p.push(offset.into());
            let rows = c.query(
                &format!(
                    "{SELECT} WHERE {w} ORDER BY r.id DESC LIMIT ${} OFFSET ${}",
                    p.len() - 1,
                    p.len()
                ),
                &p,
            )?;
            let items = rows
                .iter()
                .map(|r| from_row(r, &cal, today).map(|x| x.2))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, total))
        })
        .await?)
}
