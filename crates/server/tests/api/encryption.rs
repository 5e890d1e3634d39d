//! Personal data at rest: ID numbers, phones and application forms are stored SM4-encrypted.
//! Known values written through the API appear nowhere in clear — not in the SQLite file or
//! its WAL, not in any PostgreSQL table — and a key rotation re-encrypts everything.

use crate::cli::tongban;
use crate::helpers::*;
use crate::on_both_engines;
use serde_json::Value;

/// Every table's rows as text (PostgreSQL): what a table dump would show.
fn pg_dump_text(base: &str, schema: &str) -> String {
    let (base, schema) = (base.to_owned(), schema.to_owned());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        let tables: Vec<String> = c
            .query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                &[&schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.len() >= 10, "{tables:?}");
        let mut out = String::new();
        for t in tables {
            for r in c
                .query(&format!("SELECT t::text FROM {schema}.{t} t"), &[])
                .unwrap()
            {
                out.push_str(&r.get::<_, String>(0));
                out.push('\n');
            }
        }
        out
    })
    .join()
    .unwrap()
}

fn sqlite_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["t.db", "t.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    assert!(all.len() > 4096);
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn no_plaintext(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let citizen = app.citizen().await;
    let case_no = app.submit_birth(&citizen).await;
    // Read back through the API: the data is there, decrypted (masked for display).
    let case: Value = app
        .get(
            &app.url(&format!("/api/v1/cases/{case_no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["form"]["applicant_name"], "李四");
    let spouse_name = "王五";
    // A name of its own (issue 11: names were stored in clear), and a work order whose
    // timeline notes and reply must be sealed.
    let r = register(
        &app.client,
        &app.public,
        serde_json::json!({"name": "欧阳明远", "id_number": random_id_number(), "phone": random_phone(), "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let r = app
        .post(
            &app.url("/api/v1/workorders"),
            &citizen.token,
            serde_json::json!({"type": "complaint", "category": "city.noise", "district": "新吴区",
                "street": "癸子丑路3单元", "title": "庚辛壬的投诉", "content": "夜间施工"}),
        )
        .await;
    let no = r.json::<Value>().await.unwrap()["order_no"]
        .as_str()
        .unwrap()
        .to_owned();
    let dispatcher = app
        .staff(
            "enc-d",
            "wx-12345",
            &[tongban_platform::identity::Role::Dispatcher],
        )
        .await;
    let handler = app
        .staff(
            "enc-h",
            "wx-zjj",
            &[tongban_platform::identity::Role::Handler],
        )
        .await;
    // Sealed names are still found by exact name (blind index) in the clerk's queue.
    let clerk = app
        .staff(
            "enc-c",
            "wx-wjw",
            &[tongban_platform::identity::Role::Clerk],
        )
        .await;
    let q = |name: &str| app.iurl(&format!("/api/v1/staff/cases?status=all&applicant={name}"));
    let found: Value = app.get(&q("李四"), &clerk).await.json().await.unwrap();
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["case_no"] == case_no.as_str()),
        "{found}"
    );
    let none: Value = app.get(&q("欧阳明远"), &clerk).await.json().await.unwrap();
    assert_eq!(none["total"], 0, "{none}");
    let actions = app.iurl(&format!("/api/v1/staff/workorders/{no}/actions"));
    for (who, body) in [
        (
            &dispatcher,
            serde_json::json!({"action": "dispatch", "department": "wx-zjj", "note": "转交甲乙丙"}),
        ),
        (&handler, serde_json::json!({"action": "sign"})),
        (
            &handler,
            serde_json::json!({"action": "reply", "note": "已上门丁戊己"}),
        ),
    ] {
        assert_eq!(app.post(&actions, who, body).await.status(), 200);
    }
    let mine: Value = app
        .get(
            &app.url(&format!("/api/v1/workorders/{no}")),
            &citizen.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["reply"], "已上门丁戊己",
        "the citizen reads it, opened"
    );
    let stored: Vec<u8> = match engine {
        Engine::Sqlite => sqlite_bytes(app.dir.path()),
        Engine::Postgres => {
            let url = &app.ctx.config.database_url;
            let base = pg_base_url().unwrap();
            let schema = url.rsplit("search_path%3D").next().unwrap().to_owned();
            pg_dump_text(&base, &schema).into_bytes()
        }
    };
    for secret in [
        citizen.id_number.as_str(),
        citizen.phone.as_str(),
        &citizen.phone[3..],
        spouse_name,
        "欧阳明远",
        "甲乙丙",
        "丁戊己",
        "庚辛壬",
        "癸子丑",
    ] {
        assert!(!contains(&stored, secret), "{secret:?} is stored in clear");
    }
    assert!(
        contains(&stored, "sm4:t1:"),
        "the ciphertexts name their key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_clear_sqlite() {
    no_plaintext(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
async fn no_personal_data_in_clear_postgres() {
    no_plaintext(Engine::Postgres).await;
}

on_both_engines!(
    keys_rotate_reencrypts_everything,
    |app: TestApp| async move {
        let citizen = app.citizen().await;
        let case_no = app.submit_birth(&citizen).await;
        // A photo: files are sealed too, and rotation re-seals them.
        let order = serde_json::json!({"type": "complaint", "category": "city.noise", "district": "梁溪区",
        "street": "清扬路", "title": "噪音", "content": "夜间施工", "phone": "13900005555"});
        let r = app
            .client
            .post(app.url("/api/v1/workorders"))
            .multipart(
                reqwest::multipart::Form::new()
                    .text("order", order.to_string())
                    .part(
                        "photo",
                        reqwest::multipart::Part::bytes(crate::authz::PNG.to_vec())
                            .file_name("p.png"),
                    ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let uploads = app.ctx.config.upload_dir.clone();
        assert_eq!(
            tongban_platform::blobs::stale(&uploads, "t1").unwrap(),
            0,
            "sealed under t1"
        );
        let out = tongban(
            &app.ctx.config.database_url,
            app.dir.path(),
            &["keys", "rotate"],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.contains("re-encrypted"), "{text}");
        let keys = tongban_platform::vault::Keys::load(&app.ctx.config.key_file).unwrap();
        assert_ne!(keys.current, "t1");
        let current = keys.current.clone();
        assert_eq!(
            tongban_platform::blobs::stale(&uploads, &current).unwrap(),
            0,
            "every file re-sealed under the new key"
        );
        // Every sealed column of every room, from the one registry, is under the new key.
        let (stale, total): (i64, i64) = app
            .db()
            .read(move |c| {
                let mut stale = 0;
                for col in tongban_server::sealed_columns() {
                    let n = tongban_platform::keyring::stale(c, col, &current)?;
                    assert_eq!(
                        n, 0,
                        "{}.{} has values left on the old key",
                        col.table, col.column
                    );
                    stale += n;
                }
                let total = c
                    .query_one("SELECT COUNT(*) AS n FROM accounts", &[])?
                    .get_i64("n")?;
                Ok((stale, total))
            })
            .await
            .unwrap();
        assert_eq!(stale, 0, "every row is under the new key");
        assert!(total >= 2);
        // The running server reads data under the new key once it knows it (it reloads the key
        // file every minute; here, at once), and the old one is still listed for safety.
        // Tests share one process and its keys: the new key becomes known here without
        // becoming current, so that other tests keep sealing under the shared test key.
        let mut known = keys.clone();
        assert!(known.set_current("t1"));
        tongban_platform::vault::install(known);
        let case: Value = app
            .get(
                &app.url(&format!("/api/v1/cases/{case_no}")),
                &citizen.token,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(case["form"]["spouse_name"], "王五");
        assert!(
            app.citizen_login(&citizen.phone, PASSWORD).await.is_some(),
            "blind index still finds the account"
        );
        // Rotation is audited.
        let audit = tongban(
            &app.ctx.config.database_url,
            app.dir.path(),
            &["audit", "verify"],
            None,
        );
        assert!(audit.status.success());
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_init_publishes_the_sm2_public_key() {
    let app = spawn_app(Engine::Sqlite).await.unwrap();
    let out = tongban(
        &app.ctx.config.database_url,
        app.dir.path(),
        &["keys", "init"],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = tongban(
        &app.ctx.config.database_url,
        app.dir.path(),
        &["keys", "init"],
        None,
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));
    // The server learns the key from the key file (within a minute; here, at once).
    let keys = tongban_platform::vault::Keys::load(&app.ctx.config.key_file).unwrap();
    let want = keys.public_keys()[0].public_key.clone();
    tongban_platform::vault::install(keys);
    let v: Value = app
        .client
        .get(app.url("/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["public_key"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&want.as_str()), "{v}");
    assert!(want.starts_with("04") && want.len() == 130);
    assert!(!v.to_string().contains("secret"));
}
