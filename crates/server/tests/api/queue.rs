//! The staff queue: only the department's cases, new work first, then soonest deadline,
//! overdue and due-soon flags, the overdue filter, counts per state.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;
use tongban_platform::identity::Role;

on_both_engines!(queue_sorted_and_flagged, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let clerk = app.staff("q-clerk", "wx-wjw", &[Role::Clerk]).await;
    let mut nos = Vec::new();
    for _ in 0..4 {
        nos.push(app.submit_birth(&citizen).await);
    }
    for no in &nos[..3] {
        assert_eq!(
            app.act(&clerk, no, "accept", "").await.status(),
            StatusCode::OK
        );
    }
    let cal = app.ctx.calendar();
    let today = app.ctx.today();
    let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    // Case 0 overdue by several working days, case 1 due on the next working day, case 2 far.
    let overdue = fmt(today - chrono::Duration::days(10));
    let soon = fmt(cal.add_workdays(today, 1));
    let far = fmt(cal.add_workdays(today, 30));
    for (no, d) in [(&nos[0], &overdue), (&nos[1], &soon), (&nos[2], &far)] {
        let (no, d) = (no.clone(), d.clone());
        app.db()
            .write(move |c| {
                c.execute(
                    "UPDATE cases SET deadline = $1 WHERE case_no = $2",
                    tongban_platform::params![d, no],
                )
            })
            .await
            .unwrap();
    }
    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    let order: Vec<&str> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_no"].as_str().unwrap())
        .collect();
    // The new case (not accepted yet, no deadline) first, then by deadline.
    assert_eq!(
        order,
        vec![
            nos[3].as_str(),
            nos[0].as_str(),
            nos[1].as_str(),
            nos[2].as_str()
        ]
    );
    let items = q["items"].as_array().unwrap();
    assert_eq!(items[0]["deadline"], Value::Null);
    assert_eq!(items[0]["status"], "submitted");
    assert_eq!(items[1]["overdue"], true);
    assert!(items[1]["days_left"].as_i64().unwrap() < 0);
    assert_eq!(items[2]["due_soon"], true);
    assert_eq!(items[2]["overdue"], false);
    assert_eq!(items[3]["due_soon"], false);
    assert_eq!(q["counts"]["accepted"], 3);
    assert_eq!(q["counts"]["submitted"], 1);

    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases?overdue=true"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);
    assert_eq!(q["items"][0]["case_no"], nos[0]);
    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases?status=submitted"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);
    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases?matter=WX-WJ-002"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 0);
    let r = app
        .get(&app.iurl("/api/v1/staff/cases?status=lost"), &clerk)
        .await;
    assert_eq!(error_code(r).await.1, "bad_status");
    let r = app
        .get(&app.iurl("/api/v1/staff/cases?overdue=maybe"), &clerk)
        .await;
    assert_eq!(error_code(r).await.1, "bad_overdue");
});

// A department with more accepted cases than fit on a page still sees a new case on the
// first page of its queue (it has no deadline until accepted).
on_both_engines!(new_cases_come_first, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let clerk = app.staff("q-clerk2", "wx-wjw", &[Role::Clerk]).await;
    let mut older = Vec::new();
    for _ in 0..45 {
        older.push(app.submit_birth(&citizen).await);
    }
    let far = app
        .ctx
        .calendar()
        .add_workdays(app.ctx.today(), 20)
        .format("%Y-%m-%d")
        .to_string();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE cases SET status = 'accepted', accepted_on = $1, deadline = $1",
                tongban_platform::params![far],
            )
        })
        .await
        .unwrap();
    let new = app.submit_birth(&citizen).await;
    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases?page=1&page_size=20"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 46, "{q}");
    assert_eq!(q["items"][0]["case_no"], new.as_str(), "{q}");
    assert_eq!(q["items"][0]["status"], "submitted");
    assert_eq!(q["counts"]["submitted"], 1);
    // The console's queue page shows it on its first page too.
    let page = app.console_page("/console", &clerk).await;
    assert!(
        page.contains(&new),
        "the new case is not on the console's first page"
    );

    // Each new case carries its acceptance limit (受理时限: the matter's working days,
    // 1 for WX-WJ-001, counted from the day it arrived); accepted ones none.
    let cal = app.ctx.calendar();
    let today = app.ctx.today();
    let by = tongban_cases::view::accept_by(&cal, today, 1);
    assert_eq!(
        q["items"][0]["accept_by"],
        by.format("%Y-%m-%d").to_string()
    );
    assert_eq!(
        q["items"][0]["accept_days_left"],
        cal.days_left(today, by),
        "{q}"
    );
    assert_eq!(q["items"][0]["accept_overdue"], false);
    assert_eq!(q["items"][1]["accept_by"], Value::Null);
    // One that arrived a month ago and was never accepted is past its limit, first in the
    // queue (oldest new work first), and flagged on the console.
    let late = app.submit_birth(&citizen).await;
    let month_ago = tongban_platform::time::now_millis() - 30 * 86_400_000;
    let no = late.clone();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE cases SET submitted_at = $1 WHERE case_no = $2",
                tongban_platform::params![month_ago, no],
            )
        })
        .await
        .unwrap();
    let q: Value = app
        .get(&app.iurl("/api/v1/staff/cases?page=1&page_size=20"), &clerk)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(q["items"][0]["case_no"], late.as_str(), "{q}");
    assert_eq!(q["items"][0]["accept_overdue"], true, "{q}");
    assert!(
        q["items"][0]["accept_days_left"].as_i64().unwrap() < -10,
        "{q}"
    );
    let page = app.console_page("/console", &clerk).await;
    assert!(
        page.contains("新申请 2 件待受理"),
        "the new work is counted"
    );
    assert!(page.contains("受理已超时限"), "the late one is flagged");
    assert!(page.contains("row-overdue"));
});
