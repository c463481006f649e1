//! One exporter per output format, behind one trait; what they share (the note under every
//! table, how a mean ± sd is printed) lives here.

mod csv;
mod html;
mod latex;
mod markdown;
mod page;

use crate::report::{Metric, Pivot, Stat, Summary};

pub use self::csv::{rounded, to_csv, Csv};
pub use html::Html;
pub use latex::{to_latex, Latex};
pub use markdown::{to_markdown, Markdown};
pub use page::{sweep_page, Page};

/// One output format of a report. Every exporter gets the same aggregated [`Summary`], so the
/// formats can differ in how they show a number but never in which number they show.
pub trait Exporter {
    /// The usual file extension of this format (`md`, `csv`, `tex`, `html`).
    fn extension(&self) -> &'static str;
    /// The report as this format's text. An `Err` is a request the format cannot honour
    /// (two tables in one CSV file), said in words for the user.
    fn export(&self, summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String>;
}

/// Which tables an output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    Long,
    Pivot,
    Both,
}

/// The output formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Latex,
    Html,
}

impl Format {
    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Format::Markdown => Box::new(Markdown),
            Format::Csv => Box::new(Csv),
            Format::Latex => Box::new(Latex),
            Format::Html => Box::new(Html),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "latex" | "tex" => Ok(Format::Latex),
            "html" => Ok(Format::Html),
            _ => Err(format!("unknown format {s:?}: use md, csv, latex or html")),
        }
    }
}

pub(crate) const NOTE: &str = "mean ± sd over seeds, sd = sample standard deviation (n − 1), \
no ± for a single run. Train accuracy is the best reached during training; test accuracy is \
that same model's; gap = train − test in percentage points. Diverged runs are included with the \
figures they reached before their cost became NaN.";

pub(crate) fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

pub(crate) fn pm_text(s: Stat) -> String {
    match s.sd {
        Some(sd) => format!("{} ± {}", pct(s.mean), pct(sd)),
        None => pct(s.mean),
    }
}

pub(crate) fn pm_latex(s: Stat) -> String {
    match s.sd {
        Some(sd) => format!("${} \\pm {}$", pct(s.mean), pct(sd)),
        None => format!("${}$", pct(s.mean)),
    }
}

pub(crate) fn fixed_caption(p: &Pivot) -> String {
    p.fixed
        .iter()
        .map(|(k, v)| format!("{} = {v}", k.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Renders a summary in one format.
pub fn render(
    summary: &Summary,
    format: Format,
    metric: Metric,
    tables: Tables,
) -> Result<String, String> {
    format.exporter().export(summary, metric, tables)
}
