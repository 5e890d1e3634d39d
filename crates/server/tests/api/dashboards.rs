//! The leadership dashboards over HTTP on both engines: orders and an application filed live
//! reach the daily figures through the timelines, the boards count them by place, category,
//! department and channel, filters narrow them, each chart comes as SVG, table and XLSX, a
//! rebuild gives the same figures, and bad filters get a clear 4xx.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";

async fn file(app: &TestApp, category: &str, district: &str, mobile: bool) {
    let mut req = app.client.post(app.url("/api/v1/workorders"));
    if mobile {
        req = req.header("user-agent", PHONE_UA);
    }
    let r = req
        .json(&json!({"type": "complaint", "category": category, "district": district, "street": "某路",
            "title": "问题反映", "content": "路灯不亮很久了", "phone": "13900009999",
            "channel": if mobile { "mobile" } else { "web" }}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

fn chart<'a>(board: &'a Value, id: &str) -> &'a Value {
    board["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no chart {id} in {board}"))
}

fn figure(board: &Value, code: &str) -> Value {
    board["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no figure {code}"))["value"]
        .clone()
}

/// The value of series `series` at category `label`.
fn at(chart: &Value, series: &str, label: &str) -> f64 {
    let i = chart["labels"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l == label)
        .unwrap_or_else(|| panic!("no label {label} in {chart}"));
    chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == series)
        .unwrap_or_else(|| panic!("no series {series} in {chart}"))["values"][i]
        .as_f64()
        .unwrap()
}

on_both_engines!(dashboards_count_what_happened, |app: TestApp| async move {
    let sup = app.staff("s-dash", "wx-12345", &[Role::Supervisor]).await;
    file(&app, "city.roads", "梁溪区", false).await;
    file(&app, "city.sanitation", "梁溪区", true).await;
    file(&app, "housing.property", "滨湖区", true).await;
    // An application from a phone, accepted and approved the same day.
    let citizen = app.citizen().await;
    let form = birth_registration_form(&citizen);
    let r = app
        .submit_case_as(
            &citizen.token,
            json!({"matter_code": "WX-WJ-001", "form": form}),
            Some(PHONE_UA),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let case_no = r.json::<Value>().await.unwrap()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let clerk = app.staff("c-dash", "wx-wjw", &[Role::Clerk]).await;
    let reviewer = app.staff("r-dash", "wx-wjw", &[Role::Reviewer]).await;
    let approver = app.staff("a-dash", "wx-wjw", &[Role::Approver]).await;
    for (who, action) in [
        (&clerk, "accept"),
        (&reviewer, "review"),
        (&approver, "approve"),
    ] {
        let r = app.act(who, &case_no, action, "同意").await;
        assert_eq!(r.status(), StatusCode::OK, "{action}");
    }
    // A second application from a desktop browser, still waiting.
    app.submit_birth(&citizen).await;

    // Two nodes' workers at once, one of them paced as the background worker is (a day per
    // transaction, resting between): one takes the entries, the other finds them taken.
    let (a, b) = tokio::join!(
        tongban_insight::facts::catch_up_paced(&app.ctx),
        tongban_insight::facts::catch_up(&app.ctx)
    );
    let days = a.unwrap() + b.unwrap();
    assert!(days >= 1, "today was recomputed");
    assert_eq!(
        tongban_insight::facts::catch_up(&app.ctx).await.unwrap(),
        0,
        "nothing new, nothing recomputed"
    );

    let board = |name: &'static str, query: &'static str| {
        let (app, sup) = (&app, sup.clone());
        async move {
            let r = app
                .get(
                    &app.iurl(&format!("/api/v1/staff/dashboards/{name}{query}")),
                    &sup,
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{name}{query}");
            r.json::<Value>().await.unwrap()
        }
    };
    let city = board("city", "").await;
    assert_eq!(figure(&city, "received"), json!(3.0));
    let heat = chart(&city, "heat");
    assert_eq!(heat["kind"], "heat");
    assert_eq!(at(heat, "梁溪区", "城市管理"), 2.0);
    assert_eq!(at(heat, "滨湖区", "住房保障"), 1.0);
    assert_eq!(at(heat, "新吴区", "城市管理"), 0.0);
    let stacked = chart(&city, "by_district");
    assert_eq!(stacked["kind"], "stacked");
    assert_eq!(at(stacked, "城市管理", "梁溪区"), 2.0);
    // The district filter narrows every chart.
    let one = board("city", "?district=%E6%BB%A8%E6%B9%96%E5%8C%BA").await;
    assert_eq!(figure(&one, "received"), json!(1.0));
    assert_eq!(chart(&one, "heat")["series"].as_array().unwrap().len(), 1);

    let live = board("livelihood", "").await;
    assert_eq!(figure(&live, "received"), json!(3.0));
    assert_eq!(figure(&live, "mobile_share"), json!(66.7));
    let pie = chart(&live, "channel");
    assert_eq!(pie["kind"], "pie");
    assert_eq!(at(pie, "受理量", "移动端"), 2.0);
    assert_eq!(at(chart(&live, "by_category"), "受理量", "城市管理"), 2.0);
    let line = chart(&live, "daily");
    assert_eq!(line["kind"], "line");
    assert_eq!(
        line["labels"].as_array().unwrap().len(),
        30,
        "the last 30 days by default"
    );
    assert_eq!(
        line["series"][0]["values"][29],
        json!(3.0),
        "today: three received"
    );

    // Over a longer period the same line counts weeks.
    let from = (app.ctx.today() - chrono::Duration::days(99)).format("%Y-%m-%d");
    let r = app
        .get(
            &app.iurl(&format!("/api/v1/staff/dashboards/livelihood?from={from}")),
            &sup,
        )
        .await;
    let long: Value = r.json().await.unwrap();
    let weekly = chart(&long, "daily");
    assert_eq!(weekly["label_name"], "周（起始日）");
    let n = weekly["labels"].as_array().unwrap().len();
    assert!((15..=16).contains(&n), "{n} weeks");
    let received: f64 = weekly["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert_eq!(received, 3.0);
    let services = board("services", "").await;
    assert_eq!(figure(&services, "submitted"), json!(2.0));
    assert_eq!(figure(&services, "decided"), json!(1.0));
    assert_eq!(figure(&services, "on_time"), json!(100.0));
    assert_eq!(
        figure(&services, "mobile_share"),
        json!(50.0),
        "one of two from a phone"
    );
    assert_eq!(
        at(
            chart(&services, "on_time_by_department"),
            "按时办结",
            "无锡市卫生健康委员会"
        ),
        1.0
    );
    // Another department sees none of it; a district does not apply to applications.
    let other = board(
        "services",
        "?department=wx-gaj&district=%E6%A2%81%E6%BA%AA%E5%8C%BA",
    )
    .await;
    assert_eq!(figure(&other, "submitted"), json!(0.0));
    assert_eq!(other["notes"].as_array().unwrap().len(), 1);

    let data = board("data", "").await;
    assert_eq!(figure(&data, "cases"), json!(2.0));
    assert_eq!(figure(&data, "orders"), json!(3.0));
    // Each 生育登记 without a 结婚证 asked 民政局 for the parents' marriage record (免提交).
    assert_eq!(figure(&data, "sharing"), json!(2.0));

    // English names when the reader asks for them.
    let en: Value = app
        .client
        .get(app.iurl("/api/v1/staff/dashboards/services"))
        .bearer_auth(&sup)
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(en["title"], "Government services");

    // A rebuild from scratch gives the same figures as the incremental path.
    let n = tongban_insight::facts::rebuild(&app.ctx).await.unwrap();
    assert!(n >= 1);
    assert_eq!(board("city", "").await, city);
    assert_eq!(board("services", "").await, services);

    // The page: every chart as SVG with its table, and its numbers as a workbook.
    let cookie = format!("tongban_staff={sup}");
    let r = app
        .client
        .get(app.iurl("/console/dashboards/city"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(html.matches("<svg role=\"img\"").count(), 4, "four charts");
    assert!(html.contains("aria-label=\"地区 × 类别诉求热力图\""));
    assert!(html.contains("<th scope=\"row\">梁溪区</th>"));
    assert!(html.contains("/console/dashboards/city/xlsx?chart=heat&amp;from="));
    let r = app
        .client
        .get(app.iurl("/console/dashboards/city/xlsx?chart=heat"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    assert_eq!(wb.sheet_names(), vec!["heat".to_owned()]);
    let rows: Vec<Vec<String>> = wb
        .worksheet_range("heat")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let head = rows.iter().find(|r| r[0] == "地区").expect("a header row");
    let col = head.iter().position(|h| h == "城市管理").unwrap();
    let row = rows.iter().find(|r| r[0] == "梁溪区").unwrap();
    assert_eq!(row[col], "2");
    let r = app
        .client
        .get(app.iurl("/console/dashboards/city/xlsx?chart=nothing"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
});

on_both_engines!(
    dashboard_filters_refuse_bad_input,
    |app: TestApp| async move {
        let sup = app.staff("s-dash2", "wx-12345", &[Role::Supervisor]).await;
        for (query, status, code) in [
            (
                "/city?district=%E7%81%AB%E6%98%9F%E5%8C%BA",
                400,
                "unknown_district",
            ),
            ("/city?department=nope", 400, "unknown_department"),
            ("/city?from=2026-13-01", 400, "invalid_date"),
            ("/city?from=2026-10-02&to=2026-10-01", 400, "invalid_range"),
            ("/city?from=2020-01-01&to=2026-10-01", 400, "invalid_range"),
            ("/city?colour=red", 400, "bad_query"),
            ("/weather", 404, "dashboard_not_found"),
        ] {
            let r = app
                .get(&app.iurl(&format!("/api/v1/staff/dashboards{query}")), &sup)
                .await;
            let (s, c, m) = error_code(r).await;
            assert_eq!((s.as_u16(), c.as_str()), (status, code), "{query}: {m}");
            assert!(!m.is_empty());
        }
        // On the page the same mistakes are explained, not a 500.
        let r = app
            .client
            .get(app.iurl("/console/dashboards/city?district=%E7%81%AB%E6%98%9F%E5%8C%BA"))
            .header("cookie", format!("tongban_staff={sup}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.text().await.unwrap().contains("请选择所在区县"));
        // An empty platform draws empty charts, not errors.
        for b in ["services", "livelihood", "city", "data"] {
            let r = app
                .get(&app.iurl(&format!("/api/v1/staff/dashboards/{b}")), &sup)
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{b}");
        }
    }
);

// The background worker's way alone (each day's figures read apart from its write, then
// written under the cursors' check): it counts what the one-transaction way counts.
on_both_engines!(
    paced_figures_count_as_a_rebuild_does,
    |app: TestApp| async move {
        let sup = app.staff("s-paced", "wx-12345", &[Role::Supervisor]).await;
        file(&app, "city.roads", "梁溪区", false).await;
        file(&app, "city.roads", "滨湖区", true).await;
        let citizen = app.citizen().await;
        app.submit_birth(&citizen).await;
        app.submit_birth(&citizen).await;
        let days = tongban_insight::facts::catch_up_paced(&app.ctx)
            .await
            .unwrap();
        assert!(days >= 1, "today was recomputed");
        let boards = || async {
            let mut out = Vec::new();
            for name in ["services", "livelihood"] {
                let r = app
                    .get(&app.iurl(&format!("/api/v1/staff/dashboards/{name}")), &sup)
                    .await;
                assert_eq!(r.status(), StatusCode::OK, "{name}");
                out.push(r.json::<Value>().await.unwrap());
            }
            out
        };
        let paced = boards().await;
        assert_eq!(figure(&paced[0], "submitted"), json!(2.0));
        assert_eq!(figure(&paced[1], "received"), json!(2.0));
        assert_eq!(figure(&paced[1], "mobile_share"), json!(50.0));
        tongban_insight::facts::rebuild(&app.ctx).await.unwrap();
        let rebuilt = boards().await;
        for (p, r) in paced.iter().zip(&rebuilt) {
            assert_eq!(
                p["figures"], r["figures"],
                "paced and rebuilt figures agree"
            );
        }
    }
);
