//! The next lecture's network through the command line: its axes are written as columns, a
//! mini-batch sweep gives the same numbers on any thread count, and an unknown value is a
//! config error naming its key.

mod common;

use common::{circles_config, nnsweep, records_without_seconds, write};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

const GRID: &str = "hidden = [4, [4, 3]]\neta = [0.02]\nseed = [0, 1]\n\
                    cost = [\"quadratic\", \"cross_entropy\"]\n\
                    batch_size = [7, 40]\n\
                    [[variant]]\noutput = [\"softmax\"]\nactivation = [\"tanh\", \"relu\"]\n\
                    init = [\"scaled\"]\ncost = [\"cross_entropy\"]\nbatch_size = [16]";

#[test]
fn mini_batch_results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", &circles_config("s", 120, GRID));
    for (threads, out) in [("1", "one.csv"), ("3", "three.csv")] {
        nnsweep(dir.path())
            .args(["run", "s.toml", "--threads", threads, "--out", out])
            .assert()
            .success();
    }
    let mut one = records_without_seconds(&dir.path().join("one.csv"));
    let mut three = records_without_seconds(&dir.path().join("three.csv"));
    // [grid]: 2 shapes × 2 costs × 2 batch sizes × 2 seeds; the variant: 2 shapes × 2
    // activations × 2 seeds.
    assert_eq!(one.len(), 16 + 8);
    one.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    three.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(one, three);
    let r = one
        .iter()
        .find(|r| r.run_id == "h4_eta0.02_l2=0_steps120_ce_softmax_relu_scaled_b16_seed1")
        .expect("the variant's run");
    assert_eq!(
        (
            r.cost.as_str(),
            r.output.as_str(),
            r.activation.as_str(),
            r.init.as_str()
        ),
        ("cross_entropy", "softmax", "relu", "scaled")
    );
    assert_eq!(r.batch_size, Some(16));
    assert!(r.train_acc > 0.5, "it learns: {}", r.train_acc);
    let lecture = one
        .iter()
        .find(|r| r.run_id == "h4_eta0.02_l2=0_steps120_b7_seed0")
        .unwrap();
    assert_eq!(lecture.cost, "quadratic");
    // The report groups by the axes that vary.
    nnsweep(dir.path())
        .args(["report", "one.csv"])
        .assert()
        .success()
        .stdout(contains("batch_size").and(contains("activation")));
}

#[test]
fn an_unknown_value_is_a_config_error_naming_its_key() {
    let dir = tempfile::tempdir().unwrap();
    for (key, line) in [
        ("cost", "[train]\ncost = \"hinge\""),
        ("activation", "[train]\nactivation = \"gelu\""),
        ("batch_size", "[train]\nbatch_size = 0"),
    ] {
        let text = circles_config("s", 10, "hidden = [3]\neta = [0.1]\nseed = [0]")
            .replace("[train]", line);
        write(dir.path(), "s.toml", &text);
        nnsweep(dir.path())
            .args(["plan", "s.toml"])
            .assert()
            .code(2)
            .stderr(contains(key).and(contains("s.toml")));
    }
}
