//! The search's faces on the public listener: `GET /api/v1/search` (JSON, with facets) and
//! the `/search` page.

use super::{search, Filter, Results};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::http::{Paging, QueryParams};
use tongban_platform::{ApiError, Ctx};
use tongban_web::Page;

pub const PUBLIC_PATHS: [&str; 1] = ["/api/v1/search"];
pub const INTERNAL_PATHS: [&str; 1] = ["/api/v1/staff/search/synonyms"];
pub const PAGE_PATHS: [&str; 1] = ["/search"];

/// The kinds of document the index holds (more as rooms come).
pub const KINDS: [&str; 4] = ["matter", "article", "letter", "dataset"];

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(PUBLIC_PATHS[0], get(api))
        .route(PAGE_PATHS[0], get(page))
}

pub fn internal_router() -> Router<Ctx> {
    Router::new().route(INTERNAL_PATHS[0], get(synonyms_get).put(synonyms_put))
}

/// `GET /api/v1/staff/search/synonyms`: the list in use, as text (`term = other terms` per
/// line).
async fn synonyms_get(
    State(ctx): State<Ctx>,
    tongban_platform::http::StaffAuth { .. }: tongban_platform::http::StaffAuth,
) -> Result<Json<Value>, ApiError> {
    let (list, at) = ctx.db.read(super::synonym_list).await?;
    Ok(Json(json!({"list": list, "updated_at": at})))
}

/// `PUT /api/v1/staff/search/synonyms` with the list as the body (text): saved whole, or
/// refused naming every bad line.
async fn synonyms_put(
    State(ctx): State<Ctx>,
    tongban_platform::http::StaffAuth { staff, .. }: tongban_platform::http::StaffAuth,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("not_utf8", "send the list as UTF-8 text"))?;
    let terms = super::save_synonyms(&ctx, &staff, text).await?;
    Ok(Json(json!({"terms": terms})))
}

/// The query and filters of a request; a clear refusal for what cannot be searched.
fn read(q: &HashMap<String, String>) -> Result<(String, Filter), ApiError> {
    let text = q.get("q").map(|s| s.trim().to_owned()).unwrap_or_default();
    if text.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "query_too_long",
            "q may be at most 100 characters",
        ));
    }
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let kind = get("type");
    if let Some(k) = &kind {
        if !KINDS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(
                "bad_type",
                format!("type must be one of {}", KINDS.join(", ")),
            ));
        }
    }
    let year = get("year");
    if let Some(y) = &year {
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::bad_request(
                "bad_year",
                "year must be four digits, e.g. 2026",
            ));
        }
    }
    Ok((
        text,
        Filter {
            kind,
            site: get("site"),
            department: get("department"),
            year,
        },
    ))
}

async fn run(ctx: &Ctx, q: &str, f: &Filter, p: Paging) -> Result<Results, ApiError> {
    if q.is_empty() {
        return Ok(Results::default());
    }
    Ok(search(ctx, q, f, p.page as usize, p.page_size as usize).await?)
}

/// `GET /api/v1/search?q=&type=&site=&department=&year=&page=&page_size=`.
async fn api(
    State(ctx): State<Ctx>,
    p: Paging,
    QueryParams(q): QueryParams<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (text, filter) = read(&q)?;
    let r = run(&ctx, &text, &filter, p).await?;
    Ok(Json(json!({
        "q": text, "items": r.items, "total": r.total, "page": p.page,
        "page_size": p.page_size, "facets": r.facets, "terms": r.terms,
    })))
}

/// `GET /search?q=`: the results with their snippets, narrowed by type and department.
async fn page(
    State(ctx): State<Ctx>,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let (text, filter) = match read(&q) {
        Ok(x) => x,
        Err(e) => return page.error(&e),
    };
    let r = match run(&ctx, &text, &filter, p).await {
        Ok(r) => r,
        Err(e) => return page.error(&e),
    };
    let mut base = format!("/search?q={}", tongban_web::page::urlencode(&text));
    for (k, v) in [
        ("type", &filter.kind),
        ("department", &filter.department),
        ("site", &filter.site),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("&{k}={}", tongban_web::page::urlencode(v)));
        }
    }
    base.push('&');
    page.render(
        StatusCode::OK,
        "search.html",
        context! {
            qenc => tongban_web::page::urlencode(&text), q => text, items => r.items, total => r.total, facets => r.facets,
            kind => filter.kind, department => filter.department, site => filter.site,
            page => p.page, per_page => p.page_size, base_query => base,
        },
    )
}
