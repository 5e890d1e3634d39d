//! Sessions: a random token handed to the browser or client, kept only as its SM3 digest,
//! ending after a fixed lifetime or an idle time, touched at most once a minute.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Citizen,
    Staff,
}

impl SessionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionKind::Citizen => "citizen",
            SessionKind::Staff => "staff",
        }
    }
}

/// Absolute session lifetime, whatever the activity.
const MAX_SESSION_MS: i64 = 12 * 3600 * 1000;
/// Refresh `last_seen_at` at most this often, to keep reads from becoming writes.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// Create a session and return its bearer token (only its SM3 hash is stored).
pub fn create_session(
    c: &mut dyn Conn,
    kind: SessionKind,
    subject: i64,
    idle_minutes: i64,
) -> Result<String, DbError> {
    let token = random_token();
    let now = crate::time::now_millis();
    c.execute(
        "INSERT INTO sessions (token_hash, kind, subject_id, created_at, last_seen_at, idle_ms, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
        params![sm3_hex(token.as_bytes()), kind.as_str(), subject, now, idle_minutes * 60_000, now + MAX_SESSION_MS],
    )?;
    Ok(token)
}

pub enum SessionState {
    Valid { subject: i64, needs_touch: bool },
    Expired,
    Unknown,
}

pub fn check_session(
    c: &mut dyn Conn,
    kind: SessionKind,
    token: &str,
    now: i64,
) -> Result<SessionState, DbError> {
    let row = c.query_opt(
        "SELECT subject_id, last_seen_at, idle_ms, expires_at FROM sessions WHERE token_hash = $1 AND kind = $2",
        params![sm3_hex(token.as_bytes()), kind.as_str()],
    )?;
    let Some(r) = row else {
        return Ok(SessionState::Unknown);
    };
    let last = r.get_i64("last_seen_at")?;
    if now > last + r.get_i64("idle_ms")? || now > r.get_i64("expires_at")? {
        return Ok(SessionState::Expired);
    }
    Ok(SessionState::Valid {
        subject: r.get_i64("subject_id")?,
        needs_touch: now - last > TOUCH_EVERY_MS,
    })
}

pub fn touch_session(c: &mut dyn Conn, token: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
        params![sm3_hex(token.as_bytes()), now],
    )?;
    Ok(())
}

/// End a session; the kind and subject it belonged to, if it existed.
pub fn delete_session(c: &mut dyn Conn, token: &str) -> Result<Option<(String, i64)>, DbError> {
    let key = sm3_hex(token.as_bytes());
    let row = c.query_opt(
        "SELECT kind, subject_id FROM sessions WHERE token_hash = $1",
        params![key.as_str()],
    )?;
    c.execute("DELETE FROM sessions WHERE token_hash = $1", params![key])?;
    row.map(|r| Ok((r.get_str("kind")?, r.get_i64("subject_id")?)))
        .transpose()
}
