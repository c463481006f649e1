//! `validation_fraction`: a validation split carved from the training part of data that have no
//! validation part of their own (circles, moons, csv), for `select = "validation"` and
//! `patience` to choose and stop on, while the test split stays held out.
//!
//! [`ValidationFraction`] owns every check of the setting (a fraction strictly between 0 and 1;
//! both parts left non-empty), so the config reader and the loaders ask it rather than repeat it.
//! The split is seeded by the data's own seed, never a run's: every run of a sweep sees the
//! same validation samples, and `train_size` then takes the first N of the rest.

use ndarray::Axis;
use rand::SeedableRng;

use super::{Dataset, Split};

/// The config key, as messages name it.
pub const KEY: &str = "validation_fraction";

/// What a message about a bad fraction suggests.
const HINT: &str = "e.g. validation_fraction = 0.2 moves a fifth of the training samples to a \
                    validation split";

/// The fraction of the training samples moved to a validation split: strictly between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidationFraction(f64);

impl ValidationFraction {
    /// Refuses anything but a number strictly between 0 and 1 (0 would carve nothing, 1 would
    /// leave nothing to train on).
    pub fn new(fraction: f64) -> Result<Self, String> {
        if fraction > 0.0 && fraction < 1.0 {
            Ok(ValidationFraction(fraction))
        } else {
            Err(format!(
                "must be a fraction strictly between 0 and 1, got {fraction}; {HINT}"
            ))
        }
    }

    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }

    /// How many of `n_train` training samples go to validation: `round(fraction · n)`, refused
    /// when that leaves either part without a sample.
    pub fn n_val(self, n_train: usize) -> Result<usize, String> {
        let k = (self.0 * n_train as f64).round() as usize;
        if k == 0 || k >= n_train {
            return Err(format!(
                "{KEY} = {} of {n_train} training samples leaves {} for training and {} for \
                 validation; both need at least one: use a fraction between {:.3} and {:.3}, \
                 or more samples",
                self.0,
                n_train.saturating_sub(k),
                k.min(n_train),
                0.5 / n_train as f64,
                1.0 - 0.5 / n_train as f64,
            ));
        }
        Ok(k)
    }
}

impl Dataset {
    /// Moves [`ValidationFraction::n_val`] training samples, picked at random by `seed` (the
    /// data's seed) and kept in their order, to a validation split; the others stay in the
    /// training split in their order. The test split is untouched.
    pub fn carve_validation(
        mut self,
        fraction: ValidationFraction,
        seed: u64,
    ) -> Result<Dataset, String> {
        let n = self.train.len();
        let k = fraction.n_val(n)?;
        // A stream of its own: the data's seed also drew the points and the test split.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x7661_6c69_6461_7465);
        let mut is_val = vec![false; n];
        for i in rand::seq::index::sample(&mut rng, n, k) {
            is_val[i] = true;
        }
        let (val, rest): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| is_val[i]);
        let take = |idx: &[usize]| {
            let x = self.train.x.select(Axis(1), idx);
            Split::new(x, idx.iter().map(|&i| self.train.labels[i]).collect())
        };
        let (train, validation) = (take(&rest), take(&val));
        self.train = train;
        self.validation = Some(validation);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Ten samples whose one feature is their index, labels alternating.
    fn data() -> Dataset {
        let x = Array2::from_shape_fn((1, 10), |(_, j)| j as f64);
        let split = Split::new(x, (0..10).map(|j| (j % 2) as u8).collect());
        Dataset {
            name: "t".into(),
            n_classes: 2,
            train: split.clone(),
            validation: None,
            test: split,
        }
    }

    fn indices(s: &Split) -> Vec<usize> {
        s.x.iter().map(|&v| v as usize).collect()
    }

    #[test]
    fn the_split_is_seeded_disjoint_and_covers_the_training_part() {
        let f = ValidationFraction::new(0.3).unwrap();
        let a = data().carve_validation(f, 7).unwrap();
        let val = a.validation.as_ref().unwrap();
        assert_eq!((a.train.len(), val.len()), (7, 3));
        let (t, v) = (indices(&a.train), indices(val));
        // Disjoint, together the whole training part, each in its original order.
        let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(t.windows(2).all(|w| w[0] < w[1]) && v.windows(2).all(|w| w[0] < w[1]));
        // Labels travel with their samples; the test split is untouched.
        assert!(v.iter().zip(&val.labels).all(|(&i, &l)| l == (i % 2) as u8));
        assert_eq!(a.test, data().test);
        // The same seed, the same split; another seed, another one.
        assert_eq!(data().carve_validation(f, 7).unwrap(), a);
        let others: Vec<Vec<usize>> = (0..20)
            .map(|s| {
                indices(
                    data()
                        .carve_validation(f, s)
                        .unwrap()
                        .validation
                        .as_ref()
                        .unwrap(),
                )
            })
            .collect();
        assert!(others.iter().any(|o| *o != v), "{others:?}");
    }

    #[test]
    fn fractions_outside_the_open_interval_or_leaving_a_part_empty_are_refused() {
        for bad in [0.0, 1.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            let e = ValidationFraction::new(bad).unwrap_err();
            assert!(e.contains("strictly between 0 and 1"), "{e}");
        }
        let small = ValidationFraction::new(0.01).unwrap();
        let e = data().carve_validation(small, 0).unwrap_err();
        assert!(
            e.contains("validation_fraction") && e.contains("0 for validation"),
            "{e}"
        );
        let big = ValidationFraction::new(0.99).unwrap();
        let e = data().carve_validation(big, 0).unwrap_err();
        assert!(e.contains("0 for training"), "{e}");
        assert_eq!(ValidationFraction::new(0.25).unwrap().n_val(4), Ok(1));
    }

    #[test]
    fn a_csv_table_is_carved_when_loaded_and_a_bad_fraction_names_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pts.csv");
        let rows: String = (0..10).map(|i| format!("{i},{}\n", i % 2)).collect();
        std::fs::write(&path, format!("a,y\n{rows}")).unwrap();
        let spec = |f: f64| {
            super::super::DataSource::Csv(super::super::table::TableSpec {
                path: path.clone(),
                test_path: None,
                label_column: "y".into(),
                test_fraction: 0.2,
                seed: 4,
                validation_fraction: Some(ValidationFraction::new(f).unwrap()),
            })
        };
        let d = super::super::load(&spec(0.25)).unwrap();
        assert_eq!((d.train.len(), d.n_val(), d.test.len()), (6, 2, 2));
        let e = super::super::load(&spec(0.05)).unwrap_err();
        assert!(matches!(e, super::super::DataError::Request { .. }));
        let e = e.to_string();
        assert!(
            e.contains("pts.csv") && e.contains("[data] validation_fraction"),
            "{e}"
        );
    }
}
