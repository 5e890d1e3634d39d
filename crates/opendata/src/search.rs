//! `package_search`: CKAN's dataset search over the catalogue, with its parameters (`q`,
//! `fq` of `organization:`, `groups:`, `tags:`, `res_format:`, `license_id:`; `rows`,
//! `start`, `sort`, `facet.field`, `facet.limit`) and its answer (`count`, `results`,
//! `facets`, `search_facets`, `sort`).

use crate::datasets;
use crate::error::OdError;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tongban_platform::db::{Conn, DbError};

/// The fields `fq` and `facet.field` know.
pub const FIELDS: [&str; 5] = ["organization", "groups", "tags", "res_format", "license_id"];

/// The most results one call returns (CKAN's `ckan.search.rows_max`).
pub const ROWS_MAX: i64 = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Words every result holds (in its name, title, description or tags).
    pub words: Vec<String>,
    /// (field, value) every result has.
    pub filters: Vec<(String, String)>,
    pub rows: i64,
    pub start: i64,
    /// The `sort` as given (echoed), and its keys.
    pub sort: String,
    order: Vec<(Key, bool)>,
    pub facet_fields: Vec<String>,
    pub facet_limit: i64,
}

fn int(v: Option<&Value>, name: &str, default: i64) -> Result<i64, OdError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| crate::error::invalid(name, "Invalid integer")),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(default),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| crate::error::invalid(name, "Invalid integer")),
        Some(_) => Err(crate::error::invalid(name, "Invalid integer")),
    }
}

/// Split `field:value` clauses (values may be quoted; a leading `+` is ignored) from words.
/// Words, and (field, value) clauses.
type Clauses = (Vec<String>, Vec<(String, String)>);

fn clauses(text: &str) -> Result<Clauses, OdError> {
    let mut words = Vec::new();
    let mut filters = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let token_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = rest.get(..token_end).unwrap_or("");
        let token = token.trim_start_matches('+');
        match token.split_once(':') {
            Some((field, value)) if FIELDS.contains(&field) => {
                let after = rest
                    .get(rest.find(':').map_or(0, |i| i + 1)..)
                    .unwrap_or("");
                let (value, consumed) = if let Some(q) = after.strip_prefix('"') {
                    let close = q.find('"').ok_or_else(|| {
                        OdError::Query(format!("the quoted value of {field} is not closed"))
                    })?;
                    (q.get(..close).unwrap_or("").to_owned(), close + 2)
                } else {
                    (value.to_owned(), value.len())
                };
                filters.push((field.to_owned(), value));
                let start = rest.len() - after.len() + consumed;
                rest = rest.get(start..).unwrap_or("").trim_start();
                continue;
            }
            Some((field, _))
                if field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !field.is_empty() =>
            {
                return Err(OdError::Query(format!(
                    "cannot search by {field}: search by {}",
                    FIELDS.join(", ")
                )));
            }
            _ => {
                if !token.is_empty() && token != "*:*" {
                    words.push(token.to_lowercase());
                }
            }
        }
        rest = rest.get(token_end..).unwrap_or("").trim_start();
    }
    Ok((words, filters))
}

impl Query {
    pub fn parse(p: &Map<String, Value>) -> Result<Query, OdError> {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let (words, mut filters) = clauses(&s("q"))?;
        let (more, fq) = clauses(&s("fq"))?;
        if !more.is_empty() {
            return Err(OdError::Query(format!(
                "fq holds field:value clauses only ({}), not {:?}",
                FIELDS.join(", "),
                more.join(" ")
            )));
        }
        filters.extend(fq);
        let rows = int(p.get("rows"), "rows", 10)?;
        if !(0..=ROWS_MAX).contains(&rows) {
            return Err(crate::error::invalid(
                "rows",
                format!("Must be between 0 and {ROWS_MAX}"),
            ));
        }
        let start = int(p.get("start"), "start", 0)?;
        if start < 0 {
            return Err(crate::error::invalid("start", "Must be a natural number"));
        }
        let sort = match s("sort").trim() {
            "" => "score desc, metadata_modified desc".to_owned(),
            x => x.to_owned(),
        };
        let mut order = Vec::new();
        for part in sort.split(',') {
            let mut it = part.split_whitespace();
            let (field, dir) = (it.next().unwrap_or(""), it.next().unwrap_or("asc"));
            let desc = match dir.to_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => return Err(OdError::Query(format!("sort {part:?}: asc or desc"))),
            };
            let key = match field {
                "score" => Key::Score,
                "name" => Key::Name,
                "title_string" | "title" => Key::Title,
                "metadata_modified" => Key::Modified,
                "metadata_created" => Key::Created,
                _ => {
                    return Err(OdError::Query(format!(
                        "cannot sort by {field:?}: score, name, title_string, metadata_modified, metadata_created"
                    )))
                }
            };
            order.push((key, desc));
        }
        order.push((Key::Name, false));
        let facet_fields: Vec<String> = match p.get("facet.field") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(t)) if t.trim().is_empty() => Vec::new(),
            Some(Value::String(t)) => serde_json::from_str::<Vec<String>>(t)
                .map_err(|_| crate::error::invalid("facet.field", "a JSON list of field names"))?,
            Some(_) => {
                return Err(crate::error::invalid(
                    "facet.field",
                    "a JSON list of field names",
                ))
            }
        };
        for f in &facet_fields {
            if !FIELDS.contains(&f.as_str()) {
                return Err(OdError::Query(format!(
                    "no facet {f}: one of {}",
                    FIELDS.join(", ")
                )));
            }
        }
        let facet_limit = int(p.get("facet.limit"), "facet.limit", 50)?;
        Ok(Query {
            words,
            filters,
            rows,
            start,
            sort,
            order,
            facet_fields,
            facet_limit,
        })
    }
}

/// What a result is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Score,
    Name,
    Title,
    Modified,
    Created,
}

/// A published dataset as the search reads it.
#[derive(Debug, Clone)]
struct Entry {
    id: String,
    name: String,
    title: String,
    /// Name, title and description, lower case, for the words.
    text: String,
    title_lower: String,
    tags: Vec<String>,
    tags_lower: Vec<String>,
    groups: Vec<String>,
    formats: Vec<String>,
    department: String,
    license: String,
    created: i64,
    modified: i64,
}

/// The published catalogue in memory, as of its stamp.
struct Snapshot {
    stamp: (i64, i64, i64),
    entries: Vec<Entry>,
}

/// The search's copy of the catalogue, one per database (`Db::local`): read again whenever
/// the catalogue's stamp — how many datasets, the sum of their versions (every change bumps
/// one), the last change — is not the copy's. Every node checks the stamp on every search,
/// so a change on any node is seen by the next search anywhere.
#[derive(Default)]
pub struct Catalogue(std::sync::Mutex<Option<std::sync::Arc<Snapshot>>>);

fn stamp(c: &mut dyn Conn) -> Result<(i64, i64, i64), DbError> {
    let r = c.query_one(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(version), 0) AS BIGINT) AS v,
                CAST(COALESCE(MAX(modified_at), 0) AS BIGINT) AS m FROM od_datasets",
        &[],
    )?;
    Ok((r.get_i64("n")?, r.get_i64("v")?, r.get_i64("m")?))
}

fn load(c: &mut dyn Conn, stamp: (i64, i64, i64)) -> Result<Snapshot, DbError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for r in c.query(
        "SELECT id, name, title, notes, department_code, license_id, created_at, modified_at
         FROM od_datasets WHERE state = 'active'",
        &[],
    )? {
        let (id, name, title, notes) = (
            r.get_str("id")?,
            r.get_str("name")?,
            r.get_str("title")?,
            r.get_str("notes")?,
        );
        at.insert(id.clone(), entries.len());
        entries.push(Entry {
            text: format!(
                "{}\n{}\n{}",
                name.to_lowercase(),
                title.to_lowercase(),
                notes.to_lowercase()
            ),
            title_lower: title.to_lowercase(),
            id,
            name,
            title,
            tags: Vec::new(),
            tags_lower: Vec::new(),
            groups: Vec::new(),
            formats: Vec::new(),
            department: r.get_str("department_code")?,
            license: r.get_str("license_id")?,
            created: r.get_i64("created_at")?,
            modified: r.get_i64("modified_at")?,
        });
    }
    for r in c.query(
        "SELECT dataset_id, tag FROM od_dataset_tags ORDER BY tag",
        &[],
    )? {
        if let Some(&i) = at.get(&r.get_str("dataset_id")?) {
            let t = r.get_str("tag")?;
            entries[i].tags_lower.push(t.to_lowercase());
            entries[i].tags.push(t);
        }
    }
    for r in c.query("SELECT dataset_id, group_name FROM od_dataset_groups", &[])? {
        if let Some(&i) = at.get(&r.get_str("dataset_id")?) {
            entries[i].groups.push(r.get_str("group_name")?);
        }
    }
    for r in c.query(
        "SELECT DISTINCT dataset_id, UPPER(format) AS f FROM od_resources WHERE format <> ''",
        &[],
    )? {
        if let Some(&i) = at.get(&r.get_str("dataset_id")?) {
            entries[i].formats.push(r.get_str("f")?);
        }
    }
    Ok(Snapshot { stamp, entries })
}

/// The catalogue as it stands in this read.
fn current(c: &mut dyn Conn, cache: &Catalogue) -> Result<std::sync::Arc<Snapshot>, DbError> {
    let now = stamp(c)?;
    let held = match cache.0.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    };
    if let Some(s) = held.filter(|s| s.stamp == now) {
        return Ok(s);
    }
    let fresh = std::sync::Arc::new(load(c, now)?);
    if let Ok(mut g) = cache.0.lock() {
        *g = Some(fresh.clone());
    }
    Ok(fresh)
}

impl Entry {
    fn has_word(&self, w: &str) -> bool {
        self.text.contains(w) || self.tags_lower.iter().any(|t| t.contains(w))
    }

    fn has(&self, field: &str, value: &str) -> bool {
        match field {
            "organization" => self.department == value,
            "license_id" => self.license == value,
            "groups" => self.groups.iter().any(|g| g == value),
            "tags" => self.tags.iter().any(|t| t == value),
            _ => self.formats.iter().any(|f| f.eq_ignore_ascii_case(value)),
        }
    }

    /// Its values of a facet's field.
    fn values(&self, field: &str) -> Vec<&str> {
        match field {
            "organization" => vec![self.department.as_str()],
            "license_id" => vec![self.license.as_str()],
            "groups" => self.groups.iter().map(String::as_str).collect(),
            "tags" => self.tags.iter().map(String::as_str).collect(),
            _ => self.formats.iter().map(String::as_str).collect(),
        }
    }
}

/// Run `q` over the catalogue (`cache` keeps it in memory between searches): CKAN's
/// `package_search` result. Facets count every match; the page's datasets are read whole.
pub fn run(c: &mut dyn Conn, cache: &Catalogue, q: &Query) -> Result<Value, OdError> {
    let snapshot = current(c, cache)?;
    let mut hits: Vec<(&Entry, i64)> = snapshot
        .entries
        .iter()
        .filter(|e| q.words.iter().all(|w| e.has_word(w)))
        .filter(|e| q.filters.iter().all(|(f, v)| e.has(f, v)))
        .map(|e| {
            // The score: how many of the words the title holds.
            let score = q
                .words
                .iter()
                .filter(|w| e.title_lower.contains(w.as_str()))
                .count();
            (e, score as i64)
        })
        .collect();
    hits.sort_by(|(a, sa), (b, sb)| {
        for (key, desc) in &q.order {
            let o = match key {
                Key::Score => sa.cmp(sb),
                Key::Name => a.name.cmp(&b.name),
                Key::Title => a.title.cmp(&b.title),
                Key::Modified => a.modified.cmp(&b.modified),
                Key::Created => a.created.cmp(&b.created),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    let start = usize::try_from(q.start).unwrap_or(usize::MAX);
    let rows = usize::try_from(q.rows).unwrap_or(0);
    let mut results = Vec::with_capacity(rows);
    for (e, _) in hits.iter().skip(start).take(rows) {
        if let Some(p) = datasets::package(c, &e.id)? {
            results.push(p);
        }
    }
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for f in &q.facet_fields {
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for (e, _) in &hits {
            for v in e.values(f) {
                if !v.is_empty() {
                    *counts.entry(v).or_insert(0) += 1;
                }
            }
        }
        let mut list: Vec<(&str, i64)> = counts.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if q.facet_limit >= 0 {
            list.truncate(usize::try_from(q.facet_limit).unwrap_or(0));
        }
        let mut map = Map::new();
        let mut items = Vec::new();
        for (v, n) in list {
            map.insert(v.to_owned(), n.into());
            items.push(json!({"name": v, "display_name": v, "count": n}));
        }
        facets.insert(f.clone(), Value::Object(map));
        search_facets.insert(f.clone(), json!({"title": f, "items": items}));
    }
    Ok(json!({
        "count": hits.len(),
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
        "sort": q.sort,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_and_words() {
        let (w, f) =
            clauses(r#"公交 +organization:wx-jtj tags:"公共 交通" res_format:CSV"#).unwrap();
        assert_eq!(w, ["公交"]);
        assert_eq!(
            f,
            [
                ("organization".to_owned(), "wx-jtj".to_owned()),
                ("tags".to_owned(), "公共 交通".to_owned()),
                ("res_format".to_owned(), "CSV".to_owned())
            ]
        );
        assert!(matches!(clauses("author:x"), Err(OdError::Query(_))));
        assert!(matches!(clauses("tags:\"open"), Err(OdError::Query(_))));
        assert_eq!(clauses("*:*").unwrap(), (vec![], vec![]));
    }
}
