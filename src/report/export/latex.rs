//! The LaTeX exporter: booktabs tabulars for papers and Beamer slides.

use std::fmt::Write as _;

use super::{fixed_caption, pm_latex, Exporter, Tables, NOTE};
use crate::report::{GroupKey, KeyValue, Metric, Summary};

/// The LaTeX exporter.
pub struct Latex;

impl Exporter for Latex {
    fn extension(&self) -> &'static str {
        "tex"
    }
    fn export(&self, summary: &Summary, metric: Metric, tables: Tables) -> Result<String, String> {
        Ok(to_latex(summary, metric, tables))
    }
}

fn tex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            _ => out.push(c),
        }
    }
    out
}

/// An axis as a column heading: η for eta, λ for l2, else its escaped name.
fn tex_axis(k: GroupKey) -> String {
    match k.name() {
        "eta" => "$\\eta$".to_string(),
        "l2" => "$\\lambda$".to_string(),
        other => tex_escape(other),
    }
}

fn tex_key(v: &KeyValue) -> String {
    match v {
        // "30x30" reads as 30×30 on a slide.
        KeyValue::Hidden(h) if h.layers.is_some() => h.label.replace('x', "$\\times$"),
        other => tex_escape(&other.to_string()),
    }
}

/// LaTeX `tabular`s with booktabs rules (`\usepackage{booktabs}`), without a float around them so
/// they can be `\input` into a `table` or straight onto a Beamer frame.
pub fn to_latex(summary: &Summary, metric: Metric, tables: Tables) -> String {
    let mut out = String::new();
    let (runs, diverged) = summary.totals();
    let _ = writeln!(
        out,
        "% nnsweep report over {runs} runs ({diverged} diverged); needs \\usepackage{{booktabs}}."
    );
    let _ = writeln!(out, "% {}", NOTE.replace('±', "+-").replace('−', "-"));
    if tables != Tables::Pivot {
        let n_keys = summary.keys.len();
        let metrics = summary.metrics();
        let _ = writeln!(
            out,
            "\\begin{{tabular}}{{{}rr{}}}",
            "r".repeat(n_keys),
            "c".repeat(metrics.len())
        );
        out.push_str("\\toprule\n");
        let mut header: Vec<String> = summary.keys.iter().map(|&k| tex_axis(k)).collect();
        header.extend(["runs", "div."].map(String::from));
        header.extend(metrics.iter().map(|m| tex_escape(m.heading())));
        let _ = writeln!(out, "{} \\\\", header.join(" & "));
        out.push_str("\\midrule\n");
        for g in &summary.groups {
            let mut row: Vec<String> = g.key.iter().map(tex_key).collect();
            row.push(g.runs.to_string());
            row.push(g.diverged.to_string());
            for m in &metrics {
                row.push(m.of(g).map_or("--".to_string(), pm_latex));
            }
            let _ = writeln!(out, "{} \\\\", row.join(" & "));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
    }
    if tables != Tables::Long {
        for p in summary.pivots(metric) {
            let fixed = fixed_caption(&p);
            let _ = writeln!(
                out,
                "\n% {}: {} (rows) x {} (columns){}",
                metric.title().replace('−', "-"),
                p.axes.0.name(),
                p.axes.1.name(),
                if fixed.is_empty() {
                    String::new()
                } else {
                    format!(", {fixed}")
                }
            );
            let n = p.cols.len();
            let _ = writeln!(out, "\\begin{{tabular}}{{r{}}}", "c".repeat(n));
            out.push_str("\\toprule\n");
            let _ = writeln!(
                out,
                " & \\multicolumn{{{n}}}{{c}}{{{}}} \\\\",
                tex_axis(p.axes.1)
            );
            let _ = writeln!(out, "\\cmidrule(lr){{2-{}}}", n + 1);
            let cols: Vec<String> = p.cols.iter().map(tex_key).collect();
            let _ = writeln!(out, "{} & {} \\\\", tex_axis(p.axes.0), cols.join(" & "));
            out.push_str("\\midrule\n");
            for (h, row) in p.rows.iter().zip(&p.cells) {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| c.map_or("--".to_string(), pm_latex))
                    .collect();
                let _ = writeln!(out, "{} & {} \\\\", tex_key(h), cells.join(" & "));
            }
            out.push_str("\\bottomrule\n\\end{tabular}\n");
        }
    }
    out
}
