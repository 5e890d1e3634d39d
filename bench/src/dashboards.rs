//! Benchmark `dashboards`: the four leadership dashboards over a year of a city of 7.5 million
//! people — 5,000,000 applications and 3,000,000 work orders a year, a tenth of each rated (2%
//! of those bad, each under rectification), ~440 matters, the last ten days' applications still
//! open and one in 500 older ones overdue — served by `tongban serve` (a child process).
//!
//! The history is written by SQL (no timelines), then `tongban insight rebuild` computes the
//! daily figures, as an operator does after loading data. Each board's HTML page (all charts
//! drawn as SVG, with their tables) is requested for the whole year, the last 30 days, the
//! year in one district and the year of one department. Printed: p50/p99 per board against
//! `GET /healthz` on the same server, and the time of one aggregate over the base tables (what
//! a single chart would cost without the daily figures), measured in the same run.
//!
//! Usage (see bench/README.md):
//!   cargo build --release -p tongban-server -p tongban-bench
//!   target/release/dashboards [--db sqlite://… | --db postgres://…] [--cases N] [--orders N]
//!                             [--seconds S] [--clients C]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tongban_bench::{get, load, login, print, Maker, Server};
use tongban_platform::config::Config;
use tongban_platform::db::{Db, Engine};
use tongban_platform::params;

struct Args {
    db: String,
    cases: i64,
    orders: i64,
    seconds: u64,
    clients: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: String::new(),
        cases: 5_000_000,
        orders: 3_000_000,
        seconds: 10,
        clients: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--db" => a.db = v,
            "--cases" => a.cases = v.parse().unwrap_or(a.cases),
            "--orders" => a.orders = v.parse().unwrap_or(a.orders),
            "--seconds" => a.seconds = v.parse().unwrap_or(a.seconds),
            "--clients" => a.clients = v.parse().unwrap_or(a.clients),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

const YEAR_MS: i64 = 365 * 86_400_000;

/// Sub-categories the orders are spread over, and the departments they go to.
const CATEGORIES: [(&str, &str); 10] = [
    ("city.roads", "wx-zjj"),
    ("city.sanitation", "wx-zjj"),
    ("city.noise", "wx-zrzyj"),
    ("traffic.parking", "wx-gaj"),
    ("housing.property", "wx-zjj"),
    ("utility.water", "wx-sw"),
    ("education.enrol", "wx-jyj"),
    ("health.hospital", "wx-wjw"),
    ("market.consumer", "wx-scjgj"),
    ("utility.gas", "wx-rq"),
];

fn prefill(db: &Db, cases: i64, orders: i64, now: i64) -> Result<(), String> {
    let engine = db.engine();
    let start = now - YEAR_MS;
    let form = tongban_platform::vault::keys()
        .and_then(|k| k.encrypt("{}"))
        .map_err(|e| e.to_string())?;
    let content = tongban_platform::vault::keys()
        .and_then(|k| k.encrypt("小区门口路灯坏了很久，晚上出行不安全。"))
        .map_err(|e| e.to_string())?;
    db.write_blocking(move |c| {
        let have = c.query_one("SELECT COUNT(*) AS n FROM cases", &[])?.get_i64("n")?;
        if have >= cases {
            return Ok(());
        }
        let series = match engine {
            Engine::Sqlite => "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1)",
            Engine::Postgres => "WITH s(i) AS (SELECT generate_series(1, $1::bigint))",
        };
        // A YYYY-MM-DD date of an epoch-millisecond expression, in China time.
        let date = |ms: &str| match engine {
            Engine::Sqlite => format!("date(({ms}) / 1000 + 28800, 'unixepoch')"),
            Engine::Postgres => format!("to_char(to_timestamp(({ms}) / 1000 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
        };
        // A city's catalogue: twelve copies of each demo matter under new codes (~440 in all).
        let cols = "department_code, kind, legal_days, promised_days, fee, online_depth, max_visits, conditions, legal_basis,
                    published, materials, fields, position, updated_at";
        c.execute(
            &format!(
                "WITH k(j) AS (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL
                    SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11)
                 INSERT INTO matters (code, name, {cols})
                 SELECT m.code || '-' || k.j, m.name || '（' || k.j || '）', {cols} FROM matters m, k
                 WHERE m.code NOT LIKE '%-%-%-%'"
            ),
            &[],
        )?;
        let matters: Vec<String> = c
            .query("SELECT code FROM matters WHERE published ORDER BY code", &[])?
            .iter()
            .map(|r| r.get_str("code"))
            .collect::<Result<_, _>>()?;
        let applicant = c
            .query_one("SELECT MIN(id) AS id FROM accounts", &[])?
            .get_i64("id")?;
        // Matters by row: a CASE over i % count, spread with a multiplier so departments mix.
        let n = matters.len() as i64;
        c.batch(
            "CREATE TEMP TABLE bench_matters AS SELECT code, department_code, promised_days, ROW_NUMBER() OVER (ORDER BY code) - 1 AS k
             FROM matters WHERE published",
        )?;
        // Decided after 1–12 days (on time when within the promise); the last ten days' cases
        // still open (deadlines ahead), and one in 500 older ones overdue; 55% from phones.
        let submitted = format!("{start} + i * {}", YEAR_MS / cases);
        let took = "(1 + (i * 7) % 12)";
        let open = format!("(i % 500 = 0 OR {submitted} > {})", now - 10 * 86_400_000);
        c.execute(
            &format!(
                "{series} INSERT INTO cases (case_no, matter_code, department_code, applicant_id, status, form, submitted_at,
                    accepted_on, deadline, concluded_at, updated_at, version, channel)
                 SELECT 'C' || i, m.code, m.department_code, $2,
                    CASE WHEN {open} THEN 'accepted' WHEN i % 17 = 0 THEN 'rejected' ELSE 'approved' END,
                    $3, {submitted}, {}, {},
                    CASE WHEN {open} THEN NULL ELSE {submitted} + {took} * 86400000 END,
                    {submitted}, 1, CASE WHEN i % 20 < 11 THEN 'mobile' ELSE 'web' END
                 FROM s JOIN bench_matters m ON m.k = (i * 7919) % {n}",
                date(&submitted),
                date(&format!("{submitted} + m.promised_days * 86400000 * 7 / 5")),
            ),
            params![cases, applicant, form.as_str()],
        )?;
        let received = format!("{start} + i * {}", YEAR_MS / orders);
        let cat = CATEGORIES
            .iter()
            .enumerate()
            .map(|(k, (cat, _))| format!("WHEN {k} THEN '{cat}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let dept = CATEGORIES
            .iter()
            .enumerate()
            .map(|(k, (_, d))| format!("WHEN {k} THEN '{d}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let districts = tongban_bench::demo_districts()
            .iter()
            .enumerate()
            .map(|(k, d)| format!("WHEN {k} THEN '{d}'"))
            .collect::<Vec<_>>()
            .join(" ");
        c.execute(
            &format!(
                "{series} INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public,
                    citizen_id, status, department_code, received_at, updated_at, version, channel, replied_at, replied_on_time, closed_at)
                 SELECT 'W' || i, 'complaint', CASE (i * 31) % 10 {cat} END, CASE (i * 13) % 7 {districts} END, '某街道', '路灯不亮', $2,
                    FALSE, $3, CASE WHEN i % 25 = 0 THEN 'signed' ELSE 'closed' END, CASE (i * 31) % 10 {dept} END,
                    {received}, {received}, 1,
                    CASE i % 10 WHEN 0 THEN 'phone' WHEN 1 THEN 'phone' WHEN 2 THEN 'phone' WHEN 3 THEN 'web' ELSE 'mobile' END,
                    CASE WHEN i % 25 = 0 THEN NULL ELSE {received} + (i % 96) * 3600000 END,
                    CASE WHEN i % 25 = 0 THEN NULL ELSE i % 96 < 90 END,
                    CASE WHEN i % 25 = 0 THEN NULL ELSE {received} + (i % 96 + 24) * 3600000 END
                 FROM s"
            ),
            params![orders, content.as_str(), applicant],
        )?;
        // A tenth of each rated two days after the decision or answer: 70% 非常满意, 20% 满意,
        // 8% 基本满意, 2% 不满意 or worse (the share seen in published 好差评 figures is lower).
        c.execute(
            &format!(
                "INSERT INTO ratings (subject_kind, subject_no, department_code, matter_code, rater_id, level, dimensions, comment,
                    by_default, rated_at)
                 SELECT 'case', case_no, department_code, matter_code, applicant_id,
                    CASE WHEN id % 1000 < 5 THEN 1 WHEN id % 1000 < 20 THEN 2 WHEN id % 1000 < 100 THEN 3 WHEN id % 1000 < 300 THEN 4 ELSE 5 END, '{{}}', '', FALSE,
                    concluded_at + 172800000
                 FROM cases WHERE id % 10 = 0 AND concluded_at IS NOT NULL AND concluded_at + 172800000 < {now}"
            ),
            &[],
        )?;
        c.execute(
            &format!(
                "INSERT INTO ratings (subject_kind, subject_no, department_code, matter_code, rater_id, level, dimensions, comment,
                    by_default, rated_at)
                 SELECT 'workorder', order_no, department_code, NULL, citizen_id,
                    CASE WHEN id % 1000 < 5 THEN 1 WHEN id % 1000 < 20 THEN 2 WHEN id % 1000 < 100 THEN 3 WHEN id % 1000 < 300 THEN 4 ELSE 5 END, '{{}}', '', FALSE,
                    replied_at + 172800000
                 FROM work_orders WHERE id % 10 = 0 AND replied_at IS NOT NULL AND replied_at + 172800000 < {now}"
            ),
            &[],
        )?;
        c.execute(
            &format!(
                "INSERT INTO rectifications (rating_id, department_code, status, due_by, outcome, done_at, on_time, created_at)
                 SELECT id, department_code, CASE WHEN rated_at > {} THEN 'open' ELSE 'done' END, {},
                    CASE WHEN rated_at > {} THEN NULL ELSE '已整改' END,
                    CASE WHEN rated_at > {} THEN NULL ELSE rated_at + 5 * 86400000 END,
                    CASE WHEN rated_at > {} THEN NULL ELSE id % 7 <> 0 END, rated_at
                 FROM ratings WHERE level <= 2",
                now - 7 * 86_400_000,
                date("rated_at + 7 * 86400000"),
                now - 7 * 86_400_000,
                now - 7 * 86_400_000,
                now - 7 * 86_400_000,
            ),
            &[],
        )?;
        c.execute(
            &format!(
                "{series} INSERT INTO insight_visits (day, device, n)
                 SELECT {}, CASE WHEN i % 2 = 0 THEN 'mobile' ELSE 'desktop' END, 20000 + (i % 7) * 1000 FROM s",
                date(&format!("{start} + (i / 2) * 86400000"))
            ),
            params![730i64],
        )?;
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
        .join("bench-dashboards");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db_url = if a.db.is_empty() {
        format!("sqlite://{}", dir.join("dashboards.db").display())
    } else {
        a.db.clone()
    };
    println!(
        "database: {db_url}; pre-filling a year: {} applications, {} work orders …",
        a.cases, a.orders
    );
    let key_file = dir.join("tongban-keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let now = tongban_platform::time::now_millis();
    let t = Instant::now();
    let (cases, orders) = (a.cases, a.orders);
    let cfg = config.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&cfg)?;
        tongban_server::demo::seed(&db)?;
        prefill(&db, cases, orders, now)?;
        Ok::<_, String>(db)
    })
    .await
    .expect("prefill thread")
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    tongban_bench::vacuum(&db).await;
    println!("pre-filled in {:.1} s", t.elapsed().as_secs_f64());

    // The daily figures, as an operator computes them after loading history.
    let exe = std::env::current_exe()
        .expect("exe")
        .with_file_name("tongban");
    let t = Instant::now();
    let out = std::process::Command::new(&exe)
        .args(["insight", "rebuild"])
        .env("TONGBAN_DATABASE_URL", &db_url)
        .env("TONGBAN_KEY_FILE", &key_file)
        .env("TONGBAN_LOG", "warn")
        .output()
        .expect("run tongban insight rebuild");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        std::process::exit(1);
    }
    println!(
        "tongban insight rebuild: {} ({:.1} s)",
        String::from_utf8_lossy(&out.stdout).trim(),
        t.elapsed().as_secs_f64()
    );
    tongban_bench::vacuum(&db).await;
    let rows = db
        .read(|c| {
            Ok((
                c.query_one("SELECT COUNT(*) AS n FROM insight_case_days", &[])?
                    .get_i64("n")?,
                c.query_one("SELECT COUNT(*) AS n FROM insight_order_days", &[])?
                    .get_i64("n")?,
            ))
        })
        .await
        .expect("count daily figures");
    println!(
        "daily figures: {} application rows, {} order rows",
        rows.0, rows.1
    );

    // What one chart costs from the base tables: decided per department over the year.
    let (s, e) = (now - YEAR_MS, now);
    let t = Instant::now();
    let direct = db
        .read(move |c| {
            c.query(
                "SELECT department_code, COUNT(*) AS n FROM cases WHERE concluded_at >= $1 AND concluded_at < $2 GROUP BY department_code",
                params![s, e],
            )
        })
        .await
        .expect("direct aggregate");
    let direct_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "one chart from the base tables (decided per department over the year, {} departments): {direct_ms:.0} ms",
        direct.len()
    );

    let server = Server::start(&db_url, &dir, &key_file).await;
    let (addr, iaddr) = (server.addr.clone(), server.iaddr.clone());
    let token = login(
        &iaddr,
        "/api/v1/staff/sessions",
        &format!(
            r#"{{"username":"supervisor","password":"{}"}}"#,
            tongban_server::demo::DEMO_PASSWORD
        ),
    )
    .await;
    let addr2 = addr.clone();
    let make_health: Maker = Arc::new(move |_| get("/healthz", &addr2, None));
    let health = load(&addr, a.clients, a.seconds.min(5), 200, make_health).await;
    let today = tongban_platform::time::date_of(now, config.tz());
    let year_ago = today - chrono::Duration::days(364);
    let month_ago = today - chrono::Duration::days(29);
    let mut worst = Duration::ZERO;
    for board in ["services", "livelihood", "city", "data"] {
        let variants: Vec<String> = vec![
            format!("from={year_ago}&to={today}"),
            format!("from={month_ago}&to={today}"),
            format!("from={year_ago}&to={today}&district=%E6%A2%81%E6%BA%AA%E5%8C%BA"),
            format!("from={year_ago}&to={today}&department=wx-zjj"),
        ];
        let (host, tok) = (iaddr.clone(), token.clone());
        let make: Maker = Arc::new(move |i| {
            let q = &variants[(i % variants.len() as u64) as usize];
            format!(
                "GET /console/dashboards/{board}?{q} HTTP/1.1\r\nHost: {host}\r\nCookie: tongban_staff={tok}\r\nAccept-Language: zh-CN\r\n\r\n"
            )
            .into_bytes()
        });
        let r = load(&iaddr, a.clients, a.seconds, 200, make).await;
        worst = worst.max(r.p99);
        print(
            &format!("dashboard {board} (year/30 d/district/dept)"),
            &r,
            "GET /healthz",
            health.rate,
        );
    }
    server.stop();
    println!(
        "worst dashboard p99 {:.1} ms (floor ≤ 200 ms: {}); one chart from the base tables alone {direct_ms:.0} ms, {:.0}x the worst whole page",
        worst.as_secs_f64() * 1e3,
        if worst <= Duration::from_millis(200) {
            "met"
        } else {
            "NOT met"
        },
        direct_ms / (worst.as_secs_f64() * 1e3).max(1e-9)
    );
}
