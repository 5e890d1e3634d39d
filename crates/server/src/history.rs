//! Demo history: a plausible past for the demo city so that topics, warnings, statistics and
//! the evaluation show something real on first run — work orders with Chinese texts (through
//! the hotline's history import, so exactly as a city's old data would arrive), decided cases,
//! ratings with their rectifications, and page views. Deterministic for a given day count.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tongban_cases::rules::Status;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Db, DbError};

/// What people write about, per sub-category: (title, texts).
const TOPICS: [(&str, &str, &[&str]); 14] = [
    (
        "utility.water",
        "停水",
        &[
            "小区突然停水，没有提前通知",
            "楼上水压太低，洗澡都困难",
            "自来水有异味，不敢直接喝",
        ],
    ),
    (
        "utility.gas",
        "燃气",
        &[
            "燃气表读数不准，费用突然变高",
            "楼道里有燃气味，请派人检查",
            "燃气开户要跑好几次",
        ],
    ),
    (
        "housing.property",
        "物业",
        &[
            "电梯经常坏，物业维修很慢",
            "物业费上涨没有公示",
            "小区垃圾没人清运，物业不管",
        ],
    ),
    (
        "housing.rent",
        "公租房",
        &[
            "公租房申请审核进度查不到",
            "公租房维修报修没人来",
            "租赁补贴什么时候发放",
        ],
    ),
    (
        "city.noise",
        "噪音",
        &[
            "夜里工地施工噪音扰民",
            "楼下商铺音响声音太大",
            "广场舞声音太吵影响休息",
        ],
    ),
    (
        "city.roads",
        "道路",
        &[
            "人行道地砖松动容易绊倒",
            "路灯坏了晚上很黑",
            "井盖缺失非常危险",
        ],
    ),
    (
        "city.sanitation",
        "环境卫生",
        &["垃圾桶满了没人清理", "河边有人乱倒垃圾", "公厕卫生太差"],
    ),
    (
        "traffic.parking",
        "停车",
        &[
            "小区门口乱停车堵住消防通道",
            "路边停车收费不合理",
            "共享单车乱停占道",
        ],
    ),
    (
        "traffic.bus",
        "公交",
        &[
            "公交车班次太少等很久",
            "末班车时间太早",
            "公交站台没有遮雨棚",
        ],
    ),
    (
        "education.enrol",
        "入学",
        &[
            "孩子入学划片不清楚",
            "幼儿园报名系统登录不了",
            "转学需要哪些材料",
        ],
    ),
    (
        "health.hospital",
        "医院",
        &["医院挂号排队时间太长", "检查结果出来太慢", "医院停车位太少"],
    ),
    (
        "social.pension",
        "养老保险",
        &[
            "养老金到账时间推迟了",
            "退休手续怎么办理",
            "养老保险缴费记录查不到",
        ],
    ),
    (
        "market.consumer",
        "消费维权",
        &[
            "健身房关门不退预付卡",
            "网购商品质量问题商家不理",
            "装修公司拖延工期",
        ],
    ),
    (
        "environment.air",
        "大气污染",
        &[
            "饭店油烟直排熏到楼上",
            "工厂夜间偷排废气",
            "有人焚烧垃圾烟很大",
        ],
    ),
];

const REPLIES: [&str; 4] = [
    "已联系相关单位现场核实并处理，后续将加强巡查。",
    "经核实情况属实，已责令整改，整改完成后回访。",
    "已转交属地街道协调解决，并告知来电人处理进展。",
    "已向来电人解释相关政策，来电人表示理解。",
];

/// What was made.
#[derive(Debug, Default)]
pub struct History {
    pub orders: usize,
    pub cases: usize,
    pub ratings: usize,
}

/// A department works on the rectification of a bad rating as a run city's would: most are
/// done within a few days, mostly on time; a few (about one in fifty) stay open past their
/// deadline and are escalated; those still open otherwise are the recent ones.
#[allow(clippy::too_many_arguments)]
fn rectify(
    c: &mut dyn tongban_platform::db::Conn,
    r: &mut StdRng,
    rating_id: i64,
    at: i64,
    due: chrono::NaiveDate,
    now: i64,
    tz: tongban_platform::time::Tz,
) -> Result<(), DbError> {
    let done = at + r.random_range(1..8) * 86_400_000 + r.random_range(0..8) * 3_600_000;
    if done >= now || r.random_bool(0.02) {
        return Ok(());
    }
    let on_time = tongban_platform::time::date_of(done, tz) <= due;
    tongban_hotline::ratings::record_rectified(
        c,
        rating_id,
        done,
        on_time,
        "已电话回访",
        "已督促承办单位重新处理并回访",
    )
}

fn rfc3339(at: i64, tz: tongban_platform::time::Tz) -> String {
    tongban_platform::time::rfc3339(at, tz)
}

/// Fill `days` days before today. Does nothing when work orders exist already.
pub fn fill(
    db: &Db,
    days: u32,
    today: NaiveDate,
    tz: tongban_platform::time::Tz,
) -> Result<History, String> {
    let err = |e: DbError| format!("cannot write the demo history: {e}");
    db.write_blocking(move |c| {
        if tongban_hotline::stats::first_activity(c)?.is_some() || days == 0 {
            return Ok(History::default());
        }
        let cal = tongban_platform::calendar::load(c).unwrap_or_else(|_| Calendar::builtin());
        let settings = tongban_hotline::settings::load(c)?;
        let region = tongban_platform::region::load(c)?;
        let districts: Vec<String> = region.district_names();
        if districts.is_empty() {
            return Ok(History::default());
        }
        // The department of an order: the routing rules, else what the demo's dispatcher
        // decides for its top-level category (the region's `demo_dispatch`).
        let department_for = |cat: &str, district: &str| {
            settings.route(cat, district).or_else(|| {
                region
                    .meta
                    .demo_dispatch
                    .get(tongban_hotline::categories::top(cat))
                    .cloned()
            })
        };
        let departments: Vec<String> = tongban_platform::identity::list_departments(c)?
            .into_iter()
            .map(|d| d.code)
            .collect();
        let mut matters: Vec<(String, String, i64)> = tongban_catalog::store::all(c)?
            .into_iter()
            .filter(|m| m.published && m.online_depth >= 3)
            .map(|m| (m.code, m.department.code, i64::from(m.promised_days)))
            .collect();
        matters.sort();
        // The history's applications belong to a citizen of their own, not to the demo's 张三.
        let hash = tongban_platform::identity::first_password_hash(c)?;
        let applicant = match hash {
            Some(hash) => {
                let body = "32021119800101123";
                let id_number = match tongban_platform::ids::IdNumber::check_char(body) {
                    Some(ch) => format!("{body}{ch}"),
                    None => format!("{body}0"),
                };
                let n = tongban_platform::identity::NewCitizen {
                    name: "王五",
                    id_number: &id_number,
                    phone: "13800000000",
                    password_hash: &hash,
                    phone_verified_at: Some(tongban_platform::time::now_millis()),
                };
                match tongban_platform::identity::insert_citizen(c, &n) {
                    Ok(x) => Some(x.id),
                    Err(DbError::Unique(_)) => None,
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        let mut form = serde_json::Map::new();
        form.insert("applicant_name".into(), "张三".into());
        form.insert("applicant_phone".into(), "13912345678".into());
        let mut r = StdRng::seed_from_u64(u64::from(days) ^ 0x7057);
        let now = tongban_platform::time::now_millis();
        let mut h = History::default();
        for back in (1..=i64::from(days)).rev() {
            let day = today - Duration::days(back);
            let wd = day.weekday().num_days_from_monday();
            let weekday_factor = if wd >= 5 { 0.6 } else { 1.0 };
            // A slow rise over the year, a summer bump for water and noise.
            let n_orders = ((40.0 + 15.0 * (1.0 - back as f64 / f64::from(days.max(1)))) * weekday_factor) as usize
                + r.random_range(0..10);
            for seq in 0..n_orders {
                let (cat, title, texts) = TOPICS[r.random_range(0..TOPICS.len())];
                let summer = (6..=8).contains(&day.month()) && (cat == "utility.water" || cat == "city.noise");
                if summer && r.random_bool(0.3) {
                    continue;
                }
                let district = districts[r.random_range(0..districts.len())].as_str();
                let hour = [8, 9, 9, 10, 10, 11, 13, 14, 14, 15, 16, 17, 19, 21][r.random_range(0..14)];
                let start = tz
                    .with_ymd_and_hms(day.year(), day.month(), day.day(), hour, r.random_range(0..60), r.random_range(0..60))
                    .single()
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(now);
                let age_days = back;
                let (status, replied, closed) = if age_days > 7 {
                    let replied = start + r.random_range(1..5) * 86_400_000 + r.random_range(0..8) * 3_600_000;
                    ("closed", Some(replied), Some(replied + r.random_range(1..3) * 86_400_000))
                } else if age_days > 2 {
                    ("replied", Some(start + r.random_range(1..2) * 86_400_000), None)
                } else {
                    ("signed", None, None)
                };
                let channel = ["phone", "phone", "web", "mobile", "mobile", "mobile"][r.random_range(0..6)];
                let text = texts[r.random_range(0..texts.len())];
                let kind = ["complaint", "complaint", "consult", "help", "suggestion"][r.random_range(0..5)];
                let mut line = serde_json::json!({
                    "order_no": format!("12345{}{:06}", day.format("%Y%m%d"), seq + 1),
                    "received_at": rfc3339(start, tz), "channel": channel,
                    "type": kind,
                    "category": cat, "district": district, "street": format!("{district}某街道"),
                    "title": title, "content": text, "status": status,
                });
                // Categories without a rule are dispatched by hand.
                if settings.route(cat, district).is_none() {
                    if let Some(dept) = department_for(cat, district) {
                        line["department"] = serde_json::json!(dept);
                    }
                }
                if let Some(at) = replied.filter(|at| *at < now) {
                    line["reply"] = serde_json::json!(REPLIES[r.random_range(0..REPLIES.len())]);
                    line["replied_at"] = serde_json::json!(rfc3339(at, tz));
                }
                if let Some(at) = closed.filter(|at| *at < now) {
                    line["closed_at"] = serde_json::json!(rfc3339(at, tz));
                } else if status == "closed" {
                    line["status"] = serde_json::json!("replied");
                }
                let Ok(k) = tongban_hotline::import::check_line(&line.to_string(), &settings, &departments, now) else {
                    continue; // a category without a routing rule: not part of the demo history
                };
                tongban_hotline::import::store(c, k, &cal, &settings, tz)?;
                h.orders += 1;
                // Most closed orders are rated; a few badly, and those are rectified.
                if let (Some(at), true) = (closed.filter(|at| *at < now), r.random_bool(0.7)) {
                    let no = line["order_no"].as_str().unwrap_or_default().to_owned();
                    let dept = tongban_hotline::stats::department_of(c, &no)?;
                    if let Some(dept) = dept {
                        let level = [5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1][r.random_range(0..11)];
                        let subject = tongban_hotline::ratings::Subject { kind: "workorder", no, department: dept, matter: None };
                        let comment = if level <= 2 { "问题没有彻底解决" } else { "" };
                        let due = cal.add_workdays(tongban_platform::time::date_of(at, tz), 5);
                        let id = tongban_hotline::ratings::record(c, &subject, None, level, "{}", comment, false, at, due)?;
                        if level <= 2 {
                            rectify(c, &mut r, id, at, due, now, tz)?;
                        }
                        h.ratings += 1;
                    }
                }
            }
            // Two incidents the warnings should find: a burst of messages in one district.
            for (ago, cat, which, title, texts, size) in [
                (20i64, "city.roads", 4usize, "路面塌陷", ["{}主干道路面突然塌陷一个大坑", "塌陷处车辆绕行很危险", "路面塌陷附近交通拥堵"], 16usize),
                (3, "utility.water", 3, "大面积停水", ["{}好几个小区同时停水", "整片停水没有任何通知", "停水到现在还没恢复"], 20),
            ] {
                if back != ago {
                    continue;
                }
                let district = districts[which % districts.len()].as_str();
                let Some(dept) = department_for(cat, district) else {
                    continue;
                };
                let onset = tz
                    .with_ymd_and_hms(day.year(), day.month(), day.day(), 10, 0, 0)
                    .single()
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(now);
                for i in 0..size {
                    let line = serde_json::json!({
                        "order_no": format!("12345{}{:06}", day.format("%Y%m%d"), 900 + i),
                        "received_at": rfc3339(onset + i as i64 * 5 * 60_000, tz), "channel": "phone", "type": "complaint",
                        "category": cat, "district": district, "street": format!("{district}某街道"), "title": title,
                        "content": texts[i % texts.len()].replace("{}", district), "status": "signed",
                        "department": dept,
                    });
                    if let Ok(k) = tongban_hotline::import::check_line(&line.to_string(), &settings, &departments, now) {
                        tongban_hotline::import::store(c, k, &cal, &settings, tz)?;
                        h.orders += 1;
                    }
                }
            }
            // Decided cases of the day.
            if let Some(applicant) = applicant {
                for seq in 0..(20.0 * weekday_factor) as usize {
                    let Some((code, dept, promised)) = matters.get(r.random_range(0..matters.len().max(1))) else { break };
                    let submitted = tz
                        .with_ymd_and_hms(day.year(), day.month(), day.day(), 9 + r.random_range(0..8), r.random_range(0..60), 0)
                        .single()
                        .map(|t| t.timestamp_millis())
                        .unwrap_or(now);
                    let accepted_on = cal.add_workdays(day, 1);
                    let deadline = cal.add_workdays(accepted_on, *promised as u32);
                    let took = r.random_range(1..=(*promised as u32 + 2).max(2));
                    let done_day = cal.add_workdays(accepted_on, took);
                    let concluded = tongban_platform::time::day_start(&done_day.format("%Y-%m-%d").to_string(), tz)
                        .map(|t| t + 15 * 3_600_000);
                    let (status, concluded) = match concluded.filter(|t| *t < now) {
                        Some(t) => (if r.random_bool(0.93) { Status::Approved } else { Status::Rejected }, Some(t)),
                        None => (Status::Accepted, None),
                    };
                    let case_no = format!("H{}{}{:05}", "320200", day.format("%Y%m%d"), seq + 1);
                    tongban_cases::store::insert_historic(
                        c,
                        &tongban_cases::store::HistoricCase {
                            case_no: &case_no,
                            matter_code: code,
                            department_code: dept,
                            applicant_id: applicant,
                            status,
                            form: &form,
                            submitted_at: submitted,
                            accepted_on,
                            deadline,
                            concluded_at: concluded,
                            channel: if r.random_bool(0.55) { "mobile" } else { "web" },
                        },
                    )?;
                    h.cases += 1;
                    if let (Some(at), true) = (concluded, r.random_bool(0.5)) {
                        let level = [5, 5, 5, 4, 4, 4, 3, 3, 2][r.random_range(0..9)];
                        let subject = tongban_hotline::ratings::Subject {
                            kind: "case",
                            no: case_no,
                            department: dept.clone(),
                            matter: Some(code.clone()),
                        };
                        let due = cal.add_workdays(done_day, 5);
                        let comment = if level <= 2 { "材料要求说明不清" } else { "" };
                        let id = tongban_hotline::ratings::record(c, &subject, Some(applicant), level, "{}", comment, false, at, due)?;
                        if level <= 2 {
                            rectify(c, &mut r, id, at, due, now, tz)?;
                        }
                        h.ratings += 1;
                    }
                }
            }
            // Page views, mostly from phones.
            let views = (2_500.0 * weekday_factor) as i64 + r.random_range(0..800);
            let mobile = views * r.random_range(55..70) / 100;
            for (device, n) in [("mobile", mobile), ("desktop", views - mobile)] {
                tongban_insight::visits::record_history(c, &day.format("%Y-%m-%d").to_string(), device, n)?;
            }
        }
        Ok(h)
    })
    .map_err(err)
}
