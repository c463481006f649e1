//! Overfitting tables: results rows grouped by the swept axes, mean ± sd over seeds.
//!
//! Reads only [`RunRecord`]s, so it works the same on one file, on the shards of a SLURM array
//! and on a sweep resumed over several days. Accuracies stay fractions in the CSV output (for
//! pandas and spreadsheets) and are shown in percent in Markdown and LaTeX (for people).

mod aggregate;
mod axes;
pub mod export;
mod shards;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::results::{read_records, ReadError, RunRecord, COLUMNS};

pub use aggregate::{summarize, Group, Metric, Pivot, Stat, Summary};
pub use axes::{
    axis_title, axis_value, describe_filter, filter, parse_filter, GroupKey, HiddenSize, KeyValue,
    OrdF64,
};
pub use export::{
    render, rounded, sweep_page, to_csv, to_latex, to_markdown, Exporter, Format, Page, Tables,
};
pub use shards::{merge_shards, Merged};

/// Why results files could not be turned into a report (or merged). Its exit code is decided
/// in `crate::exit`: a failed write is 1 unless the path itself is at fault, the rest is 2.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The merged results file could not be opened (not ours, or not writable).
    #[error(transparent)]
    Open(#[from] crate::results::OpenError),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path} is not a results file of `nnsweep run`: {why}")]
    NotResults { path: PathBuf, why: String },
    #[error("no finished run in {files}: nothing to report")]
    Empty { files: String },
    #[error(
        "the files come from different configs (config_hash differs):\n{listing}\n\
         Their runs were trained with different data or recipes. Report them separately, \
         or pass --force to pool them anyway."
    )]
    MixedConfigs { listing: String },
    #[error("will not write {path}: {why}")]
    Target { path: PathBuf, why: String },
}

/// Records from one or several results files, each run once, with what was noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub records: Vec<RunRecord>,
    /// Things the reader should know but that do not stop the report (disagreeing duplicates).
    pub warnings: Vec<String>,
}

/// Reads results files (the shards of one sweep, or one sweep resumed) and merges them.
///
/// Refuses files from different configs unless `force`; the same run_id in two rows counts once
/// (the first), with a warning when the rows differ in more than the machine-dependent
/// `seconds`, since a deterministic run should give the same numbers twice.
pub fn load(paths: &[PathBuf], force: bool) -> Result<Loaded, ReportError> {
    let mut sets = Vec::new();
    for path in paths {
        check_header(path)?;
        sets.push((path.clone(), read_records(path)?));
    }
    merge(sets, force)
}

fn check_header(path: &Path) -> Result<(), ReportError> {
    let text = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // A BOM is skipped here as by every reader (results::BOM).
    let text = text.strip_prefix(crate::results::BOM).unwrap_or(&text);
    let first = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let first = String::from_utf8_lossy(first);
    let have: Vec<&str> = first
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !have.contains(c))
        .collect();
    let why = if missing.is_empty() {
        return Ok(());
    } else if have == ["run_id", "step", "train_acc", "test_acc", "cost"] {
        "it is a learning-curves file (plot it with `nnsweep plot RESULTS.csv --kind curves`)"
            .to_string()
    } else if missing.len() <= 3 {
        format!("its header lacks the column(s) {}", missing.join(", "))
    } else {
        format!(
            "its first line lacks {} of the {} columns (run_id, dataset, n_train, ...)",
            missing.len(),
            COLUMNS.len()
        )
    };
    Err(ReportError::NotResults {
        path: path.to_path_buf(),
        why,
    })
}

/// Merges already-read record sets; see [`load`].
pub fn merge(sets: Vec<(PathBuf, Vec<RunRecord>)>, force: bool) -> Result<Loaded, ReportError> {
    let files = sets
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    // config_hash -> (files holding it, runs)
    let mut hashes: BTreeMap<&str, (Vec<String>, usize)> = BTreeMap::new();
    for (path, records) in &sets {
        for r in records {
            let e = hashes.entry(r.config_hash.as_str()).or_default();
            let name = path.display().to_string();
            if !e.0.contains(&name) {
                e.0.push(name);
            }
            e.1 += 1;
        }
    }
    if hashes.len() > 1 && !force {
        let listing = hashes
            .iter()
            .map(|(h, (files, n))| format!("  config_hash {h}: {n} rows in {}", files.join(", ")))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(ReportError::MixedConfigs { listing });
    }
    let mut warnings = Vec::new();
    let mut first_seen: std::collections::HashMap<(String, String), (usize, String)> =
        std::collections::HashMap::new();
    let mut records: Vec<RunRecord> = Vec::new();
    for (path, set) in sets {
        for r in set {
            let id = (r.run_id.clone(), r.config_hash.clone());
            match first_seen.get(&id) {
                None => {
                    first_seen.insert(id, (records.len(), path.display().to_string()));
                    records.push(r);
                }
                Some((i, first_path)) => {
                    let diffs = differing_fields(&records[*i], &r);
                    if !diffs.is_empty() {
                        warnings.push(format!(
                            "run {} appears in {first_path} and in {} with different {}; \
                             the first row is kept",
                            r.run_id,
                            path.display(),
                            diffs.join(", ")
                        ));
                    }
                }
            }
        }
    }
    if records.is_empty() {
        return Err(ReportError::Empty { files });
    }
    Ok(Loaded { records, warnings })
}

/// The columns in which two rows of the same run disagree, ignoring `seconds` (wall-clock time
/// is the one column allowed to change from one machine to another).
fn differing_fields(a: &RunRecord, b: &RunRecord) -> Vec<&'static str> {
    fn same(x: f64, y: f64) -> bool {
        x == y || (x.is_nan() && y.is_nan())
    }
    let mut d = Vec::new();
    macro_rules! cmp_eq {
        ($($f:ident),*) => { $( if a.$f != b.$f { d.push(stringify!($f)); } )* };
    }
    macro_rules! cmp_f {
        ($($f:ident),*) => { $( if !same(a.$f, b.$f) { d.push(stringify!($f)); } )* };
    }
    cmp_eq!(dataset, n_train, n_test, hidden, n_params, seed, steps, best_step, diverged);
    cmp_f!(
        eta,
        l2,
        train_acc,
        test_acc,
        gap,
        final_train_acc,
        final_test_acc,
        final_cost
    );
    d
}

/// Writes `summary.md`, `summary.csv` (long table), `summary.tex` and the page `summary.html`
/// into the sweep's folder (see [`crate::layout`]), grouped automatically, pivot on the gap:
/// what `nnsweep run` and `nnsweep merge` leave at the end of a sweep.
pub fn write_summaries(results_csv: &Path) -> Result<Vec<PathBuf>, ReportError> {
    write_summaries_with(results_csv, None)
}

/// [`write_summaries`], with the sweep file's text shown on the page when known.
pub fn write_summaries_with(
    results_csv: &Path,
    sweep_text: Option<String>,
) -> Result<Vec<PathBuf>, ReportError> {
    let loaded = load(&[results_csv.to_path_buf()], false)?;
    let summary = summarize(&loaded.records, &[]);
    let files = crate::layout::SweepFiles::of_results(results_csv);
    std::fs::create_dir_all(files.dir()).map_err(|error| ReportError::Write {
        path: files.dir().to_path_buf(),
        error,
    })?;
    let mut written = Vec::new();
    for (ext, text) in [
        ("md", to_markdown(&summary, Metric::Gap, Tables::Both)),
        (
            "csv",
            to_csv(&summary, Metric::Gap, Tables::Long).expect("long table is one table"),
        ),
        ("tex", to_latex(&summary, Metric::Gap, Tables::Both)),
        ("html", sweep_page(&loaded.records, results_csv, sweep_text)),
    ] {
        let path = files.summary(ext);
        std::fs::write(&path, text).map_err(|error| ReportError::Write {
            path: path.clone(),
            error,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn rec(
        run_id: &str,
        hidden: &str,
        eta: f64,
        seed: u64,
        train: f64,
        test: f64,
    ) -> RunRecord {
        RunRecord {
            hidden: hidden.into(),
            n_params: 0,
            eta,
            seed,
            best_step: 50,
            train_acc: train,
            test_acc: test,
            gap: train - test,
            final_train_acc: train,
            final_test_acc: test,
            final_cost: 1.0,
            seconds: 0.5,
            config_hash: "h".into(),
            ..crate::results::sample(run_id)
        }
    }

    #[test]
    fn merge_warns_on_disagreeing_duplicates_but_not_on_seconds() {
        let a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let mut a_slower = a.clone();
        a_slower.seconds = 9.0;
        let mut a_other = a.clone();
        a_other.test_acc = 0.5;
        let loaded = merge(
            vec![
                ("one.csv".into(), vec![a.clone()]),
                ("two.csv".into(), vec![a_slower]),
                ("three.csv".into(), vec![a_other]),
            ],
            false,
        )
        .unwrap();
        assert_eq!(loaded.records, vec![a]);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("test_acc"));
        assert!(loaded.warnings[0].contains("three.csv"));
    }

    #[test]
    fn mixed_config_hashes_need_force() {
        let a = rec("a", "10", 0.1, 1, 0.9, 0.8);
        let mut b = rec("b", "10", 0.1, 2, 0.9, 0.8);
        b.config_hash = "other".into();
        let sets = vec![("x.csv".into(), vec![a]), ("y.csv".into(), vec![b])];
        let err = merge(sets.clone(), false).unwrap_err().to_string();
        assert!(err.contains("--force") && err.contains("y.csv"), "{err}");
        assert_eq!(merge(sets, true).unwrap().records.len(), 2);
    }
}
