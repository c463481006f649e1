//! The accuracy chart: mean train and test accuracy against hidden size, one colour per eta.

use plotters::prelude::*;

use super::canvas::*;
use super::{PlotError, PlotOptions};
use crate::report::{self, GroupKey, Metric};
use crate::results::RunRecord;

/// The classic overfitting picture: mean train and test accuracy against hidden size, one colour
/// per eta, error bars of one sample sd over seeds.
///
/// Runs are grouped by hidden and eta only; the caller warns when another axis varies, since
/// such groups pool different recipes.
pub fn accuracy_chart(records: &[RunRecord], opts: &PlotOptions) -> Result<(), PlotError> {
    let summary = report::summarize(records, &[GroupKey::Hidden, GroupKey::Eta]);
    let train = summary.pivots(Metric::TrainAcc);
    let test = summary.pivots(Metric::TestAcc);
    let (Some(train), Some(test)) = (train.first(), test.first()) else {
        return Err(PlotError::Input("no runs to plot".into()));
    };
    let axis = HiddenAxis::new(&train.hidden);
    let fonts = Fonts::for_size(opts.width, opts.height);
    let seeds = seed_count(&summary);

    let mut lo = 100.0f64;
    let mut hi = 0.0f64;
    for p in [train, test] {
        for s in p.cells.iter().flatten().flatten() {
            let sd = s.sd.unwrap_or(0.0);
            lo = lo.min(100.0 * (s.mean - sd));
            hi = hi.max(100.0 * (s.mean + sd));
        }
    }
    let lo = ((lo - 2.0) / 5.0).floor().max(0.0) * 5.0;
    let hi = (((hi + 2.0) / 5.0).ceil() * 5.0).min(100.0).max(lo + 5.0);

    let mut entries: Vec<(Glyph, String)> = train
        .etas
        .iter()
        .enumerate()
        .map(|(k, eta)| {
            (
                Glyph::Line {
                    colour: colour(k),
                    dashed: false,
                    marker: None,
                },
                format!("η = {eta}"),
            )
        })
        .collect();
    entries.push((
        Glyph::Line {
            colour: RGBColor(60, 60, 60),
            dashed: false,
            marker: Some(true),
        },
        "test".into(),
    ));
    entries.push((
        Glyph::Line {
            colour: RGBColor(60, 60, 60),
            dashed: true,
            marker: Some(false),
        },
        "train (best)".into(),
    ));
    let legend_w = legend_width(&entries, "learning rate", fonts);

    let span = axis.range().end - axis.range().start;
    let n_eta = train.etas.len();
    // Etas side by side around each size, so that their error bars do not hide one another.
    let dodge = |k: usize| (k as f64 - (n_eta as f64 - 1.0) / 2.0) * span * 0.008;

    render!(opts, |root| {
        (|| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (plot_area, legend_area) =
                root.split_horizontally(opts.width.saturating_sub(legend_w));
            let sd_note = if seeds != "1" {
                format!(", ± 1 sd over {seeds} seeds")
            } else {
                String::new()
            };
            let caption = opts.titled(format!(
                "Train and test accuracy vs hidden size (mean{sd_note})"
            ));
            let room = plot_area.dim_in_pixel().0 as f64 - 2.0 * fonts.label;
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(&caption, (FONT, fitting(&caption, fonts.title, room)))
                .margin(fonts.label as i32)
                .x_label_area_size((fonts.label * 3.2) as i32)
                .y_label_area_size((fonts.label * 4.0) as i32)
                .build_cartesian_2d(
                    TickedAxis {
                        range: axis.range(),
                        ticks: axis.positions.clone(),
                    },
                    lo..hi,
                )
                .map_err(err)?;
            let x_fmt = |x: &f64| axis.label_at(*x);
            chart
                .configure_mesh()
                .x_desc(if axis.log {
                    "hidden units (log scale)"
                } else {
                    "hidden layer sizes"
                })
                .y_desc("accuracy (%)")
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&|y| format!("{y:.0}"))
                .label_style((FONT, fonts.tick))
                .axis_desc_style((FONT, fonts.label))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            for (pivot, is_test) in [(train, false), (test, true)] {
                for (k, _) in pivot.etas.iter().enumerate() {
                    let c = colour(k);
                    let pts: Vec<(f64, f64, Option<f64>)> = pivot
                        .cells
                        .iter()
                        .enumerate()
                        .filter_map(|(r, row)| {
                            row[k].map(|s| {
                                (
                                    axis.positions[r] + dodge(k),
                                    100.0 * s.mean,
                                    s.sd.map(|v| 100.0 * v),
                                )
                            })
                        })
                        .collect();
                    let line = pts.iter().map(|&(x, y, _)| (x, y));
                    if is_test {
                        chart
                            .draw_series(LineSeries::new(line, c.stroke_width(2)))
                            .map_err(err)?;
                    } else {
                        chart
                            .draw_series(DashedLineSeries::new(line, 8, 5, c.stroke_width(2)))
                            .map_err(err)?;
                    }
                    for &(x, y, sd) in &pts {
                        if let Some(sd) = sd {
                            let cap = span * 0.006;
                            chart
                                .draw_series([
                                    PathElement::new(
                                        vec![(x, y - sd), (x, y + sd)],
                                        c.stroke_width(1),
                                    ),
                                    PathElement::new(
                                        vec![(x - cap, y - sd), (x + cap, y - sd)],
                                        c.stroke_width(1),
                                    ),
                                    PathElement::new(
                                        vec![(x - cap, y + sd), (x + cap, y + sd)],
                                        c.stroke_width(1),
                                    ),
                                ])
                                .map_err(err)?;
                        }
                        let marker = if is_test { c.filled() } else { WHITE.filled() };
                        chart
                            .draw_series([
                                Circle::new((x, y), 5, marker),
                                Circle::new((x, y), 5, c.stroke_width(2)),
                            ])
                            .map_err(err)?;
                    }
                }
            }
            draw_legend(&legend_area, "learning rate", &entries, fonts)
        })()
    })
}
