//! CKAN's read actions over the catalogue: what anyone may ask (drafts only for their
//! department's publishers).

use crate::ckan::{Caller, READ_ACTIONS, WRITE_ACTIONS};
use crate::datasets::{self, Head};
use crate::error::{invalid, OdError};
use crate::{resources, search, themes};
use serde_json::{json, Map, Value};
use tongban_platform::db::Conn;
use tongban_platform::Ctx;

fn s(p: &Map<String, Value>, k: &str) -> String {
    match p.get(k) {
        Some(Value::String(v)) => v.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn flag(p: &Map<String, Value>, k: &str) -> bool {
    match p.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(v)) => matches!(v.trim(), "true" | "True" | "1" | "yes"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// `limit` and `offset` (CKAN's list paging), `limit` at most `max`.
fn paging(p: &Map<String, Value>, default: i64, max: i64) -> Result<(i64, i64), OdError> {
    let num = |k: &str, d: i64| -> Result<i64, OdError> {
        match s(p, k).as_str() {
            "" => Ok(d),
            v => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid(k, "Must be a natural number")),
        }
    };
    let limit = num("limit", default)?;
    if limit > max {
        return Err(invalid("limit", format!("Must be at most {max}")));
    }
    Ok((limit, num("offset", 0)?))
}

/// Whether `caller` may see dataset `h`: published, or a draft of the caller's department.
pub fn visible(caller: &Caller, h: &Head) -> bool {
    may_see(caller, &h.state, &h.department)
}

/// Whether `caller` may see a dataset in `state` of `department` (see [`visible`]).
pub fn may_see(caller: &Caller, state: &str, department: &str) -> bool {
    state == "active"
        || (state == "draft"
            && caller
                .publisher
                .as_ref()
                .is_some_and(|s| s.department.code == department))
}

/// The dataset `id` names, if `caller` may see it.
pub fn visible_head(c: &mut dyn Conn, caller: &Caller, id: &str) -> Result<Head, OdError> {
    if id.is_empty() {
        return Err(datasets::need_id());
    }
    match datasets::head(c, id)? {
        Some(h) if visible(caller, &h) => Ok(h),
        _ => Err(OdError::NotFound("Dataset not found".into())),
    }
}

fn organization(c: &mut dyn Conn, code: &str, count: i64) -> Result<Value, OdError> {
    let mut o = datasets::organization(c, code)?;
    o["package_count"] = count.into();
    o["display_name"] = o["title"].clone();
    Ok(o)
}

pub async fn run(
    ctx: &Ctx,
    caller: &Caller,
    action: &str,
    p: Map<String, Value>,
) -> Result<Value, OdError> {
    let site_title = "开放数据";
    match action {
        "site_read" => return Ok(Value::Bool(true)),
        "status_show" => {
            return Ok(json!({
                "site_title": site_title,
                "site_description": "Tongban open government data (CKAN Action API v3)",
                "site_url": ctx.config.public_url.clone().unwrap_or_default(),
                "ckan_version": "2.10.0",
                "locale_default": "zh_Hans_CN",
                "extensions": ["tongban", "datastore", "dcat"],
                "error_emails_to": null,
            }))
        }
        "help_show" => {
            let name = s(&p, "name");
            if !READ_ACTIONS.contains(&name.as_str()) && !WRITE_ACTIONS.contains(&name.as_str()) {
                return Err(OdError::NotFound(format!("Action function not found: {name}")));
            }
            return Ok(Value::String(format!(
                "{name}: see the API guide at /data/api (CKAN Action API v3)"
            )));
        }
        "license_list" => {
            return Ok(Value::Array(
                datasets::licenses()
                    .iter()
                    .map(|l| {
                        json!({"id": l["id"], "title": l["title"], "url": l["url"],
                               "od_conformance": if l["open"] == true { "approved" } else { "not reviewed" },
                               "status": "active"})
                    })
                    .collect(),
            ))
        }
        "datastore_search_sql" => return crate::sql::run(ctx, caller, &p).await,
        _ => {}
    }
    let caller = Caller {
        publisher: caller.publisher.clone(),
    };
    let action = action.to_owned();
    let cache = ctx.db.local::<search::Catalogue>();
    ctx.db
        .read(
            move |c| -> Result<Result<Value, OdError>, tongban_platform::db::DbError> {
                Ok(read(c, &cache, &caller, &action, &p))
            },
        )
        .await?
}

fn read(
    c: &mut dyn Conn,
    cache: &search::Catalogue,
    caller: &Caller,
    action: &str,
    p: &Map<String, Value>,
) -> Result<Value, OdError> {
    match action {
        "package_list" => {
            let (limit, offset) = paging(p, 1000, 1000)?;
            Ok(json!(datasets::names(c, limit, offset)?))
        }
        "package_show" => {
            let h = visible_head(c, caller, &s(p, "id"))?;
            datasets::package(c, &h.id)?
                .ok_or_else(|| OdError::NotFound("Dataset not found".into()))
        }
        "package_search" => search::run(c, cache, &search::Query::parse(p)?),
        "datastore_search" => crate::ds_actions::search(c, caller, p),
        "package_autocomplete" => {
            let q = s(p, "q");
            let (limit, _) = paging(p, 10, 100)?;
            let mut m = Map::new();
            m.insert("q".into(), q.clone().into());
            m.insert("rows".into(), limit.into());
            m.insert("sort".into(), "score desc, name asc".into());
            let r = search::run(c, cache, &search::Query::parse(&m)?)?;
            Ok(Value::Array(
                r["results"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|d| {
                                let title = d["title"].as_str().unwrap_or("");
                                let by_title = title.to_lowercase().contains(&q.to_lowercase());
                                json!({"name": d["name"], "title": title,
                                       "match_field": if by_title { "title" } else { "name" },
                                       "match_displayed": if by_title { d["title"].clone() } else { d["name"].clone() }})
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ))
        }
        "current_package_list_with_resources" => {
            let (limit, offset) = paging(p, 10, 1000)?;
            let rows = c.query(
                "SELECT id FROM od_datasets WHERE state = 'active' ORDER BY modified_at DESC, id LIMIT $1 OFFSET $2",
                tongban_platform::params![limit, offset],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                if let Some(v) = datasets::package(c, &r.get_str("id")?)? {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        "organization_list" | "organization_show" => {
            let counts = datasets::counts_by_department(c)?;
            let departments = tongban_platform::identity::all_departments(c)?;
            if action == "organization_show" {
                let id = s(p, "id");
                if id.is_empty() {
                    return Err(invalid("id", "Missing value"));
                }
                if !departments.iter().any(|d| d.code == id) {
                    return Err(OdError::NotFound("Organization not found".into()));
                }
                let mut o = organization(c, &id, counts.get(&id).copied().unwrap_or(0))?;
                if flag(p, "include_datasets") {
                    let mut m = Map::new();
                    m.insert("fq".into(), format!("organization:{id}").into());
                    m.insert("rows".into(), 1000.into());
                    o["packages"] =
                        search::run(c, cache, &search::Query::parse(&m)?)?["results"].clone();
                }
                return Ok(o);
            }
            let (limit, offset) = paging(p, 1000, 1000)?;
            let mut list: Vec<(String, i64)> = departments
                .iter()
                .map(|d| (d.code.clone(), counts.get(&d.code).copied().unwrap_or(0)))
                .collect();
            if s(p, "sort").starts_with("package_count") {
                list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            } else {
                list.sort();
            }
            let page = list
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(0))
                .take(usize::try_from(limit).unwrap_or(0));
            if flag(p, "all_fields") {
                let mut out = Vec::new();
                for (code, n) in page {
                    out.push(organization(c, &code, n)?);
                }
                Ok(Value::Array(out))
            } else {
                Ok(Value::Array(
                    page.map(|(code, _)| Value::String(code)).collect(),
                ))
            }
        }
        "group_list" | "group_show" => {
            let all = themes::all(c)?;
            let with_count = |(mut g, n): (Value, i64)| {
                g["package_count"] = n.into();
                g["type"] = "group".into();
                g["is_organization"] = false.into();
                g["state"] = "active".into();
                g
            };
            if action == "group_show" {
                let id = s(p, "id");
                if id.is_empty() {
                    return Err(invalid("id", "Missing value"));
                }
                let g = all
                    .into_iter()
                    .find(|(g, _)| g["name"] == id.as_str())
                    .ok_or_else(|| OdError::NotFound("Group not found".into()))?;
                let mut g = with_count(g);
                if flag(p, "include_datasets") {
                    let mut m = Map::new();
                    m.insert("fq".into(), format!("groups:{id}").into());
                    m.insert("rows".into(), 1000.into());
                    g["packages"] =
                        search::run(c, cache, &search::Query::parse(&m)?)?["results"].clone();
                }
                return Ok(g);
            }
            if flag(p, "all_fields") {
                Ok(Value::Array(all.into_iter().map(with_count).collect()))
            } else {
                Ok(Value::Array(
                    all.into_iter().map(|(g, _)| g["name"].clone()).collect(),
                ))
            }
        }
        "tag_list" => {
            let q = s(p, "query");
            let rows = c.query(
                "SELECT DISTINCT t.tag FROM od_dataset_tags t JOIN od_datasets d ON d.id = t.dataset_id
                 WHERE d.state = 'active' ORDER BY t.tag LIMIT 10000",
                &[],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let t = r.get_str("tag")?;
                if q.is_empty() || t.to_lowercase().contains(&q.to_lowercase()) {
                    out.push(if flag(p, "all_fields") {
                        json!({"id": t, "name": t, "display_name": t, "vocabulary_id": null})
                    } else {
                        Value::String(t)
                    });
                }
            }
            Ok(Value::Array(out))
        }
        "format_autocomplete" => {
            let q = s(p, "q").to_uppercase();
            let rows = c.query(
                "SELECT DISTINCT UPPER(format) AS f FROM od_resources ORDER BY f LIMIT 1000",
                &[],
            )?;
            Ok(Value::Array(
                rows.iter()
                    .filter_map(|r| r.get_str("f").ok())
                    .filter(|f| !f.is_empty() && f.contains(&q))
                    .map(Value::String)
                    .collect(),
            ))
        }
        "resource_show" => {
            let id = s(p, "id");
            if id.is_empty() {
                return Err(invalid("id", "Missing value"));
            }
            let r = resources::get(c, &id)?
                .ok_or_else(|| OdError::NotFound("Resource was not found.".into()))?;
            let dataset = r["package_id"].as_str().unwrap_or("").to_owned();
            match datasets::head(c, &dataset)? {
                Some(h) if visible(caller, &h) => Ok(r),
                _ => Err(OdError::NotFound("Resource was not found.".into())),
            }
        }
        other => Err(OdError::NotFound(format!("Action name not known: {other}"))),
    }
}
