//! A dataset's resources (its files and links, CKAN's resources), as CKAN shows them.

use crate::datasets::ckan_time;
use crate::error::{OdError, Problems};
use serde_json::{json, Map, Value};
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

const SELECT: &str =
    "SELECT id, dataset_id, position, name, description, format, url, mimetype, size, blob,
        datastore_active, created_at, modified_at FROM od_resources";

fn from_row(r: &Row) -> Result<Value, DbError> {
    Ok(json!({
        "id": r.get_str("id")?,
        "package_id": r.get_str("dataset_id")?,
        "position": r.get_i64("position")?,
        "name": r.get_str("name")?,
        "description": r.get_str("description")?,
        "format": r.get_str("format")?,
        "url": r.get_str("url")?,
        "mimetype": r.get_str("mimetype")?,
        "size": r.get_opt_i64("size")?,
        "datastore_active": r.get_bool("datastore_active")?,
        "state": "active",
        "url_type": if r.get_opt_str("blob")?.is_some() { "upload" } else { "" },
        "created": ckan_time(r.get_i64("created_at")?),
        "last_modified": ckan_time(r.get_i64("modified_at")?),
        "metadata_modified": ckan_time(r.get_i64("modified_at")?),
    }))
}

pub fn of_dataset(c: &mut dyn Conn, dataset: &str) -> Result<Vec<Value>, DbError> {
    c.query(
        &format!("{SELECT} WHERE dataset_id = $1 ORDER BY position, id"),
        params![dataset],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn get(c: &mut dyn Conn, id: &str) -> Result<Option<Value>, DbError> {
    c.query_opt(&format!("{SELECT} WHERE id = $1"), params![id])?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The formats CKAN users filter by (`res_format`), upper case.
pub fn format_of(name: &str, url: &str) -> String {
    let f = name.trim().trim_start_matches('.').to_uppercase();
    if !f.is_empty() {
        return f;
    }
    url.rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .map(|(_, ext)| ext.to_uppercase())
        .unwrap_or_default()
}

/// A resource as written (resource_create, resource_patch, or in a package's `resources`).
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub name: String,
    pub description: String,
    pub format: String,
    pub url: String,
    pub mimetype: String,
}

impl Input {
    pub fn from_json(base: Input, v: &Map<String, Value>) -> Result<Input, OdError> {
        let mut p = Problems::new();
        let mut i = base;
        for (k, slot, max) in [
            ("name", &mut i.name, 200),
            ("description", &mut i.description, 5_000),
            ("format", &mut i.format, 20),
            ("url", &mut i.url, 2_000),
            ("mimetype", &mut i.mimetype, 100),
        ] {
            match v.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.chars().count() <= max => *slot = s.trim().to_owned(),
                Some(_) => p
                    .entry(k.into())
                    .or_default()
                    .push(format!("a string of at most {max} characters")),
            }
        }
        let addressable = i.url.is_empty()
            || i.url.starts_with("https://")
            || i.url.starts_with("http://")
            || i.url.starts_with('/');
        if !addressable {
            p.entry("url".into())
                .or_default()
                .push("an http(s) address".into());
        }
        i.format = format_of(&i.format, &i.url);
        if p.is_empty() {
            Ok(i)
        } else {
            Err(OdError::Invalid(p))
        }
    }
}

/// Add a resource to `dataset` (last); its id.
pub fn create(c: &mut dyn Conn, dataset: &str, i: &Input, now: i64) -> Result<String, DbError> {
    let id = crate::datasets::new_id();
    let pos = c
        .query_one(
            "SELECT COUNT(*) AS n FROM od_resources WHERE dataset_id = $1",
            params![dataset],
        )?
        .get_i64("n")?;
    c.execute(
        "INSERT INTO od_resources (id, dataset_id, position, name, description, format, url, mimetype,
           size, blob, datastore_active, created_at, modified_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, FALSE, $9, $9)",
        params![
            id.as_str(),
            dataset,
            pos,
            i.name.as_str(),
            i.description.as_str(),
            i.format.as_str(),
            i.url.as_str(),
            i.mimetype.as_str(),
            now
        ],
    )?;
    Ok(id)
}

pub fn update(c: &mut dyn Conn, id: &str, i: &Input, now: i64) -> Result<(), DbError> {
    c.execute(
        // An uploaded file stays when no other address is given; another address drops it.
        "UPDATE od_resources SET name = $1, description = $2, format = $3,
           blob = CASE WHEN $4 = url OR $4 = '' THEN blob ELSE NULL END,
           url = CASE WHEN $4 = '' AND blob IS NOT NULL THEN url ELSE $4 END,
           mimetype = CASE WHEN $5 = '' THEN mimetype ELSE $5 END,
           modified_at = $6 WHERE id = $7",
        params![
            i.name.as_str(),
            i.description.as_str(),
            i.format.as_str(),
            i.url.as_str(),
            i.mimetype.as_str(),
            now,
            id
        ],
    )?;
    Ok(())
}

/// Point resource `id` at an uploaded file: its address, stored blob, size, format and
/// media type.
pub fn set_upload(
    c: &mut dyn Conn,
    id: &str,
    url: &str,
    blob: &str,
    size: i64,
    format: &str,
    mimetype: &str,
) -> Result<(), DbError> {
    c.execute(
        "UPDATE od_resources SET url = $1, blob = $2, size = $3, format = $4, mimetype = $5
         WHERE id = $6",
        params![url, blob, size, format, mimetype, id],
    )?;
    Ok(())
}

/// Add a resource whose data is its DataStore table (CSV unless `i` names a format): its
/// address, when `i` gives none, is the table's download; its id.
pub fn create_table(
    c: &mut dyn Conn,
    dataset: &str,
    i: &Input,
    now: i64,
) -> Result<String, DbError> {
    let mut i = i.clone();
    if i.format.is_empty() {
        i.format = "CSV".into();
    }
    let id = create(c, dataset, &i, now)?;
    if i.url.is_empty() {
        c.execute(
            "UPDATE od_resources SET url = $1 WHERE id = $2",
            params![format!("/datastore/dump/{id}"), id.as_str()],
        )?;
    }
    Ok(id)
}

/// The uploaded file of resource `id`: (dataset id, blob, media type), if it has one.
pub fn upload_of(c: &mut dyn Conn, id: &str) -> Result<Option<(String, String, String)>, DbError> {
    c.query_opt(
        "SELECT dataset_id, blob, mimetype FROM od_resources WHERE id = $1 AND blob IS NOT NULL",
        params![id],
    )?
    .map(|r| {
        Ok((
            r.get_str("dataset_id")?,
            r.get_str("blob")?,
            r.get_str("mimetype")?,
        ))
    })
    .transpose()
}

pub fn delete(c: &mut dyn Conn, id: &str) -> Result<(), DbError> {
    c.execute("DELETE FROM od_resources WHERE id = $1", params![id])?;
    Ok(())
}

/// The resource as an [`Input`] and its dataset's id.
pub fn input_of(c: &mut dyn Conn, id: &str) -> Result<Option<(String, Input)>, DbError> {
    Ok(get(c, id)?.map(|v| {
        let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
        (
            s("package_id"),
            Input {
                name: s("name"),
                description: s("description"),
                format: s("format"),
                url: s("url"),
                mimetype: s("mimetype"),
            },
        )
    }))
}
