//! A supplement request that names its items (一次性告知): the clerk picks fields and
//! materials from the checklist; the applicant's supplement form asks for those only, and the
//! answer must give each of them and nothing else; a material given again marks the earlier
//! file as replaced.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

async fn supplement(
    app: &TestApp,
    c: &Citizen,
    no: &str,
    form: Value,
    files: &[&str],
) -> reqwest::Response {
    let mut mp = reqwest::multipart::Form::new().text("form", form.to_string());
    for key in files {
        mp = mp.part(
            key.to_string(),
            reqwest::multipart::Part::bytes(format!("%PDF-1.4 {key} again").into_bytes())
                .file_name(format!("{key}-2.pdf")),
        );
    }
    app.client
        .post(app.url(&format!("/api/v1/cases/{no}/supplement")))
        .bearer_auth(&c.token)
        .multipart(mp)
        .send()
        .await
        .unwrap()
}

async fn ask(app: &TestApp, staff: &str, no: &str, note: &str, items: Value) -> reqwest::Response {
    app.post(
        &app.iurl(&format!("/api/v1/staff/cases/{no}/actions")),
        staff,
        json!({"action": "request_supplement", "note": note, "items": items}),
    )
    .await
}

on_both_engines!(supplement_asks_for_named_items, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let no = app.submit_birth(&citizen).await;
    let clerk = app.staff("clerk1", "wx-wjw", &[Role::Clerk]).await;
    assert_eq!(
        app.act(&clerk, &no, "accept", "").await.status(),
        StatusCode::OK
    );

    // Only fields and materials of the matter, not identity fields, only with this action.
    for items in [json!(["applicant_id"]), json!(["nickname"])] {
        let (status, code, message) =
            error_code(ask(&app, &clerk, &no, "请补正", items).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "bad_items"),
            "{message}"
        );
    }
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/cases/{no}/actions")),
            &clerk,
            json!({"action": "review", "note": "x", "items": ["due_date"]}),
        )
        .await;
    assert_eq!(error_code(r).await.1, "bad_items");

    let r = ask(
        &app,
        &clerk,
        &no,
        "预产期有误，结婚证不清晰",
        json!(["due_date", "marriage_cert", "due_date"]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mine: Value = app
        .get(&app.url(&format!("/api/v1/cases/{no}")), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["supplement_items"],
        json!([
            {"key": "due_date", "kind": "field", "label": "预产期"},
            {"key": "marriage_cert", "kind": "material", "label": "结婚证"}
        ])
    );

    // The page asks for those only.
    let cookie = format!("tongban_session={}", citizen.token);
    let html = app
        .client
        .get(app.url(&format!("/my/cases/{no}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("一次性告知"), "the list of items");
    assert!(html.contains("id=\"f-due_date\"") && html.contains("id=\"f-marriage_cert\""));
    assert!(
        !html.contains("id=\"f-spouse_name\""),
        "not asked, not shown"
    );
    assert!(!html.contains("id=\"f-id_card\""));

    // Each item must come, and nothing else; every problem at once; nothing stored.
    let r = supplement(&app, &citizen, &no, json!({"due_date": "2027-04-01"}), &[]).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_material", "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "marriage_cert");
    let r = supplement(
        &app,
        &citizen,
        &no,
        json!({"spouse_name": "改名"}),
        &["marriage_cert", "id_card"],
    )
    .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_form", "{body}");
    let fields: Vec<(&str, &str)> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert!(
        fields.contains(&("spouse_name", "not_requested")),
        "{fields:?}"
    );
    assert!(fields.contains(&("id_card", "not_requested")), "{fields:?}");
    assert!(fields.contains(&("due_date", "required")), "{fields:?}");
    let still: Value = app
        .get(&app.url(&format!("/api/v1/cases/{no}")), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "needs_supplement");
    assert_eq!(
        still["materials"].as_array().unwrap().len(),
        1,
        "nothing stored"
    );

    // The answer: both items (a field the page shows unchanged is not "something else").
    let r = supplement(
        &app,
        &citizen,
        &no,
        json!({"due_date": "2027-04-01", "child_order": "一孩"}),
        &["marriage_cert"],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["status"], "accepted");
    assert_eq!(done["form"]["due_date"], "2027-04-01");
    assert_eq!(done["supplement_items"], json!([]));

    // The ID card asked for again: the first file is marked replaced, to both sides.
    assert_eq!(
        ask(&app, &clerk, &no, "身份证不清晰", json!(["id_card"]))
            .await
            .status(),
        StatusCode::OK
    );
    let r = supplement(&app, &citizen, &no, json!({}), &["id_card"]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    let cards: Vec<(bool, &str)> = done["materials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["key"] == "id_card")
        .map(|m| {
            (
                m["replaced"].as_bool().unwrap(),
                m["filename"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(cards, vec![(true, "id_card.pdf"), (false, "id_card-2.pdf")]);
    let console = app
        .console_page(&format!("/console/cases/{no}"), &clerk)
        .await;
    assert!(console.contains("已被替换"), "the clerk sees it too");
    assert!(
        console.contains("name=\"item\" value=\"due_date\"")
            && console.contains("name=\"item\" value=\"marriage_cert\""),
        "the request's checklist"
    );
    assert!(
        !console.contains("name=\"item\" value=\"applicant_id\""),
        "identity fields are not asked for"
    );
});

// The console shows PDF and image materials inline: a preview framed by the console only,
// running nothing; a file that is neither is refused there (and downloaded instead).
on_both_engines!(
    materials_preview_in_the_console,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let no = app.submit_birth(&citizen).await;
        let clerk = app.staff("clerk1", "wx-wjw", &[Role::Clerk]).await;
        let page = app
            .console_page(&format!("/console/cases/{no}"), &clerk)
            .await;
        let src = format!("/console/cases/{no}/materials/id_card/preview");
        assert!(
            page.contains(&format!("<iframe src=\"{src}\"")),
            "a PDF in a frame"
        );
        let r = app
            .client
            .get(app.iurl(&src))
            .header("cookie", format!("tongban_staff={clerk}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h["content-type"], "application/pdf");
        assert_eq!(h["content-disposition"], "inline");
        assert_eq!(h["x-frame-options"], "SAMEORIGIN");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
        // Pages themselves still refuse to be framed.
        let r = app
            .client
            .get(app.iurl(&format!("/console/cases/{no}")))
            .header("cookie", format!("tongban_staff={clerk}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        // Another department's staff sees nothing.
        let other = app.staff("gaj1", "wx-gaj", &[Role::Clerk]).await;
        let r = app
            .client
            .get(app.iurl(&src))
            .header("cookie", format!("tongban_staff={other}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
);
