//! Login throttling kept in the database, so every node sees the same counts: an account is
//! locked for a while after repeated failures, and a source address that fails too often
//! across accounts is slowed down. Both answer 429 with `Retry-After`.

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

/// Throttle keys for one login attempt: the account as typed (hashed, so unknown accounts
/// are counted alike and no identifier is stored in clear) and the source address.
pub fn keys(kind: &str, account: &str, source: &str) -> (String, String) {
    (
        format!(
            "acct:{}",
            sm3_hex(format!("{kind}:{}", account.trim().to_lowercase()).as_bytes())
        ),
        format!("addr:{source}"),
    )
}

/// Milliseconds until the attempt may be made, or `None` when it may go ahead now.
pub fn blocked(
    c: &mut dyn Conn,
    account_key: &str,
    address_key: &str,
    limits: &Limits,
    now: i64,
) -> Result<Option<i64>, DbError> {
    let mut wait = 0;
    if let Some(r) = c.query_opt(
        "SELECT locked_until FROM login_throttle WHERE key = $1",
        params![account_key],
    )? {
        wait = wait.max(r.get_i64("locked_until")? - now);
    }
    if let Some(r) = c.query_opt(
        "SELECT failures, window_start FROM login_throttle WHERE key = $1",
        params![address_key],
    )? {
        let end = r.get_i64("window_start")? + limits.address_window_ms;
        if r.get_i64("failures")? >= limits.address_failures && end > now {
            wait = wait.max(end - now);
        }
    }
    Ok((wait > 0).then_some(wait))
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
