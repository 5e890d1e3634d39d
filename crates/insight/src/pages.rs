//! The console pages of insight: warnings to acknowledge and close, the hot topics of a
//! period for the city or a district, the evaluation report and the leadership dashboards.

use crate::topics::{self, TopicQuery};
use crate::warnings::{self, WarningAction, WarningQuery};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::HashMap;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{SafeForm, StaffPage};

pub const CONSOLE_PATHS: [&str; 7] = [
    "/console/insight",
    "/console/insight/warnings/{id}",
    "/console/evaluation",
    "/console/evaluation.xlsx",
    "/console/dashboards",
    "/console/dashboards/{board}",
    "/console/dashboards/{board}/xlsx",
];

pub fn console_router() -> Router<Ctx> {
    Router::new()
        .route(CONSOLE_PATHS[0], get(page))
        .route(CONSOLE_PATHS[1], post(act))
        .route(CONSOLE_PATHS[2], get(evaluation))
        .route(CONSOLE_PATHS[3], get(evaluation_xlsx))
        .route(
            CONSOLE_PATHS[4],
            get(|| async { Redirect::to("/console/dashboards/services") }),
        )
        .route(CONSOLE_PATHS[5], get(dashboard))
        .route(CONSOLE_PATHS[6], get(dashboard_xlsx))
}

async fn page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    if get("from").is_none() && get("to").is_none() && warnings::may_see(&staff) {
        // The page opens on the last seven days (the weekly view), the period shown in the
        // form and in the address so that it can be changed and shared.
        let today = ctx.today();
        let mut url = format!(
            "/console/insight?from={}&to={}",
            (today - chrono::Duration::days(6)).format("%Y-%m-%d"),
            today.format("%Y-%m-%d")
        );
        let mut rest: Vec<_> = q
            .iter()
            .filter(|(k, _)| *k != "from" && *k != "to")
            .collect();
        rest.sort();
        for (k, v) in rest {
            url.push_str(&format!(
                "&{}={}",
                tongban_web::page::urlencode(k),
                tongban_web::page::urlencode(v)
            ));
        }
        return Redirect::to(&url).into_response();
    }
    let warnings = match warnings::list(
        &ctx,
        &staff,
        WarningQuery {
            from: get("from"),
            to: get("to"),
            status: None,
            page: get("page").and_then(|p| p.parse().ok()),
            page_size: Some(50),
        },
    )
    .await
    {
        Ok(w) => w,
        Err(e) => return page.error(&ApiError::from(e)),
    };
    // One scope: the city, a district (`d:…`) or a department (`dept:…`); `district=` still works.
    let scope = get("scope").or_else(|| get("district").map(|d| format!("d:{d}")));
    let (district, department) = match scope.as_deref() {
        Some(x) if x.starts_with("d:") => (Some(x[2..].to_owned()), None),
        Some(x) if x.starts_with("dept:") => (None, Some(x[5..].to_owned())),
        _ => (None, None),
    };
    let tq = TopicQuery {
        from: get("from"),
        to: get("to"),
        district,
        department,
    };
    let topics = match topics::topics(&ctx, tq).await {
        Ok(t) => t,
        Err(e) => return page.error(&ApiError::from(e)),
    };
    let flash = q.contains_key("done").then(|| page.t("insight.done"));
    let departments = match ctx
        .db
        .read(|c| tongban_platform::identity::list_departments(c))
        .await
    {
        Ok(d) => d,
        Err(e) => return page.error(&e.into()),
    };
    let districts = match tongban_platform::region::current(&ctx.db).await {
        Ok(r) => r.district_names(),
        Err(e) => return page.error(&e.into()),
    };
    // Quick periods: today, and the seven days up to today (the weekly view).
    let today = ctx.today();
    let week_from = (today - chrono::Duration::days(6))
        .format("%Y-%m-%d")
        .to_string();
    page.ok(
        "console_insight.html",
        context! { warnings => warnings.items, warnings_total => warnings.total, warnings_page => warnings.page,
        warnings_base => {
            let mut b = String::from("/console/insight?");
            for k in ["from", "to", "scope"] {
                if let Some(v) = get(k) {
                    b.push_str(&format!("{k}={}&", tongban_web::page::urlencode(&v)));
                }
            }
            b
        },
        topics, flash, from => get("from"), to => get("to"), scope,
        districts => districts, departments,
        today => today.format("%Y-%m-%d").to_string(), week_from },
    )
}

async fn act(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeForm(StepForm { action, note }): SafeForm<StepForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let a = WarningAction { action, note };
    match warnings::act(&ctx, &staff, id, a).await {
        Ok(()) => Redirect::to("/console/insight?done=1").into_response(),
        Err(e) => page.error(&ApiError::from(e)),
    }
}

async fn evaluation(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = crate::dashboards::may_see(&staff) {
        return page.error(&ApiError::from(e));
    }
    match crate::evaluation::report(&ctx, q.get("month").map(String::as_str)).await {
        Ok(r) => {
            let en = page.lang == tongban_web::i18n::Lang::En;
            let charts: Vec<_> = crate::evaluation::charts(&r, en)
                .iter()
                .map(|c| context! { id => c.id, title => c.title, svg => c.svg() })
                .collect();
            page.ok("console_evaluation.html", context! { r, charts })
        }
        Err(e) => page.error(&ApiError::from(e)),
    }
}

async fn evaluation_xlsx(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = crate::dashboards::may_see(&staff) {
        return page.error(&ApiError::from(e));
    }
    let r = match crate::evaluation::report(&ctx, q.get("month").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => return page.error(&ApiError::from(e)),
    };
    match crate::evaluation::workbook(&r) {
        Ok(bytes) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"evaluation-{}.xlsx\"", r.month),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "evaluation workbook failed");
            page.error(&tongban_platform::ApiError::internal())
        }
    }
}

fn filter_of(q: &HashMap<String, String>) -> crate::dashboards::Filter {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    crate::dashboards::Filter {
        from: get("from"),
        to: get("to"),
        district: get("district"),
        department: get("department"),
    }
}

/// The query string of a board's filters, for its links (tabs, downloads).
fn query_of(b: &crate::dashboards::Board) -> String {
    let mut q = format!("from={}&to={}", b.from, b.to);
    for (k, v) in [("district", &b.district), ("department", &b.department)] {
        if let Some(v) = v {
            q.push_str(&format!("&{k}={}", tongban_web::page::urlencode(v)));
        }
    }
    q
}

async fn dashboard(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(board): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = crate::dashboards::may_see(&staff) {
        return page.error(&ApiError::from(e));
    }
    let en = page.lang == tongban_web::i18n::Lang::En;
    let b = match crate::dashboards::board(&ctx, &board, filter_of(&q), en).await {
        Ok(b) => b,
        Err(e) => return page.error(&ApiError::from(e)),
    };
    let departments = match ctx
        .db
        .read(|c| tongban_platform::identity::list_departments(c))
        .await
    {
        Ok(d) => d,
        Err(e) => return page.error(&e.into()),
    };
    let districts = match tongban_platform::region::current(&ctx.db).await {
        Ok(r) => r.district_names(),
        Err(e) => return page.error(&e.into()),
    };
    let charts: Vec<_> = b
        .charts
        .iter()
        .map(|c| {
            let (head, rows) = c.table(&b.partial_mark);
            let rows: Vec<_> = rows
                .into_iter()
                .map(|(l, v)| {
                    (
                        l,
                        v.iter()
                            .map(|x| crate::charts::number(*x))
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            context! { id => c.id, title => c.title, unit => c.unit, svg => c.svg(), head, rows, partial => !c.partial.is_empty() }
        })
        .collect();
    let boards: Vec<_> = crate::dashboards::BOARDS
        .iter()
        .map(|code| context! { code, title => crate::dashboards::board_title(if en { tongban_web::Lang::En } else { tongban_web::Lang::Zh }, code) })
        .collect();
    let query = query_of(&b);
    page.ok(
        "console_dashboard.html",
        context! { b, charts, boards, query, departments, districts => districts },
    )
}

async fn dashboard_xlsx(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(board): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = crate::dashboards::may_see(&staff) {
        return page.error(&ApiError::from(e));
    }
    let en = page.lang == tongban_web::i18n::Lang::En;
    let b = match crate::dashboards::board(&ctx, &board, filter_of(&q), en).await {
        Ok(b) => b,
        Err(e) => return page.error(&ApiError::from(e)),
    };
    let only = q.get("chart").filter(|c| !c.is_empty()).map(String::as_str);
    match crate::dashboards::workbook(&b, only) {
        Ok(bytes) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}-{}{}-{}.xlsx\"",
                        b.board,
                        only.map(|c| format!("{c}-")).unwrap_or_default(),
                        b.from,
                        b.to
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => page.error(&ApiError::from(e)),
    }
}

/// A step on a warning from the console: `acknowledge` or `close`, with a note.
#[derive(serde::Deserialize)]
struct StepForm {
    #[serde(default)]
    action: String,
    note: Option<String>,
}
