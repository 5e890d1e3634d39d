//! Base registries (基础库: 人口, 法人, 婚姻, 社保 …) that departments load from CSV or XLSX:
//! all or nothing, every bad row named by its line; each record sealed with SM4 and found by
//! the blind index of its key (an ID number is never stored in the clear).

use crate::ExchangeError;
use serde::Serialize;
use serde_json::{Map, Value};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

/// What a loaded registry holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Registry {
    pub name: String,
    pub provider: String,
    pub key_field: String,
    pub fields: Vec<String>,
    pub records: i64,
    pub loaded_at: i64,
}

/// Rows of a table: the header, then (line number, cells).
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Read a CSV (UTF-8, with or without BOM) or XLSX (its first sheet) file.
pub fn read_table(name: &str, bytes: &[u8]) -> Result<Table, ExchangeError> {
    if bytes.starts_with(b"PK") || name.to_lowercase().ends_with(".xlsx") {
        return read_xlsx(bytes);
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|_| ExchangeError::Invalid("the file is not UTF-8 CSV or XLSX".into()))?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| ExchangeError::Invalid(format!("line {}: {e}", i + 1)))?;
        rows.push((i + 1, rec.iter().map(|s| s.trim().to_owned()).collect()));
    }
    split(rows)
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, ExchangeError> {
    use calamine::{Reader, Xlsx};
    let mut wb = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| ExchangeError::Invalid(format!("the XLSX file cannot be read: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| ExchangeError::Invalid("the XLSX file has no sheet".into()))?
        .map_err(|e| ExchangeError::Invalid(format!("the XLSX sheet cannot be read: {e}")))?;
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, r)| {
            (
                i + 1,
                r.iter().map(|c| c.to_string().trim().to_owned()).collect(),
            )
        })
        .collect();
    split(rows)
}

fn split(mut rows: Vec<(usize, Vec<String>)>) -> Result<Table, ExchangeError> {
    rows.retain(|(_, r)| r.iter().any(|c| !c.is_empty()));
    if rows.is_empty() {
        return Err(ExchangeError::Invalid(
            "the file is empty: give a header row and records".into(),
        ));
    }
    let (_, header) = rows.remove(0);
    Ok(Table { header, rows })
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Check a table for registry `name` keyed by `key_field`: every problem by line.
pub fn check(table: &Table, key_field: &str) -> Result<usize, ExchangeError> {
    let mut bad = Vec::new();
    let Some(k) = table.header.iter().position(|h| h == key_field) else {
        return Err(ExchangeError::Invalid(format!(
            "the header has no column {key_field:?} (it has {})",
            table.header.join(", ")
        )));
    };
    let mut seen = std::collections::HashMap::new();
    for (line, cells) in &table.rows {
        if cells.len() != table.header.len() {
            bad.push(format!(
                "line {line}: {} cells, the header has {}",
                cells.len(),
                table.header.len()
            ));
            continue;
        }
        let key = cells.get(k).map(String::as_str).unwrap_or("");
        if key.is_empty() {
            bad.push(format!("line {line}: {key_field} is empty"));
            continue;
        }
        if key_field == "id_number" {
            if let Err(e) = tongban_platform::ids::IdNumber::parse(key) {
                bad.push(format!("line {line}: {key_field}: {e}"));
                continue;
            }
        }
        if let Some(first) = seen.insert(key.to_owned(), *line) {
            bad.push(format!("line {line}: {key_field} repeats line {first}"));
        }
    }
    if bad.is_empty() {
        Ok(table.rows.len())
    } else {
        Err(ExchangeError::BadRows(bad))
    }
}

/// The blind index of a registry key.
fn index(name: &str, key: &str) -> Result<String, DbError> {
    let key = key.trim().to_uppercase();
    Ok(tongban_platform::vault::keys()?.blind(&format!("registry:{name}"), &key))
}

/// Sealed records and their indexes, made before the write (sealing is the slow part).
pub fn seal(name: &str, table: &Table, key_field: &str) -> Result<Vec<(String, String)>, DbError> {
    let k = table
        .header
        .iter()
        .position(|h| h == key_field)
        .unwrap_or(0);
    let keys = tongban_platform::vault::keys()?;
    table
        .rows
        .iter()
        .map(|(_, cells)| {
            let rec: Map<String, Value> = table
                .header
                .iter()
                .zip(cells)
                .map(|(h, c)| (h.clone(), Value::String(c.clone())))
                .collect();
            let key = cells.get(k).map(String::as_str).unwrap_or("");
            Ok((
                index(name, key)?,
                keys.encrypt(&Value::Object(rec).to_string())?,
            ))
        })
        .collect()
}

/// Replace registry `name` with `records` (all or nothing, in the caller's transaction).
pub fn replace(
    c: &mut dyn Conn,
    name: &str,
    provider: &str,
    key_field: &str,
    fields: &[String],
    records: &[(String, String)],
    now: i64,
) -> Result<(), ExchangeError> {
    if !name_ok(name) {
        return Err(ExchangeError::Invalid(format!(
            "a registry's name is 1-64 letters, digits, '_' or '-', got {name:?}"
        )));
    }
    if let Some(r) = get(c, name)? {
        if r.provider != provider {
            return Err(ExchangeError::Forbidden(format!(
                "registry {name} belongs to {}; only it may load it",
                r.provider
            )));
        }
    }
    c.execute(
        "DELETE FROM exchange_records WHERE registry = $1",
        params![name],
    )?;
    for chunk in records.chunks(200) {
        let mut sql =
            String::from("INSERT INTO exchange_records (registry, key_index, record) VALUES ");
        let mut args = Vec::with_capacity(chunk.len() * 3);
        for (i, (k, rec)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3));
            args.push(name.into());
            args.push(k.as_str().into());
            args.push(rec.as_str().into());
        }
        c.execute(&sql, &args)?;
    }
    c.execute(
        "INSERT INTO exchange_registries (name, provider, key_field, fields, records, loaded_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET key_field = excluded.key_field, fields = excluded.fields,
           records = excluded.records, loaded_at = excluded.loaded_at",
        params![
            name,
            provider,
            key_field,
            Value::from(fields.to_vec()).to_string(),
            records.len() as i64,
            now
        ],
    )?;
    Ok(())
}

pub fn get(c: &mut dyn Conn, name: &str) -> Result<Option<Registry>, DbError> {
    c.query_opt(
        "SELECT * FROM exchange_registries WHERE name = $1",
        params![name],
    )?
    .map(|r| {
        Ok(Registry {
            name: r.get_str("name")?,
            provider: r.get_str("provider")?,
            key_field: r.get_str("key_field")?,
            fields: serde_json::from_str(&r.get_str("fields")?).unwrap_or_default(),
            records: r.get_i64("records")?,
            loaded_at: r.get_i64("loaded_at")?,
        })
    })
    .transpose()
}

/// The record of `key` in registry `name`, opened.
pub fn lookup(
    c: &mut dyn Conn,
    name: &str,
    key: &str,
) -> Result<Option<Map<String, Value>>, DbError> {
    let Some(r) = c.query_opt(
        "SELECT record FROM exchange_records WHERE registry = $1 AND key_index = $2",
        params![name, index(name, key)?],
    )?
    else {
        return Ok(None);
    };
    let plain = tongban_platform::vault::open_text(&r.get_str("record")?)?;
    Ok(serde_json::from_str(&plain).ok())
}
