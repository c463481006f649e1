//! The HTML exporter: tables as HTML, and the self-contained document every page is (the
//! sweep's page itself is in `page.rs`).
//!
//! Inline CSS and inline SVG only: no script, no font, no image fetched from anywhere, so the
//! page opens the same from a cluster's scratch copied to a laptop, and prints well. Every
//! number in its tables carries the exact value of `report --format csv` in a `data-value`
//! attribute, so a test (or a reader's script) can check the page against the CSV.

use std::fmt::Write as _;

use super::csv::rounded;
use super::{capitalize, pm_text, Exporter, Tables, NOTE};
use crate::plot::{self, PlotOptions};
use crate::report::{axis_title, Metric, Stat, Summary};

/// The HTML exporter without a sweep behind it: the tables only.
pub struct Html;

impl Exporter for Html {
    fn extension(&self) -> &'static str {
        "html"
    }
    fn export(&self, summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String> {
        let mut body = String::new();
        tables_html(&mut body, summary, metric, tables);
        Ok(document("nnsweep report", &body))
    }
}

/// One inline chart, or a note saying why it is missing.
pub(super) fn chart(
    b: &mut String,
    class: &str,
    drawn: Result<(), plot::PlotError>,
    opts: &PlotOptions,
) {
    match drawn {
        Ok(()) => {
            let svg = opts.take_svg();
            let _ = writeln!(b, "<figure class=\"chart {class}\">{svg}</figure>");
        }
        Err(e) => {
            let _ = writeln!(
                b,
                "<p class=\"note\">({class} chart not drawn: {})</p>",
                esc(&e.to_string())
            );
        }
    }
}

/// The long table and the pivots as HTML tables, every number with its CSV value attached.
pub(super) fn tables_html(b: &mut String, summary: &Summary, metric: Metric, tables: Tables) {
    let metrics = summary.metrics();
    if tables != Tables::Pivot {
        b.push_str("<table class=\"long\">\n<thead><tr>");
        for k in &summary.keys {
            let _ = write!(b, "<th>{}</th>", esc(axis_title(*k)));
        }
        b.push_str("<th>runs</th><th>diverged</th>");
        for m in &metrics {
            let _ = write!(b, "<th>{}</th>", esc(m.heading()));
        }
        b.push_str("</tr></thead>\n<tbody>\n");
        for g in &summary.groups {
            b.push_str("<tr>");
            for v in &g.key {
                let _ = write!(b, "<td class=\"key\">{}</td>", esc(&v.to_string()));
            }
            let _ = write!(b, "<td>{}</td><td>{}</td>", g.runs, g.diverged);
            for m in &metrics {
                stat_cell(b, m.name(), m.of(g));
            }
            b.push_str("</tr>\n");
        }
        b.push_str("</tbody></table>\n");
    }
    if tables != Tables::Long {
        for p in summary.pivots(metric) {
            let (rk, ck) = p.axes;
            let mut caption = format!(
                "{}: {} (rows) × {} (columns)",
                capitalize(metric.title()),
                axis_title(rk),
                axis_title(ck)
            );
            for (k, v) in &p.fixed {
                let _ = write!(caption, ", {}", crate::report::axis_value(*k, v));
            }
            let _ = writeln!(
                b,
                "<table class=\"pivot\"><caption>{}</caption>\n<thead><tr><th>{} \\ {}</th>",
                esc(&caption),
                esc(axis_title(rk)),
                esc(axis_title(ck))
            );
            for c in &p.cols {
                let _ = write!(b, "<th>{}</th>", esc(&c.to_string()));
            }
            b.push_str("</tr></thead>\n<tbody>\n");
            for (r, row) in p.rows.iter().zip(&p.cells) {
                let _ = write!(b, "<tr><th>{}</th>", esc(&r.to_string()));
                for c in row {
                    stat_cell(b, metric.name(), *c);
                }
                b.push_str("</tr>\n");
            }
            b.push_str("</tbody></table>\n");
        }
    }
    let _ = writeln!(b, "<p class=\"note\">{}</p>", esc(&capitalize(NOTE)));
}

/// A "mean ± sd" cell in percent, with the CSV's mean and sd (fractions) as data attributes.
fn stat_cell(b: &mut String, metric: &str, s: Option<Stat>) {
    match s {
        Some(s) => {
            let _ = write!(
                b,
                "<td data-metric=\"{metric}\" data-mean=\"{}\" data-sd=\"{}\">{}</td>",
                rounded(s.mean),
                s.sd.map_or(String::new(), rounded),
                esc(&pm_text(s))
            );
        }
        None => b.push_str("<td class=\"none\">–</td>"),
    }
}

pub(super) fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:2px solid #ddd}
table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums;font-size:.94em}
th,td{padding:.3em .4em;border-bottom:1px solid #ddd;text-align:right}td{white-space:nowrap}
thead th{border-bottom:2px solid #888}caption{caption-side:top;text-align:left;font-weight:600;
padding:.3em 0}table.facts th{text-align:left;color:#555}table.facts td{text-align:left}
td.none{color:#aaa}.note{color:#555;font-size:.9em}pre{background:#f6f6f6;padding:.8em;
overflow-x:auto;font-size:.9em}figure.chart{margin:1em 0}figure.chart svg{max-width:100%;
height:auto;display:block}
@media print{body{max-width:none;margin:0;font-size:10pt}h2{break-after:avoid}
figure.chart,table{break-inside:avoid}details>summary{display:none}}
";

pub(super) fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}
