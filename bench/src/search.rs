//! Benchmark `search`: the one search index with 1,000,000 documents (matters, articles and
//! letters as a city's site would hold them: titles and bodies made from the demo
//! catalogue's words and the 12345 categories' vocabulary), in memory, as each node keeps it.
//!
//! - Indexing: documents per second put in (jieba search-mode terms, two fields), against
//!   jieba segmentation alone of the same texts in the same run (the tokenizer's limit).
//! - Searching: p50/p99 of queries citizens type (synonyms expanded, top 10 with snippets
//!   and facets over every match), against a plain substring scan of the same titles in
//!   memory in the same run (what `LIKE` does, without a database).
//!
//! Floors (issue 16): search p99 ≤ 30 ms with 1,000,000 documents; indexing ≥ 5,000
//! documents/s.
//!
//! Usage: cargo build --release -p tongban-bench && target/release/search [--docs N]

use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};
use tongban_portal::search::synonyms::Synonyms;
use tongban_portal::search::{tokenizer, Doc, Engine, Filter};

const QUERIES: [&str; 20] = [
    "医保",
    "社保卡",
    "开公司",
    "提取公积金",
    "生育登记",
    "生孩子",
    "居住证",
    "营业执照",
    "低保",
    "失业金",
    "二手房过户",
    "燃气开户",
    "异地就医",
    "退休",
    "结婚登记",
    "身份证",
    "噪音扰民",
    "路灯不亮",
    "公租房",
    "食品经营许可",
];

fn words() -> Vec<String> {
    let mut w: Vec<String> = Vec::new();
    for m in tongban_catalog::exchange::demo().unwrap_or_default() {
        w.extend(tokenizer::terms(&m.name).into_iter().map(|t| t.0));
        w.extend(tokenizer::terms(&m.conditions).into_iter().map(|t| t.0));
    }
    for extra in [
        "噪音", "扰民", "路灯", "不亮", "垃圾", "清运", "停车", "占道", "施工", "夜间", "物业",
        "维修", "供水", "停水", "通知", "公告", "政策", "解读", "办法", "规定",
    ] {
        w.push(extra.to_owned());
    }
    w.sort();
    w.dedup();
    w
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut n = 1_000_000usize;
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--docs", Some(v)) => n = v,
            _ => {
                eprintln!("usage: search [--docs N]");
                std::process::exit(2);
            }
        }
    }
    let vocab = words();
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let mut pick = |k: usize| -> String {
        (0..k)
            .map(|_| vocab[rng.random_range(0..vocab.len())].as_str())
            .collect::<Vec<_>>()
            .join("")
    };
    let kinds = ["matter", "article", "letter"];
    let docs: Vec<Doc> = (0..n)
        .map(|i| Doc {
            kind: kinds[i % 3].into(),
            id: i.to_string(),
            title: pick(4),
            body: pick(30),
            url: format!("/x/{i}"),
            department: format!("d{}", i % 40),
            department_name: String::new(),
            site: format!("s{}", i % 12),
            date: format!("20{:02}-0{}-1{}", 20 + i % 7, 1 + i % 9, i % 10),
        })
        .collect();
    println!("{n} documents made ({} words of vocabulary)", vocab.len());

    // The tokenizer alone over the same texts.
    tokenizer::warm();
    let sample = n.min(100_000);
    let t = Instant::now();
    let mut terms = 0usize;
    for d in docs.iter().take(sample) {
        terms += tokenizer::terms(&d.title).len() + tokenizer::terms(&d.body).len();
    }
    let jieba_rate = sample as f64 / t.elapsed().as_secs_f64();
    println!("jieba segmentation alone: {jieba_rate:.0} documents/s ({terms} terms in {sample})");

    let engine = Engine::new().expect("index");
    let t = Instant::now();
    for chunk in docs.chunks(100_000) {
        engine.apply(chunk, &[]).expect("indexed");
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    println!(
        "indexing: {rate:.0} documents/s ({n} in {secs:.1} s) | {:.2}x jieba alone ({jieba_rate:.0}/s)",
        rate / jieba_rate
    );
    println!(
        "floor 5,000 documents/s: {}",
        if rate >= 5000.0 { "met" } else { "NOT met" }
    );

    let synonyms = Synonyms::standard();
    let mut lat = Vec::new();
    let mut per_query: Vec<(Duration, &str, usize, usize)> = Vec::new();
    let mut hits = 0usize;
    for round in 0..10 {
        for q in QUERIES {
            let t = Instant::now();
            let r = engine
                .search(q, &synonyms, &Filter::default(), 1, 10)
                .expect("search");
            if round > 0 {
                let took = t.elapsed();
                lat.push(took);
                match per_query.iter_mut().find(|e| e.1 == q) {
                    Some(e) => e.0 = e.0.max(took),
                    None => per_query.push((took, q, r.total, r.terms.len())),
                }
            }
            hits += r.total;
        }
    }
    let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
    per_query.sort_by_key(|b| std::cmp::Reverse(b.0));
    for (took, q, total, terms) in per_query.iter().take(5) {
        println!(
            "  slowest: {q} {:.2} ms ({total} matches, {terms} terms)",
            took.as_secs_f64() * 1e3
        );
    }
    // The baseline: a substring scan of every title.
    let mut scan = Vec::new();
    for q in QUERIES {
        let t = Instant::now();
        let found = docs.iter().filter(|d| d.title.contains(q)).take(10).count();
        std::hint::black_box(found);
        scan.push(t.elapsed());
    }
    let scan_p99 = pct(&mut scan, 0.99);
    println!(
        "search: p50 {:.2} ms  p99 {:.2} ms ({} queries, {hits} matches counted) | substring scan of the titles p99 {:.2} ms ({:.1}x)",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        lat.len(),
        scan_p99.as_secs_f64() * 1e3,
        scan_p99.as_secs_f64() / p99.as_secs_f64().max(1e-9)
    );
    println!(
        "floor p99 ≤ 30 ms: {}",
        if p99 <= Duration::from_millis(30) {
            "met"
        } else {
            "NOT met"
        }
    );
}
