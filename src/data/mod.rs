//! Datasets as the engine wants them: features stored d×n (one sample per column), so the
//! network's products `w·X` go straight to BLAS without a transpose or a copy.
//!
//! A dataset is loaded once per sweep and shared read-only (behind an `Arc`) by every run.

pub mod error;
pub mod idx;
pub mod mnist;
pub mod pickle;
pub mod synthetic;
pub mod table;

pub use error::DataError;

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
pub fn load(source: &DataSource) -> Result<Dataset, DataError> {
    match source {
        DataSource::Synthetic(spec) => Ok(synthetic::generate(spec)),
        DataSource::Mnist(spec) => mnist::load(spec),
        DataSource::Csv(spec) => table::load(spec),
    }
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

/// A dataset ready for training: a training split, a test split, and how many classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Short name written to every result row ("circles", "mnist", ...).
    pub name: String,
    /// Number of classes, i.e. output neurons (one-hot targets).
    pub n_classes: usize,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.train.n_features()
    }

    /// Feeds everything training sees into a hash: the name, the class count, and every value
    /// and label of both splits, bit for bit. Results rows carry it (through the config hash),
    /// so rows computed from other data are never mixed with these.
    pub fn digest_into(&self, hasher: &mut impl sha2::Digest) {
        hasher.update(self.name.as_bytes());
        hasher.update((self.n_classes as u64).to_le_bytes());
        for split in [&self.train, &self.test] {
            hasher.update((split.x.nrows() as u64).to_le_bytes());
            hasher.update((split.x.ncols() as u64).to_le_bytes());
            for v in split.x.iter() {
                hasher.update(v.to_bits().to_le_bytes());
            }
            hasher.update(&split.labels);
        }
    }
}
