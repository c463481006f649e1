//! Learning curves: train, validation (when the sweep has validation data) and test accuracy
//! against the step, from the sweep's curves file.

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

/// Learning curves: test (solid), train (dashed) and, when the curves have it, validation (solid
/// with hollow circles) accuracy against the step, one colour per
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
    let curve = |id: &str| -> Vec<(usize, Accuracies)> {
        let mut m: BTreeMap<usize, Accuracies> = BTreeMap::new();
        for r in &by_run[id] {
            let pct = |a: f64| Some(100.0 * a);
            m.insert(
                r.step,
                [pct(r.train_acc), r.val_acc.and_then(pct), pct(r.test_acc)],
            );
        }
        m.into_iter().collect()
    };
    let curves: Vec<Vec<(usize, Accuracies)>> = runs.iter().map(|id| curve(id)).collect();
    // Validation is drawn when any chosen run has it (a sweep has it for all runs or none).
    let with_val = curves.iter().flatten().any(|(_, a)| a[VAL].is_some());
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
        .flat_map(|p| p.1.into_iter().flatten())
        .fold(100.0f64, f64::min);
    let lo = ((lo - 2.0) / 5.0).floor().max(0.0) * 5.0;

    // Mean and sd per group, step and series, over the group's runs that reached the step.
    let mut bands: Vec<(usize, usize, Vec<BandPoint>)> = Vec::new(); // group, runs, band
    for g in 0..n_groups {
        let members: Vec<usize> = (0..runs.len()).filter(|&k| group_of(k) == g).collect();
        let mut at: BTreeMap<usize, [Vec<f64>; 3]> = BTreeMap::new();
        for &k in &members {
            for (s, accs) in &curves[k] {
                let e = at.entry(*s).or_default();
                for (values, a) in e.iter_mut().zip(accs) {
                    values.extend(a);
                }
            }
        }
        let band = at
            .into_iter()
            .map(|(s, values)| {
                let stat = |v: &Vec<f64>| {
                    (!v.is_empty()).then(|| {
                        let st = crate::report::Stat::of(v);
                        (st.mean, st.sd.unwrap_or(0.0))
                    })
                };
                (
                    s as f64,
                    [stat(&values[0]), stat(&values[1]), stat(&values[2])],
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
    let grey = RGBColor(60, 60, 60);
    for series in SERIES {
        if series == VAL && !with_val {
            continue;
        }
        let (dashed, marker) = style(series);
        entries.push((
            Glyph::Line {
                colour: grey,
                dashed,
                marker,
            },
            NAMES[series].into(),
        ));
    }
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
                for series in SERIES {
                    let stats: Vec<(f64, (f64, f64))> = band
                        .iter()
                        .filter_map(|p| p.1[series].map(|st| (p.0, st)))
                        .collect();
                    if stats.is_empty() {
                        continue;
                    }
                    let mut poly: Vec<(f64, f64)> = stats
                        .iter()
                        .map(|(s, (mean, sd))| (*s, (mean + sd).min(100.0)))
                        .collect();
                    poly.extend(
                        stats
                            .iter()
                            .rev()
                            .map(|(s, (mean, sd))| (*s, (mean - sd).max(lo))),
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
                for series in SERIES {
                    let line: Vec<(f64, f64)> = pts
                        .iter()
                        .filter_map(|(s, a)| a[series].map(|v| (*s as f64, v)))
                        .collect();
                    draw(&mut chart, series, line, faint, (6, 4), 2)?;
                }
            }
            for (g, _, band) in &bands {
                let c = colour(*g).stroke_width(LINE);
                for series in SERIES {
                    let line: Vec<(f64, f64)> = band
                        .iter()
                        .filter_map(|p| p.1[series].map(|(mean, _)| (p.0, mean)))
                        .collect();
                    draw(&mut chart, series, line, c, (10, 6), 4)?;
                }
            }
            draw_legend(&legend_area, &names.legend_title, &entries, fonts)
        })()
    })
}

/// Train, validation and test accuracy (%) at a step; validation is None without it.
type Accuracies = [Option<f64>; 3];
/// A step and, per series, the mean and sd over a group's runs.
type BandPoint = (f64, [Option<(f64, f64)>; 3]);

const TRAIN: usize = 0;
const VAL: usize = 1;
const TEST: usize = 2;
const SERIES: [usize; 3] = [TRAIN, VAL, TEST];
const NAMES: [&str; 3] = ["train", "validation", "test"];

/// How a series is told apart whatever its colour: test solid, train dashed, validation solid
/// with hollow circles (dashed, marker).
fn style(series: usize) -> (bool, Option<bool>) {
    match series {
        TRAIN => (true, None),
        VAL => (false, Some(false)),
        _ => (false, None),
    }
}

/// Most markers on one validation line: enough to tell it, few enough to keep it a line.
const MARKERS: usize = 12;

/// Draws one series' line in its [`style`]: `dash` is the train line's (length, gap), `radius`
/// the validation markers'.
fn draw<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    series: usize,
    line: Vec<(f64, f64)>,
    style_: ShapeStyle,
    dash: (u32, u32),
    radius: u32,
) -> Result<(), String> {
    if line.is_empty() {
        return Ok(());
    }
    let (dashed, marker) = style(series);
    if dashed {
        chart
            .draw_series(DashedLineSeries::new(line, dash.0, dash.1, style_))
            .map_err(err)?;
        return Ok(());
    }
    if marker.is_some() {
        let every = line.len().div_ceil(MARKERS).max(1);
        chart
            .draw_series(
                line.iter()
                    .step_by(every)
                    .map(|&p| Circle::new(p, radius, style_)),
            )
            .map_err(err)?;
    }
    chart
        .draw_series(LineSeries::new(line, style_))
        .map_err(err)?;
    Ok(())
}
