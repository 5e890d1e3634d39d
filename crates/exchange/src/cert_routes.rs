//! E-certificates over HTTP: a citizen's own (public listener), the check anyone holding a
//! certificate's code can make (public), and the issuing department's types and revocations
//! (internal).

use crate::certificates::{self, Certificate, Verdict};
use crate::{access, ExchangeError};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::http::{CitizenAuth, JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::{ApiError, Ctx};

pub const PUBLIC_PATHS: [&str; 2] = ["/api/v1/me/certificates", "/api/v1/certificates/verify"];

pub const INTERNAL_PATHS: [&str; 2] = [
    "/api/v1/staff/certificate-types/{code}",
    "/api/v1/staff/certificates/{number}/revoke",
];

pub fn public_router() -> Router<Ctx> {
    let [mine, check] = PUBLIC_PATHS;
    Router::new()
        .route(mine, get(my_certificates))
        .route(check, get(verify))
}

pub fn internal_router() -> Router<Ctx> {
    let [types, revoke_path] = INTERNAL_PATHS;
    Router::new()
        .route(types, put(save_type).get(one_type))
        .route(revoke_path, post(revoke))
}

/// `GET /api/v1/me/certificates`: the signed-in citizen's certificates, with their codes.
async fn my_certificates(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    p: Paging,
) -> Result<Json<Paged<Certificate>>, ApiError> {
    let id = who.account_id;
    let (items, total) = ctx
        .db
        .read(move |c| {
            let Some(me) = tongban_platform::identity::get_citizen(c, id)? else {
                return Ok((Vec::new(), 0));
            };
            certificates::of_holder(c, &me.id_number, p.page_size, p.offset())
        })
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

/// `GET /api/v1/certificates/verify?code=`: valid, revoked, expired or bad_signature, with
/// what was signed, the signature and the key's id (for a check with any SM2 implementation
/// against `GET /api/v1/keys`).
async fn verify(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    page: tongban_web::Page,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let code = q
        .get("code")
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    if code.is_empty() || code.len() > 100 {
        return Err(ApiError::bad_request(
            "invalid_code",
            "give code: the code printed under the certificate's QR",
        ));
    }
    let today = ctx.today();
    let found: Option<Verdict> = ctx
        .db
        .read(move |c| certificates::verify(c, &code, today))
        .await?;
    let day = today.format("%Y-%m-%d").to_string();
    let status = found.as_ref().map_or("not_found", |v| v.status);
    crate::checks::record(&ctx.config.database_url, day, status);
    let v = found.ok_or_else(|| {
        ExchangeError::NotFound("no certificate has this code: check it against the QR".into())
    })?;
    // A phone that scanned the QR asks for a page; a client for JSON.
    let wants_page = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        return Ok(page.ok(
            "certificate_check.html",
            minijinja::context! { status => v.status, cert => v.certificate },
        ));
    }
    let canonical = crate::canonical::canonical(&v.certificate.content);
    Ok(Json(json!({
        "status": v.status,
        "certificate": v.certificate,
        "signed": canonical,
        "algorithm": "SM2 over the SM3 digest of `signed` (UTF-8); distid 1234567812345678",
    }))
    .into_response())
}

/// `PUT /api/v1/staff/certificate-types/{code}`.
async fn save_type(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    JsonBody(v): JsonBody<Value>,
) -> Result<Json<certificates::CertType>, ApiError> {
    Ok(Json(
        access::save_certificate_type(&ctx, &staff, &code, v).await?,
    ))
}

/// `GET /api/v1/staff/certificate-types/{code}`.
async fn one_type(
    State(ctx): State<Ctx>,
    StaffAuth { .. }: StaffAuth,
    Path(code): Path<String>,
) -> Result<Json<certificates::CertType>, ApiError> {
    let c2 = code.clone();
    let t = ctx.db.read(move |c| certificates::get_type(c, &c2)).await?;
    Ok(Json(t.ok_or_else(|| {
        ExchangeError::NotFound(format!("no certificate type {code}"))
    })?))
}

#[derive(Deserialize)]
struct Revocation {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/staff/certificates/{number}/revoke`.
async fn revoke(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(number): Path<String>,
    JsonBody(r): JsonBody<Revocation>,
) -> Result<Json<Value>, ApiError> {
    access::revoke_certificate(&ctx, &staff, &number, &r.reason).await?;
    Ok(Json(json!({"number": number, "revoked": true})))
}
