//! Built-in datasets fed by the platform: made and refreshed once a day from the rooms'
//! figures (matters, applications by day, 12345 by category and district, 好差评, letters),
//! small counts suppressed, each refresh a new version; the worker does it by itself.

use crate::helpers::*;
use crate::opendata::action;
use serde_json::{json, Value};
use tongban_platform::params;

async fn file_order(app: &TestApp, citizen: &Citizen, district: &str) {
    let order = json!({"type": "complaint", "category": "health.hospital", "district": district,
        "street": "清扬路", "title": "挂号排队太久", "content": "周一上午挂号排队两小时", "public": false});
    let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .bearer_auth(&citizen.token)
        .multipart(reqwest::multipart::Form::new().text("order", order.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn rows(app: &TestApp, dataset: &str, filters: Value) -> (Value, Vec<Value>) {
    let (s, v) = action(app, "package_show", None, json!({"id": dataset})).await;
    assert_eq!(s, 200, "{dataset}: {v}");
    let pkg = v["result"].clone();
    let rid = pkg["resources"][0]["id"].as_str().unwrap().to_owned();
    let (s, v) = action(
        app,
        "datastore_search",
        None,
        json!({"resource_id": rid, "filters": filters, "limit": 1000}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (pkg, v["result"]["records"].as_array().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_datasets_sqlite() {
    built_in_datasets(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn built_in_datasets_postgres() {
    built_in_datasets(Engine::Postgres).await;
}

async fn built_in_datasets(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| c.worker_interval_ms = 3_600_000).await else {
        return;
    };
    let citizen = app.citizen().await;
    for _ in 0..6 {
        file_order(&app, &citizen, "梁溪区").await;
    }
    for _ in 0..2 {
        file_order(&app, &citizen, "滨湖区").await;
    }
    for _ in 0..5 {
        app.submit_birth(&citizen).await;
    }
    // The applications happened yesterday (only whole days are published).
    app.db()
        .write(|c| {
            c.execute(
                "UPDATE cases SET submitted_at = submitted_at - $1",
                params![86_400_000i64],
            )
        })
        .await
        .unwrap();

    assert_eq!(tongban_opendata::live::refresh(&app.ctx).await.unwrap(), 5);
    assert_eq!(
        tongban_opendata::live::refresh(&app.ctx).await.unwrap(),
        0,
        "once a day"
    );

    // The matters catalogue, published by the region's data department.
    let (pkg, matters) = rows(&app, "government-service-matters", json!({})).await;
    assert_eq!(pkg["organization"]["name"], "wx-zfb");
    assert_eq!(pkg["built_in"], true);
    assert_eq!(pkg["version"], "2", "made, then its first refresh");
    assert_eq!(pkg["resources"][0]["datastore_active"], true);
    let published = app
        .db()
        .read(|c| tongban_catalog::stats::counts(c))
        .await
        .unwrap()
        .published;
    assert_eq!(matters.len() as i64, published);
    assert!(matters.iter().all(|m| m["promised_days"].is_i64()));

    // 12345 by category and district: five or more shown, fewer left empty.
    let (pkg, orders) = rows(&app, "hotline-12345-by-category-and-district", json!({})).await;
    assert_eq!(pkg["organization"]["name"], "wx-12345");
    let month = app.ctx.today().format("%Y-%m").to_string();
    let of = |d: &str| {
        orders
            .iter()
            .find(|r| r["district"] == d && r["month"] == month)
            .unwrap_or_else(|| panic!("{d}: {orders:?}"))
            .clone()
    };
    assert_eq!(of("梁溪区")["received"], 6, "{orders:?}");
    assert_eq!(
        of("滨湖区")["received"],
        Value::Null,
        "2 orders: suppressed"
    );
    assert_ne!(of("梁溪区")["category"], "health", "the category's name");

    // Applications by department yesterday.
    let (_, days) = rows(&app, "daily-applications-by-department", json!({})).await;
    let submitted: Vec<&Value> = days.iter().map(|r| &r["submitted"]).collect();
    assert_eq!(submitted, [&json!(5)], "{days:?}");
    assert_eq!(
        days[0]["department"], "无锡市卫生健康委员会",
        "by name: {days:?}"
    );

    // Letters: one month row with the orders received.
    let (_, letters) = rows(&app, "public-letters-monthly", json!({"month": month})).await;
    assert_eq!(letters[0]["received"], 8, "{letters:?}");
    let (_, _) = rows(&app, "good-bad-ratings-by-department", json!({})).await;

    // The next day's refresh is a new version with the new figures.
    app.db()
        .write(|c| {
            c.execute(
                "UPDATE od_datasets SET refreshed_on = '2000-01-01' WHERE source LIKE 'builtin:%'",
                &[],
            )
        })
        .await
        .unwrap();
    for _ in 0..3 {
        file_order(&app, &citizen, "滨湖区").await;
    }
    assert_eq!(tongban_opendata::live::refresh(&app.ctx).await.unwrap(), 5);
    let (pkg, orders) = rows(
        &app,
        "hotline-12345-by-category-and-district",
        json!({"district": "滨湖区", "month": month}),
    )
    .await;
    assert_eq!(pkg["version"], "3");
    assert_eq!(orders.len(), 1, "upserted by its key: {orders:?}");
    assert_eq!(orders[0]["received"], 5);
}

/// The worker makes them by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_makes_them() {
    let app = spawn_app_with(Engine::Sqlite, |c| {
        c.worker_interval_ms = 200;
        c.open_data_builtins = true;
    })
    .await
    .unwrap();
    let started = std::time::Instant::now();
    loop {
        let (s, _) = action(
            &app,
            "package_show",
            None,
            json!({"id": "government-service-matters"}),
        )
        .await;
        if s == 200 {
            break;
        }
        assert!(started.elapsed().as_secs() < 20, "no built-in dataset yet");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

// Downloads and API calls are counted (per day, no address) for the evaluation and the
// data board.
crate::on_both_engines!(use_is_counted, |app: TestApp| async move {
    use tongban_platform::identity::Role;
    let admin = app.staff("xus1", "wx-gaj", &[Role::Admin]).await;
    let publisher = app.staff("xus2", "wx-gaj", &[Role::DataPublisher]).await;
    let token = crate::opendata::token_for(&app, &publisher).await;
    let (s, v) = action(
        &app,
        "datastore_create",
        Some(&token),
        json!({"resource": {"package_id": "counted", "name": "表"},
               "fields": [{"id": "n", "type": "int"}], "records": [{"n": 1}]}),
    )
    .await;
    assert_eq!(s, 404, "no dataset yet: {v}");
    action(
        &app,
        "package_create",
        Some(&token),
        json!({"name": "counted", "title": "计数"}),
    )
    .await;
    let (_, v) = action(
        &app,
        "datastore_create",
        Some(&token),
        json!({"resource": {"package_id": "counted", "name": "表"},
               "fields": [{"id": "n", "type": "int"}], "records": [{"n": 1}]}),
    )
    .await;
    let rid = v["result"]["resource_id"].as_str().unwrap().to_owned();
    for format in ["csv", "json", "xlsx"] {
        let r = app
            .client
            .get(app.url(&format!("/datastore/dump/{rid}?format={format}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for _ in 0..4 {
        action(&app, "package_list", None, json!({})).await;
    }
    tongban_opendata::usage::flush(&app.ctx).await.unwrap();
    let today = app.ctx.today();
    let (from, to) = (today.to_string(), today.succ_opt().unwrap().to_string());
    let p = app
        .db()
        .read(move |c| tongban_opendata::stats::period(c, &from, &to))
        .await
        .unwrap();
    assert_eq!(p.downloads, 3, "{p:?}");
    // package_create, two datastore_create (one refused: not counted), four package_list.
    assert_eq!(p.api_calls, 6, "{p:?}");
    assert!(p.departments.contains("wx-gaj"));

    let month = today.format("%Y-%m").to_string();
    let eval: Value = app
        .get(
            &app.iurl(&format!("/api/v1/staff/evaluation?month={month}")),
            &admin,
        )
        .await
        .json()
        .await
        .unwrap();
    let use_ = eval["dimensions"][1]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["code"] == "open_data_use")
        .map(|i| i["value"].clone());
    assert_eq!(use_, Some(json!(9.0)), "{eval}");
    let board: Value = app
        .get(&app.iurl("/api/v1/staff/dashboards/data"), &admin)
        .await
        .json()
        .await
        .unwrap();
    let fig = |code: &str| {
        board["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .map(|f| f["value"].clone())
    };
    assert_eq!(fig("open_data_downloads"), Some(json!(3.0)), "{board}");
    assert_eq!(
        fig("open_datasets"),
        Some(json!(p.datasets as f64)),
        "{board}"
    );
});
