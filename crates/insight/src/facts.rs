//! The daily figures behind the dashboards: per day (in the configured zone), applications
//! per department and work orders per department, district and category. A day's
//! figures are recomputed whole through the cases and hotline rooms' `stats` doors whenever
//! anything happened on it (seen on their change feeds past a cursor), so a dashboard over a year reads
//! a few thousand rows instead of millions, and a figure is never counted twice.

use crate::index::{insert_many, top};
use chrono::NaiveDate;
use std::collections::{BTreeMap, BTreeSet};
use tongban_cases::stats::Figures;
use tongban_hotline::stats::{OrderFigures, RatingFigures};
use tongban_platform::calendar::Calendar;
use tongban_platform::db::{Conn, DbError, Value};
use tongban_platform::time::{date_of, day_start, Tz};
use tongban_platform::{params, Ctx};

/// Timeline entries read per step.
const BATCH: i64 = 20_000;

/// Days recomputed per transaction by [`rebuild`].
const REBUILD_CHUNK: usize = 7;

const CURSORS: [&str; 3] = ["facts_case_event", "facts_order_event", "facts_rating"];

/// This follower's name in `/metrics` and the quarantine.
pub const FOLLOWER: &str = "insight.facts";

/// How far the daily figures have read their three feeds (case timelines, order events,
/// ratings): (entries read, entries written so far). Equal when caught up.
pub fn progress(c: &mut dyn Conn) -> Result<(i64, i64), DbError> {
    let read = read_cursors(c, false)?;
    let (orders, ratings) = tongban_hotline::stats::feed_ends(c)?;
    let ends = [tongban_cases::stats::feed_end(c)?, orders, ratings];
    Ok((read.iter().sum(), ends.iter().sum()))
}

/// How long (seconds) the oldest entry not yet counted has waited; 0 when caught up.
pub fn lag_seconds(c: &mut dyn Conn) -> Result<i64, DbError> {
    let cursors = read_cursors(c, false)?;
    let next = [
        tongban_cases::stats::changes_after(c, cursors[0], 1)?
            .first()
            .map(|x| x.at),
        tongban_hotline::stats::order_changes_after(c, cursors[1], 1)?
            .first()
            .map(|x| x.at),
        tongban_hotline::stats::rating_changes_after(c, cursors[2], 1)?
            .first()
            .map(|x| x.at),
    ];
    let now = tongban_platform::time::now_millis();
    Ok(next
        .into_iter()
        .flatten()
        .min()
        .map_or(0, |at| ((now - at) / 1000).max(1)))
}

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
            let feeds = [
                tongban_cases::stats::changes_after(c, cursors[0], BATCH)?
                    .into_iter()
                    .map(|x| (x.id, x.at, x.origin))
                    .collect::<Vec<_>>(),
                tongban_hotline::stats::order_changes_after(c, cursors[1], BATCH)?
                    .into_iter()
                    .map(|x| (x.id, x.at, x.origin))
                    .collect(),
                tongban_hotline::stats::rating_changes_after(c, cursors[2], BATCH)?
                    .into_iter()
                    .map(|x| (x.id, x.at, x.origin))
                    .collect(),
            ];
            let mut days = BTreeSet::new();
            let mut next = cursors;
            for (i, feed) in feeds.iter().enumerate() {
                for &(id, at, origin) in feed {
                    next[i] = next[i].max(id);
                    days.insert(date_of(at, tz));
                    days.insert(date_of(origin, tz));
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
            // Read apart from the write (a busy day's figures take tens of milliseconds to
            // add up; the writer would hold every request's write meanwhile), from a
            // snapshot that holds every entry up to the cursors moved below: what arrives
            // after it moves past them and brings this day back in a later step.
            let figures = ctx
                .db
                .read_aside(move |c| day_figures(c, d, &cal, tz))
                .await?;
            let Some(figures) = figures else { continue };
            // The cursor rows are locked for each day (on PostgreSQL), so two nodes never
            // write one day at once; when another node has taken these entries, it
            // recomputes their days and this one stops.
            let ours = ctx
                .db
                .write(move |c| {
                    if read_cursors(c, true)? != cursors {
                        return Ok(false);
                    }
                    store_day(c, &figures)?;
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
            let first = [
                tongban_cases::stats::first_submitted(c)?,
                tongban_hotline::stats::first_activity(c)?,
            ]
            .into_iter()
            .flatten()
            .min();
            let (orders, ratings) = tongban_hotline::stats::feed_ends(c)?;
            Ok((first, [tongban_cases::stats::feed_end(c)?, orders, ratings]))
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

/// Replace one day's figures by what the cases and hotline rooms say now.
pub fn recompute_day(
    c: &mut dyn Conn,
    day: NaiveDate,
    cal: &Calendar,
    tz: Tz,
) -> Result<(), DbError> {
    match day_figures(c, day, cal, tz)? {
        Some(f) => store_day(c, &f),
        None => Ok(()),
    }
}

/// One day's figures as the cases and hotline rooms say them: what [`store_day`] writes.
pub struct DayFigures {
    key: String,
    cases: BTreeMap<String, (Figures, RatingFigures)>,
    orders: BTreeMap<(String, String, String), OrderFigures>,
}

/// Read one day's figures (`None` for a day the zone cannot place).
pub fn day_figures(
    c: &mut dyn Conn,
    day: NaiveDate,
    cal: &Calendar,
    tz: Tz,
) -> Result<Option<DayFigures>, DbError> {
    let key = day.format("%Y-%m-%d").to_string();
    let (Some(s), Some(e)) = (
        day_start(&key, tz),
        day.succ_opt()
            .and_then(|d| day_start(&d.format("%Y-%m-%d").to_string(), tz)),
    ) else {
        return Ok(None);
    };
    let mut cases: BTreeMap<String, (Figures, RatingFigures)> =
        tongban_cases::stats::by_department(c, s, e, cal, tz)?
            .into_iter()
            .map(|(d, f)| (d, (f, RatingFigures::default())))
            .collect();
    for (d, r) in tongban_hotline::stats::case_ratings_by_department(c, s, e)? {
        cases.entry(d).or_default().1 = r;
    }
    // Orders are kept by the top level of their category.
    let mut orders: BTreeMap<(String, String, String), OrderFigures> = BTreeMap::new();
    for ((d, district, category), f) in tongban_hotline::stats::orders_by_place(c, s, e)? {
        orders
            .entry((d, district, top(&category).to_owned()))
            .or_default()
            .add(&f);
    }
    Ok(Some(DayFigures { key, cases, orders }))
}

/// Replace one day's stored figures by `f`.
fn store_day(c: &mut dyn Conn, f: &DayFigures) -> Result<(), DbError> {
    let key = f.key.as_str();
    c.execute("DELETE FROM insight_case_days WHERE day = $1", params![key])?;
    c.execute(
        "DELETE FROM insight_order_days WHERE day = $1",
        params![key],
    )?;
    let mut v: Vec<Value> = Vec::with_capacity(f.cases.len() * 11);
    for (d, (f, r)) in &f.cases {
        v.extend(
            params![
                key,
                d.as_str(),
                f.submitted,
                f.mobile,
                f.decided,
                f.on_time,
                f.days_taken,
                f.days_promised,
                r.rated,
                r.satisfied,
                r.bad
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
    let mut v: Vec<Value> = Vec::with_capacity(f.orders.len() * 13);
    for ((d, district, category), f) in &f.orders {
        v.extend(
            params![
                key,
                d.as_str(),
                district.as_str(),
                category.as_str(),
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
