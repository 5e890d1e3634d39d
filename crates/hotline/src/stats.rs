//! The hotline room's door for other rooms: work-order, rating and rectification figures over
//! a time range (by department, district and category), and change feeds over the orders'
//! events and the ratings. Insight and the evaluation read the hotline only through these
//! functions; no other room names the hotline's tables.

use std::collections::{BTreeMap, BTreeSet};
use tongban_platform::db::{Conn, DbError, Row, Value};
use tongban_platform::params;

/// One entry of a change feed: its position `id`, when it happened, and when its subject
/// arrived (an order answered today changes the figures of the day it came in too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub at: i64,
    pub origin: i64,
}

fn changes(c: &mut dyn Conn, sql: &str, cursor: i64, limit: i64) -> Result<Vec<Change>, DbError> {
    c.query(sql, params![cursor, limit])?
        .iter()
        .map(|r| {
            Ok(Change {
                id: r.get_i64("id")?,
                at: r.get_i64("at")?,
                origin: r.get_i64("origin")?,
            })
        })
        .collect()
}

/// The work orders' events after `cursor`, oldest first, at most `limit`.
pub fn order_changes_after(
    c: &mut dyn Conn,
    cursor: i64,
    limit: i64,
) -> Result<Vec<Change>, DbError> {
    changes(
        c,
        "SELECT e.id, e.at, o.received_at AS origin FROM work_order_events e JOIN work_orders o ON o.id = e.order_id
         WHERE e.id > $1 ORDER BY e.id LIMIT $2",
        cursor,
        limit,
    )
}

/// The ratings given after `cursor` (of cases and of orders), oldest first, at most `limit`.
pub fn rating_changes_after(
    c: &mut dyn Conn,
    cursor: i64,
    limit: i64,
) -> Result<Vec<Change>, DbError> {
    changes(
        c,
        "SELECT id, rated_at AS at, rated_at AS origin FROM ratings WHERE id > $1 ORDER BY id LIMIT $2",
        cursor,
        limit,
    )
}

/// The newest positions of the two feeds: (order events, ratings).
pub fn feed_ends(c: &mut dyn Conn) -> Result<(i64, i64), DbError> {
    let r = c.query_one(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM work_order_events) AS a, (SELECT COALESCE(MAX(id), 0) FROM ratings) AS r",
        &[],
    )?;
    Ok((r.get_i64("a")?, r.get_i64("r")?))
}

/// When the first order arrived or the first rating was given, whichever came first.
pub fn first_activity(c: &mut dyn Conn) -> Result<Option<i64>, DbError> {
    let r = c.query_one(
        "SELECT (SELECT MIN(received_at) FROM work_orders) AS a, (SELECT MIN(rated_at) FROM ratings) AS r",
        &[],
    )?;
    Ok([r.get_opt_i64("a")?, r.get_opt_i64("r")?]
        .into_iter()
        .flatten()
        .min())
}

/// Work orders of one (department, district, category) over a time range.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OrderFigures {
    pub received: i64,
    pub mobile: i64,
    pub phone: i64,
    pub replied: i64,
    pub replied_on_time: i64,
    pub closed: i64,
    /// Ratings of these orders given in the range.
    pub rated: i64,
    /// Of those, 满意 or better (level 3 and up).
    pub satisfied: i64,
    /// Of those, 不满意 or worse (level 2 and down).
    pub bad: i64,
}

impl OrderFigures {
    pub fn add(&mut self, o: &OrderFigures) {
        self.received += o.received;
        self.mobile += o.mobile;
        self.phone += o.phone;
        self.replied += o.replied;
        self.replied_on_time += o.replied_on_time;
        self.closed += o.closed;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
        self.bad += o.bad;
    }
}

/// (department — empty when not yet dispatched —, district, category).
pub type OrderKey = (String, String, String);

const SATISFIED: &str = "SUM(CASE WHEN r.level >= 3 THEN 1 ELSE 0 END)";
const BAD: &str = "SUM(CASE WHEN r.level <= 2 THEN 1 ELSE 0 END)";

/// Order figures for `[start, end)` (ms) by department, district and full category code.
pub fn orders_by_place(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
) -> Result<BTreeMap<OrderKey, OrderFigures>, DbError> {
    let mut out: BTreeMap<OrderKey, OrderFigures> = BTreeMap::new();
    let group = "GROUP BY o.department_code, o.district, o.category";
    let cols = "o.department_code AS d, o.district, o.category, COUNT(*) AS n";
    type Set = fn(&mut OrderFigures, &Row) -> Result<(), DbError>;
    let parts: [(String, Set); 4] = [
        (
            format!(
                "SELECT {cols}, SUM(CASE WHEN o.channel = 'mobile' THEN 1 ELSE 0 END) AS x,
                 SUM(CASE WHEN o.channel = 'phone' THEN 1 ELSE 0 END) AS p
                 FROM work_orders o WHERE o.received_at >= $1 AND o.received_at < $2 {group}"
            ),
            |f, r| {
                f.received += r.get_i64("n")?;
                f.mobile += r.get_i64("x")?;
                f.phone += r.get_i64("p")?;
                Ok(())
            },
        ),
        (
            format!(
                "SELECT {cols}, SUM(CASE WHEN o.replied_on_time THEN 1 ELSE 0 END) AS x
                 FROM work_orders o WHERE o.replied_at >= $1 AND o.replied_at < $2 {group}"
            ),
            |f, r| {
                f.replied += r.get_i64("n")?;
                f.replied_on_time += r.get_i64("x")?;
                Ok(())
            },
        ),
        (
            format!("SELECT {cols} FROM work_orders o WHERE o.closed_at >= $1 AND o.closed_at < $2 {group}"),
            |f, r| {
                f.closed += r.get_i64("n")?;
                Ok(())
            },
        ),
        (
            // `subject_kind || ''` keeps SQLite's planner on the time index (most rows share a kind).
            format!(
                "SELECT {cols}, {SATISFIED} AS good, {BAD} AS bad FROM ratings r JOIN work_orders o ON o.order_no = r.subject_no
                 WHERE r.subject_kind || '' = 'workorder' AND r.rated_at >= $1 AND r.rated_at < $2 {group}"
            ),
            |f, r| {
                f.rated += r.get_i64("n")?;
                f.satisfied += r.get_i64("good")?;
                f.bad += r.get_i64("bad")?;
                Ok(())
            },
        ),
    ];
    for (sql, set) in parts {
        for r in c.query(&sql, params![start, end])? {
            let k = (
                r.get_opt_str("d")?.unwrap_or_default(),
                r.get_str("district")?,
                r.get_str("category")?,
            );
            set(out.entry(k).or_default(), &r)?;
        }
    }
    Ok(out)
}

/// Ratings of one kind of subject.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RatingFigures {
    pub rated: i64,
    pub satisfied: i64,
    pub bad: i64,
}

/// Ratings of applications (`subject_kind = 'case'`) given in `[start, end)`, by department.
pub fn case_ratings_by_department(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
) -> Result<BTreeMap<String, RatingFigures>, DbError> {
    let mut out = BTreeMap::new();
    for r in c.query(
        &format!(
            "SELECT r.department_code AS d, COUNT(*) AS n, {SATISFIED} AS good, {BAD} AS bad
             FROM ratings r WHERE r.subject_kind || '' = 'case' AND r.rated_at >= $1 AND r.rated_at < $2
             GROUP BY r.department_code"
        ),
        params![start, end],
    )? {
        out.insert(
            r.get_str("d")?,
            RatingFigures {
                rated: r.get_i64("n")?,
                satisfied: r.get_i64("good")?,
                bad: r.get_i64("bad")?,
            },
        );
    }
    Ok(out)
}

/// The participation figures of a period, all departments together (the evaluation's 电子参与).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Period {
    pub received: i64,
    pub received_mobile: i64,
    pub replied: i64,
    pub replied_on_time: i64,
    /// Ratings of every kind given in the period, and of those 满意 or better.
    pub rated: i64,
    pub satisfied: i64,
    /// Rectifications finished in the period, and of those on time.
    pub rectified: i64,
    pub rectified_on_time: i64,
    /// Letters published in the period.
    pub published: i64,
    /// Departments that received an order in the period.
    pub departments: BTreeSet<String>,
}

/// Rectifications due from `from_day` to before `to_day` (`YYYY-MM-DD`) that are settled by
/// `today`: done, or still open past their due day (late, whether or not done later); and of
/// those, the ones done on time. Open ones not yet due are neither. The same rows the
/// rectification list shows for that due range (`due_from`, `due_to`).
pub fn rectifications_due(
    c: &mut dyn Conn,
    from_day: &str,
    to_day: &str,
    today: &str,
) -> Result<(i64, i64), DbError> {
    let k = c.query_one(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN on_time THEN 1 ELSE 0 END) AS t FROM rectifications
         WHERE due_by >= $1 AND due_by < $2 AND (status = 'done' OR due_by < $3)",
        params![from_day, to_day, today],
    )?;
    Ok((k.get_i64("n")?, k.get_opt_i64("t")?.unwrap_or(0)))
}

pub fn period(c: &mut dyn Conn, start: i64, end: i64) -> Result<Period, DbError> {
    let one = |c: &mut dyn Conn, sql: &str| -> Result<i64, DbError> {
        c.query_one(sql, params![start, end])?.get_i64("n")
    };
    let o = c.query_one(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN channel = 'mobile' THEN 1 ELSE 0 END) AS m
         FROM work_orders WHERE received_at >= $1 AND received_at < $2",
        params![start, end],
    )?;
    let r = c.query_one(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN replied_on_time THEN 1 ELSE 0 END) AS t
         FROM work_orders WHERE replied_at >= $1 AND replied_at < $2",
        params![start, end],
    )?;
    let g = c.query_one(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END) AS t
         FROM ratings WHERE rated_at >= $1 AND rated_at < $2",
        params![start, end],
    )?;
    let k = c.query_one(
        "SELECT COUNT(*) AS n, SUM(CASE WHEN on_time THEN 1 ELSE 0 END) AS t
         FROM rectifications WHERE done_at >= $1 AND done_at < $2",
        params![start, end],
    )?;
    let mut out = Period {
        received: o.get_i64("n")?,
        received_mobile: o.get_opt_i64("m")?.unwrap_or(0),
        replied: r.get_i64("n")?,
        replied_on_time: r.get_opt_i64("t")?.unwrap_or(0),
        rated: g.get_i64("n")?,
        satisfied: g.get_opt_i64("t")?.unwrap_or(0),
        rectified: k.get_i64("n")?,
        rectified_on_time: k.get_opt_i64("t")?.unwrap_or(0),
        published: one(
            c,
            "SELECT COUNT(*) AS n FROM work_orders WHERE published_at >= $1 AND published_at < $2",
        )?,
        departments: BTreeSet::new(),
    };
    for r in c.query(
        "SELECT DISTINCT department_code AS d FROM work_orders
         WHERE received_at >= $1 AND received_at < $2 AND department_code IS NOT NULL",
        params![start, end],
    )? {
        out.departments.insert(r.get_str("d")?);
    }
    Ok(out)
}

/// The department an order is with (none before dispatch, or for an unknown number).
pub fn department_of(c: &mut dyn Conn, order_no: &str) -> Result<Option<String>, DbError> {
    Ok(c.query_opt(
        "SELECT department_code FROM work_orders WHERE order_no = $1",
        params![order_no],
    )?
    .map(|r| r.get_opt_str("department_code"))
    .transpose()?
    .flatten())
}

/// Letters published so far.
pub fn letters_published(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one(
        "SELECT COUNT(*) AS n FROM work_orders WHERE published_at IS NOT NULL",
        &[],
    )?
    .get_i64("n")
}

/// Rectifications opened in `[start, end)` as they stand now, by department:
/// [done on time, done late, still open].
pub fn rectifications_by_department(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
    department: Option<&str>,
) -> Result<BTreeMap<String, [i64; 3]>, DbError> {
    let mut sql = "SELECT department_code AS d, status, on_time, COUNT(*) AS n FROM rectifications
        WHERE created_at >= $1 AND created_at < $2"
        .to_owned();
    let mut p = vec![Value::from(start), Value::from(end)];
    if let Some(d) = department {
        p.push(Value::from(d));
        sql.push_str(" AND department_code = $3");
    }
    sql.push_str(" GROUP BY department_code, status, on_time");
    let mut out: BTreeMap<String, [i64; 3]> = BTreeMap::new();
    for r in c.query(&sql, &p)? {
        let slot = match (r.get_str("status")?.as_str(), r.get_opt_bool("on_time")?) {
            ("done", Some(true)) => 0,
            ("done", _) => 1,
            _ => 2,
        };
        out.entry(r.get_str("d")?).or_default()[slot] += r.get_i64("n")?;
    }
    Ok(out)
}
