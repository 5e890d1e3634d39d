//! Pages of the site shell: static assets, language and elderly-mode switches, citizens'
//! login and logout, and the staff console's login (a citizen's account pages are in
//! `account_pages`).

use crate::account_pages::PasswordForm;
use crate::form::{NoFields, SafeForm};
use crate::i18n::Lang;
use crate::page::{clear_cookie, safe_next, Page, StaffPage, ELDERLY_COOKIE, LANG_COOKIE};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde_json::Value;
use std::collections::HashMap;
use tongban_platform::accounts;
use tongban_platform::http::{ClientAddr, SESSION_COOKIE, STAFF_COOKIE};
use tongban_platform::{ApiError, Ctx};

pub const SITE_CSS: &str = include_str!("../static/site.css");

type Params = Query<HashMap<String, String>>;

/// Routes both listeners share: assets and the two switches.
pub fn common_router() -> Router<Ctx> {
    Router::new()
        .route("/static/site.css", get(css))
        .route("/lang/{code}", get(switch_lang))
        .route("/elderly", get(switch_elderly))
}

/// Citizens' account pages (public listener).
pub fn public_router() -> Router<Ctx> {
    common_router()
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .merge(crate::account_pages::router())
        .merge(crate::install::router())
}

/// Console pages served here (internal listener only).
pub const CONSOLE_PATHS: [&str; 7] = [
    "/console/login",
    "/console/logout",
    "/console/audit",
    "/console/account",
    "/console/account/email",
    "/console/account/password",
    "/console/followers",
];

/// The console's login (internal listener).
pub fn console_router() -> Router<Ctx> {
    let [login_path, logout_path, audit_path, account_path, email_path, password_path, followers_path] =
        CONSOLE_PATHS;
    common_router()
        .route(login_path, get(console_login_form).post(console_login))
        .route(logout_path, axum::routing::post(console_logout))
        .route(audit_path, get(audit_log))
        .route(account_path, get(account_page))
        .route(email_path, axum::routing::post(account_email))
        .route(password_path, axum::routing::post(account_password))
        .route(followers_path, get(followers_page))
}

/// Rows the background followers set aside (quarantine), for supervisors, administrators
/// and auditors: what could not be analysed or delivered, and why.
async fn followers_page(
    State(ctx): State<Ctx>,
    crate::StaffPage(page, staff): crate::StaffPage,
    q: Params,
) -> Response {
    use tongban_platform::identity::Role;
    if ![Role::Supervisor, Role::Admin, Role::Auditor]
        .iter()
        .any(|r| staff.has(*r))
    {
        return page.error(&ApiError::forbidden(
            "the followers' quarantine is for supervisors, administrators and auditors",
        ));
    }
    let pg: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=tongban_platform::http::MAX_PAGE).contains(p))
        .unwrap_or(1);
    let (items, total) = match ctx
        .db
        .read(move |c| tongban_platform::followers::list(c, 50, (pg - 1) * 50))
        .await
    {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    let tz = ctx.tz;
    let rows: Vec<serde_json::Value> = items
        .iter()
        .map(|q| {
            let mut v = serde_json::to_value(q).unwrap_or_default();
            v["first_seen"] = serde_json::Value::String(
                tongban_platform::time::rfc3339(q.first_seen, tz)
                    .chars()
                    .take(16)
                    .collect::<String>()
                    .replace('T', " "),
            );
            v
        })
        .collect();
    page.ok(
        "console_followers.html",
        context! { rows, total, page => pg, per_page => 50 },
    )
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SITE_CSS,
    )
        .into_response()
}

fn back(q: &HashMap<String, String>) -> String {
    safe_next(q.get("next").map(String::as_str), "/")
}

async fn switch_lang(
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Zh);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back(&q))).into_response()
}

async fn switch_elderly(Query(q): Query<HashMap<String, String>>) -> Response {
    let on = q.get("on").map(String::as_str) == Some("1");
    let cookie = format!(
        "{ELDERLY_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        if on { "1" } else { "0" }
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back(&q))).into_response()
}

pub(crate) fn with_cookie(cookie: String, to: &str) -> Response {
    ([(header::SET_COOKIE, cookie)], Redirect::to(to)).into_response()
}

async fn login_form(page: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = safe_next(q.get("next").map(String::as_str), "/my/cases");
    page.ok(
        "login.html",
        context! { next => next, expired => q.contains_key("expired"), values => context!{} },
    )
}

async fn login(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
    // The form's token stops another site logging a victim into the attacker's account.
    SafeForm(f): SafeForm<LoginForm>,
) -> Response {
    let LoginForm {
        account,
        password,
        next,
    } = f;
    let next = safe_next(
        next.as_ref().or(q.get("next")).map(String::as_str),
        "/my/cases",
    );
    match accounts::login_citizen(&ctx, &account, password, &addr).await {
        Ok(token) => with_cookie(page.citizen_cookie(&token), &next),
        Err(e) => page.render(
            e.status,
            "login.html",
            context! { next => next, error => page.error_text(&e), values => context! { account => account } },
        ),
    }
}

/// Field errors by field, translated: `{field: text}`.
pub fn field_errors(page: &Page, e: &ApiError) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if let Some(Value::Array(list)) = &e.fields {
        for f in list {
            let (Some(field), Some(code)) = (f["field"].as_str(), f["code"].as_str()) else {
                continue;
            };
            let key = format!("field_error.{code}");
            let mut text = if crate::i18n::has(&key) {
                page.t(&key)
            } else {
                f["message"].as_str().unwrap_or(code).to_owned()
            };
            if let Some(limit) = f["limit"].as_str() {
                text = text.replace("{}", limit);
            }
            out.entry(field.to_owned()).or_insert(text);
        }
    }
    out
}

async fn logout(
    State(ctx): State<Ctx>,
    page: Page,
    SafeForm(NoFields {}): SafeForm<NoFields>,
) -> Response {
    if let Some(token) = page.token.clone() {
        let _ = accounts::logout(&ctx, token).await;
    }
    with_cookie(clear_cookie(SESSION_COOKIE), "/")
}

async fn console_login_form(page: Page, q: Params) -> Response {
    page.ok("console_login.html", context! { next => safe_next(q.get("next").map(String::as_str), "/console"), expired => q.contains_key("expired") })
}

async fn console_login(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    page: Page,
    SafeForm(f): SafeForm<StaffLoginForm>,
) -> Response {
    let StaffLoginForm {
        username,
        password,
        next,
        totp,
    } = f;
    let next = safe_next(next.as_deref(), "/console");
    match accounts::login_staff(&ctx, &username, password, totp.as_deref(), &addr).await {
        Ok((token, _)) => with_cookie(page.staff_cookie(&token), &next),
        Err(e) => page.render(
            e.status,
            "console_login.html",
            context! { next => next, username => username, error => page.error_text(&e) },
        ),
    }
}

async fn console_logout(
    State(ctx): State<Ctx>,
    // Binds the form's token to the staff session being ended.
    _page: Page,
    headers: axum::http::HeaderMap,
    SafeForm(NoFields {}): SafeForm<NoFields>,
) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|p| {
            p.trim()
                .strip_prefix(&format!("{STAFF_COOKIE}="))
                .map(str::to_owned)
        });
    if let Some(t) = token {
        let _ = accounts::logout(&ctx, t).await;
    }
    with_cookie(clear_cookie(STAFF_COOKIE), "/console/login")
}

/// The designed 404 for unknown pages (HTML) — API paths keep their JSON errors.
pub async fn not_found(page: Page) -> Response {
    page.not_found()
}

/// The audit log search for staff holding `audit:read` (the auditor role).
async fn audit_log(
    State(ctx): State<Ctx>,
    crate::StaffPage(page, staff): crate::StaffPage,
    q: Params,
) -> Response {
    use tongban_platform::audit;
    if !staff.has(tongban_platform::identity::Role::Auditor) {
        audit::record(
            &ctx.db,
            audit::Entry::staff(&staff, "audit.read", "", "denied"),
        )
        .await;
        return page.error(&ApiError::forbidden(
            "reading the audit log needs the auditor role",
        ));
    }
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let tz = ctx.tz;
    let paging = match tongban_platform::http::Paging::from_query_with(&q, 50) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let search = match tongban_platform::lists::audit_search(&q, paging, tz) {
        Ok(s) => s,
        Err(e) => return page.error(&e),
    };
    let s2 = search.clone();
    if let Err(e) = audit::settle(&ctx.db).await {
        return page.error(&e.into());
    }
    let (entries, total) = match ctx.db.read(move |c| audit::search(c, &s2)).await {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    audit::record(&ctx.db, audit::Entry::staff(&staff, "audit.read", "", "ok")).await;
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["at"] = serde_json::Value::String(
                tongban_platform::time::rfc3339(e.at, tz).replace('T', " "),
            );
            v
        })
        .collect();
    let mut base = String::from("/console/audit?");
    for k in ["actor", "action", "object", "from", "to"] {
        if let Some(v) = text(k) {
            base.push_str(&format!("{k}={}&", crate::page::urlencode(&v)));
        }
    }
    page.ok(
        "console_audit.html",
        context! {
            rows, total, page => paging.page, per_page => paging.page_size, base_query => base,
            actor => text("actor"), action => text("action"), object => text("object"), from => text("from"), to => text("to"),
        },
    )
}

/// The staff member's own account: who they are, where notices go, their password.
async fn account_page(State(ctx): State<Ctx>, StaffPage(page, staff): StaffPage) -> Response {
    account_render(&ctx, &page, &staff, StatusCode::OK, context! {}).await
}

async fn account_render(
    ctx: &Ctx,
    page: &Page,
    staff: &tongban_platform::identity::Staff,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    let id = staff.id;
    let email = match ctx
        .db
        .read(move |c| tongban_platform::identity::staff_email(c, id))
        .await
    {
        Ok(e) => e,
        Err(e) => return page.error(&e.into()),
    };
    page.render(
        status,
        "console_account.html",
        context! { me => staff, email, ..extra },
    )
}

async fn account_email(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(EmailForm { email }): SafeForm<EmailForm>,
) -> Response {
    match accounts::set_own_email(&ctx, &staff, email.clone()).await {
        Ok(()) => {
            account_render(
                &ctx,
                &page,
                &staff,
                StatusCode::OK,
                context! { email_done => true },
            )
            .await
        }
        Err(e) => {
            let errors = field_errors(&page, &e);
            account_render(
                &ctx,
                &page,
                &staff,
                e.status,
                context! { errors, typed_email => email },
            )
            .await
        }
    }
}

async fn account_password(
    State(ctx): State<Ctx>,
    StaffPage(page, staff): StaffPage,
    SafeForm(f): SafeForm<PasswordForm>,
) -> Response {
    let PasswordForm {
        old_password: old,
        new_password: new,
        confirm_password,
    } = f;
    if confirm_password != new {
        let errors = HashMap::from([(
            "confirm_password".to_owned(),
            page.t("field_error.password_mismatch"),
        )]);
        return account_render(
            &ctx,
            &page,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors },
        )
        .await;
    }
    let token = page.token.clone().unwrap_or_default();
    match accounts::change_staff_password(&ctx, &staff, token, old, new).await {
        Ok(()) => {
            account_render(
                &ctx,
                &page,
                &staff,
                StatusCode::OK,
                context! { password_done => true },
            )
            .await
        }
        Err(e) => {
            let errors = field_errors(&page, &e);
            account_render(
                &ctx,
                &page,
                &staff,
                e.status,
                context! { errors, error => page.error_text(&e) },
            )
            .await
        }
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct StaffLoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    totp: Option<String>,
}

#[derive(serde::Deserialize)]
struct EmailForm {
    email: Option<String>,
}
