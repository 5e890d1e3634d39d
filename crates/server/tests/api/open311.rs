//! Open311 GeoReport v2 in both formats on both engines: discovery, services, definitions,
//! creating a request with a partner key, following it as its work order moves, tokens, and
//! errors in the specification's envelopes.

use crate::helpers::*;
use crate::on_both_engines;
use crate::participation::staff_act;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

mod media;
mod public_only;

async fn get(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), ct, r.text().await.unwrap())
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

on_both_engines!(open311_round_trip, |app: TestApp| async move {
    // Discovery and services, JSON and XML.
    let (s, ct, body) = get(&app, "/open311/v2/discovery.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("application/json"));
    let d: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    let (_, ct, xml) = get(&app, "/open311/v2/discovery.xml").await;
    assert!(ct.starts_with("text/xml"));
    assert!(
        xml.contains("<discovery><changeset>")
            && xml.contains("<formats><format>text/xml</format>")
    );
    let (_, _, body) = get(&app, "/open311/v2/services.json").await;
    let services: Value = serde_json::from_str(&body).unwrap();
    let water = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "utility.water")
        .unwrap();
    assert_eq!(
        (
            water["service_name"].as_str(),
            water["metadata"].as_bool(),
            water["type"].as_str()
        ),
        (Some("供水"), Some(true), Some("realtime"))
    );
    let (_, _, xml) = get(&app, "/open311/v2/services.xml").await;
    assert!(xml.contains("<services><service><service_code>city</service_code>"));
    let (s, _, body) = get(&app, "/open311/v2/services/utility.water.json").await;
    assert_eq!(s, StatusCode::OK);
    let def: Value = serde_json::from_str(&body).unwrap();
    let district = def["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "district")
        .unwrap();
    assert_eq!(
        (
            district["required"].as_bool(),
            district["datatype"].as_str()
        ),
        (Some(false), Some("singlevaluelist")),
        "optional: a point or an address gives it"
    );
    assert_eq!(district["values"].as_array().unwrap().len(), 7);
    let (_, _, xml) = get(&app, "/open311/v2/services/utility.water.xml").await;
    assert!(xml.contains(
        "<service_definition><service_code>utility.water</service_code><attributes><attribute>"
    ));
    let (s, _, body) = get(&app, "/open311/v2/services/nothing.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        404
    );

    // A partner key from the console API.
    let supervisor = app.staff("s311", "wx-12345", &[Role::Supervisor]).await;
    let k = app
        .post(
            &app.iurl("/api/v1/staff/apikeys"),
            &supervisor,
            json!({"name": "随手拍"}),
        )
        .await;
    assert_eq!(k.status(), StatusCode::CREATED);
    let key = k.json::<Value>().await.unwrap()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();

    let before = app
        .db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    let good = |key: &'static str| {
        vec![
            ("api_key", key),
            ("service_code", "utility.water"),
            ("lat", "31.5747"),
            ("long", "120.2968"),
            ("description", "人民路路口水管爆裂，水漫到马路上"),
            ("attribute[district]", "梁溪区"),
            ("phone", "13900004444"),
        ]
    };
    let key: &'static str = Box::leak(key.into_boxed_str());
    // Bad key: 403 in the caller's format; nothing stored.
    let (s, body) = post(&app, "/open311/v2/requests.xml", &good("wrong")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>403</code><description>api_key is not valid</description></error></errors>");
    let (s, body) = post(&app, "/open311/v2/requests.json", &good("")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["code"],
        403
    );
    // Unknown service, missing location, unknown district.
    let mut f = good(key);
    f[1].1 = "nothing";
    assert_eq!(
        post(&app, "/open311/v2/requests.json", &f).await.0,
        StatusCode::NOT_FOUND
    );
    let f: Vec<_> = good(key)
        .into_iter()
        .filter(|(k, _)| *k != "lat" && *k != "long")
        .collect();
    let (s, body) = post(&app, "/open311/v2/requests.json", &f).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("location"), "{body}");
    let mut f = good(key);
    f[5].1 = "火星区";
    assert_eq!(
        post(&app, "/open311/v2/requests.xml", &f).await.0,
        StatusCode::BAD_REQUEST
    );
    let after = app
        .db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(before, after, "refused requests store nothing");

    // A good request becomes a work order routed to the water company.
    let (s, body) = post(&app, "/open311/v2/requests.json", &good(key)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Not public: anonymous readers do not find it; the partner that filed it does.
    let (s, _, _) = get(&app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, body) = get(
        &app,
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
    )
    .await;
    let one: Value = serde_json::from_str(&body).unwrap();
    let req = &one[0];
    assert_eq!(
        (req["status"].as_str(), req["service_code"].as_str()),
        (Some("open"), Some("utility.water"))
    );
    assert_eq!(req["agency_responsible"], "无锡市水务集团有限公司");
    assert_eq!(req["lat"], 31.5747);
    let requested = req["requested_datetime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(requested).is_ok() && requested.ends_with("+08:00"),
        "{requested}"
    );
    let (_, _, body) = get(&app, &format!("/open311/v2/tokens/{id}.json")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()[0]["service_request_id"],
        id.as_str()
    );

    // The order moves on; Open311 follows it to closed with the reply's notes.
    let handler = app.staff("h311", "wx-sw", &[Role::Handler]).await;
    let dispatcher = app.staff("d311", "wx-12345", &[Role::Dispatcher]).await;
    assert_eq!(
        staff_act(&app, &handler, &id, json!({"action": "sign"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        staff_act(
            &app,
            &handler,
            &id,
            json!({"action": "reply", "note": "已抢修完毕"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        staff_act(&app, &dispatcher, &id, json!({"action": "close"}))
            .await
            .status(),
        200
    );
    let (_, _, xml) = get(
        &app,
        &format!("/open311/v2/requests/{id}.xml?api_key={key}"),
    )
    .await;
    assert!(xml.contains("<status>closed</status>"), "{xml}");
    assert!(
        xml.contains("<status_notes>已办结</status_notes>"),
        "the status label, not the department's raw reply: {xml}"
    );
    assert!(
        xml.contains("<agency_responsible>无锡市水务集团有限公司</agency_responsible>"),
        "{xml}"
    );
    let (_, _, body) = get(
        &app,
        &format!(
            "/open311/v2/requests.json?status=closed&service_code=utility.water&api_key={key}"
        ),
    )
    .await;
    let list: Value = serde_json::from_str(&body).unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["service_request_id"] == id.as_str()));
    let (_, _, body) = get(
        &app,
        &format!("/open311/v2/requests.json?status=open&service_code=utility.water&api_key={key}"),
    )
    .await;
    assert!(!body.contains(&id));
    let (_, _, body) = get(&app, "/open311/v2/requests.json?status=closed").await;
    assert!(
        !body.contains(&id),
        "anonymous lists hold no unpublished order"
    );
    let (_, _, body) = get(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={id},nope&api_key={key}"),
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Bad queries: 400 in the envelope.
    for q in [
        "start_date=yesterday",
        "status=pending",
        "start_date=2026-11-02T00:00:00%2B08:00&end_date=2026-11-01T00:00:00%2B08:00",
        "page_size=5000",
    ] {
        let (s, _, xml) = get(&app, &format!("/open311/v2/requests.xml?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert!(xml.contains("<errors><error><code>400</code>"), "{xml}");
    }
    let (s, _, _) = get(&app, "/open311/v2/requests/nope.json").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get(&app, "/open311/v2/requests/nope.csv").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apikey_add_prints_a_working_key() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["apikey", "add", "--name", "市民随手拍"])
        .env("TONGBAN_DATABASE_URL", &app.ctx.config.database_url)
        .env("TONGBAN_KEY_FILE", &app.ctx.config.key_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.len() >= 32);
    let (s, body) = post(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &key),
            ("service_code", "market.food"),
            ("address_string", "崇安寺步行街"),
            ("description", "餐馆使用过期食材"),
            ("attribute[district]", "梁溪区"),
            ("attribute[type]", "report"),
            ("email", "citizen@example.com"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["apikey", "add", "--name", " "])
        .env("TONGBAN_DATABASE_URL", &app.ctx.config.database_url)
        .env("TONGBAN_KEY_FILE", &app.ctx.config.key_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
}

on_both_engines!(
    keys_issued_and_revoked_on_the_console,
    |app: TestApp| async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let supervisor = app.staff("s-keys", "wx-12345", &[Role::Supervisor]).await;
        let cookie = with_csrf(&format!("tongban_staff={supervisor}"));
        let r = client
            .post(app.iurl("/console/apikeys"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie).as_str()), ("name", " ")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = client
            .post(app.iurl("/console/apikeys"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie).as_str()), ("name", "惠山随手拍")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let html = r.text().await.unwrap();
        let key = html
            .split(r#"<code class="key">"#)
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap()
            .to_owned();
        let form = |k: String| {
            vec![
                ("api_key", k),
                ("service_code", "city.roads".to_owned()),
                ("address_string", "惠山区钱桥街道".to_owned()),
                ("description", "井盖缺失".to_owned()),
                ("attribute[district]", "惠山区".to_owned()),
                ("phone", "13900008888".to_owned()),
            ]
        };
        let r = client
            .post(app.url("/open311/v2/requests.json"))
            .form(&form(key.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let html = client
            .get(app.iurl("/console/apikeys"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("惠山随手拍") && !html.contains(&key),
            "the key is shown once only"
        );
        let id = app
            .db()
            .read(|c| {
                c.query_one("SELECT MAX(id) AS n FROM api_keys", &[])?
                    .get_i64("n")
            })
            .await
            .unwrap();
        let r = client
            .post(app.iurl(&format!("/console/apikeys/{id}/revoke")))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie).as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let r = client
            .post(app.url("/open311/v2/requests.json"))
            .form(&form(key))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
);

// The attack of issue 11: an anonymous `requests.json?page_size=1000` listed every order
// with the latest raw note (replies with phones and flats, internal supervision, rating
// comments). Now only letters that are public and published are listed, in the editor's
// words, and `status_notes` is the status label or the scrubbed published reply.
