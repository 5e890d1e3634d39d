//! The website group over HTTP: sites are data (saved by their department's administrator,
//! served at `/sites/{code}` and at `/` of their own host, with a logo); articles go draft →
//! review → published (now or at a set time) → withdrawn, each step by the right role of the
//! owning department and audited; files are checked by content and pictures lose their
//! EXIF; published articles reach their pages, the catalogue of 政务公开, the Atom feeds, the
//! sitemap and the one search, and leave them when withdrawn.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

async fn text(app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn step(app: &TestApp, token: &str, id: i64, action: &str, body: Value) -> reqwest::Response {
    app.post(
        &app.iurl(&format!("/api/v1/staff/articles/{id}/{action}")),
        token,
        body,
    )
    .await
}

/// A JPEG whose APP1 segment carries GPS coordinates.
fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 16, y as u8 * 32, 200]));
    let mut plain = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&img)
        .unwrap();
    let plain = plain.into_inner();
    let payload = b"Exif\0\0MM\0*GPSLatitude 31.49N GPSLongitude 120.31E";
    let len = (payload.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

async fn attach(
    app: &TestApp,
    token: &str,
    id: i64,
    name: &str,
    data: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.iurl(&format!("/api/v1/staff/articles/{id}/files")))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(data)
        .send()
        .await
        .unwrap()
}

on_both_engines!(
    articles_from_draft_to_withdrawn,
    |app: TestApp| async move {
        tongban_portal::search::build(&app.ctx).await.unwrap();
        let editor = app.staff("xwe1", "wx-zfb", &[Role::SiteEditor]).await;
        let reviewer = app.staff("xwr1", "wx-zfb", &[Role::SiteReviewer]).await;
        let stranger = app.staff("xwe2", "wx-gaj", &[Role::SiteEditor]).await;
        let both = app
            .staff("xwb1", "wx-zfb", &[Role::SiteEditor, Role::SiteReviewer])
            .await;
        let draft = json!({"site": "portal", "column": "policies", "title": "关于推进政务服务标准化的通知",
        "summary": "标准化建设", "body": "第一段。\n\n第二段：推进标准化。", "topic": "综合政务",
        "doc_kind": "行政规范性文件", "doc_no": "锡政办发〔2026〕7号", "written_on": "2026-01-05", "validity": "有效"});

        // Bad input is named field by field; another department's editor is refused.
        let mut bad = draft.clone();
        bad["column"] = json!("nope");
        bad["written_on"] = json!("2999-01-01");
        bad["topic"] = json!("不存在");
        let (s, code, body) = error_code(
            app.post(&app.iurl("/api/v1/staff/articles"), &editor, bad)
                .await,
        )
        .await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_article"),
            "{body}"
        );
        for f in ["column", "written_on", "topic"] {
            assert!(body.contains(f), "{f}: {body}");
        }
        let r = app
            .post(
                &app.iurl("/api/v1/staff/articles"),
                &stranger,
                draft.clone(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);

        let r = app
            .post(&app.iurl("/api/v1/staff/articles"), &editor, draft.clone())
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let a: Value = r.json().await.unwrap();
        let id = a["id"].as_i64().unwrap();
        assert_eq!(a["state"], "draft");
        assert_eq!(a["issuer"], "无锡市人民政府办公室");
        assert!(a["index_no"].is_null());
        // Nothing of a draft is public.
        assert_eq!(
            text(&app, &format!("/api/v1/articles/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            text(&app, &format!("/sites/portal/articles/{id}")).await.0,
            StatusCode::NOT_FOUND
        );

        // Files: by content, size-limited (64 KB in tests), pictures re-encoded.
        let r = attach(
            &app,
            &editor,
            id,
            "正文.pdf",
            b"%PDF-1.7\n1 0 obj\n".to_vec(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = attach(&app, &editor, id, "现场.jpg", jpeg_with_exif()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let photo: Value = r.json().await.unwrap();
        let r = attach(
            &app,
            &editor,
            id,
            "x.pdf",
            b"<html><script>alert(1)</script>".to_vec(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let mut big = b"%PDF-1.7\n".to_vec();
        big.resize(65 * 1024, b'x');
        let (s, _, body) = error_code(attach(&app, &editor, id, "big.pdf", big).await).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("larger than"), "{body}");

        // A reviewer does not edit; an editor does not publish; a draft is not published.
        let r = app
            .client
            .put(app.iurl(&format!("/api/v1/staff/articles/{id}")))
            .bearer_auth(&reviewer)
            .json(&draft)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            step(&app, &reviewer, id, "publish", json!({}))
                .await
                .status(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            step(&app, &editor, id, "submit", json!({})).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            step(&app, &editor, id, "publish", json!({})).await.status(),
            StatusCode::FORBIDDEN
        );
        // Once under review it is no longer edited.
        let r = app
            .client
            .put(app.iurl(&format!("/api/v1/staff/articles/{id}")))
            .bearer_auth(&editor)
            .json(&draft)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let r = step(&app, &reviewer, id, "publish", json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["state"], "published");
        let year = app.ctx.today().format("%Y").to_string();
        let index_no = a["index_no"].as_str().unwrap().to_owned();
        assert!(
            index_no.starts_with(&format!("01401447X/{year}-")),
            "{index_no}"
        );
        assert_eq!(
            a["published_on"],
            app.ctx.today().format("%Y-%m-%d").to_string()
        );

        // Its page with the 政务公开 metadata, its files, the catalogue, the feeds, the sitemap.
        let (s, page) = text(&app, &format!("/sites/portal/articles/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        for want in [
            "关于推进政务服务标准化的通知",
            "索引号",
            "锡政办发〔2026〕7号",
            "2026-01-05",
            "有效",
            "第二段：推进标准化。",
        ] {
            assert!(page.contains(want), "{want}");
        }
        let r = app
            .client
            .get(app.url(photo["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        assert!(
            !bytes.windows(11).any(|w| w == b"GPSLatitude"),
            "EXIF survived"
        );
        let (_, gk) = text(
            &app,
            "/sites/portal/gk?topic=%E7%BB%BC%E5%90%88%E6%94%BF%E5%8A%A1",
        )
        .await;
        assert!(gk.contains("关于推进政务服务标准化的通知"));
        let (s, feed) = text(&app, "/sites/portal/columns/policies/feed.atom").await;
        assert_eq!(s, StatusCode::OK);
        assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""));
        assert!(
            feed.contains(&format!("/sites/portal/articles/{id}</id>")),
            "{feed}"
        );
        assert!(text(&app, "/sites/portal/columns/news/feed.atom")
            .await
            .1
            .find("关于推进政务服务标准化")
            .is_none());
        assert_eq!(
            text(&app, "/sites/portal/columns/nope/feed.atom").await.0,
            StatusCode::NOT_FOUND
        );
        assert!(text(&app, "/sitemap.xml")
            .await
            .1
            .contains(&format!("/sites/portal/articles/{id}</loc>")));
        let v: Value = app
            .client
            .get(app.url("/api/v1/sites/portal/articles?column=policies"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            v["items"].as_array().unwrap().iter().any(|x| x["id"] == id),
            "{v}"
        );

        // The one search finds it at the next pass, on this site.
        tongban_portal::search::catch_up(&app.ctx).await.unwrap();
        let v: Value = app
            .client
            .get(app.url("/api/v1/search?q=%E6%A0%87%E5%87%86%E5%8C%96&type=article&site=portal"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["items"][0]["id"], id.to_string(), "{v}");

        // The site's search box keeps to the site.
        let (_, page) = text(&app, "/search?q=%E6%A0%87%E5%87%86%E5%8C%96&site=portal").await;
        assert!(page.contains("关于推进政务服务标准化的通知"), "{page}");
        assert!(page.contains(r#"name="site" value="portal""#), "{page}");
        // Withdrawn: a reason is required; then it is gone from pages, files and search.
        assert_eq!(
            step(&app, &reviewer, id, "withdraw", json!({}))
                .await
                .status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let r = step(
            &app,
            &reviewer,
            id,
            "withdraw",
            json!({"note": "已被新文件替代"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            text(&app, &format!("/sites/portal/articles/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            text(&app, photo["url"].as_str().unwrap()).await.0,
            StatusCode::NOT_FOUND
        );
        tongban_portal::search::catch_up(&app.ctx).await.unwrap();
        let v: Value = app
            .client
            .get(app.url("/api/v1/search?q=%E6%A0%87%E5%87%86%E5%8C%96&type=article&site=portal"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["total"], 0, "{v}");

        // Nobody publishes their own article.
        let r = app
            .post(&app.iurl("/api/v1/staff/articles"), &both, draft.clone())
            .await;
        let own = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        assert_eq!(
            step(&app, &both, own, "submit", json!({})).await.status(),
            StatusCode::OK
        );
        assert_eq!(
            step(&app, &both, own, "publish", json!({})).await.status(),
            StatusCode::FORBIDDEN
        );
        // Sent back with a reason, it is a draft again.
        let r = step(
            &app,
            &reviewer,
            own,
            "return",
            json!({"note": "请补充依据"}),
        )
        .await;
        assert_eq!(r.json::<Value>().await.unwrap()["state"], "draft");

        // Scheduled: out of sight until its time, then published by the worker, once.
        let r = app
            .post(&app.iurl("/api/v1/staff/articles"), &editor, draft.clone())
            .await;
        let later = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        step(&app, &editor, later, "submit", json!({})).await;
        let at = tongban_platform::time::rfc3339(
            tongban_platform::time::now_millis() + 3_600_000,
            app.ctx.tz,
        );
        let r = step(&app, &reviewer, later, "publish", json!({"publish_at": at})).await;
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["state"], "scheduled", "{a}");
        assert_eq!(
            text(&app, &format!("/sites/portal/articles/{later}"))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(tongban_portal::tick(&app.ctx).await.unwrap(), 0);
        let (tz, due) = (app.ctx.tz, tongban_platform::time::now_millis() + 7_200_000);
        let n = app
            .ctx
            .db
            .write(move |c| tongban_portal::articles::flow::publish_due(c, due, tz))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let n = app
            .ctx
            .db
            .write(move |c| tongban_portal::articles::flow::publish_due(c, due, tz))
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(
            text(&app, &format!("/sites/portal/articles/{later}"))
                .await
                .0,
            StatusCode::OK
        );

        // Every step is in the audit log and on the article.
        tongban_platform::audit::settle(app.db()).await.unwrap();
        let actions: Vec<String> = app
            .db()
            .read(|c| {
                c.query(
                    "SELECT action, result FROM audit_log WHERE action LIKE 'article.%'",
                    &[],
                )?
                .iter()
                .map(|r| Ok(format!("{}:{}", r.get_str("action")?, r.get_str("result")?)))
                .collect()
            })
            .await
            .unwrap();
        for want in [
            "article.create:ok",
            "article.create:denied",
            "article.attach:ok",
            "article.submit:ok",
            "article.publish:ok",
            "article.publish:denied",
            "article.withdraw:ok",
            "article.return:ok",
        ] {
            assert!(
                actions.iter().any(|a| a == want),
                "{want} not in {actions:?}"
            );
        }
        let r = app
            .get(&app.iurl(&format!("/api/v1/staff/articles/{id}")), &editor)
            .await;
        let events: Vec<String> = r.json::<Value>().await.unwrap()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(events, ["create", "submit", "published", "withdraw"]);
    }
);

on_both_engines!(sites_are_data, |app: TestApp| async move {
    let admin = app.staff("xsa1", "wx-gaj", &[Role::Admin]).await;
    let other = app.staff("xsa2", "wx-wjw", &[Role::Admin]).await;
    let clerk = app.staff("xsc1", "wx-gaj", &[Role::Clerk]).await;
    let site = json!({"code": "x", "kind": "department", "name": "无锡公安网上警局", "name_en": "Wuxi Police Online",
        "department": "wx-gaj", "host": "police.test", "index_scheme": "GA/{year}-{seq}", "position": 5,
        "columns": [{"code": "news", "name": "警务动态"}, {"code": "guides", "name": "办事指引"}]});
    let put = |token: String, body: Value| {
        let (client, url) = (app.client.clone(), app.iurl("/api/v1/staff/sites/police"));
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
    assert_eq!(
        put(clerk.clone(), site.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(other.clone(), site.clone()).await.status(),
        StatusCode::FORBIDDEN
    );
    let mut bad = site.clone();
    bad["host"] = json!("Bad Host:80");
    bad["columns"] = json!([]);
    let (s, code, body) = error_code(put(admin.clone(), bad).await).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_site")
    );
    assert!(body.contains("host") && body.contains("columns"), "{body}");
    let r = put(admin.clone(), site.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["created"], true);
    // A host already taken is refused.
    let mut clash = site.clone();
    clash["code"] = json!("y");
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/sites/police2"))
        .bearer_auth(&admin)
        .json(&clash)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Served at its path and at `/` of its host, with its columns as navigation.
    let (s, page) = text(&app, "/sites/police").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("无锡公安网上警局") && page.contains("办事指引"));
    let by_host = app
        .client
        .get(app.url("/"))
        .header("host", "police.test")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(by_host.contains("警务动态"), "the host's / is not the site");
    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("警务动态"));
    // Hosts are not told to the public.
    let v: Value = app
        .client
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let police = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "police")
        .unwrap()
        .clone();
    assert!(police["host"].is_null());
    assert!(v["topics"].as_array().unwrap().len() >= 20);

    // The logo, re-encoded; anything else refused.
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/sites/police/logo"))
        .bearer_auth(&admin)
        .body(b"GIF89a not really".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/sites/police/logo"))
        .bearer_auth(&admin)
        .body(jpeg_with_exif())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .get(app.url("/sites/police/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let bytes = r.bytes().await.unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"GPSLatitude"));
    assert!(text(&app, "/sites/police").await.1.contains("/logo"));
    // Only the owner's administrator changes the logo; refusals are audited with the saves'.
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/sites/police/logo"))
        .bearer_auth(&other)
        .body(jpeg_with_exif())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .put(app.iurl("/api/v1/staff/sites/nope/logo"))
        .bearer_auth(&admin)
        .body(jpeg_with_exif())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "no_such_site");
    let audited = app.audit_counts("site.").await;
    assert_eq!(
        audited,
        [
            "site.logo denied 1",
            "site.logo ok 1",
            "site.save denied 2",
            "site.save ok 1"
        ]
    );

    // From a file on the command line, all or nothing.
    let db_url = app.ctx.config.database_url.clone();
    std::fs::write(app.dir.path().join("bad.json"), r#"{"sites": [{"code": "ok", "kind": "district", "name": "A", "department": "wx-lxq", "index_scheme": "A/{seq}", "columns": [{"code": "n", "name": "N"}]}, {"code": "BAD", "kind": "x", "name": "", "department": "wx-lxq", "index_scheme": "", "columns": []}]}"#).unwrap();
    let out = crate::cli::tongban(
        &db_url,
        app.dir.path(),
        &["sites", "load", "bad.json"],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BAD") && err.contains("kind"), "{err}");
    assert_eq!(text(&app, "/sites/ok").await.0, StatusCode::NOT_FOUND);
    std::fs::write(app.dir.path().join("good.json"), r#"{"sites": [{"code": "xishan", "kind": "district", "name": "锡山区人民政府", "department": "wx-lxq", "index_scheme": "XS/{year}-{seq}", "columns": [{"code": "news", "name": "锡山要闻"}]}]}"#).unwrap();
    let out = crate::cli::tongban(
        &db_url,
        app.dir.path(),
        &["sites", "load", "good.json"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = crate::cli::tongban(&db_url, app.dir.path(), &["sites", "list"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("xishan\tdistrict\t锡山区人民政府"));
    assert!(text(&app, "/sites/xishan").await.1.contains("锡山要闻"));
});
