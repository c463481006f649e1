//! The report library on hand-made results files whose means and sds were computed by hand.

mod common;

use common::report_fixture as fixture;

use nnsweep::report::{self, GroupKey, Metric, Stat, Tables};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn assert_stat(s: Stat, mean: f64, sd: Option<f64>) {
    assert!(close(s.mean, mean), "mean {} != {mean}", s.mean);
    match (s.sd, sd) {
        (Some(a), Some(b)) => assert!(close(a, b), "sd {a} != {b}"),
        (a, b) => assert_eq!(a, b),
    }
}

#[test]
fn means_and_sample_sds_match_the_hand_computation() {
    let loaded = report::load(&[fixture("small.csv")], false).unwrap();
    let s = report::summarize(&loaded.records, &[]);
    assert_eq!(s.keys, [GroupKey::HIDDEN, GroupKey::ETA]);
    let labels: Vec<String> = s
        .groups
        .iter()
        .map(|g| format!("{}@{}", g.key[0], g.key[1]))
        .collect();
    // Numeric order of sizes, then eta ascending; "30x30" (two layers) after the one-layer nets.
    assert_eq!(labels, ["2@0.5", "10@0.05", "10@0.5", "30x30@0.05"]);

    // hidden 2, eta 0.5, three seeds.
    // train 0.80, 0.85, 0.90: mean 0.85; deviations -0.05, 0, 0.05; ss = 0.005; /2 = 0.0025; sd 0.05.
    // test 0.70, 0.80, 0.75: mean 0.75; deviations -0.05, 0.05, 0; sd 0.05 likewise.
    // gap 0.10, 0.05, 0.15: mean 0.10; deviations 0, -0.05, 0.05; sd 0.05.
    let g = &s.groups[0];
    assert_eq!((g.runs, g.diverged), (3, 0));
    assert_stat(g.train_acc, 0.85, Some(0.05));
    assert_stat(g.test_acc, 0.75, Some(0.05));
    assert_stat(g.gap, 0.10, Some(0.05));

    // hidden 10, eta 0.05: one run, which diverged: no sd.
    let g = &s.groups[1];
    assert_eq!((g.runs, g.diverged), (1, 1));
    assert_stat(g.train_acc, 0.90, None);
    assert_stat(g.gap, 0.05, None);

    // hidden 10, eta 0.5, two seeds.
    // train 0.95, 0.97: mean 0.96; deviations ±0.01; ss = 0.0002; /1; sd = sqrt(0.0002) = 0.0141421...
    // test 0.80, 0.76: mean 0.78; deviations ±0.02; ss = 0.0008; sd = sqrt(0.0008) = 0.0282843...
    // gap 0.15, 0.21: mean 0.18; deviations ±0.03; ss = 0.0018; sd = sqrt(0.0018) = 0.0424264...
    let g = &s.groups[2];
    assert_eq!(g.runs, 2);
    assert_stat(g.train_acc, 0.96, Some(0.000_2f64.sqrt()));
    assert_stat(g.test_acc, 0.78, Some(0.000_8f64.sqrt()));
    assert_stat(g.gap, 0.18, Some(0.001_8f64.sqrt()));

    // The same numbers in percent, one decimal, in the Markdown table.
    let md = report::to_markdown(&s, Metric::Gap, Tables::Both);
    assert!(
        md.contains("| 2 | 0.5 | 3 | 0 | 85.0 ± 5.0 | 75.0 ± 5.0 | 10.0 ± 5.0 |"),
        "{md}"
    );
    assert!(
        md.contains("| 10 | 0.5 | 2 | 0 | 96.0 ± 1.4 | 78.0 ± 2.8 | 18.0 ± 4.2 |"),
        "{md}"
    );
    assert!(
        md.contains("| 10 | 0.05 | 1 | 1 | 90.0 | 85.0 | 5.0 |"),
        "{md}"
    );
    assert!(md.contains("sample standard deviation (n − 1)"), "{md}");
    // Pivot of the gap: rows 2, 10, 30x30; columns 0.05, 0.5.
    assert!(md.contains("| hidden \\ eta | 0.05 | 0.5 |"), "{md}");
    assert!(md.contains("| 2 | – | 10.0 ± 5.0 |"), "{md}");
    assert!(md.contains("| 10 | 5.0 | 18.0 ± 4.2 |"), "{md}");
    assert!(md.contains("| 30x30 | 20.0 | – |"), "{md}");
}

#[test]
fn csv_output_reads_back_to_the_same_numbers() {
    let loaded = report::load(&[fixture("small.csv")], false).unwrap();
    let s = report::summarize(&loaded.records, &[]);
    let text = report::to_csv(&s, Metric::Gap, Tables::Long).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "hidden",
            "eta",
            "runs",
            "diverged",
            "train_acc_mean",
            "train_acc_sd",
            "test_acc_mean",
            "test_acc_sd",
            "gap_mean",
            "gap_sd"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), s.groups.len());
    for (row, g) in rows.iter().zip(&s.groups) {
        assert_eq!(row[0], g.key[0].to_string());
        assert_eq!(
            row[1].parse::<f64>().unwrap(),
            g.key[1].to_string().parse().unwrap()
        );
        assert_eq!(row[2].parse::<usize>().unwrap(), g.runs);
        for (i, stat) in [(4, g.train_acc), (6, g.test_acc), (8, g.gap)] {
            // Rounded to 6 decimals: within half a millionth, and exactly the rounded value.
            let mean = row[i].parse::<f64>().unwrap();
            assert!((mean - stat.mean).abs() <= 5e-7, "{mean} vs {}", stat.mean);
            assert_eq!(row[i].to_string(), report::rounded(stat.mean));
            match stat.sd {
                Some(sd) => assert!((row[i + 1].parse::<f64>().unwrap() - sd).abs() <= 5e-7),
                None => assert_eq!(&row[i + 1], ""),
            }
        }
    }

    let pivot = report::to_csv(&s, Metric::TestAcc, Tables::Pivot).unwrap();
    let mut rdr = csv::Reader::from_reader(pivot.as_bytes());
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "hidden",
            "test_acc_mean@eta=0.05",
            "test_acc_sd@eta=0.05",
            "test_acc_mean@eta=0.5",
            "test_acc_sd@eta=0.5"
        ]
    );
    assert_eq!(rdr.records().count(), 3);
    assert!(report::to_csv(&s, Metric::Gap, Tables::Both).is_err());
}

#[test]
fn latex_tabulars_are_balanced() {
    let loaded = report::load(&[fixture("small.csv")], false).unwrap();
    let s = report::summarize(&loaded.records, &[]);
    let tex = report::to_latex(&s, Metric::Gap, Tables::Both);
    assert_eq!(tex.matches("\\begin{tabular}").count(), 2, "{tex}");
    assert_eq!(tex.matches("\\end{tabular}").count(), 2, "{tex}");
    for (i, part) in tex.split("\\begin{tabular}").skip(1).enumerate() {
        let body = &part[..part.find("\\end{tabular}").unwrap()];
        // The column spec {rrrrccc} gives the number of cells each row must have.
        let spec = &body[1..body.find('}').unwrap()];
        let cols = spec.chars().filter(|c| "lrc".contains(*c)).count();
        assert_eq!(body.matches("\\toprule").count(), 1);
        assert_eq!(body.matches("\\midrule").count(), 1);
        assert_eq!(body.matches("\\bottomrule").count(), 1);
        let rows: Vec<&str> = body
            .lines()
            .filter(|l| l.ends_with("\\\\") && !l.contains("\\multicolumn"))
            .collect();
        // Long table: header + 4 groups; pivot: header + 3 hidden sizes.
        assert_eq!(rows.len(), if i == 0 { 5 } else { 4 }, "{body}");
        for row in rows {
            let cells = row.matches('&').count() - row.matches("\\&").count() + 1;
            assert_eq!(cells, cols, "row {row:?} in a {cols}-column tabular");
            // Every $ opened is closed.
            assert_eq!(row.matches('$').count() % 2, 0, "{row}");
        }
    }
    assert!(tex.contains("$85.0 \\pm 5.0$"), "{tex}");
    assert!(tex.contains("30$\\times$30"), "{tex}");
    assert!(tex.contains("train acc (\\%)"), "{tex}");
}

#[test]
fn merged_shards_count_each_run_once() {
    let whole = report::load(&[fixture("small.csv")], false).unwrap();
    // shard2 repeats run h2-e0.5-s2 of shard1 with only a different wall-clock time.
    let merged = report::load(&[fixture("shard1.csv"), fixture("shard2.csv")], false).unwrap();
    assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
    assert_eq!(merged.records.len(), 7);
    let a = report::summarize(&whole.records, &[]);
    let b = report::summarize(&merged.records, &[]);
    assert_eq!(a, b);
}

#[test]
fn grouping_by_hidden_only_pools_the_etas() {
    let loaded = report::load(&[fixture("small.csv")], false).unwrap();
    let s = report::summarize(&loaded.records, &[GroupKey::HIDDEN]);
    let runs: Vec<usize> = s.groups.iter().map(|g| g.runs).collect();
    assert_eq!(runs, [3, 3, 1]);
    // No pivot without both hidden and eta.
    assert!(s.pivots(Metric::Gap).is_empty());
}

#[test]
fn bad_inputs_are_refused_with_the_file_named() {
    let err = report::load(&[fixture("small.csv"), fixture("other_config.csv")], false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other_config.csv") && err.contains("--force"),
        "{err}"
    );
    let forced = report::load(&[fixture("small.csv"), fixture("other_config.csv")], true).unwrap();
    assert_eq!(forced.records.len(), 9);

    let err = report::load(&[fixture("curves.csv")], false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("curves.csv") && err.contains("not a results file"),
        "{err}"
    );

    let err = report::load(&[fixture("missing.csv")], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.csv"), "{err}");
}

#[test]
fn run_writes_four_summaries_beside_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("sweep.csv");
    std::fs::copy(fixture("small.csv"), &results).unwrap();
    let written = report::write_summaries(&results).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["summary.md", "summary.csv", "summary.tex", "summary.html"]
    );
    assert!(written
        .iter()
        .all(|p| p.parent() == Some(dir.path().join("sweep").as_path())));
    for p in written {
        assert!(std::fs::metadata(p).unwrap().len() > 100);
    }
}
