//! The portal for machines: `robots.txt` (everything public may be crawled; the console lives
//! on the internal listener, which is never on the internet), `sitemap.xml` (the home, the
//! catalogue, every published matter's guide, the public letters, the search, every site,
//! column and published article), and an Atom feed (RFC 4287) per site and per column, with
//! absolute addresses from `TONGBAN_PUBLIC_URL`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tongban_platform::Ctx;

pub const PAGE_PATHS: [&str; 4] = [
    "/robots.txt",
    "/sitemap.xml",
    "/sites/{code}/feed.atom",
    "/sites/{code}/columns/{column}/feed.atom",
];

pub fn public_router() -> Router<Ctx> {
    Router::new()
        .route(PAGE_PATHS[0], get(robots))
        .route(PAGE_PATHS[1], get(sitemap))
        .route(PAGE_PATHS[2], get(site_feed))
        .route(PAGE_PATHS[3], get(column_feed))
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
    let tz = ctx.tz;
    let sites = ctx
        .db
        .read(move |c| {
            let sites = crate::sites::list(c)?;
            let q = crate::articles::ListQuery {
                limit: 50_000,
                ..Default::default()
            };
            Ok((sites, crate::articles::list(c, &q, tz)?.0))
        })
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
    let (sites, articles) = match sites {
        Ok(x) => x,
        Err(e) => {
            tracing::error!(error = %e, "sitemap not made");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut paths = vec!["/sites".to_owned()];
    for s in &sites {
        paths.push(format!("/sites/{}", s.code));
        paths.push(format!("/sites/{}/gk", s.code));
        paths.extend(
            s.columns
                .iter()
                .map(|c| format!("/sites/{}/columns/{}", s.code, c.code)),
        );
    }
    for p in paths {
        out.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            xml_escape(&format!("{base}{p}"))
        ));
    }
    for a in &articles {
        out.push_str(&format!(
            "  <url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            xml_escape(&format!("{base}{}", a.url)),
            a.published_on.clone().unwrap_or_default()
        ));
    }
    out.push_str("</urlset>\n");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        out,
    )
        .into_response()
}

async fn site_feed(State(ctx): State<Ctx>, Path(code): Path<String>) -> Response {
    feed(&ctx, code, None).await
}

async fn column_feed(
    State(ctx): State<Ctx>,
    Path((code, column)): Path<(String, String)>,
) -> Response {
    feed(&ctx, code, Some(column)).await
}

/// The newest 50 published articles of a site or one of its columns, as Atom.
async fn feed(ctx: &Ctx, code: String, column: Option<String>) -> Response {
    let tz = ctx.tz;
    let found = ctx
        .db
        .read(move |c| {
            let Some(site) = crate::sites::get(c, &code)? else {
                return Ok(None);
            };
            if let Some(col) = &column {
                if site.column(col).is_none() {
                    return Ok(None);
                }
            }
            let q = crate::articles::ListQuery {
                site: Some(code.clone()),
                column: column.clone(),
                limit: 50,
                ..Default::default()
            };
            let (items, _) = crate::articles::list(c, &q, tz)?;
            Ok(Some((site, column, items)))
        })
        .await;
    let (site, column, items) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such site or column").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "feed not made");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let base = ctx.config.public_base();
    let (title, path) = match column.as_deref().and_then(|c| site.column(c)) {
        Some(c) => (
            format!("{} - {}", c.name, site.name),
            format!("/sites/{}/columns/{}", site.code, c.code),
        ),
        None => (site.name.clone(), format!("/sites/{}", site.code)),
    };
    let updated = items
        .iter()
        .filter_map(|a| a.published_at.clone())
        .max()
        .unwrap_or_else(|| tongban_platform::time::rfc3339(0, tz));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n  <title>{}</title>\n  <id>{}</id>\n  <updated>{updated}</updated>\n  <link rel=\"self\" href=\"{}\"/>\n  <link href=\"{}\"/>\n  <author><name>{}</name></author>\n",
        xml_escape(&title),
        xml_escape(&format!("{base}{path}")),
        xml_escape(&format!("{base}{path}/feed.atom")),
        xml_escape(&format!("{base}{path}")),
        xml_escape(&site.department_name),
    );
    for a in &items {
        let at = a.published_at.clone().unwrap_or_else(|| updated.clone());
        let summary = if a.summary.is_empty() {
            a.body.chars().take(200).collect::<String>()
        } else {
            a.summary.clone()
        };
        out.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <id>{}</id>\n    <link href=\"{}\"/>\n    <published>{at}</published>\n    <updated>{at}</updated>\n    <category term=\"{}\"/>\n    <summary>{}</summary>\n  </entry>\n",
            xml_escape(&a.title),
            xml_escape(&format!("{base}{}", a.url)),
            xml_escape(&format!("{base}{}", a.url)),
            xml_escape(&a.topic),
            xml_escape(&summary),
        ));
    }
    out.push_str("</feed>\n");
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response()
}
