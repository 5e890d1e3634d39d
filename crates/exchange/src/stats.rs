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

/// E-certificates of a period, for the data-centre board.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CertificateFigures {
    /// Issued in `[start, end)`, and of those revoked since.
    pub issued: i64,
    pub revoked: i64,
    /// Checks (QR scans, verify calls) on the days `from`..=`to`, and those finding the
    /// certificate valid.
    pub checked: i64,
    pub checked_valid: i64,
}

/// The certificates issued in `[start, end)` (milliseconds) and checked on the days
/// `from`..=`to` (YYYY-MM-DD).
pub fn certificates(
    c: &mut dyn Conn,
    start: i64,
    end: i64,
    from: &str,
    to: &str,
) -> Result<CertificateFigures, DbError> {
    let r = c.query_one(
        "SELECT COUNT(*) AS n,
                CAST(COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS revoked
         FROM certificates WHERE issued_at >= $1 AND issued_at < $2",
        params![start, end],
    )?;
    let (checked, checked_valid) = crate::checks::between(c, from, to)?;
    Ok(CertificateFigures {
        issued: r.get_i64("n")?,
        revoked: r.get_i64("revoked")?,
        checked,
        checked_valid,
    })
}
