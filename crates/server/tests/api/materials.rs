//! Materials as a checklist: a required material missing is refused (422 naming it, in the
//! API and on the page, with every other problem at once) and nothing is stored; an earlier
//! upload of the same material is listed and reused by its owner only.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

/// The apply page's form as a browser sends it: the anti-forgery token, then each field.
pub(crate) fn page_form(cookie: &str, form: &Value) -> reqwest::multipart::Form {
    let mut mp = reqwest::multipart::Form::new().text("csrf", csrf_for(cookie));
    for (k, v) in form.as_object().unwrap() {
        mp = mp.text(k.clone(), v.as_str().unwrap().to_owned());
    }
    mp
}

/// Post `mp` to WX-WJ-001's apply page as the citizen of `cookie` (redirects followed).
pub(crate) async fn post_apply(
    app: &TestApp,
    cookie: &str,
    mp: reqwest::multipart::Form,
) -> reqwest::Response {
    app.client
        .post(app.url("/matters/WX-WJ-001/apply"))
        .header("cookie", cookie)
        .multipart(mp)
        .send()
        .await
        .unwrap()
}

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
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &birth_registration_form(&citizen)),
    )
    .await;
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
        assert_eq!(
            download(first.clone()).await,
            download(second.clone()).await
        );
        // The owner opens their own file (API and case page); another citizen cannot.
        let own = app
            .get(
                &app.url(&format!("/api/v1/cases/{first}/materials/id_card")),
                &citizen.token,
            )
            .await;
        assert_eq!(own.status(), StatusCode::OK);
        assert!(own.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(own.bytes().await.unwrap(), download(first.clone()).await);
        let r = app
            .get(
                &app.url(&format!("/api/v1/cases/{first}/materials/id_card")),
                &other.token,
            )
            .await;
        assert_eq!(error_code(r).await.1, "case_not_found");
        let r = app
            .client
            .get(app.url(&format!("/my/cases/{first}/materials/id_card")))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.bytes().await.unwrap(), download(first.clone()).await);
        let page = app
            .client
            .get(app.url(&format!("/my/cases/{first}")))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(&format!("href=\"/my/cases/{first}/materials/id_card\"")));

        // The clerk sees the matter's checklist with each material's state.
        let html = app
            .console_page(&format!("/console/cases/{second}"), &clerk)
            .await;
        let table = &html[html.find("class=\"checklist\"").expect("a checklist")..];
        let table = &table[..table.find("</table>").unwrap()];
        let row = |name: &str| {
            let at = table
                .find(name)
                .unwrap_or_else(|| panic!("{name} in {table}"));
            table[at..at + table[at..].find("</tr>").unwrap()].to_owned()
        };
        assert!(row("申请人居民身份证").contains("已提交 1 份"), "{table}");
        assert!(row("申请人居民身份证").contains("id_card.pdf"), "{table}");
        assert!(row("结婚证").contains("未提交"), "{table}");
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
        let mp = page_form(&cookie, &birth_registration_form(&citizen))
            .text("reuse.id_card", id.to_string())
            .text("reuse.marriage_cert", "");
        let r = post_apply(&app, &cookie, mp).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.url().path().ends_with("/submitted"),
            "on to the receipt page: {}",
            r.url()
        );
    }
);

/// The value of the hidden input `name` in `html`.
pub(crate) fn hidden(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

// Files chosen on the apply page survive a refused attempt: kept for their owner only, sent
// back with the corrected form without choosing them again, forgotten once used.
on_both_engines!(files_survive_a_refused_attempt, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let other = app.citizen().await;
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let pdf = |name: &str| {
        reqwest::multipart::Part::bytes(format!("%PDF-1.4 {name}").into_bytes())
            .file_name(format!("{name}.pdf"))
    };
    let mut wrong = birth_registration_form(&citizen);
    wrong["spouse_id"] = json!("110105194912310029");
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &wrong)
            .part("id_card", pdf("身份证"))
            .part("marriage_cert", pdf("结婚证")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("已保留：身份证.pdf"),
        "the page says the file is kept"
    );
    assert!(
        !html.contains("需要重新选择要上传的文件"),
        "and does not ask for it again"
    );
    let id_card = hidden(&html, "pending.id_card").expect("the ID card is kept");
    let cert = hidden(&html, "pending.marriage_cert").expect("the certificate is kept");

    // Nobody else can send them.
    let r = app
        .submit_case(
            &other.token,
            json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(&other)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "a control submission");
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", birth_registration_form(&other).to_string())
        .text("pending.id_card", id_card.clone());
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&other.token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(r).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "reuse_not_found")
    );

    // The corrected form goes with the kept files and no file chosen.
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &birth_registration_form(&citizen))
            .text("pending.id_card", id_card.clone())
            .text("pending.marriage_cert", cert.clone()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let path = r.url().path().to_owned();
    assert!(path.ends_with("/submitted"), "{path}");
    let case_no = path.split('/').nth(3).unwrap().to_owned();
    let case: Value = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    let files: Vec<(&str, &str)> = case["materials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["key"].as_str().unwrap(), m["filename"].as_str().unwrap()))
        .collect();
    assert!(files.contains(&("id_card", "身份证.pdf")), "{files:?}");
    assert!(
        files.contains(&("marriage_cert", "结婚证.pdf")),
        "{files:?}"
    );

    // Used once, they are forgotten.
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", birth_registration_form(&citizen).to_string())
        .text("pending.id_card", id_card);
    let r = app
        .client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&citizen.token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "reuse_not_found");
});

// Identity first: what the platform knows of a real-name applicant (name, ID number, phone)
// is filled in and locked on the page, and a value sent for it through the API is replaced.
on_both_engines!(
    identity_fields_are_filled_and_locked,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
        let html = app
            .client
            .get(app.url("/matters/WX-WJ-001/apply"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let input = |id: &str| {
            let at = html.find(&format!("id=\"{id}\"")).expect(id);
            let start = html[..at].rfind('<').unwrap();
            html[start..at + html[at..].find('>').unwrap()].to_owned()
        };
        let id_input = input("f-applicant_id");
        assert!(
            id_input.contains(&format!("value=\"{}\"", citizen.id_number)),
            "{id_input}"
        );
        assert!(id_input.contains("readonly"), "{id_input}");
        assert!(input("f-applicant_phone").contains(&format!("value=\"{}\"", citizen.phone)));
        assert!(input("f-applicant_name").contains("value=\"李四\""));
        assert!(
            !input("f-spouse_name").contains("readonly"),
            "others stay open"
        );

        // Another name and ID number sent through the API do not stand.
        let mut form = birth_registration_form(&citizen);
        form["applicant_name"] = json!("王冒名");
        form["applicant_id"] = json!(random_id_number());
        let r = app
            .submit_case(
                &citizen.token,
                json!({"matter_code": "WX-WJ-001", "form": form}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let case: Value = r.json().await.unwrap();
        assert_eq!(case["form"]["applicant_name"], "李四", "{case}");
        let clerk = app.staff("p-clerk", "wx-wjw", &[Role::Clerk]).await;
        let no = case["case_no"].as_str().unwrap();
        let staff_view: Value = app
            .get(&app.iurl(&format!("/api/v1/staff/cases/{no}")), &clerk)
            .await
            .json()
            .await
            .unwrap();
        let shown = staff_view["form"]["applicant_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            (&shown[..4], &shown[14..]),
            (&citizen.id_number[..4], &citizen.id_number[14..]),
            "the applicant's own ID number (masked): {shown}"
        );
    }
);

/// Refused attempts keep files only within the hourly upload limit: past it nothing more is
/// stored, and the page asks for the files again.
async fn kept_files_count_against_the_upload_limit(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.rate_per_hour = 2).await else {
        return;
    };
    let citizen = app.citizen().await;
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let mut wrong = birth_registration_form(&citizen);
    wrong["spouse_id"] = json!("110105194912310029");
    let attempt = || {
        let mp = page_form(&cookie, &wrong).part(
            "marriage_cert",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 cert".to_vec()).file_name("c.pdf"),
        );
        post_apply(&app, &cookie, mp)
    };
    for i in 0..2 {
        let html = attempt().await.text().await.unwrap();
        assert!(
            html.contains("name=\"pending.marriage_cert\""),
            "attempt {i} keeps it"
        );
    }
    let html = attempt().await.text().await.unwrap();
    assert!(
        !html.contains("name=\"pending.marriage_cert\""),
        "past the limit nothing is kept"
    );
    assert!(
        html.contains("需要重新选择要上传的文件"),
        "the page says to choose again"
    );
    let kept = app
        .db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM pending_uploads", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(kept, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_files_count_against_the_upload_limit_sqlite() {
    kept_files_count_against_the_upload_limit(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn kept_files_count_against_the_upload_limit_postgres() {
    kept_files_count_against_the_upload_limit(Engine::Postgres).await;
}
