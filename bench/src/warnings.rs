//! Benchmark `warnings`: the quality of early warnings, measured. Generates 60 days of
//! synthetic work orders with daily and weekly rhythms over every category and district,
//! injects bursts of varied size, length and wording after the first four weeks, runs the
//! incremental analysis in event time exactly as for imported history, and reports precision,
//! recall and the median detection delay of the rate warnings (and of new-term warnings).
//!
//! The generator's phrasing is its own (it shares no text with the tests).
//!
//! Usage: cargo build --release -p tongban-bench && target/release/warnings [--per-day N]
//!        [--bursts N] [--seed S] [--db sqlite://…|postgres://…]

use chrono::{Datelike, TimeZone, Timelike};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;
use tongban_platform::config::Config;
use tongban_platform::Ctx;

struct Args {
    per_day: usize,
    bursts: usize,
    seed: u64,
    db: String,
}

fn args() -> Args {
    let mut a = Args {
        per_day: 2000,
        bursts: 40,
        seed: 20261126,
        db: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--per-day" => a.per_day = v.parse().unwrap_or(a.per_day),
            "--bursts" => a.bursts = v.parse().unwrap_or(a.bursts),
            "--seed" => a.seed = v.parse().unwrap_or(a.seed),
            "--db" => a.db = v,
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// Everyday wording per sub-category: fragments the generator combines.
const EVERYDAY: [(&str, &[&str]); 12] = [
    (
        "city.sanitation",
        &["垃圾清运不及时", "绿化带里堆满杂物", "公厕没人打扫"],
    ),
    (
        "city.roads",
        &["人行道地砖松动", "路灯坏了好几盏", "道路坑洼积水"],
    ),
    (
        "city.noise",
        &["楼下商铺音响太吵", "凌晨还有装修声音", "工地机器轰鸣"],
    ),
    (
        "traffic.bus",
        &["公交车到站不停", "车上空调不开", "线路调整没有公告"],
    ),
    (
        "traffic.parking",
        &["小区门口乱停车", "停车收费不合理", "消防通道被占"],
    ),
    (
        "housing.property",
        &["物业费上涨没公示", "楼道灯不亮", "电梯年检过期"],
    ),
    (
        "education.enrol",
        &["学区划分不清楚", "幼儿园报名系统打不开", "转学手续繁琐"],
    ),
    (
        "health.hospital",
        &["门诊排队时间长", "检查报告出得慢", "医生态度不好"],
    ),
    (
        "social.pension",
        &["养老金到账延迟", "退休手续办理慢", "社保缴费查询不到"],
    ),
    (
        "utility.water",
        &["水表读数异常", "自来水有漂白粉味", "水管漏水没人修"],
    ),
    (
        "market.consumer",
        &["健身房关门不退卡", "网购商品质量差", "理发店强制办卡"],
    ),
    (
        "environment.air",
        &["烧烤油烟很大", "工厂晚上排气", "秸秆焚烧烟雾"],
    ),
];

/// Burst wordings: an incident, described in several ways.
const INCIDENTS: [(&str, &[&str]); 10] = [
    (
        "utility.water",
        &[
            "整片小区突然停水",
            "水龙头一点水都没有",
            "停水了也没有通知",
            "楼里全部断水",
        ],
    ),
    (
        "utility.water",
        &[
            "自来水浑浊发黄",
            "放出来的水是黄色的",
            "水里有泥沙一样的东西",
        ],
    ),
    (
        "city.roads",
        &[
            "路面突然塌陷一个大坑",
            "马路中间陷下去了",
            "塌陷处车辆绕行很危险",
        ],
    ),
    (
        "environment.air",
        &["闻到刺鼻的化学气味", "空气里有股怪味道", "气味呛得人头晕"],
    ),
    (
        "traffic.bus",
        &[
            "地铁站附近公交全部停运",
            "等了一个小时没有车",
            "公交突然不开了",
        ],
    ),
    (
        "health.hospital",
        &["医院挂号系统瘫痪", "挂不上号窗口排长队", "自助机全部故障"],
    ),
    (
        "housing.property",
        &["小区电梯同时坏掉", "好几部电梯困人", "电梯停了老人下不了楼"],
    ),
    (
        "city.noise",
        &["深夜打桩声音巨大", "打桩机整夜不停", "半夜被打桩吵醒"],
    ),
    (
        "market.consumer",
        &["培训机构突然跑路", "预付的学费退不回来", "机构关门老板失联"],
    ),
    (
        "city.sanitation",
        &["河边大量死鱼发臭", "水面漂着死鱼", "死鱼气味很重"],
    ),
];

/// Relative volume per district (population).
const DISTRICT_WEIGHT: [f64; 7] = [1.4, 0.9, 1.0, 1.0, 1.1, 1.6, 1.2];

/// Hour-of-day shape: quiet at night, peaks mid-morning and early afternoon.
fn hour_shape(h: u32) -> f64 {
    [
        0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.1, 1.8, 1.2, 1.5, 1.9, 1.8, 1.6,
        1.4, 1.2, 1.1, 0.9, 0.7, 0.45, 0.25,
    ][h as usize % 24]
}

/// Day-of-week shape: Monday busiest, weekends quieter.
fn day_shape(wd: u32) -> f64 {
    [1.3, 1.15, 1.05, 1.0, 0.95, 0.7, 0.6][wd as usize % 7]
}

fn poisson(r: &mut StdRng, lambda: f64) -> usize {
    // Knuth's method; λ is small per hour and place.
    let l = (-lambda).exp();
    let (mut k, mut p) = (0, 1.0);
    loop {
        p *= r.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

struct Burst {
    category: &'static str,
    district: &'static str,
    onset: i64,
    end: i64,
    size: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    let dir = std::env::current_dir()
        .expect("cwd")
        .join("target")
        .join("bench-warnings");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db_url = if a.db.is_empty() {
        format!("sqlite://{}", dir.join("warnings.db").display())
    } else {
        a.db.clone()
    };
    let config = Config {
        database_url: db_url.clone(),
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
    let tz = ctx.tz;
    let mut r = StdRng::seed_from_u64(a.seed);
    let start = tz
        .with_ymd_and_hms(2026, 8, 3, 0, 0, 0)
        .single()
        .expect("start");
    let days = 60i64;

    // Background: a rate per hour for every sub-category and district.
    let per_hour = a.per_day as f64 / 24.0;
    let total_weight: f64 = DISTRICT_WEIGHT.iter().sum::<f64>() * EVERYDAY.len() as f64;
    let mut lines: Vec<(i64, String)> = Vec::new();
    let mut no = 0usize;
    let mut push = |lines: &mut Vec<(i64, String)>,
                    at: i64,
                    cat: &str,
                    district: &str,
                    text: &str,
                    r: &mut StdRng| {
        no += 1;
        let t = tz.timestamp_millis_opt(at).single().expect("time");
        let street = ["中山路", "人民路", "解放路", "学前街", "青石路"][r.random_range(0..5)];
        let line = serde_json::json!({
            "order_no": format!("S{no:08}"), "received_at": t.to_rfc3339(), "channel": "phone", "type": "complaint",
            "category": cat, "district": district, "street": street, "title": text.chars().take(12).collect::<String>(),
            "content": text, "status": "received"
        });
        lines.push((at, line.to_string()));
    };
    for hour in 0..days * 24 {
        let t = start + chrono::Duration::hours(hour);
        let shape = hour_shape(t.hour()) * day_shape(t.weekday().num_days_from_monday());
        for (cat, texts) in EVERYDAY {
            for (d, w) in tongban_bench::demo_districts().iter().zip(DISTRICT_WEIGHT) {
                let n = poisson(&mut r, per_hour * shape * w / total_weight);
                for _ in 0..n {
                    let at = t.timestamp_millis() + r.random_range(0..3_600_000);
                    let mut text = texts[r.random_range(0..texts.len())].to_owned();
                    if r.random_bool(0.5) {
                        text.push_str(
                            ["，希望尽快解决", "，已经好几次了", "，请相关部门关注"]
                                [r.random_range(0..3)],
                        );
                    }
                    push(&mut lines, at, cat, d, &text, &mut r);
                }
            }
        }
    }
    // Bursts after four weeks of history, at most one per place a day.
    let mut bursts = Vec::new();
    for i in 0..a.bursts {
        let (cat, texts) = INCIDENTS[i % INCIDENTS.len()];
        let ds = tongban_bench::demo_districts();
        let district = ds[r.random_range(0..ds.len())].as_str();
        let day = 29 + r.random_range(0..(days - 30));
        let hour = r.random_range(7..21);
        let onset = (start + chrono::Duration::days(day) + chrono::Duration::hours(hour))
            .timestamp_millis()
            + r.random_range(0..3_600_000);
        if bursts
            .iter()
            .any(|b: &Burst| b.district == district && (b.onset - onset).abs() < 86_400_000)
        {
            continue;
        }
        let size = r.random_range(12..45);
        let length = r.random_range(30..150) as i64 * 60_000;
        for _ in 0..size {
            let at = onset + (r.random::<f64>().powf(1.5) * length as f64) as i64;
            let mut text = texts[r.random_range(0..texts.len())].to_owned();
            if r.random_bool(0.6) {
                text = format!(
                    "{}{text}",
                    ["我家这边", "刚才", "现在", ""][r.random_range(0..4)]
                );
            }
            push(&mut lines, at, cat, district, &text, &mut r);
        }
        bursts.push(Burst {
            category: tongban_hotline::categories::top(cat),
            district,
            onset,
            end: onset + length,
            size,
        });
    }
    lines.sort_by_key(|(at, _)| *at);
    println!(
        "generated {} orders over {days} days ({} a day on average) with {} bursts",
        lines.len(),
        lines.len() as i64 / days,
        bursts.len()
    );

    // Import in event time, then analyse incrementally, as `tongban workorders import` does.
    let t = Instant::now();
    let settings = tongban_hotline::settings::Settings::default();
    let depts: Vec<String> = ctx
        .db
        .read(|c| {
            Ok(tongban_platform::identity::list_departments(c)?
                .into_iter()
                .map(|d| d.code)
                .collect())
        })
        .await
        .expect("departments");
    let cal = ctx.calendar();
    let now = tongban_platform::time::now_millis();
    for chunk in lines.chunks(5000) {
        let chunk: Vec<String> = chunk.iter().map(|(_, l)| l.clone()).collect();
        let (s, d, cal) = (settings.clone(), depts.clone(), cal.clone());
        ctx.db
            .write(move |c| {
                for l in &chunk {
                    let k = tongban_hotline::import::check_line(l, &s, &d, now)
                        .map_err(tongban_platform::db::DbError::Engine)?;
                    tongban_hotline::import::store(c, k, &cal, &s, tz)?;
                }
                Ok(())
            })
            .await
            .expect("import");
    }
    let imported = t.elapsed();
    let t = Instant::now();
    let analysed = tongban_insight::index::catch_up(&ctx)
        .await
        .expect("analysis");
    let analysis = t.elapsed();

    // Score the rate warnings against the bursts.
    let rows = ctx
        .db
        .read(|c| c.query("SELECT kind, category, district, term, detected_at FROM insight_warnings ORDER BY detected_at", &[]))
        .await
        .expect("warnings");
    let eval_from = (start + chrono::Duration::days(28)).timestamp_millis();
    let mut true_pos = 0usize;
    let mut false_pos = Vec::new();
    let mut found = vec![None::<i64>; bursts.len()];
    let (mut term_total, mut term_true) = (0usize, 0usize);
    for w in &rows {
        let kind = w.get_str("kind").unwrap_or_default();
        let district = w.get_opt_str("district").ok().flatten().unwrap_or_default();
        let at = w.get_i64("detected_at").unwrap_or(0);
        if at < eval_from {
            continue;
        }
        if kind == "term" {
            term_total += 1;
            if bursts
                .iter()
                .any(|b| b.district == district && at >= b.onset && at <= b.end + 3 * 3_600_000)
            {
                term_true += 1;
            }
            continue;
        }
        let cat = w.get_opt_str("category").ok().flatten().unwrap_or_default();
        let hit = bursts.iter().position(|b| {
            b.category == cat
                && b.district == district
                && at >= b.onset
                && at <= b.end + 3 * 3_600_000
        });
        match hit {
            Some(i) => {
                true_pos += 1;
                found[i] = Some(found[i].map_or(at, |x: i64| x.min(at)));
            }
            None => false_pos.push(format!(
                "{cat} {district} at {}",
                tz.timestamp_millis_opt(at)
                    .single()
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            )),
        }
    }
    let detected = found.iter().filter(|f| f.is_some()).count();
    let mut delays: Vec<f64> = found
        .iter()
        .zip(&bursts)
        .filter_map(|(f, b)| f.map(|at| (at - b.onset) as f64 / 60_000.0))
        .collect();
    delays.sort_by(f64::total_cmp);
    let median = delays.get(delays.len() / 2).copied().unwrap_or(f64::NAN);
    let precision = true_pos as f64 / (true_pos + false_pos.len()).max(1) as f64;
    let recall = detected as f64 / bursts.len().max(1) as f64;
    let missed: Vec<String> = found
        .iter()
        .zip(&bursts)
        .filter(|(f, _)| f.is_none())
        .map(|(_, b)| {
            format!(
                "{} {} ({} messages in {} min)",
                b.category,
                b.district,
                b.size,
                (b.end - b.onset) / 60_000
            )
        })
        .collect();

    println!();
    println!(
        "warnings bench on {} ({} orders, {} bursts; import {:.1} s, analysis {:.1} s = {:.0} messages/s)",
        if db_url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" },
        lines.len(),
        bursts.len(),
        imported.as_secs_f64(),
        analysis.as_secs_f64(),
        analysed as f64 / analysis.as_secs_f64().max(1e-9)
    );
    println!("rate warnings: precision {precision:.3} ({true_pos} true, {} false), recall {recall:.3} ({detected}/{}), median delay {median:.0} min from onset", false_pos.len(), bursts.len());
    println!("new-term warnings: {term_true} of {term_total} inside a burst");
    for f in false_pos.iter().take(10) {
        println!("  false: {f}");
    }
    for m in missed.iter().take(10) {
        println!("  missed: {m}");
    }
    let ok = precision >= 0.9 && recall >= 0.9 && median <= 60.0;
    println!(
        "floors (precision ≥ 0.9, recall ≥ 0.9, median delay ≤ 60 min): {}",
        if ok { "met" } else { "NOT met" }
    );
}
