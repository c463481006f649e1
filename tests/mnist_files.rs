//! Fixtures written by real numpy 1.x and 2.x (tests/fixtures/make_pickles.py): every form of
//! the same arrays loads to the same dataset, malicious pickles are refused, bad files name
//! what is wrong.

use std::path::PathBuf;

use nnsweep::data::mnist::{load, MnistSpec, Subset};
use nnsweep::data::pickle::PickleErrorKind;
use nnsweep::data::{DataError, Dataset};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn spec(path: PathBuf) -> MnistSpec {
    MnistSpec {
        path,
        train: None,
        test: None,
        validation: None,
        subset: Subset::First,
        seed: 0,
    }
}

fn open(name: &str) -> Result<Dataset, DataError> {
    load(&spec(fixture(name)))
}

#[test]
fn every_protocol_and_numpy_version_gives_the_same_arrays() {
    let reference = open("pickle/np2_p4.pkl").unwrap();
    assert_eq!(
        (
            reference.train.len(),
            reference.test.len(),
            reference.n_features()
        ),
        (3, 2, 784)
    );
    assert_eq!(reference.train.labels, [5, 0, 4]);
    assert_eq!(reference.test.labels, [7, 2]);
    assert_eq!(reference.train.x[[152, 0]], 3.0 / 256.0);
    assert!((reference.train.x.sum() - 304.93359375).abs() < 1e-9);
    assert!((reference.test.x.sum() - 184.78125).abs() < 1e-9);
    for name in [
        "np1_p2.pkl.gz",
        "np1_p4.pkl",
        "np1_p5.pkl.gz",
        "np2_p2.pkl.gz",
        "np2_p5.pkl.gz",
        "py2.pkl.gz",
        "np2_p4_bigendian.pkl.gz",
        "np2_p5_bigendian.pkl.gz",
        "np2_p2_float64.pkl.gz",
        "np1_p2_fortran.pkl.gz",
        "np2_p5_fortran.pkl.gz",
    ] {
        let ds = open(&format!("pickle/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ds, reference, "{name}");
    }
    let valid = load(&MnistSpec {
        validation: Some(2),
        ..spec(fixture("pickle/py2.pkl.gz"))
    })
    .unwrap();
    assert_eq!(valid.validation.expect("asked for").labels, [1, 9]);
    assert_eq!(
        valid.test, reference.test,
        "the test set stays the test set"
    );
}

#[test]
fn byte_pixels_are_scaled_by_1_over_255_in_pickles_and_idx_folders() {
    let u8_pickle = open("pickle/np2_p4_uint8.pkl.gz").unwrap();
    let idx = open("idx/ok").unwrap();
    assert_eq!(idx, u8_pickle);
    assert_eq!(idx.train.x[[152, 0]], 3.0 / 255.0);
    assert!(idx.train.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    let reference = open("pickle/np2_p4.pkl").unwrap();
    assert_eq!(idx.train.labels, reference.train.labels);
    assert_eq!(idx.test.labels, reference.test.labels);
    let rescaled = &idx.train.x * (255.0 / 256.0);
    assert!(rescaled
        .iter()
        .zip(&reference.train.x)
        .all(|(a, b)| (a - b).abs() < 1e-12));
}

#[test]
fn pickles_calling_os_system_or_eval_are_refused_by_name_and_nothing_runs() {
    let marker = std::path::Path::new("/tmp/nnsweep-evil-pickle-ran");
    let _ = std::fs::remove_file(marker);
    for (name, global) in [
        ("pickle/evil_os_system.pkl", "os.system"),
        ("pickle/evil_eval_p4.pkl.gz", "builtins.eval"),
    ] {
        let e = open(name).unwrap_err();
        match &e {
            DataError::Pickle { source, .. } => {
                assert_eq!(
                    source.kind,
                    PickleErrorKind::ForbiddenGlobal(global.into()),
                    "{name}"
                )
            }
            other => panic!("{name}: {other}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains(global) && msg.contains(name.rsplit('/').next().unwrap()),
            "{msg}"
        );
    }
    assert!(!marker.exists());
}

#[test]
fn a_missing_file_says_where_the_course_file_comes_from_and_how_to_set_the_path() {
    let e = open("pickle/no_such_mnist.pkl.gz").unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }));
    let msg = e.to_string();
    for part in [
        "no_such_mnist.pkl.gz",
        "mnist.pkl.gz",
        "[data]",
        "path",
        "data/mnist-small.pkl.gz",
    ] {
        assert!(msg.contains(part), "{part} missing from: {msg}");
    }
}

fn pickle_kind(name: &str) -> PickleErrorKind {
    match open(name) {
        Err(DataError::Pickle { source, .. }) => source.kind,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn files_that_are_not_pickles_or_are_cut_short_are_named_as_such() {
    assert_eq!(
        pickle_kind("pickle/not_a_pickle.pkl.gz"),
        PickleErrorKind::NotAPickle
    );
    assert_eq!(
        pickle_kind("pickle/gzip_not_pickle.pkl.gz"),
        PickleErrorKind::NotAPickle
    );
    assert_eq!(
        pickle_kind("pickle/truncated.pkl"),
        PickleErrorKind::Truncated
    );
    let e = open("pickle/truncated_gzip.pkl.gz").unwrap_err();
    assert!(
        matches!(e, DataError::Gzip { .. }) && e.to_string().contains("truncated"),
        "{e}"
    );
    let e = open("idx/ok/t10k-images-idx3-ubyte").unwrap_err();
    assert!(e.to_string().contains("single IDX file"), "{e}");
}

fn layout_message(name: &str) -> String {
    match open(name) {
        Err(e @ DataError::Layout { .. }) => e.to_string(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn wrong_layouts_lengths_and_labels_are_explained() {
    for name in [
        "pickle/layout_pair.pkl.gz",
        "pickle/layout_two_parts.pkl.gz",
    ] {
        let msg = layout_message(name);
        assert!(msg.contains("(training, validation, test)"), "{msg}");
    }
    let msg = layout_message("pickle/length_mismatch.pkl.gz");
    assert!(
        msg.contains("training") && msg.contains("3 images") && msg.contains("2 labels"),
        "{msg}"
    );
    match open("pickle/label_12.pkl.gz") {
        Err(e @ DataError::Label { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("test label 1 is 12") && msg.contains("0–9"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn idx_folders_check_counts_and_labels() {
    let msg = layout_message("idx/count_mismatch");
    assert!(
        msg.contains("3 images")
            && msg.contains("2 labels")
            && msg.contains("train-labels-idx1-ubyte.gz"),
        "{msg}"
    );
    match open("idx/bad_label") {
        Err(e @ DataError::Label { .. }) => {
            assert!(e.to_string().contains("training label 2 is 10"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let e = load(&MnistSpec {
        validation: Some(1),
        ..spec(fixture("idx/ok"))
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("50000 to 59999") && e.to_string().contains("full"),
        "{e}"
    );
    let empty = tempfile::tempdir().unwrap();
    let e = load(&spec(empty.path().to_path_buf())).unwrap_err();
    assert!(
        matches!(e, DataError::NotFound { .. }) && e.to_string().contains("training images"),
        "{e}"
    );
}
