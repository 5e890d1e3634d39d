//! 免提交 (once only): the approval of a 生育登记 issues a 生育登记服务证; the citizen's next
//! application — 生育医疗费用报销, whose material 生育登记服务证 names that certificate type —
//! says "已有电子证照，免提交", and the case takes the certificate (its PDF, its number) instead
//! of an upload, seen as verified by the clerk. Without a certificate, or once it is revoked,
//! the material must be uploaded again.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

/// Apply for 生育医疗费用报销 with every required file but the 生育登记服务证.
async fn claim(app: &TestApp, c: &Citizen) -> reqwest::Response {
    let form = json!({"applicant_name": "李四", "applicant_id": c.id_number,
        "applicant_phone": c.phone, "amount": 3200, "delivery_date": "2026-10-01",
        "bank_account": "6222020200112233445"});
    let part = |n: &str| {
        reqwest::multipart::Part::bytes(b"%PDF-1.4 a scan".to_vec())
            .file_name(format!("{n}.pdf"))
            .mime_str("application/pdf")
            .unwrap()
    };
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-YB-003")
        .text("form", form.to_string())
        .part("id_card", part("id_card"))
        .part("invoice", part("invoice"))
        .part("birth_cert", part("birth_cert"));
    app.client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&c.token)
        .multipart(mp)
        .send()
        .await
        .unwrap()
}

on_both_engines!(certificate_stands_for_material, |app: TestApp| async move {
    let clerk = app.staff("xo-clerk", "wx-wjw", &[Role::Clerk]).await;
    let approver = app.staff("xo-approver", "wx-wjw", &[Role::Approver]).await;
    let admin = app.staff("xo-admin", "wx-wjw", &[Role::Admin]).await;
    let yb = app.staff("xo-yb", "wx-ybj", &[Role::Clerk]).await;
    let citizen = app.citizen().await;

    // Before any certificate: the material is asked for.
    let (s, code, msg) = error_code(claim(&app, &citizen).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_material"),
        "{msg}"
    );
    assert!(msg.contains("birth_registration"), "{msg}");

    // 生育登记 approved: the certificate is issued.
    let case_no = app.submit_birth(&citizen).await;
    assert_eq!(
        app.act(&clerk, &case_no, "accept", "受理").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.act(&approver, &case_no, "approve", "准予")
            .await
            .status(),
        StatusCode::OK
    );
    let mine: Value = app
        .get(&app.url("/api/v1/me/certificates"), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    let number = mine["items"][0]["number"].as_str().unwrap().to_owned();
    assert_eq!(mine["items"][0]["type_code"], "SYDJFWZ");

    // The apply page says so.
    let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
    let page = app
        .client
        .get(app.url("/matters/WX-YB-003/apply"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已有电子证照，免提交：生育登记服务证") && page.contains(&number),
        "{page}"
    );

    // The case takes the certificate instead of an upload.
    let r = claim(&app, &citizen).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let claim_no = v["case_no"].as_str().unwrap().to_owned();
    let mats = v["materials"].as_array().unwrap();
    let m = mats
        .iter()
        .find(|m| m["key"] == "birth_registration")
        .expect("the certificate stands for the material");
    assert_eq!(m["certificate"], number.as_str());
    assert!(mats
        .iter()
        .filter(|m| m["key"] != "birth_registration")
        .all(|m| m.get("certificate").is_none()));

    // The clerk sees it as verified, and its file is the certificate's PDF.
    let console = app
        .console_page(&format!("/console/cases/{claim_no}"), &yb)
        .await;
    assert!(
        console.contains(&format!("电子证照 {number} · 提交时已验证")),
        "{console}"
    );
    let r = app
        .get(
            &app.iurl(&format!(
                "/api/v1/staff/cases/{claim_no}/materials/birth_registration"
            )),
            &yb,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(p) = crate::documents::poppler(&pdf) {
        assert!(p.text.contains(&number), "{}", p.text);
    }
    // The citizen's case page says the same.
    let mine = app
        .client
        .get(app.url(&format!("/my/cases/{claim_no}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains(&format!("电子证照 {number}")), "{mine}");

    // Someone else holds none: upload still needed.
    let other = app.citizen().await;
    let (s, _, _) = error_code(claim(&app, &other).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Revoked: it stands for nothing any more.
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/certificates/{number}/revoke")),
            &admin,
            json!({"reason": "信息有误"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (s, code, _) = error_code(claim(&app, &citizen).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "missing_material")
    );
    let page = app
        .client
        .get(app.url("/matters/WX-YB-003/apply"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("免提交："), "{page}");
});

/// Apply for 生育登记 with the ID card only: the 结婚证 is left to data sharing.
async fn birth_without_marriage_cert(app: &TestApp, c: &Citizen) -> reqwest::Response {
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", birth_registration_form(c).to_string())
        .part(
            "id_card",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 a scan".to_vec())
                .file_name("id_card.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    app.client
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&c.token)
        .multipart(mp)
        .send()
        .await
        .unwrap()
}

on_both_engines!(
    exchange_answer_stands_for_material,
    |app: TestApp| async move {
        let mzj = app.staff("xo-mzj", "wx-mzj", &[Role::Admin]).await;
        let clerk = app.staff("xo-wjw", "wx-wjw", &[Role::Clerk]).await;
        let citizen = app.citizen().await;
        let stranger = app.citizen().await;
        // 民政局 loads its marriage registry: the citizen is in it, the stranger is not.
        let csv = format!(
        "id_number,姓名,配偶姓名,登记日期,登记机关\n{},李四,王五,2019-10-01,无锡市梁溪区民政局婚姻登记处\n",
        citizen.id_number
    );
        let r = app
            .client
            .put(app.iurl(
                "/api/v1/staff/exchange/registries/marriage?key_field=id_number&filename=m.csv",
            ))
            .bearer_auth(&mzj)
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // The apply page says the 结婚证 may not be needed.
        let cookie = with_csrf(&format!("tongban_session={}", citizen.token));
        let page = app
            .client
            .get(app.url("/matters/WX-WJ-001/apply"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("id=\"x-marriage_cert\""), "{page}");

        // The case takes the signed answer of 民政局 (the demo's grant to 卫健委 for 办件核验).
        let r = birth_without_marriage_cert(&app, &citizen).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        let case_no = v["case_no"].as_str().unwrap().to_owned();
        let m = v["materials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == "marriage_cert")
            .cloned()
            .expect("the answer stands for the 结婚证");
        let message = m["exchange_message"].as_str().unwrap().to_owned();
        // 民政局's message log holds it: consumer 卫健委, answered.
        let log: Value = app
            .get(&app.iurl("/api/v1/staff/exchange/log"), &mzj)
            .await
            .json()
            .await
            .unwrap();
        let entry = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["message_id"] == message.as_str())
            .cloned()
            .expect("logged");
        assert_eq!(
            (&entry["consumer"], &entry["outcome"], &entry["subject"]),
            (&json!("wx-wjw"), &json!("ok"), &json!("apply:WX-WJ-001"))
        );
        // The clerk sees it checked, and its file is the 数据核验单 with the record.
        let console = app
            .console_page(&format!("/console/cases/{case_no}"), &clerk)
            .await;
        assert!(
            console.contains(&format!(
                "数据共享核验 · 已验签（消息 {}…）",
                &message[..12]
            )),
            "{console}"
        );
        let r = app
            .get(
                &app.iurl(&format!(
                    "/api/v1/staff/cases/{case_no}/materials/marriage_cert"
                )),
                &clerk,
            )
            .await;
        let pdf = r.bytes().await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        if let Some(p) = crate::documents::poppler(&pdf) {
            assert!(
                p.text.contains("数据核验单") && p.text.contains("王五"),
                "{}",
                p.text
            );
        }

        // No record: nothing stands for the 结婚证 (optional here, so the case goes in
        // without it; a required one is asked for, as with certificates above).
        let r = birth_without_marriage_cert(&app, &stranger).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["materials"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["key"] != "marriage_cert"),
            "{v}"
        );
    }
);
