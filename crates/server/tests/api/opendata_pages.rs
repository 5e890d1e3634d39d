//! The open data pages: the catalogue with facets that filter, a dataset with its preview
//! table (labels, suppressed cells), chart and API calls, the API guide, and the
//! request-a-dataset form (errors kept, a request made and answered in public).

use crate::helpers::*;
use crate::on_both_engines;
use crate::opendata::{action, token_for};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::json;
use tongban_platform::identity::Role;

on_both_engines!(data_pages, |app: TestApp| async move {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let get = |path: String| {
        let client = client.clone();
        let url = app.url(&path);
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let publisher = app.staff("xpg1", "wx-zjj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    let (s, v) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "new-homes", "title": "新建住房套数", "notes": "按区统计的新建住房",
               "groups": [{"name": "housing"}], "tags": [{"name": "住房"}], "frequency": "monthly"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = action(
        &app,
        "datastore_create",
        Some(&token),
        json!({"resource": {"package_id": "new-homes", "name": "按区"},
               "fields": [{"id": "district", "type": "text", "info": {"label": "区县"}},
                          {"id": "homes", "type": "int", "info": {"label": "套数"}}],
               "records": [{"district": "甲区", "homes": 120}, {"district": "乙区", "homes": 80},
                           {"district": "丙区", "homes": null}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let rid = v["result"]["resource_id"].as_str().unwrap().to_owned();
    action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "bus-stops", "title": "公交站点", "groups": [{"name": "transport"}]}),
    )
    .await;

    // The catalogue, with facets named as people read them, that filter.
    let (s, html) = get("/data".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("新建住房套数") && html.contains("公交站点"),
        "{html}"
    );
    assert!(html.contains("无锡市住房和城乡建设局") && html.contains("城建住房"));
    assert!(html.contains("共 2 个数据集"), "{html}");
    let (_, html) = get("/data?groups=housing".into()).await;
    assert!(html.contains("新建住房套数") && !html.contains("公交站点"));
    assert!(html.contains("共 1 个数据集"));
    let (_, html) = get(format!("/data?q={}", "公交")).await;
    assert!(!html.contains("新建住房套数") && html.contains("公交站点"));
    // What is typed is read as words, never as a filter the page did not offer.
    let (s, html) = get("/data?q=owner:x%22".into()).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let (s, _) = get("/data?page=0".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The dataset: facts, resources, a preview with labels, a chart, the calls.
    let (s, html) = get("/data/dataset/new-homes".into()).await;
    assert_eq!(s, StatusCode::OK);
    for part in [
        "按区统计的新建住房",
        "每月",
        "<th scope=\"col\">区县<br><code>district</code></th>",
        "<td data-label=\"套数\">120</td>",
        "<td data-label=\"套数\">—</td>",
        "<svg role=\"img\"",
        &format!("/datastore/dump/{rid}?format=xlsx"),
        &format!("datastore_search?resource_id={rid}"),
        "datastore_search_sql",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let (s, _) = get("/data/dataset/no-such-set".into()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html) = get("/data/api".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("ckanapi") && html.contains("datastore_search_sql"));
    assert!(html.contains("/catalog.ttl"));

    // A request: refused without a title (what was typed kept), then made and listed.
    let cookie = with_csrf("");
    let post = |form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let (url, cookie) = (app.url("/data/request"), cookie.clone());
        let origin = app.url("");
        async move {
            client
                .post(url)
                .header("cookie", cookie)
                .header("origin", origin.trim_end_matches('/'))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(vec![
        ("csrf", csrf_for(&cookie)),
        ("title", "x".into()),
        ("description", "每月公交客流".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("每月公交客流") && html.contains("has-error"),
        "{html}"
    );
    let r = post(vec![
        ("csrf", "forged".into()),
        ("title", "公交客流".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(vec![
        ("csrf", csrf_for(&cookie)),
        ("title", "公交客流".into()),
        ("description", "各线路每月客流".into()),
        ("department", "wx-zjj".into()),
        ("contact", "13900000000".into()),
    ])
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let (_, html) = get("/data/requests".into()).await;
    assert!(html.contains("公交客流") && html.contains("待答复"));
    assert!(!html.contains("13900000000"), "the contact is not public");

    // Publishers see it with the contact and answer it; the answer is public.
    let list: serde_json::Value = app
        .get(&app.iurl("/api/v1/staff/opendata/requests"), &publisher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["contact"], "13900000000");
    let id = list["items"][0]["id"].as_i64().unwrap();
    let other = app.staff("xpg2", "wx-gaj", &[Role::DataPublisher]).await;
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/opendata/requests/{id}")),
            &other,
            json!({"status": "planned", "reply": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "another department's");
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/opendata/requests/{id}")),
            &publisher,
            json!({"status": "declined"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "say why");
    let r = app
        .post(
            &app.iurl(&format!("/api/v1/staff/opendata/requests/{id}")),
            &publisher,
            json!({"status": "planned", "reply": "将于下月开放"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, html) = get("/data/requests".into()).await;
    assert!(html.contains("计划开放") && html.contains("将于下月开放"));
});
