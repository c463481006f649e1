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
//! results/<name>/summary.{md,csv,tex,html}
//! results/<name>/models/<run_id>.model
//! ```

use std::path::{Path, PathBuf};

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

    /// The folder of the saved models.
    pub fn models_dir(&self) -> PathBuf {
        self.dir.join("models")
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
}
