//! A publisher's uploaded file read into a DataStore table: CSV (UTF-8, with or without a
//! BOM, or GB18030/GBK as Chinese spreadsheets save it), TSV, XLSX (its first sheet) and JSON
//! (a list of objects, or an object holding one under `records`, `data` or `result`). The
//! first row names the columns: each header is kept as the field's label, and the field's id
//! is the header itself when it is a plain ASCII name, else `field_N` by its position. Each
//! column's type is the narrowest that every value in it reads as (`int`, `float`, `date`,
//! `timestamp`, `bool`, else `text`); numbers with leading zeros or more than 15 digits stay
//! text (codes, not quantities).

use crate::datastore::{typed, Field};
use crate::error::{invalid, OdError};
use calamine::{Data, Reader, Xlsx};
use serde::de::{Deserializer, MapAccess, Visitor as SerdeVisitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The formats read into the DataStore.
pub const PARSED: [&str; 4] = ["CSV", "TSV", "XLSX", "JSON"];

/// The most rows one file may bring.
pub const MAX_ROWS: usize = 1_000_000;

/// A file's table: its fields and its rows as records by field id (values as text).
#[derive(Debug)]
pub struct Table {
    pub fields: Vec<Field>,
    pub records: Vec<Value>,
}

fn bad(m: impl Into<String>) -> OdError {
    invalid("upload", m)
}

/// The table in `data`, a file of `format` (`None`: a format not read into the DataStore).
pub fn parse(format: &str, data: &[u8]) -> Result<Option<Table>, OdError> {
    let (headers, rows) = match format {
        "CSV" => delimited(data, b',')?,
        "TSV" => delimited(data, b'\t')?,
        "XLSX" => sheet(data)?,
        "JSON" => json_rows(data)?,
        _ => return Ok(None),
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(bad("the first row must name the columns"));
    }
    if rows.len() > MAX_ROWS {
        return Err(bad(format!("at most {MAX_ROWS} rows a file")));
    }
    Ok(Some(table(&headers, rows)))
}

/// Text of a file in UTF-8 (a BOM dropped) or, failing that, GB18030.
fn text_of(data: &[u8]) -> String {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    match std::str::from_utf8(data) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::GB18030.decode(data).0.into_owned(),
    }
}

type Rows = (Vec<String>, Vec<Vec<Option<String>>>);

fn delimited(data: &[u8], delimiter: u8) -> Result<Rows, OdError> {
    let text = text_of(data);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        None => return Err(bad("the file is empty")),
        Some(r) => r
            .map_err(|e| bad(format!("line 1: {e}")))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect(),
    };
    let mut rows = Vec::new();
    for (i, r) in records.enumerate() {
        let r = r.map_err(|e| bad(format!("line {}: {e}", i + 2)))?;
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if r.len() > headers.len() && r.iter().skip(headers.len()).any(|c| !c.trim().is_empty()) {
            return Err(bad(format!(
                "line {}: {} cells, but the first row names {} columns",
                i + 2,
                r.len(),
                headers.len()
            )));
        }
        rows.push(
            (0..headers.len())
                .map(|k| r.get(k).map(str::to_owned))
                .collect(),
        );
        if rows.len() > MAX_ROWS {
            break;
        }
    }
    Ok((headers, rows))
}

/// An Excel serial date (days since 1899-12-30) as text: a date, or a time when it has one.
fn excel_time(serial: f64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    let secs = (serial * 86_400.0).round() as i64;
    let t = base.and_hms_opt(0, 0, 0).unwrap_or_default() + chrono::Duration::seconds(secs);
    if secs % 86_400 == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

fn cell(d: &Data) -> Option<String> {
    match d {
        Data::Empty | Data::Error(_) => None,
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(format!("{}", *f as i64)),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(t) => Some(excel_time(t.as_f64())),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
    }
}

fn sheet(data: &[u8]) -> Result<Rows, OdError> {
    let mut book = Xlsx::new(std::io::Cursor::new(data))
        .map_err(|e| bad(format!("not an XLSX workbook: {e}")))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| bad("the workbook has no sheet"))?
        .map_err(|e| bad(format!("cannot read the first sheet: {e}")))?;
    let mut lines = range.rows().filter(|r| {
        r.iter()
            .any(|c| cell(c).is_some_and(|s| !s.trim().is_empty()))
    });
    let headers: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("the first sheet is empty"))?
        .iter()
        .map(|c| cell(c).unwrap_or_default().trim().to_owned())
        .collect();
    let rows = lines
        .take(MAX_ROWS + 1)
        .map(|r| {
            (0..headers.len())
                .map(|k| r.get(k).and_then(cell))
                .collect()
        })
        .collect();
    Ok((headers, rows))
}

/// A JSON object's members in the order they came.
pub(crate) struct Ordered(pub Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> SerdeVisitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn json_rows(data: &[u8]) -> Result<Rows, OdError> {
    let text = text_of(data);
    // Read as raw pieces first, so that each object's keys keep their order.
    let bad_json = |e: serde_json::Error| bad(format!("not JSON: {e}"));
    let list: Vec<Box<RawValue>> = match text.trim_start().chars().next() {
        Some('[') => serde_json::from_str(&text).map_err(bad_json)?,
        Some('{') => {
            let mut whole: std::collections::HashMap<String, Box<RawValue>> =
                serde_json::from_str(&text).map_err(bad_json)?;
            ["records", "data", "result", "rows"]
                .iter()
                .find_map(|k| whole.remove(*k))
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .ok_or_else(|| bad("a list of objects, or an object with one under \"records\""))?
        }
        _ => return Err(bad("a list of objects")),
    };
    let mut headers: Vec<String> = Vec::new();
    let mut objects: Vec<Map<String, Value>> = Vec::new();
    for (i, item) in list.into_iter().enumerate() {
        let ordered: Ordered = serde_json::from_str(item.get())
            .map_err(|_| bad(format!("item {i}: an object of column: value")))?;
        let mut m = Map::new();
        for (k, v) in ordered.0 {
            if !headers.contains(&k) {
                headers.push(k.clone());
            }
            m.insert(k, v);
        }
        objects.push(m);
        if objects.len() > MAX_ROWS {
            break;
        }
    }
    if headers.is_empty() {
        return Err(bad("the list has no objects with values"));
    }
    let rows = objects
        .iter()
        .map(|m| {
            headers
                .iter()
                .map(|h| match m.get(h) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(v) => Some(v.to_string()),
                })
                .collect()
        })
        .collect();
    Ok((headers, rows))
}

/// The field id for `header`, the `n`th column (from 1).
fn safe_id(header: &str, n: usize) -> String {
    let plain = !header.is_empty()
        && header.len() <= 40
        && header.starts_with(|c: char| c.is_ascii_alphabetic())
        && header
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '-');
    if plain {
        header.to_lowercase().replace([' ', '-'], "_")
    } else {
        format!("field_{n}")
    }
}

/// The narrowest type every value of a column reads as.
fn kind_of(values: &[&str]) -> &'static str {
    if values.is_empty() {
        return "text";
    }
    let number_like = |s: &str| {
        let digits = s.trim_start_matches(['-', '+']);
        let whole = digits.split('.').next().unwrap_or("");
        let leading_zero = whole.len() > 1 && whole.starts_with('0');
        let count = digits.chars().filter(char::is_ascii_digit).count();
        !leading_zero && count <= 15
    };
    let all = |kind: &str| {
        values
            .iter()
            .all(|v| typed(kind, &Value::String((*v).to_owned())).is_ok())
    };
    if values
        .iter()
        .all(|v| number_like(v) && !v.contains(['e', 'E']))
    {
        if all("int") && !values.iter().any(|v| v.contains('.')) {
            return "int";
        }
        if all("float") {
            return "float";
        }
    }
    let is_bool = |v: &&str| {
        matches!(
            v.trim().to_lowercase().as_str(),
            "true" | "false" | "是" | "否"
        )
    };
    if values.iter().all(is_bool) {
        return "bool";
    }
    let dated =
        |v: &&str| v.trim().len() >= 8 && v.trim().starts_with(|c: char| c.is_ascii_digit());
    if values.iter().all(dated) {
        if all("date") {
            return "date";
        }
        if all("timestamp") {
            return "timestamp";
        }
    }
    "text"
}

fn table(headers: &[String], rows: Vec<Vec<Option<String>>>) -> Table {
    let mut fields: Vec<Field> = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let mut id = safe_id(h, i + 1);
        if fields.iter().any(|f| f.id == id) {
            id = format!("{id}_{}", i + 1);
        }
        let values: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.get(i).and_then(|v| v.as_deref()))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        fields.push(Field {
            kind: kind_of(&values).to_owned(),
            label: if h == &id { String::new() } else { h.clone() },
            id,
        });
    }
    let records = rows
        .into_iter()
        .map(|r| {
            Value::Object(
                fields
                    .iter()
                    .zip(r)
                    .map(|(f, v)| (f.id.clone(), v.map_or(Value::Null, Value::String)))
                    .collect(),
            )
        })
        .collect();
    Table { fields, records }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &Table) -> Vec<(&str, &str, &str)> {
        t.fields
            .iter()
            .map(|f| (f.id.as_str(), f.kind.as_str(), f.label.as_str()))
            .collect()
    }

    #[test]
    fn csv_types_labels_and_ids() {
        let csv = "\u{feff}区县,年份,人口(万),占比,日期,行政区划代码,启用,Name,name\n\
                   甲区,2024,\"1,234\",0.5,2024/01/31,0510,是,a,b\n\
                   乙区,2025,99,1,2025-02-28,0511,否,c,d\n\
                   ,,,,,,,,\n";
        let t = parse("CSV", csv.as_bytes()).unwrap().unwrap();
        assert_eq!(
            kinds(&t),
            [
                ("field_1", "text", "区县"),
                ("field_2", "int", "年份"),
                ("field_3", "int", "人口(万)"),
                ("field_4", "float", "占比"),
                ("field_5", "date", "日期"),
                ("field_6", "text", "行政区划代码"),
                ("field_7", "bool", "启用"),
                ("name", "text", "Name"),
                ("name_9", "text", "name"),
            ]
        );
        assert_eq!(t.records.len(), 2, "the empty line is skipped");
        assert_eq!(t.records[0]["field_6"], "0510");
    }

    #[test]
    fn gbk_csv_and_bad_lines() {
        let (bytes, _, _) = encoding_rs::GBK.encode("名称,数量\n苹果,3\n");
        let t = parse("CSV", &bytes).unwrap().unwrap();
        assert_eq!(t.fields[0].label, "名称");
        assert_eq!(t.records[0]["field_1"], "苹果");
        let e = parse("CSV", "a,b\n1,2,3\n".as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(parse("CSV", b"").is_err());
        assert!(parse("PDF", b"%PDF").unwrap().is_none());
    }

    #[test]
    fn json_keeps_its_key_order() {
        let t = parse(
            "JSON",
            r#"{"records": [{"z": 1, "a": "x"}, {"a": "y", "b": true}]}"#.as_bytes(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            kinds(&t),
            [("z", "int", ""), ("a", "text", ""), ("b", "bool", "")]
        );
        assert!(parse("JSON", b"[1, 2]").is_err());
        assert!(parse("JSON", b"{").is_err());
    }

    #[test]
    fn xlsx_first_sheet() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        ws.write_string(0, 0, "日期").unwrap();
        ws.write_string(0, 1, "件数").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 3, 1).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        ws.write_datetime_with_format(1, 0, &date, &format).unwrap();
        ws.write_number(1, 1, 12.0).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let t = parse("XLSX", &bytes).unwrap().unwrap();
        assert_eq!(
            kinds(&t),
            [("field_1", "date", "日期"), ("field_2", "int", "件数")]
        );
        assert_eq!(t.records[0]["field_1"], "2026-03-01");
        assert!(parse("XLSX", b"not a zip").is_err());
    }
}
