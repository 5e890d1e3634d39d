//! The website group's one error: what went wrong with a site, an article or a disclosure
//! request, as the HTTP answer says it.

use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// A code (`no_such_article`, `unknown_action`, …) and what is missing.
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{0}")]
    Forbidden(String),
    /// A code (`invalid_article`, `invalid_request`), the message, and the fields to fix.
    #[error("{1}")]
    Invalid(&'static str, String, Vec<Problem>),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A field to fix: its name, a code pages translate (`field_error.{code}`), and the message.
pub type Problem = (String, &'static str, String);

/// One problem.
pub fn problem(field: &str, code: &'static str, message: impl Into<String>) -> Problem {
    (field.to_owned(), code, message.into())
}

impl PortalError {
    /// Field problems under `code`, with a message naming them all.
    pub fn invalid(code: &'static str, fields: Vec<Problem>) -> PortalError {
        let m = fields
            .iter()
            .map(|(k, _, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("; ");
        PortalError::Invalid(code, m, fields)
    }
}

impl From<PortalError> for ApiError {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::NotFound(code, m) => ApiError::not_found(code, m),
            PortalError::Forbidden(m) => ApiError::forbidden(m),
            PortalError::Invalid(code, m, fields) => {
                let list: Vec<serde_json::Value> = fields
                    .into_iter()
                    .map(|(field, code, message)| {
                        serde_json::json!({"field": field, "code": code, "message": message})
                    })
                    .collect();
                ApiError::unprocessable(code, m).with_fields(list.into())
            }
            PortalError::Conflict(m) => ApiError::conflict("wrong_state", m),
            PortalError::Db(d) => d.into(),
        }
    }
}
