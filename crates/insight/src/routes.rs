//! Staff routes of insight on the internal listener: topics and warnings.

use crate::topics::{self, Topic, TopicQuery};
use crate::warnings::{self, Warning, WarningAction, WarningQuery};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tongban_platform::http::{JsonBody, QueryParams, StaffAuth};
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 3] = [
    "/api/v1/staff/topics",
    "/api/v1/staff/warnings",
    "/api/v1/staff/warnings/{id}/actions",
];

pub fn internal_router() -> Router<Ctx> {
    let [t, w, a] = INTERNAL_PATHS;
    Router::new()
        .route(t, get(list_topics))
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

async fn list_warnings(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    QueryParams(q): QueryParams<WarningQuery>,
) -> Result<Json<Items<Warning>>, ApiError> {
    Ok(Json(Items {
        items: warnings::list(&ctx, &who.staff, q).await?,
    }))
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
