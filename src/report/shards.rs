//! Merging the shards of a sweep into one sweep in the normal layout: the rows, the learning
//! curves and the saved models, so that `report` and `plot` work on the merged sweep exactly as
//! on a sweep that was never sharded.
//!
//! The rows are merged as [`load`] merges them for a report (each run once, the first row kept,
//! disagreeing duplicates warned, other configs refused), and a run's curve points and model are
//! taken from the shard whose row was kept, so the three always describe the same training.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{load, ReportError};
use crate::layout::SweepFiles;
use std::io::Write;

use crate::results::{read_curves, read_records, CurveRow, ResultsWriter, BOM, CURVE_COLUMNS};

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged sweep's files.
    pub files: SweepFiles,
    /// Runs in the merged results file.
    pub runs: usize,
    /// Runs with curve points copied, and the number of points.
    pub curves: (usize, usize),
    /// Saved models copied.
    pub models: usize,
    /// Disagreeing duplicates and similar notes, for the user.
    pub warnings: Vec<String>,
}

/// Merges `shards` (results files of `nnsweep run --shard k/N`, or any results files of one
/// config) into the sweep whose results file is `out`.
///
/// Never writes over anything: `out` and its folder must not exist yet (the SLURM merge job
/// moves an earlier merge aside first). Nothing is written when the shards are refused.
pub fn merge_shards(shards: &[PathBuf], out: &Path, force: bool) -> Result<Merged, ReportError> {
    let files = SweepFiles::of_results(out);
    for shard in shards {
        if same_file(shard, out) {
            return Err(ReportError::Target {
                path: out.to_path_buf(),
                why: "it is one of the shards being merged; choose another --out".into(),
            });
        }
    }
    for existing in [files.results(), files.dir()] {
        if existing.exists() {
            return Err(ReportError::Target {
                path: existing.to_path_buf(),
                why: "it exists already, and merge never writes over a file it did not create. \
                      Move it aside (or choose another --out) and merge again"
                    .into(),
            });
        }
    }
    let loaded = load(shards, force)?;
    let mut warnings = loaded.warnings;

    // Which shard each kept row came from: the first holding it, as `load` keeps the first.
    let mut owner: HashMap<(String, String), usize> = HashMap::new();
    for (i, shard) in shards.iter().enumerate() {
        for r in read_records(shard)? {
            owner.entry((r.run_id, r.config_hash)).or_insert(i);
        }
    }
    let owned_by = |i: usize| -> HashSet<&str> {
        owner
            .iter()
            .filter(|(_, &o)| o == i)
            .map(|((id, _), _)| id.as_str())
            .collect()
    };

    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |error: std::io::Error| ReportError::Write { path, error }
    };
    let mut rows = ResultsWriter::append(out)?;
    for r in &loaded.records {
        rows.write(r).map_err(write_err(out))?;
    }
    drop(rows);

    // Curves: the points of each run's owning shard, the last of a (run, step) kept (a run
    // redone after a kill wrote its points twice), in shard order then file order, written in
    // the current layout (a file from before `val_acc` gets that column empty). Shards whose
    // curves files have different columns are refused rather than mixed.
    let mut curves_out: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut header: Option<(PathBuf, String)> = None;
    let (mut curve_runs, mut points) = (HashSet::new(), 0usize);
    let target = files.curves();
    for (i, shard) in shards.iter().enumerate() {
        let path = SweepFiles::of_results(shard).curves();
        if !path.exists() {
            continue;
        }
        let mine = owned_by(i);
        let (head, rows) = read_curve_rows(&path)?;
        match &header {
            None => header = Some((path.clone(), head)),
            Some((first, h)) if *h != head => {
                return Err(ReportError::NotResults {
                    path,
                    why: format!(
                        "its columns ({head}) differ from those of {} ({h}), written by \
                         another nnsweep; merge shards written by one version",
                        first.display()
                    ),
                })
            }
            Some(_) => {}
        }
        // The last row of each (run, step) wins; their order is the file's.
        let mut last: HashMap<(&str, usize), usize> = HashMap::new();
        for (k, row) in rows.iter().enumerate() {
            last.insert((row.run_id.as_str(), row.step), k);
        }
        if curves_out.is_none() {
            std::fs::create_dir_all(files.dir()).map_err(write_err(files.dir()))?;
            let mut w = std::io::BufWriter::new(
                std::fs::File::create(&target).map_err(write_err(&target))?,
            );
            writeln!(w, "{}", CURVE_COLUMNS.join(",")).map_err(write_err(&target))?;
            curves_out = Some(w);
        }
        let w = curves_out.as_mut().expect("created above");
        for (k, row) in rows.iter().enumerate() {
            let key = (row.run_id.as_str(), row.step);
            if mine.contains(row.run_id.as_str()) && last.get(&key) == Some(&k) {
                w.write_all(row.line().as_bytes())
                    .map_err(write_err(&target))?;
                curve_runs.insert(row.run_id.clone());
                points += 1;
            }
        }
    }
    if let Some(mut w) = curves_out {
        w.flush().map_err(write_err(&target))?;
    }

    // Models: copied from the owning shard's folder.
    let mut models = 0;
    for ((id, _), &i) in &owner {
        let from = SweepFiles::of_results(&shards[i]).model(id);
        if from.exists() {
            let to = files.model(id);
            std::fs::create_dir_all(files.models_dir()).map_err(write_err(&files.models_dir()))?;
            std::fs::copy(&from, &to).map_err(write_err(&to))?;
            models += 1;
        }
    }
    if models > 0 && models < loaded.records.len() {
        warnings.push(format!(
            "{} of {} runs have a saved model in the shards' folders; the others have none",
            models,
            loaded.records.len()
        ));
    }
    Ok(Merged {
        files,
        runs: loaded.records.len(),
        curves: (curve_runs.len(), points),
        models,
        warnings,
    })
}

/// The header line and the rows of a curves file (either layout), read and checked by the
/// curves reader.
fn read_curve_rows(path: &Path) -> Result<(String, Vec<CurveRow>), ReportError> {
    let not_curves = |why: String| ReportError::NotResults {
        path: path.to_path_buf(),
        why,
    };
    let rows = read_curves(path).map_err(|e| not_curves(e.to_string()))?;
    let bytes = std::fs::read(path).map_err(|e| not_curves(e.to_string()))?;
    let bytes = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    let head = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let head = String::from_utf8_lossy(head)
        .trim_end_matches('\r')
        .to_string();
    Ok((head, rows))
}

/// True when `a` and `b` name the same existing file (or the same path when `b` is new).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}
