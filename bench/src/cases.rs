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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tongban_platform::config::Config;
use tongban_platform::db::{Db, Engine};

struct Args {
    db: String,
    cases: i64,
    seconds: u64,
    writers: usize,
    readers: usize,
    page_clients: usize,
}

fn args() -> Args {
    let mut a = Args {
        db: String::new(),
        cases: 1_000_000,
        seconds: 10,
        writers: 128,
        readers: 64,
        page_clients: 4,
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
             SELECT id, submitted_at, 'submit', NULL, 'submitted', 'citizen', applicant_id, '', 'applicant', NULL, '' FROM cases",
            &[],
        )?;
        c.execute(
            "INSERT INTO case_events (case_id, at, action, from_status, to_status, actor_kind, actor_id, actor_name, role, department_code, note)
             SELECT id, submitted_at + 3600000, 'accept', 'submitted', 'accepted', 'staff', 1, '卫健委工作人员', 'clerk', 'wx-wjw', '材料齐全'
             FROM cases WHERE status <> 'submitted'",
            &[],
        )?;
        Ok(())
    })
    .map_err(|e| format!("prefill failed: {e}"))
}

/// Baseline (a): single-row inserts, one transaction each, synchronous=FULL, no HTTP.
fn baseline_inserts(dir: &std::path::Path, seconds: u64) -> f64 {
    let path = dir.join("baseline.db");
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).expect("baseline db");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .expect("baseline schema");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        conn.execute_batch("BEGIN").ok();
        conn.execute("INSERT INTO t (body) VALUES (?1)", [FORM])
            .expect("insert");
        conn.execute_batch("COMMIT").expect("commit");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A keep-alive HTTP/1.1 connection that sends prepared requests and reads whole responses.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Send and return the status code and body.
    async fn call(&mut self, req: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.write_all(req).await?;
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err(std::io::Error::other("closed"));
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return Ok((status, self.buf[end + 4..end + 4 + len].to_vec()));
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn get(path: &str, host: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n").into_bytes()
}

fn post(path: &str, host: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Result_ {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
}

/// Run `clients` connections for `secs`, each picking its next request with `make`.
async fn load(
    addr: &str,
    clients: usize,
    secs: u64,
    expect: u16,
    make: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>,
) -> Result_ {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let (addr, stop, make) = (addr.to_owned(), stop.clone(), make.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let Ok(mut conn) = Conn::open(&addr).await else {
                return (lat, 1);
            };
            let mut i = c as u64 * 1_000_003;
            while !stop.load(Ordering::Relaxed) {
                let req = make(i);
                i += 1;
                let t = Instant::now();
                match conn.call(&req).await {
                    Ok((s, _)) if s == expect => lat.push(t.elapsed()),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        match Conn::open(&addr).await {
                            Ok(c2) => conn = c2,
                            Err(_) => break,
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        if let Ok((l, e)) = h.await {
            all.extend(l);
            errors += e;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Result_ {
        rate: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

fn rss_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(name).map(|v| {
                    v.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .unwrap_or(0.0)
                        / 1024.0
                })
            })
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn print(label: &str, r: &Result_, base_label: &str, base: f64) {
    println!(
        "{label:<34} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  | {:.2}x {base_label} ({base:.0}/s)",
        r.rate,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        r.errors,
        r.rate / base
    );
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
    let exe = std::env::current_exe()
        .expect("exe")
        .with_file_name("tongban");
    if !exe.exists() {
        eprintln!(
            "{} not found: run `cargo build --release -p tongban-server -p tongban-bench` first",
            exe.display()
        );
        std::process::exit(2);
    }

    println!("database: {db_url}; pre-filling {} cases …", a.cases);
    let t = Instant::now();
    let key_file = dir.join("tongban-keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let (cfg, n) = (config.clone(), a.cases);
    tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&cfg)?;
        tongban_server::demo::seed(&db)?;
        prefill(&db, n)
    })
    .await
    .expect("prefill thread")
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    println!("pre-filled in {:.1} s", t.elapsed().as_secs_f64());

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let iport = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(&exe)
        .arg("serve")
        .env("TONGBAN_DATABASE_URL", &db_url)
        .env("TONGBAN_PUBLIC_ADDR", &addr)
        .env("TONGBAN_INTERNAL_ADDR", format!("127.0.0.1:{iport}"))
        .env("TONGBAN_UPLOAD_DIR", dir.join("uploads"))
        .env("TONGBAN_LOG", "warn")
        .env("TONGBAN_KEY_FILE", &key_file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start tongban serve");
    let pid = child.id();
    let mut up = false;
    for _ in 0..300 {
        if let Ok(mut c) = Conn::open(&addr).await {
            if c.call(&get("/healthz", &addr, None))
                .await
                .is_ok_and(|(s, _)| s == 200)
            {
                up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        let _ = child.kill();
        eprintln!("server did not start");
        std::process::exit(1);
    }

    // Log in as the demo citizen, who owns every 1000th pre-filled case.
    let mut c = Conn::open(&addr).await.expect("connect");
    let body = format!(
        r#"{{"phone":"{}","password":"{}"}}"#,
        tongban_server::demo::DEMO_CITIZEN_PHONE,
        tongban_server::demo::DEMO_PASSWORD
    );
    let req = format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    let (s, resp) = c.call(req.as_bytes()).await.expect("login");
    assert_eq!(s, 200, "login failed: {}", String::from_utf8_lossy(&resp));
    let token: String = serde_json::from_slice::<serde_json::Value>(&resp).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let rss0 = rss_mb(pid);
    println!("server RSS after start: {:.0} MB", rss0.0);

    // (a) submissions.
    let engine_is_sqlite = db_url.starts_with("sqlite:");
    let base_a = if engine_is_sqlite {
        baseline_inserts(&dir, a.seconds.min(5))
    } else {
        0.0
    };
    let submit_body = format!(r#"{{"matter_code":"WX-WJ-001","form":{FORM}}}"#);
    let (addr2, tok2) = (addr.clone(), token.clone());
    let make_submit: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> =
        Arc::new(move |_| post("/api/v1/cases", &addr2, &tok2, &submit_body));
    let sub = load(&addr, a.writers, a.seconds, 201, make_submit).await;

    // (b) reads of the citizen's own cases with their timelines, and the /healthz baseline.
    let (addr3, tok3) = (addr.clone(), token.clone());
    let total = a.cases;
    let make_read: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
        let k = 1000 * (1 + (i.wrapping_mul(2_654_435_761) % (total as u64 / 1000).max(1)));
        get(&format!("/api/v1/cases/B{k}"), &addr3, Some(&tok3))
    });
    let addr4 = addr.clone();
    let make_health: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> =
        Arc::new(move |_| get("/healthz", &addr4, None));
    let health = load(&addr, a.readers, a.seconds, 200, make_health).await;
    let reads = load(&addr, a.readers, a.seconds, 200, make_read).await;
    // (c) pages: the matter list and a case page (HTML, server-rendered), same clients.
    let addr5 = addr.clone();
    let make_list: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
        let q = [
            "",
            "?q=%E5%85%AC%E7%A7%AF%E9%87%91",
            "?department=wx-wjw",
            "?page=2",
        ][(i % 4) as usize];
        get(&format!("/matters{q}"), &addr5, None)
    });
    let list_page = load(&addr, a.page_clients, a.seconds, 200, make_list).await;
    let (addr6, tok6) = (addr.clone(), token.clone());
    let make_case_page: Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync> = Arc::new(move |i| {
        let k = 1000 * (1 + (i.wrapping_mul(2_654_435_761) % (total as u64 / 1000).max(1)));
        format!("GET /my/cases/B{k} HTTP/1.1\r\nHost: {addr6}\r\nCookie: tongban_session={tok6}\r\n\r\n").into_bytes()
    });
    let case_page = load(&addr, a.page_clients, a.seconds, 200, make_case_page).await;
    // Server-side: the share of page requests the server answered within 20 ms, from its own
    // request-duration histogram on the internal listener.
    let iaddr = format!("127.0.0.1:{iport}");
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
    let _ = child.kill();
    let _ = child.wait();

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
    if engine_is_sqlite {
        print(
            &format!("(a) submit, {} clients", a.writers),
            &sub,
            "single-row fsync inserts",
            base_a,
        );
    } else {
        println!(
            "(a) submit, {} clients                {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            a.writers,
            sub.rate,
            sub.p50.as_secs_f64() * 1e3,
            sub.p99.as_secs_f64() * 1e3,
            sub.errors
        );
    }
    print(
        &format!("(b) read case + timeline, {} clients", a.readers),
        &reads,
        "GET /healthz",
        health.rate,
    );
    print(
        "    GET /healthz (baseline)",
        &health,
        "itself",
        health.rate,
    );
    println!("server RSS: {:.0} MB now, {:.0} MB peak", rss.0, rss.1);
    let ok = sub.rate >= 3000.0
        && reads.rate >= 15000.0
        && sub.p99 <= Duration::from_millis(50)
        && reads.p99 <= Duration::from_millis(50)
        && rss.1 <= 300.0;
    println!(
        "floors (submit ≥ 3000/s, read ≥ 15000/s, p99 ≤ 50 ms, RSS ≤ 300 MB): {}",
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
