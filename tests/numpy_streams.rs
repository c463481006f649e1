//! nnsweep's NumPy and scikit-learn streams against numbers NumPy 2.1.3 and scikit-learn 1.5.2
//! drew (`tests/fixtures/numpy_streams.txt`, written by `tests/fixtures/make_numpy_streams.py`).
//!
//! Everything is compared to the last bit: the MT19937 words, the 53-bit doubles, the Gaussians
//! (polar method, cached value), the initial weights, the permutations, and the circles' and
//! moons' points, labels and split. The points go through `cos`/`sin`: NumPy 2.1 computes them
//! for float64 with the C library, as Rust's `f64::cos`/`sin` do, so on glibc they agree bit for
//! bit (the fixture script checks NumPy against Python's `math` on the angles used and records
//! the count of differences, 0 on the machine that wrote it). Where they do not (another C
//! library), the coordinates are allowed 1 ulp per coordinate and the test says so loudly;
//! labels, the split and everything without trigonometry stay exact.

use std::collections::HashMap;
use std::sync::OnceLock;

use nnsweep::data::synthetic::{generate, DataRng, Shape, SyntheticSpec};
use nnsweep::nn::init::numpy_init;
use nnsweep::numpy_random::RandomState;
use sha2::{Digest, Sha256};

/// One fixture line: `name key=value ... : values`.
struct Record {
    name: String,
    fields: HashMap<String, String>,
    values: Vec<String>,
}

fn records() -> &'static [Record] {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/numpy_streams.txt"
        );
        let text = std::fs::read_to_string(path).expect("the fixture is committed");
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|line| {
                let (head, values) = line.split_once(" : ").expect("`head : values`");
                let mut words = head.split(' ');
                let name = words.next().unwrap().to_string();
                let fields = words
                    .map(|w| {
                        let (k, v) = w.split_once('=').expect("key=value");
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                let values = values.split(' ').map(str::to_string).collect();
                Record {
                    name,
                    fields,
                    values,
                }
            })
            .collect()
    })
}

fn all(name: &str) -> impl Iterator<Item = &'static Record> + '_ {
    let found: Vec<_> = records().iter().filter(|r| r.name == name).collect();
    assert!(!found.is_empty(), "no `{name}` record in the fixture");
    found.into_iter()
}

impl Record {
    fn get<T: std::str::FromStr>(&self, key: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        self.fields[key].parse().unwrap()
    }
    fn floats(&self) -> Vec<f64> {
        self.values
            .iter()
            .map(|v| f64::from_bits(u64::from_str_radix(v, 16).unwrap()))
            .collect()
    }
    fn ints<T: std::str::FromStr>(&self) -> Vec<T>
    where
        T::Err: std::fmt::Debug,
    {
        self.values.iter().map(|v| v.parse().unwrap()).collect()
    }
}

/// Bitwise equality, with the first difference shown as bits.
fn assert_bits(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}[{i}]: {g:e} ({:016x}) vs NumPy's {w:e} ({:016x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

#[test]
fn seeding_words_and_doubles_are_numpys() {
    for r in all("u32") {
        // 1300 words: the seeding (mt19937_seed) and two twists of the 624-word key.
        let mut rs = RandomState::new(r.get("seed"));
        let got: Vec<u32> = (0..r.values.len()).map(|_| rs.next_u32()).collect();
        assert_eq!(got, r.ints::<u32>(), "seed {}", r.fields["seed"]);
    }
    for r in all("random_sample") {
        let mut rs = RandomState::new(r.get("seed"));
        let got: Vec<f64> = (0..r.values.len()).map(|_| rs.random_sample()).collect();
        assert_bits(
            &got,
            &r.floats(),
            &format!("random_sample seed {}", r.fields["seed"]),
        );
    }
}

#[test]
fn initial_weights_are_the_lectures_build_model() {
    let mut checked = 0;
    for r in all("weights") {
        let sizes: Vec<usize> = r.fields["sizes"]
            .split(',')
            .map(|s| s.parse().unwrap())
            .collect();
        let layer: usize = r.get("layer");
        let net = numpy_init(&sizes, r.get("seed"));
        let w = &net.weights[layer];
        assert_eq!(w.dim(), (sizes[layer + 1], sizes[layer]));
        let got: Vec<f64> = w.iter().copied().collect();
        let what = format!("seed {} sizes {:?} layer {layer}", r.fields["seed"], sizes);
        assert_bits(&got, &r.floats(), &what);
        assert!(net.biases.iter().all(|b| b.iter().all(|&v| v == 0.0)));
        checked += 1;
    }
    assert!(checked >= 14, "{checked} layers checked");
    // An odd first layer (3·5 = 15 weights): the second layer starts with the cached value.
    assert!(records()
        .iter()
        .any(|r| r.name == "weights" && r.fields["sizes"] == "3,5,2"));
    for r in all("weights_sha256") {
        let sizes: Vec<usize> = r.fields["sizes"]
            .split(',')
            .map(|s| s.parse().unwrap())
            .collect();
        let net = numpy_init(&sizes, r.get("seed"));
        let ends: Vec<f64> = net
            .weights
            .iter()
            .flat_map(|w| {
                let s = w.as_slice().unwrap();
                [s[0], s[s.len() - 1]]
            })
            .collect();
        assert_bits(
            &ends,
            &r.floats(),
            &format!("784-30-10 seed {}", r.fields["seed"]),
        );
        let mut h = Sha256::new();
        for w in &net.weights {
            for v in w.iter() {
                h.update(v.to_le_bytes());
            }
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, r.fields["sha256"],
            "784-30-10 seed {}",
            r.fields["seed"]
        );
    }
}

#[test]
fn the_gaussian_cache_survives_other_draws_and_permutations_are_numpys() {
    // standard_normal(); permutation(5); standard_normal(); normal(2, 0.5, size=3)
    let want = all("mixed").next().unwrap().floats();
    let perm: Vec<usize> = all("mixed_perm").next().unwrap().ints();
    let mut rs = RandomState::new(9);
    let a = rs.standard_normal();
    let p = rs.permutation(5);
    let b = rs.standard_normal();
    let c: Vec<f64> = (0..3).map(|_| rs.normal(2.0, 0.5)).collect();
    assert_eq!(p, perm);
    assert_bits(&[vec![a, b], c].concat(), &want, "mixed draws");
    for r in all("permutation") {
        let mut rs = RandomState::new(r.get("seed"));
        assert_eq!(
            rs.permutation(r.get("n")),
            r.ints::<usize>(),
            "permutation seed {} n {}",
            r.fields["seed"],
            r.fields["n"]
        );
    }
}

/// Whether this machine's `cos`/`sin` are NumPy's on the angles the generators use.
fn trig_is_numpys() -> bool {
    let differ: usize = all("trig_differ").next().unwrap().ints::<usize>()[0];
    if differ != 0 {
        eprintln!(
            "NOTE: on the machine that wrote the fixture, NumPy's cos/sin differed from the C \
             library's on {differ} angles; coordinates are compared within 1 ulp"
        );
        return false;
    }
    true
}

#[test]
fn circles_and_moons_are_sklearns_points_and_split() {
    let exact = trig_is_numpys();
    let mut cases = 0;
    let mut ulp_off = 0usize;
    for r in records()
        .iter()
        .filter(|r| r.fields.get("part").map(String::as_str) == Some("train_x"))
    {
        let shape = match r.name.as_str() {
            "circles" => Shape::Circles {
                factor: r.get("factor"),
            },
            "moons" => Shape::Moons,
            other => panic!("unknown kind {other}"),
        };
        let spec = SyntheticSpec {
            shape,
            samples: r.get("samples"),
            noise: r.get("noise"),
            test_fraction: r.get("test_fraction"),
            seed: r.get("seed"),
            rng: DataRng::Sklearn,
            validation_fraction: None,
        };
        let part = |p: &str| {
            records()
                .iter()
                .find(|o| {
                    o.name == r.name
                        && o.fields.get("part").map(String::as_str) == Some(p)
                        && ["samples", "noise", "factor", "test_fraction", "seed"]
                            .iter()
                            .all(|k| o.fields[*k] == r.fields[*k])
                })
                .unwrap_or_else(|| panic!("no {p} record"))
        };
        let d = generate(&spec);
        let what = format!("{} {:?}", r.name, r.fields);
        assert_eq!(
            d.train.labels,
            part("train_y").ints::<u8>(),
            "{what}: train labels"
        );
        assert_eq!(
            d.test.labels,
            part("test_y").ints::<u8>(),
            "{what}: test labels"
        );
        for (split, p) in [(&d.train, "train_x"), (&d.test, "test_x")] {
            // Fixture: all x coordinates, then all y coordinates (one sample per column).
            let got: Vec<f64> = split.x.iter().copied().collect();
            let want = part(p).floats();
            if exact {
                assert_bits(&got, &want, &format!("{what} {p}"));
            } else {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    let ulps = (g.to_bits() as i64 - w.to_bits() as i64).unsigned_abs();
                    assert!(ulps <= 1, "{what} {p}: {g:e} vs {w:e}");
                    ulp_off += usize::from(ulps == 1);
                }
            }
        }
        cases += 1;
    }
    assert_eq!(
        cases, 9,
        "every circles/moons case of the fixture is checked"
    );
    if !exact {
        eprintln!("NOTE: {ulp_off} coordinates were 1 ulp off NumPy's (this C library's cos/sin)");
    }
}

#[test]
fn the_test_size_rounds_up_as_sklearn_does() {
    // 100 × 0.07 is 7.000000000000001 in floating point: scikit-learn's ceil makes 8.
    let r = records()
        .iter()
        .find(|r| {
            r.fields.get("test_fraction").map(String::as_str) == Some("0.07")
                && r.fields.get("part").map(String::as_str) == Some("test_y")
        })
        .expect("the 0.07 case");
    assert_eq!(r.values.len(), 8);
    let spec = SyntheticSpec {
        shape: Shape::Circles { factor: 0.8 },
        samples: 100,
        noise: 0.0,
        test_fraction: 0.07,
        seed: 3,
        rng: DataRng::Sklearn,
        validation_fraction: None,
    };
    assert_eq!(spec.n_test(), 8);
}
