//! The catalogue as a file staff edit in Excel (three sheets: matters, materials, form
//! fields) or as JSON. Export then import gives back exactly the same catalogue. Import
//! reports every bad row with its sheet and row number and returns nothing on any error,
//! so a caller never half-imports.

use crate::model::{check_matter, Field, Material, Matter};
use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, Worksheet};
use std::collections::BTreeMap;
use std::path::Path;
use tongban_platform::identity::Department;

pub const SHEET_MATTERS: &str = "事项 Matters";
pub const SHEET_MATERIALS: &str = "材料 Materials";
pub const SHEET_FIELDS: &str = "表单字段 Fields";

const MATTER_COLS: [&str; 17] = [
    "事项编码 code",
    "事项名称 name",
    "部门编码 department_code",
    "部门名称 department_name",
    "事项类型 kind",
    "法定时限(工作日) legal_days",
    "承诺时限(工作日) promised_days",
    "收费 fee",
    "网办深度 online_depth",
    "到现场次数 max_visits",
    "受理条件 conditions",
    "设定依据 legal_basis",
    "已发布 published",
    // Optional on import (workbooks exported before it existed lack it; 1 is taken then).
    "受理时限(工作日) accept_days",
    "英文名称 name_en",
    "英文受理条件 conditions_en",
    "部门英文名称 department_name_en",
];
/// Columns of the matters sheet an import requires (the rest are optional).
const MATTER_COLS_REQUIRED: usize = 13;
/// Columns of the materials sheet an import requires.
const MATERIAL_COLS_REQUIRED: usize = 6;
const MATERIAL_COLS: [&str; 10] = [
    "事项编码 matter_code",
    "材料键 key",
    "材料名称 name",
    "必需 required",
    "原件/复印件 form",
    "格式 formats",
    // Optional on import.
    "英文名称 name_en",
    "份数 copies",
    "电子证照 certificate",
    "数据共享 exchange",
];
const FIELD_COLS: [&str; 15] = [
    "事项编码 matter_code",
    "字段键 key",
    "中文标签 label_zh",
    "英文标签 label_en",
    "类型 type",
    "必填 required",
    "选项 options",
    "最短 min_length",
    "最长 max_length",
    "最小值 min",
    "最大值 max",
    "格式 pattern",
    "提示 hint",
    "个人信息 personal",
    // Optional on import, as the acceptance limit is.
    "实名预填 prefill",
];
/// Columns of the fields sheet an import requires.
const FIELD_COLS_REQUIRED: usize = 14;

fn yes_no(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        "否"
    }
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> String {
    format!("cannot write the workbook: {e}")
}

fn header(ws: &mut Worksheet, cols: &[&str], bold: &Format) -> Result<(), String> {
    for (i, c) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *c, bold)
            .map_err(xerr)?;
        ws.set_column_width(i as u16, 18).map_err(xerr)?;
    }
    ws.set_freeze_panes(1, 0).map_err(xerr)?;
    Ok(())
}

fn opt_num(ws: &mut Worksheet, row: u32, col: u16, v: Option<f64>) -> Result<(), String> {
    if let Some(v) = v {
        ws.write_number(row, col, v).map_err(xerr)?;
    }
    Ok(())
}

pub fn export_xlsx(matters: &[Matter], path: &Path) -> Result<(), String> {
    workbook(matters)?.save(path).map_err(xerr)
}

/// The workbook as bytes, for a download.
pub fn export_xlsx_bytes(matters: &[Matter]) -> Result<Vec<u8>, String> {
    workbook(matters)?.save_to_buffer().map_err(xerr)
}

fn workbook(matters: &[Matter]) -> Result<Workbook, String> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name(SHEET_MATTERS).map_err(xerr)?;
        header(ws, &MATTER_COLS, &bold)?;
        for (i, m) in matters.iter().enumerate() {
            let r = i as u32 + 1;
            let texts: [(u16, &str); 9] = [
                (0, &m.code),
                (1, &m.name),
                (2, &m.department.code),
                (3, &m.department.name),
                (4, &m.kind),
                (7, &m.fee),
                (10, &m.conditions),
                (11, &m.legal_basis),
                (12, yes_no(m.published)),
            ];
            for (c, t) in texts {
                ws.write_string(r, c, t).map_err(xerr)?;
            }
            ws.write_number(r, 5, f64::from(m.legal_days))
                .map_err(xerr)?;
            ws.write_number(r, 6, f64::from(m.promised_days))
                .map_err(xerr)?;
            ws.write_number(r, 8, f64::from(m.online_depth))
                .map_err(xerr)?;
            ws.write_number(r, 9, f64::from(m.max_visits))
                .map_err(xerr)?;
            ws.write_number(r, 13, f64::from(m.accept_days))
                .map_err(xerr)?;
            ws.write_string(r, 14, &m.name_en).map_err(xerr)?;
            ws.write_string(r, 15, &m.conditions_en).map_err(xerr)?;
            ws.write_string(r, 16, &m.department.name_en)
                .map_err(xerr)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name(SHEET_MATERIALS).map_err(xerr)?;
        header(ws, &MATERIAL_COLS, &bold)?;
        let mut r = 1;
        for m in matters {
            for mat in &m.materials {
                let form = crate::model::MATERIAL_FORMS
                    .iter()
                    .find(|(k, _)| *k == mat.form)
                    .map_or(mat.form.as_str(), |(_, zh)| zh);
                for (c, t) in [
                    (0u16, m.code.as_str()),
                    (1, &mat.key),
                    (2, &mat.name),
                    (3, yes_no(mat.required)),
                    (4, form),
                    (5, &mat.formats.join(",")),
                    (6, &mat.name_en),
                ] {
                    ws.write_string(r, c, t).map_err(xerr)?;
                }
                ws.write_number(r, 7, f64::from(mat.copies)).map_err(xerr)?;
                if let Some(t) = &mat.certificate {
                    ws.write_string(r, 8, t).map_err(xerr)?;
                }
                if let Some(x) = &mat.exchange {
                    ws.write_string(r, 9, x).map_err(xerr)?;
                }
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name(SHEET_FIELDS).map_err(xerr)?;
        header(ws, &FIELD_COLS, &bold)?;
        let mut r = 1;
        for m in matters {
            for f in &m.fields {
                for (c, t) in [
                    (0u16, m.code.as_str()),
                    (1, &f.key),
                    (2, &f.label_zh),
                    (3, &f.label_en),
                    (4, &f.kind),
                    (5, yes_no(f.required)),
                    (6, &f.options.join("|")),
                    (11, f.pattern.as_deref().unwrap_or("")),
                    (12, f.hint.as_deref().unwrap_or("")),
                    (13, yes_no(f.personal)),
                    (14, f.prefill.as_deref().unwrap_or("")),
                ] {
                    ws.write_string(r, c, t).map_err(xerr)?;
                }
                opt_num(ws, r, 7, f.min_length.map(f64::from))?;
                opt_num(ws, r, 8, f.max_length.map(f64::from))?;
                opt_num(ws, r, 9, f.min)?;
                opt_num(ws, r, 10, f.max)?;
                r += 1;
            }
        }
    }
    Ok(wb)
}

/// One row of a sheet with helpers that record errors against its row number.
struct RowReader<'a> {
    sheet: &'a str,
    row: usize,
    cells: &'a [Data],
    errors: &'a mut Vec<String>,
}

impl RowReader<'_> {
    fn fail(&mut self, msg: String) {
        self.errors
            .push(format!("{} row {}: {msg}", self.sheet, self.row));
    }

    fn text(&mut self, i: usize) -> String {
        match self.cells.get(i) {
            None | Some(Data::Empty) => String::new(),
            Some(Data::String(s)) => s.trim().to_owned(),
            Some(Data::Float(f)) if f.fract() == 0.0 => format!("{}", *f as i64),
            Some(Data::Float(f)) => f.to_string(),
            Some(Data::Int(v)) => v.to_string(),
            Some(Data::Bool(b)) => yes_no(*b).to_owned(),
            Some(other) => other.to_string(),
        }
    }

    fn opt_num(&mut self, i: usize, col: &str) -> Option<f64> {
        let t = self.text(i);
        if t.is_empty() {
            return None;
        }
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.fail(format!("{col} must be a number, got {t:?}"));
                None
            }
        }
    }

    fn whole(&mut self, i: usize, col: &str) -> u32 {
        match self.opt_num(i, col) {
            Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) => v as u32,
            Some(v) => {
                self.fail(format!("{col} must be a whole number, got {v}"));
                0
            }
            None => {
                self.fail(format!("{col} is empty"));
                0
            }
        }
    }

    fn opt_whole(&mut self, i: usize, col: &str) -> Option<u32> {
        let v = self.opt_num(i, col)?;
        if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
            Some(v as u32)
        } else {
            self.fail(format!("{col} must be a whole number, got {v}"));
            None
        }
    }

    fn flag(&mut self, i: usize, col: &str) -> bool {
        let t = self.text(i);
        match t.as_str() {
            "是" | "Y" | "y" | "yes" | "true" | "TRUE" | "1" => true,
            "否" | "N" | "n" | "no" | "false" | "FALSE" | "0" | "" => false,
            _ => {
                self.fail(format!("{col} must be 是 or 否, got {t:?}"));
                false
            }
        }
    }
}

fn check_header(sheet: &str, cells: Option<&[Data]>, cols: &[&str], errors: &mut Vec<String>) {
    let got: Vec<String> = cells.unwrap_or(&[]).iter().map(|c| c.to_string()).collect();
    for (i, want) in cols.iter().enumerate() {
        let key = want.rsplit(' ').next().unwrap_or(want);
        if !got.get(i).is_some_and(|g| g.ends_with(key)) {
            errors.push(format!(
                "{sheet} row 1: column {} should be headed {want:?}; keep the header row of an exported file",
                i + 1
            ));
            return;
        }
    }
}

pub fn import_xlsx(path: &Path) -> Result<Vec<Matter>, Vec<String>> {
    let data =
        std::fs::read(path).map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    crate::xlsx_guard::check(&data, crate::xlsx_guard::LIMITS)
        .map_err(|e| vec![format!("{}: {e}", path.display())])?;
    import_xlsx_bytes(data)
}

/// Read a catalogue from XLSX bytes (an upload).
pub fn import_xlsx_bytes(data: Vec<u8>) -> Result<Vec<Matter>, Vec<String>> {
    crate::xlsx_guard::check(&data, crate::xlsx_guard::LIMITS).map_err(|e| vec![e])?;
    let wb = Xlsx::new(std::io::Cursor::new(data))
        .map_err(|e| vec![format!("not a readable XLSX workbook: {e}")])?;
    import_workbook(wb)
}

fn import_workbook<R: std::io::Read + std::io::Seek>(
    mut wb: Xlsx<R>,
) -> Result<Vec<Matter>, Vec<String>> {
    let mut errors = Vec::new();
    let mut sheet = |name: &str| -> Result<calamine::Range<Data>, Vec<String>> {
        wb.worksheet_range(name)
            .map_err(|_| vec![format!("the workbook has no sheet named {name:?}")])
    };
    let matters_sheet = sheet(SHEET_MATTERS)?;
    let materials_sheet = sheet(SHEET_MATERIALS)?;
    let fields_sheet = sheet(SHEET_FIELDS)?;

    let mut matters: Vec<Matter> = Vec::new();
    let mut rows_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows = matters_sheet.rows();
    check_header(
        SHEET_MATTERS,
        rows.next(),
        &MATTER_COLS[..MATTER_COLS_REQUIRED],
        &mut errors,
    );
    for (i, cells) in rows.enumerate() {
        let row = i + 2;
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut r = RowReader {
            sheet: SHEET_MATTERS,
            row,
            cells,
            errors: &mut errors,
        };
        let m = Matter {
            code: r.text(0),
            name: r.text(1),
            name_en: r.text(14),
            department: Department {
                code: r.text(2),
                name: r.text(3),
                name_en: r.text(16),
            },
            kind: r.text(4),
            legal_days: r.whole(5, "legal_days"),
            promised_days: r.whole(6, "promised_days"),
            accept_days: r.opt_whole(13, "accept_days").unwrap_or(1),
            fee: r.text(7),
            online_depth: r.whole(8, "online_depth").min(255) as u8,
            max_visits: r.whole(9, "max_visits").min(255) as u8,
            conditions: r.text(10),
            conditions_en: r.text(15),
            legal_basis: r.text(11),
            published: r.flag(12, "published"),
            materials: vec![],
            fields: vec![],
        };
        if let Some(first) = rows_of.insert(m.code.clone(), row) {
            errors.push(format!(
                "{SHEET_MATTERS} row {row}: code {} already used on row {first}",
                m.code
            ));
        }
        matters.push(m);
    }

    let mut rows = materials_sheet.rows();
    check_header(
        SHEET_MATERIALS,
        rows.next(),
        &MATERIAL_COLS[..MATERIAL_COLS_REQUIRED],
        &mut errors,
    );
    for (i, cells) in rows.enumerate() {
        let row = i + 2;
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut r = RowReader {
            sheet: SHEET_MATERIALS,
            row,
            cells,
            errors: &mut errors,
        };
        let code = r.text(0);
        let form_text = r.text(4);
        let form = crate::model::MATERIAL_FORMS
            .iter()
            .find(|(k, zh)| *zh == form_text || *k == form_text)
            .map(|(k, _)| (*k).to_owned());
        if form.is_none() {
            r.fail(format!(
                "form must be 原件, 复印件 or 原件和复印件, got {form_text:?}"
            ));
        }
        let mat = Material {
            key: r.text(1),
            name: r.text(2),
            name_en: r.text(6),
            required: r.flag(3, "required"),
            form: form.unwrap_or_default(),
            formats: r
                .text(5)
                .split([',', '，'])
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            copies: r.opt_whole(7, "copies").unwrap_or(1),
            certificate: Some(r.text(8)).filter(|t| !t.is_empty()),
            exchange: Some(r.text(9)).filter(|t| !t.is_empty()),
        };
        match matters.iter_mut().find(|m| m.code == code) {
            Some(m) => m.materials.push(mat),
            None => r.fail(format!(
                "matter {code:?} is not on the {SHEET_MATTERS} sheet"
            )),
        }
    }

    let mut rows = fields_sheet.rows();
    check_header(
        SHEET_FIELDS,
        rows.next(),
        &FIELD_COLS[..FIELD_COLS_REQUIRED],
        &mut errors,
    );
    for (i, cells) in rows.enumerate() {
        let row = i + 2;
        if cells.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let mut r = RowReader {
            sheet: SHEET_FIELDS,
            row,
            cells,
            errors: &mut errors,
        };
        let code = r.text(0);
        let text_opt = |r: &mut RowReader, i| Some(r.text(i)).filter(|s| !s.is_empty());
        let f = Field {
            key: r.text(1),
            label_zh: r.text(2),
            label_en: r.text(3),
            kind: r.text(4),
            required: r.flag(5, "required"),
            options: r
                .text(6)
                .split('|')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            min_length: r.opt_whole(7, "min_length"),
            max_length: r.opt_whole(8, "max_length"),
            min: r.opt_num(9, "min"),
            max: r.opt_num(10, "max"),
            pattern: text_opt(&mut r, 11),
            hint: text_opt(&mut r, 12),
            personal: r.flag(13, "personal"),
            prefill: text_opt(&mut r, 14),
        };
        match matters.iter_mut().find(|m| m.code == code) {
            Some(m) => m.fields.push(f),
            None => r.fail(format!(
                "matter {code:?} is not on the {SHEET_MATTERS} sheet"
            )),
        }
    }

    for m in &matters {
        if let Err(e) = check_matter(m) {
            let row = rows_of.get(&m.code).copied().unwrap_or(0);
            errors.push(format!("{SHEET_MATTERS} row {row} ({}): {e}", m.code));
        }
    }
    if errors.is_empty() {
        Ok(matters)
    } else {
        Err(errors)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    pub matters: Vec<Matter>,
}

pub fn export_json(matters: &[Matter]) -> Result<String, String> {
    serde_json::to_string_pretty(&CatalogFile {
        matters: matters.to_vec(),
    })
    .map_err(|e| e.to_string())
}

/// Parse and check a JSON catalogue; errors name the matter's position.
pub fn import_json(text: &str) -> Result<Vec<Matter>, Vec<String>> {
    let file: CatalogFile =
        serde_json::from_str(text).map_err(|e| vec![format!("not a catalogue JSON file: {e}")])?;
    let mut errors = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, m) in file.matters.iter().enumerate() {
        if let Err(e) = check_matter(m) {
            errors.push(format!("matter #{} ({}): {e}", i + 1, m.code));
        }
        if let Some(first) = seen.insert(m.code.clone(), i + 1) {
            errors.push(format!(
                "matter #{} ({}): code already used by matter #{first}",
                i + 1,
                m.code
            ));
        }
    }
    if errors.is_empty() {
        Ok(file.matters)
    } else {
        Err(errors)
    }
}

/// Read a catalogue file, choosing the format by extension (`.xlsx` or `.json`).
pub fn read_file(path: &Path) -> Result<Vec<Matter>, Vec<String>> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("xlsx") => import_xlsx(path),
        Some("json") => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
            import_json(&text)
        }
        _ => Err(vec![format!(
            "{}: use a .xlsx or .json file",
            path.display()
        )]),
    }
}

pub fn write_file(matters: &[Matter], path: &Path) -> Result<(), String> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("xlsx") => export_xlsx(matters, path),
        Some("json") => std::fs::write(path, export_json(matters)?)
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        _ => Err(format!("{}: use a .xlsx or .json file", path.display())),
    }
}

/// The demo catalogue of a city like Wuxi.
pub const DEMO_JSON: &str = include_str!("../data/demo_matters.json");

pub fn demo() -> Result<Vec<Matter>, Vec<String>> {
    import_json(DEMO_JSON)
}

#[cfg(test)]
mod tests;
