//! Response headers every answer carries: a Content-Security-Policy that allows only this
//! origin's own styles and scripts (no inline script) and no framing, no MIME sniffing, and
//! a referrer policy that keeps paths (which may hold case numbers) on this site.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The policy of a file shown inside one of this site's pages (a material previewed in the
/// console): it runs nothing, loads nothing, and only this site may frame it.
pub const FRAMED_FILE_CSP: &str = "default-src 'none'; img-src 'self'; frame-ancestors 'self'";

/// Marks a response (a response extension) as a file this site's own pages frame.
#[derive(Debug, Clone, Copy)]
pub struct FramedBySelf;

pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let framed = resp.extensions().get::<FramedBySelf>().is_some();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if framed { FRAMED_FILE_CSP } else { CSP }),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static(if framed { "SAMEORIGIN" } else { "DENY" }),
    );
    resp
}
