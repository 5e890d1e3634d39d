//! The publishers' own API on the internal listener: their API tokens (made, listed,
//! revoked; a token is shown once, when made) and the requests for datasets they answer.

use crate::error::OdError;
use crate::{requests, tokens};
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::audit::{self, Entry};
use tongban_platform::http::{JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 4] = [
    "/api/v1/staff/opendata/tokens",
    "/api/v1/staff/opendata/tokens/{id}",
    "/api/v1/staff/opendata/requests",
    "/api/v1/staff/opendata/requests/{id}",
];

pub fn internal_router() -> Router<Ctx> {
    Router::new()
        .route(INTERNAL_PATHS[0], get(list).post(create))
        .route(INTERNAL_PATHS[1], get(one).delete(revoke))
        .route(INTERNAL_PATHS[2], get(requests_list))
        .route(INTERNAL_PATHS[3], axum::routing::post(answer))
}

/// A dataset request's refusal as the API says it: fields to fix by name.
pub fn request_error(e: OdError) -> ApiError {
    match e {
        OdError::NotFound(m) => ApiError::not_found("no_such_dataset_request", m),
        OdError::Forbidden(m) => ApiError::forbidden(m),
        OdError::Invalid(p) => {
            let fields: Vec<Value> = p
                .iter()
                .flat_map(|(f, list)| {
                    list.iter()
                        .map(move |m| json!({"field": f, "code": "invalid", "message": m}))
                })
                .collect();
            ApiError::unprocessable("invalid_dataset_request", OdError::Invalid(p).to_string())
                .with_fields(fields.into())
        }
        OdError::Db(d) => d.into(),
        other => ApiError::bad_request("invalid_dataset_request", other.to_string()),
    }
}

/// `GET /api/v1/staff/opendata/requests?status=&page=`: requests for datasets, newest first,
/// with the askers' contacts (publishers).
async fn requests_list(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<requests::Request>>, ApiError> {
    publisher(&ctx, &staff, "opendata.requests").await?;
    let status = q
        .get("status")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !requests::STATUSES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(
                "invalid_dataset_request",
                format!("status: one of {}", requests::STATUSES.join(", ")),
            ));
        }
    }
    let (limit, offset) = (p.page_size, p.offset());
    let (items, total) = ctx
        .db
        .read(move |c| requests::list(c, status.as_deref(), limit, offset, true))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: String,
    #[serde(default)]
    reply: String,
}

/// `POST /api/v1/staff/opendata/requests/{id}` with `{"status", "reply"}`: answer a request
/// (a publisher of the department asked, or any when none was); audited.
async fn answer(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
    JsonBody(a): JsonBody<Answer>,
) -> Result<Json<requests::Request>, ApiError> {
    publisher(&ctx, &staff, "opendata.request").await?;
    let now = tongban_platform::time::now_millis();
    let (s2, entry) = (
        staff.clone(),
        Entry::staff(&staff, "opendata.request", &id.to_string(), "ok"),
    );
    let r = ctx
        .db
        .transact(move |c| {
            let r = requests::answer(c, &s2, id, &a.status, &a.reply, now)?;
            audit::append(c, &entry)?;
            Ok::<_, OdError>(r)
        })
        .await;
    match r {
        Ok(r) => Ok(Json(r)),
        Err(OdError::Forbidden(m)) => {
            audit::record(
                &ctx.db,
                Entry::staff(&staff, "opendata.request", &id.to_string(), "denied"),
            )
            .await;
            Err(ApiError::forbidden(m))
        }
        Err(e) => Err(request_error(e)),
    }
}

async fn publisher(ctx: &Ctx, staff: &Staff, action: &str) -> Result<(), ApiError> {
    if staff.has(Role::DataPublisher) {
        return Ok(());
    }
    audit::record(&ctx.db, Entry::staff(staff, action, "", "denied")).await;
    Err(ApiError::forbidden(
        "only data publishers (data_publisher) hold open data API tokens",
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    #[serde(default = "default_days")]
    days: i64,
}

fn default_days() -> i64 {
    90
}

/// `POST /api/v1/staff/opendata/tokens` with `{"name", "days"}`: a new token, shown once.
async fn create(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(t): JsonBody<NewToken>,
) -> Result<Json<Value>, ApiError> {
    publisher(&ctx, &staff, "opendata.token").await?;
    let name = t.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "bad_token_name",
            "name the token (at most 100 characters): what uses it",
        ));
    }
    if !(1..=tokens::MAX_DAYS).contains(&t.days) {
        return Err(ApiError::unprocessable(
            "bad_token_days",
            format!("days: from 1 to {}", tokens::MAX_DAYS),
        ));
    }
    let now = tongban_platform::time::now_millis();
    let (sid, days) = (staff.id, t.days);
    let entry = Entry::staff(&staff, "opendata.token", &name, "ok");
    let (id, token) = ctx
        .db
        .write(move |c| {
            let made = tokens::create(c, sid, &name, days, now)?;
            audit::append(c, &entry)?;
            Ok(made)
        })
        .await?;
    Ok(Json(
        json!({ "id": id, "token": token, "expires_at": now + days * 86_400_000 }),
    ))
}

/// `GET /api/v1/staff/opendata/tokens`: the caller's tokens (never the tokens themselves).
async fn list(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
) -> Result<Json<Value>, ApiError> {
    publisher(&ctx, &staff, "opendata.tokens").await?;
    let sid = staff.id;
    let items = ctx.db.read(move |c| tokens::list(c, sid)).await?;
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

/// `GET /api/v1/staff/opendata/tokens/{id}`: one of the caller's tokens.
async fn one(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
) -> Result<Json<tokens::Token>, ApiError> {
    publisher(&ctx, &staff, "opendata.tokens").await?;
    let sid = staff.id;
    ctx.db
        .read(move |c| tokens::list(c, sid))
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no_such_token", format!("no token {id} of yours")))
}

/// `DELETE /api/v1/staff/opendata/tokens/{id}`: revoke one of the caller's tokens.
async fn revoke(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    publisher(&ctx, &staff, "opendata.revoke").await?;
    let now = tongban_platform::time::now_millis();
    let sid = staff.id;
    let entry = Entry::staff(&staff, "opendata.revoke", &id.to_string(), "ok");
    let done = ctx
        .db
        .write(move |c| {
            let done = tokens::revoke(c, sid, id, now)?;
            if done {
                audit::append(c, &entry)?;
            }
            Ok(done)
        })
        .await?;
    if !done {
        return Err(ApiError::not_found(
            "no_such_token",
            format!("no token {id} of yours to revoke"),
        ));
    }
    Ok(Json(json!({ "revoked": id })))
}
