//! The server log of a demo run holds no phone or ID number (issue 11, attack 3: SMS lines
//! carried whole replies with phones and addresses). The demo runs with its history, a
//! citizen files an order whose title and text quote a phone and an ID number, the worker
//! delivers the text messages to the log, and the log is scanned. A registration code's
//! message is logged without its text.

use crate::helpers::*;
use std::io::Read;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_run_logs_no_phones_or_id_numbers_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    demo_log(dir, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn a_demo_run_logs_no_phones_or_id_numbers_postgres() {
    let Some((base, schema, url)) = fresh_pg_schema() else {
        println!("skipped: TONGBAN_TEST_DATABASE_URL is not set");
        return;
    };
    demo_log(tempfile::tempdir().unwrap(), url).await;
    drop_pg_schema(base, schema);
}

async fn demo_log(dir: tempfile::TempDir, url: String) {
    let (p, i) = (free_port(), free_port());
    let log = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["demo", "--history-days", "3"])
        .current_dir(dir.path())
        .env("TONGBAN_DATABASE_URL", &url)
        .env("TONGBAN_PUBLIC_ADDR", format!("127.0.0.1:{p}"))
        .env("TONGBAN_INTERNAL_ADDR", format!("127.0.0.1:{i}"))
        .env("TONGBAN_LOG", "info")
        .env("TONGBAN_WORKER_INTERVAL_MS", "200")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{p}");
    wait_up(&client, &base).await;
    let order = serde_json::json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
        "street": "中山路100号3单元502", "title": "13900003333的投诉",
        "content": "我的身份证11010519491231002X，电话13900003333", "phone": "13900003333"});
    let r = client
        .post(format!("{base}/api/v1/workorders"))
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The demo citizen logs in (the log records logins).
    let r = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&serde_json::json!({"phone": tongban_server::demo::DEMO_CITIZEN_PHONE, "password": "Tongban-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A registration code: the demo gateway hands it to whoever asked, and never logs it.
    let r = client
        .post(format!("{base}/api/v1/accounts/phone-codes"))
        .json(&serde_json::json!({"phone": "13900004444"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let code = r.json::<serde_json::Value>().await.unwrap()["demo_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Wait for the worker to deliver the text message of the new order (up to 30 s: the
    // whole suite runs beside it on two cores).
    let mut text = String::new();
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text.clear();
        std::fs::File::open(&log)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        if text.contains("139****3333") && text.contains("139****4444") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        text.contains("139****3333"),
        "the SMS line is logged, masked: {text}"
    );
    assert!(
        text.contains("one-time code (text withheld)"),
        "the code's message is logged without its text: {text}"
    );
    for secret in [
        code.as_str(),
        "验证码",
        tongban_server::demo::DEMO_CITIZEN_PHONE,
        tongban_server::demo::DEMO_CITIZEN_ID,
        "13900003333",
        "11010519491231002X",
        "3单元502",
    ] {
        assert!(!text.contains(secret), "{secret} in the log:\n{text}");
    }
}
