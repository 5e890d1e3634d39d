//! An account's phone: moved to a number proved by a texted code, and whether it was proved
//! (the codes themselves are in `crate::phone_codes`).

use super::SESSIONS_TOPIC;
use crate::db::{Conn, DbError};
use crate::params;

/// Move an account to a proved phone (`Err(DbError::Unique)` when another account has it).
pub fn set_citizen_phone(c: &mut dyn Conn, id: i64, phone: &str, now: i64) -> Result<(), DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    c.execute(
        "UPDATE accounts SET phone = $1, phone_bidx = $2, phone_verified_at = $3 WHERE id = $4",
        params![
            keys.encrypt(phone).map_err(DbError::from)?,
            keys.blind("phone", phone),
            now,
            id
        ],
    )?;
    // Nodes holding this citizen's identity (forms fill the phone in) read it again.
    c.announce(SESSIONS_TOPIC)?;
    Ok(())
}

/// Whether the account's phone was proved by a texted code.
pub fn phone_verified(c: &mut dyn Conn, id: i64) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT phone_verified_at FROM accounts WHERE id = $1",
        params![id],
    )?
    .map(|r| r.get_opt_i64("phone_verified_at"))
    .transpose()?
    .flatten()
    .is_some())
}
