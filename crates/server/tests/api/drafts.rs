//! Applying as people expect: a review step that shows everything before it is submitted
//! (nothing stored until confirmed, the files chosen once), and drafts (暂存) saved and resumed
//! on the page and through the API, private to their owner, forgotten once submitted.

use crate::helpers::*;
use crate::materials::{hidden, page_form, post_apply};
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Every hidden input in `html`, in order.
fn hiddens(html: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut rest = html;
    while let Some(at) = rest.find("type=\"hidden\" name=\"") {
        rest = &rest[at + 20..];
        let name = rest[..rest.find('"').unwrap()].to_owned();
        let v = rest.find("value=\"").unwrap() + 7;
        let value = rest[v..v + rest[v..].find('"').unwrap()].to_owned();
        out.push((name, value));
    }
    out
}

fn pdf(name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(format!("%PDF-1.4 {name}").into_bytes())
        .file_name(format!("{name}.pdf"))
}

async fn case_count(app: &TestApp, c: &Citizen) -> i64 {
    let r = app.get(&app.url("/api/v1/cases"), &c.token).await;
    r.json::<Value>().await.unwrap()["total"].as_i64().unwrap()
}

on_both_engines!(review_before_submitting, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let form = birth_registration_form(&citizen);

    // A material missing: refused at the review, with the reason, nothing stored.
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &form).text("step", "review"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("请上传此材料"),
        "the missing ID card is named"
    );
    assert!(!html.contains("核对申请信息"));

    // Complete: the review shows the values and the file, and stores no case.
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &form)
            .text("step", "review")
            .part("id_card", pdf("身份证")),
    )
    .await;
    let status = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("核对申请信息"), "the review page");
    assert!(
        html.contains("王五") && html.contains("2027-03-01"),
        "values shown"
    );
    assert!(html.contains("本次上传：身份证.pdf"), "the file shown");
    assert_eq!(case_count(&app, &citizen).await, 0, "nothing submitted yet");
    // What the review's form sends back (the page's other forms send their own).
    let sent = hiddens(&html[html.find("class=\"review-form\"").expect("the review form")..]);
    assert!(
        hidden(&html, "pending.id_card").is_some(),
        "the file is kept"
    );

    // Back to edit: the form with the values and the file kept.
    let mut back = reqwest::multipart::Form::new();
    for (k, v) in &sent {
        back = back.text(k.clone(), v.clone());
    }
    let r = post_apply(&app, &cookie, back.text("step", "edit")).await;
    let status = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{sent:?} {html}");
    assert!(html.contains("value=\"王五\""), "values kept for editing");
    assert!(html.contains("已保留：身份证.pdf"));

    // Confirm: submitted as reviewed, with the file chosen once.
    let mut confirm = reqwest::multipart::Form::new();
    for (k, v) in &sent {
        confirm = confirm.text(k.clone(), v.clone());
    }
    let r = post_apply(&app, &cookie, confirm.text("step", "confirm")).await;
    assert_eq!(r.status(), StatusCode::OK, "{sent:?}");
    assert!(r.url().path().ends_with("/submitted"), "{}", r.url());
    assert_eq!(case_count(&app, &citizen).await, 1);
    let r = app.get(&app.url("/api/v1/cases"), &citizen.token).await;
    let no = r.json::<Value>().await.unwrap()["items"][0]["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let case: Value = app
        .get(&app.url(&format!("/api/v1/cases/{no}")), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["materials"][0]["filename"], "身份证.pdf", "{case}");
    assert_eq!(case["form"]["spouse_name"], "王五");
});

on_both_engines!(drafts_are_saved_and_resumed, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let other = app.citizen().await;
    let url = app.url("/api/v1/me/drafts/WX-WJ-001");

    // Through the API: part of the form, no files yet.
    let put = |token: String, body: Value| {
        let client = app.client.clone();
        let url = url.clone();
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = put(
        citizen.token.clone(),
        json!({"form": {"spouse_name": "王五", "applicant_name": "冒名"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["form"]["spouse_name"], "王五");
    assert!(
        d["form"].get("applicant_name").is_none(),
        "identity fields are not kept: they come from the account"
    );
    assert!(d["keep_until"].as_str().unwrap() > d["saved_at"].as_str().unwrap());
    // Not a field of the matter, or too long: refused with the field named.
    let r = put(citizen.token.clone(), json!({"form": {"nickname": "x"}})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_form", "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "nickname");
    let r = put(
        citizen.token.clone(),
        json!({"form": {"spouse_name": "长".repeat(20_000)}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = app
        .get(&app.url("/api/v1/me/drafts"), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["matter_name"], "生育登记");
    // Someone else's draft is not there for them.
    let r = app.get(&url, &other.token).await;
    assert_eq!(error_code(r).await.1, "draft_not_found");

    // On the page: resumed, then saved again with a file, which is kept with it.
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
    assert!(html.contains("已恢复您于"), "the draft is resumed");
    assert!(html.contains("value=\"王五\""));
    let mut partial = birth_registration_form(&citizen);
    partial["due_date"] = json!("");
    let r = post_apply(
        &app,
        &cookie,
        page_form(&cookie, &partial)
            .text("step", "draft")
            .part("id_card", pdf("身份证")),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "an unfinished form is a draft");
    let html = r.text().await.unwrap();
    assert!(html.contains("草稿已保存"));
    assert!(html.contains("已保留：身份证.pdf"));
    let d: Value = app.get(&url, &citizen.token).await.json().await.unwrap();
    let kept = d["files"]["id_card"]["id"]
        .as_i64()
        .expect("the file is kept");
    assert_eq!(d["files"]["id_card"]["filename"], "身份证.pdf");
    let mine = app
        .client
        .get(app.url("/my/cases"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains("/matters/WX-WJ-001/apply") && mine.contains("继续填写"));

    // Submitted through the API from the draft: the kept file goes with it; the draft is gone.
    let mut form = birth_registration_form(&citizen);
    form.as_object_mut().unwrap().remove("applicant_name");
    let r = app
        .post(
            &app.url("/api/v1/cases"),
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form, "pending": {"id_card": kept}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let case: Value = r.json().await.unwrap();
    assert_eq!(case["materials"][0]["filename"], "身份证.pdf");
    let r = app.get(&url, &citizen.token).await;
    assert_eq!(error_code(r).await.1, "draft_not_found");

    // Discarded: gone (with any files kept only for it).
    let r = put(
        citizen.token.clone(),
        json!({"form": {"spouse_name": "赵六"}}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .delete(&url)
        .bearer_auth(&citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .delete(&url)
        .bearer_auth(&citizen.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "draft_not_found");
});
