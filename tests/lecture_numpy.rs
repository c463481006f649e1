//! Run for run with the lecture's NumPy code (issue 12): `nnsweep run` with `[train] rng =
//! "numpy"` (and `[data] rng = "sklearn"` for the circles) gives, for every seed, the best
//! training accuracy, its test accuracy and its step that `bench/lecture_numpy.py` got with
//! NumPy's RNG and scikit-learn's data. The NumPy figures are committed in
//! `tests/fixtures/lecture_numpy/*.jsonl`, written by `bench/lecture_numpy_runs.sh`.
//!
//! The initial weights and the data are the same to the last bit (tests/numpy_streams.rs); the
//! training arithmetic is not (NumPy's BLAS sums the products in another order, its `exp` is
//! not nnsweep's), so this checks that those last-bit differences change no accuracy and no
//! best step on the lecture's runs. Both steps counts start at 0 for the initial model.
//!
//! The slowest test of the suite with `mnist_small_matches_numpy_run_for_run`: 3 × 20 000
//! MNIST-small steps (seconds in a release build; see the report for the test profile's time).

mod common;

use std::path::Path;

use common::{nnsweep, write};
use nnsweep::results::read_records;

/// One line of a `.jsonl` fixture (or a results row): the figures this test compares.
#[derive(Debug, PartialEq)]
struct Figures {
    /// The row's run id (empty for NumPy's lines).
    id: String,
    seed: u64,
    best_step: usize,
    best_train_acc: f64,
    best_test_acc: f64,
}

/// A number after `"key": ` in a JSON line written by Python's json.dumps.
fn json_number(line: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    let start = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        + pat.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().unwrap()
}

fn numpy_figures(name: &str) -> Vec<Figures> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lecture_numpy")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| Figures {
            id: String::new(),
            seed: json_number(l, "seed") as u64,
            best_step: json_number(l, "best_step") as usize,
            best_train_acc: json_number(l, "best_train_acc"),
            best_test_acc: json_number(l, "best_test_acc"),
        })
        .collect()
}

/// Runs `config` through the real binary and returns its rows' figures, by seed.
fn nnsweep_figures(config: &str) -> Vec<Figures> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "sweep.toml", config);
    nnsweep(dir.path()).arg("run").arg(&path).assert().success();
    let name = config
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    let mut rows: Vec<Figures> = read_records(&dir.path().join(format!("results/{name}.csv")))
        .unwrap()
        .into_iter()
        .map(|r| Figures {
            id: r.run_id,
            seed: r.seed,
            best_step: r.best_step,
            best_train_acc: r.train_acc,
            best_test_acc: r.test_acc,
        })
        .collect();
    rows.sort_by_key(|f| f.seed);
    rows
}

/// Accuracies are counts over the same number of samples, so equal counts give equal
/// fractions up to the division's rounding: compare the counts.
fn assert_same_runs(nnsweep: &[Figures], numpy: &[Figures], n_train: f64, n_test: f64) {
    assert_eq!(nnsweep.len(), numpy.len(), "one row per NumPy run");
    for (ours, theirs) in nnsweep.iter().zip(numpy) {
        assert_eq!(ours.seed, theirs.seed);
        let counts = |f: &Figures| {
            (
                f.best_step,
                (f.best_train_acc * n_train).round() as i64,
                (f.best_test_acc * n_test).round() as i64,
            )
        };
        assert_eq!(
            counts(ours),
            counts(theirs),
            "seed {}: (best step, train correct, test correct) of nnsweep vs NumPy",
            ours.seed
        );
    }
}

#[test]
fn circles_match_numpy_run_for_run() {
    let numpy = numpy_figures("circles.jsonl");
    assert_eq!(numpy.len(), 5);
    let ours = nnsweep_figures(
        "name = \"circles\"\n\
         [data]\nkind = \"circles\"\nsamples = 500\nnoise = 0.1\nfactor = 0.8\n\
         test_fraction = 0.2\nseed = 0\nrng = \"sklearn\"\n\
         [train]\nsteps = 10000\nlog_every = 0\nrng = \"numpy\"\n\
         [grid]\nhidden = [10]\neta = [5e-3]\nseed = [0, 1, 2, 3, 4]\n",
    );
    assert_same_runs(&ours, &numpy, 400.0, 100.0);
    // The rng keys are not part of a run's id.
    assert_eq!(ours[0].id, "h10_eta0.005_l2=0_steps10000_seed0");
}

#[test]
fn mnist_small_matches_numpy_run_for_run() {
    let numpy = numpy_figures("mnist_small.jsonl");
    assert_eq!(numpy.len(), 3);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-small.pkl.gz");
    let ours = nnsweep_figures(&format!(
        "name = \"mnist_small\"\n\
         [data]\nkind = \"mnist\"\npath = {:?}\ntrain = 500\ntest = 100\n\
         [train]\nsteps = 20000\nlog_every = 0\nrng = \"numpy\"\n\
         [grid]\nhidden = [30]\neta = [5e-4]\nseed = [0, 1, 2]\n",
        data.display().to_string()
    ));
    assert_same_runs(&ours, &numpy, 500.0, 100.0);
}
