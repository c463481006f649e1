//! The MNIST sample shipped in data/: the lecture's first 500 training and 100 test images.

use std::path::PathBuf;

use nnsweep::data::mnist::{load, MnistSpec, Subset};
use nnsweep::data::DataError;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mnist-small.pkl.gz")
}

fn spec(train: Option<usize>, test: Option<usize>) -> MnistSpec {
    MnistSpec {
        path: sample(),
        train,
        test,
        validation: None,
        subset: Subset::First,
        seed: 0,
    }
}

fn counts(labels: &[u8]) -> [usize; 10] {
    let mut c = [0; 10];
    for &l in labels {
        c[l as usize] += 1;
    }
    c
}

#[test]
fn the_shipped_sample_is_the_lectures_500_and_100_images() {
    let ds = load(&spec(None, None)).unwrap();
    assert_eq!(
        (ds.name.as_str(), ds.n_classes, ds.n_features()),
        ("mnist", 10, 784)
    );
    assert_eq!((ds.train.len(), ds.test.len()), (500, 100));
    assert_eq!(
        counts(&ds.train.labels),
        [50, 66, 52, 50, 52, 39, 45, 52, 39, 55]
    );
    assert_eq!(
        counts(&ds.test.labels),
        [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    );
    assert_eq!(ds.train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(ds.test.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    // Pixels as the course stores them: byte/256, one image per column.
    assert_eq!(ds.train.x[[152, 0]], 3.0 / 256.0);
    assert_eq!(ds.train.x[[153, 0]], 18.0 / 256.0);
    assert_eq!(ds.train.x[[154, 1]], 48.0 / 256.0);
    assert_eq!(ds.train.x[[155, 1]], 238.0 / 256.0);
    assert_eq!(ds.train.x[[0, 0]], 0.0);
    assert!(ds.train.x.iter().all(|&v| (0.0..1.0).contains(&v)));
    assert!((ds.train.x.sum() - 49269.844).abs() < 0.01);
    assert!((ds.test.x.sum() - 9362.137).abs() < 0.01);
}

#[test]
fn train_and_test_take_the_first_n_as_the_course_loader_does() {
    let all = load(&spec(None, None)).unwrap();
    let ds = load(&spec(Some(10), Some(5))).unwrap();
    assert_eq!((ds.train.len(), ds.test.len()), (10, 5));
    let (x, y) = all.train.head(10);
    assert_eq!(ds.train.x, x);
    assert_eq!(ds.train.labels, y);
    assert_eq!(ds.test.labels, [7, 2, 1, 0, 4]);
}

#[test]
fn random_subsets_are_seeded_and_keep_pairs() {
    let all = load(&spec(None, None)).unwrap();
    let random = |seed| {
        load(&MnistSpec {
            subset: Subset::Random,
            seed,
            ..spec(Some(50), Some(20))
        })
        .unwrap()
    };
    let (a, b, c) = (random(1), random(1), random(2));
    assert_eq!(a, b);
    assert_ne!(a.train.labels, c.train.labels);
    assert_ne!(a.train.labels, all.train.labels[..50]);
    // Every chosen column is an image of the file with its own label.
    for col in 0..a.train.len() {
        let found = (0..all.train.len())
            .find(|&i| all.train.x.column(i) == a.train.x.column(col))
            .unwrap();
        assert_eq!(all.train.labels[found], a.train.labels[col]);
    }
}

#[test]
fn validation_is_a_third_split_beside_the_test_set() {
    let ds = load(&MnistSpec {
        validation: Some(100),
        ..spec(Some(20), None)
    })
    .unwrap();
    assert_eq!(ds.name, "mnist");
    let validation = ds.validation.as_ref().expect("asked for");
    assert_eq!(
        (ds.train.len(), validation.len(), ds.test.len()),
        (20, 100, 100)
    );
    assert_eq!(validation.labels[..5], [3, 9, 5, 8, 5]);
    let without = load(&spec(Some(20), None)).unwrap();
    assert_eq!((&without.train, &without.test), (&ds.train, &ds.test));
    assert_eq!(without.validation, None);
    let e = load(&MnistSpec {
        validation: Some(101),
        ..spec(None, Some(10))
    })
    .unwrap_err();
    assert!(matches!(e, DataError::Request { .. }), "{e}");
}

#[test]
fn asking_for_more_images_than_the_file_holds_is_an_error() {
    let e = load(&spec(Some(501), None)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("mnist-small.pkl.gz")
            && msg.contains("`train = 501`")
            && msg.contains("(500)"),
        "{msg}"
    );
}
