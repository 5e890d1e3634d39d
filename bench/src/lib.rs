//! Shared parts of the benchmarks: a keep-alive HTTP/1.1 load generator, the baselines every
//! benchmark compares against (single-row durable inserts, `GET /healthz`), starting
//! `tongban serve` as a child process, and reading its memory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Baseline for writes: single-row inserts of `body`, one transaction each,
/// synchronous=FULL, no HTTP.
pub fn baseline_inserts(dir: &std::path::Path, seconds: u64, body: &str) -> f64 {
    let path = dir.join("baseline.db");
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).expect("baseline db");
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .expect("baseline schema");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        conn.execute_batch("BEGIN").ok();
        conn.execute("INSERT INTO t (body) VALUES (?1)", [body])
            .expect("insert");
        conn.execute_batch("COMMIT").expect("commit");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Baseline for writes on PostgreSQL: `pgbench` (PostgreSQL's own load generator) running a
/// custom script shaped like a submission's transaction — the day's counter, then three rows
/// of `body`'s size — with `clients` connections for `seconds`, against the same database.
/// Returns its transactions per second, or `None` when `pgbench` is not installed.
pub fn pgbench_inserts(db_url: &str, seconds: u64, clients: usize, body: &str) -> Option<f64> {
    let db = tongban_platform::db::Db::open(db_url).ok()?;
    db.write_blocking(|c| {
        c.batch(
            "DROP TABLE IF EXISTS bench_baseline; DROP TABLE IF EXISTS bench_counters;
             CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, at BIGINT NOT NULL);
             CREATE TABLE bench_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        )
    })
    .ok()?;
    let quoted = body.replace('\'', "''");
    let script = format!(
        "\\set n random(1, 1000000000)\nBEGIN;\n\
         INSERT INTO bench_counters (name, value) VALUES ('day', 1) ON CONFLICT (name) DO UPDATE SET value = bench_counters.value + 1;\n\
         INSERT INTO bench_baseline (body, at) VALUES ('{quoted}', :n);\n\
         INSERT INTO bench_baseline (body, at) VALUES ('{quoted}', :n);\n\
         INSERT INTO bench_baseline (body, at) VALUES ('{quoted}', :n);\n\
         COMMIT;\n"
    );
    let tps = pgbench_script(db_url, seconds, clients, &script);
    let _ = db.write_blocking(|c| {
        c.batch("DROP TABLE IF EXISTS bench_baseline; DROP TABLE IF EXISTS bench_counters")
    });
    tps
}

/// Baseline for reads on PostgreSQL: `pgbench` running one prepared `SELECT 1` per
/// transaction (no HTTP, no server) with `clients` connections for `seconds`: what this
/// machine's PostgreSQL answers at most, a ceiling for any read through the server. Returns
/// its transactions per second, or `None` when `pgbench` is not installed.
pub fn pgbench_selects(db_url: &str, seconds: u64, clients: usize) -> Option<f64> {
    pgbench_script(db_url, seconds, clients, "SELECT 1;\n")
}

/// Run `pgbench` with a custom `script`; its transactions per second.
fn pgbench_script(db_url: &str, seconds: u64, clients: usize, script: &str) -> Option<f64> {
    let file = std::env::temp_dir().join(format!(
        "tongban-pgbench-{}-{}.sql",
        std::process::id(),
        script.len()
    ));
    std::fs::write(&file, script).ok()?;
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
        ])
        .arg(seconds.to_string())
        .arg("-f")
        .arg(&file)
        .arg(db_url)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))?
        .trim_start_matches("tps = ")
        .split_whitespace()
        .next()?
        .parse::<f64>()
        .ok()
}

/// A keep-alive HTTP/1.1 connection that sends prepared requests and reads whole responses.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Send and return the status code and body.
    pub async fn call(&mut self, req: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
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

pub fn get(path: &str, host: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n").into_bytes()
}

pub fn post(path: &str, host: &str, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub struct Outcome {
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: u64,
}

/// A request maker: the i-th request of a client.
pub type Maker = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// Run `clients` connections for `secs`, each picking its next request with `make`.
pub async fn load(addr: &str, clients: usize, secs: u64, expect: u16, make: Maker) -> Outcome {
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
    Outcome {
        rate: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        errors,
    }
}

pub fn rss_mb(pid: u32) -> (f64, f64) {
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

pub fn print(label: &str, r: &Outcome, base_label: &str, base: f64) {
    println!(
        "{label:<34} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  | {:.2}x {base_label} ({base:.0}/s)",
        r.rate,
        r.p50.as_secs_f64() * 1e3,
        r.p99.as_secs_f64() * 1e3,
        r.errors,
        r.rate / base
    );
}

/// A free local port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// `tongban serve` running as a child process.
pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
    pub iaddr: String,
}

impl Server {
    /// Start the release binary next to this program on free ports; wait until it answers.
    pub async fn start(db_url: &str, dir: &std::path::Path, key_file: &std::path::Path) -> Server {
        Server::start_with(db_url, dir, key_file, &[]).await
    }

    /// As [`Server::start`], with more environment (e.g. `TONGBAN_WORKER_INTERVAL_MS`).
    pub async fn start_with(
        db_url: &str,
        dir: &std::path::Path,
        key_file: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Server {
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
        let addr = format!("127.0.0.1:{}", free_port());
        let iaddr = format!("127.0.0.1:{}", free_port());
        let mut child = std::process::Command::new(&exe)
            .arg("serve")
            .env("TONGBAN_DATABASE_URL", db_url)
            .env("TONGBAN_PUBLIC_ADDR", &addr)
            .env("TONGBAN_INTERNAL_ADDR", &iaddr)
            .env("TONGBAN_UPLOAD_DIR", dir.join("uploads"))
            .env("TONGBAN_LOG", "warn")
            .env("TONGBAN_KEY_FILE", key_file)
            // The load comes from one address: lift the per-address bounds.
            .env("TONGBAN_CONNECTIONS_PER_ADDRESS", "100000")
            .env("TONGBAN_RATE_PER_HOUR", "100000000")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start tongban serve");
        for _ in 0..300 {
            if let Ok(mut c) = Conn::open(&addr).await {
                if c.call(&get("/healthz", &addr, None))
                    .await
                    .is_ok_and(|(s, _)| s == 200)
                {
                    return Server { child, addr, iaddr };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        eprintln!("server did not start");
        std::process::exit(1);
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POST a JSON body without a session and return the `token` field of the answer.
pub async fn login(addr: &str, path: &str, body: &str) -> String {
    let mut c = Conn::open(addr).await.expect("connect");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (s, resp) = c.call(req.as_bytes()).await.expect("login");
    assert!(
        s == 200 || s == 201,
        "login failed: {}",
        String::from_utf8_lossy(&resp)
    );
    serde_json::from_slice::<serde_json::Value>(&resp).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// The database as autovacuum keeps it on a live PostgreSQL: planner statistics and the
/// visibility map (an index-only scan then needs no visit to the table), which a bulk pre-fill
/// leaves unset until autovacuum's next round. `VACUUM` runs outside a transaction, so as a
/// single statement. Nothing to do on SQLite.
pub async fn vacuum(db: &tongban_platform::db::Db) {
    if db.engine() == tongban_platform::db::Engine::Postgres {
        if let Err(e) = db.read_single(|c| c.batch("VACUUM ANALYZE")).await {
            eprintln!("vacuum failed: {e}");
            std::process::exit(1);
        }
    }
}

/// The districts of the demo region (`data/regions/wuxi`), in its order.
pub fn demo_districts() -> &'static [String] {
    static D: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        tongban_platform::region::files::read(&tongban_server::region::WUXI)
            .map(|r| {
                r.divisions
                    .into_iter()
                    .filter(|d| d.level == tongban_platform::region::Level::District)
                    .map(|d| d.name)
                    .collect()
            })
            .unwrap_or_default()
    })
}
