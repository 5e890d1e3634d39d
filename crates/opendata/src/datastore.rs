//! The DataStore: a resource's rows in a typed table of their own (named by the resource's
//! id, as CKAN names them, so `datastore_search_sql` reads like CKAN's), with its fields'
//! types and labels kept beside it. Column ids are any text without quotes or control
//! characters, not starting with `_` (always quoted in SQL); `_id` numbers the rows.

use crate::error::{invalid, OdError, Problems};
use serde_json::{json, Map, Value};
use tongban_platform::db::{Conn, DbError, Engine, Value as Param};
use tongban_platform::params;

/// The types a field may have (CKAN's names), and what each is stored as.
pub const TYPES: [&str; 6] = ["text", "int", "float", "bool", "date", "timestamp"];

/// The most rows one search returns (CKAN's `ckan.datastore.search.rows_max`).
pub const ROWS_MAX: i64 = 32_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub id: String,
    pub kind: String,
    pub label: String,
}

fn canonical(kind: &str) -> Option<&'static str> {
    Some(match kind.trim().to_lowercase().as_str() {
        "text" | "string" | "varchar" => "text",
        "int" | "int4" | "int8" | "integer" | "bigint" => "int",
        "float" | "float8" | "numeric" | "double" | "number" => "float",
        "bool" | "boolean" => "bool",
        "date" => "date",
        "timestamp" | "datetime" => "timestamp",
        _ => return None,
    })
}

fn sql_type(engine: Engine, kind: &str) -> &'static str {
    match (engine, kind) {
        (_, "int") => "BIGINT",
        (Engine::Postgres, "float") => "DOUBLE PRECISION",
        (_, "float") => "REAL",
        (_, "bool") => "BOOLEAN",
        _ => "TEXT",
    }
}

/// Whether `id` may name a column.
pub fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= 63
        && !id.starts_with('_')
        && !id.chars().any(|c| c == '"' || c.is_control())
}

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', ""))
}

/// The table of resource `id` (its id is a UUID we made: safe to quote).
pub fn table(id: &str) -> String {
    quote(id)
}

/// The fields of resource `id`'s table, in order (`None`: it has no table).
pub fn fields(c: &mut dyn Conn, id: &str) -> Result<Option<Vec<Field>>, DbError> {
    let rows = c.query(
        "SELECT field_id, kind, label FROM od_ds_fields WHERE resource_id = $1 ORDER BY position",
        params![id],
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    rows.iter()
        .map(|r| {
            Ok(Field {
                id: r.get_str("field_id")?,
                kind: r.get_str("kind")?,
                label: r.get_str("label")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Read `fields` from CKAN's `[{"id", "type", "info": {"label"}}]`.
pub fn parse_fields(v: &Value) -> Result<Vec<Field>, OdError> {
    let Some(list) = v.as_array() else {
        return Err(invalid("fields", "a list of {\"id\", \"type\"}"));
    };
    let mut p = Problems::new();
    let mut out: Vec<Field> = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let id = f["id"].as_str().unwrap_or("").trim().to_owned();
        let kind = f["type"].as_str().unwrap_or("text");
        if !id_ok(&id) {
            p.entry("fields".into()).or_default().push(format!(
                "field {i}: an id of 1 to 63 characters, no quotes, not starting with _"
            ));
            continue;
        }
        if out.iter().any(|x| x.id == id) {
            p.entry("fields".into())
                .or_default()
                .push(format!("field {id:?} twice"));
            continue;
        }
        let Some(kind) = canonical(kind) else {
            p.entry("fields".into())
                .or_default()
                .push(format!("field {id:?}: type one of {}", TYPES.join(", ")));
            continue;
        };
        let label = f["info"]["label"].as_str().unwrap_or("").trim().to_owned();
        out.push(Field {
            id,
            kind: kind.to_owned(),
            label,
        });
    }
    if out.is_empty() && p.is_empty() {
        p.entry("fields".into())
            .or_default()
            .push("at least one field".into());
    }
    if out.len() > 500 {
        p.entry("fields".into())
            .or_default()
            .push("at most 500 fields".into());
    }
    if p.is_empty() {
        Ok(out)
    } else {
        Err(OdError::Invalid(p))
    }
}

/// `v` as a value of a field of `kind` (null stays null); `Err` says what is wrong.
pub fn typed(kind: &str, v: &Value) -> Result<Param, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) && kind != "text" {
        return Ok(Param::Null);
    }
    match kind {
        "int" => match v {
            Value::Number(n) => n.as_i64().map(Param::Int),
            Value::String(s) => s.trim().replace(',', "").parse().ok().map(Param::Int),
            _ => None,
        }
        .ok_or_else(|| format!("{} is not a whole number", text(v))),
        "float" => match v {
            Value::Number(n) => n.as_f64().map(Param::Real),
            Value::String(s) => s.trim().replace(',', "").parse().ok().map(Param::Real),
            _ => None,
        }
        .filter(|p| !matches!(p, Param::Real(f) if !f.is_finite()))
        .ok_or_else(|| format!("{} is not a number", text(v))),
        "bool" => match v {
            Value::Bool(b) => Some(Param::Bool(*b)),
            Value::String(s) => match s.trim().to_lowercase().as_str() {
                "true" | "t" | "1" | "yes" | "是" => Some(Param::Bool(true)),
                "false" | "f" | "0" | "no" | "否" => Some(Param::Bool(false)),
                _ => None,
            },
            Value::Number(n) => n.as_i64().map(|i| Param::Bool(i != 0)),
            _ => None,
        }
        .ok_or_else(|| format!("{} is not true or false", text(v))),
        "date" => {
            let s = text(v).replace(['/', '.'], "-");
            chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map(|d| Param::Text(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| format!("{s} is not a date (YYYY-MM-DD)"))
        }
        "timestamp" => {
            let s = text(v);
            let parsed = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f"))
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M"))
                .or_else(|_| chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M"));
            parsed
                .map(|t| Param::Text(t.format("%Y-%m-%dT%H:%M:%S").to_string()))
                .map_err(|_| format!("{s} is not a time (YYYY-MM-DDTHH:MM:SS)"))
        }
        _ => Ok(Param::Text(text(v))),
    }
}

/// A stored value as JSON.
pub fn json_of(v: &Param) -> Value {
    match v {
        Param::Null | Param::Blob(_) => Value::Null,
        Param::Int(i) => json!(i),
        Param::Real(f) => json!(f),
        Param::Text(s) => Value::String(s.clone()),
        Param::Bool(b) => Value::Bool(*b),
    }
}

/// The fields of resource `id`'s primary key, in order (none: rows are only appended).
pub fn keys(c: &mut dyn Conn, id: &str) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT field_id FROM od_ds_fields WHERE resource_id = $1 AND is_key ORDER BY position",
        params![id],
    )?
    .iter()
    .map(|r| r.get_str("field_id"))
    .collect()
}

/// Make resource `id`'s table with `fields` (replacing any), with an index on each of
/// `indexes` and a unique one on `primary_key` (if any), and mark the resource as in the
/// DataStore.
pub fn create(
    c: &mut dyn Conn,
    id: &str,
    fields: &[Field],
    indexes: &[String],
    primary_key: &[String],
) -> Result<(), OdError> {
    for (what, list) in [("indexes", indexes), ("primary_key", primary_key)] {
        for ix in list {
            if !fields.iter().any(|f| &f.id == ix) {
                return Err(invalid(what, format!("no field {ix:?}")));
            }
        }
    }
    if primary_key.len() > 8 {
        return Err(invalid("primary_key", "at most 8 fields"));
    }
    let engine = c.engine();
    let key = match engine {
        Engine::Postgres => "\"_id\" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        _ => "\"_id\" INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    let cols: Vec<String> = fields
        .iter()
        .map(|f| format!("{} {}", quote(&f.id), sql_type(engine, &f.kind)))
        .collect();
    c.batch(&format!("DROP TABLE IF EXISTS {}", table(id)))?;
    c.batch(&format!(
        "CREATE TABLE {} ({key}, {})",
        table(id),
        cols.join(", ")
    ))?;
    // An index on a field ends with `_id`: a filter's rows come in the table's order, so a
    // page of them (`ORDER BY _id LIMIT n`) is read straight off the index.
    for (i, ix) in indexes.iter().enumerate() {
        let pos = fields.iter().position(|f| &f.id == ix).unwrap_or(i);
        c.batch(&format!(
            "CREATE INDEX {} ON {} ({}, \"_id\")",
            quote(&format!("{id}_i{pos}")),
            table(id),
            quote(ix)
        ))?;
    }
    if !primary_key.is_empty() {
        let cols: Vec<String> = primary_key.iter().map(|k| quote(k)).collect();
        c.batch(&format!(
            "CREATE UNIQUE INDEX {} ON {} ({})",
            quote(&format!("{id}_pk")),
            table(id),
            cols.join(", ")
        ))?;
    }
    c.execute(
        "DELETE FROM od_ds_fields WHERE resource_id = $1",
        params![id],
    )?;
    for (i, f) in fields.iter().enumerate() {
        c.execute(
            "INSERT INTO od_ds_fields (resource_id, position, field_id, kind, label, is_key)
             VALUES ($1, $2, $3, $4, $5, $6)",
            params![
                id,
                i as i64,
                f.id.as_str(),
                f.kind.as_str(),
                f.label.as_str(),
                primary_key.contains(&f.id)
            ],
        )?;
    }
    c.execute(
        "UPDATE od_resources SET datastore_active = TRUE WHERE id = $1",
        params![id],
    )?;
    Ok(())
}

/// Insert `records` (JSON objects by field id) into resource `id`'s table; every bad value
/// named by its record and field, nothing written when one is bad. How many went in.
pub fn insert(
    c: &mut dyn Conn,
    id: &str,
    fields: &[Field],
    records: &[Value],
) -> Result<usize, OdError> {
    let mut rows: Vec<Vec<Param>> = Vec::with_capacity(records.len());
    let mut p = Problems::new();
    for (n, r) in records.iter().enumerate() {
        let Some(obj) = r.as_object() else {
            p.entry("records".into())
                .or_default()
                .push(format!("record {n}: an object"));
            continue;
        };
        for k in obj.keys() {
            if !fields.iter().any(|f| &f.id == k) {
                p.entry("records".into())
                    .or_default()
                    .push(format!("record {n}: no field {k:?}"));
            }
        }
        let mut row = Vec::with_capacity(fields.len());
        for f in fields {
            match typed(&f.kind, obj.get(&f.id).unwrap_or(&Value::Null)) {
                Ok(v) => row.push(v),
                Err(e) => p
                    .entry("records".into())
                    .or_default()
                    .push(format!("record {n}, field {:?}: {e}", f.id)),
            }
        }
        rows.push(row);
        if p.get("records").is_some_and(|v| v.len() > 20) {
            break;
        }
    }
    if !p.is_empty() {
        return Err(OdError::Invalid(p));
    }
    let cols: Vec<String> = fields.iter().map(|f| quote(&f.id)).collect();
    let marks: Vec<String> = (1..=fields.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table(id),
        cols.join(", "),
        marks.join(", ")
    );
    for row in &rows {
        c.execute(&sql, row)?;
    }
    Ok(rows.len())
}

/// `datastore_upsert` with method `upsert` or `update`: each record is matched by the table's
/// primary key (which it must carry); a match gets the record's other fields (the fields it
/// leaves out keep their values), no match is inserted (`upsert`) or an error (`update`).
/// Nothing is written when one record is bad. How many were (updated, inserted).
pub fn upsert(
    c: &mut dyn Conn,
    id: &str,
    fields: &[Field],
    keys: &[String],
    records: &[Value],
    insert_missing: bool,
) -> Result<(usize, usize), OdError> {
    if keys.is_empty() {
        return Err(invalid(
            "method",
            "this table has no primary_key (give one to datastore_create), so records can only be inserted",
        ));
    }
    let mut bad: Vec<String> = Vec::new();
    let problem = |bad: &mut Vec<String>, m: String| {
        if bad.len() < 20 {
            bad.push(m);
        }
    };
    let (mut updated, mut inserted) = (0, 0);
    for (n, r) in records.iter().enumerate() {
        let Some(obj) = r.as_object() else {
            problem(&mut bad, format!("record {n}: an object"));
            continue;
        };
        let mut sets: Vec<(String, Param)> = Vec::new();
        let mut matched: Vec<(String, Param)> = Vec::new();
        for (k, v) in obj {
            let Some(f) = fields.iter().find(|f| &f.id == k) else {
                problem(&mut bad, format!("record {n}: no field {k:?}"));
                continue;
            };
            match typed(&f.kind, v) {
                Ok(value) if keys.contains(k) => matched.push((k.clone(), value)),
                Ok(value) => sets.push((k.clone(), value)),
                Err(e) => problem(&mut bad, format!("record {n}, field {k:?}: {e}")),
            }
        }
        if matched.len() != keys.len() || matched.iter().any(|(_, v)| matches!(v, Param::Null)) {
            problem(
                &mut bad,
                format!("record {n}: needs its primary key {keys:?}"),
            );
            continue;
        }
        if !bad.is_empty() {
            continue;
        }
        let mut params: Vec<Param> = Vec::new();
        let assign: Vec<String> = sets
            .iter()
            .map(|(k, v)| {
                params.push(v.clone());
                format!("{} = ${}", quote(k), params.len())
            })
            .collect();
        let cond: Vec<String> = matched
            .iter()
            .map(|(k, v)| {
                params.push(v.clone());
                format!("{} = ${}", quote(k), params.len())
            })
            .collect();
        let found = if assign.is_empty() {
            c.query_opt(
                &format!(
                    "SELECT 1 AS x FROM {} WHERE {}",
                    table(id),
                    cond.join(" AND ")
                ),
                &params[sets.len()..],
            )?
            .is_some()
        } else {
            c.execute(
                &format!(
                    "UPDATE {} SET {} WHERE {}",
                    table(id),
                    assign.join(", "),
                    cond.join(" AND ")
                ),
                &params,
            )? > 0
        };
        if found {
            updated += 1;
        } else if insert_missing {
            let all: Vec<(String, Param)> = matched.into_iter().chain(sets).collect();
            let cols: Vec<String> = all.iter().map(|(k, _)| quote(k)).collect();
            let marks: Vec<String> = (1..=all.len()).map(|i| format!("${i}")).collect();
            let values: Vec<Param> = all.into_iter().map(|(_, v)| v).collect();
            c.execute(
                &format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table(id),
                    cols.join(", "),
                    marks.join(", ")
                ),
                &values,
            )?;
            inserted += 1;
        } else {
            problem(&mut bad, format!("record {n}: no row has this primary key"));
        }
    }
    if !bad.is_empty() {
        return Err(OdError::Invalid(Problems::from([("records".into(), bad)])));
    }
    Ok((updated, inserted))
}

/// `filters` (`{"field": value or [values]}`) as SQL over resource fields, with parameters
/// numbered after `params`.
pub fn where_of(
    fields: &[Field],
    filters: Option<&Value>,
    params: &mut Vec<Param>,
) -> Result<Vec<String>, OdError> {
    let mut out = Vec::new();
    let Some(filters) = filters.filter(|f| !f.is_null()) else {
        return Ok(out);
    };
    let Some(map) = filters.as_object() else {
        return Err(invalid("filters", "an object of field: value"));
    };
    for (k, v) in map {
        let kind = if k == "_id" {
            "int"
        } else {
            match fields.iter().find(|f| &f.id == k) {
                Some(f) => f.kind.as_str(),
                None => return Err(invalid("filters", format!("no field {k:?}"))),
            }
        };
        let values: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        if values.is_empty() || values.len() > 100 {
            return Err(invalid("filters", format!("{k}: 1 to 100 values")));
        }
        let mut marks = Vec::new();
        for v in values {
            let typed = typed(kind, v).map_err(|e| invalid("filters", format!("{k}: {e}")))?;
            params.push(typed);
            marks.push(format!("${}", params.len()));
        }
        out.push(if marks.len() == 1 {
            format!("{} = {}", quote(k), marks.join(""))
        } else {
            format!("{} IN ({})", quote(k), marks.join(", "))
        });
    }
    Ok(out)
}

/// Map a JSON object's parameters: the `Map` CKAN's actions take.
pub type Params = Map<String, Value>;
