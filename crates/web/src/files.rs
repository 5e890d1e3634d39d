//! Responses that carry a file: a stored upload to download, a document the platform made,
//! and the content type a file's bytes show (never the name a browser sent).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The content type of PDF and the common image formats, by their first bytes; `None` for
/// anything else (which is then only ever downloaded, never shown).
pub fn previewable(data: &[u8]) -> Option<&'static str> {
    match tongban_platform::blobs::sniff(data).and_then(|e| e.first().copied()) {
        Some("pdf") => Some("application/pdf"),
        Some("png") => Some("image/png"),
        Some("jpg") => Some("image/jpeg"),
        Some("gif") => Some("image/gif"),
        _ => None,
    }
}

/// A filename for a `Content-Disposition` header: ASCII letters, digits, dots and dashes;
/// anything else becomes `_`.
pub fn ascii_filename(filename: &str) -> String {
    filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A stored file as a download: the type its content shows (never the one the uploader
/// declared, so a PDF/HTML polyglot is not served as HTML), always as an attachment.
pub fn download(filename: &str, data: Vec<u8>) -> Response {
    let content_type = previewable(&data).unwrap_or("application/octet-stream");
    let ascii = ascii_filename(filename);
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        data,
    )
        .into_response()
}

/// A document the platform made, shown in the browser's viewer and never cached.
pub fn pdf_response(filename: &str, data: Vec<u8>) -> Response {
    let ascii = ascii_filename(filename);
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{ascii}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        data,
    )
        .into_response()
}
