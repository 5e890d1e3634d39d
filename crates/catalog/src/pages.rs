//! Catalogue pages: the matter list with filters, the service guide (办事指南), and the
//! console's catalogue administration with form preview and XLSX import/export.

use crate::admin;
use crate::error::CatalogError;
use crate::model::{Field, Material, Matter, KINDS};
use crate::routes::{paging, MatterSummary};
use crate::store::{self, Filter};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::HashMap;
use tongban_platform::identity::Staff;
use tongban_platform::{ApiError, Ctx};
use tongban_web::page::urlencode;
use tongban_web::{Page, SafeForm, SafeMultipart, StaffPage};

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route("/matters", get(list))
        .route("/matters/{code}", get(guide))
        .route("/matters/{code}/form.pdf", get(blank_form))
        .route(
            "/matters/{code}/materials/{key}/sample",
            get(samples::download),
        )
}

mod samples;

/// Console pages served here (internal listener only).
pub const CONSOLE_PATHS: [&str; 7] = [
    "/console/matters",
    "/console/matters/export.xlsx",
    "/console/matters/import",
    "/console/matters/{code}",
    "/console/matters/{code}/publish",
    "/console/matters/{code}/samples/{key}",
    "/console/matters/{code}/samples/{key}/delete",
];

pub fn console_router() -> Router<Ctx> {
    let [list_path, export_path, import_path, edit_path, publish_path, sample_path, sample_delete] =
        CONSOLE_PATHS;
    Router::new()
        .route(list_path, get(admin_list))
        .route(export_path, get(export))
        .route(import_path, post(import))
        .route(edit_path, get(edit_form).post(edit))
        .route(publish_path, post(publish))
        .route(sample_path, post(samples::upload))
        .route(sample_delete, post(samples::remove))
}

async fn list(
    State(ctx): State<Ctx>,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (pg, per_page) = match paging(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let kind = get("kind").filter(|k| KINDS.contains(&k.as_str()));
    let depth = get("online_depth")
        .and_then(|d| d.parse::<u8>().ok())
        .filter(|d| (1..=4).contains(d));
    let filter = Filter {
        q: get("q"),
        department: get("department"),
        kind: kind.clone(),
        online_depth: depth,
        offset: (pg - 1) * per_page,
        limit: per_page,
        ranked: None,
    };
    let mut filter = filter;
    if let Some(q) = filter.q.as_deref() {
        filter.ranked = tongban_platform::ranking::matters(&ctx.db, q).await;
    }
    let f2 = filter.clone();
    let res = ctx
        .db
        .read(move |c| {
            Ok((
                store::list(c, &f2)?,
                crate::store::departments_with_matters(c)?,
            ))
        })
        .await;
    let ((items, total), departments) = match res {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let mut base = String::from("/matters?");
    for (k, v) in [
        ("q", &filter.q),
        ("department", &filter.department),
        ("kind", &kind),
    ] {
        if let Some(v) = v {
            base.push_str(&format!("{k}={}&", urlencode(v)));
        }
    }
    if let Some(d) = depth {
        base.push_str(&format!("online_depth={d}&"));
    }
    let items: Vec<MatterSummary> = items.into_iter().map(MatterSummary::from).collect();
    page.ok(
        "matters.html",
        context! {
            items, total, page => pg, per_page, departments, kinds => KINDS,
            q => filter.q.unwrap_or_default(), department => filter.department.unwrap_or_default(),
            kind => kind.unwrap_or_default(), online_depth => depth.map(|d| d.to_string()).unwrap_or_default(),
            base_query => base,
        },
    )
}

async fn guide(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    let found = ctx.db.read(move |c| {
        let Some(m) = store::get(c, &code)? else {
            return Ok(None);
        };
        let samples = crate::samples::by_key(c, &m)?;
        // Where and when to go, and whom to call (GB/T 39554): the department's halls.
        let halls = tongban_platform::region::store::halls_of(c, &m.department.code)?;
        let phone = tongban_platform::region::store::department_phone(c, &m.department.code)?;
        // Complaints about a service go to the city's hotline where a hall names no number.
        let hotline = tongban_platform::region::store::hotline_phone(c)?;
        Ok(Some((m, samples, halls, phone, hotline)))
    });
    match found.await {
        Ok(Some((m, samples, halls, phone, hotline))) if m.published => {
            let online = m.applies_online();
            let contact = if phone.is_empty() { &hotline } else { &phone };
            let jsonld = json_ld(
                &ctx,
                &page,
                &m,
                Some(contact.as_str()).filter(|p| !p.is_empty()),
            );
            page.ok(
                "matter.html",
                context! { m, online, samples, halls, phone, hotline, jsonld },
            )
        }
        Ok(_) => page.error(&ApiError::not_found("matter_not_found", "no such matter")),
        Err(e) => page.error(&e.into()),
    }
}

/// The guide for machines: schema.org `GovernmentService` as JSON-LD in the page's language,
/// made safe to sit in a `<script>` element (no `</` in it).
fn json_ld(ctx: &Ctx, page: &Page, m: &crate::Matter, phone: Option<&str>) -> String {
    let base = ctx.config.public_base();
    let pick = |zh: &str, en: &str| tongban_web::i18n::pick(page.lang, zh, en).to_owned();
    let mut v = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "GovernmentService",
        "identifier": m.code,
        "name": pick(&m.name, &m.name_en),
        "serviceType": m.kind,
        "description": pick(&m.conditions, &m.conditions_en),
        "url": format!("{base}/matters/{}", m.code),
        "provider": {"@type": "GovernmentOrganization",
                     "name": pick(&m.department.name, &m.department.name_en)},
    });
    if m.applies_online() {
        v["availableChannel"] = serde_json::json!({
            "@type": "ServiceChannel",
            "name": pick("网上办理", "Online"),
            "serviceUrl": format!("{base}/matters/{}/apply", m.code),
        });
    }
    if let Some(p) = phone {
        v["provider"]["telephone"] = serde_json::json!(p);
    }
    v.to_string().replace("</", "<\\/")
}

/// The matter's application form, blank, as a PDF to print and fill in by hand (for those
/// who apply at the counter): every field to write in, every material to tick off.
async fn blank_form(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    let m = match ctx.db.read_single(move |c| store::get(c, &code)).await {
        Ok(Some(m)) if m.published => m,
        Ok(_) => return page.error(&ApiError::not_found("matter_not_found", "no such matter")),
        Err(e) => return page.error(&e.into()),
    };
    let pick = |zh: &str, english: &str| tongban_web::i18n::pick(page.lang, zh, english).to_owned();
    let name = pick(&m.name, &m.name_en);
    let mut rows = vec![tongban_web::pdf::Row::Field(
        page.t("matter.code"),
        m.code.clone(),
    )];
    rows.push(tongban_web::pdf::Row::Heading(page.t("apply.form")));
    for f in m.fields.iter().filter(|f| f.kind != "file") {
        let mut label = pick(&f.label_zh, &f.label_en);
        if f.required {
            label.push_str(&page.t("form.required_mark"));
        }
        rows.push(tongban_web::pdf::Row::Blank(label));
    }
    if !m.materials.is_empty() {
        rows.push(tongban_web::pdf::Row::Heading(page.t("matter.materials")));
        for x in &m.materials {
            let need = if x.required {
                page.t("apply.checklist_need")
            } else {
                page.t("apply.checklist_optional")
            };
            rows.push(tongban_web::pdf::Row::Check(format!(
                "{}（{} · {}，{}）",
                pick(&x.name, &x.name_en),
                page.t(&format!("form_kind.{}", x.form)),
                tongban_web::i18n::t_n(page.lang, "unit.copies", Some(f64::from(x.copies)))
                    .replacen("{}", &x.copies.to_string(), 1),
                need
            )));
        }
    }
    let doc = tongban_web::pdf::Doc {
        title: page.t("matter.blank_title").replacen("{}", &name, 1),
        issuer: pick(&m.department.name, &m.department.name_en),
        rows,
        qr: None,
        notes: vec![page
            .t("matter.blank_note")
            .replacen("{}", &m.promised_days.to_string(), 1)],
        footer: page.t("site.name"),
    };
    match tokio::task::spawn_blocking(move || tongban_web::pdf::render(&doc)).await {
        Ok(pdf) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/pdf".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}-form.pdf\"", m.code),
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(_) => page.error(&ApiError::internal()),
    }
}

async fn admin_list(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin::department_matters(&ctx, &staff)
        .await
        .map_err(ApiError::from)
    {
        Ok(matters) => {
            let flash = q
                .get("imported")
                .map(|n| page.t("console.imported_flash").replace("{}", n));
            page.ok("console_matters.html", context! { matters, flash })
        }
        Err(e) => page.error(&e),
    }
}

async fn export(State(ctx): State<Ctx>, StaffPage(page, staff): StaffPage) -> Response {
    let matters = match admin::department_matters(&ctx, &staff)
        .await
        .map_err(ApiError::from)
    {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    match crate::exchange::export_xlsx_bytes(&matters) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"matters-{}.xlsx\"",
                        staff.department.code
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "export failed");
            page.error(&ApiError::internal())
        }
    }
}

async fn import(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeMultipart(mut mp): SafeMultipart,
) -> Response {
    let mut data = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            data = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    let result = match data.filter(|d| !d.is_empty()) {
        None => Err(CatalogError::InvalidWorkbook(vec![
            page.t("field_error.file_required")
        ])),
        Some(d) => admin::import(&ctx, &staff, d).await,
    };
    match result {
        Ok(n) => Redirect::to(&format!("/console/matters?imported={n}")).into_response(),
        Err(CatalogError::ForeignRows(errors)) => {
            let matters = match admin::department_matters(&ctx, &staff).await {
                Ok(m) => m,
                Err(e) => return page.error(&ApiError::from(e)),
            };
            page.render(
                StatusCode::FORBIDDEN,
                "console_matters.html",
                context! { matters, errors },
            )
        }
        Err(CatalogError::InvalidWorkbook(errors)) => {
            let matters = match admin::department_matters(&ctx, &staff).await {
                Ok(m) => m,
                Err(e) => return page.error(&ApiError::from(e)),
            };
            page.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                "console_matters.html",
                context! { matters, errors },
            )
        }
        Err(e) => page.error(&ApiError::from(e)),
    }
}

async fn edit_page(
    ctx: &Ctx,
    page: &Page,
    status: StatusCode,
    m: &Matter,
    extra: minijinja::Value,
) -> Response {
    edit_page_typed(ctx, page, status, m, None, extra).await
}

/// The edit page; `typed` keeps the JSON the administrator typed when it could not be used.
async fn edit_page_typed(
    ctx: &Ctx,
    page: &Page,
    status: StatusCode,
    m: &Matter,
    typed: Option<(String, String)>,
    extra: minijinja::Value,
) -> Response {
    let (materials_json, fields_json) = typed.unwrap_or_else(|| {
        (
            serde_json::to_string_pretty(&m.materials).unwrap_or_default(),
            serde_json::to_string_pretty(&m.fields).unwrap_or_default(),
        )
    });
    let m2 = m.clone();
    let samples = match ctx
        .db
        .read(move |c| crate::samples::of_matter(c, &m2))
        .await
    {
        Ok(s) => s,
        Err(e) => return page.error(&e.into()),
    };
    page.render(
        status,
        "console_matter.html",
        context! { m, kinds => KINDS, materials_json, fields_json, samples, formats => crate::samples::FORMATS, ..extra },
    )
}

async fn edit_form(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match admin::own_matter(&ctx, &staff, &code)
        .await
        .map_err(ApiError::from)
    {
        Ok(m) => {
            let flash = ["saved", "sample_saved", "sample_removed"]
                .into_iter()
                .find(|k| q.contains_key(*k))
                .map(|k| page.t(&format!("console.{k}_flash")));
            edit_page(&ctx, &page, StatusCode::OK, &m, context! { flash }).await
        }
        Err(e) => page.error(&e),
    }
}

/// Apply the edit form to a matter; a message per problem.
/// The matter edit form's fields (what an administrator may change).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EditForm {
    op: String,
    name: String,
    /// `None` when an older form lacks it (the English text is kept).
    name_en: Option<String>,
    kind: String,
    fee: String,
    conditions: String,
    conditions_en: Option<String>,
    legal_basis: String,
    legal_days: String,
    promised_days: String,
    accept_days: String,
    online_depth: String,
    max_visits: String,
    materials: String,
    fields: String,
}

fn apply_edit(mut m: Matter, f: &EditForm) -> Result<Matter, String> {
    let num = |k: &str, v: &str| -> Result<u32, String> {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("{k}: a whole number is needed"))
    };
    m.name = f.name.trim().to_owned();
    m.kind = f.kind.trim().to_owned();
    m.fee = f.fee.trim().to_owned();
    m.conditions = f.conditions.trim().to_owned();
    if let Some(en) = &f.name_en {
        m.name_en = en.trim().to_owned();
    }
    if let Some(en) = &f.conditions_en {
        m.conditions_en = en.trim().to_owned();
    }
    m.legal_basis = f.legal_basis.trim().to_owned();
    m.legal_days = num("legal_days", &f.legal_days)?;
    m.promised_days = num("promised_days", &f.promised_days)?;
    // Older edit forms without the field keep the matter's limit.
    if !f.accept_days.trim().is_empty() {
        m.accept_days = num("accept_days", &f.accept_days)?;
    }
    m.online_depth = u8::try_from(num("online_depth", &f.online_depth)?)
        .map_err(|_| "online_depth: 1 to 4".to_string())?;
    m.max_visits = u8::try_from(num("max_visits", &f.max_visits)?)
        .map_err(|_| "max_visits: 0 or 1".to_string())?;
    m.materials = serde_json::from_str::<Vec<Material>>(f.materials.trim())
        .map_err(|e| format!("materials JSON: {e}"))?;
    m.fields = serde_json::from_str::<Vec<Field>>(f.fields.trim())
        .map_err(|e| format!("fields JSON: {e}"))?;
    crate::model::check_matter(&m)?;
    Ok(m)
}

async fn edit(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(code): Path<String>,
    SafeForm(f): SafeForm<EditForm>,
) -> Response {
    let current = match admin::own_matter(&ctx, &staff, &code)
        .await
        .map_err(ApiError::from)
    {
        Ok(m) => m,
        Err(e) => return page.error(&e),
    };
    let edited = match apply_edit(current.clone(), &f) {
        Ok(m) => m,
        Err(msg) => {
            // Show what was typed so nothing is lost.
            let typed = (f.materials.clone(), f.fields.clone());
            return edit_page_typed(
                &ctx,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
                &current,
                Some(typed),
                context! { error => msg },
            )
            .await;
        }
    };
    if f.op == "preview" {
        return edit_page(
            &ctx,
            &page,
            StatusCode::OK,
            &edited,
            context! { flash => page.t("console.preview_flash") },
        )
        .await;
    }
    match admin::save(&ctx, &staff, edited)
        .await
        .map_err(ApiError::from)
    {
        Ok(()) => {
            Redirect::to(&format!("/console/matters/{}?saved=1", urlencode(&code))).into_response()
        }
        Err(e) => {
            edit_page(
                &ctx,
                &page,
                e.status,
                &current,
                context! { error => page.error_text(&e) },
            )
            .await
        }
    }
}

async fn publish(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(code): Path<String>,
    SafeForm(PublishForm { published }): SafeForm<PublishForm>,
) -> Response {
    let published = published == "true";
    match admin::set_published(&ctx, &staff, &code, published)
        .await
        .map_err(ApiError::from)
    {
        Ok(()) => {
            Redirect::to(&format!("/console/matters/{}?saved=1", urlencode(&code))).into_response()
        }
        Err(e) => page.error(&e),
    }
}

/// Publishing or withdrawing a matter: `published=true` or anything else.
#[derive(serde::Deserialize)]
struct PublishForm {
    #[serde(default)]
    published: String,
}
