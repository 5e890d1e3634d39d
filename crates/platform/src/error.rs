//! The one error shape every HTTP answer uses: `{"error": {"code", "message"}}`. Each room's
//! own error enum converts into [`ApiError`]; database failures are logged and answered 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Per-field problems of a submitted form: `[{"field", "message"}]`.
    pub fields: Option<serde_json::Value>,
    /// Seconds to wait before trying again (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            fields: None,
            retry_after: None,
        }
    }
    /// 429 with `Retry-After`, rounded up to whole seconds.
    pub fn too_many(code: &str, message: impl Into<String>, wait_ms: i64) -> ApiError {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, code, message);
        e.retry_after = Some(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1));
        e
    }
    pub fn with_code(mut self, code: &str) -> ApiError {
        self.code = code.to_owned();
        self
    }
    pub fn with_fields(mut self, fields: serde_json::Value) -> ApiError {
        self.fields = Some(fields);
        self
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn conflict(code: &str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn internal() -> ApiError {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> ApiError {
        match e {
            crate::db::DbError::Unique(what) => {
                ApiError::conflict("duplicate", format!("already exists ({what})"))
            }
            other => {
                tracing::error!(error = %other, "database failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = serde_json::json!({"code": self.code, "message": self.message});
        if let (Some(f), Some(obj)) = (self.fields, err.as_object_mut()) {
            obj.insert("fields".into(), f);
        }
        let body = serde_json::json!({ "error": err });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
