//! Pages for applications: the application form rendered from the matter's schema, the
//! confirmation, "my cases", the case page with timeline, supplement and withdrawal; and the
//! staff console's queue and case page with the actions the staff member's roles allow.

use crate::documents::{self, Kind};
use crate::routes::read_multipart;
use crate::service::{self, StaffQuery};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use tongban_catalog::Matter;
use tongban_platform::http::Device;
use tongban_platform::{ApiError, Ctx};
use tongban_web::page::urlencode;
use tongban_web::routes::field_errors;
use tongban_web::{CitizenPage, Page, SafeForm, SafeMultipart, StaffPage};

mod apply;
mod checks;

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(
            "/matters/{code}/apply",
            get(apply::apply_form).post(apply::apply),
        )
        .route("/my/cases", get(my_cases))
        .route("/my/cases/{case_no}", get(case_page))
        .route("/my/cases/{case_no}/submitted", get(submitted))
        .route("/my/cases/{case_no}/materials/{key}", get(own_material))
        .route("/my/cases/{case_no}/receipt.pdf", get(receipt_page))
        .route("/my/cases/{case_no}/result.pdf", get(result_page))
        .route("/my/cases/{case_no}/supplement", post(supplement))
        .route("/my/cases/{case_no}/withdraw", post(withdraw))
}

/// Console pages served here (internal listener only).
pub const CONSOLE_PATHS: [&str; 6] = [
    "/console",
    "/console/cases/{case_no}",
    "/console/cases/{case_no}/actions",
    "/console/cases/{case_no}/materials/{key}",
    "/console/cases/{case_no}/materials/{key}/preview",
    "/console/cases/{case_no}/checks",
];

pub fn console_router() -> Router<Ctx> {
    let [queue_path, case_path, act_path, material_path, preview_path, check_path] = CONSOLE_PATHS;
    Router::new()
        .route(check_path, post(checks::check))
        .route(queue_path, get(queue))
        .route(case_path, get(console_case))
        .route(act_path, post(act))
        .route(material_path, get(console_material))
        .route(preview_path, get(console_preview))
}

/// A PDF or image material shown inside the console's case page (framed by this site only,
/// running nothing); other files are only downloaded.
async fn console_preview(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path((case_no, key)): Path<(String, String)>,
) -> Response {
    let (filename, _, data) = match service::staff_material(&ctx, &staff, &case_no, &key)
        .await
        .map_err(ApiError::from)
    {
        Ok(found) => found,
        Err(e) => return page.error(&e),
    };
    let Some(kind) = crate::routes::previewable(&data) else {
        return page.error(&ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "no_preview",
            format!("{filename} cannot be shown here; download it"),
        ));
    };
    let mut resp = (
        [
            (axum::http::header::CONTENT_TYPE, kind),
            (axum::http::header::CONTENT_DISPOSITION, "inline"),
            (axum::http::header::CACHE_CONTROL, "private, no-store"),
        ],
        data,
    )
        .into_response();
    resp.extensions_mut()
        .insert(tongban_web::security::FramedBySelf);
    resp
}

/// A material of a case, for the console's download links (the JSON API takes only a
/// bearer token, so the console has its own door, behind the staff session).
async fn console_material(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path((case_no, key)): Path<(String, String)>,
) -> Response {
    match service::staff_material(&ctx, &staff, &case_no, &key)
        .await
        .map_err(ApiError::from)
    {
        Ok((filename, _, data)) => crate::routes::download(&filename, data),
        Err(e) => page.error(&e),
    }
}

/// The applicant's own file, from the case page.
async fn own_material(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path((case_no, key)): Path<(String, String)>,
) -> Response {
    match service::applicant_material(&ctx, id, &case_no, &key)
        .await
        .map_err(ApiError::from)
    {
        Ok((filename, data)) => crate::routes::download(&filename, data),
        Err(e) => page.error(&e),
    }
}

async fn receipt_page(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    headers: HeaderMap,
    Path(case_no): Path<String>,
) -> Response {
    own_document(&ctx, &page, id, &headers, &case_no, Kind::Receipt).await
}

async fn result_page(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    headers: HeaderMap,
    Path(case_no): Path<String>,
) -> Response {
    own_document(&ctx, &page, id, &headers, &case_no, Kind::Result).await
}

/// The applicant's receipt or result notice, in the page's language.
async fn own_document(
    ctx: &Ctx,
    page: &Page,
    id: i64,
    headers: &HeaderMap,
    case_no: &str,
    kind: Kind,
) -> Response {
    let base = documents::base_url(ctx, headers);
    match documents::document(ctx, id, case_no, kind, page.lang, &base)
        .await
        .map_err(ApiError::from)
    {
        Ok(pdf) => crate::routes::pdf_response(&kind.filename(case_no), pdf),
        Err(e) => page.error(&e),
    }
}

async fn submitted(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(case_no): Path<String>,
) -> Response {
    match service::citizen_case(&ctx, id, &case_no)
        .await
        .map_err(ApiError::from)
    {
        Ok(c) => page.ok("submitted.html", context! { c }),
        Err(e) => page.error(&e),
    }
}

async fn my_cases(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (pg, per_page) = match tongban_catalog::routes::paging(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    // Drafts first (the newest few; the API pages them all).
    let drafts = service::drafts(&ctx, id, 1, 20)
        .await
        .map(|(d, _)| d)
        .unwrap_or_default();
    match service::citizen_cases(&ctx, id, pg, per_page)
        .await
        .map_err(ApiError::from)
    {
        Ok((items, total)) => page.ok(
            "my_cases.html",
            context! { items, total, drafts, page => pg, per_page },
        ),
        Err(e) => page.error(&e),
    }
}

async fn matter_of(ctx: &Ctx, code: &str) -> Result<Matter, ApiError> {
    tongban_catalog::matters(&ctx.db)
        .fetch(code)
        .await?
        .ok_or_else(ApiError::internal)
}

/// What to show with the case page after an attempt: status, values typed, the refusal.
struct Shown<'a> {
    status: StatusCode,
    values: &'a Map<String, Value>,
    error: Option<&'a ApiError>,
    flash: Option<String>,
}

impl Shown<'_> {
    fn plain(flash: Option<String>) -> Shown<'static> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        Shown {
            status: StatusCode::OK,
            values: EMPTY.get_or_init(Map::new),
            error: None,
            flash,
        }
    }
}

async fn case_page_with(
    ctx: &Ctx,
    page: &Page,
    id: i64,
    case_no: &str,
    shown: Shown<'_>,
) -> Response {
    let c = match service::citizen_case(ctx, id, case_no)
        .await
        .map_err(ApiError::from)
    {
        Ok(c) => c,
        Err(e) => return page.error(&e),
    };
    let m = match matter_of(ctx, &c.matter_code).await {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    let Shown {
        status,
        values,
        error: e,
        flash,
    } = shown;
    let errors = e.map(|e| field_errors(page, e)).unwrap_or_default();
    let error = e.filter(|_| errors.is_empty()).map(|e| page.error_text(e));
    page.render(
        status,
        "case.html",
        context! { c, m, values, errors, error, flash },
    )
}

async fn case_page(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(case_no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let flash = q.get("done").and_then(|d| match d.as_str() {
        "supplemented" => Some(page.t("case.supplemented_flash")),
        "withdrawn" => Some(page.t("case.withdrawn_flash")),
        _ => None,
    });
    case_page_with(&ctx, &page, id, &case_no, Shown::plain(flash)).await
}

async fn supplement(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(case_no): Path<String>,
    SafeMultipart(mp): SafeMultipart,
) -> Response {
    let mut sub = match read_multipart(mp).await {
        Ok(s) => s,
        Err(e) => {
            let shown = Shown {
                status: e.status,
                error: Some(&e),
                ..Shown::plain(None)
            };
            return case_page_with(&ctx, &page, id, &case_no, shown).await;
        }
    };
    // On the page a blank field means "keep it" (ID numbers and phones are shown masked).
    sub.form
        .retain(|_, v| v.as_str().is_none_or(|t| !t.trim().is_empty()));
    let values = sub.form.clone();
    match service::supplement(&ctx, id, &case_no, sub.form, sub.uploads, sub.given)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Redirect::to(&format!("/my/cases/{case_no}?done=supplemented")).into_response(),
        Err(e) => {
            let shown = Shown {
                status: e.status,
                values: &values,
                error: Some(&e),
                flash: None,
            };
            case_page_with(&ctx, &page, id, &case_no, shown).await
        }
    }
}

async fn withdraw(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(case_no): Path<String>,
    SafeForm(NoteForm { note }): SafeForm<NoteForm>,
) -> Response {
    match service::withdraw(&ctx, id, &case_no, note)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Redirect::to(&format!("/my/cases/{case_no}?done=withdrawn")).into_response(),
        Err(e) => {
            let shown = Shown {
                status: e.status,
                error: Some(&e),
                ..Shown::plain(None)
            };
            case_page_with(&ctx, &page, id, &case_no, shown).await
        }
    }
}

async fn queue(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // Administrators and auditors land on their own pages.
    use tongban_platform::identity::Role;
    if ![Role::Clerk, Role::Reviewer, Role::Approver]
        .iter()
        .any(|r| staff.has(*r))
    {
        let hotline = [
            Role::Dispatcher,
            Role::Handler,
            Role::Supervisor,
            Role::Editor,
        ];
        let to = if hotline.iter().any(|r| staff.has(*r)) {
            "/console/workorders"
        } else if staff.has(Role::SiteEditor) || staff.has(Role::SiteReviewer) {
            "/console/articles"
        } else if staff.has(Role::Admin) {
            "/console/matters"
        } else if staff.has(Role::Auditor) {
            "/console/audit"
        } else {
            "/console/login"
        };
        return Redirect::to(to).into_response();
    }
    let (pg, per_page) = match tongban_catalog::routes::paging(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let status = q.get("status").filter(|s| !s.is_empty()).cloned();
    let matter = q.get("matter").filter(|s| !s.is_empty()).cloned();
    let overdue = q.get("overdue").map(String::as_str) == Some("true");
    let query = StaffQuery {
        status: status.clone(),
        matter_code: matter.clone(),
        overdue,
        applicant: q.get("applicant").filter(|s| !s.is_empty()).cloned(),
        page: pg,
        per_page,
    };
    let res = match service::staff_queue(&ctx, &staff, query)
        .await
        .map_err(ApiError::from)
    {
        Ok(r) => r,
        Err(e) => return page.error(&e),
    };
    let dept = staff.department.code.clone();
    let matters = ctx
        .db
        .read(move |c| tongban_catalog::store::list_department(c, &dept))
        .await
        .unwrap_or_default();
    let matters: Vec<Value> = matters
        .iter()
        .map(|m| serde_json::json!({"code": m.code, "name": m.name}))
        .collect();
    let mut counts: HashMap<String, i64> = crate::rules::ALL_STATUSES
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    counts.extend(res.counts);
    let mut base = String::from("/console?");
    if let Some(s) = &status {
        base.push_str(&format!("status={}&", urlencode(s)));
    }
    if let Some(m) = &matter {
        base.push_str(&format!("matter={}&", urlencode(m)));
    }
    if overdue {
        base.push_str("overdue=true&");
    }
    page.ok(
        "console_queue.html",
        context! {
            items => res.items, total => res.total, counts, matters, page => pg, per_page,
            status => status.unwrap_or_default(), matter => matter.unwrap_or_default(), overdue, base_query => base,
        },
    )
}

/// What the console case page shows besides the case.
pub(crate) struct ConsoleNotice<'a> {
    status: StatusCode,
    error: Option<String>,
    flash: Option<String>,
    /// The stated purpose of an unmasked view.
    purpose: Option<&'a str>,
    /// The data check just made.
    check: Option<service::CheckOutcome>,
}

pub(crate) async fn console_case_with(
    ctx: &Ctx,
    page: &Page,
    staff: &tongban_platform::identity::Staff,
    case_no: &str,
    n: ConsoleNotice<'_>,
) -> Response {
    let ConsoleNotice {
        status,
        error,
        flash,
        purpose,
        check,
    } = n;
    let c = match service::staff_case(ctx, staff, case_no, purpose)
        .await
        .map_err(ApiError::from)
    {
        Ok(c) => c,
        Err(e) => return page.error(&e),
    };
    let m = match matter_of(ctx, &c.matter_code).await {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    let notes_required: Vec<&str> = crate::rules::STAFF_ACTIONS
        .into_iter()
        .filter(|a| a.needs_note())
        .map(|a| a.as_str())
        .collect();
    // Files of the case beside the matter's checklist (file fields of the form).
    let others: Vec<&crate::view::MaterialView> = c
        .materials
        .iter()
        .filter(|x| !m.materials.iter().any(|need| need.key == x.key))
        .collect();
    // The services the department may check an open case against.
    let callable = if crate::rules::next_status(c.status, None, crate::rules::Action::Check).is_ok()
    {
        let (dept, now) = (
            staff.department.code.clone(),
            tongban_platform::time::now_millis(),
        );
        match ctx
            .db
            .read(move |c| tongban_exchange::grants::callable(c, &dept, now))
            .await
        {
            Ok(v) => v,
            Err(e) => return page.error(&e.into()),
        }
    } else {
        Vec::new()
    };
    page.render(
        status,
        "console_case.html",
        context! { c, m, others, error, flash, notes_required, callable, check },
    )
}

async fn console_case(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(case_no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let flash = q.get("done").map(|a| {
        page.t("console.done_flash")
            .replace("{}", &page.t(&format!("action.{a}")))
    });
    let purpose = q.get("purpose").map(String::as_str);
    let n = ConsoleNotice {
        status: StatusCode::OK,
        error: None,
        flash,
        purpose,
        check: None,
    };
    console_case_with(&ctx, &page, &staff, &case_no, n).await
}

async fn act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(case_no): Path<String>,
    SafeForm(pairs): SafeForm<Vec<(String, String)>>,
) -> Response {
    // A staff action, its note, and for a supplement request the items checked (`item`).
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (action, note) = (one("action"), one("note"));
    let items: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "item")
        .map(|(_, v)| v.clone())
        .collect();
    match service::staff_act(&ctx, &staff, &case_no, &action, note, items)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Redirect::to(&format!(
            "/console/cases/{case_no}?done={}",
            urlencode(&action)
        ))
        .into_response(),
        Err(e) if e.status == StatusCode::NOT_FOUND || e.status == StatusCode::FORBIDDEN => {
            page.error(&e)
        }
        Err(e) => {
            let msg = page.error_text(&e);
            let n = ConsoleNotice {
                status: e.status,
                error: Some(msg),
                flash: None,
                purpose: None,
                check: None,
            };
            console_case_with(&ctx, &page, &staff, &case_no, n).await
        }
    }
}

/// A note-only form (withdrawing an application).
#[derive(serde::Deserialize)]
struct NoteForm {
    #[serde(default)]
    note: String,
}
