//! The sweep file's schema as serde reads it: every section and key, unknown ones refused.
//!
//! A new key goes here first (as an `Option`, so files without it keep working), then gets its
//! default and checks in `validate.rs`, and enters the hash in `hash.rs` only when not default.

use std::fmt;

use serde::Deserialize;

use crate::nn::{Activation, Cost, Init, Output};
use toml::Spanned;

use super::values::{
    Count, Eta, Fraction, HiddenLayers, Name, NonEmpty, NonNegative, OpenFraction, Probability,
    ValFraction,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) name: Name,
    pub(super) data: RawData,
    pub(super) train: Option<RawTrain>,
    pub(super) grid: RawGrid,
    /// `[[variant]]`: more grids, each `[grid]` with some axes replaced; runs are united.
    pub(super) variant: Option<Vec<RawVariant>>,
    pub(super) output: Option<RawOutput>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum DataKind {
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
pub(super) struct RawData {
    pub(super) kind: Spanned<DataKind>,
    pub(super) samples: Option<Spanned<Count>>,
    pub(super) noise: Option<Spanned<NonNegative>>,
    pub(super) factor: Option<Spanned<OpenFraction>>,
    pub(super) test_fraction: Option<Spanned<Fraction>>,
    pub(super) seed: Option<u64>,
    // circles, moons and csv (mnist has validation images of its own)
    pub(super) validation_fraction: Option<Spanned<ValFraction>>,
    // circles and moons
    pub(super) rng: Option<Spanned<RawDataRng>>,
    // mnist and csv
    pub(super) path: Option<Spanned<String>>,
    // mnist
    pub(super) train: Option<Spanned<Count>>,
    pub(super) test: Option<Spanned<Count>>,
    pub(super) validation: Option<Spanned<Count>>,
    pub(super) subset: Option<Spanned<RawSubset>>,
    // csv
    pub(super) test_path: Option<Spanned<String>>,
    pub(super) label_column: Option<Spanned<String>>,
}

pub(super) type KeySpan = (&'static str, Option<std::ops::Range<usize>>);

impl RawData {
    /// Keys only the generated datasets use.
    pub(super) fn synthetic_keys(&self) -> [KeySpan; 4] {
        [
            ("samples", self.samples.as_ref().map(|s| s.span())),
            ("noise", self.noise.as_ref().map(|s| s.span())),
            ("factor", self.factor.as_ref().map(|s| s.span())),
            ("rng", self.rng.as_ref().map(|s| s.span())),
        ]
    }

    /// Keys only MNIST uses.
    pub(super) fn mnist_keys(&self) -> [KeySpan; 4] {
        [
            ("train", self.train.as_ref().map(|s| s.span())),
            ("test", self.test.as_ref().map(|s| s.span())),
            ("validation", self.validation.as_ref().map(|s| s.span())),
            ("subset", self.subset.as_ref().map(|s| s.span())),
        ]
    }

    /// Keys only the file-based datasets use.
    pub(super) fn file_keys(&self) -> impl Iterator<Item = KeySpan> {
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
pub(super) enum RawSubset {
    First,
    Random,
}

/// `[data] rng`: whose random stream draws the circles or moons and their split.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawDataRng {
    Nnsweep,
    Sklearn,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrain {
    pub(super) steps: Option<Count>,
    pub(super) log_every: Option<usize>,
    pub(super) l2: Option<NonNegative>,
    pub(super) engine: Option<RawEngine>,
    pub(super) precision: Option<RawPrecision>,
    pub(super) rng: Option<Spanned<RawWeightRng>>,
    pub(super) dropout: Option<Probability>,
    pub(super) augment: Option<RawAugment>,
    pub(super) select: Option<RawSelect>,
    pub(super) patience: Option<Count>,
    pub(super) cost: Option<RawCost>,
    pub(super) output: Option<RawOutputFn>,
    pub(super) activation: Option<RawActivation>,
    pub(super) init: Option<RawInit>,
    pub(super) batch_size: Option<Count>,
    pub(super) eval_every: Option<Count>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrid {
    pub(super) hidden: Spanned<NonEmpty<HiddenLayers>>,
    pub(super) eta: Spanned<NonEmpty<Eta>>,
    pub(super) seed: Spanned<NonEmpty<u64>>,
    pub(super) steps: Option<Spanned<NonEmpty<Count>>>,
    pub(super) l2: Option<Spanned<NonEmpty<NonNegative>>>,
    pub(super) train_size: Option<Spanned<NonEmpty<Count>>>,
    pub(super) dropout: Option<Spanned<NonEmpty<Probability>>>,
    pub(super) augment: Option<Spanned<NonEmpty<RawAugment>>>,
    pub(super) select: Option<Spanned<NonEmpty<RawSelect>>>,
    pub(super) patience: Option<Spanned<NonEmpty<Count>>>,
    pub(super) cost: Option<Spanned<NonEmpty<RawCost>>>,
    pub(super) output: Option<Spanned<NonEmpty<RawOutputFn>>>,
    pub(super) activation: Option<Spanned<NonEmpty<RawActivation>>>,
    pub(super) init: Option<Spanned<NonEmpty<RawInit>>>,
    pub(super) batch_size: Option<Spanned<NonEmpty<Count>>>,
}

/// One `[[variant]]`: the axes it replaces in `[grid]` (any of them; the others are kept).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariant {
    pub(super) hidden: Option<Spanned<NonEmpty<HiddenLayers>>>,
    pub(super) eta: Option<Spanned<NonEmpty<Eta>>>,
    pub(super) seed: Option<Spanned<NonEmpty<u64>>>,
    pub(super) steps: Option<Spanned<NonEmpty<Count>>>,
    pub(super) l2: Option<Spanned<NonEmpty<NonNegative>>>,
    pub(super) train_size: Option<Spanned<NonEmpty<Count>>>,
    pub(super) dropout: Option<Spanned<NonEmpty<Probability>>>,
    pub(super) augment: Option<Spanned<NonEmpty<RawAugment>>>,
    pub(super) select: Option<Spanned<NonEmpty<RawSelect>>>,
    pub(super) patience: Option<Spanned<NonEmpty<Count>>>,
    pub(super) cost: Option<Spanned<NonEmpty<RawCost>>>,
    pub(super) output: Option<Spanned<NonEmpty<RawOutputFn>>>,
    pub(super) activation: Option<Spanned<NonEmpty<RawActivation>>>,
    pub(super) init: Option<Spanned<NonEmpty<RawInit>>>,
    pub(super) batch_size: Option<Spanned<NonEmpty<Count>>>,
}

/// `augment`: "none" (the lecture's) or "shift" (each image and its four one-pixel shifts).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawAugment {
    None,
    Shift,
}

/// `select`: which accuracy picks the kept model.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawSelect {
    Train,
    Validation,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    #[serde(default)]
    pub(super) save_models: bool,
}

/// `cost`: "quadratic" (the lecture's) or "cross_entropy".
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawCost {
    Quadratic,
    CrossEntropy,
}

impl RawCost {
    pub(super) fn get(self) -> Cost {
        match self {
            RawCost::Quadratic => Cost::Quadratic,
            RawCost::CrossEntropy => Cost::CrossEntropy,
        }
    }
}

/// `output`: the output layer's function, "sigmoid" (the lecture's) or "softmax".
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawOutputFn {
    Sigmoid,
    Softmax,
}

impl RawOutputFn {
    pub(super) fn get(self) -> Output {
        match self {
            RawOutputFn::Sigmoid => Output::Sigmoid,
            RawOutputFn::Softmax => Output::Softmax,
        }
    }
}

/// `init`: the initial weights' scale, "normal" (N(0, 1), the lecture's), "scaled"
/// (N(0, 1/fan_in)) or "he" (N(0, 2/fan_in)).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawInit {
    Normal,
    Scaled,
    He,
}

impl RawInit {
    pub(super) fn get(self) -> Init {
        match self {
            RawInit::Normal => Init::Normal,
            RawInit::Scaled => Init::Scaled,
            RawInit::He => Init::He,
        }
    }
}

/// `[train] engine`: "auto" picks by FLOP count (Gram when there are fewer samples than inputs).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawEngine {
    Auto,
    Direct,
    Gram,
}

/// `[train] precision`.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawPrecision {
    F64,
    F32,
}

/// `[train] rng`: whose random stream draws the initial weights.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawWeightRng {
    Chacha,
    Numpy,
}

/// `activation`: the hidden layers' function, "sigmoid" (the lecture's), "tanh" or "relu".
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawActivation {
    Sigmoid,
    Tanh,
    Relu,
}

impl RawActivation {
    pub(super) fn get(self) -> Activation {
        match self {
            RawActivation::Sigmoid => Activation::Sigmoid,
            RawActivation::Tanh => Activation::Tanh,
            RawActivation::Relu => Activation::Relu,
        }
    }
}
