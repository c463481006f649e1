//! `nnsweep run` and `nnsweep plan` through the real binary.

mod common;

use std::path::Path;

use common::{circles_config, nnsweep, records_without_seconds, write};
use nnsweep::results::read_records;
use predicates::str::contains;

#[test]
fn the_lectures_circles_reach_its_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/circles.toml");
    nnsweep(dir.path())
        .args(["run", config.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("| 10 | 0.005 | 5 | 0 |"));
    let records = read_records(&dir.path().join("results/circles.csv")).unwrap();
    assert_eq!(records.len(), 5);
    let mean = |f: fn(&nnsweep::results::RunRecord) -> f64| {
        records.iter().map(f).sum::<f64>() / records.len() as f64
    };
    // The lecture: about 87 % train and 83 % test.
    assert!(
        mean(|r| r.test_acc) >= 0.80,
        "test {}",
        mean(|r| r.test_acc)
    );
    assert!(
        mean(|r| r.train_acc) >= 0.84,
        "train {}",
        mean(|r| r.train_acc)
    );
    for r in &records {
        assert_eq!((r.n_train, r.n_test, r.n_params), (400, 100, 52));
        assert!((r.gap - (r.train_acc - r.test_acc)).abs() < 1e-12);
        assert!(
            r.train_acc >= r.final_train_acc,
            "best is at least the final"
        );
    }
    let curves = std::fs::read_to_string(dir.path().join("results/circles/curves.csv")).unwrap();
    assert_eq!(
        curves.lines().count(),
        1 + 5 * 11,
        "steps 0, 1000, ..., 10000 per run"
    );
    assert!(dir.path().join("results/circles/summary.tex").exists());
    // The page `run` leaves shows the sweep file as written, comments and all.
    let page = std::fs::read_to_string(dir.path().join("results/circles/summary.html")).unwrap();
    assert!(
        page.contains("<h2>The sweep file</h2>"),
        "no sweep file on the page"
    );
    assert!(
        page.contains("kind = &quot;circles&quot;"),
        "the sweep file is not on the page"
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let grid = "hidden = [3, [4, 3]]\neta = [0.02, 0.05]\nseed = [0, 1]";
    write(dir.path(), "s.toml", &circles_config("s", 300, grid));
    for (threads, out) in [("1", "one.csv"), ("2", "two.csv")] {
        nnsweep(dir.path())
            .args(["run", "s.toml", "--threads", threads, "--out", out])
            .assert()
            .success();
    }
    let mut one = records_without_seconds(&dir.path().join("one.csv"));
    let mut two = records_without_seconds(&dir.path().join("two.csv"));
    assert_eq!(one.len(), 8);
    // Rows are written in the order runs finish; the runs themselves must be identical.
    one.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    two.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    assert_eq!(one, two);
}

#[test]
fn a_second_run_trains_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &circles_config("s", 50, "hidden = [3]\neta = [0.05]\nseed = [0, 1]"),
    );
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .success();
    write(
        dir.path(),
        "s.toml",
        &circles_config("s", 50, "hidden = [3]\neta = [0.05]\nseed = [0, 1, 2]"),
    );
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .success()
        .stderr(contains("3 runs, 1 to train (2 already in"));
    let ids: Vec<String> = read_records(&dir.path().join("results/s.csv"))
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids[2].ends_with("seed2"));
}

#[test]
fn a_results_file_of_another_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &circles_config("s", 50, "hidden = [3]\neta = [0.05]\nseed = [0]"),
    );
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .success();
    let other = circles_config("s", 60, "hidden = [3]\neta = [0.05]\nseed = [0]");
    write(dir.path(), "s.toml", &other);
    nnsweep(dir.path())
        .args(["run", "s.toml"])
        .assert()
        .code(2)
        .stderr(contains("results/s.csv holds results of another config"));
}

#[test]
fn each_config_error_exits_2_and_names_the_key() {
    let good = circles_config("s", 50, "hidden = [3]\neta = [0.05]\nseed = [0]");
    let cases = [
        ("eta = [0.05]", "eta = [-1.0]", "line 12", "learning rate"),
        ("eta = [0.05]", "eta = []", "line 12", "empty"),
        ("hidden = [3]", "hidden = [0]", "line 11", "at least 1"),
        ("steps = 50", "steps = 0", "line 8", "at least 1"),
        (
            "noise = 0.1",
            "nois = 0.1",
            "line 5",
            "unknown field `nois`",
        ),
        (
            "seed = [0]",
            "seed = [0]\ntrain_size = [500]",
            "`grid.train_size`",
            "only 160",
        ),
        (
            "kind = \"circles\"",
            "kind = \"squares\"",
            "line 3",
            "unknown variant `squares`",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (from, to, place, what) in cases {
        let text = good.replacen(from, to, 1);
        assert_ne!(text, good, "{from} must be in the config");
        write(dir.path(), "bad.toml", &text);
        for command in ["run", "plan"] {
            nnsweep(dir.path())
                .args([command, "bad.toml"])
                .assert()
                .code(2)
                .stderr(contains("bad.toml"))
                .stderr(contains(place))
                .stderr(contains(what));
        }
    }
    assert!(!dir.path().join("results").exists(), "nothing ran");
    nnsweep(dir.path())
        .args(["run", "missing.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read config file missing.toml"));
}

#[test]
fn plan_lists_the_runs_without_training() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "s.toml",
        &circles_config("s", 50, "hidden = [3, 5]\neta = [0.05]\nseed = [0, 1, 2]"),
    );
    nnsweep(dir.path())
        .args(["plan", "s.toml"])
        .assert()
        .success()
        .stdout(contains(
            "s: 6 runs on circles (160 train / 40 test samples",
        ))
        .stdout(contains("h5_eta0.05_l2=0_steps50_seed2"));
    assert!(!dir.path().join("results").exists());
}

#[cfg(unix)]
#[test]
fn a_killed_sweep_leaves_only_whole_rows() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<String> = (0..200).map(|s| s.to_string()).collect();
    let grid = format!("hidden = [8]\neta = [0.05]\nseed = [{}]", seeds.join(", "));
    write(dir.path(), "s.toml", &circles_config("s", 2000, &grid));
    let bin = assert_cmd::cargo::cargo_bin("nnsweep");
    let mut child = std::process::Command::new(bin)
        .args(["run", "s.toml", "--threads", "2"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let results = dir.path().join("results/s.csv");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&results).map_or(0, |t| t.lines().count()) < 4 {
        assert!(Instant::now() < deadline, "no rows after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.ends_with('\n'));
    let records = read_records(&results).unwrap();
    assert_eq!(
        records.len(),
        text.lines().count() - 1,
        "every line is a whole row"
    );
    assert!(records.len() < 200, "killed mid-way");
}

/// The config hash printed by `plan` for the sweep file `s.toml` in `dir`.
fn planned_hash(dir: &Path) -> String {
    let out = nnsweep(dir).args(["plan", "s.toml"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let after = text
        .split("config hash ")
        .nth(1)
        .expect("plan prints the hash");
    after.split_whitespace().next().unwrap().to_string()
}

#[test]
fn the_config_hash_follows_the_data_not_where_they_are() {
    let table = "x1,x2,label\n0.1,0.2,0\n0.9,0.8,1\n0.2,0.1,0\n0.8,0.9,1\n0.3,0.2,0\n0.7,0.9,1\n";
    let config = "name = \"s\"\n[data]\nkind = \"csv\"\npath = \"table.csv\"\nlabel_column = \"label\"\n\
                  test_fraction = 0.34\n[train]\nsteps = 10\n[grid]\nhidden = [2]\neta = [0.1]\nseed = [0]\n";
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [a.path(), b.path()] {
        write(dir, "table.csv", table);
        write(dir, "s.toml", config);
    }
    let hash = planned_hash(a.path());
    assert_eq!(
        planned_hash(b.path()),
        hash,
        "moving a sweep keeps its hash"
    );
    write(b.path(), "table.csv", &table.replace("0.9,0.8", "0.9,0.7"));
    assert_ne!(planned_hash(b.path()), hash, "other data, other hash");
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/small.csv");
    // The reading end is closed before the child starts, like `| head` that has read enough:
    // closing it after spawning raced the child, which could write its few hundred bytes into
    // the pipe's buffer first and exit 0.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("nnsweep"))
        .args(["report", fixture.to_str().unwrap()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "ended by SIGPIPE, as Unix tools are"
    );
}
