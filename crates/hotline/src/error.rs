//! Everything that can go wrong in the hotline room, as one enum: each variant is one error
//! code and carries the message a person can act on; [`From<HotlineError> for ApiError`] gives
//! each its HTTP status in one place. Open311 answers in its own envelope (`open311::Error311`).

use axum::http::StatusCode;
use tongban_platform::db::DbError;
use tongban_platform::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum HotlineError {
    /// No such work order (or not the reader's).
    #[error("{0}")]
    OrderNotFound(String),
    /// Each case or order is rated once (一事一评).
    #[error("{0}")]
    AlreadyRated(String),
    /// The citizen has no such case.
    #[error("{0}")]
    CaseNotFound(String),
    /// A case is rated once it is decided.
    #[error("{0}")]
    NotConcluded(String),
    /// An order is rated once it is answered.
    #[error("{0}")]
    NotReplied(String),
    /// The subject has no rating yet.
    #[error("{0}")]
    RatingNotFound(String),
    /// An appeal needs its reason.
    #[error("{0}")]
    ReasonRequired(String),
    /// No such case or order of the citizen's.
    #[error("{0}")]
    NotFound(String),
    /// Nothing to appeal: the subject has no rating.
    #[error("{0}")]
    NotRated(String),
    /// A rating decision is appealed once.
    #[error("{0}")]
    AlreadyAppealed(String),
    /// A status filter outside the list.
    #[error("{0}")]
    InvalidStatus(String),
    /// An action the room does not know.
    #[error("{0}")]
    UnknownAction(String),
    /// The action needs its note.
    #[error("{0}")]
    NoteRequired(String),
    /// No such rectification.
    #[error("{0}")]
    RectificationNotFound(String),
    /// The action does not apply to the subject now.
    #[error("{0}")]
    ActionNotAllowed(String),
    /// The hotline's settings are inconsistent.
    #[error("{0}")]
    InvalidSettings(String),
    /// A search that is too long.
    #[error("{0}")]
    InvalidQuery(String),
    /// A queue outside the list.
    #[error("{0}")]
    InvalidQueue(String),
    /// The order has no (stored) photo.
    #[error("{0}")]
    NoPhoto(String),
    /// No such department.
    #[error("{0}")]
    UnknownDepartment(String),
    /// A misrouted order is returned within its limit.
    #[error("{0}")]
    ReturnTooLate(String),
    /// An extension outside the allowed working days.
    #[error("{0}")]
    InvalidDays(String),
    /// A title of the wrong length.
    #[error("{0}")]
    InvalidTitle(String),
    /// A rating level outside 1–5.
    #[error("{0}")]
    InvalidLevel(String),
    /// A bad rating or return visit needs what was said.
    #[error("{0}")]
    CommentRequired(String),
    /// An order type outside the list.
    #[error("{0}")]
    UnknownType(String),
    /// A category outside the tree.
    #[error("{0}")]
    UnknownCategory(String),
    /// A district outside the list.
    #[error("{0}")]
    UnknownDistrict(String),
    /// The street or place is missing.
    #[error("{0}")]
    MissingLocation(String),
    /// The description is empty or too long.
    #[error("{0}")]
    InvalidContent(String),
    /// Latitude and longitude out of range or alone, or a district that does not hold them.
    #[error("{0}")]
    InvalidLocation(String),
    /// A point outside every district of the region.
    #[error("{0}")]
    OutsideRegion(String),
    /// A media URL that is not an http(s) address.
    #[error("{0}")]
    InvalidMediaUrl(String),
    /// Not a mobile number.
    #[error("{0}")]
    InvalidPhone(String),
    /// Not an e-mail address.
    #[error("{0}")]
    InvalidEmail(String),
    /// No way to answer an anonymous filer.
    #[error("{0}")]
    PhoneRequired(String),
    /// A channel outside web and mobile.
    #[error("{0}")]
    InvalidChannel(String),
    /// The photo is not a JPEG, PNG or GIF.
    #[error("{0}")]
    InvalidPhoto(String),
    /// More photos than one order takes.
    #[error("{0}")]
    TooManyPhotos(String),
    /// A rating dimension unknown or out of range.
    #[error("{0}")]
    InvalidDimension(String),
    /// The comment is too long.
    #[error("{0}")]
    InvalidComment(String),
    /// The photo is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The reader's roles or department do not reach this (audited where it matters).
    #[error("{0}")]
    Forbidden(String),
    /// Something stored could not be read or written (logged where it happened).
    #[error("internal error")]
    Internal,
    /// The shared ground refused (rate limits, paging) with its own error.
    #[error(transparent)]
    Platform(#[from] ApiError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<HotlineError> for ApiError {
    fn from(e: HotlineError) -> ApiError {
        let (status, code, message) = match e {
            HotlineError::Platform(a) => return a,
            HotlineError::Db(d) => return d.into(),
            HotlineError::Internal => return ApiError::internal(),
            HotlineError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            HotlineError::OrderNotFound(m) => (StatusCode::NOT_FOUND, "order_not_found", m),
            HotlineError::AlreadyRated(m) => (StatusCode::CONFLICT, "already_rated", m),
            HotlineError::CaseNotFound(m) => (StatusCode::NOT_FOUND, "case_not_found", m),
            HotlineError::NotConcluded(m) => (StatusCode::CONFLICT, "not_concluded", m),
            HotlineError::NotReplied(m) => (StatusCode::CONFLICT, "not_replied", m),
            HotlineError::RatingNotFound(m) => (StatusCode::NOT_FOUND, "rating_not_found", m),
            HotlineError::ReasonRequired(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "reason_required", m)
            }
            HotlineError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            HotlineError::NotRated(m) => (StatusCode::CONFLICT, "not_rated", m),
            HotlineError::AlreadyAppealed(m) => (StatusCode::CONFLICT, "already_appealed", m),
            HotlineError::InvalidStatus(m) => (StatusCode::BAD_REQUEST, "invalid_status", m),
            HotlineError::UnknownAction(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_action", m)
            }
            HotlineError::NoteRequired(m) => (StatusCode::UNPROCESSABLE_ENTITY, "note_required", m),
            HotlineError::RectificationNotFound(m) => {
                (StatusCode::NOT_FOUND, "rectification_not_found", m)
            }
            HotlineError::ActionNotAllowed(m) => (StatusCode::CONFLICT, "action_not_allowed", m),
            HotlineError::InvalidSettings(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", m)
            }
            HotlineError::InvalidQuery(m) => (StatusCode::BAD_REQUEST, "invalid_query", m),
            HotlineError::InvalidQueue(m) => (StatusCode::BAD_REQUEST, "invalid_queue", m),
            HotlineError::NoPhoto(m) => (StatusCode::NOT_FOUND, "no_photo", m),
            HotlineError::UnknownDepartment(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_department", m)
            }
            HotlineError::ReturnTooLate(m) => (StatusCode::CONFLICT, "return_too_late", m),
            HotlineError::InvalidDays(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_days", m),
            HotlineError::InvalidTitle(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_title", m),
            HotlineError::InvalidLevel(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_level", m),
            HotlineError::CommentRequired(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "comment_required", m)
            }
            HotlineError::UnknownType(m) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_type", m),
            HotlineError::UnknownCategory(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category", m)
            }
            HotlineError::UnknownDistrict(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_district", m)
            }
            HotlineError::MissingLocation(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "missing_location", m)
            }
            HotlineError::InvalidContent(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_content", m)
            }
            HotlineError::InvalidLocation(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_location", m)
            }
            HotlineError::OutsideRegion(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "outside_region", m)
            }
            HotlineError::InvalidMediaUrl(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_media_url", m)
            }
            HotlineError::InvalidPhone(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone", m),
            HotlineError::InvalidEmail(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", m),
            HotlineError::PhoneRequired(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "phone_required", m)
            }
            HotlineError::InvalidChannel(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_channel", m)
            }
            HotlineError::InvalidPhoto(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_photo", m),
            HotlineError::TooManyPhotos(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "too_many_photos", m)
            }
            HotlineError::InvalidDimension(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_dimension", m)
            }
            HotlineError::InvalidComment(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_comment", m)
            }
            HotlineError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m),
        };
        ApiError::new(status, code, message)
    }
}
