//! Everything that can go wrong with an application, as one enum: the rules and the
//! transactions of this room return it, and [`From<CaseError> for ApiError`] gives each
//! variant its HTTP status and error code in one place (the texts people read are in the
//! i18n catalogues under the same codes).

use axum::http::StatusCode;
use tongban_catalog::form::FieldError;
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Not there, or not the reader's (another's case is "not found", not "forbidden").
    #[error("no case {0:?} is visible to you; check the case number")]
    NotFound(String),
    #[error("matter_code {0:?} is not a published matter; see GET /api/v1/matters")]
    UnknownMatter(String),
    #[error("matter {code} is not applied for online (online depth {depth}); the guide says where to go")]
    NotOnline { code: String, depth: u8 },
    #[error("the form has {} problem(s): {}", .0.len(), .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidForm(Vec<FieldError>),
    #[error("the files together are {total} bytes; at most {limit} bytes go with one application")]
    UploadTooLarge { total: usize, limit: usize },
    #[error("at most {max} files go with one material; {key:?} has more")]
    TooManyFiles { key: String, max: usize },
    #[error("file part {key:?} is not a material of this matter; use one of: {}", .allowed.join(", "))]
    UnknownMaterial { key: String, allowed: Vec<String> },
    #[error("required material(s) missing: {}; upload each, or reuse an earlier upload (\"reuse\": {{key: id}}, see GET /api/v1/me/materials)", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    MissingMaterials(Vec<FieldError>),
    #[error("reuse {key:?}: {id} is not an earlier upload of yours for this material; see GET /api/v1/me/materials?key={key}")]
    ReuseNotFound { key: String, id: i64 },
    #[error("the file for {0:?} is empty")]
    EmptyFile(String),
    #[error("{filename:?} is {size} bytes; the limit is {limit} bytes per file")]
    FileTooLarge {
        key: String,
        filename: String,
        size: usize,
        limit: usize,
    },
    #[error("{filename:?} is not accepted for {key:?}; accepted formats: {}", .formats.join(", "))]
    FileType {
        key: String,
        filename: String,
        formats: Vec<String>,
    },
    #[error("{0}")]
    IllegalTransition(String),
    #[error("someone else changed this case just now; reload and try again")]
    ChangedMeanwhile,
    #[error("send the corrected form fields or the missing files")]
    EmptySupplement,
    #[error("this action needs a note that explains it to the applicant")]
    NoteRequired,
    #[error("the note is longer than 2000 characters")]
    NoteTooLong,
    #[error("case files are for clerks, reviewers and approvers")]
    NotCaseStaff,
    #[error("case {case_no} belongs to another department; you work for {department}")]
    OtherDepartment { case_no: String, department: String },
    #[error("{action} ({label}) needs the {role} role; you have: {have}")]
    RoleNeeded {
        action: &'static str,
        label: &'static str,
        role: &'static str,
        have: String,
    },
    #[error("seeing personal data unmasked needs the pii:read permission (pii_reader role)")]
    PiiDenied,
    #[error("state the purpose in at most 500 characters")]
    PurposeTooLong,
    #[error("action {0:?} is unknown; use accept, not_accept, request_supplement, review, approve or reject")]
    UnknownAction(String),
    #[error("status {0:?} is unknown; use submitted, accepted, needs_supplement, approved, rejected, not_accepted, withdrawn or all")]
    BadStatus(String),
    #[error("applicant: give the applicant's full name (at most 50 characters)")]
    BadApplicant,
    #[error("case {case_no} has no material {key:?}")]
    MaterialNotFound { case_no: String, key: String },
    /// The items of a supplement request (一次性告知) are not what can be asked for.
    #[error("{0}")]
    BadItems(String),
    #[error("you have no draft of matter {0:?}; save one with PUT /api/v1/me/drafts/{0}")]
    DraftNotFound(String),
    #[error("case {case_no} has no result yet (it is {status}); the result document comes with approval or refusal")]
    NoResultYet {
        case_no: String,
        status: &'static str,
    },
    /// A stored file could not be written or read (logged where it happened).
    #[error("stored file: {0}")]
    Storage(String),
    /// The shared ground refused (a rate limit, a lost session) with its own error.
    #[error(transparent)]
    Platform(#[from] ApiError),
    /// A data check the exchange refused (no grant, a schema, a signature), with its code.
    #[error(transparent)]
    Exchange(#[from] tongban_exchange::ExchangeError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl CaseError {
    /// A refusal of who is asking (audited as `denied`), rather than of what was sent.
    pub fn is_denial(&self) -> bool {
        matches!(
            self,
            CaseError::NotCaseStaff
                | CaseError::OtherDepartment { .. }
                | CaseError::RoleNeeded { .. }
                | CaseError::PiiDenied
        )
    }
}

fn field(key: &str, code: &str, message: &str, limit: Option<String>) -> serde_json::Value {
    let mut v = serde_json::json!({"field": key, "code": code, "message": message});
    if let Some(l) = limit {
        v["limit"] = serde_json::Value::String(l);
    }
    serde_json::Value::Array(vec![v])
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            CaseError::Platform(_) | CaseError::Db(_) | CaseError::Exchange(_) => {
                return match e {
                    CaseError::Platform(a) => a,
                    CaseError::Db(d) => d.into(),
                    CaseError::Exchange(x) => x.into(),
                    _ => ApiError::internal(),
                }
            }
            CaseError::Storage(_) => return ApiError::internal(),
            CaseError::NotFound(_) => (StatusCode::NOT_FOUND, "case_not_found"),
            CaseError::MaterialNotFound { .. } => (StatusCode::NOT_FOUND, "material_not_found"),
            CaseError::BadItems(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_items"),
            CaseError::DraftNotFound(_) => (StatusCode::NOT_FOUND, "draft_not_found"),
            CaseError::NoResultYet { .. } => (StatusCode::CONFLICT, "no_result_yet"),
            CaseError::UnknownMatter(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_matter"),
            CaseError::NotOnline { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "not_online"),
            CaseError::InvalidForm(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_form"),
            CaseError::UploadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            CaseError::TooManyFiles { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too_many_files"),
            CaseError::UnknownMaterial { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_material")
            }
            CaseError::MissingMaterials(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "missing_material")
            }
            CaseError::ReuseNotFound { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "reuse_not_found")
            }
            CaseError::EmptyFile(_) => (StatusCode::UNPROCESSABLE_ENTITY, "empty_file"),
            CaseError::FileTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
            CaseError::FileType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "file_type"),
            CaseError::IllegalTransition(_) => (StatusCode::CONFLICT, "illegal_transition"),
            CaseError::ChangedMeanwhile => (StatusCode::CONFLICT, "changed_meanwhile"),
            CaseError::EmptySupplement => (StatusCode::UNPROCESSABLE_ENTITY, "empty_supplement"),
            CaseError::NoteRequired => (StatusCode::UNPROCESSABLE_ENTITY, "note_required"),
            CaseError::NoteTooLong => (StatusCode::UNPROCESSABLE_ENTITY, "note_too_long"),
            CaseError::NotCaseStaff
            | CaseError::OtherDepartment { .. }
            | CaseError::RoleNeeded { .. }
            | CaseError::PiiDenied => (StatusCode::FORBIDDEN, "forbidden"),
            CaseError::PurposeTooLong => (StatusCode::UNPROCESSABLE_ENTITY, "purpose_too_long"),
            CaseError::UnknownAction(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_action"),
            CaseError::BadStatus(_) => (StatusCode::BAD_REQUEST, "bad_status"),
            CaseError::BadApplicant => (StatusCode::BAD_REQUEST, "bad_applicant"),
        };
        let api = ApiError::new(status, code, message);
        // Pages mark the field at fault; API clients read the same list.
        match e {
            CaseError::InvalidForm(errors) | CaseError::MissingMaterials(errors) => {
                api.with_fields(serde_json::to_value(&errors).unwrap_or_default())
            }
            CaseError::ReuseNotFound { key, .. } => api.with_fields(field(
                &key,
                "reuse_not_found",
                "not an earlier upload of yours",
                None,
            )),
            CaseError::EmptyFile(key) => {
                api.with_fields(field(&key, "empty_file", "empty file", None))
            }
            CaseError::FileTooLarge { key, limit, .. } => api.with_fields(field(
                &key,
                "file_too_large",
                "file too large",
                Some(format!("{} KB", limit / 1024)),
            )),
            CaseError::FileType { key, formats, .. } => api.with_fields(field(
                &key,
                "file_type",
                "file type",
                Some(formats.join(", ").to_uppercase()),
            )),
            _ => api,
        }
    }
}
