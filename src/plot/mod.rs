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

use crate::report::{self, GroupKey, KeyValue, OrdF64};
use crate::results::RunRecord;

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
