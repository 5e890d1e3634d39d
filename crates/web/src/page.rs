//! The page context every HTML handler takes: language, elderly mode, where we are (for
//! "back to where you were" after login and for the language switch), who is logged in;
//! and rendering through the shared templates.

use crate::i18n::{self, Lang};
use crate::templates::{env, RENDER_LANG};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use serde::Serialize;
use tongban_platform::crypto::constant_time_eq;
use tongban_platform::http::{authenticate, cookie, SESSION_COOKIE, STAFF_COOKIE};
use tongban_platform::identity::{self, SessionKind, Staff};
use tongban_platform::{ApiError, Ctx};

pub use crate::templates::check_templates;

/// Cookie remembering the language choice.
pub const LANG_COOKIE: &str = "tongban_lang";
/// Cookie remembering elderly mode (larger text, higher contrast).
pub const ELDERLY_COOKIE: &str = "tongban_elderly";
/// Marks requests that arrived over TLS, so cookies can be `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct OverTls;

/// Cookie holding this browser's anti-forgery seed. Forms carry a token derived from the
/// seed and the session (SM3-HMAC under the deployment's index key), so a token is tied to
/// its session and cannot be chosen by whoever can plant a cookie.
pub const CSRF_COOKIE: &str = "tongban_csrf";

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub lang: Lang,
    pub elderly: bool,
    /// Path and query of this request.
    pub path: String,
    /// Display name of the logged-in citizen or staff member.
    pub user: Option<String>,
    #[serde(skip)]
    pub citizen_id: Option<i64>,
    #[serde(skip)]
    pub staff: Option<Staff>,
    #[serde(skip)]
    pub token: Option<String>,
    /// The anti-forgery token forms carry: derived from the seed and the session.
    pub csrf: String,
    /// The browser's anti-forgery seed (from the cookie, or new when there was none).
    #[serde(skip)]
    pub csrf_seed: String,
    /// Whether the request's `Origin`, when sent, is this site.
    #[serde(skip)]
    pub same_origin: bool,
    /// Whether the request carried the cookie (a new one is set when rendering).
    #[serde(skip)]
    pub csrf_from_cookie: bool,
    /// Whether the request came over TLS (cookies are then `Secure`).
    #[serde(skip)]
    pub secure: bool,
}

fn base(parts: &Parts, ctx: &Ctx) -> Page {
    let lang = cookie(parts, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .unwrap_or_else(|| {
            Lang::from_accept(
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        });
    let csrf_cookie = cookie(parts, CSRF_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let seed = csrf_cookie
        .clone()
        .unwrap_or_else(tongban_platform::crypto::random_token);
    Page {
        lang,
        elderly: cookie(parts, ELDERLY_COOKIE).as_deref() == Some("1"),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        user: None,
        citizen_id: None,
        staff: None,
        token: None,
        csrf_from_cookie: csrf_cookie.is_some(),
        csrf: csrf_token(&seed, None),
        csrf_seed: seed,
        same_origin: same_origin(parts, ctx.config.public_url.as_deref()),
        secure: parts.extensions.get::<OverTls>().is_some(),
    }
}

/// The form token of a seed and a session: SM3-HMAC under the index key.
fn csrf_token(seed: &str, session: Option<&str>) -> String {
    match tongban_platform::vault::keys() {
        Ok(k) => k.blind("csrf", &format!("{seed}:{}", session.unwrap_or(""))),
        // No keys: a token nobody can echo (forms fail closed).
        Err(_) => tongban_platform::crypto::random_token(),
    }
}

/// A browser's `Origin` (sent with every cross-site POST) must name this host, or the
/// configured public address (behind a proxy that rewrites `Host`); requests without one
/// (older browsers, scripts) rely on the token alone.
fn same_origin(parts: &Parts, public_url: Option<&str>) -> bool {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return true;
    };
    if public_url.is_some_and(|u| origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(u))) {
        return true;
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let bare = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("\0");
    !host.is_empty() && bare.eq_ignore_ascii_case(host)
}

impl Page {
    /// Bind the form token to the session this page authenticated.
    fn bind_session(&mut self, token: String) {
        self.csrf = csrf_token(&self.csrf_seed, Some(&token));
        self.token = Some(token);
    }
}

impl FromRequestParts<Ctx> for Page {
    type Rejection = Response;

    /// A public page: the citizen is looked up when a session cookie is present.
    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let mut page = base(parts, ctx);
        if parts.uri.path().starts_with("/console") {
            // Console pages that do not require a login (the login form, logout) tie their
            // form token to the staff session, as every other console page does.
            if cookie(parts, STAFF_COOKIE).is_some() {
                if let Ok((_, token)) = authenticate(ctx, parts, SessionKind::Staff).await {
                    page.bind_session(token);
                }
            }
            parts.extensions.insert(page.clone());
            return Ok(page);
        }
        if cookie(parts, SESSION_COOKIE).is_some() {
            if let Ok((id, token)) = authenticate(ctx, parts, SessionKind::Citizen).await {
                let name = ctx
                    .db
                    .read(move |c| identity::citizen_name(c, id))
                    .await
                    .ok()
                    .flatten();
                page.user = name;
                page.citizen_id = Some(id);
                page.bind_session(token);
            }
        }
        // For the form extractor, which checks the token against this binding.
        parts.extensions.insert(page.clone());
        Ok(page)
    }
}

/// A page that needs a logged-in citizen; others are sent to log in and brought back.
pub struct CitizenPage(pub Page, pub i64);

impl FromRequestParts<Ctx> for CitizenPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let mut page = base(parts, ctx);
        match authenticate(ctx, parts, SessionKind::Citizen).await {
            Ok((id, token)) => {
                page.user = ctx
                    .db
                    .read(move |c| identity::citizen_name(c, id))
                    .await
                    .ok()
                    .flatten();
                page.citizen_id = Some(id);
                page.bind_session(token);
                parts.extensions.insert(page.clone());
                Ok(CitizenPage(page, id))
            }
            Err(e) => Err(to_login("/login", &page.path, &e)),
        }
    }
}

/// A console page that needs a logged-in staff member.
pub struct StaffPage(pub Page, pub Staff);

impl FromRequestParts<Ctx> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, Response> {
        let mut page = base(parts, ctx);
        let (id, token) = match authenticate(ctx, parts, SessionKind::Staff).await {
            Ok(x) => x,
            Err(e) => return Err(to_login("/console/login", &page.path, &e)),
        };
        match ctx.db.read(move |c| identity::get_staff(c, id)).await {
            Ok(Some(staff)) => {
                page.user = Some(staff.name.clone());
                page.bind_session(token);
                page.staff = Some(staff.clone());
                parts.extensions.insert(page.clone());
                Ok(StaffPage(page, staff))
            }
            _ => Err(to_login(
                "/console/login",
                &page.path,
                &ApiError::unauthorized("gone"),
            )),
        }
    }
}

fn to_login(login: &str, back: &str, why: &ApiError) -> Response {
    let mut url = format!("{login}?next={}", urlencode(back));
    if why.code == "session_expired" {
        url.push_str("&expired=1");
    }
    Redirect::to(&url).into_response()
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// Only local paths are followed after login, never another site: a path that starts with
/// one `/`, with no backslash, whitespace or control character (browsers drop tabs and
/// newlines, so `/\t/evil.example` would become `//evil.example`).
pub fn safe_next(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2000
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            n.to_owned()
        }
        _ => default.to_owned(),
    }
}

impl Page {
    /// Render `template` with `data` (any serialisable value) and this page's context.
    pub fn render(&self, status: StatusCode, template: &str, data: impl Serialize) -> Response {
        RENDER_LANG.with(|l| l.set(self.lang));
        let out = env().get_template(template).and_then(|t| {
            t.render(context! {
                lang => self.lang.code(),
                elderly => self.elderly,
                path => &self.path,
                user => &self.user,
                staff => &self.staff,
                csrf => &self.csrf,
                ..Value::from_serialize(&data)
            })
        });
        match out {
            Ok(html) => {
                let mut resp =
                    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response();
                if !self.csrf_from_cookie {
                    let c = format!(
                        "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{}",
                        self.csrf_seed,
                        self.secure_attr()
                    );
                    if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
                        resp.headers_mut().append(header::SET_COOKIE, v);
                    }
                }
                resp
            }
            Err(e) => {
                tracing::error!(template, error = %e, "template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html(
                        "<!doctype html><title>500</title><p>服务暂时不可用 / Service unavailable",
                    ),
                )
                    .into_response()
            }
        }
    }

    pub fn ok(&self, template: &str, data: impl Serialize) -> Response {
        self.render(StatusCode::OK, template, data)
    }

    /// A designed error page (404, 403, 409 …) with a way back.
    pub fn error(&self, e: &ApiError) -> Response {
        let key = format!("error.{}", e.code);
        let message = if i18n::has(&key) {
            i18n::t(self.lang, &key)
        } else {
            e.message.clone()
        };
        self.render(
            e.status,
            "error.html",
            context! { status => e.status.as_u16(), message => message, code => &e.code },
        )
    }

    pub fn not_found(&self) -> Response {
        self.error(&ApiError::not_found("page_not_found", "no such page"))
    }

    fn secure_attr(&self) -> &'static str {
        if self.secure {
            "; Secure"
        } else {
            ""
        }
    }

    /// `Set-Cookie` for a citizen session, `Secure` over TLS.
    pub fn citizen_cookie(&self, token: &str) -> String {
        format!(
            "{}{}",
            session_cookie(SESSION_COOKIE, token),
            self.secure_attr()
        )
    }

    /// `Set-Cookie` for a staff session, `Secure` over TLS.
    pub fn staff_cookie(&self, token: &str) -> String {
        format!(
            "{}{}",
            session_cookie(STAFF_COOKIE, token),
            self.secure_attr()
        )
    }

    /// Whether a form echoed this browser's anti-forgery token for this session, from this
    /// site.
    pub fn csrf_ok(&self, sent: Option<&str>) -> bool {
        self.csrf_from_cookie
            && self.same_origin
            && sent.is_some_and(|s| {
                s.len() == self.csrf.len() && constant_time_eq(s.as_bytes(), self.csrf.as_bytes())
            })
    }

    /// The page shown for a form that failed [`Page::csrf_ok`].
    pub fn csrf_refused(&self) -> Response {
        self.error(
            &ApiError::forbidden(
                "the form's security token is missing or stale; reload the page and try again",
            )
            .with_code("csrf"),
        )
    }

    /// The text for `key` in this page's language.
    pub fn t(&self, key: &str) -> String {
        i18n::t(self.lang, key)
    }

    /// A message for an error code in this page's language, else the core's message.
    pub fn error_text(&self, e: &ApiError) -> String {
        let key = format!("error.{}", e.code);
        if i18n::has(&key) {
            i18n::t(self.lang, &key)
        } else {
            e.message.clone()
        }
    }
}

/// `Set-Cookie` for a session token: HttpOnly, SameSite=Lax, whole site.
pub fn session_cookie(name: &str, token: &str) -> String {
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax")
}

pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::TEMPLATES;

    fn page() -> Page {
        Page {
            lang: Lang::Zh,
            elderly: false,
            path: "/".into(),
            user: None,
            citizen_id: None,
            staff: None,
            token: None,
            csrf: "0".repeat(64),
            csrf_seed: "a".repeat(64),
            same_origin: true,
            csrf_from_cookie: true,
            secure: false,
        }
    }

    #[test]
    fn csrf_must_match_the_cookie() {
        let p = page();
        assert!(p.csrf_ok(Some(&"0".repeat(64))));
        assert!(!p.csrf_ok(Some(&"1".repeat(64))));
        assert!(!p.csrf_ok(None));
        let fresh = Page {
            csrf_from_cookie: false,
            ..page()
        };
        assert!(
            !fresh.csrf_ok(Some(&"0".repeat(64))),
            "a token without its cookie is refused"
        );
        let cross = Page {
            same_origin: false,
            ..page()
        };
        assert!(
            !cross.csrf_ok(Some(&"0".repeat(64))),
            "another site's post is refused"
        );
    }

    #[test]
    fn tokens_are_tied_to_the_seed_and_the_session() {
        tongban_platform::vault::install(tongban_platform::vault::Keys::for_tests());
        let a = csrf_token(&"a".repeat(64), Some("s1"));
        assert_eq!(a, csrf_token(&"a".repeat(64), Some("s1")));
        assert_ne!(
            a,
            csrf_token(&"a".repeat(64), Some("s2")),
            "another session"
        );
        assert_ne!(a, csrf_token(&"b".repeat(64), Some("s1")), "another seed");
        assert_ne!(a, csrf_token(&"a".repeat(64), None), "before login");
        assert_ne!(a, "a".repeat(64), "not the cookie's value");
    }

    #[test]
    fn next_is_a_local_path() {
        for bad in [
            "/\t/evil.example",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\r\nSet-Cookie: x=1",
            "/\u{0}x",
        ] {
            assert_eq!(safe_next(Some(bad), "/home"), "/home", "{bad:?}");
        }
        assert_eq!(safe_next(Some("/my/cases?page=2"), "/"), "/my/cases?page=2");
    }

    #[test]
    fn every_template_compiles_and_is_registered() {
        check_templates().unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for f in std::fs::read_dir(dir).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                TEMPLATES.iter().any(|(n, _)| *n == name),
                "{name} is not in TEMPLATES"
            );
        }
    }

    #[test]
    fn clock_flags_render_for_every_state() {
        let env = env();
        let tpl = env
            .template_from_str("{% import 'macros.html' as m %}{{ m.clock(c) }}")
            .unwrap();
        for (c, want) in [
            (
                serde_json::json!({"overdue": true, "due_soon": false, "days_left": -3}),
                "已超期 3 个工作日",
            ),
            (
                serde_json::json!({"overdue": false, "due_soon": true, "days_left": 1}),
                "即将到期",
            ),
            (
                serde_json::json!({"overdue": false, "due_soon": false, "days_left": 9}),
                "剩余 9 个工作日",
            ),
            (
                serde_json::json!({"overdue": false, "due_soon": false, "days_left": null}),
                "",
            ),
        ] {
            RENDER_LANG.with(|l| l.set(Lang::Zh));
            let out = tpl.render(context! { c => c }).unwrap();
            assert!(out.contains(want), "{out}");
        }
        let _ = page();
    }
}
