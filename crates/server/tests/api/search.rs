//! The one search over HTTP: `GET /api/v1/search` and the `/search` page find matters by
//! what citizens type (synonyms, a one-character slip), with snippets and facets; the
//! catalogue's `/matters?q=` ranks by the same index; a matter taken offline leaves the
//! index at the next worker pass; `tongban search rebuild` makes every node build afresh.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;

async fn search(app: &TestApp, query: &str) -> Value {
    let r = app
        .client
        .get(app.url("/api/v1/search"))
        .query(&[("q", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

on_both_engines!(finds_what_citizens_type, |app: TestApp| async move {
    tongban_portal::search::build(&app.ctx).await.unwrap();
    // Words the catalogue does not use, and a slip of one character.
    for (q, first) in [
        ("医保", "WX-YB-001"),
        ("社保卡", "WX-RS-004"),
        ("开公司", "WX-SJ-001"),
        ("提取公积金", "WX-GJ-001"),
        ("生育等级", "WX-WJ-001"),
    ] {
        let v = search(&app, q).await;
        assert_eq!(v["items"][0]["id"], first, "{q}: {v}");
        assert_eq!(v["items"][0]["type"], "matter");
    }
    let v = search(&app, "公积金").await;
    assert!(v["total"].as_u64().unwrap() >= 3, "{v}");
    // Matters, and the sites' articles that mention it.
    let kinds: u64 = v["facets"]["type"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(kinds, v["total"].as_u64().unwrap(), "{v}");
    assert!(v["facets"]["type"]["matter"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["facets"]["department"]["wx-gjj"], 3, "{v}");
    let snippet = v["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<b>公积金</b>"), "{snippet}");
    // Narrowed by department; refused filters say what to fix.
    let r: Value = app
        .client
        .get(app.url("/api/v1/search?q=%E5%85%AC%E7%A7%AF%E9%87%91&department=wx-ybj"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["total"], 0);
    let (s, code, _) = error_code(
        app.client
            .get(app.url("/api/v1/search?q=x&type=novel"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, code.as_str()), (StatusCode::BAD_REQUEST, "bad_type"));
    let long = "长".repeat(101);
    let (s, code, _) = error_code(
        app.client
            .get(app.url("/api/v1/search"))
            .query(&[("q", long.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "query_too_long")
    );

    // The page, and the catalogue ranked by the same index.
    let page = app
        .client
        .get(app.url("/search"))
        .query(&[("q", "生孩子")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("生育登记") && page.contains("<b>"), "{page}");
    let matters: Value = app
        .client
        .get(app.url("/api/v1/matters"))
        .query(&[("q", "医保")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(matters["items"][0]["code"], "WX-YB-001", "{matters}");

    // Taken offline: gone at the next pass of the follower.
    let admin = app
        .staff(
            "xs-admin",
            "wx-ybj",
            &[tongban_platform::identity::Role::Admin],
        )
        .await;
    let cookie = with_csrf(&format!("tongban_staff={admin}"));
    let r = app
        .client
        .post(app.iurl("/console/matters/WX-YB-001/publish"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_for(&cookie).as_str()), ("published", "false")])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    tongban_portal::search::catch_up(&app.ctx).await.unwrap();
    let v = search(&app, "医保").await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != "WX-YB-001"),
        "{v}"
    );

    // A rebuild asked for from the command line is done at the next pass.
    let url = app.ctx.config.database_url.clone();
    let o = tongban(&url, app.dir.path(), &["search", "rebuild"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tongban_portal::search::catch_up(&app.ctx).await.unwrap();
    let v = search(&app, "公积金").await;
    assert!(v["total"].as_u64().unwrap() >= 3, "{v}");
});

on_both_engines!(synonyms_edited_at_run_time, |app: TestApp| async move {
    tongban_portal::search::build(&app.ctx).await.unwrap();
    let admin = app
        .staff(
            "xs2-admin",
            "wx-sw",
            &[tongban_platform::identity::Role::Admin],
        )
        .await;
    let clerk = app
        .staff(
            "xs2-clerk",
            "wx-sw",
            &[tongban_platform::identity::Role::Clerk],
        )
        .await;
    let before = search(&app, "新房通水").await;
    assert_ne!(before["items"][0]["id"], "WX-SW-001", "{before}");
    let put = |token: String, body: &'static str| {
        let (client, url) = (
            app.client.clone(),
            app.iurl("/api/v1/staff/search/synonyms"),
        );
        async move {
            client
                .put(url)
                .bearer_auth(token)
                .header("content-type", "text/plain; charset=utf-8")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // Bad lines are named; nothing is saved.
    let r = put(admin.clone(), "通水 = 用水 报装\n没有等号\n = 空").await;
    let (s, code, msg) = error_code(r).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_synonyms")
    );
    assert!(msg.contains("line 2") && msg.contains("line 3"), "{msg}");
    assert_eq!(
        put(clerk, "通水 = 用水 报装").await.status(),
        StatusCode::FORBIDDEN
    );
    let r = put(admin.clone(), "# 供水\n通水 = 用水 报装\n").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Every node takes it at its next pass.
    tongban_portal::search::catch_up(&app.ctx).await.unwrap();
    let after = search(&app, "新房通水").await;
    assert_eq!(after["items"][0]["id"], "WX-SW-001", "{after}");
    let got: Value = app
        .get(&app.iurl("/api/v1/staff/search/synonyms"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert!(got["list"].as_str().unwrap().contains("通水 = 用水 报装"));
});

on_both_engines!(for_machines, |app: TestApp| async move {
    let text = |path: &'static str| {
        let (client, url) = (app.client.clone(), app.url(path));
        async move {
            let r = client.get(url).send().await.unwrap();
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            (r.status(), ct, r.text().await.unwrap())
        }
    };
    let (s, ct, robots) = text("/robots.txt").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/plain"), "{ct}");
    let base = app.ctx.config.public_base();
    assert!(
        robots.contains(&format!("Sitemap: {base}/sitemap.xml")),
        "{robots}"
    );
    assert!(robots.contains("Disallow: /my/"), "{robots}");
    let (s, ct, map) = text("/sitemap.xml").await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("application/xml"), "{ct}");
    assert!(map.starts_with("<?xml") && map.trim_end().ends_with("</urlset>"));
    assert!(
        map.contains(&format!("<loc>{base}/matters/WX-WJ-001</loc>")),
        "{map}"
    );
    // Four pages, 37 guides; the website group's index, each demo site's home, 政务公开
    // catalogue and columns (4 sites, 13 columns), and its 7 published articles.
    assert_eq!(
        map.matches("<url>").count(),
        4 + 37 + 1 + 4 * 2 + 13 + 7,
        "{map}"
    );
    // The guide says what it is to machines too: schema.org GovernmentService.
    let (_, _, guide) = text("/matters/WX-WJ-001").await;
    let start = guide
        .find("<script type=\"application/ld+json\">")
        .expect("JSON-LD")
        + 35;
    let end = start + guide[start..].find("</script>").unwrap();
    let ld: Value = serde_json::from_str(&guide[start..end]).unwrap();
    assert_eq!(ld["@type"], "GovernmentService");
    assert_eq!(ld["identifier"], "WX-WJ-001");
    assert_eq!(ld["provider"]["name"], "无锡市卫生健康委员会");
    assert_eq!(
        ld["availableChannel"]["serviceUrl"],
        format!("{base}/matters/WX-WJ-001/apply")
    );
});

on_both_engines!(synonyms_on_the_console, |app: TestApp| async move {
    let admin = app
        .staff(
            "xs3-admin",
            "wx-sw",
            &[tongban_platform::identity::Role::Admin],
        )
        .await;
    let page = app.console_page("/console/search", &admin).await;
    assert!(
        page.contains("医保 = 医疗保险"),
        "the shipped list is shown"
    );
    assert!(
        page.contains("href=\"/console/search\""),
        "the menu links it"
    );
    let cookie = with_csrf(&format!("tongban_staff={admin}"));
    let post = |list: &'static str| {
        let (client, url, cookie) = (
            app.client.clone(),
            app.iurl("/console/search"),
            cookie.clone(),
        );
        async move {
            let r = client
                .post(url)
                .header("cookie", &cookie)
                .form(&[("csrf", csrf_for(&cookie).as_str()), ("list", list)])
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.text().await.unwrap())
        }
    };
    // A bad line is named, and the text comes back to correct.
    let (s, page) = post("通水 = 用水\r\n坏行\r\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("line 2") && page.contains("坏行"), "{page}");
    let (s, page) = post("通水 = 用水 报装\r\n").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("已保存：1 个词有同义词"), "{page}");
    let got: Value = app
        .get(&app.iurl("/api/v1/staff/search/synonyms"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["list"], "通水 = 用水 报装\n", "line ends made plain");
});
