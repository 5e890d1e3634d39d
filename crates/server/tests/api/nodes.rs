//! Scale-out: two `tongban serve` processes on one PostgreSQL share everything through the
//! database; submit through one node, act and read through the other.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Child;

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(sub: &str, url: &str, dir: &std::path::Path) -> (Node, String, String) {
    let (p, i) = (free_port(), free_port());
    let child = spawn_node(sub, url, dir, p, i);
    (
        Node(child),
        format!("http://127.0.0.1:{p}"),
        format!("http://127.0.0.1:{i}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn two_nodes_share_one_postgres() {
    let Some((base, schema, url)) = fresh_pg_schema() else {
        println!("skipped: TONGBAN_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let (_a, a_pub, a_int) = start("demo", &url, dir.path());
    wait_up(&client, &a_pub).await;
    let (_b, b_pub, b_int) = start("serve", &url, dir.path());
    wait_up(&client, &b_pub).await;

    // Register on A, log in on B: sessions live in the database.
    let (id_number, phone) = (random_id_number(), random_phone());
    let r = register(
        &client,
        &a_pub,
        json!({"name": "钱七", "id_number": id_number, "phone": phone, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let login: Value = client
        .post(format!("{b_pub}/api/v1/sessions"))
        .json(&json!({"id_number": id_number, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();

    // Submit through A (with a file), act and read through B.
    let form = json!({"applicant_name": "钱七", "applicant_id": id_number, "applicant_phone": phone,
        "spouse_name": "孙八", "spouse_id": random_id_number(), "child_order": "一孩"});
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", form.to_string())
        .part(
            "id_card",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 id".to_vec()).file_name("i.pdf"),
        )
        .part(
            "marriage_cert",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 shared".to_vec()).file_name("c.pdf"),
        );
    let r = client
        .post(format!("{a_pub}/api/v1/cases"))
        .bearer_auth(&token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case_no = r.json::<Value>().await.unwrap()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();

    let staff: Value = client
        .post(format!("{b_int}/api/v1/staff/sessions"))
        .json(&json!({"username": "wjw", "password": tongban_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let st = staff["token"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{b_int}/api/v1/staff/cases/{case_no}/actions"))
        .bearer_auth(&st)
        .json(&json!({"action": "accept", "note": "受理"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .get(format!(
            "{b_int}/api/v1/staff/cases/{case_no}/materials/marriage_cert"
        ))
        .bearer_auth(&st)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.4 shared");
    let seen: Value = client
        .get(format!("{a_pub}/api/v1/cases/{case_no}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["status"], "accepted");
    assert!(seen["deadline"].is_string());
    let q: Value = client
        .get(format!("{a_int}/api/v1/staff/cases?status=accepted"))
        .bearer_auth(&st)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(q["total"], 1);

    // Case numbers stay unique when both nodes take submissions at once (each reusing the
    // ID card uploaded through A).
    let id_card = first_id_card(&client, &a_pub, &token, &form).await;
    let mut handles = Vec::new();
    for i in 0..20 {
        let node = if i % 2 == 0 {
            a_pub.clone()
        } else {
            b_pub.clone()
        };
        let (client, token, form) = (client.clone(), token.clone(), form.clone());
        handles.push(tokio::spawn(async move {
            let r = client
                .post(format!("{node}/api/v1/cases"))
                .bearer_auth(&token)
                .json(&json!({"matter_code": "WX-WJ-001", "form": form, "reuse": {"id_card": id_card}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()["case_no"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut nos = std::collections::BTreeSet::new();
    for h in handles {
        nos.insert(h.await.unwrap());
    }
    assert_eq!(nos.len(), 20);
    drop((_a, _b));
    let _ = std::thread::spawn(move || {
        if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    })
    .join();
}
