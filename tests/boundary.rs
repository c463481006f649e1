//! Decision-boundary charts with their test points: `nnsweep run` keeps the dataset's test split
//! in each 2-D model file (format 2), `plot --kind boundary` rings every test point in its true
//! class's colour, and a format 1 file (nnsweep 0.1, training points only) still loads and plots.

mod common;

use std::path::Path;

use common::{nnsweep, write};
use nnsweep::model_file;

/// A smaller training size than the split, so the test shows the model keeps the samples the
/// run trained on (the first 20) but the whole test split.
const SWEEP: &str = "name = \"b\"\n\
[data]\nkind = \"circles\"\nsamples = 80\nnoise = 0.1\ntest_fraction = 0.25\nseed = 5\n\
[train]\nsteps = 200\nl2 = 0.001\n\
[grid]\nhidden = [4]\neta = [0.05]\nseed = [2]\ntrain_size = [20]\n\
[output]\nsave_models = true\n";

/// Tableau 10's first two colours, as plotters writes them in an SVG: classes 0 and 1.
const CLASS: [&str; 2] = ["#1F77B4", "#FF7F0E"];

fn run_ok(dir: &Path, args: &[&str]) {
    let out = nnsweep(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "nnsweep {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The chart's circles as (fill, stroke) pairs.
fn circles(svg: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| {
            let attr = |a| n.attribute(a).unwrap_or("").to_ascii_uppercase();
            (attr("fill"), attr("stroke"))
        })
        .collect()
}

/// Test rings (hollow, stroked in class `c`'s colour) and training dots (filled with it).
fn markers(circles: &[(String, String)], c: usize) -> (usize, usize) {
    let rings = circles
        .iter()
        .filter(|(fill, stroke)| fill == "NONE" && stroke == CLASS[c])
        .count();
    let dots = circles.iter().filter(|(fill, _)| fill == CLASS[c]).count();
    (rings, dots)
}

fn count(labels: &[u8], c: usize) -> usize {
    labels.iter().filter(|&&l| l as usize == c).count()
}

#[test]
fn saved_models_hold_the_test_split_and_the_chart_rings_every_test_point() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config_path = write(d, "b.toml", SWEEP);
    run_ok(d, &["run", "b.toml", "--threads", "1"]);
    let records = nnsweep::results::read_records(&d.join("results/b.csv")).unwrap();
    assert_eq!(records.len(), 1);
    let id = records[0].run_id.as_str();

    // The model file holds the dataset's test split, every number bit for bit, and the
    // training samples the run used.
    let config = nnsweep::config::Config::load(&config_path).unwrap();
    let dataset = nnsweep::data::load(&config.data).unwrap();
    let path = d.join(format!("results/b/models/{id}.model"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("nnsweep-model 2\n"), "{}", &text[..40]);
    let model = model_file::load(&path).unwrap();
    let test = model.test_points.as_ref().expect("test points in the file");
    assert_eq!(test.labels.len(), 20, "80 samples × 0.25");
    assert_eq!(test.x, dataset.test.x);
    assert_eq!(test.labels, dataset.test.labels);
    let train = model.points.as_ref().expect("training points in the file");
    let (train_x, train_labels) = dataset.train.head(20);
    assert_eq!(train.x, train_x);
    assert_eq!(train.labels, train_labels);

    // The chart: one ring per test point and one dot per training point, each in its true
    // class's colour, plus one of each per class in the legend; the legend names them.
    run_ok(
        d,
        &[
            "plot",
            "results/b.csv",
            "--kind",
            "boundary",
            "--run",
            id,
            "--out",
            "b.svg",
        ],
    );
    let svg = std::fs::read_to_string(d.join("b.svg")).unwrap();
    let all = circles(&svg);
    for c in 0..2 {
        assert!(count(&test.labels, c) > 0, "class {c} in the test split");
        let (rings, dots) = markers(&all, c);
        assert_eq!(rings, count(&test.labels, c) + 1, "class {c} test rings");
        assert_eq!(dots, count(&train.labels, c) + 1, "class {c} training dots");
        assert!(
            svg.contains(&format!("class {c}, test")),
            "legend, class {c}"
        );
    }
    // The title and legend say what the run was (its l2 too, as it is not 0) and scored.
    let r = &records[0];
    for words in [
        "Hidden 4".to_string(),
        "η = 0.05, l2 = 0.001".to_string(),
        "seed 2".to_string(),
        format!(
            "train {:.1} %, test {:.1} %",
            100.0 * r.train_acc,
            100.0 * r.test_acc
        ),
    ] {
        assert!(svg.contains(&words), "{words} is not in the chart");
    }

    // From the model file alone, the legend's accuracies are the model's on the file's points:
    // the same figures as the results row.
    run_ok(
        d,
        &[
            "plot",
            "--kind",
            "boundary",
            "--model",
            path.to_str().unwrap(),
            "--out",
            "alone.svg",
        ],
    );
    let alone = std::fs::read_to_string(d.join("alone.svg")).unwrap();
    assert_eq!(circles(&alone), all);
    assert!(alone.contains(&format!(
        "train {:.1} %, test {:.1} %",
        100.0 * r.train_acc,
        100.0 * r.test_acc
    )));
}

#[test]
fn a_format_1_model_file_still_loads_and_plots() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model");
    let v1 = fixtures.join("v1.model");
    assert!(std::fs::read_to_string(&v1)
        .unwrap()
        .starts_with("nnsweep-model 1\n"));
    let model = model_file::load(&v1).unwrap();
    assert_eq!(model.network.sizes(), [2, 3, 2]);
    assert_eq!(model.points.as_ref().unwrap().labels.len(), 30);
    assert!(model.test_points.is_none());

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v1.svg");
    let results = fixtures.join("v1.csv");
    run_ok(
        dir.path(),
        &[
            "plot",
            results.to_str().unwrap(),
            "--kind",
            "boundary",
            "--model",
            v1.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    let all = circles(&svg);
    let labels = &model.points.as_ref().unwrap().labels;
    for c in 0..2 {
        let (rings, dots) = markers(&all, c);
        assert_eq!(rings, 0, "no test points in a format 1 file");
        assert_eq!(dots, count(labels, c) + 1);
    }
    assert!(!svg.contains(", test<") && svg.contains("Hidden 3, η = 0.05, seed 0"));
}
