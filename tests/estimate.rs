//! `nnsweep plan`'s estimates from measurement, and `run`'s ETA, through the real binary.

mod common;

use common::batch::{process as nnsweep, Sweep};

fn plan(dir: &std::path::Path, args: &[&str]) -> String {
    let out = nnsweep(dir).arg("plan").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number after `before` in `text`, up to the next space.
fn number_after(text: &str, before: &str) -> f64 {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("no {before:?} in {text}"))
        + before.len();
    text[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn plan_times_each_shape_and_prints_core_seconds_wall_time_and_the_time_to_ask_for() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep {
        steps: 2000,
        hidden: vec![4, 64],
        etas: vec![5e-3, 1e-2],
        seeds: 2,
        ..Sweep::fast("est")
    };
    sweep.write(dir.path());
    let one = plan(dir.path(), &["est.toml", "--threads", "1"]);
    assert!(one.contains("core-s"), "{one}");
    assert!(
        one.contains("timed on this machine: 2 network shapes in "),
        "{one}"
    );
    let took = number_after(&one, "2 network shapes in ");
    // The budget is 0.8 s (0.3-0.8 s seen on an idle machine); a shape's set-up and first
    // step are outside it, and take up to a second on the shared test machine when it is
    // oversubscribed (load 11 on 2 cores seen), more on a cold CI machine: the bound allows
    // for that, and still fails a measurement more than ten times over its budget.
    assert!(took < 10.0, "measuring took {took} s: {one}");
    let core = number_after(&one, "GFLOP, ");
    assert!(core > 0.0, "{one}");
    assert!(
        one.contains("wall time on 1 thread per job, 1 shard: "),
        "{one}"
    );
    assert!(one.contains("ask for --time 00:0"), "{one}");
    assert!(one.contains("1.5× the wall time + 180 s"), "{one}");
    // The big network costs more per run than the small one (same steps).
    let cost = |id: &str| -> f64 {
        let line = one.lines().find(|l| l.contains(id)).unwrap();
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    assert!(
        cost("h64_eta0.005_l2=0_steps2000_seed0") > cost("h4_eta0.005_l2=0_steps2000_seed0"),
        "{one}"
    );
    let two = plan(dir.path(), &["est.toml", "--threads", "2", "--shards", "2"]);
    assert!(
        two.contains("wall time on 2 threads per job, 2 shards: "),
        "{two}"
    );
    let assumed = plan(dir.path(), &["est.toml", "--no-measure"]);
    assert!(
        assumed.contains("at an assumed 40 GFLOP/s (--no-measure"),
        "{assumed}"
    );
}

#[test]
fn the_prediction_is_near_the_measured_time_of_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = Sweep {
        steps: 3000,
        hidden: vec![2, 32],
        etas: vec![5e-3],
        seeds: 3,
        log_every: 0,
        ..Sweep::fast("near")
    };
    sweep.write(dir.path());
    let predicted = number_after(
        &plan(dir.path(), &["near.toml", "--threads", "1"]),
        "GFLOP, ",
    );
    let run = nnsweep(dir.path())
        .args(["run", "near.toml", "--threads", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let rows = nnsweep::results::read_records(&dir.path().join("results/near.csv")).unwrap();
    let measured: f64 = rows.iter().map(|r| r.seconds).sum();
    // In release builds the prediction was within a few % of these runs (and within 25-35 %
    // on the three sweeps, README). The test profile optimises nnsweep's own code at
    // opt-level 1 only, which slows the timed step more than the training loop (2-4x seen on
    // the shared, busy test machine): there only the order of magnitude is checked.
    let factor = if cfg!(debug_assertions) { 6.0 } else { 2.0 };
    assert!(
        predicted < factor * measured && measured < factor * predicted,
        "predicted {predicted} core-s, the runs took {measured} s"
    );
    // The log's ETA, known after the first run.
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 6, "{stderr}");
    assert!(
        lines[1].contains(", ETA ") && !lines[1].contains("ETA unknown"),
        "{stderr}"
    );
    assert!(lines[5].ends_with("ETA 0.0 s"), "{stderr}");
}
