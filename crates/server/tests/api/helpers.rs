//! Test harness: `spawn_app` starts the real server on port 0 with a fresh database —
//! a SQLite temp file, or a fresh PostgreSQL schema — and talks HTTP to it.

use rand::Rng;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tongban_platform::config::Config;
use tongban_platform::crypto::hash_password;
use tongban_platform::db::Db;
use tongban_platform::identity::{self, NewStaff, Role};
use tongban_platform::ids::IdNumber;
use tongban_platform::Ctx;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub public: String,
    pub internal: String,
    pub client: Client,
    pub ctx: Ctx,
    pub dir: tempfile::TempDir,
    schema: Option<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some((base, schema)) = self.schema.take() {
            drop_pg_schema(base, schema);
        }
    }
}

/// Drop a test's PostgreSQL schema. Housekeeping: a failure here must not fail the test.
pub fn drop_pg_schema(base: String, schema: String) {
    let _ = std::thread::spawn(move || {
        if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    })
    .join();
}

pub fn pg_base_url() -> Option<String> {
    let url = std::env::var("TONGBAN_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty());
    // Built for PostgreSQL (the variants are not marked ignored): a missing URL must fail,
    // never pass silently.
    assert!(
        url.is_some() || !cfg!(tongban_pg),
        "the suite was built with TONGBAN_TEST_DATABASE_URL set, but it is not set now"
    );
    url
}

/// A fresh PostgreSQL schema and a URL that selects it, or `None` without a test database.
pub fn fresh_pg_schema() -> Option<(String, String, String)> {
    let base = pg_base_url()?;
    let schema = format!("t_{}", rand::rng().random_range(0..u64::MAX));
    let b2 = base.clone();
    let s2 = schema.clone();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&b2, postgres::NoTls)
            .expect("connect to TONGBAN_TEST_DATABASE_URL");
        c.batch_execute(&format!("CREATE SCHEMA {s2}"))
            .expect("create schema");
    })
    .join()
    .expect("schema thread");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Some((base, schema, url))
}

pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db_url, schema) = match engine {
        Engine::Sqlite => (
            format!("sqlite://{}", dir.path().join("t.db").display()),
            None,
        ),
        Engine::Postgres => {
            let Some((base, schema, url)) = fresh_pg_schema() else {
                println!("skipped: TONGBAN_TEST_DATABASE_URL is not set");
                return None;
            };
            (url, Some((base, schema)))
        }
    };
    // Every app in this process shares one fixed test key (the keys are process-wide).
    let key_file = dir.path().join("tongban-keys.toml");
    tongban_platform::vault::Keys::for_tests()
        .save(&key_file)
        .expect("key file");
    let mut config = Config {
        database_url: db_url.clone(),
        upload_dir: dir.path().join("uploads"),
        max_upload_bytes: 64 * 1024,
        max_case_upload_bytes: 100 * 1024,
        key_file,
        // Tests file many orders from one address; the limits get their own tests.
        rate_per_hour: 1_000_000,
        rate_per_phone_day: 1_000_000,
        // Registration codes come back in the answer (the gateway tests set their own).
        sms_url: Some("demo://".into()),
        // The worker's built-in open datasets would change the catalogue under tests that
        // count it; their own tests turn them on.
        open_data_builtins: false,
        ..Config::default()
    };
    tweak(&mut config);
    let c2 = config.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&c2).expect("migrate");
        tongban_server::demo::seed(&db).expect("seed demo");
        db
    })
    .await
    .expect("setup");
    let listeners = tongban_server::Listeners::bind("127.0.0.1:0", "127.0.0.1:0")
        .await
        .expect("bind");
    let (p, i) = listeners.addrs();
    // An internal listener over TLS (a test certificate): its URL and a client that takes it.
    let (internal, client) = if config.internal_tls_cert.is_some() {
        let client = Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        (format!("https://{i}"), client)
    } else {
        (format!("http://{i}"), Client::new())
    };
    // What discovery documents publish (OIDC issuer, Open311): the address bound.
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{p}"));
    }
    let ctx = Ctx::new(db, config);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let ctx2 = ctx.clone();
    tokio::spawn(async move {
        let _ = tongban_server::serve(ctx2, listeners, async {
            let _ = rx.await;
        })
        .await;
    });
    Some(TestApp {
        public: format!("http://{p}"),
        internal,
        client,
        ctx,

        dir,
        schema,
        stop: Some(tx),
    })
}

/// The current 6-digit TOTP code for a base32 secret.
pub fn totp_now(secret: &str) -> String {
    let key = tongban_platform::totp::unbase32(secret).unwrap();
    let step = tongban_platform::time::now_millis() / 1000 / tongban_platform::totp::STEP_SECONDS;
    tongban_platform::totp::code_at(&key, step, 6)
}

/// A valid, random resident ID number (GB 11643 check digit computed).
pub fn random_id_number() -> String {
    let mut r = rand::rng();
    let body = format!(
        "320211{:04}{:02}{:02}{:03}",
        r.random_range(1950..2005),
        r.random_range(1..=12),
        r.random_range(1..=28),
        r.random_range(0..1000)
    );
    let c = IdNumber::check_char(&body).expect("17 digits");
    format!("{body}{c}")
}

pub fn random_phone() -> String {
    format!("139{:08}", rand::rng().random_range(0..100_000_000))
}

pub const PASSWORD: &str = "Test-password-1";

/// The anti-forgery seed the tests send as the cookie, as a browser does after loading a
/// form. The form field carries [`csrf_for`] of the cookie header: the token the server
/// derives from the seed and the session, never the cookie's own value.
pub const CSRF: &str = "c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0";

/// The form token the server expects with this cookie header: SM3-HMAC under the shared
/// test keys' index key of the seed and the session the cookie carries (staff session
/// first, else the citizen's).
pub fn csrf_for(cookie: &str) -> String {
    let get = |name: &str| {
        cookie
            .split(';')
            .map(str::trim)
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
    };
    let seed = get("tongban_csrf").unwrap_or_else(|| CSRF.to_owned());
    let session = get("tongban_staff")
        .or_else(|| get("tongban_session"))
        .unwrap_or_default();
    tongban_platform::vault::Keys::for_tests().blind("csrf", &format!("{seed}:{session}"))
}

/// A cookie header with the anti-forgery cookie added.
pub fn with_csrf(cookie: &str) -> String {
    if cookie.is_empty() {
        format!("tongban_csrf={CSRF}")
    } else {
        format!("{cookie}; tongban_csrf={CSRF}")
    }
}

/// Ask for a registration code for `body`'s phone (the demo gateway hands it back; a refused
/// request leaves a code that cannot be right).
pub async fn registration_code(client: &Client, base: &str, phone: &Value) -> String {
    let r = client
        .post(format!("{base}/api/v1/accounts/phone-codes"))
        .json(&json!({ "phone": phone }))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::ACCEPTED {
        return "000000".into();
    }
    let v: Value = r.json().await.unwrap();
    v["demo_code"]
        .as_str()
        .expect("the demo gateway answers with the code")
        .to_owned()
}

/// Register over HTTP as the site does: a code texted to the phone, then the account.
pub async fn register(client: &Client, base: &str, mut body: Value) -> Response {
    let code = registration_code(client, base, &body["phone"]).await;
    body["sms_code"] = json!(code);
    client
        .post(format!("{base}/api/v1/accounts"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub struct Citizen {
    pub id_number: String,
    pub phone: String,
    pub token: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public)
    }
    pub fn iurl(&self, path: &str) -> String {
        format!("{}{path}", self.internal)
    }

    /// A console page as the staff member with session `staff` sees it (it must answer 200).
    pub async fn console_page(&self, path: &str, staff: &str) -> String {
        let r = self
            .client
            .get(self.iurl(path))
            .header("cookie", format!("tongban_staff={staff}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.text().await.unwrap()
    }

    pub async fn citizen(&self) -> Citizen {
        let id_number = random_id_number();
        let phone = random_phone();
        let r = register(
            &self.client,
            &self.public,
            json!({"name": "李四", "id_number": id_number, "phone": phone, "password": PASSWORD}),
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let r = self
            .client
            .post(self.url("/api/v1/sessions"))
            .json(&json!({"phone": phone, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Citizen {
            id_number,
            phone,
            token,
        }
    }

    /// Create a staff account directly (as `tongban staff add` does) and log in over HTTP.
    /// Accounts holding the admin role get a TOTP second factor, as the platform requires.
    pub async fn staff(&self, username: &str, department: &str, roles: &[Role]) -> String {
        let hash = hash_password(PASSWORD).unwrap();
        let secret = roles
            .contains(&Role::Admin)
            .then(tongban_platform::totp::new_secret);
        let (u, d, r, sec) = (
            username.to_owned(),
            department.to_owned(),
            roles.to_vec(),
            secret.clone(),
        );
        self.ctx
            .db
            .write(move |c| {
                identity::insert_staff(
                    c,
                    &NewStaff {
                        username: &u,
                        name: &u,
                        department_code: &d,
                        roles: &r,
                        password_hash: &hash,
                        totp_secret: sec.as_deref(),
                    },
                )
            })
            .await
            .unwrap();
        let mut body = json!({"username": username, "password": PASSWORD});
        if let Some(sec) = &secret {
            body["totp"] = json!(totp_now(sec));
        }
        let r = self
            .client
            .post(self.iurl("/api/v1/staff/sessions"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Log in over the API; the token, or `None` when refused.
    pub async fn citizen_login(&self, phone: &str, password: &str) -> Option<String> {
        let r = self
            .client
            .post(self.url("/api/v1/sessions"))
            .json(&json!({"phone": phone, "password": password}))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::OK {
            return None;
        }
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .map(str::to_owned)
    }

    /// Submit a valid 生育登记 application and return its case number.
    /// Submit `body` (`matter_code`, `form`, optional `reuse`) as a browser or client
    /// library does with files: multipart, with a small PDF for each required material of
    /// the matter that `reuse` does not name.
    pub async fn submit_case(&self, token: &str, body: Value) -> Response {
        self.submit_case_as(token, body, None).await
    }

    /// As [`TestApp::submit_case`], with a `User-Agent` (a phone's, for the mobile channel).
    pub async fn submit_case_as(&self, token: &str, body: Value, agent: Option<&str>) -> Response {
        let code = body["matter_code"].as_str().unwrap_or_default().to_owned();
        let mut form = reqwest::multipart::Form::new()
            .text("matter_code", code.clone())
            .text("form", body["form"].to_string());
        let reuse = body["reuse"].as_object().cloned().unwrap_or_default();
        for (key, id) in &reuse {
            form = form.text(format!("reuse.{key}"), id.to_string());
        }
        let matter = tongban_catalog::matters(&self.ctx.db)
            .fetch(&code)
            .await
            .unwrap();
        for m in matter.iter().flat_map(|m| &m.materials) {
            if m.required && !reuse.contains_key(&m.key) {
                form = form.part(
                    m.key.clone(),
                    reqwest::multipart::Part::bytes(b"%PDF-1.4 a scan".to_vec())
                        .file_name(format!("{}.pdf", m.key))
                        .mime_str("application/pdf")
                        .unwrap(),
                );
            }
        }
        let mut req = self
            .client
            .post(self.url("/api/v1/cases"))
            .bearer_auth(token);
        if let Some(a) = agent {
            req = req.header("user-agent", a);
        }
        req.multipart(form).send().await.unwrap()
    }

    /// The id of `c`'s earlier upload of the ID card (material `id_card`), making one with a
    /// first application if there is none: what a JSON submission names in `reuse`.
    pub async fn id_card_upload(&self, c: &Citizen) -> i64 {
        let url = self.url("/api/v1/me/materials?key=id_card");
        for first in [true, false] {
            let r = self.get(&url, &c.token).await;
            assert_eq!(r.status(), StatusCode::OK);
            if let Some(id) = r.json::<Value>().await.unwrap()["items"][0]["id"].as_i64() {
                return id;
            }
            assert!(first, "the first application's ID card is listed");
            self.submit_birth(c).await;
        }
        unreachable!()
    }

    pub async fn submit_birth(&self, c: &Citizen) -> String {
        let r = self
            .submit_case(
                &c.token,
                json!({"matter_code": "WX-WJ-001", "form": birth_registration_form(c)}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["case_no"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn get(&self, url: &str, token: &str) -> Response {
        self.client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, url: &str, token: &str, body: Value) -> Response {
        self.client
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn act(&self, token: &str, case_no: &str, action: &str, note: &str) -> Response {
        self.post(
            &self.iurl(&format!("/api/v1/staff/cases/{case_no}/actions")),
            token,
            json!({"action": action, "note": note}),
        )
        .await
    }

    /// Counts of rows that every stored-data check compares before and after bad input.
    pub async fn row_counts(&self) -> (i64, i64, i64, i64) {
        self.ctx
            .db
            .read(|c| {
                let n = |c: &mut dyn tongban_platform::db::Conn, t: &str| {
                    c.query_one(&format!("SELECT COUNT(*) AS n FROM {t}"), &[])
                        .and_then(|r| r.get_i64("n"))
                };
                Ok((
                    n(c, "cases")?,
                    n(c, "case_events")?,
                    n(c, "case_materials")?,
                    n(c, "accounts")?,
                ))
            })
            .await
            .unwrap()
    }

    pub fn db(&self) -> &Db {
        &self.ctx.db
    }

    /// The audit log's entries of actions starting with `prefix` (e.g. `opendata.`), once
    /// chained, counted as "action result count" lines in order.
    pub async fn audit_counts(&self, prefix: &str) -> Vec<String> {
        tongban_platform::audit::settle(self.db()).await.unwrap();
        let like = format!("{prefix}%");
        self.db()
            .read(move |c| {
                c.query(
                    "SELECT action, result, COUNT(*) AS n FROM audit_log WHERE action LIKE $1
                     GROUP BY action, result ORDER BY action, result",
                    tongban_platform::params![like],
                )?
                .iter()
                .map(|r| {
                    Ok(format!(
                        "{} {} {}",
                        r.get_str("action")?,
                        r.get_str("result")?,
                        r.get_i64("n")?
                    ))
                })
                .collect::<Result<Vec<String>, tongban_platform::db::DbError>>()
            })
            .await
            .unwrap()
    }
}

/// The error code of an error response, checking the shape.
pub async fn error_code(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let v: Value = r.json().await.expect("error body is JSON");
    let code = v["error"]["code"].as_str().expect("error.code").to_owned();
    let msg = v["error"]["message"]
        .as_str()
        .expect("error.message")
        .to_owned();
    assert!(!msg.is_empty());
    (status, code, msg)
}

/// On a server at `base`: a first application of WX-WJ-001 with `form` and an ID card
/// scan, and that upload's id, which later JSON submissions name in `reuse`.
pub async fn first_id_card(client: &reqwest::Client, base: &str, token: &str, form: &Value) -> i64 {
    let mp = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", form.to_string())
        .part(
            "id_card",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 id".to_vec()).file_name("id.pdf"),
        );
    let r = client
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .multipart(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let list: Value = client
        .get(format!("{base}/api/v1/me/materials?key=id_card"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"][0]["id"]
        .as_i64()
        .expect("the ID card is listed")
}

/// A valid form for matter WX-WJ-001 (生育登记).
pub fn birth_registration_form(c: &Citizen) -> Value {
    json!({
        "applicant_name": "李四",
        "applicant_id": c.id_number,
        "applicant_phone": c.phone,
        "spouse_name": "王五",
        "spouse_id": random_id_number(),
        "child_order": "一孩",
        "due_date": "2027-03-01"
    })
}

/// Run a scenario on SQLite and, when a test database is configured, on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = spawn_app(Engine::Sqlite).await.expect("sqlite app");
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(tongban_pg), ignore = "PostgreSQL: set TONGBAN_TEST_DATABASE_URL")]
            async fn postgres() {
                if let Some(app) = spawn_app(Engine::Postgres).await {
                    ($body)(app).await;
                }
            }
        }
    };
}

/// A port free at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until `base` answers `/healthz`.
pub async fn wait_up(client: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{base} did not come up");
}

/// A self-signed certificate for 127.0.0.1 (and its key) made by OpenSSL in `dir`: PEM files
/// a listener serves and a client may trust as its own authority.
pub fn test_tls_cert(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl makes a test certificate");
    (cert, key)
}

/// Run the `tongban` binary as a server (`serve` or `demo`) on the given ports in `dir`.
pub fn spawn_node(
    sub: &str,
    url: &str,
    dir: &std::path::Path,
    public: u16,
    internal: u16,
) -> std::process::Child {
    node_command(sub, url, dir, public, internal)
        .spawn()
        .unwrap()
}

/// The command [`spawn_node`] runs, for a test to add its own settings.
pub fn node_command(
    sub: &str,
    url: &str,
    dir: &std::path::Path,
    public: u16,
    internal: u16,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tongban"));
    cmd.arg(sub);
    if sub == "demo" {
        // These tests count what they create: no demo history.
        cmd.args(["--history-days", "0"]);
    }
    cmd.current_dir(dir)
        .env("TONGBAN_DATABASE_URL", url)
        .env("TONGBAN_PUBLIC_ADDR", format!("127.0.0.1:{public}"))
        .env("TONGBAN_INTERNAL_ADDR", format!("127.0.0.1:{internal}"))
        .env("TONGBAN_UPLOAD_DIR", dir.join("shared-uploads"))
        .env("TONGBAN_LOG", "error")
        .env("TONGBAN_SMS_URL", "demo://")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}
