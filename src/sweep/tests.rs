//! Tests of the sweep session: resume, other configs, --fresh, the order of writes.

use super::lock::{hostname, Lock};
use super::*;
use crate::results::COLUMNS;
use std::io::Write;

fn record(run_id: &str, hash: &str) -> RunRecord {
    RunRecord {
        n_train: 4,
        n_test: 2,
        hidden: "2".into(),
        n_params: 12,
        eta: 0.1,
        seed: 0,
        steps: 10,
        best_step: 3,
        train_acc: 0.75,
        test_acc: 0.5,
        gap: 0.25,
        final_train_acc: 0.75,
        final_test_acc: 0.5,
        final_cost: 1.5,
        seconds: 0.01,
        config_hash: hash.into(),
        ..crate::results::sample(run_id)
    }
}

fn net() -> Network {
    Network::init(&[2, 2, 2], 0)
}

fn points() -> (ndarray::Array2<f64>, Vec<u8>) {
    (ndarray::Array2::zeros((2, 4)), vec![0, 1, 0, 1])
}

/// Writes run "a" of config "h1" (its row, curve, model and points), as a finished run does.
fn write_a(session: &mut Session) {
    let (x, labels) = points();
    session
        .write_run(
            &record("a", "h1"),
            &CURVE,
            &net(),
            (x.view(), &labels),
            (x.view(), &labels),
        )
        .unwrap();
}

const CURVE: [CurvePoint; 1] = [CurvePoint {
    step: 10,
    train_acc: 0.75,
    val_acc: None,
    test_acc: 0.5,
    cost: 1.5,
}];

fn options() -> Options {
    Options {
        curves: true,
        save_models: true,
        ..Options::default()
    }
}

#[test]
fn a_written_run_is_done_when_the_session_is_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let mut session = Session::open(files.clone(), "h1", &options()).unwrap();
    assert!(session.done().is_empty());
    write_a(&mut session);
    assert!(session.done().contains("a"));
    drop(session);
    let session = Session::open(files.clone(), "h1", &options()).unwrap();
    assert_eq!(session.done().iter().collect::<Vec<_>>(), vec!["a"]);
    assert!(files.model("a").exists());
    let curves = std::fs::read_to_string(files.curves()).unwrap();
    assert_eq!(curves.lines().count(), 2, "{curves}");
    let rows = std::fs::read_to_string(files.results()).unwrap();
    assert!(rows.starts_with(&COLUMNS.join(",")), "{rows}");
}

#[test]
fn rows_of_another_config_are_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let mut session = Session::open(files.clone(), "h1", &options()).unwrap();
    write_a(&mut session);
    drop(session);
    let before = std::fs::read(files.results()).unwrap();
    let Err(e) = Session::open(files.clone(), "h2", &options()) else {
        panic!("another config's file was opened");
    };
    assert!(matches!(e, SweepError::OtherConfig { .. }), "{e}");
    assert!(e.to_string().contains("--fresh"), "{e}");
    assert_eq!(std::fs::read(files.results()).unwrap(), before);
    let forced = Options {
        force: true,
        ..options()
    };
    let session = Session::open(files, "h2", &forced).unwrap();
    assert!(session.done().is_empty());
    assert!(
        session.notes()[0].contains("--force"),
        "{:?}",
        session.notes()
    );
}

#[test]
fn fresh_moves_the_file_and_the_folder_aside() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let mut session = Session::open(files.clone(), "h1", &options()).unwrap();
    write_a(&mut session);
    drop(session);
    let fresh = Options {
        fresh: true,
        ..options()
    };
    let session = Session::open(files.clone(), "h2", &fresh).unwrap();
    assert!(session.done().is_empty());
    assert_eq!(session.notes().len(), 2, "{:?}", session.notes());
    assert!(!files.model("a").exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("r.csv.old-")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("r.old-")), "{names:?}");
}

#[test]
fn utc_stamps_are_civil_dates() {
    use std::time::Duration;
    let at = |s: u64| utc_stamp(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    assert_eq!(at(0), "19700101T000000Z");
    assert_eq!(at(951_782_400), "20000229T000000Z");
    assert_eq!(at(1_709_251_199), "20240229T235959Z");
    assert_eq!(at(1_735_689_600 + 3_661), "20250101T010101Z");
}

#[test]
fn moving_aside_keeps_the_file_under_a_new_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    assert_eq!(move_aside(&path).unwrap(), None);
    std::fs::write(&path, "one").unwrap();
    let first = move_aside(&path).unwrap().unwrap();
    std::fs::write(&path, "two").unwrap();
    let second = move_aside(&path).unwrap().unwrap();
    assert_ne!(first, second);
    assert!(!path.exists());
    assert_eq!(std::fs::read_to_string(first).unwrap(), "one");
    assert_eq!(std::fs::read_to_string(&second).unwrap(), "two");
    assert!(second.to_string_lossy().contains("r.csv.old-"));
}

#[test]
fn a_second_session_on_one_results_file_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let first = Session::open(files.clone(), "h1", &options()).unwrap();
    let before = std::fs::read(files.results()).unwrap();
    let Err(e) = Session::open(files.clone(), "h1", &options()) else {
        panic!("two writers");
    };
    assert!(matches!(e, SweepError::Locked { .. }), "{e}");
    let message = e.to_string();
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert_eq!(std::fs::read(files.results()).unwrap(), before);
    drop(first);
    Session::open(files, "h1", &options()).unwrap();
}

#[test]
fn the_fallback_lock_file_is_exclusive_and_stale_ones_are_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("lock");
    let results = dir.path().join("r.csv");
    let lock = Lock::by_file(&results, &info).unwrap();
    // The lock file is whole the moment it exists (written aside, then linked into place),
    // and the draft is gone.
    let holder = std::fs::read_to_string(&info).unwrap();
    assert!(
        holder.starts_with(&format!("pid {} on ", std::process::id())),
        "{holder}"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["lock"], "only the lock file is left");
    match Lock::by_file(&results, &info) {
        Err(SweepError::Locked { holder, .. }) => {
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            )
        }
        other => panic!("a second lock was taken: {:?}", other.err()),
    }
    drop(lock);
    assert!(!info.exists());
    // A holder on this host whose process is gone: taken over.
    std::fs::write(&info, format!("pid 4000000 on {} since x\n", hostname())).unwrap();
    assert!(Lock::by_file(&results, &info).is_ok());
}

#[test]
fn curve_points_of_runs_without_a_row_are_dropped_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let mut session = Session::open(files.clone(), "h1", &options()).unwrap();
    write_a(&mut session);
    drop(session);
    // Run b wrote its points, then was killed before its row.
    let mut curves = std::fs::OpenOptions::new()
        .append(true)
        .open(files.curves())
        .unwrap();
    curves
        .write_all(b"b,10,0.5,0.5,1\nb,20,0.5,0.5,1\n")
        .unwrap();
    drop(curves);
    let session = Session::open(files.clone(), "h1", &options()).unwrap();
    assert!(
        session.notes().iter().any(|n| n.contains("dropped 2")),
        "{:?}",
        session.notes()
    );
    let text = std::fs::read_to_string(files.curves()).unwrap();
    assert!(!text.contains("\nb,"), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn save_models_set_after_runs_were_done_says_which_lack_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let files = SweepFiles::of_results(&dir.path().join("r.csv"));
    let no_models = Options {
        save_models: false,
        ..options()
    };
    let mut session = Session::open(files.clone(), "h1", &no_models).unwrap();
    write_a(&mut session);
    drop(session);
    let session = Session::open(files, "h1", &options()).unwrap();
    let note = session.notes().join("\n");
    assert!(
        note.contains("1 of the 1 runs") && note.contains("--fresh"),
        "{note}"
    );
}
