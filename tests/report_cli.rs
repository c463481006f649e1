//! `nnsweep report` through the real binary, on the hand-made fixtures of tests/report.rs.

mod common;

use common::nnsweep_in_repo as nnsweep;
use common::report_fixture as fixture;

use predicates::str::contains;

fn stdout_of(args: &[&str], files: &[&str]) -> String {
    let mut cmd = nnsweep();
    cmd.arg("report");
    for f in files {
        cmd.arg(fixture(f));
    }
    let out = cmd
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn markdown_shows_the_hand_computed_means_and_sds() {
    let md = stdout_of(&[], &["small.csv"]);
    // hidden 2, eta 0.5: train 80/85/90 → 85.0 ± 5.0; test 70/80/75 → 75.0 ± 5.0; gap 10.0 ± 5.0.
    assert!(
        md.contains("| 2 | 0.5 | 3 | 0 | 85.0 ± 5.0 | 75.0 ± 5.0 | 10.0 ± 5.0 |"),
        "{md}"
    );
    // Pivot of the gap by default.
    assert!(md.contains("| 10 | 5.0 | 18.0 ± 4.2 |"), "{md}");
    assert!(md.contains("sample standard deviation (n − 1)"), "{md}");
}

#[test]
fn merged_shards_give_the_same_report_as_the_whole_file() {
    // shard2 repeats one run of shard1 (a resumed job redid it): counted once.
    let whole = stdout_of(&[], &["small.csv"]);
    let shards = stdout_of(&[], &["shard1.csv", "shard2.csv"]);
    assert_eq!(whole, shards);
    assert!(shards.contains("over 7 runs"), "{shards}");
}

#[test]
fn csv_output_reads_back() {
    let text = stdout_of(&["--format", "csv"], &["small.csv"]);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    // hidden 10, eta 0.5: test 0.80 and 0.76, mean 0.78, sd sqrt(0.0008).
    let row = rows
        .iter()
        .find(|r| &r[0] == "10" && &r[1] == "0.5")
        .unwrap();
    assert!((row[6].parse::<f64>().unwrap() - 0.78).abs() <= 5e-7);
    assert!((row[7].parse::<f64>().unwrap() - 0.0008f64.sqrt()).abs() <= 5e-7);
    // One run: no sd.
    let single = rows.iter().find(|r| &r[0] == "30x30").unwrap();
    assert_eq!(&single[5], "");

    let pivot = stdout_of(
        &[
            "--format", "csv", "--table", "pivot", "--metric", "test_acc",
        ],
        &["small.csv"],
    );
    assert!(
        pivot.starts_with("hidden,test_acc_mean@eta=0.05,"),
        "{pivot}"
    );
}

#[test]
fn latex_is_a_booktabs_tabular() {
    let tex = stdout_of(&["--format", "latex"], &["small.csv"]);
    assert_eq!(tex.matches("\\begin{tabular}").count(), 2);
    assert_eq!(tex.matches("\\end{tabular}").count(), 2);
    assert!(
        tex.contains("\\toprule") && tex.contains("$85.0 \\pm 5.0$"),
        "{tex}"
    );
}

#[test]
fn bad_inputs_exit_with_code_2_and_say_why() {
    nnsweep()
        .arg("report")
        .arg(fixture("small.csv"))
        .arg(fixture("other_config.csv"))
        .assert()
        .code(2)
        .stderr(contains("config_hash").and(contains("--force")));
    nnsweep()
        .arg("report")
        .arg(fixture("small.csv"))
        .arg(fixture("other_config.csv"))
        .arg("--force")
        .assert()
        .success()
        .stdout(contains("over 9 runs"));
    nnsweep()
        .arg("report")
        .arg(fixture("missing.csv"))
        .assert()
        .code(2)
        .stderr(contains("missing.csv"));
    nnsweep()
        .arg("report")
        .arg(fixture("small/curves.csv"))
        .assert()
        .code(2)
        .stderr(contains("learning-curves file"));
    nnsweep()
        .arg("report")
        .arg(fixture("small.csv"))
        .args(["--by", "hidden,colour"])
        .assert()
        .code(2)
        .stderr(contains("colour"));
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn rows_cols_and_where_choose_the_pivot_and_the_slice() {
    // Etas as rows, hidden sizes as columns: the same cells, transposed.
    let md = stdout_of(
        &["--rows", "eta", "--cols", "hidden", "--table", "pivot"],
        &["small.csv"],
    );
    assert!(md.contains("| eta \\ hidden | 2 | 10 | 30x30 |"), "{md}");
    assert!(md.contains("| 0.5 | 10.0 ± 5.0 | 18.0 ± 4.2 | – |"), "{md}");
    // --where keeps one slice: only hidden 10 is left.
    let md = stdout_of(&["--where", "hidden=10"], &["small.csv"]);
    assert!(md.contains("over 3 runs"), "{md}");
    assert!(!md.contains("| 2 | 0.5 |"), "{md}");
    // The same axis twice, an unknown axis, or a slice with no run: exit 2, saying why.
    for (args, says) in [
        (vec!["--rows", "eta", "--cols", "eta"], "two different axes"),
        (vec!["--rows", "colour"], "unknown axis"),
        (vec!["--where", "hidden=7"], "no run"),
        (vec!["--where", "seed=1"], "unknown axis"),
    ] {
        nnsweep()
            .arg("report")
            .arg(fixture("small.csv"))
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(says));
    }
}

#[test]
fn csv_values_are_rounded_not_float_noise() {
    let text = stdout_of(&["--format", "csv"], &["small.csv"]);
    for field in text.split([',', '\n']) {
        if let Some((_, decimals)) = field.split_once('.') {
            assert!(decimals.len() <= 6, "{field} in\n{text}");
        }
    }
    // hidden 2, eta 0.5: train 0.80/0.85/0.90 → mean 0.85 exactly as written.
    assert!(text.contains("2,0.5,3,0,0.85,0.05,"), "{text}");
}

#[test]
fn html_page_is_self_contained_and_holds_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    nnsweep()
        .arg("report")
        .arg(fixture("small.csv"))
        .args(["--format", "html", "--out"])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    assert!(
        html.contains("<figure class=\"chart accuracy\"><svg"),
        "accuracy chart"
    );
    assert!(
        html.contains("<figure class=\"chart gap\"><svg"),
        "gap heatmap"
    );
    assert!(html.contains("data-metric=\"gap\" data-mean=\"0.1\" data-sd=\"0.05\">10.0 ± 5.0<"));
    assert!(
        html.contains("Diverged runs") && html.contains("h10-e0.05"),
        "diverged listed"
    );
}
