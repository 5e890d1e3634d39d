//! Charts of the dashboards, drawn as SVG by plotters: line, (grouped) bar, stacked bar, pie
//! and heat map. Every chart carries its numbers, so the page shows them as a table and
//! offers them as a workbook; the SVG is an addition for the eye, labelled for screen readers.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Line,
    Bar,
    Stacked,
    Pie,
    Heat,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// One chart: categories (`labels`) and one series per line, bar group, stack layer, or (for
/// a heat map) per row.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub kind: Kind,
    /// What the numbers count (件, %, 工作日…).
    pub unit: String,
    /// The name of the category column in the table.
    pub label_name: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    /// Categories (by index) that are periods the chart counts only in part: a week or a
    /// month that the chosen days cut, or one not over yet. A line chart draws them dashed
    /// with a hollow point (not as a cliff), the table marks them.
    pub partial: Vec<usize>,
}

/// Colours that stay apart for colour-blind readers (Okabe–Ito, then Tableau).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(120, 94, 240),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
];

const WIDTH: u32 = 760;
const FONT: (&str, f64) = ("sans-serif", 15.0);
const INK: RGBColor = RGBColor(33, 37, 41);

impl Chart {
    /// The table of the chart: a header row and one row per category (per series for a heat
    /// map, whose columns are the categories); a partial period's label followed by `mark`.
    pub fn table(&self, mark: &str) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
        if self.kind == Kind::Heat {
            let mut head = vec![self.label_name.clone()];
            head.extend(self.labels.iter().cloned());
            let rows = self
                .series
                .iter()
                .map(|s| (s.name.clone(), s.values.clone()))
                .collect();
            return (head, rows);
        }
        let mut head = vec![self.label_name.clone()];
        head.extend(self.series.iter().map(|s| s.name.clone()));
        let rows = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    if self.partial.contains(&i) {
                        format!("{l}{mark}")
                    } else {
                        l.clone()
                    },
                    self.series
                        .iter()
                        .map(|s| s.values.get(i).copied().unwrap_or(0.0))
                        .collect(),
                )
            })
            .collect();
        (head, rows)
    }

    /// The chart as an SVG document that scales to its container.
    pub fn svg(&self) -> String {
        let mut out = String::new();
        let drawn = match self.kind {
            Kind::Line => self.line(&mut out),
            Kind::Bar => self.bars(&mut out, false),
            Kind::Stacked => self.bars(&mut out, true),
            Kind::Pie => self.pie(&mut out),
            Kind::Heat => self.heat(&mut out),
        };
        if let Err(e) = drawn {
            tracing::warn!(chart = self.id, error = %e, "chart not drawn");
            return String::new();
        }
        // Screen readers announce the title; the table next to it holds the numbers.
        let label = escape(&self.title);
        out.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"chart-svg\" "),
            1,
        )
    }

    fn is_empty(&self) -> bool {
        self.labels.is_empty()
            || self
                .series
                .iter()
                .all(|s| s.values.iter().all(|v| *v == 0.0))
    }

    fn line(&self, out: &mut String) -> Result<(), String> {
        let n = self.labels.len().max(1);
        // Series a hundred times smaller than the largest get their own axis on the right,
        // rather than a flat line along the bottom of the other's.
        let peaks: Vec<f64> = self
            .series
            .iter()
            .map(|s| s.values.iter().copied().fold(0.0, f64::max))
            .collect();
        let top = peaks.iter().copied().fold(0.0, f64::max);
        let right: Vec<bool> = peaks.iter().map(|p| *p * 100.0 <= top).collect();
        let dual = right.iter().any(|r| *r) && right.iter().any(|r| !*r);
        let max = nice_max(
            self.series
                .iter()
                .zip(&right)
                .filter(|(_, r)| !dual || !**r)
                .flat_map(|(s, _)| s.values.iter().copied()),
        );
        let max_right = nice_max(
            self.series
                .iter()
                .zip(&right)
                .filter(|(_, r)| **r)
                .flat_map(|(s, _)| s.values.iter().copied()),
        );
        let height = 340;
        let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if self.is_empty() {
            return nothing(&root);
        }
        let entries: Vec<(String, RGBColor, bool)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let name = if dual && right[k] {
                    format!("{}（右轴）", s.name)
                } else {
                    s.name.clone()
                };
                (name, PALETTE[k % PALETTE.len()], true)
            })
            .collect();
        let plot = legend_band(&root, &entries)?;
        let x_max = (n.saturating_sub(1)).max(1) as f64;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .right_y_label_area_size(if dual { 56 } else { 0 })
            .build_cartesian_2d(0f64..x_max, 0f64..max)
            .map_err(err)?
            .set_secondary_coord(0f64..x_max, 0f64..max_right);
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_x_mesh()
            .label_style(FONT.into_font().color(&INK))
            .x_labels(0)
            .y_label_formatter(&|y| number(*y))
            .y_labels(6)
            .draw()
            .map_err(err)?;
        if dual {
            chart
                .configure_secondary_axes()
                .label_style(FONT.into_font().color(&INK))
                .y_label_formatter(&|y| number(*y))
                .y_labels(6)
                .draw()
                .map_err(err)?;
        }
        for i in date_ticks(n) {
            let (x, y) = chart.backend_coord(&(i as f64, 0.0));
            // The last date ends at its tick, so it stays inside the picture.
            let h = if i + 1 == n && n > 1 {
                HPos::Right
            } else {
                HPos::Center
            };
            // Backend coordinates are the whole picture's: draw on it, not on the plot area.
            root.draw(&Text::new(
                short(self.labels.get(i).map_or("", |s| s), 10),
                (x, y + 8),
                FONT.into_font().color(&INK).pos(Pos::new(h, VPos::Top)),
            ))
            .map_err(err)?;
        }
        let partial = |i: usize| self.partial.contains(&i);
        for (k, s) in self.series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let at = |i: usize| (i as f64, s.values.get(i).copied().unwrap_or(0.0));
            // Solid runs between whole periods; a segment that reaches a partial period is
            // dashed, and the partial period's point is hollow.
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut dashed: Vec<[(f64, f64); 2]> = Vec::new();
            for i in 0..s.values.len() {
                if partial(i) {
                    continue;
                }
                match runs.last_mut() {
                    Some(run) if i > 0 && !partial(i - 1) => run.push(at(i)),
                    _ => runs.push(vec![at(i)]),
                }
            }
            for i in 1..s.values.len() {
                if partial(i) || partial(i - 1) {
                    dashed.push([at(i - 1), at(i)]);
                }
            }
            let style = color.stroke_width(2);
            let hollow = self
                .partial
                .iter()
                .filter(|i| **i < s.values.len())
                .map(|i| Circle::new(at(*i), 4, style));
            if dual && right[k] {
                for run in runs {
                    chart
                        .draw_secondary_series(LineSeries::new(run, style))
                        .map_err(err)?;
                }
                for d in &dashed {
                    chart
                        .draw_secondary_series(DashedLineSeries::new(
                            d.iter().copied(),
                            6,
                            4,
                            style,
                        ))
                        .map_err(err)?;
                }
                chart.draw_secondary_series(hollow).map_err(err)?;
            } else {
                for run in runs {
                    chart
                        .draw_series(LineSeries::new(run, style))
                        .map_err(err)?;
                }
                for d in &dashed {
                    chart
                        .draw_series(DashedLineSeries::new(d.iter().copied(), 6, 4, style))
                        .map_err(err)?;
                }
                chart.draw_series(hollow).map_err(err)?;
            }
        }
        root.present().map_err(err)
    }

    /// Horizontal bars, one row per category: side by side per series, or stacked.
    fn bars(&self, out: &mut String, stacked: bool) -> Result<(), String> {
        let n = self.labels.len();
        let groups = if stacked { 1 } else { self.series.len().max(1) };
        let row = 14 + 14 * groups as u32;
        let height = 70 + row * n.max(1) as u32 + 24 * u32::from(self.series.len() > 1);
        let totals: Vec<f64> = (0..n)
            .map(|i| {
                let vals = self
                    .series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0.0));
                if stacked {
                    vals.sum()
                } else {
                    vals.fold(0.0, f64::max)
                }
            })
            .collect();
        let max = nice_max(totals.iter().copied());
        let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if self.is_empty() {
            return nothing(&root);
        }
        let entries: Vec<(String, RGBColor, bool)> = if self.series.len() > 1 {
            self.series
                .iter()
                .enumerate()
                .map(|(k, s)| (s.name.clone(), PALETTE[k % PALETTE.len()], false))
                .collect()
        } else {
            Vec::new()
        };
        let plot = legend_band(&root, &entries)?;
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(190)
            .build_cartesian_2d(0f64..max, 0f64..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_y_mesh()
            .label_style(FONT.into_font().color(&INK))
            .y_labels(0)
            .x_label_formatter(&|x| number(*x))
            .x_labels(5)
            .draw()
            .map_err(err)?;
        // The first category at the top.
        for (i, l) in self.labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, (n - 1 - i) as f64 + 0.5));
            root.draw(&Text::new(
                short(l, 9),
                (x - 6, y),
                FONT.into_font()
                    .color(&INK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
        }
        let mut base = vec![0.0; n];
        for (k, s) in self.series.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let rects = (0..n).map(|i| {
                let v = s.values.get(i).copied().unwrap_or(0.0);
                let top = (n - 1 - i) as f64;
                let (y0, y1) = if stacked {
                    (top + 0.18, top + 0.82)
                } else {
                    let h = 0.7 / groups as f64;
                    let y1 = top + 0.85 - h * k as f64;
                    (y1 - h, y1)
                };
                let x0 = if stacked { base[i] } else { 0.0 };
                if stacked {
                    base[i] += v;
                }
                Rectangle::new([(x0, y0), (x0 + v, y1)], color.filled())
            });
            chart.draw_series(rects.collect::<Vec<_>>()).map_err(err)?;
        }
        // The value at the end of each bar (the total of a stack).
        let ends: Vec<_> = (0..n)
            .filter(|i| totals[*i] > 0.0 && (stacked || groups == 1))
            .map(|i| {
                let top = (n - 1 - i) as f64 + 0.5;
                EmptyElement::at((totals[i], top))
                    + Text::new(
                        number(totals[i]),
                        (4, 0),
                        FONT.into_font()
                            .color(&INK)
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    )
            })
            .collect();
        chart.draw_series(ends).map_err(err)?;
        root.present().map_err(err)
    }

    fn pie(&self, out: &mut String) -> Result<(), String> {
        let values = self
            .series
            .first()
            .map(|s| s.values.clone())
            .unwrap_or_default();
        let height = 300;
        let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let total: f64 = values.iter().sum();
        if total <= 0.0 {
            return nothing(&root);
        }
        // Slices with labels and shares beside the pie, not on it (small slices stay legible).
        let (sizes, colors): (Vec<f64>, Vec<RGBColor>) = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0.0)
            .map(|(i, v)| (*v, PALETTE[i % PALETTE.len()]))
            .unzip();
        let blank: Vec<String> = sizes.iter().map(|_| String::new()).collect();
        let (center, radius) = ((150, 150), 120.0);
        let mut pie = Pie::new(&center, &radius, &sizes, &colors, &blank);
        pie.start_angle(-90.0);
        root.draw(&pie).map_err(err)?;
        for (k, (i, v)) in values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0.0)
            .enumerate()
            .take(10)
        {
            let y = 40 + k as i32 * 26;
            let color = PALETTE[i % PALETTE.len()];
            root.draw(&Rectangle::new(
                [(300, y - 8), (316, y + 8)],
                color.filled(),
            ))
            .map_err(err)?;
            let name = short(self.labels.get(i).map_or("", |s| s), 8);
            root.draw(&Text::new(
                format!("{name} {:.1}%", v * 100.0 / total),
                (324, y),
                FONT.into_font()
                    .color(&INK)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)
    }

    /// Rows are the series, columns the categories; darker is more.
    fn heat(&self, out: &mut String) -> Result<(), String> {
        let (cols, rows) = (self.labels.len(), self.series.len());
        let cell_h = 30u32;
        let height = 90 + cell_h * rows.max(1) as u32;
        let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        if self.is_empty() || rows == 0 {
            return nothing(&root);
        }
        let max = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(84)
            .build_cartesian_2d(0f64..cols as f64, 0f64..rows as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_mesh()
            .x_labels(0)
            .y_labels(0)
            .draw()
            .map_err(err)?;
        let style = || FONT.into_font().color(&INK);
        for (i, l) in self.labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                short(l, 3),
                (x, y + 8),
                style().pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(err)?;
        }
        for (r, s) in self.series.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, (rows - 1 - r) as f64 + 0.5));
            root.draw(&Text::new(
                short(&s.name, 5),
                (x - 6, y),
                style().pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(err)?;
        }
        let mut cells = Vec::new();
        let mut marks = Vec::new();
        for (r, s) in self.series.iter().enumerate() {
            let y = (rows - 1 - r) as f64;
            for (i, v) in s.values.iter().enumerate().take(cols) {
                let t = if max > 0.0 { v / max } else { 0.0 };
                cells.push(Rectangle::new(
                    [(i as f64 + 0.03, y + 0.06), (i as f64 + 0.97, y + 0.94)],
                    shade(t).filled(),
                ));
                if cols <= 12 {
                    // The count on a white label, legible on any shade.
                    marks.push(
                        EmptyElement::at((i as f64 + 0.5, y + 0.5))
                            + Rectangle::new([(-17, -9), (17, 9)], WHITE.filled())
                            + Text::new(
                                number(*v),
                                (0, 0),
                                ("sans-serif", 12.0)
                                    .into_font()
                                    .color(&INK)
                                    .pos(Pos::new(HPos::Center, VPos::Center)),
                            ),
                    );
                }
            }
        }
        chart.draw_series(cells).map_err(err)?;
        chart.draw_series(marks).map_err(err)?;
        root.present().map_err(err)
    }
}

fn nothing<DB: DrawingBackend>(root: &DrawingArea<DB, plotters::coord::Shift>) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.draw(&Text::new(
        "—",
        (WIDTH as i32 / 2, 40),
        FONT.into_font().color(&INK),
    ))
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A light-to-dark blue for a share 0–1 of the largest cell.
fn shade(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(239.0, 8.0), lerp(243.0, 69.0), lerp(255.0, 148.0))
}

/// The axis end: the largest value rounded up to a readable number (at least 1).
fn nice_max(values: impl Iterator<Item = f64>) -> f64 {
    let m = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
    if m <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(m.log10().floor());
    let steps = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0];
    steps
        .iter()
        .map(|s| s * mag)
        .find(|v| *v >= m * 1.05)
        .unwrap_or(10.0 * mag)
}

/// A number as a person reads it on an axis: 1.2万 for large counts, one decimal for rates.
pub fn number(v: f64) -> String {
    if v.abs() >= 100_000.0 {
        format!("{:.0}万", v / 10_000.0)
    } else if v.abs() >= 10_000.0 {
        format!("{:.1}万", v / 10_000.0)
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

mod parts;
use parts::{date_ticks, legend_band};

#[cfg(test)]
mod tests;
