//! The OpenID Connect provider (issue 18.3), on both engines: an admin registers an app;
//! Authlib, unmodified, signs a citizen in (PKCE, ES256 ID token, UserInfo, refresh rotation
//! and reuse detection); and a hostile prober finds no redirect to an unregistered URI, no
//! second use of a code, no life in expired or revoked tokens, and no whole ID number without
//! the `id_number` scope.

use crate::clients::{clients_dir, python};
use crate::helpers::*;
use crate::on_both_engines;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

const REDIRECT: &str = "https://app.example.cn/callback";

pub(crate) async fn register_client(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.post(&app.iurl("/api/v1/staff/identity/clients"), admin, body)
        .await
}

async fn new_client(
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

fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

const VERIFIER: &str = "a-verifier-of-enough-length-for-pkce-0123456789abcdef";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(
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
async fn code_for(app: &TestApp, citizen: &Citizen, client_id: &str, scope: &str) -> String {
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

async fn token(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn userinfo(app: &TestApp, access: &str) -> reqwest::Response {
    app.client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

fn id_claims(jwt: &str) -> Value {
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
    the_provider_refuses_what_it_must,
    |app: TestApp| async move {
        let admin = app.staff("oidc-admin2", "wx-zfb", &[Role::Admin]).await;
        let clerk = app.staff("oidc-clerk", "wx-zfb", &[Role::Clerk]).await;
        // Registration: admins only, exact and safe redirect URIs, known scopes.
        let ok_body = json!({"name": "x", "redirect_uris": [REDIRECT], "scopes": ["openid"]});
        assert_eq!(
            register_client(&app, &clerk, ok_body).await.status(),
            StatusCode::FORBIDDEN
        );
        for bad in [
            json!({"name": "x", "redirect_uris": ["http://app.example.cn/cb"], "scopes": ["openid"]}),
            json!({"name": "x", "redirect_uris": [REDIRECT], "scopes": ["profile"]}),
            json!({"name": "x", "redirect_uris": [REDIRECT], "scopes": ["openid", "everything"]}),
            json!({"name": "x", "redirect_uris": [], "scopes": ["openid"]}),
        ] {
            let r = register_client(&app, &admin, bad).await;
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let (cid, secret) =
            new_client(&app, &admin, &["openid", "profile", "id_number"], true).await;
        let (public_id, _) = new_client(&app, &admin, &["openid", "profile"], false).await;
        let citizen = app.citizen().await;

        // Discovery and keys.
        let d: Value = app
            .client
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["issuer"], app.public.as_str());
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        let jwks: Value = app
            .client
            .get(app.url("/oauth2/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "EC");
        assert_eq!(jwks["keys"][0]["crv"], "P-256");

        // A redirect URI not registered exactly, or an unknown app: 400 here, no redirect.
        for url in [
            authorize_url(
                &app,
                &cid,
                "https://app.example.cn/callback/x",
                "openid",
                "",
            ),
            authorize_url(&app, &cid, "https://evil.example/callback", "openid", ""),
            authorize_url(&app, "tb_nosuchclient", REDIRECT, "openid", ""),
        ] {
            let r = no_redirects().get(&url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}");
            assert!(r.headers().get("location").is_none());
        }
        // Other problems go back to the app; without PKCE S256 nothing is issued.
        for (url, error) in [
            (
                authorize_url(&app, &cid, REDIRECT, "openid", "")
                    .replace("code_challenge_method=S256", "code_challenge_method=plain"),
                "invalid_request",
            ),
            (
                authorize_url(&app, &cid, REDIRECT, "profile", ""),
                "invalid_scope",
            ),
            (
                authorize_url(&app, &cid, REDIRECT, "openid phone", ""),
                "invalid_scope",
            ),
            (
                authorize_url(&app, &cid, REDIRECT, "openid", "")
                    .replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
        ] {
            let r = no_redirects().get(&url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{url}");
            let loc = r.headers()["location"].to_str().unwrap().to_owned();
            assert!(
                loc.starts_with(REDIRECT) && loc.contains(&format!("error={error}")),
                "{loc}"
            );
        }
        // Not signed in: sent to log in and brought back.
        let r = no_redirects()
            .get(authorize_url(&app, &cid, REDIRECT, "openid", ""))
            .send()
            .await
            .unwrap();
        assert!(r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?next=%2Foauth2%2Fauthorize"));

        // A code is used once; its second use revokes what the first received.
        let code = code_for(&app, &citizen, &cid, "openid profile").await;
        let basic = |f: &mut Vec<(&str, String)>| {
            f.push(("client_id", cid.clone()));
            f.push(("client_secret", secret.clone()));
        };
        let mut f = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ];
        basic(&mut f);
        let form: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let wrong_verifier: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| {
                if *k == "code_verifier" {
                    (*k, "x".repeat(50).leak() as &str)
                } else {
                    (*k, *v)
                }
            })
            .collect();
        let r = token(&app, &form).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let t: Value = r.json().await.unwrap();
        let access = t["access_token"].as_str().unwrap().to_owned();
        let claims = id_claims(t["id_token"].as_str().unwrap());
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["iss"], app.public.as_str());
        let masked =
            userinfo(&app, &access).await.json::<Value>().await.unwrap()["id_number"].clone();
        assert!(
            masked.as_str().unwrap().contains('*'),
            "profile alone: masked"
        );
        let r = token(&app, &form).await;
        let (s, e) = (r.status(), r.json::<Value>().await.unwrap());
        assert_eq!(
            (s, e["error"].as_str().unwrap()),
            (StatusCode::BAD_REQUEST, "invalid_grant")
        );
        assert_eq!(
            userinfo(&app, &access).await.status(),
            StatusCode::UNAUTHORIZED,
            "revoked"
        );

        // A wrong verifier, another client's code, a wrong secret.
        let code = code_for(&app, &citizen, &cid, "openid profile id_number").await;
        let mut f2: Vec<(&str, &str)> = wrong_verifier.clone();
        for p in f2.iter_mut() {
            if p.0 == "code" {
                p.1 = code.as_str();
            }
        }
        let r = token(&app, &f2).await;
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", "wrong"),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "a confidential client must authenticate"
        );

        // A code past its minute is refused.
        let code = code_for(&app, &citizen, &cid, "openid").await;
        app.db()
            .write(|c| {
                c.execute(
                    "UPDATE oidc_codes SET expires_at = 1 WHERE used_at IS NULL",
                    &[],
                )
                .map(|_| ())
            })
            .await
            .unwrap();
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_grant");
        assert!(e["error_description"].as_str().unwrap().contains("expired"));

        // With the id_number scope the whole number; an expired access token is dead.
        let code = code_for(&app, &citizen, &cid, "openid profile id_number").await;
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        let t: Value = r.json().await.unwrap();
        let access = t["access_token"].as_str().unwrap().to_owned();
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        let info: Value = userinfo(&app, &access).await.json().await.unwrap();
        assert_eq!(info["id_number"], citizen.id_number.as_str());
        assert_eq!(
            id_claims(t["id_token"].as_str().unwrap())["id_number"],
            citizen.id_number.as_str()
        );
        app.db()
            .write(|c| {
                c.execute(
                    "UPDATE oidc_tokens SET expires_at = 1 WHERE kind = 'access'",
                    &[],
                )
                .map(|_| ())
            })
            .await
            .unwrap();
        let r = userinfo(&app, &access).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        // The refresh token still works, may narrow the scope, never widen it.
        let r = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("refresh_token", &refresh),
                ("scope", "openid profile"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        assert_eq!(t["scope"], "openid profile");
        let refresh2 = t["refresh_token"].as_str().unwrap().to_owned();
        let r = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("refresh_token", &refresh2),
                ("scope", "openid id_number"),
            ],
        )
        .await;
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

        // A public client: PKCE without a secret.
        let code = code_for(&app, &citizen, &public_id, "openid").await;
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &public_id),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t: Value = r.json().await.unwrap();
        let public_access = t["access_token"].as_str().unwrap().to_owned();
        let sub_public = id_claims(t["id_token"].as_str().unwrap())["sub"].clone();
        assert_ne!(sub_public, claims["sub"], "each app sees its own subject");

        // Revocation, and an app turned off takes its tokens with it.
        let r = app
            .client
            .post(app.url("/oauth2/revoke"))
            .form(&[
                ("client_id", public_id.as_str()),
                ("token", public_access.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            userinfo(&app, &public_access).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let code = code_for(&app, &citizen, &cid, "openid").await;
        let r = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
        let live = r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(userinfo(&app, &live).await.status(), StatusCode::OK);
        let r = app
            .client
            .delete(app.iurl(&format!("/api/v1/staff/identity/clients/{cid}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            userinfo(&app, &live).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let r = no_redirects()
            .get(authorize_url(&app, &cid, REDIRECT, "openid", ""))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "a disabled app cannot start a sign-in"
        );
        let list: Value = app
            .get(
                &app.iurl("/api/v1/staff/identity/clients?page_size=1"),
                &admin,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["total"], 2);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
    }
);

on_both_engines!(
    citizens_see_and_stop_their_apps,
    |app: TestApp| async move {
        let admin = app.staff("oidc-admin3", "wx-zfb", &[Role::Admin]).await;
        let (cid, secret) = new_client(&app, &admin, &["openid", "phone"], true).await;
        let citizen = app.citizen().await;
        let code = code_for(&app, &citizen, &cid, "openid phone").await;
        let t: Value = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
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
