//! Benchmark `hotline`: concurrent clients over HTTP against `tongban serve` (a child process)
//! with a database pre-filled with 1,000,000 work orders.
//!
//! (a) filing orders (`POST /api/v1/workorders`: validation, routing, working-day deadlines,
//!     SM4 sealing, order + two timeline rows + audit entry + outbox notice), against the
//!     `cases` bench's write baseline: single-row inserts, one transaction each,
//!     `synchronous=FULL`, no HTTP, measured in the same run;
//! (b) a department's queue page (`GET /api/v1/staff/workorders`, sorted by deadline, with
//!     the total and flags) on the internal listener, against `GET /healthz` on the same server.
//!
//! Both are measured twice, each time on a fresh server: with the background worker held off,
//! and with it catching up on the pre-filled orders (insight's analysis of a million messages).
//!
//! Usage (see bench/README.md):
//!   cargo build --release -p tongban-server -p tongban-bench
//!   target/release/hotline [--db sqlite://bench.db | --db postgres://…] [--orders N] [--seconds S]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tongban_bench::{baseline_inserts, get, load, login, post, print, rss_mb, Maker, Server};
use tongban_platform::config::Config;
use tongban_platform::db::{Db, Engine};

struct Args {
    db: String,
    orders: i64,
    seconds: u64,
    writers: usize,
    readers: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: String::new(),
        orders: 1_000_000,
        seconds: 10,
        writers: 128,
        readers: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--db" => a.db = v,
            "--orders" => a.orders = v.parse().unwrap_or(a.orders),
            "--seconds" => a.seconds = v.parse().unwrap_or(a.seconds),
            "--writers" => a.writers = v.parse().unwrap_or(a.writers),
            "--readers" => a.readers = v.parse().unwrap_or(a.readers),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// A realistic complaint, about 300 bytes of JSON.
const ORDER: &str = r#"{"type":"complaint","category":"housing.property","district":"梁溪区","street":"清名路 18 号小区","title":"电梯坏了一周没人修","content":"小区 3 号楼电梯坏了一周，物业一直不修，老人上下楼很困难，请尽快处理。"}"#;

/// Departments the pre-filled orders are spread over; wx-zjj gets one in two.
const DEPTS: [&str; 8] = [
    "wx-zjj", "wx-sw", "wx-zjj", "wx-rq", "wx-zjj", "wx-jyj", "wx-zjj", "wx-wjw",
];

fn prefill(db: &Db, n: i64) -> Result<(), String> {
    let engine = db.engine();
    // Texts are stored sealed; one ciphertext each serves every pre-filled row.
    let seal = |t: &str| tongban_platform::vault::seal_text(t).map_err(|e| e.to_string());
    let content = seal("小区电梯坏了一周，物业一直不修，老人上下楼很困难。")?;
    let (street, title, empty) = (seal("清名路")?, seal("电梯故障")?, seal("")?);
    db.write_blocking(move |c| {
        let have = c.query_one("SELECT COUNT(*) AS n FROM work_orders", &[])?.get_i64("n")?;
        if have >= n {
            return Ok(());
        }
        let series = match engine {
            Engine::Sqlite => "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1)",
            Engine::Postgres => "WITH s(i) AS (SELECT generate_series(1, $1::bigint))",
        };
        let dept = DEPTS
            .iter()
            .enumerate()
            .map(|(k, d)| format!("WHEN {k} THEN '{d}'"))
            .collect::<Vec<_>>()
            .join(" ");
        // A third closed, a third signed (answer due over the next weeks, some overdue), a
        // third dispatched (sign due); deadlines spread over 60 days.
        c.execute(
            &format!(
                "{series} INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public,
                    citizen_id, status, department_code, received_at, sign_by, return_by, answer_by, due_on, updated_at, version, channel)
                 SELECT 'B' || i, 'complaint', 'housing.property', '梁溪区', $3, $4, $2, FALSE, 1,
                    CASE WHEN i % 3 = 0 THEN 'closed' WHEN i % 3 = 1 THEN 'signed' ELSE 'dispatched' END,
                    CASE i % 8 {dept} END,
                    1700000000000 + i * 1000,
                    '2026-11-' || (10 + i % 20), '2026-11-' || (10 + i % 20), '2026-12-' || (10 + i % 20),
                    CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN '2026-12-' || (10 + i % 20) ELSE '2026-11-' || (10 + i % 20) END,
                    1700000000000 + i * 1000, 1, 'web' FROM s"
            ),
            tongban_platform::params![n, content, street.as_str(), title.as_str()],
        )?;
        for (action, status) in [("receive", "received"), ("dispatch", "dispatched")] {
            c.execute(
                "INSERT INTO work_order_events (order_id, at, action, to_status, actor, department_code, note)
                 SELECT id, received_at, $1, $2, 'routing', department_code, $3 FROM work_orders",
                tongban_platform::params![action, status, empty.as_str()],
            )?;
        }
        Ok(())
    })
    .map_err(|e| format!("prefill failed: {e}"))?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-hotline");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db_url = if a.db.is_empty() {
        format!("sqlite://{}", dir.join("hotline.db").display())
    } else {
        a.db.clone()
    };
    println!("database: {db_url}; pre-filling {} work orders …", a.orders);
    let t = Instant::now();
    let key_file = dir.join("tongban-keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let n = a.orders;
    let db = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&config)?;
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

    let sqlite = db_url.starts_with("sqlite:");
    // (a) filing: its baseline, measured once.
    let base_a = if sqlite {
        baseline_inserts(&dir, a.seconds.min(5), ORDER)
    } else {
        0.0
    };
    // Two phases, each on a server of its own: with the background worker held off (a city
    // in its steady state), then with it catching up on the pre-filled orders (a city that
    // imported its history or restarts after downtime).
    let mut phases = Vec::new();
    for (label, env) in [
        (
            "followers idle",
            &[("TONGBAN_WORKER_INTERVAL_MS", "3600000")][..],
        ),
        (
            "followers catching up",
            &[("TONGBAN_WORKER_INTERVAL_MS", "1000")][..],
        ),
    ] {
        println!("phase: {label}");
        phases.push((label, run_phase(&a, &db_url, &dir, &key_file, env).await));
    }

    println!();
    println!(
        "hotline bench on {} ({} work orders pre-filled, {} in the department's queue, {} s per phase)",
        if sqlite { "SQLite" } else { "PostgreSQL" },
        a.orders,
        a.orders / 2 * 2 / 3,
        a.seconds
    );
    for (label, p) in &phases {
        println!("{label}:");
        if sqlite {
            print(
                &format!("(a) file order, {} clients", a.writers),
                &p.filed,
                "single-row fsync inserts",
                base_a,
            );
        } else {
            println!(
                "(a) file order, {} clients            {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
                a.writers,
                p.filed.rate,
                p.filed.p50.as_secs_f64() * 1e3,
                p.filed.p99.as_secs_f64() * 1e3,
                p.filed.errors
            );
        }
        print(
            &format!("(b) department queue page, {} clients", a.readers),
            &p.queue,
            "GET /healthz",
            p.health.rate,
        );
        print(
            "    GET /healthz (baseline)",
            &p.health,
            "itself",
            p.health.rate,
        );
        println!("server RSS: {:.0} MB now, {:.0} MB peak", p.rss.0, p.rss.1);
        let ok = p.filed.rate >= 2000.0
            && p.queue.p99 <= Duration::from_millis(50)
            && p.filed.errors == 0
            && p.queue.errors == 0;
        println!(
            "floors, {label} (orders ≥ 2000/s, queue page p99 ≤ 50 ms, no errors): {}",
            if ok { "met" } else { "NOT met" }
        );
    }
}

/// What one phase measured.
struct Phase {
    filed: tongban_bench::Outcome,
    queue: tongban_bench::Outcome,
    health: tongban_bench::Outcome,
    rss: (f64, f64),
}

/// Start a server with `env`, file orders, then read the department's queue and `/healthz`.
async fn run_phase(
    a: &Args,
    db_url: &str,
    dir: &std::path::Path,
    key_file: &std::path::Path,
    env: &[(&str, &str)],
) -> Phase {
    let server = Server::start_with(db_url, dir, key_file, env).await;
    let (addr, iaddr, pid) = (server.addr.clone(), server.iaddr.clone(), server.pid());
    let citizen = login(
        &addr,
        "/api/v1/sessions",
        &format!(
            r#"{{"phone":"{}","password":"{}"}}"#,
            tongban_server::demo::DEMO_CITIZEN_PHONE,
            tongban_server::demo::DEMO_PASSWORD
        ),
    )
    .await;
    // The housing bureau's demo handler (no second factor).
    let handler = login(
        &iaddr,
        "/api/v1/staff/sessions",
        &format!(
            r#"{{"username":"zjj","password":"{}"}}"#,
            tongban_server::demo::DEMO_PASSWORD
        ),
    )
    .await;
    let (addr1, tok1) = (addr.clone(), citizen.clone());
    let make_file: Maker = Arc::new(move |_| post("/api/v1/workorders", &addr1, &tok1, ORDER));
    let filed = load(&addr, a.writers, a.seconds, 201, make_file).await;

    // (b) the department's queue: pages 1-50 in deadline order, a quarter with the overdue filter.
    let addr2 = addr.clone();
    let make_health: Maker = Arc::new(move |_| get("/healthz", &addr2, None));
    let health = load(&addr, a.readers, a.seconds, 200, make_health).await;
    let (iaddr3, tok3) = (iaddr.clone(), handler.clone());
    let make_queue: Maker = Arc::new(move |i| {
        let page = 1 + i.wrapping_mul(2_654_435_761) % 50;
        let overdue = if i % 4 == 0 { "&overdue=true" } else { "" };
        get(
            &format!("/api/v1/staff/workorders?page={page}{overdue}"),
            &iaddr3,
            Some(&tok3),
        )
    });
    let queue = load(&iaddr, a.readers, a.seconds, 200, make_queue).await;
    let rss = rss_mb(pid);
    server.stop();
    Phase {
        filed,
        queue,
        health,
        rss,
    }
}
