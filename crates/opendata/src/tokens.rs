//! Publishers' API tokens: made by a `data_publisher` on the staff console's API, shown once,
//! kept as their SM3 digest, valid until they expire or are revoked, and checked against the
//! account's roles at every use (a publisher who loses the role loses its tokens' power).

use serde::Serialize;
use tongban_platform::crypto::{random_token, sm3_hex};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::identity::{self, Role, Staff};
use tongban_platform::params;

/// What every token starts with (so a leaked one is recognisable in logs and scanners).
pub const PREFIX: &str = "tbod_";

/// The longest a token lives, in days.
pub const MAX_DAYS: i64 = 366;

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    pub last_used_at: Option<i64>,
}

/// A new token for `staff_id`; (its id, the token itself: shown once).
pub fn create(
    c: &mut dyn Conn,
    staff_id: i64,
    name: &str,
    days: i64,
    now: i64,
) -> Result<(i64, String), DbError> {
    let token = format!("{PREFIX}{}", random_token());
    let row = c.query_one(
        "INSERT INTO od_tokens (digest, staff_id, name, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![
            sm3_hex(token.as_bytes()),
            staff_id,
            name,
            now,
            now + days.clamp(1, MAX_DAYS) * 86_400_000
        ],
    )?;
    Ok((row.get_i64("id")?, token))
}

pub fn list(c: &mut dyn Conn, staff_id: i64) -> Result<Vec<Token>, DbError> {
    c.query(
        "SELECT id, name, created_at, expires_at, revoked_at, last_used_at FROM od_tokens
         WHERE staff_id = $1 ORDER BY id DESC LIMIT 100",
        params![staff_id],
    )?
    .iter()
    .map(|r| {
        Ok(Token {
            id: r.get_i64("id")?,
            name: r.get_str("name")?,
            created_at: r.get_i64("created_at")?,
            expires_at: r.get_i64("expires_at")?,
            revoked: r.get_opt_i64("revoked_at")?.is_some(),
            last_used_at: r.get_opt_i64("last_used_at")?,
        })
    })
    .collect()
}

/// Revoke one of `staff_id`'s tokens; whether there was one to revoke.
pub fn revoke(c: &mut dyn Conn, staff_id: i64, id: i64, now: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE od_tokens SET revoked_at = $1 WHERE id = $2 AND staff_id = $3 AND revoked_at IS NULL",
        params![now, id, staff_id],
    )? > 0)
}

/// The publisher a token stands for, if it is valid now and its account still publishes.
pub fn publisher(c: &mut dyn Conn, token: &str, now: i64) -> Result<Option<Staff>, DbError> {
    if !token.starts_with(PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let Some(r) = c.query_opt(
        "SELECT id, staff_id FROM od_tokens WHERE digest = $1 AND revoked_at IS NULL AND expires_at > $2",
        params![sm3_hex(token.as_bytes()), now],
    )?
    else {
        return Ok(None);
    };
    let staff = identity::get_staff(c, r.get_i64("staff_id")?)?;
    Ok(staff.filter(|s| s.has(Role::DataPublisher)))
}

/// Note a token's use (at most once a minute per token: reads stay reads).
pub fn used(c: &mut dyn Conn, token: &str, now: i64) -> Result<(), DbError> {
    c.execute(
        "UPDATE od_tokens SET last_used_at = $1 WHERE digest = $2
         AND (last_used_at IS NULL OR last_used_at < $3)",
        params![now, sm3_hex(token.as_bytes()), now - 60_000],
    )?;
    Ok(())
}
