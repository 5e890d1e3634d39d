//! The exchange's HTTP face, on the internal listener only: the call endpoint (authenticated
//! by its SM2 signature) and the staff API for services, access requests, grants, the
//! message log and base registries.

use crate::call::{self, Call};
use crate::grants::{self, AccessRequest, Grant};
use crate::model::Service;
use crate::{log, registry, store, ExchangeError};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::audit;
use tongban_platform::http::{JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::identity::{Role, Staff};
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
        .route(p[5], post(give).get(held_grants))
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

/// `POST /exchange/v1/{provider}/{service}`: a signed call.
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
    let sent_at = header(&headers, call::H_SENT_AT)
        .parse::<i64>()
        .unwrap_or(0);
    let c = Call {
        provider,
        service,
        consumer: text(call::H_CONSUMER),
        purpose: text(call::H_PURPOSE),
        subject: text(call::H_SUBJECT),
        message_id: header(&headers, call::H_MESSAGE_ID),
        sent_at,
        key_id: header(&headers, call::H_KEY_ID),
        signature: header(&headers, call::H_SIGNATURE),
        body,
    };
    if c.consumer.is_empty() || c.message_id.is_empty() || c.signature.is_empty() {
        // Still logged as refused, like every other call.
        let err = ExchangeError::BadSignature(format!(
            "a call names its consumer ({}), message id ({}), key ({}) and signature ({}), and says when it was sent ({})",
            call::H_CONSUMER,
            call::H_MESSAGE_ID,
            call::H_KEY_ID,
            call::H_SIGNATURE,
            call::H_SENT_AT
        ));
        let _ = call::receive(
            &ctx,
            Call {
                signature: String::new(),
                ..c
            },
        )
        .await;
        return Err(err.into());
    }
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

fn admin(staff: &Staff) -> Result<(), ExchangeError> {
    if staff.has(Role::Admin) {
        Ok(())
    } else {
        Err(ExchangeError::Forbidden(
            "only a department administrator manages its department's data sharing".into(),
        ))
    }
}

async fn refused(
    ctx: &Ctx,
    staff: &Staff,
    action: &str,
    object: &str,
    e: ExchangeError,
) -> ApiError {
    if matches!(e, ExchangeError::Forbidden(_)) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(staff, action, object, "denied"),
        )
        .await;
    }
    e.into()
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

/// `PUT /api/v1/staff/exchange/services/{service}`: register or change a service of the
/// administrator's department.
async fn save_service(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    JsonBody(v): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.service", &code, e).await);
    }
    let mut s: Service = serde_json::from_value(v).map_err(|e| {
        ExchangeError::Invalid(format!(
            "a service gives version, name, request_schema, response_schema, sharing and backend: {e}"
        ))
    })?;
    s.code = code;
    s.provider = staff.department.code.clone();
    s.check()?;
    let now = tongban_platform::time::now_millis();
    let entry = audit::Entry::staff(
        &staff,
        "exchange.service",
        &format!("{}/{}", s.provider, s.code),
        "ok",
    )
    .with_detail(format!("version {}, {}", s.version, s.sharing));
    let saved = s.clone();
    let created = ctx
        .db
        .write(move |c| {
            let created = store::save(c, &saved, now)?;
            audit::append(c, &entry)?;
            Ok(created)
        })
        .await?;
    Ok(Json(json!({"service": s, "created": created})))
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

#[derive(Deserialize)]
struct Ask {
    provider: String,
    service: String,
    purpose: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/staff/exchange/requests`: the administrator of a consumer department asks
/// for access to a service for a purpose.
async fn ask(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(a): JsonBody<Ask>,
) -> Result<Json<Value>, ApiError> {
    let object = format!("{}/{}", a.provider, a.service);
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.ask", &object, e).await);
    }
    let purpose = grants::check_purpose(&a.purpose)?;
    let (provider, service) = (a.provider.clone(), a.service.clone());
    let s = ctx
        .db
        .read(move |c| store::get(c, &provider, &service))
        .await?
        .ok_or_else(|| {
            ExchangeError::ServiceNotFound(format!("{object} is not a registered service"))
        })?;
    if s.sharing == "none" {
        return Err(ExchangeError::NotShareable(format!(
            "{object} is 不予共享 (not shared): it cannot be granted"
        ))
        .into());
    }
    let now = tongban_platform::time::now_millis();
    let consumer = staff.department.code.clone();
    let by = staff.username.clone();
    let reason = a.reason.trim().chars().take(500).collect::<String>();
    let entry =
        audit::Entry::staff(&staff, "exchange.ask", &object, "ok").with_detail(purpose.clone());
    let id = ctx
        .db
        .write(move |c| {
            let id = grants::request(
                c,
                &s.provider,
                &s.code,
                &consumer,
                &purpose,
                &reason,
                &by,
                now,
            )?;
            audit::append(c, &entry)?;
            Ok(id)
        })
        .await?;
    Ok(Json(json!({"id": id, "state": "pending"})))
}

/// `GET /api/v1/staff/exchange/requests?box=incoming|outgoing`.
async fn requests(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<AccessRequest>>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.requests", "", e).await);
    }
    let incoming = q.get("box").is_none_or(|b| b != "outgoing");
    let dept = staff.department.code.clone();
    let (items, total) = ctx
        .db
        .read(move |c| grants::requests(c, &dept, incoming, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

/// The end of a grant: the last moment of day `YYYY-MM-DD` in the deployment's time zone.
fn valid_until(ctx: &Ctx, day: &str, now: i64) -> Result<i64, ExchangeError> {
    let bad = || {
        ExchangeError::Invalid(format!(
            "valid_until must be a day (YYYY-MM-DD) from today on, got {day:?}"
        ))
    };
    let d = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").map_err(|_| bad())?;
    let next = d.succ_opt().ok_or_else(bad)?.format("%Y-%m-%d").to_string();
    let end = tongban_platform::time::day_start(&next, ctx.tz).ok_or_else(bad)?;
    if end <= now {
        return Err(bad());
    }
    Ok(end)
}

#[derive(Deserialize)]
struct Decision {
    grant: bool,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/v1/staff/exchange/requests/{id}/decision`: the provider's administrator grants
/// (until a day) or refuses a request.
async fn decide(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
    JsonBody(d): JsonBody<Decision>,
) -> Result<Json<Value>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.decide", &id.to_string(), e).await);
    }
    let r = ctx
        .db
        .read(move |c| grants::get_request(c, id))
        .await?
        .filter(|r| r.provider == staff.department.code)
        .ok_or_else(|| {
            ExchangeError::NotFound(format!("no access request {id} to your department"))
        })?;
    if r.state != "pending" {
        return Err(ApiError::conflict(
            "already_decided",
            format!("request {id} was already {}", r.state),
        ));
    }
    let now = tongban_platform::time::now_millis();
    let until = if d.grant {
        Some(valid_until(&ctx, &d.valid_until, now)?)
    } else {
        None
    };
    let by = staff.username.clone();
    let note = d.note.trim().chars().take(500).collect::<String>();
    let entry = audit::Entry::staff(
        &staff,
        if d.grant {
            "exchange.grant"
        } else {
            "exchange.refuse"
        },
        &format!("{}/{} → {}", r.provider, r.service, r.consumer),
        "ok",
    )
    .with_detail(r.purpose.clone());
    let grant_id = ctx
        .db
        .write(move |c| {
            if !grants::decide(c, id, d.grant, &by, &note, now)? {
                return Ok(None);
            }
            let g = match until {
                Some(u) => Some(grants::grant(
                    c,
                    &r.provider,
                    &r.service,
                    &r.consumer,
                    &r.purpose,
                    u,
                    &by,
                    now,
                )?),
                None => None,
            };
            audit::append(c, &entry)?;
            Ok(Some(g))
        })
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "already_decided",
                format!("request {id} was decided meanwhile"),
            )
        })?;
    Ok(Json(
        json!({"id": id, "state": if d.grant { "granted" } else { "refused" }, "grant": grant_id}),
    ))
}

#[derive(Deserialize)]
struct Give {
    service: String,
    consumer: String,
    purpose: String,
    valid_until: String,
}

/// `POST /api/v1/staff/exchange/grants`: the provider's administrator grants directly.
async fn give(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(g): JsonBody<Give>,
) -> Result<Json<Value>, ApiError> {
    let provider = staff.department.code.clone();
    let object = format!("{provider}/{} → {}", g.service, g.consumer);
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.grant", &object, e).await);
    }
    let purpose = grants::check_purpose(&g.purpose)?;
    let now = tongban_platform::time::now_millis();
    let until = valid_until(&ctx, &g.valid_until, now)?;
    let (p2, s2, c2) = (provider.clone(), g.service.clone(), g.consumer.clone());
    let (service, consumer) = ctx
        .db
        .read(move |c| {
            Ok((
                store::get(c, &p2, &s2)?,
                tongban_platform::identity::get_department(c, &c2)?,
            ))
        })
        .await?;
    let service = service.ok_or_else(|| {
        ExchangeError::ServiceNotFound(format!("your department provides no service {}", g.service))
    })?;
    if service.sharing == "none" {
        return Err(ExchangeError::NotShareable(format!(
            "{object}: 不予共享 resources are never granted"
        ))
        .into());
    }
    if consumer.is_none() {
        return Err(
            ExchangeError::Invalid(format!("consumer {} is not a department", g.consumer)).into(),
        );
    }
    let by = staff.username.clone();
    let entry =
        audit::Entry::staff(&staff, "exchange.grant", &object, "ok").with_detail(purpose.clone());
    let id = ctx
        .db
        .write(move |c| {
            let id = grants::grant(
                c,
                &provider,
                &g.service,
                &g.consumer,
                &purpose,
                until,
                &by,
                now,
            )?;
            audit::append(c, &entry)?;
            Ok(id)
        })
        .await?;
    Ok(Json(json!({"id": id, "valid_until": until})))
}

/// `GET /api/v1/staff/exchange/grants?box=given|held`.
async fn held_grants(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Grant>>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.grants", "", e).await);
    }
    let given = q.get("box").is_none_or(|b| b != "held");
    let dept = staff.department.code.clone();
    let (items, total) = ctx
        .db
        .read(move |c| grants::grants(c, &dept, given, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

/// `POST /api/v1/staff/exchange/grants/{id}/revoke`: effective at once on every node (each
/// call reads the grants).
async fn revoke(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.revoke", &id.to_string(), e).await);
    }
    let dept = staff.department.code.clone();
    let entry = audit::Entry::staff(&staff, "exchange.revoke", &id.to_string(), "ok");
    let now = tongban_platform::time::now_millis();
    let done = ctx
        .db
        .write(move |c| {
            let Some(g) = grants::get_grant(c, id)?.filter(|g| g.provider == dept) else {
                return Ok(None);
            };
            let changed = grants::revoke(c, id, now)?;
            if changed {
                audit::append(c, &entry)?;
            }
            Ok(Some((g, changed)))
        })
        .await?;
    match done {
        None => Err(ExchangeError::NotFound(format!("your department gave no grant {id}")).into()),
        Some((_, false)) => Err(ApiError::conflict(
            "already_revoked",
            format!("grant {id} was already revoked"),
        )),
        Some((g, true)) => Ok(Json(json!({"id": g.id, "revoked": true}))),
    }
}

/// `GET /api/v1/staff/exchange/log?subject=`: a department's exchanges (administrators), or
/// every exchange (auditors).
async fn message_log(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<log::Stored>>, ApiError> {
    let dept = if staff.has(Role::Auditor) {
        None
    } else if staff.has(Role::Admin) {
        Some(staff.department.code.clone())
    } else {
        let e =
            ExchangeError::Forbidden("the message log is for administrators and auditors".into());
        return Err(refused(&ctx, &staff, "exchange.log", "", e).await);
    };
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

/// `GET /api/v1/staff/exchange/verify`: walk the message log's chain (auditors).
async fn verify_chain(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
) -> Result<Json<log::Chain>, ApiError> {
    if !staff.has(Role::Auditor) {
        let e = ExchangeError::Forbidden("verifying the message log is for auditors".into());
        return Err(refused(&ctx, &staff, "exchange.verify", "", e).await);
    }
    Ok(Json(ctx.db.read(log::verify).await?))
}

/// `PUT /api/v1/staff/exchange/registries/{name}?key_field=`: a base registry as CSV or
/// XLSX (the request body), replacing the registry whole.
async fn load_registry(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(name): Path<String>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if let Err(e) = admin(&staff) {
        return Err(refused(&ctx, &staff, "exchange.registry", &name, e).await);
    }
    let key_field = q.get("key_field").cloned().unwrap_or_default();
    if key_field.is_empty() {
        return Err(ExchangeError::Invalid(
            "give key_field: the column records are found by (for example id_number)".into(),
        )
        .into());
    }
    let records = load(
        &ctx,
        &staff,
        &name,
        &key_field,
        q.get("filename").map_or("", |s| s),
        &body,
    )
    .await?;
    Ok(Json(json!({"registry": name, "records": records})))
}

/// Load a registry file as department `staff`'s (also the CLI's path).
pub async fn load(
    ctx: &Ctx,
    staff: &Staff,
    name: &str,
    key_field: &str,
    filename: &str,
    bytes: &[u8],
) -> Result<usize, ExchangeError> {
    let table = registry::read_table(filename, bytes)?;
    let n = registry::check(&table, key_field)?;
    let sealed = registry::seal(name, &table, key_field)?;
    let (name, key_field, provider) = (
        name.to_owned(),
        key_field.to_owned(),
        staff.department.code.clone(),
    );
    let entry = audit::Entry::staff(staff, "exchange.registry", &name, "ok")
        .with_detail(format!("{n} records"));
    let now = tongban_platform::time::now_millis();
    ctx.db
        .write(move |c| {
            Ok(
                registry::replace(c, &name, &provider, &key_field, &table.header, &sealed, now)
                    .and_then(|()| audit::append(c, &entry).map_err(ExchangeError::from)),
            )
        })
        .await??;
    Ok(n)
}
