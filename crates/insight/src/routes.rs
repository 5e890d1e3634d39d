//! Staff routes of insight on the internal listener: topics and warnings.

use crate::topics::{self, Topic, TopicQuery};
use crate::warnings::{self, WarningAction, WarningQuery};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tongban_platform::http::{JsonBody, QueryParams, StaffAuth};
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 6] = [
    "/api/v1/staff/dashboards/{board}",
    "/api/v1/staff/evaluation",
    "/api/v1/staff/topics",
    "/api/v1/staff/topics/messages",
    "/api/v1/staff/warnings",
    "/api/v1/staff/warnings/{id}/actions",
];

pub fn internal_router() -> Router<Ctx> {
    let [db, ev, t, tm, w, a] = INTERNAL_PATHS;
    Router::new()
        .route(db, get(dashboard))
        .route(ev, get(evaluation))
        .route(t, get(list_topics))
        .route(tm, get(topic_messages))
        .route(w, get(list_warnings))
        .route(a, post(act))
}

#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

async fn list_topics(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    QueryParams(q): QueryParams<TopicQuery>,
) -> Result<Json<Items<Topic>>, ApiError> {
    if !warnings::may_see(&who.staff) {
        return Err(ApiError::forbidden("topics are for the hotline's staff"));
    }
    Ok(Json(Items {
        items: topics::topics(&ctx, q).await?,
    }))
}

/// Every message of a topic, paged (a topic itself shows its first twenty).
async fn topic_messages(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    p: tongban_platform::http::Paging,
    QueryParams(q): QueryParams<topics::MessagesQuery>,
) -> Result<Json<tongban_platform::http::Paged<topics::Message>>, ApiError> {
    if !warnings::may_see(&who.staff) {
        return Err(ApiError::forbidden("topics are for the hotline's staff"));
    }
    Ok(Json(topics::messages(&ctx, q, p).await?))
}

async fn list_warnings(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    _p: tongban_platform::http::Paging,
    QueryParams(q): QueryParams<WarningQuery>,
) -> Result<Json<warnings::WarningPage>, ApiError> {
    Ok(Json(warnings::list(&ctx, &who.staff, q).await?))
}

async fn act(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(id): Path<String>,
    JsonBody(a): JsonBody<WarningAction>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("warning_not_found", format!("no warning {id:?}")))?;
    warnings::act(&ctx, &who.staff, id, a).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MonthQ {
    month: Option<String>,
}

async fn evaluation(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    QueryParams(q): QueryParams<MonthQ>,
) -> Result<Json<crate::evaluation::Report>, ApiError> {
    crate::dashboards::may_see(&who.staff)?;
    Ok(Json(
        crate::evaluation::report(&ctx, q.month.as_deref()).await?,
    ))
}

async fn dashboard(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(board): Path<String>,
    headers: axum::http::HeaderMap,
    QueryParams(f): QueryParams<crate::dashboards::Filter>,
) -> Result<Json<crate::dashboards::Board>, ApiError> {
    crate::dashboards::may_see(&who.staff)?;
    let en = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| tongban_web::i18n::Lang::from_accept(v) == tongban_web::i18n::Lang::En);
    Ok(Json(crate::dashboards::board(&ctx, &board, f, en).await?))
}
