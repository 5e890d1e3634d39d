//! The incremental analysis of messages: each new work order is segmented once, its terms
//! stored, and the per-day term counts, document frequencies and per-hour volumes updated in
//! event time (the time the citizen wrote, so imported history counts as if it had arrived
//! live). Then the warnings are evaluated for what the batch touched.

use crate::segment;
use crate::warnings::{self, Touched};
use chrono::TimeZone;
use std::collections::{BTreeMap, HashMap};
use tongban_hotline::orders::{texts_after, OrderText};
use tongban_platform::db::{Conn, DbError, Engine};
use tongban_platform::{params, Ctx};

/// Messages analysed per step.
pub const BATCH: i64 = 500;

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

async fn ensure_segmenter(ctx: &Ctx) -> Result<(), DbError> {
    static LOADED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if LOADED.get().is_some() {
        return Ok(());
    }
    let names = ctx
        .db
        .read(|c| {
            Ok(tongban_catalog::store::all(c)?
                .into_iter()
                .map(|m| m.name)
                .collect::<Vec<_>>())
        })
        .await?;
    segment::init(&names);
    let _ = LOADED.set(());
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
    let texts = ctx.db.read(move |c| texts_after(c, cursor, BATCH)).await?;
    if texts.is_empty() {
        return Ok(0);
    }
    let n = texts.len();
    // Segmentation is the costly part: it runs outside any transaction.
    let docs: Vec<(OrderText, BTreeMap<String, i64>)> = tokio_free_map(texts);
    let tz = ctx.tz;
    let touched = ctx.db.write(move |c| store(c, cursor, &docs, tz)).await?;
    let Some(touched) = touched else {
        return Ok(n); // another node took this batch
    };
    warnings::evaluate(ctx, &touched).await?;
    Ok(n)
}

fn tokio_free_map(texts: Vec<OrderText>) -> Vec<(OrderText, BTreeMap<String, i64>)> {
    texts
        .into_iter()
        .map(|t| {
            let terms = segment::terms(&format!("{} {}", t.title, t.content));
            (t, terms)
        })
        .collect()
}

/// Store a segmented batch if the cursor is still where it was read; returns what the batch
/// touched, for the warnings.
fn store(
    c: &mut dyn Conn,
    cursor: i64,
    docs: &[(OrderText, BTreeMap<String, i64>)],
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
    let mut term_days: HashMap<(String, String, String), i64> = HashMap::new();
    let mut doc_days: HashMap<(String, String), i64> = HashMap::new();
    let mut df: HashMap<String, (i64, i64)> = HashMap::new();
    let mut term_districts: HashMap<(String, String), i64> = HashMap::new();
    let mut hours: HashMap<(i64, String, String), i64> = HashMap::new();
    let mut touched = Touched::default();
    for (t, terms) in docs {
        c.execute(
            "INSERT INTO insight_docs (order_id, order_no, at, district, category, department_code) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (order_id) DO NOTHING",
            params![t.id, t.order_no.as_str(), t.received_at, t.district.as_str(), t.category.as_str(), t.department.as_deref()],
        )?;
        let day = day_of(t.received_at, tz);
        let mut scopes = vec!["city".to_owned(), format!("d:{}", t.district)];
        if let Some(d) = &t.department {
            scopes.push(format!("dept:{d}"));
        }
        for s in &scopes {
            *doc_days.entry((day.clone(), s.clone())).or_insert(0) += 1;
        }
        for (term, tf) in terms {
            c.execute(
                "INSERT INTO insight_terms (order_id, term, tf) VALUES ($1, $2, $3) ON CONFLICT (order_id, term) DO NOTHING",
                params![t.id, term.as_str(), *tf],
            )?;
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
    for ((day, scope, term), n) in term_days {
        c.execute(
            "INSERT INTO insight_term_days (day, scope, term, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (day, scope, term) DO UPDATE SET n = insight_term_days.n + excluded.n",
            params![day, scope, term, n],
        )?;
    }
    for ((day, scope), n) in doc_days {
        c.execute(
            "INSERT INTO insight_doc_days (day, scope, n) VALUES ($1, $2, $3)
             ON CONFLICT (day, scope) DO UPDATE SET n = insight_doc_days.n + excluded.n",
            params![day, scope, n],
        )?;
    }
    for (term, (n, first)) in df {
        c.execute(
            "INSERT INTO insight_df (term, n, first_at) VALUES ($1, $2, $3)
             ON CONFLICT (term) DO UPDATE SET n = insight_df.n + excluded.n,
                first_at = CASE WHEN excluded.first_at < insight_df.first_at THEN excluded.first_at ELSE insight_df.first_at END",
            params![term, n, first],
        )?;
    }
    for ((term, district), first) in term_districts {
        c.execute(
            "INSERT INTO insight_term_districts (term, district, first_at) VALUES ($1, $2, $3)
             ON CONFLICT (term, district) DO UPDATE SET
                first_at = CASE WHEN excluded.first_at < insight_term_districts.first_at THEN excluded.first_at ELSE insight_term_districts.first_at END",
            params![term, district, first],
        )?;
    }
    for ((hour, cat, district), n) in hours {
        c.execute(
            "INSERT INTO insight_hours (hour, category, district, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (category, district, hour) DO UPDATE SET n = insight_hours.n + excluded.n",
            params![hour, cat, district, n],
        )?;
    }
    let last = docs.last().map_or(cursor, |(t, _)| t.id);
    c.execute(
        "UPDATE insight_state SET value = $1 WHERE name = 'index_cursor'",
        params![last],
    )?;
    Ok(Some(touched))
}

/// Analyse everything not yet analysed (used by the worker and the CLI).
pub async fn catch_up(ctx: &Ctx) -> Result<usize, DbError> {
    let mut total = 0;
    loop {
        match step(ctx).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
