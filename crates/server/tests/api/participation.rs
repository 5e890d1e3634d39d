//! The work-order loop over HTTP on both engines: dispatch, return (退单) and re-dispatch,
//! sign, extension approved by a supervisor, supervision (督办), reply, the online return
//! visit with a bad rating that reopens the order and opens a rectification, callback and
//! outcome, closing; overdue escalation; default ratings; case ratings; public letters.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

mod ratings_letters;

pub fn noise_order(public: bool) -> Value {
    json!({"type": "complaint", "category": "city.noise", "district": "新吴区", "street": "长江路 8 号",
        "title": "夜间施工噪音", "content": "工地每晚十一点后仍在施工，我的电话 13912345678。", "public": public})
}

async fn json_of(r: reqwest::Response) -> Value {
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{s}: {v}");
    v
}

pub async fn staff_act(app: &TestApp, token: &str, no: &str, body: Value) -> reqwest::Response {
    app.post(
        &app.iurl(&format!("/api/v1/staff/workorders/{no}/actions")),
        token,
        body,
    )
    .await
}

fn timeline(v: &Value) -> Vec<String> {
    v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn rows(app: &TestApp, sql: &'static str) -> i64 {
    app.db()
        .read(move |c| c.query_one(sql, &[])?.get_i64("n"))
        .await
        .unwrap()
}

on_both_engines!(the_whole_loop, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let dispatcher = app.staff("d1", "wx-12345", &[Role::Dispatcher]).await;
    let supervisor = app.staff("s1", "wx-12345", &[Role::Supervisor]).await;
    let water = app.staff("h-sw", "wx-sw", &[Role::Handler]).await;
    let housing = app.staff("h-zjj", "wx-zjj", &[Role::Handler]).await;

    // No routing rule for noise in 新吴区: the order waits for a dispatcher.
    let v = json_of(
        app.post(
            &app.url("/api/v1/workorders"),
            &citizen.token,
            noise_order(false),
        )
        .await,
    )
    .await;
    let no = v["order_no"].as_str().unwrap().to_owned();
    assert_eq!(v["status"], "received");
    let q = json_of(
        app.get(
            &app.iurl("/api/v1/staff/workorders?queue=dispatch"),
            &dispatcher,
        )
        .await,
    )
    .await;
    assert!(q["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["order_no"] == no.as_str()));

    // Out of order: nobody can sign an order that is not dispatched.
    let (s, code, _) =
        error_code(staff_act(&app, &water, &no, json!({"action": "sign"})).await).await;
    assert_eq!((s, code.as_str()), (StatusCode::FORBIDDEN, "forbidden"));
    // Dispatch to the wrong department; it returns the order with a reason.
    let (s, code, _) = error_code(
        staff_act(
            &app,
            &dispatcher,
            &no,
            json!({"action": "dispatch", "department": "wx-nowhere"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_department")
    );
    json_of(
        staff_act(
            &app,
            &dispatcher,
            &no,
            json!({"action": "dispatch", "department": "wx-sw"}),
        )
        .await,
    )
    .await;
    let (s, code, _) =
        error_code(staff_act(&app, &water, &no, json!({"action": "return"})).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "note_required")
    );
    let v = json_of(
        staff_act(
            &app,
            &water,
            &no,
            json!({"action": "return", "note": "噪音不属于供水职责"}),
        )
        .await,
    )
    .await;
    assert_eq!(v["status"], "returned");
    assert_eq!(v["department"], Value::Null);
    let q = json_of(
        app.get(
            &app.iurl("/api/v1/staff/workorders?queue=dispatch&status=returned"),
            &dispatcher,
        )
        .await,
    )
    .await;
    assert_eq!(q["items"][0]["order_no"], no.as_str());
    // The water company no longer sees it.
    let (s, _, _) = error_code(
        app.get(&app.iurl(&format!("/api/v1/staff/workorders/{no}")), &water)
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Re-dispatch; the housing bureau signs and asks for an extension.
    json_of(
        staff_act(
            &app,
            &dispatcher,
            &no,
            json!({"action": "dispatch", "department": "wx-zjj", "note": "转住建"}),
        )
        .await,
    )
    .await;
    let q = json_of(
        app.get(&app.iurl("/api/v1/staff/workorders"), &housing)
            .await,
    )
    .await;
    assert_eq!(q["queue"], "department");
    assert!(q["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["order_no"] == no.as_str()));
    let v = json_of(staff_act(&app, &housing, &no, json!({"action": "sign"})).await).await;
    assert_eq!(v["status"], "signed");
    let answer_by = v["answer_by"].as_str().unwrap().to_owned();
    let (s, code, _) = error_code(
        staff_act(
            &app,
            &housing,
            &no,
            json!({"action": "extend", "days": 11, "note": "需现场核查"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_days")
    );
    json_of(
        staff_act(
            &app,
            &housing,
            &no,
            json!({"action": "extend", "days": 3, "note": "需现场核查"}),
        )
        .await,
    )
    .await;
    let (s, _, _) =
        error_code(staff_act(&app, &housing, &no, json!({"action": "approve_extension"})).await)
            .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a handler cannot approve its own extension"
    );
    let q = json_of(
        app.get(
            &app.iurl("/api/v1/staff/workorders?queue=supervise"),
            &supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(q["items"][0]["extension_requested"], 3);
    let v = json_of(
        staff_act(
            &app,
            &supervisor,
            &no,
            json!({"action": "approve_extension"}),
        )
        .await,
    )
    .await;
    let cal = app.ctx.calendar();
    let old = chrono::NaiveDate::parse_from_str(&answer_by, "%Y-%m-%d").unwrap();
    assert_eq!(
        v["answer_by"],
        cal.add_workdays(old, 3).format("%Y-%m-%d").to_string()
    );
    // Supervision shows on the department's queue.
    json_of(
        staff_act(
            &app,
            &supervisor,
            &no,
            json!({"action": "supervise", "note": "请三日内答复"}),
        )
        .await,
    )
    .await;
    let q = json_of(
        app.get(&app.iurl("/api/v1/staff/workorders"), &housing)
            .await,
    )
    .await;
    let item = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["order_no"] == no.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["supervised"], true);

    // Reply; the citizen reads it (the public lookup does not show it).
    json_of(
        staff_act(
            &app,
            &housing,
            &no,
            json!({"action": "reply", "note": "已责令工地夜间停工"}),
        )
        .await,
    )
    .await;
    let mine = json_of(
        app.get(
            &app.url(&format!("/api/v1/workorders/{no}")),
            &citizen.token,
        )
        .await,
    )
    .await;
    assert_eq!(mine["reply"], "已责令工地夜间停工");
    let anon: Value = app
        .client
        .get(app.url(&format!("/api/v1/workorders/{no}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(anon.get("reply").is_none());

    // Bad input for a rating stores nothing.
    for (body, code) in [
        (json!({"level": 6}), "invalid_level"),
        (json!({"level": 2}), "comment_required"),
        (
            json!({"level": 4, "dimensions": {"speed": 4}}),
            "invalid_dimension",
        ),
    ] {
        let (s, c, _) = error_code(
            app.post(
                &app.url(&format!("/api/v1/workorders/{no}/rating")),
                &citizen.token,
                body,
            )
            .await,
        )
        .await;
        assert_eq!((s, c.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, code));
    }
    assert_eq!(rows(&app, "SELECT COUNT(*) AS n FROM ratings").await, 0);
    // 不满意: the order goes back to the department and a rectification opens.
    let r = json_of(app.post(&app.url(&format!("/api/v1/workorders/{no}/rating")), &citizen.token,
        json!({"level": 2, "dimensions": {"overall": 2, "efficiency": 1}, "comment": "晚上还在施工"})).await).await;
    assert_eq!(r["level_name"], "不满意");
    let (s, code, _) = error_code(
        app.post(
            &app.url(&format!("/api/v1/workorders/{no}/rating")),
            &citizen.token,
            json!({"level": 5}),
        )
        .await,
    )
    .await;
    assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "already_rated"));
    let v = json_of(
        app.get(
            &app.iurl(&format!("/api/v1/staff/workorders/{no}")),
            &housing,
        )
        .await,
    )
    .await;
    assert_eq!(v["status"], "signed");
    let rect = json_of(
        app.get(&app.iurl("/api/v1/staff/rectifications"), &housing)
            .await,
    )
    .await;
    let item = rect["items"][0].clone();
    assert_eq!(
        (item["subject_no"].as_str(), item["status"].as_str()),
        (Some(no.as_str()), Some("open"))
    );
    assert_eq!(item["comment"], "晚上还在施工");
    assert!(
        !item.to_string().contains(&citizen.phone),
        "the rater is never shown"
    );
    let id = item["id"].as_i64().unwrap();
    let url = app.iurl(&format!("/api/v1/staff/rectifications/{id}/actions"));
    let (s, _, _) = error_code(
        app.post(
            &url,
            &housing,
            json!({"action": "complete", "note": "已整改"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "the callback comes first");
    let (s, _, _) = error_code(
        app.post(&url, &water, json!({"action": "callback", "note": "x"}))
            .await,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another department cannot act");
    json_of(
        app.post(
            &url,
            &housing,
            json!({"action": "callback", "note": "已电话回访，市民反映仍有夜间施工"}),
        )
        .await,
    )
    .await;
    let done = json_of(
        app.post(
            &url,
            &housing,
            json!({"action": "complete", "note": "联合城管夜查，工地已停工"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["on_time"].as_bool()),
        (Some("done"), Some(true))
    );
    // Appeal once.
    let appeal = format!("/api/v1/workorders/{no}/rating/appeal");
    let r = app
        .post(
            &app.url(&appeal),
            &citizen.token,
            json!({"reason": "仍然有噪音"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (s, code, _) = error_code(
        app.post(
            &app.url(&appeal),
            &citizen.token,
            json!({"reason": "再次申诉"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::CONFLICT, "already_appealed")
    );
    let all = json_of(
        app.get(&app.iurl("/api/v1/staff/rectifications"), &supervisor)
            .await,
    )
    .await;
    assert_eq!(all["items"][0]["status"], "open");
    assert_eq!(all["items"][0]["appeal"], "仍然有噪音");

    // Answered again, closed after a good return visit by phone.
    json_of(
        staff_act(
            &app,
            &housing,
            &no,
            json!({"action": "reply", "note": "工地已停止夜间施工"}),
        )
        .await,
    )
    .await;
    let (s, _, _) =
        error_code(staff_act(&app, &housing, &no, json!({"action": "close"})).await).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = json_of(
        staff_act(
            &app,
            &dispatcher,
            &no,
            json!({"action": "close", "level": 4}),
        )
        .await,
    )
    .await;
    assert_eq!(v["status"], "closed");
    assert_eq!(
        timeline(&v),
        [
            "receive",
            "dispatch",
            "return",
            "dispatch",
            "sign",
            "extend",
            "approve_extension",
            "supervise",
            "reply",
            "reopen",
            "reply",
            "close"
        ]
    );
    // Every step is in the audit log with its actor.
    tongban_platform::audit::settle(app.db()).await.unwrap();
    let n = rows(
        &app,
        "SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'workorder.%' AND result = 'ok'",
    )
    .await;
    assert!(n >= 10, "{n}");
    // Statistics: one bad rating, rectified on time.
    let st: Value = app
        .client
        .get(app.url("/api/v1/ratings/stats?department=wx-zjj"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &st["departments"][0];
    assert_eq!((d["total"].as_i64(), d["bad"].as_i64()), (Some(1), Some(1)));
    assert_eq!(d["satisfaction_rate"], 0.0);
});

on_both_engines!(overdue_orders_escalate_once, |app: TestApp| async move {
    let supervisor = app.staff("s2", "wx-12345", &[Role::Supervisor]).await;
    let water = app.staff("h2", "wx-sw", &[Role::Handler]).await;
    let r = app.client.post(app.url("/api/v1/workorders"))
        .json(&json!({"type": "help", "category": "utility.water", "district": "梁溪区", "street": "人民路", "title": "水管爆裂", "content": "路口水管爆裂", "phone": "13900002222"}))
        .send().await.unwrap();
    let no = json_of(r).await["order_no"].as_str().unwrap().to_owned();
    // Nobody signed it: three working days later the sweep escalates it, once.
    let later = app.ctx.calendar().add_workdays(app.ctx.today(), 3);
    let first = tongban_hotline::sweep::run(&app.ctx, later).await.unwrap();
    assert!(first.escalated_orders >= 1);
    let again = tongban_hotline::sweep::run(&app.ctx, later).await.unwrap();
    assert_eq!(again.escalated_orders, 0);
    let v = json_of(
        app.get(
            &app.iurl(&format!("/api/v1/staff/workorders/{no}")),
            &supervisor,
        )
        .await,
    )
    .await;
    assert_eq!(
        (v["escalated"].as_bool(), v["supervised"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(timeline(&v).iter().filter(|a| *a == "escalate").count(), 1);
    let q = json_of(
        app.get(
            &app.iurl("/api/v1/staff/workorders?queue=supervise"),
            &supervisor,
        )
        .await,
    )
    .await;
    assert!(q["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["order_no"] == no.as_str() && i["escalated"] == true));
    // Today it is not overdue yet, so the department's overdue filter leaves it out.
    let q = json_of(
        app.get(&app.iurl("/api/v1/staff/workorders?overdue=true"), &water)
            .await,
    )
    .await;
    assert!(!q["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["order_no"] == no.as_str()));
    let (s, code, _) = error_code(
        app.get(&app.iurl("/api/v1/staff/workorders?status=lost"), &water)
            .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_status")
    );
});
