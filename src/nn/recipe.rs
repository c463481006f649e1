//! A run's training recipe as a checked type, linfa's ParamGuard habit: [`RecipeParams`] is the
//! unchecked builder anyone may fill in, and its [`RecipeParams::check`] returns the only type
//! the engine accepts, [`Recipe`], or a [`RecipeError`] saying which value is wrong. The check
//! also resolves the engine (`Auto` to Direct or Gram), once, from the sample counts: every later
//! use reads the resolved choice instead of deciding again.

use super::engine::Engine;
use super::functions::{Activation, Cost, Functions, Init, Output};
use super::fusion::FusionKey;
use super::init::WeightRng;

/// The floating-point type a run trains in. Models come out in f64 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// The lecture's (NumPy's) precision.
    #[default]
    F64,
    /// Twice the BLAS rate; accuracies within a point or two of f64's on the lecture's data.
    F32,
}

/// Which accuracy picks the kept model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    /// Training accuracy: the lecture's choice, and exactly what over-fits.
    #[default]
    Train,
    /// Accuracy on the validation samples (never the test set).
    Validation,
}

impl Select {
    /// `"train"`, `"validation"`: as configs and results files write it.
    pub fn name(self) -> &'static str {
        match self {
            Select::Train => "train",
            Select::Validation => "validation",
        }
    }
}

/// A recipe value the engine cannot train with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid training recipe: {0}")]
pub struct RecipeError(pub String);

/// An unchecked recipe: the lecture's defaults, set field by field with the builder methods,
/// then [`check`](RecipeParams::check)ed into a [`Recipe`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeParams {
    sizes: Vec<usize>,
    eta: f64,
    l2: f64,
    steps: usize,
    seed: u64,
    log_every: usize,
    engine: Engine,
    precision: Precision,
    /// The stream the seed starts for the initial weights (`[train] rng`).
    weight_rng: WeightRng,
    dropout: f64,
    select: Select,
    patience: Option<usize>,
    cost: Cost,
    output: Output,
    activation: Activation,
    init: Init,
    /// Samples per update; `None`: the whole training set (the lecture's).
    batch_size: Option<usize>,
    /// Updates between evaluations; `None`: 1 for full batches, an epoch for mini-batches.
    eval_every: Option<usize>,
}

/// A checked recipe: every value valid, the engine resolved for the run's sample counts.
/// Made only by [`RecipeParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    params: RecipeParams,
    /// `Direct` or `Gram`, never `Auto`.
    engine: Engine,
    n_train: usize,
    n_eval: usize,
    n_val: usize,
    /// Resolved: samples per update (at most `n_train`) and updates between evaluations.
    batch: usize,
    eval_every: usize,
}

impl Recipe {
    /// The unchecked recipe of a network with these layer sizes (input first, classes last):
    /// the lecture's defaults (no L2, seed 0, no curve, engine `Auto`, f64), with `eta` and
    /// `steps` left for the caller to set (`check` refuses them unset).
    pub fn params(sizes: &[usize]) -> RecipeParams {
        RecipeParams {
            sizes: sizes.to_vec(),
            eta: f64::NAN,
            l2: 0.0,
            steps: 0,
            seed: 0,
            log_every: 0,
            engine: Engine::Auto,
            precision: Precision::F64,
            weight_rng: WeightRng::Chacha,
            dropout: 0.0,
            select: Select::Train,
            patience: None,
            cost: Cost::Quadratic,
            output: Output::Sigmoid,
            activation: Activation::Sigmoid,
            init: Init::Normal,
            batch_size: None,
            eval_every: None,
        }
    }

    /// Layer sizes, input first, output (number of classes) last.
    pub fn sizes(&self) -> &[usize] {
        &self.params.sizes
    }
    /// Hidden layer sizes.
    pub fn hidden(&self) -> &[usize] {
        &self.params.sizes[1..self.params.sizes.len() - 1]
    }
    pub fn eta(&self) -> f64 {
        self.params.eta
    }
    /// L2 penalty: each update is `w ← w − eta·(l2·w + ∂C/∂w)`; biases are not penalised.
    pub fn l2(&self) -> f64 {
        self.params.l2
    }
    pub fn steps(&self) -> usize {
        self.params.steps
    }
    /// Seed of the initial weights.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }
    /// A learning-curve point every this many steps (and at steps 0 and the last); 0: none.
    pub fn log_every(&self) -> usize {
        self.params.log_every
    }
    /// The engine this run uses: `Direct` or `Gram`, resolved by `check`.
    pub fn engine(&self) -> Engine {
        self.engine
    }
    /// Whether the first layer's products go through X packed once (the direct engine on a
    /// large training set, on a processor with the packed kernel), rather than BLAS.
    pub fn packs_first_layer(&self) -> bool {
        self.engine == Engine::Direct
            && super::direct::packs_first_layer(self.params.sizes[0], self.n_train)
    }
    /// What this run must share with others to be fused with them (`FusedGroup`), or `None`
    /// when it is never fused: full-batch runs of the packed first layer only, whose steps
    /// ask for the same products in the same order.
    pub fn fusion_key(&self) -> Option<FusionKey> {
        (self.packs_first_layer() && !self.is_mini_batch()).then_some(FusionKey {
            precision: self.params.precision,
            n_train: self.n_train,
            dropout: self.params.dropout > 0.0,
        })
    }
    pub fn precision(&self) -> Precision {
        self.params.precision
    }
    /// The stream of the initial weights; the seed was checked against it.
    pub fn weight_rng(&self) -> WeightRng {
        self.params.weight_rng
    }
    /// Probability that a hidden unit is dropped at a training step (0: no dropout).
    pub fn dropout(&self) -> f64 {
        self.params.dropout
    }
    /// Which accuracy picks the kept model.
    pub fn select(&self) -> Select {
        self.params.select
    }
    /// Stop when the selecting accuracy has not improved for this many steps.
    pub fn patience(&self) -> Option<usize> {
        self.params.patience
    }
    /// Validation samples the recipe was checked for (0: none).
    pub fn n_val(&self) -> usize {
        self.n_val
    }
    /// Training samples the recipe was checked for (the columns the gradient sees).
    pub fn n_train(&self) -> usize {
        self.n_train
    }
    /// Samples only evaluated (test and validation), as counted when the engine was chosen.
    pub fn n_eval(&self) -> usize {
        self.n_eval
    }
    /// Floating-point operations of all training steps with the resolved engine, and of the
    /// training set's evaluations when they are not the steps' own forward passes.
    pub fn flops(&self) -> f64 {
        if !self.is_mini_batch() {
            return super::engine::step_flops(self.sizes(), self.n_train, self.engine)
                * self.steps() as f64;
        }
        super::engine::mini_batch_flops(
            self.sizes(),
            self.n_train,
            self.batch,
            self.steps(),
            self.eval_every,
            self.engine,
        )
    }
    pub fn cost(&self) -> Cost {
        self.params.cost
    }
    pub fn output(&self) -> Output {
        self.params.output
    }
    /// The hidden layers' activation.
    pub fn activation(&self) -> Activation {
        self.params.activation
    }
    /// The scale of the initial weights.
    pub fn init(&self) -> Init {
        self.params.init
    }
    /// What a forward pass of this recipe's network computes.
    pub fn functions(&self) -> Functions {
        Functions {
            activation: self.params.activation,
            output: self.params.output,
        }
    }
    /// The `batch_size` asked for (`None`: the whole training set).
    pub fn batch_size(&self) -> Option<usize> {
        self.params.batch_size
    }
    /// Samples per update: the batch size, or every training sample.
    pub fn batch(&self) -> usize {
        self.batch
    }
    /// Whether updates see mini-batches (a batch smaller than the training set); a batch of
    /// the whole set is the lecture's full-batch descent, the same numbers as no batch size.
    pub fn is_mini_batch(&self) -> bool {
        self.batch < self.n_train
    }
    /// Updates between evaluations of the training (and validation) accuracy, which are when
    /// the best model is considered, patience counted and curves logged.
    pub fn eval_every(&self) -> usize {
        self.eval_every
    }
}

impl RecipeParams {
    pub fn eta(mut self, eta: f64) -> Self {
        self.eta = eta;
        self
    }
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn log_every(mut self, log_every: usize) -> Self {
        self.log_every = log_every;
        self
    }
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = engine;
        self
    }
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }
    pub fn weight_rng(mut self, weight_rng: WeightRng) -> Self {
        self.weight_rng = weight_rng;
        self
    }

    /// Inverted dropout on hidden units with this probability, in [0, 1).
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }
    pub fn select(mut self, select: Select) -> Self {
        self.select = select;
        self
    }
    /// At least 1 step when set.
    pub fn patience(mut self, patience: Option<usize>) -> Self {
        self.patience = patience;
        self
    }
    pub fn cost(mut self, cost: Cost) -> Self {
        self.cost = cost;
        self
    }
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }
    /// At least 1 when set; `None` (or the training set's size or more): full batches.
    pub fn batch_size(mut self, batch_size: Option<usize>) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// At least 1 when set; `None`: every update for full batches, every epoch otherwise.
    pub fn eval_every(mut self, eval_every: Option<usize>) -> Self {
        self.eval_every = eval_every;
        self
    }

    /// [`check`](Self::check) for a run that also has `n_val` validation samples (counted in
    /// `n_eval` too); `select = Validation` needs some.
    pub fn check_with_validation(
        self,
        n_train: usize,
        n_eval: usize,
        n_val: usize,
    ) -> Result<Recipe, RecipeError> {
        self.checked(n_train, n_eval, n_val)
    }

    /// Checks every value and resolves the engine for `n_train` training samples and `n_eval`
    /// evaluated ones: the only way to a [`Recipe`].
    pub fn check(self, n_train: usize, n_eval: usize) -> Result<Recipe, RecipeError> {
        self.checked(n_train, n_eval, 0)
    }

    fn checked(self, n_train: usize, n_eval: usize, n_val: usize) -> Result<Recipe, RecipeError> {
        let bad = |m: String| Err(RecipeError(m));
        let p = &self;
        if p.sizes.len() < 2 || p.sizes.contains(&0) {
            return bad(format!(
                "layer sizes {:?}: a network needs an input and an output layer, none empty",
                p.sizes
            ));
        }
        if *p.sizes.last().unwrap_or(&0) > 256 {
            return bad(format!(
                "{} classes: labels are bytes, at most 256 classes",
                p.sizes[p.sizes.len() - 1]
            ));
        }
        if !(p.eta.is_finite() && p.eta > 0.0) {
            return bad(format!("eta {}: must be a number above 0", p.eta));
        }
        if !(p.l2.is_finite() && p.l2 >= 0.0) {
            return bad(format!("l2 {}: must be a number of 0 or more", p.l2));
        }
        if p.steps == 0 {
            return bad("steps 0: a run takes at least one step".into());
        }
        if !(0.0..1.0).contains(&p.dropout) {
            return bad(format!(
                "dropout {}: a probability of dropping a unit, at least 0 and below 1",
                p.dropout
            ));
        }
        if p.patience == Some(0) {
            return bad("patience 0: at least 1 step".into());
        }
        if p.batch_size == Some(0) {
            return bad("batch_size 0: a batch holds at least one sample".into());
        }
        if p.eval_every == Some(0) {
            return bad("eval_every 0: evaluate every 1 step or more".into());
        }
        if p.select == Select::Validation && n_val == 0 {
            return bad(
                "select = \"validation\" needs validation samples, and there are none".into(),
            );
        }
        if n_val > n_eval {
            return bad(format!(
                "{n_val} validation samples among {n_eval} evaluated ones"
            ));
        }
        if n_train == 0 {
            return bad("no training sample".into());
        }
        if let Err(e) = p.weight_rng.check_seed(p.seed) {
            return bad(e.to_string());
        }
        let batch = p.batch_size.map_or(n_train, |b| b.min(n_train));
        let epoch = n_train.div_ceil(batch);
        let eval_every = p.eval_every.unwrap_or(epoch);
        if p.sizes.len() == 2 && p.engine == Engine::Gram {
            return bad(
                "engine Gram needs a hidden layer (its first layer is not the output)".into(),
            );
        }
        let engine = if p.sizes.len() == 2 {
            Engine::Direct
        } else if batch < n_train {
            p.engine
                .resolve_mini_batch(&p.sizes, n_train, batch, p.steps, eval_every)
        } else {
            p.engine.resolve(&p.sizes, n_train, n_eval, p.steps)
        };
        Ok(Recipe {
            params: self,
            engine,
            n_train,
            n_eval,
            n_val,
            batch,
            eval_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_refuses_what_cannot_train_and_resolves_the_engine() {
        let ok = || Recipe::params(&[784, 30, 10]).eta(5e-4).steps(1000);
        let r = ok().check(500, 100).unwrap();
        assert_eq!(r.engine(), Engine::Gram);
        assert_eq!(ok().check(5000, 100).unwrap().engine(), Engine::Direct);
        assert_eq!(
            ok().engine(Engine::Direct)
                .check(500, 100)
                .unwrap()
                .engine(),
            Engine::Direct
        );
        assert_eq!(r.hidden(), &[30]);
        for (bad, what) in [
            (ok().eta(0.0), "eta"),
            (ok().eta(f64::NAN), "eta"),
            (ok().l2(-1.0), "l2"),
            (ok().steps(0), "steps"),
            (Recipe::params(&[3]).eta(1.0).steps(1), "layer"),
            (Recipe::params(&[3, 0, 2]).eta(1.0).steps(1), "layer"),
            (ok().weight_rng(WeightRng::Numpy).seed(1 << 32), "NumPy"),
        ] {
            let e = bad.check(10, 0).unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        }
        assert!(Recipe::params(&[3, 2])
            .eta(1.0)
            .steps(1)
            .check(0, 0)
            .is_err());
    }
}
