//! `package_search`: CKAN's dataset search over the catalogue, with its parameters (`q`,
//! `fq` of `organization:`, `groups:`, `tags:`, `res_format:`, `license_id:`; `rows`,
//! `start`, `sort`, `facet.field`, `facet.limit`) and its answer (`count`, `results`,
//! `facets`, `search_facets`, `sort`).

use crate::datasets;
use crate::error::OdError;
use serde_json::{json, Map, Value};
use tongban_platform::db::{Conn, Value as Param};

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
    /// The `sort` as given (echoed), and its SQL.
    pub sort: String,
    order: String,
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
            let dir = match dir {
                "asc" => "ASC",
                "desc" => "DESC",
                _ => return Err(OdError::Query(format!("sort {part:?}: asc or desc"))),
            };
            let col = match field {
                "score" => "score",
                "name" => "d.name",
                "title_string" | "title" => "d.title",
                "metadata_modified" => "d.modified_at",
                "metadata_created" => "d.created_at",
                _ => {
                    return Err(OdError::Query(format!(
                        "cannot sort by {field:?}: score, name, title_string, metadata_modified, metadata_created"
                    )))
                }
            };
            order.push(format!("{col} {dir}"));
        }
        order.push("d.name ASC".into());
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
            order: order.join(", "),
            facet_fields,
            facet_limit,
        })
    }
}

/// `%word%` for LIKE, its own `%`, `_` and `\` escaped.
fn like(word: &str) -> String {
    let mut s = String::from("%");
    for ch in word.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

/// The WHERE clause over `od_datasets d` and its parameters.
fn condition(q: &Query) -> (String, Vec<Param>) {
    let mut sql = vec!["d.state = 'active'".to_owned()];
    let mut params: Vec<Param> = Vec::new();
    let next = |v: String, params: &mut Vec<Param>| {
        params.push(v.into());
        format!("${}", params.len())
    };
    for w in &q.words {
        let p = next(like(w), &mut params);
        sql.push(format!(
            "(LOWER(d.title) LIKE {p} ESCAPE '\\' OR LOWER(d.notes) LIKE {p} ESCAPE '\\'
              OR d.name LIKE {p} ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM od_dataset_tags t WHERE t.dataset_id = d.id AND LOWER(t.tag) LIKE {p} ESCAPE '\\'))"
        ));
    }
    for (field, value) in &q.filters {
        let p = next(value.clone(), &mut params);
        sql.push(match field.as_str() {
            "organization" => format!("d.department_code = {p}"),
            "license_id" => format!("d.license_id = {p}"),
            "groups" => format!(
                "EXISTS (SELECT 1 FROM od_dataset_groups g WHERE g.dataset_id = d.id AND g.group_name = {p})"
            ),
            "tags" => format!(
                "EXISTS (SELECT 1 FROM od_dataset_tags t WHERE t.dataset_id = d.id AND t.tag = {p})"
            ),
            _ => format!(
                "EXISTS (SELECT 1 FROM od_resources r WHERE r.dataset_id = d.id AND UPPER(r.format) = UPPER({p}))"
            ),
        });
    }
    (sql.join(" AND "), params)
}

/// Run `q`: CKAN's `package_search` result.
pub fn run(c: &mut dyn Conn, q: &Query) -> Result<Value, OdError> {
    let (cond, params) = condition(q);
    let count = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM od_datasets d WHERE {cond}"),
            &params,
        )?
        .get_i64("n")?;
    // The score: how many of the words the title holds.
    let score = if q.words.is_empty() {
        "0".to_owned()
    } else {
        q.words
            .iter()
            .enumerate()
            .map(|(i, _)| {
                format!(
                    "(CASE WHEN LOWER(d.title) LIKE ${} ESCAPE '\\' THEN 1 ELSE 0 END)",
                    i + 1
                )
            })
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let mut page_params = params.clone();
    page_params.push(q.rows.into());
    page_params.push(q.start.into());
    let n = page_params.len();
    let ids = c.query(
        &format!(
            "SELECT d.id, {score} AS score FROM od_datasets d WHERE {cond}
             ORDER BY {} LIMIT ${} OFFSET ${n}",
            q.order,
            n - 1
        ),
        &page_params,
    )?;
    let mut results = Vec::with_capacity(ids.len());
    for r in &ids {
        if let Some(p) = datasets::package(c, &r.get_str("id")?)? {
            results.push(p);
        }
    }
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for f in &q.facet_fields {
        let (select, from) = match f.as_str() {
            "organization" => ("d.department_code", "od_datasets d".to_owned()),
            "license_id" => ("d.license_id", "od_datasets d".to_owned()),
            "groups" => ("x.group_name", "od_datasets d JOIN od_dataset_groups x ON x.dataset_id = d.id".to_owned()),
            "tags" => ("x.tag", "od_datasets d JOIN od_dataset_tags x ON x.dataset_id = d.id".to_owned()),
            _ => (
                "UPPER(x.format)",
                "od_datasets d JOIN (SELECT DISTINCT dataset_id, format FROM od_resources) x ON x.dataset_id = d.id".to_owned(),
            ),
        };
        let limit = if q.facet_limit < 0 {
            i64::MAX
        } else {
            q.facet_limit
        };
        let rows = c.query(
            &format!(
                "SELECT {select} AS v, COUNT(DISTINCT d.id) AS n FROM {from} WHERE {cond}
                 GROUP BY {select} ORDER BY n DESC, v"
            ),
            &params,
        )?;
        let mut counts = Map::new();
        let mut items = Vec::new();
        for r in rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            let (v, n) = (r.get_str("v")?, r.get_i64("n")?);
            if v.is_empty() {
                continue;
            }
            counts.insert(v.clone(), n.into());
            items.push(json!({"name": v, "display_name": v, "count": n}));
        }
        facets.insert(f.clone(), Value::Object(counts));
        search_facets.insert(f.clone(), json!({"title": f, "items": items}));
    }
    Ok(json!({
        "count": count,
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
        assert_eq!(like("50%_a"), "%50\\%\\_a%");
    }
}
