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
        // Counted views of places that do not exist (a site since removed, an article on
        // another site's address, one that is gone) are dropped when written.
        let id = article.rsplit('/').next().unwrap().to_owned();
        let day = today.format("%Y-%m-%d").to_string();
        for path in [
            "/sites/nope".to_owned(),
            "/sites/nope/columns/news".to_owned(),
            format!("/sites/gaj/articles/{id}"),
            "/sites/portal/articles/987654321".to_owned(),
            "/sites/gaj".to_owned(),
        ] {
            tongban_portal::visits::record(
                app.db(),
                &app.ctx.config.database_url,
                day.clone(),
                &path,
                "localhost",
                "198.51.100.7",
                "probe",
            );
        }
        tongban_portal::visits::flush(&app.ctx).await.unwrap();
        let (f2, t2) = (
            day.clone(),
            today.succ_opt().unwrap().format("%Y-%m-%d").to_string(),
        );
        let p = app
            .db()
            .read(move |c| tongban_portal::stats::period(c, &f2, &t2, 0, i64::MAX))
            .await
            .unwrap();
        let site = |code: &str| p.by_site.iter().find(|s| s.code == code).unwrap().clone();
        assert_eq!((site("gaj").views, site("gaj").visitors), (2, 2), "{p:?}");
        assert_eq!(p.views, 8, "{p:?}");
        assert!(p.by_site.iter().all(|s| s.code != "nope"), "{p:?}");

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
        assert_eq!(value(1, "site_visits"), json!(8.0), "{eval}");
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

on_both_engines!(editors_per_site, |app: TestApp| async move {
    // 梁溪区 owns the district site `lxq`; it opens a second site and assigns one editor to it.
    let admin = app.staff("xps1", "wx-lxq", &[Role::Admin]).await;
    let anywhere = app.staff("xps2", "wx-lxq", &[Role::SiteEditor]).await;
    let only_new = app.staff("xps3", "wx-lxq", &[Role::SiteEditor]).await;
    app.staff("xps4", "wx-gaj", &[Role::SiteEditor]).await;
    let site = |staff: Value| {
        json!({"code": "x", "kind": "district", "name": "梁溪区文明办", "department": "wx-lxq",
            "index_scheme": "LXWM/{year}-{seq}", "columns": [{"code": "news", "name": "工作动态"}],
            "staff": staff})
    };
    let put = |body: Value| {
        let (client, url, token) = (
            app.client.clone(),
            app.iurl("/api/v1/staff/sites/lxwm"),
            admin.clone(),
        );
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Only the owner's site editors and reviewers can be assigned.
    for bad in ["xps4", "nobody"] {
        let (s, code, body) = error_code(put(site(json!([bad]))).await).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_site"),
            "{body}"
        );
        assert!(body.contains(bad), "{body}");
    }
    let r = put(site(json!(["xps3"]))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let one: Value = app
        .get(&app.iurl("/api/v1/staff/sites/lxwm"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["staff"], json!(["xps3"]));
    let public: Value = app
        .client
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = public["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "lxwm")
        .unwrap()
        .clone();
    assert_eq!(listed["staff"], json!([]));

    let draft = |site: &str| json!({"site": site, "column": "news", "title": "文明实践活动"});
    let create = |token: &String, site: &str| {
        let (client, url, token, body) = (
            app.client.clone(),
            app.iurl("/api/v1/staff/articles"),
            token.clone(),
            draft(site),
        );
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The assigned editor writes for that site only; an unassigned one for every site of 梁溪区.
    assert_eq!(create(&only_new, "lxwm").await, StatusCode::CREATED);
    assert_eq!(create(&only_new, "lxq").await, StatusCode::FORBIDDEN);
    assert_eq!(create(&anywhere, "lxwm").await, StatusCode::CREATED);
    assert_eq!(create(&anywhere, "lxq").await, StatusCode::CREATED);
    // Unassigned again, the editor acts on every site of the department.
    let r = put(site(json!([]))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(create(&only_new, "lxq").await, StatusCode::CREATED);
});
