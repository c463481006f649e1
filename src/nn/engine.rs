//! The two engines and the choice between them.
//!
//! `Direct` keeps the first layer's weights `w1` (m×d). `Gram` uses that gradient descent only
//! ever adds `δ·Xᵀ` to them: `w1(t) = c(t)·w1(0) + A(t)·Xᵀ` with A of size m×n and c the product
//! of the L2 decays, so `w1·X = c·w1(0)·X + A·(XᵀX)`. With `w1(0)·X` and `G = XᵀX` computed once,
//! the first layer costs one m×n×n product per step instead of two m×d×n ones: three times
//! fewer FLOPs on MNIST-small (n = 500 < d = 784). The arithmetic is the same; only the rounding
//! differs (tests hold the two engines to 1e-8). Each engine's first-layer work is in its own
//! file (`direct.rs`, `gram.rs`); the layers after the first are the same for both.

use ndarray::ArrayView2;

use super::direct::PackedX;
use super::fusion::FusedGroup;
use super::network::flops_per_step;
use super::packed::Packed;

/// How the first layer is computed; see the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Whichever of the two takes fewer FLOPs over the run.
    #[default]
    Auto,
    Direct,
    Gram,
}

impl Engine {
    /// The engine `Auto` stands for with these sizes, `n` training and `n_eval` evaluated
    /// samples. A run's engine is decided by [`RecipeParams::check`](super::RecipeParams::check),
    /// which calls this; elsewhere (estimates before a plan exists) read `Recipe::engine`.
    pub fn resolve(self, sizes: &[usize], n: usize, n_eval: usize, steps: usize) -> Engine {
        match self {
            Engine::Auto => {
                let (d, m) = (sizes[0] as f64, sizes[1] as f64);
                let (n, n_eval, steps) = (n as f64, n_eval as f64, steps as f64);
                let direct = steps * 4.0 * m * n * d;
                // Set-up: w1(0)·X and w1(0)·X_eval per run, G and XᵀX_eval (counted as if no
                // other run shared them).
                let setup = 2.0 * (m + n) * d * (n + n_eval);
                let gram = steps * 2.0 * m * n * n + setup;
                if gram < direct {
                    Engine::Gram
                } else {
                    Engine::Direct
                }
            }
            engine => engine,
        }
    }

    /// The engine `Auto` stands for with mini-batches of `batch` of the `n` training samples,
    /// the training set evaluated every `eval_every` of the `steps` updates. A mini-batch
    /// update costs the Gram engine one m×n×batch product (the batch's columns of G), the
    /// direct engine two m×d×batch ones; an evaluation m×n×n against m×d×n.
    pub fn resolve_mini_batch(
        self,
        sizes: &[usize],
        n: usize,
        batch: usize,
        steps: usize,
        eval_every: usize,
    ) -> Engine {
        match self {
            Engine::Auto => {
                let flops = |e| mini_batch_flops(sizes, n, batch, steps, eval_every, e);
                // Set-up of the Gram engine: G and w1(0)·X, as for full batches.
                let (d, m) = (sizes[0] as f64, sizes[1] as f64);
                let setup = 2.0 * (m + n as f64) * d * n as f64;
                if flops(Engine::Gram) + setup < flops(Engine::Direct) {
                    Engine::Gram
                } else {
                    Engine::Direct
                }
            }
            engine => engine,
        }
    }
}

/// FLOPs of a mini-batch run's products: `steps` updates on `batch` samples and an
/// evaluation of the `n` training samples every `eval_every` updates (forward products only).
pub fn mini_batch_flops(
    sizes: &[usize],
    n: usize,
    batch: usize,
    steps: usize,
    eval_every: usize,
    engine: Engine,
) -> f64 {
    let (d, m) = (sizes[0] as f64, sizes[1] as f64);
    let (nf, b) = (n as f64, batch as f64);
    let rest: f64 = sizes[1..].windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    let evals = (steps / eval_every.max(1)) as f64;
    let (first_step, first_eval) = match engine {
        Engine::Gram => (2.0 * m * nf * b, 2.0 * m * nf * nf),
        Engine::Auto | Engine::Direct => (4.0 * m * d * b, 2.0 * m * d * nf),
    };
    // The later layers: forward, backward delta and weight gradient per update.
    let step = first_step + 6.0 * rest * b;
    let eval = first_eval + 2.0 * rest * nf;
    steps as f64 * step + evals * eval
}

/// FLOPs of one training step on `n` samples with a resolved engine: matrix products only,
/// a multiply-add counted as two.
pub fn step_flops(sizes: &[usize], n: usize, engine: Engine) -> f64 {
    let direct = flops_per_step(sizes, n);
    match engine {
        Engine::Gram => {
            let (d, m, n) = (sizes[0] as f64, sizes[1] as f64, n as f64);
            direct - 4.0 * m * n * d + 2.0 * m * n * n
        }
        Engine::Auto | Engine::Direct => direct,
    }
}

/// Where the first layer's products come from, for one set of samples.
#[derive(Debug, Clone, Copy)]
pub(super) enum FirstInput<'v, T> {
    /// The samples, d×n.
    Direct(ArrayView2<'v, T>),
    /// The training samples `x`, also `packed` for the direct engine's own kernel, with the
    /// `group` of runs the products are fused with (`None`: alone).
    Packed {
        x: ArrayView2<'v, T>,
        packed: &'v PackedX<T>,
        group: Option<&'v FusedGroup>,
    },
    /// `g`: Xᵀ·samples (n_train×n), also `packed` where there is a kernel for it;
    /// `p0`: w1(0)·samples (m×n); `cols`: for a mini-batch, which training samples these are
    /// (the columns of A its update touches; `None`: all of them, in order).
    Gram {
        g: ArrayView2<'v, T>,
        packed: Option<&'v Packed<T>>,
        p0: ArrayView2<'v, T>,
        cols: Option<&'v [usize]>,
    },
}

/// How a run may spread its own work over threads. Which thread computes what never changes a
/// bit (each product panel is one thread's, in a fixed order); this only says whether to split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parallelism {
    /// Everything on the calling thread.
    #[default]
    Sequential,
    /// The caller is a worker of a rayon pool whose idle threads may take halves of the Gram
    /// engine's product (`rayon::join`): the runner's pool, at the end of a sweep.
    Pool,
}
