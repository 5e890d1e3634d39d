//! Benchmark `cases`: concurrent clients over HTTP against `tongban serve` (a child process)
//! with a database pre-filled with 1,000,000 cases.
//!
//! (a) durable submissions, against a baseline of single-row inserts, one transaction each,
//!     `synchronous=FULL`, no HTTP, measured in the same run;
//! (b) reading a case's status with its timeline, against `GET /healthz` on the same server.
//!
//! Usage (see bench/README.md):
//!   cargo build --release -p tongban-server -p tongban-bench
//!   target/release/cases [--db sqlite://bench.db | --db postgres://…] [--cases N] [--seconds S]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tongban_bench::{baseline_inserts, get, load, login, post, print, rss_mb, Conn, Maker, Server};
use tongban_platform::config::Config;
use tongban_platform::db::{Db, Engine};

struct Args {
    db: String,
    cases: i64,
    seconds: u64,
    writers: usize,
    readers: usize,
    page_clients: usize,
    /// Seconds to wait for the followers to finish catching up after the load.
    catch_up_limit: u64,
}

fn args() -> Args {
    let mut a = Args {
        db: String::new(),
        cases: 1_000_000,
        seconds: 10,
        writers: 128,
        readers: 64,
        page_clients: 4,
        catch_up_limit: 1800,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--db" => a.db = v,
            "--cases" => a.cases = v.parse().unwrap_or(a.cases),
            "--seconds" => a.seconds = v.parse().unwrap_or(a.seconds),
            "--writers" => a.writers = v.parse().unwrap_or(a.writers),
            "--readers" => a.readers = v.parse().unwrap_or(a.readers),
            "--page-clients" => a.page_clients = v.parse().unwrap_or(a.page_clients),
            "--catch-up-limit" => a.catch_up_limit = v.parse().unwrap_or(a.catch_up_limit),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// A realistic stored form (生育登记), about 250 bytes.
const FORM: &str = r#"{"applicant_name":"张三","applicant_id":"320213199003071233","applicant_phone":"13912345678","spouse_name":"王五","spouse_id":"11010519491231002X","child_order":"一孩","due_date":"2027-03-01"}"#;

fn prefill(db: &Db, n: i64) -> Result<(), String> {
    let engine = db.engine();
    // Forms are stored SM4-encrypted; one ciphertext serves every pre-filled row.
    let form = tongban_platform::vault::keys()
        .and_then(|k| k.encrypt(FORM))
        .map_err(|e| e.to_string())?;
    // Timeline names and notes are sealed too.
    let seal = |t: &str| tongban_platform::vault::seal_text(t).map_err(|e| e.to_string());
    let (empty, clerk, note) = (seal("")?, seal("卫健委工作人员")?, seal("材料齐全")?);
    db.write_blocking(move |c| {
        let have = c.query_one("SELECT COUNT(*) AS n FROM cases", &[])?.get_i64("n")?;
        if have >= n {
            return Ok(());
        }
        let series = match engine {
            Engine::Sqlite => "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1)",
            Engine::Postgres => "WITH s(i) AS (SELECT generate_series(1, $1::bigint))",
        };
        let hash: String = c.query_one("SELECT password_hash FROM accounts WHERE id = 1", &[])?.get_str("password_hash")?;
        c.execute(
            &format!(
                "{series} INSERT INTO accounts (name, id_number, phone, password_hash, created_at)
                 SELECT 'bench' || i, 'bench-id-' || i, 'bench-phone-' || i, $2, 0 FROM s"
            ),
            tongban_platform::params![999i64, hash],
        )?;
        // Every 1000th case belongs to the demo citizen (account 1), whom the bench reads as.
        c.execute(
            &format!(
                "{series} INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at,
                    accepted_on, deadline, updated_at, version)
                 SELECT 'B' || i, 'WX-WJ-001', 'wx-wjw', CASE WHEN i % 1000 = 0 THEN 1 ELSE 2 + i % 999 END,
                    CASE WHEN i % 3 = 0 THEN 'approved' WHEN i % 3 = 1 THEN 'accepted' ELSE 'submitted' END,
                    $2, 1700000000000 + i * 1000,
                    CASE WHEN i % 3 = 2 THEN NULL ELSE '2026-01-05' END,
                    CASE WHEN i % 3 = 2 THEN NULL ELSE '2026-01-12' END,
                    1700000000000 + i * 1000, 1 FROM s"
            ),
            tongban_platform::params![n, form],
        )?;
        c.execute(
            "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_kind, actor_id, actor_name, role, department_code, note)
             SELECT id, submitted_at, 'submit', NULL, 'submitted', 'citizen', applicant_id, $1, 'applicant', NULL, $1 FROM cases",
            tongban_platform::params![empty.as_str()],
        )?;
        c.execute(
            "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_kind, actor_id, actor_name, role, department_code, note)
             SELECT id, submitted_at + 3600000, 'accept', 'submitted', 'accepted', 'staff', 1, $1, 'clerk', 'wx-wjw', $2
             FROM cases WHERE status <> 'submitted'",
            tongban_platform::params![clerk.as_str(), note.as_str()],
        )?;
        Ok(())
    })
    .map_err(|e| format!("prefill failed: {e}"))
}

/// Log in as the demo citizen, who owns every 1000th pre-filled case.
async fn login_citizen(addr: &str) -> String {
    let body = format!(
        r#"{{"phone":"{}","password":"{}"}}"#,
        tongban_server::demo::DEMO_CITIZEN_PHONE,
        tongban_server::demo::DEMO_PASSWORD
    );
    login(addr, "/api/v1/sessions", &body).await
}

/// The citizen's ID card scan (the matter's required material), uploaded once with a first
/// application and reused by id in every submission after it, as a citizen's later
/// applications do.
async fn id_card(addr: &str, token: &str) -> i64 {
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let list = || async {
        client
            .get(format!("{base}/api/v1/me/materials?key=id_card"))
            .bearer_auth(token)
            .send()
            .await
            .expect("list earlier uploads")
            .json::<serde_json::Value>()
            .await
            .expect("a JSON list")["items"][0]["id"]
            .as_i64()
    };
    if let Some(id) = list().await {
        return id;
    }
    let form = reqwest::multipart::Form::new()
        .text("matter_code", "WX-WJ-001")
        .text("form", FORM)
        .part(
            "id_card",
            reqwest::multipart::Part::bytes(b"%PDF-1.4 ID card scan".to_vec()).file_name("id.pdf"),
        );
    let r = client
        .post(format!("{base}/api/v1/cases"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("the first application");
    assert!(r.status().is_success(), "first application: {}", r.status());
    list().await.expect("the ID card is listed")
}

/// One measurement: `GET /healthz`, then submissions, then reads of the citizen's cases.
async fn phase(
    addr: &str,
    token: &str,
    a: &Args,
) -> (
    tongban_bench::Outcome,
    tongban_bench::Outcome,
    tongban_bench::Outcome,
) {
    let addr1 = addr.to_owned();
    let make_health: Maker = Arc::new(move |_| get("/healthz", &addr1, None));
    let health = load(addr, a.readers, a.seconds, 200, make_health).await;
    let reuse = id_card(addr, token).await;
    let submit_body =
        format!(r#"{{"matter_code":"WX-WJ-001","form":{FORM},"reuse":{{"id_card":{reuse}}}}}"#);
    let (addr2, tok2) = (addr.to_owned(), token.to_owned());
    let make_submit: Maker = Arc::new(move |_| post("/api/v1/cases", &addr2, &tok2, &submit_body));
    let sub = load(addr, a.writers, a.seconds, 201, make_submit).await;
    let (addr3, tok3) = (addr.to_owned(), token.to_owned());
    let total = a.cases;
    let make_read: Maker = Arc::new(move |i| {
        let k = 1000 * (1 + (i.wrapping_mul(2_654_435_761) % (total as u64 / 1000).max(1)));
        get(&format!("/api/v1/cases/B{k}"), &addr3, Some(&tok3))
    });
    let reads = load(addr, a.readers, a.seconds, 200, make_read).await;
    (health, sub, reads)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-cases");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db_url = if a.db.is_empty() {
        format!("sqlite://{}", dir.join("cases.db").display())
    } else {
        a.db.clone()
    };
    println!("database: {db_url}; pre-filling {} cases …", a.cases);
    let t = Instant::now();
    let key_file = dir.join("tongban-keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let (cfg, n) = (config.clone(), a.cases);
    let db = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&cfg)?;
        tongban_server::demo::seed(&db)?;
        prefill(&db, n).map(|_| db)
    })
    .await
    .expect("prefill thread")
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    // Statistics and the visibility map, as on a live database.
    tongban_bench::vacuum(&db).await;
    drop(db);
    println!("pre-filled in {:.1} s", t.elapsed().as_secs_f64());

    // Followers idle: the worker held off for the whole phase.
    let server = Server::start_with(
        &db_url,
        &dir,
        &key_file,
        &[("TONGBAN_WORKER_INTERVAL_MS", "3600000")],
    )
    .await;
    let token = login_citizen(&server.addr).await;
    let rss0 = rss_mb(server.pid());
    println!("server RSS after start: {:.0} MB", rss0.0);
    let engine_is_sqlite = db_url.starts_with("sqlite:");
    let base_a = if engine_is_sqlite {
        baseline_inserts(&dir, a.seconds.min(5), FORM)
    } else {
        // As many connections as the server's pool holds.
        tongban_bench::pgbench_inserts(&db_url, a.seconds.min(10), 16, FORM).unwrap_or(0.0)
    };
    // PostgreSQL's own ceiling for reads on this machine: one prepared `SELECT 1` per
    // transaction, no HTTP, as many connections as the server's pool.
    let base_b = if engine_is_sqlite {
        None
    } else {
        tongban_bench::pgbench_selects(&db_url, a.seconds.min(10), 16)
    };
    println!("phase 1: followers idle");
    let idle = phase(&server.addr, &token, &a).await;
    server.stop();

    // Followers catching up: the worker starts a second after the server and works through
    // the pre-filled timelines (and the idle phase's submissions) while the load runs.
    let db = Db::open(&db_url).expect("open the database to watch the followers");
    let progress = |db: &Db| {
        let db = db.clone();
        async move {
            db.read(tongban_insight::facts::progress)
                .await
                .unwrap_or((0, 0))
        }
    };
    let (start_read, start_end) = progress(&db).await;
    let server = Server::start_with(
        &db_url,
        &dir,
        &key_file,
        &[("TONGBAN_WORKER_INTERVAL_MS", "1000")],
    )
    .await;
    let catch_up_started = Instant::now();
    let (addr, pid) = (server.addr.clone(), server.pid());
    let token = login_citizen(&addr).await;
    println!(
        "phase 2: followers catching up on {} timeline entries",
        start_end - start_read
    );
    let busy = phase(&addr, &token, &a).await;
    let (read_after, end_after) = progress(&db).await;
    let still_behind = read_after < end_after;
    let (sub, health, reads) = (&busy.1, &busy.0, &busy.2);
    // (c) pages: the matter list and a case page (HTML, server-rendered), same clients.
    let addr5 = addr.clone();
    let make_list: Maker = Arc::new(move |i| {
        let q = [
            "",
            "?q=%E5%85%AC%E7%A7%AF%E9%87%91",
            "?department=wx-wjw",
            "?page=2",
        ][(i % 4) as usize];
        get(&format!("/matters{q}"), &addr5, None)
    });
    let list_page = load(&addr, a.page_clients, a.seconds, 200, make_list).await;
    let (addr6, tok6, total) = (addr.clone(), token.clone(), a.cases);
    let make_case_page: Maker = Arc::new(move |i| {
        let k = 1000 * (1 + (i.wrapping_mul(2_654_435_761) % (total as u64 / 1000).max(1)));
        format!("GET /my/cases/B{k} HTTP/1.1\r\nHost: {addr6}\r\nCookie: tongban_session={tok6}\r\n\r\n").into_bytes()
    });
    let case_page = load(&addr, a.page_clients, a.seconds, 200, make_case_page).await;
    // Server-side: the share of page requests the server answered within 20 ms, from its own
    // request-duration histogram on the internal listener.
    let iaddr = server.iaddr.clone();
    let metrics = match Conn::open(&iaddr).await {
        Ok(mut c) => c
            .call(&get("/metrics", &iaddr, None))
            .await
            .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let within = |route: &str| -> f64 {
        let find = |suffix: &str| {
            metrics
                .lines()
                .find(|l| {
                    l.contains(&format!("route=\"{route}\""))
                        && l.contains("listener=\"public\"")
                        && l.contains(suffix)
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let count = find("_count{");
        if count == 0.0 {
            0.0
        } else {
            find("le=\"0.02\"") / count
        }
    };
    let (list_within, case_within) = (within("/matters"), within("/my/cases/{case_no}"));
    let rss = rss_mb(pid);
    // The catch-up must still finish.
    let deadline = Instant::now() + Duration::from_secs(a.catch_up_limit);
    let (mut done, mut total) = progress(&db).await;
    while done < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        (done, total) = progress(&db).await;
    }
    let catch_up = catch_up_started.elapsed();
    let caught_up = done >= total;
    server.stop();

    println!();
    println!(
        "cases bench on {} ({} cases pre-filled, {} s per phase)",
        if engine_is_sqlite {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        a.cases,
        a.seconds
    );
    for (label, (h, su, re)) in [("followers idle", &idle), ("followers catching up", &busy)] {
        println!("{label}:");
        print(
            &format!("(a) submit, {} clients", a.writers),
            su,
            if engine_is_sqlite {
                "single-row fsync inserts"
            } else {
                "pgbench, a submission-shaped transaction"
            },
            base_a,
        );
        print(
            &format!("(a) submit, {} clients", a.writers),
            su,
            "GET /healthz",
            h.rate,
        );
        print(
            &format!("(b) read case + timeline, {} clients", a.readers),
            re,
            "GET /healthz",
            h.rate,
        );
        if let Some(b) = base_b {
            print(
                &format!("(b) read case + timeline, {} clients", a.readers),
                re,
                "pgbench, one SELECT 1 per transaction",
                b,
            );
        }
        print("    GET /healthz (baseline)", h, "itself", h.rate);
    }
    let ratio = sub.rate / idle.1.rate.max(1.0);
    println!(
        "submissions while catching up / idle: {ratio:.2}x (floor 0.8); reads {:.2}x",
        reads.rate / idle.2.rate.max(1.0)
    );
    println!(
        "catch-up: {} entries in {:.1} s = {:.0} entries/s ({}; {})",
        total - start_read,
        catch_up.as_secs_f64(),
        (total - start_read) as f64 / catch_up.as_secs_f64().max(0.001),
        if caught_up {
            "finished"
        } else {
            "NOT finished in the time allowed"
        },
        if still_behind {
            "still behind when the load phases ended"
        } else {
            "finished before the load phases ended: make --cases larger to measure under catch-up"
        }
    );
    if engine_is_sqlite {
        let (rs, rr) = (
            sub.rate / health.rate.max(1.0),
            reads.rate / health.rate.max(1.0),
        );
        println!(
            "floors while catching up (submit ≥ 0.2x /healthz, read ≥ 0.35x /healthz, ≥ 0.8x idle submissions, catch-up finishes): {} (submit {rs:.2}x, read {rr:.2}x)",
            if rs >= 0.2 && rr >= 0.35 && ratio >= 0.8 && caught_up { "met" } else { "NOT met" }
        );
    }
    println!("server RSS: {:.0} MB now, {:.0} MB peak", rss.0, rss.1);
    let ok = sub.rate >= 3000.0
        && reads.rate >= 15000.0
        && sub.p99 <= Duration::from_millis(50)
        && reads.p99 <= Duration::from_millis(50)
        && rss.1 <= 300.0;
    println!(
        "floors while catching up (submit ≥ 3000/s, read ≥ 15000/s, p99 ≤ 50 ms, RSS ≤ 300 MB): {}",
        if ok { "met" } else { "NOT met" }
    );
    print(
        &format!("(c) page /matters, {} clients", a.page_clients),
        &list_page,
        "GET /healthz",
        health.rate,
    );
    print(
        &format!("(d) page /my/cases/{{no}}, {} clients", a.page_clients),
        &case_page,
        "GET /healthz",
        health.rate,
    );
    println!(
        "server-side, answered within 20 ms: /matters {:.2}%, /my/cases/{{no}} {:.2}% (p99 ≤ 20 ms needs ≥ 99%)",
        list_within * 100.0,
        case_within * 100.0
    );
    let pages_ok = list_within >= 0.99
        && case_within >= 0.99
        && case_page.errors == 0
        && list_page.errors == 0;
    println!(
        "page floor (server-side p99 ≤ 20 ms for the matter list and the case page): {}",
        if pages_ok { "met" } else { "NOT met" }
    );
}
