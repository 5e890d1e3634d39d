//! Every list pages (issue 12, B): each list is filled past 1,000 items and walked to its
//! last item through the API, 200 at a time, every item reached once; a page out of range is
//! `400 invalid_paging`. (Rectifications and warnings are walked in `paging.rs`.)

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
use tongban_platform::db::Value as V;
use tongban_platform::identity::Role;
use tongban_platform::params;

const N: i64 = 1_050;

/// Walk `path` (which may hold a query) page by page; returns the total and the `key` of
/// every item in order.
async fn walk(app: &TestApp, path: &str, token: &str, key: &str) -> (i64, Vec<String>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = |q: &str| {
        if path.starts_with("/api/v1/staff") {
            app.iurl(&format!("{path}{sep}{q}"))
        } else {
            app.url(&format!("{path}{sep}{q}"))
        }
    };
    let r = app.get(&url("page_size=200"), token).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let first: Value = r.json().await.unwrap();
    let total = first["total"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: no total in {first}"));
    assert_ne!(first["total_capped"], true, "{path}: the total is exact");
    let mut keys = Vec::new();
    let pages = (total + 199) / 200;
    for p in 1..=pages {
        let r = app
            .get(&url(&format!("page={p}&page_size=200")), token)
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{path} page {p}");
        let v: Value = r.json().await.unwrap();
        let items = v["items"].as_array().unwrap();
        assert!(
            items.len() == 200 || p == pages,
            "{path} page {p}: {} items",
            items.len()
        );
        for x in items {
            keys.push(match &x[key] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
    }
    assert_eq!(keys.len() as i64, total, "{path}: every item reached");
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "{path}: no item twice");
    // Past the range: one error code.
    for q in ["page_size=201", "page=0", "page=x"] {
        let r = app.get(&url(q), token).await;
        let (s, code, _) = error_code(r).await;
        assert_eq!(
            (s, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_paging"),
            "{path} {q}"
        );
    }
    (total, keys)
}

on_both_engines!(audit_log_pages_to_the_last, |app: TestApp| async move {
    app.db()
        .write(|c| {
            for i in 1..=N {
                let e = tongban_platform::audit::Entry::operator("bulk.test", &format!("o{i}"), "");
                tongban_platform::audit::append(c, &e)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let auditor = app.staff("l-aud", "wx-zjj", &[Role::Auditor]).await;
    let (total, keys) = walk(&app, "/api/v1/staff/audit?action=bulk.", &auditor, "object").await;
    assert_eq!(total, N);
    assert_eq!(
        keys.first().map(String::as_str),
        Some("o1050"),
        "newest first"
    );
    assert_eq!(
        keys.last().map(String::as_str),
        Some("o1"),
        "the oldest last"
    );
    // Others may not read it.
    let handler = app.staff("l-h", "wx-zjj", &[Role::Handler]).await;
    let r = app.get(&app.iurl("/api/v1/staff/audit"), &handler).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
});

on_both_engines!(staff_accounts_page_to_the_last, |app: TestApp| async move {
    let before = app
        .db()
        .read(|c| tongban_platform::identity::list_staff(c, Some("wx-sw"), 1, 0))
        .await
        .unwrap()
        .1;
    app.db()
        .write(|c| {
            for i in 1..=N {
                tongban_platform::identity::insert_staff(
                    c,
                    &tongban_platform::identity::NewStaff {
                        username: &format!("bulk{i:05}"),
                        name: "批量",
                        department_code: "wx-sw",
                        roles: &[Role::Handler],
                        password_hash: "not-a-hash",
                        totp_secret: None,
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let auditor = app.staff("l-aud", "wx-zjj", &[Role::Auditor]).await;
    let (total, keys) = walk(
        &app,
        "/api/v1/staff/accounts?department=wx-sw",
        &auditor,
        "username",
    )
    .await;
    assert_eq!(total, N + before);
    let bulk: Vec<&String> = keys.iter().filter(|k| k.starts_with("bulk")).collect();
    assert_eq!(bulk.len() as i64, N);
    assert_eq!(
        bulk.last().map(|k| k.as_str()),
        Some("bulk01050"),
        "by username"
    );
    // An administrator sees its own department only.
    let admin = app.staff("l-adm", "wx-zjj", &[Role::Admin]).await;
    let r = app
        .get(&app.iurl("/api/v1/staff/accounts?department=wx-sw"), &admin)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app.get(&app.iurl("/api/v1/staff/accounts"), &admin).await;
    let v: Value = r.json().await.unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["department"]["code"] == "wx-zjj"),
        "{v}"
    );
});

on_both_engines!(partner_keys_page_to_the_last, |app: TestApp| async move {
    app.db()
        .write(|c| {
            for i in 1..=N {
                tongban_hotline::open311::add_key(c, &format!("伙伴{i}"), i)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let sup = app.staff("l-sup", "wx-12345", &[Role::Supervisor]).await;
    let (total, keys) = walk(&app, "/api/v1/staff/apikeys", &sup, "name").await;
    assert_eq!(total, N);
    assert_eq!(
        keys.first().map(String::as_str),
        Some("伙伴1050"),
        "newest first"
    );
    assert_eq!(keys.last().map(String::as_str), Some("伙伴1"));
});

/// `N` ratings of work orders of wx-zjj, P1 the newest.
async fn fill_ratings(app: &TestApp) {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            let comment = tongban_platform::vault::seal_text("回访电话13912345678")?;
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO ratings (subject_kind, subject_no, department_code, level, dimensions, comment, by_default, rated_at)
                 SELECT 'workorder', 'P' || n.i, 'wx-zjj', 4, '{}', $2, FALSE, CAST($3 AS BIGINT) - n.i * 60000 FROM n",
                params![N, comment.as_str(), now],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

on_both_engines!(ratings_page_to_the_last, |app: TestApp| async move {
    fill_ratings(&app).await;
    let handler = app.staff("l-h", "wx-zjj", &[Role::Handler]).await;
    let (total, keys) = walk(
        &app,
        "/api/v1/staff/ratings?subject_kind=workorder",
        &handler,
        "subject_no",
    )
    .await;
    assert_eq!(total, N);
    assert_eq!(keys.first().map(String::as_str), Some("P1"), "newest first");
    assert_eq!(keys.last().map(String::as_str), Some("P1050"));
    let r = app
        .get(&app.iurl("/api/v1/staff/ratings?page_size=1"), &handler)
        .await;
    let v: Value = r.json().await.unwrap();
    let one = &v["items"][0];
    assert!(
        one.get("rater_id").is_none(),
        "the rater is never shown: {one}"
    );
    assert!(
        !one["comment"].as_str().unwrap().contains("13912345678"),
        "{one}"
    );
    // Another department's handler sees none of them.
    let other = app.staff("l-h2", "wx-sw", &[Role::Handler]).await;
    let r = app.get(&app.iurl("/api/v1/staff/ratings"), &other).await;
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 0);
});

/// `N` work orders filed by `citizen_id` at wx-zjj, one a minute, W1 the oldest; `published`
/// makes them public letters too.
async fn fill_orders(app: &TestApp, citizen_id: i64, published: bool) {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            let sealed = tongban_platform::vault::seal_text("道路破损")?;
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, citizen_id,
                    status, department_code, received_at, updated_at, version, channel, due_on,
                    published_at, public_title, public_text, public_reply)
                 SELECT 'W' || n.i, 'complaint', 'city.roads', '梁溪区', $2, $2, $2, TRUE, $3,
                    'dispatched', 'wx-zjj', CAST($4 AS BIGINT) - ($1 - n.i) * 60000, CAST($4 AS BIGINT), 1, 'web', '2030-01-01',
                    CASE WHEN $5 THEN CAST($4 AS BIGINT) - ($1 - n.i) * 60000 END,
                    CASE WHEN $5 THEN '道路破损' END, CASE WHEN $5 THEN '道路破损' END, CASE WHEN $5 THEN '已修复' END
                 FROM n",
                &[V::from(N), V::from(sealed.as_str()), V::from(citizen_id), V::from(now), V::from(published)],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn citizen_id(app: &TestApp, c: &Citizen) -> i64 {
    let r = app.get(&app.url("/api/v1/me"), &c.token).await;
    r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

on_both_engines!(work_orders_page_to_the_last, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let id = citizen_id(&app, &citizen).await;
    fill_orders(&app, id, true).await;
    let handler = app.staff("l-h", "wx-zjj", &[Role::Handler]).await;
    let (total, keys) = walk(&app, "/api/v1/staff/workorders", &handler, "order_no").await;
    assert_eq!(total, N);
    assert!(keys.contains(&"W1050".to_owned()) && keys.contains(&"W1".to_owned()));
    let (total, keys) = walk(&app, "/api/v1/workorders", &citizen.token, "order_no").await;
    assert_eq!(total, N);
    assert_eq!(
        keys.first().map(String::as_str),
        Some("W1050"),
        "the citizen's newest first"
    );
    assert_eq!(
        keys.last().map(String::as_str),
        Some("W1"),
        "the citizen's oldest last"
    );
    let (total, keys) = walk(&app, "/api/v1/letters", "", "order_no").await;
    assert_eq!(total, N);
    assert_eq!(
        keys.first().map(String::as_str),
        Some("W1050"),
        "the newest letter first"
    );
    assert_eq!(
        keys.last().map(String::as_str),
        Some("W1"),
        "the oldest letter last"
    );
});

on_both_engines!(cases_page_to_the_last, |app: TestApp| async move {
    let citizen = app.citizen().await;
    let id = citizen_id(&app, &citizen).await;
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            let form = tongban_platform::vault::keys()
                .and_then(|k| k.encrypt("{}"))
                .map_err(tongban_platform::db::DbError::from)?;
            let matter: String = c
                .query_one("SELECT code FROM matters WHERE department_code = 'wx-gaj' ORDER BY code LIMIT 1", &[])?
                .get_str("code")?;
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at, updated_at, version, channel)
                 SELECT 'C' || n.i, $2, 'wx-gaj', $3, 'submitted', $4, CAST($5 AS BIGINT) - ($1 - n.i) * 60000, CAST($5 AS BIGINT), 1, 'web' FROM n",
                params![N, matter.as_str(), id, form.as_str(), now],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let clerk = app.staff("l-c", "wx-gaj", &[Role::Clerk]).await;
    let (total, keys) = walk(
        &app,
        "/api/v1/staff/cases?status=submitted",
        &clerk,
        "case_no",
    )
    .await;
    assert!(total >= N, "{total}");
    assert!(keys.contains(&"C1050".to_owned()) && keys.contains(&"C1".to_owned()));
    let (total, keys) = walk(&app, "/api/v1/cases", &citizen.token, "case_no").await;
    assert_eq!(total, N);
    assert_eq!(
        keys.first().map(String::as_str),
        Some("C1050"),
        "the newest first"
    );
    assert_eq!(
        keys.last().map(String::as_str),
        Some("C1"),
        "the oldest last"
    );
});

on_both_engines!(topic_messages_page_to_the_last, |app: TestApp| async move {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO insight_docs (order_id, order_no, at, district, category, department_code)
                 SELECT 900000 + n.i, 'T' || n.i, CAST($2 AS BIGINT) - n.i * 60000, '滨湖区', 'utility.water', 'wx-sw' FROM n",
                params![N, now],
            )?;
            c.execute(
                "INSERT INTO insight_terms (order_id, term, tf) SELECT order_id, '停水', 1 FROM insight_docs WHERE order_no LIKE 'T%'",
                &[],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let handler = app.staff("l-h", "wx-sw", &[Role::Handler]).await;
    let from = (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%d");
    let (total, keys) = walk(
        &app,
        &format!(
            "/api/v1/staff/topics/messages?terms=%E5%81%9C%E6%B0%B4,%E6%B0%B4%E5%8E%8B&from={from}"
        ),
        &handler,
        "order_no",
    )
    .await;
    assert_eq!(total, N);
    assert_eq!(keys.first().map(String::as_str), Some("T1"), "newest first");
    assert_eq!(keys.last().map(String::as_str), Some("T1050"));
    let r = app
        .get(&app.iurl("/api/v1/staff/topics/messages"), &handler)
        .await;
    let (s, code, _) = error_code(r).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_terms")
    );
});

on_both_engines!(matters_page_to_the_last, |app: TestApp| async move {
    let before = app
        .db()
        .read(tongban_catalog::stats::counts)
        .await
        .unwrap()
        .published;
    app.db()
        .write(|c| {
            let mut m = tongban_catalog::store::all(c)?
                .into_iter()
                .next()
                .expect("the demo has matters");
            let mut many = Vec::new();
            for i in 1..=N {
                m.code = format!("Z{i:05}");
                m.name = format!("批量事项{i}");
                m.published = true;
                many.push(m.clone());
            }
            tongban_catalog::store::save(c, &many)
        })
        .await
        .unwrap();
    let (total, keys) = walk(&app, "/api/v1/matters", "", "code").await;
    assert_eq!(total, before + N);
    let bulk: Vec<&String> = keys.iter().filter(|k| k.starts_with('Z')).collect();
    assert_eq!(bulk.len() as i64, N);
    assert_eq!(
        bulk.last().map(|k| k.as_str()),
        Some("Z01050"),
        "in catalogue order"
    );
});
