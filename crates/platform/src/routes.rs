//! Routes of the shared ground: health, citizen accounts and sessions, staff sessions, and
//! the public working-day calendar.

use crate::accounts;
use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::http::{CitizenAuth, ClientAddr, JsonBody, StaffAuth};
use crate::identity;
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
pub const PUBLIC_PATHS: [&str; 11] = [
    "/api/v1/keys",
    "/healthz",
    "/api/v1/accounts",
    "/api/v1/accounts/phone-codes",
    "/api/v1/me/phone-codes",
    "/api/v1/me/phone",
    "/api/v1/sessions",
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/calendar/deadline",
    "/api/v1/calendar/{date}",
];
/// Paths served on the internal listener only (besides `/healthz`, which both answer).
pub const INTERNAL_PATHS: [&str; 4] = [
    "/api/v1/staff/sessions",
    "/api/v1/staff/me",
    "/api/v1/staff/me/password",
    "/api/v1/staff/me/email",
];

pub fn public_router() -> Router<Ctx> {
    let [keys_path, health, accounts_path, codes_path, my_codes_path, phone_path, sessions, me_path, password_path, deadline_path, day_path] =
        PUBLIC_PATHS;
    Router::new()
        .route(keys_path, get(public_keys))
        .route(health, get(healthz))
        .route(accounts_path, post(register))
        .route(codes_path, post(registration_code))
        .route(my_codes_path, post(phone_change_code))
        .route(phone_path, axum::routing::put(change_phone))
        .route(sessions, post(login).delete(logout))
        .route(me_path, get(me))
        .route(password_path, post(change_password))
        .route(deadline_path, get(deadline))
        .route(day_path, get(day))
}

pub fn internal_router() -> Router<Ctx> {
    let [sessions, me_path, password_path, email_path] = INTERNAL_PATHS;
    Router::new()
        .route("/healthz", get(healthz))
        .route(sessions, post(staff_login).delete(staff_logout))
        .route(me_path, get(staff_me))
        .route(password_path, post(staff_change_password))
        .route(email_path, get(staff_email).put(set_staff_email))
        .merge(crate::lists::internal_router())
}

/// The deployment's public keys (SM2), for checking its e-certificates and shared data.
async fn public_keys() -> Result<Json<Value>, ApiError> {
    let keys = crate::vault::keys().map_err(|_| ApiError::internal())?;
    Ok(Json(json!({"keys": keys.public_keys()})))
}

async fn healthz(State(ctx): State<Ctx>) -> Result<Json<Value>, ApiError> {
    ctx.db.fetch(&[("SELECT 1 AS ok", &[])]).await?;
    Ok(Json(json!({"status": "ok"})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Register {
    name: String,
    id_number: String,
    phone: String,
    password: String,
    /// The code texted to `phone` (`POST /api/v1/accounts/phone-codes`).
    #[serde(default)]
    sms_code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    phone: String,
}

fn code_answer(sent: crate::phone_codes::Sent) -> (StatusCode, Json<Value>) {
    let mut body = json!({"expires_in": sent.expires_in, "resend_after": sent.resend_after});
    if let Some(code) = sent.demo_code {
        body["demo_code"] = json!(code);
    }
    (StatusCode::ACCEPTED, Json(body))
}

/// Send a registration code to a phone (202 whether or not it has an account).
async fn registration_code(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    JsonBody(r): JsonBody<CodeRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sent =
        crate::phone_codes::request(&ctx, &r.phone, crate::phone_codes::Purpose::Register, &addr)
            .await?;
    Ok(code_answer(sent))
}

/// Send a signed-in citizen a code at the phone they want to move to.
async fn phone_change_code(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    _who: CitizenAuth,
    JsonBody(r): JsonBody<CodeRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let purpose = crate::phone_codes::Purpose::ChangePhone;
    let sent = crate::phone_codes::request(&ctx, &r.phone, purpose, &addr).await?;
    Ok(code_answer(sent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneChange {
    phone: String,
    sms_code: String,
    password: String,
}

async fn change_phone(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    JsonBody(p): JsonBody<PhoneChange>,
) -> Result<StatusCode, ApiError> {
    crate::phone_codes::change_phone(&ctx, who.account_id, &p.phone, &p.sms_code, p.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn register(
    State(ctx): State<Ctx>,
    JsonBody(r): JsonBody<Register>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let citizen = accounts::register(
        &ctx,
        accounts::Registration {
            name: r.name,
            id_number: r.id_number,
            phone: r.phone,
            password: r.password,
            sms_code: r.sms_code,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": citizen.id, "name": citizen.name})),
    ))
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
    ClientAddr(addr): ClientAddr,
    JsonBody(l): JsonBody<Login>,
) -> Result<Json<Value>, ApiError> {
    let account = match (&l.id_number, &l.phone) {
        (Some(i), None) => {
            IdNumber::parse(i).map_err(|m| {
                ApiError::unprocessable("invalid_id_number", format!("id_number: {m}"))
            })?;
            i
        }
        (None, Some(p)) => {
            Phone::parse(p)
                .map_err(|m| ApiError::unprocessable("invalid_phone", format!("phone: {m}")))?;
            p
        }
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "give either id_number or phone, and password",
            ))
        }
    };
    let token = accounts::login_citizen(&ctx, account, l.password, &addr).await?;
    Ok(Json(
        json!({"token": token, "expires_in_minutes": ctx.config.citizen_session_minutes}),
    ))
}

async fn logout(State(ctx): State<Ctx>, who: CitizenAuth) -> Result<StatusCode, ApiError> {
    accounts::logout(&ctx, who.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(ctx): State<Ctx>, who: CitizenAuth) -> Result<Json<Value>, ApiError> {
    let id = who.account_id;
    let (c, verified) = ctx
        .db
        .read(move |c| {
            Ok((
                identity::get_citizen(c, id)?,
                identity::phone_verified(c, id)?,
            ))
        })
        .await?;
    let c = c.ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    Ok(Json(json!({
        "id": c.id,
        "name": c.name,
        "id_number": crate::mask::id_number(&c.id_number),
        "phone": crate::mask::phone(&c.phone),
        "phone_verified": verified,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    old_password: String,
    new_password: String,
}

async fn change_password(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    JsonBody(p): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(
        &ctx,
        who.account_id,
        who.token,
        p.old_password,
        p.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLogin {
    username: String,
    password: String,
    /// The 6-digit code, for accounts with a second factor.
    #[serde(default)]
    totp: Option<String>,
}

async fn staff_login(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    JsonBody(l): JsonBody<StaffLogin>,
) -> Result<Json<Value>, ApiError> {
    let (token, staff) =
        accounts::login_staff(&ctx, &l.username, l.password, l.totp.as_deref(), &addr).await?;
    Ok(Json(
        json!({"token": token, "expires_in_minutes": ctx.config.staff_session_minutes, "staff": staff}),
    ))
}

async fn staff_logout(State(ctx): State<Ctx>, who: StaffAuth) -> Result<StatusCode, ApiError> {
    accounts::logout(&ctx, who.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn staff_change_password(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    JsonBody(p): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    accounts::change_staff_password(&ctx, &who.staff, who.token, p.old_password, p.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: Option<String>,
}

async fn staff_email(State(ctx): State<Ctx>, who: StaffAuth) -> Result<Json<Value>, ApiError> {
    let id = who.staff.id;
    let email = ctx.db.read(move |c| identity::staff_email(c, id)).await?;
    Ok(Json(json!({ "email": email })))
}

async fn set_staff_email(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    JsonBody(b): JsonBody<EmailBody>,
) -> Result<StatusCode, ApiError> {
    accounts::set_own_email(&ctx, &who.staff, b.email).await?;
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
