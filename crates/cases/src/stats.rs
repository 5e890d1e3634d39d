//! The cases room's door for other rooms: figures per day and department, what is overdue
//! now, and a change feed over the timeline. Insight, the evaluation and (later) open data
//! read applications only through these functions; no other room names the cases tables.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError, Engine, Value};
use tongban_platform::params;
use tongban_platform::time::{date_of, Tz};

/// One entry of the change feed: a timeline entry `id`, when it happened, and when its case
/// arrived (a decision changes the figures of the day it was taken and of the day applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub at: i64,
    pub origin: i64,
}

/// The timeline entries after `cursor`, oldest first, at most `limit`.
pub fn changes_after(c: &mut dyn Conn, cursor: i64, limit: i64) -> Result<Vec<Change>, DbError> {
    c.query(
        "SELECT e.id, e.at, k.submitted_at AS origin FROM case_events e JOIN cases k ON k.id = e.case_id
         WHERE e.id > $1 ORDER BY e.id LIMIT $2",
        params![cursor, limit],
    )?
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

/// The newest position of the change feed (0 when there is none).
pub fn feed_end(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one("SELECT COALESCE(MAX(id), 0) AS n FROM case_events", &[])?
        .get_i64("n")
}

/// When the first application arrived, if any has.
pub fn first_submitted(c: &mut dyn Conn) -> Result<Option<i64>, DbError> {
    c.query_one("SELECT MIN(submitted_at) AS a FROM cases", &[])?
        .get_opt_i64("a")
}

/// Applications of a department over a time range.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Submitted in the range.
    pub submitted: i64,
    /// Of those, submitted from a phone.
    pub mobile: i64,
    /// Approved or rejected in the range (after acceptance, so with a deadline).
    pub decided: i64,
    /// Of those, decided on or before their deadline.
    pub on_time: i64,
    /// Working days from acceptance to decision, summed over `decided`.
    pub days_taken: i64,
    /// Working days the matters promise, summed over `decided`.
    pub days_promised: i64,
}

impl Figures {
    pub fn add(&mut self, o: &Figures) {
        self.submitted += o.submitted;
        self.mobile += o.mobile;
        self.decided += o.decided;
        self.on_time += o.on_time;
        self.days_taken += o.days_taken;
        self.days_promised += o.days_promised;
    }
}

/// Figures per department for `[start, end)` (instants in ms); days are counted in `tz`.
pub fn by_department(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
    cal: &Calendar,
    tz: Tz,
) -> Result<BTreeMap<String, Figures>, DbError> {
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for r in c.query(
        "SELECT department_code AS d, COUNT(*) AS n, SUM(CASE WHEN channel = 'mobile' THEN 1 ELSE 0 END) AS mobile
         FROM cases WHERE submitted_at >= $1 AND submitted_at < $2 GROUP BY department_code",
        params![start, end],
    )? {
        let f = out.entry(r.get_str("d")?).or_default();
        f.submitted = r.get_i64("n")?;
        f.mobile = r.get_i64("mobile")?;
    }
    // `status || ''` keeps SQLite's planner on the time index: most rows share a status, and
    // an equality on it would otherwise scan them all for every day.
    let decided = c.query(
        "SELECT department_code AS d, matter_code AS m, concluded_at, deadline, accepted_on FROM cases
         WHERE concluded_at >= $1 AND concluded_at < $2 AND status || '' IN ('approved', 'rejected') AND deadline IS NOT NULL",
        params![start, end],
    )?;
    let mut codes: Vec<String> = Vec::new();
    for r in &decided {
        let m = r.get_str("m")?;
        if !codes.contains(&m) {
            codes.push(m);
        }
    }
    let promised = tongban_catalog::stats::promised_days(c, &codes)?;
    for r in &decided {
        let f = out.entry(r.get_str("d")?).or_default();
        let done = date_of(r.get_i64("concluded_at")?, tz);
        f.decided += 1;
        if done.format("%Y-%m-%d").to_string() <= r.get_str("deadline")? {
            f.on_time += 1;
        }
        if let Some(a) = r
            .get_opt_str("accepted_on")?
            .and_then(|a| NaiveDate::parse_from_str(&a, "%Y-%m-%d").ok())
        {
            f.days_taken += cal.workdays_between(a, done).max(0);
        }
        f.days_promised += promised.get(&r.get_str("m")?).copied().unwrap_or(0);
    }
    Ok(out)
}

/// The figures of all departments together for `[start, end)`.
pub fn totals(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
    cal: &Calendar,
    tz: Tz,
) -> Result<Figures, DbError> {
    let mut t = Figures::default();
    for f in by_department(c, start, end, cal, tz)?.values() {
        t.add(f);
    }
    Ok(t)
}

/// Accepted cases past their deadline on `today` (a case waiting for a supplement is paused,
/// so not overdue): (department, matter, count), optionally for one department.
pub fn overdue_now(
    c: &mut dyn Conn,
    today: NaiveDate,
    department: Option<&str>,
) -> Result<Vec<(String, String, i64)>, DbError> {
    // SQLite's planner would read every accepted case through the status index; the partial
    // index holds just what is asked (PostgreSQL's planner finds it by itself).
    let hint = if c.engine() == Engine::Sqlite {
        " INDEXED BY cases_open_deadline"
    } else {
        ""
    };
    let mut sql = format!(
        "SELECT department_code AS d, matter_code AS m, COUNT(*) AS n FROM cases{hint}
        WHERE status = 'accepted' AND deadline < $1"
    );
    let mut p = vec![Value::from(today.format("%Y-%m-%d").to_string())];
    if let Some(d) = department {
        p.push(Value::from(d));
        sql.push_str(" AND department_code = $2");
    }
    sql.push_str(" GROUP BY department_code, matter_code");
    c.query(&sql, &p)?
        .iter()
        .map(|r| Ok((r.get_str("d")?, r.get_str("m")?, r.get_i64("n")?)))
        .collect()
}
