//! How open data is used, for the dataset pages, the data board and the evaluation: each
//! download (a file or a table dump) counted by dataset, each API call counted, per day, in
//! memory on the node that served it (no address, no token), added to `od_usage` by the
//! node's worker. The others read the totals through `stats::period`.

use std::collections::HashMap;
use std::sync::Mutex;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, Ctx};

/// (day, dataset, kind) → uses not yet written.
#[derive(Default)]
struct Pending(Mutex<HashMap<(String, String, &'static str), i64>>);

fn add(ctx: &Ctx, key: (String, String, &'static str), n: i64) {
    let pending = ctx.db.local::<Pending>();
    let mut g = match pending.0.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *g.entry(key).or_insert(0) += n;
}

/// Count one download of dataset `dataset`.
pub fn download(ctx: &Ctx, dataset: &str) {
    add(
        ctx,
        (ctx.today().to_string(), dataset.to_owned(), "download"),
        1,
    );
}

/// Count one API call.
pub fn api_call(ctx: &Ctx) {
    add(ctx, (ctx.today().to_string(), String::new(), "api"), 1);
}

/// Write the counted uses (the worker, every pass); on a failed write they are kept for
/// the next.
pub async fn flush(ctx: &Ctx) -> Result<(), DbError> {
    let taken: Vec<((String, String, &'static str), i64)> = {
        let pending = ctx.db.local::<Pending>();
        let mut g = match pending.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.drain().collect()
    };
    if taken.is_empty() {
        return Ok(());
    }
    let again = taken.clone();
    let written = ctx
        .db
        .write(move |c| {
            for ((day, dataset, kind), n) in &taken {
                c.execute(
                    "INSERT INTO od_usage (day, dataset_id, kind, n) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (day, dataset_id, kind) DO UPDATE SET n = od_usage.n + excluded.n",
                    params![day.as_str(), dataset.as_str(), *kind, *n],
                )?;
            }
            Ok(())
        })
        .await;
    if written.is_err() {
        for (k, n) in again {
            add(ctx, k, n);
        }
    }
    written
}

/// Downloads of dataset `id` so far.
pub fn of_dataset(c: &mut dyn Conn, id: &str) -> Result<i64, DbError> {
    c.query_one(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM od_usage
         WHERE dataset_id = $1 AND kind = 'download'",
        params![id],
    )?
    .get_i64("n")
}
