//! Data sharing between departments, end to end over HTTP: a provider registers a service
//! backed by a base registry it loads, a consumer asks for access, the provider grants it for
//! one purpose until a day, and signed calls are answered signed — or refused for each reason,
//! every one of them written to the hash-chained message log.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_exchange::call::{self, Call};
use tongban_platform::identity::Role;

const PEOPLE: &str = "id_number,name,household\n\
11010519491231002X,王芳,北京市朝阳区\n\
320202199003071234,张三,无锡市梁溪区\n";

/// A call as department `consumer` would send it: signed with this deployment's key.
fn signed(consumer: &str, purpose: &str, body: Value) -> Call {
    Call {
        provider: "wx-gaj".into(),
        service: "hukou".into(),
        consumer: consumer.into(),
        purpose: purpose.into(),
        subject: "320200202612010000001".into(),
        message_id: call::new_message_id(),
        sent_at: tongban_platform::time::now_millis(),
        body,
        ..Call::default()
    }
    .sign()
    .unwrap()
}

/// Send `c` (its body as given, which may differ from what was signed).
async fn send(app: &TestApp, base: &str, c: &Call, body: &Value) -> reqwest::Response {
    send_with(&app.client, base, c, body).await
}

async fn send_with(
    client: &reqwest::Client,
    base: &str,
    c: &Call,
    body: &Value,
) -> reqwest::Response {
    client
        .post(format!("{base}/exchange/v1/{}/{}", c.provider, c.service))
        .header(call::H_CONSUMER, call::encode_header(&c.consumer))
        .header(call::H_PURPOSE, call::encode_header(&c.purpose))
        .header(call::H_SUBJECT, call::encode_header(&c.subject))
        .header(call::H_MESSAGE_ID, &c.message_id)
        .header(call::H_SENT_AT, c.sent_at.to_string())
        .header(call::H_KEY_ID, &c.key_id)
        .header(call::H_SIGNATURE, &c.signature)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn code_of(r: reqwest::Response) -> (StatusCode, String, Value) {
    let s = r.status();
    let v: Value = r.json().await.unwrap_or_default();
    (s, v["error"]["code"].as_str().unwrap_or("").to_owned(), v)
}

on_both_engines!(signed_granted_logged, |app: TestApp| async move {
    let gaj = app.staff("xg-admin", "wx-gaj", &[Role::Admin]).await;
    let wjw = app.staff("xw-admin", "wx-wjw", &[Role::Admin]).await;
    let auditor = app.staff("x-auditor", "wx-gaj", &[Role::Auditor]).await;
    let put = |path: String, token: String, body: Value| {
        let client = app.client.clone();
        async move {
            client
                .put(path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // The provider registers its service: 户籍信息, found by ID number.
    let service = json!({"version": "1.0", "name": "户籍信息", "description": "按身份证号码查询户籍",
        "request_schema": {"type": "object", "required": ["id_number"],
            "properties": {"id_number": {"type": "string", "pattern": "^[0-9]{17}[0-9X]$"}}},
        "response_schema": {"type": "object", "required": ["found"]},
        "sharing": "conditional", "backend": "registry", "registry": "population"});
    let r = put(
        app.iurl("/api/v1/staff/exchange/services/hukou"),
        gaj.clone(),
        service.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bad = put(
        app.iurl("/api/v1/staff/exchange/services/bad"),
        gaj.clone(),
        json!({"version": "1", "name": "x", "request_schema": {"type": 5}, "response_schema": {},
               "sharing": "maybe", "backend": "registry"}),
    )
    .await;
    let (s, code, v) = code_of(bad).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("request_schema") && msg.contains("sharing") && msg.contains("registry"),
        "{msg}"
    );

    // Its registry: bad rows are named by line and nothing is loaded; then the good file.
    let load = |csv: &'static str| {
        let (client, url, token) = (
            app.client.clone(),
            app.iurl(
                "/api/v1/staff/exchange/registries/population?key_field=id_number&filename=p.csv",
            ),
            gaj.clone(),
        );
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .body(csv)
                .send()
                .await
                .unwrap()
        }
    };
    let (s, code, v) = code_of(
        load("id_number,name,household\n320202199003071234,张三,无锡\n320202199003071230,李四,无锡\n320202199003071234,张三,无锡\n").await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_rows")
    );
    let rows = v["error"]["fields"]["rows"].to_string();
    assert!(
        rows.contains("line 3") && rows.contains("line 4: id_number repeats line 2"),
        "{rows}"
    );
    let r = load(PEOPLE).await;
    assert_eq!(r.status(), StatusCode::OK);
    // No ID number is stored in the clear.
    let clear = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) AS n FROM exchange_records WHERE record LIKE '%320202199003071234%' OR key_index LIKE '%320202199003071234%'",
                &[],
            )?
            .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(clear, 0);

    // No grant yet.
    let ask = json!({"id_number": "320202199003071234"});
    let c = signed("wx-wjw", "办件核验", ask.clone());
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &ask).await).await;
    assert_eq!((s, code.as_str()), (StatusCode::FORBIDDEN, "no_grant"));

    // The consumer asks; the provider grants for one purpose until a day.
    let r = app
        .post(
            &app.iurl("/api/v1/staff/exchange/requests"),
            &wjw,
            json!({"provider": "wx-gaj", "service": "hukou", "purpose": "办件核验", "reason": "出生登记核验父母户籍"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let incoming: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/requests"), &gaj)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(incoming["total"], 1);
    assert_eq!(incoming["items"][0]["reason"], "出生登记核验父母户籍");
    // Only the provider decides.
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/exchange/requests/{id}/decision")),
            &wjw,
            json!({"grant": true, "valid_until": "2099-12-31"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/exchange/requests/{id}/decision")),
            &gaj,
            json!({"grant": true, "valid_until": "2099-12-31"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let grant = r.json::<Value>().await.unwrap()["grant"].as_i64().unwrap();

    // Now the call is answered, and the answer is signed by the provider's key.
    let c = signed("wx-wjw", "办件核验", ask.clone());
    let r = send(&app, &app.iurl(""), &c, &ask).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = |n: &str| r.headers()[n].to_str().unwrap().to_owned();
    let (sig, digest, key) = (
        h(call::H_SIGNATURE),
        h(call::H_REQUEST_DIGEST),
        h(call::H_KEY_ID),
    );
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["found"], true);
    assert_eq!(answer["record"]["household"], "无锡市梁溪区");
    let keys: Value = app
        .client
        .get(app.url("/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The answer names the published key by its id.
    assert_eq!(keys["keys"][0]["id"], key.as_str());
    let pk = keys["keys"][0]["public_key"].as_str().unwrap();
    let form = call::answer_form(&c.message_id, &digest, &answer);
    assert!(tongban_exchange::canonical::verify(&form, pk, &sig));
    assert!(!tongban_exchange::canonical::verify(
        &call::answer_form(&c.message_id, &digest, &json!({"found": false})),
        pk,
        &sig
    ));
    // The same message again is a replay.
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &ask).await).await;
    assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "replayed"));

    // A clerk checks a case with it: the timeline says who was asked and that the answer's
    // signature held; the citizen sees the same line.
    let clerk = app.staff("xw-clerk", "wx-wjw", &[Role::Clerk]).await;
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    let check = |body: Value| {
        let (app, clerk, case_no) = (&app, clerk.clone(), case_no.clone());
        async move {
            app.post(
                &app.iurl(&format!("/api/v1/staff/cases/{case_no}/checks")),
                &clerk,
                body,
            )
            .await
        }
    };
    let r = check(json!({"provider": "wx-gaj", "service": "hukou", "body": ask})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["answer"]["record"]["name"], "张三");
    assert_eq!(v["note"], "无锡市公安局 户籍信息（已验签），查有记录");
    // Without a body, the applicant's own ID number is asked (not in this registry).
    let v: Value = check(json!({"provider": "wx-gaj", "service": "hukou"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["note"], "无锡市公安局 户籍信息（已验签），查无记录",
        "{v}"
    );
    let mine: Value = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let checks: Vec<&Value> = mine["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "check")
        .collect();
    assert_eq!(checks.len(), 2, "{mine}");
    assert_eq!(
        checks[0]["note"],
        "无锡市公安局 户籍信息（已验签），查有记录"
    );
    assert_eq!(mine["status"], "submitted", "a check moves nothing");
    // The console offers the granted service on the case page, and shows the signed answer.
    let cookie = with_csrf(&format!("tongban_staff={clerk}"));
    let page = app
        .client
        .get(app.iurl(&format!("/console/cases/{case_no}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("无锡市公安局 · 户籍信息（办件核验）"),
        "{page}"
    );
    let r = app
        .client
        .post(app.iurl(&format!("/console/cases/{case_no}/checks")))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf_for(&cookie).as_str()),
            ("target", "wx-gaj/hukou/办件核验"),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("已验签") && page.contains("查无记录"),
        "{page}"
    );

    // The message log finds the case's exchanges.
    let of_case: Value = app
        .get(
            &app.iurl(&format!("/api/v1/staff/exchange/log?subject={case_no}")),
            &gaj,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(of_case["total"], 3);
    // The data-centre board and the evaluation count them: four answered so far, and the
    // birth registration's own ask for the parents' marriage record (the demo's 民政局
    // service and its two grants are counted too).
    let board: Value = app
        .get(&app.iurl("/api/v1/staff/dashboards/data"), &gaj)
        .await
        .json()
        .await
        .unwrap();
    let fig = |id: &str| {
        board["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == id)
            .map(|f| f["value"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        (fig("sharing"), fig("shared_services"), fig("grants")),
        (json!(5.0), json!(2.0), json!(3.0)),
        "{board}"
    );
    let month = app.ctx.today().format("%Y-%m").to_string();
    let eval: Value = app
        .get(
            &app.iurl(&format!("/api/v1/staff/evaluation?month={month}")),
            &gaj,
        )
        .await
        .json()
        .await
        .unwrap();
    let readiness = &eval["dimensions"][0]["indicators"];
    let value = |code: &str| {
        readiness
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == code)
            .map(|i| i["value"].clone())
            .unwrap_or_default()
    };
    assert_eq!(value("exchanges"), json!(5.0), "{readiness}");
    assert!(value("data_sharing").as_f64().unwrap() > 0.0, "{readiness}");

    // Each refusal, for its reason.
    let c = signed("wx-wjw", "招生入学", ask.clone());
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &ask).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::FORBIDDEN, "purpose_not_granted")
    );
    let wrong = json!({"id_number": "123"});
    let c = signed("wx-wjw", "办件核验", wrong.clone());
    let (s, code, v) = code_of(send(&app, &app.iurl(""), &c, &wrong).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request")
    );
    assert!(v["error"]["fields"]["id_number"].is_string(), "{v}");
    // A body changed after signing.
    let c = signed("wx-wjw", "办件核验", ask.clone());
    let changed = json!({"id_number": "11010519491231002X"});
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &changed).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_signature")
    );
    // A purpose changed after signing.
    let mut c = signed("wx-wjw", "办件核验", ask.clone());
    c.purpose = "其他用途".into();
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &ask).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_signature")
    );
    // Not on the public listener at all.
    let c = signed("wx-wjw", "办件核验", ask.clone());
    assert_eq!(
        send(&app, &app.url(""), &c, &ask).await.status(),
        StatusCode::NOT_FOUND
    );
    // An expired grant.
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE exchange_grants SET valid_until = 1 WHERE id = $1",
                tongban_platform::params![grant],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let c = signed("wx-wjw", "办件核验", ask.clone());
    let (s, code, _) = code_of(send(&app, &app.iurl(""), &c, &ask).await).await;
    assert_eq!((s, code.as_str()), (StatusCode::FORBIDDEN, "grant_expired"));

    // Everything is in the log, answered and refused, digests only.
    let log: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/log"), &gaj)
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
        outcomes,
        [
            "grant_expired",
            "bad_signature",
            "bad_signature",
            "invalid_request",
            "purpose_not_granted",
            "ok",
            "ok",
            "ok",
            "replayed",
            "ok",
            "no_grant"
        ],
        "{log}"
    );
    assert!(!log.to_string().contains("320202199003071234"));
    let v: Value = app
        .get(&app.iurl("/api/v1/staff/exchange/verify"), &auditor)
        .await
        .json()
        .await
        .unwrap();
    // Beside the birth registration's ask of 民政局 for the marriage record.
    assert_eq!(v, json!({"entries": 12, "broken": null}));

    // Twenty calls at once: each is logged, and the chain still holds.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url, ask) = (app.client.clone(), app.iurl(""), ask.clone());
        tasks.push(tokio::spawn(async move {
            let c = signed("wx-wjw", "办件核验", ask.clone());
            send_with(&client, &url, &c, &ask).await.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::FORBIDDEN);
    }

    // The chain finds an entry changed afterwards, and the CLI says where.
    let url = app.ctx.config.database_url.clone();
    let o = tongban(&url, app.dir.path(), &["exchange", "verify"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("32 entries verified"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    app.db()
        .write(|c| {
            c.execute("UPDATE exchange_log SET outcome = 'ok' WHERE seq = 3", &[])
                .map(|_| ())
        })
        .await
        .unwrap();
    let o = tongban(&url, app.dir.path(), &["exchange", "verify"], None);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("broken at entry 3"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
});
