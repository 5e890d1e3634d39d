//! Open311 `media_url`: the photos of public orders, published through links that expire
//! (signed with the platform's index key: the order, the photo and the expiry), served on
//! the public listener re-encoded without metadata (no EXIF, so no GPS position). A photo of
//! an order that is not public is never served, whatever the link.

use super::{Error311, Format};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tongban_platform::{vault, Ctx};

/// How long a link works, at least (links are made per 10-minute slot, so a page of
/// requests has stable links that caches can keep).
pub const MEDIA_SECONDS: i64 = 3600;

fn signature(no: &str, n: usize, exp: i64) -> Option<String> {
    vault::keys()
        .ok()
        .map(|k| k.blind("open311-media", &format!("{no}/{n}/{exp}")))
}

/// The link to photo `n` of order `no`, working until at least an hour after `now` (ms).
pub fn link(base: &str, no: &str, n: usize, now: i64) -> Option<String> {
    let slot = 600;
    let exp = (now / 1000 + MEDIA_SECONDS).div_euclid(slot) * slot + slot;
    let sig = signature(no, n, exp)?;
    Some(format!(
        "{base}/open311/v2/media/{no}/{n}?exp={exp}&sig={sig}"
    ))
}

/// `GET /open311/v2/media/{order_no}/{n}?exp=&sig=`.
pub async fn serve(ctx: &Ctx, no: &str, n: usize, exp: i64, sig: &str) -> Response {
    let now = tongban_platform::time::now_millis() / 1000;
    let valid = signature(no, n, exp).is_some_and(|want| {
        tongban_platform::crypto::constant_time_eq(want.as_bytes(), sig.as_bytes())
    });
    if !valid {
        return Error311::new(StatusCode::FORBIDDEN, "this media link is not valid")
            .render(Format::Json);
    }
    if exp < now {
        return Error311::new(
            StatusCode::GONE,
            "this media link has expired: ask for the service request again for a fresh one",
        )
        .render(Format::Json);
    }
    let no2 = no.to_owned();
    let found = ctx
        .db
        .read(move |c| {
            c.query_opt(
                "SELECT photo FROM work_orders WHERE order_no = $1 AND published_at IS NOT NULL AND public",
                tongban_platform::params![no2.as_str()],
            )?
            .map(|r| r.get_opt_str("photo"))
            .transpose()
        })
        .await;
    let keys = match found {
        Ok(Some(p)) => crate::orders::photo_keys(p.as_deref()),
        Ok(None) => Vec::new(),
        Err(e) => return Error311::from(e).render(Format::Json),
    };
    let Some(key) = keys.get(n).cloned() else {
        return Error311::new(StatusCode::NOT_FOUND, "no such photo of a public request")
            .render(Format::Json);
    };
    let dir = ctx.config.upload_dir.clone();
    let made = tokio::task::spawn_blocking(move || {
        let data = tongban_platform::blobs::get(&dir, &key).map_err(|e| e.to_string())?;
        tongban_platform::images::without_metadata(&data)
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()));
    match made {
        Ok((bytes, kind)) => (
            [
                (header::CONTENT_TYPE, kind.to_owned()),
                (
                    header::CACHE_CONTROL,
                    format!(
                        "public, max-age={}",
                        (exp - now).clamp(0, MEDIA_SECONDS + 600)
                    ),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a stored photo could not be re-encoded");
            Error311::new(StatusCode::NOT_FOUND, "no such photo of a public request")
                .render(Format::Json)
        }
    }
}
