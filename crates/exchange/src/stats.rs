//! Figures of data sharing for insight (the data-centre board, the evaluation): the room's
//! `stats` door.

use serde::Serialize;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Figures {
    /// Services registered, and grants in force (now).
    pub services: i64,
    pub grants: i64,
    /// Exchanges in the period: answered, refused.
    pub answered: i64,
    pub refused: i64,
    /// Departments that asked or answered at least one exchange in the period.
    pub departments: Vec<String>,
}

/// The figures of `[start, end)` (milliseconds), with the grants in force at `now`.
pub fn period(c: &mut dyn Conn, start: i64, end: i64, now: i64) -> Result<Figures, DbError> {
    let services = crate::store::count(c)?;
    let grants = crate::grants::count_in_force(c, now)?;
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), 0) AS BIGINT) AS answered,
                CAST(COALESCE(SUM(CASE WHEN outcome <> 'ok' THEN 1 ELSE 0 END), 0) AS BIGINT) AS refused
         FROM exchange_log WHERE at >= $1 AND at < $2",
        params![start, end],
    )?;
    let mut departments = Vec::new();
    for r in c.query(
        "SELECT consumer AS d FROM exchange_log WHERE at >= $1 AND at < $2 AND outcome = 'ok'
         UNION SELECT provider AS d FROM exchange_log WHERE at >= $1 AND at < $2 AND outcome = 'ok'",
        params![start, end],
    )? {
        departments.push(r.get_str("d")?);
    }
    departments.sort();
    Ok(Figures {
        services,
        grants,
        answered: r.get_i64("answered")?,
        refused: r.get_i64("refused")?,
        departments,
    })
}
