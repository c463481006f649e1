//! Charts for class: accuracy vs hidden size, gap heatmap, learning curves, decision boundary.
//!
//! PNG or SVG by the output's extension. Text is drawn with DejaVu Sans compiled into the binary
//! (plotters' `ab_glyph` feature): a cluster node without fontconfig or any font package draws
//! the same labels as a laptop.
//!
//! Like `report`, the charts read only results files, curves files and model files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Deserialize;

mod text;

use crate::model_file::SavedModel;
use crate::report::{self, GroupKey, HiddenSize, KeyValue, Metric, OrdF64};
use crate::results::RunRecord;

const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once; without it plotters' `ab_glyph` backend has no font at all.
fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_err() {
            // The bytes are a fixed file checked by the tests: this cannot happen at run time.
            panic!("the embedded DejaVu Sans font is not a valid font file");
        }
    });
}

/// Tableau 10: distinct, colour-blind friendly, readable on white and on a projector.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Where a chart goes and how big it is.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// `.png` or `.svg`.
    pub out: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Which slice of the results the chart shows (e.g. "n_train = 500"), added to its title.
    pub slice: Option<String>,
}

impl PlotOptions {
    /// `caption`, with the slice it shows when only part of the results is drawn.
    fn titled(&self, caption: String) -> String {
        match &self.slice {
            Some(slice) => format!("{caption}, {slice}"),
            None => caption,
        }
    }
}

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Something in the user's input: a file, a run id, an extension (exit code 2).
    #[error("{0}")]
    Input(String),
    /// The drawing itself failed (a disk error writing the file, mostly).
    #[error("cannot draw {path}: {message}")]
    Draw { path: PathBuf, message: String },
}

enum Backend {
    Png,
    Svg,
}

fn backend_for(opts: &PlotOptions) -> Result<Backend, PlotError> {
    let ext = opts
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if opts.width < 100 || opts.height < 100 || opts.width > 10_000 || opts.height > 10_000 {
        return Err(PlotError::Input(format!(
            "chart size {}x{} pixels: use a width and height between 100 and 10000",
            opts.width, opts.height
        )));
    }
    match ext.as_deref() {
        Some("png") => Ok(Backend::Png),
        Some("svg") => Ok(Backend::Svg),
        _ => Err(PlotError::Input(format!(
            "{}: the output must end in .png or .svg (that is how the format is chosen)",
            opts.out.display()
        ))),
    }
}

/// Runs `draw` on a PNG or SVG drawing area, as the extension says, and writes the file.
macro_rules! render {
    ($opts:expr, |$root:ident| $body:expr) => {{
        let opts: &PlotOptions = $opts;
        let kind = backend_for(opts)?;
        register_font();
        if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| PlotError::Draw {
                path: opts.out.clone(),
                message: e.to_string(),
            })?;
        }
        let size = (opts.width, opts.height);
        let result: Result<(), String> = match kind {
            Backend::Png => {
                let $root = text::GlyphText::new(BitMapBackend::new(&opts.out, size), DEJAVU_SANS)
                    .into_drawing_area();
                $body.and_then(|_| $root.present().map_err(|e| e.to_string()))
            }
            Backend::Svg => {
                let $root = SVGBackend::new(&opts.out, size).into_drawing_area();
                $body.and_then(|_| $root.present().map_err(|e| e.to_string()))
            }
        };
        result.map_err(|message| PlotError::Draw {
            path: opts.out.clone(),
            message,
        })
    }};
}

/// Text sizes that grow with the picture, so a 2000-pixel chart for a slide stays readable.
#[derive(Clone, Copy)]
struct Fonts {
    title: f64,
    label: f64,
    tick: f64,
}

impl Fonts {
    fn for_size(w: u32, h: u32) -> Fonts {
        let base = (w.min(h) as f64 / 38.0).clamp(11.0, 40.0);
        Fonts {
            title: base * 1.25,
            label: base,
            tick: base * 0.85,
        }
    }
}

/// A linear f64 axis whose ticks sit exactly at the given values (the swept sizes, the cell
/// centres), labelled by the chart's formatter. plotters' `with_key_points` on an f64 range
/// would do the same but loses the label-formatter support that `configure_mesh` needs.
#[derive(Clone)]
struct TickedAxis {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let t = (v - self.range.start) / (self.range.end - self.range.start);
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match hint.weight() {
            plotters::coord::ranged1d::KeyPointWeight::Bold => self.ticks.clone(),
            _ => Vec::new(),
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// What a legend entry shows before its text.
enum Glyph {
    /// A line (dashed or not) with a marker (filled or hollow), in a colour.
    Line {
        colour: RGBColor,
        dashed: bool,
        marker: Option<bool>,
    },
    /// A filled square: a region or class colour.
    Patch(RGBAColor),
    /// A filled circle with a dark edge: a data point.
    Dot(RGBColor),
}

/// Draws a legend as a column of entries in `area`. Drawn by hand, beside the plot rather than
/// on it, so it never hides data whatever the curves do.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    entries: &[(Glyph, String)],
    fonts: Fonts,
) -> Result<(), String> {
    let fs = fonts.tick;
    let line_h = (fs * 1.6) as i32;
    let x0 = 6;
    let mut y = (fonts.title * 2.2) as i32;
    let text = (FONT, fs).into_font().color(&BLACK);
    area.draw(&Text::new(
        title.to_string(),
        (x0, y),
        (FONT, fs * 1.05).into_font().color(&BLACK),
    ))
    .map_err(err)?;
    y += line_h;
    let gw = (fs * 2.4) as i32;
    for (glyph, label) in entries {
        let cy = y + line_h / 2 - 2;
        match glyph {
            Glyph::Line {
                colour,
                dashed,
                marker,
            } => {
                let style = colour.stroke_width(2);
                if *dashed {
                    let seg = gw / 5;
                    for k in [0, 2, 4] {
                        area.draw(&PathElement::new(
                            vec![(x0 + k * seg, cy), (x0 + (k + 1) * seg, cy)],
                            style,
                        ))
                        .map_err(err)?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(x0, cy), (x0 + gw, cy)], style))
                        .map_err(err)?;
                }
                if let Some(filled) = marker {
                    let m = if *filled {
                        colour.filled()
                    } else {
                        colour.stroke_width(2)
                    };
                    area.draw(&Circle::new((x0 + gw / 2, cy), 4, m))
                        .map_err(err)?;
                }
            }
            Glyph::Patch(c) => {
                area.draw(&Rectangle::new(
                    [(x0, cy - line_h / 3), (x0 + gw, cy + line_h / 3)],
                    c.filled(),
                ))
                .map_err(err)?;
                area.draw(&Rectangle::new(
                    [(x0, cy - line_h / 3), (x0 + gw, cy + line_h / 3)],
                    BLACK.mix(0.4).stroke_width(1),
                ))
                .map_err(err)?;
            }
            Glyph::Dot(c) => {
                area.draw(&Circle::new((x0 + gw / 2, cy), 5, c.filled()))
                    .map_err(err)?;
                area.draw(&Circle::new((x0 + gw / 2, cy), 5, BLACK.stroke_width(1)))
                    .map_err(err)?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x0 + gw + 8, cy - (fs * 0.5) as i32),
            text.clone(),
        ))
        .map_err(err)?;
        y += line_h;
    }
    Ok(())
}

fn legend_width(entries: &[(Glyph, String)], title: &str, fonts: Fonts) -> u32 {
    let widest = entries
        .iter()
        .map(|(_, l)| text_width(l, fonts.tick) + fonts.tick * 2.4 + 8.0)
        .chain(std::iter::once(text_width(title, fonts.tick * 1.05)))
        .fold(0.0f64, f64::max);
    (widest + fonts.tick * 2.0) as u32
}

/// Width in pixels of `text` in the embedded font, as plotters will lay it out.
fn text_width(text: &str, size: f64) -> f64 {
    use ab_glyph::{Font, FontRef, ScaleFont};
    let Ok(font) = FontRef::try_from_slice(DEJAVU_SANS) else {
        return text.chars().count() as f64 * size * 0.6;
    };
    let font = font.as_scaled(size as f32);
    let mut width = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            width += font.kern(p, id);
        }
        width += font.h_advance(id);
        prev = Some(id);
    }
    f64::from(width)
}

/// The largest size up to `size` at which `text` fits in `room` pixels, so that a long title or
/// run id shrinks rather than being cut at the picture's edge.
fn fitting(text: &str, size: f64, room: f64) -> f64 {
    let w = text_width(text, size);
    if w <= room {
        size
    } else {
        (size * room / w).max(8.0)
    }
}

/// Where each hidden size sits on the x axis. One-layer sizes go on a log scale (2 to 100 units
/// spread evenly, as the lecture's sweeps do); deeper networks have no single size, so then every
/// architecture gets its own evenly spaced slot.
struct HiddenAxis {
    labels: Vec<String>,
    positions: Vec<f64>,
    log: bool,
}

impl HiddenAxis {
    fn new(hidden: &[HiddenSize]) -> HiddenAxis {
        let singles: Option<Vec<u64>> = hidden
            .iter()
            .map(|h| h.single().filter(|&n| n > 0))
            .collect();
        let labels = hidden.iter().map(|h| h.label.clone()).collect();
        match singles {
            Some(sizes) if sizes.len() > 1 => HiddenAxis {
                labels,
                positions: sizes.iter().map(|&n| (n as f64).log10()).collect(),
                log: true,
            },
            _ => HiddenAxis {
                labels,
                positions: (0..hidden.len()).map(|i| i as f64).collect(),
                log: false,
            },
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        let lo = self.positions.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .positions
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = if self.log {
            ((hi - lo) * 0.06).max(0.1)
        } else {
            0.5
        };
        (lo - pad)..(hi + pad)
    }

    fn label_at(&self, x: f64) -> String {
        self.positions
            .iter()
            .position(|p| (p - x).abs() < 1e-9)
            .map(|i| self.labels[i].clone())
            .unwrap_or_default()
    }
}

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

/// Runs per group as a caption says it: "5", or "1–5" when groups differ (a sweep still
/// running, a diverged seed dropped by hand), so the caption never claims more seeds than a
/// point has.
fn seed_count(summary: &report::Summary) -> String {
    let min = summary.groups.iter().map(|g| g.runs).min().unwrap_or(0);
    let max = summary.groups.iter().map(|g| g.runs).max().unwrap_or(0);
    if min == max {
        max.to_string()
    } else {
        format!("{min}–{max}")
    }
}

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
    let summary = report::summarize(records, &[GroupKey::Hidden, GroupKey::Eta]);
    let pivots = summary.pivots(Metric::Gap);
    let Some(p) = pivots.first() else {
        return Err(PlotError::Input("no runs to plot".into()));
    };
    let fonts = Fonts::for_size(opts.width, opts.height);
    let (nr, nc) = (p.hidden.len(), p.etas.len());
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
            let room = opts.width as f64 - 2.0 * fonts.label;
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
                p.etas.get(c).map(|e| e.to_string()).unwrap_or_default()
            };
            let y_fmt = |y: &f64| {
                let yi = (*y - 0.5).round() as usize;
                if yi < nr {
                    p.hidden[nr - 1 - yi].label.clone()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("learning rate η")
                .y_desc(if p.hidden.iter().all(|h| h.single().is_some()) {
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

/// One row of `<name>.curves.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CurveRow {
    pub run_id: String,
    pub step: usize,
    pub train_acc: f64,
    pub test_acc: f64,
    pub cost: f64,
}

/// Reads a curves file, checking its header so that a results file passed by mistake is named.
pub fn read_curves(path: &Path) -> Result<Vec<CurveRow>, PlotError> {
    let bytes = std::fs::read(path).map_err(|e| {
        PlotError::Input(format!(
            "cannot read curves file {}: {e}. Curves are written by `nnsweep run` when [train] log_every is set",
            path.display()
        ))
    })?;
    // A last line without its newline is a row cut by a kill: skipped, as results rows are.
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &bytes[..0],
    };
    let mut rdr = csv::Reader::from_reader(whole);
    let headers = rdr
        .headers()
        .map_err(|e| PlotError::Input(format!("{}: {e}", path.display())))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != ["run_id", "step", "train_acc", "test_acc", "cost"] {
        return Err(PlotError::Input(format!(
            "{} is not a curves file: expected the columns run_id,step,train_acc,test_acc,cost",
            path.display()
        )));
    }
    rdr.deserialize()
        .map(|r| {
            r.map_err(|e: csv::Error| {
                PlotError::Input(format!(
                    "{}: line {}: {e}",
                    path.display(),
                    e.position().map_or(0, |p| p.line())
                ))
            })
        })
        .collect()
}

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

/// Decision boundary of a saved 2-D model, like the lecture's `plot_decision_boundary`: the class
/// the network predicts over a grid, in light colours, and the training points on top.
pub fn boundary_chart(model: &SavedModel, opts: &PlotOptions) -> Result<(), PlotError> {
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

    // Square data window around the points, 10 % margin: circles stay round on a square chart.
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for col in points.x.columns() {
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
    let on_points = model.network.predict(points.x.view());
    let correct = on_points
        .iter()
        .zip(&points.labels)
        .filter(|(a, b)| a == b)
        .count();
    let acc = 100.0 * correct as f64 / points.labels.len().max(1) as f64;
    let region = |c: usize| colour(c).mix(0.28);

    let mut entries: Vec<(Glyph, String)> = (0..n_classes)
        .map(|c| (Glyph::Dot(colour(c)), format!("class {c}")))
        .collect();
    entries.extend((0..n_classes).map(|c| (Glyph::Patch(region(c)), format!("predicted {c}"))));
    let legend_title = format!("training points, {acc:.1} % right");
    let legend_w = legend_width(&entries, &legend_title, fonts);
    // A square data area keeps circles round. plotters stacks, from the outside in: the margin,
    // the caption (its height is size/1.24 plus 10 pixels of padding), the label areas.
    let caption = format!("Decision boundary of run {}", model.run_id);
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
                        Circle::new(p, 4, colour(label as usize).filled()),
                        Circle::new(p, 4, BLACK.mix(0.7).stroke_width(1)),
                    ])
                    .map_err(err)?;
            }
            draw_legend(&legend_area, &legend_title, &entries, fonts)
        })()
    })
}

/// How the runs of a learning-curve chart are named: what they share goes in the title, what
/// tells them apart in the legend ("seed 3" rather than a 35-character run id).
#[derive(Debug, Clone, PartialEq)]
pub struct RunNames {
    pub common: String,
    pub legend_title: String,
    pub labels: Vec<String>,
}

/// Names `runs` from their results rows; run ids when a run has no row.
pub fn describe_runs(records: &[RunRecord], runs: &[String]) -> RunNames {
    let rows: Option<Vec<&RunRecord>> = runs
        .iter()
        .map(|id| records.iter().find(|r| &r.run_id == id))
        .collect();
    let Some(rows) = rows.filter(|r| !r.is_empty()) else {
        return RunNames {
            common: String::new(),
            legend_title: "run".into(),
            labels: runs.to_vec(),
        };
    };
    type Field = (&'static str, fn(&RunRecord) -> String);
    let fields: [Field; 6] = [
        ("hidden", |r| r.hidden.clone()),
        ("η", |r| r.eta.to_string()),
        ("l2", |r| r.l2.to_string()),
        ("steps", |r| r.steps.to_string()),
        ("n_train", |r| r.n_train.to_string()),
        ("seed", |r| r.seed.to_string()),
    ];
    let mut common = Vec::new();
    let mut varying = Vec::new();
    for (name, f) in fields {
        let first = f(rows[0]);
        if rows.iter().all(|r| f(r) == first) {
            // l2 = 0 and the usual step count say nothing worth a title.
            if name != "l2"
                && name != "steps"
                && name != "n_train"
                && (name != "seed" || rows.len() == 1)
            {
                common.push(format!("{name} = {first}"));
            }
        } else {
            varying.push((name, f));
        }
    }
    let labels = rows
        .iter()
        .map(|r| {
            varying
                .iter()
                .map(|(name, f)| format!("{name} = {}", f(r)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>();
    let labels = if labels.iter().any(String::is_empty) {
        runs.to_vec()
    } else {
        labels
    };
    RunNames {
        common: common.join(", "),
        legend_title: "run".into(),
        labels,
    }
}

/// Picks curves by group: the runs of the results whose hidden and eta (and any other key given)
/// match `filter`, e.g. `hidden=10,eta=0.005`.
pub fn runs_matching(records: &[RunRecord], filter: &str) -> Result<Vec<String>, PlotError> {
    let mut ids: Vec<(u64, String)> = select(records, filter, "--group")?
        .into_iter()
        .map(|r| (r.seed, r.run_id))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

/// The records whose keys match `filter` (`key=value` pairs, e.g. `n_train=500,l2=0`): how a
/// chart of one slice of a sweep with more axes than it can draw is asked for. `flag` names
/// the option in messages.
pub fn select(
    records: &[RunRecord],
    filter: &str,
    flag: &str,
) -> Result<Vec<RunRecord>, PlotError> {
    let mut conds: Vec<(GroupKey, String)> = Vec::new();
    for part in filter.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| {
            PlotError::Input(format!(
                "{flag} {filter:?}: write key=value pairs, e.g. hidden=10,eta=0.005"
            ))
        })?;
        let key: GroupKey = k.trim().parse().map_err(PlotError::Input)?;
        conds.push((key, v.trim().to_string()));
    }
    let matches = |r: &RunRecord| {
        conds.iter().all(|(k, v)| {
            let have = report::summarize(std::slice::from_ref(r), &[*k]).groups[0].key[0].clone();
            match (&have, v.parse::<f64>()) {
                (KeyValue::Float(x), Ok(want)) => OrdF64(x.0) == OrdF64(want),
                (KeyValue::Int(n), Ok(want)) => *n as f64 == want,
                _ => have.to_string() == *v,
            }
        })
    };
    let selected: Vec<RunRecord> = records.iter().filter(|r| matches(r)).cloned().collect();
    if selected.is_empty() {
        return Err(PlotError::Input(format!(
            "no run in the results matches {flag} {filter}"
        )));
    }
    Ok(selected)
}
