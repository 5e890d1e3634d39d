//! 数据核验: a clerk checks what an applicant declared against another department's data,
//! through the exchange (signed, granted, logged), instead of asking for a paper. The check
//! goes on the case's timeline with the provider, the service and whether the answer's
//! signature held; the answer itself goes only to the clerk.

use super::staff::{require_case_role, same_department};
use super::{case_not_found, staff_actor, transition};
use crate::error::CaseError;
use crate::rules::Action;
use crate::store;
use serde::Serialize;
use serde_json::{json, Value};
use tongban_exchange::{call, canonical, remote};
use tongban_platform::identity::{self, Role, Staff};
use tongban_platform::{audit, Ctx};

/// The purpose a check states unless the clerk gives another.
pub const DEFAULT_PURPOSE: &str = "办件核验";

#[derive(Debug, Serialize)]
pub struct CheckOutcome {
    /// What the timeline says.
    pub note: String,
    /// Whether the provider's signature over its answer held.
    pub verified: bool,
    /// The provider's answer (for the clerk; it is not stored with the case).
    pub answer: Value,
    /// The message log's entry.
    pub log_seq: i64,
}

/// Check case `case_no` against service `service` of department `provider`. Without a
/// `body`, the request is the applicant's ID number (`{"id_number": …}`).
pub async fn staff_check(
    ctx: &Ctx,
    staff: &Staff,
    case_no: &str,
    provider: &str,
    service: &str,
    purpose: Option<&str>,
    body: Option<Value>,
) -> Result<CheckOutcome, CaseError> {
    let source = audit::current_source();
    let denied = || audit::Entry::staff(staff, "case.check", case_no, "denied");
    if let Err(e) = require_case_role(staff) {
        audit::record(&ctx.db, denied()).await;
        return Err(e);
    }
    let (no, s, p, sv) = (
        case_no.to_owned(),
        staff.clone(),
        provider.to_owned(),
        service.to_owned(),
    );
    let found = ctx
        .db
        .view(move |c| {
            let rec = store::get(c, &no, false)?.ok_or_else(|| case_not_found(&no))?;
            same_department(&s, &rec)?;
            // Only an open case is checked (before the exchange is asked anything).
            crate::rules::next_status(rec.status, rec.resume_status, Action::Check)
                .map_err(CaseError::IllegalTransition)?;
            let applicant = identity::get_citizen(c, rec.applicant_id)?;
            let provider = identity::get_department(c, &p)?;
            let service = tongban_exchange::store::get(c, &p, &sv)?;
            Ok::<_, CaseError>((applicant, provider, service))
        })
        .await;
    let (applicant, provider_dept, service_def) = match found {
        Ok(f) => f,
        Err(e) => {
            if e.is_denial() {
                audit::record(&ctx.db, denied()).await;
            }
            return Err(e);
        }
    };
    let body = match body {
        Some(b) => b,
        None => json!({"id_number": applicant.map(|a| a.id_number).unwrap_or_default()}),
    };
    let purpose = purpose
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(DEFAULT_PURPOSE);
    let answer = remote::to(
        ctx,
        &staff.department.code,
        provider,
        service,
        purpose,
        case_no,
        body,
    )
    .await?;
    // The consumer checks the provider's signature itself: against this deployment's
    // published key, or a peer's pinned one.
    let verified = canonical::verify(
        &call::answer_form(&answer.message_id, &answer.request_digest, &answer.body),
        &answer.public_key,
        &answer.signature,
    );
    let found = match answer.body.get("found").and_then(Value::as_bool) {
        Some(true) => "，查有记录",
        Some(false) => "，查无记录",
        None => "",
    };
    let note = format!(
        "{} {}（{}）{found}",
        provider_dept.map_or_else(
            || match tongban_exchange::peers::split(provider) {
                // A peer's department: named by the peer and its code.
                Some((peer, dept)) => format!("{peer}（对端平台）{dept}"),
                None => provider.to_owned(),
            },
            |d| d.name
        ),
        service_def.map_or_else(|| service.to_owned(), |s| s.name),
        if verified {
            "已验签"
        } else {
            "验签未通过"
        },
    );
    let (no, s, n2) = (case_no.to_owned(), staff.clone(), note.clone());
    ctx.db
        .transact(move |c| {
            let role = [Role::Clerk, Role::Reviewer, Role::Approver]
                .into_iter()
                .find(|r| s.has(*r))
                .unwrap_or(Role::Clerk);
            let who = staff_actor(&s, role.as_str(), &source);
            transition(
                c,
                &no,
                Action::Check,
                &who,
                &n2,
                &|r| same_department(&s, r),
                &mut |_, _, _| Ok(()),
            )
        })
        .await?;
    Ok(CheckOutcome {
        note,
        verified,
        answer: answer.body,
        log_seq: answer.seq,
    })
}
