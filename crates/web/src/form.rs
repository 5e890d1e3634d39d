//! The one way a page's form arrives: [`SafeForm<T>`] checks the anti-forgery token the form
//! echoes (against the session the page is bound to, from this site) and reads the fields
//! into a typed struct. No handler reads a form as a map or checks a token by hand.

use crate::page::Page;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use tongban_platform::{ApiError, Ctx};

/// The most a posted form (not an upload) may hold: a matter's whole edit form fits.
pub const FORM_LIMIT: usize = 1 << 20;

/// A form posted from one of our pages: `csrf` checked, the other fields read into `T`
/// (fields `T` does not name, `csrf` among them, are ignored). Take it as the handler's last
/// argument, after the page extractor ([`Page`], `CitizenPage` or `StaffPage`), whose
/// session the token is bound to.
pub struct SafeForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Ctx> for SafeForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        // The page extractor left its page (bound to the session) here; a handler without one
        // gets a page bound as the public pages are.
        let page = match parts.extensions.get::<Page>() {
            Some(p) => p.clone(),
            None => Page::from_request_parts(&mut parts, ctx).await?,
        };
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(page.error(&ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                "send the form as application/x-www-form-urlencoded",
            )));
        }
        let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
            page.error(&ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a form holds at most {} KiB", FORM_LIMIT / 1024),
            ))
        })?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|e| page.error(&bad_form(e)))?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        if !page.csrf_ok(sent) {
            return Err(page.csrf_refused());
        }
        serde_urlencoded::from_bytes::<T>(&bytes)
            .map(SafeForm)
            .map_err(|e| page.error(&bad_form(e)))
    }
}

fn bad_form(e: serde_urlencoded::de::Error) -> ApiError {
    ApiError::bad_request("invalid_form", format!("the form cannot be read: {e}"))
}

/// A form whose only field is its token (log out, revoke, publish by button).
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// A multipart form (an upload) posted from one of our pages. Its first part must be the
/// anti-forgery token (our templates put the hidden `csrf` input first, and browsers send
/// parts in document order), so nothing of a forged upload is kept: its parts are read and
/// dropped (a client still sending would otherwise see its connection reset rather than the
/// refusal); the handler reads the remaining parts.
pub struct SafeMultipart(pub axum::extract::Multipart);

impl FromRequest<Ctx> for SafeMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, ctx: &Ctx) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let page = match parts.extensions.get::<Page>() {
            Some(p) => p.clone(),
            None => Page::from_request_parts(&mut parts, ctx).await?,
        };
        let req = Request::from_parts(parts, body);
        let mut mp = axum::extract::Multipart::from_request(req, ctx)
            .await
            .map_err(|e| {
                page.error(&ApiError::bad_request(
                    "bad_multipart",
                    format!("send the form as multipart/form-data: {}", e.body_text()),
                ))
            })?;
        let token = match mp.next_field().await {
            Ok(Some(f)) if f.name() == Some("csrf") => f.text().await.ok(),
            _ => None,
        };
        if !page.csrf_ok(token.as_deref()) {
            while let Ok(Some(mut f)) = mp.next_field().await {
                while let Ok(Some(_)) = f.chunk().await {}
            }
            return Err(page.csrf_refused());
        }
        Ok(SafeMultipart(mp))
    }
}
