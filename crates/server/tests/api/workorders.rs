//! Work orders (first part): filing logged in or anonymously, routing by category to a
//! department with working-day deadlines, following an order, and refused input.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(file_route_and_follow, |app: TestApp| async move {
    let order = |extra: Value| {
        let mut o = json!({"type": "complaint", "category": "utility.water", "district": "梁溪区",
            "street": "中山路 1 号", "title": "停水三天", "content": "小区停水三天无人处理，联系电话见下。"});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    };
    // Anonymous with a phone: routed to the water company at once, with deadlines.
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .json(&order(json!({"phone": "13900001111"})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    let no = v["order_no"].as_str().unwrap().to_owned();
    // The region's code, the day, a seven-digit sequence.
    let day = app.ctx.today().format("%Y%m%d").to_string();
    assert!(
        no.len() == 21 && no.starts_with(&format!("320200{day}")),
        "{no}"
    );
    assert_eq!(
        (v["status"].as_str(), v["department"].as_str()),
        (Some("dispatched"), Some("wx-sw"))
    );
    let cal = app.ctx.calendar();
    let today = app.ctx.today();
    assert_eq!(
        v["answer_by"],
        cal.add_workdays(today, 5).format("%Y-%m-%d").to_string()
    );
    assert_eq!(
        v["sign_by"],
        cal.add_workdays(today, 1).format("%Y-%m-%d").to_string()
    );
    let actions: Vec<&str> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["receive", "dispatch"]);
    // The public view shows neither the content nor the phone.
    let seen: Value = app
        .client
        .get(app.url(&format!("/api/v1/workorders/{no}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = seen.to_string();
    assert!(!text.contains("小区停水") && !text.contains("13900001111"));

    // Logged in, no phone needed; a category without a rule waits for a dispatcher.
    let citizen = app.citizen().await;
    let r = app
        .post(
            &app.url("/api/v1/workorders"),
            &citizen.token,
            order(json!({"category": "city.noise", "type": "report"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["department"].as_str()),
        (Some("received"), None)
    );

    // Refused input stores nothing.
    let count = || {
        app.db().read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?
                .get_i64("n")
        })
    };
    let before = count().await.unwrap();
    for (body, code) in [
        (order(json!({})), "phone_required"),
        (
            order(json!({"phone": "13900001111", "category": "utility.moon"})),
            "unknown_category",
        ),
        (
            order(json!({"phone": "13900001111", "district": "火星区"})),
            "unknown_district",
        ),
        (
            order(json!({"phone": "13900001111", "street": " "})),
            "missing_location",
        ),
        (
            order(json!({"phone": "13900001111", "type": "gossip"})),
            "unknown_type",
        ),
        (
            order(json!({"phone": "13900001111", "lat": 120.0, "long": 31.5})),
            "invalid_location",
        ),
        (order(json!({"phone": "123"})), "invalid_phone"),
    ] {
        let r = app
            .client
            .post(app.url("/api/v1/workorders"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (s, c, _) = error_code(r).await;
        assert_eq!((s, c.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, code));
    }
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .bearer_auth("forged")
        .json(&order(json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a session that is sent must be valid"
    );
    assert_eq!(count().await.unwrap(), before);
    let (s, c, _) = error_code(
        app.client
            .get(app.url("/api/v1/workorders/nope"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, c.as_str()), (StatusCode::NOT_FOUND, "order_not_found"));
});
