//! What can go wrong asking insight (topics, warnings, dashboards, the evaluation), as one
//! enum mapped to HTTP status and error code in one place (`From<InsightError> for ApiError`).

use axum::http::StatusCode;
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum InsightError {
    /// The reader's roles do not reach this (the text says whose it is).
    #[error("{0}")]
    NotYours(&'static str),
    #[error("{name} must be a date YYYY-MM-DD between 2000 and 2100, got {value:?}")]
    InvalidDate { name: &'static str, value: String },
    #[error("the dates cannot be placed in the calendar")]
    DateOutOfCalendar,
    #[error("{0}")]
    InvalidRange(&'static str),
    #[error("month must be YYYY-MM, got {0:?}")]
    InvalidMonth(String),
    #[error("ask by district or by department, not both")]
    DistrictAndDepartment,
    #[error("no district {district:?}; use one of {known}")]
    UnknownDistrict { district: String, known: String },
    #[error("no department {0:?}")]
    UnknownDepartment(String),
    #[error("terms: give a topic's terms, 1 to {0}, separated by commas")]
    InvalidTerms(usize),
    #[error("status must be open, acknowledged or closed, got {0:?}")]
    InvalidStatus(String),
    #[error("action must be acknowledge or close")]
    UnknownAction,
    #[error("say what was done (1-2000 characters)")]
    NoteRequired,
    #[error("no warning {0}")]
    WarningNotFound(String),
    #[error("cannot {action} warning {id} now")]
    ActionNotAllowed { action: String, id: i64 },
    #[error("no dashboard {code:?}; there are {known}")]
    DashboardNotFound { code: String, known: String },
    #[error("the {board} dashboard has no chart {chart:?}; it has {known}")]
    ChartNotFound {
        board: String,
        chart: String,
        known: String,
    },
    /// A workbook could not be written (logged where it happened).
    #[error("workbook: {0}")]
    Workbook(String),
    /// The shared ground refused (paging, sessions) with its own error.
    #[error(transparent)]
    Platform(#[from] ApiError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<InsightError> for ApiError {
    fn from(e: InsightError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            InsightError::Platform(_) | InsightError::Db(_) => {
                return match e {
                    InsightError::Platform(a) => a,
                    InsightError::Db(d) => d.into(),
                    _ => ApiError::internal(),
                }
            }
            InsightError::Workbook(_) => return ApiError::internal(),
            InsightError::NotYours(_) => (StatusCode::FORBIDDEN, "forbidden"),
            InsightError::InvalidDate { .. } | InsightError::DateOutOfCalendar => {
                (StatusCode::BAD_REQUEST, "invalid_date")
            }
            InsightError::InvalidRange(_) => (StatusCode::BAD_REQUEST, "invalid_range"),
            InsightError::InvalidMonth(_) => (StatusCode::BAD_REQUEST, "invalid_month"),
            InsightError::DistrictAndDepartment => (StatusCode::BAD_REQUEST, "bad_query"),
            InsightError::UnknownDistrict { .. } => (StatusCode::BAD_REQUEST, "unknown_district"),
            InsightError::UnknownDepartment(_) => (StatusCode::BAD_REQUEST, "unknown_department"),
            InsightError::InvalidTerms(_) => (StatusCode::BAD_REQUEST, "invalid_terms"),
            InsightError::InvalidStatus(_) => (StatusCode::BAD_REQUEST, "invalid_status"),
            InsightError::UnknownAction => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_action"),
            InsightError::NoteRequired => (StatusCode::UNPROCESSABLE_ENTITY, "note_required"),
            InsightError::WarningNotFound(_) => (StatusCode::NOT_FOUND, "warning_not_found"),
            InsightError::ActionNotAllowed { .. } => (StatusCode::CONFLICT, "action_not_allowed"),
            InsightError::DashboardNotFound { .. } => {
                (StatusCode::NOT_FOUND, "dashboard_not_found")
            }
            InsightError::ChartNotFound { .. } => (StatusCode::NOT_FOUND, "chart_not_found"),
        };
        ApiError::new(status, code, message)
    }
}
