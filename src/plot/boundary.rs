//! The decision boundary of a saved 2-D model, with its training and test points on top.

use ndarray::Array2;
use plotters::prelude::*;

use super::canvas::*;
use super::{PlotError, PlotOptions};
use crate::model_file::SavedModel;
use crate::results::RunRecord;

/// Decision boundary of a saved 2-D model, like the lecture's `plot_decision_boundary`: the class
/// the network predicts over a grid, in light colours, the training points on top as filled
/// dots and the test points (model files of format 2) as rings, both in their true class's
/// colour, so a test point in the other class's region is a visible mistake. With the run's
/// results row, the title says what the run was and scored (hidden sizes, eta, seed, train and
/// test accuracy) instead of its id.
pub fn boundary_chart(
    model: &SavedModel,
    record: Option<&RunRecord>,
    opts: &PlotOptions,
) -> Result<(), PlotError> {
    let sizes = model.network.sizes();
    if sizes[0] != 2 {
        return Err(PlotError::Input(format!(
            "model {} takes {} inputs: a decision boundary can only be drawn for 2-D data (circles, moons)",
            model.run_id, sizes[0]
        )));
    }
    let Some(points) = &model.points else {
        return Err(PlotError::Input(format!(
            "model {} holds no training points to draw (it was not saved by nnsweep run from 2-D data)",
            model.run_id
        )));
    };
    let n_classes = *sizes.last().expect("at least two sizes");
    let fonts = Fonts::for_size(opts.width, opts.height);

    let test = model.test_points.as_ref();
    // Square data window around all the points, 10 % margin: circles stay round on a square
    // chart.
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let test_columns = test.into_iter().flat_map(|t| t.x.columns());
    for col in points.x.columns().into_iter().chain(test_columns) {
        x_lo = x_lo.min(col[0]);
        x_hi = x_hi.max(col[0]);
        y_lo = y_lo.min(col[1]);
        y_hi = y_hi.max(col[1]);
    }
    let half = ((x_hi - x_lo).max(y_hi - y_lo) / 2.0 * 1.1).max(1e-6);
    let (cx, cy) = ((x_lo + x_hi) / 2.0, (y_lo + y_hi) / 2.0);
    let (x_lo, x_hi, y_lo, y_hi) = (cx - half, cx + half, cy - half, cy + half);

    // The grid, one cell every few pixels; runs of one class along a row become one rectangle,
    // which keeps the SVG small.
    let g = (opts.width.max(opts.height) / 3).clamp(60, 400) as usize;
    let step = 2.0 * half / g as f64;
    let mut grid = Array2::zeros((2, g * g));
    for j in 0..g {
        for i in 0..g {
            grid[[0, j * g + i]] = x_lo + (i as f64 + 0.5) * step;
            grid[[1, j * g + i]] = y_lo + (j as f64 + 0.5) * step;
        }
    }
    let predicted = model.network.predict(grid.view());
    let accuracy = |p: &crate::model_file::Points| {
        let on_points = model.network.predict(p.x.view());
        let correct = on_points
            .iter()
            .zip(&p.labels)
            .filter(|(a, b)| a == b)
            .count();
        100.0 * correct as f64 / p.labels.len().max(1) as f64
    };
    let region = |c: usize| colour(c).mix(0.28);
    let dot = marker_radius(fonts);

    let mut entries: Vec<(Glyph, String)> = (0..n_classes)
        .map(|c| (Glyph::Dot(colour(c)), format!("class {c}, training")))
        .collect();
    if test.is_some() {
        entries
            .extend((0..n_classes).map(|c| (Glyph::Ring(colour(c)), format!("class {c}, test"))));
    }
    entries.extend((0..n_classes).map(|c| (Glyph::Patch(region(c)), format!("predicted {c}"))));
    // The accuracies go in the legend's title, so the chart's title stays short enough to be
    // read at full size from the back of a room. Without the results row they are the model's
    // on the points in the file: the same figures for a model saved by `nnsweep run`.
    let legend_title = match (record, test) {
        (Some(r), _) => format!(
            "train {:.1} %, test {:.1} %",
            100.0 * r.train_acc,
            100.0 * r.test_acc
        ),
        (None, Some(t)) => format!("train {:.1} %, test {:.1} %", accuracy(points), accuracy(t)),
        (None, None) => format!("training points, {:.1} % right", accuracy(points)),
    };
    let legend_w = legend_width(&entries, &legend_title, fonts);
    // A square data area keeps circles round. plotters stacks, from the outside in: the margin,
    // the caption (its height is size/1.24 plus 10 pixels of padding), the label areas.
    let caption = opts.titled(match record {
        // The remedies, when the run used them: two runs that differ only there would
        // otherwise have the same title.
        Some(r) => format!(
            "Hidden {}, η = {}{}{}, seed {}",
            r.hidden.replace('x', "×"),
            r.eta,
            if r.l2 != 0.0 {
                format!(", l2 = {}", r.l2)
            } else {
                String::new()
            },
            if r.dropout != 0.0 {
                format!(", dropout {}", r.dropout)
            } else {
                String::new()
            },
            r.seed
        ),
        None => format!("Hidden {}: run {}", hidden_sizes(&sizes), model.run_id),
    });
    let m = fonts.label;
    let y_lab = fonts.label * 3.6;
    let x_lab = fonts.label * 3.0;
    let side_w = opts.width as f64 - legend_w as f64 - y_lab - 2.0 * m;
    let title_size = fitting(&caption, fonts.title, side_w + y_lab);
    let cap_h = (title_size / 1.24).floor() + 10.0;
    let side = side_w
        .min(opts.height as f64 - x_lab - cap_h - 2.0 * m)
        .max(20.0);
    let plot_w = (side + y_lab + 2.0 * m).round() as u32;
    let plot_h = (side + x_lab + cap_h + 2.0 * m).round() as u32;
    render!(opts, |root| {
        (|| -> Result<(), String> {
            root.fill(&WHITE).map_err(err)?;
            let (left, legend_area) = root.split_horizontally(plot_w);
            let (plot_area, _) = left.split_vertically(plot_h);
            let mut chart = ChartBuilder::on(&plot_area)
                .caption(&caption, (FONT, title_size))
                .margin(m as i32)
                .x_label_area_size(x_lab as i32)
                .y_label_area_size(y_lab as i32)
                .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
                .map_err(err)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("x₁")
                .y_desc("x₂")
                .x_label_formatter(&|x| format!("{x:.1}"))
                .y_label_formatter(&|y| format!("{y:.1}"))
                .label_style((FONT, fonts.tick))
                .axis_desc_style((FONT, fonts.label))
                .draw()
                .map_err(err)?;
            for j in 0..g {
                let y0 = y_lo + j as f64 * step;
                let mut i = 0;
                while i < g {
                    let class = predicted[j * g + i];
                    let start = i;
                    while i < g && predicted[j * g + i] == class {
                        i += 1;
                    }
                    let x0 = x_lo + start as f64 * step;
                    let x1 = x_lo + i as f64 * step;
                    chart
                        .draw_series([Rectangle::new(
                            [(x0, y0), (x1, y0 + step)],
                            region(class as usize).filled(),
                        )])
                        .map_err(err)?;
                }
            }
            for (col, &label) in points.x.columns().into_iter().zip(&points.labels) {
                let p = (col[0], col[1]);
                chart
                    .draw_series([
                        Circle::new(p, dot, colour(label as usize).filled()),
                        Circle::new(p, dot, BLACK.mix(0.7).stroke_width(1)),
                    ])
                    .map_err(err)?;
            }
            // The test points on top, where none is hidden under a training dot.
            for (col, &label) in test
                .into_iter()
                .flat_map(|t| t.x.columns().into_iter().zip(&t.labels))
            {
                chart
                    .draw_series(ring((col[0], col[1]), dot, colour(label as usize)))
                    .map_err(err)?;
            }
            draw_legend(&legend_area, &legend_title, &entries, fonts)
        })()
    })
}

/// The hidden layer sizes of a network as a title says them: "10", "20×10", "none".
fn hidden_sizes(sizes: &[usize]) -> String {
    let hidden = &sizes[1..sizes.len() - 1];
    if hidden.is_empty() {
        "none".to_string()
    } else {
        hidden
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("×")
    }
}
