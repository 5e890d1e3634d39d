//! The incremental analysis of messages: each new work order is segmented once, its terms
//! stored, and the per-day term counts, document frequencies and per-hour volumes updated in
//! event time (the time the citizen wrote, so imported history counts as if it had arrived
//! live). Then the warnings are evaluated for what the batch touched.

use crate::segment;
use crate::warnings::{self, Touched};
use chrono::TimeZone;
use std::collections::{BTreeMap, HashMap};
use tongban_hotline::orders::{texts_after, texts_by_id, OrderText, Texts, Unreadable};
use tongban_platform::db::{Conn, DbError, Engine, Value};
use tongban_platform::{params, Ctx};

/// Messages analysed per step, at most: a live node takes what arrived since its last pass;
/// imported history goes in large batches, whose per-day counts collapse before they are written.
pub const BATCH: i64 = 4000;

/// The top-level category of a category code.
pub fn top(category: &str) -> &str {
    tongban_hotline::categories::top(category)
}

pub fn day_of(at: i64, tz: tongban_platform::time::Tz) -> String {
    tongban_platform::time::date_of(at, tz)
        .format("%Y-%m-%d")
        .to_string()
}

/// The hour of the week (0 = Monday 00:00) of an epoch hour, in the configured zone.
pub fn hour_of_week(hour: i64, tz: tongban_platform::time::Tz) -> usize {
    use chrono::{Datelike, Timelike};
    match tz.timestamp_millis_opt(hour * 3_600_000).single() {
        Some(t) => t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize,
        None => 0,
    }
}

/// Teach the segmenter the region's place names, the category names and the catalogue's
/// matter names (cheap when it knows them all).
async fn ensure_segmenter(ctx: &Ctx) -> Result<(), DbError> {
    let region = tongban_platform::region::current(&ctx.db).await?;
    let tree = tongban_hotline::categories::current(&ctx.db).await?;
    let mut words: Vec<String> = tree
        .cats
        .iter()
        .flat_map(|c| c.name.split('/').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    static MATTERS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    if MATTERS.get().is_none() {
        let names = ctx
            .db
            .read(|c| {
                Ok(tongban_catalog::store::all(c)?
                    .into_iter()
                    .map(|m| m.name)
                    .collect::<Vec<_>>())
            })
            .await?;
        let _ = MATTERS.set(names);
    }
    words.extend(MATTERS.get().cloned().unwrap_or_default());
    segment::learn(&words, &region.place_names());
    Ok(())
}

/// Analyse the next batch; returns how many messages it took (0 when up to date).
pub async fn step(ctx: &Ctx) -> Result<usize, DbError> {
    ensure_segmenter(ctx).await?;
    let cursor = ctx
        .db
        .read(|c| {
            c.query_one(
                "SELECT value FROM insight_state WHERE name = 'index_cursor'",
                &[],
            )?
            .get_i64("value")
        })
        .await?;
    let Texts {
        texts,
        unreadable,
        last_id,
    } = ctx.db.read(move |c| texts_after(c, cursor, BATCH)).await?;
    let Some(last) = last_id else {
        return Ok(0);
    };
    let n = texts.len() + unreadable.len();
    // Segmentation is the costly part: it runs outside any transaction.
    let docs: Vec<Segmented> = tokio_free_map(texts)?;
    let tz = ctx.tz;
    let now = tongban_platform::time::now_millis();
    let touched = ctx
        .db
        .write(move |c| {
            let touched = store(c, cursor, last, &docs, tz)?;
            if touched.is_some() {
                // What cannot be read is set aside, and the analysis goes on past it.
                quarantine_all(c, &unreadable, now)?;
            }
            Ok(touched)
        })
        .await?;
    let Some(touched) = touched else {
        return Ok(n); // another node took this batch
    };
    warnings::evaluate(ctx, &touched).await?;
    Ok(n)
}

/// The name this follower has in the quarantine and in `/metrics`.
pub const FOLLOWER: &str = "insight.index";

fn quarantine_all(c: &mut dyn Conn, bad: &[Unreadable], now: i64) -> Result<(), DbError> {
    for u in bad {
        tracing::warn!(follower = FOLLOWER, order_id = u.id, error = %u.error, "row quarantined");
        tongban_platform::followers::quarantine(c, FOLLOWER, &u.id.to_string(), &u.error, now)?;
    }
    Ok(())
}

/// Try again the quarantined orders marked for retry (`tongban followers retry`): those that
/// can be read now are analysed and leave the quarantine; the others stay, counted.
pub async fn retry(ctx: &Ctx) -> Result<usize, DbError> {
    let ids: Vec<i64> = ctx
        .db
        .read(|c| tongban_platform::followers::to_retry(c, FOLLOWER, 1000))
        .await?
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    ensure_segmenter(ctx).await?;
    let t = ctx.db.read(move |c| texts_by_id(c, &ids)).await?;
    let released = t.texts.len();
    let docs: Vec<Segmented> = tokio_free_map(t.texts)?;
    let (tz, now) = (ctx.tz, tongban_platform::time::now_millis());
    let bad = t.unreadable;
    let touched = ctx
        .db
        .write(move |c| {
            // Rows past the cursor are analysed in turn by the normal pass.
            let cursor = c
                .query_one(
                    "SELECT value FROM insight_state WHERE name = 'index_cursor'",
                    &[],
                )?
                .get_i64("value")?;
            let behind: Vec<Segmented> = docs.into_iter().filter(|(t, _)| t.id <= cursor).collect();
            for (t, _) in &behind {
                tongban_platform::followers::release(c, FOLLOWER, &t.id.to_string())?;
            }
            let touched = store_docs(c, &behind, tz)?;
            quarantine_all(c, &bad, now)?;
            Ok(touched)
        })
        .await?;
    warnings::evaluate(ctx, &touched).await?;
    Ok(released)
}

/// How long the next order waiting for analysis has been in (0 when caught up).
pub fn lag_seconds(c: &mut dyn Conn) -> Result<i64, DbError> {
    let cursor = c
        .query_opt(
            "SELECT value FROM insight_state WHERE name = 'index_cursor'",
            &[],
        )?
        .map(|r| r.get_i64("value"))
        .transpose()?
        .unwrap_or(0);
    // Through the hotline's feed: the next order waiting, one indexed row.
    let now = tongban_platform::time::now_millis();
    Ok(tongban_hotline::orders::next_received_after(c, cursor)?
        .map_or(0, |w| (now - w).max(0) / 1000))
}

/// A message with its terms and their counts.
type Segmented = (OrderText, BTreeMap<String, i64>);

/// Segment a batch on two threads (the machines this runs on have two cores).
fn tokio_free_map(texts: Vec<OrderText>) -> Result<Vec<Segmented>, DbError> {
    let seg = |part: Vec<OrderText>| -> Vec<Segmented> {
        part.into_iter()
            .map(|t| {
                let terms = segment::terms(&format!("{} {}", t.title, t.content));
                (t, terms)
            })
            .collect()
    };
    let mut first = texts;
    let second = first.split_off(first.len() / 2);
    std::thread::scope(|s| {
        let h = s.spawn(|| seg(second));
        let mut out = seg(first);
        // Nothing is stored (and the cursor stays) when a part could not be segmented.
        let rest = h
            .join()
            .map_err(|_| DbError::Engine("segmentation failed".into()))?;
        out.extend(rest);
        Ok(out)
    })
}

/// Insert many rows with one statement per chunk of rows: `head` is `INSERT INTO t (a, b)`,
/// `values` holds `width` values per row, `tail` follows the VALUES list (e.g. ON CONFLICT).
pub(crate) fn insert_many(
    c: &mut dyn Conn,
    head: &str,
    width: usize,
    values: &[Value],
    tail: &str,
) -> Result<(), DbError> {
    const ROWS_PER_STATEMENT: usize = 200;
    if width == 0 {
        return Ok(());
    }
    for chunk in values.chunks(width * ROWS_PER_STATEMENT) {
        let rows = chunk.len() / width;
        let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 6 + 16);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for k in 0..width {
                if k > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(r * width + k + 1).to_string());
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        c.execute(&sql, chunk)?;
    }
    Ok(())
}

/// Store a segmented batch if the cursor is still where it was read, and move the cursor to
/// `last` (the last order read, analysed or set aside); returns what the batch touched, for
/// the warnings.
fn store(
    c: &mut dyn Conn,
    cursor: i64,
    last: i64,
    docs: &[Segmented],
    tz: tongban_platform::time::Tz,
) -> Result<Option<Touched>, DbError> {
    let lock = if c.engine() == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let now_cursor = c
        .query_one(
            &format!("SELECT value FROM insight_state WHERE name = 'index_cursor'{lock}"),
            &[],
        )?
        .get_i64("value")?;
    if now_cursor != cursor {
        return Ok(None);
    }
    let touched = store_docs(c, docs, tz)?;
    c.execute(
        "UPDATE insight_state SET value = $1 WHERE name = 'index_cursor'",
        params![last],
    )?;
    Ok(Some(touched))
}

/// Store segmented messages: their terms and the per-day, per-place counts.
fn store_docs(
    c: &mut dyn Conn,
    docs: &[Segmented],
    tz: tongban_platform::time::Tz,
) -> Result<Touched, DbError> {
    let mut term_days: HashMap<(String, String, String), i64> = HashMap::new();
    let mut doc_days: HashMap<(String, String), i64> = HashMap::new();
    let mut df: HashMap<String, (i64, i64)> = HashMap::new();
    let mut term_districts: HashMap<(String, String), i64> = HashMap::new();
    let mut hours: HashMap<(i64, String, String), i64> = HashMap::new();
    let mut touched = Touched::default();
    let mut doc_rows: Vec<Value> = Vec::with_capacity(docs.len() * 6);
    let mut term_rows: Vec<Value> = Vec::new();
    for (t, terms) in docs {
        doc_rows.extend([
            Value::from(t.id),
            Value::from(t.order_no.as_str()),
            Value::from(t.received_at),
            Value::from(t.district.as_str()),
            Value::from(t.category.as_str()),
            t.department.as_deref().map_or(Value::Null, Value::from),
        ]);
        let day = day_of(t.received_at, tz);
        let mut scopes = vec!["city".to_owned(), format!("d:{}", t.district)];
        if let Some(d) = &t.department {
            scopes.push(format!("dept:{d}"));
        }
        for s in &scopes {
            *doc_days.entry((day.clone(), s.clone())).or_insert(0) += 1;
        }
        for (term, tf) in terms {
            term_rows.extend([
                Value::from(t.id),
                Value::from(term.as_str()),
                Value::from(*tf),
            ]);
            for s in &scopes {
                *term_days
                    .entry((day.clone(), s.clone(), term.clone()))
                    .or_insert(0) += 1;
            }
            let e = df.entry(term.clone()).or_insert((0, t.received_at));
            e.0 += 1;
            e.1 = e.1.min(t.received_at);
            let f = term_districts
                .entry((term.clone(), t.district.clone()))
                .or_insert(t.received_at);
            *f = (*f).min(t.received_at);
            touched
                .terms
                .push((term.clone(), t.district.clone(), t.received_at));
        }
        let hour = t.received_at.div_euclid(3_600_000);
        *hours
            .entry((hour, top(&t.category).to_owned(), t.district.clone()))
            .or_insert(0) += 1;
        touched.note(top(&t.category), &t.district, t.received_at);
    }
    insert_many(
        c,
        "INSERT INTO insight_docs (order_id, order_no, at, district, category, department_code)",
        6,
        &doc_rows,
        "ON CONFLICT (order_id) DO NOTHING",
    )?;
    insert_many(
        c,
        "INSERT INTO insight_terms (order_id, term, tf)",
        3,
        &term_rows,
        "ON CONFLICT (order_id, term) DO NOTHING",
    )?;
    let rows: Vec<Value> = term_days
        .into_iter()
        .flat_map(|((day, scope, term), n)| {
            [
                Value::from(day),
                Value::from(scope),
                Value::from(term),
                Value::from(n),
            ]
        })
        .collect();
    insert_many(
        c,
        "INSERT INTO insight_term_days (day, scope, term, n)",
        4,
        &rows,
        "ON CONFLICT (day, scope, term) DO UPDATE SET n = insight_term_days.n + excluded.n",
    )?;
    for ((day, scope), n) in doc_days {
        c.execute(
            "INSERT INTO insight_doc_days (day, scope, n) VALUES ($1, $2, $3)
             ON CONFLICT (day, scope) DO UPDATE SET n = insight_doc_days.n + excluded.n",
            params![day, scope, n],
        )?;
    }
    let rows: Vec<Value> = df
        .into_iter()
        .flat_map(|(term, (n, first))| [Value::from(term), Value::from(n), Value::from(first)])
        .collect();
    insert_many(
        c,
        "INSERT INTO insight_df (term, n, first_at)",
        3,
        &rows,
        "ON CONFLICT (term) DO UPDATE SET n = insight_df.n + excluded.n,
            first_at = CASE WHEN excluded.first_at < insight_df.first_at THEN excluded.first_at ELSE insight_df.first_at END",
    )?;
    let rows: Vec<Value> = term_districts
        .into_iter()
        .flat_map(|((term, district), first)| {
            [Value::from(term), Value::from(district), Value::from(first)]
        })
        .collect();
    insert_many(
        c,
        "INSERT INTO insight_term_districts (term, district, first_at)",
        3,
        &rows,
        "ON CONFLICT (term, district) DO UPDATE SET
            first_at = CASE WHEN excluded.first_at < insight_term_districts.first_at THEN excluded.first_at ELSE insight_term_districts.first_at END",
    )?;
    let rows: Vec<Value> = hours
        .into_iter()
        .flat_map(|((hour, cat, district), n)| {
            [
                Value::from(hour),
                Value::from(cat),
                Value::from(district),
                Value::from(n),
            ]
        })
        .collect();
    insert_many(
        c,
        "INSERT INTO insight_hours (hour, category, district, n)",
        4,
        &rows,
        "ON CONFLICT (category, district, hour) DO UPDATE SET n = insight_hours.n + excluded.n",
    )?;
    Ok(touched)
}

/// As [`catch_up`], resting after each batch (see `followers::rest_after`): the worker's way,
/// so that a node catching up on imported history keeps serving requests.
pub async fn catch_up_paced(ctx: &Ctx) -> Result<usize, DbError> {
    let mut total = 0;
    loop {
        let started = std::time::Instant::now();
        match step(ctx).await? {
            0 => return Ok(total),
            n => total += n,
        }
        tongban_platform::followers::rest_after(started).await;
    }
}

/// Analyse everything not yet analysed (used by the CLI and tests).
pub async fn catch_up(ctx: &Ctx) -> Result<usize, DbError> {
    let mut total = 0;
    loop {
        match step(ctx).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
