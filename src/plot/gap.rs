//! The gap heatmap: hidden sizes × etas, the mean gap printed in each cell.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::*;
use super::{PlotError, PlotOptions};
use crate::report::{self, GroupKey, Metric};
use crate::results::RunRecord;

/// Diverging colour for a gap: white at 0, red for overfitting (train above test), blue for the
/// rare negative gap, saturating at `max_abs`.
fn gap_colour(gap: f64, max_abs: f64) -> RGBColor {
    let t = if max_abs > 0.0 {
        (gap / max_abs).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (end, t) = if t >= 0.0 {
        ((178.0, 24.0, 43.0), t)
    } else {
        ((33.0, 102.0, 172.0), -t)
    };
    let mix = |e: f64| (255.0 + (e - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// Gap heatmap: hidden sizes as rows (smallest on top, as in the pivot table), etas as columns,
/// the mean gap printed in each cell.
pub fn gap_heatmap(records: &[RunRecord], opts: &PlotOptions) -> Result<(), PlotError> {
    let summary = report::summarize(records, &[GroupKey::HIDDEN, GroupKey::ETA]);
    let pivots = summary.pivots(Metric::Gap);
    let Some(p) = pivots.first() else {
        return Err(PlotError::Input("no runs to plot".into()));
    };
    let fonts = Fonts::for_size(opts.width, opts.height);
    let (nr, nc) = (p.rows.len(), p.cols.len());
    let max_abs = p
        .cells
        .iter()
        .flatten()
        .flatten()
        .map(|s| (100.0 * s.mean).abs())
        .fold(0.0f64, f64::max);
    let seeds = seed_count(&summary);
    let cols: Vec<f64> = (0..nc).map(|c| c as f64 + 0.5).collect();
    let rows: Vec<f64> = (0..nr).map(|r| r as f64 + 0.5).collect();
    // Row r of the pivot is drawn at height nr-1-r so that the smallest network is on top.
    let row_y = |r: usize| (nr - 1 - r) as f64;

    render!(opts, |root| {
        (|| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let caption = opts.titled(if seeds != "1" {
                format!("Overfitting gap, train − test accuracy (points), mean over {seeds} seeds")
            } else {
                "Overfitting gap, train − test accuracy (percentage points)".to_string()
            });
            // A colour bar on the right says what red and blue mean without reading the cells.
            let bar_w = (fonts.tick * 6.5) as u32;
            let (root, bar_area) = root.split_horizontally(opts.width.saturating_sub(bar_w));
            let room = opts.width as f64 - 2.0 * fonts.label;
            let caption_h = (fitting(&caption, fonts.title, room) / 1.24).floor() + 10.0;
            colour_bar(
                &bar_area,
                max_abs,
                fonts,
                caption_h + fonts.label,
                fonts.label * 3.2 + fonts.label,
            )?;
            let room = room - bar_w as f64;
            let mut chart = ChartBuilder::on(&root)
                .caption(&caption, (FONT, fitting(&caption, fonts.title, room)))
                .margin(fonts.label as i32)
                .x_label_area_size((fonts.label * 3.2) as i32)
                .y_label_area_size((fonts.label * 4.5) as i32)
                .build_cartesian_2d(
                    TickedAxis {
                        range: 0.0..nc as f64,
                        ticks: cols.clone(),
                    },
                    TickedAxis {
                        range: 0.0..nr as f64,
                        ticks: rows.clone(),
                    },
                )
                .map_err(err)?;
            let x_fmt = |x: &f64| {
                let c = (*x - 0.5).round() as usize;
                p.cols.get(c).map(|e| e.to_string()).unwrap_or_default()
            };
            let y_fmt = |y: &f64| {
                let yi = (*y - 0.5).round() as usize;
                if yi < nr {
                    p.rows[nr - 1 - yi].to_string()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("learning rate η")
                .y_desc(if p.rows.iter().all(|h| h.number().is_some()) {
                    "hidden units"
                } else {
                    "hidden layer sizes"
                })
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .label_style((FONT, fonts.tick))
                .axis_desc_style((FONT, fonts.label))
                .draw()
                .map_err(err)?;
            for (r, row) in p.cells.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (x0, y0) = (c as f64, row_y(r));
                    let fill = match cell {
                        Some(s) => gap_colour(100.0 * s.mean, max_abs).filled(),
                        None => RGBColor(235, 235, 235).filled(),
                    };
                    chart
                        .draw_series([
                            Rectangle::new([(x0, y0), (x0 + 1.0, y0 + 1.0)], fill),
                            Rectangle::new([(x0, y0), (x0 + 1.0, y0 + 1.0)], WHITE.stroke_width(2)),
                        ])
                        .map_err(err)?;
                    let (line1, line2) = match cell {
                        Some(s) => (
                            format!("{:.1}", 100.0 * s.mean),
                            s.sd.map(|sd| format!("± {:.1}", 100.0 * sd)),
                        ),
                        None => ("no run".to_string(), None),
                    };
                    let dark = cell
                        .map(|s| (100.0 * s.mean).abs() > 0.6 * max_abs)
                        .unwrap_or(false);
                    let ink = if dark { WHITE } else { BLACK };
                    let big = (FONT, fonts.label * 1.1)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    let small = (FONT, fonts.tick)
                        .into_font()
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    let centre = (x0 + 0.5, y0 + 0.5);
                    match line2 {
                        Some(l2) => {
                            chart
                                .draw_series([
                                    Text::new(line1, (centre.0, centre.1 + 0.12), big),
                                    Text::new(l2, (centre.0, centre.1 - 0.16), small),
                                ])
                                .map_err(err)?;
                        }
                        None => {
                            chart
                                .draw_series([Text::new(line1, centre, big)])
                                .map_err(err)?;
                        }
                    }
                }
            }
            Ok(())
        })()
    })
}

/// The heatmap's colour bar: the diverging scale from −max to +max points, ticked at both ends
/// and at 0, in a strip `area` (top and bottom margins in pixels, to line up with the cells).
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    max_abs: f64,
    fonts: Fonts,
    top: f64,
    bottom: f64,
) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let (y0, y1) = (top as i32, h as i32 - bottom as i32);
    if y1 <= y0 + 10 {
        return Ok(());
    }
    let x0 = (fonts.tick * 0.6) as i32;
    let x1 = x0 + (fonts.tick * 1.4) as i32;
    let max = if max_abs > 0.0 { max_abs } else { 1.0 };
    for y in y0..y1 {
        // Top is +max (overfitting, red), bottom −max.
        let t = 1.0 - 2.0 * f64::from(y - y0) / f64::from(y1 - y0);
        area.draw(&Rectangle::new(
            [(x0, y), (x1, y + 1)],
            gap_colour(t * max, max).filled(),
        ))
        .map_err(err)?;
    }
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))
        .map_err(err)?;
    let style = (FONT, fonts.tick)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (y, v) in [(y0, max), ((y0 + y1) / 2, 0.0), (y1, -max)] {
        area.draw(&PathElement::new(
            vec![(x1, y), (x1 + 4, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        area.draw(&Text::new(
            if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:+.1}")
            },
            (x1 + 6, y),
            style.clone(),
        ))
        .map_err(err)?;
    }
    // The unit, above the bar's top tick.
    area.draw(&Text::new(
        "pp".to_string(),
        (x0, y0 - (fonts.tick * 1.4) as i32),
        (FONT, fonts.tick).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    let _ = w;
    Ok(())
}
