//! Pieces the charts share: where the dates go under an axis, and the legend above a plot.

use super::{err, FONT, INK};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Which of `n` dates are written under a line chart's axis: at most six or seven, evenly
/// spread, the last always, and never two closer than the spread (no label on another).
pub(super) fn date_ticks(n: usize) -> Vec<usize> {
    let step = n.div_ceil(6).max(1);
    let mut at: Vec<usize> = (0..n).step_by(step).collect();
    if n > 1 && at.last() != Some(&(n - 1)) {
        if n - 1 - at.last().copied().unwrap_or(0) < step {
            at.pop();
        }
        at.push(n - 1);
    }
    at
}

/// The legend in a band above the plot (never over the data): a line or a box of each
/// series' colour and its name, in a row that wraps. The plot area below it.
pub(super) fn legend_band<'a>(
    root: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
) -> Result<DrawingArea<SVGBackend<'a>, plotters::coord::Shift>, String> {
    if entries.is_empty() {
        return Ok(root.clone());
    }
    let width = root.dim_in_pixel().0 as i32;
    // Lay the entries out first: how many rows they take.
    let mut places = Vec::new();
    let (mut x, mut row) = (12i32, 0i32);
    for (name, _, _) in entries {
        let w = 30
            + (FONT.1 as i32)
                * name
                    .chars()
                    .map(|c| if c.is_ascii() { 1 } else { 2 })
                    .sum::<i32>()
                / 2
            + 18;
        if x + w > width - 12 && x > 12 {
            x = 12;
            row += 1;
        }
        places.push((x, row));
        x += w;
    }
    let band = 26 * (row + 1) as u32 + 6;
    let (top, plot) = root.split_vertically(band);
    for ((name, color, line), (x, row)) in entries.iter().zip(places) {
        let y = 16 + 26 * row;
        if *line {
            top.draw(&PathElement::new(
                vec![(x, y), (x + 22, y)],
                color.stroke_width(3),
            ))
            .map_err(err)?;
        } else {
            top.draw(&Rectangle::new(
                [(x + 4, y - 7), (x + 18, y + 7)],
                color.filled(),
            ))
            .map_err(err)?;
        }
        top.draw(&Text::new(
            name.clone(),
            (x + 30, y),
            FONT.into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err)?;
    }
    Ok(plot)
}
