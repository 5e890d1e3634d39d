//! The daily figures behind the dashboards: per day (in the configured zone), applications
//! per department and work orders per department, district and category. A day's
//! figures are recomputed whole from the cases, orders and ratings whenever anything happened
//! on it (read from the timelines and ratings past a cursor), so a dashboard over a year reads
//! a few thousand rows instead of millions, and a figure is never counted twice.

use crate::index::{insert_many, top};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::time::{date_of, day_start, Tz};
use tongban_platform::{params, Ctx};

/// Timeline entries read per step.
const BATCH: i64 = 20_000;

/// Days recomputed per transaction by [`rebuild`].
const REBUILD_CHUNK: usize = 7;

const CURSORS: [&str; 3] = ["facts_case_event", "facts_order_event", "facts_rating"];

/// Bring the daily figures up to date; returns how many days were recomputed.
pub async fn catch_up(ctx: &Ctx) -> Result<usize, DbError> {
    let mut days = 0;
    loop {
        match step(ctx, false).await? {
            0 => return Ok(days),
            n => days += n,
        }
    }
}

/// As [`catch_up`], for the background worker: each day is recomputed in its own short
/// transaction, with a rest after each ([`tongban_platform::followers::rest_after`]), so that
/// requests are not starved while a node catches up.
pub async fn catch_up_paced(ctx: &Ctx) -> Result<usize, DbError> {
    let mut days = 0;
    loop {
        match step(ctx, true).await? {
            0 => return Ok(days),
            n => days += n,
        }
    }
}

/// Read the next entries of the timelines and ratings and recompute the days they touched.
async fn step(ctx: &Ctx, paced: bool) -> Result<usize, DbError> {
    let tz = ctx.tz;
    let seen = ctx
        .db
        .read(move |c| {
            let cursors = read_cursors(c, false)?;
            // Each entry touches the day it happened and the day its subject arrived (an
            // order dispatched a day after it came in changes that day's departments).
            let sources = [
                "SELECT e.id, e.at, k.submitted_at AS origin FROM case_events e JOIN cases k ON k.id = e.case_id
                 WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                "SELECT e.id, e.at, o.received_at AS origin FROM work_order_events e JOIN work_orders o ON o.id = e.order_id
                 WHERE e.id > $1 ORDER BY e.id LIMIT $2",
                "SELECT id, rated_at AS at, rated_at AS origin FROM ratings WHERE id > $1 ORDER BY id LIMIT $2",
            ];
            let mut days = BTreeSet::new();
            let mut next = cursors;
            for (i, sql) in sources.iter().enumerate() {
                for r in c.query(sql, params![cursors[i], BATCH])? {
                    next[i] = next[i].max(r.get_i64("id")?);
                    days.insert(date_of(r.get_i64("at")?, tz));
                    days.insert(date_of(r.get_i64("origin")?, tz));
                }
            }
            Ok((cursors, next, days))
        })
        .await?;
    let (cursors, next, days) = seen;
    if days.is_empty() {
        return Ok(0);
    }
    let cal = ctx.calendar();
    let n = days.len();
    if paced {
        // A day at a time: recomputing a day is idempotent, so a crash (or another node
        // taking the same entries) between these and the cursor move below loses nothing.
        for d in &days {
            let started = std::time::Instant::now();
            let (d, cal) = (*d, cal.clone());
            // The cursor rows are locked for each day (on PostgreSQL), so two nodes never
            // recompute one day at once; when another node has taken these entries, it
            // recomputes their days and this one stops.
            let ours = ctx
                .db
                .write(move |c| {
                    if read_cursors(c, true)? != cursors {
                        return Ok(false);
                    }
                    recompute_day(c, d, &cal, tz)?;
                    Ok(true)
                })
                .await?;
            if !ours {
                return Ok(0);
            }
            tongban_platform::followers::rest_after(started).await;
        }
        let done = ctx
            .db
            .write(move |c| {
                if read_cursors(c, true)? != cursors {
                    return Ok(false);
                }
                for (i, name) in CURSORS.iter().enumerate() {
                    c.execute(
                        "UPDATE insight_state SET value = $1 WHERE name = $2",
                        params![next[i], *name],
                    )?;
                }
                Ok(true)
            })
            .await?;
        return Ok(if done { n } else { 0 });
    }
    let done = ctx
        .db
        .write(move |c| {
            // Another node may have taken the same entries: then it recomputes the days, and
            // nothing is written here (the cursors are locked until this commits).
            if read_cursors(c, true)? != cursors {
                return Ok(false);
            }
            for (i, name) in CURSORS.iter().enumerate() {
                c.execute(
                    "UPDATE insight_state SET value = $1 WHERE name = $2",
                    params![next[i], *name],
                )?;
            }
            for d in &days {
                recompute_day(c, *d, &cal, tz)?;
            }
            Ok(true)
        })
        .await?;
    Ok(if done { n } else { 0 })
}

/// The three cursors; `lock` takes their rows for the transaction on PostgreSQL (SQLite's
/// writer is alone already).
fn read_cursors(c: &mut dyn Conn, lock: bool) -> Result<[i64; 3], DbError> {
    let lock = if lock && c.engine() == tongban_platform::db::Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let mut out = [0; 3];
    for (i, name) in CURSORS.iter().enumerate() {
        out[i] = c
            .query_one(
                &format!("SELECT value FROM insight_state WHERE name = $1{lock}"),
                params![*name],
            )?
            .get_i64("value")?;
    }
    Ok(out)
}

/// Recompute every day from the first application or order to today (`tongban insight
/// rebuild`, and after history is loaded without timelines); returns the days recomputed.
pub async fn rebuild(ctx: &Ctx) -> Result<usize, DbError> {
    let tz = ctx.tz;
    let today = ctx.today();
    let (first, ends) = ctx
        .db
        .read(move |c| {
            let first = c
                .query_one(
                    "SELECT (SELECT MIN(submitted_at) FROM cases) AS a, (SELECT MIN(received_at) FROM work_orders) AS b,
                            (SELECT MIN(rated_at) FROM ratings) AS r",
                    &[],
                )?;
            let first = [first.get_opt_i64("a")?, first.get_opt_i64("b")?, first.get_opt_i64("r")?]
                .into_iter()
                .flatten()
                .min();
            let ends = c.query_one(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM case_events) AS a, (SELECT COALESCE(MAX(id), 0) FROM work_order_events) AS b,
                        (SELECT COALESCE(MAX(id), 0) FROM ratings) AS r",
                &[],
            )?;
            Ok((first, [ends.get_i64("a")?, ends.get_i64("b")?, ends.get_i64("r")?]))
        })
        .await?;
    let Some(first) = first else {
        return Ok(0);
    };
    let days: Vec<NaiveDate> = date_of(first, tz)
        .iter_days()
        .take_while(|d| *d <= today)
        .collect();
    let cal = ctx.calendar();
    for chunk in days.chunks(REBUILD_CHUNK) {
        let chunk = chunk.to_vec();
        let cal = cal.clone();
        ctx.db
            .write(move |c| {
                for d in chunk {
                    recompute_day(c, d, &cal, tz)?;
                }
                Ok(())
            })
            .await?;
    }
    // What was written before the rebuild began is now counted.
    ctx.db
        .write(move |c| {
            for (i, name) in CURSORS.iter().enumerate() {
                c.execute(
                    "UPDATE insight_state SET value = $1 WHERE name = $2 AND value < $1",
                    params![ends[i], *name],
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(days.len())
}

#[derive(Default)]
struct CaseFigures {
    submitted: i64,
    mobile: i64,
    decided: i64,
    on_time: i64,
    days_taken: i64,
    days_promised: i64,
    rated: i64,
    satisfied: i64,
    bad: i64,
}

#[derive(Default)]
struct OrderFigures {
    received: i64,
    mobile: i64,
    phone: i64,
    replied: i64,
    replied_on_time: i64,
    closed: i64,
    rated: i64,
    satisfied: i64,
    bad: i64,
}

// `col || ''` keeps SQLite's planner on the time index: an equality on a column that most
// rows share (status, subject kind) would otherwise scan them all for every day.
const SATISFIED: &str = "SUM(CASE WHEN level >= 3 THEN 1 ELSE 0 END)";
const BAD: &str = "SUM(CASE WHEN level <= 2 THEN 1 ELSE 0 END)";

/// Replace one day's figures by what the cases, orders and ratings say now.
pub fn recompute_day(
    c: &mut dyn Conn,
    day: NaiveDate,
    cal: &Calendar,
    tz: Tz,
) -> Result<(), DbError> {
    let key = day.format("%Y-%m-%d").to_string();
    let (Some(s), Some(e)) = (
        day_start(&key, tz),
        day.succ_opt()
            .and_then(|d| day_start(&d.format("%Y-%m-%d").to_string(), tz)),
    ) else {
        return Ok(());
    };
    let mut cases: BTreeMap<String, CaseFigures> = BTreeMap::new();
    for r in c.query(
        "SELECT department_code AS d, COUNT(*) AS n, SUM(CASE WHEN channel = 'mobile' THEN 1 ELSE 0 END) AS mobile
         FROM cases WHERE submitted_at >= $1 AND submitted_at < $2 GROUP BY department_code",
        params![s, e],
    )? {
        let f = cases
            .entry(r.get_str("d")?)
            .or_default();
        f.submitted = r.get_i64("n")?;
        f.mobile = r.get_i64("mobile")?;
    }
    for r in c.query(
        "SELECT k.department_code AS d, k.concluded_at, k.deadline, k.accepted_on, m.promised_days
         FROM cases k JOIN matters m ON m.code = k.matter_code
         WHERE k.concluded_at >= $1 AND k.concluded_at < $2 AND k.status || '' IN ('approved', 'rejected') AND k.deadline IS NOT NULL",
        params![s, e],
    )? {
        let f = cases
            .entry(r.get_str("d")?)
            .or_default();
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
        f.days_promised += r.get_i64("promised_days")?;
    }
    for r in c.query(
        &format!(
            "SELECT department_code AS d, COUNT(*) AS n, {SATISFIED} AS good, {BAD} AS bad
             FROM ratings WHERE subject_kind || '' = 'case' AND rated_at >= $1 AND rated_at < $2 GROUP BY department_code"
        ),
        params![s, e],
    )? {
        let f = cases
            .entry(r.get_str("d")?)
            .or_default();
        f.rated = r.get_i64("n")?;
        f.satisfied = r.get_i64("good")?;
        f.bad = r.get_i64("bad")?;
    }

    let mut orders: BTreeMap<(String, String, String), OrderFigures> = BTreeMap::new();
    let group = "GROUP BY o.department_code, o.district, o.category";
    let mut fold =
        |c: &mut dyn Conn,
         sql: String,
         set: &dyn Fn(&mut OrderFigures, &tongban_platform::db::Row) -> Result<(), DbError>|
         -> Result<(), DbError> {
            for r in c.query(&sql, params![s, e])? {
                let k = (
                    r.get_opt_str("d")?.unwrap_or_default(),
                    r.get_str("district")?,
                    top(&r.get_str("category")?).to_owned(),
                );
                set(orders.entry(k).or_default(), &r)?;
            }
            Ok(())
        };
    let cols = "o.department_code AS d, o.district, o.category, COUNT(*) AS n";
    fold(
        c,
        format!("SELECT {cols}, SUM(CASE WHEN o.channel = 'mobile' THEN 1 ELSE 0 END) AS x,
                SUM(CASE WHEN o.channel = 'phone' THEN 1 ELSE 0 END) AS p FROM work_orders o WHERE o.received_at >= $1 AND o.received_at < $2 {group}"),
        &|f, r| {
            f.received += r.get_i64("n")?;
            f.mobile += r.get_i64("x")?;
            f.phone += r.get_i64("p")?;
            Ok(())
        },
    )?;
    fold(
        c,
        format!("SELECT {cols}, SUM(CASE WHEN o.replied_on_time THEN 1 ELSE 0 END) AS x FROM work_orders o WHERE o.replied_at >= $1 AND o.replied_at < $2 {group}"),
        &|f, r| {
            f.replied += r.get_i64("n")?;
            f.replied_on_time += r.get_i64("x")?;
            Ok(())
        },
    )?;
    fold(
        c,
        format!(
            "SELECT {cols} FROM work_orders o WHERE o.closed_at >= $1 AND o.closed_at < $2 {group}"
        ),
        &|f, r| {
            f.closed += r.get_i64("n")?;
            Ok(())
        },
    )?;
    fold(
        c,
        format!(
            "SELECT {cols}, {} AS good, {} AS bad FROM ratings r JOIN work_orders o ON o.order_no = r.subject_no
             WHERE r.subject_kind || '' = 'workorder' AND r.rated_at >= $1 AND r.rated_at < $2 {group}",
            SATISFIED.replace("level", "r.level"),
            BAD.replace("level", "r.level")
        ),
        &|f, r| {
            f.rated += r.get_i64("n")?;
            f.satisfied += r.get_i64("good")?;
            f.bad += r.get_i64("bad")?;
            Ok(())
        },
    )?;

    c.execute(
        "DELETE FROM insight_case_days WHERE day = $1",
        params![key.as_str()],
    )?;
    c.execute(
        "DELETE FROM insight_order_days WHERE day = $1",
        params![key.as_str()],
    )?;
    let mut v: Vec<Value> = Vec::with_capacity(cases.len() * 11);
    for (d, f) in cases {
        v.extend(
            params![
                key.as_str(),
                d,
                f.submitted,
                f.mobile,
                f.decided,
                f.on_time,
                f.days_taken,
                f.days_promised,
                f.rated,
                f.satisfied,
                f.bad
            ]
            .iter()
            .cloned(),
        );
    }
    insert_many(
        c,
        "INSERT INTO insight_case_days (day, department_code, submitted, mobile, decided, on_time, days_taken,
            days_promised, rated, satisfied, bad)",
        11,
        &v,
        "",
    )?;
    let mut v: Vec<Value> = Vec::with_capacity(orders.len() * 13);
    for ((d, district, category), f) in orders {
        v.extend(
            params![
                key.as_str(),
                d,
                district,
                category,
                f.received,
                f.mobile,
                f.phone,
                f.replied,
                f.replied_on_time,
                f.closed,
                f.rated,
                f.satisfied,
                f.bad
            ]
            .iter()
            .cloned(),
        );
    }
    insert_many(
        c,
        "INSERT INTO insight_order_days (day, department_code, district, category, received, mobile, phone, replied,
            replied_on_time, closed, rated, satisfied, bad)",
        13,
        &v,
        "",
    )
}
