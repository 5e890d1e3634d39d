//! Disclosure on request (依申请公开) over HTTP: a citizen asks, the limit is 20 working days
//! on the calendar; a correction stops the count and the corrected request starts it again;
//! one extension of 20 working days; answers take the Art. 36 outcomes with reasons; the
//! requester's pages follow it; the annual report counts it in its national table.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

fn received_and_due(app: &TestApp) -> (String, String) {
    let cal = app.ctx.calendar();
    let today = app.ctx.today();
    let received = if cal.is_workday(today) {
        today
    } else {
        cal.add_workdays(today, 1)
    };
    let f = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    (f(received), f(cal.add_workdays(received, 20)))
}

async fn staff_step(
    app: &TestApp,
    token: &str,
    no: &str,
    action: &str,
    body: Value,
) -> reqwest::Response {
    app.post(
        &app.iurl(&format!("/api/v1/staff/disclosure-requests/{no}/{action}")),
        token,
        body,
    )
    .await
}

on_both_engines!(
    requests_answered_within_the_limit,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let stranger = app.citizen().await;
        let reviewer = app.staff("xdr1", "wx-zfb", &[Role::SiteReviewer]).await;
        let other = app.staff("xdr2", "wx-gaj", &[Role::SiteReviewer]).await;
        let editor = app.staff("xde1", "wx-zfb", &[Role::SiteEditor]).await;
        let ask = json!({"department": "wx-zfb", "applicant_kind": "person", "applicant": "李四",
        "contact": "13800000000", "description": "2025年本市政务服务中心窗口设置情况", "purpose": "研究"});

        // Bad requests are named field by field; nothing is kept.
        let bad = json!({"department": "wx-zfb", "applicant_kind": "organization", "org_kind": "business",
        "applicant": "某公司", "credit_code": "91320200MA1X0000X0", "contact": "", "description": "x"});
        let (s, code, body) = error_code(
            app.post(&app.url("/api/v1/disclosure-requests"), &citizen.token, bad)
                .await,
        )
        .await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            "{body}"
        );
        assert!(
            body.contains("credit_code") && body.contains("contact"),
            "{body}"
        );
        let r = app
            .client
            .post(app.url("/api/v1/disclosure-requests"))
            .json(&ask)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        let r = app
            .post(
                &app.url("/api/v1/disclosure-requests"),
                &citizen.token,
                ask.clone(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let q: Value = r.json().await.unwrap();
        let no = q["request_no"].as_str().unwrap().to_owned();
        let (received, due) = received_and_due(&app);
        assert_eq!(
            (
                q["received_on"].as_str().unwrap(),
                q["due_on"].as_str().unwrap()
            ),
            (received.as_str(), due.as_str())
        );
        assert_eq!(q["state"], "received");
        assert!(q["days_left"].as_i64().unwrap() >= 19, "{q}");

        // Only the requester and the department's 政务公开 reviewers see it.
        let r = app
            .get(
                &app.url(&format!("/api/v1/my/disclosure-requests/{no}")),
                &stranger.token,
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app
            .get(
                &app.iurl(&format!("/api/v1/staff/disclosure-requests/{no}")),
                &other,
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app
            .get(&app.iurl("/api/v1/staff/disclosure-requests"), &editor)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = app
            .get(
                &app.iurl("/api/v1/staff/disclosure-requests?state=received"),
                &reviewer,
            )
            .await;
        let v: Value = r.json().await.unwrap();
        let mine = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["request_no"] == no.as_str())
            .unwrap()
            .clone();
        assert_eq!(mine["applicant"], "李四");

        // A correction stops the count; the corrected request starts it again.
        let (s, _, _) =
            error_code(staff_step(&app, &reviewer, &no, "correct", json!({})).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let r = staff_step(
            &app,
            &reviewer,
            &no,
            "correct",
            json!({"note": "请写明所需信息的年份和区域"}),
        )
        .await;
        let q: Value = r.json().await.unwrap();
        assert_eq!(q["state"], "correcting");
        assert!(q["due_on"].is_null() && q["days_left"].is_null(), "{q}");
        let (s, code, _) = error_code(
            staff_step(&app, &reviewer, &no, "answer", json!({"outcome": "public"})).await,
        )
        .await;
        assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "wrong_state"));
        let r = app
            .post(
                &app.url(&format!("/api/v1/my/disclosure-requests/{no}/corrected")),
                &citizen.token,
                json!({"description": "2025年梁溪区政务服务中心窗口设置情况"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let q: Value = r.json().await.unwrap();
        assert_eq!(
            (q["state"].as_str().unwrap(), q["due_on"].as_str().unwrap()),
            ("received", due.as_str())
        );
        assert_eq!(q["description"], "2025年梁溪区政务服务中心窗口设置情况");

        // One extension of 20 working days, with a reason.
        let r = staff_step(
            &app,
            &reviewer,
            &no,
            "extend",
            json!({"note": "需向有关部门征求意见"}),
        )
        .await;
        let q: Value = r.json().await.unwrap();
        let cal = app.ctx.calendar();
        let extended = cal
            .add_workdays(
                chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d").unwrap(),
                20,
            )
            .format("%Y-%m-%d")
            .to_string();
        assert_eq!(
            (q["extended"].as_bool(), q["due_on"].as_str()),
            (Some(true), Some(extended.as_str()))
        );
        let (s, _, body) =
            error_code(staff_step(&app, &reviewer, &no, "extend", json!({"note": "再延"})).await)
                .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert!(body.contains("Art. 33"), "{body}");

        // Answers take the regulation's outcomes, with reasons unless disclosed.
        let (s, _, body) = error_code(
            staff_step(
                &app,
                &reviewer,
                &no,
                "answer",
                json!({"outcome": "withheld", "reason": "secret"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("withheld/third_party"), "{body}");
        let (s, _, _) = error_code(
            staff_step(
                &app,
                &reviewer,
                &no,
                "answer",
                json!({"outcome": "withheld", "reason": "third_party"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let r = staff_step(
            &app,
            &reviewer,
            &no,
            "answer",
            json!({"outcome": "withheld", "reason": "third_party",
        "note": "所申请信息涉及第三方商业秘密，依据《条例》第十五条不予公开。"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .get(
                &app.url(&format!("/api/v1/my/disclosure-requests/{no}")),
                &citizen.token,
            )
            .await;
        let q: Value = r.json().await.unwrap();
        assert_eq!(
            (
                q["state"].as_str(),
                q["outcome_name"].as_str(),
                q["reason_name"].as_str()
            ),
            (
                Some("answered"),
                Some("不予公开"),
                Some("保护第三方合法权益")
            )
        );
        let actions: Vec<&str> = q["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["submit", "correct", "corrected", "extend", "answer"]
        );

        // A second request, withdrawn by its requester; a third still open; an organization's.
        let r = app
            .post(
                &app.url("/api/v1/disclosure-requests"),
                &citizen.token,
                ask.clone(),
            )
            .await;
        let w = r.json::<Value>().await.unwrap()["request_no"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .post(
                &app.url(&format!("/api/v1/my/disclosure-requests/{w}/withdraw")),
                &citizen.token,
                json!({}),
            )
            .await;
        assert_eq!(r.json::<Value>().await.unwrap()["state"], "withdrawn");
        app.post(
            &app.url("/api/v1/disclosure-requests"),
            &citizen.token,
            ask.clone(),
        )
        .await;
        let org = json!({"department": "wx-zfb", "applicant_kind": "organization", "org_kind": "legal",
        "applicant": "江苏某律师事务所", "credit_code": "91350100M000100Y43", "contact": "0510-12345678",
        "description": "某项行政许可的办理依据"});
        let r = app
            .post(
                &app.url("/api/v1/disclosure-requests"),
                &stranger.token,
                org,
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );

        // The annual report's table: new + carried = concluded + carried on, by requester.
        let year = app.ctx.today().format("%Y").to_string();
        let v: Value = app
            .client
            .get(app.url(&format!("/api/v1/sites/portal/disclosure-report/{year}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let line = |label: &str| -> Vec<i64> {
            v["requests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["label"].as_str().unwrap().contains(label))
                .unwrap_or_else(|| panic!("{label}: {v}"))["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        };
        assert_eq!(line("本年新收"), [3, 0, 0, 0, 1, 0, 4]);
        assert_eq!(line("保护第三方合法权益"), [1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(line("（七）总计"), [2, 0, 0, 0, 0, 0, 2]);
        assert_eq!(line("结转下年度"), [1, 0, 0, 0, 1, 0, 2]);
        assert_eq!(line("（三）不予公开"), [1, 0, 0, 0, 0, 0, 1]);
        let page = app
            .client
            .get(app.url(&format!("/sites/portal/gk/reports/{year}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("保护第三方合法权益") && page.contains("法律服务机构"));
        let r = app
            .client
            .get(app.url("/api/v1/sites/portal/disclosure-report/1999"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // The requester's pages.
        let cookie = format!("tongban_session={}", citizen.token);
        let page = app
            .client
            .get(app.url(&format!("/my/disclosure/{no}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("不予公开") && page.contains("第十五条"),
            "{page}"
        );
        let list = app
            .client
            .get(app.url("/my/disclosure"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(list.contains(&no) && list.contains(&w));

        // Every staff step and read is audited, once: a step is not also a read.
        let rows = app.audit_counts("disclosure.").await;
        assert_eq!(
            rows,
            [
                "disclosure.answer ok 1",
                "disclosure.correct ok 1",
                "disclosure.corrected ok 1",
                "disclosure.extend ok 1",
                "disclosure.read denied 1",
                "disclosure.submit ok 4",
                "disclosure.withdraw ok 1",
            ]
        );
    }
);

on_both_engines!(the_request_form_on_a_site, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Not logged in: to the login page, and back.
    let r = client
        .get(app.url("/sites/portal/gk/apply"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let cookie = format!("tongban_session={}; tongban_csrf={CSRF}", citizen.token);
    let csrf = csrf_for(&cookie);
    let page = client
        .get(app.url("/sites/portal/gk/apply"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("依申请公开") && page.contains("20"));
    // A form with mistakes comes back with them named and what was typed kept.
    let r = client
        .post(app.url("/sites/portal/gk/apply"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("applicant_kind", "person"),
            ("applicant", "王五"),
            ("contact", ""),
            ("description", "办事指南"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("王五") && page.contains("f-contact"));
    let r = client
        .post(app.url("/sites/portal/gk/apply"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("applicant_kind", "person"),
            ("applicant", "王五"),
            ("contact", "13900000000"),
            ("description", "办事指南"),
            ("delivery", "online"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/my/disclosure/GK"), "{to}");
    let page = client
        .get(app.url(&to))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("无锡市人民政府办公室") && page.contains("办理中"));
    // Withdrawn from the page.
    let r = client
        .post(app.url(&to))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("action", "withdraw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = client
        .get(app.url(&to))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已撤回"));
    // The guide names the limits.
    let page = client
        .get(app.url("/sites/portal/gk/guide"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("20个工作日") && page.contains("不予处理"));
});
