//! Pages for citizen participation. Public: file a complaint or question (with a photo, on a
//! phone), follow it, rate the answer, appeal; my orders; the public mailbox. Console: the
//! queues by role, the order page with the actions the roles allow, the operator's entry form
//! for calls with category suggestions, and rectifications.

use crate::letters::{self, LetterQuery};
use crate::orders::{self, Filer, NewOrder};
use crate::rating_service::{self as rs, Appeal, RectAction, RectQuery};
use crate::ratings::{self, NewRating};
use crate::routes::{file_and_view, Filing};
use crate::settings;
use crate::staff::{self, ActionReq, QueueQuery, QUEUES};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tongban_platform::identity::Role;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{CitizenPage, Page, StaffPage};

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route("/workorders/new", get(new_form).post(new_submit))
        .route("/workorders/{order_no}", get(order_page))
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

/// Console pages served here (internal listener only).
pub const CONSOLE_PATHS: [&str; 9] = [
    "/console/workorders",
    "/console/workorders/new",
    "/console/workorders/{order_no}",
    "/console/workorders/{order_no}/actions",
    "/console/workorders/{order_no}/photo",
    "/console/rectifications",
    "/console/rectifications/{id}/actions",
    "/console/apikeys",
    "/console/apikeys/{id}/revoke",
];

pub fn console_router() -> Router<Ctx> {
    let p = CONSOLE_PATHS;
    Router::new()
        .route(p[0], get(console_queue))
        .route(p[1], get(operator_form).post(operator_submit))
        .route(p[2], get(console_order))
        .route(p[3], post(console_act))
        .route(p[4], get(console_photo))
        .route(p[5], get(console_rects))
        .route(p[6], post(console_rect_act))
        .route(p[7], get(apikeys).post(apikey_add))
        .route(p[8], post(apikey_revoke))
}

/// The field an error code belongs to, to show it beside that field.
fn field_of(code: &str) -> &'static str {
    match code {
        "unknown_type" => "type",
        "unknown_category" => "category",
        "unknown_district" => "district",
        "missing_location" | "invalid_location" => "street",
        "invalid_title" => "title",
        "invalid_content" => "content",
        "invalid_phone" | "phone_required" => "phone",
        "invalid_email" => "email",
        "invalid_photo" | "too_large" => "photo",
        _ => "",
    }
}

async fn form_data(ctx: &Ctx) -> Value {
    let s = ctx.db.read(settings::load).await.unwrap_or_default();
    let mut groups: Vec<Value> = Vec::new();
    for (code, name, parent) in s.all_categories() {
        match parent {
            None => groups.push(json!({"code": code, "name": name, "subs": []})),
            Some(_) => {
                if let Some(Value::Array(subs)) = groups.last_mut().and_then(|g| g.get_mut("subs"))
                {
                    subs.push(json!({"code": code, "name": name}));
                }
            }
        }
    }
    json!({
        "groups": groups,
        "types": crate::rules::ORDER_TYPES.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "districts": crate::categories::DISTRICTS,
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

/// Read the order form (multipart, with an optional photo).
async fn read_form(mut mp: Multipart) -> Result<(Map<String, Value>, Option<Vec<u8>>), ApiError> {
    let mut values = Map::new();
    let mut photo = None;
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
                photo = Some(b.to_vec());
            }
        } else {
            values.insert(name, Value::String(f.text().await.map_err(bad)?));
        }
    }
    Ok((values, photo))
}

fn order_from(values: &Map<String, Value>) -> NewOrder {
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
    }
}

async fn new_submit(State(ctx): State<Ctx>, page: Page, mp: Multipart) -> Response {
    let data = form_data(&ctx).await;
    let (values, photo) = match read_form(mp).await {
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
    if !page.csrf_ok(values.get("csrf").and_then(Value::as_str)) {
        return page.csrf_refused();
    }
    let f = Filing {
        order: order_from(&values),
        photo,
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

async fn show_order(
    ctx: &Ctx,
    page: &Page,
    no: &str,
    status: StatusCode,
    done: Option<&str>,
    e: Option<&ApiError>,
    code: Option<&str>,
) -> Response {
    let o = match orders::view(ctx, no, page.citizen_id, code).await {
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
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let n = rating_from(&f);
    match rs::rate_order(&ctx, id, &no, n).await {
        Ok(_) => Redirect::to(&format!("/workorders/{no}?done=rated")).into_response(),
        Err(e) => show_order(&ctx, &page, &no, e.status, None, Some(&e), None).await,
    }
}

async fn appeal(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let a = Appeal {
        reason: f.get("reason").cloned().unwrap_or_default(),
    };
    match rs::appeal(&ctx, id, "workorder", &no, a).await {
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

fn rating_from(f: &HashMap<String, String>) -> NewRating {
    let mut dims = Map::new();
    for d in ratings::DIMENSIONS {
        if let Some(v) = f.get(d).filter(|v| !v.is_empty()) {
            dims.insert(
                d.into(),
                v.parse::<i64>()
                    .map_or(Value::String(v.clone()), Value::from),
            );
        }
    }
    NewRating {
        level: f.get("level").and_then(|l| l.parse().ok()).unwrap_or(0),
        dimensions: dims,
        comment: f.get("comment").cloned().unwrap_or_default(),
    }
}

async fn rate_case(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    match rs::rate_case(&ctx, id, &no, rating_from(&f)).await {
        Ok(_) => Redirect::to(&format!("/my/cases/{no}/rating?done=rated")).into_response(),
        Err(e) => show_case_rating(&ctx, &page, id, &no, e.status, None, Some(&e)).await,
    }
}

async fn appeal_case(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(no): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let a = Appeal {
        reason: f.get("reason").cloned().unwrap_or_default(),
    };
    match rs::appeal(&ctx, id, "case", &no, a).await {
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
    match orders::mine(&ctx, id, pg, 20).await {
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
        page: Some(pg),
        page_size: Some(10),
        per_page: None,
    };
    let list = match letters::list(&ctx, lq).await {
        Ok(l) => l,
        Err(e) => return page.error(&e),
    };
    let stats = letters::stats(&ctx).await.unwrap_or_default();
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

fn hotline_only(staff: &tongban_platform::identity::Staff) -> Result<(), ApiError> {
    if staff::is_hotline_staff(staff) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "work orders are for dispatchers, handlers, supervisors and editors",
        ))
    }
}

async fn console_queue(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = hotline_only(&staff) {
        return page.error(&e);
    }
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let pg = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let qq = QueueQuery {
        queue: get("queue"),
        status: get("status"),
        overdue: Some(get("overdue").as_deref() == Some("true")),
        page: Some(pg),
        page_size: Some(20),
        per_page: None,
    };
    let res = match staff::queue(&ctx, &staff, qq).await {
        Ok(r) => r,
        Err(e) => return page.error(&e),
    };
    let queues: Vec<&str> = QUEUES
        .iter()
        .filter(|(_, r)| staff.has(*r))
        .map(|(n, _)| *n)
        .collect();
    let mut base = format!("/console/workorders?queue={}&", res.queue);
    if let Some(s) = get("status") {
        base.push_str(&format!("status={}&", tongban_web::page::urlencode(&s)));
    }
    if get("overdue").is_some() {
        base.push_str("overdue=true&");
    }
    page.ok(
        "console_workorders.html",
        context! { res, queues, status => get("status"), overdue => get("overdue").is_some(), base, can_enter => staff.has(Role::Dispatcher) },
    )
}

async fn operator_form(State(ctx): State<Ctx>, StaffPage(page, staff): StaffPage) -> Response {
    if !staff.has(Role::Dispatcher) {
        return page.error(&ApiError::forbidden("calls are entered by dispatchers"));
    }
    let mut values = Map::new();
    values.insert("type".into(), json!("consult"));
    page.ok("console_workorder_new.html", context! { f => form_data(&ctx).await, values, errors => HashMap::<String, String>::new(), suggestions => Vec::<Value>::new() })
}

async fn operator_submit(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    if !staff.has(Role::Dispatcher) {
        return page.error(&ApiError::forbidden("calls are entered by dispatchers"));
    }
    let values: Map<String, Value> = f
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let data = form_data(&ctx).await;
    let s = ctx.db.read(settings::load).await.unwrap_or_default();
    let text = format!(
        "{} {}",
        f.get("title").map_or("", String::as_str),
        f.get("content").map_or("", String::as_str)
    );
    let suggestions: Vec<Value> = crate::categories::suggest(&text)
        .into_iter()
        .map(|c| json!({"code": c, "name": s.category_name(c)}))
        .collect();
    if f.get("op").map(String::as_str) == Some("suggest") {
        let mut values = values;
        if let Some(first) = suggestions.first() {
            if values
                .get("category")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                values.insert("category".into(), first["code"].clone());
            }
        }
        return page.ok(
            "console_workorder_new.html",
            context! { f => data, values, errors => HashMap::<String, String>::new(), suggestions },
        );
    }
    let mut order = order_from(&values);
    order.channel = None;
    match orders::file(&ctx, order, Filer::Operator(staff.clone()), None).await {
        Ok((no, _)) => {
            Redirect::to(&format!("/console/workorders/{no}?done=filed")).into_response()
        }
        Err(e) => {
            let errors = HashMap::from([(field_of(&e.code).to_owned(), page.error_text(&e))]);
            page.render(
                e.status,
                "console_workorder_new.html",
                context! { f => data, values, errors, suggestions, error => page.error_text(&e) },
            )
        }
    }
}

async fn console_order(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    show_console_order(
        &ctx,
        &page,
        &staff,
        &no,
        StatusCode::OK,
        q.get("done").cloned(),
        None,
    )
    .await
}

async fn show_console_order(
    ctx: &Ctx,
    page: &Page,
    staff: &tongban_platform::identity::Staff,
    no: &str,
    status: StatusCode,
    done: Option<String>,
    e: Option<&ApiError>,
) -> Response {
    let o = match staff::order(ctx, staff, no).await {
        Ok(o) => o,
        Err(e) => return page.error(&e),
    };
    let departments = ctx
        .db
        .read(tongban_platform::identity::list_departments)
        .await
        .unwrap_or_default();
    let flash = done.map(|d| {
        page.t(&format!(
            "console.wo_done_{}",
            d.replace(|c: char| !c.is_ascii_alphabetic() && c != '_', "")
        ))
    });
    let error = e.map(|e| page.error_text(e));
    let draft = tongban_platform::mask::scrub_text(&o.content);
    let draft_title = tongban_platform::mask::scrub_text(&o.title);
    page.render(
        status,
        "console_workorder.html",
        context! { o, departments, flash, error, draft, draft_title },
    )
}

async fn console_act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(no): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let get = |k: &str| f.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let a = ActionReq {
        action: f.get("action").cloned().unwrap_or_default(),
        department: get("department"),
        note: get("note"),
        days: get("days").and_then(|d| d.trim().parse().ok()),
        public_text: get("public_text"),
        public_title: get("public_title"),
        level: get("level").and_then(|d| d.parse().ok()),
    };
    let action = a.action.clone();
    match staff::act(&ctx, &staff, &no, a).await {
        Ok(_) => {
            // A returned order leaves the handler's queues: back to the queue.
            if staff::order(&ctx, &staff, &no).await.is_ok() {
                Redirect::to(&format!("/console/workorders/{no}?done={action}")).into_response()
            } else {
                Redirect::to("/console/workorders?done=returned").into_response()
            }
        }
        Err(e) => show_console_order(&ctx, &page, &staff, &no, e.status, None, Some(&e)).await,
    }
}

async fn console_photo(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(no): Path<String>,
) -> Response {
    match staff::photo(&ctx, &staff, &no).await {
        Ok((bytes, ct)) => (
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"photo\"".to_owned(),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => page.error(&e),
    }
}

async fn console_rects(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rq = RectQuery {
        status: q.get("status").filter(|s| !s.is_empty()).cloned(),
        overdue: Some(q.get("overdue").map(String::as_str) == Some("true")),
        page: q.get("page").and_then(|p| p.parse().ok()),
        page_size: Some(20),
        per_page: None,
    };
    let status = rq.status.clone();
    let overdue = q.get("overdue").map(String::as_str) == Some("true");
    let mut base = String::from("/console/rectifications?");
    if let Some(s) = &status {
        base.push_str(&format!("status={}&", tongban_web::page::urlencode(s)));
    }
    if overdue {
        base.push_str("overdue=true&");
    }
    match rs::rectifications(&ctx, &staff, rq).await {
        Ok(p) => page.ok(
            "console_rectifications.html",
            context! { items => p.items, total => p.total, page => p.page, per_page => p.page_size, base_query => base,
                status, overdue, all => staff.has(Role::Supervisor), done => q.get("done").cloned() },
        ),
        Err(e) => page.error(&e),
    }
}

async fn console_rect_act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let a = RectAction {
        action: f.get("action").cloned().unwrap_or_default(),
        note: f.get("note").cloned(),
    };
    match rs::rectification_act(&ctx, &staff, id, a).await {
        Ok(_) => Redirect::to("/console/rectifications?done=1").into_response(),
        Err(e) => page.error(&e),
    }
}

// ---- Open311 partner keys ----

fn supervisor(staff: &tongban_platform::identity::Staff) -> Result<(), ApiError> {
    if staff.has(Role::Supervisor) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Open311 keys are issued by supervisors of the hotline",
        ))
    }
}

async fn keys_page(
    ctx: &Ctx,
    page: &Page,
    status: StatusCode,
    issued: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let tz = ctx.tz;
    let keys: Vec<Value> = ctx
        .db
        .read(crate::open311::list_keys)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(id, name, at, revoked)| json!({"id": id, "name": name, "created_at": tongban_platform::time::rfc3339(at, tz), "revoked": revoked}))
        .collect();
    page.render(
        status,
        "console_apikeys.html",
        context! { keys, issued, error },
    )
}

async fn apikeys(State(ctx): State<Ctx>, StaffPage(page, staff): StaffPage) -> Response {
    if let Err(e) = supervisor(&staff) {
        return page.error(&e);
    }
    keys_page(&ctx, &page, StatusCode::OK, None, None).await
}

async fn apikey_add(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    if let Err(e) = supervisor(&staff) {
        return page.error(&e);
    }
    let name = f.get("name").cloned().unwrap_or_default();
    match crate::open311::issue_key(&ctx, &staff, &name).await {
        Ok(key) => {
            let issued = Some((name.trim().to_owned(), key));
            keys_page(&ctx, &page, StatusCode::CREATED, issued, None).await
        }
        Err(e) if e.status.is_client_error() => {
            let text = page.error_text(&e);
            keys_page(&ctx, &page, e.status, None, Some(text)).await
        }
        Err(e) => page.error(&e),
    }
}

async fn apikey_revoke(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if !page.csrf_ok(f.get("csrf").map(String::as_str)) {
        return page.csrf_refused();
    }
    if let Err(e) = supervisor(&staff) {
        return page.error(&e);
    }
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let source = tongban_platform::audit::current_source();
    let res = ctx
        .db
        .write(move |c| {
            let ok = crate::open311::revoke_key(c, id)?;
            if ok {
                let mut e = tongban_platform::audit::Entry::staff(
                    &staff,
                    "apikey.revoke",
                    &id.to_string(),
                    "ok",
                );
                e.source = source;
                tongban_platform::audit::append(c, &e)?;
            }
            Ok(ok)
        })
        .await;
    match res {
        Ok(true) => Redirect::to("/console/apikeys").into_response(),
        Ok(false) => page.not_found(),
        Err(e) => page.error(&e.into()),
    }
}
