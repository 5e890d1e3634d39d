//! Every list pages (issue 12, B): rectifications once stopped at 200 with no way on, and in
//! the demo a department could not find the one opened today. Filled past 1,000, the list is
//! walked to its last item through the API; the newest open one is first.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::Value;
use tongban_platform::identity::Role;

const N: i64 = 1_200;

on_both_engines!(rectifications_page_to_the_last, |app: TestApp| async move {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            let comment = tongban_platform::vault::seal_text("")?;
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO ratings (subject_kind, subject_no, department_code, level, dimensions, comment, by_default, rated_at)
                 SELECT 'workorder', 'P' || n.i, 'wx-zjj', 1, '{}', $2, FALSE, CAST($3 AS BIGINT) - n.i * 3600000 FROM n",
                tongban_platform::params![N, comment.as_str(), now],
            )?;
            c.execute(
                "INSERT INTO rectifications (rating_id, department_code, status, due_by, created_at)
                 SELECT id, 'wx-zjj', 'open', '2030-01-01', rated_at FROM ratings WHERE subject_no LIKE 'P%'",
                &[],
            )
        })
        .await
        .unwrap();
    let handler = app.staff("p-h", "wx-zjj", &[Role::Handler]).await;
    let get = |q: String| {
        let app = &app;
        let handler = handler.clone();
        async move {
            let r = app
                .get(
                    &app.iurl(&format!("/api/v1/staff/rectifications?{q}")),
                    &handler,
                )
                .await;
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    let (s, first) = get("page_size=200".into()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let total = first["total"].as_i64().unwrap();
    assert!(total >= N, "{total}");
    assert_eq!(first["items"].as_array().unwrap().len(), 200);
    assert_eq!(first["items"][0]["subject_no"], "P1", "the newest first");
    let mut seen = std::collections::BTreeSet::new();
    let pages = (total + 199) / 200;
    for p in 1..=pages {
        let (s, v) = get(format!("page={p}&page_size=200")).await;
        assert_eq!(s, StatusCode::OK);
        for x in v["items"].as_array().unwrap() {
            seen.insert(x["id"].as_i64().unwrap());
        }
        if p == pages {
            let items = v["items"].as_array().unwrap();
            assert_eq!(
                items.last().unwrap()["subject_no"],
                format!("P{N}"),
                "the oldest last"
            );
        }
    }
    assert_eq!(seen.len() as i64, total, "every item reached once");
    for q in ["page_size=201", "page=0", "page=9223372036854775807"] {
        let (s, v) = get(q.into()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_paging")),
            "{q}"
        );
    }
    // The console pages them too.
    let html = app
        .client
        .get(app.iurl("/console/rectifications?page=2"))
        .header("cookie", format!("tongban_staff={handler}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("rel=\"prev\"") && html.contains("P21"),
        "page 2 shows the 21st newest"
    );
});

// One read is one snapshot on both engines (issue 12, E): a row committed by another
// connection in the middle of a read is not seen by the rest of that read.
on_both_engines!(a_read_is_one_snapshot, |app: TestApp| async move {
    let db = app.db().clone();
    let (before, after, outside) = app
        .db()
        .read(move |c| {
            let count = |c: &mut dyn tongban_platform::db::Conn| {
                c.query_one("SELECT COUNT(*) AS n FROM counters", &[])?
                    .get_i64("n")
            };
            let before = count(c)?;
            let db2 = db.clone();
            std::thread::spawn(move || {
                db2.write_blocking(|c| {
                    c.execute(
                        "INSERT INTO counters (name, value) VALUES ('snapshot-test', 1)",
                        &[],
                    )
                })
            })
            .join()
            .expect("writer thread")?;
            let after = count(c)?;
            Ok((before, after, db))
        })
        .await
        .unwrap();
    assert_eq!(before, after, "the read kept its snapshot");
    let now = outside
        .read(|c| {
            c.query_one("SELECT COUNT(*) AS n FROM counters", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(now, before + 1, "the row was committed");
});

// Warnings stopped at 500 with no way on; filled past 1,000 they page to the last.
on_both_engines!(warnings_page_to_the_last, |app: TestApp| async move {
    let now = tongban_platform::time::now_millis();
    app.db()
        .write(move |c| {
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS BIGINT))
                 INSERT INTO insight_warnings (kind, category, district, term, since, detected_at, observed, expected, p_value, samples, status, created_at)
                 SELECT 'rate', 'city', '梁溪区', NULL, CAST($2 AS BIGINT) - n.i * 60000, CAST($2 AS BIGINT) - n.i * 60000, 10, 1.0, 0.000001, '[]', 'open', CAST($2 AS BIGINT) FROM n",
                tongban_platform::params![N, now],
            )
        })
        .await
        .unwrap();
    let sup = app.staff("w-sup", "wx-12345", &[Role::Supervisor]).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut p = 1;
    loop {
        let r = app
            .get(
                &app.iurl(&format!("/api/v1/staff/warnings?page={p}&page_size=200")),
                &sup,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        let items = v["items"].as_array().unwrap().clone();
        if items.is_empty() {
            assert_eq!(v["total"].as_i64().unwrap(), seen.len() as i64);
            break;
        }
        for w in items {
            seen.insert(w["id"].as_i64().unwrap());
        }
        p += 1;
    }
    assert!(seen.len() as i64 >= N, "{} warnings reached", seen.len());
});
