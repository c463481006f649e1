//! Checks that span several keys, defaults, and data paths: from the schema's `Raw*` values
//! to a [`DataSource`] and the grid's axes.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::schema::{DataKind, RawData, RawDataRng, RawSubset};
use super::values::{Count, NonEmpty};
use super::ConfigError;
use crate::data::mnist::{MnistSpec, Subset};
use crate::data::synthetic::{DataRng, Shape, SyntheticSpec};
use crate::data::table::TableSpec;
use crate::data::DataSource;

pub(super) type Invalid<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + 'a;

/// The values of a non-empty list, refusing one listed twice (it would be the same run twice).
/// Linear in the list's length: duplicates are found with a set of [`DupKey`]s.
pub(super) fn unique<T, V: DupKey + fmt::Debug>(
    list: &Spanned<NonEmpty<T>>,
    key: &str,
    invalid: &Invalid<'_>,
    value: impl Fn(&T) -> V,
) -> Result<Vec<V>, ConfigError> {
    let items = &list.get_ref().0;
    let mut values: Vec<V> = Vec::with_capacity(items.len());
    let mut seen = HashSet::with_capacity(items.len());
    for item in items {
        let v = value(item);
        if !seen.insert(v.dup_key()) {
            return Err(invalid(
                list.span(),
                key,
                format!("{v:?} is listed twice; each value makes its own runs, list it once"),
            ));
        }
        values.push(v);
    }
    Ok(values)
}

pub(super) fn optional_unique<T, V: DupKey + fmt::Debug>(
    list: &Option<Spanned<NonEmpty<T>>>,
    key: &str,
    invalid: &Invalid<'_>,
    value: impl Fn(&T) -> V,
) -> Result<Option<Vec<V>>, ConfigError> {
    list.as_ref()
        .map(|l| unique(l, key, invalid, value))
        .transpose()
}

/// What makes two values of a grid axis the same run: equality that a hash set can use.
pub(super) trait DupKey {
    type Key: std::hash::Hash + Eq;
    fn dup_key(&self) -> Self::Key;
}

impl DupKey for f64 {
    type Key = u64;
    /// The bits, with -0.0 made 0.0 (equal as numbers, so the same run). Values are finite.
    fn dup_key(&self) -> u64 {
        (self + 0.0).to_bits()
    }
}

impl DupKey for u64 {
    type Key = u64;
    fn dup_key(&self) -> u64 {
        *self
    }
}

impl DupKey for usize {
    type Key = usize;
    fn dup_key(&self) -> usize {
        *self
    }
}

impl DupKey for crate::data::augment::Augment {
    type Key = &'static str;
    fn dup_key(&self) -> &'static str {
        self.name()
    }
}

impl DupKey for crate::nn::Select {
    type Key = &'static str;
    fn dup_key(&self) -> &'static str {
        self.name()
    }
}

macro_rules! dup_by_name {
    ($($t:ty),*) => {$(
        impl DupKey for $t {
            type Key = &'static str;
            fn dup_key(&self) -> &'static str {
                self.name()
            }
        }
    )*};
}

dup_by_name!(
    crate::nn::Cost,
    crate::nn::Output,
    crate::nn::Activation,
    crate::nn::Init
);

impl DupKey for Vec<usize> {
    type Key = Vec<usize>;
    fn dup_key(&self) -> Vec<usize> {
        self.clone()
    }
}

pub(super) fn resolve_data(
    raw: &RawData,
    config_path: &Path,
    invalid: &Invalid<'_>,
) -> Result<DataSource, ConfigError> {
    let kind = *raw.kind.get_ref();
    // Keys that only some kinds use: refuse the others, so a typo of kind is not silently ignored.
    let not_for = |key: &str, span: Option<std::ops::Range<usize>>| -> Result<(), ConfigError> {
        match span {
            Some(span) => Err(invalid(
                span,
                &format!("data.{key}"),
                format!("is not used with kind = \"{kind}\"; remove it"),
            )),
            None => Ok(()),
        }
    };
    match kind {
        DataKind::Circles | DataKind::Moons => {
            for (key, span) in raw.file_keys() {
                not_for(key, span)?;
            }
            let shape = match kind {
                DataKind::Circles => Shape::Circles {
                    factor: raw.factor.as_ref().map_or(0.8, |f| f.get_ref().0),
                },
                _ => {
                    not_for("factor", raw.factor.as_ref().map(|f| f.span()))?;
                    Shape::Moons
                }
            };
            let samples = raw.samples.as_ref().map_or(500, |s| s.get_ref().0);
            let test_fraction = raw.test_fraction.as_ref().map_or(0.2, |f| f.get_ref().0);
            let seed = raw.seed.unwrap_or(0);
            let rng = match raw.rng.as_ref().map(|r| (*r.get_ref(), r.span())) {
                None | Some((RawDataRng::Nnsweep, _)) => DataRng::Nnsweep,
                Some((RawDataRng::Sklearn, span)) => {
                    // random_state=seed: NumPy's RandomState takes 32-bit seeds only.
                    if u32::try_from(seed).is_err() {
                        return Err(invalid(
                            span,
                            "data.seed",
                            format!(
                                "{seed} is beyond the seeds scikit-learn's random_state takes \
                                 (0 to 4294967295) with rng = \"sklearn\"; use a smaller seed \
                                 or rng = \"nnsweep\""
                            ),
                        ));
                    }
                    DataRng::Sklearn
                }
            };
            let spec = SyntheticSpec {
                shape,
                samples,
                noise: raw.noise.as_ref().map_or(0.1, |n| n.get_ref().0),
                test_fraction,
                seed,
                rng,
                validation_fraction: validation_fraction(raw),
            };
            let n_test = spec.n_test();
            if n_test == 0 || n_test >= samples {
                let span = raw.samples.as_ref().map_or(raw.kind.span(), |s| s.span());
                return Err(invalid(
                    span,
                    "data.samples",
                    format!(
                        "{samples} samples with test_fraction {test_fraction} leave \
                         {} training and {n_test} test samples; both need at least one",
                        samples.saturating_sub(n_test)
                    ),
                ));
            }
            // The training part's size is known before the points are drawn: a fraction that
            // leaves a part empty is refused here, at its line (the loader asks the same).
            if let (Some(f), Some(raw_f)) = (spec.validation_fraction, &raw.validation_fraction) {
                f.n_val(samples - n_test)
                    .map_err(|e| invalid(raw_f.span(), "data.validation_fraction", e))?;
            }
            Ok(DataSource::Synthetic(spec))
        }
        DataKind::Mnist => {
            for (key, span) in raw.synthetic_keys() {
                not_for(key, span)?;
            }
            not_for(
                "test_fraction",
                raw.test_fraction.as_ref().map(|f| f.span()),
            )?;
            not_for("test_path", raw.test_path.as_ref().map(|p| p.span()))?;
            not_for("label_column", raw.label_column.as_ref().map(|c| c.span()))?;
            if let Some(f) = &raw.validation_fraction {
                return Err(invalid(
                    f.span(),
                    "data.validation_fraction",
                    "is not used with kind = \"mnist\": MNIST has validation images of its own; \
                     use `validation = N` instead (e.g. validation = 10000, the course file's \
                     validation part) and remove validation_fraction"
                        .into(),
                ));
            }
            let path = data_path(raw, config_path, invalid, MNIST_PATH_HINT)?;
            let count = |c: &Option<Spanned<Count>>| c.as_ref().map(|c| c.get_ref().0);
            Ok(DataSource::Mnist(MnistSpec {
                path,
                train: count(&raw.train),
                test: count(&raw.test),
                validation: count(&raw.validation),
                subset: raw
                    .subset
                    .as_ref()
                    .map_or(Subset::First, |s| match s.get_ref() {
                        RawSubset::First => Subset::First,
                        RawSubset::Random => Subset::Random,
                    }),
                seed: raw.seed.unwrap_or(0),
            }))
        }
        DataKind::Csv => {
            for (key, span) in raw.synthetic_keys() {
                not_for(key, span)?;
            }
            for (key, span) in raw.mnist_keys() {
                not_for(key, span)?;
            }
            let path = data_path(raw, config_path, invalid, CSV_PATH_HINT)?;
            let test_path = raw
                .test_path
                .as_ref()
                .map(|p| resolve_path(config_path, p.get_ref()));
            if let (Some(_), Some(f)) = (&test_path, &raw.test_fraction) {
                return Err(invalid(
                    f.span(),
                    "data.test_fraction",
                    "is not used when `test_path` gives the test rows; remove one of the two"
                        .into(),
                ));
            }
            let test_fraction = raw.test_fraction.as_ref().map_or(0.2, |f| f.get_ref().0);
            if test_path.is_none() && test_fraction == 0.0 {
                let span = raw
                    .test_fraction
                    .as_ref()
                    .map_or(raw.kind.span(), |f| f.span());
                return Err(invalid(
                    span,
                    "data.test_fraction",
                    "0 leaves no test rows: give a fraction such as 0.2, or a `test_path`".into(),
                ));
            }
            let Some(label_column) = &raw.label_column else {
                return Err(invalid(
                    raw.kind.span(),
                    "data.label_column",
                    "missing: name the CSV column that holds the class labels (integers 0, 1, \
                     2, ...), e.g. `label_column = \"label\"`"
                        .into(),
                ));
            };
            Ok(DataSource::Csv(TableSpec {
                path,
                test_path,
                label_column: label_column.get_ref().clone(),
                test_fraction,
                seed: raw.seed.unwrap_or(0),
                validation_fraction: validation_fraction(raw),
            }))
        }
    }
}

/// `validation_fraction`, for the kinds that carve their validation split from training.
fn validation_fraction(raw: &RawData) -> Option<crate::data::ValidationFraction> {
    raw.validation_fraction.as_ref().map(|f| f.get_ref().0)
}

const MNIST_PATH_HINT: &str = "the course's mnist.pkl.gz, a folder holding the four MNIST IDX \
    files, or the sample shipped with nnsweep, data/mnist-small.pkl.gz";
const CSV_PATH_HINT: &str = "a CSV file with a header row, numeric feature columns and an \
    integer label column";

/// A relative data path is read from the config file's folder, so a sweep runs the same from
/// any working directory (a batch job's, say). An existing file's path is made absolute, so
/// messages name it unambiguously.
fn resolve_path(config_path: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    let joined = match config_path.parent() {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    };
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

fn data_path(
    raw: &RawData,
    config_path: &Path,
    invalid: &Invalid<'_>,
    hint: &str,
) -> Result<PathBuf, ConfigError> {
    match &raw.path {
        Some(p) if !p.get_ref().is_empty() => Ok(resolve_path(config_path, p.get_ref())),
        other => Err(invalid(
            other.as_ref().map_or(raw.kind.span(), |p| p.span()),
            "data.path",
            format!(
                "missing: set `path` to {hint} (a relative path is read from the config \
                 file's folder)"
            ),
        )),
    }
}
