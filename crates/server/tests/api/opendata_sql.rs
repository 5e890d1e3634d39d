//! `datastore_search_sql`: one read-only SELECT over visible DataStore tables, refused for
//! anything else (other tables, writes, functions off the list, a draft's table), stopped
//! at its time limit, capped at CKAN's rows_max.

use crate::helpers::*;
use crate::opendata::{action, token_for};
use serde_json::{json, Value};
use tongban_platform::identity::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_over_the_datastore_sqlite() {
    sql_over_the_datastore(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn sql_over_the_datastore_postgres() {
    sql_over_the_datastore(Engine::Postgres).await;
}

/// Make a table of `n` rows in a new dataset (`private`: a draft); its resource id.
async fn table(app: &TestApp, token: &str, name: &str, n: i64, private: bool) -> String {
    let (s, v) = action(
        app,
        "package_create",
        Some(token),
        json!({"name": name, "title": "月度数据", "private": private}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let records: Vec<Value> = (1..=n)
        .map(|i| json!({"区": if i % 3 == 0 { "甲区" } else { "乙区" }, "n": i, "x": i as f64 / 2.0}))
        .collect();
    let (s, v) = action(
        app,
        "datastore_create",
        Some(token),
        json!({"resource": {"package_id": name, "name": "表"},
               "fields": [{"id": "区", "type": "text"}, {"id": "n", "type": "int"}, {"id": "x", "type": "float"}],
               "records": records}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["result"]["resource_id"].as_str().unwrap().to_owned()
}

async fn sql(app: &TestApp, token: Option<&str>, q: &str) -> (u16, Value) {
    action(app, "datastore_search_sql", token, json!({"sql": q})).await
}

async fn sql_over_the_datastore(engine: Engine) {
    let Some(app) = spawn_app_with(engine, |c| {
        c.sql_time_limit_ms = 400;
        c.api_calls_per_minute = 10_000;
    })
    .await
    else {
        return;
    };
    let publisher = app.staff("xsq1", "wx-zjj", &[Role::DataPublisher]).await;
    let token = token_for(&app, &publisher).await;
    let rid = table(&app, &token, "monthly-figures", 300, false).await;
    let draft = table(&app, &token, "draft-figures", 3, true).await;

    // Grouping, ordering, functions on the list, a WITH, a join, by GET as well.
    let (s, v) = sql(
        &app,
        None,
        &format!(
            "SELECT \"区\", count(*) AS rows, sum(n) AS total, round(avg(x)) AS mean \
             FROM \"{rid}\" GROUP BY \"区\" ORDER BY \"区\""
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let r = &v["result"];
    assert_eq!(r["records"][0]["区"], "乙区", "{r}");
    assert_eq!(r["records"][0]["rows"], 200);
    assert_eq!(r["records"][1]["rows"], 100);
    assert_eq!(
        r["records"][1]["total"],
        (1..=100).map(|i| i * 3).sum::<i64>()
    );
    let ids: Vec<&str> = r["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["区", "rows", "total", "mean"],
        "columns in the query's order"
    );
    assert_eq!(r["fields"][1]["type"], "int");
    assert!(r.get("records_truncated").is_none());
    let (s, v) = sql(
        &app,
        None,
        &format!(
            "WITH big AS (SELECT n FROM \"{rid}\" WHERE n > 295) \
             SELECT b.n, t.x FROM big b JOIN \"{rid}\" t ON t.n = b.n ORDER BY b.n DESC LIMIT 2"
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // (PostgreSQL writes a whole float without its `.0`: compared as numbers.)
    let rows: Vec<(i64, f64)> = v["result"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["n"].as_i64().unwrap(), r["x"].as_f64().unwrap()))
        .collect();
    assert_eq!(rows, [(300, 150.0), (299, 149.5)]);
    let got: Value = app
        .client
        .get(app.url("/api/action/datastore_search_sql"))
        .query(&[(
            "sql",
            format!("SELECT max(n) AS m FROM \"{rid}\" WHERE \"区\" = '甲区'"),
        )])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["result"]["records"], json!([{"m": 300}]), "{got}");

    // Refused: other tables, writes, functions off the list, a draft's table (to the public;
    // its department's publisher may read it), a WITH named as a table.
    for (q, status, kind, words) in [
        (
            "SELECT * FROM od_tokens".to_owned(),
            403,
            "Authorization Error",
            "Not authorized",
        ),
        (
            format!("DELETE FROM \"{rid}\""),
            409,
            "Validation Error",
            "only SELECT",
        ),
        (
            format!("SELECT n FROM \"{rid}\"; DELETE FROM \"{rid}\""),
            409,
            "Validation Error",
            "one statement",
        ),
        (
            format!("SELECT pg_sleep(5), n FROM \"{rid}\""),
            409,
            "Validation Error",
            "pg_sleep",
        ),
        (
            format!("SELECT * FROM \"{draft}\""),
            403,
            "Authorization Error",
            "Not authorized",
        ),
        (
            "WITH od_tokens AS (SELECT 1 AS a) SELECT * FROM od_tokens".to_owned(),
            409,
            "Validation Error",
            "a table has that name",
        ),
        (
            format!("SELECT nothing_here FROM \"{rid}\""),
            409,
            "Validation Error",
            "nothing_here",
        ),
    ] {
        let (s, v) = sql(&app, None, &q).await;
        assert_eq!(s, status, "{q}: {v}");
        assert_eq!(v["success"], false);
        assert_eq!(v["error"]["__type"], kind, "{q}: {v}");
        assert!(v["error"].to_string().contains(words), "{q}: {v}");
    }
    let (s, v) = sql(
        &app,
        Some(&token),
        &format!("SELECT count(*) AS c FROM \"{draft}\""),
    )
    .await;
    assert_eq!(
        (s, &v["result"]["records"]),
        (200, &json!([{"c": 3}])),
        "{v}"
    );

    // More rows than rows_max: the first 32,000 and a flag.
    let (s, v) = sql(
        &app,
        None,
        &format!("SELECT a.n AS a, b.n AS b FROM \"{rid}\" a, \"{rid}\" b"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["result"]["records"].as_array().unwrap().len(), 32_000);
    assert_eq!(v["result"]["records_truncated"], true);

    // A query past the time limit is stopped, and the next one runs.
    let started = std::time::Instant::now();
    let (s, v) = sql(
        &app,
        None,
        &format!("SELECT count(*) FROM \"{rid}\" a, \"{rid}\" b, \"{rid}\" c, \"{rid}\" d"),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["sql"][0].as_str().unwrap().contains("too long"),
        "{v}"
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    for _ in 0..3 {
        let (s, v) = sql(&app, None, &format!("SELECT count(*) AS c FROM \"{rid}\"")).await;
        assert_eq!((s, &v["result"]["records"]), (200, &json!([{"c": 300}])));
    }
}
