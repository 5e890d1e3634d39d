//! The console's 数据核验 form: a clerk picks a service the department holds a grant for,
//! and the case page comes back with the signed answer and the new timeline line.

use super::{console_case_with, ConsoleNotice};
use crate::service;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{SafeForm, StaffPage};

const EXCHANGE_REFUSALS: [&str; 3] = ["no_grant", "grant_expired", "purpose_not_granted"];

#[derive(serde::Deserialize)]
pub(super) struct CheckForm {
    /// `provider/service/purpose`, as the page offers them.
    target: String,
}

/// `POST /console/cases/{case_no}/checks`.
pub(super) async fn check(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(case_no): Path<String>,
    SafeForm(f): SafeForm<CheckForm>,
) -> Response {
    let mut parts = f.target.splitn(3, '/');
    let (provider, service_code, purpose) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let done = service::staff_check(
        &ctx,
        &staff,
        &case_no,
        provider,
        service_code,
        Some(purpose),
        None,
    )
    .await
    .map_err(ApiError::from);
    let n = match done {
        Ok(outcome) => ConsoleNotice {
            status: StatusCode::OK,
            error: None,
            flash: Some(page.t("console.check_done")),
            purpose: None,
            check: Some(outcome),
        },
        // Refusals of the page itself (no such case, not the caller's); the exchange's own
        // refusals are shown on the case.
        Err(e)
            if (e.status == StatusCode::NOT_FOUND && e.code != "service_not_found")
                || (e.status == StatusCode::FORBIDDEN
                    && !EXCHANGE_REFUSALS.contains(&e.code.as_str())) =>
        {
            return page.error(&e)
        }
        Err(e) => ConsoleNotice {
            status: e.status,
            error: Some(page.error_text(&e)),
            flash: None,
            purpose: None,
            check: None,
        },
    };
    console_case_with(&ctx, &page, &staff, &case_no, n).await
}
