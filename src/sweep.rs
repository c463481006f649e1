//! One sweep session on disk: the results file and the sweep's folder beside it, from opening
//! (moving old files aside with `--fresh`, finding the runs already done) to writing each
//! finished run (curves and model first, then its row, so a run whose row is on disk has them).
//!
//! The CLI decides what to print; this module decides what is written where, and through
//! [`SweepFiles`] only.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ndarray::ArrayView2;

use crate::layout::SweepFiles;
use crate::model_file;
use crate::nn::{CurvePoint, Network};
use crate::results::{read_records, CurvesWriter, OpenError, ReadError, ResultsWriter, RunRecord};
use lock::Lock;

/// What the user asked of the session.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Move the results file and the sweep's folder aside first (`--fresh`).
    pub fresh: bool,
    /// Append to a file holding rows of another config (`--force`).
    pub force: bool,
    /// Write learning curves (`[train] log_every` > 0).
    pub curves: bool,
    /// Save each run's best model (`[output] save_models`).
    pub save_models: bool,
}

/// Why a session could not be opened or a run not written.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The results file holds rows of another config and `--force` was not given.
    #[error(
        "{path} holds results of another config (config hash {theirs}, this one is {ours}): its \
         data or training settings differ, so its runs cannot be continued. Start over with \
         --fresh (the old file is kept under another name), write elsewhere with --out, or \
         append anyway with --force."
    )]
    OtherConfig {
        path: PathBuf,
        theirs: String,
        ours: String,
    },
    /// The results file cannot be read back.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The results or curves file is not this sweep's, or cannot be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// `--fresh` could not move a file aside.
    #[error("--fresh: cannot move {from} to {to}: {source}")]
    Move {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    /// The results path, or the sweep's folder, is something else (a device, a folder, a file).
    #[error("{path} is not {what}; nnsweep writes only its own files: choose another --out")]
    NotOurs { path: PathBuf, what: &'static str },
    /// Another process writes this results file.
    #[error(
        "{path} is being written by another nnsweep ({holder}); two runs of one sweep would \
         train every run twice. Wait for it to end, or write elsewhere with --out"
    )]
    Locked { path: PathBuf, holder: String },
    /// The lock cannot be taken or checked.
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file of the sweep cannot be opened or written.
    #[error("cannot write to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An open sweep: its files, the runs already done, and the writers of the runs to come.
pub struct Session {
    /// Held for as long as the session lives: one writer per results file.
    _lock: Lock,
    files: SweepFiles,
    hash: String,
    done: HashSet<String>,
    results: ResultsWriter,
    curves: Option<CurvesWriter>,
    save_models: bool,
    notes: Vec<String>,
}

impl Session {
    /// Opens the sweep whose rows go to `files.results()`, for a config of hash `hash`.
    pub fn open(files: SweepFiles, hash: &str, options: &Options) -> Result<Session, SweepError> {
        let mut notes = Vec::new();
        // A device, a pipe or a folder is not a results file (reading /dev/zero never ends).
        for path in [files.results().to_path_buf(), files.dir().to_path_buf()] {
            let want_dir = path == files.dir();
            if let Ok(meta) = std::fs::metadata(&path) {
                if (want_dir && !meta.is_dir()) || (!want_dir && !meta.is_file()) {
                    return Err(SweepError::NotOurs {
                        path,
                        what: if want_dir {
                            "a folder (the sweep's own, beside its results file)"
                        } else {
                            "a regular file"
                        },
                    });
                }
            }
        }
        let mut lock = Lock::take(&files)?;
        if options.fresh {
            for path in [files.results(), files.dir()] {
                if let Some(moved) = move_aside(path)? {
                    notes.push(format!(
                        "--fresh: moved {} to {} (kept, not deleted)",
                        path.display(),
                        moved.display()
                    ));
                }
            }
            // The lock was on the file now moved aside: take it on the new one.
            lock = Lock::take(&files)?;
        }
        let done = runs_already_done(files.results(), hash, options.force, &mut notes)?;
        let results = ResultsWriter::append(files.results())?;
        if options.save_models {
            let missing = done.iter().filter(|id| !files.model(id).exists()).count();
            if missing > 0 {
                notes.push(format!(
                    "[output] save_models: {missing} of the {} runs already in {} have no saved \
                     model (they were trained before save_models was set) and are not trained \
                     again; to get their models, run again with --fresh (the old files are kept) \
                     or give the sweep a new name",
                    done.len(),
                    files.results().display()
                ));
            }
        }
        let curves_path = files.curves();
        let curves = match options.curves {
            false => None,
            true => {
                let (writer, stale) = CurvesWriter::append_keeping(&curves_path, &done)?;
                if stale > 0 {
                    notes.push(format!(
                        "{}: dropped {stale} curve points of runs without a results row (they \
                         are trained again)",
                        curves_path.display()
                    ));
                }
                Some(writer)
            }
        };
        for (path, dropped) in [
            (files.results().to_path_buf(), results.dropped()),
            (
                curves_path,
                curves.as_ref().map_or(0, CurvesWriter::dropped),
            ),
        ] {
            if dropped > 0 {
                notes.push(format!(
                    "{}: cut off a partial last line ({dropped} bytes) left by an interrupted run",
                    path.display()
                ));
            }
        }
        Ok(Session {
            _lock: lock,
            files,
            hash: hash.to_string(),
            done,
            results,
            curves,
            save_models: options.save_models,
            notes,
        })
    }

    /// The sweep's files.
    pub fn files(&self) -> &SweepFiles {
        &self.files
    }

    /// The config hash every row of this session carries.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Ids of the runs of this config already in the results file.
    pub fn done(&self) -> &HashSet<String> {
        &self.done
    }

    /// What opening did that the user should hear about (files moved aside, lines cut off,
    /// rows of another config kept with `--force`).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Writes one finished run: its curve points and model first, then its row, so a run
    /// whose row is on disk has them too (and resume skips it). `train` is the samples the run
    /// trained on and `test` the dataset's test split, kept in the model file when 2-D.
    pub fn write_run(
        &mut self,
        record: &RunRecord,
        curve: &[CurvePoint],
        best: &Network,
        train: (ArrayView2<'_, f64>, &[u8]),
        test: (ArrayView2<'_, f64>, &[u8]),
    ) -> Result<(), SweepError> {
        if let Some(curves) = &mut self.curves {
            curves
                .write(&record.run_id, curve)
                .map_err(|source| SweepError::Write {
                    path: self.files.curves(),
                    source,
                })?;
        }
        if self.save_models {
            model_file::save_run(self.files.results(), &record.run_id, best, train, test).map_err(
                |source| SweepError::Write {
                    path: self.files.model(&record.run_id),
                    source,
                },
            )?;
        }
        self.results
            .write(record)
            .map_err(|source| SweepError::Write {
                path: self.files.results().to_path_buf(),
                source,
            })?;
        self.done.insert(record.run_id.clone());
        Ok(())
    }
}

/// Ids of the runs a previous `run` of this config already wrote to `out`. Rows of another
/// config are an error, unless `force`: then they are left in the file and do not count.
fn runs_already_done(
    out: &Path,
    hash: &str,
    force: bool,
    notes: &mut Vec<String>,
) -> Result<HashSet<String>, SweepError> {
    if !out.exists() {
        return Ok(HashSet::new());
    }
    let records = read_records(out)?;
    let others = records.iter().filter(|r| r.config_hash != hash).count();
    if let Some(other) = records.iter().find(|r| r.config_hash != hash) {
        if !force {
            return Err(SweepError::OtherConfig {
                path: out.to_path_buf(),
                theirs: other.config_hash.clone(),
                ours: hash.to_string(),
            });
        }
        notes.push(format!(
            "--force: {} holds {others} rows of another config (hash {}); appending this \
             config's runs (hash {}) beside them",
            out.display(),
            other.config_hash,
            hash
        ));
    }
    Ok(records
        .into_iter()
        .filter(|r| r.config_hash == hash)
        .map(|r| r.run_id)
        .collect())
}

/// Renames `path` (when it exists) to `<path>.old-<UTC time>` and returns the new name. The
/// time goes after the extension so that globs such as `results/x.shard-*.csv` skip old files.
fn move_aside(path: &Path) -> Result<Option<PathBuf>, SweepError> {
    // An empty file holds nothing to keep (the lock creates the results file first).
    if !path.exists() || std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
        return Ok(None);
    }
    let stamp = utc_stamp(SystemTime::now());
    let mut target = PathBuf::from(format!("{}.old-{stamp}", path.display()));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.old-{stamp}-{n}", path.display()));
        n += 1;
    }
    std::fs::rename(path, &target).map_err(|source| SweepError::Move {
        from: path.to_path_buf(),
        to: target.clone(),
        source,
    })?;
    Ok(Some(target))
}

/// `20250314T092653Z`.
pub(crate) fn utc_stamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

impl crate::exit::ExitStatus for SweepError {
    fn exit_code(&self) -> u8 {
        use crate::exit::{write_code, BAD_INPUT, FAILURE};
        match self {
            SweepError::OtherConfig { .. }
            | SweepError::Locked { .. }
            | SweepError::NotOurs { .. } => BAD_INPUT,
            SweepError::Lock { source, .. } => write_code(source),
            SweepError::Read(e) => e.exit_code(),
            SweepError::Open(e) => e.exit_code(),
            SweepError::Move { .. } => FAILURE,
            SweepError::Write { source, .. } => write_code(source),
        }
    }
}

mod lock;

#[cfg(test)]
mod tests;
