//! HTTP helpers shared by the rooms: a JSON body extractor whose rejections use our error
//! shape, and the citizen and staff authentication extractors (bearer token or cookie).

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::identity::{self, SessionKind, SessionState, Staff};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Name of the citizen session cookie the public pages use.
pub const SESSION_COOKIE: &str = "tongban_session";
/// Name of the staff session cookie the console uses (another name, because browsers share
/// cookies between the two listeners' ports on one host).
pub const STAFF_COOKIE: &str = "tongban_staff";

/// `Json<T>` with rejections answered as `{"error": …}` that say what to fix.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

pub fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::JsonDataError(e) => ApiError::unprocessable(
            "invalid_body",
            format!(
                "the JSON body does not have the expected shape: {}",
                e.body_text()
            ),
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        other => ApiError::new(other.status(), "bad_body", other.body_text()),
    }
}

/// The value of cookie `name`.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    for v in parts.headers.get_all(axum::http::header::COOKIE) {
        for pair in v.to_str().ok()?.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == name {
                    return Some(val.to_owned());
                }
            }
        }
    }
    None
}

/// The highest page number any list accepts: with at most 1,000 items a page, offsets stay
/// far from overflowing (`page=9223372036854775807` once wrapped round to page 1).
pub const MAX_PAGE: i64 = 1_000_000;

/// The most items one page of any list holds.
pub const MAX_PAGE_SIZE: i64 = 200;

/// One page of a list: `page` from 1, `page_size` from 1 to [`MAX_PAGE_SIZE`]. Lists answer
/// with `page`, `page_size` and `total`; anything out of range is `400 invalid_paging`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Paging {
    pub page: i64,
    pub page_size: i64,
}

impl Paging {
    /// From the query's `page` and `page_size` (`per_page` is read as its older name).
    pub fn new(
        page: Option<i64>,
        page_size: Option<i64>,
        default_size: i64,
    ) -> Result<Paging, ApiError> {
        let (page, page_size) = (page.unwrap_or(1), page_size.unwrap_or(default_size));
        if !(1..=MAX_PAGE).contains(&page) || !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(ApiError::bad_request(
                "invalid_paging",
                format!("page is 1 to {MAX_PAGE} and page_size is 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Paging { page, page_size })
    }

    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }
}

/// The default number of items a page holds when `page_size` is not given.
pub const DEFAULT_PAGE_SIZE: i64 = 20;

impl Paging {
    /// From a parsed query string: `page`, `page_size` (`per_page` is its older name); a value
    /// that is not a whole number is `400 invalid_paging` like one out of range.
    pub fn from_query(q: &std::collections::HashMap<String, String>) -> Result<Paging, ApiError> {
        Paging::from_query_with(q, DEFAULT_PAGE_SIZE)
    }

    /// As [`Paging::from_query`], with another default page size (a console page of log
    /// lines shows more than a page of cards).
    pub fn from_query_with(
        q: &std::collections::HashMap<String, String>,
        default_size: i64,
    ) -> Result<Paging, ApiError> {
        let num = |k: &str| -> Result<Option<i64>, ApiError> {
            match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                    ApiError::bad_request("invalid_paging", format!("{k} must be a whole number"))
                }),
            }
        };
        let size = match num("page_size")? {
            Some(s) => Some(s),
            None => num("per_page")?,
        };
        Paging::new(num("page")?, size, default_size)
    }
}

/// The one paging extractor: every list handler takes `Paging` beside its own filters.
impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).map_err(|e| {
                ApiError::bad_request(
                    "invalid_query",
                    format!("the query string cannot be read: {e}"),
                )
            })?;
        Paging::from_query(&q)
    }
}

/// One page of a list as every list endpoint answers it: the items, the `total` behind all
/// pages, and the page asked for (`per_page` repeats `page_size` for older clients).
#[derive(Debug, serde::Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub per_page: i64,
}

impl<T> Paged<T> {
    pub fn new(items: Vec<T>, total: i64, p: Paging) -> Paged<T> {
        Paged {
            items,
            total,
            page: p.page,
            page_size: p.page_size,
            per_page: p.page_size,
        }
    }
}

/// The bearer token from `Authorization: Bearer …`, or outside `/api/` the session cookie.
pub fn token_of(parts: &Parts, cookie_name: &str) -> Option<String> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let t = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))?;
        return Some(t.trim().to_owned());
    }
    // The JSON API takes `Authorization: Bearer` only: a browser attaches cookies to
    // requests other sites make (a `text/plain` or multipart POST needs no preflight), so a
    // session cookie never authenticates `/api/*`. Pages carry an anti-forgery token instead.
    if parts.uri.path().starts_with("/api/") {
        return None;
    }
    cookie(parts, cookie_name)
}

/// Check the request's session of `kind`: the subject id and token, or why not.
pub async fn authenticate(
    ctx: &Ctx,
    parts: &Parts,
    kind: SessionKind,
) -> Result<(i64, String), ApiError> {
    let name = match kind {
        SessionKind::Citizen => SESSION_COOKIE,
        SessionKind::Staff => STAFF_COOKIE,
    };
    let Some(token) = token_of(parts, name) else {
        return Err(ApiError::unauthorized(
            "log in first: send Authorization: Bearer <token>",
        ));
    };
    let now = crate::time::now_millis();
    match identity::check_session(&ctx.db, kind, &token, now).await? {
        SessionState::Valid {
            subject,
            needs_touch,
        } => {
            if needs_touch {
                identity::touch_session(&ctx.db, kind, &token, now).await?;
            }
            Ok((subject, token))
        }
        SessionState::Expired => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "your session has expired; log in again",
        )),
        SessionState::Unknown => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token is not valid (logged out or mistyped); log in again",
        )),
    }
}

/// A logged-in citizen: the account id and the session token.
pub struct CitizenAuth {
    pub account_id: i64,
    pub token: String,
}

impl FromRequestParts<Ctx> for CitizenAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        let (account_id, token) = authenticate(ctx, parts, SessionKind::Citizen).await?;
        Ok(CitizenAuth { account_id, token })
    }
}

/// A logged-in staff member with department and roles.
pub struct StaffAuth {
    pub staff: Staff,
    pub token: String,
}

impl FromRequestParts<Ctx> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, ctx: &Ctx) -> Result<Self, ApiError> {
        // The session and the staff member it belongs to, each from memory when held.
        let (id, token) = authenticate(ctx, parts, SessionKind::Staff).await?;
        let staff = identity::staff_member(&ctx.db, id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("this staff account no longer exists"))?;
        Ok(StaffAuth { staff, token })
    }
}

/// The peer address of the request (the listener must be served with connect info).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(ClientAddr(addr))
    }
}

/// Query-string parameters decoded into `T`; a bad query is a 400 in the error envelope
/// naming what is wrong (axum's `Query` answers in plain text).
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<T>(q)
            .map(QueryParams)
            .map_err(|e| ApiError::bad_request("bad_query", format!("bad query parameters: {e}")))
    }
}

/// The device class of a browser by its user agent.
pub fn device(user_agent: &str) -> &'static str {
    let ua = user_agent.to_ascii_lowercase();
    if [
        "mobile",
        "android",
        "iphone",
        "ipad",
        "harmonyos",
        "micromessenger",
    ]
    .iter()
    .any(|k| ua.contains(k))
    {
        "mobile"
    } else {
        "desktop"
    }
}

/// The device class (`mobile` or `desktop`) of the browser or app that sent a request, by its
/// `User-Agent` header (absent: desktop).
pub struct Device(pub &'static str);

impl<S: Send + Sync> FromRequestParts<S> for Device {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ua = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(Device(device(ua)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn devices_by_user_agent() {
        assert_eq!(
            super::device("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"),
            "mobile"
        );
        assert_eq!(
            super::device("Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile Safari"),
            "mobile"
        );
        assert_eq!(
            super::device("Mozilla/5.0 (X11; Linux x86_64) Chrome/120"),
            "desktop"
        );
    }
}
