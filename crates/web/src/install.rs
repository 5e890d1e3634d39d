//! The citizen site as an installable web app: a manifest, icons drawn here (no image files in
//! the repository), a service worker that keeps only public static assets and an offline
//! page, and the one small script that registers it. Every page works without the script:
//! it only adds the offline page.

use crate::page::Page;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use image::{ImageBuffer, Rgba};
use minijinja::context;
use std::sync::OnceLock;
use tongban_platform::Ctx;

/// Paths served here (public listener).
pub const PATHS: [&str; 7] = [
    "/manifest.webmanifest",
    "/sw.js",
    "/offline",
    "/static/app.js",
    "/static/icon.svg",
    "/static/icon-192.png",
    "/static/icon-512.png",
];

pub fn router() -> Router<Ctx> {
    let [manifest_path, sw_path, offline_path, app_path, svg_path, png192, png512] = PATHS;
    Router::new()
        .route(manifest_path, get(manifest))
        .route(sw_path, get(service_worker))
        .route(offline_path, get(offline))
        .route(app_path, get(app_js))
        .route(svg_path, get(icon_svg))
        .route(png192, get(|| icon_png(192)))
        .route(png512, get(|| icon_png(512)))
}

/// The brand colour (`--primary` of the style sheet).
const PRIMARY: [u8; 3] = [0x0b, 0x4e, 0xa2];

/// Changes whenever the assets the worker keeps change, so an old cache is dropped.
fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let text = format!(
            "{}{}{}{}",
            env!("CARGO_PKG_VERSION"),
            crate::routes::SITE_CSS,
            APP_JS,
            SW_JS
        );
        tongban_platform::crypto::sm3_hex(text.as_bytes())[..12].to_owned()
    })
}

async fn manifest(page: Page) -> Response {
    let body = serde_json::json!({
        "name": page.t("site.name"),
        "short_name": page.t("install.short_name"),
        "description": page.t("install.description"),
        "lang": page.lang.code(),
        "dir": "ltr",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": format!("#{:02x}{:02x}{:02x}", PRIMARY[0], PRIMARY[1], PRIMARY[2]),
        "icons": [
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}
        ],
        "shortcuts": [
            {"name": page.t("nav.matters"), "url": "/matters"},
            {"name": page.t("nav.my_cases"), "url": "/my/cases"},
            {"name": page.t("nav.contact"), "url": "/workorders/new"}
        ]
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The worker: precaches the offline page and the public assets; answers navigations from the
/// network, falling back to the offline page; answers those assets from the cache while
/// refreshing them. Nothing else is ever stored: no API answer, no personal page.
const SW_JS: &str = include_str!("../static/sw.js");
/// Registers the worker where the browser has them.
const APP_JS: &str = include_str!("../static/app.js");

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers look for a new worker on every visit; never from a stale cache.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SW_JS.replace("__VERSION__", version()),
    )
        .into_response()
}

async fn app_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_JS,
    )
        .into_response()
}

/// The page shown when the network is gone. It names no one: it is rendered as for a
/// visitor who is not signed in, since the worker keeps it.
async fn offline(mut page: Page) -> Response {
    page.user = None;
    page.citizen_id = None;
    page.token = None;
    let mut r = page.ok("offline.html", context! {});
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    r
}

async fn icon_svg() -> Response {
    let [r, g, b] = PRIMARY;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#{r:02x}{g:02x}{b:02x}"/><circle cx="32" cy="32" r="17" fill="none" stroke="#fff" stroke-width="5"/><rect x="12" y="29.5" width="40" height="5" rx="2.5" fill="#fff"/></svg>"##
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response()
}

/// The icon at `side` pixels: the brand square with a ring crossed by a bar (one network
/// joining every counter), drawn with a margin that survives a maskable crop.
fn draw_icon(side: u32) -> Vec<u8> {
    let s = side as f32;
    let (cx, cy) = (s / 2.0, s / 2.0);
    let (ring_r, ring_w) = (s * 0.27, s * 0.075);
    let (bar_half_w, bar_half_h) = (s * 0.31, s * 0.04);
    let img = ImageBuffer::from_fn(side, side, |x, y| {
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
        let on_ring = (d - ring_r).abs() <= ring_w / 2.0;
        let on_bar = (px - cx).abs() <= bar_half_w && (py - cy).abs() <= bar_half_h;
        if on_ring || on_bar {
            Rgba([255, 255, 255, 255])
        } else {
            Rgba([PRIMARY[0], PRIMARY[1], PRIMARY[2], 255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Writing a PNG to memory cannot fail for a well-formed buffer; an empty body if it did.
    let _ = img.write_to(&mut out, image::ImageFormat::Png);
    out.into_inner()
}

async fn icon_png(side: u32) -> Response {
    static SMALL: OnceLock<Vec<u8>> = OnceLock::new();
    static LARGE: OnceLock<Vec<u8>> = OnceLock::new();
    let cell = if side <= 192 { &SMALL } else { &LARGE };
    let bytes = cell.get_or_init(|| draw_icon(side)).clone();
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icons_are_pngs_of_their_size() {
        for side in [192, 512] {
            let png = draw_icon(side);
            let img = image::load_from_memory(&png).unwrap();
            assert_eq!((img.width(), img.height()), (side, side));
        }
    }

    #[test]
    fn the_worker_keeps_only_public_assets() {
        // Its list of what it stores: the offline page and static assets, nothing personal.
        let list = SW_JS
            .split("const PRECACHE = [")
            .nth(1)
            .and_then(|s| s.split(']').next())
            .unwrap();
        for entry in list.split(',').map(|e| e.trim().trim_matches('\'')) {
            if entry.is_empty() {
                continue;
            }
            assert!(
                entry == "/offline" || entry.starts_with("/static/"),
                "{entry} is not a public asset"
            );
        }
        assert!(SW_JS.contains("url.pathname.startsWith('/static/')"));
    }
}
