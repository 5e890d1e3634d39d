//! Datasets (CKAN's packages) with their resources, tags and groups: read as CKAN's package
//! dictionaries, written from them. A dataset belongs to a department (its organization); it
//! is a draft until published (`state` `active`), and each change of a published dataset is
//! a new version.

use crate::error::{invalid, OdError, Problems};
use crate::themes;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

mod input;
pub use input::Input;

/// How often a dataset is brought up to date (DCAT's frequency vocabulary, by its last part).
pub const FREQUENCIES: [&str; 8] = [
    "continuous",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "annual",
    "irregular",
    "never",
];

static LICENSES: std::sync::LazyLock<Vec<Value>> = std::sync::LazyLock::new(|| {
    serde_json::from_str(include_str!("../data/licenses.json")).unwrap_or_default()
});

/// The licences a dataset may carry (`data/licenses.json`, read once).
pub fn licenses() -> &'static [Value] {
    &LICENSES
}

fn license(id: &str) -> Option<&'static Value> {
    LICENSES.iter().find(|l| l["id"] == id)
}

/// CKAN's timestamp: UTC, no zone, microseconds.
pub fn ckan_time(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

/// A UUID (version 4) for a new dataset or resource.
pub fn new_id() -> String {
    let mut b = tongban_platform::crypto::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = tongban_platform::crypto::to_hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A name as CKAN allows it: 2–100 characters, lower-case ASCII letters, digits, `-` and `_`.
pub fn name_ok(name: &str) -> bool {
    (2..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A dataset's row, without its lists.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    pub id: String,
    pub name: String,
    pub title: String,
    pub department: String,
    pub state: String,
    pub version: i64,
    pub modified_at: i64,
}

const HEAD: &str =
    "SELECT id, name, title, department_code, state, version, modified_at FROM od_datasets";

fn head_from(r: &Row) -> Result<Head, DbError> {
    Ok(Head {
        id: r.get_str("id")?,
        name: r.get_str("name")?,
        title: r.get_str("title")?,
        department: r.get_str("department_code")?,
        state: r.get_str("state")?,
        version: r.get_i64("version")?,
        modified_at: r.get_i64("modified_at")?,
    })
}

/// A dataset by its id or name (deleted ones too: callers decide who sees what).
pub fn head(c: &mut dyn Conn, id_or_name: &str) -> Result<Option<Head>, DbError> {
    c.query_opt(
        &format!("{HEAD} WHERE id = $1 OR name = $1"),
        params![id_or_name],
    )?
    .as_ref()
    .map(head_from)
    .transpose()
}

/// Every department's name by its code.
pub fn department_names(c: &mut dyn Conn) -> Result<BTreeMap<String, String>, DbError> {
    Ok(tongban_platform::identity::all_departments(c)?
        .into_iter()
        .map(|d| (d.code, d.name))
        .collect())
}

/// The organization dictionary of a department, as CKAN shows it inside a package.
pub fn organization(c: &mut dyn Conn, code: &str) -> Result<Value, DbError> {
    let d = tongban_platform::identity::get_department(c, code)?;
    let (name, name_en) = d.map(|d| (d.name, d.name_en)).unwrap_or_default();
    Ok(json!({
        "id": code, "name": code, "title": name, "title_en": name_en, "type": "organization",
        "description": "", "image_url": "", "is_organization": true, "approval_status": "approved",
        "state": "active",
    }))
}

/// The CKAN package dictionary of dataset `id`.
pub fn package(c: &mut dyn Conn, id: &str) -> Result<Option<Value>, DbError> {
    // The dataset, its tags and its themes in one flight.
    let key = [tongban_platform::db::Value::Text(id.to_owned())];
    let mut answers = c
        .query_many(&[
            (
                "SELECT id, name, title, notes, department_code, license_id, frequency, state, version,
                    author, author_email, maintainer, maintainer_email, url, source, created_at, modified_at
                 FROM od_datasets WHERE id = $1",
                &key,
            ),
            (
                "SELECT tag FROM od_dataset_tags WHERE dataset_id = $1 ORDER BY tag",
                &key,
            ),
            (
                "SELECT g.name, g.title, g.title_en, g.description FROM od_dataset_groups dg
                 JOIN od_groups g ON g.name = dg.group_name WHERE dg.dataset_id = $1 ORDER BY g.position",
                &key,
            ),
        ])?
        .into_iter();
    let (found, tag_rows, group_rows) = (
        answers.next().unwrap_or_default(),
        answers.next().unwrap_or_default(),
        answers.next().unwrap_or_default(),
    );
    let Some(r) = found.first() else {
        return Ok(None);
    };
    let tags: Vec<Value> = tag_rows
        .iter()
        .map(|t| {
            let n = t.get_str("tag")?;
            Ok(json!({"id": n, "name": n, "display_name": n, "state": "active", "vocabulary_id": null}))
        })
        .collect::<Result<_, DbError>>()?;
    let groups: Vec<Value> = group_rows
        .iter()
        .map(themes::group_brief)
        .collect::<Result<_, DbError>>()?;
    let resources = crate::resources::of_dataset(c, id)?;
    let dept = r.get_str("department_code")?;
    let license_id = r.get_str("license_id")?;
    let lic = license(&license_id).unwrap_or(&Value::Null);
    let frequency = r.get_str("frequency")?;
    let state = r.get_str("state")?;
    Ok(Some(json!({
        "id": r.get_str("id")?,
        "name": r.get_str("name")?,
        "title": r.get_str("title")?,
        "notes": r.get_str("notes")?,
        "type": "dataset",
        "state": state,
        "private": state == "draft",
        "owner_org": dept,
        "organization": organization(c, &dept)?,
        "license_id": license_id,
        "license_title": lic["title"],
        "license_url": lic["url"],
        "isopen": lic["open"].as_bool().unwrap_or(false),
        "frequency": frequency,
        "version": r.get_i64("version")?.to_string(),
        "author": r.get_str("author")?,
        "author_email": r.get_str("author_email")?,
        "maintainer": r.get_str("maintainer")?,
        "maintainer_email": r.get_str("maintainer_email")?,
        "url": r.get_str("url")?,
        "built_in": r.get_opt_str("source")?.is_some(),
        "metadata_created": ckan_time(r.get_i64("created_at")?),
        "metadata_modified": ckan_time(r.get_i64("modified_at")?),
        "num_tags": tags.len(),
        "tags": tags,
        "groups": groups,
        "num_resources": resources.len(),
        "resources": resources,
        "extras": [{"key": "frequency", "value": frequency}],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    })))
}

/// The names of the published datasets, by name, a page of them.
pub fn names(c: &mut dyn Conn, limit: i64, offset: i64) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT name FROM od_datasets WHERE state = 'active' ORDER BY name LIMIT $1 OFFSET $2",
        params![limit, offset],
    )?
    .iter()
    .map(|r| r.get_str("name"))
    .collect()
}

/// Check the department and groups `i` names, then write it (a new dataset when `id` is
/// `None`); replaces its tags and groups; a published dataset's change is a new version.
/// The dataset's id.
pub fn save(
    c: &mut dyn Conn,
    id: Option<&str>,
    i: &Input,
    actor: &str,
    now: i64,
) -> Result<String, OdError> {
    let mut p = Problems::new();
    if tongban_platform::identity::get_department(c, &i.owner_org)?.is_none() {
        p.entry("owner_org".into())
            .or_default()
            .push(format!("no department {}", i.owner_org));
    }
    for g in &i.groups {
        if c.query_opt(
            "SELECT name FROM od_groups WHERE name = $1",
            params![g.as_str()],
        )?
        .is_none()
        {
            p.entry("groups".into())
                .or_default()
                .push(format!("no group {g}"));
        }
    }
    if let Some(other) = head(c, &i.name)? {
        if Some(other.id.as_str()) != id {
            p.entry("name".into())
                .or_default()
                .push("That URL is already in use.".into());
        }
    }
    if !p.is_empty() {
        return Err(OdError::Invalid(p));
    }
    let id = match id {
        Some(id) => {
            c.execute(
                "UPDATE od_datasets SET name = $1, title = $2, notes = $3, department_code = $4,
                   license_id = $5, frequency = $6, state = $7, author = $8, author_email = $9,
                   maintainer = $10, maintainer_email = $11, url = $12, modified_at = $13,
                   version = version + 1
                 WHERE id = $14",
                params![
                    i.name.as_str(),
                    i.title.as_str(),
                    i.notes.as_str(),
                    i.owner_org.as_str(),
                    i.license_id.as_str(),
                    i.frequency.as_str(),
                    i.state.as_str(),
                    i.author.as_str(),
                    i.author_email.as_str(),
                    i.maintainer.as_str(),
                    i.maintainer_email.as_str(),
                    i.url.as_str(),
                    now,
                    id
                ],
            )?;
            id.to_owned()
        }
        None => {
            let id = new_id();
            c.execute(
                "INSERT INTO od_datasets (id, name, title, notes, department_code, license_id,
                   frequency, state, version, author, author_email, maintainer, maintainer_email,
                   url, source, created_by, created_at, modified_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12, $13, NULL, $14, $15, $15)",
                params![
                    id.as_str(),
                    i.name.as_str(),
                    i.title.as_str(),
                    i.notes.as_str(),
                    i.owner_org.as_str(),
                    i.license_id.as_str(),
                    i.frequency.as_str(),
                    i.state.as_str(),
                    i.author.as_str(),
                    i.author_email.as_str(),
                    i.maintainer.as_str(),
                    i.maintainer_email.as_str(),
                    i.url.as_str(),
                    actor,
                    now
                ],
            )?;
            id
        }
    };
    c.execute(
        "DELETE FROM od_dataset_tags WHERE dataset_id = $1",
        params![id.as_str()],
    )?;
    for t in &i.tags {
        c.execute(
            "INSERT INTO od_dataset_tags (dataset_id, tag) VALUES ($1, $2)",
            params![id.as_str(), t.as_str()],
        )?;
    }
    c.execute(
        "DELETE FROM od_dataset_groups WHERE dataset_id = $1",
        params![id.as_str()],
    )?;
    for g in &i.groups {
        c.execute(
            "INSERT INTO od_dataset_groups (dataset_id, group_name) VALUES ($1, $2)",
            params![id.as_str(), g.as_str()],
        )?;
    }
    version(c, &id, now, actor, "saved")?;
    Ok(id)
}

/// Record the dataset's current version (after any change of it or its resources).
pub fn version(
    c: &mut dyn Conn,
    id: &str,
    now: i64,
    actor: &str,
    note: &str,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO od_versions (dataset_id, version, at, actor, note)
         SELECT id, version, $2, $3, $4 FROM od_datasets WHERE id = $1
         ON CONFLICT (dataset_id, version) DO NOTHING",
        params![id, now, actor, note],
    )?;
    Ok(())
}

/// A new version after a change of the dataset's resources.
pub fn touch(c: &mut dyn Conn, id: &str, now: i64, actor: &str, note: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE od_datasets SET version = version + 1, modified_at = $2 WHERE id = $1",
        params![id, now],
    )?;
    version(c, id, now, actor, note)
}

/// The dataset as an [`Input`] (the base a patch is laid over).
pub fn input_of(c: &mut dyn Conn, id: &str) -> Result<Option<Input>, DbError> {
    let Some(v) = package(c, id)? else {
        return Ok(None);
    };
    let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Some(Input {
        name: s("name"),
        title: s("title"),
        notes: s("notes"),
        owner_org: s("owner_org"),
        license_id: s("license_id"),
        frequency: s("frequency"),
        state: s("state"),
        author: s("author"),
        author_email: s("author_email"),
        maintainer: s("maintainer"),
        maintainer_email: s("maintainer_email"),
        url: s("url"),
        tags: list("tags"),
        groups: list("groups"),
    }))
}

/// Mark a dataset deleted (CKAN keeps it, hidden).
pub fn delete(c: &mut dyn Conn, id: &str, now: i64, actor: &str) -> Result<(), DbError> {
    c.execute(
        "UPDATE od_datasets SET state = 'deleted', modified_at = $2, version = version + 1 WHERE id = $1",
        params![id, now],
    )?;
    version(c, id, now, actor, "deleted")
}

/// How many datasets each department has published (for `organization_list`).
pub fn counts_by_department(c: &mut dyn Conn) -> Result<BTreeMap<String, i64>, DbError> {
    c.query(
        "SELECT department_code, COUNT(*) AS n FROM od_datasets WHERE state = 'active' GROUP BY department_code",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get_str("department_code")?, r.get_i64("n")?)))
    .collect()
}

/// A validation error for a missing `id`.
pub fn need_id() -> OdError {
    invalid("id", "Missing value")
}
