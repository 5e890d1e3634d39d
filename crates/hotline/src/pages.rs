//! Pages for citizen participation: file a complaint or question (with a photo, on a phone),
//! follow it, rate the answer, appeal; my orders; the public mailbox. The console's pages are
//! in `console_pages.rs` (re-exported here for the server).

use crate::letters::{self, LetterQuery};
use crate::orders::{self, NewOrder};
use crate::rating_service::{self as rs, Appeal};
use crate::ratings::{self, NewRating};
use crate::routes::{file_and_view, Filing};
use crate::settings;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{CitizenPage, Page, SafeForm, SafeMultipart};

pub use crate::console_pages::{console_router, CONSOLE_PATHS};

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route("/workorders/new", get(new_form).post(new_submit))
        .route("/workorders/{order_no}", get(order_page))
        .route("/workorders/{order_no}/photos/{n}", get(photo_page))
        .route("/workorders/{order_no}/rating", post(rate))
        .route("/workorders/{order_no}/appeal", post(appeal))
        .route("/my/workorders", get(my_orders))
        .route(
            "/my/cases/{case_no}/rating",
            get(case_rating).post(rate_case),
        )
        .route("/my/cases/{case_no}/appeal", post(appeal_case))
        .route("/letters", get(letters_page))
}

/// The field an error code belongs to, to show it beside that field.
pub(crate) fn field_of(code: &str) -> &'static str {
    match code {
        "unknown_type" => "type",
        "unknown_category" => "category",
        "unknown_district" => "district",
        "missing_location" | "invalid_location" | "outside_region" => "street",
        "invalid_title" => "title",
        "invalid_content" => "content",
        "invalid_phone" | "phone_required" => "phone",
        "invalid_email" => "email",
        "invalid_photo" | "too_many_photos" | "too_large" => "photo",
        _ => "",
    }
}

pub(crate) async fn form_data(ctx: &Ctx) -> Value {
    let s = settings::current(&ctx.db).await.unwrap_or_default();
    let mut groups: Vec<Value> = Vec::new();
    for (code, name, parent) in s.all_categories() {
        match parent {
            None => groups.push(json!({"code": code, "name": name, "subs": []})),
            Some(p) => {
                // Deeper categories are listed under their top one with their path.
                let top = crate::categories::top(&p).to_owned();
                let name = if p == top {
                    name
                } else {
                    format!("{} › {name}", s.category_name(&p))
                };
                if let Some(Value::Array(subs)) = groups.last_mut().and_then(|g| g.get_mut("subs"))
                {
                    subs.push(json!({"code": code, "name": name}));
                }
            }
        }
    }
    // The region's streets and towns to pick from while typing the place (a city's few
    // hundred; a province's are too many to send with every form).
    let streets: Vec<String> = match tongban_platform::region::current(&ctx.db).await {
        Ok(r) => {
            let all: Vec<String> = r
                .divisions
                .iter()
                .filter(|d| d.level == tongban_platform::region::Level::Street)
                .map(|d| d.name.clone())
                .collect();
            if all.len() <= 1000 {
                all
            } else {
                Vec::new()
            }
        }
        Err(_) => Vec::new(),
    };
    json!({
        "groups": groups,
        "types": crate::rules::ORDER_TYPES.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "districts": *s.districts,
        "streets": streets,
    })
}

fn new_page(
    page: &Page,
    status: StatusCode,
    data: Value,
    values: &Map<String, Value>,
    e: Option<&ApiError>,
    action: &str,
) -> Response {
    let (errors, error) = match e {
        Some(e) => {
            let f = field_of(&e.code);
            let text = page.error_text(e);
            if f.is_empty() {
                (HashMap::new(), Some(text))
            } else {
                (HashMap::from([(f.to_owned(), text)]), None)
            }
        }
        None => (HashMap::new(), None),
    };
    page.render(
        status,
        "workorder_new.html",
        context! { f => data, values, errors, error, action },
    )
}

async fn new_form(State(ctx): State<Ctx>, page: Page) -> Response {
    let mut values = Map::new();
    values.insert("type".into(), json!("complaint"));
    new_page(
        &page,
        StatusCode::OK,
        form_data(&ctx).await,
        &values,
        None,
        "/workorders/new",
    )
}

/// Read the order form (multipart, with up to three photos).
async fn read_form(mut mp: Multipart) -> Result<(Map<String, Value>, Vec<Vec<u8>>), ApiError> {
    let mut values = Map::new();
    let mut photos = Vec::new();
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            e.status(),
            "too_large",
            format!("the upload could not be read: {}", e.body_text()),
        )
    };
    while let Some(f) = mp.next_field().await.map_err(bad)? {
        let name = f.name().unwrap_or("").to_owned();
        if name == "photo" {
            let b = f.bytes().await.map_err(bad)?;
            if !b.is_empty() {
                photos.push(b.to_vec());
            }
        } else {
            values.insert(name, Value::String(f.text().await.map_err(bad)?));
        }
    }
    Ok((values, photos))
}

pub(crate) fn order_from(values: &Map<String, Value>) -> NewOrder {
    let s = |k: &str| {
        values
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let opt = |k: &str| Some(s(k)).filter(|v| !v.is_empty());
    let num = |k: &str| opt(k).and_then(|v| v.parse::<f64>().ok());
    NewOrder {
        order_type: s("type"),
        category: s("category"),
        district: s("district"),
        street: s("street"),
        title: s("title"),
        content: s("content"),
        public: s("public") == "true",
        lat: num("lat"),
        long: num("long"),
        phone: opt("phone"),
        email: opt("email"),
        channel: Some("web".into()),
        media_url: None,
    }
}

async fn new_submit(
    State(ctx): State<Ctx>,
    page: Page,
    SafeMultipart(mp): SafeMultipart,
) -> Response {
    let data = form_data(&ctx).await;
    let (values, photos) = match read_form(mp).await {
        Ok(x) => x,
        Err(e) => {
            return new_page(
                &page,
                e.status,
                data,
                &Map::new(),
                Some(&e),
                "/workorders/new",
            )
        }
    };
    let f = Filing {
        order: order_from(&values),
        photos,
    };
    match file_and_view(&ctx, f, page.citizen_id).await {
        Ok(v) => Redirect::to(&format!(
            "/workorders/{}?done=filed&code={}",
            v.order_no,
            v.query_code.unwrap_or_default()
        ))
        .into_response(),
        Err(e) => new_page(&page, e.status, data, &values, Some(&e), "/workorders/new"),
    }
}

async fn order_page(
    State(ctx): State<Ctx>,
    page: Page,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let code = q
        .get("code")
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    show_order(
        &ctx,
        &page,
        &no,
        StatusCode::OK,
        q.get("done").map(String::as_str),
        None,
        code.as_deref(),
    )
    .await
}

/// Photo `n` of an order on its page: for the signed-in filer, or with `?code=`.
async fn photo_page(
    State(ctx): State<Ctx>,
    page: Page,
    Path((no, n)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let code = q
        .get("code")
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty());
    let found = match crate::routes::photo_number(Some(&n)) {
        Ok(n) => orders::citizen_photo(&ctx, &no, page.citizen_id, code.as_deref(), n)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match found {
        Ok((bytes, ct)) => crate::routes::photo_response(bytes, ct),
        Err(e) => page.error(&e),
    }
}

async fn show_order(
    ctx: &Ctx,
    page: &Page,
    no: &str,
    status: StatusCode,
    done: Option<&str>,
    e: Option<&ApiError>,
    code: Option<&str>,
) -> Response {
    let o = match orders::view(ctx, no, page.citizen_id, code)
        .await
        .map_err(ApiError::from)
    {
        Ok(o) => o,
        Err(e) => return page.error(&e),
    };
    let tz = ctx.tz;
    let no2 = no.to_owned();
    let rating = if o.mine && o.rated {
        ctx.db
            .read(move |c| ratings::get(c, "workorder", &no2, tz))
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let flash = done.map(|d| {
        page.t(&format!(
            "wo.done_{}",
            d.replace(|c: char| !c.is_ascii_alphabetic() && c != '_', "")
        ))
    });
    let error = e.map(|e| page.error_text(e));
    let levels: Vec<Value> = ratings::LEVELS.iter().map(|(l, _)| json!(l)).collect();
    page.render(
        status,
        "workorder.html",
        context! { o, rating, flash, error, levels, dimensions => ratings::DIMENSIONS,
        code => if o.detail { code } else { None }, wrong_code => code.is_some() && !o.detail },
    )
}

async fn rate(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    SafeForm(f): SafeForm<RatingForm>,
) -> Response {
    let n = rating_from(&f);
    match rs::rate_order(&ctx, id, &no, n)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Redirect::to(&format!("/workorders/{no}?done=rated")).into_response(),
        Err(e) => show_order(&ctx, &page, &no, e.status, None, Some(&e), None).await,
    }
}

async fn appeal(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    SafeForm(AppealForm { reason }): SafeForm<AppealForm>,
) -> Response {
    let a = Appeal { reason };
    match rs::appeal(&ctx, id, "workorder", &no, a)
        .await
        .map_err(ApiError::from)
    {
        Ok(()) => Redirect::to(&format!("/workorders/{no}?done=appealed")).into_response(),
        Err(e) => show_order(&ctx, &page, &no, e.status, None, Some(&e), None).await,
    }
}

/// The rating page of one's own case (linked from the case page once it is decided).
async fn case_rating(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    show_case_rating(
        &ctx,
        &page,
        id,
        &no,
        StatusCode::OK,
        q.get("done").map(String::as_str),
        None,
    )
    .await
}

async fn show_case_rating(
    ctx: &Ctx,
    page: &Page,
    citizen: i64,
    no: &str,
    status: StatusCode,
    done: Option<&str>,
    e: Option<&ApiError>,
) -> Response {
    let no2 = no.to_owned();
    let tz = ctx.tz;
    let found = ctx
        .db
        .read(move |c| {
            let Some(k) =
                tongban_cases::store::for_rating(c, &no2)?.filter(|k| k.applicant_id == citizen)
            else {
                return Ok(None);
            };
            let name = tongban_catalog::get_matter(c, &k.matter_code)?
                .map(|m| m.name)
                .unwrap_or_default();
            let rating = ratings::get(c, "case", &no2, tz)?;
            Ok(Some((k, name, rating)))
        })
        .await;
    let (k, matter_name, rating) = match found {
        Ok(Some(x)) => x,
        Ok(None) => {
            return page.error(&ApiError::not_found(
                "case_not_found",
                "no such case of yours",
            ))
        }
        Err(e) => return page.error(&e.into()),
    };
    let flash = done.map(|d| {
        page.t(&format!(
            "wo.done_{}",
            d.replace(|c: char| !c.is_ascii_alphabetic() && c != '_', "")
        ))
    });
    let error = e.map(|e| page.error_text(e));
    let k = json!({"case_no": k.case_no, "status": k.status.as_str()});
    let levels: Vec<Value> = ratings::LEVELS.iter().map(|(l, _)| json!(l)).collect();
    page.render(status, "case_rating.html", context! { k, matter_name, rating, flash, error, levels, dimensions => ratings::DIMENSIONS })
}

/// The rating form: a level, the online dimensions (each 1–5 when given) and a comment.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct RatingForm {
    level: String,
    comment: String,
    overall: String,
    efficiency: String,
    guide_accuracy: String,
    convenience: String,
    usability: String,
}

fn rating_from(f: &RatingForm) -> NewRating {
    let mut dims = Map::new();
    for (d, v) in ratings::DIMENSIONS.iter().zip([
        &f.overall,
        &f.efficiency,
        &f.guide_accuracy,
        &f.convenience,
        &f.usability,
    ]) {
        if !v.is_empty() {
            dims.insert(
                (*d).into(),
                v.parse::<i64>()
                    .map_or(Value::String(v.clone()), Value::from),
            );
        }
    }
    NewRating {
        level: f.level.parse().unwrap_or(0),
        dimensions: dims,
        comment: f.comment.clone(),
    }
}

async fn rate_case(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    SafeForm(f): SafeForm<RatingForm>,
) -> Response {
    match rs::rate_case(&ctx, id, &no, rating_from(&f))
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Redirect::to(&format!("/my/cases/{no}/rating?done=rated")).into_response(),
        Err(e) => show_case_rating(&ctx, &page, id, &no, e.status, None, Some(&e)).await,
    }
}

async fn appeal_case(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    SafeForm(AppealForm { reason }): SafeForm<AppealForm>,
) -> Response {
    let a = Appeal { reason };
    match rs::appeal(&ctx, id, "case", &no, a)
        .await
        .map_err(ApiError::from)
    {
        Ok(()) => Redirect::to(&format!("/my/cases/{no}/rating?done=appealed")).into_response(),
        Err(e) => show_case_rating(&ctx, &page, id, &no, e.status, None, Some(&e)).await,
    }
}

async fn my_orders(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let pg = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    match orders::mine(&ctx, id, pg, 20).await.map_err(ApiError::from) {
        Ok((items, total)) => page.ok(
            "my_workorders.html",
            context! { items, total, page => pg, per_page => 20 },
        ),
        Err(e) => page.error(&e),
    }
}

async fn letters_page(
    State(ctx): State<Ctx>,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let pg = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let lq = LetterQuery {
        department: get("department"),
        category: get("category"),
        q: get("q"),
        order: get("order"),
        page: Some(pg),
        page_size: Some(10),
        per_page: None,
    };
    let list = match letters::list(&ctx, lq).await.map_err(ApiError::from) {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let stats = letters::stats(&ctx)
        .await
        .map_err(ApiError::from)
        .unwrap_or_default();
    let data = form_data(&ctx).await;
    let mut base = String::from("/letters?");
    for k in ["department", "category", "q"] {
        if let Some(v) = get(k) {
            base.push_str(&format!("{k}={}&", tongban_web::page::urlencode(&v)));
        }
    }
    page.ok(
        "letters.html",
        context! { list, stats, f => data, department => get("department"), category => get("category"), q => get("q"), base },
    )
}

// ---- console ----

/// The appeal form: why the rating's outcome is contested.
#[derive(serde::Deserialize)]
struct AppealForm {
    #[serde(default)]
    reason: String,
}
