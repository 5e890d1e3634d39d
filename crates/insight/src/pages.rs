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

pub const CONSOLE_PATHS: [&str; 2] = ["/console/insight", "/console/insight/warnings/{id}"];

pub fn console_router() -> Router<Ctx> {
    Router::new()
        .route(CONSOLE_PATHS[0], get(page))
        .route(CONSOLE_PATHS[1], post(act))
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
