//! Admins register the apps that may sign citizens in (internal listener): list them, add one
//! (its secret shown once), turn one off (its tokens revoked). Every change is audited.

use crate::clients::{self, NewClient};
use crate::error::IdentityError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tongban_platform::http::{JsonBody, Paged, Paging, StaffAuth};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 2] = [
    "/api/v1/staff/identity/clients",
    "/api/v1/staff/identity/clients/{client_id}",
];

pub fn internal_router() -> Router<Ctx> {
    let [list_path, one_path] = INTERNAL_PATHS;
    Router::new()
        .route(list_path, get(list).post(add))
        .route(one_path, get(one).delete(disable))
}

fn admin(s: &Staff) -> Result<(), ApiError> {
    if s.has(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only administrators register sign-in apps",
        ))
    }
}

async fn list(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
) -> Result<Json<Paged<clients::Client>>, ApiError> {
    admin(&staff)?;
    let (items, total) = ctx
        .db
        .read(move |c| clients::list(c, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddClient {
    name: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    /// A confidential client (a server) gets a secret; a public one (a phone app) does not.
    #[serde(default = "yes")]
    confidential: bool,
    /// Partner API calls a minute (default 600).
    #[serde(default = "per_minute")]
    rate_per_minute: i64,
}

fn per_minute() -> i64 {
    600
}

fn yes() -> bool {
    true
}

async fn add(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(b): JsonBody<AddClient>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admin(&staff)?;
    let n = NewClient {
        name: b.name,
        redirect_uris: b.redirect_uris,
        scopes: b.scopes,
        confidential: b.confidential,
        rate_per_minute: b.rate_per_minute,
    };
    clients::check_new(&n)?;
    let now = tongban_platform::time::now_millis();
    let (client, secret) = ctx
        .db
        .write(move |c| {
            let (client, secret) = clients::register(c, &n, &staff.username, now)?;
            let e = tongban_platform::audit::Entry::staff(
                &staff,
                "oidc.client.add",
                &client.client_id,
                "ok",
            );
            tongban_platform::audit::append(c, &e)?;
            Ok((client, secret))
        })
        .await
        .map_err(IdentityError::from)?;
    let mut body = json!(client);
    if let Some(s) = secret {
        body["client_secret"] = json!(s);
    }
    Ok((StatusCode::CREATED, Json(body)))
}

async fn one(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(client_id): Path<String>,
) -> Result<Json<clients::Client>, ApiError> {
    admin(&staff)?;
    ctx.db
        .read(move |c| clients::get(c, &client_id))
        .await?
        .map(Json)
        .ok_or_else(|| IdentityError::NoClient.into())
}

async fn disable(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin(&staff)?;
    let now = tongban_platform::time::now_millis();
    let done = ctx
        .db
        .write(move |c| {
            let done = clients::disable(c, &client_id, now)?;
            if done {
                let e = tongban_platform::audit::Entry::staff(
                    &staff,
                    "oidc.client.disable",
                    &client_id,
                    "ok",
                );
                tongban_platform::audit::append(c, &e)?;
            }
            Ok(done)
        })
        .await?;
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(IdentityError::NoClient.into())
    }
}
