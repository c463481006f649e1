//! The sweep file: a TOML schema read with serde (unknown keys refused), defaults filled in, and
//! every value checked before any training starts.
//!
//! Errors name the file, the line and the key, and say what to write instead: most come from
//! toml itself, which points at the offending value when a field's own deserializer refuses it;
//! that is why the checks live in small validated types ([`Eta`], [`Count`], ...) rather than in
//! a pass after parsing. Checks that need two keys, or the loaded data, use [`Spanned`] values
//! to point at the right line all the same.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::data::mnist::{MnistSpec, Subset};
use crate::data::synthetic::{Shape, SyntheticSpec};
use crate::data::table::TableSpec;
use crate::data::{DataSource, Dataset};
use crate::nn::{Engine, Precision};

/// A config file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax or schema error found by the TOML reader; its message already shows the line.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A value refused by a check that spans several keys or needs the data.
    #[error("{path}:{line}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

/// A validated sweep: what to load, how to train, and which grid to expand.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the config was read from (for error messages and relative paths).
    pub path: PathBuf,
    /// The sweep's name: results go to `results/<name>.csv` by default.
    pub name: String,
    pub data: DataSource,
    pub train: TrainSettings,
    pub grid: Grid,
    pub output: OutputSettings,
    /// Hash of the settings that decide a run's numbers besides its grid parameters; see
    /// [`Config::results_hash`], which adds the data themselves.
    settings_hash: String,
    source: String,
    grid_spans: GridSpans,
}

/// Training settings shared by every run of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    /// Gradient-descent updates per run, unless the grid sweeps `steps`.
    pub steps: usize,
    /// Record a learning-curve point every this many steps; 0 records none.
    pub log_every: usize,
    /// L2 penalty, unless the grid sweeps `l2`.
    pub l2: f64,
    /// How the first layer is computed (`nn::Engine`): the numbers differ by rounding only.
    pub engine: Engine,
    /// f64 (the lecture's) or f32 (about twice as fast, accuracies within a point or two).
    pub precision: Precision,
}

/// The axes of the sweep. Every combination of their values is one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Hidden layer sizes of each network shape, e.g. `[[10], [30, 30]]`.
    pub hidden: Vec<Vec<usize>>,
    pub eta: Vec<f64>,
    pub seed: Vec<u64>,
    /// Swept number of steps; `None` means `[train] steps` for every run.
    pub steps: Option<Vec<usize>>,
    /// Swept L2 penalties; `None` means `[train] l2` for every run.
    pub l2: Option<Vec<f64>>,
    /// Swept training-set sizes (the first N training samples); `None` means all of them.
    pub train_size: Option<Vec<usize>>,
}

/// What to write besides the results rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputSettings {
    /// Save each run's best model under `results/<name>/models/`.
    pub save_models: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct GridSpans {
    train_size: Option<std::ops::Range<usize>>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&source, path)
    }

    /// Validates config text; `path` is used in messages and to resolve relative data paths.
    pub fn parse(source: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(source).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid =
            |span: std::ops::Range<usize>, key: &str, message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: line_of(source, span.start),
                key: key.to_string(),
                message,
            };

        let data = resolve_data(&raw.data, path, &invalid)?;
        let train_raw = raw.train.unwrap_or_default();
        let grid_raw = raw.grid;
        let steps = match (&train_raw.steps, &grid_raw.steps) {
            (Some(steps), _) => steps.0,
            (None, Some(_)) => 0, // every run takes its steps from the grid
            (None, None) => {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: line_of(source, source.find("[train]").unwrap_or(0)),
                    key: "train.steps".into(),
                    message: "missing: say how many gradient-descent steps each run takes, e.g. \
                              `steps = 10000` under [train] (or sweep them with `steps = [...]` \
                              under [grid])"
                        .into(),
                });
            }
        };
        let train = TrainSettings {
            steps,
            log_every: train_raw.log_every.unwrap_or(1000),
            l2: train_raw.l2.map_or(0.0, |l2| l2.0),
            engine: match train_raw.engine.unwrap_or(RawEngine::Auto) {
                RawEngine::Auto => Engine::Auto,
                RawEngine::Direct => Engine::Direct,
                RawEngine::Gram => Engine::Gram,
            },
            precision: match train_raw.precision.unwrap_or(RawPrecision::F64) {
                RawPrecision::F64 => Precision::F64,
                RawPrecision::F32 => Precision::F32,
            },
        };
        let grid = Grid {
            hidden: unique(&grid_raw.hidden, "grid.hidden", &invalid, |h| h.sizes())?,
            eta: unique(&grid_raw.eta, "grid.eta", &invalid, |e| e.0)?,
            seed: unique(&grid_raw.seed, "grid.seed", &invalid, |s| *s)?,
            steps: optional_unique(&grid_raw.steps, "grid.steps", &invalid, |s| s.0)?,
            l2: optional_unique(&grid_raw.l2, "grid.l2", &invalid, |l| l.0)?,
            train_size: optional_unique(&grid_raw.train_size, "grid.train_size", &invalid, |n| {
                n.0
            })?,
        };
        let settings_hash = settings_hash(&data, &train);
        Ok(Config {
            path: path.to_path_buf(),
            name: raw.name.0,
            data,
            train,
            grid,
            output: OutputSettings {
                save_models: raw.output.unwrap_or_default().save_models,
            },
            settings_hash,
            source: source.to_string(),
            grid_spans: GridSpans {
                train_size: grid_raw.train_size.as_ref().map(|s| s.span()),
            },
        })
    }

    /// The `config_hash` of every results row: the settings that decide a run's numbers and a
    /// digest of the data it trains and is tested on. Rows with equal hashes and run ids are
    /// the same computation, which is what resume and merging shards rely on.
    pub fn results_hash(&self, data: &Dataset) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.settings_hash.as_bytes());
        data.digest_into(&mut hasher);
        hex16(&hasher.finalize())
    }

    /// Checks the grid against the loaded data: a training size cannot exceed the training split.
    pub fn check_against_data(&self, n_train: usize) -> Result<(), ConfigError> {
        if let (Some(sizes), Some(span)) = (&self.grid.train_size, &self.grid_spans.train_size) {
            if let Some(&too_big) = sizes.iter().find(|&&n| n > n_train) {
                return Err(ConfigError::Invalid {
                    path: self.path.clone(),
                    line: line_of(&self.source, span.start),
                    key: "grid.train_size".into(),
                    message: format!(
                        "{too_big} training samples asked, but the training split has only \
                         {n_train}; use sizes of at most {n_train}"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// A digest of the settings that decide a run's numbers apart from its grid parameters.
/// `log_every` is left out: it changes what is recorded, not the results. So are data file
/// paths: the data's own digest stands for them in [`Config::results_hash`], so a sweep copied
/// to another folder (a cluster's scratch space, say) still resumes, and a data file changed
/// under the same name does not.
fn settings_hash(data: &DataSource, train: &TrainSettings) -> String {
    let mut data = data.clone();
    match &mut data {
        DataSource::Synthetic(_) => {}
        DataSource::Mnist(spec) => spec.path = PathBuf::new(),
        DataSource::Csv(spec) => {
            spec.path = PathBuf::new();
            spec.test_path = spec.test_path.as_ref().map(|_| PathBuf::new());
        }
    }
    let mut canonical = format!(
        "nnsweep-results-v1\ndata={data:?}\nsteps={}\nl2={:?}\ncost=quadratic\nactivation=sigmoid",
        train.steps, train.l2
    );
    // Engine and precision change a run's numbers (by rounding, or by f32's), so they are part of
    // the hash; at their defaults they add nothing, so results written before they existed can
    // still be resumed.
    if train.engine != Engine::Auto {
        canonical.push_str(&format!("\nengine={:?}", train.engine));
    }
    if train.precision != Precision::F64 {
        canonical.push_str(&format!("\nprecision={:?}", train.precision));
    }
    hex16(&Sha256::digest(canonical.as_bytes()))
}

fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

type Invalid<'a> = dyn Fn(std::ops::Range<usize>, &str, String) -> ConfigError + 'a;

/// The values of a non-empty list, refusing one listed twice (it would be the same run twice).
fn unique<T, V: PartialEq + fmt::Debug>(
    list: &Spanned<NonEmpty<T>>,
    key: &str,
    invalid: &Invalid<'_>,
    value: impl Fn(&T) -> V,
) -> Result<Vec<V>, ConfigError> {
    let mut values: Vec<V> = Vec::with_capacity(list.get_ref().0.len());
    for item in &list.get_ref().0 {
        let v = value(item);
        if values.contains(&v) {
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

fn optional_unique<T, V: PartialEq + fmt::Debug>(
    list: &Option<Spanned<NonEmpty<T>>>,
    key: &str,
    invalid: &Invalid<'_>,
    value: impl Fn(&T) -> V,
) -> Result<Option<Vec<V>>, ConfigError> {
    list.as_ref()
        .map(|l| unique(l, key, invalid, value))
        .transpose()
}

fn resolve_data(
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
            let spec = SyntheticSpec {
                shape,
                samples,
                noise: raw.noise.as_ref().map_or(0.1, |n| n.get_ref().0),
                test_fraction,
                seed: raw.seed.unwrap_or(0),
                rng: Default::default(),
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
            if let (Some(_), Some(v)) = (&raw.test, &raw.validation) {
                return Err(invalid(
                    v.span(),
                    "data.validation",
                    "`validation = N` evaluates on N validation images instead of the test set, \
                     so it cannot go with `test`; remove one of the two"
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
            }))
        }
    }
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

// ---- The file's schema, as serde reads it. -------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Name,
    data: RawData,
    train: Option<RawTrain>,
    grid: RawGrid,
    output: Option<RawOutput>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum DataKind {
    Circles,
    Moons,
    Mnist,
    Csv,
}

impl fmt::Display for DataKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataKind::Circles => "circles",
            DataKind::Moons => "moons",
            DataKind::Mnist => "mnist",
            DataKind::Csv => "csv",
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    kind: Spanned<DataKind>,
    samples: Option<Spanned<Count>>,
    noise: Option<Spanned<NonNegative>>,
    factor: Option<Spanned<OpenFraction>>,
    test_fraction: Option<Spanned<Fraction>>,
    seed: Option<u64>,
    // mnist and csv
    path: Option<Spanned<String>>,
    // mnist
    train: Option<Spanned<Count>>,
    test: Option<Spanned<Count>>,
    validation: Option<Spanned<Count>>,
    subset: Option<Spanned<RawSubset>>,
    // csv
    test_path: Option<Spanned<String>>,
    label_column: Option<Spanned<String>>,
}

type KeySpan = (&'static str, Option<std::ops::Range<usize>>);

impl RawData {
    /// Keys only the generated datasets use.
    fn synthetic_keys(&self) -> [KeySpan; 3] {
        [
            ("samples", self.samples.as_ref().map(|s| s.span())),
            ("noise", self.noise.as_ref().map(|s| s.span())),
            ("factor", self.factor.as_ref().map(|s| s.span())),
        ]
    }

    /// Keys only MNIST uses.
    fn mnist_keys(&self) -> [KeySpan; 4] {
        [
            ("train", self.train.as_ref().map(|s| s.span())),
            ("test", self.test.as_ref().map(|s| s.span())),
            ("validation", self.validation.as_ref().map(|s| s.span())),
            ("subset", self.subset.as_ref().map(|s| s.span())),
        ]
    }

    /// Keys only the file-based datasets use.
    fn file_keys(&self) -> impl Iterator<Item = KeySpan> {
        self.mnist_keys().into_iter().chain([
            ("path", self.path.as_ref().map(|s| s.span())),
            ("test_path", self.test_path.as_ref().map(|s| s.span())),
            ("label_column", self.label_column.as_ref().map(|s| s.span())),
        ])
    }
}

/// Which N samples `train`/`test`/`validation` take.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum RawSubset {
    First,
    Random,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTrain {
    steps: Option<Count>,
    log_every: Option<usize>,
    l2: Option<NonNegative>,
    engine: Option<RawEngine>,
    precision: Option<RawPrecision>,
    #[allow(dead_code)] // Read so that only the lecture's cost is accepted, with a clear error.
    cost: Option<Cost>,
    #[allow(dead_code)]
    activation: Option<Activation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    hidden: Spanned<NonEmpty<HiddenLayers>>,
    eta: Spanned<NonEmpty<Eta>>,
    seed: Spanned<NonEmpty<u64>>,
    steps: Option<Spanned<NonEmpty<Count>>>,
    l2: Option<Spanned<NonEmpty<NonNegative>>>,
    train_size: Option<Spanned<NonEmpty<Count>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    #[serde(default)]
    save_models: bool,
}

/// Only the lecture's quadratic cost is implemented; the key exists so configs can say so.
#[derive(Deserialize, Serialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Cost {
    Quadratic,
}

/// `[train] engine`: "auto" picks by FLOP count (Gram when there are fewer samples than inputs).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawEngine {
    Auto,
    Direct,
    Gram,
}

/// `[train] precision`.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawPrecision {
    F64,
    F32,
}

/// Only the lecture's sigmoid is implemented; the key exists so configs can say so.
#[derive(Deserialize, Serialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Activation {
    Sigmoid,
}

// ---- Validated values: each refuses a bad value where toml can point at it. -----------------

fn refuse<'de, D: Deserializer<'de>, T>(message: String) -> Result<T, D::Error> {
    Err(serde::de::Error::custom(message))
}

/// The sweep's name, used in file names: letters, digits, `-`, `_`, `.`.
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Name(name))
        } else {
            refuse::<D, _>(format!(
                "name {name:?} is used in file names: use letters, digits, '-', '_' or '.', \
                 e.g. name = \"circles_overfit\""
            ))
        }
    }
}

/// A count of at least one (steps, samples, neurons, training size).
#[derive(Debug, Clone, Copy)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match usize::try_from(v) {
            Ok(n) if n >= 1 => Ok(Count(n)),
            _ => refuse::<D, _>(format!("must be a whole number of at least 1, got {v}")),
        }
    }
}

/// A learning rate: finite and > 0.
#[derive(Debug, Clone, Copy)]
struct Eta(f64);

impl<'de> Deserialize<'de> for Eta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v > 0.0 {
            Ok(Eta(v))
        } else {
            refuse::<D, _>(format!(
                "learning rate must be a number > 0, got {v}; the lecture uses 5e-3 (circles) \
                 and 5e-4 (MNIST)"
            ))
        }
    }
}

/// A finite value >= 0 (noise, L2 penalty).
#[derive(Debug, Clone, Copy)]
struct NonNegative(f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(NonNegative(v))
        } else {
            refuse::<D, _>(format!("must be a number >= 0, got {v}"))
        }
    }
}

/// A fraction in [0, 1) (test_fraction).
#[derive(Debug, Clone, Copy)]
struct Fraction(f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..1.0).contains(&v) {
            Ok(Fraction(v))
        } else {
            refuse::<D, _>(format!("must be a fraction in [0, 1), got {v}; e.g. 0.2"))
        }
    }
}

/// A fraction in (0, 1) (the inner circle's radius).
#[derive(Debug, Clone, Copy)]
struct OpenFraction(f64);

impl<'de> Deserialize<'de> for OpenFraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v > 0.0 && v < 1.0 {
            Ok(OpenFraction(v))
        } else {
            refuse::<D, _>(format!(
                "must be strictly between 0 and 1, got {v}; e.g. 0.8"
            ))
        }
    }
}

/// A list with at least one value: an empty axis would make an empty sweep.
struct NonEmpty<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<T>::deserialize(d)?;
        if v.is_empty() {
            refuse::<D, _>("the list is empty; give at least one value".into())
        } else {
            Ok(NonEmpty(v))
        }
    }
}

/// One network shape: `10` for one hidden layer, `[30, 30]` for two.
enum HiddenLayers {
    One(usize),
    Many(Vec<usize>),
}

impl HiddenLayers {
    fn sizes(&self) -> Vec<usize> {
        match self {
            HiddenLayers::One(n) => vec![*n],
            HiddenLayers::Many(v) => v.clone(),
        }
    }
}

impl<'de> Deserialize<'de> for HiddenLayers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(i64),
            Many(Vec<i64>),
        }
        let hint = "each entry of `hidden` is a layer size (10) or a list of sizes ([30, 30]), \
                    every size at least 1";
        let either = Either::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("not a network shape: {hint}")))?;
        let to_size = |v: i64| usize::try_from(v).ok().filter(|&n| n >= 1);
        match either {
            Either::One(v) => match to_size(v) {
                Some(n) => Ok(HiddenLayers::One(n)),
                None => refuse::<D, _>(format!("{v} neurons: {hint}")),
            },
            Either::Many(v) if v.is_empty() => refuse::<D, _>(format!("an empty list: {hint}")),
            Either::Many(v) => match v.iter().map(|&x| to_size(x)).collect::<Option<Vec<_>>>() {
                Some(sizes) => Ok(HiddenLayers::Many(sizes)),
                None => refuse::<D, _>(format!("{v:?}: {hint}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "circles"
[data]
kind = "circles"
samples = 500
noise = 0.1
[train]
steps = 100
[grid]
hidden = [10, [30, 30]]
eta = [5e-3, 1e-2]
seed = [0, 1]
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("sweep.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_good_config_gets_its_values_and_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.name, "circles");
        assert_eq!(c.grid.hidden, vec![vec![10], vec![30, 30]]);
        assert_eq!(c.grid.eta, vec![5e-3, 1e-2]);
        assert_eq!(c.train.log_every, 1000);
        assert_eq!(c.train.l2, 0.0);
        let DataSource::Synthetic(spec) = &c.data else {
            panic!("{:?}", c.data)
        };
        assert_eq!(spec.shape, Shape::Circles { factor: 0.8 });
        assert_eq!(spec.test_fraction, 0.2);
    }

    #[test]
    fn the_hash_follows_the_settings_not_the_grid_or_the_logging() {
        let base = parse(GOOD).unwrap().settings_hash;
        let more_seeds = GOOD.replace("seed = [0, 1]", "seed = [0, 1, 2]");
        assert_eq!(parse(&more_seeds).unwrap().settings_hash, base);
        let logging = GOOD.replace("steps = 100", "steps = 100\nlog_every = 10");
        assert_eq!(parse(&logging).unwrap().settings_hash, base);
        let noisier = GOOD.replace("noise = 0.1", "noise = 0.2");
        assert_ne!(parse(&noisier).unwrap().settings_hash, base);
        let explicit_default = GOOD.replace("noise = 0.1", "noise = 0.1\nfactor = 0.8");
        assert_eq!(parse(&explicit_default).unwrap().settings_hash, base);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let e = error(&GOOD.replace("eta = [5e-3, 1e-2]", "eta = [5e-3, 0.0]"));
        assert!(e.starts_with("sweep.toml: "), "{e}");
        assert!(e.contains("line 11"), "{e}");
        assert!(e.contains("learning rate must be a number > 0"), "{e}");

        let e = error(&GOOD.replace("noise = 0.1", "noize = 0.1"));
        assert!(
            e.contains("unknown field `noize`") && e.contains("line 6"),
            "{e}"
        );

        let e = error(&GOOD.replace("hidden = [10, [30, 30]]", "hidden = [10, [30, 0]]"));
        assert!(e.contains("line 10") && e.contains("at least 1"), "{e}");

        let e = error(&GOOD.replace("seed = [0, 1]", "seed = []"));
        assert!(e.contains("line 12") && e.contains("empty"), "{e}");

        let e = error(&GOOD.replace("steps = 100", "steps = 0"));
        assert!(e.contains("line 8") && e.contains("at least 1"), "{e}");
    }

    #[test]
    fn checks_across_keys_point_at_the_key() {
        let e = error(&GOOD.replace("eta = [5e-3, 1e-2]", "eta = [5e-3, 5e-3]"));
        assert!(
            e.contains("sweep.toml:11: `grid.eta`") && e.contains("twice"),
            "{e}"
        );

        let e = error(&GOOD.replace("kind = \"circles\"", "kind = \"moons\"\nfactor = 0.5"));
        assert!(e.contains("`data.factor`") && e.contains("moons"), "{e}");

        let e = error(&GOOD.replace("steps = 100\n", ""));
        assert!(e.contains("train.steps") && e.contains("missing"), "{e}");

        let e = error(&GOOD.replace("samples = 500", "samples = 1"));
        assert!(e.contains("sweep.toml:5: `data.samples`"), "{e}");
    }

    #[test]
    fn train_sizes_beyond_the_data_are_refused_with_their_line() {
        let c =
            parse(&GOOD.replace("seed = [0, 1]", "seed = [0]\ntrain_size = [100, 500]")).unwrap();
        assert!(c.check_against_data(500).is_ok());
        let e = c.check_against_data(400).unwrap_err().to_string();
        assert!(
            e.contains("sweep.toml:13: `grid.train_size`") && e.contains("only 400"),
            "{e}"
        );
    }

    #[test]
    fn engine_and_precision_are_read_checked_and_hashed() {
        let c = parse(GOOD).unwrap();
        assert_eq!(
            (c.train.engine, c.train.precision),
            (Engine::Auto, Precision::F64)
        );
        let set = |text: &str| GOOD.replace("steps = 100", &format!("steps = 100\n{text}"));
        let c = parse(&set("engine = \"gram\"\nprecision = \"f32\"")).unwrap();
        assert_eq!(
            (c.train.engine, c.train.precision),
            (Engine::Gram, Precision::F32)
        );
        let base = parse(GOOD).unwrap().settings_hash;
        let defaults = set("engine = \"auto\"\nprecision = \"f64\"");
        assert_eq!(parse(&defaults).unwrap().settings_hash, base);
        assert_ne!(
            parse(&set("precision = \"f32\"")).unwrap().settings_hash,
            base
        );
        assert_ne!(
            parse(&set("engine = \"direct\"")).unwrap().settings_hash,
            base
        );
        let e = error(&set("precision = \"f16\""));
        assert!(
            e.contains("f64") && e.contains("f32") && e.contains("precision"),
            "{e}"
        );
        let e = error(&set("engine = \"fast\""));
        assert!(e.contains("gram"), "{e}");
    }

    #[test]
    fn only_the_lectures_cost_and_activation_are_accepted() {
        let e = error(&GOOD.replace("steps = 100", "steps = 100\ncost = \"cross_entropy\""));
        assert!(e.contains("quadratic"), "{e}");
        assert!(
            parse(&GOOD.replace("steps = 100", "steps = 100\nactivation = \"sigmoid\"")).is_ok()
        );
    }

    const MNIST: &str = r#"
name = "mnist"
[data]
kind = "mnist"
path = "mnist.pkl.gz"
train = 500
test = 100
[train]
steps = 100
[grid]
hidden = [30]
eta = [5e-4]
seed = [0]
"#;

    #[test]
    fn mnist_paths_are_read_from_the_config_files_folder() {
        let c = Config::parse(MNIST, Path::new("configs/sweep.toml")).unwrap();
        let DataSource::Mnist(spec) = &c.data else {
            panic!("{:?}", c.data)
        };
        assert_eq!(spec.path, Path::new("configs/mnist.pkl.gz"));
        assert_eq!(
            (spec.train, spec.test, spec.validation),
            (Some(500), Some(100), None)
        );
        assert_eq!((spec.subset, spec.seed), (Subset::First, 0));
        let abs = MNIST.replace("\"mnist.pkl.gz\"", "\"/data/mnist.pkl.gz\"");
        let c = Config::parse(&abs, Path::new("configs/sweep.toml")).unwrap();
        let DataSource::Mnist(spec) = &c.data else {
            panic!("{:?}", c.data)
        };
        assert_eq!(spec.path, Path::new("/data/mnist.pkl.gz"));
        let random = MNIST.replace("test = 100", "test = 100\nsubset = \"random\"\nseed = 3");
        let DataSource::Mnist(spec) = parse(&random).unwrap().data else {
            panic!()
        };
        assert_eq!((spec.subset, spec.seed), (Subset::Random, 3));
    }

    #[test]
    fn mnist_and_csv_keys_are_checked_against_the_kind() {
        let e = error(&MNIST.replace("path = \"mnist.pkl.gz\"\n", ""));
        assert!(
            e.contains("sweep.toml:4: `data.path`") && e.contains("mnist-small.pkl.gz"),
            "{e}"
        );
        let e = error(&MNIST.replace("train = 500", "train = 500\nnoise = 0.1"));
        assert!(
            e.contains("`data.noise`") && e.contains("kind = \"mnist\""),
            "{e}"
        );
        let e = error(&MNIST.replace("test = 100", "test = 100\nvalidation = 50"));
        assert!(
            e.contains("sweep.toml:8: `data.validation`") && e.contains("test"),
            "{e}"
        );
        let e = error(&MNIST.replace("test = 100", "subset = \"sometimes\""));
        assert!(e.contains("first") && e.contains("random"), "{e}");
        let e = error(&GOOD.replace("noise = 0.1", "noise = 0.1\npath = \"x.csv\""));
        assert!(e.contains("`data.path`") && e.contains("circles"), "{e}");

        let csv = MNIST
            .replace("kind = \"mnist\"", "kind = \"csv\"")
            .replace("train = 500\ntest = 100\n", "");
        let e = error(&csv);
        assert!(
            e.contains("`data.label_column`") && e.contains("missing"),
            "{e}"
        );
        let c = parse(&csv.replace("[train]", "label_column = \"y\"\n[train]")).unwrap();
        let DataSource::Csv(spec) = &c.data else {
            panic!("{:?}", c.data)
        };
        assert_eq!((spec.label_column.as_str(), spec.test_fraction), ("y", 0.2));
        let e = error(&csv.replace(
            "[train]",
            "label_column = \"y\"\ntest_path = \"t.csv\"\ntest_fraction = 0.3\n[train]",
        ));
        assert!(
            e.contains("`data.test_fraction`") && e.contains("test_path"),
            "{e}"
        );
        let e = error(&csv.replace("[train]", "label_column = \"y\"\ntrain = 5\n[train]"));
        assert!(e.contains("`data.train`") && e.contains("csv"), "{e}");
    }

    #[test]
    fn names_must_be_usable_in_file_names() {
        let e = error(&GOOD.replace("name = \"circles\"", "name = \"../etc\""));
        assert!(e.contains("file names"), "{e}");
    }
}
