//! The exchange's HTTP face, on the internal listener only: the call endpoint (authenticated
//! by its SM2 signature) and the staff API for services, access requests, grants, the
//! message log and base registries. The rules are in [`crate::access`] and [`crate::call`].

use crate::call::{self, Call};
use crate::grants::{self, AccessRequest, Grant};
use crate::model::Service;
use crate::{access, log, registry, store, ExchangeError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::http::{JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 10] = [
    "/exchange/v1/{provider}/{service}",
    "/api/v1/staff/exchange/services",
    "/api/v1/staff/exchange/services/{service}",
    "/api/v1/staff/exchange/requests",
    "/api/v1/staff/exchange/requests/{id}/decision",
    "/api/v1/staff/exchange/grants",
    "/api/v1/staff/exchange/grants/{id}/revoke",
    "/api/v1/staff/exchange/log",
    "/api/v1/staff/exchange/registries/{name}",
    "/api/v1/staff/exchange/verify",
];

pub fn internal_router() -> Router<Ctx> {
    let p = INTERNAL_PATHS;
    Router::new()
        .route(p[0], post(receive))
        .route(p[1], get(services))
        .route(p[2], put(save_service).get(one_service))
        .route(p[3], post(ask).get(requests))
        .route(p[4], post(decide))
        .route(p[5], post(give).get(grants_list))
        .route(p[6], post(revoke))
        .route(p[7], get(message_log))
        .route(p[8], put(load_registry).get(registry_info))
        .route(p[9], get(verify_chain))
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// `POST /exchange/v1/{provider}/{service}`: a signed call, answered signed.
async fn receive(
    State(ctx): State<Ctx>,
    Path((provider, service)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = |name: &str| call::decode_header(&header(&headers, name)).unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("the request body must be JSON: {e}"),
        )
    })?;
    let c = Call {
        provider,
        service,
        consumer: text(call::H_CONSUMER),
        purpose: text(call::H_PURPOSE),
        subject: text(call::H_SUBJECT),
        message_id: header(&headers, call::H_MESSAGE_ID),
        sent_at: header(&headers, call::H_SENT_AT).parse().unwrap_or(0),
        key_id: header(&headers, call::H_KEY_ID),
        signature: header(&headers, call::H_SIGNATURE),
        body,
    };
    let a = call::receive(&ctx, c).await?;
    let mut r = Json(a.body).into_response();
    let h = r.headers_mut();
    for (k, v) in [
        (call::H_MESSAGE_ID, a.message_id),
        (call::H_REQUEST_DIGEST, a.request_digest),
        (call::H_KEY_ID, a.key_id),
        (call::H_SIGNATURE, a.signature),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    Ok(r)
}

/// `GET /api/v1/staff/exchange/services?provider=`: the catalogue of services (资源目录).
async fn services(
    State(ctx): State<Ctx>,
    StaffAuth { .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Value>>, ApiError> {
    let provider = q.get("provider").filter(|v| !v.is_empty()).cloned();
    let (items, total) = ctx
        .db
        .read(move |c| store::list(c, provider.as_deref(), p.page_size, p.offset()))
        .await?;
    let items = items
        .into_iter()
        .map(|s| {
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            v["sharing_name"] = json!(s.sharing_name());
            v
        })
        .collect();
    Ok(Json(Paged::new(items, total, p)))
}

/// `PUT /api/v1/staff/exchange/services/{service}`.
async fn save_service(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    JsonBody(v): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let (service, created) = access::save_service(&ctx, &staff, &code, v).await?;
    Ok(Json(json!({"service": service, "created": created})))
}

/// `GET /api/v1/staff/exchange/services/{service}?provider=`: one service (of the reader's
/// department unless another provider is named).
async fn one_service(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Service>, ApiError> {
    let provider = q
        .get("provider")
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or(staff.department.code);
    let (p2, c2) = (provider.clone(), code.clone());
    let s = ctx.db.read(move |c| store::get(c, &p2, &c2)).await?;
    Ok(Json(s.ok_or_else(|| {
        ExchangeError::ServiceNotFound(format!("{provider} provides no service {code}"))
    })?))
}

#[derive(Deserialize)]
struct Ask {
    provider: String,
    service: String,
    purpose: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/staff/exchange/requests`.
async fn ask(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(a): JsonBody<Ask>,
) -> Result<Json<Value>, ApiError> {
    let id = access::ask(&ctx, &staff, &a.provider, &a.service, &a.purpose, &a.reason).await?;
    Ok(Json(json!({"id": id, "state": "pending"})))
}

/// Whether a list asks for the department's own side (`box` is not `other`).
fn own_side(q: &HashMap<String, String>, other: &str) -> bool {
    q.get("box").is_none_or(|b| b != other)
}

/// `GET /api/v1/staff/exchange/requests?box=incoming|outgoing`.
async fn requests(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<AccessRequest>>, ApiError> {
    access::admin(&ctx, &staff, "exchange.requests", "").await?;
    let (dept, incoming) = (staff.department.code, own_side(&q, "outgoing"));
    let (items, total) = ctx
        .db
        .read(move |c| grants::requests(c, &dept, incoming, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

#[derive(Deserialize)]
struct Decision {
    grant: bool,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/staff/exchange/requests/{id}/decision`.
async fn decide(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
    JsonBody(d): JsonBody<Decision>,
) -> Result<Json<Value>, ApiError> {
    let grant = access::decide(&ctx, &staff, id, d.grant, &d.valid_until, &d.note).await?;
    let state = if d.grant { "granted" } else { "refused" };
    Ok(Json(json!({"id": id, "state": state, "grant": grant})))
}

#[derive(Deserialize)]
struct Give {
    service: String,
    consumer: String,
    purpose: String,
    valid_until: String,
}

/// `POST /api/v1/staff/exchange/grants`.
async fn give(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(g): JsonBody<Give>,
) -> Result<Json<Value>, ApiError> {
    let (id, until) = access::give(
        &ctx,
        &staff,
        &g.service,
        &g.consumer,
        &g.purpose,
        &g.valid_until,
    )
    .await?;
    Ok(Json(json!({"id": id, "valid_until": until})))
}

/// `GET /api/v1/staff/exchange/grants?box=given|held`.
async fn grants_list(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Grant>>, ApiError> {
    access::admin(&ctx, &staff, "exchange.grants", "").await?;
    let (dept, given) = (staff.department.code, own_side(&q, "held"));
    let (items, total) = ctx
        .db
        .read(move |c| grants::grants(c, &dept, given, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

/// `POST /api/v1/staff/exchange/grants/{id}/revoke`.
async fn revoke(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    access::revoke(&ctx, &staff, id).await?;
    Ok(Json(json!({"id": id, "revoked": true})))
}

/// `GET /api/v1/staff/exchange/log?subject=`: a department's exchanges (administrators), or
/// every exchange (auditors).
async fn message_log(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<log::Stored>>, ApiError> {
    let dept = access::log_scope(&ctx, &staff).await?;
    let subject = q.get("subject").filter(|s| !s.is_empty()).cloned();
    let (items, total) = ctx
        .db
        .read(move |c| {
            log::search(
                c,
                dept.as_deref(),
                subject.as_deref(),
                p.page_size,
                p.offset(),
            )
        })
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

/// `GET /api/v1/staff/exchange/verify`.
async fn verify_chain(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
) -> Result<Json<log::Chain>, ApiError> {
    Ok(Json(access::verify(&ctx, &staff).await?))
}

/// `PUT /api/v1/staff/exchange/registries/{name}?key_field=&filename=`: the file is the body.
async fn load_registry(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let arg = |k: &str| q.get(k).map_or("", String::as_str);
    let records = access::load_registry(
        &ctx,
        &staff,
        &name,
        arg("key_field"),
        arg("filename"),
        &body,
    )
    .await?;
    Ok(Json(json!({"registry": name, "records": records})))
}

/// `GET /api/v1/staff/exchange/registries/{name}`: what a registry holds (never its records).
async fn registry_info(
    State(ctx): State<Ctx>,
    StaffAuth { .. }: StaffAuth,
    Path(name): Path<String>,
) -> Result<Json<registry::Registry>, ApiError> {
    let n2 = name.clone();
    let r = ctx.db.read(move |c| registry::get(c, &n2)).await?;
    Ok(Json(r.ok_or_else(|| {
        ExchangeError::NotFound(format!("no registry {name} has been loaded"))
    })?))
}
