//! Login throttling kept in the database, so every node sees the same counts. An account is
//! locked for a while after repeated failures, counted once per account whatever identifier
//! was typed (phone or ID number). A source address that fails too often across accounts is
//! slowed to one attempt per [`ADDRESS_PACE_MS`] rather than refused, so other people behind
//! the same address still log in with their right passwords (after a wait of seconds).
//! Both answer 429 with `Retry-After`.

use crate::crypto::sm3_hex;
use crate::db::{Conn, DbError};
use crate::params;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Consecutive failures that lock an account.
    pub account_failures: i64,
    pub lock_ms: i64,
    /// Failures from one address within `address_window_ms` that pause that address.
    pub address_failures: i64,
    pub address_window_ms: i64,
}

/// The pace of an address over its failure limit: one attempt per this many milliseconds.
pub const ADDRESS_PACE_MS: i64 = 2_000;

/// Throttle keys for one login attempt: the account (by its id when it exists, so a phone
/// and an ID number share one counter; otherwise what was typed, hashed, so unknown
/// accounts are counted alike and no identifier is stored in clear) and the source address.
pub fn keys(kind: &str, account: Option<i64>, typed: &str, source: &str) -> (String, String) {
    let account = match account {
        Some(id) => format!("acct:{kind}:{id}"),
        None => format!(
            "acct:{}",
            sm3_hex(format!("{kind}:{}", typed.trim().to_lowercase()).as_bytes())
        ),
    };
    (account, format!("addr:{source}"))
}

/// Milliseconds until the attempt may be made, or `None` when it may go ahead now. An
/// address over its failure limit is admitted once per [`ADDRESS_PACE_MS`]; admitting it
/// takes its turn.
pub fn admit(
    c: &mut dyn Conn,
    account_key: &str,
    address_key: &str,
    limits: &Limits,
    now: i64,
) -> Result<Option<i64>, DbError> {
    if let Some(r) = c.query_opt(
        "SELECT locked_until FROM login_throttle WHERE key = $1",
        params![account_key],
    )? {
        let wait = r.get_i64("locked_until")? - now;
        if wait > 0 {
            return Ok(Some(wait));
        }
    }
    if let Some(r) = c.query_opt(
        "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
        params![address_key],
    )? {
        let end = r.get_i64("window_start")? + limits.address_window_ms;
        if r.get_i64("failures")? >= limits.address_failures && end > now {
            let next = r.get_i64("locked_until")?;
            if next > now {
                return Ok(Some(next - now));
            }
            c.execute(
                "UPDATE login_throttle SET locked_until = $2 WHERE key = $1",
                params![address_key, now + ADDRESS_PACE_MS],
            )?;
        }
    }
    Ok(None)
}

/// Count a failure against both keys; returns how long the account is now locked, if it is.
pub fn record_failure(
    c: &mut dyn Conn,
    account_key: &str,
    address_key: &str,
    limits: &Limits,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let row = c.query_one(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1 RETURNING failures",
        params![account_key, now],
    )?;
    let mut locked = None;
    if row.get_i64("failures")? >= limits.account_failures {
        c.execute(
            "UPDATE login_throttle SET failures = 0, locked_until = $2 WHERE key = $1",
            params![account_key, now + limits.lock_ms],
        )?;
        locked = Some(limits.lock_ms);
    }
    // The address window restarts once it has passed.
    c.execute(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN login_throttle.window_start + $3 < $2 THEN 1 ELSE login_throttle.failures + 1 END,
           window_start = CASE WHEN login_throttle.window_start + $3 < $2 THEN $2 ELSE login_throttle.window_start END",
        params![address_key, now, limits.address_window_ms],
    )?;
    Ok(locked)
}

/// A successful login clears the account's failures.
pub fn record_success(c: &mut dyn Conn, account_key: &str) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM login_throttle WHERE key = $1",
        params![account_key],
    )?;
    Ok(())
}

/// A fixed-window rate limit kept with the login counters (so every node sees it): count one
/// use of `key`; when more than `limit` fall in the current window of `window_ms`, the
/// milliseconds until the window ends.
pub fn hit(
    c: &mut dyn Conn,
    key: &str,
    limit: i64,
    window_ms: i64,
    now: i64,
) -> Result<Option<i64>, DbError> {
    // A window that has passed starts again at 1.
    let row = c.query_one(
        "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, 0)
         ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN login_throttle.window_start + $3 <= $2 THEN 1 ELSE login_throttle.failures + 1 END,
            window_start = CASE WHEN login_throttle.window_start + $3 <= $2 THEN $2 ELSE login_throttle.window_start END
         RETURNING failures, window_start",
        params![key, now, window_ms],
    )?;
    let used = row.get_i64("failures")?;
    let end = row.get_i64("window_start")? + window_ms;
    Ok((used > limit).then(|| (end - now).max(1)))
}

/// [`hit`] for a request path: 429 with `Retry-After` and a message naming what to wait for.
pub async fn limit(
    db: &crate::db::Db,
    key: String,
    limit: i64,
    window_ms: i64,
    what: &'static str,
) -> Result<(), crate::ApiError> {
    let now = crate::time::now_millis();
    match db
        .write(move |c| hit(c, &key, limit, window_ms, now))
        .await?
    {
        None => Ok(()),
        Some(wait) => Err(crate::ApiError::too_many(
            "rate_limited",
            format!(
                "too many {what} from here; try again in {} minutes",
                (wait + 59_999) / 60_000
            ),
            wait,
        )),
    }
}
