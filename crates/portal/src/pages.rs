//! The sites' pages on the public listener, on the shared templates: the website group
//! (`/sites`), a site's home with its columns (`/sites/{code}`, or `/` of its own host), a
//! column's list, an article with its 政务公开 metadata and files, and the logo.

use crate::articles::{self, ListQuery};
use crate::sites::{self, Site};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use std::collections::HashMap;
use tongban_platform::http::Paging;
use tongban_platform::{ApiError, Ctx};
use tongban_web::Page;

pub const PAGE_PATHS: [&str; 6] = [
    "/sites",
    "/sites/{code}",
    "/sites/{code}/columns/{column}",
    "/sites/{code}/articles/{id}",
    "/sites/{code}/files/{id}/{n}",
    "/sites/{code}/logo",
];

pub fn public_router() -> Router<Ctx> {
    let p = PAGE_PATHS;
    Router::new()
        .route(p[0], get(group))
        .route(p[1], get(home))
        .route(p[2], get(column))
        .route(p[3], get(article))
        .route(p[4], get(file))
        .route(p[5], get(logo))
}

/// The site, or the page saying there is none.
pub(crate) async fn site_or_404(ctx: &Ctx, page: &Page, code: &str) -> Result<Site, Response> {
    let code2 = code.to_owned();
    match ctx.db.read(move |c| sites::get(c, &code2)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(page.not_found()),
        Err(e) => Err(page.error(&e.into())),
    }
}

async fn group(State(ctx): State<Ctx>, page: Page) -> Response {
    match ctx.db.read(sites::list).await {
        Ok(sites) => page.ok("sites.html", context! { sites }),
        Err(e) => page.error(&e.into()),
    }
}

/// A site's home: the newest articles of each column.
pub async fn site_home(ctx: &Ctx, page: &Page, code: &str) -> Response {
    let site = match site_or_404(ctx, page, code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (tz, s2) = (ctx.tz, site.clone());
    let columns = ctx
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for col in &s2.columns {
                let q = ListQuery {
                    site: Some(s2.code.clone()),
                    column: Some(col.code.clone()),
                    limit: 6,
                    ..ListQuery::default()
                };
                let (items, total) = articles::list(c, &q, tz)?;
                out.push(context! { column => col, items, total });
            }
            Ok(out)
        })
        .await;
    match columns {
        Ok(columns) => page.ok("site.html", context! { site, columns }),
        Err(e) => page.error(&e.into()),
    }
}

async fn home(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    site_home(&ctx, &page, &code).await
}

async fn column(
    State(ctx): State<Ctx>,
    page: Page,
    Path((code, col)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let site = match site_or_404(&ctx, &page, &code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(column) = site.column(&col).cloned() else {
        return page.not_found();
    };
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let lq = ListQuery {
        site: Some(code.clone()),
        column: Some(col.clone()),
        limit: p.page_size,
        offset: p.offset(),
        ..ListQuery::default()
    };
    let tz = ctx.tz;
    match ctx.db.read(move |c| articles::list(c, &lq, tz)).await {
        Ok((items, total)) => page.ok(
            "site_column.html",
            context! {
                site, column, items, total, page => p.page, per_page => p.page_size,
                base_query => format!("/sites/{code}/columns/{col}?"),
            },
        ),
        Err(e) => page.error(&e.into()),
    }
}

async fn article(
    State(ctx): State<Ctx>,
    page: Page,
    Path((code, id)): Path<(String, String)>,
) -> Response {
    let site = match site_or_404(&ctx, &page, &code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return page.not_found();
    };
    let tz = ctx.tz;
    let a = match ctx.db.read(move |c| articles::get(c, id, tz, false)).await {
        Ok(Some(a)) if a.state == "published" && a.site == code => a,
        Ok(_) => return page.not_found(),
        Err(e) => return page.error(&e.into()),
    };
    let paragraphs = a.paragraphs();
    let images: Vec<_> = a
        .files
        .iter()
        .filter(|f| matches!(f.kind.as_str(), "jpg" | "png"))
        .cloned()
        .collect();
    let documents: Vec<_> = a
        .files
        .iter()
        .filter(|f| !matches!(f.kind.as_str(), "jpg" | "png"))
        .cloned()
        .collect();
    let column = site.column(&a.column).cloned();
    page.ok(
        "site_article.html",
        context! { site, column, a, paragraphs, images, documents },
    )
}

async fn file(
    State(ctx): State<Ctx>,
    page: Page,
    Path((code, id, n)): Path<(String, String, String)>,
) -> Response {
    let (Ok(id), Ok(n)) = (id.parse::<i64>(), n.parse::<i64>()) else {
        return page.not_found();
    };
    match articles::files::read_public(&ctx, &code, id, n).await {
        Ok(Some((name, data))) => {
            let mut r = tongban_web::files::download(&name, data);
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("public, max-age=3600"),
            );
            r
        }
        Ok(None) => page.not_found(),
        Err(e) => page.error(&ApiError::from(e)),
    }
}

async fn logo(State(ctx): State<Ctx>, page: Page, Path(code): Path<String>) -> Response {
    let site = match site_or_404(&ctx, &page, &code).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(blob) = site.logo else {
        return page.not_found();
    };
    let dir = ctx.config.upload_dir.clone();
    match tokio::task::spawn_blocking(move || tongban_platform::blobs::get(&dir, &blob)).await {
        Ok(Ok(data)) => {
            let kind = tongban_web::files::previewable(&data).unwrap_or("application/octet-stream");
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                data,
            )
                .into_response()
        }
        _ => page.not_found(),
    }
}
