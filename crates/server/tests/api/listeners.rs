//! The two listeners: no internal path answers on the public one; the OpenAPI document
//! describes every public path; metrics on the internal listener.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;

fn sample(path: &str) -> String {
    path.replace("{case_no}", "320200202601010000001")
        .replace("{key}", "m")
        .replace("{code}", "WX-WJ-001")
        .replace("{date}", "2026-10-01")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_internal_path_answers_on_the_public_listener() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let internal = tongban_server::internal_paths();
    assert!(internal.len() >= 7);
    for path in internal {
        let url = sample(path);
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::DELETE,
        ] {
            let r = app
                .client
                .request(method.clone(), app.url(&url))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::NOT_FOUND,
                "{method} {url} on the public listener"
            );
        }
        // The same path is really served on the internal listener (so the list is not stale).
        let mut seen = false;
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let r = app
                .client
                .request(method, app.iurl(&url))
                .send()
                .await
                .unwrap();
            seen |=
                r.status() != StatusCode::NOT_FOUND && r.status() != StatusCode::METHOD_NOT_ALLOWED;
        }
        assert!(seen, "{url} is not served on the internal listener");
    }
    // And the citizen API is not on the internal listener.
    let r = app
        .client
        .get(app.iurl("/api/v1/matters"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_public_path() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in tongban_server::public_paths()
        .into_iter()
        .filter(|p| *p != "/")
    {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    for p in paths.keys() {
        let r = app.client.get(app.url(&sample(p))).send().await.unwrap();
        // A 404 from the route itself (e.g. "no such order") is fine; the router's fallback is not.
        if r.status() == StatusCode::NOT_FOUND {
            let v: Value = r.json().await.unwrap_or_default();
            assert_ne!(
                v["error"]["code"], "not_found",
                "documented path {p} is not served"
            );
        }
    }
    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("/api/openapi.json") && home.contains("通办"));
}

on_both_engines!(
    metrics_count_requests_and_cases,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        app.submit_birth(&citizen).await;
        for _ in 0..3 {
            app.client
                .get(app.url("/api/v1/matters"))
                .send()
                .await
                .unwrap();
        }
        let text = app
            .client
            .get(app.iurl("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
        text.contains(r#"tongban_http_requests_total{listener="public",method="GET",route="/api/v1/matters",status="200"} 3"#),
        "{text}"
    );
        assert!(text.contains(r#"tongban_http_request_duration_seconds_bucket{listener="public",method="POST",route="/api/v1/cases",le="+Inf"} 1"#));
        assert!(
            text.contains(r#"tongban_cases{status="submitted"} 1"#),
            "{text}"
        );
        let health: Value = app
            .client
            .get(app.iurl("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_openapi_describes_every_staff_api_path() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let r = app
        .client
        .get(app.iurl("/api/openapi-internal.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in tongban_server::internal_paths()
        .into_iter()
        .filter(|p| p.starts_with("/api/v1/"))
    {
        assert!(paths.contains_key(p), "the internal OpenAPI lacks {p}");
    }
    for p in paths.keys() {
        assert!(
            tongban_server::internal_paths().contains(&p.as_str()),
            "{p} is documented but not served"
        );
    }
    // Not on the public listener.
    let r = app
        .client
        .get(app.url("/api/openapi-internal.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
