//! `nnsweep plot` through the real binary: pictures of the asked size that are not blank, SVG
//! that parses, and the decision boundary of a circles model saved by `nnsweep run`.

mod common;

use common::nnsweep_in_repo as nnsweep;
use common::report_fixture as fixture;

use std::collections::HashSet;
use std::path::Path;

use predicates::prelude::*;
use predicates::str::contains;

/// Decodes a PNG; returns its size and its set of distinct colours.
fn png_colours(path: &Path) -> ((u32, u32), HashSet<[u8; 3]>) {
    let img = image::open(path).unwrap().to_rgb8();
    let colours = img.pixels().map(|p| p.0).collect();
    (img.dimensions(), colours)
}

fn has_colour_near(colours: &HashSet<[u8; 3]>, want: [u8; 3]) -> bool {
    colours.iter().any(|c| {
        c.iter()
            .zip(want)
            .all(|(&a, b)| (a as i32 - b as i32).abs() <= 4)
    })
}

#[test]
fn png_charts_have_the_asked_size_and_real_content() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, extra, size) in [
        ("accuracy", vec![], (640u32, 480u32)),
        ("gap", vec![], (500, 400)),
        ("curves", vec!["--group", "hidden=2,eta=0.5"], (1200, 700)),
    ] {
        let out = dir.path().join(format!("{kind}.png"));
        nnsweep()
            .arg("plot")
            .arg(fixture("small.csv"))
            .args(["--kind", kind, "--out"])
            .arg(&out)
            .args([
                "--width",
                &size.0.to_string(),
                "--height",
                &size.1.to_string(),
            ])
            .args(&extra)
            .assert()
            .success()
            .stderr(contains("wrote"));
        let (dims, colours) = png_colours(&out);
        assert_eq!(dims, size, "{kind}");
        // White background, black text and axes, and the data colours at least; anti-aliased
        // text alone brings dozens of greys.
        assert!(colours.len() > 20, "{kind}: only {} colours", colours.len());
        assert!(
            colours.contains(&[255, 255, 255]),
            "{kind}: no white background"
        );
        if kind != "gap" {
            // The first palette colour (eta 0.05 / the first run) is drawn.
            assert!(
                has_colour_near(&colours, [31, 119, 180]),
                "{kind}: no blue series"
            );
        }
    }
}

#[test]
fn svg_charts_parse_as_xml_with_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["accuracy", "gap", "curves"] {
        let out = dir.path().join(format!("{kind}.svg"));
        let mut cmd = nnsweep();
        cmd.arg("plot")
            .arg(fixture("small.csv"))
            .args(["--kind", kind, "--out"])
            .arg(&out);
        if kind == "curves" {
            cmd.args(["--runs", "h2-e0.5-s1,h10-e0.5-s1"]);
        }
        cmd.assert().success();
        let text = std::fs::read_to_string(&out).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("width"), Some("900"));
        assert_eq!(root.attribute("height"), Some("600"));
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::trim))
            .collect();
        let want = match kind {
            "accuracy" => "accuracy (%)",
            "gap" => "learning rate η",
            _ => "gradient-descent step",
        };
        assert!(texts.contains(&want), "{kind}: {texts:?}");
    }
}

#[test]
fn bad_plot_requests_exit_with_code_2() {
    let dir = tempfile::tempdir().unwrap();
    nnsweep()
        .arg("plot")
        .arg(fixture("small.csv"))
        .args(["--kind", "gap", "--out"])
        .arg(dir.path().join("gap.jpg"))
        .assert()
        .code(2)
        .stderr(contains(".png or .svg"));
    nnsweep()
        .args(["plot", "--kind", "accuracy", "--out"])
        .arg(dir.path().join("a.png"))
        .assert()
        .code(2)
        .stderr(contains("needs a results file"));
    nnsweep()
        .arg("plot")
        .arg(fixture("small.csv"))
        .args(["--kind", "curves", "--runs", "no-such-run", "--out"])
        .arg(dir.path().join("c.png"))
        .assert()
        .code(2)
        .stderr(contains("no-such-run"));
    nnsweep()
        .args(["plot", "--kind", "boundary", "--model"])
        .arg(dir.path().join("none.model"))
        .arg("--out")
        .arg(dir.path().join("b.png"))
        .assert()
        .code(2)
        .stderr(contains("none.model"));
}

#[test]
fn flags_of_another_kind_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, flag, value, says) in [
        (
            "gap",
            "--group",
            "hidden=10",
            "--group does not apply to --kind gap",
        ),
        (
            "accuracy",
            "--run",
            "x",
            "--run does not apply to --kind accuracy",
        ),
        (
            "boundary",
            "--where",
            "hidden=10",
            "--where does not apply to --kind boundary",
        ),
        ("curves", "--x", "l2", "--x does not apply to --kind curves"),
        ("gap", "--x", "l2", "it is for --kind accuracy"),
    ] {
        nnsweep()
            .arg("plot")
            .arg(fixture("small.csv"))
            .args(["--kind", kind, flag, value, "--out"])
            .arg(dir.path().join("c.svg"))
            .assert()
            .code(2)
            .stderr(contains(says));
        assert!(!dir.path().join("c.svg").exists());
    }
}

#[test]
fn accuracy_against_another_axis_uses_a_log_scale_past_ten_times() {
    // small.csv's etas are 0.05 and 0.5: exactly 10×, a linear axis; a sweep of hidden 2 to
    // 30 is past 10× (but 30x30 has no single size, so slots).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.svg");
    nnsweep()
        .arg("plot")
        .arg(fixture("small.csv"))
        .args(["--kind", "accuracy", "--x", "eta", "--out"])
        .arg(&out)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("vs η") && !svg.contains("log scale"), "{svg}");
    assert!(svg.contains("hidden = 2"), "one colour per hidden size");
}

/// Trains circles with `nnsweep run` and `[output] save_models`, then draws one saved model.
#[test]
fn boundary_of_a_circles_model_saved_by_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("circles_small.toml");
    std::fs::write(
        &config,
        r#"
name = "circles_small"
[data]
kind = "circles"
samples = 200
noise = 0.05
factor = 0.5
test_fraction = 0.2
seed = 0
[train]
steps = 1500
[grid]
hidden = [10]
eta = [0.05]
seed = [0]
[output]
save_models = true
"#,
    )
    .unwrap();
    let results = dir.path().join("results/circles_small.csv");
    nnsweep()
        .arg("run")
        .arg(&config)
        .arg("--out")
        .arg(&results)
        .assert()
        .success();
    let records = nnsweep::results::read_records(&results).unwrap();
    assert_eq!(records.len(), 1);
    let run_id = &records[0].run_id;
    let model_path = dir
        .path()
        .join(format!("results/circles_small/models/{run_id}.model"));
    let model = nnsweep::model_file::load(&model_path).unwrap();
    assert_eq!(model.network.sizes(), [2, 10, 2]);
    assert_eq!(model.points.as_ref().unwrap().labels.len(), 160);

    let out = dir.path().join("boundary.png");
    nnsweep()
        .arg("plot")
        .arg(&results)
        .args(["--kind", "boundary", "--run", run_id, "--out"])
        .arg(&out)
        .args(["--width", "700", "--height", "500"])
        .assert()
        .success();
    let (dims, colours) = png_colours(&out);
    assert_eq!(dims, (700, 500));
    // Both class regions are painted (palette colour at 28 % over white), and both classes'
    // points drawn: the model separates the circles rather than predicting one class.
    for base in [[31u8, 119, 180], [255, 127, 14]] {
        let region = base.map(|c| (255.0 + (c as f64 - 255.0) * 0.28).round() as u8);
        assert!(has_colour_near(&colours, region), "no region {region:?}");
        assert!(has_colour_near(&colours, base), "no points {base:?}");
    }

    let svg = dir.path().join("boundary.svg");
    nnsweep()
        .args(["plot", "--kind", "boundary", "--model"])
        .arg(&model_path)
        .arg("--out")
        .arg(&svg)
        .assert()
        .success();
    roxmltree::Document::parse(&std::fs::read_to_string(&svg).unwrap()).unwrap();
}

#[test]
fn where_draws_one_slice_of_a_sweep_with_more_axes() {
    let dir = tempfile::tempdir().unwrap();
    // small.csv with its rows duplicated at another training size: two slices of one sweep.
    let text = std::fs::read_to_string(fixture("small.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut both = format!("{header}\n");
    for line in lines {
        both.push_str(&format!("{line}\n"));
        let other = line
            .replacen(",400,", ",200,", 1)
            .replacen(',', "-n200,", 1);
        both.push_str(&format!("{other}\n"));
    }
    let results = dir.path().join("sizes.csv");
    std::fs::write(&results, both).unwrap();
    let out = dir.path().join("a.png");
    nnsweep()
        .arg("plot")
        .arg(&results)
        .args(["--kind", "accuracy", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("n_train also vary; the chart pools them"));
    nnsweep()
        .arg("plot")
        .arg(&results)
        .args(["--kind", "gap", "--where", "n_train=200", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(contains("pools").not());
    nnsweep()
        .arg("plot")
        .arg(&results)
        .args(["--kind", "accuracy", "--where", "n_train=300", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains(
            "no run in the results matches --where n_train=300",
        ));
}
