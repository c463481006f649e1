//! What every chart shares: the embedded font, the palette, the PNG/SVG backends, text sizes
//! that grow with the picture, ticked axes and the hand-drawn legend. One place, so a chart
//! kind's file holds only what that chart draws.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{PlotError, PlotOptions};
use crate::report::{self, KeyValue};

pub(super) const FONT: &str = "sans-serif";
pub(super) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font once; without it plotters' `ab_glyph` backend has no font at all.
pub(super) fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_err() {
            // The bytes are a fixed file checked by the tests: this cannot happen at run time.
            panic!("the embedded DejaVu Sans font is not a valid font file");
        }
    });
}

/// Tableau 10: distinct, colour-blind friendly, readable on white and on a projector.
pub(super) const PALETTE: [RGBColor; 10] = [
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

/// Stroke width of data lines and error bars, in pixels: thick enough for a projector.
pub(super) const LINE: u32 = 3;

/// Radius of a data point's marker, in pixels: grows with the text, so points stay visible on a
/// large chart for a slide without crowding a small one.
pub(super) fn marker_radius(fonts: Fonts) -> i32 {
    (fonts.tick / 3.0).round().max(4.0) as i32
}

/// A test point's marker: a hollow ring in its class's colour, as large as a training dot and
/// stroked as thick as a data line, so that it reads as "not filled" from the back of a room;
/// over a thin white halo, which keeps it apart from the training dots it falls on.
pub(super) fn ring<C: Copy>(centre: C, radius: i32, colour: RGBColor) -> [Circle<C, i32>; 2] {
    [
        Circle::new(centre, radius, WHITE.stroke_width(LINE + 2)),
        Circle::new(centre, radius, colour.stroke_width(LINE)),
    ]
}

pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(super) enum Backend {
    Png,
    Svg,
}

pub(super) fn backend_for(opts: &PlotOptions) -> Result<Backend, PlotError> {
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
        let kind = $crate::plot::canvas::backend_for(opts)?;
        $crate::plot::canvas::register_font();
        if opts.svg_sink.is_none() {
            if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| PlotError::Draw {
                    path: opts.out.clone(),
                    message: e.to_string(),
                })?;
            }
        }
        let size = (opts.width, opts.height);
        let result: Result<(), String> = match kind {
            $crate::plot::canvas::Backend::Png => {
                let $root = $crate::plot::text::GlyphText::new(
                    BitMapBackend::new(&opts.out, size),
                    $crate::plot::canvas::DEJAVU_SANS,
                )
                .into_drawing_area();
                $body.and_then(|_| $root.present().map_err(|e| e.to_string()))
            }
            $crate::plot::canvas::Backend::Svg => {
                // Drawn into a string, then written to the file or handed to the page.
                let mut svg = String::new();
                let drawn = {
                    let $root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                    $body.and_then(|_| $root.present().map_err(|e| e.to_string()))
                };
                drawn.and_then(|_| match &opts.svg_sink {
                    Some(sink) => {
                        *sink.borrow_mut() = svg;
                        Ok(())
                    }
                    None => std::fs::write(&opts.out, svg).map_err(|e| e.to_string()),
                })
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
pub(super) struct Fonts {
    pub(super) title: f64,
    pub(super) label: f64,
    pub(super) tick: f64,
}

impl Fonts {
    pub(super) fn for_size(w: u32, h: u32) -> Fonts {
        // Sized for the back row of a lecture hall: ticks as large as axis labels used to be.
        let base = (w.min(h) as f64 / 36.0).clamp(13.0, 44.0);
        Fonts {
            title: base * 1.3,
            label: base * 1.1,
            tick: base,
        }
    }
}

/// A linear f64 axis whose ticks sit exactly at the given values (the swept sizes, the cell
/// centres), labelled by the chart's formatter. plotters' `with_key_points` on an f64 range
/// would do the same but loses the label-formatter support that `configure_mesh` needs.
#[derive(Clone)]
pub(super) struct TickedAxis {
    pub(super) range: std::ops::Range<f64>,
    pub(super) ticks: Vec<f64>,
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

pub(super) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// What a legend entry shows before its text.
pub(super) enum Glyph {
    /// A line (dashed or not) with a marker (filled or hollow), in a colour.
    Line {
        colour: RGBColor,
        dashed: bool,
        marker: Option<bool>,
    },
    /// A filled square: a region or class colour.
    Patch(RGBAColor),
    /// A filled circle with a dark edge: a training point.
    Dot(RGBColor),
    /// A hollow ring: a test point.
    Ring(RGBColor),
    /// A band: a line over a light fill (mean ± sd).
    Band(RGBColor),
}

/// Draws a legend as a column of entries in `area`. Drawn by hand, beside the plot rather than
/// on it, so it never hides data whatever the curves do.
pub(super) fn draw_legend<DB: DrawingBackend>(
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
                let style = colour.stroke_width(LINE);
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
                        colour.stroke_width(LINE)
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
            Glyph::Band(c) => {
                area.draw(&Rectangle::new(
                    [(x0, cy - line_h / 4), (x0 + gw, cy + line_h / 4)],
                    c.mix(0.25).filled(),
                ))
                .map_err(err)?;
                area.draw(&PathElement::new(
                    vec![(x0, cy), (x0 + gw, cy)],
                    c.stroke_width(LINE),
                ))
                .map_err(err)?;
            }
            Glyph::Dot(c) => {
                let r = marker_radius(fonts);
                area.draw(&Circle::new((x0 + gw / 2, cy), r, c.filled()))
                    .map_err(err)?;
                area.draw(&Circle::new((x0 + gw / 2, cy), r, BLACK.stroke_width(1)))
                    .map_err(err)?;
            }
            Glyph::Ring(c) => {
                for circle in ring((x0 + gw / 2, cy), marker_radius(fonts), *c) {
                    area.draw(&circle).map_err(err)?;
                }
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

pub(super) fn legend_width(entries: &[(Glyph, String)], title: &str, fonts: Fonts) -> u32 {
    let widest = entries
        .iter()
        .map(|(_, l)| text_width(l, fonts.tick) + fonts.tick * 2.4 + 8.0)
        .chain(std::iter::once(text_width(title, fonts.tick * 1.05)))
        .fold(0.0f64, f64::max);
    (widest + fonts.tick * 2.0) as u32
}

/// Width in pixels of `text` in the embedded font, as plotters will lay it out.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
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
pub(super) fn fitting(text: &str, size: f64, room: f64) -> f64 {
    let w = text_width(text, size);
    if w <= room {
        size
    } else {
        (size * room / w).max(8.0)
    }
}

/// Where each value of an axis sits on a chart's x axis. Numbers (one-layer hidden sizes, l2,
/// n_train, dropout) go on a log scale when they are all positive and span more than 10× (2
/// to 100 units spread evenly, as the lecture's sweeps do), else on a linear one; values that
/// are not numbers (deeper networks, text) get evenly spaced slots.
pub(super) struct ValueAxis {
    pub(super) labels: Vec<String>,
    pub(super) positions: Vec<f64>,
    pub(super) log: bool,
}

impl ValueAxis {
    pub(super) fn new(values: &[KeyValue]) -> ValueAxis {
        let numbers: Option<Vec<f64>> = values.iter().map(KeyValue::number).collect();
        let labels = values.iter().map(|v| v.to_string()).collect();
        match numbers {
            Some(xs) if xs.len() > 1 => {
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log = lo > 0.0 && hi / lo > 10.0;
                ValueAxis {
                    labels,
                    positions: xs
                        .iter()
                        .map(|&x| if log { x.log10() } else { x })
                        .collect(),
                    log,
                }
            }
            _ => ValueAxis {
                labels,
                positions: (0..values.len()).map(|i| i as f64).collect(),
                log: false,
            },
        }
    }

    pub(super) fn range(&self) -> std::ops::Range<f64> {
        let lo = self.positions.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = self
            .positions
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let pad = ((hi - lo) * 0.06).max(if self.log { 0.1 } else { 0.5 });
        (lo - pad)..(hi + pad)
    }

    pub(super) fn label_at(&self, x: f64) -> String {
        self.positions
            .iter()
            .position(|p| (p - x).abs() < 1e-9)
            .map(|i| self.labels[i].clone())
            .unwrap_or_default()
    }
}

/// Runs per group as a caption says it: "5", or "1–5" when groups differ (a sweep still
/// running, a diverged seed dropped by hand), so the caption never claims more seeds than a
/// point has.
pub(super) fn seed_count(summary: &report::Summary) -> String {
    let min = summary.groups.iter().map(|g| g.runs).min().unwrap_or(0);
    let max = summary.groups.iter().map(|g| g.runs).max().unwrap_or(0);
    if min == max {
        max.to_string()
    } else {
        format!("{min}–{max}")
    }
}
