//! Crash safety: SIGKILL the server in the middle of a stream of submissions, start it again,
//! and every submission that was acknowledged with 201 is there; the audit chain still holds.

use crate::cli::tongban;
use crate::helpers::*;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn kill_mid_stream(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let (url, cleanup) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("crash.db").display()),
            None,
        ),
        Engine::Postgres => match fresh_pg_schema() {
            Some((base, schema, url)) => (url, Some((base, schema))),
            None => return,
        },
    };
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = spawn_node("demo", &url, dir.path(), port, free_port());
    wait_up(&client, &base).await;

    let (id_number, phone) = (random_id_number(), random_phone());
    let r = register(
        &client,
        &base,
        json!({"name": "周九", "id_number": id_number, "phone": phone, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"phone": phone, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let form = json!({"applicant_name": "周九", "applicant_id": id_number, "applicant_phone": phone,
        "spouse_name": "吴十", "spouse_id": random_id_number(), "child_order": "一孩"});

    let id_card = first_id_card(&client, &base, &token, &form).await;
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for _ in 0..8 {
        let (client, base, token, form, acked) = (
            client.clone(),
            base.clone(),
            token.clone(),
            form.clone(),
            acked.clone(),
        );
        writers.push(tokio::spawn(async move {
            loop {
                let r = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(&token)
                    .json(&json!({"matter_code": "WX-WJ-001", "form": form, "reuse": {"id_card": id_card}}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        if let Ok(v) = r.json::<serde_json::Value>().await {
                            acked
                                .lock()
                                .unwrap()
                                .push(v["case_no"].as_str().unwrap().to_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "submissions were flowing: {}",
        acked.len()
    );

    let mut server = spawn_node("demo", &url, dir.path(), port, free_port());
    wait_up(&client, &base).await;
    let mut missing = Vec::new();
    for no in &acked {
        let r = client
            .get(format!("{base}/api/v1/cases/{no}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            missing.push(no.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged cases lost: {missing:?}",
        missing.len(),
        acked.len()
    );
    let verify = tongban(&url, dir.path(), &["audit", "verify"], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    server.kill().unwrap();
    server.wait().unwrap();
    if let Some((base, schema)) = cleanup {
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
            }
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_submission_sqlite() {
    kill_mid_stream(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn sigkill_loses_no_acknowledged_submission_postgres() {
    kill_mid_stream(Engine::Postgres).await;
}
