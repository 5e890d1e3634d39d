//! Open311 lists only published letters, and an order is looked up only with its query code.

use super::*;

on_both_engines!(
    open311_lists_only_published_letters,
    |app: TestApp| async move {
        let c = app.citizen().await;
        let handler = app.staff("h-o", "wx-zjj", &[Role::Handler]).await;
        let dispatcher = app.staff("d-o", "wx-12345", &[Role::Dispatcher]).await;
        let supervisor = app.staff("s-o", "wx-12345", &[Role::Supervisor]).await;
        let editor = app.staff("e-o", "wx-12345", &[Role::Editor]).await;
        let mut nos = Vec::new();
        for public in [true, false] {
            let r = app
                .post(
                    &app.url("/api/v1/workorders"),
                    &c.token,
                    json!({"type": "complaint", "category": "city.noise", "district": "新吴区",
                       "street": "中山路100号3单元502", "title": "张三13912345678物业漏水",
                       "content": "楼上漏水，我的电话 13912345678", "public": public}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            let no = r.json::<Value>().await.unwrap()["order_no"]
                .as_str()
                .unwrap()
                .to_owned();
            let d = app.iurl(&format!("/api/v1/staff/workorders/{no}/actions"));
            let r = app
                .post(
                    &d,
                    &dispatcher,
                    json!({"action": "dispatch", "department": "wx-zjj"}),
                )
                .await;
            assert_eq!(r.status(), 200);
            for body in [
                json!({"action": "sign"}),
                json!({"action": "reply", "note": "张三先生您好：已电话联系您(13912345678)，并上门到中山路100号3单元502"}),
            ] {
                let r = app.post(&d, &handler, body.clone()).await;
                assert_eq!(r.status(), 200, "{body}");
            }
            let r = app
                .post(
                    &d,
                    &supervisor,
                    json!({"action": "supervise", "note": "内部督办：核查其13900000010"}),
                )
                .await;
            assert_eq!(r.status(), 200);
            nos.push(no);
        }
        let all = |q: &'static str| {
            let app = &app;
            async move {
                let (s, _, body) = get(app, q).await;
                assert_eq!(s, StatusCode::OK, "{body}");
                body
            }
        };
        let body = all("/open311/v2/requests.json?page_size=1000").await;
        for no in &nos {
            assert!(
                !body.contains(no.as_str()),
                "unpublished order {no} listed: {body}"
            );
        }
        for secret in ["13912345678", "13900000010", "3单元502", "督办"] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
        // The editor publishes the public one with a title of their own; the other cannot be.
        let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/workorders/{}/actions", nos[0])),
            &editor,
            json!({"action": "publish", "public_title": "物业维修不及时", "public_text": "楼上漏水，物业迟迟不修。电话13912345678"}),
        )
        .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = app
            .post(
                &app.iurl(&format!("/api/v1/staff/workorders/{}/actions", nos[1])),
                &editor,
                json!({"action": "publish", "public_text": "x"}),
            )
            .await;
        assert!(r.status().is_client_error());
        let body = all("/open311/v2/requests.json?page_size=1000").await;
        let list: Value = serde_json::from_str(&body).unwrap();
        let ours: Vec<&Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| nos.contains(&r["service_request_id"].as_str().unwrap_or("").to_owned()))
            .collect();
        assert_eq!(ours.len(), 1, "{body}");
        assert_eq!(ours[0]["service_request_id"], nos[0].as_str());
        assert_eq!(ours[0]["description"], "物业维修不及时");
        let notes = ours[0]["status_notes"].as_str().unwrap();
        assert!(
            notes.contains("139****5678"),
            "the published reply, scrubbed: {notes}"
        );
        for secret in ["13912345678", "13900000010", "督办", "3单元502"] {
            assert!(!body.contains(secret), "{secret} leaked: {body}");
        }
        // The public mailbox shows the editor's title, and its search does not reach the
        // citizen's own title.
        let r = app
            .client
            .get(app.url("/api/v1/letters?q=张三"))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["total"], 0, "{v}");
        let r = app
            .client
            .get(app.url("/api/v1/letters?q=物业维修"))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["items"][0]["title"], "物业维修不及时", "{v}");
    }
);

// The anonymous lookup showed any order's title by its sequential number. Now a number alone
// shows the status only; the query code given at filing (or the filer's session) shows it.
on_both_engines!(
    order_lookup_needs_the_query_code,
    |app: TestApp| async move {
        let r = app
            .client
            .post(app.url("/api/v1/workorders"))
            .json(
                &json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
                      "street": "中山路1号", "title": "李四13900001111的投诉",
                      "content": "漏水", "phone": "13900001111"}),
            )
            .send()
            .await
            .unwrap();
        let st = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let no = v["order_no"].as_str().unwrap().to_owned();
        let code = v["query_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 8);
        assert_eq!(
            v["title"], "李四13900001111的投诉",
            "the filer sees the order at once"
        );
        let look = |q: String| {
            let app = &app;
            async move {
                let r = app.client.get(app.url(&q)).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.json::<Value>().await.unwrap()
            }
        };
        for q in [
            format!("/api/v1/workorders/{no}"),
            format!("/api/v1/workorders/{no}?code=AAAAAAAA"),
        ] {
            let v = look(q.clone()).await;
            assert_eq!(v["detail"], false, "{q}: {v}");
            assert!(v["status"].as_str().is_some_and(|s| !s.is_empty()));
            let text = v.to_string();
            assert!(
                !text.contains("13900001111") && !text.contains("中山路"),
                "{text}"
            );
            assert_eq!(v["timeline"].as_array().unwrap().len(), 0);
        }
        let v = look(format!(
            "/api/v1/workorders/{no}?code={}",
            code.to_lowercase()
        ))
        .await;
        assert_eq!(
            (v["detail"].as_bool(), v["title"].as_str()),
            (Some(true), Some("李四13900001111的投诉"))
        );
        // The page: the number alone asks for the code; the code opens it.
        let html = app
            .client
            .get(app.url(&format!("/workorders/{no}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !html.contains("李四") && html.contains("name=\"code\""),
            "{html}"
        );
        let html = app
            .client
            .get(app.url(&format!("/workorders/{no}?code={code}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("李四13900001111的投诉"));
        // The discovery document does not echo the Host header.
        let r = app
            .client
            .get(app.url("/open311/v2/discovery.json"))
            .header("host", "evil.example")
            .send()
            .await
            .unwrap();
        let body = r.text().await.unwrap();
        assert!(!body.contains("evil.example"), "{body}");
    }
);
