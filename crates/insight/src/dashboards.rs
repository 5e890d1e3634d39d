//! The leadership dashboards, one per platform of "one centre, four platforms": government
//! services (办件), livelihood services (12345 and 好差评), city management (orders by place)
//! and the data centre. Each is a few headline figures and charts, filtered by a period,
//! district and department, read from the daily figures (`facts`) and, for what is overdue
//! right now, from the open cases and orders.

use crate::charts::{Chart, Kind, Series};
use crate::InsightError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tongban_hotline::categories::Tree;
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::Ctx;
use tongban_web::Lang;

mod city;
mod data;
mod export;
mod livelihood;
mod services;

pub use export::workbook;
use {city::city, data::data, livelihood::livelihood, services::services};

/// The boards by code; their titles are `board.title_{code}` in the catalogues.
pub const BOARDS: [&str; 4] = ["services", "livelihood", "city", "data"];

/// A board's title in `lang`.
pub fn board_title(lang: Lang, code: &str) -> String {
    tongban_web::i18n::t(lang, &format!("board.title_{code}"))
}

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
    /// What follows the label of a partial period in a chart's table.
    pub partial_mark: String,
}

/// Leaders read the dashboards through the hotline's supervisors, administrators and auditors.
pub fn may_see(s: &tongban_platform::identity::Staff) -> Result<(), InsightError> {
    use tongban_platform::identity::Role;
    if s.has(Role::Supervisor) || s.has(Role::Admin) || s.has(Role::Auditor) {
        Ok(())
    } else {
        Err(InsightError::NotYours(
            "dashboards and the evaluation are for supervisors, administrators and auditors",
        ))
    }
}

/// Language of the names in a board.
/// The labels of a board in the reader's language (`board.*` in the catalogues).
#[derive(Clone, Copy)]
struct Tr {
    lang: Lang,
}

impl Tr {
    fn t(self, key: &str) -> String {
        tongban_web::i18n::t(self.lang, &format!("board.{key}"))
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

/// How long the periods of a line chart are.
#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
}

/// Which of the periods `labels` (a day or a week's Monday as `YYYY-MM-DD`, a month as
/// `YYYY-MM`) the chart counts only in part: begun before the chosen days, or ending after the
/// last complete day (the period's end, or yesterday while the period lasts).
fn partial_periods(labels: &[String], period: Period, q: &Query) -> Vec<usize> {
    let complete_until = if q.to >= q.today {
        q.today.pred_opt().unwrap_or(q.today)
    } else {
        q.to
    };
    labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let start = match period {
                Period::Month => NaiveDate::parse_from_str(&format!("{l}-01"), "%Y-%m-%d"),
                _ => NaiveDate::parse_from_str(l, "%Y-%m-%d"),
            }
            .ok()?;
            let end = match period {
                Period::Day => start,
                Period::Week => start + chrono::Duration::days(6),
                Period::Month => start
                    .checked_add_months(chrono::Months::new(1))
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(start),
            };
            (start < q.from || end > complete_until).then_some(i)
        })
        .collect()
}

/// Values as they are counted.
fn counts(v: &[i64]) -> Vec<f64> {
    v.iter().map(|x| *x as f64).collect()
}

/// A line chart over the period of the daily sums of `cols` in `table`: per day, or per week
/// when the period is longer than two months. `titles`: (per day, per week), keys of the `board` catalogue.
fn time_line(
    c: &mut dyn Conn,
    q: &Query,
    table: &str,
    cols: &[&str],
    titles: [&str; 2],
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
        title: tr.t(title),
        kind: Kind::Line,
        unit: "件".into(),
        label_name: if by_week {
            tr.t("week_of")
        } else {
            tr.t("date")
        },
        series: series_of(&labels, &rows, names, &counts),
        partial: partial_periods(&labels, if by_week { Period::Week } else { Period::Day }, q),
        labels,
    })
}

/// Build a dashboard for the staff member's language.
pub async fn board(ctx: &Ctx, code: &str, f: Filter, en: bool) -> Result<Board, InsightError> {
    let Some(code) = BOARDS.iter().find(|b| **b == code).copied() else {
        return Err(InsightError::DashboardNotFound {
            code: code.to_owned(),
            known: BOARDS.join(", "),
        });
    };
    let (start, end) = crate::range(ctx, f.from.as_deref(), f.to.as_deref(), 30)?;
    let tz = ctx.tz;
    let from = tongban_platform::time::date_of(start, tz);
    let to = tongban_platform::time::date_of(end - 1, tz);
    let mut f = f;
    f.district = f.district.filter(|d| !d.is_empty());
    f.department = f.department.filter(|d| !d.is_empty());
    let region = tongban_platform::region::current(&ctx.db).await?;
    let districts = Arc::new(region.district_names());
    let tree = tongban_hotline::categories::current(&ctx.db).await?;
    if let Some(d) = &f.district {
        if !districts.contains(d) {
            return Err(InsightError::UnknownDistrict {
                district: d.clone(),
                known: districts.join("、"),
            });
        }
    }
    let departments = ctx
        .db
        .read(|c| tongban_platform::identity::all_departments(c))
        .await?;
    if let Some(d) = &f.department {
        if !departments.iter().any(|x| &x.code == d) {
            return Err(InsightError::UnknownDepartment(d.clone()));
        }
    }
    let names: HashMap<String, String> =
        departments.into_iter().map(|d| (d.code, d.name)).collect();
    let tr = Tr {
        lang: if en { Lang::En } else { Lang::Zh },
    };
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
                tree: &tree,
                districts: &districts,
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
        title: tr.t(&format!("title_{code}")),
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        district: f.district,
        department: f.department,
        figures,
        charts,
        notes,
        partial_mark: tongban_web::i18n::t(tr.lang, "dashboard.partial_mark"),
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
    /// The region's category tree and districts.
    tree: &'a Tree,
    districts: &'a [String],
}

impl Query<'_> {
    /// A category's name for a label: its top-level name, never its code.
    fn category_name(&self, code: &str) -> String {
        category_name(self.tree, code)
    }

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
            return self.tr.t("not_yet_dispatched");
        }
        self.names
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

/// A category's name for a label: its top-level name, never its code (the hotline's door).
pub(crate) fn category_name(tree: &Tree, code: &str) -> String {
    tree.name(code)
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

    #[test]
    fn periods_cut_by_the_dates_or_not_over_are_partial() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let f = Filter::default();
        let names = HashMap::new();
        let tree = Tree::default();
        let q = |from: &str, to: &str, today: &str| Query {
            from: d(from),
            to: d(to),
            f: &f,
            names: &names,
            tr: Tr { lang: Lang::Zh },
            today: d(today),
            tz: tongban_platform::time::Tz::default(),
            tree: &tree,
            districts: &[],
        };
        let weeks: Vec<String> = ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
            .map(String::from)
            .to_vec();
        // From a Wednesday to a Thursday, long past: the first and the last week are cut.
        let past = q("2026-11-04", "2026-11-26", "2026-12-20");
        assert_eq!(partial_periods(&weeks, Period::Week, &past), [0, 3]);
        // Whole weeks, the last one still running (today is its Sunday): partial.
        let now = q("2026-11-02", "2026-11-29", "2026-11-29");
        assert_eq!(partial_periods(&weeks, Period::Week, &now), [3]);
        // Whole weeks, over by the day after: none.
        let over = q("2026-11-02", "2026-11-29", "2026-11-30");
        assert!(partial_periods(&weeks, Period::Week, &over).is_empty());
        // Months: November whole, December begun.
        let months: Vec<String> = ["2026-11", "2026-12"].map(String::from).to_vec();
        let m = q("2026-11-01", "2026-12-31", "2026-12-01");
        assert_eq!(partial_periods(&months, Period::Month, &m), [1]);
        // Days: only today and after.
        let days: Vec<String> = ["2026-11-30", "2026-12-01"].map(String::from).to_vec();
        let t = q("2026-11-30", "2026-12-01", "2026-12-01");
        assert_eq!(partial_periods(&days, Period::Day, &t), [1]);
    }
}
