//! The console's 数据共享 page: a consumer's administrator asks for a service from the
//! catalogue, the provider's administrator grants it until a day on the page, sees it in
//! force, and revokes it there; a day in the past is refused in words.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

/// Post a console form as the holder of `token`: the status and the page.
async fn form(
    app: &TestApp,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let cookie = with_csrf(&format!("tongban_staff={token}"));
    let csrf = csrf_for(&cookie);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let r = app
        .client
        .post(app.iurl(path))
        .header("cookie", &cookie)
        .form(&all)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.text().await.unwrap())
}

on_both_engines!(ask_grant_revoke_on_the_page, |app: TestApp| async move {
    let gaj = app.staff("xk-gaj", "wx-gaj", &[Role::Admin]).await;
    let wjw = app.staff("xk-wjw", "wx-wjw", &[Role::Admin]).await;
    let clerk = app.staff("xk-clerk", "wx-wjw", &[Role::Clerk]).await;
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/exchange/services/hukou"))
        .bearer_auth(&gaj)
        .json(&json!({"version": "1.0", "name": "户籍信息",
            "request_schema": {"type": "object"}, "response_schema": {"type": "object"},
            "sharing": "conditional", "backend": "registry", "registry": "population"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The consumer's administrator finds it in the catalogue and asks.
    let page = app.console_page("/console/exchange", &wjw).await;
    assert!(page.contains("wx-gaj · 户籍信息（有条件共享）"), "{page}");
    assert!(
        page.contains("href=\"/console/exchange\""),
        "the menu links it"
    );
    let (s, page) = form(
        &app,
        &wjw,
        "/console/exchange/requests",
        &[
            ("target", "wx-gaj:hukou"),
            ("purpose", "办件核验"),
            ("reason", "出生登记核验父母户籍"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("已提交，等待提供部门审批"), "{page}");
    assert!(page.contains("wx-gaj · hukou · 办件核验：待审批"), "{page}");

    // The provider's administrator sees it, and a grant into the past is refused in words.
    let page = app.console_page("/console/exchange", &gaj).await;
    assert!(page.contains("出生登记核验父母户籍"), "{page}");
    let requests: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/requests"), &gaj)
        .await
        .json()
        .await
        .unwrap();
    let id = requests["items"][0]["id"].as_i64().unwrap();
    let decide = format!("/console/exchange/requests/{id}/decision");
    let (s, page) = form(
        &app,
        &gaj,
        &decide,
        &[("decision", "grant"), ("valid_until", "2020-01-01")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("error-summary"), "{page}");
    let (s, page) = form(
        &app,
        &gaj,
        &decide,
        &[("decision", "grant"), ("valid_until", "2099-12-31")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("已同意，授权即时生效") && page.contains("2099-12-31"),
        "{page}"
    );
    // Decided once only.
    let (s, _) = form(&app, &gaj, &decide, &[("decision", "refuse")]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let held: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/grants?box=held"), &wjw)
        .await
        .json()
        .await
        .unwrap();
    // Beside the demo's grant of 民政局's marriage records.
    let hukou = |held: &Value| {
        held["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["service"] == "hukou")
            .cloned()
            .expect("the grant is held")
    };
    let grant = hukou(&held)["id"].as_i64().unwrap();

    // Not for a clerk; not the consumer's to revoke.
    let r = app
        .client
        .get(app.iurl("/console/exchange"))
        .header("cookie", format!("tongban_staff={clerk}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let revoke = format!("/console/exchange/grants/{grant}/revoke");
    let (s, _) = form(&app, &wjw, &revoke, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, page) = form(&app, &gaj, &revoke, &[]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("授权已撤销") && page.contains("已撤销"),
        "{page}"
    );
    let held: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/grants?box=held"), &wjw)
        .await
        .json()
        .await
        .unwrap();
    assert!(hukou(&held)["revoked_at"].is_i64(), "{held}");
});
