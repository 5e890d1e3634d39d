//! The console page of insight: warnings to acknowledge and close, and the hot topics of a
//! period for the city or a district.

use crate::topics::{self, TopicQuery};
use crate::warnings::{self, WarningAction, WarningQuery};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use std::collections::HashMap;
use tongban_platform::Ctx;
use tongban_web::StaffPage;

pub const CONSOLE_PATHS: [&str; 4] = [
    "/console/insight",
    "/console/insight/warnings/{id}",
    "/console/evaluation",
    "/console/evaluation.xlsx",
];

pub fn console_router() -> Router<Ctx> {
    Router::new()
        .route(CONSOLE_PATHS[0], get(page))
        .route(CONSOLE_PATHS[1], post(act))
        .route(CONSOLE_PATHS[2], get(evaluation))
        .route(CONSOLE_PATHS[3], get(evaluation_xlsx))
}

async fn page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let warnings = match warnings::list(
        &ctx,
        &staff,
        WarningQuery {
            from: get("from"),
            to: get("to"),
            status: None,
        },
    )
    .await
    {
        Ok(w) => w,
        Err(e) => return page.error(&e),
    };
    let tq = TopicQuery {
        from: get("from"),
        to: get("to"),
        district: get("district"),
        department: None,
    };
    let topics = match topics::topics(&ctx, tq).await {
        Ok(t) => t,
        Err(e) => return page.error(&e),
    };
    let flash = q.contains_key("done").then(|| page.t("insight.done"));
    page.ok(
        "console_insight.html",
        context! { warnings, topics, flash, from => get("from"), to => get("to"), district => get("district"),
            districts => tongban_hotline::categories::DISTRICTS },
    )
}

async fn act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let a = WarningAction {
        action: f.get("action").cloned().unwrap_or_default(),
        note: f.get("note").cloned(),
    };
    match warnings::act(&ctx, &staff, id, a).await {
        Ok(()) => Redirect::to("/console/insight?done=1").into_response(),
        Err(e) => page.error(&e),
    }
}

fn may_evaluate(s: &tongban_platform::identity::Staff) -> Result<(), tongban_platform::ApiError> {
    use tongban_platform::identity::Role;
    if s.has(Role::Supervisor) || s.has(Role::Admin) || s.has(Role::Auditor) {
        Ok(())
    } else {
        Err(tongban_platform::ApiError::forbidden(
            "the evaluation is for supervisors, administrators and auditors",
        ))
    }
}

async fn evaluation(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = may_evaluate(&staff) {
        return page.error(&e);
    }
    match crate::evaluation::report(&ctx, q.get("month").map(String::as_str)).await {
        Ok(r) => page.ok("console_evaluation.html", context! { r }),
        Err(e) => page.error(&e),
    }
}

async fn evaluation_xlsx(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = may_evaluate(&staff) {
        return page.error(&e);
    }
    let r = match crate::evaluation::report(&ctx, q.get("month").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => return page.error(&e),
    };
    match crate::evaluation::workbook(&r) {
        Ok(bytes) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"evaluation-{}.xlsx\"", r.month),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "evaluation workbook failed");
            page.error(&tongban_platform::ApiError::internal())
        }
    }
}
