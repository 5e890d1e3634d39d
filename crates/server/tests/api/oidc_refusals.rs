//! The OpenID Connect provider against a hostile prober (issue 18.3), on both engines: no
//! redirect to an unregistered URI, no second use of a code, no life in expired, revoked or
//! turned-off tokens, no widening on refresh, and no whole ID number without `id_number`.

use crate::helpers::*;
use crate::oidc::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

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
        let r = exchange(&app, &cid, &secret, &code).await;
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], "invalid_grant");
        assert!(e["error_description"].as_str().unwrap().contains("expired"));

        // With the id_number scope the whole number; an expired access token is dead.
        let code = code_for(&app, &citizen, &cid, "openid profile id_number").await;
        let r = exchange(&app, &cid, &secret, &code).await;
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
        let r = exchange(&app, &cid, &secret, &code).await;
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
