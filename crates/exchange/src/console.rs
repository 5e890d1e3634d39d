//! The console's 数据共享 page for a department's administrator: the services it provides,
//! the requests for them to grant or refuse, the grants it gave (to revoke), the catalogue of
//! other departments' services to ask for, the grants it holds, the peers, and its part of the
//! message log. The rules are in [`crate::access`]; these handlers only read forms and render.

use crate::{access, grants, log, peers, store};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::http::Paging;
use tongban_platform::identity::Staff;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{NoFields, Page, SafeForm, StaffPage};

pub const CONSOLE_PATHS: [&str; 4] = [
    "/console/exchange",
    "/console/exchange/requests",
    "/console/exchange/requests/{id}/decision",
    "/console/exchange/grants/{id}/revoke",
];

pub fn console_router() -> Router<Ctx> {
    let [page, ask, decide, revoke] = CONSOLE_PATHS;
    Router::new()
        .route(page, get(exchange_page))
        .route(ask, post(ask_form))
        .route(decide, post(decide_form))
        .route(revoke, post(revoke_form))
}

/// A date (YYYY-MM-DD) of a time in milliseconds, in the deployment's zone.
fn day(ctx: &Ctx, ms: i64) -> String {
    tongban_platform::time::date_of(ms, ctx.tz).to_string()
}

/// The page, with a message after a form (`flash`) or its refusal (`error`).
async fn render(
    ctx: &Ctx,
    page: &Page,
    staff: &Staff,
    status: StatusCode,
    flash: Option<String>,
    error: Option<String>,
    paging: Paging,
) -> Response {
    if let Err(e) = access::admin(ctx, staff, "exchange.console", "").await {
        return page.error(&e.into());
    }
    let dept = staff.department.code.clone();
    let read = ctx
        .db
        .read(move |c| {
            let (mine, _) = store::list(c, Some(&dept), 200, 0)?;
            let (all, _) = store::list(c, None, 500, 0)?;
            let (incoming, _) = grants::requests(c, &dept, true, 100, 0)?;
            let (outgoing, _) = grants::requests(c, &dept, false, 20, 0)?;
            let (given, _) = grants::grants(c, &dept, true, 200, 0)?;
            let (held, _) = grants::grants(c, &dept, false, 200, 0)?;
            let (entries, total) =
                log::search(c, Some(&dept), None, paging.page_size, paging.offset())?;
            let peers = peers::list(c)?;
            Ok((
                mine, all, incoming, outgoing, given, held, entries, total, peers,
            ))
        })
        .await;
    let (mine, all, incoming, outgoing, given, held, entries, total, peers) = match read {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let now = tongban_platform::time::now_millis();
    let catalogue: Vec<Value> = all
        .into_iter()
        .filter(|s| s.provider != staff.department.code && s.sharing != "none")
        .map(|s| {
            json!({"target": format!("{}:{}", s.provider, s.code), "provider": s.provider,
                        "code": s.code, "name": s.name, "sharing_name": s.sharing_name()})
        })
        .collect();
    let mine: Vec<Value> = mine
        .into_iter()
        .map(|s| {
            json!({"code": s.code, "name": s.name, "version": s.version,
                        "sharing_name": s.sharing_name(), "backend": s.backend})
        })
        .collect();
    // A grant holds until the start of the day after its last day: that last day is shown.
    let grant_row = |g: grants::Grant| {
        let state = g.state(now);
        json!({"id": g.id, "provider": g.provider, "service": g.service, "consumer": g.consumer,
               "purpose": g.purpose, "until": day(ctx, g.valid_until - 1), "state": state})
    };
    let given: Vec<Value> = given.into_iter().map(grant_row).collect();
    let held: Vec<Value> = held.into_iter().map(grant_row).collect();
    let request_row = |r: grants::AccessRequest| {
        json!({"id": r.id, "provider": r.provider, "service": r.service, "consumer": r.consumer,
               "purpose": r.purpose, "reason": r.reason, "state": r.state,
               "at": day(ctx, r.requested_at), "note": r.decision_note})
    };
    let incoming: Vec<Value> = incoming.into_iter().map(request_row).collect();
    let outgoing: Vec<Value> = outgoing.into_iter().map(request_row).collect();
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            json!({"seq": e.seq, "at": tongban_platform::time::rfc3339(e.entry.at, ctx.tz),
                   "consumer": e.entry.consumer, "provider": e.entry.provider,
                   "service": e.entry.service, "purpose": e.entry.purpose,
                   "subject": e.entry.subject, "outcome": e.entry.outcome})
        })
        .collect();
    // A grant until a year from today unless the administrator picks another day.
    let default_until = day(ctx, now + 365 * 86_400_000);
    page.render(
        status,
        "console_exchange.html",
        context! {
            mine, catalogue, incoming, outgoing, given, held, entries, peers, flash, error,
            default_until, total, page => paging.page, per_page => paging.page_size,
            base_query => "/console/exchange?",
        },
    )
}

fn first_page() -> Paging {
    Paging {
        page: 1,
        page_size: tongban_platform::http::DEFAULT_PAGE_SIZE,
    }
}

/// `GET /console/exchange?page=` (the page pages the message log).
async fn exchange_page(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match Paging::from_query(&q) {
        Ok(p) => render(&ctx, &page, &staff, StatusCode::OK, None, None, p).await,
        Err(e) => page.error(&e),
    }
}

/// The page again after a form: its message, or the refusal in words (a refusal of the page
/// itself — not an administrator — is the error page).
async fn after(ctx: &Ctx, page: &Page, staff: &Staff, done: Result<String, ApiError>) -> Response {
    match done {
        Ok(flash) => {
            render(
                ctx,
                page,
                staff,
                StatusCode::OK,
                Some(flash),
                None,
                first_page(),
            )
            .await
        }
        Err(e) if e.status == StatusCode::FORBIDDEN && e.code == "forbidden" => page.error(&e),
        Err(e) => {
            let text = page.error_text(&e);
            render(ctx, page, staff, e.status, None, Some(text), first_page()).await
        }
    }
}

#[derive(Deserialize)]
struct AskForm {
    /// `provider:service`, as the page offers them.
    #[serde(default)]
    target: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/exchange/requests`: ask another department for access.
async fn ask_form(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(f): SafeForm<AskForm>,
) -> Response {
    let (provider, service) = f.target.split_once(':').unwrap_or(("", ""));
    let done = access::ask(&ctx, &staff, provider, service, &f.purpose, &f.reason)
        .await
        .map(|id| page.t("exchange.asked").replacen("{}", &id.to_string(), 1))
        .map_err(ApiError::from);
    after(&ctx, &page, &staff, done).await
}

#[derive(Deserialize)]
struct DecideForm {
    /// `grant` or `refuse`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    note: String,
}

/// `POST /console/exchange/requests/{id}/decision`.
async fn decide_form(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeForm(f): SafeForm<DecideForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let grant = f.decision == "grant";
    let done = access::decide(&ctx, &staff, id, grant, &f.valid_until, &f.note)
        .await
        .map(|_| {
            page.t(if grant {
                "exchange.granted"
            } else {
                "exchange.refused"
            })
        })
        .map_err(ApiError::from);
    after(&ctx, &page, &staff, done).await
}

/// `POST /console/exchange/grants/{id}/revoke`.
async fn revoke_form(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    Path(id): Path<String>,
    SafeForm(NoFields {}): SafeForm<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let done = access::revoke(&ctx, &staff, id)
        .await
        .map(|_| page.t("exchange.revoked"))
        .map_err(ApiError::from);
    after(&ctx, &page, &staff, done).await
}
