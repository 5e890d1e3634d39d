//! Two deployments exchange data: a province (this process, its internal listener over TLS,
//! on either engine) and a city (a `tongban demo` process with its own SQLite database and
//! its own key file). Each pins the other's SM2 key with `tongban exchange peer add`; a city
//! clerk checks a case against the province's household registry over HTTPS; a body changed
//! in transit — the request or the answer — is refused.

use crate::cli::tongban;
use crate::helpers::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tongban_platform::identity::Role;

struct Node(std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const PASS: u8 = 0;
const CHANGE_REQUEST: u8 = 1;
const CHANGE_ANSWER: u8 = 2;

/// A man in the middle between the city and the province: passes calls on, or changes the
/// request's or the answer's body on the way.
async fn middle(province: String, mode: Arc<AtomicU8>) -> String {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
            let (client, province, mode) = (client.clone(), province.clone(), mode.clone());
            async move {
                let m = mode.load(Ordering::SeqCst);
                let mut body = String::from_utf8_lossy(&body).into_owned();
                if m == CHANGE_REQUEST {
                    body = body.replace("\"id_number\":\"", "\"id_number\":\"9");
                }
                let mut req = client.post(format!("{province}{uri}")).body(body);
                for (k, v) in &headers {
                    if k.as_str().starts_with("x-tongban-") || k == "content-type" {
                        req = req.header(k.as_str(), v.as_bytes());
                    }
                }
                let r = req.send().await.unwrap();
                let status = AxStatus::from_u16(r.status().as_u16()).unwrap();
                let mut out = HeaderMap::new();
                for (k, v) in r.headers() {
                    if k.as_str().starts_with("x-tongban-") || k == "content-type" {
                        out.insert(
                            axum::http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                            axum::http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
                        );
                    }
                }
                let mut text = r.text().await.unwrap();
                if m == CHANGE_ANSWER {
                    text = text.replace("无锡市梁溪区", "无锡市新吴区");
                }
                (status, out, text)
            }
        },
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}")
}

async fn first_key(client: &reqwest::Client, base: &str) -> String {
    let v: Value = client
        .get(format!("{base}/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"][0]["public_key"].as_str().unwrap().to_owned()
}

fn run(db_url: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let o = tongban(db_url, dir, args, None);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn city_and_province_sqlite() {
    city_and_province(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn city_and_province_postgres() {
    city_and_province(Engine::Postgres).await;
}

async fn city_and_province(engine: Engine) {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = test_tls_cert(certs.path());
    let (c2, k2) = (cert.clone(), key.clone());
    // The province: this process, its internal listener (the exchange endpoint) over TLS.
    let Some(province) = spawn_app_with(engine, move |c| {
        c.internal_tls_cert = Some(c2);
        c.internal_tls_key = Some(k2);
    })
    .await
    else {
        return;
    };
    assert!(province.internal.starts_with("https://"));
    let province_db = province.ctx.config.database_url.clone();

    // The city: another process, database and key file; it trusts the province's certificate.
    let city_dir = tempfile::tempdir().unwrap();
    let (cp, ci) = (free_port(), free_port());
    let city_db = format!("sqlite://{}", city_dir.path().join("city.db").display());
    let _city = Node(
        node_command("demo", &city_db, city_dir.path(), cp, ci)
            .env("TONGBAN_EXCHANGE_CA", &cert)
            .spawn()
            .unwrap(),
    );
    let (city_pub, city_int) = (
        format!("http://127.0.0.1:{cp}"),
        format!("http://127.0.0.1:{ci}"),
    );
    let client = reqwest::Client::new();
    wait_up(&client, &city_pub).await;
    let city_key = first_key(&client, &city_pub).await;
    let province_key = first_key(&client, &province.public).await;
    assert_ne!(city_key, province_key, "two deployments, two key files");

    // Each pins the other. A key that is not an SM2 point is refused, naming what to give.
    let o = tongban(
        &city_db,
        city_dir.path(),
        &[
            "exchange",
            "peer",
            "add",
            "--name",
            "province",
            "--url",
            "http://prov.example",
            "--public-key",
            "04abcd",
        ],
        None,
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("https://") && err.contains("public-key"),
        "{err}"
    );
    let out = run(
        &city_db,
        city_dir.path(),
        &[
            "exchange",
            "peer",
            "add",
            "--name",
            "province",
            "--url",
            &province.internal,
            "--public-key",
            &province_key,
        ],
    );
    assert!(out.contains("peer province added"), "{out}");
    let city_url = city_int.clone();
    let out = run(
        &province_db,
        province.dir.path(),
        &[
            "exchange",
            "peer",
            "add",
            "--name",
            "city",
            "--url",
            &city_url,
            "--public-key",
            &city_key,
        ],
    );
    assert!(
        out.contains("grant its departments as city/{department}"),
        "{out}"
    );
    assert!(run(
        &province_db,
        province.dir.path(),
        &["exchange", "peer", "list"]
    )
    .contains(&city_key));

    // The province's 公安局 provides 户籍信息 from its registry, and grants it to the city's
    // 卫健委 for 办件核验.
    let gaj = province.staff("xp-admin", "wx-gaj", &[Role::Admin]).await;
    let id_number = random_id_number();
    let r = province
        .client
        .put(province.iurl("/api/v1/staff/exchange/services/hukou"))
        .bearer_auth(&gaj)
        .json(&json!({"version": "1.0", "name": "户籍信息",
            "request_schema": {"type": "object", "required": ["id_number"],
                "properties": {"id_number": {"type": "string", "pattern": "^[0-9]{17}[0-9X]$"}}},
            "response_schema": {"type": "object", "required": ["found"]},
            "sharing": "conditional", "backend": "registry", "registry": "population"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = format!("id_number,name,household\n{id_number},赵六,无锡市梁溪区\n");
    let registry = province.dir.path().join("population.csv");
    std::fs::write(&registry, csv).unwrap();
    let out = run(
        &province_db,
        province.dir.path(),
        &[
            "exchange",
            "load",
            "--registry",
            "population",
            "--department",
            "wx-gaj",
            "--key-field",
            "id_number",
            registry.to_str().unwrap(),
        ],
    );
    assert!(out.contains("1 records"), "{out}");
    let r = province
        .post(
            &province.iurl("/api/v1/staff/exchange/grants"),
            &gaj,
            json!({"service": "hukou", "consumer": "city/wx-wjw", "purpose": "办件核验", "valid_until": "2099-12-31"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a peer's department can be granted"
    );
    let r = province
        .post(
            &province.iurl("/api/v1/staff/exchange/grants"),
            &gaj,
            json!({"service": "hukou", "consumer": "town/wx-wjw", "purpose": "办件核验", "valid_until": "2099-12-31"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown peer cannot"
    );

    // A citizen of the city applies; the city's clerk checks the case against the province.
    let (phone, password) = (random_phone(), PASSWORD);
    let r = register(
        &client,
        &city_pub,
        json!({"name": "赵六", "id_number": id_number, "phone": phone, "password": password}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let login: Value = client
        .post(format!("{city_pub}/api/v1/sessions"))
        .json(&json!({"id_number": id_number, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let form = json!({"applicant_name": "赵六", "applicant_id": id_number, "applicant_phone": phone,
        "spouse_name": "孙八", "spouse_id": random_id_number(), "child_order": "一孩"});
    let part = |n: &str| {
        reqwest::multipart::Part::bytes(b"%PDF-1.4 scan".to_vec()).file_name(format!("{n}.pdf"))
    };
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", form.to_string())
        .part("id_card", part("id_card"))
        .part("marriage_cert", part("marriage_cert"));
    let r = client
        .post(format!("{city_pub}/api/v1/cases"))
        .bearer_auth(&token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case_no = r.json::<Value>().await.unwrap()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let staff: Value = client
        .post(format!("{city_int}/api/v1/staff/sessions"))
        .json(&json!({"username": "wjw", "password": tongban_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let clerk = staff["token"].as_str().unwrap().to_owned();
    let check = |body: Value| {
        let (client, url, clerk) = (
            client.clone(),
            format!("{city_int}/api/v1/staff/cases/{case_no}/checks"),
            clerk.clone(),
        );
        async move {
            let r = client
                .post(url)
                .bearer_auth(clerk)
                .json(&body)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = check(json!({"provider": "province/wx-gaj", "service": "hukou"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["verified"], true);
    assert_eq!(v["answer"]["record"]["household"], "无锡市梁溪区");
    assert_eq!(
        v["note"], "province（对端平台）wx-gaj hukou（已验签），查有记录",
        "{v}"
    );

    // Both logs hold the exchange: the province's as provider (consumer city/wx-wjw), the
    // city's as consumer (provider province/wx-gaj); both chains verify.
    let log: Value = province
        .get(&province.iurl("/api/v1/staff/exchange/log"), &gaj)
        .await
        .json()
        .await
        .unwrap();
    let ok: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "ok")
        .collect();
    assert_eq!(ok.len(), 1, "{log}");
    assert_eq!(ok[0]["consumer"], "city/wx-wjw");
    assert_eq!(ok[0]["subject"], case_no.as_str());
    let out = run(&city_db, city_dir.path(), &["exchange", "verify"]);
    assert!(out.contains("1 entries verified"), "{out}");

    // A purpose the province did not grant is refused there, and the refusal comes back.
    let (s, v) =
        check(json!({"provider": "province/wx-gaj", "service": "hukou", "purpose": "统计分析"}))
            .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("purpose_not_granted")),
        "{v}"
    );

    // Through a man in the middle: what passes unchanged is answered; a changed request is
    // refused by the province, a changed answer by the city.
    let mode = Arc::new(AtomicU8::new(PASS));
    let mid = middle(province.internal.clone(), mode.clone()).await;
    let out = run(
        &city_db,
        city_dir.path(),
        &[
            "exchange",
            "peer",
            "add",
            "--name",
            "province",
            "--url",
            &mid,
            "--public-key",
            &province_key,
        ],
    );
    assert!(out.contains("peer province updated"), "{out}");
    let (s, v) = check(json!({"provider": "province/wx-gaj", "service": "hukou"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    mode.store(CHANGE_REQUEST, Ordering::SeqCst);
    let (s, v) = check(json!({"provider": "province/wx-gaj", "service": "hukou"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_signature")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("peer province refused"),
        "{v}"
    );
    mode.store(CHANGE_ANSWER, Ordering::SeqCst);
    let (s, v) = check(json!({"provider": "province/wx-gaj", "service": "hukou"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_signature")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("changed in transit"),
        "{v}"
    );
    let log: Value = province
        .get(&province.iurl("/api/v1/staff/exchange/log"), &gaj)
        .await
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "bad_signature").count(),
        1,
        "{outcomes:?}"
    );

    // The province forgets the city: its calls are refused from then on.
    mode.store(PASS, Ordering::SeqCst);
    run(
        &province_db,
        province.dir.path(),
        &["exchange", "peer", "remove", "city"],
    );
    let (s, v) = check(json!({"provider": "province/wx-gaj", "service": "hukou"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_signature")),
        "{v}"
    );
    assert!(!v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("id_number"));
    drop(certs);
}
