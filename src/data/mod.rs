//! Datasets as the engine wants them: features stored d×n (one sample per column), so the
//! network's products `w·X` go straight to BLAS without a transpose or a copy.
//!
//! A dataset is loaded once per sweep and shared read-only (behind an `Arc`) by every run.

pub mod augment;
pub mod error;
pub mod idx;
pub mod mnist;
pub mod pickle;
pub mod synthetic;
pub mod table;
pub mod validation;

pub use error::DataError;
pub use validation::ValidationFraction;

use ndarray::{s, Array2, ArrayView2};

/// Where a sweep's data come from, with every default resolved (made by `config`).
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// Generated 2-D points: circles or moons.
    Synthetic(synthetic::SyntheticSpec),
    /// MNIST from the course's pickle or the official IDX files.
    Mnist(mnist::MnistSpec),
    /// A user's own CSV table.
    Csv(table::TableSpec),
}

/// Loads (or generates) the dataset once for the whole sweep.
///
/// Every loaded dataset passes [`check_usable`] here, the one place all loaders go through.
///
/// `validation_fraction` is carved here, after the checks and before anything else sees the
/// training split (so `train_size` subsets what is left of it).
pub fn load(source: &DataSource) -> Result<Dataset, DataError> {
    let (dataset, carve) = match source {
        DataSource::Synthetic(spec) => (
            synthetic::generate(spec),
            spec.validation_fraction.map(|f| (f, spec.seed, None)),
        ),
        DataSource::Mnist(spec) => {
            let dataset = mnist::load(spec)?;
            check_usable(&dataset, &spec.path)?;
            (dataset, None)
        }
        DataSource::Csv(spec) => {
            let dataset = table::load(spec)?;
            check_usable(&dataset, &spec.path)?;
            (
                dataset,
                spec.validation_fraction
                    .map(|f| (f, spec.seed, Some(&spec.path))),
            )
        }
    };
    match carve {
        None => Ok(dataset),
        Some((fraction, seed, path)) => {
            let name = dataset.name.clone();
            dataset
                .carve_validation(fraction, seed)
                .map_err(|message| DataError::Request {
                    // Generated data have no file: the config reader checked their sizes
                    // already (it knows them), so this names them only for completeness.
                    path: path
                        .cloned()
                        .unwrap_or_else(|| format!("generated {name}").into()),
                    message: format!("[data] {message}"),
                })
        }
    }
}

/// Refuses data nothing can be learned or measured from, which would otherwise train and
/// report NaN accuracies or a one-output "100 %" network: no training or test samples, no
/// features, fewer than two classes, or a value that is not a finite number.
pub fn check_usable(data: &Dataset, path: &std::path::Path) -> Result<(), DataError> {
    let refuse = |message: String| DataError::Layout {
        path: path.to_path_buf(),
        message,
    };
    for (split, name) in [(&data.train, "training"), (&data.test, "test")] {
        if split.is_empty() {
            return Err(refuse(format!(
                "it holds no {name} samples; nnsweep needs at least one to train and measure"
            )));
        }
    }
    if data.n_features() == 0 {
        return Err(refuse(
            "its samples have no features (0 values each)".into(),
        ));
    }
    // One class in the whole data: the network would have one output and score "100 %".
    // (A training split that happens to miss a class is left alone: small seeded splits do.)
    let mut seen = [false; 256];
    for &l in data.train.labels.iter().chain(&data.test.labels) {
        seen[usize::from(l)] = true;
    }
    let classes = seen.iter().filter(|&&s| s).count();
    if data.n_classes < 2 || classes < 2 {
        return Err(refuse(format!(
            "its samples all have one label ({}); a classifier needs at least two classes",
            data.train.labels[0]
        )));
    }
    for (split, name) in [(&data.train, "training"), (&data.test, "test")] {
        if let Some((j, i)) = split
            .x
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|((i, j), _)| (j, i))
        {
            return Err(refuse(format!(
                "{name} sample {j} has a value that is not a finite number ({}) in feature {i}; \
                 remove or fix that sample",
                split.x[[i, j]]
            )));
        }
    }
    Ok(())
}

/// One labelled split of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Features, d×n: one sample per column.
    pub x: Array2<f64>,
    /// Class index of each column of `x`, in `0..n_classes`.
    pub labels: Vec<u8>,
}

impl Split {
    /// Builds a split from features stored d×n and one label per column.
    ///
    /// # Panics
    /// If the number of labels differs from the number of columns: loaders check that
    /// (and say which file is wrong) before they get here.
    pub fn new(x: Array2<f64>, labels: Vec<u8>) -> Self {
        assert_eq!(x.ncols(), labels.len(), "one label per column");
        Split { x, labels }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the split holds no sample.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features per sample.
    pub fn n_features(&self) -> usize {
        self.x.nrows()
    }

    /// The first `n` samples as views, without a copy (the course's loaders take the first N).
    pub fn head(&self, n: usize) -> (ArrayView2<'_, f64>, &[u8]) {
        let n = n.min(self.len());
        (self.x.slice(s![.., ..n]), &self.labels[..n])
    }
}

/// A dataset ready for training: what the gradient sees (train), what may choose the model
/// (validation, when there is one), what is only reported (test), and how many classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Short name written to every result row ("circles", "mnist", ...).
    pub name: String,
    /// Number of classes, i.e. output neurons (one-hot targets).
    pub n_classes: usize,
    pub train: Split,
    pub validation: Option<Split>,
    pub test: Split,
}

impl Dataset {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.train.n_features()
    }

    /// Samples held out from training and scored: test, and validation when there is one.
    pub fn n_eval(&self) -> usize {
        self.test.len() + self.n_val()
    }

    /// Number of validation samples (0: none).
    pub fn n_val(&self) -> usize {
        self.validation.as_ref().map_or(0, Split::len)
    }

    /// Feeds everything training sees into a hash: the name, the class count, and every value
    /// and label of both splits, bit for bit. Results rows carry it (through the config hash),
    /// so rows computed from other data are never mixed with these.
    pub fn digest_into(&self, hasher: &mut impl sha2::Digest) {
        hasher.update(self.name.as_bytes());
        hasher.update((self.n_classes as u64).to_le_bytes());
        // The validation split only when there is one, so that data without one hash as before.
        let splits = std::iter::once(&self.train)
            .chain(&self.validation)
            .chain([&self.test]);
        for split in splits {
            hasher.update((split.x.nrows() as u64).to_le_bytes());
            hasher.update((split.x.ncols() as u64).to_le_bytes());
            for v in split.x.iter() {
                hasher.update(v.to_bits().to_le_bytes());
            }
            hasher.update(&split.labels);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn data(d: usize, n: usize, labels: Vec<u8>, n_classes: usize) -> Dataset {
        let split = Split::new(Array2::from_elem((d, n), 0.5), labels);
        Dataset {
            name: "t".into(),
            n_classes,
            train: split.clone(),
            validation: None,
            test: split,
        }
    }

    fn refused(d: &Dataset) -> String {
        let e = check_usable(d, std::path::Path::new("x.pkl")).unwrap_err();
        assert!(matches!(e, DataError::Layout { .. }));
        e.to_string()
    }

    #[test]
    fn degenerate_data_are_refused_saying_what_is_wrong() {
        assert!(check_usable(&data(2, 2, vec![0, 1], 2), std::path::Path::new("x")).is_ok());
        assert!(refused(&data(2, 0, vec![], 2)).contains("no training samples"));
        let mut no_test = data(2, 2, vec![0, 1], 2);
        no_test.test = Split::new(Array2::zeros((2, 0)), vec![]);
        assert!(refused(&no_test).contains("no test samples"));
        assert!(refused(&data(0, 2, vec![0, 1], 2)).contains("no features"));
        assert!(refused(&data(2, 2, vec![1, 1], 2)).contains("one label"));
        let mut split_misses_a_class = data(2, 2, vec![1, 1], 2);
        split_misses_a_class.test = Split::new(Array2::zeros((2, 2)), vec![0, 1]);
        assert!(check_usable(&split_misses_a_class, std::path::Path::new("x")).is_ok());
        assert!(refused(&data(2, 2, vec![0, 0], 1)).contains("two classes"));
        let mut nan = data(2, 3, vec![0, 1, 0], 2);
        nan.test.x[[1, 2]] = f64::NAN;
        let e = refused(&nan);
        assert!(
            e.contains("test sample 2") && e.contains("feature 1"),
            "{e}"
        );
    }
}
