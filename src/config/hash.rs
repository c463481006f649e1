//! The config hash: a digest of a canonical text of the settings that decide a run's numbers.
//!
//! The text is spelled out here, key by key, never taken from `Debug` output, so renaming a Rust
//! field or type changes no hash. Its first part is frozen: it reproduces byte for byte the text
//! nnsweep 0.1 hashed (which did use `Debug`), so results files written by 0.1 still resume.
//! That part lists today's data keys with their resolved defaults, as 0.1 did.
//!
//! Every setting added since is appended as one `key=value` line **only when it is not the
//! default**, so a new key leaves every existing hash unchanged and only sweeps that use it get
//! a new one ([`Canonical::extra`]). `engine` and `precision` were the first such keys.
//!
//! Left out on purpose: `log_every` (it changes what is recorded, not the results), the grid
//! (each row carries its own parameters in its run id) and data file paths (the data's own
//! digest stands for them in [`super::Config::results_hash`], so a sweep copied to another
//! folder still resumes, and a data file changed under the same name does not).
//!
//! `tests.rs` pins the hashes of known configs: a change that alters an old hash fails CI on
//! purpose.

use std::fmt::{Display, Write};

use sha2::{Digest, Sha256};

use super::TrainSettings;
use crate::data::augment::Augment;
use crate::data::mnist::Subset;
use crate::data::synthetic::{DataRng, Shape};
use crate::data::DataSource;
use crate::nn::{Activation, Cost, Engine, Init, Output, Precision, Select, WeightRng};

/// The hash of the settings that decide a run's numbers apart from its grid parameters.
pub(super) fn settings_hash(data: &DataSource, train: &TrainSettings) -> String {
    hex16(&Sha256::digest(canonical_text(data, train).as_bytes()))
}

/// The canonical text hashed by [`settings_hash`].
pub(super) fn canonical_text(data: &DataSource, train: &TrainSettings) -> String {
    let mut text = Canonical(String::new());
    text.line(format_args!("nnsweep-results-v1"));
    text.line(format_args!("data={}", data_text(data)));
    text.line(format_args!("steps={}", train.steps));
    text.line(format_args!("l2={}", float(train.l2)));
    text.line(format_args!("cost=quadratic"));
    text.line(format_args!("activation=sigmoid"));
    // Keys added after 0.1: each only when not default.
    text.extra(
        "engine",
        match train.engine {
            Engine::Auto => "Auto",
            Engine::Direct => "Direct",
            Engine::Gram => "Gram",
        },
        train.engine == Engine::default(),
    );
    text.extra(
        "precision",
        match train.precision {
            Precision::F64 => "F64",
            Precision::F32 => "F32",
        },
        train.precision == Precision::default(),
    );
    // The random streams (issue 12): other weights, other points, hence other numbers.
    text.extra(
        "rng",
        match train.rng {
            WeightRng::Chacha => "chacha",
            WeightRng::Numpy => "numpy",
        },
        train.rng == WeightRng::default(),
    );
    let data_rng = match data {
        DataSource::Synthetic(spec) => spec.rng,
        DataSource::Mnist(_) | DataSource::Csv(_) => DataRng::default(),
    };
    text.extra(
        "data.rng",
        match data_rng {
            DataRng::Nnsweep => "nnsweep",
            DataRng::Sklearn => "sklearn",
        },
        data_rng == DataRng::default(),
    );
    let validation_fraction = match data {
        DataSource::Synthetic(spec) => spec.validation_fraction,
        DataSource::Csv(spec) => spec.validation_fraction,
        DataSource::Mnist(_) => None,
    };
    text.extra(
        "data.validation_fraction",
        validation_fraction.map_or_else(String::new, |f| float(f.get())),
        validation_fraction.is_none(),
    );
    text.extra("dropout", float(train.dropout), train.dropout == 0.0);
    text.extra(
        "augment",
        train.augment.name(),
        train.augment == Augment::None,
    );
    text.extra("select", train.select.name(), train.select == Select::Train);
    text.extra(
        "patience",
        train.patience.map_or(0, |p| p),
        train.patience.is_none(),
    );
    // The next lecture's (issue 10). `cost=quadratic` and `activation=sigmoid` above are 0.1's
    // frozen lines; another choice is appended as its own line, like every key since 0.1.
    text.extra("cost", train.cost.name(), train.cost == Cost::default());
    text.extra(
        "output",
        train.output.name(),
        train.output == Output::default(),
    );
    text.extra(
        "activation",
        train.activation.name(),
        train.activation == Activation::default(),
    );
    text.extra("init", train.init.name(), train.init == Init::default());
    text.extra(
        "batch_size",
        train.batch_size.unwrap_or(0),
        train.batch_size.is_none(),
    );
    text.extra(
        "eval_every",
        train.eval_every.unwrap_or(0),
        train.eval_every.is_none(),
    );
    text.0
}

/// The canonical text being built, one `key=value` per line.
struct Canonical(String);

impl Canonical {
    fn line(&mut self, line: std::fmt::Arguments<'_>) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        let _ = self.0.write_fmt(line);
    }

    /// A setting added after 0.1: written only when it is not the default, so configs that do
    /// not use it keep their hash.
    fn extra(&mut self, key: &str, value: impl Display, is_default: bool) {
        if !is_default {
            self.line(format_args!("{key}={value}"));
        }
    }
}

/// The data settings as 0.1 wrote them (paths blanked: the data digest stands for them).
fn data_text(data: &DataSource) -> String {
    match data {
        DataSource::Synthetic(spec) => format!(
            "Synthetic(SyntheticSpec {{ shape: {}, samples: {}, noise: {}, test_fraction: {}, \
             seed: {} }})",
            match spec.shape {
                Shape::Circles { factor } => format!("Circles {{ factor: {} }}", float(factor)),
                Shape::Moons => "Moons".to_string(),
            },
            spec.samples,
            float(spec.noise),
            float(spec.test_fraction),
            spec.seed
        ),
        DataSource::Mnist(spec) => format!(
            "Mnist(MnistSpec {{ path: \"\", train: {}, test: {}, validation: {}, subset: {}, \
             seed: {} }})",
            option(spec.train),
            option(spec.test),
            option(spec.validation),
            match spec.subset {
                Subset::First => "First",
                Subset::Random => "Random",
            },
            spec.seed
        ),
        DataSource::Csv(spec) => format!(
            "Csv(TableSpec {{ path: \"\", test_path: {}, label_column: {}, test_fraction: {}, \
             seed: {} }})",
            if spec.test_path.is_some() {
                "Some(\"\")"
            } else {
                "None"
            },
            quoted(&spec.label_column),
            float(spec.test_fraction),
            spec.seed
        ),
    }
}

/// A float the way 0.1 wrote it: the shortest text that reads back to the same bits, with a
/// decimal point (`0.1`, `1.0`, `1e-5`): Rust's `{:?}` of an `f64`.
fn float(v: f64) -> String {
    format!("{v:?}")
}

fn option(v: Option<usize>) -> String {
    v.map_or_else(|| "None".to_string(), |n| format!("Some({n})"))
}

/// A string quoted and escaped the way 0.1 wrote it (Rust's `{:?}` of a `str`).
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// The first 8 bytes of a digest in hex: 16 characters, enough to tell configs apart.
pub(super) fn hex16(digest: &[u8]) -> String {
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}
