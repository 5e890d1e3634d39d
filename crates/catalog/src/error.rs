//! What can go wrong administering the catalogue, as one enum mapped to HTTP status and
//! error code in one place (`From<CatalogError> for ApiError`).

use axum::http::StatusCode;
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalogue administration needs the admin role")]
    NotAdmin,
    #[error("no matter has code {0:?}")]
    NotFound(String),
    #[error("matter {code} belongs to {department}")]
    OtherDepartment { code: String, department: String },
    #[error("a matter cannot be moved to another department here")]
    CannotMove,
    #[error("{0}")]
    InvalidMatter(String),
    /// An import with rows of other departments (each named by sheet and row).
    #[error("the workbook holds matters of another department")]
    ForeignRows(Vec<String>),
    /// An import whose workbook has problems (each named by sheet and row).
    #[error("the workbook has {} problem(s)", .0.len())]
    InvalidWorkbook(Vec<String>),
    /// A sample for a material the matter does not list (or has no sample to remove).
    #[error("the matter has no material {0:?} (or it has no sample)")]
    NoSuchMaterial(String),
    #[error("{0}")]
    BadSample(String),
    #[error("the file could not be stored")]
    Storage,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl CatalogError {
    /// A refusal of who is asking (audited as `denied`).
    pub fn is_denial(&self) -> bool {
        matches!(
            self,
            CatalogError::NotAdmin
                | CatalogError::OtherDepartment { .. }
                | CatalogError::ForeignRows(_)
        )
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            CatalogError::Db(_) => {
                return match e {
                    CatalogError::Db(d) => d.into(),
                    _ => ApiError::internal(),
                }
            }
            CatalogError::NotAdmin
            | CatalogError::OtherDepartment { .. }
            | CatalogError::CannotMove
            | CatalogError::ForeignRows(_) => (StatusCode::FORBIDDEN, "forbidden"),
            CatalogError::NotFound(_) => (StatusCode::NOT_FOUND, "matter_not_found"),
            CatalogError::InvalidMatter(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_matter"),
            CatalogError::NoSuchMaterial(_) => (StatusCode::NOT_FOUND, "material_not_found"),
            CatalogError::BadSample(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_sample"),
            CatalogError::Storage => return ApiError::internal(),
            CatalogError::InvalidWorkbook(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_workbook")
            }
        };
        ApiError::new(status, code, message)
    }
}
