//! The room's errors. Its staff API answers in the platform's shape (`ApiError`); the
//! protocol endpoints answer as OAuth 2.0 says (RFC 6749 §5.2: `{"error",
//! "error_description"}`, never cached), which is what client libraries read.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such client")]
    NoClient,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> ApiError {
        match e {
            IdentityError::Invalid(m) => ApiError::unprocessable("invalid_client_metadata", m),
            IdentityError::NoClient => ApiError::not_found("no_such_client", "no such client"),
            IdentityError::Db(e) => e.into(),
        }
    }
}

/// An OAuth 2.0 / OpenID Connect error answer.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
    pub fn request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn grant(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
    }
    pub fn client(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", d)
    }
    pub fn token(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", d)
    }
}

impl From<DbError> for OAuthError {
    fn from(e: DbError) -> Self {
        tracing::error!(error = %e, "identity: storage failed");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server could not complete the request",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        let mut r = (self.status, axum::Json(body)).into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.error == "invalid_token" {
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    self.description.replace('"', "'")
                )
            } else {
                "Basic realm=\"tongban\"".to_owned()
            };
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        r
    }
}
