//! The console's pages for the website group: 网站文章 (site editors write drafts and attach
//! files; reviewers publish, schedule, send back or withdraw) and 依申请公开 (the department's
//! requests with their limits; correct, extend, answer). The rules are in
//! [`crate::articles::flow`] and [`crate::disclosure`]; these pages only show and forward.

use crate::articles::{self, flow, Draft, ListQuery};
use crate::disclosure::{self, Who, OUTCOMES};
use crate::sites;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;
use tongban_platform::http::Paging;
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{ApiError, Ctx};
use tongban_web::{Page, SafeForm, SafeMultipart, StaffPage};

pub const CONSOLE_PATHS: [&str; 5] = [
    "/console/articles",
    "/console/articles/{id}",
    "/console/articles/{id}/files",
    "/console/disclosure",
    "/console/disclosure/{no}",
];

pub fn console_router() -> Router<Ctx> {
    let p = CONSOLE_PATHS;
    Router::new()
        .route(p[0], get(articles_page).post(create))
        .route(p[1], get(article_page).post(article_act))
        .route(p[2], post(upload))
        .route(p[3], get(requests_page))
        .route(p[4], get(request_page).post(request_act))
}

fn web_staff(staff: &Staff) -> bool {
    staff.has(Role::SiteEditor) || staff.has(Role::SiteReviewer)
}

#[derive(Deserialize, Default, Clone)]
struct ArticleForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    column: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    doc_kind: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    written_on: String,
    #[serde(default)]
    doc_no: String,
    #[serde(default)]
    validity: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    publish_at: String,
}

impl ArticleForm {
    fn draft(&self) -> Draft {
        Draft {
            site: self.site.clone(),
            column: self.column.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            body: self.body.replace("\r\n", "\n"),
            topic: self.topic.clone(),
            doc_kind: self.doc_kind.clone(),
            issuer: self.issuer.clone(),
            written_on: Some(self.written_on.clone()),
            doc_no: self.doc_no.clone(),
            validity: self.validity.clone(),
        }
    }
}

async fn list_page(
    ctx: &Ctx,
    page: &Page,
    staff: &Staff,
    q: &HashMap<String, String>,
    status: StatusCode,
    form: Option<(ArticleForm, HashMap<String, String>)>,
) -> Response {
    let p = match Paging::from_query(q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let state = q.get("state").cloned().unwrap_or_else(|| {
        if staff.has(Role::SiteReviewer) && !staff.has(Role::SiteEditor) {
            "review".into()
        } else {
            "draft".into()
        }
    });
    if !articles::STATES.contains(&state.as_str()) {
        return page.error(&ApiError::bad_request("bad_state", "no such state"));
    }
    let (dept, tz, st) = (staff.department.code.clone(), ctx.tz, state.clone());
    let found = ctx
        .db
        .read(move |c| {
            let own: Vec<_> = sites::list(c)?
                .into_iter()
                .filter(|s| s.department == dept)
                .collect();
            let lq = ListQuery {
                department: Some(dept),
                state: Some(st),
                limit: p.page_size,
                offset: p.offset(),
                ..ListQuery::default()
            };
            Ok((own, articles::list(c, &lq, tz)?))
        })
        .await;
    let (own_sites, (items, total)) = match found {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let (f, errors) = form.unzip();
    page.render(
        status,
        "console_articles.html",
        context! {
            sites => own_sites, items, total, state, states => articles::STATES,
            topics => articles::topics(), doc_kinds => articles::DOC_KINDS, validities => articles::VALIDITIES,
            editor => staff.has(Role::SiteEditor), f => f.map(|f| context! { site => f.site, column => f.column, title => f.title,
                summary => f.summary, body => f.body, topic => f.topic, doc_kind => f.doc_kind, issuer => f.issuer,
                written_on => f.written_on, doc_no => f.doc_no, validity => f.validity }),
            errors => errors.unwrap_or_default(),
            page => p.page, per_page => p.page_size, base_query => format!("/console/articles?state={state}&"),
        },
    )
}

async fn articles_page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !web_staff(&staff) {
        return page.error(&ApiError::forbidden(
            "site editors and reviewers work on articles",
        ));
    }
    list_page(&ctx, &page, &staff, &q, StatusCode::OK, None).await
}

fn errors_of(page: &Page, e: &ApiError) -> HashMap<String, String> {
    tongban_web::routes::field_errors(page, e)
}

/// What went wrong, in the page's language: each field's problem, else the error's text.
fn describe(page: &Page, e: &ApiError) -> String {
    let mut fields: Vec<String> = errors_of(page, e).into_values().collect();
    if fields.is_empty() {
        return page.error_text(e);
    }
    fields.sort();
    fields.join("；")
}

async fn create(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(f): SafeForm<ArticleForm>,
) -> Response {
    match flow::create(&ctx, &staff, f.draft()).await {
        Ok(a) => Redirect::to(&format!("/console/articles/{}", a.id)).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status != StatusCode::UNPROCESSABLE_ENTITY {
                return page.error(&e);
            }
            let errors = errors_of(&page, &e);
            list_page(
                &ctx,
                &page,
                &staff,
                &HashMap::new(),
                e.status,
                Some((f, errors)),
            )
            .await
        }
    }
}

async fn show_article(
    ctx: &Ctx,
    page: &Page,
    staff: &Staff,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let a = match flow::read(ctx, staff, id).await {
        Ok(a) => a,
        Err(e) => return page.error(&e.into()),
    };
    let site = {
        let code = a.site.clone();
        match ctx.db.read(move |c| sites::get(c, &code)).await {
            Ok(s) => s,
            Err(e) => return page.error(&e.into()),
        }
    };
    page.render(
        status,
        "console_article.html",
        context! {
            paragraphs => a.paragraphs(), a, site, error, topics => articles::topics(), doc_kinds => articles::DOC_KINDS, validities => articles::VALIDITIES,
            editor => staff.has(Role::SiteEditor), reviewer => staff.has(Role::SiteReviewer), me => staff.username,
            max_mb => ctx.config.max_upload_bytes / (1024 * 1024),
        },
    )
}

async fn article_page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
) -> Response {
    show_article(&ctx, &page, &staff, &id, StatusCode::OK, None).await
}

/// `POST /console/articles/{id}`: save the draft, or take a step.
async fn article_act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeForm(f): SafeForm<ArticleForm>,
) -> Response {
    let Ok(n) = id.parse::<i64>() else {
        return page.not_found();
    };
    let result = if f.action == "save" {
        flow::update(&ctx, &staff, n, f.draft()).await
    } else {
        let step = flow::Step {
            note: f.note.clone(),
            publish_at: Some(f.publish_at.clone()),
        };
        flow::act(&ctx, &staff, n, &f.action, step).await
    };
    match result {
        Ok(_) => Redirect::to(&format!("/console/articles/{n}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let text = describe(&page, &e);
            show_article(&ctx, &page, &staff, &id, e.status, Some(text)).await
        }
    }
}

/// `POST /console/articles/{id}/files`: one file from the form.
async fn upload(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeMultipart(mut mp): SafeMultipart,
) -> Response {
    let Ok(n) = id.parse::<i64>() else {
        return page.not_found();
    };
    let mut file = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("file").to_owned();
            file = field.bytes().await.ok().map(|b| (name, b.to_vec()));
        }
    }
    let Some((name, data)) = file else {
        let e = ApiError::unprocessable("invalid_article", "choose a file to attach");
        return show_article(
            &ctx,
            &page,
            &staff,
            &id,
            e.status,
            Some(describe(&page, &e)),
        )
        .await;
    };
    match articles::files::attach(&ctx, &staff, n, &name, data).await {
        Ok(_) => Redirect::to(&format!("/console/articles/{n}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let text = describe(&page, &e);
            show_article(&ctx, &page, &staff, &id, e.status, Some(text)).await
        }
    }
}

async fn requests_page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let state = q.get("state").cloned().unwrap_or_else(|| "received".into());
    if !["received", "correcting", "answered", "withdrawn"].contains(&state.as_str()) {
        return page.error(&ApiError::bad_request("bad_state", "no such state"));
    }
    match disclosure::list(&ctx, Who::Staff(&staff), Some(state.clone()), p.page_size, p.offset()).await {
        Ok((items, total)) => page.ok(
            "console_disclosure.html",
            context! { items, total, state, page => p.page, per_page => p.page_size, base_query => format!("/console/disclosure?state={state}&") },
        ),
        Err(e) => page.error(&e.into()),
    }
}

async fn show_request(
    ctx: &Ctx,
    page: &Page,
    staff: &Staff,
    no: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    match disclosure::get_as(ctx, no, Who::Staff(staff)).await {
        Ok(r) => {
            let outcomes: Vec<_> = OUTCOMES
                .iter()
                .flat_map(|(o, name, rs)| {
                    rs.iter().map(move |(r, rn)| {
                        let code = if r.is_empty() {
                            o.to_string()
                        } else {
                            format!("{o}/{r}")
                        };
                        let label = if *rn == *name {
                            name.to_string()
                        } else {
                            format!("{name}：{rn}")
                        };
                        context! { code, label }
                    })
                })
                .collect();
            page.render(
                status,
                "console_disclosure_one.html",
                context! { r, outcomes, error },
            )
        }
        Err(crate::error::PortalError::NotFound(..)) => page.not_found(),
        Err(e) => page.error(&e.into()),
    }
}

async fn request_page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(no): Path<String>,
) -> Response {
    show_request(&ctx, &page, &staff, &no, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
struct RequestForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    /// `outcome` or `outcome/reason`.
    #[serde(default)]
    outcome: String,
}

async fn request_act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(no): Path<String>,
    SafeForm(f): SafeForm<RequestForm>,
) -> Response {
    let (outcome, reason) = match f.outcome.split_once('/') {
        Some((o, r)) => (o.to_owned(), r.to_owned()),
        None => (f.outcome.clone(), String::new()),
    };
    let step = disclosure::Step {
        note: f.note.replace("\r\n", "\n"),
        outcome,
        reason,
    };
    match disclosure::act(&ctx, &staff, &no, &f.action, step).await {
        Ok(_) => Redirect::to(&format!("/console/disclosure/{no}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let text = describe(&page, &e);
            show_request(&ctx, &page, &staff, &no, e.status, Some(text)).await
        }
    }
}
