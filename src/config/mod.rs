//! The sweep file: a TOML schema read with serde (unknown keys refused), defaults filled in, and
//! every value checked before any training starts.
//!
//! Errors name the file, the line and the key, and say what to write instead: most come from
//! toml itself, which points at the offending value when a field's own deserializer refuses it;
//! that is why the checks live in small validated types (`values.rs`) rather than in
//! a pass after parsing. Checks that need two keys, or the loaded data, use `Spanned` values
//! to point at the right line all the same.
//!
//! The module is split by concern:
//!
//! | file | owns |
//! | --- | --- |
//! | `mod.rs` | [`Config`] and its parts, [`ConfigError`], loading and the checks against the data |
//! | `schema.rs` | the file's schema as serde reads it (`Raw*`): every key and section |
//! | `values.rs` | validated values (`Count`, `Eta`, ...): each refuses a bad value where toml points |
//! | `validate.rs` | checks across keys, defaults, data paths: `Raw*` to [`DataSource`] and the grid |
//! | `hash.rs` | the canonical text of the settings that decide the numbers, and its hash |

mod hash;
mod schema;
mod validate;
mod values;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::data::augment::Augment;
use crate::data::{DataSource, Dataset};
use crate::nn::{Activation, Cost, Engine, Init, Output, Precision, Select, WeightRng};

use hash::{hex16, settings_hash};
use schema::{RawAugment, RawConfig, RawEngine, RawPrecision, RawSelect, RawVariant, RawWeightRng};
use validate::{optional_unique, resolve_data, unique};

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
    /// `[[variant]]` grids: `grid` with some axes replaced. The sweep is the union of `grid`
    /// and these, each run once (by id).
    pub variants: Vec<Grid>,
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
    /// The stream of the initial weights: nnsweep's (ChaCha8) or NumPy's `np.random.seed`.
    pub rng: WeightRng,
    /// Probability of dropping each hidden unit at a training step, unless swept (0: none).
    pub dropout: f64,
    /// How training images are expanded, unless swept.
    pub augment: Augment,
    /// Which accuracy picks the kept model, unless swept.
    pub select: Select,
    /// Stop a run after this many steps without improvement, unless swept (None: never).
    pub patience: Option<usize>,
    /// The next lecture's choices, unless swept: cost, output function, hidden activation,
    /// initial weights' scale, and samples per update (None: the whole training set).
    pub cost: Cost,
    pub output: Output,
    pub activation: Activation,
    pub init: Init,
    pub batch_size: Option<usize>,
    /// Updates between evaluations (None: every update for full batches, every epoch for
    /// mini-batches). Not an axis: it says when to look, not what to train.
    pub eval_every: Option<usize>,
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
    /// Swept dropout probabilities, augmentations, selections, patiences; `None`: `[train]`'s.
    pub dropout: Option<Vec<f64>>,
    pub augment: Option<Vec<Augment>>,
    pub select: Option<Vec<Select>>,
    pub patience: Option<Vec<usize>>,
    /// The next lecture's axes; `None`: `[train]`'s.
    pub cost: Option<Vec<Cost>>,
    pub output: Option<Vec<Output>>,
    pub activation: Option<Vec<Activation>>,
    pub init: Option<Vec<Init>>,
    pub batch_size: Option<Vec<usize>>,
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

fn augment(a: RawAugment) -> Augment {
    match a {
        RawAugment::None => Augment::None,
        RawAugment::Shift => Augment::Shift,
    }
}

fn select(s: RawSelect) -> Select {
    match s {
        RawSelect::Train => Select::Train,
        RawSelect::Validation => Select::Validation,
    }
}

/// A `[[variant]]`'s grid: `base` with the axes the variant sets replaced.
fn variant(
    base: &Grid,
    v: &RawVariant,
    invalid: &validate::Invalid<'_>,
) -> Result<Grid, ConfigError> {
    fn or<T: Clone>(mine: Option<Vec<T>>, theirs: &Option<Vec<T>>) -> Option<Vec<T>> {
        mine.or_else(|| theirs.clone())
    }
    Ok(Grid {
        hidden: optional_unique(&v.hidden, "variant.hidden", invalid, |h| h.sizes())?
            .unwrap_or_else(|| base.hidden.clone()),
        eta: optional_unique(&v.eta, "variant.eta", invalid, |e| e.0)?
            .unwrap_or_else(|| base.eta.clone()),
        seed: optional_unique(&v.seed, "variant.seed", invalid, |s| *s)?
            .unwrap_or_else(|| base.seed.clone()),
        steps: or(
            optional_unique(&v.steps, "variant.steps", invalid, |s| s.0)?,
            &base.steps,
        ),
        l2: or(
            optional_unique(&v.l2, "variant.l2", invalid, |l| l.0)?,
            &base.l2,
        ),
        train_size: or(
            optional_unique(&v.train_size, "variant.train_size", invalid, |n| n.0)?,
            &base.train_size,
        ),
        dropout: or(
            optional_unique(&v.dropout, "variant.dropout", invalid, |p| p.0)?,
            &base.dropout,
        ),
        augment: or(
            optional_unique(&v.augment, "variant.augment", invalid, |a| augment(*a))?,
            &base.augment,
        ),
        select: or(
            optional_unique(&v.select, "variant.select", invalid, |a| select(*a))?,
            &base.select,
        ),
        patience: or(
            optional_unique(&v.patience, "variant.patience", invalid, |n| n.0)?,
            &base.patience,
        ),
        cost: or(
            optional_unique(&v.cost, "variant.cost", invalid, |c| c.get())?,
            &base.cost,
        ),
        output: or(
            optional_unique(&v.output, "variant.output", invalid, |o| o.get())?,
            &base.output,
        ),
        activation: or(
            optional_unique(&v.activation, "variant.activation", invalid, |a| a.get())?,
            &base.activation,
        ),
        init: or(
            optional_unique(&v.init, "variant.init", invalid, |i| i.get())?,
            &base.init,
        ),
        batch_size: or(
            optional_unique(&v.batch_size, "variant.batch_size", invalid, |n| n.0)?,
            &base.batch_size,
        ),
    })
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
            rng: match train_raw.rng.as_ref().map(|r| *r.get_ref()) {
                None | Some(RawWeightRng::Chacha) => WeightRng::Chacha,
                Some(RawWeightRng::Numpy) => WeightRng::Numpy,
            },
            dropout: train_raw.dropout.map_or(0.0, |p| p.0),
            augment: train_raw.augment.map_or(Augment::None, augment),
            select: train_raw.select.map_or(Select::Train, select),
            patience: train_raw.patience.map(|p| p.0),
            cost: train_raw.cost.map_or(Cost::default(), |c| c.get()),
            output: train_raw.output.map_or(Output::default(), |o| o.get()),
            activation: train_raw
                .activation
                .map_or(Activation::default(), |a| a.get()),
            init: train_raw.init.map_or(Init::default(), |i| i.get()),
            batch_size: train_raw.batch_size.map(|n| n.0),
            eval_every: train_raw.eval_every.map(|n| n.0),
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
            dropout: optional_unique(&grid_raw.dropout, "grid.dropout", &invalid, |p| p.0)?,
            augment: optional_unique(&grid_raw.augment, "grid.augment", &invalid, |a| augment(*a))?,
            select: optional_unique(&grid_raw.select, "grid.select", &invalid, |a| select(*a))?,
            patience: optional_unique(&grid_raw.patience, "grid.patience", &invalid, |n| n.0)?,
            cost: optional_unique(&grid_raw.cost, "grid.cost", &invalid, |c| c.get())?,
            output: optional_unique(&grid_raw.output, "grid.output", &invalid, |o| o.get())?,
            activation: optional_unique(&grid_raw.activation, "grid.activation", &invalid, |a| {
                a.get()
            })?,
            init: optional_unique(&grid_raw.init, "grid.init", &invalid, |i| i.get())?,
            batch_size: optional_unique(&grid_raw.batch_size, "grid.batch_size", &invalid, |n| {
                n.0
            })?,
        };
        // Every seed of the grid must start the chosen weight stream (NumPy's are 32-bit).
        if let Some(e) = grid
            .seed
            .iter()
            .find_map(|&s| train.rng.check_seed(s).err())
        {
            return Err(invalid(grid_raw.seed.span(), "grid.seed", e.to_string()));
        }
        let variants = raw
            .variant
            .iter()
            .flatten()
            .map(|v| variant(&grid, v, &invalid))
            .collect::<Result<Vec<Grid>, ConfigError>>()?;
        let settings_hash = settings_hash(&data, &train);
        Ok(Config {
            path: path.to_path_buf(),
            name: raw.name.0,
            data,
            train,
            grid,
            variants,
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

    /// The sweep file as written, for the summary page (what was run, in the user's words).
    pub fn source(&self) -> &str {
        &self.source
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
pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

impl crate::exit::ExitStatus for ConfigError {
    /// Every config error is the input's: the file named cannot be read or is wrong.
    fn exit_code(&self) -> u8 {
        crate::exit::BAD_INPUT
    }
}

#[cfg(test)]
mod tests;
