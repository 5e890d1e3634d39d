//! Materials as a checklist: a required material missing is refused (422 naming it, in the
//! API and on the page, with every other problem at once) and nothing is stored; an earlier
//! upload of the same material is listed and reused by its owner only.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

on_both_engines!(required_materials_are_enforced, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let before = app.row_counts().await;
    // JSON without the ID card the matter requires.
    let r = app
        .post(
            &app.url("/api/v1/cases"),
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(&citizen)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_material", "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "id_card", "{body}");
    assert_eq!(body["error"]["fields"][0]["code"], "missing_material");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("申请人居民身份证"), "{message}");
    assert!(
        !message.contains("结婚证"),
        "an optional material is not asked for: {message}"
    );
    // A form problem and the missing material come back together.
    let mut form = birth_registration_form(&citizen);
    form["spouse_name"] = json!("");
    let r = app
        .post(
            &app.url("/api/v1/cases"),
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form}),
        )
        .await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_form", "{body}");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"spouse_name") && fields.contains(&"id_card"),
        "{fields:?}"
    );
    assert_eq!(app.row_counts().await, before, "nothing stored");

    // The page: the error summary names the material by its name, in the user's
    // language, with the message beside its row of the checklist.
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let mut mp = reqwest::multipart::Form::new().text("csrf", csrf_for(&cookie));
    for (k, v) in birth_registration_form(&citizen).as_object().unwrap() {
        mp = mp.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    let r = app
        .client
        .post(app.url("/matters/WX-WJ-001/apply"))
        .header("cookie", &cookie)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("申请人居民身份证：请上传此材料"),
        "the summary names the material"
    );
    assert!(html.contains("id=\"f-id_card-error\""));
    assert!(!html.contains(">：文"), "no blank labels");
    assert_eq!(app.row_counts().await, before, "nothing stored");
});

on_both_engines!(
    earlier_uploads_are_reused_by_their_owner,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let other = app.citizen().await;
        let clerk = app.staff("m-clerk", "wx-wjw", &[Role::Clerk]).await;
        let first = app.submit_birth(&citizen).await;
        let r = app
            .get(&app.url("/api/v1/me/materials?key=id_card"), &citizen.token)
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let list: Value = r.json().await.unwrap();
        assert_eq!(list["total"], 1, "{list}");
        let earlier = &list["items"][0];
        assert_eq!(earlier["case_no"], first.as_str());
        assert_eq!(earlier["material_key"], "id_card");
        let id = earlier["id"].as_i64().unwrap();
        // Nobody else sees them.
        let r = app
            .get(&app.url("/api/v1/me/materials"), &other.token)
            .await;
        assert_eq!(r.json::<Value>().await.unwrap()["total"], 0);

        // Reused by JSON: the new case carries the same file.
        let r = app
            .post(
                &app.url("/api/v1/cases"),
                &citizen.token,
                json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(&citizen),
                    "reuse": {"id_card": id}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let case: Value = r.json().await.unwrap();
        let second = case["case_no"].as_str().unwrap().to_owned();
        let keys: Vec<&str> = case["materials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["id_card"], "{case}");
        let download = |no: String| {
            let (app, clerk) = (&app, clerk.clone());
            async move {
                let r = app
                    .get(
                        &app.iurl(&format!("/api/v1/staff/cases/{no}/materials/id_card")),
                        &clerk,
                    )
                    .await;
                assert_eq!(r.status(), StatusCode::OK);
                r.bytes().await.unwrap()
            }
        };
        assert_eq!(download(first.clone()).await, download(second).await);
        let r = app
            .get(&app.url("/api/v1/me/materials?key=id_card"), &citizen.token)
            .await;
        assert_eq!(r.json::<Value>().await.unwrap()["total"], 2);

        // Another citizen cannot take it; nor can it stand for another material.
        let before = app.row_counts().await;
        for (who, reuse, code) in [
            (&other, json!({"id_card": id}), "reuse_not_found"),
            (&citizen, json!({"id_card": id + 1000}), "reuse_not_found"),
            (
                &citizen,
                json!({"id_card": id, "no_such": id}),
                "unknown_material",
            ),
        ] {
            let r = app
                .post(
                    &app.url("/api/v1/cases"),
                    &who.token,
                    json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(who),
                        "reuse": reuse}),
                )
                .await;
            let (status, got, message) = error_code(r).await;
            assert_eq!(
                (status, got.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, code),
                "{message}"
            );
        }
        // A reuse of another's upload that also brings its own file is still refused.
        let r = app
            .submit_case(
                &other.token,
                json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(&other),
                    "reuse": {"marriage_cert": id}}),
            )
            .await;
        let (status, got, _) = error_code(r).await;
        assert_eq!(
            (status, got.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "reuse_not_found")
        );
        assert_eq!(app.row_counts().await, before, "nothing stored");

        // The apply page offers the earlier file for its material.
        let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
        let r = app
            .client
            .get(app.url("/matters/WX-WJ-001/apply"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let html = r.text().await.unwrap();
        assert!(
            html.contains("name=\"reuse.id_card\""),
            "a choice for the ID card"
        );
        assert!(html.contains(&format!("value=\"{id}\"")));
        assert!(
            !html.contains("name=\"reuse.marriage_cert\""),
            "none uploaded"
        );
        // Chosen on the page, it satisfies the checklist.
        let mut mp = reqwest::multipart::Form::new()
            .text("csrf", csrf_for(&cookie))
            .text("reuse.id_card", id.to_string())
            .text("reuse.marriage_cert", "");
        for (k, v) in birth_registration_form(&citizen).as_object().unwrap() {
            mp = mp.text(k.clone(), v.as_str().unwrap().to_owned());
        }
        let r = app
            .client
            .post(app.url("/matters/WX-WJ-001/apply"))
            .header("cookie", &cookie)
            .multipart(mp)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.url().path().ends_with("/submitted"),
            "on to the receipt page: {}",
            r.url()
        );
    }
);
