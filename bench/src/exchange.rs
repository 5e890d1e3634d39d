//! Benchmark `exchange`: data-sharing calls over HTTP against `tongban serve` (a child
//! process, SQLite), each one verified (SM2 over the SM3 digest of its canonical form),
//! authorized by a grant, checked against the service's JSON Schema, answered from a sealed
//! base registry of 10,000 records, signed (SM2) and appended to the SM3-chained message log;
//! against the SM2 limit of this machine measured in the same run: how many sign + verify
//! pairs per second its cores do with nothing else (each exchange costs the server one
//! verify and one sign).
//!
//! The requests are signed before the clock starts (a consumer's cost, not the provider's),
//! each with its own message id, so none is a replay. After the run the chain is walked.
//!
//! Then certificate checks: `GET /api/v1/certificates/verify?code=` on the public listener
//! over 10,000 issued certificates (each check reads the certificate, unseals it, checks its
//! signature, revocation and expiry), against SM2 verifications per second alone on this
//! machine in the same run.
//!
//! Floors (issue 15): at least 2,000 exchanges/s on SQLite; at least 5,000 certificate
//! checks/s.
//!
//! Usage: cargo build --release -p tongban-server -p tongban-bench && target/release/exchange [--seconds S] [--clients C]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tongban_bench::{load, print, Server};
use tongban_exchange::call::{self, Call};
use tongban_platform::config::Config;
use tongban_platform::identity::Department;

const RECORDS: usize = 10_000;
const CERTIFICATES: usize = 10_000;

/// A valid 18-character ID number, the `n`-th of the registry.
fn id_number(n: usize) -> String {
    // Born on one of 336 days of 1990, with a three-digit sequence number.
    let (seq, day) = (n % 1000, n / 1000);
    let first17 = format!(
        "3202021990{:02}{:02}{seq:03}",
        1 + (day / 28) % 12,
        1 + day % 28
    );
    let check = tongban_platform::ids::IdNumber::check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// SM2 verifications per second on `threads` threads for `secs`, nothing else.
fn sm2_verify_limit(threads: usize, secs: u64) -> f64 {
    let keys = tongban_platform::vault::keys().expect("keys");
    let pk = keys.public_keys().remove(0).public_key;
    let v = serde_json::json!({"n": 1});
    let (_, sig) = keys
        .sign(&tongban_exchange::canonical::digest(&v))
        .expect("sign");
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (v, pk, sig) = (v.clone(), pk.clone(), sig.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < Duration::from_secs(secs) {
                    assert!(tongban_exchange::canonical::verify(&v, &pk, &sig));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    n as f64 / start.elapsed().as_secs_f64()
}

/// SM2 sign + verify pairs per second on `threads` threads for `secs`.
fn sm2_limit(threads: usize, secs: u64) -> f64 {
    let keys = tongban_platform::vault::keys().expect("keys");
    let pk = keys.public_keys().remove(0).public_key;
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (keys, pk) = (keys.clone(), pk.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while start.elapsed() < Duration::from_secs(secs) {
                    let v = serde_json::json!({"n": n, "t": t});
                    let d = tongban_exchange::canonical::digest(&v);
                    let (_, sig) = keys.sign(&d).expect("sign");
                    assert!(tongban_exchange::canonical::verify(&v, &pk, &sig));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let n: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    n as f64 / start.elapsed().as_secs_f64()
}

fn request(c: &Call, host: &str) -> Vec<u8> {
    let body = c.body.to_string();
    format!(
        "POST /exchange/v1/{}/{} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         {}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\n{}: {}\r\nContent-Length: {}\r\n\r\n{body}",
        c.provider,
        c.service,
        call::H_CONSUMER,
        call::encode_header(&c.consumer),
        call::H_PURPOSE,
        call::encode_header(&c.purpose),
        call::H_SUBJECT,
        call::encode_header(&c.subject),
        call::H_MESSAGE_ID,
        c.message_id,
        call::H_SENT_AT,
        c.sent_at,
        call::H_KEY_ID,
        c.key_id,
        call::H_SIGNATURE,
        c.signature,
        body.len()
    )
    .into_bytes()
}

#[tokio::main]
async fn main() {
    let mut it = std::env::args().skip(1);
    let (mut seconds, mut clients) = (10u64, 32usize);
    while let Some(a) = it.next() {
        let v = it.next().and_then(|v| v.parse::<u64>().ok());
        match (a.as_str(), v) {
            ("--seconds", Some(v)) => seconds = v.max(1),
            ("--clients", Some(v)) => clients = v.max(1) as usize,
            _ => {
                eprintln!("usage: exchange [--seconds S] [--clients C]");
                std::process::exit(2);
            }
        }
    }
    let root = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-exchange");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench dir");
    let dir = &root;
    let db_url = format!("sqlite://{}", dir.join("bench.db").display());
    let key_file = dir.join("keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let db = tongban_server::open_and_migrate(&config).unwrap_or_else(|e| {
        eprintln!("cannot open the database: {e}");
        std::process::exit(1);
    });

    // A provider with a registry of 10,000 people, a consumer with a grant.
    let table = tongban_exchange::registry::Table {
        header: vec!["id_number".into(), "name".into(), "household".into()],
        rows: (0..RECORDS)
            .map(|i| {
                (
                    i + 2,
                    vec![id_number(i), format!("居民{i}"), "梁溪区".into()],
                )
            })
            .collect(),
    };
    let sealed = tongban_exchange::registry::seal("people", &table, "id_number").expect("seal");
    let service = tongban_exchange::model::Service {
        provider: "p".into(),
        code: "hukou".into(),
        version: "1".into(),
        name: "户籍信息".into(),
        description: String::new(),
        request_schema: serde_json::json!({"type": "object", "required": ["id_number"],
            "properties": {"id_number": {"type": "string", "pattern": "^[0-9]{17}[0-9X]$"}}}),
        response_schema: serde_json::json!({"type": "object", "required": ["found"]}),
        sharing: "conditional".into(),
        backend: "registry".into(),
        registry: Some("people".into()),
        rest_url: None,
        timeout_ms: 5000,
    };
    let now = tongban_platform::time::now_millis();
    db.write_blocking(move |c| {
        for (code, name) in [("p", "提供部门"), ("c", "调用部门")] {
            tongban_platform::identity::upsert_department(
                c,
                &Department {
                    code: code.into(),
                    name: name.into(),
                    name_en: String::new(),
                },
            )?;
        }
        tongban_exchange::store::save(c, &service, now)?;
        tongban_exchange::registry::replace(
            c,
            "people",
            "p",
            "id_number",
            &table.header,
            &sealed,
            now,
        )
        .map_err(|e| tongban_platform::db::DbError::Decode(e.to_string()))?;
        tongban_exchange::grants::grant(
            c,
            "p",
            "hukou",
            "c",
            "办件核验",
            now + 86_400_000,
            "bench",
            now,
        )?;
        Ok(())
    })
    .expect("setup");
    // 10,000 certificates, their check codes kept for the second phase.
    let today = chrono::Local::now().date_naive();
    let codes: Vec<String> = db
        .write_blocking(move |c| {
            let t = tongban_exchange::certificates::CertType {
                code: "BENCH".into(),
                name: "测试证照".into(),
                issuer: "p".into(),
                matter_code: None,
                fields: vec![tongban_exchange::certificates::CertField {
                    key: "n".into(),
                    label: "序号".into(),
                }],
                validity_days: 365,
            };
            tongban_exchange::certificates::save_type(c, &t, now)?;
            let mut codes = Vec::with_capacity(CERTIFICATES);
            for i in 0..CERTIFICATES {
                let id = id_number(i);
                let case_no = format!("bench-{i}");
                let h = tongban_exchange::certificates::Holder {
                    id_number: &id,
                    name: "居民",
                    case_no: &case_no,
                    issuer_name: "提供部门",
                };
                let mut form = serde_json::Map::new();
                form.insert("n".into(), serde_json::json!(i));
                let cert = tongban_exchange::certificates::issue(c, &t, &h, &form, today, now)
                    .map_err(|e| tongban_platform::db::DbError::Decode(e.to_string()))?;
                codes.push(cert.verify_code.unwrap_or_default());
            }
            Ok(codes)
        })
        .expect("certificates");
    drop(db);

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = sm2_limit(threads, 3);
    println!("SM2 sign + verify on {threads} threads, nothing else: {limit:.0} pairs/s");

    // Enough signed requests for the run at well over the floor.
    let want = (seconds as usize + 2) * 6_000;
    let t = Instant::now();
    let server = Server::start_with(
        &db_url,
        dir,
        &key_file,
        &[("TONGBAN_WORKER_INTERVAL_MS", "60000")],
    )
    .await;
    let host = server.iaddr.clone();
    let requests: Vec<Vec<u8>> = (0..want)
        .map(|i| {
            let c = Call {
                provider: "p".into(),
                service: "hukou".into(),
                consumer: "c".into(),
                purpose: "办件核验".into(),
                subject: format!("bench-{i}"),
                message_id: call::new_message_id(),
                sent_at: tongban_platform::time::now_millis(),
                body: serde_json::json!({"id_number": id_number(i % RECORDS)}),
                ..Call::default()
            }
            .sign()
            .expect("sign");
            request(&c, &host)
        })
        .collect();
    println!(
        "{want} requests signed in {:.1} s (before the clock)",
        t.elapsed().as_secs_f64()
    );
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let r = load(
        &host,
        clients,
        seconds,
        200,
        Arc::new(move |_| {
            let i = next.fetch_add(1, Ordering::Relaxed);
            requests[i % requests.len()].clone()
        }),
    )
    .await;
    print(
        "exchanges (verify, log, sign)",
        &r,
        "SM2 sign+verify pairs",
        limit,
    );
    println!(
        "floor 2,000 exchanges/s: {}",
        if r.rate >= 2000.0 { "met" } else { "NOT met" }
    );

    // Certificate checks, on the public listener.
    let verify_limit = sm2_verify_limit(threads, 3);
    println!("SM2 verify on {threads} threads, nothing else: {verify_limit:.0}/s");
    let host = server.addr.clone();
    let codes = Arc::new(codes);
    let h2 = host.clone();
    let r = load(
        &host,
        clients,
        seconds,
        200,
        Arc::new(move |i| {
            let code = &codes[i as usize % codes.len()];
            tongban_bench::get(
                &format!("/api/v1/certificates/verify?code={code}"),
                &h2,
                None,
            )
        }),
    )
    .await;
    print("certificate checks", &r, "SM2 verifications", verify_limit);
    println!(
        "floor 5,000 certificate checks/s: {}",
        if r.rate >= 5000.0 { "met" } else { "NOT met" }
    );
    server.stop();

    // The chain holds after the run.
    let db = tongban_server::open_and_migrate(&config).expect("reopen");
    let chain = db
        .write_blocking(tongban_exchange::log::verify)
        .expect("verify");
    println!(
        "message log: {} entries, chain {}",
        chain.entries,
        match chain.broken {
            None => "holds".to_owned(),
            Some((seq, why)) => format!("BROKEN at {seq}: {why}"),
        }
    );
}
