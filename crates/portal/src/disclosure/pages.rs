//! 政务公开 pages of a site: the catalogue (目录) of published articles with their metadata,
//! the guide (指南), the annual reports (年度报告), the request form (依申请公开) and the
//! requester's own requests (`/my/disclosure`).

use super::{NewRequest, Who, DELIVERIES, ORG_KINDS, OUTCOMES};
use crate::articles::{self, ListQuery};
use crate::pages::site_or_404;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde::Deserialize;
use std::collections::HashMap;
use tongban_platform::http::Paging;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{CitizenPage, Page, SafeForm};

pub const PAGE_PATHS: [&str; 7] = [
    "/sites/{code}/gk",
    "/sites/{code}/gk/guide",
    "/sites/{code}/gk/reports",
    "/sites/{code}/gk/reports/{year}",
    "/sites/{code}/gk/apply",
    "/my/disclosure",
    "/my/disclosure/{no}",
];

pub fn public_router() -> Router<Ctx> {
    let p = PAGE_PATHS;
    Router::new()
        .route(p[0], get(catalogue))
        .route(p[1], get(guide))
        .route(p[2], get(reports))
        .route(p[3], get(annual))
        .route(p[4], get(apply_form).post(apply))
        .route(p[5], get(mine))
        .route(p[6], get(one).post(one_act))
}

fn outcomes_json() -> serde_json::Value {
    serde_json::json!(OUTCOMES
        .iter()
        .map(|(k, n, rs)| serde_json::json!({"code": k, "name": n, "reasons": rs.iter().map(|(r, rn)| serde_json::json!({"code": r, "name": rn})).collect::<Vec<_>>()}))
        .collect::<Vec<_>>())
}

/// `GET /sites/{code}/gk?topic=&year=`: every published article of the department's sites
/// with its 索引号, 文号 and dates.
async fn catalogue(
    State(ctx): State<Ctx>,
    page: Page,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let site = match site_or_404(&ctx, &page, &code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let topic = get("topic");
    let year = match get("year").map(|y| y.parse::<i32>()) {
        None => None,
        Some(Ok(y)) => Some(y),
        Some(Err(_)) => {
            return page.error(&ApiError::bad_request("bad_year", "year: a year like 2026"))
        }
    };
    let lq = ListQuery {
        department: Some(site.department.clone()),
        topic: topic.clone(),
        year,
        limit: p.page_size,
        offset: p.offset(),
        ..ListQuery::default()
    };
    let tz = ctx.tz;
    let (items, total) = match ctx.db.read(move |c| articles::list(c, &lq, tz)).await {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let mut base = format!("/sites/{code}/gk?");
    if let Some(t) = &topic {
        base.push_str(&format!("topic={}&", tongban_web::page::urlencode(t)));
    }
    if let Some(y) = year {
        base.push_str(&format!("year={y}&"));
    }
    page.ok(
        "gk_catalogue.html",
        context! { site, items, total, topics => articles::topics(), topic, year, page => p.page, per_page => p.page_size, base_query => base },
    )
}

async fn guide(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    match site_or_404(&ctx, &page, &code).await {
        Ok(site) => page.ok(
            "gk_guide.html",
            context! { site, limit => super::LIMIT_DAYS, extension => super::EXTENSION_DAYS, outcomes => outcomes_json() },
        ),
        Err(r) => r,
    }
}

async fn reports(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    use chrono::Datelike;
    match site_or_404(&ctx, &page, &code).await {
        Ok(site) => {
            let this = ctx.today().year();
            // The report of a year is published by 31 January of the next (Art. 49).
            let years: Vec<i32> = (this - 4..=this).rev().collect();
            page.ok("gk_reports.html", context! { site, years, this })
        }
        Err(r) => r,
    }
}

async fn annual(
    State(ctx): State<Ctx>,
    page: Page,
    Path((code, year)): Path<(String, String)>,
) -> Response {
    match super::routes::report_of(&ctx, &code, &year).await {
        Ok((site, report)) => page.ok("gk_report.html", context! { site, report }),
        Err(e) if e.status == StatusCode::NOT_FOUND => page.not_found(),
        Err(e) => page.error(&e),
    }
}

fn form_context(
    site: &crate::sites::Site,
    f: Option<&ApplyForm>,
    errors: HashMap<String, String>,
) -> minijinja::Value {
    context! {
        site, org_kinds => ORG_KINDS.iter().map(|(k, n)| context! { code => k, name => n }).collect::<Vec<_>>(),
        deliveries => DELIVERIES.iter().map(|(k, n)| context! { code => k, name => n }).collect::<Vec<_>>(),
        f => f.map(|f| context! { applicant_kind => f.applicant_kind, org_kind => f.org_kind, applicant => f.applicant,
            credit_code => f.credit_code, contact => f.contact, description => f.description, purpose => f.purpose, delivery => f.delivery }),
        errors, limit => super::LIMIT_DAYS,
    }
}

async fn apply_form(
    State(ctx): State<Ctx>,
    CitizenPage(page, _): CitizenPage,
    Path(code): Path<String>,
) -> Response {
    match site_or_404(&ctx, &page, &code).await {
        Ok(site) => page.ok("gk_apply.html", form_context(&site, None, HashMap::new())),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default, Clone)]
struct ApplyForm {
    #[serde(default)]
    applicant_kind: String,
    #[serde(default)]
    org_kind: String,
    #[serde(default)]
    applicant: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    delivery: String,
}

async fn apply(
    State(ctx): State<Ctx>,
    CitizenPage(page, account): CitizenPage,
    Path(code): Path<String>,
    SafeForm(f): SafeForm<ApplyForm>,
) -> Response {
    let site = match site_or_404(&ctx, &page, &code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = NewRequest {
        department: site.department.clone(),
        applicant_kind: f.applicant_kind.clone(),
        org_kind: f.org_kind.clone(),
        applicant: f.applicant.clone(),
        credit_code: f.credit_code.clone(),
        contact: f.contact.clone(),
        description: f.description.clone(),
        purpose: f.purpose.clone(),
        delivery: f.delivery.clone(),
    };
    match super::submit(&ctx, account, r).await {
        Ok(req) => Redirect::to(&format!("/my/disclosure/{}", req.request_no)).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            let errors = tongban_web::routes::field_errors(&page, &e);
            page.render(
                e.status,
                "gk_apply.html",
                form_context(&site, Some(&f), errors),
            )
        }
    }
}

async fn mine(
    State(ctx): State<Ctx>,
    CitizenPage(page, account): CitizenPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    match super::list(&ctx, Who::Applicant(account), None, p.page_size, p.offset()).await {
        Ok((items, total)) => page.ok(
            "my_disclosure.html",
            context! { items, total, page => p.page, per_page => p.page_size, base_query => "/my/disclosure?" },
        ),
        Err(e) => page.error(&e.into()),
    }
}

async fn one(
    State(ctx): State<Ctx>,
    CitizenPage(page, account): CitizenPage,
    Path(no): Path<String>,
) -> Response {
    match super::get_as(&ctx, &no, Who::Applicant(account)).await {
        Ok(r) => page.ok("my_disclosure_one.html", context! { r }),
        Err(crate::error::PortalError::NotFound(..)) => page.not_found(),
        Err(e) => page.error(&e.into()),
    }
}

#[derive(Deserialize, Default)]
struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
}

async fn one_act(
    State(ctx): State<Ctx>,
    CitizenPage(page, account): CitizenPage,
    Path(no): Path<String>,
    SafeForm(f): SafeForm<ActForm>,
) -> Response {
    match super::applicant_act(&ctx, account, &no, &f.action, &f.text).await {
        Ok(_) => Redirect::to(&format!("/my/disclosure/{no}")).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            match super::get_as(&ctx, &no, Who::Applicant(account)).await {
                Ok(r) => page.render(
                    e.status,
                    "my_disclosure_one.html",
                    context! { r, error => page.error_text(&e), text => f.text },
                ),
                Err(_) => page.error(&e),
            }
        }
    }
}
