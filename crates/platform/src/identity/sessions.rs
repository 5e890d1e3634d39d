//! Sessions: a random token handed to the browser or client, kept only as its SM3 digest,
//! ending after a fixed lifetime or an idle time, touched at most once a minute.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

const SESSION_ROW: &str = "SELECT subject_id, last_seen_at, idle_ms, expires_at FROM sessions WHERE token_hash = $1 AND kind = $2";

fn session_from(r: &Row) -> Result<SessionRow, DbError> {
    Ok(SessionRow {
        subject: r.get_i64("subject_id")?,
        last_seen: r.get_i64("last_seen_at")?,
        idle_ms: r.get_i64("idle_ms")?,
        expires_at: r.get_i64("expires_at")?,
    })
}

/// The digest under which a token's session is stored.
fn session_key(token: &str) -> String {
    sm3_hex(token.as_bytes())
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
/// generation (a PostgreSQL node not listening).
pub struct SessionCache {
    held: crate::db::Held<(String, SessionKind), SessionRow>,
}

impl Default for SessionCache {
    fn default() -> SessionCache {
        SessionCache {
            held: crate::db::Held::new(CACHE_CAPACITY),
        }
    }
}

impl SessionCache {
    /// Whether the session of `kind` whose token is `token` is held at `generation`.
    pub fn holds(&self, generation: u64, kind: SessionKind, token: &str) -> bool {
        self.held
            .get(generation, &(session_key(token), kind))
            .is_some()
    }
}

/// The session of `kind` whose token is `token`, as it stands at `now`: one statement, or
/// none when this node holds the session ([`SessionCache`]).
pub async fn check_session(
    db: &crate::db::Db,
    kind: SessionKind,
    token: &str,
    now: i64,
) -> Result<SessionState, DbError> {
    let key = (session_key(token), kind);
    let cache = db.local::<SessionCache>();
    let generation = db.cache_generation();
    let held = generation.and_then(|g| cache.held.get(g, &key));
    if let Some(state @ SessionState::Valid { .. }) = held.map(|r| r.state(now)) {
        return Ok(state);
    }
    let answers = db
        .fetch(&[(SESSION_ROW, params![key.0.clone(), kind.as_str()])])
        .await?;
    let row = answers
        .first()
        .and_then(|rows| rows.first())
        .map(session_from)
        .transpose()?;
    // Kept only if nothing was announced while it was read.
    if let (Some(g), Some(r)) = (generation, row) {
        if db.cache_generation() == Some(g) {
            cache.held.keep(g, key, r);
        }
    }
    Ok(row.map_or(SessionState::Unknown, |r| r.state(now)))
}

/// Record that the session of `kind` whose token is `token` was used at `now`.
pub async fn touch_session(
    db: &crate::db::Db,
    kind: SessionKind,
    token: &str,
    now: i64,
) -> Result<(), DbError> {
    let key = session_key(token);
    let k = key.clone();
    db.write(move |c| {
        c.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
            params![k, now],
        )
    })
    .await?;
    db.local::<SessionCache>()
        .held
        .update(&(key, kind), |row| row.last_seen = now);
    Ok(())
}

/// Staff members as their sessions find them, held in memory beside the sessions
/// ([`SessionCache`]) and forgotten with them: what a staff member is (name, department,
/// roles) changes only through writes that announce a change (a department's upsert, a
/// password change), so a staff request's check costs no read once the member is held.
/// A write that changes a staff member's roles or department must announce
/// [`SESSIONS_TOPIC`].
pub struct StaffCache {
    held: crate::db::Held<i64, Staff>,
}

impl Default for StaffCache {
    fn default() -> StaffCache {
        StaffCache {
            held: crate::db::Held::new(CACHE_CAPACITY),
        }
    }
}

impl StaffCache {
    /// Whether staff member `id` is held at `generation`.
    pub fn holds(&self, generation: u64, id: i64) -> bool {
        self.held.get(generation, &id).is_some()
    }
}

/// Staff member `id`, from memory when held ([`StaffCache`]).
pub async fn staff_member(db: &crate::db::Db, id: i64) -> Result<Option<Staff>, DbError> {
    db.local::<StaffCache>()
        .held
        .through(db, id, || db.read(move |c| get_staff(c, id)))
        .await
}
