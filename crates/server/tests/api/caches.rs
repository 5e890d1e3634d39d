//! In-memory caches never outlive a change: a matter changed through another node (another
//! database handle, as a second `tongban serve` would hold) is seen here within moments, one
//! changed here at once. On PostgreSQL the cache follows LISTEN/NOTIFY; on SQLite it follows
//! the generation row of the file, which any process that changes cached data moves.

use crate::helpers::*;
use crate::on_both_engines;
use std::time::{Duration, Instant};
use tongban_catalog::cache::MatterCache;
use tongban_catalog::store;
use tongban_platform::db::{Db, Engine as DbEngine};

const CODE: &str = "WX-WJ-001";

async fn name_seen(db: &Db) -> String {
    tongban_catalog::matters(db)
        .fetch(CODE)
        .await
        .unwrap()
        .expect("the demo matter")
        .name
}

/// On PostgreSQL, wait until `db` listens for changes (it starts with the first use; caching
/// with it); SQLite gives a generation at once.
async fn listening(db: &Db) {
    if db.engine() == DbEngine::Postgres {
        let started = Instant::now();
        while db.cache_generation().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never started listening for changes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A second node on the same database (another handle, as a second `tongban serve` would
/// hold), serving HTTP: its handle, public and internal addresses, and its stop switch.
async fn second_node(app: &TestApp) -> (Db, String, String, tokio::sync::oneshot::Sender<()>) {
    let url = app.ctx.config.database_url.clone();
    let other_db = tokio::task::spawn_blocking(move || Db::open(&url))
        .await
        .unwrap()
        .unwrap();
    let listeners = tongban_server::Listeners::bind("127.0.0.1:0", "127.0.0.1:0")
        .await
        .unwrap();
    let (public, internal) = listeners.addrs();
    let ctx = tongban_platform::Ctx::new(other_db.clone(), app.ctx.config.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = tongban_server::serve(ctx, listeners, async {
            let _ = stopped.await;
        })
        .await;
    });
    (
        other_db,
        format!("http://{public}"),
        format!("http://{internal}"),
        stop,
    )
}

async fn rename(db: &Db, name: &str) {
    let name = name.to_owned();
    db.write(move |c| {
        let mut m = store::get(c, CODE)?.expect("the demo matter");
        m.name = name;
        store::save(c, &[m])
    })
    .await
    .unwrap();
}

on_both_engines!(
    matters_changed_elsewhere_are_seen,
    |app: TestApp| async move {
        let here = app.db().clone();
        listening(&here).await;
        let before = name_seen(&here).await;
        assert_eq!(name_seen(&here).await, before);
        let g = here
            .cache_generation()
            .expect("both engines give a generation");
        assert_eq!(
            here.local::<MatterCache>().held(g),
            1,
            "the matter is held in memory"
        );

        // Another node renames it: seen here within moments.
        let url = app.ctx.config.database_url.clone();
        let other = tokio::task::spawn_blocking(move || Db::open(&url))
            .await
            .unwrap()
            .unwrap();
        rename(&other, "出生登记（改名甲）").await;
        let started = Instant::now();
        loop {
            let seen = name_seen(&here).await;
            if seen == "出生登记（改名甲）" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "a change on another node was not seen after 5 s (still {seen:?})"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // A change made here is seen here at once, and by the other node.
        rename(&here, "出生登记（改名乙）").await;
        assert_eq!(name_seen(&here).await, "出生登记（改名乙）");
        let started = Instant::now();
        while name_seen(&other).await != "出生登记（改名乙）" {
            assert!(started.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // Unpublishing is a change too: the citizen cannot apply a moment later.
        let c = app.citizen().await;
        other
            .write(|c| store::set_published(c, CODE, false))
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let r = app
                .submit_case(
                    &c.token,
                    serde_json::json!({"matter_code": CODE, "form": birth_registration_form(&c)}),
                )
                .await;
            if r.status() == reqwest::StatusCode::UNPROCESSABLE_ENTITY
                || r.status() == reqwest::StatusCode::NOT_FOUND
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "applications still taken 5 s after the matter was withdrawn"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
);

// A read's end is written without waiting for its answer (one round trip fewer); it must
// still end: no connection is left inside a transaction, holding back vacuum.
on_both_engines!(reads_leave_no_open_transaction, |app: TestApp| async move {
    // A handle of its own, named, so that only its connections are counted.
    let name = format!("probe{}", rand::random::<u32>());
    let url = match app.db().engine() {
        DbEngine::Postgres => format!("{}&application_name={name}", app.ctx.config.database_url),
        DbEngine::Sqlite => app.ctx.config.database_url.clone(),
    };
    let db = tokio::task::spawn_blocking(move || Db::open(&url))
        .await
        .unwrap()
        .unwrap();
    let before = app.row_counts().await;
    let reads: Vec<_> = (0..40)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.read(|c| {
                    c.query_one("SELECT COUNT(*) AS n FROM cases", &[])?;
                    c.query_one("SELECT 1 AS one", &[])?.get_i64("one")
                })
                .await
            })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap().unwrap(), 1);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if db.engine() == DbEngine::Postgres {
        let (open, idle) = app
            .db()
            .read_single(move |c| {
                let r = c.query_one(
                    "SELECT COUNT(*) FILTER (WHERE state = 'idle in transaction') AS open,
                            COUNT(*) FILTER (WHERE state = 'idle') AS idle
                     FROM pg_stat_activity WHERE application_name = $1",
                    tongban_platform::params![name.as_str()],
                )?;
                Ok((r.get_i64("open")?, r.get_i64("idle")?))
            })
            .await
            .unwrap();
        assert!(idle >= 1, "the probe's connections are pooled and idle");
        assert_eq!(open, 0, "a read left its snapshot open");
    }
    // Writes after the reads commit as usual on the same connections.
    db.write(|c| tongban_platform::identity::next_counter(c, "after-reads"))
        .await
        .unwrap();
    let c = app.citizen().await;
    app.submit_birth(&c).await;
    let after = app.row_counts().await;
    assert_eq!(
        after.0,
        before.0 + 1,
        "the submission after the reads was kept"
    );
});

// Sessions are checked from memory (no trip to the database per request, on SQLite one read
// of the generation row), but never outlive their end: a token logged out through one node is
// refused there at once and on another node (another process on SQLite) within moments.
on_both_engines!(
    sessions_ended_elsewhere_are_refused,
    |app: TestApp| async move {
        use tongban_platform::identity::{SessionCache, SessionKind};
        let (other_db, other, _, stop) = second_node(&app).await;
        listening(&other_db).await;
        let c = app.citizen().await;
        let mine = |base: &str| format!("{base}/api/v1/cases");
        for _ in 0..2 {
            assert_eq!(app.get(&mine(&other), &c.token).await.status(), 200);
        }
        let held = other_db.cache_generation().is_some_and(|g| {
            other_db
                .local::<SessionCache>()
                .holds(g, SessionKind::Citizen, &c.token)
        });
        assert!(held, "held in the other node's memory");

        let out = app
            .client
            .delete(app.url("/api/v1/sessions"))
            .bearer_auth(&c.token)
            .send()
            .await
            .unwrap();
        assert!(out.status().is_success(), "logout: {}", out.status());
        assert_eq!(
            app.get(&mine(&app.public), &c.token).await.status(),
            401,
            "refused at once on the node that logged out"
        );
        let started = Instant::now();
        loop {
            let status = app.get(&mine(&other), &c.token).await.status();
            if status == 401 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the other node still accepts a logged-out token after 5 s ({status})"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
    }
);

// A staff member is held in memory beside the session, so a staff request reads nothing;
// a department renamed through another node (another database handle) is seen on the
// staff member within moments, as the rename announces itself.
on_both_engines!(
    staff_held_until_their_department_changes,
    |app: TestApp| async move {
        use tongban_platform::identity::{self, Department, Role, StaffCache};
        let db = app.db().clone();
        listening(&db).await;
        let token = app.staff("held-clerk", "wx-wjw", &[Role::Clerk]).await;
        let me = app.iurl("/api/v1/staff/me");
        let first: serde_json::Value = app.get(&me, &token).await.json().await.unwrap();
        let id = first["id"].as_i64().expect("the staff member's id");
        let again: serde_json::Value = app.get(&me, &token).await.json().await.unwrap();
        assert_eq!(first, again);
        let held = db
            .cache_generation()
            .is_some_and(|g| db.local::<StaffCache>().holds(g, id));
        assert!(held, "the staff member is held in memory");

        let url = app.ctx.config.database_url.clone();
        let other = tokio::task::spawn_blocking(move || Db::open(&url))
            .await
            .unwrap()
            .unwrap();
        other
            .write(|c| {
                identity::upsert_department(
                    c,
                    &Department {
                        code: "wx-wjw".into(),
                        name: "无锡市卫生健康委员会（改名）".into(),
                        name_en: "Wuxi Health Commission (renamed)".into(),
                    },
                )
            })
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let seen: serde_json::Value = app.get(&me, &token).await.json().await.unwrap();
            if seen["department"]["name"] == "无锡市卫生健康委员会（改名）" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the renamed department is not seen after 5 s: {seen}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
);

// A case page is held in memory after its first reading (no statement, nothing unsealed
// again), but never outlives a change: a clerk's decision taken on this node is seen here at
// once, one taken on another node (another process on SQLite) within moments.
on_both_engines!(
    case_pages_held_until_the_case_changes,
    |app: TestApp| async move {
        use tongban_cases::store::RecentCases;
        use tongban_platform::identity::Role;
        let (other_db, _, other_internal, stop) = second_node(&app).await;
        let here = app.db().clone();
        listening(&here).await;
        let c = app.citizen().await;
        let clerk = app.staff("held-case-clerk", "wx-wjw", &[Role::Clerk]).await;
        let status = |v: serde_json::Value| v["status"].as_str().unwrap_or_default().to_owned();
        let page = app.url(&format!("/api/v1/cases/{}", app.submit_birth(&c).await));
        let case_no = page.rsplit('/').next().unwrap().to_owned();
        let first: serde_json::Value = app.get(&page, &c.token).await.json().await.unwrap();
        let again: serde_json::Value = app.get(&page, &c.token).await.json().await.unwrap();
        assert_eq!(
            (status(first.clone()), &first),
            ("submitted".into(), &again)
        );
        let held = |db: &Db| {
            db.cache_generation()
                .is_some_and(|g| db.local::<RecentCases>().holds(g, &case_no))
        };
        assert!(held(&here), "the case is held in memory after its reading");

        // Decided here: seen at once.
        assert_eq!(app.act(&clerk, &case_no, "accept", "").await.status(), 200);
        assert!(
            !held(&here),
            "a change here drops the case from memory at once"
        );
        let seen: serde_json::Value = app.get(&page, &c.token).await.json().await.unwrap();
        assert_eq!(status(seen), "accepted", "the decision is seen at once");

        // Decided on the other node: seen here within moments.
        listening(&other_db).await;
        let _ = app.get(&page, &c.token).await;
        assert!(held(&here), "held again after reading it");
        let out = app
            .post(
                &format!("{other_internal}/api/v1/staff/cases/{case_no}/actions"),
                &clerk,
                serde_json::json!({"action": "request_supplement", "note": "请补充出生医学证明"}),
            )
            .await;
        assert_eq!(out.status(), 200, "decided on the other node");
        let started = Instant::now();
        loop {
            let seen: serde_json::Value = app.get(&page, &c.token).await.json().await.unwrap();
            if status(seen.clone()) == "needs_supplement" {
                let last = &seen["timeline"].as_array().unwrap().last().unwrap().clone();
                assert_eq!(
                    last["note"], "请补充出生医学证明",
                    "with its timeline: {seen}"
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the decision taken on the other node is not seen after 5 s: {seen}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
    }
);
