//! Truncated and randomly mutated fixtures fed to the pickle and IDX readers: each gives an
//! error or a valid dataset, never a panic, and never an allocation larger than the input
//! could describe (measured by a counting allocator).

use std::io::Read;
use std::path::{Path, PathBuf};

use nnsweep::data::mnist::{load, MnistSpec, Subset};
use nnsweep::data::{pickle, Dataset};
use proptest::prelude::*;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allowed, measured};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn raw(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

const PICKLES: [&str; 8] = [
    "pickle/np1_p2.pkl.gz",
    "pickle/np1_p4.pkl",
    "pickle/np2_p5.pkl.gz",
    "pickle/py2.pkl.gz",
    "pickle/np2_p5_bigendian.pkl.gz",
    "pickle/np1_p2_fortran.pkl.gz",
    "pickle/np2_p4_uint8.pkl.gz",
    "pickle/evil_os_system.pkl",
];

const IDX: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte.gz",
];

fn spec(path: &Path) -> MnistSpec {
    MnistSpec {
        path: path.to_path_buf(),
        train: None,
        test: None,
        validation: None,
        subset: Subset::First,
        seed: 0,
    }
}

/// A dataset that came out must be consistent.
fn check(ds: &Dataset) {
    assert_eq!(ds.n_classes, 10);
    assert_eq!(ds.train.x.ncols(), ds.train.labels.len());
    assert_eq!(ds.test.x.ncols(), ds.test.labels.len());
    assert_eq!(ds.train.x.nrows(), ds.test.x.nrows());
    assert!(ds
        .train
        .labels
        .iter()
        .chain(&ds.test.labels)
        .all(|&l| l < 10));
}

/// Applies `edits` (position fraction, new byte) and cuts the result to `keep` of its length.
fn mutate(mut bytes: Vec<u8>, edits: &[(f64, u8)], keep: f64) -> Vec<u8> {
    let n = bytes.len();
    for &(at, b) in edits {
        let i = ((at * n as f64) as usize).min(n - 1);
        bytes[i] = b;
    }
    let keep = ((keep * n as f64).ceil() as usize).min(n);
    bytes.truncate(keep);
    bytes
}

/// Edits biased towards the start of a file, where headers and length fields live.
fn edits() -> impl Strategy<Value = Vec<(f64, u8)>> {
    prop::collection::vec((prop_oneof![0.0..0.02, 0.0..1.0], any::<u8>()), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_pickles_give_an_error_or_a_valid_dataset(
        which in 0..PICKLES.len(),
        edits in edits(),
        keep in prop_oneof![Just(1.0), 0.0..1.0],
    ) {
        let bytes = mutate(raw(PICKLES[which]), &edits, keep);
        // The bare interpreter first.
        let (_, peak) = measured(|| { let _ = pickle::parse(&bytes); });
        prop_assert!(peak <= allowed(bytes.len()), "parse allocated {peak} for {} bytes", bytes.len());
        // Then the whole loader, from an uncompressed file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.pkl");
        std::fs::write(&path, &bytes).unwrap();
        let (result, peak) = measured(|| load(&spec(&path)));
        prop_assert!(peak <= allowed(bytes.len()), "load allocated {peak} for {} bytes", bytes.len());
        match result {
            Ok(ds) => check(&ds),
            Err(e) => prop_assert!(e.to_string().contains("m.pkl"), "{e}"),
        }
    }

    #[test]
    fn mutated_gzip_files_give_an_error_or_a_valid_dataset(
        edits in edits(),
        keep in prop_oneof![Just(1.0), 0.0..1.0],
    ) {
        let bytes = mutate(std::fs::read(fixture("pickle/np2_p2.pkl.gz")).unwrap(), &edits, keep);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.pkl.gz");
        std::fs::write(&path, &bytes).unwrap();
        match load(&spec(&path)) {
            Ok(ds) => check(&ds),
            Err(e) => prop_assert!(e.to_string().contains("m.pkl.gz"), "{e}"),
        }
    }

    #[test]
    fn mutated_idx_files_give_an_error_or_a_valid_dataset(
        which in 0..IDX.len(),
        edits in edits(),
        keep in prop_oneof![Just(1.0), 0.0..1.0],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut size = 0;
        for (i, name) in IDX.iter().enumerate() {
            let mut bytes = raw(&format!("idx/ok/{name}"));
            if i == which {
                bytes = mutate(bytes, &edits, keep);
            }
            size += bytes.len();
            // Written uncompressed, whatever the name says: the reader goes by magic bytes.
            std::fs::write(dir.path().join(name), &bytes).unwrap();
        }
        let (result, peak) = measured(|| load(&spec(dir.path())));
        prop_assert!(peak <= allowed(size), "load allocated {peak} for {size} bytes");
        match result {
            Ok(ds) => check(&ds),
            Err(e) => prop_assert!(e.to_string().contains("ubyte") || e.to_string().contains("IDX"), "{e}"),
        }
    }
}

#[test]
fn the_counting_allocator_sees_large_allocations() {
    let (v, peak) = measured(|| vec![1u8; 1 << 22]);
    assert_eq!(v.len(), 1 << 22);
    assert!(peak >= 1 << 22);
}
