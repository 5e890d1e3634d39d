//! The quarantine of background followers (insight's analysis, the outbox, and those to
//! come). A follower that meets a row it cannot process records it here with the error and
//! moves past it: one bad row never stops the rows after it. Supervisors see the list on the
//! console, `/metrics` exports the count per follower, and `tongban followers retry` marks
//! rows to be tried again by their follower.

use crate::db::{Conn, DbError};
use crate::params;

/// A quarantined row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Quarantined {
    pub follower: String,
    pub row_ref: String,
    pub error: String,
    pub first_seen: i64,
    pub last_tried: i64,
    pub attempts: i64,
    pub retry: bool,
}

/// Record that `follower` could not process `row_ref` (again, if it was there already).
pub fn quarantine(
    c: &mut dyn Conn,
    follower: &str,
    row_ref: &str,
    error: &str,
    now: i64,
) -> Result<(), DbError> {
    // Errors name what went wrong, never the data: keep them short.
    let error: String = error.chars().take(500).collect();
    c.execute(
        "INSERT INTO follower_quarantine (follower, row_ref, error, first_seen, last_tried, attempts, retry)
         VALUES ($1, $2, $3, $4, $4, 1, FALSE)
         ON CONFLICT (follower, row_ref) DO UPDATE SET error = excluded.error, last_tried = excluded.last_tried,
            attempts = follower_quarantine.attempts + 1, retry = FALSE",
        params![follower, row_ref, error.as_str(), now],
    )?;
    Ok(())
}

/// A row processed after all: it leaves the quarantine.
pub fn release(c: &mut dyn Conn, follower: &str, row_ref: &str) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM follower_quarantine WHERE follower = $1 AND row_ref = $2",
        params![follower, row_ref],
    )?;
    Ok(())
}

/// Mark quarantined rows (of one follower, or all) to be tried again; how many.
pub fn mark_retry(c: &mut dyn Conn, follower: Option<&str>) -> Result<u64, DbError> {
    match follower {
        Some(f) => c.execute(
            "UPDATE follower_quarantine SET retry = TRUE WHERE follower = $1",
            params![f],
        ),
        None => c.execute("UPDATE follower_quarantine SET retry = TRUE", &[]),
    }
}

/// Rows of `follower` marked to be tried again, at most `limit`.
pub fn to_retry(c: &mut dyn Conn, follower: &str, limit: i64) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT row_ref FROM follower_quarantine WHERE follower = $1 AND retry ORDER BY row_ref LIMIT $2",
        params![follower, limit],
    )?
    .iter()
    .map(|r| r.get_str("row_ref"))
    .collect()
}

/// Quarantined rows per follower.
pub fn counts(c: &mut dyn Conn) -> Result<Vec<(String, i64)>, DbError> {
    c.query(
        "SELECT follower, COUNT(*) AS n FROM follower_quarantine GROUP BY follower ORDER BY follower",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get_str("follower")?, r.get_i64("n")?)))
    .collect()
}

/// One page of the quarantine, newest first, and the total.
pub fn list(c: &mut dyn Conn, limit: i64, offset: i64) -> Result<(Vec<Quarantined>, i64), DbError> {
    let total = c
        .query_one("SELECT COUNT(*) AS n FROM follower_quarantine", &[])?
        .get_i64("n")?;
    let items = c
        .query(
            "SELECT follower, row_ref, error, first_seen, last_tried, attempts, retry FROM follower_quarantine
             ORDER BY last_tried DESC, follower, row_ref LIMIT $1 OFFSET $2",
            params![limit, offset],
        )?
        .iter()
        .map(|r| {
            Ok(Quarantined {
                follower: r.get_str("follower")?,
                row_ref: r.get_str("row_ref")?,
                error: r.get_str("error")?,
                first_seen: r.get_i64("first_seen")?,
                last_tried: r.get_i64("last_tried")?,
                attempts: r.get_i64("attempts")?,
                retry: r.get_bool("retry")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    Ok((items, total))
}

/// The share of the time followers may take while they catch up (imported history, a restart
/// after downtime): after a piece of work that took `t` they rest `t × (1 − SHARE) / SHARE`,
/// so requests keep the database (SQLite's one writer) the rest of the time.
pub const SHARE: f64 = 0.1;

/// Rest after a piece of follower work that began at `started` (see [`SHARE`]).
pub async fn rest_after(started: std::time::Instant) {
    let t = started.elapsed();
    tokio::time::sleep(t.mul_f64((1.0 - SHARE) / SHARE)).await;
}
