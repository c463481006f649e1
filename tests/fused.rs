//! Fused runs through the real binary: a sweep on a training set large enough for the packed
//! first layer (64 features × 595 rows of a CSV table) gives the same rows, bit for bit, on one
//! thread and two, whole or in shards, and stopped by SIGTERM then resumed. On a processor
//! without the packed kernel (no AVX-512F) nothing is fused and the tests say they skipped.

mod common;

use std::path::Path;
use std::time::Duration;

use common::batch::{process, whole_rows, Running};
use common::{nnsweep, records_without_seconds, write};
use nnsweep::results::RunRecord;

/// A table of 700 rows, 64 features and 3 classes (a deterministic pattern the networks can
/// partly learn).
fn table(dir: &Path) {
    let mut text: String = (0..64).map(|c| format!("f{c},")).collect();
    text.push_str("label\n");
    for r in 0..700usize {
        let label = (r * 7 / 5) % 3;
        for c in 0..64usize {
            let v = ((r * 37 + c * 11) % 53) as f64 / 53.0 + if c % 3 == label { 0.4 } else { 0.0 };
            text.push_str(&format!("{v:.4},"));
        }
        text.push_str(&format!("{label}\n"));
    }
    write(dir, "table.csv", &text);
}

/// 12 runs: 6 of 10 hidden units (one group of 60 rows) and 6 of 4 (another).
fn config(dir: &Path, name: &str, steps: usize) {
    let text = format!(
        "name = \"{name}\"\n\
         [data]\nkind = \"csv\"\npath = \"table.csv\"\nlabel_column = \"label\"\ntest_fraction = 0.15\n\
         [train]\nsteps = {steps}\nlog_every = 10\n\
         [grid]\nhidden = [10, 4]\neta = [0.002, 0.004]\nseed = [0, 1, 2]\n"
    );
    write(dir, &format!("{name}.toml"), &text);
}

fn packs() -> bool {
    let packs = nnsweep::nn::packs_first_layer(64, 595);
    if !packs {
        eprintln!("SKIPPED: no packed kernel on this processor (AVX-512F): nothing is fused");
    }
    packs
}

fn sorted(mut rows: Vec<RunRecord>) -> Vec<RunRecord> {
    rows.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    rows
}

/// Lines of a curves file, sorted (written in the order runs finish).
fn curves(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

#[test]
fn fused_sweeps_give_the_same_rows_on_any_thread_count_and_shard() {
    if !packs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    table(dir.path());
    config(dir.path(), "f", 60);
    let run = |args: &[&str]| {
        nnsweep(dir.path())
            .args(["run", "f.toml"])
            .args(args)
            .assert()
            .success();
    };
    run(&["--threads", "1", "--out", "one.csv"]);
    run(&["--threads", "2", "--out", "two.csv"]);
    run(&["--threads", "2", "--shard", "0/2", "--out", "s0.csv"]);
    run(&["--threads", "2", "--shard", "1/2", "--out", "s1.csv"]);
    let one = sorted(records_without_seconds(&dir.path().join("one.csv")));
    assert_eq!(one.len(), 12);
    assert!(
        one.iter().any(|r| r.final_train_acc > 0.5),
        "the networks learn something: {:?}",
        one.iter().map(|r| r.final_train_acc).collect::<Vec<_>>()
    );
    assert_eq!(
        sorted(records_without_seconds(&dir.path().join("two.csv"))),
        one
    );
    let mut shards = records_without_seconds(&dir.path().join("s0.csv"));
    shards.extend(records_without_seconds(&dir.path().join("s1.csv")));
    assert_eq!(sorted(shards), one);
    assert_eq!(
        curves(&dir.path().join("one/curves.csv")),
        curves(&dir.path().join("two/curves.csv"))
    );
}

#[test]
fn a_fused_sweep_stopped_by_sigterm_resumes_to_the_rows_of_an_unstopped_one() {
    if !packs() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    table(dir.path());
    config(dir.path(), "g", 1000);
    nnsweep(dir.path())
        .args(["run", "g.toml", "--threads", "2", "--out", "whole.csv"])
        .assert()
        .success();
    let whole = sorted(records_without_seconds(&dir.path().join("whole.csv")));

    let mut running = Running::start({
        let mut cmd = process(dir.path());
        cmd.args(["run", "g.toml", "--threads", "2", "--grace", "0"]);
        cmd
    });
    running.wait_for_training(Duration::from_secs(60));
    running.signal("TERM");
    let (code, _) = running.wait(Duration::from_secs(60));
    assert_eq!(code, Some(3), "{}", running.stderr_text());
    let out = dir.path().join("results/g.csv");
    let first = if out.exists() {
        whole_rows(&out).len()
    } else {
        0
    };
    assert!(first < 12, "the stop came before the end ({first} rows)");
    nnsweep(dir.path())
        .args(["run", "g.toml", "--threads", "2"])
        .assert()
        .success();
    whole_rows(&out);
    assert_eq!(sorted(records_without_seconds(&out)), whole);
}
