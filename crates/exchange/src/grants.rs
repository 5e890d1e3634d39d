//! Who may call what, for which purpose, until when. Consumers ask with a purpose; the
//! provider's administrator grants per (service, consumer, purpose, validity); nothing is
//! allowed without a grant in force.

use crate::ExchangeError;
use serde::Serialize;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Grant {
    pub id: i64,
    pub provider: String,
    pub service: String,
    pub consumer: String,
    pub purpose: String,
    /// Milliseconds: the grant holds until then.
    pub valid_until: i64,
    pub granted_by: String,
    pub granted_at: i64,
    pub revoked_at: Option<i64>,
}

impl Grant {
    /// `active`, `expired` or `revoked` at `now`.
    pub fn state(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.valid_until < now {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccessRequest {
    pub id: i64,
    pub provider: String,
    pub service: String,
    pub consumer: String,
    pub purpose: String,
    pub reason: String,
    /// pending, granted or refused.
    pub state: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_note: Option<String>,
}

fn grant_of(r: &Row) -> Result<Grant, DbError> {
    Ok(Grant {
        id: r.get_i64("id")?,
        provider: r.get_str("provider")?,
        service: r.get_str("service")?,
        consumer: r.get_str("consumer")?,
        purpose: r.get_str("purpose")?,
        valid_until: r.get_i64("valid_until")?,
        granted_by: r.get_str("granted_by")?,
        granted_at: r.get_i64("granted_at")?,
        revoked_at: r.get_opt_i64("revoked_at")?,
    })
}

fn request_of(r: &Row) -> Result<AccessRequest, DbError> {
    Ok(AccessRequest {
        id: r.get_i64("id")?,
        provider: r.get_str("provider")?,
        service: r.get_str("service")?,
        consumer: r.get_str("consumer")?,
        purpose: r.get_str("purpose")?,
        reason: r.get_str("reason")?,
        state: r.get_str("state")?,
        requested_by: r.get_str("requested_by")?,
        requested_at: r.get_i64("requested_at")?,
        decided_by: r.get_opt_str("decided_by")?,
        decided_at: r.get_opt_i64("decided_at")?,
        decision_note: r.get_opt_str("decision_note")?,
    })
}

/// A purpose: what the data is for, 2-100 characters.
pub fn check_purpose(p: &str) -> Result<String, ExchangeError> {
    let p = p.trim();
    if (2..=100).contains(&p.chars().count()) {
        Ok(p.to_owned())
    } else {
        Err(ExchangeError::Invalid(
            "purpose must say what the data is for, in 2-100 characters (for example 办件核验)"
                .into(),
        ))
    }
}

/// Whether `consumer` may call the service for `purpose` at `now`.
pub fn authorize(
    c: &mut dyn Conn,
    provider: &str,
    service: &str,
    consumer: &str,
    purpose: &str,
    now: i64,
) -> Result<(), ExchangeError> {
    let held = c.query(
        "SELECT purpose, valid_until FROM exchange_grants
         WHERE provider = $1 AND service = $2 AND consumer = $3 AND revoked_at IS NULL",
        params![provider, service, consumer],
    )?;
    if held.is_empty() {
        return Err(ExchangeError::NoGrant(format!(
            "{consumer} holds no grant for {provider}/{service}: ask the provider for access \
             (POST /api/v1/staff/exchange/requests)"
        )));
    }
    let mut expired = None;
    for r in &held {
        if r.get_str("purpose")? == purpose {
            let until = r.get_i64("valid_until")?;
            if until > now {
                return Ok(());
            }
            expired = Some(until);
        }
    }
    match expired {
        Some(_) => Err(ExchangeError::GrantExpired(format!(
            "the grant of {provider}/{service} to {consumer} for {purpose:?} has expired: ask for it again"
        ))),
        None => Err(ExchangeError::PurposeNotGranted(format!(
            "{consumer} may call {provider}/{service}, but not for {purpose:?}: ask for access for this purpose"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn request(
    c: &mut dyn Conn,
    provider: &str,
    service: &str,
    consumer: &str,
    purpose: &str,
    reason: &str,
    by: &str,
    now: i64,
) -> Result<i64, DbError> {
    c.query_one(
        "INSERT INTO exchange_access_requests (provider, service, consumer, purpose, reason, state, requested_by, requested_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
        params![provider, service, consumer, purpose, reason, by, now],
    )?
    .get_i64("id")
}

pub fn get_request(c: &mut dyn Conn, id: i64) -> Result<Option<AccessRequest>, DbError> {
    c.query_opt(
        "SELECT * FROM exchange_access_requests WHERE id = $1",
        params![id],
    )?
    .map(|r| request_of(&r))
    .transpose()
}

/// Requests to a provider (`to`) or from a consumer, newest first, with their total.
pub fn requests(
    c: &mut dyn Conn,
    department: &str,
    to: bool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<AccessRequest>, i64), DbError> {
    let col = if to { "provider" } else { "consumer" };
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM exchange_access_requests WHERE {col} = $1"),
            params![department],
        )?
        .get_i64("n")?;
    let rows = c.query(
        &format!(
            "SELECT * FROM exchange_access_requests WHERE {col} = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
        ),
        params![department, limit, offset],
    )?;
    Ok((
        rows.iter().map(request_of).collect::<Result<_, _>>()?,
        total,
    ))
}

/// Close a pending request as granted or refused.
pub fn decide(
    c: &mut dyn Conn,
    id: i64,
    granted: bool,
    by: &str,
    note: &str,
    now: i64,
) -> Result<bool, DbError> {
    let state = if granted { "granted" } else { "refused" };
    Ok(c.execute(
        "UPDATE exchange_access_requests SET state = $1, decided_by = $2, decided_at = $3, decision_note = $4
         WHERE id = $5 AND state = 'pending'",
        params![state, by, now, note, id],
    )? == 1)
}

#[allow(clippy::too_many_arguments)]
pub fn grant(
    c: &mut dyn Conn,
    provider: &str,
    service: &str,
    consumer: &str,
    purpose: &str,
    valid_until: i64,
    by: &str,
    now: i64,
) -> Result<i64, DbError> {
    c.query_one(
        "INSERT INTO exchange_grants (provider, service, consumer, purpose, valid_until, granted_by, granted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![provider, service, consumer, purpose, valid_until, by, now],
    )?
    .get_i64("id")
}

pub fn get_grant(c: &mut dyn Conn, id: i64) -> Result<Option<Grant>, DbError> {
    c.query_opt("SELECT * FROM exchange_grants WHERE id = $1", params![id])?
        .map(|r| grant_of(&r))
        .transpose()
}

pub fn revoke(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE exchange_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        params![now, id],
    )? == 1)
}

/// Grants a department gave (`by_provider`) or holds, newest first, with their total.
pub fn grants(
    c: &mut dyn Conn,
    department: &str,
    by_provider: bool,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Grant>, i64), DbError> {
    let col = if by_provider { "provider" } else { "consumer" };
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM exchange_grants WHERE {col} = $1"),
            params![department],
        )?
        .get_i64("n")?;
    let rows = c.query(
        &format!(
            "SELECT * FROM exchange_grants WHERE {col} = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"
        ),
        params![department, limit, offset],
    )?;
    Ok((rows.iter().map(grant_of).collect::<Result<_, _>>()?, total))
}

/// Grants in force (for the data-centre figures).
pub fn count_in_force(c: &mut dyn Conn, now: i64) -> Result<i64, DbError> {
    c.query_one(
        "SELECT COUNT(*) AS n FROM exchange_grants WHERE revoked_at IS NULL AND valid_until > $1",
        params![now],
    )?
    .get_i64("n")
}

/// A service a department may call now, for a purpose (the choices of a data check).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Callable {
    pub provider: String,
    pub provider_name: String,
    pub service: String,
    pub service_name: String,
    pub purpose: String,
}

/// What `consumer` holds grants in force for, by provider and service.
pub fn callable(c: &mut dyn Conn, consumer: &str, now: i64) -> Result<Vec<Callable>, DbError> {
    c.query(
        "SELECT DISTINCT g.provider, COALESCE(d.name, g.provider) AS provider_name, g.service,
                s.name AS service_name, g.purpose
         FROM exchange_grants g
         JOIN exchange_services s ON s.provider = g.provider AND s.code = g.service
         LEFT JOIN departments d ON d.code = g.provider
         WHERE g.consumer = $1 AND g.revoked_at IS NULL AND g.valid_until > $2
         ORDER BY g.provider, g.service, g.purpose",
        params![consumer, now],
    )?
    .iter()
    .map(|r| {
        Ok(Callable {
            provider: r.get_str("provider")?,
            provider_name: r.get_str("provider_name")?,
            service: r.get_str("service")?,
            service_name: r.get_str("service_name")?,
            purpose: r.get_str("purpose")?,
        })
    })
    .collect()
}
