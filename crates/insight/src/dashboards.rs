//! The leadership dashboards, one per platform of "one centre, four platforms": government
//! services (办件), livelihood services (12345 and 好差评), city management (orders by place)
//! and the data centre. Each is a few headline figures and charts, filtered by a period,
//! district and department, read from the daily figures (`facts`) and, for what is overdue
//! right now, from the open cases and orders.

use crate::charts::{Chart, Kind, Series};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tongban_hotline::categories::{DISTRICTS, TREE};
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::{ApiError, Ctx};

/// The boards: code, Chinese and English title.
pub const BOARDS: [(&str, &str, &str); 4] = [
    ("services", "政务服务", "Government services"),
    ("livelihood", "民生服务", "Livelihood services"),
    ("city", "城市管理", "City management"),
    ("data", "数据中心", "Data centre"),
];

/// Query of a dashboard: the period (whole days, default the last 30), a district (orders
/// only: applications carry no place) and a department.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub district: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub code: &'static str,
    pub name: String,
    pub value: Option<f64>,
    pub unit: String,
    /// The value as shown (— when there is none).
    pub display: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub board: &'static str,
    pub title: String,
    pub from: String,
    pub to: String,
    pub district: Option<String>,
    pub department: Option<String>,
    pub figures: Vec<Figure>,
    pub charts: Vec<Chart>,
    /// What a reader should know about the figures (e.g. a filter that does not apply).
    pub notes: Vec<String>,
}

/// Leaders read the dashboards through the hotline's supervisors, administrators and auditors.
pub fn may_see(s: &tongban_platform::identity::Staff) -> Result<(), ApiError> {
    use tongban_platform::identity::Role;
    if s.has(Role::Supervisor) || s.has(Role::Admin) || s.has(Role::Auditor) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "dashboards and the evaluation are for supervisors, administrators and auditors",
        ))
    }
}

/// Language of the names in a board.
#[derive(Clone, Copy)]
struct Tr {
    en: bool,
}

impl Tr {
    fn s(self, zh: &str, en: &str) -> String {
        if self.en { en } else { zh }.to_owned()
    }
}

/// Sum of a column as a 64-bit integer on both engines (PostgreSQL sums bigints as numeric).
fn sum(col: &str) -> String {
    format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT) AS {col}")
}

fn sums(cols: &[&str]) -> String {
    cols.iter().map(|c| sum(c)).collect::<Vec<_>>().join(", ")
}

/// The WHERE clause over a facts table and its parameters.
struct Scope {
    sql: String,
    params: Vec<Value>,
}

fn scope(from: &str, to: &str, f: &Filter, with_district: bool) -> Scope {
    let mut sql = "day >= $1 AND day <= $2".to_owned();
    let mut params = vec![Value::from(from), Value::from(to)];
    if let Some(d) = &f.department {
        params.push(Value::from(d.as_str()));
        sql.push_str(&format!(" AND department_code = ${}", params.len()));
    }
    if let (Some(d), true) = (&f.district, with_district) {
        params.push(Value::from(d.as_str()));
        sql.push_str(&format!(" AND district = ${}", params.len()));
    }
    Scope { sql, params }
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

fn avg(total: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (total as f64 * 10.0 / n as f64).round() / 10.0)
}

fn figure(code: &'static str, name: String, value: Option<f64>, unit: &str) -> Figure {
    let display = match value {
        None => "—".to_owned(),
        Some(v) if (v - v.round()).abs() < 1e-9 => format!("{}", v.round() as i64),
        Some(v) => format!("{v:.1}"),
    };
    Figure {
        code,
        name,
        value,
        unit: unit.to_owned(),
        display,
    }
}

fn count(v: i64) -> Option<f64> {
    Some(v as f64)
}

/// Every day of the period as `YYYY-MM-DD`.
fn days(from: NaiveDate, to: NaiveDate) -> Vec<String> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect()
}

/// The Monday of a day's week.
fn monday(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// Daily rows (`YYYY-MM-DD` → values) summed into weeks labelled by their Monday, with every
/// week of the period as labels.
fn weekly(
    from: NaiveDate,
    to: NaiveDate,
    daily: BTreeMap<String, Vec<i64>>,
) -> (Vec<String>, BTreeMap<String, Vec<i64>>) {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (day, v) in daily {
        let Ok(d) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        let w = out
            .entry(monday(d).format("%Y-%m-%d").to_string())
            .or_insert_with(|| vec![0; v.len()]);
        for (a, b) in w.iter_mut().zip(v) {
            *a += b;
        }
    }
    let weeks = monday(from)
        .iter_weeks()
        .take_while(|d| *d <= to)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect();
    (weeks, out)
}

/// Values as they are counted.
fn counts(v: &[i64]) -> Vec<f64> {
    v.iter().map(|x| *x as f64).collect()
}

/// A line chart over the period of the daily sums of `cols` in `table`: per day, or per week
/// when the period is longer than two months. `titles`: (per day, per week) in (zh, en).
fn time_line(
    c: &mut dyn Conn,
    q: &Query,
    table: &str,
    cols: &[&str],
    titles: [(&str, &str); 2],
    names: &[String],
) -> Result<Chart, DbError> {
    let tr = q.tr;
    // Only work orders have a district.
    let daily = grouped(
        c,
        table,
        "day",
        cols,
        &q.scope(table == "insight_order_days"),
    )?;
    let by_week = (q.to - q.from).num_days() >= 62;
    let (labels, rows) = if by_week {
        weekly(q.from, q.to, daily)
    } else {
        (days(q.from, q.to), daily)
    };
    let title = titles[usize::from(by_week)];
    Ok(Chart {
        id: "daily",
        title: tr.s(title.0, title.1),
        kind: Kind::Line,
        unit: "件".into(),
        label_name: if by_week {
            tr.s("周（起始日）", "Week of")
        } else {
            tr.s("日期", "Date")
        },
        series: series_of(&labels, &rows, names, &counts),
        labels,
    })
}

/// Build a dashboard for the staff member's language.
pub async fn board(ctx: &Ctx, code: &str, f: Filter, en: bool) -> Result<Board, ApiError> {
    let Some((code, zh, en_title)) = BOARDS.iter().find(|b| b.0 == code).copied() else {
        return Err(ApiError::not_found(
            "dashboard_not_found",
            format!(
                "no dashboard {code:?}; there are {}",
                BOARDS.map(|b| b.0).join(", ")
            ),
        ));
    };
    let (start, end) = crate::range(ctx, f.from.as_deref(), f.to.as_deref(), 30)?;
    let tz = ctx.tz;
    let from = tongban_platform::time::date_of(start, tz);
    let to = tongban_platform::time::date_of(end - 1, tz);
    let mut f = f;
    f.district = f.district.filter(|d| !d.is_empty());
    f.department = f.department.filter(|d| !d.is_empty());
    if let Some(d) = &f.district {
        if !DISTRICTS.contains(&d.as_str()) {
            return Err(ApiError::bad_request(
                "unknown_district",
                format!("no district {d:?}; use one of {}", DISTRICTS.join("、")),
            ));
        }
    }
    let departments = ctx
        .db
        .read(|c| tongban_platform::identity::list_departments(c))
        .await?;
    if let Some(d) = &f.department {
        if !departments.iter().any(|x| &x.code == d) {
            return Err(ApiError::bad_request(
                "unknown_department",
                format!("no department {d:?}"),
            ));
        }
    }
    let names: HashMap<String, String> =
        departments.into_iter().map(|d| (d.code, d.name)).collect();
    let tr = Tr { en };
    let today = ctx.today();
    let filter = f.clone();
    let (figures, charts, notes) = ctx
        .db
        .read(move |c| {
            let q = Query {
                from,
                to,
                f: &filter,
                names: &names,
                tr,
                today,
                tz,
            };
            match code {
                "services" => services(c, &q),
                "livelihood" => livelihood(c, &q),
                "city" => city(c, &q),
                _ => data(c, &q),
            }
        })
        .await?;
    Ok(Board {
        board: code,
        title: tr.s(zh, en_title),
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        district: f.district,
        department: f.department,
        figures,
        charts,
        notes,
    })
}

struct Query<'a> {
    from: NaiveDate,
    to: NaiveDate,
    f: &'a Filter,
    names: &'a HashMap<String, String>,
    tr: Tr,
    today: NaiveDate,
    tz: tongban_platform::time::Tz,
}

impl Query<'_> {
    fn from(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }
    fn to(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }
    fn scope(&self, with_district: bool) -> Scope {
        scope(&self.from(), &self.to(), self.f, with_district)
    }
    fn dept(&self, code: &str) -> String {
        if code.is_empty() {
            return self.tr.s("待派单", "Not yet dispatched");
        }
        self.names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

fn category_name(code: &str) -> String {
    tongban_hotline::categories::name(code)
        .map(|n| n.split('/').next().unwrap_or(n).to_owned())
        .unwrap_or_else(|| code.to_owned())
}

type Parts = (Vec<Figure>, Vec<Chart>, Vec<String>);

/// Rows of `(key, [values])` in the order of `keys` (missing keys count zero).
fn series_of(
    keys: &[String],
    rows: &BTreeMap<String, Vec<i64>>,
    names: &[String],
    pick: &dyn Fn(&[i64]) -> Vec<f64>,
) -> Vec<Series> {
    let per_key: Vec<Vec<f64>> = keys
        .iter()
        .map(|k| pick(rows.get(k).map_or(&[][..], |v| v.as_slice())))
        .collect();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Series {
            name: n.clone(),
            values: per_key
                .iter()
                .map(|v| v.get(i).copied().unwrap_or(0.0))
                .collect(),
        })
        .collect()
}

/// Grouped sums of a facts table: `group` column → the summed `cols`.
fn grouped(
    c: &mut dyn Conn,
    table: &str,
    group: &str,
    cols: &[&str],
    s: &Scope,
) -> Result<BTreeMap<String, Vec<i64>>, DbError> {
    let mut out = BTreeMap::new();
    for r in c.query(
        &format!(
            "SELECT {group} AS g, {} FROM {table} WHERE {} GROUP BY {group}",
            sums(cols),
            s.sql
        ),
        &s.params,
    )? {
        let mut v = Vec::with_capacity(cols.len());
        for col in cols {
            v.push(r.get_i64(col)?);
        }
        out.insert(r.get_str("g")?, v);
    }
    Ok(out)
}

fn totals(c: &mut dyn Conn, table: &str, cols: &[&str], s: &Scope) -> Result<Vec<i64>, DbError> {
    let r = c.query_one(
        &format!("SELECT {} FROM {table} WHERE {}", sums(cols), s.sql),
        &s.params,
    )?;
    cols.iter().map(|col| r.get_i64(col)).collect()
}

/// Keys ordered by a value, largest first, at most `n`.
fn top_keys(
    rows: &BTreeMap<String, Vec<i64>>,
    by: &dyn Fn(&[i64]) -> i64,
    n: usize,
) -> Vec<String> {
    let mut keys: Vec<(&String, i64)> = rows.iter().map(|(k, v)| (k, by(v))).collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    keys.into_iter().take(n).map(|(k, _)| k.clone()).collect()
}

fn services(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(false);
    const COLS: [&str; 9] = [
        "submitted",
        "mobile",
        "decided",
        "on_time",
        "days_taken",
        "days_promised",
        "rated",
        "satisfied",
        "bad",
    ];
    let t = totals(c, "insight_case_days", &COLS, &s)?;
    let (submitted, mobile, decided, on_time, taken, promised, rated, satisfied) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
    // Overdue now: accepted cases past their deadline (a case waiting for a supplement is paused).
    // SQLite's planner would read every accepted case through the status index; the partial
    // index holds just what is asked (PostgreSQL's planner finds it by itself).
    let hint = if c.engine() == tongban_platform::db::Engine::Sqlite {
        " INDEXED BY cases_open_deadline"
    } else {
        ""
    };
    let mut overdue_sql = format!(
        "SELECT department_code AS d, matter_code AS m, COUNT(*) AS n FROM cases{hint}
        WHERE status = 'accepted' AND deadline < $1"
    );
    let mut p = vec![Value::from(q.today.format("%Y-%m-%d").to_string())];
    if let Some(d) = &q.f.department {
        p.push(Value::from(d.as_str()));
        overdue_sql.push_str(" AND department_code = $2");
    }
    overdue_sql.push_str(" GROUP BY department_code, matter_code");
    let mut overdue_dept: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut overdue_matter: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut overdue = 0;
    for r in c.query(&overdue_sql, &p)? {
        let n = r.get_i64("n")?;
        overdue += n;
        overdue_dept
            .entry(r.get_str("d")?)
            .or_insert_with(|| vec![0])[0] += n;
        overdue_matter
            .entry(r.get_str("m")?)
            .or_insert_with(|| vec![0])[0] += n;
    }
    let figures = vec![
        figure(
            "submitted",
            tr.s("申请件数", "Applications"),
            count(submitted),
            "件",
        ),
        figure("decided", tr.s("办结件数", "Decided"), count(decided), "件"),
        figure(
            "on_time",
            tr.s("按时办结率", "Decided on time"),
            rate(on_time, decided),
            "%",
        ),
        figure(
            "avg_days",
            tr.s("平均办理工作日", "Average working days"),
            avg(taken, decided),
            tr.s("工作日", "days").as_str(),
        ),
        figure(
            "avg_promised",
            tr.s("平均承诺工作日", "Average promised days"),
            avg(promised, decided),
            tr.s("工作日", "days").as_str(),
        ),
        figure(
            "overdue_now",
            tr.s("当前超期在办", "Overdue now"),
            count(overdue),
            "件",
        ),
        figure(
            "mobile_share",
            tr.s("移动端申请占比", "From mobile"),
            rate(mobile, submitted),
            "%",
        ),
        figure(
            "satisfaction",
            tr.s("办件满意率", "Satisfaction"),
            rate(satisfied, rated),
            "%",
        ),
    ];
    let line = time_line(
        c,
        q,
        "insight_case_days",
        &["submitted", "decided"],
        [
            ("每日申请与办结", "Applications and decisions per day"),
            ("每周申请与办结", "Applications and decisions per week"),
        ],
        &[tr.s("申请", "Applications"), tr.s("办结", "Decided")],
    )?;
    let by_dept = grouped(
        c,
        "insight_case_days",
        "department_code",
        &["decided", "on_time", "days_taken", "days_promised"],
        &s,
    )?;
    let depts = top_keys(&by_dept, &|v| v[0], 15);
    let dept_names: Vec<String> = depts.iter().map(|d| q.dept(d)).collect();
    let on_time_chart = Chart {
        id: "on_time_by_department",
        title: tr.s(
            "各部门按时与超期办结",
            "Decided on time and late by department",
        ),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("按时办结", "On time"), tr.s("超期办结", "Late")],
            &|v| match v {
                [d, o, ..] => vec![*o as f64, (d - o) as f64],
                _ => vec![],
            },
        ),
        labels: dept_names.clone(),
    };
    let days_chart = Chart {
        id: "days_by_department",
        title: tr.s(
            "各部门平均办理与承诺工作日",
            "Working days taken and promised by department",
        ),
        kind: Kind::Bar,
        unit: tr.s("工作日", "days"),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("实际平均", "Taken"), tr.s("承诺平均", "Promised")],
            &|v| match v {
                [d, _, t, p] => vec![avg(*t, *d).unwrap_or(0.0), avg(*p, *d).unwrap_or(0.0)],
                _ => vec![],
            },
        ),
        labels: dept_names,
    };
    let od = top_keys(&overdue_dept, &|v| v[0], 15);
    let overdue_dept_chart = Chart {
        id: "overdue_by_department",
        title: tr.s("当前超期在办（按部门）", "Overdue now by department"),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(&od, &overdue_dept, &[tr.s("超期件数", "Overdue")], &counts),
        labels: od.iter().map(|d| q.dept(d)).collect(),
    };
    let om = top_keys(&overdue_matter, &|v| v[0], 10);
    let mut matter_names = HashMap::new();
    for m in &om {
        if let Some(r) = c.query_opt(
            "SELECT name FROM matters WHERE code = $1",
            &[Value::from(m.as_str())],
        )? {
            matter_names.insert(m.clone(), r.get_str("name")?);
        }
    }
    let overdue_matter_chart = Chart {
        id: "overdue_by_matter",
        title: tr.s(
            "当前超期在办（前十个事项）",
            "Overdue now: the ten matters with most",
        ),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("事项", "Matter"),
        series: series_of(
            &om,
            &overdue_matter,
            &[tr.s("超期件数", "Overdue")],
            &counts,
        ),
        labels: om
            .iter()
            .map(|m| matter_names.get(m).cloned().unwrap_or_else(|| m.clone()))
            .collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.s("申请渠道", "Where applications came from"),
        kind: Kind::Pie,
        unit: "件".into(),
        label_name: tr.s("渠道", "Channel"),
        labels: vec![tr.s("移动端", "Mobile"), tr.s("网站", "Website")],
        series: vec![Series {
            name: tr.s("申请件数", "Applications"),
            values: vec![mobile as f64, (submitted - mobile) as f64],
        }],
    };
    let mut notes = Vec::new();
    if q.f.district.is_some() {
        notes.push(tr.s(
            "办件不记录地区，地区筛选不适用于本看板。",
            "Applications carry no district: the district filter does not apply to this board.",
        ));
    }
    Ok((
        figures,
        vec![
            line,
            on_time_chart,
            days_chart,
            overdue_dept_chart,
            overdue_matter_chart,
            channel,
        ],
        notes,
    ))
}

const ORDER_COLS: [&str; 9] = [
    "received",
    "mobile",
    "phone",
    "replied",
    "replied_on_time",
    "closed",
    "rated",
    "satisfied",
    "bad",
];

fn livelihood(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(true);
    let t = totals(c, "insight_order_days", &ORDER_COLS, &s)?;
    let (received, mobile, phone, replied, replied_on_time, _closed, rated, satisfied, bad) =
        (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]);
    // Rectifications of the period (by when the bad review asked for them), as they stand now.
    let (rs, re) = (q.start_ms(), q.end_ms());
    let mut sql = "SELECT department_code AS d, status, on_time, COUNT(*) AS n FROM rectifications
        WHERE created_at >= $1 AND created_at < $2"
        .to_owned();
    let mut p = vec![Value::from(rs), Value::from(re)];
    if let Some(d) = &q.f.department {
        p.push(Value::from(d.as_str()));
        sql.push_str(" AND department_code = $3");
    }
    sql.push_str(" GROUP BY department_code, status, on_time");
    let mut rect: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in c.query(&sql, &p)? {
        let n = r.get_i64("n")?;
        let slot = match (r.get_str("status")?.as_str(), r.get_opt_bool("on_time")?) {
            ("done", Some(true)) => 0,
            ("done", _) => 1,
            _ => 2,
        };
        rect.entry(r.get_str("d")?).or_insert_with(|| vec![0; 3])[slot] += n;
    }
    let rect_total: Vec<i64> = (0..3).map(|i| rect.values().map(|v| v[i]).sum()).collect();
    let figures = vec![
        figure(
            "received",
            tr.s("诉求受理量", "Orders received"),
            count(received),
            "件",
        ),
        figure(
            "answered_on_time",
            tr.s("按时答复率", "Answered on time"),
            rate(replied_on_time, replied),
            "%",
        ),
        figure(
            "satisfaction",
            tr.s("满意率", "Satisfaction"),
            rate(satisfied, rated),
            "%",
        ),
        figure(
            "bad_reviews",
            tr.s("差评数", "Bad reviews"),
            count(bad),
            "件",
        ),
        figure(
            "rectified_on_time",
            tr.s("差评按时整改率", "Rectified on time"),
            rate(rect_total[0], rect_total[0] + rect_total[1]),
            "%",
        ),
        figure(
            "rectifying",
            tr.s("整改中", "Being rectified"),
            count(rect_total[2]),
            "件",
        ),
        figure(
            "mobile_share",
            tr.s("移动端诉求占比", "From mobile"),
            rate(mobile, received),
            "%",
        ),
    ];
    let line = time_line(
        c,
        q,
        "insight_order_days",
        &["received", "replied"],
        [
            ("每日诉求受理与答复", "Orders received and answered per day"),
            (
                "每周诉求受理与答复",
                "Orders received and answered per week",
            ),
        ],
        &[tr.s("受理", "Received"), tr.s("答复", "Answered")],
    )?;
    let by_cat = grouped(c, "insight_order_days", "category", &["received"], &s)?;
    let cats = top_keys(&by_cat, &|v| v[0], 10);
    let cat_chart = Chart {
        id: "by_category",
        title: tr.s("诉求类别", "Orders by category"),
        kind: Kind::Bar,
        unit: "件".into(),
        label_name: tr.s("类别", "Category"),
        series: series_of(&cats, &by_cat, &[tr.s("受理量", "Received")], &counts),
        labels: cats.iter().map(|k| category_name(k)).collect(),
    };
    let by_dept = grouped(
        c,
        "insight_order_days",
        "department_code",
        &["rated", "satisfied", "bad"],
        &s,
    )?;
    let depts = top_keys(&by_dept, &|v| v[0], 15);
    let sat_chart = Chart {
        id: "satisfaction_by_department",
        title: tr.s("各部门好差评", "Reviews by department"),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &depts,
            &by_dept,
            &[tr.s("满意", "Satisfied"), tr.s("不满意", "Dissatisfied")],
            &|v| v.iter().skip(1).map(|x| *x as f64).collect(),
        ),
        labels: depts.iter().map(|d| q.dept(d)).collect(),
    };
    let rd = top_keys(&rect, &|v| v.iter().sum(), 15);
    let rect_chart = Chart {
        id: "rectification_by_department",
        title: tr.s(
            "差评整改（按部门）",
            "Rectification of bad reviews by department",
        ),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("部门", "Department"),
        series: series_of(
            &rd,
            &rect,
            &[
                tr.s("按时整改", "Done on time"),
                tr.s("超期整改", "Done late"),
                tr.s("整改中", "Open"),
            ],
            &counts,
        ),
        labels: rd.iter().map(|d| q.dept(d)).collect(),
    };
    let channel = Chart {
        id: "channel",
        title: tr.s("诉求渠道", "Where orders came from"),
        kind: Kind::Pie,
        unit: "件".into(),
        label_name: tr.s("渠道", "Channel"),
        labels: vec![
            tr.s("移动端", "Mobile"),
            tr.s("电话", "Phone"),
            tr.s("网站及接口", "Website and API"),
        ],
        series: vec![Series {
            name: tr.s("受理量", "Received"),
            values: vec![
                mobile as f64,
                phone as f64,
                (received - mobile - phone).max(0) as f64,
            ],
        }],
    };
    Ok((
        figures,
        vec![line, cat_chart, sat_chart, rect_chart, channel],
        Vec::new(),
    ))
}

impl Query<'_> {
    fn start_ms(&self) -> i64 {
        self.bound(self.from)
    }
    fn end_ms(&self) -> i64 {
        self.bound(self.to.succ_opt().unwrap_or(self.to))
    }
    fn bound(&self, d: NaiveDate) -> i64 {
        tongban_platform::time::day_start(&d.format("%Y-%m-%d").to_string(), self.tz).unwrap_or(0)
    }
}

fn city(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    let s = q.scope(true);
    let mut cells: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in c.query(
        &format!(
            "SELECT district, category, {} FROM insight_order_days WHERE {} GROUP BY district, category",
            sums(&["received"]),
            s.sql
        ),
        &s.params,
    )? {
        cells.insert((r.get_str("district")?, r.get_str("category")?), r.get_i64("received")?);
    }
    let by_district = grouped(
        c,
        "insight_order_days",
        "district",
        &["received", "replied", "replied_on_time"],
        &s,
    )?;
    let received: i64 = by_district.values().map(|v| v[0]).sum();
    let districts: Vec<String> = DISTRICTS
        .iter()
        .filter(|d| q.f.district.as_deref().is_none_or(|x| x == **d))
        .map(|d| d.to_string())
        .collect();
    let cat_total = |k: &str| {
        cells
            .iter()
            .filter(|((_, c), _)| c == k)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let mut cats: Vec<&str> = TREE.iter().map(|t| t.0).collect();
    cats.sort_by_key(|k| std::cmp::Reverse(cat_total(k)));
    let busiest = by_district
        .iter()
        .max_by_key(|(_, v)| v[0])
        .map(|(k, _)| k.clone());
    let top_cat = cats
        .first()
        .filter(|k| cat_total(k) > 0)
        .map(|k| category_name(k));
    let (replied, on_time): (i64, i64) = by_district
        .values()
        .map(|v| (v[1], v[2]))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let figures = vec![
        figure(
            "received",
            tr.s("城市管理诉求量", "Orders"),
            count(received),
            "件",
        ),
        figure(
            "per_day",
            tr.s("日均诉求量", "Per day"),
            avg(received, (q.to - q.from).num_days() + 1),
            "件",
        ),
        figure(
            "answered_on_time",
            tr.s("按时答复率", "Answered on time"),
            rate(on_time, replied),
            "%",
        ),
    ];
    let mut notes = Vec::new();
    if let Some(b) = busiest {
        notes.push(format!(
            "{}{b}",
            tr.s("诉求最多的地区：", "District with most orders: ")
        ));
    }
    if let Some(t) = top_cat {
        notes.push(format!(
            "{}{t}",
            tr.s("最多的类别：", "Most frequent category: ")
        ));
    }
    let cat_names: Vec<String> = cats.iter().map(|k| category_name(k)).collect();
    let heat = Chart {
        id: "heat",
        title: tr.s(
            "地区 × 类别诉求热力图",
            "Orders by district and category (heat map)",
        ),
        kind: Kind::Heat,
        unit: "件".into(),
        label_name: tr.s("地区", "District"),
        labels: cat_names.clone(),
        series: districts
            .iter()
            .map(|d| Series {
                name: d.clone(),
                values: cats
                    .iter()
                    .map(|k| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                    .collect(),
            })
            .collect(),
    };
    // The five largest categories stacked per district, the rest as one layer.
    let mut layers: Vec<Series> = cats
        .iter()
        .take(5)
        .map(|k| Series {
            name: category_name(k),
            values: districts
                .iter()
                .map(|d| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                .collect(),
        })
        .collect();
    layers.push(Series {
        name: tr.s("其他", "Other"),
        values: districts
            .iter()
            .map(|d| {
                cats.iter()
                    .skip(5)
                    .map(|k| *cells.get(&(d.clone(), k.to_string())).unwrap_or(&0) as f64)
                    .sum()
            })
            .collect(),
    });
    let stacked = Chart {
        id: "by_district",
        title: tr.s("各地区诉求构成", "Orders per district by category"),
        kind: Kind::Stacked,
        unit: "件".into(),
        label_name: tr.s("地区", "District"),
        labels: districts.clone(),
        series: layers,
    };
    // Weekly volumes of the four largest categories (weeks begin on Monday).
    let mut daily: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let top4: Vec<&str> = cats.iter().take(4).copied().collect();
    for r in c.query(
        &format!(
            "SELECT day, category, {} FROM insight_order_days WHERE {} GROUP BY day, category",
            sums(&["received"]),
            s.sql
        ),
        &s.params,
    )? {
        let category = r.get_str("category")?;
        let Some(i) = top4.iter().position(|k| *k == category) else {
            continue;
        };
        daily.entry(r.get_str("day")?).or_insert_with(|| vec![0; 4])[i] += r.get_i64("received")?;
    }
    let (weeks, weekly) = weekly(q.from, q.to, daily);
    let names: Vec<String> = top4.iter().map(|k| category_name(k)).collect();
    let line = Chart {
        id: "weekly",
        title: tr.s(
            "主要类别每周诉求量",
            "Weekly orders of the largest categories",
        ),
        kind: Kind::Line,
        unit: "件".into(),
        label_name: tr.s("周（起始日）", "Week of"),
        series: series_of(&weeks, &weekly, &names, &counts),
        labels: weeks,
    };
    let rate_chart = Chart {
        id: "on_time_by_district",
        title: tr.s("各地区按时答复率", "Answered on time by district"),
        kind: Kind::Bar,
        unit: "%".into(),
        label_name: tr.s("地区", "District"),
        series: series_of(
            &districts,
            &by_district,
            &[tr.s("按时答复率", "On time")],
            &|v| match v {
                [_, r, o] => vec![rate(*o, *r).unwrap_or(0.0)],
                _ => vec![],
            },
        ),
        labels: districts,
    };
    Ok((figures, vec![heat, stacked, line, rate_chart], notes))
}

fn data(c: &mut dyn Conn, q: &Query) -> Result<Parts, DbError> {
    let tr = q.tr;
    // All-time volumes from the daily figures (counting millions of rows per view is not needed).
    let all_cases = c.query_one(
        &format!(
            "SELECT {} FROM insight_case_days",
            sums(&["submitted", "rated"])
        ),
        &[],
    )?;
    let all_orders = c.query_one(
        &format!(
            "SELECT {} FROM insight_order_days",
            sums(&["received", "rated"])
        ),
        &[],
    )?;
    let users = c
        .query_one("SELECT COUNT(*) AS n FROM accounts", &[])?
        .get_i64("n")?;
    let matters = c
        .query_one("SELECT COUNT(*) AS n FROM matters WHERE published", &[])?
        .get_i64("n")?;
    let departments = q.names.len() as i64;
    let letters = c
        .query_one(
            "SELECT COUNT(*) AS n FROM work_orders WHERE published_at IS NOT NULL",
            &[],
        )?
        .get_i64("n")?;
    let views_all = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits",
            &[],
        )?
        .get_i64("n")?;
    let (cases_all, orders_all) = (
        all_cases.get_i64("submitted")?,
        all_orders.get_i64("received")?,
    );
    let ratings_all = all_cases.get_i64("rated")? + all_orders.get_i64("rated")?;
    let figures = vec![
        figure(
            "cases",
            tr.s("办件总量", "Applications, all time"),
            count(cases_all),
            "件",
        ),
        figure(
            "orders",
            tr.s("工单总量", "Work orders, all time"),
            count(orders_all),
            "件",
        ),
        figure(
            "ratings",
            tr.s("评价总量", "Ratings, all time"),
            count(ratings_all),
            "条",
        ),
        figure(
            "users",
            tr.s("注册用户", "Registered users"),
            count(users),
            "人",
        ),
        figure(
            "matters",
            tr.s("已发布事项", "Published matters"),
            count(matters),
            "项",
        ),
        figure(
            "departments",
            tr.s("接入部门", "Departments"),
            count(departments),
            "个",
        ),
        figure(
            "letters",
            tr.s("公开信件", "Published letters"),
            count(letters),
            "件",
        ),
        figure(
            "sharing",
            tr.s("数据共享交换次数", "Data sharing exchanges"),
            None,
            "次",
        ),
    ];
    // Month by month within the period.
    let cs = q.scope(false);
    let os = q.scope(true);
    let month = |d: &str| d.get(..7).unwrap_or(d).to_owned();
    let mut monthly: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in grouped(c, "insight_case_days", "day", &["submitted", "rated"], &cs)? {
        let m = monthly.entry(month(&k)).or_insert_with(|| vec![0; 3]);
        m[0] += v[0];
        m[2] += v[1];
    }
    for (k, v) in grouped(c, "insight_order_days", "day", &["received", "rated"], &os)? {
        let m = monthly.entry(month(&k)).or_insert_with(|| vec![0; 3]);
        m[1] += v[0];
        m[2] += v[1];
    }
    let mut months = Vec::new();
    let mut d = q.from.with_day(1).unwrap_or(q.from);
    while d <= q.to {
        months.push(d.format("%Y-%m").to_string());
        d = d
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(q.to.succ_opt().unwrap_or(q.to));
    }
    let names = [
        tr.s("办件", "Applications"),
        tr.s("工单", "Work orders"),
        tr.s("评价", "Ratings"),
    ];
    let line = Chart {
        id: "monthly",
        title: tr.s("每月数据量", "Records per month"),
        kind: Kind::Line,
        unit: "条".into(),
        label_name: tr.s("月份", "Month"),
        series: series_of(&months, &monthly, &names, &counts),
        labels: months,
    };
    // Growth: this period against the one of the same length just before it.
    let len = (q.to - q.from).num_days() + 1;
    let prev_to = q.from - chrono::Duration::days(1);
    let prev_from = q.from - chrono::Duration::days(len);
    let (pf, pt) = (
        prev_from.format("%Y-%m-%d").to_string(),
        prev_to.format("%Y-%m-%d").to_string(),
    );
    let period = |c: &mut dyn Conn, from: &str, to: &str| -> Result<Vec<i64>, DbError> {
        let a = totals(
            c,
            "insight_case_days",
            &["submitted", "rated"],
            &scope(from, to, q.f, false),
        )?;
        let b = totals(
            c,
            "insight_order_days",
            &["received", "rated"],
            &scope(from, to, q.f, true),
        )?;
        let v = c
            .query_one(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day <= $2",
                &[Value::from(from), Value::from(to)],
            )?
            .get_i64("n")?;
        Ok(vec![a[0], b[0], a[1] + b[1], v])
    };
    let now = period(c, &q.from(), &q.to())?;
    let before = period(c, &pf, &pt)?;
    let kinds = vec![
        tr.s("办件", "Applications"),
        tr.s("工单", "Work orders"),
        tr.s("评价", "Ratings"),
        tr.s("页面访问", "Page views"),
    ];
    let growth = Chart {
        id: "growth",
        title: tr.s("本期与上期对比", "This period and the one before"),
        kind: Kind::Bar,
        unit: "条".into(),
        label_name: tr.s("数据", "Records"),
        series: vec![
            Series {
                name: format!("{} {}–{}", tr.s("本期", "This period"), q.from(), q.to()),
                values: now.iter().map(|x| *x as f64).collect(),
            },
            Series {
                name: format!("{} {pf}–{pt}", tr.s("上期", "Before")),
                values: before.iter().map(|x| *x as f64).collect(),
            },
        ],
        labels: kinds,
    };
    let volumes = Chart {
        id: "volumes",
        title: tr.s("平台数据总量", "Records held by the platform"),
        kind: Kind::Bar,
        unit: "条".into(),
        label_name: tr.s("数据", "Records"),
        labels: vec![
            tr.s("办件", "Applications"),
            tr.s("工单", "Work orders"),
            tr.s("评价", "Ratings"),
            tr.s("注册用户", "Users"),
            tr.s("页面访问", "Page views"),
        ],
        series: vec![Series {
            name: tr.s("总量", "Total"),
            values: [cases_all, orders_all, ratings_all, users, views_all]
                .iter()
                .map(|x| *x as f64)
                .collect(),
        }],
    };
    let dev = c.query(
        "SELECT device, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM insight_visits WHERE day >= $1 AND day <= $2 GROUP BY device ORDER BY device",
        &[Value::from(q.from()), Value::from(q.to())],
    )?;
    let mut dv = BTreeMap::new();
    for r in dev {
        dv.insert(r.get_str("device")?, r.get_i64("n")?);
    }
    let devices = Chart {
        id: "devices",
        title: tr.s("页面访问设备", "Page views by device"),
        kind: Kind::Pie,
        unit: "次".into(),
        label_name: tr.s("设备", "Device"),
        labels: vec![tr.s("手机", "Mobile"), tr.s("电脑", "Desktop")],
        series: vec![Series {
            name: tr.s("访问量", "Views"),
            values: vec![
                *dv.get("mobile").unwrap_or(&0) as f64,
                *dv.get("desktop").unwrap_or(&0) as f64,
            ],
        }],
    };
    let notes = vec![tr.s(
        "部门间数据共享交换尚未上线，上线后在此统计交换次数。",
        "Data sharing between departments is not yet part of the platform; its exchanges will be counted here.",
    )];
    Ok((figures, vec![line, growth, volumes, devices], notes))
}

/// A dashboard as an XLSX workbook: a sheet of the headline figures, then one sheet per chart
/// with its numbers (only the chart `only`, when given).
pub fn workbook(b: &Board, only: Option<&str>) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook, XlsxError};
    let charts: Vec<&Chart> = b
        .charts
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.id))
        .collect();
    if charts.is_empty() {
        return Err(ApiError::not_found(
            "chart_not_found",
            format!(
                "the {} dashboard has no chart {:?}; it has {}",
                b.board,
                only.unwrap_or(""),
                b.charts.iter().map(|c| c.id).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let scope = format!(
        "{} {} – {}{}{}",
        b.title,
        b.from,
        b.to,
        b.district
            .as_deref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default(),
        b.department
            .as_deref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default(),
    );
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        if only.is_none() {
            let ws = wb.add_worksheet();
            ws.set_name("figures")?;
            ws.write_string_with_format(0, 0, &scope, &bold)?;
            for (i, f) in b.figures.iter().enumerate() {
                let row = 2 + i as u32;
                ws.write_string(row, 0, &f.name)?;
                if let Some(v) = f.value {
                    ws.write_number(row, 1, v)?;
                }
                ws.write_string(row, 2, &f.unit)?;
            }
            ws.set_column_width(0, 24)?;
        }
        for c in charts {
            let ws = wb.add_worksheet();
            ws.set_name(c.id.chars().take(31).collect::<String>())?;
            ws.write_string_with_format(0, 0, &c.title, &bold)?;
            ws.write_string(1, 0, format!("{scope} · {}", c.unit))?;
            let (head, rows) = c.table();
            for (i, h) in head.iter().enumerate() {
                ws.write_string_with_format(3, i as u16, h, &bold)?;
            }
            for (r, (label, values)) in rows.iter().enumerate() {
                let row = 4 + r as u32;
                ws.write_string(row, 0, label)?;
                for (i, v) in values.iter().enumerate() {
                    if v.is_finite() {
                        ws.write_number(row, 1 + i as u16, *v)?;
                    }
                }
            }
            ws.set_column_width(0, 22)?;
        }
        wb.save_to_buffer()
    };
    build().map_err(|e| {
        tracing::error!(error = %e, "dashboard workbook failed");
        ApiError::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_sum_into_the_weeks_of_the_period() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let daily = BTreeMap::from([
            ("2026-11-02".to_owned(), vec![1, 10]), // a Monday
            ("2026-11-08".to_owned(), vec![2, 20]), // the Sunday of that week
            ("2026-11-09".to_owned(), vec![4, 40]),
        ]);
        let (weeks, rows) = weekly(d("2026-11-04"), d("2026-11-20"), daily);
        assert_eq!(weeks, ["2026-11-02", "2026-11-09", "2026-11-16"]);
        assert_eq!(rows["2026-11-02"], vec![3, 30]);
        assert_eq!(rows["2026-11-09"], vec![4, 40]);
        assert!(!rows.contains_key("2026-11-16"));
    }
}
