//! The sites' and articles' JSON faces: staff (internal listener) write, review and publish;
//! anyone (public listener) reads what is published.

use super::flow::{self, Step};
use super::{Article, Draft, ListQuery};
use crate::sites::{self, Site};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::http::{JsonBody, Paged, Paging, QueryParams, StaffAuth};
use tongban_platform::identity::Role;
use tongban_platform::{ApiError, Ctx};

pub const INTERNAL_PATHS: [&str; 7] = [
    "/api/v1/staff/sites",
    "/api/v1/staff/sites/{code}",
    "/api/v1/staff/sites/{code}/logo",
    "/api/v1/staff/articles",
    "/api/v1/staff/articles/{id}",
    "/api/v1/staff/articles/{id}/files",
    "/api/v1/staff/articles/{id}/{action}",
];

pub const PUBLIC_PATHS: [&str; 3] = [
    "/api/v1/sites",
    "/api/v1/sites/{code}/articles",
    "/api/v1/articles/{id}",
];

pub fn internal_router() -> Router<Ctx> {
    let p = INTERNAL_PATHS;
    Router::new()
        .route(p[0], get(staff_sites))
        .route(p[1], put(save_site).get(one_site))
        .route(p[2], put(save_logo).post(save_logo))
        .route(p[3], get(staff_articles).post(create))
        .route(p[4], get(read).put(update))
        .route(p[5], post(attach))
        .route(p[6], post(act))
}

pub fn public_router() -> Router<Ctx> {
    let p = PUBLIC_PATHS;
    Router::new()
        .route(p[0], get(public_sites))
        .route(p[1], get(public_articles))
        .route(p[2], get(public_article))
}

fn sites_json(sites: Vec<Site>) -> Value {
    json!({ "items": sites, "topics": super::topics(), "doc_kinds": super::DOC_KINDS,
            "validities": super::VALIDITIES })
}

async fn staff_sites(
    State(ctx): State<Ctx>,
    StaffAuth { .. }: StaffAuth,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(sites_json(ctx.db.read(sites::list).await?)))
}

/// `PUT /api/v1/staff/sites/{code}`: a site saved whole by an administrator of the department
/// that owns it (and owns it after).
async fn save_site(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    JsonBody(mut s): JsonBody<Site>,
) -> Result<Json<Value>, ApiError> {
    s.code = code.clone();
    let created = sites::save_as(&ctx, &staff, s).await?;
    let site = ctx.db.read(move |c| sites::get(c, &code)).await?;
    Ok(Json(json!({ "site": site, "created": created })))
}

/// `GET /api/v1/staff/sites/{code}`: one site with its columns and host.
async fn one_site(
    State(ctx): State<Ctx>,
    StaffAuth { .. }: StaffAuth,
    Path(code): Path<String>,
) -> Result<Json<Site>, ApiError> {
    let c2 = code.clone();
    ctx.db
        .read(move |c| sites::get(c, &c2))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no_such_site", format!("no site {code}")))
}

/// `PUT /api/v1/staff/sites/{code}/logo`: the logo (JPEG, PNG or GIF), re-encoded without
/// metadata.
async fn save_logo(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let logo = sites::set_logo_as(&ctx, &staff, &code, body.to_vec()).await?;
    Ok(Json(json!({ "logo": logo })))
}

fn text(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn year(q: &HashMap<String, String>) -> Result<Option<i32>, ApiError> {
    text(q, "year")
        .map(|y| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (1949..=9999).contains(y))
                .ok_or_else(|| ApiError::bad_request("bad_year", "year: a year like 2026"))
        })
        .transpose()
}

/// `GET /api/v1/staff/articles?state=&site=`: the articles of the reader's department's
/// sites (site editors and reviewers).
async fn staff_articles(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Article>>, ApiError> {
    if !(staff.has(Role::SiteEditor) || staff.has(Role::SiteReviewer)) {
        return Err(ApiError::forbidden(
            "site editors and reviewers list articles",
        ));
    }
    let state = text(&q, "state").unwrap_or_else(|| "draft".into());
    if !super::STATES.contains(&state.as_str()) {
        return Err(ApiError::bad_request(
            "bad_state",
            format!("state: one of {}", super::STATES.join(", ")),
        ));
    }
    let lq = ListQuery {
        site: text(&q, "site"),
        department: Some(staff.department.code.clone()),
        state: Some(state),
        limit: p.page_size,
        offset: p.offset(),
        ..ListQuery::default()
    };
    let tz = ctx.tz;
    let (items, total) = ctx.db.read(move |c| super::list(c, &lq, tz)).await?;
    Ok(Json(Paged::new(items, total, p)))
}

async fn create(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    JsonBody(d): JsonBody<Draft>,
) -> Result<(axum::http::StatusCode, Json<Article>), ApiError> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(flow::create(&ctx, &staff, d).await?),
    ))
}

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found("no_such_article", format!("no article {s}")))
}

async fn read(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<Article>, ApiError> {
    Ok(Json(flow::read(&ctx, &staff, id_of(&id)?).await?))
}

async fn update(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<String>,
    JsonBody(d): JsonBody<Draft>,
) -> Result<Json<Article>, ApiError> {
    Ok(Json(flow::update(&ctx, &staff, id_of(&id)?, d).await?))
}

/// `POST /api/v1/staff/articles/{id}/files?name=`: the file as the body.
async fn attach(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    body: Bytes,
) -> Result<(axum::http::StatusCode, Json<super::Attachment>), ApiError> {
    let name = text(&q, "name").unwrap_or_else(|| "file".into());
    let a = super::files::attach(&ctx, &staff, id_of(&id)?, &name, body.to_vec()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(a)))
}

/// `POST /api/v1/staff/articles/{id}/{submit|publish|return|withdraw}` with `{"note":
/// "...", "publish_at": "..."}` (or nothing).
async fn act(
    State(ctx): State<Ctx>,
    StaffAuth { staff, .. }: StaffAuth,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Article>, ApiError> {
    let step = if body.iter().all(u8::is_ascii_whitespace) {
        Step::default()
    } else {
        serde_json::from_slice::<Step>(&body).map_err(|e| {
            ApiError::unprocessable(
                "invalid_body",
                format!("send {{\"note\": \"...\", \"publish_at\": \"...\"}} or nothing: {e}"),
            )
        })?
    };
    Ok(Json(
        flow::act(&ctx, &staff, id_of(&id)?, &action, step).await?,
    ))
}

async fn public_sites(State(ctx): State<Ctx>) -> Result<Json<Value>, ApiError> {
    let mut sites = ctx.db.read(sites::list).await?;
    for s in &mut sites {
        // Which node serves which host, and who edits it, are no one's business but the
        // city's.
        s.host = None;
        s.staff.clear();
        s.logo = s.logo.as_ref().map(|_| format!("/sites/{}/logo", s.code));
    }
    Ok(Json(sites_json(sites)))
}

/// `GET /api/v1/sites/{code}/articles?column=&topic=&year=`: published articles, newest first.
async fn public_articles(
    State(ctx): State<Ctx>,
    Path(code): Path<String>,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Paged<Article>>, ApiError> {
    let code2 = code.clone();
    if ctx.db.read(move |c| sites::get(c, &code2)).await?.is_none() {
        return Err(ApiError::not_found(
            "no_such_site",
            format!("no site {code}"),
        ));
    }
    let lq = ListQuery {
        site: Some(code),
        column: text(&q, "column"),
        topic: text(&q, "topic"),
        year: year(&q)?,
        limit: p.page_size,
        offset: p.offset(),
        ..ListQuery::default()
    };
    let tz = ctx.tz;
    let (items, total) = ctx.db.read(move |c| super::list(c, &lq, tz)).await?;
    Ok(Json(Paged::new(items, total, p)))
}

async fn public_article(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
) -> Result<Json<Article>, ApiError> {
    let id = id_of(&id)?;
    let tz = ctx.tz;
    ctx.db
        .read(move |c| super::get(c, id, tz, false))
        .await?
        .filter(|a| a.state == "published")
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no_such_article", format!("no published article {id}")))
}
