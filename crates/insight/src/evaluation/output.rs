//! The evaluation report as charts (the four dimensions' scores and each dimension's rates
//! against the month before and a year before) and as an XLSX workbook.

use super::*;

/// The charts of a report: the four dimensions' scores, and per dimension its rate
/// indicators this month, the month before and a year before.
pub fn charts(r: &Report, en: bool) -> Vec<crate::charts::Chart> {
    use crate::charts::{Chart, Kind, Series};
    let name = |zh: &'static str, e: &'static str| if en { e } else { zh }.to_owned();
    let mut out = vec![Chart {
        id: "dimensions",
        title: name("四个维度得分", "Scores of the four dimensions"),
        kind: Kind::Bar,
        partial: Vec::new(),
        unit: name("分", "points"),
        label_name: name("维度", "Dimension"),
        labels: r
            .dimensions
            .iter()
            .map(|d| name(d.name, d.name_en))
            .collect(),
        series: vec![Series {
            name: name("得分", "Score"),
            values: r
                .dimensions
                .iter()
                .map(|d| d.score.unwrap_or(0.0))
                .collect(),
        }],
    }];
    let ids = ["readiness", "online", "participation", "mobile"];
    for (d, id) in r.dimensions.iter().zip(ids) {
        let rates: Vec<&Indicator> = d.indicators.iter().filter(|i| i.unit == "%").collect();
        if rates.is_empty() {
            continue;
        }
        let pick = |f: fn(&Indicator) -> Option<f64>| Series {
            name: String::new(),
            values: rates.iter().map(|i| f(i).unwrap_or(0.0)).collect(),
        };
        let mut series = vec![
            pick(|i| i.value),
            pick(|i| i.previous),
            pick(|i| i.year_ago),
        ];
        for (s, n) in series.iter_mut().zip([
            name("本月", "This month"),
            name("上月", "Month before"),
            name("去年同月", "A year before"),
        ]) {
            s.name = n;
        }
        out.push(Chart {
            id,
            title: format!(
                "{}{}",
                name(d.name, d.name_en),
                name("：比率指标", ": rates")
            ),
            kind: Kind::Bar,
            partial: Vec::new(),
            unit: "%".into(),
            label_name: name("指标", "Indicator"),
            labels: rates.iter().map(|i| name(i.name, i.name_en)).collect(),
            series,
        });
    }
    // Work orders per 10,000 residents by district, where the region gives populations.
    let counted: Vec<&DistrictFigures> =
        r.districts.iter().filter(|d| d.per_10k.is_some()).collect();
    if !counted.is_empty() {
        out.push(Chart {
            id: "districts",
            title: name(
                "各区县每万人工单量",
                "Work orders per 10,000 residents by district",
            ),
            kind: Kind::Bar,
            partial: Vec::new(),
            unit: name("件/万人", "per 10,000"),
            label_name: name("区县", "District"),
            labels: counted.iter().map(|d| d.name.clone()).collect(),
            series: vec![Series {
                name: name("每万人工单量", "Per 10,000 residents"),
                values: counted.iter().map(|d| d.per_10k.unwrap_or(0.0)).collect(),
            }],
        });
    }
    out
}

/// The report as an XLSX workbook: 总览 (dimensions and the index), 指标 (every indicator
/// with its formula and changes) and 区县 (each district's e-participation).
pub fn workbook(r: &Report) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name("总览").map_err(e)?;
        ws.write_string_with_format(
            0,
            0,
            format!("电子政务发展评估 {}（{} 至 {}）", r.month, r.from, r.to),
            &bold,
        )
        .map_err(e)?;
        for (c, h) in ["维度", "Dimension", "权重", "得分"].iter().enumerate() {
            ws.write_string_with_format(2, c as u16, *h, &bold)
                .map_err(e)?;
        }
        for (i, d) in r.dimensions.iter().enumerate() {
            let row = 3 + i as u32;
            ws.write_string(row, 0, d.name).map_err(e)?;
            ws.write_string(row, 1, d.name_en).map_err(e)?;
            ws.write_number(row, 2, (d.weight * 1000.0).round() / 1000.0)
                .map_err(e)?;
            if let Some(s) = d.score {
                ws.write_number(row, 3, s).map_err(e)?;
            }
        }
        let row = 3 + r.dimensions.len() as u32;
        ws.write_string_with_format(row, 0, "综合指数", &bold)
            .map_err(e)?;
        if let Some(x) = r.index {
            ws.write_number(row, 3, x).map_err(e)?;
        }
        ws.set_column_width(0, 16).map_err(e)?;
        ws.set_column_width(1, 24).map_err(e)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("指标").map_err(e)?;
        let heads = [
            "维度",
            "指标",
            "Indicator",
            "单位",
            "数值",
            "得分",
            "上月",
            "环比（率：个百分点；量：增长率）",
            "去年同月",
            "同比（率：个百分点；量：增长率）",
            "计算方法",
        ];
        for (c, h) in heads.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(e)?;
        }
        let mut row = 1;
        for d in &r.dimensions {
            for x in &d.indicators {
                ws.write_string(row, 0, d.name).map_err(e)?;
                ws.write_string(row, 1, x.name).map_err(e)?;
                ws.write_string(row, 2, x.name_en).map_err(e)?;
                ws.write_string(row, 3, x.unit).map_err(e)?;
                for (col, v) in [
                    (4u16, x.value),
                    (5, x.score),
                    (6, x.previous),
                    (7, x.mom),
                    (8, x.year_ago),
                    (9, x.yoy),
                ] {
                    if let Some(v) = v {
                        ws.write_number(row, col, v).map_err(e)?;
                    }
                }
                ws.write_string(row, 10, x.formula).map_err(e)?;
                row += 1;
            }
        }
        ws.set_column_width(1, 24).map_err(e)?;
        ws.set_column_width(2, 30).map_err(e)?;
        ws.set_column_width(10, 70).map_err(e)?;
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("区县").map_err(e)?;
        let heads = [
            "区县",
            "常住人口",
            "工单量",
            "每万人工单量",
            "按时答复率（%）",
            "满意率（%）",
        ];
        for (c, h) in heads.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(e)?;
        }
        for (i, d) in r.districts.iter().enumerate() {
            let row = 1 + i as u32;
            ws.write_string(row, 0, &d.name).map_err(e)?;
            ws.write_number(row, 2, d.received as f64).map_err(e)?;
            for (col, v) in [
                (1u16, d.population.map(|p| p as f64)),
                (3, d.per_10k),
                (4, d.answered_on_time),
                (5, d.satisfaction),
            ] {
                if let Some(v) = v {
                    ws.write_number(row, col, v).map_err(e)?;
                }
            }
        }
        ws.set_column_width(0, 16).map_err(e)?;
        ws.set_column_width(4, 16).map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}
