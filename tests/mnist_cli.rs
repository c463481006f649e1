//! MNIST sweeps through the real binary.

mod common;

use std::path::Path;

use common::{nnsweep, write};
use nnsweep::results::read_records;
use predicates::str::contains;

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/mnist-small.pkl.gz")
        .display()
        .to_string()
}

fn mnist_config(path: &str, data: &str, grid: &str) -> String {
    format!(
        "name = \"m\"\n[data]\nkind = \"mnist\"\npath = {path:?}\n{data}\n\
         [train]\nsteps = 1000\nlog_every = 0\n[grid]\n{grid}\n"
    )
}

#[test]
fn a_tiny_mnist_sweep_runs_and_learns() {
    let dir = tempfile::tempdir().unwrap();
    let grid = "hidden = [10]\neta = [5e-3]\nseed = [0]\ntrain_size = [50, 100]";
    write(
        dir.path(),
        "m.toml",
        &mnist_config(&sample(), "train = 100\ntest = 50", grid),
    );
    nnsweep(dir.path())
        .args(["run", "m.toml"])
        .assert()
        .success()
        .stdout(contains("| 10 |"));
    let mut records = read_records(&dir.path().join("results/m.csv")).unwrap();
    records.sort_by_key(|r| r.n_train);
    assert_eq!(records.len(), 2);
    for (r, n) in records.iter().zip([50, 100]) {
        assert_eq!((r.dataset.as_str(), r.n_train, r.n_test), ("mnist", n, 50));
        assert_eq!(r.n_params, 784 * 10 + 10 + 10 * 10 + 10);
        // Far above the 10 % of guessing after 1000 steps on so few images.
        assert!(r.train_acc > 0.5 && r.test_acc > 0.3, "{r:?}");
    }
}

#[test]
fn the_shipped_mnist_configs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    nnsweep(dir.path())
        .args([
            "plan",
            root.join("configs/mnist_small.toml").to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(contains(
            "3 runs on mnist (500 train / 100 test samples, 784 features, 10 classes)",
        ));
    // The overfitting sweep needs the full file, which is not shipped: the error says where
    // the file comes from and how to set the path.
    nnsweep(dir.path())
        .args([
            "plan",
            root.join("configs/mnist_overfit.toml").to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(contains("mnist.pkl.gz: no such file"))
        .stderr(contains("Set `path` in the `[data]` section"));
}

#[test]
fn bad_mnist_files_stop_the_sweep_with_the_bad_input_code() {
    let dir = tempfile::tempdir().unwrap();
    let grid = "hidden = [10]\neta = [2e-3]\nseed = [0]";
    let evil =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pickle/evil_os_system.pkl");
    write(
        dir.path(),
        "evil.toml",
        &mnist_config(evil.to_str().unwrap(), "", grid),
    );
    nnsweep(dir.path())
        .args(["run", "evil.toml"])
        .assert()
        .code(2)
        .stderr(contains("refused to load the Python global `os.system`"));
    assert!(!dir.path().join("results/m.csv").exists());
    // train_size beyond the loaded training split points at the grid line.
    let grid = "hidden = [10]\neta = [2e-3]\nseed = [0]\ntrain_size = [600]";
    write(dir.path(), "big.toml", &mnist_config(&sample(), "", grid));
    nnsweep(dir.path())
        .args(["plan", "big.toml"])
        .assert()
        .code(2)
        .stderr(contains("`grid.train_size`"))
        .stderr(contains("only 500"));
}
