//! The room's one error, and how CKAN says it: `{"success": false, "error": {"__type": …,
//! "message": …}}` with CKAN's statuses (404 Not Found Error, 409 Validation Error, 403
//! Authorization Error), the fields' problems beside the message as CKAN lists them.

use std::collections::BTreeMap;
use tongban_platform::db::DbError;

/// Field → what is wrong with it (CKAN's shape of a validation error).
pub type Problems = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum OdError {
    #[error("{0}")]
    NotFound(String),
    #[error("{}", describe(.0))]
    Invalid(Problems),
    #[error("{0}")]
    Forbidden(String),
    /// A `q`, `fq` or `sort` that cannot be read.
    #[error("{0}")]
    Query(String),
    /// Too many calls: retry after this many seconds.
    #[error("too many calls: wait {0} s")]
    Throttled(u64),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn describe(p: &Problems) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}: {}", v.join("; ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One problem with one field.
pub fn invalid(field: &str, message: impl Into<String>) -> OdError {
    OdError::Invalid(BTreeMap::from([(field.to_owned(), vec![message.into()])]))
}

impl OdError {
    /// CKAN's status and `__type` for this error.
    pub fn ckan_type(&self) -> (u16, &'static str) {
        match self {
            OdError::NotFound(_) => (404, "Not Found Error"),
            OdError::Invalid(_) => (409, "Validation Error"),
            OdError::Forbidden(_) => (403, "Authorization Error"),
            OdError::Query(_) => (409, "Search Query Error"),
            OdError::Throttled(_) => (429, "Rate Limit Error"),
            OdError::Db(_) => (500, "Internal Server Error"),
        }
    }
}
