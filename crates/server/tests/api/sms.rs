//! Text messages through a real gateway protocol: the app's own worker sends notices to a
//! local Alibaba Cloud SMS gateway that checks each request's signature; an outage is tried
//! again with backoff, a refusal is given up with the provider's reason, both show in
//! `/metrics`, and no phone number reaches an error. A JSON webhook gateway likewise.

use crate::helpers::*;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "gw-secret-9";
const PHONE: &str = "13900001234";

#[derive(Clone, Default)]
struct Gateway {
    /// What to answer next: "ok", "down" (503), "illegal" (a refused number).
    script: Arc<Mutex<VecDeque<&'static str>>>,
    /// Requests whose signature held.
    got: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
    bad_signatures: Arc<Mutex<usize>>,
}

async fn aliyun(State(g): State<Gateway>, body: String) -> (StatusCode, Json<serde_json::Value>) {
    let mut p: BTreeMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let sig = p.remove("Signature").unwrap_or_default();
    let (_, want) = tongban_platform::sms::aliyun_signature(&p, SECRET);
    if sig != want {
        *g.bad_signatures.lock().unwrap() += 1;
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched with our calculation."})),
        );
    }
    g.got.lock().unwrap().push(p);
    match g.script.lock().unwrap().pop_front().unwrap_or("ok") {
        "down" => (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({}))),
        "illegal" => (
            StatusCode::OK,
            Json(serde_json::json!({"Code": "isv.MOBILE_NUMBER_ILLEGAL",
                "Message": format!("invalid mobile number {PHONE}")})),
        ),
        _ => (
            StatusCode::OK,
            Json(
                serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}),
            ),
        ),
    }
}

async fn start_gateway(g: Gateway) -> String {
    let app = Router::new()
        .route("/", post(aliyun))
        .route(
            "/hook",
            post(
                |State(g): State<Gateway>, Json(v): Json<serde_json::Value>| async move {
                    let mut m = BTreeMap::new();
                    m.insert(
                        "phone".to_owned(),
                        v["phone"].as_str().unwrap_or("").to_owned(),
                    );
                    m.insert(
                        "text".to_owned(),
                        v["text"].as_str().unwrap_or("").to_owned(),
                    );
                    g.got.lock().unwrap().push(m);
                    match g.script.lock().unwrap().pop_front().unwrap_or("ok") {
                        "down" => StatusCode::TOO_MANY_REQUESTS,
                        "illegal" => StatusCode::BAD_REQUEST,
                        _ => StatusCode::OK,
                    }
                },
            ),
        )
        .with_state(g);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("127.0.0.1:{}", addr.port())
}

/// (delivered, retrying, given up) sms events, and their last errors.
async fn outcome(app: &TestApp) -> (i64, i64, i64, Vec<String>) {
    app.db()
        .read(|c| {
            let o = tongban_platform::outbox::outcomes(c)?;
            let sms = o
                .iter()
                .find(|(k, _)| k == "sms")
                .map(|(_, v)| *v)
                .unwrap_or_default();
            let errors = c
                .query(
                    "SELECT last_error FROM outbox WHERE kind = 'sms' AND last_error IS NOT NULL",
                    &[],
                )?
                .iter()
                .map(|r| r.get_str("last_error"))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((sms[0], sms[1], sms[2], errors))
        })
        .await
        .unwrap()
}

async fn until(app: &TestApp, what: &str, f: impl Fn(&(i64, i64, i64, Vec<String>)) -> bool) {
    let t = Instant::now();
    loop {
        let o = outcome(app).await;
        if f(&o) {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{what}: {o:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn queue(app: &TestApp, text: &'static str) {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| tongban_platform::notify::sms(c, PHONE, "工单", text, now))
        .await
        .unwrap();
}

/// Make every waiting event due now (instead of waiting out its backoff).
async fn due_now(app: &TestApp) {
    app.db()
        .write(|c| {
            c.execute("UPDATE outbox SET next_at = 0 WHERE done_at IS NULL", &[])
                .map(|_| ())
        })
        .await
        .unwrap();
}

async fn through_aliyun(engine: Engine) {
    let g = Gateway::default();
    let host = start_gateway(g.clone()).await;
    let url = format!(
        "aliyun+http://AKID:{SECRET}@{host}?sign_name=%E6%B5%8B%E8%AF%95%E5%B8%82&template=SMS_460785001"
    );
    let Some(app) = spawn_app_with(engine, |c| {
        c.sms_url = Some(url);
        c.worker_interval_ms = 100;
    })
    .await
    else {
        return;
    };

    // Sent, signed: the number, the sign name, the template and its parameter.
    queue(&app, "您的诉求已办结").await;
    until(&app, "delivered", |o| o.0 == 1).await;
    {
        let got = g.got.lock().unwrap();
        let p = &got[0];
        assert_eq!(p["PhoneNumbers"], PHONE);
        assert_eq!(p["SignName"], "测试市");
        assert_eq!(p["TemplateCode"], "SMS_460785001");
        assert_eq!(p["Action"], "SendSms");
        let param: serde_json::Value = serde_json::from_str(&p["TemplateParam"]).unwrap();
        assert_eq!(param["content"], "您的诉求已办结");
    }
    assert_eq!(*g.bad_signatures.lock().unwrap(), 0);

    // An outage is tried again with backoff, then sent.
    g.script.lock().unwrap().push_back("down");
    queue(&app, "第二条").await;
    until(&app, "retrying", |o| o.1 == 1).await;
    let next_at = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT next_at FROM outbox WHERE kind = 'sms' AND done_at IS NULL",
                &[],
            )?
            .get_i64("next_at")
        })
        .await
        .unwrap();
    assert!(
        next_at > tongban_platform::time::now_millis() + 5_000,
        "backed off"
    );
    due_now(&app).await;
    until(&app, "sent after the outage", |o| o.0 == 2 && o.1 == 0).await;

    // A refused number is given up with the provider's reason, and no phone in it.
    g.script.lock().unwrap().push_back("illegal");
    queue(&app, "第三条").await;
    until(&app, "given up", |o| o.2 == 1).await;
    let (_, _, _, errors) = outcome(&app).await;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("isv.MOBILE_NUMBER_ILLEGAL")),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.contains(PHONE)), "{errors:?}");
    let sent_before = g.got.lock().unwrap().len();
    due_now(&app).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(g.got.lock().unwrap().len(), sent_before, "not sent again");

    // Both show in /metrics.
    let m = app
        .client
        .get(app.iurl("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("tongban_notifications{kind=\"sms\",state=\"delivered\"} 2"),
        "{m}"
    );
    assert!(m.contains("tongban_notifications{kind=\"sms\",state=\"given_up\"} 1"));
    // One outage and one refusal; the three successful tries are not failures.
    assert!(
        m.contains("tongban_notification_failures{kind=\"sms\"} 2\n"),
        "{m}"
    );
    assert!(!m.contains(PHONE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_through_a_signed_gateway_sqlite() {
    through_aliyun(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn sms_through_a_signed_gateway_postgres() {
    through_aliyun(Engine::Postgres).await;
}

/// A wrong secret: the gateway refuses the signature, and the message is given up with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_refused_by_the_gateway() {
    let g = Gateway::default();
    let host = start_gateway(g.clone()).await;
    let url = format!("aliyun+http://AKID:wrong@{host}?sign_name=x&template=SMS_1");
    let app = spawn_app_with(Engine::Sqlite, |c| {
        c.sms_url = Some(url);
        c.worker_interval_ms = 100;
    })
    .await
    .unwrap();
    queue(&app, "x").await;
    until(&app, "given up", |o| o.2 == 1).await;
    let (_, _, _, errors) = outcome(&app).await;
    assert!(errors[0].contains("SignatureDoesNotMatch"), "{errors:?}");
    assert_eq!(*g.bad_signatures.lock().unwrap(), 1);
}

/// The JSON webhook: 2xx sent, 429 tried again, 400 given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_through_a_json_webhook() {
    let g = Gateway::default();
    let host = start_gateway(g.clone()).await;
    let url = format!("http://hook-token@{host}/hook");
    let app = spawn_app_with(Engine::Sqlite, |c| {
        c.sms_url = Some(url);
        c.worker_interval_ms = 100;
    })
    .await
    .unwrap();
    g.script.lock().unwrap().extend(["down", "ok", "illegal"]);
    queue(&app, "一").await;
    until(&app, "retrying", |o| o.1 == 1).await;
    due_now(&app).await;
    until(&app, "delivered", |o| o.0 == 1).await;
    queue(&app, "二").await;
    until(&app, "given up", |o| o.2 == 1).await;
    let got = g.got.lock().unwrap();
    assert_eq!(got[0]["phone"], PHONE);
    assert_eq!(got[1]["text"], "一");
}
