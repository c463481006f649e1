//! The sweep's page: the HTML tables plus what was run, the charts (inline SVG), the learning
//! curves, the decision boundaries and the diverged runs, each section only when it says
//! something (an axis that does not vary gets no chart).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::html::{chart, document, esc, human_seconds, tables_html};
use super::Tables;
use crate::layout::SweepFiles;
use crate::plot::{self, PlotOptions};
use crate::report::{self, axis_title, GroupKey, KeyValue, Metric, Summary};
use crate::results::RunRecord;

/// Most charts of one kind on a page: past that the page is a scroll, not a summary.
const MAX_CHARTS: usize = 8;

/// What the page shows besides the tables: the runs, and the sweep's folder for its learning
/// curves and saved models.
pub struct Page<'a> {
    /// Every run, each once (as [`report::load`] gives them).
    pub records: &'a [RunRecord],
    /// The results files read.
    pub sources: &'a [PathBuf],
    /// The sweep's files (curves, models), when the page is of one sweep.
    pub sweep: Option<SweepFiles>,
    /// The sweep file as written, when known.
    pub sweep_text: Option<String>,
}

impl Page<'_> {
    /// The whole page for `summary` (grouped and pivoted as the caller chose).
    pub fn render(&self, summary: &Summary, metric: Metric) -> String {
        let mut b = String::new();
        let name = self
            .sweep
            .as_ref()
            .and_then(|s| s.results().file_stem())
            .map_or_else(|| "sweep".to_string(), |s| s.to_string_lossy().into_owned());
        let _ = writeln!(b, "<h1>nnsweep: {}</h1>", esc(&name));
        self.what_was_run(&mut b, summary);
        let _ = writeln!(b, "<h2>Overfitting table</h2>");
        tables_html(&mut b, summary, metric, Tables::Both);
        self.charts(&mut b);
        self.diverged(&mut b);
        if let Some(text) = &self.sweep_text {
            let _ = writeln!(b, "<h2>The sweep file</h2>\n<pre>{}</pre>", esc(text));
        }
        document(&format!("nnsweep: {name}"), &b)
    }

    fn what_was_run(&self, b: &mut String, summary: &Summary) {
        let r = self.records;
        let distinct = |f: fn(&RunRecord) -> String| -> String {
            let set: BTreeSet<String> = r.iter().map(f).collect();
            set.into_iter().collect::<Vec<_>>().join(", ")
        };
        let core_seconds: f64 = r.iter().map(|x| x.seconds).sum();
        let (runs, diverged) = summary.totals();
        let _ = writeln!(b, "<h2>What was run</h2>\n<table class=\"facts\">");
        let mut fact = |k: &str, v: String| {
            let _ = writeln!(b, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
        };
        fact("data", distinct(|x| x.dataset.clone()));
        fact("training samples", distinct(|x| x.n_train.to_string()));
        if r.iter().any(|x| x.n_val.is_some_and(|n| n > 0)) {
            fact(
                "validation samples",
                distinct(|x| x.n_val.map_or_else(|| "none".into(), |n| n.to_string())),
            );
        }
        fact("test samples", distinct(|x| x.n_test.to_string()));
        fact("runs", format!("{runs} ({diverged} diverged)"));
        fact("config hash", distinct(|x| x.config_hash.clone()));
        fact("total core time", human_seconds(core_seconds));
        fact(
            "results",
            self.sources
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        fact("made by", format!("nnsweep {}", env!("CARGO_PKG_VERSION")));
        b.push_str("</table>\n");
    }

    fn charts(&self, b: &mut String) {
        let varying = GroupKey::varying(self.records);
        let varies = |k: GroupKey| {
            let first = self.records.first().map(|r| k.value(r));
            self.records.iter().any(|r| Some(k.value(r)) != first)
        };
        // The chart's x axis: hidden when it varies, else the first numeric axis that does.
        let x = if varies(GroupKey::HIDDEN) {
            Some(GroupKey::HIDDEN)
        } else {
            varying.iter().copied().find(|&k| {
                k != GroupKey::ETA
                    && varies(k)
                    && self.records.iter().all(|r| k.value(r).number().is_some())
            })
        };
        // One chart per combination of the other varying axes, so no chart pools recipes.
        let drawn = [x.unwrap_or(GroupKey::HIDDEN), GroupKey::ETA];
        let others: Vec<GroupKey> = varying
            .iter()
            .copied()
            .filter(|k| !drawn.contains(k) && varies(*k) && k.name() != "config_hash")
            .collect();
        let slices = slices(self.records, &others);
        if let Some(x) = x {
            let _ = writeln!(
                b,
                "<h2>Accuracy against {}</h2>",
                esc(match x.name() {
                    "hidden" => "hidden size",
                    "n_train" => "training-set size",
                    _ => axis_title(x),
                })
            );
            for (label, recs) in slices.iter().take(MAX_CHARTS) {
                let opts = PlotOptions::in_memory(900, 560, label.clone());
                chart(b, "accuracy", plot::accuracy_chart(recs, x, &opts), &opts);
            }
        }
        if varies(GroupKey::HIDDEN) || varies(GroupKey::ETA) {
            let _ = writeln!(b, "<h2>Overfitting gap</h2>");
            for (label, recs) in slices.iter().take(MAX_CHARTS) {
                let opts = PlotOptions::in_memory(900, 560, label.clone());
                chart(b, "gap", plot::gap_heatmap(recs, &opts), &opts);
            }
        }
        if slices.len() > MAX_CHARTS {
            let _ = writeln!(
                b,
                "<p class=\"note\">{} more slices not drawn: see <code>nnsweep plot --where</code>.</p>",
                slices.len() - MAX_CHARTS
            );
        }
        self.curves(b);
        self.boundaries(b);
    }

    /// Learning curves, one chart per hidden size (one band per group of seeds in it: mean ±
    /// sd, seeds faint), validation among them when the curves have it.
    fn curves(&self, b: &mut String) {
        let Some(sweep) = &self.sweep else { return };
        let Ok(rows) = crate::results::read_curves(&sweep.curves()) else {
            return;
        };
        let with_curve: BTreeSet<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
        let per_hidden = slices(self.records, &[GroupKey::HIDDEN]);
        let _ = writeln!(b, "<h2>Learning curves</h2>");
        // Validation is its own line when the sweep has validation data: say how to tell it.
        let lines = if rows.iter().any(|r| r.val_acc.is_some()) {
            "test solid, train dashed, validation solid with hollow circles"
        } else {
            "test solid, train dashed"
        };
        let _ = writeln!(
            b,
            "<p class=\"note\">Accuracy against the step: {lines}.</p>"
        );
        for (_, recs) in per_hidden.iter().take(MAX_CHARTS) {
            let ids: Vec<String> = seed_groups(recs)
                .into_iter()
                .take(plot::MAX_CURVES)
                .flatten()
                .filter(|id| with_curve.contains(id.as_str()))
                .collect();
            if ids.is_empty() {
                continue;
            }
            let names = plot::describe_runs(self.records, &ids, &[]);
            let opts = PlotOptions::in_memory(900, 520, None);
            chart(
                b,
                "curves",
                plot::curves_chart(&rows, &ids, &names, &opts),
                &opts,
            );
        }
        if per_hidden.len() > MAX_CHARTS {
            let _ = writeln!(
                b,
                "<p class=\"note\">{} more hidden sizes: <code>nnsweep plot --kind curves --group …</code>.</p>",
                per_hidden.len() - MAX_CHARTS
            );
        }
    }

    /// Decision boundaries of saved 2-D models: per hidden size, the first seed of the eta
    /// with the best mean test accuracy (said in the section's note).
    fn boundaries(&self, b: &mut String) {
        let Some(sweep) = &self.sweep else { return };
        let mut shown = 0;
        for (_, recs) in slices(self.records, &[GroupKey::HIDDEN]) {
            let summary = report::summarize(&recs, &GroupKey::all());
            let best = summary
                .groups
                .iter()
                .zip(seed_groups(&recs))
                .max_by(|a, b| a.0.test_acc.mean.total_cmp(&b.0.test_acc.mean));
            let Some((_, ids)) = best else { continue };
            let Some(id) = ids.iter().find(|id| sweep.model(id).exists()) else {
                continue;
            };
            let Ok(model) = crate::model_file::load(&sweep.model(id)) else {
                continue;
            };
            if model.points.is_none() {
                continue;
            }
            if shown == 0 {
                let _ = writeln!(
                    b,
                    "<h2>Decision boundaries</h2>\n<p class=\"note\">For each hidden size, \
                     the first seed of the learning rate with the best mean test accuracy; \
                     training points as dots, test points as rings.</p>"
                );
            }
            if shown == MAX_CHARTS {
                break;
            }
            let record = self.records.iter().find(|r| &r.run_id == id);
            let opts = PlotOptions::in_memory(760, 560, None);
            chart(
                b,
                "boundary",
                plot::boundary_chart(&model, record, &opts),
                &opts,
            );
            shown += 1;
        }
    }

    fn diverged(&self, b: &mut String) {
        let diverged: Vec<&RunRecord> = self.records.iter().filter(|r| r.diverged).collect();
        let _ = writeln!(b, "<h2>Diverged runs</h2>");
        if diverged.is_empty() {
            let _ = writeln!(b, "<p>None: every run's cost stayed finite.</p>");
            return;
        }
        let _ = writeln!(
            b,
            "<p>Their cost became NaN or infinite; the tables count them with the figures they \
             reached before.</p>\n<ul class=\"diverged\">"
        );
        for r in diverged {
            let _ = writeln!(
                b,
                "<li><code>{}</code>: best train {:.1} %, test {:.1} % (step {})</li>",
                esc(&r.run_id),
                100.0 * r.train_acc,
                100.0 * r.test_acc,
                r.best_step
            );
        }
        b.push_str("</ul>\n");
    }
}

/// The runs grouped by every axis but the seed, in the order of the summary's groups.
fn seed_groups(records: &[RunRecord]) -> Vec<Vec<String>> {
    let keys = GroupKey::all();
    let mut groups: std::collections::BTreeMap<Vec<KeyValue>, Vec<(u64, String)>> =
        Default::default();
    for r in records {
        let key = keys.iter().map(|k| k.value(r)).collect();
        groups
            .entry(key)
            .or_default()
            .push((r.seed, r.run_id.clone()));
    }
    groups
        .into_values()
        .map(|mut v| {
            v.sort();
            v.into_iter().map(|(_, id)| id).collect()
        })
        .collect()
}

/// The records split by the values of `axes`, each with its title ("l2 = 0.001"); one slice
/// with no title when `axes` is empty.
fn slices(records: &[RunRecord], axes: &[GroupKey]) -> Vec<(Option<String>, Vec<RunRecord>)> {
    let mut by: std::collections::BTreeMap<Vec<KeyValue>, Vec<RunRecord>> = Default::default();
    for r in records {
        by.entry(axes.iter().map(|k| k.value(r)).collect())
            .or_default()
            .push(r.clone());
    }
    by.into_iter()
        .map(|(values, recs)| {
            let label = (!axes.is_empty()).then(|| {
                axes.iter()
                    .zip(&values)
                    .map(|(k, v)| report::axis_value(*k, v))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            (label, recs)
        })
        .collect()
}

/// The page of the sweep whose results file is `results` (grouped automatically, pivot on the
/// gap): what `nnsweep run` and `nnsweep merge` leave beside the other summaries.
pub fn sweep_page(
    records: &[RunRecord],
    results: &std::path::Path,
    sweep_text: Option<String>,
) -> String {
    let summary = report::summarize(records, &[]);
    let sources = [results.to_path_buf()];
    Page {
        records,
        sources: &sources,
        sweep: Some(SweepFiles::of_results(results)),
        sweep_text,
    }
    .render(&summary, Metric::Gap)
}
