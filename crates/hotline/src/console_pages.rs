//! Console pages of the hotline (internal listener only): the queues by role, the order
//! page with the actions the roles allow, the operator's entry form for calls with category
//! suggestions, rectifications and partner keys.

use crate::orders::{self, Filer};
use crate::pages::{field_of, form_data, order_from};
use crate::rating_service::{self as rs, RectAction, RectQuery};
use crate::settings;
use crate::staff::{self, ActionReq, QueueQuery, QUEUES};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tongban_platform::identity::Role;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{NoFields, Page, SafeForm, StaffPage};

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
    let res = match staff::queue(&ctx, &staff, qq).await.map_err(ApiError::from) {
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
    SafeForm(f): SafeForm<CallForm>,
) -> Response {
    if !staff.has(Role::Dispatcher) {
        return page.error(&ApiError::forbidden("calls are entered by dispatchers"));
    }
    let values: Map<String, Value> = match serde_json::to_value(&f) {
        Ok(Value::Object(m)) => m.into_iter().filter(|(_, v)| v != "").collect(),
        _ => Map::new(),
    };
    let data = form_data(&ctx).await;
    let s = settings::current(&ctx.db).await.unwrap_or_default();
    let text = format!("{} {}", f.title, f.content);
    let suggestions: Vec<Value> = s
        .tree
        .suggest(&text)
        .into_iter()
        .map(|c| json!({"name": s.category_name(&c), "code": c}))
        .collect();
    if f.op == "suggest" {
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
    match orders::file(&ctx, order, Filer::Operator(staff.clone()), Vec::new())
        .await
        .map_err(ApiError::from)
    {
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
    // A stated purpose unmasks the phone for a pii_reader (audited); refused otherwise.
    let purpose = q.get("purpose").filter(|p| !p.trim().is_empty());
    show_console_order_as(
        &ctx,
        &page,
        &staff,
        &no,
        StatusCode::OK,
        q.get("done").cloned(),
        None,
        purpose.map(String::as_str),
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
    show_console_order_as(ctx, page, staff, no, status, done, e, None).await
}

#[allow(clippy::too_many_arguments)]
async fn show_console_order_as(
    ctx: &Ctx,
    page: &Page,
    staff: &tongban_platform::identity::Staff,
    no: &str,
    status: StatusCode,
    done: Option<String>,
    e: Option<&ApiError>,
    purpose: Option<&str>,
) -> Response {
    let o = match staff::order_with(ctx, staff, no, purpose)
        .await
        .map_err(ApiError::from)
    {
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
    SafeForm(f): SafeForm<ActionForm>,
) -> Response {
    let get = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    let a = ActionReq {
        action: f.action.clone(),
        department: get(&f.department),
        note: get(&f.note),
        days: f.days.trim().parse().ok(),
        public_text: get(&f.public_text),
        public_title: get(&f.public_title),
        level: f.level.trim().parse().ok(),
    };
    let action = a.action.clone();
    match staff::act(&ctx, &staff, &no, a)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => {
            // A returned order leaves the handler's queues: back to the queue.
            if staff::order(&ctx, &staff, &no)
                .await
                .map_err(ApiError::from)
                .is_ok()
            {
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
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let n = match crate::routes::photo_number(q.get("n")) {
        Ok(n) => n,
        Err(e) => return page.error(&e),
    };
    match staff::photo(&ctx, &staff, &no, n)
        .await
        .map_err(ApiError::from)
    {
        Ok((bytes, ct)) => crate::routes::photo_response(bytes, ct),
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
        due_from: q.get("due_from").filter(|s| !s.is_empty()).cloned(),
        due_to: q.get("due_to").filter(|s| !s.is_empty()).cloned(),
    };
    let status = rq.status.clone();
    let overdue = q.get("overdue").map(String::as_str) == Some("true");
    let mut base = String::from("/console/rectifications?");
    if let Some(s) = &status {
        base.push_str(&format!("status={}&", tongban_web::page::urlencode(s)));
    }
    for key in ["due_from", "due_to"] {
        if let Some(d) = q.get(key).filter(|s| !s.is_empty()) {
            base.push_str(&format!("{key}={}&", tongban_web::page::urlencode(d)));
        }
    }
    if overdue {
        base.push_str("overdue=true&");
    }
    match rs::rectifications(&ctx, &staff, rq).await.map_err(ApiError::from) {
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
    SafeForm(RectForm { action, note }): SafeForm<RectForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let a = RectAction { action, note };
    match rs::rectification_act(&ctx, &staff, id, a)
        .await
        .map_err(ApiError::from)
    {
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

fn first_page() -> tongban_platform::http::Paging {
    tongban_platform::http::Paging {
        page: 1,
        page_size: tongban_platform::http::DEFAULT_PAGE_SIZE,
    }
}

async fn keys_page(
    ctx: &Ctx,
    page: &Page,
    status: StatusCode,
    issued: Option<(String, String)>,
    error: Option<String>,
    paging: tongban_platform::http::Paging,
) -> Response {
    let tz = ctx.tz;
    let (keys, total) = match ctx
        .db
        .read(move |c| crate::open311::list_keys(c, paging.page_size, paging.offset()))
        .await
    {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let keys: Vec<Value> = keys
        .into_iter()
        .map(|k| json!({"id": k.id, "name": k.name, "created_at": tongban_platform::time::rfc3339(k.created_at, tz), "revoked": k.revoked}))
        .collect();
    page.render(
        status,
        "console_apikeys.html",
        context! { keys, issued, error, total, page => paging.page, per_page => paging.page_size, base_query => "/console/apikeys?" },
    )
}

async fn apikeys(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = supervisor(&staff) {
        return page.error(&e);
    }
    match tongban_platform::http::Paging::from_query(&q) {
        Ok(p) => keys_page(&ctx, &page, StatusCode::OK, None, None, p).await,
        Err(e) => page.error(&e),
    }
}

async fn apikey_add(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(KeyForm { name }): SafeForm<KeyForm>,
) -> Response {
    if let Err(e) = supervisor(&staff) {
        return page.error(&e);
    }
    match crate::open311::issue_key(&ctx, &staff, &name).await {
        Ok(key) => {
            let issued = Some((name.trim().to_owned(), key));
            keys_page(&ctx, &page, StatusCode::CREATED, issued, None, first_page()).await
        }
        Err(e) if e.status.is_client_error() => {
            let text = page.error_text(&e);
            keys_page(&ctx, &page, e.status, None, Some(text), first_page()).await
        }
        Err(e) => page.error(&e),
    }
}

async fn apikey_revoke(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeForm(NoFields {}): SafeForm<NoFields>,
) -> Response {
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

/// A call entered by a dispatcher (`op=suggest` asks for categories without filing).
#[derive(serde::Deserialize, serde::Serialize, Default)]
#[serde(default)]
struct CallForm {
    #[serde(skip_serializing)]
    op: String,
    #[serde(rename = "type")]
    order_type: String,
    category: String,
    district: String,
    street: String,
    title: String,
    content: String,
    public: String,
    lat: String,
    long: String,
    phone: String,
    email: String,
}

/// An action on a work order from its console page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ActionForm {
    action: String,
    department: String,
    note: String,
    days: String,
    public_text: String,
    public_title: String,
    level: String,
}

/// A step of a rectification: `callback` or `complete`, with its note.
#[derive(serde::Deserialize)]
struct RectForm {
    #[serde(default)]
    action: String,
    note: Option<String>,
}

/// The partner a key is issued to.
#[derive(serde::Deserialize)]
struct KeyForm {
    #[serde(default)]
    name: String,
}
