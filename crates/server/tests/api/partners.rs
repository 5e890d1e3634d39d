//! Partner apps (issue 18.4): an admin registers an app with partner scopes and a rate; it
//! gets tokens for itself by OAuth 2.0 client credentials, files and reads its own Open311
//! requests with them (Open311 keys keep working beside), and is held to its rate.

use crate::helpers::*;
use crate::oidc::register_client;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

async fn client_token(
    app: &TestApp,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    app.client
        .post(app.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn request_form() -> Vec<(&'static str, &'static str)> {
    vec![
        ("service_code", "utility.water"),
        ("lat", "31.5747"),
        ("long", "120.2968"),
        ("description", "清扬路水表井盖缺失"),
        ("attribute[district]", "梁溪区"),
        ("phone", "13900005555"),
    ]
}

on_both_engines!(partners_use_client_credentials, |app: TestApp| async move {
    let admin = app.staff("partner-admin", "wx-zfb", &[Role::Admin]).await;
    // A partner app is confidential; partner scopes need no redirect URI.
    let r = register_client(
        &app,
        &admin,
        json!({"name": "便民服务App", "scopes": ["open311"], "confidential": false}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = register_client(
        &app,
        &admin,
        json!({"name": "便民服务App", "scopes": ["open311"], "rate_per_minute": 3}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let (id, secret) = (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    );
    let r = register_client(&app, &admin, json!({"name": "登录App", "redirect_uris": ["https://a.example.cn/cb"], "scopes": ["openid"]})).await;
    let v: Value = r.json().await.unwrap();
    let (rp_id, rp_secret) = (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    );

    // Tokens: only partner scopes the app holds; a wrong secret is refused.
    let r = client_token(&app, &id, "wrong", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client_token(&app, &id, &secret, Some("openid")).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");
    let r = client_token(&app, &rp_id, &rp_secret, None).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_scope",
        "a sign-in app holds no partner scope"
    );
    let r = client_token(&app, &id, &secret, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["scope"], "open311");
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let token = t["access_token"].as_str().unwrap().to_owned();
    // It speaks for no citizen.
    let r = app
        .client
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Open311 with the token: filed as the app's own request, readable by it alone.
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .bearer_auth(&token)
        .form(&request_form())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let created: Value = r.json().await.unwrap();
    let sid = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = app.url(&format!("/open311/v2/requests/{sid}.json"));
    assert_eq!(
        app.client.get(&one).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let r = app
        .client
        .get(&one)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()[0]["service_code"],
        "utility.water"
    );
    // A forged token, or a citizen's sign-in token, is not a partner's.
    let r = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .bearer_auth("forged")
        .form(&request_form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The rate: three calls a minute (two made), then 429.
    let r = app
        .client
        .get(app.url("/open311/v2/requests.json"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(&one)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Turned off: its tokens stop at once.
    app.db()
        .write(|c| {
            c.execute(
                "DELETE FROM login_throttle WHERE key LIKE 'rate:client:%'",
                &[],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let r = app
        .client
        .delete(app.iurl(&format!("/api/v1/staff/identity/clients/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .get(&one)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
});

/// An operator registers a partner app from the command line, on the database the server
/// uses; the server gives that app tokens at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_register_apps_from_the_command_line() {
    let app = spawn_app(Engine::Sqlite).await.expect("app");
    let dir = app.dir.path().to_owned();
    let url = format!("sqlite://{}", dir.join("t.db").display());
    let run = |args: &'static [&'static str]| {
        let (url, dir) = (url.clone(), dir.clone());
        tokio::task::spawn_blocking(move || crate::cli::tongban(&url, &dir, args, None))
    };
    let out = run(&[
        "clients",
        "add",
        "--name",
        "便民服务App",
        "--scope",
        "nothing",
    ])
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("scopes"));
    let out = run(&[
        "clients",
        "add",
        "--name",
        "便民服务App",
        "--scope",
        "open311",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("{name} in {text}"))
    };
    let (id, secret) = (field("client_id:"), field("client_secret:"));
    let r = client_token(&app, &id, &secret, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let out = run(&["clients", "list"]).await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{id}\t便民服务App\topen311")));
    assert!(app
        .audit_counts("oidc.client.add")
        .await
        .iter()
        .any(|a| a.starts_with("oidc.client.add ok")));
}
