//! Helpers shared by the integration tests: the real binary, and sweep files in temp folders.
#![allow(dead_code)] // each test file uses its own subset

pub mod batch;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use nnsweep::results::{read_records, RunRecord};

/// The `nnsweep` binary built by cargo for these tests, run in `dir`.
pub fn nnsweep(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("nnsweep").expect("the binary is built for tests");
    cmd.current_dir(dir);
    // Inside a batch job's array these would pick a shard and a thread count.
    for var in nnsweep::batch::VARIABLES {
        cmd.env_remove(var);
    }
    cmd
}

/// The `nnsweep` binary run from the repository's top folder.
pub fn nnsweep_in_repo() -> Command {
    nnsweep(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// A hand-made results file (or curves file) of `tests/fixtures/report/`.
pub fn report_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

/// A small, fast circles sweep: `grid` lines replace the default grid.
pub fn circles_config(name: &str, steps: usize, grid: &str) -> String {
    format!(
        "name = \"{name}\"\n\
         [data]\nkind = \"circles\"\nsamples = 200\nnoise = 0.1\nseed = 3\n\
         [train]\nsteps = {steps}\nlog_every = 0\n\
         [grid]\n{grid}\n"
    )
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The records of a results file, without the machine-dependent `seconds`.
pub fn records_without_seconds(path: &Path) -> Vec<RunRecord> {
    let mut records = read_records(path).unwrap();
    for r in &mut records {
        r.seconds = 0.0;
    }
    records
}
