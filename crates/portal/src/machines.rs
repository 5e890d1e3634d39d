//! The portal for machines: `robots.txt` (everything public may be crawled; the console lives
//! on the internal listener, which is never on the internet) and `sitemap.xml` (the home,
//! the catalogue, every published matter's guide, the public letters and the search), with
//! absolute addresses from `TONGBAN_PUBLIC_URL`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tongban_platform::Ctx;

pub const PAGE_PATHS: [&str; 2] = ["/robots.txt", "/sitemap.xml"];

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(PAGE_PATHS[0], get(robots))
        .route(PAGE_PATHS[1], get(sitemap))
}

async fn robots(State(ctx): State<Ctx>) -> Response {
    let base = ctx.config.public_base();
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "User-agent: *\nDisallow: /my/\nDisallow: /account/\nAllow: /\n\nSitemap: {base}/sitemap.xml\n"
        ),
    )
        .into_response()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

async fn sitemap(State(ctx): State<Ctx>) -> Response {
    let base = ctx.config.public_base();
    let matters = ctx
        .db
        .read(|c| tongban_catalog::store::changed_since(c, 0, 50_000))
        .await;
    let (matters, _) = match matters {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "sitemap not made");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in ["/", "/matters", "/letters", "/search"] {
        out.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            xml_escape(&format!("{base}{path}"))
        ));
    }
    for m in matters.iter().filter(|m| m.published) {
        out.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            xml_escape(&format!("{base}/matters/{}", m.code))
        ));
    }
    out.push_str("</urlset>\n");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        out,
    )
        .into_response()
}
