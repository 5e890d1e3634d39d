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

/// A session as stored (without its token).
#[derive(Debug, Clone, Copy)]
pub struct SessionRow {
    subject: i64,
    last_seen: i64,
    idle_ms: i64,
    expires_at: i64,
}

impl SessionRow {
    /// What the session is worth at `now`.
    pub fn state(&self, now: i64) -> SessionState {
        if now > self.last_seen + self.idle_ms || now > self.expires_at {
            return SessionState::Expired;
        }
        SessionState::Valid {
            subject: self.subject,
            needs_touch: now - self.last_seen > TOUCH_EVERY_MS,
        }
    }
}

/// The stored session of `kind` whose token has the digest `key`.
pub fn session_row(
    c: &mut dyn Conn,
    kind: SessionKind,
    key: &str,
) -> Result<Option<SessionRow>, DbError> {
    c.query_opt(
        "SELECT subject_id, last_seen_at, idle_ms, expires_at FROM sessions WHERE token_hash = $1 AND kind = $2",
        params![key, kind.as_str()],
    )?
    .map(|r| {
        Ok(SessionRow {
            subject: r.get_i64("subject_id")?,
            last_seen: r.get_i64("last_seen_at")?,
            idle_ms: r.get_i64("idle_ms")?,
            expires_at: r.get_i64("expires_at")?,
        })
    })
    .transpose()
}

/// The digest under which a token's session is stored.
pub fn session_key(token: &str) -> String {
    sm3_hex(token.as_bytes())
}

pub fn check_session(
    c: &mut dyn Conn,
    kind: SessionKind,
    token: &str,
    now: i64,
) -> Result<SessionState, DbError> {
    Ok(session_row(c, kind, &session_key(token))?.map_or(SessionState::Unknown, |s| s.state(now)))
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
    // Every node forgets the sessions it holds in memory (see `SessionCache`).
    c.announce(SESSIONS_TOPIC)?;
    row.map(|r| Ok((r.get_str("kind")?, r.get_i64("subject_id")?)))
        .transpose()
}

/// What writes that end sessions announce.
pub const SESSIONS_TOPIC: &str = "sessions";

/// Sessions held in memory at most; past it the cache starts again.
const CACHE_CAPACITY: usize = 100_000;

/// Sessions this node has checked, so that a request's session check costs no trip to the
/// database. Kept under the database's announced-change generation
/// ([`crate::db::Db::cache_generation`]): every write that ends sessions (logout, a
/// password change) announces itself, and every node then forgets all it holds (the writing
/// node at once, the others when the notification arrives). Only a session that is valid
/// is answered from memory: one that looks idle-expired is asked of the database again, as
/// another node may have seen it since. Nothing is held where the database gives no
/// generation (SQLite, or a node not listening).
#[derive(Default)]
pub struct SessionCache {
    slot: std::sync::Mutex<CacheSlot>,
}

#[derive(Default)]
struct CacheSlot {
    generation: u64,
    sessions: std::collections::HashMap<(String, &'static str), SessionRow>,
}

impl SessionCache {
    /// The session of `kind` under digest `key` if held at `generation`, valid at `now`.
    pub fn valid(
        &self,
        generation: u64,
        kind: SessionKind,
        key: &str,
        now: i64,
    ) -> Option<SessionState> {
        let slot = self.slot.lock().ok()?;
        if slot.generation != generation {
            return None;
        }
        let row = slot.sessions.get(&(key.to_owned(), kind.as_str()))?;
        match row.state(now) {
            s @ SessionState::Valid { .. } => Some(s),
            _ => None,
        }
    }

    /// Hold `row`, read when the generation was `generation`, if it still is (`current`).
    pub fn keep(
        &self,
        generation: u64,
        current: Option<u64>,
        kind: SessionKind,
        key: String,
        row: SessionRow,
    ) {
        if current != Some(generation) {
            return;
        }
        let Ok(mut slot) = self.slot.lock() else {
            return;
        };
        if slot.generation != generation || slot.sessions.len() >= CACHE_CAPACITY {
            slot.sessions.clear();
            slot.generation = generation;
        }
        slot.sessions.insert((key, kind.as_str()), row);
    }

    /// The session under `key` was used at `now` and its `last_seen_at` written.
    pub fn touched(&self, kind: SessionKind, key: &str, now: i64) {
        if let Ok(mut slot) = self.slot.lock() {
            if let Some(row) = slot.sessions.get_mut(&(key.to_owned(), kind.as_str())) {
                row.last_seen = now;
            }
        }
    }
}
