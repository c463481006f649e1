//! Charts for class: accuracy vs hidden size, gap heatmap, learning curves, decision boundary.
//!
//! PNG or SVG by the output's extension. Text is drawn with DejaVu Sans compiled into the binary
//! (plotters' `ab_glyph` feature): a cluster node without fontconfig or any font package draws
//! the same labels as a laptop.
//!
//! Like `report`, the charts read only results files, curves files and model files. One file
//! per chart kind; what they share (font, palette, axes, legend) is in `canvas`.

use std::path::PathBuf;

#[macro_use]
mod canvas;
mod accuracy;
mod boundary;
mod curves;
mod gap;
mod text;

pub use accuracy::accuracy_chart;
pub use boundary::boundary_chart;
pub use curves::{curves_chart, curves_path_for, MAX_CURVES};
pub use gap::gap_heatmap;

use crate::report::{self, GroupKey, KeyValue};
use crate::results::RunRecord;

#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// `.png` or `.svg`.
    pub out: PathBuf,
    pub width: u32,
    pub height: u32,
    /// Which slice of the results the chart shows (e.g. "n_train = 500"), added to its title.
    pub slice: Option<String>,
    /// When set, an SVG chart is handed over here as text instead of written to `out` (the
    /// HTML page inlines its charts).
    pub svg_sink: Option<std::rc::Rc<std::cell::RefCell<String>>>,
}

impl PlotOptions {
    /// Options for a chart drawn as SVG text, returned by [`PlotOptions::take_svg`].
    pub fn in_memory(width: u32, height: u32, slice: Option<String>) -> PlotOptions {
        PlotOptions {
            out: PathBuf::from("chart.svg"),
            width,
            height,
            slice,
            svg_sink: Some(Default::default()),
        }
    }

    /// The SVG text of the chart last drawn with these options (empty if none).
    pub fn take_svg(&self) -> String {
        self.svg_sink
            .as_ref()
            .map(|s| std::mem::take(&mut *s.borrow_mut()))
            .unwrap_or_default()
    }
}

impl PlotOptions {
    /// `caption`, with the slice it shows when only part of the results is drawn.
    pub(crate) fn titled(&self, caption: String) -> String {
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

/// How the runs of a learning-curve chart are named and grouped: what they all share goes in
/// the title, what tells groups apart in the legend; runs differing only by seed form one group
/// (drawn as a mean ± sd band).
#[derive(Debug, Clone, PartialEq)]
pub struct RunNames {
    pub common: String,
    pub legend_title: String,
    /// The group of each run, in the order of the runs.
    pub group_of: Vec<usize>,
    /// One label per group ("hidden = 10, η = 0.005"); empty when there is one group.
    pub group_labels: Vec<String>,
}

/// Names and groups `runs` from their results rows. The title names every axis the runs share
/// that is in `filter` or varies in the sweep (so `--group hidden=50,eta=0.02,l2=0,n_train=40`
/// is titled with all four), hidden and eta always. Without rows, each run is its own group,
/// named by its id.
pub fn describe_runs(
    records: &[RunRecord],
    runs: &[String],
    filter: &[(GroupKey, String)],
) -> RunNames {
    let rows: Option<Vec<&RunRecord>> = runs
        .iter()
        .map(|id| records.iter().find(|r| &r.run_id == id))
        .collect();
    let Some(rows) = rows.filter(|r| !r.is_empty()) else {
        return RunNames {
            common: String::new(),
            legend_title: "run".into(),
            group_of: (0..runs.len()).collect(),
            group_labels: runs.to_vec(),
        };
    };
    let varying_in_sweep = GroupKey::varying(records);
    let mut common = Vec::new();
    let mut differ = Vec::new();
    for k in GroupKey::all() {
        if k.name() == "config_hash" {
            continue;
        }
        let values: Vec<KeyValue> = rows.iter().map(|r| k.value(r)).collect();
        if values.iter().all(|v| *v == values[0]) {
            if varying_in_sweep.contains(&k) || filter.iter().any(|(f, _)| *f == k) {
                common.push(report::axis_value(k, &values[0]));
            }
        } else {
            differ.push((k, values));
        }
    }
    let label = |i: usize| {
        differ
            .iter()
            .map(|(k, v)| report::axis_value(*k, &v[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut group_labels: Vec<String> = Vec::new();
    let mut group_of = Vec::new();
    for i in 0..rows.len() {
        let l = label(i);
        let g = match group_labels.iter().position(|x| *x == l) {
            Some(g) => g,
            None => {
                group_labels.push(l);
                group_labels.len() - 1
            }
        };
        group_of.push(g);
    }
    let seeds: std::collections::BTreeSet<u64> = rows.iter().map(|r| r.seed).collect();
    if seeds.len() == 1 {
        common.push(format!("seed {}", rows[0].seed));
    }
    RunNames {
        common: common.join(", "),
        legend_title: if group_labels.len() > 1 {
            "group".into()
        } else {
            "runs".into()
        },
        group_of,
        group_labels,
    }
}

/// Picks curves by group: the runs of the results whose axes match `filter`, e.g.
/// `hidden=10,eta=0.005`, ordered by seed.
pub fn runs_matching(records: &[RunRecord], filter: &str) -> Result<Vec<String>, PlotError> {
    let mut ids: Vec<(u64, String)> = select(records, filter, "--group")?
        .into_iter()
        .map(|r| (r.seed, r.run_id))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

/// The records whose axes match `filter` (`key=value` pairs, e.g. `n_train=500,l2=0`), as
/// [`report::filter`] reads it; `flag` names the option in messages.
pub fn select(
    records: &[RunRecord],
    filter: &str,
    flag: &str,
) -> Result<Vec<RunRecord>, PlotError> {
    report::filter(records, filter, flag).map_err(PlotError::Input)
}
