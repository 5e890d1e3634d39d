//! Downloads of a DataStore table, at CKAN's address `/datastore/dump/{resource_id}` with
//! `?format=csv` (the default; UTF-8 with a byte-order mark so spreadsheet programs read the
//! Chinese, the fields' labels as a second header line when `labels=true`) or `json`
//! (`{"fields", "records"}`) or `xlsx` (one sheet). Only a published dataset's resources.

use crate::actions::visible;
use crate::ckan::Caller;
use crate::datastore::{self, json_of, Field};
use crate::{datasets, resources};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use tongban_platform::db::{Conn, DbError, Value as Param};
use tongban_platform::{params, Ctx};

pub const PUBLIC_PATHS: [&str; 1] = ["/datastore/dump/{id}"];

pub fn public_router() -> Router<Ctx> {
    Router::new().route(PUBLIC_PATHS[0], get(dump))
}

/// Rows read from the table at a time.
const CHUNK: i64 = 5_000;

/// One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn text_of(f: &Field, v: &Param) -> String {
    match (f.kind.as_str(), v) {
        (_, Param::Null) => String::new(),
        ("bool", Param::Int(i)) => (*i != 0).to_string(),
        (_, Param::Int(i)) => i.to_string(),
        (_, Param::Real(x)) => x.to_string(),
        (_, Param::Bool(b)) => b.to_string(),
        (_, Param::Text(s)) => s.clone(),
        (_, Param::Blob(_)) => String::new(),
    }
}

/// The fields and every row of resource `id`'s table, `None` when the caller may not see it
/// or it has no table.
/// A table's fields and rows.
type Table = (Vec<Field>, Vec<Vec<Param>>);

fn read_all(c: &mut dyn Conn, id: &str) -> Result<Option<(String, Table)>, DbError> {
    let Some(r) = resources::get(c, id)? else {
        return Ok(None);
    };
    let dataset = r["package_id"].as_str().unwrap_or("").to_owned();
    let anyone = Caller { publisher: None };
    if !datasets::head(c, &dataset)?.is_some_and(|h| visible(&anyone, &h)) {
        return Ok(None);
    }
    let Some(fields) = datastore::fields(c, id)? else {
        return Ok(None);
    };
    let cols: Vec<String> = std::iter::once("\"_id\"".to_owned())
        .chain(fields.iter().map(|f| format!("\"{}\"", f.id)))
        .collect();
    let mut rows = Vec::new();
    let mut after = 0i64;
    loop {
        let chunk = c.query(
            &format!(
                "SELECT {} FROM {} WHERE \"_id\" > $1 ORDER BY \"_id\" LIMIT $2",
                cols.join(", "),
                datastore::table(id)
            ),
            params![after, CHUNK],
        )?;
        let n = chunk.len();
        for r in chunk {
            if let Some(Param::Int(i)) = r.values().first() {
                after = *i;
            }
            rows.push(r.values().to_vec());
        }
        if i64::try_from(n).unwrap_or(0) < CHUNK {
            break;
        }
    }
    Ok(Some((dataset, (fields, rows))))
}

async fn dump(
    State(ctx): State<Ctx>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let format = q.get("format").map_or("csv", String::as_str).to_lowercase();
    if !["csv", "json", "xlsx"].contains(&format.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": {"code": "bad_format", "message": "format: csv, json or xlsx"}}),
            ),
        )
            .into_response();
    }
    let labels = q.get("labels").is_some_and(|v| v == "true");
    let id2 = id.clone();
    let read = ctx.db.read(move |c| read_all(c, &id2)).await;
    let (fields, rows) = match read {
        Ok(Some((dataset, x))) => {
            crate::usage::download(&ctx, &dataset);
            x
        }
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": {"code": "no_such_table",
                    "message": format!("no published DataStore table for resource {id}")}})),
            )
                .into_response()
        }
        Err(e) => return tongban_platform::ApiError::from(e).into_response(),
    };
    let all: Vec<Field> = std::iter::once(Field {
        id: "_id".into(),
        kind: "int".into(),
        label: String::new(),
    })
    .chain(fields)
    .collect();
    if format == "json" {
        let records: Vec<Value> = rows
            .iter()
            .map(|r| {
                Value::Object(
                    all.iter()
                        .zip(r)
                        .map(|(f, v)| {
                            let v = match (f.kind.as_str(), v) {
                                ("bool", Param::Int(i)) => Value::Bool(*i != 0),
                                _ => json_of(v),
                            };
                            (f.id.clone(), v)
                        })
                        .collect(),
                )
            })
            .collect();
        let fields: Vec<Value> = all
            .iter()
            .map(|f| json!({"id": f.id, "type": f.kind, "info": {"label": f.label}}))
            .collect();
        let mut resp = axum::Json(json!({"fields": fields, "records": records})).into_response();
        if let Ok(v) = format!("attachment; filename=\"{id}.json\"").parse() {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return resp;
    }
    if format == "xlsx" {
        return match tokio::task::spawn_blocking(move || xlsx(&all, &rows, labels)).await {
            Ok(Ok(bytes)) => (
                [
                    (
                        header::CONTENT_TYPE,
                        crate::files::media_type("XLSX").to_owned(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{id}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response(),
            Ok(Err(m)) => (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": {"code": "bad_format", "message": m}})),
            )
                .into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out.push_str(&line(all.iter().map(|f| cell(&f.id)).collect()));
    if labels {
        out.push_str(&line(all.iter().map(|f| cell(&f.label)).collect()));
    }
    for r in &rows {
        out.push_str(&line(
            all.iter()
                .zip(r)
                .map(|(f, v)| cell(&text_of(f, v)))
                .collect(),
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}.csv\""),
            ),
        ],
        out,
    )
        .into_response()
}

/// The most rows a sheet holds (Excel's limit, less the header lines).
const SHEET_ROWS: usize = 1_048_574;

/// The table as a workbook of one sheet: field ids in the first row (labels in the second
/// when asked), numbers as numbers, text always as text (never a formula).
fn xlsx(all: &[Field], rows: &[Vec<Param>], labels: bool) -> Result<Vec<u8>, String> {
    if rows.len() > SHEET_ROWS {
        return Err(format!(
            "{} rows do not fit in a sheet; download format=csv",
            rows.len()
        ));
    }
    let failed = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let mut line: u32 = 0;
    for (col, f) in all.iter().enumerate() {
        sheet
            .write_string_with_format(0, col as u16, &f.id, &bold)
            .map_err(failed)?;
        if labels {
            sheet
                .write_string(1, col as u16, &f.label)
                .map_err(failed)?;
        }
    }
    line += if labels { 2 } else { 1 };
    for r in rows {
        for (col, (f, v)) in all.iter().zip(r).enumerate() {
            let col = col as u16;
            match (f.kind.as_str(), v) {
                (_, Param::Null | Param::Blob(_)) => {}
                ("bool", Param::Int(i)) => {
                    sheet.write_boolean(line, col, *i != 0).map_err(failed)?;
                }
                (_, Param::Bool(b)) => {
                    sheet.write_boolean(line, col, *b).map_err(failed)?;
                }
                (_, Param::Int(i)) if i.unsigned_abs() < (1 << 53) => {
                    sheet.write_number(line, col, *i as f64).map_err(failed)?;
                }
                (_, Param::Real(x)) => {
                    sheet.write_number(line, col, *x).map_err(failed)?;
                }
                (_, other) => {
                    sheet
                        .write_string(line, col, text_of(f, other))
                        .map_err(failed)?;
                }
            }
        }
        line += 1;
    }
    book.save_to_buffer().map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_quoted_when_they_must_be() {
        assert_eq!(super::cell("区县"), "区县");
        assert_eq!(super::cell("a,b"), "\"a,b\"");
        assert_eq!(super::cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
