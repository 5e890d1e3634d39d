//! The demo history shows topics and warnings, and staff choose where their notices go.

use super::*;

on_both_engines!(
    the_demo_history_shows_topics_and_warnings,
    |app: TestApp| async move {
        let sup = app.staff("s-hist", "wx-12345", &[Role::Supervisor]).await;
        let db = app.db().clone();
        let (today, tz) = (app.ctx.today(), app.ctx.tz);
        let h =
            tokio::task::spawn_blocking(move || tongban_server::history::fill(&db, 40, today, tz))
                .await
                .unwrap()
                .unwrap();
        assert!(h.orders > 500 && h.cases > 300 && h.ratings > 300, "{h:?}");
        let db = app.db().clone();
        let again =
            tokio::task::spawn_blocking(move || tongban_server::history::fill(&db, 40, today, tz))
                .await
                .unwrap()
                .unwrap();
        assert_eq!(again.orders, 0, "filled once");
        // A city that looks run (issue 12, C): rectifications past their deadline are nearly
        // all done, and those still open are recent.
        let today_s = today.format("%Y-%m-%d").to_string();
        let (past_due, past_due_done, oldest_open) = app
            .db()
            .read(move |c| {
                let r = c.query_one(
                    "SELECT COUNT(*) AS n, SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS d
                     FROM rectifications WHERE due_by < $1",
                    tongban_platform::params![today_s.as_str()],
                )?;
                let oldest = c
                    .query_one(
                        "SELECT MIN(created_at) AS t FROM rectifications WHERE status <> 'done'",
                        &[],
                    )?
                    .get_opt_i64("t")?;
                Ok((r.get_i64("n")?, r.get_opt_i64("d")?.unwrap_or(0), oldest))
            })
            .await
            .unwrap();
        assert!(past_due >= 20, "{past_due}");
        assert!(
            past_due_done * 100 >= past_due * 95,
            "{past_due_done} of {past_due} past their deadline are done"
        );
        let open_recent = app
            .db()
            .read(move |c| {
                let week_ago = tongban_platform::time::now_millis() - 7 * 86_400_000;
                let r = c.query_one(
                    "SELECT COUNT(*) AS n, SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END) AS recent
                     FROM rectifications WHERE status <> 'done'",
                    tongban_platform::params![week_ago],
                )?;
                Ok((r.get_i64("n")?, r.get_opt_i64("recent")?.unwrap_or(0)))
            })
            .await
            .unwrap();
        assert!(
            open_recent.1 * 2 >= open_recent.0,
            "most open rectifications are from the last week: {open_recent:?}, oldest {oldest_open:?}"
        );
        tongban_insight::index::catch_up(&app.ctx).await.unwrap();
        let from = (today - chrono::Duration::days(40)).format("%Y-%m-%d");
        let v: Value = app
            .get(
                &app.iurl(&format!("/api/v1/staff/topics?from={from}&to={today}")),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(v["items"].as_array().unwrap().len() >= 5, "{v}");
        let v: Value = app
            .get(
                &app.iurl(&format!("/api/v1/staff/warnings?from={from}&to={today}")),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        assert!(
            items.iter().any(|w| w["kind"] == "rate"
                && w["district"] == "滨湖区"
                && w["category"] == "utility"),
            "{v}"
        );
        assert!(
            items.iter().any(|w| w["kind"] == "rate"
                && w["district"] == "新吴区"
                && w["category"] == "city"),
            "{v}"
        );
        assert!(
            items.iter().filter(|w| w["kind"] == "rate").count() <= 3,
            "few false alarms: {v}"
        );
        let month = app.ctx.today().format("%Y-%m").to_string();
        let v: Value = app
            .get(
                &app.iurl(&format!("/api/v1/staff/evaluation?month={month}")),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(v["index"].as_f64().unwrap() > 0.0);
    }
);

on_both_engines!(
    staff_set_where_their_notices_go,
    |app: TestApp| async move {
        let sup = app.staff("s-mail", "wx-12345", &[Role::Supervisor]).await;
        let url = app.iurl("/api/v1/staff/me/email");
        let got: Value = app.get(&url, &sup).await.json().await.unwrap();
        assert_eq!(got["email"], Value::Null);
        // Not an address: refused with the field named, nothing stored.
        let r = app
            .client
            .put(&url)
            .bearer_auth(&sup)
            .json(&json!({"email": "not an address"}))
            .send()
            .await
            .unwrap();
        let (s, code, _) = error_code(r).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email")
        );
        let r = app
            .client
            .put(&url)
            .bearer_auth(&sup)
            .json(&json!({"email": " lead@wuxi.gov.cn "}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let got: Value = app.get(&url, &sup).await.json().await.unwrap();
        assert_eq!(got["email"], "lead@wuxi.gov.cn");
        // Warnings now reach this supervisor.
        let to = app
            .ctx
            .db
            .read(|c| tongban_platform::identity::staff_emails(c, Role::Supervisor, None))
            .await
            .unwrap();
        assert!(to.contains(&"lead@wuxi.gov.cn".to_owned()), "{to:?}");

        // The console page: shown, changed, and an empty value stops the mail.
        let cookie = with_csrf(&format!("tongban_staff={sup}"));
        let html = app
            .client
            .get(app.iurl("/console/account"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("value=\"lead@wuxi.gov.cn\""));
        let r = app
            .client
            .post(app.iurl("/console/account/email"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie).as_str()), ("email", "bad@")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("aria-invalid=\"true\""));
        let r = app
            .client
            .post(app.iurl("/console/account/email"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf_for(&cookie).as_str()), ("email", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let got: Value = app.get(&url, &sup).await.json().await.unwrap();
        assert_eq!(got["email"], Value::Null);
    }
);
