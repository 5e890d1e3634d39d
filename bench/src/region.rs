//! Benchmark `region`: (a) importing a generated region of 3,000 counties and 40,000 streets
//! (`tongban region import`'s path: read and check the files, then store them in one
//! transaction) on SQLite, against plain inserts of as many rows in one transaction;
//! (b) the district of a point with 100 boundaries of 1,000 points each
//! (`Region::locate`), p50/p99 per lookup, against a scan of the boundaries' bounding boxes.
//!
//! Floors (issue 14): (a) at most 10 s; (b) p99 at most 1 ms.
//!
//! Usage: cargo build --release -p tongban-bench && target/release/region [--lookups N]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tongban_platform::config::Config;

const PROVINCES: usize = 30;
const CITIES: usize = 10;
const COUNTIES: usize = 10;
const STREETS: usize = 40_000;

/// A region folder: 30 provinces, 300 cities, 3,000 counties, 40,000 streets.
fn write_big(dir: &std::path::Path) -> usize {
    std::fs::create_dir_all(dir).expect("dir");
    let mut div = String::from("code,name,parent,level,population\n");
    let mut rows = 0;
    let mut streets_left = STREETS;
    let counties = PROVINCES * CITIES * COUNTIES;
    let mut county_no = 0;
    for p in 0..PROVINCES {
        let pc = format!("{:02}0000", 11 + p);
        let _ = writeln!(div, "{pc},第{p}省,,province,");
        rows += 1;
        for c in 0..CITIES {
            let cc = format!("{:02}{:02}00", 11 + p, 1 + c);
            let _ = writeln!(div, "{cc},第{p}省第{c}市,{pc},city,");
            rows += 1;
            for k in 0..COUNTIES {
                let kc = format!("{:02}{:02}{:02}", 11 + p, 1 + c, 1 + k);
                let _ = writeln!(
                    div,
                    "{kc},第{p}省第{c}市第{k}区,{cc},district,{}",
                    100_000 + k
                );
                rows += 1;
                // Spread the streets over the counties left.
                let n = streets_left / (counties - county_no);
                streets_left -= n;
                county_no += 1;
                for s in 0..n {
                    let _ = writeln!(
                        div,
                        "{kc}{:03}000,第{p}省第{c}市第{k}区第{s}街道,{kc},street,",
                        1 + s
                    );
                    rows += 1;
                }
            }
        }
    }
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w("divisions.csv", &div);
    w(
        "region.toml",
        "name = \"基准省份集\"\ncode = \"110100\"\nhotline_department = \"hl\"\n",
    );
    w(
        "departments.csv",
        "code,name,kind,parent,phone\nhl,热线,热线,,12345\nwater,水务,公共企事业单位,,\n",
    );
    w(
        "categories.csv",
        "code,name,parent,keywords\nutility,公用事业,,\nutility.water,供水,utility,停水\n",
    );
    w(
        "routing.csv",
        "category,division,department\nutility,,water\n",
    );
    rows
}

/// Plain inserts of `rows` division-like rows in one transaction (no checks, no files).
fn baseline_inserts(path: &std::path::Path, rows: usize) -> Duration {
    let conn = rusqlite::Connection::open(path).expect("baseline db");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         CREATE TABLE d (code TEXT PRIMARY KEY, name TEXT, parent TEXT, level TEXT, population BIGINT, position BIGINT, updated_at BIGINT);",
    )
    .expect("schema");
    let t = Instant::now();
    let tx = conn.unchecked_transaction().expect("tx");
    {
        let mut st = tx
            .prepare("INSERT INTO d VALUES (?1, ?2, ?3, ?4, NULL, ?5, 0)")
            .expect("prepare");
        for i in 0..rows {
            st.execute(rusqlite::params![
                format!("{i:012}"),
                format!("第{i}街道"),
                "110101",
                "street",
                i as i64
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    t.elapsed()
}

/// A boundary of `n` points: a circle of radius `r` degrees around (`x`, `y`).
fn circle(x: f64, y: f64, r: f64, n: usize) -> serde_json::Value {
    let mut ring: Vec<[f64; 2]> = (0..n - 1)
        .map(|i| {
            let a = i as f64 / (n - 1) as f64 * std::f64::consts::TAU;
            [x + r * a.cos(), y + r * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    serde_json::json!({"type": "Polygon", "coordinates": [ring]})
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn main() {
    let mut lookups = 100_000usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--lookups" => lookups = it.next().and_then(|v| v.parse().ok()).unwrap_or(lookups),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-region");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let config = Config {
        database_url: format!("sqlite://{}", dir.join("region.db").display()),
        key_file: dir.join("tongban-keys.toml"),
        ..Config::default()
    };
    let db = tongban_server::open_and_migrate(&config).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });

    // (a) import
    let folder = dir.join("big");
    let rows = write_big(&folder);
    let t = Instant::now();
    let r = tongban_server::region::import(&db, &folder).unwrap_or_else(|e| {
        eprintln!("{}", e.join("\n"));
        std::process::exit(1)
    });
    let took = t.elapsed();
    let base = baseline_inserts(&dir.join("baseline.db"), rows);
    println!(
        "(a) import {} divisions ({} counties, {} streets) on SQLite: {:.2} s (floor 10 s) | {:.1}x plain inserts of as many rows in one transaction ({:.2} s)",
        r.divisions,
        PROVINCES * CITIES * COUNTIES,
        STREETS,
        took.as_secs_f64(),
        took.as_secs_f64() / base.as_secs_f64().max(1e-9),
        base.as_secs_f64()
    );
    let t = Instant::now();
    let again = tongban_server::region::import(&db, &folder).expect("re-import");
    println!(
        "    re-import of the same folder: {:.2} s ({} divisions, {} retired)",
        t.elapsed().as_secs_f64(),
        again.divisions,
        again.retired
    );

    // (b) locate: 100 districts in a 10 × 10 grid, each a circle of 1,000 points.
    let small = dir.join("grid");
    std::fs::create_dir_all(&small).expect("dir");
    let mut div = String::from(
        "code,name,parent,level\n110000,省,,province\n110100,一市,110000,city\n110200,二市,110000,city\n",
    );
    let mut features = Vec::new();
    for i in 0..100 {
        let city = format!("11{:02}00", 1 + i / 50);
        let code = format!("11{:02}{:02}", 1 + i / 50, 1 + i % 50);
        let _ = writeln!(div, "{code},第{i}区,{city},district");
        let (x, y) = (100.0 + (i % 10) as f64 * 0.1, 30.0 + (i / 10) as f64 * 0.1);
        features.push(
            serde_json::json!({"type": "Feature", "properties": {"code": code},
            "geometry": circle(x + 0.05, y + 0.05, 0.049, 1000)}),
        );
    }
    std::fs::write(small.join("divisions.csv"), div).expect("write");
    std::fs::write(
        small.join("boundaries.geojson"),
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .expect("write");
    for f in [
        "region.toml",
        "departments.csv",
        "categories.csv",
        "routing.csv",
    ] {
        std::fs::copy(folder.join(f), small.join(f)).expect("copy");
    }
    tongban_server::region::import(&db, &small).expect("grid import");
    let region = db
        .write_blocking(tongban_platform::region::load)
        .expect("load");
    let mut rng = StdRng::seed_from_u64(20261201);
    let points: Vec<(f64, f64)> = (0..lookups)
        .map(|_| {
            (
                rng.random_range(99.95..101.05),
                rng.random_range(29.95..31.05),
            )
        })
        .collect();
    let mut times = Vec::with_capacity(lookups);
    let mut found = 0usize;
    for (x, y) in &points {
        let t = Instant::now();
        let p = region.locate(*x, *y);
        times.push(t.elapsed());
        if p.and_then(|p| p.district).is_some() {
            found += 1;
        }
    }
    let (p50, p99) = (pct(&mut times, 0.50), pct(&mut times, 0.99));
    // Baseline: a scan of the 100 bounding boxes, the least any lookup must do.
    let boxes: Vec<(f64, f64)> = (0..100)
        .map(|i| (100.0 + (i % 10) as f64 * 0.1, 30.0 + (i / 10) as f64 * 0.1))
        .collect();
    let mut base_times = Vec::with_capacity(lookups);
    let mut hits = 0usize;
    for (x, y) in &points {
        let t = Instant::now();
        hits += boxes
            .iter()
            .filter(|(bx, by)| *x >= *bx && *x < bx + 0.1 && *y >= *by && *y < by + 0.1)
            .count();
        base_times.push(t.elapsed());
    }
    let bp99 = pct(&mut base_times, 0.99);
    println!(
        "(b) locate with 100 boundaries of 1,000 points: p50 {:.1} µs, p99 {:.1} µs (floor 1 ms), {found} of {lookups} inside | {:.1}x a bounding-box scan's p99 ({:.2} µs, {hits} hits)",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        p99.as_secs_f64() / bp99.as_secs_f64().max(1e-9),
        bp99.as_secs_f64() * 1e6
    );
}
