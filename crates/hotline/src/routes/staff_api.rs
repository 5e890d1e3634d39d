//! The hotline's staff API on the internal listener: the work-order queue and actions,
//! rectifications, ratings, the hotline's settings and partner (Open311) keys.

use super::*;
use axum::extract::Query;
use std::collections::HashMap;
use tongban_platform::http::{Paged, Paging};

/// Paths served on the internal listener only.
pub const INTERNAL_PATHS: [&str; 10] = [
    "/api/v1/staff/workorders",
    "/api/v1/staff/workorders/{order_no}",
    "/api/v1/staff/workorders/{order_no}/actions",
    "/api/v1/staff/workorders/{order_no}/photo",
    "/api/v1/staff/rectifications",
    "/api/v1/staff/rectifications/{id}/actions",
    "/api/v1/staff/hotline/settings",
    "/api/v1/staff/hotline/suggest",
    "/api/v1/staff/apikeys",
    "/api/v1/staff/ratings",
];

pub fn internal_router() -> Router<Ctx> {
    let p = INTERNAL_PATHS;
    Router::new()
        .route(p[0], get(queue).post(operator_file))
        .route(p[1], get(staff_one))
        .route(p[2], post(act))
        .route(p[3], get(photo))
        .route(p[4], get(rectifications))
        .route(p[5], post(rect_act))
        .route(p[6], get(get_settings).put(put_settings))
        .route(p[7], get(suggest))
        .route(p[8], get(list_keys).post(add_key))
        .route(p[9], get(ratings_list))
}

async fn queue(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    _p: Paging,
    QueryParams(q): QueryParams<QueueQuery>,
) -> Result<Json<staff::Queue>, ApiError> {
    Ok(Json(staff::queue(&ctx, &who.staff, q).await?))
}

/// A phone call entered by an operator (a dispatcher): the channel is `phone`.
async fn operator_file(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    JsonBody(n): JsonBody<NewOrder>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    if !who.staff.has(Role::Dispatcher) {
        return Err(ApiError::forbidden(
            "calls are entered by dispatchers (operators) of the hotline",
        ));
    }
    let (no, code) = orders::file(&ctx, n, Filer::Operator(who.staff.clone()), Vec::new()).await?;
    let o = staff::order(&ctx, &who.staff, &no).await?;
    let mut v = serde_json::to_value(o).map_err(|_| ApiError::internal())?;
    // The operator reads the query code to the caller (it is also in the SMS).
    if let Some(m) = v.as_object_mut() {
        m.insert("query_code".into(), code.into());
    }
    Ok((StatusCode::CREATED, Json(v)))
}

/// The order; `?purpose=` unmasks the phone for a `pii_reader` (audited).
async fn staff_one(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<staff::StaffOrder>, ApiError> {
    let purpose = q.get("purpose").map(String::as_str);
    Ok(Json(
        staff::order_with(&ctx, &who.staff, &no, purpose).await?,
    ))
}

async fn act(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(no): Path<String>,
    JsonBody(a): JsonBody<ActionReq>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let status = staff::act(&ctx, &who.staff, &no, a).await?;
    // After a return (退单) the order has left the caller's queues: say only where it is.
    match staff::order(&ctx, &who.staff, &no).await {
        Ok(o) => Ok(Json(
            serde_json::to_value(o).map_err(|_| ApiError::internal())?,
        )),
        Err(_) => Ok(Json(
            json!({"order_no": no, "status": status, "department": null}),
        )),
    }
}

/// Photo `?n=` (from 1; the first by default).
async fn photo(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let n = crate::routes::photo_number(q.get("n"))?;
    let (bytes, ct) = staff::photo(&ctx, &who.staff, &no, n).await?;
    Ok(crate::routes::photo_response(bytes, ct))
}

async fn rectifications(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    _p: Paging,
    QueryParams(q): QueryParams<RectQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        serde_json::to_value(rs::rectifications(&ctx, &who.staff, q).await?)
            .map_err(|_| ApiError::internal())?,
    ))
}

async fn rect_act(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    Path(id): Path<String>,
    JsonBody(a): JsonBody<RectAction>,
) -> Result<Json<rs::Rectification>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::not_found(
            "rectification_not_found",
            format!("no rectification {id:?}"),
        )
    })?;
    Ok(Json(rs::rectification_act(&ctx, &who.staff, id, a).await?))
}

fn settings_role(who: &StaffAuth, write: bool) -> Result<(), ApiError> {
    let ok = who.staff.has(Role::Supervisor) || (!write && staff::is_hotline_staff(&who.staff));
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the hotline's categories, routing and limits are set by supervisors",
        ))
    }
}

async fn get_settings(State(ctx): State<Ctx>, who: StaffAuth) -> Result<Json<Settings>, ApiError> {
    settings_role(&who, false)?;
    Ok(Json(settings::current(&ctx.db).await?))
}

async fn put_settings(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    JsonBody(s): JsonBody<Settings>,
) -> Result<Json<Settings>, ApiError> {
    settings_role(&who, true)?;
    Ok(Json(settings::replace(&ctx, &who.staff, s).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestQ {
    text: String,
}

async fn suggest(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    QueryParams(q): QueryParams<SuggestQ>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !staff::is_hotline_staff(&who.staff) {
        return Err(ApiError::forbidden(
            "category suggestions are for hotline staff",
        ));
    }
    let s = settings::current(&ctx.db).await?;
    let items: Vec<_> = s
        .tree
        .suggest(&q.text)
        .into_iter()
        .map(|c| json!({"name": s.category_name(&c), "code": c}))
        .collect();
    Ok(Json(json!({"suggestions": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyReq {
    name: String,
}

async fn add_key(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    JsonBody(k): JsonBody<KeyReq>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    if !who.staff.has(Role::Supervisor) {
        return Err(ApiError::forbidden(
            "Open311 keys are issued by supervisors of the hotline",
        ));
    }
    let key = open311::issue_key(&ctx, &who.staff, &k.name).await?;
    let name = k.name.trim();
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "api_key": key})),
    ))
}

async fn list_keys(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    p: Paging,
) -> Result<Json<Paged<open311::IssuedKey>>, ApiError> {
    if !who.staff.has(Role::Supervisor) {
        return Err(ApiError::forbidden(
            "Open311 keys are seen by supervisors of the hotline",
        ));
    }
    let (items, total) = ctx
        .db
        .read(move |c| open311::list_keys(c, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingsQ {
    department: Option<String>,
    subject_kind: Option<String>,
    level: Option<i64>,
    page: Option<i64>,
    page_size: Option<i64>,
    per_page: Option<i64>,
}

/// Ratings, the newest first: a department's own for its staff, any department's for
/// supervisors. Who rated is never shown.
async fn ratings_list(
    State(ctx): State<Ctx>,
    who: StaffAuth,
    p: Paging,
    QueryParams(q): QueryParams<RatingsQ>,
) -> Result<Json<Paged<ratings::Listed>>, ApiError> {
    let _ = (q.page, q.page_size, q.per_page);
    let department = q.department.filter(|d| !d.is_empty());
    let department = if who.staff.has(Role::Supervisor) {
        department
    } else if rs::department_role(&who.staff) {
        let own = who.staff.department.code.clone();
        if department.as_ref().is_some_and(|d| *d != own) {
            return Err(ApiError::forbidden(
                "department staff read their own department's ratings",
            ));
        }
        Some(own)
    } else {
        return Err(ApiError::forbidden(
            "ratings are for department staff and supervisors",
        ));
    };
    let subject_kind = q.subject_kind.filter(|k| !k.is_empty());
    if let Some(k) = subject_kind
        .as_deref()
        .filter(|k| !["case", "workorder"].contains(k))
    {
        return Err(ApiError::bad_request(
            "invalid_subject_kind",
            format!("subject_kind must be case or workorder, got {k:?}"),
        ));
    }
    if let Some(l) = q.level.filter(|l| !(1..=5).contains(l)) {
        return Err(ApiError::bad_request(
            "invalid_level",
            format!("level must be 1 to 5, got {l}"),
        ));
    }
    let f = ratings::ListFilter {
        department,
        subject_kind,
        level: q.level,
    };
    let (items, total) = ctx
        .db
        .read(move |c| ratings::list(c, &f, p.page_size, p.offset()))
        .await?;
    Ok(Json(Paged::new(items, total, p)))
}
