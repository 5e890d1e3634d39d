//! A region as a folder of files, read and checked as a whole: every problem is reported by
//! file and line, and nothing is returned while there is any.
//!
//! - `region.toml`: `name`, `code` (six digits, in case and order numbers), optional
//!   `name_en` and `hotline_name`;
//! - `divisions.csv`: `code,name,parent,level[,population]` — levels `province`, `city`,
//!   `district` (区、县、县级市), `street` (街道、镇、乡); six-digit GB/T 2260 codes, twelve
//!   digits for streets, each code beginning with its parent's;
//! - `departments.csv`: `code,name[,name_en,kind,parent,phone]`;
//! - `halls.csv` (optional): `department,name,address,hours,phone,complaint_phone[,lon,lat]`;
//! - `boundaries.geojson` (optional): a FeatureCollection whose features carry a division's
//!   `code` in their properties and a Polygon or MultiPolygon;
//! - `places.txt` (optional): more place names (roads, landmarks), one per line.
//!
//! Other rooms read their own files of the folder with [`Table`] (the hotline's categories
//! and routing).

use super::{DepartmentInfo, Division, Hall, Level, Meta};
use std::collections::{HashMap, HashSet};

/// Where a region's files come from: a folder, or files built into the binary (the demo).
pub trait Source {
    /// The content of `file`; `None` when there is no such file.
    fn get(&self, file: &str) -> std::io::Result<Option<Vec<u8>>>;
}

impl Source for std::path::PathBuf {
    fn get(&self, file: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.join(file)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Files built into the binary: (name, content).
pub struct Embedded(pub &'static [(&'static str, &'static str)]);

impl Source for Embedded {
    fn get(&self, file: &str) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self
            .0
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, text)| text.as_bytes().to_vec()))
    }
}

/// A file as text; `None` when absent (an error said when it cannot be read).
fn text_of(src: &dyn Source, file: &str, errors: &mut Vec<String>) -> Option<String> {
    match src.get(file) {
        Ok(Some(b)) => match String::from_utf8(b) {
            Ok(t) => Some(t.trim_start_matches('\u{feff}').to_owned()),
            Err(_) => {
                errors.push(format!("{file}: not UTF-8 text"));
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            errors.push(format!("{file}: cannot read it: {e}"));
            None
        }
    }
}

/// One CSV file of the folder: its rows with their line numbers, by column name.
pub struct Table {
    pub file: String,
    pub rows: Vec<Record>,
}

pub struct Record {
    pub line: u64,
    cells: HashMap<String, String>,
}

impl Record {
    /// The trimmed cell of `column` ("" where the file has no such column).
    pub fn get(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |s| s.trim())
    }

    /// The cell, or `None` where it is empty.
    pub fn opt(&self, column: &str) -> Option<String> {
        Some(self.get(column))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
}

impl Table {
    /// Read `file` of `dir`, which must have the `required` columns; `None` when the file is
    /// absent and `optional_file`.
    pub fn read(
        src: &dyn Source,
        file: &str,
        required: &[&str],
        optional_file: bool,
        errors: &mut Vec<String>,
    ) -> Option<Table> {
        let Some(text) = text_of(src, file, errors) else {
            if !optional_file && !errors.iter().any(|e| e.starts_with(file)) {
                errors.push(format!("{file}: the region needs this file"));
            }
            return None;
        };
        let text = text.as_bytes();
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
        let head: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect(),
            Err(e) => {
                errors.push(format!("{file}: not CSV: {e}"));
                return None;
            }
        };
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !head.iter().any(|h| h == c))
            .collect();
        if !missing.is_empty() {
            errors.push(format!(
                "{file} line 1: the header lacks column(s) {}",
                missing.join(", ")
            ));
            return None;
        }
        let mut rows = Vec::new();
        for rec in reader.records() {
            match rec {
                Ok(r) => {
                    if r.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let line = r.position().map_or(0, |p| p.line());
                    let cells = head
                        .iter()
                        .cloned()
                        .zip(r.iter().map(str::to_owned))
                        .collect();
                    rows.push(Record { line, cells });
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    errors.push(format!("{file} line {line}: {e}"));
                }
            }
        }
        Some(Table {
            file: file.to_owned(),
            rows,
        })
    }
}

/// Everything the folder says, checked.
#[derive(Debug, Clone)]
pub struct RegionFiles {
    pub meta: Meta,
    pub divisions: Vec<Division>,
    pub departments: Vec<DepartmentInfo>,
    pub halls: Vec<Hall>,
    /// (division code, GeoJSON geometry as text).
    pub boundaries: Vec<(String, String)>,
    pub places: Vec<String>,
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn name_ok(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    n > 0 && n <= max && !s.chars().any(char::is_control)
}

/// A department or category code: a-z, 0-9, `-`, `_`, `.`, 1–40 characters.
pub fn code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

/// How many leading digits of a code name the division at `level` (a child's code begins
/// with them): two for a province, four for a city, six for a district.
fn prefix_len(level: Level) -> usize {
    match level {
        Level::Province => 2,
        Level::City => 4,
        Level::District | Level::Street => 6,
    }
}

/// Read and check the region in `dir` (a folder, or [`Embedded`] files).
pub fn read(dir: &dyn Source) -> Result<RegionFiles, Vec<String>> {
    let (files, errors) = read_checked(dir);
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// What the folder says, with every problem found (so that other rooms can check their files
/// against it and report theirs too).
pub fn read_checked(dir: &dyn Source) -> (RegionFiles, Vec<String>) {
    let mut errors = Vec::new();
    let meta = read_meta(dir, &mut errors);
    let divisions = read_divisions(dir, &mut errors);
    let departments = read_departments(dir, &mut errors);
    let halls = read_halls(dir, &departments, &mut errors);
    let boundaries = read_boundaries(dir, &divisions, &mut errors);
    let places = text_of(dir, "places.txt", &mut errors)
        .map(|t| {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (
        RegionFiles {
            meta,
            divisions,
            departments,
            halls,
            boundaries,
            places,
        },
        errors,
    )
}

fn read_meta(dir: &dyn Source, errors: &mut Vec<String>) -> Meta {
    let Some(text) = text_of(dir, "region.toml", errors) else {
        if !errors.iter().any(|e| e.starts_with("region.toml")) {
            errors.push("region.toml: the region needs this file".into());
        }
        return Meta::default();
    };
    let meta: Meta = match toml::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            errors.push(format!("region.toml: {e}"));
            return Meta::default();
        }
    };
    if !name_ok(&meta.name, 50) {
        errors.push("region.toml: name must have 1-50 characters".into());
    }
    if !digits(&meta.code, 6) {
        errors.push(format!(
            "region.toml: code must be six digits (the GB/T 2260 code), got {:?}",
            meta.code
        ));
    }
    meta
}

fn read_divisions(dir: &dyn Source, errors: &mut Vec<String>) -> Vec<Division> {
    let Some(t) = Table::read(
        dir,
        "divisions.csv",
        &["code", "name", "parent", "level"],
        false,
        errors,
    ) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, Division)> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for r in &t.rows {
        let at = format!("{} line {}", t.file, r.line);
        let code = r.get("code").to_owned();
        let Some(level) = Level::parse(r.get("level")) else {
            errors.push(format!(
                "{at}: level must be province, city, district or street, got {:?}",
                r.get("level")
            ));
            continue;
        };
        if !digits(&code, level.code_len()) {
            errors.push(format!(
                "{at}: a {} code has {} digits, got {code:?}",
                level.as_str(),
                level.code_len()
            ));
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), r.line) {
            errors.push(format!("{at}: code {code} is also on line {first}"));
            continue;
        }
        if !name_ok(r.get("name"), 50) {
            errors.push(format!("{at}: the name needs 1-50 characters"));
        }
        let population = match r.opt("population") {
            None => None,
            Some(p) => match p.parse::<i64>() {
                Ok(n) if n >= 0 => Some(n),
                _ => {
                    errors.push(format!(
                        "{at}: population must be a whole number, got {p:?}"
                    ));
                    None
                }
            },
        };
        out.push((
            r.line,
            Division {
                code,
                name: r.get("name").to_owned(),
                parent: r.opt("parent"),
                level,
                population,
            },
        ));
    }
    let levels: HashMap<&str, Level> = out
        .iter()
        .map(|(_, d)| (d.code.as_str(), d.level))
        .collect();
    for (line, d) in &out {
        let at = format!("{} line {line}", t.file);
        match &d.parent {
            None if d.level == Level::Street => {
                errors.push(format!(
                    "{at}: a street or town needs its district as parent"
                ));
            }
            None => {}
            Some(p) => match levels.get(p.as_str()) {
                None => errors.push(format!("{at}: parent {p} is not a division in the file")),
                Some(pl) if *pl >= d.level => errors.push(format!(
                    "{at}: parent {p} is a {}, not above a {}",
                    pl.as_str(),
                    d.level.as_str()
                )),
                Some(pl) if !d.code.starts_with(&p[..prefix_len(*pl)]) => errors.push(format!(
                    "{at}: code {} does not begin with its parent's {}",
                    d.code,
                    &p[..prefix_len(*pl)]
                )),
                Some(_) => {}
            },
        }
    }
    if out.is_empty() && !errors.iter().any(|e| e.starts_with("divisions.csv")) {
        errors.push("divisions.csv: no divisions".into());
    }
    out.into_iter().map(|(_, d)| d).collect()
}

fn read_departments(dir: &dyn Source, errors: &mut Vec<String>) -> Vec<DepartmentInfo> {
    let Some(t) = Table::read(dir, "departments.csv", &["code", "name"], false, errors) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashMap::new();
    for r in &t.rows {
        let at = format!("{} line {}", t.file, r.line);
        let code = r.get("code").to_owned();
        if !code_ok(&code) {
            errors.push(format!(
                "{at}: a department code is 1-40 of a-z, 0-9, -, _ and ., got {code:?}"
            ));
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), r.line) {
            errors.push(format!("{at}: department {code} is also on line {first}"));
            continue;
        }
        if !name_ok(r.get("name"), 60) {
            errors.push(format!("{at}: the name needs 1-60 characters"));
        }
        if r.get("kind").chars().count() > 30 || r.get("phone").chars().count() > 40 {
            errors.push(format!("{at}: kind has at most 30 characters, phone 40"));
        }
        out.push(DepartmentInfo {
            code,
            name: r.get("name").to_owned(),
            name_en: r.get("name_en").to_owned(),
            kind: r.get("kind").to_owned(),
            parent: r.opt("parent"),
            phone: r.get("phone").to_owned(),
        });
    }
    let codes: HashSet<&str> = out.iter().map(|d| d.code.as_str()).collect();
    for (r, d) in t.rows.iter().zip(&out) {
        if let Some(p) = &d.parent {
            if !codes.contains(p.as_str()) || p == &d.code {
                errors.push(format!(
                    "{} line {}: parent {p} is not another department in the file",
                    t.file, r.line
                ));
            }
        }
    }
    out
}

fn read_halls(
    dir: &dyn Source,
    departments: &[DepartmentInfo],
    errors: &mut Vec<String>,
) -> Vec<Hall> {
    let Some(t) = Table::read(
        dir,
        "halls.csv",
        &["department", "name", "address", "hours", "phone"],
        true,
        errors,
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in &t.rows {
        let at = format!("{} line {}", t.file, r.line);
        let department = r.get("department").to_owned();
        if !departments.iter().any(|d| d.code == department) {
            errors.push(format!(
                "{at}: department {department:?} is not in departments.csv"
            ));
            continue;
        }
        for (col, max) in [
            ("name", 60),
            ("address", 200),
            ("hours", 200),
            ("phone", 40),
        ] {
            if !name_ok(r.get(col), max) {
                errors.push(format!("{at}: {col} needs 1-{max} characters"));
            }
        }
        let num = |col: &str| r.opt(col).map(|v| v.parse::<f64>().ok());
        let (lon, lat) = match (num("lon"), num("lat")) {
            (None, None) => (None, None),
            (Some(Some(lon)), Some(Some(lat)))
                if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
            {
                (Some(lon), Some(lat))
            }
            _ => {
                errors.push(format!(
                    "{at}: give lon (-180..180) and lat (-90..90) together, or neither"
                ));
                (None, None)
            }
        };
        out.push(Hall {
            department,
            name: r.get("name").to_owned(),
            address: r.get("address").to_owned(),
            hours: r.get("hours").to_owned(),
            phone: r.get("phone").to_owned(),
            complaint_phone: r.get("complaint_phone").to_owned(),
            lon,
            lat,
        });
    }
    out
}

fn read_boundaries(
    dir: &dyn Source,
    divisions: &[Division],
    errors: &mut Vec<String>,
) -> Vec<(String, String)> {
    const FILE: &str = "boundaries.geojson";
    let Some(text) = text_of(dir, FILE, errors) else {
        return Vec::new();
    };
    let doc: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("{FILE} line {}: not JSON: {e}", e.line()));
            return Vec::new();
        }
    };
    let Some(features) = doc
        .get("features")
        .and_then(|f| f.as_array())
        .filter(|_| doc["type"] == "FeatureCollection")
    else {
        errors.push(format!("{FILE}: must be a GeoJSON FeatureCollection"));
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, f) in features.iter().enumerate() {
        let at = format!("{FILE} feature {}", i + 1);
        let code = f["properties"]["code"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| f["properties"]["code"].as_i64().map(|n| n.to_string()))
            .unwrap_or_default();
        if !divisions.iter().any(|d| d.code == code) {
            errors.push(format!(
                "{at}: properties.code {code:?} is not a division in divisions.csv"
            ));
            continue;
        }
        if !seen.insert(code.clone()) {
            errors.push(format!("{at}: division {code} has a boundary already"));
            continue;
        }
        let g = &f["geometry"];
        if let Err(e) = super::store::check_geometry(g) {
            errors.push(format!("{at} ({code}): {e}"));
            continue;
        }
        out.push((code, g.to_string()));
    }
    out
}
