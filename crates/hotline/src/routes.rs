//! HTTP for citizen participation. Public listener: file and follow work orders, rate cases
//! and orders, appeal, public letters and statistics, Open311. Internal listener: queues,
//! actions, rectifications, settings, partner keys, and the internal OpenAPI document.

use crate::letters::{self, LetterQuery};
use crate::open311::{self, Error311, Format, V};
use crate::orders::{self, Filer, NewOrder, OrderView, Summary};
use crate::rating_service::{self as rs, Appeal, RectAction, RectQuery};
use crate::ratings::{self, NewRating, RatingView};
use crate::settings::{self, Settings};
use crate::staff::{self, ActionReq, QueueQuery};
use axum::body::Bytes;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Request, State,
};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tongban_platform::http::{json_rejection, CitizenAuth, JsonBody, QueryParams, StaffAuth};
use tongban_platform::identity::Role;
use tongban_platform::{ApiError, Ctx};

mod staff_api;
pub use staff_api::{internal_router, INTERNAL_PATHS};

/// Paths served on the public listener (the OpenAPI document must describe each).
pub const PUBLIC_PATHS: [&str; 21] = [
    "/api/v1/workorders",
    "/api/v1/workorders/{order_no}",
    "/api/v1/workorders/{order_no}/rating",
    "/api/v1/workorders/{order_no}/rating/appeal",
    "/api/v1/cases/{case_no}/rating",
    "/api/v1/cases/{case_no}/rating/appeal",
    "/api/v1/workorder-categories",
    "/api/v1/letters",
    "/api/v1/letters/stats",
    "/api/v1/ratings/stats",
    "/open311/v2/discovery.json",
    "/open311/v2/discovery.xml",
    "/open311/v2/services.json",
    "/open311/v2/services.xml",
    "/open311/v2/services/{service_code}",
    "/open311/v2/requests.json",
    "/open311/v2/requests.xml",
    "/open311/v2/requests/{service_request_id}",
    "/open311/v2/tokens/{token}",
    "/api/v1/workorders/{order_no}/photos/{n}",
    "/open311/v2/media/{order_no}/{n}",
];

pub fn public_router(max_upload_bytes: usize) -> Router<Ctx> {
    let p = PUBLIC_PATHS;
    Router::new()
        .route(p[0], post(file).get(mine))
        .route(p[19], get(own_photo))
        .route(p[1], get(one))
        .route(p[2], post(rate_order))
        .route(p[3], post(appeal_order))
        .route(p[4], post(rate_case))
        .route(p[5], post(appeal_case))
        .route(p[6], get(categories))
        .route(p[7], get(letters_list))
        .route(p[8], get(letters_stats))
        .route(p[9], get(rating_stats))
        .route(p[10], get(|s: State<Ctx>| discovery(s.0, Format::Json)))
        .route(p[11], get(|s: State<Ctx>| discovery(s.0, Format::Xml)))
        .route(p[12], get(|s: State<Ctx>| services(s, Format::Json)))
        .route(p[13], get(|s: State<Ctx>| services(s, Format::Xml)))
        .route(p[14], get(definition))
        .route(
            p[15],
            get(|s: State<Ctx>, h: axum::http::HeaderMap, u: Uri| requests(s, h, u, Format::Json))
                .post(|s: State<Ctx>, r: Request| create311(s, r, Format::Json)),
        )
        .route(
            p[16],
            get(|s: State<Ctx>, h: axum::http::HeaderMap, u: Uri| requests(s, h, u, Format::Xml))
                .post(|s: State<Ctx>, r: Request| create311(s, r, Format::Xml)),
        )
        .route(p[17], get(request_one))
        .route(p[18], get(token))
        .route(p[20], get(media311))
        .layer(DefaultBodyLimit::max(
            max_upload_bytes
                .saturating_mul(orders::MAX_PHOTOS)
                .saturating_add(1 << 20),
        ))
}

/// The photo number of `?n=` (from 1; the first when not given).
pub fn photo_number(n: Option<&String>) -> Result<usize, ApiError> {
    match n {
        None => Ok(1),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=orders::MAX_PHOTOS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("n must be a photo number from 1 to {}", orders::MAX_PHOTOS),
                )
            }),
    }
}

/// A filing: JSON, or multipart with the JSON in an `order` part and up to three `photo`
/// parts.
pub struct Filing {
    pub order: NewOrder,
    pub photos: Vec<Vec<u8>>,
}

impl FromRequest<Ctx> for Filing {
    type Rejection = ApiError;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !ct.starts_with("multipart/form-data") {
            let Json(order) = Json::<NewOrder>::from_request(req, ctx)
                .await
                .map_err(json_rejection)?;
            return Ok(Filing {
                order,
                photos: Vec::new(),
            });
        }
        let mut mp = Multipart::from_request(req, ctx)
            .await
            .map_err(|e| ApiError::bad_request("bad_multipart", e.body_text()))?;
        let (mut order, mut photos) = (None, Vec::new());
        let bad = |e: axum::extract::multipart::MultipartError| {
            ApiError::new(
                e.status(),
                "bad_multipart",
                format!("cannot read the upload: {}", e.body_text()),
            )
        };
        while let Some(f) = mp.next_field().await.map_err(bad)? {
            match f.name().unwrap_or("") {
                "order" => {
                    let t = f.text().await.map_err(bad)?;
                    order = Some(serde_json::from_str::<NewOrder>(&t).map_err(|e| {
                        ApiError::bad_request("malformed_json", format!("the order part: {e}"))
                    })?);
                }
                "photo" => {
                    let b = f.bytes().await.map_err(bad)?;
                    if !b.is_empty() {
                        photos.push(b.to_vec());
                    }
                }
                other => {
                    return Err(ApiError::bad_request(
                        "bad_multipart",
                        format!("unexpected part {other:?}; send order (JSON) and photo"),
                    ))
                }
            }
        }
        let order = order
            .ok_or_else(|| ApiError::bad_request("bad_multipart", "the order part is missing"))?;
        Ok(Filing { order, photos })
    }
}

/// The citizen, if a session is sent (it must then be valid).
async fn optional_citizen(
    ctx: &Ctx,
    parts: &mut axum::http::request::Parts,
) -> Result<Option<i64>, ApiError> {
    if tongban_platform::http::token_of(parts, tongban_platform::http::SESSION_COOKIE).is_some() {
        Ok(Some(
            CitizenAuth::from_request_parts(parts, ctx)
                .await?
                .account_id,
        ))
    } else {
        Ok(None)
    }
}

async fn file(
    State(ctx): State<Ctx>,
    req: Request,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let (mut parts, body) = req.into_parts();
    let citizen = optional_citizen(&ctx, &mut parts).await?;
    let f = Filing::from_request(Request::from_parts(parts, body), &ctx).await?;
    let v = file_and_view(&ctx, f, citizen).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// File (checking everything before the photo is kept) and return the owner's view.
pub async fn file_and_view(
    ctx: &Ctx,
    f: Filing,
    citizen: Option<i64>,
) -> Result<OrderView, ApiError> {
    let filer = citizen.map_or(Filer::Anonymous, Filer::Citizen);
    let (no, code) = orders::file(ctx, f.order, filer, f.photos).await?;
    let mut v = orders::view(ctx, &no, citizen, Some(&code)).await?;
    v.query_code = Some(code);
    Ok(v)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CodeQ {
    /// The query code (查询码) given when the order was filed.
    code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PageQ {
    page: Option<i64>,
    page_size: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    total: i64,
    page: i64,
    per_page: i64,
}

fn paging(q: &PageQ) -> Result<(i64, i64), ApiError> {
    let p = tongban_platform::http::Paging::new(q.page, q.page_size.or(q.per_page), 20)?;
    Ok((p.page, p.page_size))
}

async fn mine(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    _p: tongban_platform::http::Paging,
    QueryParams(q): QueryParams<PageQ>,
) -> Result<Json<Page<Summary>>, ApiError> {
    let (page, per_page) = paging(&q)?;
    let (items, total) = orders::mine(&ctx, who.account_id, page, per_page).await?;
    Ok(Json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

async fn one(
    State(ctx): State<Ctx>,
    Path(order_no): Path<String>,
    req: Request,
) -> Result<Json<OrderView>, ApiError> {
    let (mut parts, _) = req.into_parts();
    let QueryParams(q) = QueryParams::<CodeQ>::from_request_parts(&mut parts, &ctx).await?;
    let citizen = optional_citizen(&ctx, &mut parts).await?;
    Ok(Json(
        orders::view(&ctx, &order_no, citizen, q.code.as_deref()).await?,
    ))
}

/// Photo `n` of an order, for its filer (signed in) or whoever gives its query code.
async fn own_photo(
    State(ctx): State<Ctx>,
    Path((order_no, n)): Path<(String, String)>,
    req: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = req.into_parts();
    let QueryParams(q) = QueryParams::<CodeQ>::from_request_parts(&mut parts, &ctx).await?;
    let citizen = optional_citizen(&ctx, &mut parts).await?;
    let n = photo_number(Some(&n))?;
    let code = q.code.map(|c| c.trim().to_ascii_uppercase());
    let (bytes, ct) = orders::citizen_photo(&ctx, &order_no, citizen, code.as_deref(), n).await?;
    Ok(photo_response(bytes, ct))
}

/// A photo shown by an <img>; opened on its own it downloads (never rendered as a page).
pub fn photo_response(bytes: Vec<u8>, content_type: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, no-store".into()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"photo\"".into(),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn rate_order(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(no): Path<String>,
    JsonBody(n): JsonBody<NewRating>,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(rs::rate_order(&ctx, who.account_id, &no, n).await?),
    ))
}

async fn rate_case(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(no): Path<String>,
    JsonBody(n): JsonBody<NewRating>,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(rs::rate_case(&ctx, who.account_id, &no, n).await?),
    ))
}

async fn appeal_order(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(no): Path<String>,
    JsonBody(a): JsonBody<Appeal>,
) -> Result<StatusCode, ApiError> {
    rs::appeal(&ctx, who.account_id, "workorder", &no, a).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn appeal_case(
    State(ctx): State<Ctx>,
    who: CitizenAuth,
    Path(no): Path<String>,
    JsonBody(a): JsonBody<Appeal>,
) -> Result<StatusCode, ApiError> {
    rs::appeal(&ctx, who.account_id, "case", &no, a).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn categories(State(ctx): State<Ctx>) -> Result<Json<serde_json::Value>, ApiError> {
    let s = settings::current(&ctx.db).await?;
    let cats: Vec<_> = s
        .all_categories()
        .into_iter()
        .map(|(code, name, parent)| json!({"code": code, "name": name, "parent": parent}))
        .collect();
    let types: Vec<_> = crate::rules::ORDER_TYPES
        .iter()
        .map(|t| json!({"code": t.as_str(), "name": t.label_zh()}))
        .collect();
    Ok(Json(
        json!({"categories": cats, "types": types, "districts": *s.districts}),
    ))
}

async fn letters_list(
    State(ctx): State<Ctx>,
    _p: tongban_platform::http::Paging,
    QueryParams(q): QueryParams<LetterQuery>,
) -> Result<Json<letters::Letters>, ApiError> {
    Ok(Json(letters::list(&ctx, q).await?))
}

async fn letters_stats(State(ctx): State<Ctx>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({"departments": letters::stats(&ctx).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsQ {
    department: Option<String>,
    matter: Option<String>,
}

async fn rating_stats(
    State(ctx): State<Ctx>,
    QueryParams(q): QueryParams<StatsQ>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let by_matter = q.matter.is_some();
    if by_matter && q.department.is_some() {
        return Err(ApiError::bad_request(
            "bad_query",
            "ask by department or by matter, not both",
        ));
    }
    let only = q.matter.or(q.department).filter(|s| !s.is_empty());
    let stats = ctx
        .db
        .read(move |c| ratings::stats(c, by_matter, only.as_deref()))
        .await?;
    let key = if by_matter { "matters" } else { "departments" };
    Ok(Json(json!({ key: stats })))
}

// ---- Open311 ----

/// Discovery names the configured public address, never the request's Host header.
async fn discovery(ctx: Ctx, f: Format) -> Response {
    let contact = match tongban_platform::region::current(&ctx.db).await {
        Ok(r) if !r.meta.hotline_name.is_empty() => r.meta.hotline_name.clone(),
        _ => "12345".to_owned(),
    };
    open311::render(
        f,
        StatusCode::OK,
        "discovery",
        &open311::discovery(&ctx.config.public_base(), &contact),
    )
}

fn reply311(f: Format, root: &str, r: Result<V, Error311>) -> Response {
    match r {
        Ok(v) => open311::render(f, StatusCode::OK, root, &v),
        Err(e) => e.render(f),
    }
}

async fn services(State(ctx): State<Ctx>, f: Format) -> Response {
    reply311(f, "services", open311::services(&ctx).await)
}

fn format_of(file: &str) -> Result<(&str, Format), Box<Response>> {
    open311::split_format(file).ok_or_else(|| {
        Box::new(
            Error311::new(StatusCode::NOT_FOUND, "add .json or .xml to the path")
                .render(Format::Json),
        )
    })
}

async fn definition(State(ctx): State<Ctx>, Path(file): Path<String>) -> Response {
    match format_of(&file) {
        Ok((code, f)) => reply311(
            f,
            "service_definition",
            open311::definition(&ctx, code).await,
        ),
        Err(r) => *r,
    }
}

fn query_pairs(q: Option<&str>) -> Result<Vec<(String, String)>, Error311> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q.unwrap_or(""))
        .map_err(|e| Error311::bad(format!("cannot read the query: {e}")))
}

/// An OAuth access token sent as `Authorization: Bearer`.
fn bearer(h: &axum::http::HeaderMap) -> Option<String> {
    h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn requests(
    State(ctx): State<Ctx>,
    headers: axum::http::HeaderMap,
    uri: Uri,
    f: Format,
) -> Response {
    let r = match query_pairs(uri.query()).and_then(|q| open311::parse_query(&q)) {
        Ok(mut q) => {
            q.bearer = bearer(&headers);
            open311::requests(&ctx, q).await
        }
        Err(e) => Err(e),
    };
    reply311(f, "service_requests", r)
}

/// POST requests: form fields (`application/x-www-form-urlencoded`), or the same fields as
/// parts of `multipart/form-data` with up to three photos as `media` parts.
async fn create311(State(ctx): State<Ctx>, req: Request, f: Format) -> Response {
    let token = bearer(req.headers());
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let r = async {
        let (form, photos) = if multipart {
            let mut mp = Multipart::from_request(req, &ctx)
                .await
                .map_err(|e| Error311::bad(format!("multipart/form-data: {}", e.body_text())))?;
            let (mut form, mut photos) = (Vec::new(), Vec::new());
            while let Some(field) = mp
                .next_field()
                .await
                .map_err(|e| Error311::bad(format!("multipart/form-data: {e}")))?
            {
                let name = field.name().unwrap_or("").to_owned();
                let data = field
                    .bytes()
                    .await
                    .map_err(|e| Error311::bad(format!("part {name:?}: {e}")))?;
                if name == "media" {
                    photos.push(data.to_vec());
                } else {
                    form.push((name, String::from_utf8_lossy(&data).into_owned()));
                }
            }
            (form, photos)
        } else {
            let body = Bytes::from_request(req, &ctx)
                .await
                .map_err(|e| Error311::bad(e.body_text()))?;
            let form =
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).map_err(|e| {
                    Error311::bad(format!(
                        "send application/x-www-form-urlencoded fields: {e}"
                    ))
                })?;
            (form, Vec::new())
        };
        open311::create(&ctx, &form, photos, token.as_deref()).await
    }
    .await;
    match r {
        Ok(v) => open311::render(f, StatusCode::CREATED, "service_requests", &v),
        Err(e) => e.render(f),
    }
}

/// `GET /open311/v2/media/{order_no}/{n}?exp=&sig=`: a public order's photo by its link.
async fn media311(
    State(ctx): State<Ctx>,
    Path((no, n)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let q = query_pairs(uri.query()).unwrap_or_default();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let exp = get("exp").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let Ok(n) = n.parse::<usize>() else {
        return Error311::new(StatusCode::NOT_FOUND, "no such photo").render(Format::Json);
    };
    open311::media::serve(&ctx, &no, n, exp, &get("sig").unwrap_or_default()).await
}

async fn request_one(
    State(ctx): State<Ctx>,
    headers: axum::http::HeaderMap,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let (id, f) = match format_of(&file) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let api_key = query_pairs(uri.query())
        .ok()
        .and_then(|q| q.into_iter().find(|(k, _)| k == "api_key").map(|(_, v)| v))
        .filter(|v| !v.is_empty());
    let q = open311::RequestQuery {
        ids: vec![id.to_owned()],
        page: 1,
        page_size: 1,
        api_key,
        bearer: bearer(&headers),
        ..Default::default()
    };
    match open311::requests(&ctx, q).await {
        Ok(V::List(_, items)) if items.is_empty() => {
            Error311::new(StatusCode::NOT_FOUND, format!("no service request {id:?}")).render(f)
        }
        r => reply311(f, "service_requests", r),
    }
}

async fn token(State(ctx): State<Ctx>, Path(file): Path<String>) -> Response {
    match format_of(&file) {
        Ok((t, f)) => reply311(f, "service_requests", open311::token(&ctx, t).await),
        Err(r) => *r,
    }
}

// ---- staff ----
