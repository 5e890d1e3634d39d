//! Inputs that flooded the server (issue 11, attack 5 and 6): anonymous work orders without
//! a limit, thousands of file parts in one submission, page numbers that wrapped round.
//! Each is now bounded with a clear 4xx, and nothing is stored past the bound.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn anonymous_order(phone: &str) -> Value {
    json!({"type": "complaint", "category": "city.noise", "district": "梁溪区", "street": "中山路",
           "title": "噪音", "content": "夜间施工", "phone": phone})
}

async fn file(app: &TestApp, phone: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/workorders"))
        .json(&anonymous_order(phone))
        .send()
        .await
        .unwrap()
}

async fn orders(app: &TestApp) -> i64 {
    app.db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                .get_i64("n")
        })
        .await
        .unwrap()
}

fn limited(r: &reqwest::Response) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&after), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_filing_and_registration_are_rate_limited_per_address_sqlite() {
    per_address(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn anonymous_filing_and_registration_are_rate_limited_per_address_postgres() {
    per_address(Engine::Postgres).await;
}

async fn per_address(engine: Engine) {
    {
        let Some(app) = spawn_app_with(engine, |c| {
            c.rate_per_hour = 3;
            c.rate_per_phone_day = 100;
        })
        .await
        else {
            return;
        };
        let before = orders(&app).await;
        for i in 0..3 {
            let r = file(&app, &format!("1390000{:04}", 7000 + i)).await;
            assert_eq!(r.status(), StatusCode::CREATED, "{engine:?} order {i}");
        }
        let r = file(&app, "13900007999").await;
        limited(&r);
        assert_eq!(
            orders(&app).await,
            before + 3,
            "{engine:?}: the fourth is not stored"
        );
        // A logged-in citizen is not anonymous: not counted against the address.
        let mut registered = 0;
        loop {
            let r = register(
                &app.client,
                &app.public,
                json!({"name": "王五", "id_number": random_id_number(), "phone": random_phone(), "password": PASSWORD}),
            )
            .await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                limited(&r);
                break;
            }
            assert_eq!(r.status(), StatusCode::CREATED);
            registered += 1;
            assert!(registered <= 3, "{engine:?}: registrations are limited");
        }
        assert_eq!(registered, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_filing_is_rate_limited_per_phone_sqlite() {
    per_phone(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn anonymous_filing_is_rate_limited_per_phone_postgres() {
    per_phone(Engine::Postgres).await;
}

async fn per_phone(engine: Engine) {
    {
        let Some(app) = spawn_app_with(engine, |c| {
            c.rate_per_hour = 100;
            c.rate_per_phone_day = 2;
        })
        .await
        else {
            return;
        };
        for _ in 0..2 {
            assert_eq!(
                file(&app, "13900008888").await.status(),
                StatusCode::CREATED
            );
        }
        limited(&file(&app, "13900008888").await);
        assert_eq!(
            file(&app, "13900008889").await.status(),
            StatusCode::CREATED
        );
    }
}

on_both_engines!(
    submissions_and_pages_are_bounded,
    |app: TestApp| async move {
        let c = app.citizen().await;
        let before = app.row_counts().await;
        // Six files for one material: refused by name, nothing stored.
        let mut form = reqwest::multipart::Form::new()
            .text("matter_code", "WX-WJ-001")
            .text("form", birth_registration_form(&c).to_string());
        for i in 0..6 {
            form = form.part(
                "marriage_cert",
                reqwest::multipart::Part::bytes(b"%PDF-1.4 x".to_vec())
                    .file_name(format!("{i}.pdf")),
            );
        }
        let r = app
            .client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&c.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (s, code, _) = error_code(r).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "too_many_files")
        );
        // More parts than any form has: refused (the server stops reading there).
        let mut form = reqwest::multipart::Form::new().text("matter_code", "WX-WJ-001");
        for i in 0..302 {
            form = form.text(format!("f{i}"), "x");
        }
        let r = app
            .client
            .post(app.url("/api/v1/cases"))
            .bearer_auth(&c.token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (s, code, _) = error_code(r).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "too_many_parts")
        );
        assert_eq!(app.row_counts().await, before);
        // Page numbers past the bound are refused, never wrapped round to page 1.
        for path in [
            "/api/v1/letters?page=9223372036854775807",
            "/api/v1/matters?page=9223372036854775807",
            "/api/v1/workorders?page=9223372036854775807",
            "/api/v1/cases?page=9223372036854775807",
        ] {
            let r = app.get(&app.url(path), &c.token).await;
            let (s, code, _) = error_code(r).await;
            assert_eq!(
                (s, code.as_str()),
                (StatusCode::BAD_REQUEST, "invalid_paging"),
                "{path}"
            );
        }
        let r = app
            .client
            .get(app.url("/open311/v2/requests.json?page=9223372036854775807"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
);
