//! Learning curves: train and test accuracy against the step, from the sweep's curves file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::canvas::*;
use super::{PlotError, PlotOptions, RunNames};
use crate::results::CurveRow;

/// The curves file `nnsweep run` writes in the sweep's folder: `results/x/curves.csv`.
pub fn curves_path_for(results_csv: &Path) -> PathBuf {
    crate::layout::SweepFiles::of_results(results_csv).curves()
}

/// Most runs a learning-curve chart shows: past ten colours repeat and the picture is a tangle.
pub const MAX_CURVES: usize = 10;

/// Learning curves: train (dashed) and test (solid) accuracy against the step, one colour per run.
/// `runs` lists the run ids in legend order.
/// `names` describes `runs` as [`describe_runs`] does; without results, the run ids themselves.
pub fn curves_chart(
    rows: &[CurveRow],
    runs: &[String],
    names: &RunNames,
    opts: &PlotOptions,
) -> Result<(), PlotError> {
    if runs.is_empty() {
        return Err(PlotError::Input(
            "no run chosen for the learning curves".into(),
        ));
    }
    if runs.len() > MAX_CURVES {
        return Err(PlotError::Input(format!(
            "{} runs chosen: a learning-curve chart shows at most {MAX_CURVES}; pick some with --runs or --group",
            runs.len()
        )));
    }
    let mut by_run: BTreeMap<&str, Vec<&CurveRow>> = BTreeMap::new();
    for r in rows {
        by_run.entry(r.run_id.as_str()).or_default().push(r);
    }
    for id in runs {
        if !by_run.contains_key(id.as_str()) {
            let known: Vec<&str> = by_run.keys().take(5).copied().collect();
            return Err(PlotError::Input(format!(
                "run {id:?} has no learning curve in the curves file (it holds {} runs, e.g. {})",
                by_run.len(),
                known.join(", ")
            )));
        }
    }
    let fonts = Fonts::for_size(opts.width, opts.height);
    let chosen: Vec<&CurveRow> = runs
        .iter()
        .flat_map(|id| by_run[id.as_str()].iter().copied())
        .collect();
    let max_step = chosen.iter().map(|r| r.step).max().unwrap_or(1).max(1) as f64;
    let lo = chosen
        .iter()
        .map(|r| 100.0 * r.train_acc.min(r.test_acc))
        .fold(100.0f64, f64::min);
    let lo = ((lo - 2.0) / 5.0).floor().max(0.0) * 5.0;

    let mut entries: Vec<(Glyph, String)> = runs
        .iter()
        .enumerate()
        .map(|(k, id)| {
            (
                Glyph::Line {
                    colour: colour(k),
                    dashed: false,
                    marker: None,
                },
                names.labels.get(k).cloned().unwrap_or_else(|| id.clone()),
            )
        })
        .collect();
    entries.push((
        Glyph::Line {
            colour: RGBColor(60, 60, 60),
            dashed: false,
            marker: None,
        },
        "test".into(),
    ));
    entries.push((
        Glyph::Line {
            colour: RGBColor(60, 60, 60),
            dashed: true,
            marker: None,
        },
        "train".into(),
    ));
    let legend_w = legend_width(&entries, &names.legend_title, fonts);
    let caption = if names.common.is_empty() {
        "Learning curves".to_string()
    } else {
        format!("Learning curves, {}", names.common)
    };

    render!(opts, |root| {
        (|| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (plot_area, legend_area) =
                root.split_horizontally(opts.width.saturating_sub(legend_w));
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(
                    &caption,
                    (
                        FONT,
                        fitting(
                            &caption,
                            fonts.title,
                            plot_area.dim_in_pixel().0 as f64 - 2.0 * fonts.label,
                        ),
                    ),
                )
                .margin(fonts.label as i32)
                .x_label_area_size((fonts.label * 3.2) as i32)
                .y_label_area_size((fonts.label * 4.0) as i32)
                .build_cartesian_2d(0.0..max_step, lo..100.0)
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_desc("gradient-descent step")
                .y_desc("accuracy (%)")
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .label_style((FONT, fonts.tick))
                .axis_desc_style((FONT, fonts.label))
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.12))
                .draw()
                .map_err(err)?;
            for (k, id) in runs.iter().enumerate() {
                let c = colour(k);
                let mut pts = by_run[id.as_str()].clone();
                pts.sort_by_key(|r| r.step);
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|r| (r.step as f64, 100.0 * r.test_acc)),
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(DashedLineSeries::new(
                        pts.iter().map(|r| (r.step as f64, 100.0 * r.train_acc)),
                        8,
                        5,
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
            }
            draw_legend(&legend_area, &names.legend_title, &entries, fonts)
        })()
    })
}
