//! Open data through CKAN's Action API v3: publishers' tokens, datasets created, patched,
//! updated, searched (q, fq, facets, sort, paging), shown and deleted, resources added and
//! changed, drafts kept from the public, CKAN's envelope and error types, every write audited.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tongban_platform::identity::Role;

/// Call an action by POST with a JSON body (as ckanapi does); (status, envelope).
pub(crate) async fn action(
    app: &TestApp,
    name: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = app
        .client
        .post(app.url(&format!("/api/3/action/{name}")))
        .json(&body);
    if let Some(t) = token {
        r = r.header("Authorization", t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

pub(crate) async fn token_for(app: &TestApp, staff: &str) -> String {
    let r = app
        .post(
            &app.iurl("/api/v1/staff/opendata/tokens"),
            staff,
            json!({"name": "test", "days": 30}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both_engines!(ckan_catalogue_end_to_end, |app: TestApp| async move {
    let publisher = app.staff("xod1", "wx-gaj", &[Role::DataPublisher]).await;
    let other = app.staff("xod2", "wx-wjw", &[Role::DataPublisher]).await;
    let clerk = app.staff("xod3", "wx-gaj", &[Role::Clerk]).await;
    // Tokens: publishers only, shown once.
    let r = app
        .post(
            &app.iurl("/api/v1/staff/opendata/tokens"),
            &clerk,
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let token = token_for(&app, &publisher).await;
    assert!(token.starts_with("tbod_"));
    let other_token = token_for(&app, &other).await;
    let listed: Value = app
        .get(&app.iurl("/api/v1/staff/opendata/tokens"), &publisher)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert!(!listed.to_string().contains(&token));

    // The envelope, anonymous reads.
    let (s, v) = action(&app, "site_read", None, json!({})).await;
    assert_eq!(
        (s, v["success"].clone(), v["result"].clone()),
        (200, json!(true), json!(true))
    );
    assert!(v["help"]
        .as_str()
        .unwrap()
        .contains("help_show?name=site_read"));
    let (s, v) = action(&app, "no_such_action", None, json!({})).await;
    assert_eq!(s, 404);
    assert_eq!(v["success"], false);
    assert_eq!(v["error"]["__type"], "Not Found Error");
    let groups: Value = app
        .client
        .get(app.url("/api/3/action/group_list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(groups["result"]
        .as_array()
        .unwrap()
        .contains(&json!("transport")));

    // Writing needs a valid publisher's token.
    let dataset = json!({
        "name": "bus-stops", "title": "公交站点", "notes": "全市公交站点位置与线路",
        "owner_org": "wx-gaj", "license_id": "cc-by-4.0", "frequency": "monthly",
        "tags": [{"name": "公交"}, {"name": "交通"}], "groups": [{"name": "transport"}],
        "resources": [{"name": "站点表", "url": "https://data.example.cn/stops.csv", "format": "csv"}]
    });
    let (s, v) = action(&app, "package_create", None, dataset.clone()).await;
    assert_eq!(
        (s, v["error"]["__type"].as_str()),
        (403, Some("Authorization Error"))
    );
    let (s, _) = action(&app, "package_create", Some("tbod_forged"), dataset.clone()).await;
    assert_eq!(s, 403);
    let (s, v) = action(&app, "package_create", Some(&other_token), dataset.clone()).await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = action(&app, "package_create", Some(&token), dataset.clone()).await;
    assert_eq!(s, 200, "{v}");
    let created = v["result"].clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    assert_eq!(created["organization"]["name"], "wx-gaj");
    assert_eq!(created["num_resources"], 1);
    assert_eq!(created["resources"][0]["format"], "CSV");
    assert_eq!(created["tags"].as_array().unwrap().len(), 2);
    assert_eq!(created["version"], "1");
    // The same name again, and bad fields: CKAN's validation error, by field.
    let (s, v) = action(&app, "package_create", Some(&token), dataset.clone()).await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["__type"], "Validation Error");
    assert_eq!(v["error"]["name"][0], "That URL is already in use.");
    let (s, v) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "Bad Name!", "license_id": "mine", "frequency": "hourly", "groups": [{"name": "nope"}]}),
    )
    .await;
    assert_eq!(s, 409);
    for f in ["name", "license_id", "frequency"] {
        assert!(v["error"][f].is_array(), "{f}: {v}");
    }
    // A draft: hidden from everyone but its department's publishers.
    let (s, v) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "draft-set", "title": "草稿数据", "private": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["state"], "draft");
    let (s, _) = action(&app, "package_show", None, json!({"id": "draft-set"})).await;
    assert_eq!(s, 404);
    let (s, _) = action(
        &app,
        "package_show",
        Some(&token),
        json!({"id": "draft-set"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = action(
        &app,
        "package_show",
        Some(&other_token),
        json!({"id": "draft-set"}),
    )
    .await;
    assert_eq!(s, 404);

    // A second published dataset of another department, for the search.
    let (s, v) = action(
        &app,
        "package_create",
        Some(&other_token),
        json!({"name": "clinics", "title": "医疗机构名录", "notes": "社区卫生服务中心",
               "tags": [{"name": "医疗"}], "groups": [{"name": "health"}],
               "resources": [{"name": "名录", "url": "https://data.example.cn/c.xlsx"}]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["resources"][0]["format"], "XLSX");

    // Lists and search (GET with query strings, as browsers and curl call it).
    let get = |q: &str| {
        let url = app.url(&format!("/api/3/action/{q}"));
        let client = app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (_, v) = get("package_list").await;
    assert_eq!(v["result"], json!(["bus-stops", "clinics"]));
    let (_, v) = get("package_search?q=%E5%85%AC%E4%BA%A4").await;
    assert_eq!(v["result"]["count"], 1);
    assert_eq!(v["result"]["results"][0]["name"], "bus-stops");
    let (_, v) = get(
        "package_search?fq=organization:wx-wjw&facet.field=%5B%22organization%22,%22tags%22,%22res_format%22%5D",
    )
    .await;
    assert_eq!(v["result"]["count"], 1, "{v}");
    assert_eq!(v["result"]["facets"]["organization"]["wx-wjw"], 1);
    assert_eq!(v["result"]["facets"]["res_format"]["XLSX"], 1);
    let (_, v) = get("package_search?facet.field=%5B%22groups%22%5D&sort=name%20desc&rows=1").await;
    assert_eq!(v["result"]["count"], 2);
    assert_eq!(v["result"]["results"].as_array().unwrap().len(), 1);
    assert_eq!(v["result"]["results"][0]["name"], "clinics");
    assert_eq!(
        v["result"]["search_facets"]["groups"]["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, v) = get("package_search?fq=res_format:CSV%20tags:%E4%BA%A4%E9%80%9A").await;
    assert_eq!(v["result"]["count"], 1);
    let (s, v) = get("package_search?fq=author:x").await;
    assert_eq!(
        (s, v["error"]["__type"].as_str()),
        (409, Some("Search Query Error"))
    );
    let (s, v) = get("package_search?rows=5000").await;
    assert_eq!(
        (s, v["error"]["__type"].as_str()),
        (409, Some("Validation Error"))
    );
    let (_, v) = get("organization_list?all_fields=true").await;
    let gaj = v["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "wx-gaj")
        .unwrap()
        .clone();
    assert_eq!(gaj["package_count"], 1);
    let (_, v) = get("tag_list").await;
    assert_eq!(v["result"], json!(["交通", "公交", "医疗"]));
    let (_, v) = get("package_autocomplete?q=bus").await;
    assert_eq!(v["result"][0]["name"], "bus-stops");

    // Patch keeps what it does not name; update replaces; versions count up.
    let (s, v) = action(
        &app,
        "package_patch",
        Some(&token),
        json!({"id": id, "title": "公交站点（2026）"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["notes"], "全市公交站点位置与线路");
    assert_eq!(v["result"]["tags"].as_array().unwrap().len(), 2);
    assert_eq!(v["result"]["version"], "2");
    let (s, v) = action(
        &app,
        "package_patch",
        Some(&other_token),
        json!({"id": id, "title": "x"}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = action(
        &app,
        "package_update",
        Some(&token),
        json!({"id": id, "name": "bus-stops", "title": "公交站点"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["result"]["notes"], "");
    assert_eq!(
        v["result"]["num_resources"], 1,
        "resources kept when not sent"
    );
    // Resources.
    let (s, v) = action(
        &app,
        "resource_create",
        Some(&token),
        json!({"package_id": "bus-stops", "name": "线路", "url": "https://data.example.cn/lines.json"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let rid = v["result"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["result"]["format"], "JSON");
    let (s, v) = action(
        &app,
        "resource_patch",
        Some(&token),
        json!({"id": rid, "description": "按线路"}),
    )
    .await;
    assert_eq!((s, v["result"]["name"].as_str()), (200, Some("线路")));
    let (_, v) = get(&format!("resource_show?id={rid}")).await;
    assert_eq!(v["result"]["description"], "按线路");
    let (s, _) = action(&app, "resource_delete", Some(&token), json!({"id": rid})).await;
    assert_eq!(s, 200);
    let (s, _) = get(&format!("resource_show?id={rid}")).await;
    assert_eq!(s, 404);
    // Delete: gone from lists and search, 404 to show.
    let (s, _) = action(
        &app,
        "package_delete",
        Some(&token),
        json!({"id": "bus-stops"}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, v) = get("package_list").await;
    assert_eq!(v["result"], json!(["clinics"]));
    let (s, _) = get("package_show?id=bus-stops").await;
    assert_eq!(s, 404);

    // A revoked token writes no more; every write and every refusal of a publisher is audited.
    let r = app
        .client
        .delete(app.iurl(&format!(
            "/api/v1/staff/opendata/tokens/{}",
            listed["items"][0]["id"]
        )))
        .bearer_auth(&publisher)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "late"}),
    )
    .await;
    assert_eq!(s, 403);
    let rows = app.audit_counts("opendata.").await;
    assert_eq!(
        rows,
        [
            "opendata.package_create denied 1",
            "opendata.package_create ok 3",
            "opendata.package_delete ok 1",
            "opendata.package_patch denied 1",
            "opendata.package_patch ok 1",
            "opendata.package_update ok 1",
            "opendata.resource_create ok 1",
            "opendata.resource_delete ok 1",
            "opendata.resource_patch ok 1",
            "opendata.revoke ok 1",
            "opendata.token denied 1",
            "opendata.token ok 2",
        ]
    );
});

on_both_engines!(
    datastore_tables_typed_and_searched,
    |app: TestApp| async move {
        let publisher = app.staff("xds1", "wx-zjj", &[Role::DataPublisher]).await;
        let other = app.staff("xds2", "wx-gaj", &[Role::DataPublisher]).await;
        let token = token_for(&app, &publisher).await;
        let other_token = token_for(&app, &other).await;
        let (s, v) = action(
            &app,
            "package_create",
            Some(&token),
            json!({"name": "housing-starts", "title": "新建住房"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        // A table made with a new resource: typed fields, Chinese labels, an index.
        let fields = json!([
            {"id": "district", "type": "text", "info": {"label": "区县"}},
            {"id": "units", "type": "int", "info": {"label": "套数"}},
            {"id": "area", "type": "float"},
            {"id": "on", "type": "date", "info": {"label": "日期"}},
            {"id": "done", "type": "bool"}
        ]);
        let records = json!([
            {"district": "梁溪区", "units": 120, "area": 10.5, "on": "2026-01-31", "done": true},
            {"district": "滨湖区", "units": "1,300", "area": "88.25", "on": "2026/02/28", "done": "否"},
            {"district": "梁溪区", "units": 7, "on": "2026-03-31"}
        ]);
        let (s, v) = action(
            &app,
            "datastore_create",
            Some(&token),
            json!({"resource": {"package_id": "housing-starts", "name": "按月"}, "fields": fields,
               "records": records, "indexes": ["district"]}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"]["records_inserted"], 3);
        let rid = v["result"]["resource_id"].as_str().unwrap().to_owned();
        let (_, v) = action(&app, "resource_show", None, json!({"id": rid})).await;
        assert_eq!(v["result"]["datastore_active"], true);
        // Search: filters, sort, fields, q, paging, total.
        let (s, v) = action(
            &app,
            "datastore_search",
            None,
            json!({"resource_id": rid, "filters": {"district": "梁溪区"}, "sort": "units desc"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["result"]["total"], 2);
        assert_eq!(v["result"]["records"][0]["units"], 120);
        assert_eq!(v["result"]["records"][1]["area"], Value::Null);
        assert_eq!(v["result"]["fields"][0]["id"], "_id");
        assert_eq!(v["result"]["fields"][1]["info"]["label"], "区县");
        let (_, v) = action(
            &app,
            "datastore_search",
            None,
            json!({"resource_id": rid, "q": "滨湖", "fields": ["district", "area", "on", "done"]}),
        )
        .await;
        assert_eq!(
            v["result"]["records"],
            json!([{"_id": 2, "district": "滨湖区", "area": 88.25, "on": "2026-02-28", "done": false}])
        );
        // By GET, as a browser: JSON parameters in the query string.
        let r: Value = app
        .client
        .get(app.url(&format!(
            "/api/3/action/datastore_search?resource_id={rid}&filters=%7B%22units%22:%5B7,120%5D%7D&limit=1&sort=_id"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(r["result"]["total"], 2, "{r}");
        assert_eq!(r["result"]["records"].as_array().unwrap().len(), 1);
        assert_eq!(r["result"]["records"][0]["units"], 120);
        // The whole table as CSV (labels as a second header line) and as JSON.
        let r = app
            .client
            .get(app.url(&format!("/datastore/dump/{rid}?labels=true")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = r.text().await.unwrap();
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            lines,
            [
                "_id,district,units,area,on,done",
                ",区县,套数,,日期,",
                "1,梁溪区,120,10.5,2026-01-31,true",
                "2,滨湖区,1300,88.25,2026-02-28,false",
                "3,梁溪区,7,,2026-03-31,"
            ]
        );
        let v: Value = app
            .client
            .get(app.url(&format!("/datastore/dump/{rid}?format=json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["records"][0]["done"], true);
        assert_eq!(v["records"].as_array().unwrap().len(), 3);
        let r = app
            .client
            .get(app.url(&format!("/datastore/dump/{rid}?format=xml")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = app
            .client
            .get(app.url("/datastore/dump/no-such-resource"))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(r).await.1, "no_such_table");
        // Bad input, by field; nothing written when one record is bad.
        let (s, v) = action(
            &app,
            "datastore_upsert",
            Some(&token),
            json!({"resource_id": rid, "method": "insert",
               "records": [{"district": "新吴区", "units": 5}, {"units": "many"}, {"nope": 1}]}),
        )
        .await;
        assert_eq!(s, 409, "{v}");
        let problems = v["error"]["records"].to_string();
        assert!(
            problems.contains("record 1") && problems.contains("record 2"),
            "{v}"
        );
        for (body, field) in [
            (
                json!({"resource_id": rid, "filters": {"nope": 1}}),
                "filters",
            ),
            (json!({"resource_id": rid, "sort": "nope"}), "sort"),
            (json!({"resource_id": rid, "limit": 40000}), "limit"),
            (
                json!({"resource_id": rid, "filters": {"units": "x"}}),
                "filters",
            ),
        ] {
            let (s, v) = action(&app, "datastore_search", None, body).await;
            assert_eq!(
                (s, v["error"][field].is_array()),
                (409, true),
                "{field}: {v}"
            );
        }
        let (s, _) = action(
            &app,
            "datastore_search",
            None,
            json!({"resource_id": "nope"}),
        )
        .await;
        assert_eq!(s, 404);
        // Only the owner's publishers write; an insert, then deletes by filter and whole.
        let (s, _) = action(
            &app,
            "datastore_upsert",
            Some(&other_token),
            json!({"resource_id": rid, "method": "insert", "records": [{"district": "x"}]}),
        )
        .await;
        assert_eq!(s, 403);
        let (s, v) = action(
        &app,
        "datastore_upsert",
        Some(&token),
        json!({"resource_id": rid, "method": "insert", "records": [{"district": "新吴区", "units": 5}]}),
    )
    .await;
        assert_eq!(
            (s, v["result"]["records_inserted"].as_i64()),
            (200, Some(1)),
            "{v}"
        );
        let (s, v) = action(
            &app,
            "datastore_delete",
            Some(&token),
            json!({"resource_id": rid, "filters": {"district": "梁溪区"}}),
        )
        .await;
        assert_eq!((s, v["result"]["deleted"].as_i64()), (200, Some(2)), "{v}");
        let (_, v) = action(&app, "datastore_search", None, json!({"resource_id": rid})).await;
        assert_eq!(v["result"]["total"], 2);
        let (s, _) = action(
            &app,
            "datastore_delete",
            Some(&token),
            json!({"resource_id": rid}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _) = action(&app, "datastore_search", None, json!({"resource_id": rid})).await;
        assert_eq!(s, 404);
        let (_, v) = action(&app, "resource_show", None, json!({"id": rid})).await;
        assert_eq!(v["result"]["datastore_active"], false);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_are_rate_limited_sqlite() {
    rate_limited(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn api_calls_are_rate_limited_postgres() {
    rate_limited(Engine::Postgres).await;
}

/// Per address for anonymous calls, per token for a publisher's: 429 with `Retry-After` and
/// CKAN's envelope past the limit.
async fn rate_limited(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.api_calls_per_minute = 4).await else {
        return;
    };
    let publisher = app.staff("xrl1", "wx-gaj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(action(&app, "site_read", None, json!({})).await.0);
    }
    // At the turn of a minute the count starts again: at most one more passes.
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 1,
        "{statuses:?}"
    );
    let r = app
        .client
        .get(app.url("/api/3/action/package_list"))
        .send()
        .await
        .unwrap();
    if r.status() == StatusCode::TOO_MANY_REQUESTS {
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "{wait}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["success"], false);
        assert_eq!(v["error"]["__type"], "Rate Limit Error");
    }
    // The publisher's token has a count of its own.
    let (s, v) = action(&app, "site_read", Some(&token), json!({})).await;
    assert_eq!(s, 200, "{v}");
}
