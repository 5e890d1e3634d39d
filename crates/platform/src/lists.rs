//! The shared ground's lists for staff on the internal listener: the audit log (auditors)
//! and the staff accounts (department administrators, or auditors for every department).
//! Both page through the one paging extractor.

use crate::audit;
use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::http::{Paged, Paging, StaffAuth};
use crate::identity::{self, Role, Staff};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;

pub const INTERNAL_PATHS: [&str; 2] = ["/api/v1/staff/audit", "/api/v1/staff/accounts"];

pub fn internal_router() -> Router<Ctx> {
    let [audit_path, staff_path] = INTERNAL_PATHS;
    Router::new()
        .route(audit_path, get(audit_log))
        .route(staff_path, get(staff_accounts))
}

fn text(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The audit-log search of the console page, as JSON: `actor`, `action` (a prefix),
/// `object`, `from` and `to` (days, inclusive), newest first. Every read is itself recorded.
pub fn audit_search(
    q: &HashMap<String, String>,
    p: Paging,
    tz: crate::time::Tz,
) -> Result<audit::Search, ApiError> {
    let day = |k: &str| -> Result<Option<i64>, ApiError> {
        match text(q, k) {
            None => Ok(None),
            Some(d) => crate::time::day_start(&d, tz).map(Some).ok_or_else(|| {
                ApiError::bad_request("bad_date", format!("{k}: use a date like 2026-01-31"))
            }),
        }
    };
    Ok(audit::Search {
        actor: text(q, "actor"),
        action: text(q, "action"),
        object: text(q, "object"),
        from: day("from")?,
        to: day("to")?.map(|t| t + 86_400_000),
        limit: p.page_size,
        offset: p.offset(),
    })
}

async fn audit_log(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    p: Paging,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Paged<audit::Stored>>, ApiError> {
    if !who.staff.has(Role::Auditor) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(&who.staff, "audit.read", "", "denied"),
        )
        .await;
        return Err(ApiError::forbidden(
            "reading the audit log needs the auditor role",
        ));
    }
    let search = audit_search(&q, p, ctx.tz)?;
    audit::settle(&ctx.db).await?;
    let (items, total) = ctx.db.read(move |c| audit::search(c, &search)).await?;
    audit::record(
        &ctx.db,
        audit::Entry::staff(&who.staff, "audit.read", "", "ok"),
    )
    .await;
    Ok(Json(Paged::new(items, total, p)))
}

/// Staff accounts: an administrator sees its department's, an auditor every department's
/// (or one, with `department`).
async fn staff_accounts(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    p: Paging,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Paged<Staff>>, ApiError> {
    let asked = text(&q, "department");
    let department = if who.staff.has(Role::Auditor) {
        asked
    } else if who.staff.has(Role::Admin) {
        let own = who.staff.department.code.clone();
        if asked.as_ref().is_some_and(|d| *d != own) {
            return Err(ApiError::forbidden(
                "an administrator lists the staff of its own department",
            ));
        }
        Some(own)
    } else {
        return Err(ApiError::forbidden(
            "listing staff accounts needs the admin or auditor role",
        ));
    };
    let (items, total) = ctx
        .db
        .read(move |c| identity::list_staff(c, department.as_deref(), p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}
