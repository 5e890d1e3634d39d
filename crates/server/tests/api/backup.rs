//! Backup and restore: a backup taken while applications keep arriving holds every case that
//! had been acknowledged before it began, and restores into a working database.

use crate::cli::tongban;
use crate::helpers::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

async fn backup_during_writes(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let citizen = app.citizen().await;
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let id_card = app.id_card_upload(&citizen).await;
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (client, url, token, form) = (
            app.client.clone(),
            app.url("/api/v1/cases"),
            citizen.token.clone(),
            birth_registration_form(&citizen),
        );
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"matter_code": "WX-WJ-001", "form": form, "reuse": {"id_card": id_card}}))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 201 {
                    let v: serde_json::Value = r.json().await.unwrap();
                    acked
                        .lock()
                        .unwrap()
                        .push(v["case_no"].as_str().unwrap().to_owned());
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let before: Vec<String> = acked.lock().unwrap().clone();
    assert!(before.len() > 5, "writes are flowing");
    let file = app.dir.path().join("backup.bin");
    let (url, dir, f) = (
        app.ctx.config.database_url.clone(),
        app.dir.path().to_owned(),
        file.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        tongban(&url, &dir, &["backup", f.to_str().unwrap()], None)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(
        acked.lock().unwrap().len() > before.len(),
        "writes went on during the backup"
    );

    // Restore into a fresh database and find every case acknowledged before the backup.
    let target = match engine {
        Engine::Sqlite => format!("sqlite://{}", app.dir.path().join("restored.db").display()),
        Engine::Postgres => {
            // Drop the schema, as after a disaster, and restore it from the dump.
            let url = app.ctx.config.database_url.clone();
            let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
            let base = pg_base_url().unwrap();
            std::thread::spawn(move || {
                let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
                c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .unwrap();
            })
            .join()
            .unwrap();
            url
        }
    };
    let (dir, f, t) = (app.dir.path().to_owned(), file.clone(), target.clone());
    let out = tokio::task::spawn_blocking(move || {
        tongban(&t, &dir, &["restore", f.to_str().unwrap()], None)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = tongban_platform::db::Db::open(&target).unwrap();
    let present: std::collections::BTreeSet<String> = restored
        .write_blocking(|c| {
            c.query("SELECT case_no FROM cases", &[])?
                .iter()
                .map(|r| r.get_str("case_no"))
                .collect()
        })
        .unwrap();
    for no in &before {
        assert!(
            present.contains(no),
            "case {no}, acknowledged before the backup, is missing"
        );
    }
    // The restored data is readable (decrypted with the same key file) and the audit holds.
    let n: usize = restored
        .write_blocking(|c| Ok(c.query("SELECT id FROM cases", &[])?.len()))
        .unwrap();
    assert!(n >= before.len());
    let verify = tongban(&target, app.dir.path(), &["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_during_writes_sqlite() {
    backup_during_writes(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn backup_during_writes_postgres() {
    backup_during_writes(Engine::Postgres).await;
}
