//! Case ratings (once, and by default), public letters reviewed and published, and settings that change routing and limits.

use super::*;

on_both_engines!(
    cases_are_rated_once_and_by_default,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let other = app.citizen().await;
        let clerk = app
            .staff("c3", "wx-wjw", &[Role::Clerk, Role::Approver])
            .await;
        let case_no = app.submit_birth(&citizen).await;
        let url = app.url(&format!("/api/v1/cases/{case_no}/rating"));
        let (s, code, _) =
            error_code(app.post(&url, &citizen.token, json!({"level": 5})).await).await;
        assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "not_concluded"));
        assert_eq!(
            app.act(&clerk, &case_no, "accept", "受理").await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.act(&clerk, &case_no, "approve", "准予").await.status(),
            StatusCode::OK
        );
        // The applicant was told of acceptance and approval (text messages in the outbox).
        let no2 = case_no.clone();
        let told = app
            .db()
            .read(move |c| {
                c.query_one(
                    "SELECT COUNT(*) AS n FROM outbox WHERE kind = 'sms' AND subject = $1",
                    tongban_platform::params![format!("办件 {no2}")],
                )?
                .get_i64("n")
            })
            .await
            .unwrap();
        assert_eq!(told, 2);
        let (s, _, _) = error_code(
            app.post(&url, &other.token, json!({"level": 1, "comment": "x"}))
                .await,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "only the applicant rates");
        let r = json_of(app.post(&url, &citizen.token, json!({"level": 5, "dimensions": {"overall": 5, "guide_accuracy": 5, "convenience": 4, "usability": 5, "efficiency": 5}, "comment": "很方便"})).await).await;
        assert_eq!(r["level_name"], "非常满意");
        let (s, code, _) =
            error_code(app.post(&url, &citizen.token, json!({"level": 4})).await).await;
        assert_eq!((s, code.as_str()), (StatusCode::CONFLICT, "already_rated"));

        // A second case, decided and left unrated: 满意 by default once 5 working days pass.
        let quiet = app.submit_birth(&citizen).await;
        app.act(&clerk, &quiet, "accept", "受理").await;
        app.act(&clerk, &quiet, "approve", "准予").await;
        let cal = app.ctx.calendar();
        let today = app.ctx.today();
        let s = tongban_hotline::sweep::run(&app.ctx, cal.add_workdays(today, 5))
            .await
            .unwrap();
        assert_eq!(s.default_ratings, 0, "five working days have not passed");
        let s = tongban_hotline::sweep::run(&app.ctx, cal.add_workdays(today, 6))
            .await
            .unwrap();
        assert_eq!(s.default_ratings, 1, "the rated case keeps its rating");
        let st: Value = app
            .client
            .get(app.url("/api/v1/ratings/stats?matter=WX-WJ-001"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let m = &st["matters"][0];
        assert_eq!(m["total"], 2);
        let levels: Vec<i64> = m["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["count"].as_i64().unwrap())
            .collect();
        assert_eq!(levels, [1, 1, 0, 0, 0]);
        assert_eq!(m["satisfaction_rate"], 100.0);
        // The default rating can be appealed by the applicant.
        let r = app
            .post(
                &app.url(&format!("/api/v1/cases/{quiet}/rating/appeal")),
                &citizen.token,
                json!({"reason": "并不满意，材料被要求重复提交"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(
            rows(
                &app,
                "SELECT COUNT(*) AS n FROM rectifications WHERE status = 'open'"
            )
            .await,
            1
        );
    }
);

on_both_engines!(
    public_letters_are_reviewed_and_published,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let dispatcher = app.staff("d4", "wx-12345", &[Role::Dispatcher]).await;
        let editor = app.staff("e4", "wx-12345", &[Role::Editor]).await;
        let housing = app.staff("h4", "wx-zjj", &[Role::Handler]).await;
        let no = json_of(
            app.post(
                &app.url("/api/v1/workorders"),
                &citizen.token,
                noise_order(true),
            )
            .await,
        )
        .await["order_no"]
            .as_str()
            .unwrap()
            .to_owned();
        let private = json_of(
            app.post(
                &app.url("/api/v1/workorders"),
                &citizen.token,
                noise_order(false),
            )
            .await,
        )
        .await["order_no"]
            .as_str()
            .unwrap()
            .to_owned();
        for n in [&no, &private] {
            json_of(
                staff_act(
                    &app,
                    &dispatcher,
                    n,
                    json!({"action": "dispatch", "department": "wx-zjj"}),
                )
                .await,
            )
            .await;
            json_of(staff_act(&app, &housing, n, json!({"action": "sign"})).await).await;
        }
        let (s, _, _) = error_code(
            staff_act(
                &app,
                &editor,
                &no,
                json!({"action": "publish", "public_text": "x"}),
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "not answered yet");
        for n in [&no, &private] {
            json_of(staff_act(&app, &housing, n, json!({"action": "reply", "note": "已要求工地22点后停工，联系人王科长 13800138000"})).await).await;
        }
        let q = json_of(
            app.get(&app.iurl("/api/v1/staff/workorders?queue=publish"), &editor)
                .await,
        )
        .await;
        let listed: Vec<&str> = q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["order_no"].as_str().unwrap())
            .collect();
        assert!(listed.contains(&no.as_str()) && !listed.contains(&private.as_str()));
        let (s, _, _) = error_code(
            app.get(
                &app.iurl(&format!("/api/v1/staff/workorders/{private}")),
                &editor,
            )
            .await,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "editors see public letters only");
        json_of(staff_act(&app, &editor, &no, json!({"action": "publish", "public_text": "反映新吴区长江路工地夜间施工扰民，电话13912345678。"})).await).await;
        let l: Value = app
            .client
            .get(app.url("/api/v1/letters?department=wx-zjj&category=city"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(l["total"], 1);
        let item = &l["items"][0];
        assert_eq!(item["order_no"], no.as_str());
        // The one search finds it at the next pass of the follower, scrubbed as published,
        // and links to it.
        tongban_portal::search::catch_up(&app.ctx).await.unwrap();
        let found: Value = app
            .client
            .get(app.url("/api/v1/search"))
            .query(&[("q", "夜间施工扰民"), ("type", "letter")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["items"][0]["id"], no.as_str(), "{found}");
        assert!(!found.to_string().contains("13912345678"), "{found}");
        let url = found["items"][0]["url"].as_str().unwrap().to_owned();
        let one: Value = app
            .client
            .get(app.url(&url.replace("/letters?", "/api/v1/letters?")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (one["total"].as_i64(), &one["items"][0]["order_no"]),
            (Some(1), &json!(no))
        );
        assert_eq!(
            item["text"],
            "反映新吴区长江路工地夜间施工扰民，电话139****5678。"
        );
        assert_eq!(
            item["reply"],
            "已要求工地22点后停工，联系人王科长 138****8000"
        );
        assert!(item["replied_on"].is_string() && item["received_on"].is_string());
        let none: Value = app
            .client
            .get(app.url("/api/v1/letters?q=%E8%87%AA%E6%9D%A5%E6%B0%B4"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(none["total"], 0);
        let found: Value = app
            .client
            .get(app.url("/api/v1/letters?q=%E5%B7%A5%E5%9C%B0"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(found["total"], 1);
        let (s, code, _) = error_code(
            app.client
                .get(app.url("/api/v1/letters?per_page=500"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_paging")
        );
        let st: Value = app
            .client
            .get(app.url("/api/v1/letters/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let zjj = st["departments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["department"] == "wx-zjj")
            .unwrap();
        assert_eq!(
            (
                zjj["received"].as_i64(),
                zjj["answered"].as_i64(),
                zjj["answered_on_time"].as_i64()
            ),
            (Some(2), Some(2), Some(2))
        );
        assert_eq!(zjj["on_time_rate"], 100.0);
    }
);

on_both_engines!(
    settings_change_routing_and_limits,
    |app: TestApp| async move {
        let supervisor = app.staff("s5", "wx-12345", &[Role::Supervisor]).await;
        let url = app.iurl("/api/v1/staff/hotline/settings");
        let mut s = json_of(app.get(&url, &supervisor).await).await;
        s["categories"] = json!([{"code": "city.lights", "name": "路灯照明"}]);
        s["routing"]
            .as_array_mut()
            .unwrap()
            .push(json!({"category": "city.lights", "district": "新吴区", "department": "wx-zjj"}));
        s["limits"]["answer_full"] = json!(7);
        for (bad, what) in [
            (
                json!({"category": "nope", "department": "wx-zjj"}),
                "unknown category",
            ),
            (
                json!({"category": "city", "district": "火星区", "department": "wx-zjj"}),
                "unknown district",
            ),
            (
                json!({"category": "city", "department": "wx-none"}),
                "unknown department",
            ),
        ] {
            let mut b = s.clone();
            b["routing"].as_array_mut().unwrap().push(bad);
            let (st, code, msg) = error_code(
                app.client
                    .put(&url)
                    .bearer_auth(&supervisor)
                    .json(&b)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                (st, code.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings")
            );
            assert!(msg.contains(what), "{msg}");
        }
        let r = app
            .client
            .put(&url)
            .bearer_auth(&supervisor)
            .json(&s)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v = json_of(app.client.post(app.url("/api/v1/workorders")).json(&json!({"type": "complaint", "category": "city.lights", "district": "新吴区",
        "street": "长江路", "title": "路灯不亮", "content": "整条路路灯不亮", "phone": "13900003333"})).send().await.unwrap()).await;
        assert_eq!(
            (v["department"].as_str(), v["category_name"].as_str()),
            (Some("wx-zjj"), Some("路灯照明"))
        );
        let cal = app.ctx.calendar();
        assert_eq!(
            v["answer_by"],
            cal.add_workdays(app.ctx.today(), 7)
                .format("%Y-%m-%d")
                .to_string()
        );
        let cats: Value = app
            .client
            .get(app.url("/api/v1/workorder-categories"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(cats["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "city.lights" && c["parent"] == "city"));
    }
);
