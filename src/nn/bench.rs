//! Closures that time the engine's pieces for benchmarks (`benches/step.rs`, `plan`'s
//! estimate, `examples/`): one step of a run, one pair of first-layer products. Doc-hidden:
//! they are not part of the API, but they run the engine's own code paths.

use ndarray::Array2;

use super::backprop::Workspace;
use super::direct::{self, PackedX};
use super::engine::{Engine, FirstInput, Parallelism};
use super::fusion::Fusable;
use super::gram;
use super::inputs::Precise;
use super::kernels::Real;
use super::model::Model;
use super::passes::Func;
use super::recipe::{Precision, Recipe};

/// One training step (backward, update, forward, accuracy) of a network on `x`, as a closure
/// for `benches/step.rs` to time; not part of the API.
#[doc(hidden)]
pub fn step_for_bench(recipe: &Recipe, x: &Array2<f64>, labels: &[u8]) -> Box<dyn FnMut() -> f64> {
    match recipe.precision() {
        Precision::F64 => step_closure::<f64>(recipe, x, labels),
        Precision::F32 => step_closure::<f32>(recipe, x, labels),
    }
}

/// What a benchmarked step's first layer reads besides the samples.
enum BenchFirst<T> {
    Direct,
    Packed(PackedX<T>),
    Gram(gram::Gram<T>, Array2<T>),
}

fn first_input<'v, T>(x: &'v Array2<T>, first: &'v BenchFirst<T>) -> FirstInput<'v, T> {
    match first {
        BenchFirst::Direct => FirstInput::Direct(x.view()),
        BenchFirst::Packed(packed) => FirstInput::Packed {
            x: x.view(),
            packed,
            group: None,
        },
        BenchFirst::Gram(g, p) => FirstInput::Gram {
            g: g.g.view(),
            packed: g.packed.as_ref(),
            p0: p.view(),
            cols: None,
        },
    }
}

fn step_closure<T: Precise + 'static>(
    recipe: &Recipe,
    x: &Array2<f64>,
    labels: &[u8],
) -> Box<dyn FnMut() -> f64> {
    let n = x.ncols();
    let engine = recipe.engine();
    let x = x.mapv(T::from_f64);
    let labels = labels.to_vec();
    let init = super::init::initial_network(recipe);
    let mut net = Model::<T>::new(&init, engine, n);
    // As `train_in` decides, so that `plan` times the run's own products.
    let packed = recipe
        .packs_first_layer()
        .then(|| PackedX::new(x.view()))
        .flatten();
    let first = match (engine, packed) {
        (Engine::Gram, _) => BenchFirst::Gram(
            gram::Gram::of(x.view(), x.view(), true),
            gram::projection(&init, x.view()),
        ),
        (_, Some(packed)) => BenchFirst::Packed(packed),
        (_, None) => BenchFirst::Direct,
    };
    let mut work = Workspace::new(recipe.sizes(), &labels, Parallelism::Sequential)
        .with_functions(recipe.functions(), recipe.cost());
    let (eta, l2) = (recipe.eta(), recipe.l2());
    work.forward(&net, first_input(&x, &first));
    Box::new(move || {
        let input = first_input(&x, &first);
        work.backpropagate(&net);
        work.update(&mut net, input, eta, l2);
        work.forward(&net, input);
        work.evaluate().1
    })
}

/// One forward `w1·X` and one gradient `δ1·Xᵀ` product of a first layer of `m` units on `x`
/// (d×n), as the direct engine computes them (packed where [`packs_first_layer`], else
/// BLAS), as a closure for benchmarks to time; not part of the API.
#[doc(hidden)]
pub fn first_layer_for_bench(x: &Array2<f64>, m: usize, precision: Precision) -> Box<dyn FnMut()> {
    match precision {
        Precision::F64 => first_layer_closure::<f64>(x, m),
        Precision::F32 => first_layer_closure::<f32>(x, m),
    }
}

fn first_layer_closure<T: Real + Fusable>(x: &Array2<f64>, m: usize) -> Box<dyn FnMut()> {
    let (d, n) = x.dim();
    let x = x.mapv(T::from_f64);
    let packed = direct::packs_first_layer(d, n)
        .then(|| PackedX::new(x.view()))
        .flatten();
    let value = |i: usize, j: usize| T::from_f64(((i * 7 + j * 3) % 11) as f64 / 100.0 - 0.05);
    let mut w1 = Array2::from_shape_fn((m, d), |(i, j)| value(i, j));
    let delta = Array2::from_shape_fn((m, n), |(i, j)| value(i, j));
    let mut z = Array2::zeros((m, n));
    let mut grad = Array2::zeros((m, d));
    let bias = vec![T::zero(); m];
    let (eta, decay) = (T::from_f64(1e-9), T::one());
    Box::new(move || match &packed {
        Some(p) => {
            let seq = Parallelism::Sequential;
            direct::forward_packed(Func::Identity, &w1, p, None, seq, &bias, &mut z);
            direct::update_packed(&mut w1, &delta, p, None, seq, &mut grad, eta, decay);
        }
        None => {
            direct::forward(Func::Identity, &w1, x.view(), &bias, &mut z);
            direct::update(&mut w1, &delta, x.view(), eta, decay);
        }
    })
}
