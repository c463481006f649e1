//! Where a sweep's files live, decided in this one place.
//!
//! `results/<name>.csv` holds the rows; everything else of that sweep lives in the folder
//! `results/<name>/` beside it (learning curves, summaries, saved models, the HTML page). No
//! sweep name can then collide with another sweep's files (a sweep named `base.summary` no
//! longer shares a file with sweep `base`), and `results/*.csv` matches results files only.
//! A shard's results file `results/<name>.shard-k-of-N.csv` has its folder
//! `results/<name>.shard-k-of-N/` the same way.
//!
//! ```text
//! results/<name>.csv
//! results/<name>/curves.csv
//! results/<name>/lock              who writes the sweep now
//! results/<name>/summary.{md,csv,tex,html}
//! results/<name>/models/<run_id>.model
//! ```

use std::path::{Path, PathBuf};

/// The longest file name (one path component, in bytes) that common file systems accept.
pub const MAX_FILE_NAME: usize = 255;

/// The files of one sweep (or one shard of it), named after its results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepFiles {
    results: PathBuf,
    dir: PathBuf,
}

impl SweepFiles {
    /// The layout of the sweep whose rows are in `results` (`results/x.csv` → folder
    /// `results/x/`). A results path without an extension gets the folder `<path>.d`, so the
    /// folder is never the results file itself.
    pub fn of_results(results: &Path) -> SweepFiles {
        let stem = results.with_extension("");
        let dir = if stem == results {
            let mut name = results.as_os_str().to_os_string();
            name.push(".d");
            PathBuf::from(name)
        } else {
            stem
        };
        SweepFiles {
            results: results.to_path_buf(),
            dir,
        }
    }

    /// The results file: one row per finished run.
    pub fn results(&self) -> &Path {
        &self.results
    }

    /// The sweep's own folder, holding everything but the rows.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Learning curves, one row per recorded step of each run.
    pub fn curves(&self) -> PathBuf {
        self.dir.join("curves.csv")
    }

    /// A summary table or page: `ext` is `md`, `csv`, `tex` or `html`.
    pub fn summary(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("summary.{ext}"))
    }

    /// Who holds the sweep's one-writer lock (pid, host, since when); the lock itself where
    /// the file system has no `flock` (see `sweep::Lock`).
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }

    /// The folder of the saved models.
    pub fn models_dir(&self) -> PathBuf {
        self.dir.join("models")
    }

    /// Checks that every run's model file can be named: a file name longer than most file
    /// systems allow (255 bytes; a long list of hidden sizes makes long run ids) is found here,
    /// by `plan` and before `run` trains, not when the first model is written.
    pub fn check_model_names<'a>(run_ids: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
        for id in run_ids {
            let name = format!("{id}.model");
            if name.len() > MAX_FILE_NAME {
                return Err(format!(
                    "the model file of run {}... would be named with {} bytes, more than the \
                     {MAX_FILE_NAME} file systems allow; shorten the grid's lists (fewer hidden \
                     layers per shape) or set save_models = false",
                    &id[..id.char_indices().nth(60).map_or(id.len(), |(i, _)| i)],
                    name.len()
                ));
            }
        }
        Ok(())
    }

    /// The saved best model of one run.
    pub fn model(&self, run_id: &str) -> PathBuf {
        self.models_dir().join(format!("{run_id}.model"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_but_the_rows_lives_in_the_sweeps_folder() {
        let files = SweepFiles::of_results(Path::new("results/base.csv"));
        assert_eq!(files.results(), Path::new("results/base.csv"));
        assert_eq!(files.dir(), Path::new("results/base"));
        assert_eq!(files.curves(), Path::new("results/base/curves.csv"));
        assert_eq!(files.summary("md"), Path::new("results/base/summary.md"));
        assert_eq!(
            files.model("h10_eta0.005_seed0"),
            Path::new("results/base/models/h10_eta0.005_seed0.model")
        );
    }

    #[test]
    fn names_that_look_like_other_sweeps_files_do_not_collide() {
        let base = SweepFiles::of_results(Path::new("results/base.csv"));
        let summary = SweepFiles::of_results(Path::new("results/base.summary.csv"));
        let curves = SweepFiles::of_results(Path::new("results/base.curves.csv"));
        let theirs = [
            summary.results().to_path_buf(),
            summary.curves(),
            curves.results().to_path_buf(),
            curves.curves(),
        ];
        for mine in [base.curves(), base.summary("csv"), base.summary("md")] {
            assert!(!theirs.contains(&mine), "{} collides", mine.display());
        }
    }

    #[test]
    fn shards_have_their_own_folders() {
        let files = SweepFiles::of_results(Path::new("results/x.shard-1-of-4.csv"));
        assert_eq!(files.dir(), Path::new("results/x.shard-1-of-4"));
    }

    #[test]
    fn a_results_path_without_extension_gets_a_separate_folder() {
        let files = SweepFiles::of_results(Path::new("out/rows"));
        assert_eq!(files.dir(), Path::new("out/rows.d"));
    }

    #[test]
    fn model_names_longer_than_file_systems_allow_are_found_before_training() {
        assert!(SweepFiles::check_model_names(["h10_eta0.005_seed0"]).is_ok());
        let long = format!("h{}_eta0.1_seed0", vec!["1000"; 80].join("x"));
        let e = SweepFiles::check_model_names([long.as_str()]).unwrap_err();
        assert!(e.contains("255"), "{e}");
    }
}
