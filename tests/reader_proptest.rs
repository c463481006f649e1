//! Mutated, truncated and spliced inputs fed to every reader that is not a pickle or IDX one
//! (those are in `pickle_proptest.rs`): the config parser, the results reader, the curves
//! reader, the model-file parser and the CSV data loader. Each gives a value or an error,
//! never a panic or an abort, and never an allocation larger than the input could describe
//! (measured by a counting allocator, as in `pickle_proptest.rs`).

use std::path::Path;

use nnsweep::config::Config;
use nnsweep::data::table::{self, TableSpec};
use proptest::prelude::*;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{allowed, measured};

/// Applies byte edits, splices in a large number (the classic header attack), and cuts.
fn mutate(text: &str, edits: &[(f64, u8)], big: Option<(f64, u64)>, keep: f64) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let n = bytes.len();
    for &(at, b) in edits {
        let i = ((at * n as f64) as usize).min(n - 1);
        bytes[i] = b;
    }
    if let Some((at, v)) = big {
        let i = ((at * n as f64) as usize).min(n);
        let s = v.to_string();
        bytes.splice(i..i, s.bytes());
    }
    let keep = ((keep * bytes.len() as f64).ceil() as usize).min(bytes.len());
    bytes.truncate(keep);
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(f64, u8)>> {
    prop::collection::vec(
        (
            0.0..1.0,
            prop_oneof![any::<u8>(), Just(b'\n'), Just(b','), Just(b'"'), Just(b'9')],
        ),
        0..6,
    )
}

fn big() -> impl Strategy<Value = Option<(f64, u64)>> {
    prop::option::of((
        0.0..1.0,
        prop_oneof![Just(u64::MAX), Just(100_000_000_000u64), any::<u64>()],
    ))
}

const CONFIG: &str = "name = \"c\"\n[data]\nkind = \"circles\"\nsamples = 500\nnoise = 0.1\n\
    [train]\nsteps = 100\nlog_every = 10\n[grid]\nhidden = [10, [30, 30]]\neta = [5e-3, 1e-2]\n\
    seed = [0, 1]\ntrain_size = [100, 200]\n[output]\nsave_models = true\n";

fn results_text() -> String {
    let header = nnsweep::results::COLUMNS.join(",");
    let row = "h10_eta0.005_seed0,circles,400,100,10,52,0.005,0,0,100,90,0.875,0.83,0.045,0.87,\
               0.82,12.5,false,0.25,abc";
    format!("{header}\n{row}\n{row}\n")
}

const CURVES: &str = "run_id,step,train_acc,test_acc,cost\nh10,0,0.5,0.5,100\nh10,10,0.6,0.55,90\n";

const MODEL: &str = "nnsweep-model 2\nrun_id h2\nsizes 2 2 2\nweights 1 2 2\n0.1 0.2\n0.3 0.4\n\
    biases 1 2\n0.5 0.6\nweights 2 2 2\n1 2\n3 4\nbiases 2 2\n0 0\npoints 2 2\n0.5 0.5 0\n\
    -0.5 1 1\ntest_points 2 2\n0.25 -1 1\n0 0.75 0\nend\n";

const TABLE: &str = "a,b,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,0\n0.7,0.8,1\n0.9,1.0,2\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_config_parser_never_panics(edits in edits(), big in big(), keep in 0.0..=1.0f64) {
        let bytes = mutate(CONFIG, &edits, big, keep);
        let text = String::from_utf8_lossy(&bytes);
        let (_, largest) = measured(|| Config::parse(&text, Path::new("c.toml")));
        prop_assert!(largest <= allowed(bytes.len()), "{largest} bytes for {} of input", bytes.len());
    }

    #[test]
    fn the_results_reader_never_panics(edits in edits(), big in big(), keep in 0.0..=1.0f64) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = mutate(&results_text(), &edits, big, keep);
        let path = write(dir.path(), "r.csv", &bytes);
        let (_, largest) = measured(|| nnsweep::results::read_records(&path));
        prop_assert!(largest <= allowed(bytes.len()));
    }

    #[test]
    fn the_curves_reader_never_panics(edits in edits(), big in big(), keep in 0.0..=1.0f64) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = mutate(CURVES, &edits, big, keep);
        let path = write(dir.path(), "curves.csv", &bytes);
        let (_, largest) = measured(|| nnsweep::results::read_curves(&path));
        prop_assert!(largest <= allowed(bytes.len()));
    }

    #[test]
    fn the_model_file_parser_never_panics(edits in edits(), big in big(), keep in 0.0..=1.0f64) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = mutate(MODEL, &edits, big, keep);
        let path = write(dir.path(), "m.model", &bytes);
        let (_, largest) = measured(|| nnsweep::model_file::load(&path));
        prop_assert!(largest <= allowed(bytes.len()));
    }

    #[test]
    fn the_csv_loader_never_panics(edits in edits(), big in big(), keep in 0.0..=1.0f64) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = mutate(TABLE, &edits, big, keep);
        let path = write(dir.path(), "t.csv", &bytes);
        let spec = TableSpec {
            path,
            test_path: None,
            label_column: "label".into(),
            test_fraction: 0.4,
            seed: 0,
            validation_fraction: None,
        };
        let (_, largest) = measured(|| {
            table::load(&spec).and_then(|d| nnsweep::data::check_usable(&d, &spec.path).map(|()| d))
        });
        prop_assert!(largest <= allowed(bytes.len()));
    }
}

#[test]
fn the_unmutated_inputs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Config::parse(CONFIG, Path::new("c.toml")).is_ok());
    let r = write(dir.path(), "r.csv", results_text().as_bytes());
    assert_eq!(nnsweep::results::read_records(&r).unwrap().len(), 2);
    let c = write(dir.path(), "curves.csv", CURVES.as_bytes());
    assert_eq!(nnsweep::results::read_curves(&c).unwrap().len(), 2);
    let m = write(dir.path(), "m.model", MODEL.as_bytes());
    nnsweep::model_file::load(&m).unwrap();
    let t = write(dir.path(), "t.csv", TABLE.as_bytes());
    let spec = TableSpec {
        path: t,
        test_path: None,
        label_column: "label".into(),
        test_fraction: 0.4,
        seed: 0,
        validation_fraction: None,
    };
    let d = table::load(&spec).unwrap();
    nnsweep::data::check_usable(&d, &spec.path).unwrap();
}
