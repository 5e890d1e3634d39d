//! How often certificates are checked, for the data-centre board: each check counted in
//! memory on the node that answered it (a count per day and outcome, no code, no address),
//! added to `certificate_checks` by the node's worker.

use std::collections::HashMap;
use std::sync::Mutex;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::{params, Ctx};

/// (day, status) → checks not yet written.
type Counts = HashMap<(String, &'static str), i64>;

/// Per database (a process may serve several in tests), the checks not yet written.
static PENDING: Mutex<Option<HashMap<String, Counts>>> = Mutex::new(None);

/// Count one check of a certificate on `day` with its outcome.
pub fn record(db: &str, day: String, status: &'static str) {
    add(db, day, status, 1);
}

fn add(db: &str, day: String, status: &'static str, n: i64) {
    let mut guard = match PENDING.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    *guard
        .get_or_insert_with(HashMap::new)
        .entry(db.to_owned())
        .or_default()
        .entry((day, status))
        .or_insert(0) += n;
}

/// Write the counted checks (the worker, every pass). On a failed write they are counted
/// again next time.
pub async fn flush(ctx: &Ctx) -> Result<(), DbError> {
    let taken = {
        let mut guard = match PENDING.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .as_mut()
            .and_then(|m| m.remove(&ctx.config.database_url))
            .unwrap_or_default()
    };
    if taken.is_empty() {
        return Ok(());
    }
    let again = taken.clone();
    let written = ctx
        .db
        .write(move |c| {
            for ((day, status), n) in taken {
                c.execute(
                    "INSERT INTO certificate_checks (day, status, n) VALUES ($1, $2, $3)
                     ON CONFLICT (day, status) DO UPDATE SET n = certificate_checks.n + excluded.n",
                    params![day, status, n],
                )?;
            }
            Ok(())
        })
        .await;
    if written.is_err() {
        for ((day, status), n) in again {
            add(&ctx.config.database_url, day, status, n);
        }
    }
    written
}

/// Checks from day `from` to day `to` (YYYY-MM-DD, both included): all, and those that
/// found the certificate valid.
pub fn between(c: &mut dyn Conn, from: &str, to: &str) -> Result<(i64, i64), DbError> {
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n,
                CAST(COALESCE(SUM(CASE WHEN status = 'valid' THEN n ELSE 0 END), 0) AS BIGINT) AS valid
         FROM certificate_checks WHERE day >= $1 AND day <= $2",
        params![from, to],
    )?;
    Ok((r.get_i64("n")?, r.get_i64("valid")?))
}
