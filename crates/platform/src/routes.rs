//! Routes of the shared ground: health, citizen accounts and sessions, staff sessions, and
//! the public working-day calendar.

use crate::crypto;
use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::http::{CitizenAuth, JsonBody, StaffAuth};
use crate::identity::{self, NewCitizen, SessionKind};
use crate::ids::{IdNumber, Phone};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Paths served on the public listener (the OpenAPI document must describe each).
pub const PUBLIC_PATHS: [&str; 6] = [
    "/healthz",
    "/api/v1/accounts",
    "/api/v1/sessions",
    "/api/v1/me",
    "/api/v1/calendar/deadline",
    "/api/v1/calendar/{date}",
];
/// Paths served on the internal listener only (besides `/healthz`, which both answer).
pub const INTERNAL_PATHS: [&str; 2] = ["/api/v1/staff/sessions", "/api/v1/staff/me"];

pub fn public_router() -> Router<Ctx> {
    let [health, accounts, sessions, me_path, deadline_path, day_path] = PUBLIC_PATHS;
    Router::new()
        .route(health, get(healthz))
        .route(accounts, post(register))
        .route(sessions, post(login).delete(logout))
        .route(me_path, get(me))
        .route(deadline_path, get(deadline))
        .route(day_path, get(day))
}

pub fn internal_router() -> Router<Ctx> {
    let [sessions, me_path] = INTERNAL_PATHS;
    Router::new()
        .route("/healthz", get(healthz))
        .route(sessions, post(staff_login).delete(staff_logout))
        .route(me_path, get(staff_me))
}

async fn healthz(State(ctx): State<Ctx>) -> Result<Json<Value>, ApiError> {
    ctx.db.read(|c| c.query("SELECT 1 AS ok", &[])).await?;
    Ok(Json(json!({"status": "ok"})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    name: String,
    id_number: String,
    phone: String,
    password: String,
}

async fn register(
    State(ctx): State<Ctx>,
    JsonBody(r): JsonBody<Register>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = r.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(ApiError::unprocessable(
            "invalid_name",
            "name: give your real name (1-50 characters)",
        ));
    }
    let id = IdNumber::parse(&r.id_number)
        .map_err(|m| ApiError::unprocessable("invalid_id_number", format!("id_number: {m}")))?;
    let phone = Phone::parse(&r.phone)
        .map_err(|m| ApiError::unprocessable("invalid_phone", format!("phone: {m}")))?;
    crypto::check_password_policy(&r.password)
        .map_err(|m| ApiError::unprocessable("weak_password", format!("password: {m}")))?;
    let hash = hash_off_thread(r.password).await?;
    let (idn, ph) = (id.as_str().to_owned(), phone.as_str().to_owned());
    let res = ctx
        .db
        .write(move |c| {
            identity::insert_citizen(
                c,
                &NewCitizen {
                    name: &name,
                    id_number: &idn,
                    phone: &ph,
                    password_hash: &hash,
                },
            )
        })
        .await;
    match res {
        Ok(citizen) => Ok((
            StatusCode::CREATED,
            Json(json!({"id": citizen.id, "name": citizen.name})),
        )),
        Err(crate::db::DbError::Unique(_)) => Err(ApiError::conflict(
            "already_registered",
            "an account with this ID number or phone already exists; log in instead",
        )),
        Err(e) => Err(e.into()),
    }
}

async fn hash_off_thread(p: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&p))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
}

async fn verify_off_thread(p: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || crypto::verify_password(&p, &hash))
        .await
        .map_err(|_| ApiError::internal())
}

/// A hash to verify against when the account does not exist, so both cases take as long.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| crypto::hash_password("no-such-account-0").unwrap_or_default())
        .clone()
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "the account or password is wrong",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    id_number: Option<String>,
    phone: Option<String>,
    password: String,
}

async fn login(
    State(ctx): State<Ctx>,
    JsonBody(l): JsonBody<Login>,
) -> Result<Json<Value>, ApiError> {
    let (idn, ph) = match (&l.id_number, &l.phone) {
        (Some(i), None) => (
            Some(
                IdNumber::parse(i)
                    .map_err(|m| {
                        ApiError::unprocessable("invalid_id_number", format!("id_number: {m}"))
                    })?
                    .as_str()
                    .to_owned(),
            ),
            None,
        ),
        (None, Some(p)) => (
            None,
            Some(
                Phone::parse(p)
                    .map_err(|m| ApiError::unprocessable("invalid_phone", format!("phone: {m}")))?
                    .as_str()
                    .to_owned(),
            ),
        ),
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "give either id_number or phone, and password",
            ))
        }
    };
    let found = ctx
        .db
        .read(move |c| identity::citizen_credentials(c, idn.as_deref(), ph.as_deref()))
        .await?;
    let (id, hash) = found.unwrap_or_else(|| (-1, dummy_hash()));
    if !verify_off_thread(l.password, hash).await? || id < 0 {
        return Err(bad_credentials());
    }
    let minutes = ctx.config.citizen_session_minutes;
    let token = ctx
        .db
        .write(move |c| identity::create_session(c, SessionKind::Citizen, id, minutes))
        .await?;
    Ok(Json(json!({"token": token, "expires_in_minutes": minutes})))
}

async fn logout(State(ctx): State<Ctx>, who: CitizenAuth) -> Result<StatusCode, ApiError> {
    ctx.db
        .write(move |c| identity::delete_session(c, &who.token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(ctx): State<Ctx>, who: CitizenAuth) -> Result<Json<Value>, ApiError> {
    let id = who.account_id;
    let c = ctx
        .db
        .read(move |c| identity::get_citizen(c, id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    Ok(Json(
        json!({"id": c.id, "name": c.name, "id_number": c.id_number, "phone": c.phone}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLogin {
    username: String,
    password: String,
}

async fn staff_login(
    State(ctx): State<Ctx>,
    JsonBody(l): JsonBody<StaffLogin>,
) -> Result<Json<Value>, ApiError> {
    let user = l.username.trim().to_owned();
    let found = ctx
        .db
        .read(move |c| identity::staff_credentials(c, &user))
        .await?;
    let (staff, hash) = match found {
        Some((s, h)) => (Some(s), h),
        None => (None, dummy_hash()),
    };
    let ok = verify_off_thread(l.password, hash).await?;
    let Some(staff) = staff.filter(|_| ok) else {
        return Err(bad_credentials());
    };
    let minutes = ctx.config.staff_session_minutes;
    let id = staff.id;
    let token = ctx
        .db
        .write(move |c| identity::create_session(c, SessionKind::Staff, id, minutes))
        .await?;
    Ok(Json(
        json!({"token": token, "expires_in_minutes": minutes, "staff": staff}),
    ))
}

async fn staff_logout(State(ctx): State<Ctx>, who: StaffAuth) -> Result<StatusCode, ApiError> {
    ctx.db
        .write(move |c| identity::delete_session(c, &who.token))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn staff_me(who: StaffAuth) -> Json<identity::Staff> {
    Json(who.staff)
}

fn parse_date(s: &str, what: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(
            "bad_date",
            format!("{what} {s:?} is not a date; use YYYY-MM-DD, e.g. 2026-10-08"),
        )
    })
}

async fn day(
    State(ctx): State<Ctx>,
    Path(date): Path<String>,
) -> Result<Json<crate::calendar::DayInfo>, ApiError> {
    let d = parse_date(&date, "date")?;
    Ok(Json(ctx.calendar().day(d)))
}

async fn deadline(
    State(ctx): State<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let start = q
        .get("start")
        .ok_or_else(|| ApiError::bad_request("missing_start", "give start=YYYY-MM-DD"))?;
    let start = parse_date(start, "start")?;
    let days = q
        .get("days")
        .ok_or_else(|| ApiError::bad_request("missing_days", "give days=N (working days)"))?;
    let max = crate::calendar::MAX_SPAN_DAYS;
    let n: u32 = days.parse().ok().filter(|n| *n <= max).ok_or_else(|| {
        ApiError::bad_request(
            "bad_days",
            format!("days must be a whole number from 0 to {max}, got {days:?}"),
        )
    })?;
    let d = ctx.calendar().add_workdays(start, n);
    Ok(Json(
        json!({"start": start.format("%Y-%m-%d").to_string(), "days": n, "deadline": d.format("%Y-%m-%d").to_string()}),
    ))
}
