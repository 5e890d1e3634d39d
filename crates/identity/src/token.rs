//! The token endpoint (codes and refresh tokens for tokens, RFC 6749 §4.1.3 and §6), the
//! UserInfo endpoint (OIDC Core §5.3), revocation (RFC 7009), the discovery document and the
//! JWK set. Clients authenticate with HTTP Basic or form fields (a secret), or, when public,
//! by `client_id` and PKCE alone.

use crate::claims;
use crate::error::OAuthError;
use crate::grants::{self, Grant, Issued};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::Ctx;

/// The form's fields; a field given twice is refused.
fn form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::request("send application/x-www-form-urlencoded fields"))?;
    let mut out = HashMap::new();
    for (k, v) in pairs {
        if out.insert(k.clone(), v).is_some() {
            return Err(OAuthError::request(format!("{k} is given more than once")));
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
        .ok()
        .and_then(|v| v.into_iter().next())
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The client, authenticated: by Basic (`client_id:secret`, each form-encoded as RFC 6749
/// §2.3.1 says), by `client_id` + `client_secret` fields, or a public client by `client_id`.
async fn client(
    ctx: &Ctx,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<crate::clients::Client, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| {
                    s.split_once(':')
                        .map(|(a, b)| (percent_decode(a), percent_decode(b)))
                })
                .ok_or_else(|| OAuthError::client("the Basic credentials cannot be read"))
        })
        .transpose()?;
    let (id, secret) = match basic {
        Some((id, secret)) => (id, Some(secret)),
        None => (
            f.get("client_id").cloned().unwrap_or_default(),
            f.get("client_secret").cloned(),
        ),
    };
    let id2 = id.clone();
    let found = ctx
        .db
        .read(move |c| crate::clients::get(c, &id2))
        .await?
        .filter(|c| !c.disabled)
        .ok_or_else(|| OAuthError::client("client authentication failed"))?;
    match (found.confidential, secret) {
        (true, Some(s)) => {
            let ok = ctx
                .db
                .read(move |c| crate::clients::secret_matches(c, &id, &s))
                .await?;
            if ok {
                Ok(found)
            } else {
                Err(OAuthError::client("client authentication failed"))
            }
        }
        (false, None) => Ok(found),
        _ => Err(OAuthError::client("client authentication failed")),
    }
}

fn no_store(body: Value) -> Response {
    let mut r = Json(body).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

async fn answer(ctx: &Ctx, g: Grant, issued: Issued) -> Result<Response, OAuthError> {
    let now = tongban_platform::time::now_millis();
    let g2 = g.clone();
    let (key, claims) = ctx
        .db
        .write(move |c| {
            let key = crate::keys::current(c, now)?;
            let claims = claims::for_scope(c, &g2.client_id, g2.account_id, &g2.scope)?;
            Ok((key, claims))
        })
        .await?;
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": grants::ACCESS_SECONDS,
        "refresh_token": issued.refresh_token,
        "scope": g.scope,
    });
    if claims::has(&g.scope, "openid") {
        let mut id = claims;
        let secs = now / 1000;
        id.insert("iss".into(), json!(ctx.config.public_base()));
        id.insert("aud".into(), json!(g.client_id));
        id.insert("azp".into(), json!(g.client_id));
        id.insert("iat".into(), json!(secs));
        id.insert("exp".into(), json!(secs + 600));
        id.insert("auth_time".into(), json!(g.auth_time));
        id.insert("amr".into(), json!(["pwd"]));
        if let Some(n) = &g.nonce {
            id.insert("nonce".into(), json!(n));
        }
        body["id_token"] = json!(key.sign(&Value::Object(id)));
    }
    Ok(no_store(body))
}

async fn granted(ctx: &Ctx, out: grants::Outcome) -> Result<Response, OAuthError> {
    match out {
        grants::Outcome::Granted(g, issued) => answer(ctx, g, issued).await,
        grants::Outcome::Refused(why) => Err(OAuthError::grant(why)),
    }
}

/// `POST /oauth2/token`.
pub async fn token(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    match token_inner(&ctx, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn token_inner(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let f = form(body)?;
    let client = client(ctx, headers, &f).await?;
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let now = tongban_platform::time::now_millis();
    let cid = client.client_id.clone();
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let (code, uri, verifier) =
                (field("code"), field("redirect_uri"), field("code_verifier"));
            let out = ctx
                .db
                .write(move |c| grants::redeem_code(c, &code, &cid, &uri, &verifier, now))
                .await?;
            granted(ctx, out).await
        }
        Some("refresh_token") => {
            let (token, scope) = (field("refresh_token"), f.get("scope").cloned());
            let out = ctx
                .db
                .write(move |c| grants::refresh(c, &token, &cid, scope.as_deref(), now))
                .await?;
            granted(ctx, out).await
        }
        Some("client_credentials") => client_credentials(ctx, &client, f.get("scope")).await,
        Some(_) => Err(OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type: authorization_code, refresh_token or client_credentials",
        )),
        None => Err(OAuthError::request("grant_type is missing")),
    }
}

/// A partner app's token for itself: only a confidential client, only partner scopes it holds
/// (all of them when it names none).
async fn client_credentials(
    ctx: &Ctx,
    client: &crate::clients::Client,
    scope: Option<&String>,
) -> Result<Response, OAuthError> {
    if !client.confidential {
        return Err(OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "a public client cannot use client_credentials",
        ));
    }
    let held: Vec<&str> = client
        .scopes
        .iter()
        .map(String::as_str)
        .filter(|s| crate::clients::PARTNER_SCOPES.contains(s))
        .collect();
    let asked: Vec<&str> = match scope.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(s) => s.split(' ').filter(|x| !x.is_empty()).collect(),
        None => held.clone(),
    };
    if asked.is_empty() {
        return Err(OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_scope",
            "this app holds no partner scope",
        ));
    }
    if let Some(s) = asked.iter().find(|s| !held.contains(s)) {
        return Err(OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("scope {s:?} is not a partner scope this app holds"),
        ));
    }
    let scope = asked.join(" ");
    let (cid, sc) = (client.client_id.clone(), scope.clone());
    let now = tongban_platform::time::now_millis();
    let token = ctx
        .db
        .write(move |c| grants::issue_client_token(c, &cid, &sc, now))
        .await?;
    Ok(no_store(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": grants::ACCESS_SECONDS,
        "scope": scope,
    })))
}

/// `GET|POST /oauth2/userinfo` with the access token as a Bearer token.
pub async fn userinfo(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let Some(token) = token else {
        return OAuthError::token("send the access token as Authorization: Bearer").into_response();
    };
    let now = tongban_platform::time::now_millis();
    let res = ctx
        .db
        .read(move |c| {
            let Some(a) = grants::access(c, &token, now)? else {
                return Ok(Info::Unknown);
            };
            if !claims::has(&a.scope, "openid") {
                return Ok(Info::NoOpenid);
            }
            claims::for_scope(c, &a.client_id, a.account_id, &a.scope).map(Info::Claims)
        })
        .await;
    match res {
        Ok(Info::Claims(m)) => no_store(Value::Object(m)),
        Ok(Info::NoOpenid) => OAuthError::new(
            axum::http::StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token was not granted openid",
        )
        .into_response(),
        Ok(Info::Unknown) => {
            OAuthError::token("the access token is unknown, expired or revoked").into_response()
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}

enum Info {
    Claims(serde_json::Map<String, Value>),
    NoOpenid,
    Unknown,
}

/// `POST /oauth2/revoke`: always 200 for a known client (RFC 7009 §2.2).
pub async fn revoke(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let run = async {
        let f = form(&body)?;
        let client = client(&ctx, &headers, &f).await?;
        let token = f.get("token").cloned().unwrap_or_default();
        let now = tongban_platform::time::now_millis();
        ctx.db
            .write(move |c| grants::revoke(c, &token, &client.client_id, now))
            .await?;
        Ok::<_, OAuthError>(no_store(json!({})))
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(ctx): State<Ctx>) -> Json<Value> {
    let iss = ctx.config.public_base();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "scopes_supported": crate::clients::SCOPES.iter().chain(crate::clients::PARTNER_SCOPES.iter()).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [crate::keys::ALG],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "consent"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp",
            "name", "id_number", "phone_number", "phone_number_verified"],
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["zh-CN", "en"],
    }))
}

/// `GET /oauth2/jwks`.
pub async fn jwks(State(ctx): State<Ctx>) -> Response {
    let now = tongban_platform::time::now_millis();
    match ctx.db.write(move |c| crate::keys::jwks(c, now)).await {
        Ok(v) => {
            let mut r = Json(v).into_response();
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            r
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}
