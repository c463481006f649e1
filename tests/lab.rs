//! The overfitting lab's validation data on generated points (`validation_fraction`) and the
//! validation accuracy in the curves file, through the real binary.

mod common;

use common::{nnsweep, write};
use nnsweep::results::{read_curves, read_records};

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
    // select = "validation" without any validation data: the error says which keys give some.
    write(
        dir.path(),
        "s.toml",
        &config("", "select = \"validation\"", ""),
    );
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs validation data"))
        .stderr(predicates::str::contains("validation_fraction = F"));
}

/// The texts of the curves chart of `results` (an SVG), for `args` choosing its runs.
fn curves_svg(dir: &std::path::Path, results: &str, args: &[&str]) -> Vec<String> {
    let out = dir.join("c.svg");
    nnsweep(dir)
        .args(["plot", results, "--kind", "curves", "--out"])
        .arg(&out)
        .args(args)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect()
}

#[test]
fn the_curves_file_carries_validation_accuracy_to_merge_and_the_chart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "v.toml", &config("validation_fraction = 0.25", "", ""));
    nnsweep(d).args(["run", "v.toml"]).assert().success();
    let rows = read_curves(&d.join("results/v/curves.csv")).unwrap();
    assert_eq!(rows.len(), 2 * 4, "2 runs × steps 0, 100, 200, 300");
    assert!(rows
        .iter()
        .all(|r| r.val_acc.is_some_and(|v| (0.0..=1.0).contains(&v))));
    // The last point's validation accuracy is the row's final one.
    let records = read_records(&d.join("results/v.csv")).unwrap();
    for r in &records {
        let last = rows
            .iter()
            .filter(|c| c.run_id == r.run_id)
            .max_by_key(|c| c.step);
        assert_eq!(last.unwrap().val_acc, r.final_val_acc, "{}", r.run_id);
    }
    let svg = curves_svg(d, "results/v.csv", &[]);
    assert!(
        svg.iter().any(|t| t == "validation"),
        "no validation in the legend: {svg:?}"
    );
    // The page says how many validation samples there were.
    let page = std::fs::read_to_string(d.join("results/v/summary.html")).unwrap();
    assert!(
        page.contains("<tr><th>validation samples</th><td>"),
        "no validation samples on the page"
    );

    // Sharded, then merged: the same points, val_acc included.
    for k in ["0/2", "1/2"] {
        nnsweep(d)
            .args(["run", "v.toml", "--shard", k])
            .assert()
            .success();
    }
    nnsweep(d)
        .args([
            "merge",
            "results/v.shard-0-of-2.csv",
            "results/v.shard-1-of-2.csv",
            "--out",
        ])
        .arg(d.join("merged/v.csv"))
        .assert()
        .success();
    let sorted = |mut c: Vec<nnsweep::results::CurveRow>| {
        c.sort_by(|a, b| (&a.run_id, a.step).cmp(&(&b.run_id, b.step)));
        c
    };
    assert_eq!(
        sorted(read_curves(&d.join("merged/v/curves.csv")).unwrap()),
        sorted(rows)
    );

    // Without validation data: the column is there, empty, and the chart has no such line.
    write(
        d,
        "n.toml",
        &config("", "", "").replace("name = \"v\"", "name = \"n\""),
    );
    nnsweep(d).args(["run", "n.toml"]).assert().success();
    let text = std::fs::read_to_string(d.join("results/n/curves.csv")).unwrap();
    assert!(
        text.starts_with("run_id,step,train_acc,val_acc,test_acc,cost\n"),
        "{text}"
    );
    let rows = read_curves(&d.join("results/n/curves.csv")).unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.val_acc.is_none()));
    let svg = curves_svg(d, "results/n.csv", &[]);
    assert!(!svg.iter().any(|t| t == "validation") && svg.iter().any(|t| t == "test"));
    let page = std::fs::read_to_string(d.join("results/n/summary.html")).unwrap();
    assert!(page.contains("test solid, train dashed.") && !page.contains("hollow circles"));
    assert!(!page.contains("validation samples"));
}

#[test]
fn resuming_onto_a_curves_file_without_val_acc_is_refused_and_leaves_it_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "v.toml", &config("validation_fraction = 0.25", "", ""));
    std::fs::create_dir_all(d.join("results/v")).unwrap();
    let old = "run_id,step,train_acc,test_acc,cost\nx,0,0.5,0.5,1\n";
    write(d, "results/v/curves.csv", old);
    nnsweep(d)
        .args(["run", "v.toml"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("without the val_acc column"));
    assert_eq!(
        std::fs::read_to_string(d.join("results/v/curves.csv")).unwrap(),
        old
    );
}
