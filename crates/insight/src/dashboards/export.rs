//! A board as an XLSX workbook.

use super::*;

/// A dashboard as an XLSX workbook: a sheet of the headline figures, then one sheet per chart
/// with its numbers (only the chart `only`, when given).
pub fn workbook(b: &Board, only: Option<&str>) -> Result<Vec<u8>, InsightError> {
    use rust_xlsxwriter::{Format, Workbook, XlsxError};
    let charts: Vec<&Chart> = b
        .charts
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.id))
        .collect();
    if charts.is_empty() {
        return Err(InsightError::ChartNotFound {
            board: b.board.to_owned(),
            chart: only.unwrap_or("").to_owned(),
            known: b.charts.iter().map(|c| c.id).collect::<Vec<_>>().join(", "),
        });
    }
    let scope = format!(
        "{} {} – {}{}{}",
        b.title,
        b.from,
        b.to,
        b.district
            .as_deref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default(),
        b.department
            .as_deref()
            .map(|d| format!(" · {d}"))
            .unwrap_or_default(),
    );
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        if only.is_none() {
            let ws = wb.add_worksheet();
            ws.set_name("figures")?;
            ws.write_string_with_format(0, 0, &scope, &bold)?;
            for (i, f) in b.figures.iter().enumerate() {
                let row = 2 + i as u32;
                ws.write_string(row, 0, &f.name)?;
                if let Some(v) = f.value {
                    ws.write_number(row, 1, v)?;
                }
                ws.write_string(row, 2, &f.unit)?;
            }
            ws.set_column_width(0, 24)?;
        }
        for c in charts {
            let ws = wb.add_worksheet();
            ws.set_name(c.id.chars().take(31).collect::<String>())?;
            ws.write_string_with_format(0, 0, &c.title, &bold)?;
            ws.write_string(1, 0, format!("{scope} · {}", c.unit))?;
            let (head, rows) = c.table(&b.partial_mark);
            for (i, h) in head.iter().enumerate() {
                ws.write_string_with_format(3, i as u16, h, &bold)?;
            }
            for (r, (label, values)) in rows.iter().enumerate() {
                let row = 4 + r as u32;
                ws.write_string(row, 0, label)?;
                for (i, v) in values.iter().enumerate() {
                    if v.is_finite() {
                        ws.write_number(row, 1 + i as u16, *v)?;
                    }
                }
            }
            ws.set_column_width(0, 22)?;
        }
        wb.save_to_buffer()
    };
    build().map_err(|e| {
        tracing::error!(error = %e, "dashboard workbook failed");
        InsightError::Workbook(e.to_string())
    })
}
