//! Disclosure on request over JSON: requesters (citizens, logged in) on the public listener;
//! the department's 政务公开 reviewers on the internal one; the annual report for anyone.

use super::{report, NewRequest, Request, Step, Who};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::HashMap;
use tongban_platform::http::{CitizenAuth, JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::{ApiError, Ctx};

pub const PUBLIC_PATHS: [&str; 5] = [
    "/api/v1/disclosure-requests",
    "/api/v1/my/disclosure-requests",
    "/api/v1/my/disclosure-requests/{no}",
    "/api/v1/my/disclosure-requests/{no}/{action}",
    "/api/v1/sites/{code}/disclosure-report/{year}",
];

pub const INTERNAL_PATHS: [&str; 3] = [
    "/api/v1/staff/disclosure-requests",
    "/api/v1/staff/disclosure-requests/{no}",
    "/api/v1/staff/disclosure-requests/{no}/{action}",
];

pub fn public_router() -> Router<Ctx> {
    let p = PUBLIC_PATHS;
    Router::new()
        .route(p[0], post(submit))
        .route(p[1], get(mine))
        .route(p[2], get(one_mine))
        .route(p[3], post(applicant_act))
        .route(p[4], get(annual))
}

pub fn internal_router() -> Router<Ctx> {
    let p = INTERNAL_PATHS;
    Router::new()
        .route(p[0], get(staff_list))
        .route(p[1], get(staff_one))
        .route(p[2], post(staff_act))
}

const STATES: [&str; 4] = ["received", "correcting", "answered", "withdrawn"];

fn state(q: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    match q.get("state").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if STATES.contains(&s) => Ok(Some(s.to_owned())),
        Some(_) => Err(ApiError::bad_request(
            "bad_state",
            format!("state: one of {}", STATES.join(", ")),
        )),
    }
}

async fn submit(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    JsonBody(r): JsonBody<NewRequest>,
) -> Result<(StatusCode, Json<Request>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(super::submit(&ctx, who.account_id, r).await?),
    ))
}

async fn mine(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Request>>, ApiError> {
    let (items, total) = super::list(
        &ctx,
        Who::Applicant(who.account_id),
        state(&q)?,
        p.page_size,
        p.offset(),
    )
    .await?;
    Ok(Json(Paged::new(items, total, p)))
}

async fn one_mine(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(no): Path<String>,
) -> Result<Json<Request>, ApiError> {
    Ok(Json(
        super::get_as(&ctx, &no, Who::Applicant(who.account_id)).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApplicantBody {
    #[serde(default)]
    description: String,
    #[serde(default)]
    note: String,
}

fn body_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &Bytes,
    shape: &str,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice::<T>(body).map_err(|e| {
        ApiError::unprocessable("invalid_body", format!("send {shape} or nothing: {e}"))
    })
}

/// `POST /api/v1/my/disclosure-requests/{no}/{corrected|withdraw}`.
async fn applicant_act(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path((no, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Request>, ApiError> {
    let b: ApplicantBody =
        body_or_default(&body, "{\"description\": \"...\"} or {\"note\": \"...\"}")?;
    let text = if action == "corrected" {
        b.description
    } else {
        b.note
    };
    Ok(Json(
        super::applicant_act(&ctx, who.account_id, &no, &action, &text).await?,
    ))
}

async fn staff_list(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Request>>, ApiError> {
    let (items, total) = super::list(
        &ctx,
        Who::Staff(&staff),
        state(&q)?,
        p.page_size,
        p.offset(),
    )
    .await?;
    Ok(Json(Paged::new(items, total, p)))
}

async fn staff_one(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(no): Path<String>,
) -> Result<Json<Request>, ApiError> {
    Ok(Json(super::get_as(&ctx, &no, Who::Staff(&staff)).await?))
}

/// `POST /api/v1/staff/disclosure-requests/{no}/{correct|extend|answer}` with `{"note",
/// "outcome", "reason"}`.
async fn staff_act(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path((no, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Request>, ApiError> {
    let step: Step = body_or_default(
        &body,
        "{\"note\": \"...\", \"outcome\": \"...\", \"reason\": \"...\"}",
    )?;
    Ok(Json(super::act(&ctx, &staff, &no, &action, step).await?))
}

/// The department's report for a year, by the site that carries its 政务公开 pages.
pub async fn report_of(
    ctx: &Ctx,
    code: &str,
    year: &str,
) -> Result<(crate::sites::Site, report::Report), ApiError> {
    let this_year = ctx
        .today()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2026);
    let year = year
        .parse::<i32>()
        .ok()
        .filter(|y| (2008..=this_year).contains(y))
        .ok_or_else(|| {
            ApiError::not_found(
                "no_such_report",
                format!("no report for {year}: years 2008–{this_year}"),
            )
        })?;
    let (code, tz) = (code.to_owned(), ctx.tz);
    ctx.db
        .read(move |c| {
            let Some(site) = crate::sites::get(c, &code)? else {
                return Ok(None);
            };
            let r = report::make(c, &site.department, year, tz)?;
            Ok(Some((site, r)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no_such_site", "no such site"))
}

async fn annual(
    State(ctx): State<Ctx>,
    Path((code, year)): Path<(String, String)>,
) -> Result<Json<report::Report>, ApiError> {
    Ok(Json(report_of(&ctx, &code, &year).await?.1))
}
