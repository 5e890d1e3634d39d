//! Verified phones (issue 18.1): registration and a change of number need a 6-digit code
//! texted to the phone; codes last 5 minutes and take 5 tries, are limited per phone and per
//! address, are kept only as a MAC, and reach a real gateway (whose text the test reads back
//! to register with).

use crate::helpers::*;
use crate::on_both_engines;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

async fn ask(app: &TestApp, phone: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/accounts/phone-codes"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap()
}

async fn code_for(app: &TestApp, phone: &str) -> String {
    let r = ask(app, phone).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 300);
    assert_eq!(v["resend_after"], 60);
    let code = v["demo_code"].as_str().unwrap().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    code
}

async fn try_register(
    app: &TestApp,
    id_number: &str,
    phone: &str,
    code: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/accounts"))
        .json(
            &json!({"name": "孙八", "id_number": id_number, "phone": phone,
            "password": PASSWORD, "sms_code": code}),
        )
        .send()
        .await
        .unwrap()
}

/// Let the next code go out now (the one-a-minute gap is its own test).
async fn skip_gap(app: &TestApp) {
    app.db()
        .write(|c| {
            c.execute(
                "DELETE FROM login_throttle WHERE key LIKE 'rate:smscode-gap:%'",
                &[],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
}

async fn accounts(app: &TestApp) -> i64 {
    app.row_counts().await.3
}

async fn codes_are_needed(app: TestApp) {
    let (id_number, phone) = (random_id_number(), random_phone());
    let before = accounts(&app).await;

    // No code, or a code never sent: refused, nothing stored.
    let (s, code, _) = error_code(try_register(&app, &id_number, &phone, "").await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "sms_code_required")
    );
    let (s, code, _) = error_code(try_register(&app, &id_number, &phone, "123456").await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "sms_code_missing")
    );
    // A bad number is refused before anything is sent.
    let (s, code, _) = error_code(ask(&app, "12345").await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone")
    );

    // A code; a second within the minute is refused with Retry-After.
    let right = code_for(&app, &phone).await;
    let r = ask(&app, &phone).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(error_code(r).await.1, "sms_code_rate_limited");

    // Four wrong tries say how many remain; the fifth kills the code, even for the right one.
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (1..=4).rev() {
        let (s, code, msg) = error_code(try_register(&app, &id_number, &phone, wrong).await).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "sms_code_wrong")
        );
        assert!(msg.contains(&format!("{left} tries left")), "{msg}");
    }
    let (_, code, _) = error_code(try_register(&app, &id_number, &phone, wrong).await).await;
    assert_eq!(code, "sms_code_spent");
    let (_, code, _) = error_code(try_register(&app, &id_number, &phone, &right).await).await;
    assert_eq!(code, "sms_code_missing", "a spent code stays dead");
    assert_eq!(accounts(&app).await, before);

    // An expired code is refused; a newer code retires the older one.
    skip_gap(&app).await;
    let old = code_for(&app, &phone).await;
    app.db()
        .write(|c| {
            c.execute("UPDATE phone_codes SET expires_at = 1", &[])
                .map(|_| ())
        })
        .await
        .unwrap();
    let (_, code, _) = error_code(try_register(&app, &id_number, &phone, &old).await).await;
    assert_eq!(code, "sms_code_expired");
    skip_gap(&app).await;
    let first = code_for(&app, &phone).await;
    skip_gap(&app).await;
    let second = code_for(&app, &phone).await;
    if first != second {
        let (_, code, _) = error_code(try_register(&app, &id_number, &phone, &first).await).await;
        assert_eq!(code, "sms_code_wrong", "the older code was retired");
    }

    // A code is for its own phone only.
    let other = random_phone();
    let (_, code, _) = error_code(try_register(&app, &id_number, &other, &second).await).await;
    assert_eq!(code, "sms_code_missing");

    // The right code registers, once; the phone counts as verified.
    let r = try_register(&app, &id_number, &phone, &second).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(accounts(&app).await, before + 1);
    let (_, code, _) =
        error_code(try_register(&app, &random_id_number(), &phone, &second).await).await;
    assert_eq!(code, "sms_code_missing", "a used code is gone");
    let verified = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) AS n FROM accounts WHERE phone_verified_at IS NOT NULL",
                &[],
            )?
            .get_i64("n")
        })
        .await
        .unwrap();
    assert!(verified >= 1);

    // Nothing keeps a code in clear: not the codes table, not the outbox, not the audit log.
    let stored = app
        .db()
        .read(|c| {
            let mut all = String::new();
            for sql in [
                "SELECT code_mac AS t FROM phone_codes",
                "SELECT payload AS t FROM outbox",
                "SELECT subject AS t FROM outbox",
                "SELECT object AS t FROM audit_log",
                "SELECT detail AS t FROM audit_log",
            ] {
                for r in c.query(sql, &[])? {
                    all.push_str(&r.get_opt_str("t")?.unwrap_or_default());
                    all.push('\n');
                }
            }
            Ok(all)
        })
        .await
        .unwrap();
    for code in [&right, &old, &first, &second] {
        assert!(!stored.contains(code.as_str()), "a code is stored in clear");
    }
}

on_both_engines!(codes_are_needed_, |app: TestApp| codes_are_needed(app));

async fn limits_per_address_and_phone(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.rate_per_hour = 3;
        c.rate_per_phone_day = 2;
    })
    .await
    else {
        return;
    };
    // Per phone and day: two, then 429 even after the minute.
    let phone = random_phone();
    code_for(&app, &phone).await;
    skip_gap(&app).await;
    code_for(&app, &phone).await;
    skip_gap(&app).await;
    let (s, code, msg) = error_code(ask(&app, &phone).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "sms_code_rate_limited")
    );
    assert!(msg.contains("today"), "{msg}");
    // Per address: three an hour whatever the phones.
    let (s, _, msg) = error_code(ask(&app, &random_phone()).await).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(msg.contains("address"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_per_address_and_phone_sqlite() {
    limits_per_address_and_phone(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn limits_per_address_and_phone_postgres() {
    limits_per_address_and_phone(Engine::Postgres).await;
}

async fn changing_the_phone(app: TestApp) {
    let citizen = app.citizen().await;
    let other = app.citizen().await;
    let new_phone = random_phone();
    let codes = app.url("/api/v1/me/phone-codes");
    // Only a signed-in citizen asks for a change code.
    let r = app
        .client
        .post(&codes)
        .json(&json!({ "phone": new_phone }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .post(&codes, &citizen.token, json!({ "phone": new_phone }))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let code = r.json::<Value>().await.unwrap()["demo_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // A registration code is not a change code, and the password is asked again.
    let put = |body: Value| {
        app.client
            .put(app.url("/api/v1/me/phone"))
            .bearer_auth(&citizen.token)
            .json(&body)
            .send()
    };
    let r = put(json!({"phone": new_phone, "sms_code": code, "password": "Wrong-password-9"}))
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "bad_credentials");
    let reg_code = code_for(&app, &random_phone()).await;
    let r = put(json!({"phone": new_phone, "sms_code": reg_code, "password": PASSWORD}))
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "sms_code_wrong");
    // Another account's number cannot be taken, even with a code for it.
    skip_gap(&app).await;
    let r = app
        .post(&codes, &citizen.token, json!({ "phone": other.phone }))
        .await;
    let taken_code = r.json::<Value>().await.unwrap()["demo_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = put(json!({"phone": other.phone, "sms_code": taken_code, "password": PASSWORD}))
        .await
        .unwrap();
    let (s, c, _) = error_code(r).await;
    assert_eq!((s, c.as_str()), (StatusCode::CONFLICT, "phone_taken"));

    let sms_before = sms_count(&app).await;
    let r = put(json!({"phone": new_phone, "sms_code": code, "password": PASSWORD}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sms_count(&app).await,
        sms_before + 1,
        "the old number is told"
    );
    let me: Value = app
        .get(&app.url("/api/v1/me"), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["phone"], tongban_platform::mask::phone(&new_phone));
    assert_eq!(me["phone_verified"], true);
    assert!(app.citizen_login(&new_phone, PASSWORD).await.is_some());
    assert!(app.citizen_login(&citizen.phone, PASSWORD).await.is_none());
    assert!(app
        .audit_counts("phone.change")
        .await
        .iter()
        .any(|a| a.starts_with("phone.change")));
}

on_both_engines!(changing_the_phone_, |app: TestApp| changing_the_phone(app));

async fn sms_count(app: &TestApp) -> i64 {
    app.db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'sms'", &[])?
                .get_i64("n")
        })
        .await
        .unwrap()
}

/// The registration page works without JavaScript: "get a code" returns the form filled in
/// with the code field; the code then registers and signs in.
async fn register_page(app: TestApp) {
    let (id_number, phone) = (random_id_number(), random_phone());
    let cookie = with_csrf("");
    let csrf = csrf_for(&cookie);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = |extra: &[(&'static str, String)]| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("name", "钱七".to_owned()),
            ("id_number", id_number.clone()),
            ("phone", phone.clone()),
        ];
        f.extend(extra.iter().cloned());
        f
    };
    let r = client
        .post(app.url("/register"))
        .header("cookie", &cookie)
        .header("origin", &app.public)
        .form(&form(&[("action", "send_code".into())]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("验证码已发送至"), "{html}");
    assert!(html.contains("name=\"sms_code\""));
    assert!(
        html.contains(&format!("value=\"{id_number}\"")),
        "values kept"
    );
    let code = html
        .split("class=\"demo-code\">")
        .nth(1)
        .and_then(|s| s.get(..6))
        .unwrap()
        .to_owned();
    let r = client
        .post(app.url("/register"))
        .header("cookie", &cookie)
        .header("origin", &app.public)
        .form(&form(&[
            (
                "sms_code",
                "999999".replace('9', if code == "999999" { "8" } else { "9" }),
            ),
            ("password", PASSWORD.into()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("验证码不正确，还可尝试 4 次"), "{html}");
    let r = client
        .post(app.url("/register"))
        .header("cookie", &cookie)
        .header("origin", &app.public)
        .form(&form(&[("sms_code", code), ("password", PASSWORD.into())]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or("").starts_with("tongban_session=")));
}

on_both_engines!(register_page_, |app: TestApp| register_page(app));

/// Through Alibaba Cloud's protocol: the code reaches the gateway in the template's text
/// (and nowhere in the answer), and the code the gateway received registers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_arrives_through_the_gateway() {
    #[derive(Clone, Default)]
    struct Got(Arc<Mutex<Vec<String>>>);
    async fn gateway(State(g): State<Got>, body: String) -> axum::Json<Value> {
        let p: std::collections::BTreeMap<String, String> =
            serde_urlencoded::from_str(&body).unwrap_or_default();
        if let Some(t) = p.get("TemplateParam") {
            g.0.lock().unwrap().push(t.clone());
        }
        axum::Json(json!({"Code": "OK", "Message": "OK", "BizId": "1^0"}))
    }
    let got = Got::default();
    let router = Router::new()
        .route("/", post(gateway))
        .with_state(got.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
    let Some(app) = spawn_app_with(Engine::Sqlite, |c| {
        c.sms_url = Some(format!(
            "aliyun+http://AK:secret@{host}?sign_name=%E9%80%9A%E5%8A%9E&template=SMS_1"
        ));
        c.worker_interval_ms = 100;
    })
    .await
    else {
        return;
    };
    let phone = random_phone();
    let r = ask(&app, &phone).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert!(
        v.get("demo_code").is_none(),
        "a real gateway's code is never in the answer"
    );
    let mut text = String::new();
    for _ in 0..200 {
        if let Some(t) = got.0.lock().unwrap().first() {
            text = t.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let param: Value = serde_json::from_str(&text).expect("the gateway got the text");
    let content = param["content"].as_str().unwrap();
    let code: String = content
        .split("验证码为 ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect();
    let r = try_register(&app, &random_id_number(), &phone, &code).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}
