//! The audit log: logins, logouts, refusals and every case state change are recorded with
//! actor, role, department, object, result and source; `tongban audit verify` finds the first
//! entry that was changed, removed or reordered; `audit export` writes JSON lines.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;
use tongban_platform::audit;
use tongban_platform::identity::Role;

async fn actions(app: &TestApp) -> Vec<(String, String, String, String)> {
    // On PostgreSQL entries wait unchained until a reader (or the worker) chains them.
    audit::settle(app.db()).await.unwrap();
    app.db()
        .read(|c| audit::since(c, 0, 10_000, 0))
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.entry.action,
                s.entry.actor,
                s.entry.object,
                s.entry.result,
            )
        })
        .collect()
}

on_both_engines!(
    actions_are_audited_and_the_chain_verifies,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let case_no = app.submit_birth(&citizen).await;
        let clerk = app.staff("au-clerk", "wx-wjw", &[Role::Clerk]).await;
        let other = app.staff("au-other", "wx-gaj", &[Role::Clerk]).await;
        assert_eq!(
            app.act(&clerk, &case_no, "accept", "受理").await.status(),
            StatusCode::OK
        );
        assert_eq!(
            app.act(&other, &case_no, "request_supplement", "越权")
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.act(&clerk, &case_no, "approve", "").await.status(),
            StatusCode::FORBIDDEN
        );
        let r = app
            .client
            .post(app.iurl("/api/v1/staff/sessions"))
            .json(&json!({"username": "au-clerk", "password": "Wrong-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        app.client
            .delete(app.iurl("/api/v1/staff/sessions"))
            .bearer_auth(&clerk)
            .send()
            .await
            .unwrap();

        let log = actions(&app).await;
        let has = |action: &str, actor: &str, object: &str, result: &str| {
            log.iter()
                .any(|(a, b, c, d)| a == action && b == actor && c == object && d == result)
        };
        assert!(has(
            "case.submit",
            &log.iter().find(|x| x.0 == "case.submit").unwrap().1,
            &case_no,
            "ok"
        ));
        assert!(has("case.accept", "au-clerk", &case_no, "ok"), "{log:?}");
        assert!(
            has("case.request_supplement", "au-other", &case_no, "denied"),
            "{log:?}"
        );
        assert!(
            has("case.approve", "au-clerk", &case_no, "denied"),
            "{log:?}"
        );
        assert!(has("login", "au-clerk", "", "ok"));
        assert!(has("login", "au-clerk", "", "failed"));
        assert!(log.iter().any(|x| x.0 == "logout"));
        audit::settle(app.db()).await.unwrap();
        let stored = app
            .db()
            .read(|c| audit::since(c, 0, 10_000, 0))
            .await
            .unwrap();
        let accept = stored
            .iter()
            .find(|s| s.entry.action == "case.accept")
            .unwrap();
        assert_eq!(
            (accept.entry.role.as_str(), accept.entry.department.as_str()),
            ("clerk", "wx-wjw")
        );
        assert_eq!(accept.entry.source, "127.0.0.1");
        // No ID number or phone in clear in the log.
        for s in &stored {
            let text = serde_json::to_string(s).unwrap();
            assert!(
                !text.contains(&citizen.id_number) && !text.contains(&citizen.phone),
                "{text}"
            );
        }

        // The CLI verifies the chain, and names the first entry that was tampered with.
        let dir = app.dir.path();
        let url = app.ctx.config.database_url.clone();
        let ok = tongban(&url, dir, &["audit", "verify"], None);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains("audit chain holds"));

        let out = dir.join("audit.jsonl");
        let today = app.ctx.today().format("%Y-%m-%d").to_string();
        let e = tongban(
            &url,
            dir,
            &[
                "audit",
                "export",
                "--since",
                &today,
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert!(e.status.success());
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), stored.len());
        assert!(lines[0]["at"].as_str().unwrap().ends_with("+08:00"));
        assert!(lines
            .iter()
            .all(|l| l["hash"].as_str().unwrap().len() == 64));

        let seq = accept.seq;
        app.db()
            .write(move |c| {
                c.execute(
                    "UPDATE audit_log SET object = 'tampered' WHERE seq = $1",
                    tongban_platform::params![seq],
                )
            })
            .await
            .unwrap();
        let bad = tongban(&url, dir, &["audit", "verify"], None);
        assert!(!bad.status.success());
        let msg = String::from_utf8_lossy(&bad.stderr).to_string();
        assert!(
            msg.contains(&format!("entry {seq}")) && msg.contains("changed"),
            "{msg}"
        );
    }
);

on_both_engines!(
    removed_reordered_and_truncated_entries_are_found,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        for _ in 0..3 {
            app.submit_birth(&citizen).await;
        }
        let verify = |app: &TestApp| {
            let out = tongban(
                &app.ctx.config.database_url,
                app.dir.path(),
                &["audit", "verify"],
                None,
            );
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        };
        assert!(verify(&app).0);
        let n: i64 = app
            .db()
            .read(|c| {
                c.query_one("SELECT MAX(seq) AS n FROM audit_log", &[])?
                    .get_i64("n")
            })
            .await
            .unwrap();
        assert!(n >= 4);

        // Swap the contents of two entries (reordering).
        app.db()
            .write(|c| {
                c.execute("UPDATE audit_log SET seq = -1 WHERE seq = 2", &[])?;
                c.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3", &[])?;
                c.execute("UPDATE audit_log SET seq = 3 WHERE seq = -1", &[])
            })
            .await
            .unwrap();
        let (ok, msg) = verify(&app);
        assert!(!ok && msg.contains("entry 2"), "{msg}");
        app.db()
            .write(|c| {
                c.execute("UPDATE audit_log SET seq = -1 WHERE seq = 2", &[])?;
                c.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3", &[])?;
                c.execute("UPDATE audit_log SET seq = 3 WHERE seq = -1", &[])
            })
            .await
            .unwrap();
        assert!(verify(&app).0, "swapped back, it holds again");

        // Remove one in the middle.
        let removed: Vec<tongban_platform::db::Row> = app
            .db()
            .read(|c| c.query("SELECT * FROM audit_log WHERE seq = 3", &[]))
            .await
            .unwrap();
        assert_eq!(removed.len(), 1);
        app.db()
            .write(|c| c.execute("DELETE FROM audit_log WHERE seq = 3", &[]))
            .await
            .unwrap();
        let (ok, msg) = verify(&app);
        assert!(
            !ok && msg.contains("entry 3") && msg.contains("missing"),
            "{msg}"
        );

        // Remove the last ones (truncation).
        app.db()
            .write(move |c| c.execute("DELETE FROM audit_log WHERE seq >= 3", &[]))
            .await
            .unwrap();
        let (ok, msg) = verify(&app);
        assert!(!ok && msg.contains("removed from the end"), "{msg}");
    }
);

on_both_engines!(
    only_auditors_search_the_log_on_the_console,
    |app: TestApp| async move {
        let auditor = app.staff("au-auditor", "wx-wjw", &[Role::Auditor]).await;
        let clerk = app.staff("au-clerk2", "wx-wjw", &[Role::Clerk]).await;
        let get = |token: &str, q: &str| {
            app.client
                .get(app.iurl(&format!("/console/audit{q}")))
                .header("cookie", format!("tongban_staff={token}"))
                .send()
        };
        let r = get(&clerk, "").await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = get(&auditor, "?actor=au-clerk2&action=audit")
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("audit.read") && html.contains("denied"),
            "the clerk's refused look is listed"
        );
        let r = get(&auditor, "?from=2026-13-01").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_keeps_the_retention_period_and_the_chain() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let day = 86_400_000i64;
    let now = tongban_platform::time::now_millis();
    // Three entries from 400 days ago (history), then today's.
    app.db()
        .write(move |c| {
            for i in 0..3 {
                let e = audit::Entry {
                    action: "login".into(),
                    actor: format!("old{i}"),
                    result: "ok".into(),
                    ..audit::Entry::default()
                };
                audit::append_at(c, &e, now - 400 * day + i)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let _ = app.citizen().await; // a login today
    let (url, dir) = (
        app.ctx.config.database_url.clone(),
        app.dir.path().to_owned(),
    );
    let date = |days_ago: i64| {
        chrono::DateTime::from_timestamp_millis(now - days_ago * day)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    // Within the retention period: refused, nothing deleted.
    let r = tongban(&url, &dir, &["audit", "prune", "--before", &date(10)], None);
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("retention"));
    let r = tongban(
        &url,
        &dir,
        &["audit", "prune", "--before", &date(200)],
        None,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).starts_with("3 audit entries"));
    audit::settle(app.db()).await.unwrap();
    let left = app.db().read(|c| audit::since(c, 0, 100, 0)).await.unwrap();
    assert!(left.iter().all(|e| !e.entry.actor.starts_with("old")));
    assert!(left.iter().any(|e| e.entry.action == "audit.prune"));
    let v = tongban(&url, &dir, &["audit", "verify"], None);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // Moving the checkpoint by hand is found.
    app.db()
        .write(|c| c.execute("UPDATE audit_checkpoint SET seq = seq + 1", &[]))
        .await
        .unwrap();
    let v = tongban(&url, &dir, &["audit", "verify"], None);
    assert!(!v.status.success());
    assert!(String::from_utf8_lossy(&v.stderr).contains("checkpoint"));
}

// Audited writes never wait on one another for the chain's head (on PostgreSQL entries are
// written unchained and chained in order afterwards): entries written by concurrent
// transactions all end up in one chain that verifies, in the order they were chained.
on_both_engines!(
    concurrent_writes_chain_in_order,
    |app: TestApp| async move {
        // Every third write appends and then fails (rolled back with its entry); others walk
        // the chain inside their own write, after their entry, so several of them share a
        // batch (one commit) with entries not yet stored in the head row.
        let mut tasks = Vec::new();
        for i in 0..60 {
            let db = app.db().clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    audit::append(
                        c,
                        &audit::Entry::operator("bulk.concurrent", &format!("n{i}"), ""),
                    )?;
                    match i % 3 {
                        0 => Err(tongban_platform::db::DbError::Refused),
                        1 => Ok(Some(audit::verify(c)?)),
                        _ => Ok(None),
                    }
                })
                .await
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Err(tongban_platform::db::DbError::Refused) => assert_eq!(i % 3, 0),
                Ok(Some(chain)) => assert!(
                    matches!(chain, audit::Chain::Holds(_)),
                    "walked inside write {i}: {chain:?}"
                ),
                Ok(None) => assert_eq!(i % 3, 2),
                Err(e) => panic!("write {i}: {e}"),
            }
        }
        // What the walks inside the writes left waiting (PostgreSQL) is chained now; the
        // table of waiting entries is empty at the end (below).
        audit::settle(app.db()).await.unwrap();
        let chain = app.db().write(audit::verify).await.unwrap();
        assert!(
            matches!(chain, audit::Chain::Holds(n) if n >= 40),
            "{chain:?}"
        );
        let all = app
            .db()
            .read(|c| audit::since(c, 0, 10_000, 0))
            .await
            .unwrap();
        let objects: std::collections::BTreeSet<String> = all
            .iter()
            .filter(|e| e.entry.action == "bulk.concurrent")
            .map(|e| e.entry.object.clone())
            .collect();
        let kept: std::collections::BTreeSet<String> = (0..60)
            .filter(|i| i % 3 != 0)
            .map(|i| format!("n{i}"))
            .collect();
        assert_eq!(
            objects, kept,
            "every kept entry chained once, none rolled back"
        );
        // A later write chains after the head the batches stored.
        app.db()
            .write(|c| audit::append(c, &audit::Entry::operator("bulk.after", "x", "")))
            .await
            .unwrap();
        audit::settle(app.db()).await.unwrap();
        let chain = app.db().write(audit::verify).await.unwrap();
        assert!(
            matches!(chain, audit::Chain::Holds(n) if n >= 41),
            "{chain:?}"
        );
        let waiting = app
            .db()
            .read(|c| {
                c.query_one("SELECT COUNT(*) AS n FROM audit_pending", &[])?
                    .get_i64("n")
            })
            .await
            .unwrap();
        assert_eq!(waiting, 0);
    }
);
