//! Benchmark `opendata`: the CKAN Action API over HTTP against `tongban serve` (a child
//! process) with 10,000 datasets in the catalogue and a DataStore table of 1,000,000 rows.
//!
//! (a) `package_search` as portals and harvesters call it: words, a filter by publisher or
//!     theme, facets on five fields, 20 a page; p50/p99 with a few clients;
//! (b) `datastore_search` with a filter on an indexed field (one monitoring station's rows
//!     of a million, 10 a page, with the total), requests per second with many clients.
//!
//! Both against `GET /healthz` on the same server in the same run. Floors (issue 17):
//! `package_search` p99 ≤ 50 ms with 10,000 datasets; `datastore_search` with a filter
//! ≥ 3,000 requests/s on a 1,000,000-row table.
//!
//! Usage (see bench/README.md):
//!   cargo build --release -p tongban-server -p tongban-bench
//!   target/release/opendata [--db sqlite://… | --db postgres://…] [--datasets N] [--rows N] [--seconds S]

use std::sync::Arc;
use std::time::Instant;
use tongban_bench::{get, load, print, Maker, Server};
use tongban_opendata::datasets::{self, Input};
use tongban_opendata::datastore::{self, Field};
use tongban_opendata::files::path_segment;
use tongban_opendata::resources;
use tongban_platform::config::Config;
use tongban_platform::db::{Db, Engine};

struct Args {
    db: String,
    datasets: i64,
    rows: i64,
    seconds: u64,
}

fn args() -> Args {
    let mut a = Args {
        db: String::new(),
        datasets: 10_000,
        rows: 1_000_000,
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--db" => a.db = v,
            "--datasets" => a.datasets = v.parse().unwrap_or(a.datasets),
            "--rows" => a.rows = v.parse().unwrap_or(a.rows),
            "--seconds" => a.seconds = v.parse().unwrap_or(a.seconds),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

const WORDS: [&str; 24] = [
    "空气质量",
    "公交",
    "站点",
    "线路",
    "医保",
    "定点",
    "医院",
    "学校",
    "招生",
    "人口",
    "企业",
    "登记",
    "住房",
    "公积金",
    "停车",
    "充电桩",
    "垃圾分类",
    "水质",
    "供水",
    "燃气",
    "养老",
    "机构",
    "社保",
    "就业",
];
const DEPTS: [&str; 10] = [
    "wx-gaj", "wx-wjw", "wx-zjj", "wx-gjj", "wx-jyj", "wx-mzj", "wx-rsj", "wx-scjgj", "wx-ybj",
    "wx-sw",
];
const GROUPS: [&str; 6] = [
    "transport",
    "health",
    "education",
    "housing",
    "environment",
    "social-security",
];
const STATIONS: i64 = 1_000;

/// `n` datasets (two resources, two tags, a theme each) and one table of `rows` rows; the
/// table's resource id.
fn prefill(db: &Db, n: i64, rows: i64) -> Result<String, String> {
    db.write_blocking(move |c| {
        let have = c
            .query_one("SELECT COUNT(*) AS n FROM od_datasets", &[])?
            .get_i64("n")?;
        let now = tongban_platform::time::now_millis();
        tongban_opendata::themes::ensure(c, now)?;
        for i in have..n {
            let w = |k: i64| WORDS[((i * 7 + k * 13) % WORDS.len() as i64) as usize];
            let input = Input {
                name: format!("set-{i:05}"),
                title: format!("{}{}{}数据", w(0), w(1), w(2)),
                notes: format!("{}的{}与{}情况，按月更新。", w(3), w(4), w(5)),
                owner_org: DEPTS[(i % DEPTS.len() as i64) as usize].into(),
                license_id: "cc-by-4.0".into(),
                frequency: "monthly".into(),
                state: "active".into(),
                tags: vec![w(6).into(), w(7).into()],
                groups: vec![GROUPS[(i % GROUPS.len() as i64) as usize].into()],
                ..Input::default()
            };
            let id = datasets::save(c, None, &input, "bench", now + i)
                .map_err(|e| tongban_platform::db::DbError::Engine(e.to_string()))?;
            for (name, format) in [("数据表", "CSV"), ("说明", "PDF")] {
                let r = resources::Input {
                    name: name.into(),
                    format: format.into(),
                    url: format!("https://data.example.cn/{i}.{}", format.to_lowercase()),
                    ..resources::Input::default()
                };
                resources::create(c, &id, &r, now)?;
            }
        }
        // The table: air quality readings of 1,000 stations.
        let rid = match c.query_opt(
            "SELECT r.id FROM od_resources r JOIN od_datasets d ON d.id = r.dataset_id
             WHERE d.name = 'air-readings'",
            &[],
        )? {
            Some(r) => r.get_str("id")?,
            None => {
                let input = Input {
                    name: "air-readings".into(),
                    title: "空气质量监测小时数据".into(),
                    owner_org: "wx-wjw".into(),
                    license_id: "cc-by-4.0".into(),
                    frequency: "daily".into(),
                    state: "active".into(),
                    ..Input::default()
                };
                let id = datasets::save(c, None, &input, "bench", now)
                    .map_err(|e| tongban_platform::db::DbError::Engine(e.to_string()))?;
                let r = resources::Input {
                    name: "读数".into(),
                    format: "CSV".into(),
                    ..resources::Input::default()
                };
                resources::create(c, &id, &r, now)?
            }
        };
        let count = match datastore::fields(c, &rid)? {
            Some(_) => c
                .query_one(
                    &format!("SELECT COUNT(*) AS n FROM {}", datastore::table(&rid)),
                    &[],
                )?
                .get_i64("n")?,
            None => {
                let f = |id: &str, kind: &str, label: &str| Field {
                    id: id.into(),
                    kind: kind.into(),
                    label: label.into(),
                };
                let fields = [
                    f("station", "text", "监测点"),
                    f("hour", "timestamp", "时间"),
                    f("pm25", "int", "PM2.5"),
                    f("aqi", "int", "空气质量指数"),
                ];
                datastore::create(c, &rid, &fields, &["station".into()], &[])
                    .map_err(|e| tongban_platform::db::DbError::Engine(e.to_string()))?;
                0
            }
        };
        if count < rows {
            let series = match c.engine() {
                Engine::Sqlite => {
                    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1)"
                }
                Engine::Postgres => "WITH s(i) AS (SELECT generate_series(1, $1::bigint))",
            };
            c.execute(
                &format!(
                    "{series} INSERT INTO {} (\"station\", \"hour\", \"pm25\", \"aqi\")
                     SELECT 'S' || (i % {STATIONS}), '2026-01-01T00:00:00', i % 150, i % 300 FROM s",
                    datastore::table(&rid)
                ),
                tongban_platform::params![rows - count],
            )?;
        }
        Ok(rid)
    })
    .map_err(|e| format!("prefill failed: {e}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-opendata");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db_url = if a.db.is_empty() {
        format!("sqlite://{}", dir.join("opendata.db").display())
    } else {
        a.db.clone()
    };
    println!(
        "database: {db_url}; pre-filling {} datasets and a table of {} rows …",
        a.datasets, a.rows
    );
    let t = Instant::now();
    let key_file = dir.join("tongban-keys.toml");
    let config = Config {
        database_url: db_url.clone(),
        key_file: key_file.clone(),
        ..Config::default()
    };
    let (n, rows) = (a.datasets, a.rows);
    let (db, rid) = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&config).map_err(|e| e.to_string())?;
        tongban_server::demo::seed(&db).map_err(|e| e.to_string())?;
        prefill(&db, n, rows).map(|rid| (db, rid))
    })
    .await
    .expect("prefill thread")
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    tongban_bench::vacuum(&db).await;
    drop(db);
    println!("pre-filled in {:.1} s", t.elapsed().as_secs_f64());

    let server = Server::start_with(
        &db_url,
        &dir,
        &key_file,
        &[
            ("TONGBAN_WORKER_INTERVAL_MS", "3600000"),
            ("TONGBAN_API_CALLS_PER_MINUTE", "1000000000"),
        ],
    )
    .await;
    let addr = server.addr.clone();
    let secs = a.seconds;

    let host = addr.clone();
    let health: Maker = Arc::new(move |_| get("/healthz", &host, None));
    let base = load(&addr, 32, secs, 200, health).await;

    let host = addr.clone();
    let search: Maker = Arc::new(move |i| {
        let word = WORDS[(i % WORDS.len() as u64) as usize];
        let fq = if i % 2 == 0 {
            format!(
                "organization:{}",
                DEPTS[(i / 2 % DEPTS.len() as u64) as usize]
            )
        } else {
            format!("groups:{}", GROUPS[(i / 2 % GROUPS.len() as u64) as usize])
        };
        let path = format!(
            "/api/3/action/package_search?q={}&fq={}&rows=20&facet.field={}",
            path_segment(word),
            path_segment(&fq),
            path_segment(r#"["organization","groups","tags","res_format","license_id"]"#)
        );
        get(&path, &host, None)
    });
    let searched = load(&addr, 4, secs, 200, search).await;

    let host = addr.clone();
    let table: Maker = Arc::new(move |i| {
        let filters = format!(r#"{{"station":"S{}"}}"#, i % STATIONS as u64);
        let path = format!(
            "/api/3/action/datastore_search?resource_id={rid}&filters={}&limit=10",
            path_segment(&filters)
        );
        get(&path, &host, None)
    });
    let filtered = load(&addr, 64, secs, 200, table).await;
    server.stop();

    println!();
    println!(
        "opendata bench on {} ({} datasets, a table of {} rows, {} s per phase)",
        if db_url.starts_with("sqlite:") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        a.datasets,
        a.rows,
        secs
    );
    print(
        "(a) package_search, 4 clients",
        &searched,
        "GET /healthz",
        base.rate,
    );
    print(
        "(b) datastore_search filter, 64 clients",
        &filtered,
        "GET /healthz",
        base.rate,
    );
    print("    GET /healthz (baseline)", &base, "itself", base.rate);
    let p99 = searched.p99.as_secs_f64() * 1e3;
    let met = p99 <= 50.0 && filtered.rate >= 3_000.0 && searched.errors + filtered.errors == 0;
    println!(
        "floors (package_search p99 ≤ 50 ms: {p99:.1} ms; datastore_search ≥ 3000/s: {:.0}/s): {}",
        filtered.rate,
        if met { "met" } else { "NOT met" }
    );
}
