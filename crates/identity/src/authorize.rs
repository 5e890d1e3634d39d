//! The authorization endpoint (OIDC Core §3.1.2): the code flow with PKCE (S256 only). An
//! unknown client or a redirect URI not registered exactly is answered here with 400 and
//! never redirected; other problems go back to the client as `error=` on its redirect URI.
//! A citizen not signed in is sent to log in and brought back; the consent page lists what
//! the app will learn, and a consent is remembered until the app asks for more.
//!
//! The last step answers with a page that moves on by `<meta http-equiv="refresh">`, not a
//! 303: browsers hold a form's redirects to the page's `form-action 'self'`, and the step
//! after the login or consent form goes to another site.

use crate::clients::{self, Client};
use crate::grants::{self, NewCode};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tongban_platform::{ApiError, Ctx};
use tongban_web::{Page, SafeForm};

/// The request's parameters, as sent (each at most once).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    #[serde(default)]
    pub code_challenge: String,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
}

const NAMES: [&str; 9] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
];

/// Read the query; a parameter given twice is refused (RFC 6749 §3.1).
fn parse(raw: &str) -> Result<AuthRequest, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| format!("the query cannot be read: {e}"))?;
    let mut seen = HashMap::new();
    for (k, v) in pairs {
        if NAMES.contains(&k.as_str()) && seen.insert(k.clone(), v).is_some() {
            return Err(format!("{k} is given more than once"));
        }
    }
    let get = |k: &str| seen.get(k).cloned();
    Ok(AuthRequest {
        response_type: get("response_type").unwrap_or_default(),
        client_id: get("client_id").unwrap_or_default(),
        redirect_uri: get("redirect_uri").unwrap_or_default(),
        scope: get("scope").unwrap_or_default(),
        state: get("state"),
        nonce: get("nonce"),
        code_challenge: get("code_challenge").unwrap_or_default(),
        code_challenge_method: get("code_challenge_method"),
        prompt: get("prompt"),
    })
}

/// A request fit to answer.
pub struct Valid {
    pub req: AuthRequest,
    pub client: Client,
    /// The scopes asked for, in the provider's order, without repeats.
    pub scope: String,
}

enum Checked {
    /// Answered here: the client or its redirect URI cannot be trusted with a redirect.
    Here(ApiError),
    /// Sent back to the client.
    Back(String, &'static str, String),
    Ok(Box<Valid>),
}

async fn check(ctx: &Ctx, req: AuthRequest) -> Checked {
    let id = req.client_id.clone();
    let client = match ctx.db.read(move |c| clients::get(c, &id)).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => {
            return Checked::Here(ApiError::bad_request(
                "oidc_unknown_client",
                "client_id: no such app is registered here",
            ))
        }
        Err(e) => return Checked::Here(e.into()),
    };
    if !client.redirect_uris.contains(&req.redirect_uri) {
        return Checked::Here(ApiError::bad_request(
            "oidc_bad_redirect_uri",
            "redirect_uri: not one this app registered (it must match exactly)",
        ));
    }
    let back = |e: &'static str, d: &str| Checked::Back(req.redirect_uri.clone(), e, d.into());
    if req.response_type != "code" {
        return back(
            "unsupported_response_type",
            "response_type: only code is supported",
        );
    }
    if req.code_challenge.is_empty() {
        return back("invalid_request", "code_challenge: PKCE is required");
    }
    if req.code_challenge_method.as_deref() != Some("S256") {
        return back(
            "invalid_request",
            "code_challenge_method: only S256 is supported",
        );
    }
    let c = &req.code_challenge;
    if c.len() != 43
        || !c
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return back(
            "invalid_request",
            "code_challenge: BASE64URL(SHA-256(verifier)), 43 characters",
        );
    }
    let asked: Vec<&str> = req.scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !asked.contains(&"openid") {
        return back("invalid_scope", "scope: include openid");
    }
    if let Some(s) = asked
        .iter()
        .find(|s| !clients::is_oidc_scope(s) || !client.scopes.iter().any(|k| k == *s))
    {
        return back(
            "invalid_scope",
            &format!("scope: {s} is not allowed for this app"),
        );
    }
    if req.state.as_ref().is_some_and(|s| s.len() > 1000)
        || req.nonce.as_ref().is_some_and(|s| s.len() > 1000)
    {
        return back(
            "invalid_request",
            "state and nonce: at most 1000 characters",
        );
    }
    let scope = clients::SCOPES
        .iter()
        .filter(|s| asked.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Checked::Ok(Box::new(Valid { req, client, scope }))
}

/// The client's redirect URI with `params` added to its query.
fn to_client(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{q}")
}

/// The page that takes the browser on to `url` (see the module's note).
fn onward(page: &Page, url: &str, client: &str) -> Response {
    let mut r = page.ok("oidc_onward.html", context! { url, client });
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

fn error_back(ctx: &Ctx, page: &Page, v: &Valid, error: &str, description: &str) -> Response {
    let issuer = ctx.config.public_base();
    let mut p = vec![("error", error), ("error_description", description)];
    if let Some(s) = &v.req.state {
        p.push(("state", s));
    }
    p.push(("iss", &issuer));
    onward(page, &to_client(&v.req.redirect_uri, &p), &v.client.name)
}

async fn give_code(ctx: &Ctx, page: &Page, v: &Valid, account_id: i64, remember: bool) -> Response {
    let now = tongban_platform::time::now_millis();
    let (client_id, redirect_uri, scope) = (
        v.client.client_id.clone(),
        v.req.redirect_uri.clone(),
        v.scope.clone(),
    );
    let (nonce, challenge) = (v.req.nonce.clone(), v.req.code_challenge.clone());
    let res = ctx
        .db
        .write(move |c| {
            if remember {
                grants::record_consent(c, account_id, &client_id, &scope, now)?;
                let e = tongban_platform::audit::Entry::citizen(
                    account_id,
                    "oidc.consent",
                    &client_id,
                    "ok",
                );
                tongban_platform::audit::append(c, &e)?;
            }
            grants::issue_code(
                c,
                &NewCode {
                    client_id: &client_id,
                    account_id,
                    redirect_uri: &redirect_uri,
                    scope: &scope,
                    nonce: nonce.as_deref(),
                    code_challenge: &challenge,
                    auth_time: now / 1000,
                },
                now,
            )
        })
        .await;
    match res {
        Ok(code) => {
            let issuer = ctx.config.public_base();
            let mut p = vec![("code", code.as_str())];
            if let Some(s) = &v.req.state {
                p.push(("state", s));
            }
            p.push(("iss", &issuer));
            onward(page, &to_client(&v.req.redirect_uri, &p), &v.client.name)
        }
        Err(e) => page.error(&e.into()),
    }
}

/// `GET /oauth2/authorize`.
pub async fn authorize(State(ctx): State<Ctx>, page: Page, RawQuery(q): RawQuery) -> Response {
    let raw = q.unwrap_or_default();
    let req = match parse(&raw) {
        Ok(r) => r,
        Err(m) => return page.error(&ApiError::bad_request("oidc_bad_request", m)),
    };
    let v = match check(&ctx, req).await {
        Checked::Here(e) => return page.error(&e),
        Checked::Back(uri, e, d) => {
            let issuer = ctx.config.public_base();
            return Redirect::to(&to_client(
                &uri,
                &[("error", e), ("error_description", &d), ("iss", &issuer)],
            ))
            .into_response();
        }
        Checked::Ok(v) => v,
    };
    let prompt = v.req.prompt.clone().unwrap_or_default();
    let Some(account_id) = page.citizen_id else {
        if prompt.split(' ').any(|p| p == "none") {
            return error_back(
                &ctx,
                &page,
                &v,
                "login_required",
                "the citizen is not signed in",
            );
        }
        let next = format!("/oauth2/authorize?{raw}");
        return Redirect::to(&format!(
            "/login?next={}",
            tongban_web::page::urlencode(&next)
        ))
        .into_response();
    };
    let cid = v.client.client_id.clone();
    let held = match ctx
        .db
        .read(move |c| grants::consented(c, account_id, &cid))
        .await
    {
        Ok(h) => h.unwrap_or_default(),
        Err(e) => return page.error(&e.into()),
    };
    let covered = v.scope.split(' ').all(|s| held.split(' ').any(|h| h == s));
    if covered && !prompt.split(' ').any(|p| p == "consent") {
        return give_code(&ctx, &page, &v, account_id, false).await;
    }
    if prompt.split(' ').any(|p| p == "none") {
        return error_back(
            &ctx,
            &page,
            &v,
            "consent_required",
            "the citizen has not agreed yet",
        );
    }
    consent_page(&page, &v, StatusCode::OK)
}

fn consent_page(page: &Page, v: &Valid, status: StatusCode) -> Response {
    let scopes: Vec<&str> = v.scope.split(' ').filter(|s| *s != "openid").collect();
    page.render(
        status,
        "oidc_consent.html",
        context! { client => v.client.name.clone(), scopes, req => v.req.clone() },
    )
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(flatten)]
    req: AuthRequest,
    decision: Option<String>,
}

/// `POST /oauth2/authorize`: the citizen's answer on the consent page.
pub async fn decide(
    State(ctx): State<Ctx>,
    page: Page,
    SafeForm(f): SafeForm<ConsentForm>,
) -> Response {
    let Some(account_id) = page.citizen_id else {
        return page.error(&ApiError::unauthorized("log in first, then allow the app"));
    };
    let v = match check(&ctx, f.req).await {
        Checked::Here(e) => return page.error(&e),
        Checked::Back(uri, e, d) => {
            return onward(
                &page,
                &to_client(&uri, &[("error", e), ("error_description", &d)]),
                "",
            )
        }
        Checked::Ok(v) => v,
    };
    match f.decision.as_deref() {
        Some("allow") => give_code(&ctx, &page, &v, account_id, true).await,
        Some("deny") => {
            let e = tongban_platform::audit::Entry::citizen(
                account_id,
                "oidc.consent",
                &v.client.client_id,
                "denied",
            );
            tongban_platform::audit::record(&ctx.db, e).await;
            error_back(
                &ctx,
                &page,
                &v,
                "access_denied",
                "the citizen did not allow it",
            )
        }
        _ => consent_page(&page, &v, StatusCode::UNPROCESSABLE_ENTITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_twice_are_refused() {
        assert!(parse("client_id=a&client_id=b").is_err());
        let r = parse("client_id=a&scope=openid%20phone&other=1&other=2").unwrap();
        assert_eq!(r.scope, "openid phone");
    }

    #[test]
    fn the_code_is_added_to_the_clients_query() {
        assert_eq!(
            to_client("https://a.cn/cb?x=1", &[("code", "c d"), ("state", "s&")]),
            "https://a.cn/cb?x=1&code=c+d&state=s%26"
        );
    }
}
