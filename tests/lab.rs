//! The overfitting lab's validation data on generated points (`validation_fraction`) and the
//! validation accuracy in the curves file, through the real binary.

mod common;

use common::{nnsweep, write};
use nnsweep::results::read_records;

/// A circles sweep of 200 points (160 training, 40 test) with a quarter of the training points
/// carved for validation, selecting on them.
fn config(extra_data: &str, train: &str, grid: &str) -> String {
    format!(
        "name = \"v\"\n\
         [data]\nkind = \"circles\"\nsamples = 200\nnoise = 0.1\nseed = 3\n{extra_data}\n\
         [train]\nsteps = 300\nlog_every = 100\n{train}\n\
         [grid]\nhidden = [5]\neta = [0.05]\nseed = [0, 1]\n{grid}\n"
    )
}

#[test]
fn a_circles_sweep_with_validation_fraction_selects_on_validation_and_fills_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let text = config(
        "validation_fraction = 0.25",
        "select = \"validation\"\npatience = 150",
        "train_size = [120, 60]",
    );
    write(dir.path(), "v.toml", &text);
    nnsweep(dir.path())
        .args(["run", "v.toml", "--threads", "1"])
        .assert()
        .success();
    let rows = read_records(&dir.path().join("results/v.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        // 160 training points: 40 to validation, then train_size takes of the 120 left.
        assert_eq!(
            (r.n_val, r.n_test, r.select.as_str()),
            (Some(40), 40, "validation")
        );
        assert!([120, 60].contains(&r.n_train), "{}", r.n_train);
        let (val, final_val) = (r.val_acc.unwrap(), r.final_val_acc.unwrap());
        assert!((0.0..=1.0).contains(&val) && (0.0..=1.0).contains(&final_val));
        // Kept by validation accuracy: no later model scored better on validation.
        assert!(val >= final_val, "{val} < {final_val}");
        assert!(r.stopped_step.is_some());
    }
    // Every run sees the same split (the data's seed, not the run's): the same rows again
    // from a second sweep with other weight seeds only differ by those seeds' runs.
    let again = config(
        "validation_fraction = 0.25",
        "select = \"validation\"\npatience = 150",
        "train_size = [120, 60]",
    )
    .replace("seed = [0, 1]", "seed = [1]");
    write(dir.path(), "w.toml", &again);
    nnsweep(dir.path())
        .args(["run", "w.toml", "--out", "w.csv", "--threads", "1"])
        .assert()
        .success();
    let mut one: Vec<_> = read_records(&dir.path().join("w.csv"))
        .unwrap()
        .into_iter()
        .map(|r| (r.run_id, r.val_acc, r.test_acc, r.best_step))
        .collect();
    let mut both: Vec<_> = rows
        .into_iter()
        .filter(|r| r.seed == 1)
        .map(|r| (r.run_id, r.val_acc, r.test_acc, r.best_step))
        .collect();
    one.sort_by(|a, b| a.0.cmp(&b.0));
    both.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(one, both);
}

#[test]
fn validation_fraction_leaving_no_sample_is_the_inputs_fault() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "v.toml",
        &config("validation_fraction = 0.001", "", ""),
    );
    nnsweep(dir.path())
        .args(["run", "v.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("validation_fraction"))
        .stderr(predicates::str::contains("v.toml"));
    // select = "validation" without any validation data stays the clear error it was.
    write(
        dir.path(),
        "s.toml",
        &config("", "select = \"validation\"", ""),
    );
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs validation samples"));
}
