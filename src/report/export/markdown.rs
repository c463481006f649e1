//! The Markdown exporter: for READMEs, notebooks and the terminal (accuracies in percent).

use std::fmt::Write as _;

use super::{capitalize, fixed_caption, pm_text, Exporter, Tables, NOTE};
use crate::report::{Metric, Summary};

/// The Markdown exporter.
pub struct Markdown;

impl Exporter for Markdown {
    fn extension(&self) -> &'static str {
        "md"
    }
    fn export(&self, summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String> {
        Ok(to_markdown(summary, metric, tables))
    }
}

/// Markdown: the long table and/or one pivot per combination of the other keys.
pub fn to_markdown(summary: &Summary, metric: Metric, tables: Tables) -> String {
    let mut out = String::new();
    let (runs, diverged) = summary.totals();
    let _ = writeln!(
        out,
        "Overfitting over {runs} runs ({diverged} diverged): {NOTE}\n"
    );
    if tables != Tables::Pivot {
        let mut header: Vec<String> = summary.keys.iter().map(|k| k.name().to_string()).collect();
        header.extend(["runs", "diverged"].map(String::from));
        header.extend(summary.metrics().iter().map(|m| m.heading().to_string()));
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---:|".repeat(header.len()));
        for g in &summary.groups {
            let mut row: Vec<String> = g.key.iter().map(|v| md_escape(&v.to_string())).collect();
            row.push(g.runs.to_string());
            row.push(g.diverged.to_string());
            for m in summary.metrics() {
                row.push(m.of(g).map_or("–".to_string(), pm_text));
            }
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
    if tables != Tables::Long {
        for p in summary.pivots(metric) {
            let fixed = fixed_caption(&p);
            let (rk, ck) = p.axes;
            let _ = write!(
                out,
                "{}: {} (rows) × {} (columns)",
                capitalize(metric.title()),
                rk.name(),
                ck.name()
            );
            if !fixed.is_empty() {
                let _ = write!(out, ", {fixed}");
            }
            out.push_str("\n\n");
            let _ = write!(out, "| {} \\ {} |", rk.name(), ck.name());
            for e in &p.cols {
                let _ = write!(out, " {} |", md_escape(&e.to_string()));
            }
            out.push('\n');
            let _ = writeln!(out, "|---:|{}", "---:|".repeat(p.cols.len()));
            for (h, row) in p.rows.iter().zip(&p.cells) {
                let _ = write!(out, "| {} |", md_escape(&h.to_string()));
                for c in row {
                    let _ = write!(out, " {} |", c.map_or("–".to_string(), pm_text));
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}
