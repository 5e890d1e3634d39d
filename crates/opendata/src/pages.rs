//! The open data pages on the public listener, on the shared templates: the catalogue with
//! its facets (`/data`), a dataset with a preview of its table, a chart and the calls that
//! fetch it (`/data/dataset/{name}`), the API guide (`/data/api`), and the datasets people
//! asked for (`/data/request`, `/data/requests`).

use crate::actions::visible;
use crate::ckan::Caller;
use crate::requests::{self, Ask};
use crate::{datasets, ds_actions, search, themes, usage};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tongban_platform::db::Conn;
use tongban_platform::http::{ClientAddr, Paging};
use tongban_platform::{ApiError, Ctx};
use tongban_web::charts::{Chart, Kind, Series};
use tongban_web::form::SafeForm;
use tongban_web::Page;

pub const PAGE_PATHS: [&str; 5] = [
    "/data",
    "/data/dataset/{name}",
    "/data/api",
    "/data/request",
    "/data/requests",
];

pub fn public_router() -> Router<Ctx> {
    let p = PAGE_PATHS;
    Router::new()
        .route(p[0], get(catalogue))
        .route(p[1], get(dataset))
        .route(p[2], get(guide))
        .route(p[3], get(request_form).post(request))
        .route(p[4], get(asked))
}

/// Datasets on one page of the catalogue.
const PER_PAGE: i64 = 20;

/// The filters a catalogue page may carry, as (query key, facet field).
const FILTERS: [&str; 5] = ["organization", "groups", "tags", "res_format", "license_id"];

fn href(q: &HashMap<String, String>, set: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<(String, String)> = q
        .iter()
        .filter(|(k, v)| (FILTERS.contains(&k.as_str()) || *k == "q") && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some((k, v)) = set {
        pairs.retain(|(k2, _)| k2 != k);
        if !v.is_empty() {
            pairs.push((k.to_owned(), v.to_owned()));
        }
    }
    pairs.sort();
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/data".into()
    } else {
        format!("/data?{query}")
    }
}

/// Names people read for a facet's values.
fn display_names(c: &mut dyn Conn) -> Result<HashMap<String, String>, ApiError> {
    let mut names: HashMap<String, String> = datasets::department_names(c)?
        .into_iter()
        .map(|(code, name)| (format!("organization:{code}"), name))
        .collect();
    for (g, _) in themes::all(c)? {
        names.insert(
            format!("groups:{}", g["name"].as_str().unwrap_or("")),
            g["title"].as_str().unwrap_or("").to_owned(),
        );
    }
    for l in datasets::licenses() {
        names.insert(
            format!("license_id:{}", l["id"].as_str().unwrap_or("")),
            l["title"].as_str().unwrap_or("").to_owned(),
        );
    }
    Ok(names)
}

async fn catalogue(
    State(ctx): State<Ctx>,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = match Paging::from_query_with(&q, PER_PAGE) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    // Words only: a `field:` typed in the box is read as words.
    let words = q
        .get("q")
        .map(|s| s.replace([':', '"'], " "))
        .unwrap_or_default();
    let fq: Vec<String> = FILTERS
        .iter()
        .filter_map(|f| {
            q.get(*f)
                .filter(|v| !v.trim().is_empty())
                .map(|v| format!("{f}:\"{}\"", v.replace('"', "")))
        })
        .collect();
    let mut params = Map::new();
    params.insert("q".into(), words.clone().into());
    params.insert("fq".into(), fq.join(" ").into());
    params.insert("rows".into(), PER_PAGE.into());
    params.insert("start".into(), p.offset().into());
    params.insert("facet.field".into(), json!(FILTERS));
    params.insert("facet.limit".into(), 12.into());
    let sort = if words.trim().is_empty() {
        "metadata_modified desc"
    } else {
        "score desc, metadata_modified desc"
    };
    params.insert("sort".into(), sort.into());
    let cache = ctx.db.local::<search::Catalogue>();
    let read = ctx
        .db
        .read(move |c| {
            let found = search::Query::parse(&params).and_then(|s| search::run(c, &cache, &s));
            Ok((found, display_names(c)))
        })
        .await;
    let (found, names) = match read {
        Ok((Ok(f), Ok(n))) => (f, n),
        Ok((Err(e), _)) => {
            return page.error(&ApiError::bad_request("invalid_search", e.to_string()))
        }
        Ok((_, Err(e))) => return page.error(&e),
        Err(e) => return page.error(&e.into()),
    };
    let facets: Vec<Value> = FILTERS
        .iter()
        .map(|f| {
            let chosen = q.get(*f).cloned().unwrap_or_default();
            let items: Vec<Value> = found["search_facets"][*f]["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let v = i["name"].as_str().unwrap_or("");
                    let active = chosen == v;
                    json!({
                        "label": names.get(&format!("{f}:{v}")).cloned().unwrap_or_else(|| v.to_owned()),
                        "count": i["count"],
                        "active": active,
                        "href": href(&q, Some((f, if active { "" } else { v }))),
                    })
                })
                .collect();
            json!({"field": f, "items": items})
        })
        .collect();
    let base = href(&q, None);
    page.ok(
        "data_catalogue.html",
        context! {
            q => words.trim(),
            count => found["count"],
            results => found["results"],
            facets,
            page_no => p.page,
            per_page => p.page_size,
            base,
        },
    )
}

/// The first DataStore table of `pkg` shown: its first rows, and a bar chart of its first
/// number column by its first text column.
fn preview(c: &mut dyn Conn, pkg: &Value) -> Result<Option<Value>, ApiError> {
    let Some(r) = pkg["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["datastore_active"] == true)
    else {
        return Ok(None);
    };
    let rid = r["id"].as_str().unwrap_or("").to_owned();
    let mut p = Map::new();
    p.insert("resource_id".into(), rid.clone().into());
    p.insert("limit".into(), 20.into());
    let anyone = Caller { publisher: None };
    let table = ds_actions::search(c, &anyone, &p)
        .map_err(|e| ApiError::bad_request("invalid_search", e.to_string()))?;
    let fields: Vec<Value> = table["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["id"] != "_id")
        .collect();
    let records = table["records"].as_array().cloned().unwrap_or_default();
    let label = fields.iter().find(|f| f["type"] == "text");
    let number = fields
        .iter()
        .find(|f| f["type"] == "int" || f["type"] == "float");
    let chart = match (label, number) {
        (Some(l), Some(n)) => {
            let (lid, nid) = (
                l["id"].as_str().unwrap_or(""),
                n["id"].as_str().unwrap_or(""),
            );
            let mut labels = Vec::new();
            let mut values = Vec::new();
            for rec in &records {
                if let (Some(a), Some(b)) = (rec[lid].as_str(), rec[nid].as_f64()) {
                    labels.push(a.to_owned());
                    values.push(b);
                }
            }
            let name = |f: &Value| {
                let label = f["info"]["label"].as_str().unwrap_or("");
                if label.is_empty() {
                    f["id"].as_str().unwrap_or("").to_owned()
                } else {
                    label.to_owned()
                }
            };
            (!labels.is_empty()).then(|| {
                let chart = Chart {
                    id: "preview",
                    title: format!("{}（{}）", name(n), name(l)),
                    kind: Kind::Bar,
                    unit: String::new(),
                    label_name: name(l),
                    labels,
                    series: vec![Series {
                        name: name(n),
                        values,
                    }],
                    partial: Vec::new(),
                };
                json!({"title": chart.title, "svg": chart.svg()})
            })
        }
        _ => None,
    };
    Ok(Some(json!({
        "resource_id": rid,
        "fields": fields,
        "records": records,
        "total": table["total"],
        "chart": chart,
    })))
}

async fn dataset(State(ctx): State<Ctx>, page: Page, Path(name): Path<String>) -> Response {
    let read = ctx
        .db
        .read(move |c| {
            let anyone = Caller { publisher: None };
            let Some(h) = datasets::head(c, &name)?.filter(|h| visible(&anyone, h)) else {
                return Ok(Ok(None));
            };
            let Some(pkg) = datasets::package(c, &h.id)? else {
                return Ok(Ok(None));
            };
            let shown = preview(c, &pkg);
            let downloads = usage::of_dataset(c, &h.id)?;
            Ok(shown.map(|p| Some((pkg, p, downloads))))
        })
        .await;
    let (pkg, shown, downloads) = match read {
        Ok(Ok(Some(x))) => x,
        Ok(Ok(None)) => return page.not_found(),
        Ok(Err(e)) => return page.error(&e),
        Err(e) => return page.error(&e.into()),
    };
    let base = ctx.config.public_base();
    page.ok(
        "data_dataset.html",
        context! { d => pkg, preview => shown, downloads, base },
    )
}

async fn guide(State(ctx): State<Ctx>, page: Page) -> Response {
    let base = ctx.config.public_base();
    let limit = ctx.config.api_calls_per_minute;
    let sql_ms = ctx.config.sql_time_limit_ms;
    page.ok(
        "data_api.html",
        context! { base, limit, sql_ms, reads => crate::ckan::READ_ACTIONS, writes => crate::ckan::WRITE_ACTIONS },
    )
}

async fn departments(ctx: &Ctx) -> Vec<Value> {
    ctx.db
        .read(|c| tongban_platform::identity::all_departments(c))
        .await
        .map(|ds| {
            ds.into_iter()
                .map(|d| json!({"code": d.code, "name": d.name}))
                .collect()
        })
        .unwrap_or_default()
}

async fn request_form(State(ctx): State<Ctx>, page: Page) -> Response {
    let departments = departments(&ctx).await;
    page.ok(
        "data_request.html",
        context! { departments, f => Ask::default(), errors => HashMap::<String, String>::new() },
    )
}

async fn request(
    State(ctx): State<Ctx>,
    page: Page,
    ClientAddr(addr): ClientAddr,
    SafeForm(f): SafeForm<Ask>,
) -> Response {
    let limited = tongban_platform::throttle::limit(
        &ctx.db,
        format!("odreq:{addr}"),
        ctx.config.rate_per_hour,
        3_600_000,
        "dataset requests",
    )
    .await;
    if let Err(e) = limited {
        return page.error(&e);
    }
    let now = tongban_platform::time::now_millis();
    let ask = f.clone();
    let made = ctx
        .db
        .transact(move |c| requests::submit(c, &ask, now))
        .await;
    match made {
        Ok(id) => Redirect::to(&format!("/data/requests?made={id}")).into_response(),
        Err(e) => {
            let e = crate::staff::request_error(e);
            let errors = tongban_web::routes::field_errors(&page, &e);
            let departments = departments(&ctx).await;
            page.render(
                e.status,
                "data_request.html",
                context! { departments, f, errors },
            )
        }
    }
}

async fn asked(
    State(ctx): State<Ctx>,
    page: Page,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let p = match Paging::from_query(&q) {
        Ok(p) => p,
        Err(e) => return page.error(&e),
    };
    let (limit, offset) = (p.page_size, p.offset());
    let read = ctx
        .db
        .read(move |c| {
            let (items, total) = requests::list(c, None, limit, offset, false)?;
            Ok((items, total, datasets::department_names(c)?))
        })
        .await;
    match read {
        Ok((items, total, names)) => {
            let tz = ctx.config.tz();
            let items: Vec<Value> = items
                .into_iter()
                .map(|r| {
                    json!({
                        "id": r.id, "title": r.title, "description": r.description,
                        "department": r.department.as_ref().and_then(|d| names.get(d)),
                        "status": r.status, "reply": r.reply,
                        "asked_on": tongban_platform::time::date_of(r.created_at, tz).to_string(),
                    })
                })
                .collect();
            let made = q.get("made").and_then(|m| m.parse::<i64>().ok());
            page.ok(
                "data_requests.html",
                context! { items, total, made, page_no => p.page, per_page => p.page_size, base => "/data/requests" },
            )
        }
        Err(e) => page.error(&e.into()),
    }
}
