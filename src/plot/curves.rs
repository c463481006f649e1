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

/// Most groups a learning-curve chart shows: past ten colours repeat and the picture is a
/// tangle. (Seeds of one group share a colour, so a group of many seeds is fine.)
pub const MAX_CURVES: usize = 10;

/// Most runs on one chart, all groups together.
const MAX_RUNS: usize = 200;

/// Learning curves: test (solid) and train (dashed) accuracy against the step, one colour per
/// group of runs (runs differing only by seed). A group of several seeds is drawn as its mean
/// with a ± 1 sd band, each seed faint beneath; a group of one run as its line.
/// `runs` lists the run ids; `names` groups and names them as [`super::describe_runs`] does.
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
    let n_groups = names.group_labels.len().max(1);
    if n_groups > MAX_CURVES || runs.len() > MAX_RUNS {
        return Err(PlotError::Input(format!(
            "{} runs in {n_groups} groups chosen: a learning-curve chart shows at most \
             {MAX_CURVES} groups ({MAX_RUNS} runs); pick some with --runs or --group",
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
    // Each run's points by step, the last of a repeated step kept (a run redone after a kill).
    let curve = |id: &str| -> Vec<(usize, f64, f64)> {
        let mut m: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
        for r in &by_run[id] {
            m.insert(r.step, (100.0 * r.train_acc, 100.0 * r.test_acc));
        }
        m.into_iter().map(|(s, (tr, te))| (s, tr, te)).collect()
    };
    let curves: Vec<Vec<(usize, f64, f64)>> = runs.iter().map(|id| curve(id)).collect();
    let group_of = |k: usize| names.group_of.get(k).copied().unwrap_or(k);
    let fonts = Fonts::for_size(opts.width, opts.height);
    let max_step = curves
        .iter()
        .flatten()
        .map(|p| p.0)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let lo = curves
        .iter()
        .flatten()
        .map(|p| p.1.min(p.2))
        .fold(100.0f64, f64::min);
    let lo = ((lo - 2.0) / 5.0).floor().max(0.0) * 5.0;

    // Mean and sd per group and step, over the group's runs that reached the step.
    type Band = Vec<(f64, f64, f64, f64, f64)>; // step, train mean, train sd, test mean, test sd
    let mut bands: Vec<(usize, usize, Band)> = Vec::new(); // group, runs, band
    for g in 0..n_groups {
        let members: Vec<usize> = (0..runs.len()).filter(|&k| group_of(k) == g).collect();
        let mut at: BTreeMap<usize, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for &k in &members {
            for &(s, tr, te) in &curves[k] {
                let e = at.entry(s).or_default();
                e.0.push(tr);
                e.1.push(te);
            }
        }
        let band = at
            .into_iter()
            .map(|(s, (tr, te))| {
                let (a, b) = (crate::report::Stat::of(&tr), crate::report::Stat::of(&te));
                (
                    s as f64,
                    a.mean,
                    a.sd.unwrap_or(0.0),
                    b.mean,
                    b.sd.unwrap_or(0.0),
                )
            })
            .collect();
        bands.push((g, members.len(), band));
    }
    let several = bands.iter().any(|(_, n, _)| *n > 1);

    let mut entries: Vec<(Glyph, String)> = (0..n_groups)
        .map(|g| {
            let n = bands[g].1;
            let label = names
                .group_labels
                .get(g)
                .cloned()
                .unwrap_or_else(|| runs[g].clone());
            let label = match (label.is_empty(), n > 1) {
                (true, true) => format!("mean ± sd of {n} seeds"),
                (true, false) => "the run".to_string(),
                (false, true) => format!("{label} ({n} seeds)"),
                (false, false) => label,
            };
            let glyph = if n > 1 {
                Glyph::Band(colour(g))
            } else {
                Glyph::Line {
                    colour: colour(g),
                    dashed: false,
                    marker: None,
                }
            };
            (glyph, label)
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
    if several {
        entries.push((
            Glyph::Line {
                colour: RGBColor(175, 175, 175),
                dashed: false,
                marker: None,
            },
            "one seed (faint)".into(),
        ));
    }
    let legend_w = legend_width(&entries, &names.legend_title, fonts);
    let caption = opts.titled(if names.common.is_empty() {
        "Learning curves".to_string()
    } else {
        format!("Learning curves, {}", names.common)
    });

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
            // Bands first, then faint seeds, then the means on top.
            for (g, n, band) in &bands {
                if *n < 2 {
                    continue;
                }
                let c = colour(*g);
                for (mean, sd) in [(1usize, 2usize), (3, 4)] {
                    let pick = |p: &(f64, f64, f64, f64, f64), i: usize| match i {
                        1 => p.1,
                        2 => p.2,
                        3 => p.3,
                        _ => p.4,
                    };
                    let mut poly: Vec<(f64, f64)> = band
                        .iter()
                        .map(|p| (p.0, (pick(p, mean) + pick(p, sd)).min(100.0)))
                        .collect();
                    poly.extend(
                        band.iter()
                            .rev()
                            .map(|p| (p.0, (pick(p, mean) - pick(p, sd)).max(lo))),
                    );
                    chart
                        .draw_series([Polygon::new(poly, c.mix(0.18).filled())])
                        .map_err(err)?;
                }
            }
            for (k, pts) in curves.iter().enumerate() {
                let g = group_of(k);
                if bands[g].1 < 2 {
                    continue;
                }
                let faint = colour(g).mix(0.35).stroke_width(1);
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0 as f64, p.2)),
                        faint,
                    ))
                    .map_err(err)?;
                chart
                    .draw_series(DashedLineSeries::new(
                        pts.iter().map(|p| (p.0 as f64, p.1)),
                        6,
                        4,
                        faint,
                    ))
                    .map_err(err)?;
            }
            for (g, _, band) in &bands {
                let c = colour(*g).stroke_width(LINE);
                chart
                    .draw_series(LineSeries::new(band.iter().map(|p| (p.0, p.3)), c))
                    .map_err(err)?;
                chart
                    .draw_series(DashedLineSeries::new(
                        band.iter().map(|p| (p.0, p.1)),
                        10,
                        6,
                        c,
                    ))
                    .map_err(err)?;
            }
            draw_legend(&legend_area, &names.legend_title, &entries, fonts)
        })()
    })
}
