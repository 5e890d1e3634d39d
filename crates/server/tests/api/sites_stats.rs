//! Visits to the sites are counted per site and column (an article's view for its column,
//! feeds and missing pages not at all, no address kept) and feed the evaluation's 政府网站
//! indicators and the data board's website-group panel, with 依申请公开 answered on time.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

on_both_engines!(
    visits_feed_the_evaluation_and_the_board,
    |app: TestApp| async move {
        let admin = app.staff("xst1", "wx-gaj", &[Role::Admin]).await;
        let reviewer = app.staff("xst2", "wx-zfb", &[Role::SiteReviewer]).await;
        // The demo's first article is in the portal's 要闻动态.
        let first: Value = app
            .client
            .get(app.url("/api/v1/sites/portal/articles?column=news"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let article = first["items"][0]["url"].as_str().unwrap().to_owned();
        for (path, times, status) in [
            ("/sites/portal", 3, 200),
            ("/sites/portal/columns/news", 2, 200),
            (article.as_str(), 1, 200),
            ("/sites/gaj/gk", 1, 200),
            ("/sites/portal/feed.atom", 2, 200),
            ("/sites/nope", 1, 404),
            ("/sites/portal/columns/nope", 1, 404),
        ] {
            for _ in 0..times {
                let r = app.client.get(app.url(path)).send().await.unwrap();
                assert_eq!(r.status().as_u16(), status, "{path}");
            }
        }
        tongban_portal::visits::flush(&app.ctx).await.unwrap();
        let today = app.ctx.today();
        let (from, to) = (
            today.format("%Y-%m-%d").to_string(),
            today.succ_opt().unwrap().format("%Y-%m-%d").to_string(),
        );
        let p = app
            .db()
            .read(move |c| tongban_portal::stats::period(c, &from, &to, 0, i64::MAX))
            .await
            .unwrap();
        let site = |code: &str| p.by_site.iter().find(|s| s.code == code).unwrap().clone();
        assert_eq!(
            (site("portal").views, site("portal").visitors),
            (6, 1),
            "{p:?}"
        );
        assert_eq!(site("gaj").views, 1);
        assert_eq!(p.views, 7);
        assert_eq!(
            p.top_columns[0],
            ("无锡市人民政府".to_owned(), "要闻动态".to_owned(), 3)
        );

        // A request answered on time.
        let citizen = app.citizen().await;
        let r = app
            .post(
                &app.url("/api/v1/disclosure-requests"),
                &citizen.token,
                json!({"department": "wx-zfb", "applicant_kind": "person", "applicant": "赵六",
                "contact": "13700000000", "description": "市政府常务会议纪要"}),
            )
            .await;
        let no = r.json::<Value>().await.unwrap()["request_no"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/disclosure-requests/{no}/answer")),
            &reviewer,
            json!({"outcome": "public", "reason": "already_public", "note": "已在本网站主动公开"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);

        let month = app.ctx.today().format("%Y-%m").to_string();
        let eval: Value = app
            .get(
                &app.iurl(&format!("/api/v1/staff/evaluation?month={month}")),
                &admin,
            )
            .await
            .json()
            .await
            .unwrap();
        let value = |dim: usize, code: &str| {
            eval["dimensions"][dim]["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["code"] == code)
                .map(|i| i["value"].clone())
                .unwrap_or_default()
        };
        assert_eq!(value(1, "site_visits"), json!(7.0), "{eval}");
        assert_eq!(value(1, "disclosure_on_time"), json!(100.0), "{eval}");
        assert!(value(0, "sites_updated").is_number(), "{eval}");

        let board: Value = app
            .get(&app.iurl("/api/v1/staff/dashboards/data"), &admin)
            .await
            .json()
            .await
            .unwrap();
        let chart = board["charts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "sites")
            .unwrap_or_else(|| panic!("no website-group panel: {board}"))
            .clone();
        let labels: Vec<&str> = chart["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let i = labels.iter().position(|l| *l == "无锡市人民政府").unwrap();
        assert_eq!(chart["series"][0]["values"][i], json!(6.0), "{chart}");
        let fig = board["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "disclosure_requests")
            .map(|f| f["value"].clone());
        assert_eq!(fig, Some(json!(1.0)), "{board}");
    }
);
