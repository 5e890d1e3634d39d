//! CKAN's DataStore actions: `datastore_search` for anyone (of a published dataset's
//! resource), `datastore_create`, `datastore_upsert` (insert) and `datastore_delete` for the
//! owning department's publishers.

use crate::ckan::Caller;
use crate::datastore::{self, json_of, where_of, Field, Params, ROWS_MAX};
use crate::error::{invalid, OdError};
use crate::write::own;
use crate::{datasets, resources};
use serde_json::{json, Map, Value};
use tongban_platform::db::{Conn, DbError, Value as Param};
use tongban_platform::identity::Staff;

fn resource_id(p: &Params) -> Result<String, OdError> {
    p.get("resource_id")
        .or_else(|| p.get("id"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("resource_id", "Missing value"))
}

/// A JSON parameter that may arrive as a JSON string (from a query string).
fn json_param(p: &Params, k: &str) -> Result<Option<Value>, OdError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.trim_start().starts_with(['{', '[']) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| invalid(k, "not JSON")),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn int(p: &Params, k: &str, default: i64) -> Result<i64, OdError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid(k, "Invalid integer")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| invalid(k, "Invalid integer")),
        Some(_) => Err(invalid(k, "Invalid integer")),
    }
}

/// A list of field ids: a JSON list, or one text of ids separated by commas.
fn id_list(p: &Params, k: &str) -> Result<Vec<String>, OdError> {
    match json_param(p, k)? {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => Ok(a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()),
        Some(_) => Err(invalid(k, "a list of field ids")),
    }
}

/// The fields of resource `id`'s table, when `caller` may see its dataset: the resource, its
/// dataset and its fields read in one flight.
pub(crate) fn table_of(c: &mut dyn Conn, caller: &Caller, id: &str) -> Result<Vec<Field>, OdError> {
    let key = [Param::Text(id.to_owned())];
    let answers = c.query_many(&[
        (
            "SELECT d.state, d.department_code FROM od_resources r
             JOIN od_datasets d ON d.id = r.dataset_id WHERE r.id = $1",
            &key,
        ),
        (
            "SELECT field_id, kind, label FROM od_ds_fields WHERE resource_id = $1 ORDER BY position",
            &key,
        ),
    ])?;
    let missing = || OdError::NotFound(format!("Resource \"{id}\" was not found."));
    let head = answers
        .first()
        .and_then(|r| r.first())
        .ok_or_else(missing)?;
    let (state, department) = (head.get_str("state")?, head.get_str("department_code")?);
    if !crate::actions::may_see(caller, &state, &department) {
        return Err(missing());
    }
    let fields = answers
        .get(1)
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    Ok(Field {
                        id: r.get_str("field_id")?,
                        kind: r.get_str("kind")?,
                        label: r.get_str("label")?,
                    })
                })
                .collect::<Result<Vec<_>, DbError>>()
        })
        .transpose()?
        .unwrap_or_default();
    if fields.is_empty() {
        return Err(OdError::NotFound(format!(
            "Resource \"{id}\" is not in the DataStore."
        )));
    }
    Ok(fields)
}

fn field_json(f: &Field) -> Value {
    json!({"id": f.id, "type": f.kind, "info": {"label": f.label}})
}

/// `datastore_search`.
pub fn search(c: &mut dyn Conn, caller: &Caller, p: &Params) -> Result<Value, OdError> {
    let id = resource_id(p)?;
    let fields = table_of(c, caller, &id)?;
    let limit = int(p, "limit", 100)?;
    if !(0..=ROWS_MAX).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("Must be between 0 and {ROWS_MAX}"),
        ));
    }
    let offset = int(p, "offset", 0)?;
    if offset < 0 {
        return Err(invalid("offset", "Must be a natural number"));
    }
    let mut params: Vec<Param> = Vec::new();
    let mut conds = where_of(&fields, json_param(p, "filters")?.as_ref(), &mut params)?;
    // q: words in any text field, or {field: words}.
    match json_param(p, "q")? {
        None => {}
        Some(Value::String(q)) => {
            let texts: Vec<&Field> = fields.iter().filter(|f| f.kind == "text").collect();
            if !texts.is_empty() && !q.trim().is_empty() {
                params.push(Param::Text(format!(
                    "%{}%",
                    q.trim().replace(['%', '_'], "")
                )));
                let n = params.len();
                conds.push(format!(
                    "({})",
                    texts
                        .iter()
                        .map(|f| format!("\"{}\" LIKE ${n}", f.id))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                ));
            }
        }
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if !fields.iter().any(|f| f.id == k && f.kind == "text") {
                    return Err(invalid("q", format!("no text field {k:?}")));
                }
                let words = v.as_str().unwrap_or("").trim().replace(['%', '_'], "");
                params.push(Param::Text(format!("%{words}%")));
                conds.push(format!("\"{k}\" LIKE ${}", params.len()));
            }
        }
        Some(_) => return Err(invalid("q", "a string, or an object of field: words")),
    }
    // fields: the columns wanted (all by default), `_id` first as CKAN shows it.
    let wanted: Vec<String> = match json_param(p, "fields")? {
        None => fields.iter().map(|f| f.id.clone()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(_) => return Err(invalid("fields", "a list of field ids")),
    };
    let mut shown: Vec<Field> = vec![Field {
        id: "_id".into(),
        kind: "int".into(),
        label: String::new(),
    }];
    for w in &wanted {
        if w == "_id" {
            continue;
        }
        let f = fields
            .iter()
            .find(|f| &f.id == w)
            .ok_or_else(|| invalid("fields", format!("no field {w:?}")))?;
        shown.push(f.clone());
    }
    // sort: "field [asc|desc], …".
    let mut order = Vec::new();
    let sort = p
        .get("sort")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    for part in sort.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut it = part.rsplitn(2, ' ');
        let (last, first) = (it.next().unwrap_or(""), it.next());
        let (field, dir) = match (first, last.to_lowercase().as_str()) {
            (Some(f), "asc") => (f.trim().trim_matches('"'), "ASC"),
            (Some(f), "desc") => (f.trim().trim_matches('"'), "DESC"),
            _ => (part.trim_matches('"'), "ASC"),
        };
        if field != "_id" && !fields.iter().any(|f| f.id == field) {
            return Err(invalid("sort", format!("no field {field:?}")));
        }
        order.push(format!("\"{field}\" {dir}"));
    }
    order.push("\"_id\" ASC".into());
    let table = datastore::table(&id);
    let cond = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let cols: Vec<String> = shown.iter().map(|f| format!("\"{}\"", f.id)).collect();
    let mut page = params.clone();
    page.push(limit.into());
    page.push(offset.into());
    let n = page.len();
    let include_total = !matches!(p.get("include_total"), Some(Value::Bool(false)))
        && p.get("include_total").and_then(Value::as_str) != Some("false");
    // The page and its total in one flight.
    let page_sql = format!(
        "SELECT {} FROM {table}{cond} ORDER BY {} LIMIT ${} OFFSET ${n}",
        cols.join(", "),
        order.join(", "),
        n - 1
    );
    let count_sql = format!("SELECT COUNT(*) AS n FROM {table}{cond}");
    let mut queries: Vec<(&str, &[Param])> = vec![(page_sql.as_str(), page.as_slice())];
    if include_total {
        queries.push((count_sql.as_str(), params.as_slice()));
    }
    let mut answers = c.query_many(&queries)?.into_iter();
    let rows = answers.next().unwrap_or_default();
    let total = match answers.next() {
        Some(r) => Some(r.first().map(|r| r.get_i64("n")).transpose()?.unwrap_or(0)),
        None => None,
    };
    let records: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for ((k, v), f) in r.columns().iter().zip(r.values()).zip(&shown) {
                // SQLite keeps booleans as 0 and 1.
                let v = match (f.kind.as_str(), v) {
                    ("bool", Param::Int(i)) => Value::Bool(*i != 0),
                    _ => json_of(v),
                };
                m.insert(k.clone(), v);
            }
            Value::Object(m)
        })
        .collect();
    let mut out = json!({
        "resource_id": id,
        "fields": shown.iter().map(field_json).collect::<Vec<_>>(),
        "records": records,
        "limit": limit,
        "offset": offset,
        "_links": {
            "start": format!("/api/3/action/datastore_search?resource_id={id}"),
            "next": format!("/api/3/action/datastore_search?resource_id={id}&offset={}", offset + limit),
        },
    });
    if let Some(total) = total {
        out["total"] = total.into();
    }
    Ok(out)
}

/// The write actions; (result, the resource for the audit).
pub fn write(
    c: &mut dyn Conn,
    staff: &Staff,
    action: &str,
    p: &Params,
    now: i64,
) -> Result<(Value, String), OdError> {
    let id = match (action, p.get("resource")) {
        ("datastore_create", Some(Value::Object(r))) => {
            // A new resource for a dataset, made with its table (as CKAN allows).
            let dataset = r
                .get("package_id")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("resource", "package_id: Missing value"))?;
            let h = datasets::head(c, dataset)?
                .filter(|h| h.state != "deleted")
                .ok_or_else(|| OdError::NotFound("Dataset not found".into()))?;
            own(staff, &h.department)?;
            let input = resources::Input::from_json(resources::Input::default(), r)?;
            resources::create_table(c, &h.id, &input, now)?
        }
        _ => resource_id(p)?,
    };
    let missing = || OdError::NotFound(format!("Resource \"{id}\" was not found."));
    let dataset = resources::get(c, &id)?.ok_or_else(missing)?["package_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let h = datasets::head(c, &dataset)?
        .filter(|h| h.state != "deleted")
        .ok_or_else(missing)?;
    own(staff, &h.department)?;
    let records: Vec<Value> = match json_param(p, "records")? {
        None => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("records", "a list of objects")),
    };
    if records.len() > 100_000 {
        return Err(invalid("records", "at most 100,000 records a call"));
    }
    let result = match action {
        "datastore_create" => {
            let fields = match json_param(p, "fields")? {
                Some(f) => datastore::parse_fields(&f)?,
                None => {
                    datastore::fields(c, &id)?.ok_or_else(|| invalid("fields", "Missing value"))?
                }
            };
            let indexes = id_list(p, "indexes")?;
            let primary_key = id_list(p, "primary_key")?;
            datastore::create(c, &id, &fields, &indexes, &primary_key)?;
            let n = datastore::insert(c, &id, &fields, &records)?;
            json!({"resource_id": id, "fields": fields.iter().map(field_json).collect::<Vec<_>>(),
                   "primary_key": primary_key, "records_inserted": n})
        }
        "datastore_upsert" => {
            let method = p.get("method").and_then(Value::as_str).unwrap_or("upsert");
            let fields = datastore::fields(c, &id)?.ok_or_else(|| {
                OdError::NotFound(format!("Resource \"{id}\" is not in the DataStore."))
            })?;
            match method {
                "insert" => {
                    let n = datastore::insert(c, &id, &fields, &records)?;
                    json!({"resource_id": id, "method": method, "records_inserted": n})
                }
                "upsert" | "update" => {
                    let keys = datastore::keys(c, &id)?;
                    let (updated, inserted) =
                        datastore::upsert(c, &id, &fields, &keys, &records, method == "upsert")?;
                    json!({"resource_id": id, "method": method,
                           "records_updated": updated, "records_inserted": inserted})
                }
                _ => return Err(invalid("method", "one of upsert, insert, update")),
            }
        }
        _ => {
            let fields = datastore::fields(c, &id)?.ok_or_else(|| {
                OdError::NotFound(format!("Resource \"{id}\" is not in the DataStore."))
            })?;
            let filters = json_param(p, "filters")?;
            if filters.is_none() {
                c.batch(&format!("DROP TABLE IF EXISTS {}", datastore::table(&id)))?;
                c.execute(
                    "DELETE FROM od_ds_fields WHERE resource_id = $1",
                    tongban_platform::params![id.as_str()],
                )?;
                c.execute(
                    "UPDATE od_resources SET datastore_active = FALSE WHERE id = $1",
                    tongban_platform::params![id.as_str()],
                )?;
                json!({"resource_id": id})
            } else {
                let mut params = Vec::new();
                let conds = where_of(&fields, filters.as_ref(), &mut params)?;
                let n = c.execute(
                    &format!(
                        "DELETE FROM {} WHERE {}",
                        datastore::table(&id),
                        conds.join(" AND ")
                    ),
                    &params,
                )?;
                json!({"resource_id": id, "filters": filters, "deleted": n})
            }
        }
    };
    datasets::touch(c, &h.id, now, &staff.username, action)?;
    Ok((result, id))
}
