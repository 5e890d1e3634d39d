//! No poison pills (issue 12, A): one work order whose ciphertext is spoiled, in the middle of
//! 10,000 good ones, once stopped insight's analysis for ever (retried every 5 s). Now it is
//! set aside in the quarantine with its error, the 10,000 are analysed, supervisors see it on
//! the console and in `/metrics`, and `tongban followers retry` analyses it once repaired.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use tongban_platform::identity::Role;

const GOOD: i64 = 10_000;

on_both_engines!(
    a_spoiled_row_is_set_aside_and_the_rest_analysed,
    |app: TestApp| async move {
        // One real order whose sealed texts are copied into 10,000 more.
        let r = app
        .client
        .post(app.url("/api/v1/workorders"))
        .json(&serde_json::json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
            "street": "中山路", "title": "夜间施工噪音", "content": "工地每晚施工到十二点", "phone": "13900001234"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let (spoiled, total) = app
        .db()
        .write(|c| {
            let t = c.query_one("SELECT MAX(id) AS id FROM work_orders", &[])?.get_i64("id")?;
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
                 INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, status,
                    received_at, updated_at, version, channel)
                 SELECT 'Q' || n.i, o.order_type, o.category, o.district, o.street, o.title, o.content, o.public, o.status,
                    o.received_at + n.i, o.updated_at, 1, o.channel
                 FROM n, work_orders o WHERE o.id = $1",
                tongban_platform::params![t, GOOD],
            )?;
            // Spoil one in the middle: a byte of its ciphertext changed (the tag no longer fits).
            let victim = c
                .query_one("SELECT id, content FROM work_orders WHERE order_no = 'Q5000'", &[])?;
            let mut content = victim.get_str("content")?;
            let last = content.pop().unwrap_or('0');
            content.push(if last == '0' { '1' } else { '0' });
            c.execute(
                "UPDATE work_orders SET content = $1 WHERE id = $2",
                tongban_platform::params![content.as_str(), victim.get_i64("id")?],
            )?;
            let total = c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?.get_i64("n")?;
            Ok((victim.get_i64("id")?, total))
        })
        .await
        .unwrap();
        // (The app's own worker may take batches meanwhile, as another node would.)
        tongban_insight::index::catch_up(&app.ctx).await.unwrap();
        let docs = |app: &TestApp| {
            let db = app.db().clone();
            async move {
                db.read(|c| {
                    c.query_one("SELECT COUNT(*) AS n FROM insight_docs", &[])?
                        .get_i64("n")
                })
                .await
                .unwrap()
            }
        };
        assert_eq!(
            docs(&app).await,
            total - 1,
            "all but the spoiled one are analysed"
        );
        let q = app
            .db()
            .read(|c| tongban_platform::followers::list(c, 10, 0))
            .await
            .unwrap();
        assert_eq!(q.1, 1);
        assert_eq!(
            (q.0[0].follower.as_str(), q.0[0].row_ref.clone()),
            ("insight.index", spoiled.to_string())
        );
        assert!(q.0[0].error.contains("damaged"), "{}", q.0[0].error);
        // A second pass does not stop on it either: nothing is left to take.
        assert_eq!(tongban_insight::index::catch_up(&app.ctx).await.unwrap(), 0);

        // Supervisors see it on the console and in /metrics.
        let sup = app.staff("q-sup", "wx-12345", &[Role::Supervisor]).await;
        let html = app
            .client
            .get(app.iurl("/console/followers"))
            .header("cookie", format!("tongban_staff={sup}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("insight.index") && html.contains(&spoiled.to_string()),
            "{html}"
        );
        let metrics = app
            .client
            .get(app.iurl("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("tongban_follower_quarantined{follower=\"insight.index\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("tongban_follower_lag_seconds{follower=\"insight.index\"} 0"),
            "caught up"
        );

        // Repaired (the text copied from a good row), then retried through the CLI: analysed,
        // and the quarantine is empty.
        app.db()
            .write(move |c| {
                let good = c
                    .query_one(
                        "SELECT content FROM work_orders WHERE order_no = 'Q4999'",
                        &[],
                    )?
                    .get_str("content")?;
                c.execute(
                    "UPDATE work_orders SET content = $1 WHERE id = $2",
                    tongban_platform::params![good.as_str(), spoiled],
                )
            })
            .await
            .unwrap();
        let out = tongban(
            &app.ctx.config.database_url,
            app.dir.path(),
            &["followers", "retry"],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 quarantined row(s) marked"));
        // This pass, or the app's worker before it, analyses it.
        tongban_insight::index::retry(&app.ctx).await.unwrap();
        assert_eq!(docs(&app).await, total);
        let q = app
            .db()
            .read(|c| tongban_platform::followers::list(c, 10, 0))
            .await
            .unwrap();
        assert_eq!(q.1, 0, "released");
    }
);

// The daily figures are a follower too: their lag shows on /metrics until they catch up.
on_both_engines!(daily_figures_show_their_lag, |app: TestApp| async move {
    let citizen = app.citizen().await;
    app.submit_birth(&citizen).await;
    let lag = |app: &TestApp| {
        let (client, url) = (app.client.clone(), app.iurl("/metrics"));
        async move {
            let text = client.get(url).send().await.unwrap().text().await.unwrap();
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("tongban_follower_lag_seconds{follower=\"insight.facts\"} ")
                })
                .and_then(|v| v.parse::<i64>().ok())
                .expect("the facts follower's lag is exported")
        }
    };
    assert!(lag(&app).await >= 1, "a new case waits to be counted");
    tongban_insight::facts::catch_up(&app.ctx).await.unwrap();
    assert_eq!(lag(&app).await, 0, "caught up");
    let (read, end) = app
        .db()
        .read(tongban_insight::facts::progress)
        .await
        .unwrap();
    assert_eq!(read, end);
    assert!(end > 0);
});
