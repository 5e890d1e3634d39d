//! Hot topics and early warnings over HTTP on both engines: messages filed live and history
//! imported in event time are segmented once; topics group them; a burst in one district
//! raises a rate warning and a new-term warning, and nothing else does.

use crate::helpers::*;
use crate::on_both_engines;
use chrono::Datelike;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

mod history_notices;

async fn file(app: &TestApp, category: &str, district: &str, title: &str, content: &str) {
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .json(&json!({"type": "complaint", "category": category, "district": district, "street": "某路",
            "title": title, "content": content, "phone": "13900009999"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

on_both_engines!(
    topics_group_what_people_write_about,
    |app: TestApp| async move {
        let sup = app.staff("s-topics", "wx-12345", &[Role::Supervisor]).await;
        for (i, text) in [
            "电梯停运三天，老人下不了楼",
            "小区电梯又停运了",
            "电梯困人，物业不管",
            "电梯停运影响上班",
            "电梯经常停运",
            "电梯停运，业主很着急",
        ]
        .iter()
        .enumerate()
        {
            file(
                &app,
                "housing.property",
                "梁溪区",
                &format!("电梯停运{i}"),
                text,
            )
            .await;
        }
        for text in [
            "蠡湖大道井盖缺失很危险",
            "井盖缺失，晚上看不见",
            "路口井盖缺失",
            "井盖缺失有孩子差点掉下去",
        ] {
            file(&app, "city.roads", "滨湖区", "井盖缺失", text).await;
        }
        file(
            &app,
            "education.enrol",
            "新吴区",
            "入学咨询",
            "孩子明年入学需要什么材料",
        )
        .await;
        let n = tongban_insight::index::catch_up(&app.ctx).await.unwrap();
        assert_eq!(n, 11);
        assert_eq!(
            tongban_insight::index::catch_up(&app.ctx).await.unwrap(),
            0,
            "each message is analysed once"
        );

        let v: Value = app
            .get(&app.iurl("/api/v1/staff/topics"), &sup)
            .await
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        let lift = items
            .iter()
            .find(|t| t["terms"].as_array().unwrap().iter().any(|x| x == "电梯"))
            .expect("an elevator topic");
        assert_eq!(lift["count"], 6);
        assert_eq!(lift["districts"], json!(["梁溪区"]));
        assert_eq!(lift["categories"], json!(["housing.property"]));
        assert_eq!(lift["messages"].as_array().unwrap().len(), 6);
        // TextRank joins the words that stand together in the messages into a phrase.
        assert!(
            lift["phrases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "电梯停运"),
            "{}",
            lift["phrases"]
        );
        let cover = items
            .iter()
            .find(|t| t["terms"].as_array().unwrap().iter().any(|x| x == "井盖"))
            .expect("a manhole topic");
        assert_eq!(cover["count"], 4);
        assert!(
            items
                .iter()
                .all(|t| !t["terms"].as_array().unwrap().iter().any(|x| x == "停运") || t == lift),
            "停运 joins the elevator topic"
        );
        let v: Value = app
            .get(
                &app.iurl("/api/v1/staff/topics?district=%E6%BB%A8%E6%B9%96%E5%8C%BA"),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(
            v["items"][0]["terms"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == "井盖"),
            "{v}"
        );
        assert!(!v.to_string().contains("电梯"));
        for (q, code) in [
            ("?from=2026-13-01", "invalid_date"),
            ("?from=2026-11-20&to=2026-11-01", "invalid_range"),
            ("?district=%E7%81%AB%E6%98%9F", "unknown_district"),
        ] {
            let (s, c, _) = error_code(
                app.get(&app.iurl(&format!("/api/v1/staff/topics{q}")), &sup)
                    .await,
            )
            .await;
            assert_eq!((s, c.as_str()), (StatusCode::BAD_REQUEST, code), "{q}");
        }
    }
);

/// A line of history for `tongban workorders import`.
fn line(
    no: usize,
    at: chrono::DateTime<chrono::FixedOffset>,
    category: &str,
    district: &str,
    title: &str,
    content: &str,
) -> String {
    json!({"order_no": format!("H{no:06}"), "received_at": at.to_rfc3339(), "channel": "phone", "type": "complaint",
        "category": category, "district": district, "street": "某路", "title": title, "content": content,
        "status": "received"}).to_string()
}

on_both_engines!(
    bursts_raise_warnings_in_event_time,
    |app: TestApp| async move {
        use chrono::{Duration, TimeZone};
        let sup = app.staff("s-warn", "wx-12345", &[Role::Supervisor]).await;
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let start = tz.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let background = [
            (
                "utility.water",
                "梁溪区",
                "水压偏低",
                ["早上水压偏低", "楼上水压不够", "水压时高时低"],
            ),
            (
                "city.noise",
                "新吴区",
                "噪音扰民",
                ["广场舞声音太大", "夜间施工噪音", "酒吧噪音扰民"],
            ),
            (
                "traffic.bus",
                "锡山区",
                "公交班次",
                ["公交班次太少", "末班车太早", "公交站台没有遮雨棚"],
            ),
        ];
        let mut lines = Vec::new();
        let mut no = 0;
        // Fourteen days of steady history: each place every three daytime hours.
        for day in 0..14 {
            for hour in (8..20).step_by(3) {
                for (k, (cat, district, title, texts)) in background.iter().enumerate() {
                    let at = start + Duration::days(day) + Duration::hours(hour + k as i64 % 2);
                    no += 1;
                    lines.push(line(
                        no,
                        at,
                        cat,
                        district,
                        title,
                        texts[(day as usize + hour as usize) % 3],
                    ));
                }
            }
        }
        // Day 15, 10:00: brown tap water in 梁溪区 — a burst, in words never used there before.
        let onset = start + Duration::days(14) + Duration::hours(10);
        for i in 0..12 {
            no += 1;
            lines.push(line(
                no,
                onset + Duration::minutes(i * 7),
                "utility.water",
                "梁溪区",
                "自来水发黄",
                [
                    "自来水发黄有铁锈味",
                    "水龙头放出来的水发黄",
                    "家里自来水发黄不敢喝",
                ][i as usize % 3],
            ));
        }
        // The usual traffic continues elsewhere.
        no += 1;
        lines.push(line(
            no,
            onset + Duration::minutes(30),
            "traffic.bus",
            "锡山区",
            "公交班次",
            "公交班次太少",
        ));
        let settings = app
            .db()
            .read(tongban_hotline::settings::load)
            .await
            .unwrap();
        let depts: Vec<String> = app
            .db()
            .read(|c| {
                Ok(tongban_platform::identity::list_departments(c)?
                    .into_iter()
                    .map(|d| d.code)
                    .collect())
            })
            .await
            .unwrap();
        let tzc = app.ctx.tz;
        let cal = app.ctx.calendar();
        app.db()
            .write(move |c| {
                for l in &lines {
                    let k = tongban_hotline::import::check_line(
                        l,
                        &settings,
                        &depts,
                        tongban_platform::time::now_millis(),
                    )
                    .unwrap();
                    tongban_hotline::import::store(c, k, &cal, &settings, tzc)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        // The supervisor on duty receives warnings by e-mail.
        app.db()
            .write(|c| {
                let id = c
                    .query_one("SELECT id FROM staff WHERE username = 's-warn'", &[])?
                    .get_i64("id")?;
                tongban_platform::identity::set_staff_email(c, id, Some("duty@wuxi.example"))
            })
            .await
            .unwrap();
        tongban_insight::index::catch_up(&app.ctx).await.unwrap();
        let mails = app
            .db()
            .read(|c| c.query_one("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'email' AND subject LIKE '12345 预警%'", &[])?.get_i64("n"))
            .await
            .unwrap();
        assert!(mails >= 2, "one e-mail per warning, got {mails}");

        let v: Value = app
            .get(
                &app.iurl("/api/v1/staff/warnings?from=2026-09-01&to=2026-11-30"),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap();
        let rate: Vec<&Value> = items.iter().filter(|w| w["kind"] == "rate").collect();
        assert_eq!(rate.len(), 1, "exactly the burst: {v}");
        let w = rate[0];
        assert_eq!(
            (w["category"].as_str(), w["district"].as_str()),
            (Some("utility"), Some("梁溪区"))
        );
        assert_eq!(w["department"], "wx-sw", "routed to the water company");
        let detected =
            chrono::DateTime::parse_from_rfc3339(w["detected_at"].as_str().unwrap()).unwrap();
        assert!(
            detected >= onset && detected - onset <= Duration::hours(1),
            "detected {detected}, onset {onset}"
        );
        assert!(
            w["observed"].as_i64().unwrap() >= 6 && w["expected"].as_f64().unwrap() < 3.0,
            "{w}"
        );
        assert!(!w["samples"].as_array().unwrap().is_empty());
        let terms: Vec<&Value> = items.iter().filter(|w| w["kind"] == "term").collect();
        assert!(
            !terms.is_empty() && terms.iter().all(|w| w["district"] == "梁溪区"),
            "{v}"
        );
        assert!(terms.iter().any(|w| w["term"] == "发黄"), "{v}");

        // Acknowledged, then closed with a note.
        let id = w["id"].as_i64().unwrap();
        let url = app.iurl(&format!("/api/v1/staff/warnings/{id}/actions"));
        let (s, code, _) = error_code(
            app.post(&url, &sup, json!({"action": "close", "note": "x"}))
                .await,
        )
        .await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::CONFLICT, "action_not_allowed")
        );
        assert_eq!(
            app.post(&url, &sup, json!({"action": "acknowledge"}))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        let (s, code, _) = error_code(app.post(&url, &sup, json!({"action": "close"})).await).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "note_required")
        );
        assert_eq!(
            app.post(
                &url,
                &sup,
                json!({"action": "close", "note": "水厂管网冲洗后恢复"})
            )
            .await
            .status(),
            StatusCode::NO_CONTENT
        );
        let v: Value = app
            .get(
                &app.iurl("/api/v1/staff/warnings?from=2026-09-01&to=2026-11-30&status=closed"),
                &sup,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["items"][0]["note"], "水厂管网冲洗后恢复");
        // The console page shows the warnings and the topics of the period, and takes the forms.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let cookie = with_csrf(&format!("tongban_staff={sup}"));
        let html = client.get(app.iurl("/console/insight?from=2026-10-15&to=2026-10-15&district=%E6%A2%81%E6%BA%AA%E5%8C%BA"))
        .header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        assert!(
            html.contains("新出现的词") && html.contains("发黄") && html.contains("已关闭"),
            "warnings are listed"
        );
        // A warning names its category, never its code.
        assert!(
            html.contains("梁溪区 · 公用事业") && !html.contains("· utility"),
            "the rate warning's heading names the category"
        );
        let topics = &html[html.find("id=\"h-topics\"").unwrap()..];
        assert!(
            topics.contains("自来水") || topics.contains("发黄"),
            "the burst is a topic"
        );
        assert!(
            html.contains("<option value=\"d:梁溪区\" selected>"),
            "the district scope stays chosen"
        );
        // A department's scope: another department's topics are not its own.
        let html = client
            .get(app.iurl("/console/insight?from=2026-10-15&to=2026-10-15&scope=dept%3Awx-gaj"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("<option value=\"dept:wx-gaj\" selected>"));
        let topics = &html[html.find("id=\"h-topics\"").unwrap()..];
        assert!(
            !topics.contains("发黄"),
            "the water burst is not the police's topic"
        );
        // Without a period the page opens on the last seven days, keeping what else it was asked.
        let today = app.ctx.today();
        let r = client
            .get(app.iurl("/console/insight?done=1"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()["location"].to_str().unwrap(),
            format!(
                "/console/insight?from={}&to={}&done=1",
                (today - chrono::Duration::days(6)).format("%Y-%m-%d"),
                today.format("%Y-%m-%d")
            )
        );
        let tid = terms[1.min(terms.len() - 1)]["id"].as_i64().unwrap();
        let r = client
            .post(app.iurl(&format!("/console/insight/warnings/{tid}")))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf_for(&cookie).as_str()),
                ("action", "acknowledge"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let other = app.staff("h-other", "wx-rq", &[Role::Handler]).await;
        let id2 = terms[0]["id"].as_i64().unwrap();
        let r = app
            .post(
                &app.iurl(&format!("/api/v1/staff/warnings/{id2}/actions")),
                &other,
                json!({"action": "acknowledge"}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "another department's handler cannot act"
        );
    }
);

on_both_engines!(the_evaluation_of_a_month, |app: TestApp| async move {
    let sup = app.staff("s-eval", "wx-12345", &[Role::Supervisor]).await;
    let citizen = app.citizen().await;
    let clerk = app
        .staff("c-eval", "wx-wjw", &[Role::Clerk, Role::Approver])
        .await;
    let case_no = app.submit_birth(&citizen).await;
    app.act(&clerk, &case_no, "accept", "受理").await;
    app.act(&clerk, &case_no, "approve", "准予").await;
    let r = app
        .post(
            &app.url(&format!("/api/v1/cases/{case_no}/rating")),
            &citizen.token,
            json!({"level": 5}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for channel in ["mobile", "web", "mobile", "web"] {
        let r = app.client.post(app.url("/api/v1/workorders"))
            .json(&json!({"type": "consult", "category": "social.pension", "district": "梁溪区", "street": "中山路",
                "title": "养老金", "content": "养老金怎么查询", "phone": "13900001234", "channel": channel}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // A page view from a phone, counted by the platform itself.
    app.client
        .get(app.url("/matters"))
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148",
        )
        .send()
        .await
        .unwrap();
    tongban_insight::visits::flush(&app.ctx).await.unwrap();
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
    assert_eq!(v["month"], month.as_str());
    let dims: Vec<&str> = v["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(dims, ["基础准备", "在线服务", "电子参与", "移动政务"]);
    let ind = |code: &str| -> Value {
        v["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["indicators"].as_array().unwrap().clone())
            .find(|i| i["code"] == code)
            .unwrap()
    };
    // Rates change by percentage points, volumes by ratio.
    for d in v["dimensions"].as_array().unwrap() {
        for i in d["indicators"].as_array().unwrap() {
            assert_eq!(i["change_in_points"], i["unit"] == "%", "{i}");
            if let (Some(now), Some(before), Some(mom)) = (
                i["value"].as_f64(),
                i["previous"].as_f64(),
                i["mom"].as_f64(),
            ) {
                if i["unit"] == "%" {
                    assert!((mom - (now - before)).abs() < 0.051, "{i}");
                }
            }
        }
    }
    assert_eq!(ind("satisfaction")["value"], 100.0);
    assert_eq!(ind("cases_on_time")["value"], 100.0);
    assert_eq!(ind("mobile_orders_share")["value"], 50.0);
    assert_eq!(ind("mobile_visits_share")["value"], 100.0);
    assert!(ind("registered_users")["value"].as_f64().unwrap() >= 2.0);
    assert!(ind("fully_online")["formula"]
        .as_str()
        .unwrap()
        .contains("网办深度"));
    let catalog_full = app
        .db()
        .read(|c| {
            c.query_one(
                "SELECT COUNT(*) AS n FROM matters WHERE published AND online_depth >= 4",
                &[],
            )?
            .get_i64("n")
        })
        .await
        .unwrap();
    let published = app
        .db()
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM matters WHERE published", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    let want = (catalog_full as f64 * 1000.0 / published as f64).round() / 10.0;
    assert_eq!(ind("fully_online")["value"].as_f64().unwrap(), want);
    assert!(v["index"].as_f64().unwrap() > 0.0 && v["index"].as_f64().unwrap() <= 100.0);
    let (s, code, _) = error_code(
        app.get(&app.iurl("/api/v1/staff/evaluation?month=2026-13"), &sup)
            .await,
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_month")
    );

    // The printable page and its workbook on the console.
    let cookie = format!("tongban_staff={sup}");
    let html = app
        .client
        .get(app.iurl(&format!("/console/evaluation?month={month}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("电子政务发展评估") && html.contains("满意率") && html.contains("计算方法")
    );
    // Figures are written as people write them: no whole number with ".0" in the table.
    let table = html.split("<tbody>").nth(1).unwrap_or_default();
    let cells: Vec<&str> = table
        .split("<td>")
        .skip(1)
        .map(|c| c.split("</td>").next().unwrap_or_default())
        .collect();
    assert!(!cells.is_empty());
    for cell in &cells {
        let figure = cell.split_whitespace().next().unwrap_or_default();
        assert!(
            !(figure.ends_with(".0") || figure.ends_with(".0%")),
            "a figure written with \".0\": {cell:?}"
        );
    }
    // Charts: the dimensions' scores and each dimension's rates against the months before.
    assert_eq!(html.matches("<svg role=\"img\"").count(), 5, "five charts");
    assert!(html.contains("aria-label=\"四个维度得分\""));
    let r = app
        .client
        .get(app.iurl(&format!("/console/evaluation.xlsx?month={month}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));

    // The same from the CLI, as a workbook.
    let out = app.dir.path().join("eval.xlsx");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args([
            "report",
            "evaluation",
            "--month",
            &month,
            "--out",
            out.to_str().unwrap(),
        ])
        .env("TONGBAN_DATABASE_URL", &app.ctx.config.database_url)
        .env("TONGBAN_KEY_FILE", &app.ctx.config.key_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    let sheet = wb.worksheet_range("指标").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][1], "指标");
    assert!(
        rows.iter().any(|r| r[1] == "满意率" && r[4] == "100"),
        "{rows:?}"
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args([
            "report",
            "evaluation",
            "--month",
            "October",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("TONGBAN_DATABASE_URL", &app.ctx.config.database_url)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("YYYY-MM"));
});

// A rate on a board is what its list shows: 差评按时整改率 for a month equals, from the
// rectification list filtered to the same due days, the ones done on time over the ones done
// or overdue (an open one past its day is late, not left out).
on_both_engines!(a_board_rate_is_its_list, |app: TestApp| async move {
    let sup = app.staff("s-rect", "wx-12345", &[Role::Supervisor]).await;
    let clerk = app
        .staff("c-rect", "wx-wjw", &[Role::Clerk, Role::Approver])
        .await;
    let citizen = app.citizen().await;
    let mut ids = vec![];
    for _ in 0..5 {
        let no = app.submit_birth(&citizen).await;
        app.act(&clerk, &no, "accept", "受理").await;
        app.act(&clerk, &no, "approve", "准予").await;
        let r = app
            .post(
                &app.url(&format!("/api/v1/cases/{no}/rating")),
                &citizen.token,
                json!({"level": 1, "comment": "等了很久"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let list: Value = app
        .get(&app.iurl("/api/v1/staff/rectifications?page_size=50"), &sup)
        .await
        .json()
        .await
        .unwrap();
    for i in list["items"].as_array().unwrap() {
        ids.push(i["id"].as_i64().unwrap());
    }
    assert_eq!(ids.len(), 5);
    let act = |id: i64, action: &'static str| {
        let url = app.iurl(&format!("/api/v1/staff/rectifications/{id}/actions"));
        let clerk = clerk.clone();
        let app = &app;
        async move {
            let r = app
                .post(
                    &url,
                    &clerk,
                    json!({"action": action, "note": "已回访并整改"}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{action}");
        }
    };
    // Two done on time; then all five fall due last month: one more is done late, two stay
    // open (overdue).
    for id in &ids[..2] {
        act(*id, "callback").await;
        act(*id, "complete").await;
    }
    let today = app.ctx.today();
    let first = today.with_day(1).unwrap();
    let last_month_end = first.pred_opt().unwrap();
    let last_month = last_month_end.format("%Y-%m").to_string();
    let due = last_month_end
        .with_day(10)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    app.db()
        .write(move |c| {
            c.execute(
                "UPDATE rectifications SET due_by = $1",
                tongban_platform::params![due],
            )
        })
        .await
        .unwrap();
    act(ids[2], "callback").await;
    act(ids[2], "complete").await;

    let from = format!("{last_month}-01");
    let to = last_month_end.format("%Y-%m-%d").to_string();
    let listed: Value = app
        .get(
            &app.iurl(&format!(
                "/api/v1/staff/rectifications?due_from={from}&due_to={to}&page_size=50"
            )),
            &sup,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(listed["total"], 5);
    let settled = items
        .iter()
        .filter(|i| i["status"] == "done" || i["overdue"] == true)
        .count() as f64;
    let on_time = items.iter().filter(|i| i["on_time"] == true).count() as f64;
    assert_eq!((settled, on_time), (5.0, 2.0));
    let from_list = (on_time * 1000.0 / settled).round() / 10.0;

    // Indicator `code` of the evaluation of `month`.
    let indicator = |month: String, code: &'static str| {
        let (app, sup) = (&app, &sup);
        async move {
            let v: Value = app
                .get(
                    &app.iurl(&format!("/api/v1/staff/evaluation?month={month}")),
                    sup,
                )
                .await
                .json()
                .await
                .unwrap();
            v["dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d["indicators"].as_array().unwrap().clone())
                .find(|i| i["code"] == code)
                .unwrap()
        }
    };
    let board = indicator(last_month, "rectified_on_time").await["value"]
        .as_f64()
        .unwrap();
    assert_eq!(board, from_list, "the board's rate is its list's");
    assert_eq!(board, 40.0);
    // Nothing due this month yet: no rate, rather than a 100% of nothing.
    let now = indicator(today.format("%Y-%m").to_string(), "rectified_on_time").await;
    assert!(now["value"].is_null(), "{now}");
    let r = app
        .get(
            &app.iurl("/api/v1/staff/rectifications?due_from=yesterday"),
            &sup,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
});
