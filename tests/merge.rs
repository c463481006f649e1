//! `nnsweep merge`: shards of a real sweep (trained through the binary with `--shard k/N`),
//! merged, give the same report, curves chart and boundary chart (test points included) as the
//! unsharded sweep.

mod common;

use std::path::Path;

use common::{nnsweep, records_without_seconds, write};

const SWEEP: &str = "name = \"m\"\n\
[data]\nkind = \"circles\"\nsamples = 120\nseed = 3\n\
[train]\nsteps = 300\nlog_every = 100\n\
[grid]\nhidden = [4, 8]\neta = [0.01]\nseed = [0, 1]\n\
[output]\nsave_models = true\n";

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = nnsweep(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "nnsweep {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sorted(mut v: Vec<nnsweep::results::RunRecord>) -> Vec<nnsweep::results::RunRecord> {
    v.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    v
}

#[test]
fn merged_shards_report_and_plot_like_the_unsharded_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "m.toml", SWEEP);
    run_ok(
        d,
        &["run", "m.toml", "--out", "whole/m.csv", "--threads", "1"],
    );
    for k in ["0/2", "1/2"] {
        run_ok(d, &["run", "m.toml", "--shard", k, "--threads", "1"]);
    }
    let shards = ["results/m.shard-0-of-2.csv", "results/m.shard-1-of-2.csv"];
    let mut args = vec!["merge"];
    args.extend(shards);
    args.extend(["--out", "merged/m.csv"]);
    run_ok(d, &args);

    // Every run once, the same numbers; curves and models in the normal layout.
    assert_eq!(
        sorted(records_without_seconds(&d.join("merged/m.csv"))),
        sorted(records_without_seconds(&d.join("whole/m.csv")))
    );
    let curves = |p: &str| {
        let mut c = nnsweep::results::read_curves(&d.join(p)).unwrap();
        c.sort_by(|a, b| (&a.run_id, a.step).cmp(&(&b.run_id, b.step)));
        c
    };
    let whole_curves = curves("whole/m/curves.csv");
    assert_eq!(whole_curves.len(), 4 * 4, "4 runs × steps 0,100,200,300");
    assert_eq!(curves("merged/m/curves.csv"), whole_curves);
    for ext in ["md", "csv", "tex", "html"] {
        assert!(d.join(format!("merged/m/summary.{ext}")).exists(), "{ext}");
    }

    // The same report, curves chart and boundary chart.
    assert_eq!(
        run_ok(d, &["report", "merged/m.csv"]),
        run_ok(d, &["report", "whole/m.csv"])
    );
    let id = &records_without_seconds(&d.join("whole/m.csv"))[0].run_id;
    // The models, test points included, are the unsharded sweep's.
    let model = |sweep: &str| {
        nnsweep::model_file::load(&d.join(format!("{sweep}/m/models/{id}.model"))).unwrap()
    };
    let whole_model = model("whole");
    let n_test = whole_model.test_points.as_ref().map(|t| t.labels.len());
    assert_eq!(
        n_test,
        Some(24),
        "120 samples × 0.2 test points in the model"
    );
    assert_eq!(model("merged"), whole_model);
    for (name, kind_args) in [
        (
            "curves",
            vec!["--kind", "curves", "--group", "hidden=4,eta=0.01"],
        ),
        ("boundary", vec!["--kind", "boundary", "--run", id.as_str()]),
    ] {
        for sweep in ["whole", "merged"] {
            let mut a = vec![
                "plot",
                if sweep == "whole" {
                    "whole/m.csv"
                } else {
                    "merged/m.csv"
                },
            ];
            a.extend(kind_args.iter().copied());
            let out = format!("{sweep}-{name}.svg");
            a.extend(["--out", out.as_str()]);
            run_ok(d, &a);
        }
        let whole = std::fs::read(d.join(format!("whole-{name}.svg"))).unwrap();
        let merged = std::fs::read(d.join(format!("merged-{name}.svg"))).unwrap();
        assert!(whole.len() > 1000, "{name} chart is nearly empty");
        assert!(whole == merged, "the {name} charts differ");
        if name == "boundary" {
            // Test points drawn, one ring each (plus one per class in the legend).
            let svg = String::from_utf8(merged).unwrap();
            let rings = svg.matches("fill=\"none\" stroke=\"#1F77B4\"").count()
                + svg.matches("fill=\"none\" stroke=\"#FF7F0E\"").count();
            assert_eq!(rings, 24 + 2, "test rings on the merged boundary chart");
        }
    }
}

#[test]
fn merge_never_writes_over_a_file_and_refuses_other_configs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "m.toml", SWEEP);
    run_ok(d, &["run", "m.toml", "--shard", "0/2", "--threads", "1"]);
    let shard = "results/m.shard-0-of-2.csv";

    // An existing target, even one that is not a results file, is left byte for byte alone.
    write(d, "notes.csv", "my notes\n");
    let out = nnsweep(d)
        .args(["merge", shard, "--out", "notes.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notes.csv") && err.contains("exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(d.join("notes.csv")).unwrap(),
        "my notes\n"
    );
    assert!(!d.join("notes").exists());

    // Merging a shard onto itself is refused too.
    let out = nnsweep(d)
        .args(["merge", shard, "--out", shard])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // A shard of another config (other data) is refused, nothing written.
    write(d, "other.toml", &SWEEP.replace("seed = 3", "seed = 4"));
    run_ok(
        d,
        &["run", "other.toml", "--shard", "1/2", "--threads", "1"],
    );
    let out = nnsweep(d)
        .args([
            "merge",
            shard,
            "results/m.shard-1-of-2.csv",
            "--out",
            "x.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config"), "{err}");
    assert!(!d.join("x.csv").exists() && !d.join("x").exists());
}
