//! Catalogue storage: save (upsert) whole matters, read one, list with filters, read all.

use crate::model::Matter;
use tongban_platform::db::{Conn, DbError, Row, Value};
use tongban_platform::identity::{upsert_department, Department};
use tongban_platform::params;

const COLUMNS: &str =
    "m.code, m.name, m.department_code, d.name AS department_name, d.name_en AS department_name_en, m.kind, m.legal_days,
    m.promised_days, m.accept_days, m.fee, m.online_depth, m.max_visits, m.conditions, m.legal_basis, m.published,
    m.materials, m.fields, m.name_en, m.conditions_en";

fn matter_from(r: &Row) -> Result<Matter, DbError> {
    let json = |col: &str| -> Result<String, DbError> { r.get_str(col) };
    Ok(Matter {
        code: r.get_str("code")?,
        name: r.get_str("name")?,
        name_en: r.get_str("name_en")?,
        department: Department::from_row(r, "department_")?,
        kind: r.get_str("kind")?,
        legal_days: r.get_i64("legal_days")? as u32,
        promised_days: r.get_i64("promised_days")? as u32,
        accept_days: r.get_i64("accept_days")? as u32,
        fee: r.get_str("fee")?,
        online_depth: r.get_i64("online_depth")? as u8,
        max_visits: r.get_i64("max_visits")? as u8,
        conditions: r.get_str("conditions")?,
        conditions_en: r.get_str("conditions_en")?,
        legal_basis: r.get_str("legal_basis")?,
        published: r.get_bool("published")?,
        materials: serde_json::from_str(&json("materials")?)
            .map_err(|e| DbError::Decode(e.to_string()))?,
        fields: serde_json::from_str(&json("fields")?)
            .map_err(|e| DbError::Decode(e.to_string()))?,
    })
}

/// Insert or replace each matter (and its department's name), keeping the given order.
pub fn save(c: &mut dyn Conn, matters: &[Matter]) -> Result<(), DbError> {
    c.announce(crate::cache::TOPIC)?;
    let base = c
        .query_one("SELECT COALESCE(MAX(position), 0) AS p FROM matters", &[])?
        .get_i64("p")?;
    for (i, m) in matters.iter().enumerate() {
        upsert_department(c, &m.department)?;
        let materials =
            serde_json::to_string(&m.materials).map_err(|e| DbError::Decode(e.to_string()))?;
        let fields =
            serde_json::to_string(&m.fields).map_err(|e| DbError::Decode(e.to_string()))?;
        c.execute(
            "INSERT INTO matters (code, name, department_code, kind, legal_days, promised_days, fee,
                online_depth, max_visits, conditions, legal_basis, published, materials, fields, position, updated_at,
                accept_days, name_en, conditions_en)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, department_code = excluded.department_code,
                kind = excluded.kind, legal_days = excluded.legal_days, promised_days = excluded.promised_days,
                fee = excluded.fee, online_depth = excluded.online_depth, max_visits = excluded.max_visits,
                conditions = excluded.conditions, legal_basis = excluded.legal_basis, published = excluded.published,
                materials = excluded.materials, fields = excluded.fields, updated_at = excluded.updated_at,
                accept_days = excluded.accept_days, name_en = excluded.name_en,
                conditions_en = excluded.conditions_en",
            params![
                m.code.as_str(),
                m.name.as_str(),
                m.department.code.as_str(),
                m.kind.as_str(),
                i64::from(m.legal_days),
                i64::from(m.promised_days),
                m.fee.as_str(),
                i64::from(m.online_depth),
                i64::from(m.max_visits),
                m.conditions.as_str(),
                m.legal_basis.as_str(),
                m.published,
                materials,
                fields,
                base + i as i64 + 1,
                tongban_platform::time::now_millis(),
                i64::from(m.accept_days),
                m.name_en.as_str(),
                m.conditions_en.as_str(),
            ],
        )?;
    }
    Ok(())
}

/// The name of a matter, for other rooms that show it (the catalogue's front door).
pub fn matter_name(c: &mut dyn Conn, code: &str) -> Result<Option<String>, DbError> {
    c.query_opt("SELECT name FROM matters WHERE code = $1", params![code])?
        .map(|r| r.get_str("name"))
        .transpose()
}

pub fn get(c: &mut dyn Conn, code: &str) -> Result<Option<Matter>, DbError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM matters m JOIN departments d ON d.code = m.department_code WHERE m.code = $1"),
        params![code],
    )?
    .as_ref()
    .map(matter_from)
    .transpose()
}

/// Every matter, published or not, in catalogue order (for export).
pub fn all(c: &mut dyn Conn) -> Result<Vec<Matter>, DbError> {
    c.query(
        &format!("SELECT {COLUMNS} FROM matters m JOIN departments d ON d.code = m.department_code ORDER BY m.position, m.code"),
        &[],
    )?
    .iter()
    .map(matter_from)
    .collect()
}

/// The catalogue's change feed for followers (the search index): matters, published or not,
/// changed at or after `since` (milliseconds), oldest change first, at most `limit`; with
/// the time of the newest change returned.
pub fn changed_since(
    c: &mut dyn Conn,
    since: i64,
    limit: i64,
) -> Result<(Vec<Matter>, i64), DbError> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS}, m.updated_at AS changed_at FROM matters m JOIN departments d ON d.code = m.department_code
             WHERE m.updated_at >= $1 ORDER BY m.updated_at, m.code LIMIT $2"
        ),
        params![since, limit],
    )?;
    let mut newest = since;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        newest = newest.max(r.get_i64("changed_at")?);
        out.push(matter_from(r)?);
    }
    Ok((out, newest))
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub q: Option<String>,
    /// The search index's matches for `q`, best first: when given, they replace the text
    /// match and give the order.
    pub ranked: Option<Vec<String>>,
    pub department: Option<String>,
    pub kind: Option<String>,
    pub online_depth: Option<u8>,
    pub offset: i64,
    pub limit: i64,
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The filter's department, kind and online depth as conditions.
fn narrow(f: &Filter, cond: &mut Vec<String>, args: &mut Vec<Value>) {
    if let Some(d) = &f.department {
        args.push(Value::Text(d.clone()));
        cond.push(format!("m.department_code = ${}", args.len()));
    }
    if let Some(k) = &f.kind {
        args.push(Value::Text(k.clone()));
        cond.push(format!("m.kind = ${}", args.len()));
    }
    if let Some(depth) = f.online_depth {
        args.push(Value::Int(i64::from(depth)));
        cond.push(format!("m.online_depth = ${}", args.len()));
    }
}

/// Published matters matching the filter, and how many match in all.
pub fn list(c: &mut dyn Conn, f: &Filter) -> Result<(Vec<Matter>, i64), DbError> {
    let mut cond = vec!["m.published = $1".to_string()];
    let mut args: Vec<Value> = vec![Value::Bool(true)];
    if let Some(ranked) = &f.ranked {
        return list_ranked(c, f, ranked);
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.trim().is_empty()) {
        args.push(Value::Text(like_pattern(q.trim())));
        let n = args.len();
        cond.push(format!(
            "(LOWER(m.name) LIKE ${n} ESCAPE '\\' OR LOWER(m.name_en) LIKE ${n} ESCAPE '\\' OR LOWER(m.code) LIKE ${n} ESCAPE '\\' OR LOWER(m.conditions) LIKE ${n} ESCAPE '\\' OR d.name LIKE ${n} ESCAPE '\\')"
        ));
    }
    narrow(f, &mut cond, &mut args);
    let where_ = cond.join(" AND ");
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM matters m JOIN departments d ON d.code = m.department_code WHERE {where_}"),
            &args,
        )?
        .get_i64("n")?;
    args.push(Value::Int(f.limit));
    args.push(Value::Int(f.offset));
    let n = args.len();
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM matters m JOIN departments d ON d.code = m.department_code WHERE {where_}
             ORDER BY m.position, m.code LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        &args,
    )?;
    Ok((
        rows.iter().map(matter_from).collect::<Result<_, _>>()?,
        total,
    ))
}

/// [`list`] over the search index's matches, in their order: the other filters narrow them.
fn list_ranked(
    c: &mut dyn Conn,
    f: &Filter,
    ranked: &[String],
) -> Result<(Vec<Matter>, i64), DbError> {
    if ranked.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut args: Vec<Value> = vec![Value::Bool(true)];
    let mut cond = vec!["m.published = $1".to_string()];
    let marks: Vec<String> = ranked
        .iter()
        .map(|code| {
            args.push(Value::Text(code.clone()));
            format!("${}", args.len())
        })
        .collect();
    cond.push(format!("m.code IN ({})", marks.join(", ")));
    narrow(f, &mut cond, &mut args);
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM matters m JOIN departments d ON d.code = m.department_code WHERE {}",
            cond.join(" AND ")
        ),
        &args,
    )?;
    let mut found: Vec<Matter> = rows.iter().map(matter_from).collect::<Result<_, _>>()?;
    found.sort_by_key(|m| {
        ranked
            .iter()
            .position(|c| *c == m.code)
            .unwrap_or(usize::MAX)
    });
    let total = found.len() as i64;
    let page = found
        .into_iter()
        .skip(f.offset.max(0) as usize)
        .take(f.limit.max(0) as usize)
        .collect();
    Ok((page, total))
}

/// Names of the given matters, for lists in other rooms.
pub fn names(
    c: &mut dyn Conn,
    codes: &[String],
) -> Result<std::collections::HashMap<String, String>, DbError> {
    let mut out = std::collections::HashMap::new();
    if codes.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
    let args: Vec<Value> = codes.iter().map(Value::from).collect();
    for r in c.query(
        &format!(
            "SELECT code, name FROM matters WHERE code IN ({})",
            marks.join(", ")
        ),
        &args,
    )? {
        out.insert(r.get_str("code")?, r.get_str("name")?);
    }
    Ok(out)
}

/// The name and acceptance limit (受理时限, working days) of each matter among `codes`.
pub fn names_and_accept_days(
    c: &mut dyn Conn,
    codes: &[String],
) -> Result<std::collections::HashMap<String, (String, u32)>, DbError> {
    let mut out = std::collections::HashMap::new();
    for chunk in codes.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(
            &format!(
                "SELECT code, name, accept_days FROM matters WHERE code IN ({})",
                marks.join(", ")
            ),
            &args,
        )? {
            let days = u32::try_from(r.get_i64("accept_days")?).unwrap_or(1);
            out.insert(r.get_str("code")?, (r.get_str("name")?, days));
        }
    }
    Ok(out)
}

/// Every matter of a department, published or not (for its administrators).
pub fn list_department(c: &mut dyn Conn, department: &str) -> Result<Vec<Matter>, DbError> {
    c.query(
        &format!("SELECT {COLUMNS} FROM matters m JOIN departments d ON d.code = m.department_code WHERE m.department_code = $1 ORDER BY m.position, m.code"),
        params![department],
    )?
    .iter()
    .map(matter_from)
    .collect()
}

pub fn set_published(c: &mut dyn Conn, code: &str, published: bool) -> Result<bool, DbError> {
    c.announce(crate::cache::TOPIC)?;
    Ok(c.execute(
        "UPDATE matters SET published = $1, updated_at = $2 WHERE code = $3",
        params![published, tongban_platform::time::now_millis(), code],
    )? == 1)
}

/// Departments that offer at least one matter (the catalogue's department filter).
pub fn departments_with_matters(c: &mut dyn Conn) -> Result<Vec<Department>, DbError> {
    c.query(
        "SELECT d.code, d.name, d.name_en FROM departments d WHERE EXISTS (SELECT 1 FROM matters m WHERE m.department_code = d.code) ORDER BY d.code",
        &[],
    )?
    .iter()
    .map(|r| Department::from_row(r, ""))
    .collect()
}
