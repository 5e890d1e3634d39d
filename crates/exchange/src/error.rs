//! Everything that can go wrong in the exchange room, as one enum; [`From<ExchangeError> for
//! ApiError`] gives each its HTTP status and code in one place.

use axum::http::StatusCode;
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The caller may not do this (a role or department it lacks).
    #[error("{0}")]
    Forbidden(String),
    /// No such service (or provider).
    #[error("{0}")]
    ServiceNotFound(String),
    /// No such grant or access request.
    #[error("{0}")]
    NotFound(String),
    /// The consumer holds no grant for the service.
    #[error("{0}")]
    NoGrant(String),
    /// The consumer's grant ran out.
    #[error("{0}")]
    GrantExpired(String),
    /// The consumer holds grants for the service, but not for this purpose.
    #[error("{0}")]
    PurposeNotGranted(String),
    /// The request does not match the service's request schema.
    #[error("{message}")]
    InvalidRequest { field: String, message: String },
    /// The signature, its key or the signed headers are missing or wrong.
    #[error("{0}")]
    BadSignature(String),
    /// A message id seen before (a replay), or a clock too far off.
    #[error("{0}")]
    Replayed(String),
    /// A service definition, grant or registry file that cannot be accepted.
    #[error("{0}")]
    Invalid(String),
    /// A registry file with bad rows (all are listed; nothing was loaded).
    #[error("{}", .0.join("; "))]
    BadRows(Vec<String>),
    /// A 不予共享 resource is never granted.
    #[error("{0}")]
    NotShareable(String),
    /// The deployment has no SM2 signing key.
    #[error("{0}")]
    NoSigningKey(String),
    /// An access request decided before.
    #[error("{0}")]
    AlreadyDecided(String),
    /// A grant revoked before.
    #[error("{0}")]
    AlreadyRevoked(String),
    /// The provider's backend (an external service) failed or timed out.
    #[error("{0}")]
    Upstream(String),
}

impl From<ExchangeError> for ApiError {
    fn from(e: ExchangeError) -> ApiError {
        let (status, code, message) = match e {
            ExchangeError::Db(d) => return d.into(),
            ExchangeError::InvalidRequest { field, message } => {
                return ApiError::unprocessable("invalid_request", message)
                    .with_fields(serde_json::json!({ field: "does not match the schema" }));
            }
            ExchangeError::BadRows(rows) => {
                return ApiError::unprocessable("bad_rows", rows.join("; "))
                    .with_fields(serde_json::json!({ "rows": rows }));
            }
            ExchangeError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            ExchangeError::ServiceNotFound(m) => (StatusCode::NOT_FOUND, "service_not_found", m),
            ExchangeError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ExchangeError::NoGrant(m) => (StatusCode::FORBIDDEN, "no_grant", m),
            ExchangeError::GrantExpired(m) => (StatusCode::FORBIDDEN, "grant_expired", m),
            ExchangeError::PurposeNotGranted(m) => {
                (StatusCode::FORBIDDEN, "purpose_not_granted", m)
            }
            ExchangeError::BadSignature(m) => (StatusCode::BAD_REQUEST, "bad_signature", m),
            ExchangeError::Replayed(m) => (StatusCode::CONFLICT, "replayed", m),
            ExchangeError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            ExchangeError::NotShareable(m) => (StatusCode::CONFLICT, "not_shareable", m),
            ExchangeError::NoSigningKey(m) => {
                (StatusCode::SERVICE_UNAVAILABLE, "no_signing_key", m)
            }
            ExchangeError::Upstream(m) => (StatusCode::BAD_GATEWAY, "upstream_failed", m),
            ExchangeError::AlreadyDecided(m) => (StatusCode::CONFLICT, "already_decided", m),
            ExchangeError::AlreadyRevoked(m) => (StatusCode::CONFLICT, "already_revoked", m),
        };
        ApiError::new(status, code, message)
    }
}

impl ExchangeError {
    /// The code the message log records for a refused call.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::Db(_) => "internal",
            ExchangeError::Forbidden(_) => "forbidden",
            ExchangeError::ServiceNotFound(_) => "service_not_found",
            ExchangeError::NotFound(_) => "not_found",
            ExchangeError::NoGrant(_) => "no_grant",
            ExchangeError::GrantExpired(_) => "grant_expired",
            ExchangeError::PurposeNotGranted(_) => "purpose_not_granted",
            ExchangeError::InvalidRequest { .. } => "invalid_request",
            ExchangeError::BadSignature(_) => "bad_signature",
            ExchangeError::Replayed(_) => "replayed",
            ExchangeError::Invalid(_) => "invalid",
            ExchangeError::BadRows(_) => "bad_rows",
            ExchangeError::NotShareable(_) => "not_shareable",
            ExchangeError::NoSigningKey(_) => "no_signing_key",
            ExchangeError::Upstream(_) => "upstream_failed",
            ExchangeError::AlreadyDecided(_) => "already_decided",
            ExchangeError::AlreadyRevoked(_) => "already_revoked",
        }
    }
}
