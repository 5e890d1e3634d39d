//! A resource's uploaded file (CKAN's `upload` part of `resource_create`/`resource_update`/
//! `resource_patch`, as `ckanapi` sends it): kept in the platform's sealed file store, served
//! at CKAN's address `/dataset/{id}/resource/{rid}/download/{name}` (as an attachment, never
//! as a page), and, when it is a table (`upload::PARSED`), read into the DataStore at once.

use crate::actions::visible;
use crate::ckan::Caller;
use crate::error::{invalid, OdError};
use crate::upload::{self, Table};
use crate::{datasets, datastore, resources};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tongban_platform::db::Conn;
use tongban_platform::{blobs, Ctx};

pub const PUBLIC_PATHS: [&str; 1] = ["/dataset/{id}/resource/{rid}/download/{name}"];

pub fn public_router() -> Router<Ctx> {
    Router::new().route(PUBLIC_PATHS[0], get(download))
}

/// A file as it arrived.
pub struct Upload {
    pub name: String,
    pub data: Vec<u8>,
}

/// A file stored and read, ready to attach to a resource in a write.
pub struct Prepared {
    pub name: String,
    pub format: String,
    pub mimetype: &'static str,
    pub sha: String,
    pub size: i64,
    pub table: Option<Table>,
}

/// The media type a download of `format` is served as (anything else: a plain download).
pub fn media_type(format: &str) -> &'static str {
    match format {
        "CSV" => "text/csv",
        "TSV" => "text/tab-separated-values",
        "JSON" => "application/json",
        "XLSX" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "XLS" => "application/vnd.ms-excel",
        "PDF" => "application/pdf",
        "ZIP" => "application/zip",
        "XML" => "application/xml",
        "GEOJSON" => "application/geo+json",
        "OFD" => "application/ofd",
        "DOCX" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// `name` as one path segment (RFC 3986: unreserved characters kept, the rest %-escaped).
pub fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Store `up` and read its table (off the async threads). `format` is what the call named,
/// else the file's extension.
pub async fn prepare(ctx: &Ctx, format: &str, up: Upload) -> Result<Prepared, OdError> {
    if up.data.is_empty() {
        return Err(invalid("upload", "the file is empty"));
    }
    let name = blobs::clean_name(&up.name);
    let format = resources::format_of(format, &name);
    let dir = ctx.config.upload_dir.clone();
    let (fmt, data) = (format.clone(), up.data);
    tokio::task::spawn_blocking(move || {
        let table = upload::parse(&fmt, &data)?;
        let sha = blobs::put(&dir, &data).map_err(|e| {
            tracing::error!(error = %e, "cannot store an open data file");
            OdError::Db(tongban_platform::db::DbError::Engine(format!(
                "cannot store the file: {e}"
            )))
        })?;
        Ok(Prepared {
            name,
            mimetype: media_type(&fmt),
            format: fmt,
            sha,
            size: data.len() as i64,
            table,
        })
    })
    .await
    .map_err(|e| OdError::Db(tongban_platform::db::DbError::Engine(e.to_string())))?
}

/// Attach a prepared file to resource `rid` of dataset `dataset`: its address and, when it
/// is a table, the resource's DataStore table made anew from it.
pub fn attach(c: &mut dyn Conn, dataset: &str, rid: &str, f: &Prepared) -> Result<(), OdError> {
    let url = format!(
        "/dataset/{dataset}/resource/{rid}/download/{}",
        path_segment(&f.name)
    );
    resources::set_upload(c, rid, &url, &f.sha, f.size, &f.format, f.mimetype)?;
    if let Some(t) = &f.table {
        datastore::create(c, rid, &t.fields, &[], &[])?;
        datastore::insert(c, rid, &t.fields, &t.records)?;
    }
    Ok(())
}

async fn download(
    State(ctx): State<Ctx>,
    Path((id, rid, name)): Path<(String, String, String)>,
) -> Response {
    let (i, r) = (id.clone(), rid.clone());
    let found = ctx
        .db
        .read(move |c| {
            let Some((dataset, sha, mimetype)) = resources::upload_of(c, &r)? else {
                return Ok(None);
            };
            let anyone = Caller { publisher: None };
            let shown = match datasets::head(c, &dataset)? {
                Some(h) => visible(&anyone, &h) && (h.id == i || h.name == i),
                None => false,
            };
            Ok(shown.then_some((dataset, sha, mimetype)))
        })
        .await;
    let (sha, mimetype) = match found {
        Ok(Some((dataset, sha, mimetype))) => {
            crate::usage::download(&ctx, &dataset);
            (sha, mimetype)
        }
        Ok(None) => return (StatusCode::NOT_FOUND, "no such file").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "open data download failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the server failed").into_response();
        }
    };
    let dir = ctx.config.upload_dir.clone();
    let data = match tokio::task::spawn_blocking(move || blobs::get(&dir, &sha)).await {
        Ok(Ok(d)) => d,
        _ => return (StatusCode::NOT_FOUND, "the file is missing").into_response(),
    };
    let name = blobs::clean_name(&name);
    // Only the known media types are named; the file is always an attachment, so an
    // uploaded page can never run on this site.
    (
        [
            (header::CONTENT_TYPE, mimetype),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{}", path_segment(&name)),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
        ],
        data,
    )
        .into_response()
}
