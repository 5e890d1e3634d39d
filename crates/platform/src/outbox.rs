//! The outbox: events written in the same transaction as the change they tell of, and
//! claimed by workers afterwards. On PostgreSQL a claim uses `FOR UPDATE SKIP LOCKED`, so
//! several nodes never take the same event; on SQLite the single writer serializes claims.
//!
//! Delivery is at most once: a claim is recorded before delivery starts. A failure the
//! deliverer *knows* happened before anything was sent is retried with backoff; an event
//! whose worker died mid-delivery keeps its expired claim and is not sent again (an operator
//! sees it in `GET /metrics` as `tongban_outbox_abandoned`).

use crate::db::{Conn, DbError, Engine};
use crate::params;

/// How many times a failing event is tried before it is given up.
pub const MAX_ATTEMPTS: i64 = 8;

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    /// Encrypted with the data keys (events carry contact details).
    pub payload: String,
    pub attempts: i64,
}

/// Add an event; call inside the transaction that makes the change.
pub fn enqueue(
    c: &mut dyn Conn,
    kind: &str,
    subject: &str,
    payload: &serde_json::Value,
    now: i64,
) -> Result<(), DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    let sealed = keys.encrypt(&payload.to_string()).map_err(DbError::from)?;
    // Nothing waits for its answer: it travels with the job's next statement.
    c.execute_later(
        "INSERT INTO outbox (kind, subject, payload, created_at, next_at) VALUES ($1, $2, $3, $4, $4)",
        params![kind, subject, sealed, now],
    )
}

/// Claim up to `limit` due events for `lease_ms`.
pub fn claim(c: &mut dyn Conn, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    let lock = if c.engine() == Engine::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox WHERE done_at IS NULL AND claimed_until = 0 AND next_at <= $2
                      ORDER BY next_at, id LIMIT $3{lock})
         RETURNING id, kind, subject, payload, attempts"
    );
    let rows = c.query(&sql, params![now + lease_ms, now, limit])?;
    let mut v = rows
        .iter()
        .map(|r| {
            Ok(Event {
                id: r.get_i64("id")?,
                kind: r.get_str("kind")?,
                subject: r.get_str("subject")?,
                payload: r.get_str("payload")?,
                attempts: r.get_i64("attempts")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    v.sort_by_key(|e| e.id);
    Ok(v)
}

pub fn delivered(c: &mut dyn Conn, id: i64, now: i64) -> Result<(), DbError> {
    c.execute(
        "UPDATE outbox SET done_at = $1, last_error = NULL WHERE id = $2",
        params![now, id],
    )?;
    Ok(())
}

/// Nothing was sent: try again later (exponential backoff from 10 s, at most an hour), or
/// give up after [`MAX_ATTEMPTS`].
pub fn failed(
    c: &mut dyn Conn,
    id: i64,
    attempts: i64,
    now: i64,
    error: &str,
) -> Result<(), DbError> {
    if attempts >= MAX_ATTEMPTS {
        c.execute(
            "UPDATE outbox SET done_at = $1, last_error = $2 WHERE id = $3",
            params![now, format!("given up: {error}"), id],
        )?;
        // Given up: listed for supervisors, and `tongban followers retry` sends it again.
        crate::followers::quarantine(c, FOLLOWER, &id.to_string(), error, now)?;
    } else {
        c.execute(
            "UPDATE outbox SET claimed_until = 0, next_at = $1, last_error = $2 WHERE id = $3",
            params![now + backoff_ms(attempts), error, id],
        )?;
    }
    Ok(())
}

/// The outbox's name in the quarantine and in `/metrics`.
pub const FOLLOWER: &str = "outbox";

/// Put the given-up events marked for retry back in the queue; how many.
pub fn requeue_marked(c: &mut dyn Conn, now: i64) -> Result<usize, DbError> {
    let ids = crate::followers::to_retry(c, FOLLOWER, 1000)?;
    for r in &ids {
        if let Ok(id) = r.parse::<i64>() {
            c.execute(
                "UPDATE outbox SET done_at = NULL, attempts = 0, claimed_until = 0, next_at = $1 WHERE id = $2",
                params![now, id],
            )?;
        }
        crate::followers::release(c, FOLLOWER, r)?;
    }
    Ok(ids.len())
}

/// Seconds the oldest due, undelivered event has waited (0 when none waits).
pub fn lag_seconds(c: &mut dyn Conn, now: i64) -> Result<i64, DbError> {
    Ok(c.query_one(
        "SELECT MIN(next_at) AS t FROM outbox WHERE done_at IS NULL AND next_at <= $1",
        params![now],
    )?
    .get_opt_i64("t")?
    .map_or(0, |t| (now - t).max(0) / 1000))
}

pub fn backoff_ms(attempts: i64) -> i64 {
    (10_000i64 << attempts.clamp(0, 12)).min(3_600_000)
}

/// (pending, abandoned) counts for metrics.
pub fn counts(c: &mut dyn Conn, now: i64) -> Result<(i64, i64), DbError> {
    let r = c.query_one(
        "SELECT COALESCE(SUM(CASE WHEN claimed_until = 0 THEN 1 ELSE 0 END), 0) AS pending,
                COALESCE(SUM(CASE WHEN claimed_until > 0 AND claimed_until < $1 THEN 1 ELSE 0 END), 0) AS abandoned
         FROM outbox WHERE done_at IS NULL",
        params![now],
    )?;
    Ok((r.get_i64("pending")?, r.get_i64("abandoned")?))
}

/// Per kind of event: how many were delivered, are waiting to be tried again after a
/// failure (retrying), and were given up (a refusal, or too many failures), and how many
/// failed tries there were in all (a try that succeeded or is under way is not one).
pub fn outcomes(c: &mut dyn Conn) -> Result<Vec<(String, [i64; 4])>, DbError> {
    c.query(
        "SELECT kind,
                COALESCE(SUM(CASE WHEN done_at IS NOT NULL AND last_error IS NULL THEN 1 ELSE 0 END), 0) AS delivered,
                COALESCE(SUM(CASE WHEN done_at IS NULL AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS retrying,
                COALESCE(SUM(CASE WHEN done_at IS NOT NULL AND last_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS given_up,
                CAST(COALESCE(SUM(attempts - CASE WHEN (done_at IS NOT NULL AND last_error IS NULL)
                                              OR (done_at IS NULL AND claimed_until > 0) THEN 1 ELSE 0 END), 0) AS BIGINT) AS failures
         FROM outbox GROUP BY kind ORDER BY kind",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.get_str("kind")?,
            [
                r.get_i64("delivered")?,
                r.get_i64("retrying")?,
                r.get_i64("given_up")?,
                r.get_i64("failures")?,
            ],
        ))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1), 20_000);
        assert!(backoff_ms(3) > backoff_ms(2));
        assert_eq!(backoff_ms(40), 3_600_000);
    }
}
