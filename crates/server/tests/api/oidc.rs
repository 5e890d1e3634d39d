//! The OpenID Connect provider (issue 18.3), on both engines: an admin registers an app;
//! Authlib, unmodified, signs a citizen in (PKCE, ES256 ID token, UserInfo, refresh rotation
//! and reuse detection); citizens see and stop the apps they allowed. The hostile prober is
//! in `oidc_refusals`.

use crate::clients::{clients_dir, python};
use crate::helpers::*;
use crate::on_both_engines;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

pub(crate) const REDIRECT: &str = "https://app.example.cn/callback";

pub(crate) async fn register_client(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post(&app.iurl("/api/v1/staff/identity/clients"), admin, body)
        .await
}

pub(crate) async fn new_client(
    app: &TestApp,
    admin: &str,
    scopes: &[&str],
    confidential: bool,
) -> (String, String) {
    let r = register_client(
        app,
        admin,
        json!({"name": "无锡停车", "redirect_uris": [REDIRECT], "scopes": scopes, "confidential": confidential}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap_or("").to_owned(),
    )
}

pub(crate) fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

pub(crate) const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789abcdef";

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn authorize_url(
    app: &TestApp,
    client_id: &str,
    redirect: &str,
    scope: &str,
    extra: &str,
) -> String {
    let q = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", scope),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    app.url(&format!("/oauth2/authorize?{q}{extra}"))
}

/// The citizen allows the app on the consent page; returns the code.
pub(crate) async fn code_for(
    app: &TestApp,
    citizen: &Citizen,
    client_id: &str,
    scope: &str,
) -> String {
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let page = no_redirects()
        .get(authorize_url(
            app,
            client_id,
            REDIRECT,
            scope,
            "&prompt=consent",
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = html
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|s| {
            let (name, rest) = s.split_once("\" value=\"")?;
            let value = rest.split('"').next()?;
            Some((
                name.to_owned(),
                value.replace("&amp;", "&").replace("&#x2f;", "/"),
            ))
        })
        .filter(|(n, _)| n != "csrf")
        .collect();
    form.push(("csrf".into(), csrf_for(&cookie)));
    form.push(("decision".into(), "allow".into()));
    let r = no_redirects()
        .post(app.url("/oauth2/authorize"))
        .header("cookie", &cookie)
        .header("origin", &app.public)
        .form(&form)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let href = html
        .split("id=\"onward\" href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("{html}"))
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    assert!(href.starts_with(REDIRECT), "{href}");
    let q: Vec<(String, String)> =
        serde_urlencoded::from_str(href.split_once('?').unwrap().1).unwrap();
    assert!(q.contains(&("state".into(), "st-1".into())));
    q.into_iter().find(|(k, _)| k == "code").unwrap().1
}

pub(crate) async fn token(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A confidential client exchanges `code` (made for [`VERIFIER`] and [`REDIRECT`]).
pub(crate) async fn exchange(
    app: &TestApp,
    cid: &str,
    secret: &str,
    code: &str,
) -> reqwest::Response {
    token(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", cid),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

pub(crate) async fn userinfo(app: &TestApp, access: &str) -> reqwest::Response {
    app.client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

pub(crate) fn id_claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

on_both_engines!(authlib_signs_a_citizen_in, |app: TestApp| async move {
    let admin = app.staff("oidc-admin", "wx-zfb", &[Role::Admin]).await;
    let (client_id, secret) = new_client(&app, &admin, &["openid", "profile", "phone"], true).await;
    assert!(
        !secret.is_empty(),
        "a confidential client gets its secret once"
    );
    let citizen = app.citizen().await;
    let (base, cid, phone) = (app.url(""), client_id.clone(), citizen.phone.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python())
            .arg(clients_dir().join("oidc_client.py"))
            .args([
                base.trim_end_matches('/'),
                &cid,
                &secret,
                REDIRECT,
                &phone,
                PASSWORD,
            ])
            .output()
            .expect("run the authlib script")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alg"], "ES256");
    assert_eq!(v["aud"], client_id.as_str());
    assert_eq!(v["name"], "李四");
    assert_eq!(v["userinfo"]["sub"], v["sub"]);
    assert_eq!(
        v["userinfo"]["phone_number"],
        format!("+86 {}", citizen.phone)
    );
    assert_eq!(v["userinfo"]["phone_number_verified"], true);
    let masked = v["userinfo"]["id_number"].as_str().unwrap();
    assert!(
        masked.contains('*') && masked != citizen.id_number,
        "masked without the scope"
    );
    assert_eq!(v["rotated"], true);
    assert_eq!(v["reused"], "invalid_grant");
    assert_eq!(
        v["after_reuse"], "invalid_grant",
        "reuse revokes the family"
    );
    assert!(app
        .audit_counts("oidc.")
        .await
        .iter()
        .any(|a| a.starts_with("oidc.consent ok")));
});

on_both_engines!(
    citizens_see_and_stop_their_apps,
    |app: TestApp| async move {
        let admin = app.staff("oidc-admin3", "wx-zfb", &[Role::Admin]).await;
        let (cid, secret) = new_client(&app, &admin, &["openid", "phone"], true).await;
        let citizen = app.citizen().await;
        let code = code_for(&app, &citizen, &cid, "openid phone").await;
        let t: Value = exchange(&app, &cid, &secret, &code)
            .await
            .json()
            .await
            .unwrap();
        let access = t["access_token"].as_str().unwrap().to_owned();
        assert_eq!(userinfo(&app, &access).await.status(), StatusCode::OK);
        // Allowed once, the app signs the citizen in again without asking.
        let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
        let again = no_redirects()
            .get(authorize_url(&app, &cid, REDIRECT, "openid phone", ""))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(again.contains("id=\"onward\"") && !again.contains("name=\"decision\""));
        // The account lists it; stopping it revokes its tokens and the next sign-in asks again.
        let page = app
            .client
            .get(app.url("/account/apps"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("无锡停车") && page.contains("手机号码"),
            "{page}"
        );
        let r = app
            .client
            .post(app.url(&format!("/account/apps/{cid}/revoke")))
            .header("cookie", &cookie)
            .header("origin", &app.public)
            .form(&[("csrf", csrf_for(&cookie))])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(page.contains("已取消授权") && !page.contains("无锡停车"));
        assert_eq!(
            userinfo(&app, &access).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let again = no_redirects()
            .get(authorize_url(&app, &cid, REDIRECT, "openid phone", ""))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(again.contains("name=\"decision\""), "asked again");
        assert!(app
            .audit_counts("oidc.revoke")
            .await
            .iter()
            .any(|a| a.starts_with("oidc.revoke ok")));
    }
);
