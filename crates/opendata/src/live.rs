//! Built-in datasets fed by the platform's own figures, through the rooms' doors (the
//! catalogue's published matters, the `stats` of applications and of the hotline): refreshed
//! by the worker once a day, each refresh a new version of its dataset with its modified
//! date. No personal data ever: only counts, and a count of 1 to 4 people is left empty
//! (suppressed), as statistical offices publish small cells.
//!
//! The refresh of a day is claimed in the write that stores it (`refreshed_on`), so with
//! several nodes one does it; figures are read first, apart from the write.

use crate::datasets::{self, Input};
use crate::datastore::{self, Field};
use crate::error::OdError;
use crate::resources;
use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::time::day_start;
use tongban_platform::{params, Ctx};

/// Counts below this (and above zero) are not published.
pub const SUPPRESS_BELOW: i64 = 5;

/// What a built-in dataset is.
pub struct Spec {
    pub key: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub notes: &'static str,
    /// Published by the hotline department (else the region's data department).
    pub hotline: bool,
    pub frequency: &'static str,
    pub groups: &'static [&'static str],
    pub tags: &'static [&'static str],
    /// (id, type, label).
    pub fields: &'static [(&'static str, &'static str, &'static str)],
    pub primary_key: &'static [&'static str],
}

const SMALL: &str = "少于 5 的计数不公布（留空），以免识别到个人。";

pub const SPECS: [Spec; 5] = [
    Spec {
        key: "matters",
        name: "government-service-matters",
        title: "政务服务事项目录",
        notes: "本平台公布的全部政务服务事项：实施部门、事项类型、法定与承诺办结时限（工作日）、收费、网办深度与跑动次数。每日更新。",
        hotline: false,
        frequency: "daily",
        groups: &["services"],
        tags: &["政务服务", "事项目录"],
        fields: &[
            ("code", "text", "事项编码"),
            ("name", "text", "事项名称"),
            ("department", "text", "实施部门"),
            ("kind", "text", "事项类型"),
            ("legal_days", "int", "法定办结时限（工作日）"),
            ("promised_days", "int", "承诺办结时限（工作日）"),
            ("fee", "text", "收费标准"),
            ("online_depth", "int", "网办深度"),
            ("max_visits", "int", "跑动次数"),
        ],
        primary_key: &["code"],
    },
    Spec {
        key: "applications-daily",
        name: "daily-applications-by-department",
        title: "每日办件量（按部门）",
        notes: "各部门每日收到的申请、其中经移动端提交的、当日办结的与按时办结的件数。",
        hotline: false,
        frequency: "daily",
        groups: &["services"],
        tags: &["政务服务", "办件"],
        fields: &[
            ("date", "date", "日期"),
            ("department", "text", "部门"),
            ("submitted", "int", "申请件数"),
            ("mobile", "int", "移动端申请"),
            ("decided", "int", "办结件数"),
            ("on_time", "int", "按时办结"),
        ],
        primary_key: &["date", "department"],
    },
    Spec {
        key: "hotline-monthly",
        name: "hotline-12345-by-category-and-district",
        title: "12345 热线诉求量（按类别与区县，月度）",
        notes: "12345 政务服务便民热线每月受理、答复、按时答复与办结的工单数，按诉求大类与区县。",
        hotline: true,
        frequency: "daily",
        groups: &["services", "government"],
        tags: &["12345", "热线", "诉求"],
        fields: &[
            ("month", "text", "月份"),
            ("district", "text", "区县"),
            ("category", "text", "诉求类别"),
            ("received", "int", "受理量"),
            ("replied", "int", "答复量"),
            ("replied_on_time", "int", "按时答复"),
            ("closed", "int", "办结量"),
        ],
        primary_key: &["month", "district", "category"],
    },
    Spec {
        key: "ratings-monthly",
        name: "good-bad-ratings-by-department",
        title: "好差评（按部门，月度）",
        notes: "各部门每月收到的评价数、满意及以上与不满意及以下的评价数，分办件与热线工单。",
        hotline: false,
        frequency: "daily",
        groups: &["services"],
        tags: &["好差评", "满意度"],
        fields: &[
            ("month", "text", "月份"),
            ("department", "text", "部门"),
            ("subject", "text", "评价对象"),
            ("rated", "int", "评价数"),
            ("satisfied", "int", "满意及以上"),
            ("bad", "int", "不满意及以下"),
        ],
        primary_key: &["month", "department", "subject"],
    },
    Spec {
        key: "letters-monthly",
        name: "public-letters-monthly",
        title: "群众来信来电统计（月度）",
        notes: "12345 热线每月受理、答复、按时答复、公开的来信与评价情况。",
        hotline: true,
        frequency: "daily",
        groups: &["government"],
        tags: &["12345", "来信"],
        fields: &[
            ("month", "text", "月份"),
            ("received", "int", "受理量"),
            ("replied", "int", "答复量"),
            ("replied_on_time", "int", "按时答复"),
            ("published", "int", "公开信件"),
            ("rated", "int", "评价数"),
            ("satisfied", "int", "满意及以上"),
        ],
        primary_key: &["month"],
    },
];

fn fields_of(spec: &Spec) -> Vec<Field> {
    spec.fields
        .iter()
        .map(|(id, kind, label)| Field {
            id: (*id).to_owned(),
            kind: (*kind).to_owned(),
            label: (*label).to_owned(),
        })
        .collect()
}

/// A count as published: empty when it could point at fewer than five people.
pub fn count(n: i64) -> Value {
    if n > 0 && n < SUPPRESS_BELOW {
        Value::Null
    } else {
        n.into()
    }
}

fn month_key(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(d)
}

fn start(d: NaiveDate, tz: Tz) -> Option<i64> {
    day_start(&d.format("%Y-%m-%d").to_string(), tz)
}

/// The rows of `spec` to store, and whether they replace the table (else: upserted).
struct Rows {
    replace: bool,
    rows: Vec<Value>,
}

fn row(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map<_, _>>(),
    )
}

/// The months from `from` (its month) to `today`'s, each with its [start, end) instants.
fn months(from: NaiveDate, today: NaiveDate, tz: Tz) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    let mut m = first_of_month(from);
    while m <= today {
        let next = next_month(m);
        if let (Some(s), Some(e)) = (start(m, tz), start(next, tz)) {
            out.push((month_key(m), s, e));
        }
        m = next;
    }
    out
}

/// The figures of `spec`: on its first refresh from the start of the platform's records (at
/// most a year back), later the days or months that may still change.
fn compute(
    c: &mut dyn Conn,
    spec: &Spec,
    first: bool,
    today: NaiveDate,
    tz: Tz,
    cal: &Calendar,
) -> Result<Rows, DbError> {
    let year_ago = today - chrono::Duration::days(366);
    let since = |t: Option<i64>| {
        let begun = t.map_or(today, |t| tongban_platform::time::date_of(t, tz));
        if first {
            begun.max(year_ago)
        } else {
            begun.max(today - chrono::Duration::days(40))
        }
    };
    let mut rows = Vec::new();
    match spec.key {
        "matters" => {
            for m in tongban_catalog::stats::published_matters(c)? {
                rows.push(row(vec![
                    ("code", m.code.into()),
                    ("name", m.name.into()),
                    ("department", m.department.into()),
                    ("kind", m.kind.into()),
                    ("legal_days", m.legal_days.into()),
                    ("promised_days", m.promised_days.into()),
                    ("fee", m.fee.into()),
                    ("online_depth", m.online_depth.into()),
                    ("max_visits", m.max_visits.into()),
                ]));
            }
            return Ok(Rows {
                replace: true,
                rows,
            });
        }
        "applications-daily" => {
            let names = datasets::department_names(c)?;
            let mut day = since(tongban_cases::stats::first_submitted(c)?);
            // Whole days only: today's figures are not finished.
            while day < today {
                let next = day.succ_opt().unwrap_or(today);
                if let (Some(s), Some(e)) = (start(day, tz), start(next, tz)) {
                    for (d, f) in tongban_cases::stats::by_department(c, s, e, cal, tz)? {
                        rows.push(row(vec![
                            ("date", day.format("%Y-%m-%d").to_string().into()),
                            ("department", names.get(&d).cloned().unwrap_or(d).into()),
                            ("submitted", count(f.submitted)),
                            ("mobile", count(f.mobile)),
                            ("decided", count(f.decided)),
                            ("on_time", count(f.on_time)),
                        ]));
                    }
                }
                day = next;
            }
        }
        "hotline-monthly" => {
            let settings = tongban_hotline::settings::load(c)?;
            let from = since(tongban_hotline::stats::first_activity(c)?);
            for (month, s, e) in months(from, today, tz) {
                let mut by: BTreeMap<(String, String), [i64; 4]> = BTreeMap::new();
                for ((_, district, category), f) in
                    tongban_hotline::stats::orders_by_place(c, s, e)?
                {
                    let top = tongban_hotline::categories::top(&category).to_owned();
                    let k = (district, settings.category_name(&top));
                    let v = by.entry(k).or_default();
                    v[0] += f.received;
                    v[1] += f.replied;
                    v[2] += f.replied_on_time;
                    v[3] += f.closed;
                }
                for ((district, category), v) in by {
                    rows.push(row(vec![
                        ("month", month.clone().into()),
                        ("district", district.into()),
                        ("category", category.into()),
                        ("received", count(v[0])),
                        ("replied", count(v[1])),
                        ("replied_on_time", count(v[2])),
                        ("closed", count(v[3])),
                    ]));
                }
            }
        }
        "ratings-monthly" => {
            let names = datasets::department_names(c)?;
            let from = since(tongban_hotline::stats::first_activity(c)?);
            for (month, s, e) in months(from, today, tz) {
                let mut by: BTreeMap<(String, &str), [i64; 3]> = BTreeMap::new();
                for (d, r) in tongban_hotline::stats::case_ratings_by_department(c, s, e)? {
                    by.insert((d, "办件"), [r.rated, r.satisfied, r.bad]);
                }
                for ((d, _, _), f) in tongban_hotline::stats::orders_by_place(c, s, e)? {
                    if d.is_empty() || f.rated == 0 {
                        continue;
                    }
                    let v = by.entry((d, "热线工单")).or_default();
                    v[0] += f.rated;
                    v[1] += f.satisfied;
                    v[2] += f.bad;
                }
                for ((d, subject), v) in by {
                    rows.push(row(vec![
                        ("month", month.clone().into()),
                        ("department", names.get(&d).cloned().unwrap_or(d).into()),
                        ("subject", subject.into()),
                        ("rated", count(v[0])),
                        ("satisfied", count(v[1])),
                        ("bad", count(v[2])),
                    ]));
                }
            }
        }
        _ => {
            let from = since(tongban_hotline::stats::first_activity(c)?);
            for (month, s, e) in months(from, today, tz) {
                let p = tongban_hotline::stats::period(c, s, e)?;
                if p.received == 0 && p.replied == 0 && p.rated == 0 {
                    continue;
                }
                rows.push(row(vec![
                    ("month", month.into()),
                    ("received", count(p.received)),
                    ("replied", count(p.replied)),
                    ("replied_on_time", count(p.replied_on_time)),
                    ("published", count(p.published)),
                    ("rated", count(p.rated)),
                    ("satisfied", count(p.satisfied)),
                ]));
            }
        }
    }
    Ok(Rows {
        replace: false,
        rows,
    })
}

/// The built-in dataset of `key`: (id, the day it was last refreshed).
fn existing(c: &mut dyn Conn, key: &str) -> Result<Option<(String, Option<String>)>, DbError> {
    c.query_opt(
        "SELECT id, refreshed_on FROM od_datasets WHERE source = $1",
        params![format!("builtin:{key}")],
    )?
    .map(|r| Ok((r.get_str("id")?, r.get_opt_str("refreshed_on")?)))
    .transpose()
}

/// Store one refresh of `spec` for `day`, unless another node has; whether this one did.
fn store(
    c: &mut dyn Conn,
    spec: &Spec,
    owner: &str,
    day: &str,
    rows: &Rows,
    now: i64,
) -> Result<bool, OdError> {
    let id = match existing(c, spec.key)? {
        Some((id, _)) => {
            let claimed = c.execute(
                "UPDATE od_datasets SET refreshed_on = $1
                 WHERE id = $2 AND (refreshed_on IS NULL OR refreshed_on <> $1)",
                params![day, id.as_str()],
            )?;
            if claimed == 0 {
                return Ok(false);
            }
            id
        }
        None => {
            let input = Input {
                name: spec.name.into(),
                title: spec.title.into(),
                notes: format!(
                    "{}{}",
                    spec.notes,
                    if spec.key == "matters" { "" } else { SMALL }
                ),
                owner_org: owner.into(),
                license_id: "cc-by-4.0".into(),
                frequency: spec.frequency.into(),
                state: "active".into(),
                tags: spec.tags.iter().map(|t| (*t).to_owned()).collect(),
                groups: spec.groups.iter().map(|g| (*g).to_owned()).collect(),
                ..Input::default()
            };
            let id = datasets::save(c, None, &input, "system", now)?;
            c.execute(
                "UPDATE od_datasets SET source = $1, refreshed_on = $2 WHERE id = $3",
                params![format!("builtin:{}", spec.key), day, id.as_str()],
            )?;
            id
        }
    };
    let rid = match resources::of_dataset(c, &id)?.first() {
        Some(r) => r["id"].as_str().unwrap_or("").to_owned(),
        None => {
            let input = resources::Input {
                name: "数据表".into(),
                ..resources::Input::default()
            };
            resources::create_table(c, &id, &input, now)?
        }
    };
    let fields = fields_of(spec);
    let keys: Vec<String> = spec.primary_key.iter().map(|k| (*k).to_owned()).collect();
    if datastore::fields(c, &rid)?.as_deref() != Some(fields.as_slice()) {
        datastore::create(c, &rid, &fields, &[], &keys)?;
    }
    if rows.replace {
        c.batch(&format!("DELETE FROM {}", datastore::table(&rid)))?;
        datastore::insert(c, &rid, &fields, &rows.rows)?;
    } else if !rows.rows.is_empty() {
        datastore::upsert(c, &rid, &fields, &keys, &rows.rows, true)?;
    }
    c.execute(
        "UPDATE od_resources SET modified_at = $1 WHERE id = $2",
        params![now, rid.as_str()],
    )?;
    datasets::touch(
        c,
        &id,
        now,
        "system",
        "refreshed from the platform's figures",
    )?;
    Ok(true)
}

/// Refresh every built-in dataset not yet refreshed today; how many were.
pub async fn refresh(ctx: &Ctx) -> Result<usize, OdError> {
    let today = ctx.today();
    let day = today.format("%Y-%m-%d").to_string();
    let d2 = day.clone();
    let due: Vec<(usize, bool)> = ctx
        .db
        .read(move |c| {
            // Every pass asks once: which built-ins there are, and when each was refreshed.
            let mut seen: std::collections::HashMap<String, Option<String>> = c
                .query(
                    "SELECT source, refreshed_on FROM od_datasets WHERE source LIKE 'builtin:%'",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.get_str("source")?, r.get_opt_str("refreshed_on")?)))
                .collect::<Result<_, DbError>>()?;
            let mut due = Vec::new();
            for (i, spec) in SPECS.iter().enumerate() {
                match seen.remove(&format!("builtin:{}", spec.key)) {
                    Some(Some(on)) if on == d2 => {}
                    Some(on) => due.push((i, on.is_none())),
                    None => due.push((i, true)),
                }
            }
            Ok(due)
        })
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let region = tongban_platform::region::current(&ctx.db).await?;
    let hotline = region.meta.hotline_department.clone();
    let data = match region.meta.data_department.as_str() {
        "" => hotline.clone(),
        d => d.to_owned(),
    };
    let (tz, cal) = (ctx.config.tz(), ctx.calendar());
    let mut done = 0;
    for (i, first) in due {
        let spec = &SPECS[i];
        let owner = if spec.hotline { &hotline } else { &data };
        if owner.is_empty() {
            continue;
        }
        let cal = cal.clone();
        let rows = ctx
            .db
            .read_aside(move |c| compute(c, &SPECS[i], first, today, tz, &cal))
            .await?;
        let (owner, day) = (owner.clone(), day.clone());
        let now = tongban_platform::time::now_millis();
        let stored = ctx
            .db
            .transact(move |c| store(c, &SPECS[i], &owner, &day, &rows, now))
            .await;
        match stored {
            Ok(true) => done += 1,
            Ok(false) => {}
            // Another node made the dataset at the same moment.
            Err(OdError::Db(DbError::Unique(_))) => {}
            Err(e) => {
                tracing::warn!(dataset = spec.key, error = %e, "built-in dataset not refreshed");
            }
        }
    }
    Ok(done)
}
