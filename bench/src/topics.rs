//! Benchmark `topics`: hot topics over stored messages.
//!
//! (a) segmentation and term counting, the part a Python script can do too: the insight
//!     segmenter over a sample of the texts on two threads, against Python jieba +
//!     collections.Counter on the same texts in the same run (floor: ≥ 5x faster);
//! (b) the whole incremental analysis of N stored messages (segmentation, weighting data,
//!     storage) and a topic query over them (floor: 1,000,000 within 60 s);
//! (c) the incremental update for one new message (floor: p99 ≤ 5 ms).
//!
//! Usage: cargo build --release -p tongban-bench && target/release/topics [--messages N]
//!        [--sample N] (needs `python3 -m pip install jieba` for the baseline)

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tongban_platform::config::Config;
use tongban_platform::{params, Ctx};

const PLACES: [&str; 12] = [
    "清扬路",
    "中山路",
    "人民中路",
    "学前街",
    "梁溪路",
    "太湖大道",
    "长江路",
    "锡沪路",
    "惠山大道",
    "蠡湖大道",
    "江阴大桥路",
    "宜兴解放路",
];
const PROBLEMS: [&str; 24] = [
    "小区停水两天了",
    "水压太低洗不了澡",
    "楼下饭店油烟很大",
    "夜里工地施工噪音扰民",
    "电梯坏了没人修",
    "物业费上涨没有公示",
    "路灯不亮晚上很黑",
    "井盖缺失很危险",
    "公交班次太少",
    "停车位被长期占用",
    "垃圾清运不及时",
    "河道有异味",
    "医院挂号排队太久",
    "孩子入学划片不清楚",
    "养老金到账推迟",
    "健身房关门不退卡",
    "燃气表读数异常",
    "共享单车乱停",
    "广场舞声音太大",
    "人行道地砖松动",
    "外卖餐品有异物",
    "装修公司拖延工期",
    "违章搭建影响采光",
    "公厕卫生太差",
];
const TAILS: [&str; 6] = [
    "，请尽快处理",
    "，已经反映过好几次",
    "，希望相关部门关注",
    "",
    "，影响老人出行",
    "，谢谢",
];

fn texts(n: usize, seed: u64) -> Vec<(String, String)> {
    let mut r = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let problem = PROBLEMS[r.random_range(0..PROBLEMS.len())];
            let title: String = problem.chars().take(8).collect();
            let body = format!(
                "{}附近{}{}",
                PLACES[r.random_range(0..PLACES.len())],
                problem,
                TAILS[r.random_range(0..TAILS.len())]
            );
            (title, body)
        })
        .collect()
}

fn count_terms(texts: &[(String, String)]) -> HashMap<String, i64> {
    let half = texts.len() / 2;
    let (a, b) = texts.split_at(half);
    let work = |part: &[(String, String)]| {
        let mut m: HashMap<String, i64> = HashMap::new();
        for (t, c) in part {
            for (term, n) in tongban_insight::segment::terms(&format!("{t} {c}")) {
                *m.entry(term).or_insert(0) += n;
            }
        }
        m
    };
    let (mut x, y) = std::thread::scope(|s| {
        let h = s.spawn(|| work(b));
        (work(a), h.join().unwrap_or_default())
    });
    for (k, v) in y {
        *x.entry(k).or_insert(0) += v;
    }
    x
}

fn python_baseline(dir: &std::path::Path, texts: &[(String, String)]) -> Option<f64> {
    let file = dir.join("texts.txt");
    let body: String = texts.iter().map(|(t, c)| format!("{t} {c}\n")).collect();
    std::fs::write(&file, body).ok()?;
    let script = "import sys, time, collections, jieba\njieba.initialize()\nt = time.time()\nc = collections.Counter()\nfor line in open(sys.argv[1], encoding='utf-8'):\n    c.update(w for w in jieba.cut(line.strip()) if len(w) >= 2)\nprint(time.time() - t)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, file.to_str()?])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "python baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut n = 1_000_000usize;
    let mut sample = 50_000usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--messages" => n = v.parse().unwrap_or(n),
            "--sample" => sample = v.parse().unwrap_or(sample),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-topics");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let config = Config {
        database_url: format!("sqlite://{}", dir.join("topics.db").display()),
        key_file: dir.join("tongban-keys.toml"),
        ..Config::default()
    };
    let c2 = config.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = tongban_server::open_and_migrate(&c2)?;
        tongban_server::demo::seed(&db)?;
        Ok::<_, String>(db)
    })
    .await
    .expect("setup")
    .unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let ctx = Ctx::new(db, config);
    let all = texts(n, 42);

    // (a) segmentation and counting against Python jieba on the same sample.
    let places = ctx
        .db
        .read(|c| Ok(tongban_platform::region::load(c)?.place_names()))
        .await
        .expect("region");
    tongban_insight::segment::learn(&[], &places);
    let part = &all[..sample.min(all.len())];
    let t = Instant::now();
    let counted = count_terms(part);
    let rust = t.elapsed().as_secs_f64();
    let python = python_baseline(&dir, part);

    // (b) the whole analysis of N stored messages.
    let sealed: Vec<String> = {
        let keys = tongban_platform::vault::keys().expect("keys");
        all.iter()
            .map(|(_, c)| keys.encrypt(c).expect("seal"))
            .collect()
    };
    let start_ms = tongban_platform::time::now_millis() - 7 * 86_400_000;
    for (k, chunk) in all.chunks(20_000).enumerate() {
        let rows: Vec<(String, String)> = chunk
            .iter()
            .zip(&sealed[k * 20_000..])
            .map(|((t, _), s)| (t.clone(), s.clone()))
            .collect();
        ctx.db
            .write(move |c| {
                for (i, (title, content)) in rows.iter().enumerate() {
                    let j = (k * 20_000 + i) as i64;
                    let ds = tongban_bench::demo_districts();
                    let district = ds[(j as usize) % ds.len()].as_str();
                    c.execute(
                        "INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, status,
                            received_at, updated_at, version, channel)
                         VALUES ($1, 'complaint', 'city.noise', $2, '某路', $3, $4, FALSE, 'received', $5, $5, 1, 'web')",
                        params![format!("T{j:08}"), district, title.as_str(), content.as_str(), start_ms + j * 600],
                    )?;
                }
                Ok(())
            })
            .await
            .expect("store");
    }
    let t = Instant::now();
    let analysed = tongban_insight::index::catch_up(&ctx)
        .await
        .expect("analysis");
    let whole = t.elapsed();
    let t = Instant::now();
    let week = tongban_insight::topics::TopicQuery {
        from: Some(
            (ctx.today() - chrono::Duration::days(7))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        ..Default::default()
    };
    let topics = tongban_insight::topics::topics(&ctx, week)
        .await
        .expect("topics");
    let query = t.elapsed();

    // (c) one new message at a time.
    let mut lat = Vec::new();
    for (i, (title, content)) in texts(200, 7).into_iter().enumerate() {
        let sealed = tongban_platform::vault::keys()
            .expect("keys")
            .encrypt(&content)
            .expect("seal");
        ctx.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO work_orders (order_no, order_type, category, district, street, title, content, public, status,
                        received_at, updated_at, version, channel)
                     VALUES ($1, 'complaint', 'city.noise', '梁溪区', '某路', $2, $3, FALSE, 'received', $4, $4, 1, 'web')",
                    params![format!("U{i:06}"), title.as_str(), sealed.as_str(), tongban_platform::time::now_millis()],
                )?;
                Ok(())
            })
            .await
            .expect("store one");
        let t = Instant::now();
        tongban_insight::index::step(&ctx).await.expect("step");
        lat.push(t.elapsed());
    }
    lat.sort();
    let p99 = lat
        .get(lat.len() * 99 / 100)
        .copied()
        .unwrap_or(Duration::ZERO);

    println!();
    println!(
        "topics bench on SQLite ({n} messages, baseline sample {})",
        part.len()
    );
    match python {
        Some(p) => println!(
            "(a) segmentation + counting of {} texts: {:.2} s ({} terms), Python jieba + Counter {:.2} s | {:.1}x faster",
            part.len(),
            rust,
            counted.len(),
            p,
            p / rust.max(1e-9)
        ),
        None => println!("(a) segmentation + counting: {rust:.2} s; Python jieba baseline unavailable (pip install jieba)"),
    }
    println!(
        "(b) whole analysis of {analysed} messages: {:.1} s ({:.0} messages/s); topic query {:.0} ms, {} topics",
        whole.as_secs_f64(),
        analysed as f64 / whole.as_secs_f64().max(1e-9),
        query.as_secs_f64() * 1e3,
        topics.len()
    );
    println!(
        "(c) incremental update of one message: p99 {:.2} ms",
        p99.as_secs_f64() * 1e3
    );
    let per_million = whole.as_secs_f64() * 1_000_000.0 / analysed.max(1) as f64;
    let ok = python.is_some_and(|p| p / rust >= 5.0)
        && per_million <= 60.0
        && p99 <= Duration::from_millis(5);
    println!(
        "floors (≥ 5x Python, 1,000,000 messages ≤ 60 s [here {per_million:.0} s per million], update p99 ≤ 5 ms): {}",
        if ok { "met" } else { "NOT met" }
    );
}
