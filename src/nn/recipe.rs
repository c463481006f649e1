//! A run's training recipe as a checked type, linfa's ParamGuard habit: [`RecipeParams`] is the
//! unchecked builder anyone may fill in, and its [`RecipeParams::check`] returns the only type
//! the engine accepts, [`Recipe`], or a [`RecipeError`] saying which value is wrong. The check
//! also resolves the engine (`Auto` to Direct or Gram), once, from the sample counts: every later
//! use reads the resolved choice instead of deciding again.

use super::engine::Engine;

/// The floating-point type a run trains in. Models come out in f64 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// The lecture's (NumPy's) precision.
    #[default]
    F64,
    /// Twice the BLAS rate; accuracies within a point or two of f64's on the lecture's data.
    F32,
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
    pub fn precision(&self) -> Precision {
        self.params.precision
    }
    /// Training samples the recipe was checked for (the columns the gradient sees).
    pub fn n_train(&self) -> usize {
        self.n_train
    }
    /// Samples only evaluated (test and validation), as counted when the engine was chosen.
    pub fn n_eval(&self) -> usize {
        self.n_eval
    }
    /// Floating-point operations of all training steps with the resolved engine.
    pub fn flops(&self) -> f64 {
        super::engine::step_flops(self.sizes(), self.n_train, self.engine) * self.steps() as f64
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

    /// Checks every value and resolves the engine for `n_train` training samples and `n_eval`
    /// evaluated ones: the only way to a [`Recipe`].
    pub fn check(self, n_train: usize, n_eval: usize) -> Result<Recipe, RecipeError> {
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
        if n_train == 0 {
            return bad("no training sample".into());
        }
        let engine = p.engine.resolve(&p.sizes, n_train, n_eval, p.steps);
        Ok(Recipe {
            params: self,
            engine,
            n_train,
            n_eval,
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
