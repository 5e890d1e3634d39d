//! Public catalogue routes: `GET /api/v1/matters` and `GET /api/v1/matters/{code}`.

use crate::model::{Matter, KINDS};
use crate::store::{self, Filter};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;
use tongban_platform::identity::Department;
use tongban_platform::{ApiError, Ctx};

/// Paths served on the public listener (the OpenAPI document must describe each).
pub const PUBLIC_PATHS: [&str; 3] = [
    "/api/v1/matters",
    "/api/v1/matters/{code}",
    "/api/v1/departments",
];

pub fn public_router() -> Router<Ctx> {
    let [matters, matter, depts] = PUBLIC_PATHS;
    Router::new()
        .route(matters, get(list))
        .route(matter, get(detail))
        .route(depts, get(departments))
}

#[derive(Serialize)]
pub struct MatterSummary {
    pub code: String,
    pub name: String,
    /// The English name; empty where none is given (the Chinese is shown then).
    pub name_en: String,
    pub department: Department,
    pub kind: String,
    pub promised_days: u32,
    pub legal_days: u32,
    pub online_depth: u8,
    pub max_visits: u8,
    pub fee: String,
}

impl From<Matter> for MatterSummary {
    fn from(m: Matter) -> Self {
        MatterSummary {
            code: m.code,
            name: m.name,
            name_en: m.name_en,
            department: m.department,
            kind: m.kind,
            promised_days: m.promised_days,
            legal_days: m.legal_days,
            online_depth: m.online_depth,
            max_visits: m.max_visits,
            fee: m.fee,
        }
    }
}

#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Parse `page` and `page_size` (`per_page` is its older name) by the one paging rule
/// (`platform::http::Paging`: pages from 1, at most 200 items, `400 invalid_paging`).
pub fn paging(q: &HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    let p = tongban_platform::http::Paging::from_query(q)?;
    Ok((p.page, p.page_size))
}

async fn list(
    State(ctx): State<Ctx>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Page<MatterSummary>>, ApiError> {
    let (page, per_page) = paging(&q)?;
    if let Some(k) = q.get("kind").filter(|k| !k.is_empty()) {
        if !KINDS.contains(&k.as_str()) {
            return Err(ApiError::bad_request(
                "bad_kind",
                format!("kind must be one of {}", KINDS.join(", ")),
            ));
        }
    }
    let online_depth = match q.get("online_depth").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<u8>() {
            Ok(d @ 1..=4) => Some(d),
            _ => {
                return Err(ApiError::bad_request(
                    "bad_online_depth",
                    "online_depth must be 1, 2, 3 or 4",
                ))
            }
        },
    };
    let filter = Filter {
        q: q.get("q").cloned(),
        department: q.get("department").filter(|v| !v.is_empty()).cloned(),
        kind: q.get("kind").filter(|v| !v.is_empty()).cloned(),
        online_depth,
        offset: (page - 1) * per_page,
        limit: per_page,
        ranked: None,
    };
    let mut filter = filter;
    if let Some(q) = filter.q.as_deref().filter(|q| !q.trim().is_empty()) {
        filter.ranked = tongban_platform::ranking::matters(&ctx.db, q).await;
    }
    let (items, total) = ctx.db.read(move |c| store::list(c, &filter)).await?;
    Ok(Json(Page {
        items: items.into_iter().map(MatterSummary::from).collect(),
        total,
        page,
        per_page,
    }))
}

/// A matter as the API shows it: the catalogue's record and the samples of its materials.
#[derive(Serialize)]
pub struct MatterDetail {
    #[serde(flatten)]
    pub matter: Matter,
    pub samples: Vec<crate::samples::Sample>,
}

async fn detail(
    State(ctx): State<Ctx>,
    Path(code): Path<String>,
) -> Result<Json<MatterDetail>, ApiError> {
    let c2 = code.clone();
    let found = ctx
        .db
        .read(move |c| {
            let Some(m) = store::get(c, &c2)? else {
                return Ok(None);
            };
            let samples = crate::samples::of_matter(c, &m)?;
            Ok(Some(MatterDetail { matter: m, samples }))
        })
        .await?;
    match found {
        Some(d) if d.matter.published => Ok(Json(d)),
        _ => Err(ApiError::not_found(
            "matter_not_found",
            format!("no published matter has code {code:?}"),
        )),
    }
}

async fn departments(State(ctx): State<Ctx>) -> Result<Json<Vec<Department>>, ApiError> {
    Ok(Json(
        ctx.db.read(crate::store::departments_with_matters).await?,
    ))
}
