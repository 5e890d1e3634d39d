//! The one-stop loop end to end: apply with a mistake, correct it, accept, supplement,
//! review, approve; deadlines in working days; every step on the timeline.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

on_both_engines!(apply_accept_supplement_approve, |app: TestApp| async move {
    let citizen = app.citizen().await;
    // Find the matter through search.
    let r = app
        .client
        .get(app.url("/api/v1/matters?q=生育"))
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["code"] == "WX-WJ-001"),
        "{list}"
    );
    let matter: Value = app
        .client
        .get(app.url("/api/v1/matters/WX-WJ-001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(matter["department"]["code"], "wx-wjw");
    assert!(matter["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["type"] == "id_number"));

    // One deliberate mistake: the spouse's ID number has a wrong check digit.
    let mut form = birth_registration_form(&citizen);
    let good_spouse = form["spouse_id"].as_str().unwrap().to_owned();
    let wrong_check = if good_spouse.ends_with('1') { "2" } else { "1" };
    form["spouse_id"] = json!(format!("{}{wrong_check}", &good_spouse[..17]));
    let before = app.row_counts().await;
    let r = app
        .submit_case(
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_form");
    assert_eq!(body["error"]["fields"][0]["field"], "spouse_id");
    assert_eq!(
        app.row_counts().await,
        before,
        "a refused submission stores nothing"
    );

    form["spouse_id"] = json!(good_spouse);
    let r = app
        .submit_case(
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let case: Value = r.json().await.unwrap();
    let case_no = case["case_no"].as_str().unwrap().to_owned();
    let today = app.ctx.today();
    assert_eq!(case_no.len(), 6 + 8 + 6, "{case_no}");
    assert!(case_no.starts_with(&format!("320200{}", today.format("%Y%m%d"))));
    assert_eq!(case["status"], "submitted");
    assert!(case["deadline"].is_null());
    assert_eq!(case["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(case["allowed_actions"], json!(["withdraw"]));

    // Staff of another department may neither see nor act on it.
    let other = app
        .staff("other", "wx-gaj", &[Role::Clerk, Role::Approver])
        .await;
    let r = app
        .get(&app.iurl(&format!("/api/v1/staff/cases/{case_no}")), &other)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.act(&other, &case_no, "accept", "").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A reviewer of the right department cannot accept: that is a clerk's action.
    let reviewer = app.staff("reviewer1", "wx-wjw", &[Role::Reviewer]).await;
    let r = app.act(&reviewer, &case_no, "accept", "").await;
    assert_eq!(error_code(r).await.0, StatusCode::FORBIDDEN);

    let clerk = app.staff("clerk1", "wx-wjw", &[Role::Clerk]).await;
    let queue: Value = app
        .get(&app.iurl("/api/v1/staff/cases"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"][0]["case_no"], case_no);
    assert_eq!(queue["counts"]["submitted"], 1);
    let other_queue: Value = app
        .get(&app.iurl("/api/v1/staff/cases"), &other)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other_queue["total"], 0,
        "another department's queue does not hold the case"
    );

    let r = app
        .act(&clerk, &case_no, "accept", "材料齐全，予以受理")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let accepted: Value = r.json().await.unwrap();
    assert_eq!(accepted["status"], "accepted");
    let promised = matter["promised_days"].as_u64().unwrap() as u32;
    let cal = app.ctx.calendar();
    let expected = cal
        .add_workdays(today, promised)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(accepted["deadline"], expected);
    assert_eq!(
        accepted["days_left"],
        cal.days_left(today, cal.add_workdays(today, promised))
    );
    assert_eq!(
        accepted["applicant"]["id_number"],
        tongban_platform::mask::id_number(&citizen.id_number),
        "staff see the applicant, masked"
    );

    // Approving twice, or accepting again, is out of order.
    let r = app.act(&clerk, &case_no, "accept", "").await;
    assert_eq!(error_code(r).await.1, "illegal_transition");

    // Ask for a supplement; the note is required.
    let r = app.act(&clerk, &case_no, "request_supplement", "").await;
    assert_eq!(error_code(r).await.1, "note_required");
    let r = app
        .act(&clerk, &case_no, "request_supplement", "请补充预产期")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mine: Value = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["status"], "needs_supplement");
    assert_eq!(mine["supplement_request"], "请补充预产期");
    assert_eq!(mine["allowed_actions"], json!(["supplement"]));
    assert!(!mine["overdue"].as_bool().unwrap());

    // Sending a value unchanged is not a supplement.
    let (s, code, _) = error_code(
        app.post(
            &app.url(&format!("/api/v1/cases/{case_no}/supplement")),
            &citizen.token,
            json!({"form": {"child_order": "一孩"}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "empty_supplement")
    );
    // Supplement back; the clock resumes (same day: no working days paused).
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{case_no}/supplement")),
            &citizen.token,
            json!({"form": {"due_date": "2027-04-15"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let back: Value = r.json().await.unwrap();
    assert_eq!(back["status"], "accepted");
    assert_eq!(back["form"]["due_date"], "2027-04-15");
    assert_eq!(back["deadline"], expected);
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{case_no}/supplement")),
            &citizen.token,
            json!({"form": {"due_date": "2027-04-16"}}),
        )
        .await;
    assert_eq!(
        error_code(r).await.0,
        StatusCode::CONFLICT,
        "no supplement unless asked"
    );

    let r = app
        .act(&reviewer, &case_no, "review", "符合生育登记条件")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let approver = app.staff("approver1", "wx-wjw", &[Role::Approver]).await;
    let r = app.act(&approver, &case_no, "approve", "准予登记").await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["status"], "approved");
    assert_eq!(done["allowed_actions"], json!([]));

    let timeline = done["timeline"].as_array().unwrap();
    let actions: Vec<&str> = timeline
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "submit",
            "accept",
            "request_supplement",
            "supplement",
            "review",
            "approve"
        ]
    );
    let roles: Vec<&str> = timeline
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        vec![
            "applicant",
            "clerk",
            "clerk",
            "applicant",
            "reviewer",
            "approver"
        ]
    );
    assert_eq!(timeline[1]["department"], "wx-wjw");
    assert_eq!(timeline[5]["note"], "准予登记");

    let r = app.act(&approver, &case_no, "reject", "x").await;
    assert_eq!(error_code(r).await.0, StatusCode::CONFLICT);
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{case_no}/withdraw")),
            &citizen.token,
            json!({}),
        )
        .await;
    assert_eq!(error_code(r).await.0, StatusCode::CONFLICT);

    // The citizen's list shows it; another citizen cannot see it.
    let list: Value = app
        .get(&app.url("/api/v1/cases"), &citizen.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["status"], "approved");
    let stranger = app.citizen().await;
    let r = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}")),
            &stranger.token,
        )
        .await;
    assert_eq!(error_code(r).await.1, "case_not_found");
});

on_both_engines!(withdraw_and_not_accept, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let form = birth_registration_form(&citizen);
    let mk = || {
        app.submit_case(
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form.clone()}),
        )
    };
    let a: Value = mk().await.json().await.unwrap();
    let b: Value = mk().await.json().await.unwrap();
    let (a, b) = (
        a["case_no"].as_str().unwrap().to_owned(),
        b["case_no"].as_str().unwrap().to_owned(),
    );
    assert_ne!(a, b);
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{a}/withdraw")),
            &citizen.token,
            json!({"note": "填错了"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "withdrawn");
    let clerk = app.staff("clerk2", "wx-wjw", &[Role::Clerk]).await;
    let r = app.act(&clerk, &a, "accept", "").await;
    assert_eq!(error_code(r).await.1, "illegal_transition");
    let r = app
        .act(&clerk, &b, "not_accept", "不属于本机关职权范围")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "not_accepted");
    assert_eq!(v["timeline"][1]["note"], "不属于本机关职权范围");
});

on_both_engines!(supplement_pause_does_not_count, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    let clerk = app.staff("clerk3", "wx-wjw", &[Role::Clerk]).await;
    assert_eq!(
        app.act(&clerk, &case_no, "accept", "").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.act(&clerk, &case_no, "request_supplement", "补充材料")
            .await
            .status(),
        StatusCode::OK
    );
    // Pretend the pause began on the Friday before the 2026 Spring Festival with a deadline
    // then: the days waited must be added back as working days.
    let (paused, deadline) = ("2026-02-13", "2026-02-27");
    let no = case_no.clone();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE cases SET paused_on = $1, deadline = $2 WHERE case_no = $3",
                tongban_platform::params![paused, deadline, no.as_str()],
            )
        })
        .await
        .unwrap();
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{case_no}/supplement")),
            &citizen.token,
            json!({"form": {"child_order": "二孩"}}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    let cal = app.ctx.calendar();
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let paused_days = cal.workdays_between(d(paused), app.ctx.today());
    let expected = cal
        .add_workdays(d(deadline), paused_days as u32)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(v["deadline"], expected);
    assert!(
        paused_days > 100,
        "many working days have passed since 2026-02-13: {paused_days}"
    );
});

on_both_engines!(concurrent_actions_apply_once, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    let clerk = app.staff("c-clerk", "wx-wjw", &[Role::Clerk]).await;
    let url = app.iurl(&format!("/api/v1/staff/cases/{case_no}/actions"));
    let mut handles = Vec::new();
    for i in 0..10 {
        let (client, url, clerk) = (app.client.clone(), url.clone(), clerk.clone());
        let action = if i % 2 == 0 { "accept" } else { "not_accept" };
        handles.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(clerk)
                .json(&json!({"action": action, "note": "并发"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        9,
        "{statuses:?}"
    );
    let v: Value = app
        .get(&app.iurl(&format!("/api/v1/staff/cases/{case_no}")), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["timeline"].as_array().unwrap().len(),
        2,
        "exactly one decision recorded"
    );
});

/// A case's step bar as (key, state, date, expected), as its applicant reads it.
async fn steps(
    app: &TestApp,
    case_no: &str,
    token: &str,
) -> Vec<(String, String, Option<String>, bool)> {
    let v: Value = app
        .get(&app.url(&format!("/api/v1/cases/{case_no}")), token)
        .await
        .json()
        .await
        .unwrap();
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
                s["date"].as_str().map(str::to_owned),
                s["expected"].as_bool().unwrap(),
            )
        })
        .collect()
}

// The case shows its whole step bar: steps to come with the dates they are due by (受理 by
// the matter's acceptance limit, 办结 by the promised days), then each step's own date.
on_both_engines!(
    the_step_bar_shows_what_is_to_come,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let clerk = app.staff("s-clerk", "wx-wjw", &[Role::Clerk]).await;
        let reviewer = app.staff("s-rev", "wx-wjw", &[Role::Reviewer]).await;
        let approver = app.staff("s-app", "wx-wjw", &[Role::Approver]).await;
        let case_no = app.submit_birth(&citizen).await;
        let cal = app.ctx.calendar();
        let today = app.ctx.today();
        let ymd = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        // WX-WJ-001: accepted within 1 working day, decided within 1 after acceptance.
        let accept_by = tongban_cases::view::accept_by(&cal, today, 1);
        let s = steps(&app, &case_no, &citizen.token).await;
        assert_eq!(
            s,
            vec![
                ("submit".into(), "done".into(), Some(ymd(today)), false),
                (
                    "accept".into(),
                    "current".into(),
                    Some(ymd(accept_by)),
                    true
                ),
                ("review".into(), "todo".into(), None, false),
                (
                    "decide".into(),
                    "todo".into(),
                    Some(ymd(cal.add_workdays(accept_by, 1))),
                    true
                ),
            ]
        );
        assert_eq!(app.act(&clerk, &case_no, "accept", "").await.status(), 200);
        let s = steps(&app, &case_no, &citizen.token).await;
        assert_eq!(
            s[1],
            ("accept".into(), "done".into(), Some(ymd(today)), false)
        );
        assert_eq!(s[2].1, "current");
        let case: Value = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await
            .json()
            .await
            .unwrap();
        let deadline = case["deadline"].as_str().unwrap().to_owned();
        assert_eq!(s[3], ("decide".into(), "todo".into(), Some(deadline), true));
        // The case page draws the same bar.
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
        assert!(html.contains("class=\"stages\""));
        assert!(html.contains("aria-current=\"step\""));
        assert!(html.contains("预计"), "a date to come is shown as expected");
        assert_eq!(
            app.act(&reviewer, &case_no, "review", "同意")
                .await
                .status(),
            200
        );
        assert_eq!(
            app.act(&approver, &case_no, "approve", "同意")
                .await
                .status(),
            200
        );
        let s = steps(&app, &case_no, &citizen.token).await;
        assert!(
            s.iter().all(|(_, state, date, expected)| state == "done"
                && date.as_deref() == Some(ymd(today).as_str())
                && !expected),
            "{s:?}"
        );
    }
);
