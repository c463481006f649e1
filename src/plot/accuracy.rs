//! The accuracy chart: mean train (validation) and test accuracy against one axis (hidden size
//! by default), one colour per eta.

use plotters::prelude::*;

use super::canvas::*;
use super::{PlotError, PlotOptions};
use crate::report::{self, axis_title, GroupKey, Metric, Pivot};
use crate::results::RunRecord;

/// The classic overfitting picture: mean train and test accuracy (and validation accuracy when
/// the sweep has it) against `x`, one colour per eta (per hidden size when `x` is eta), error
/// bars of one sample sd over seeds. A numeric axis spanning more than 10× is drawn on a log
/// scale.
///
/// Runs are grouped by `x` and the colour axis only; the caller warns when another axis varies,
/// since such groups pool different recipes.
pub fn accuracy_chart(
    records: &[RunRecord],
    x: GroupKey,
    opts: &PlotOptions,
) -> Result<(), PlotError> {
    let series = if x == GroupKey::ETA {
        GroupKey::HIDDEN
    } else {
        GroupKey::ETA
    };
    let summary = report::summarize(records, &[x, series]).with_pivot(x, series);
    let mut lines: Vec<(Pivot, Style)> = Vec::new();
    for (metric, style) in [
        (Metric::TrainAcc, Style::Train),
        (Metric::ValAcc, Style::Val),
        (Metric::TestAcc, Style::Test),
    ] {
        if metric == Metric::ValAcc && !summary.has_validation() {
            continue;
        }
        let Some(p) = summary.pivots(metric).into_iter().next() else {
            return Err(PlotError::Input("no runs to plot".into()));
        };
        lines.push((p, style));
    }
    let first = &lines[0].0;
    let axis = ValueAxis::new(&first.rows);
    let fonts = Fonts::for_size(opts.width, opts.height);
    let seeds = seed_count(&summary);

    let mut lo = 100.0f64;
    let mut hi = 0.0f64;
    for (p, _) in &lines {
        for s in p.cells.iter().flatten().flatten() {
            let sd = s.sd.unwrap_or(0.0);
            lo = lo.min(100.0 * (s.mean - sd));
            hi = hi.max(100.0 * (s.mean + sd));
        }
    }
    let lo = ((lo - 2.0) / 5.0).floor().max(0.0) * 5.0;
    let hi = (((hi + 2.0) / 5.0).ceil() * 5.0).min(100.0).max(lo + 5.0);

    let mut entries: Vec<(Glyph, String)> = first
        .cols
        .iter()
        .enumerate()
        .map(|(k, v)| {
            (
                Glyph::Line {
                    colour: colour(k),
                    dashed: false,
                    marker: None,
                },
                report::axis_value(series, v),
            )
        })
        .collect();
    for (_, style) in &lines {
        entries.push((
            Glyph::Line {
                colour: RGBColor(60, 60, 60),
                dashed: *style != Style::Test,
                marker: Some(*style != Style::Train),
            },
            style.label().into(),
        ));
    }
    let legend_title = if series == GroupKey::ETA {
        "learning rate"
    } else {
        "hidden units"
    };
    let legend_w = legend_width(&entries, legend_title, fonts);

    let span = axis.range().end - axis.range().start;
    let n_series = first.cols.len();
    // Series side by side around each x, so that their error bars do not hide one another.
    let dodge = |k: usize| (k as f64 - (n_series as f64 - 1.0) / 2.0) * span * 0.008;
    let x_desc = match (x.name(), axis.log) {
        ("hidden", true) => "hidden units (log scale)".to_string(),
        ("hidden", false) if first.rows.iter().all(|h| h.number().is_some()) => {
            "hidden units".to_string()
        }
        ("hidden", false) => "hidden layer sizes".to_string(),
        (_, true) => format!("{} (log scale)", axis_title(x)),
        (_, false) => axis_title(x).to_string(),
    };
    let what = if summary.has_validation() {
        "Train, validation and test accuracy"
    } else {
        "Train and test accuracy"
    };
    let x_name = match x.name() {
        "hidden" => "hidden size".to_string(),
        "n_train" => "training samples".to_string(),
        _ => axis_title(x).to_string(),
    };

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
            let caption = opts.titled(format!("{what} vs {x_name} (mean{sd_note})"));
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
                .x_desc(x_desc.as_str())
                .y_desc("accuracy (%)")
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&|y| format!("{y:.0}"))
                .label_style((FONT, fonts.tick))
                .axis_desc_style((FONT, fonts.label))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            for (pivot, style) in &lines {
                for (k, _) in pivot.cols.iter().enumerate() {
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
                    match style {
                        Style::Test => chart
                            .draw_series(LineSeries::new(line, c.stroke_width(LINE)))
                            .map(|_| ())
                            .map_err(err)?,
                        Style::Train => chart
                            .draw_series(DashedLineSeries::new(line, 10, 6, c.stroke_width(LINE)))
                            .map(|_| ())
                            .map_err(err)?,
                        Style::Val => chart
                            .draw_series(DashedLineSeries::new(line, 3, 5, c.stroke_width(LINE)))
                            .map(|_| ())
                            .map_err(err)?,
                    }
                    for &(x, y, sd) in &pts {
                        if let Some(sd) = sd {
                            let cap = span * 0.008;
                            let bar = c.stroke_width(LINE);
                            chart
                                .draw_series([
                                    PathElement::new(vec![(x, y - sd), (x, y + sd)], bar),
                                    PathElement::new(
                                        vec![(x - cap, y - sd), (x + cap, y - sd)],
                                        bar,
                                    ),
                                    PathElement::new(
                                        vec![(x - cap, y + sd), (x + cap, y + sd)],
                                        bar,
                                    ),
                                ])
                                .map_err(err)?;
                        }
                        let marker = match style {
                            Style::Train => WHITE.filled(),
                            _ => c.filled(),
                        };
                        chart
                            .draw_series([
                                Circle::new((x, y), 6, marker),
                                Circle::new((x, y), 6, c.stroke_width(LINE)),
                            ])
                            .map_err(err)?;
                    }
                }
            }
            draw_legend(&legend_area, legend_title, &entries, fonts)
        })()
    })
}

/// How a line of the chart is drawn: train dashed with hollow markers, validation dotted, test
/// solid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Train,
    Val,
    Test,
}

impl Style {
    fn label(self) -> &'static str {
        match self {
            Style::Train => "train (best)",
            Style::Val => "validation",
            Style::Test => "test",
        }
    }
}
