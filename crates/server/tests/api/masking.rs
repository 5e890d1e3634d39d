//! Personal data is masked on every page and API, staff included, unless a staff member
//! holding pii:read states a purpose; each unmasked view is audited with it.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;
use tongban_platform::identity::Role;
use tongban_platform::mask;

on_both_engines!(
    masked_unless_pii_read_with_a_purpose,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let case_no = app.submit_birth(&citizen).await;
        let masked_id = mask::id_number(&citizen.id_number);
        let masked_phone = mask::phone(&citizen.phone);

        // The citizen's own API views are masked too.
        let me: Value = app
            .get(&app.url("/api/v1/me"), &citizen.token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (
                me["id_number"].as_str().unwrap(),
                me["phone"].as_str().unwrap()
            ),
            (masked_id.as_str(), masked_phone.as_str())
        );
        let case: Value = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(case["form"]["applicant_id"], masked_id);
        assert_eq!(case["form"]["applicant_phone"], masked_phone);
        assert_eq!(
            case["form"]["applicant_name"], "李四",
            "other fields as entered"
        );
        let body = serde_json::to_string(&case).unwrap();
        assert!(!body.contains(&citizen.id_number) && !body.contains(&citizen.phone));

        // Staff see it masked; asking to unmask without pii:read is refused and audited.
        let clerk = app.staff("m-clerk", "wx-wjw", &[Role::Clerk]).await;
        let url = app.iurl(&format!("/api/v1/staff/cases/{case_no}"));
        let v: Value = app.get(&url, &clerk).await.json().await.unwrap();
        assert_eq!(v["applicant"]["id_number"], masked_id);
        assert_eq!(v["applicant"]["phone"], masked_phone);
        assert_eq!(v["masked"], true);
        let r = app.get(&format!("{url}?purpose=核对身份"), &clerk).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        // A pii_reader with a purpose sees it in full, and the view is audited with that purpose.
        let reader = app
            .staff("m-reader", "wx-wjw", &[Role::Clerk, Role::PiiReader])
            .await;
        let v: Value = app.get(&url, &reader).await.json().await.unwrap();
        assert_eq!(
            v["applicant"]["id_number"], masked_id,
            "no purpose, no unmasking"
        );
        let v: Value = app
            .get(
                &format!("{url}?purpose=%E6%A0%B8%E5%AF%B9%E8%BA%AB%E4%BB%BD"),
                &reader,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["applicant"]["id_number"], citizen.id_number);
        assert_eq!(v["form"]["applicant_phone"], citizen.phone);
        assert_eq!(v["masked"], false);
        tongban_platform::audit::settle(app.db()).await.unwrap();
        let log = app
            .db()
            .read(|c| tongban_platform::audit::since(c, 0, 10_000, 0))
            .await
            .unwrap();
        assert!(log.iter().any(|e| e.entry.action == "pii.read"
            && e.entry.actor == "m-reader"
            && e.entry.detail == "核对身份"
            && e.entry.object == case_no));
        assert!(log.iter().any(|e| e.entry.action == "pii.read"
            && e.entry.actor == "m-clerk"
            && e.entry.result == "denied"));

        // Pages too: the citizen's case page and the console show masked values.
        let html = app
            .client
            .get(app.url(&format!("/my/cases/{case_no}")))
            .header("cookie", format!("tongban_session={}", citizen.token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&masked_id) && !html.contains(&citizen.id_number));
        let html = app
            .client
            .get(app.iurl(&format!("/console/cases/{case_no}")))
            .header("cookie", format!("tongban_staff={clerk}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(&masked_phone) && !html.contains(&citizen.phone));
    }
);

// A work order filed by a signed-in citizen: handlers see the phone masked; a pii_reader who
// states a purpose sees it whole (audited with the purpose); anyone else asking is refused
// and audited; on the console too.
on_both_engines!(work_order_phone_is_masked, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let r = app
        .post(
            &app.url("/api/v1/workorders"),
            &citizen.token,
            serde_json::json!({"type": "complaint", "category": "city.sanitation", "district": "梁溪区",
                "street": "南长街 12 号", "title": "垃圾桶满溢", "content": "两天没人清理"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let no = r.json::<Value>().await.unwrap()["order_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let masked_phone = tongban_platform::mask::phone(&citizen.phone);
    let dispatcher = app.staff("w-disp", "wx-12345", &[Role::Dispatcher]).await;
    let url = app.iurl(&format!("/api/v1/staff/workorders/{no}"));
    let v: Value = app.get(&url, &dispatcher).await.json().await.unwrap();
    assert_eq!(v["phone"], masked_phone);
    assert_eq!(v["masked"], true);
    let r = app.get(&format!("{url}?purpose=回访"), &dispatcher).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let reader = app
        .staff("w-reader", "wx-12345", &[Role::Dispatcher, Role::PiiReader])
        .await;
    let v: Value = app.get(&url, &reader).await.json().await.unwrap();
    assert_eq!(v["phone"], masked_phone, "no purpose, no unmasking");
    let v: Value = app
        .get(&format!("{url}?purpose=%E5%9B%9E%E8%AE%BF"), &reader)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["phone"], citizen.phone);
    assert_eq!(v["masked"], false);
    tongban_platform::audit::settle(app.db()).await.unwrap();
    let log = app
        .db()
        .read(|c| tongban_platform::audit::since(c, 0, 10_000, 0))
        .await
        .unwrap();
    assert!(log.iter().any(|e| e.entry.action == "pii.read"
        && e.entry.actor == "w-reader"
        && e.entry.detail == "回访"
        && e.entry.object == no));
    assert!(log.iter().any(|e| e.entry.action == "pii.read"
        && e.entry.actor == "w-disp"
        && e.entry.result == "denied"));
    // The console: masked, with the form to unmask for the pii_reader only.
    let html = app
        .console_page(&format!("/console/workorders/{no}"), &dispatcher)
        .await;
    assert!(html.contains(&masked_phone) && !html.contains(&citizen.phone));
    assert!(!html.contains("name=\"purpose\""));
    let html = app
        .console_page(&format!("/console/workorders/{no}"), &reader)
        .await;
    assert!(html.contains("name=\"purpose\""));
    let html = app
        .console_page(
            &format!("/console/workorders/{no}?purpose=%E5%9B%9E%E8%AE%BF"),
            &reader,
        )
        .await;
    assert!(html.contains(&citizen.phone));
});
