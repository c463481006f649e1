//! The direct engine's first layer: `z1 = w1·X`, and `w1 ← (1 − eta·l2)·w1 − eta·δ1·Xᵀ`.
//!
//! Two ways to the same arithmetic. Through BLAS, whose beta does the decay (no gradient
//! buffer). Or, on large training sets, through X and Xᵀ packed once for the whole sweep
//! ([`PackedX`]): BLAS re-packs X at every call, and with few hidden units a product is bound
//! by reading X, which the packed kernel does once per chunk for every row (and, fused, for
//! every run of a group: `fusion.rs`).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};

use super::engine::Parallelism;
use super::fusion::{self, Fusable, FusedGroup};
use super::kernels::Real;
use super::network::Network;
use super::packed::Packed;
use super::passes::{dispatch, Activate, Func};

/// The first layer's weights in `T`.
pub(super) fn initial_weights<T: Real>(net: &Network) -> Array2<T> {
    net.weights[0].mapv(T::from_f64)
}

/// Whether a training set of `n` samples of `d` features goes through the packed kernel:
/// where it has one (AVX-512F) and X has at least [`PACKED_FROM`] values. Below that BLAS's
/// own packing costs little, and the small lecture sets (circles: 2×400) keep the bits they
/// have always had. The rule depends on the shape and the processor only, so a run's numbers
/// still depend only on its parameters and data (on a given machine).
pub fn packs_first_layer(d: usize, n: usize) -> bool {
    d * n >= PACKED_FROM && super::packed::available()
}

/// Values of X from which the packed kernel is used (measured: `bench/README.md`).
pub const PACKED_FROM: usize = 1 << 15;

/// X (d×n) packed for `w1·X`, and Xᵀ for `δ1·Xᵀ`: made once per training set and precision,
/// shared read-only by every run of the sweep.
#[derive(Debug)]
pub struct PackedX<T> {
    pub(super) x: Packed<T>,
    pub(super) xt: Packed<T>,
}

impl<T: Fusable> PackedX<T> {
    /// Both packings of `x`, or `None` where there is no packed kernel.
    pub fn new(x: ArrayView2<'_, T>) -> Option<PackedX<T>> {
        Some(PackedX {
            x: Packed::new(x)?,
            xt: Packed::new(x.t())?,
        })
    }
}

/// `z ← f(w1·x + b1)`; `z` is m×n, contiguous.
pub(super) fn forward<T: Real>(
    f: Func,
    w1: &Array2<T>,
    x: ArrayView2<'_, T>,
    bias: &[T],
    z: &mut Array2<T>,
) {
    general_mat_mul(T::one(), w1, &x, T::zero(), z);
    activate(f, bias, z);
}

fn activate<T: Real>(f: Func, bias: &[T], z: &mut Array2<T>) {
    dispatch(Activate {
        f,
        z: z.as_slice_mut().expect("workspace buffers are contiguous"),
        bias,
        extra: None,
    });
}

/// [`forward`] through the packed X, with the run's group when it is fused.
pub(super) fn forward_packed<T: Real + Fusable>(
    f: Func,
    w1: &Array2<T>,
    packed: &PackedX<T>,
    group: Option<&FusedGroup>,
    parallelism: Parallelism,
    bias: &[T],
    z: &mut Array2<T>,
) {
    fusion::product(
        group,
        &packed.x,
        w1.as_slice().expect("weights are contiguous"),
        z.as_slice_mut().expect("workspace buffers are contiguous"),
        parallelism,
    );
    activate(f, bias, z);
}

/// `w1 ← decay·w1 − eta·δ1·xᵀ`.
pub(super) fn update<T: Real>(
    w1: &mut Array2<T>,
    delta: &Array2<T>,
    x: ArrayView2<'_, T>,
    eta: T,
    decay: T,
) {
    general_mat_mul(-eta, delta, &x.t(), decay, w1);
}

/// [`update`] through the packed Xᵀ: the gradient `δ1·Xᵀ` into `grad` (m×d), then
/// `w1 ← decay·w1 − eta·grad`, element by element.
#[allow(clippy::too_many_arguments)]
pub(super) fn update_packed<T: Real + Fusable>(
    w1: &mut Array2<T>,
    delta: &Array2<T>,
    packed: &PackedX<T>,
    group: Option<&FusedGroup>,
    parallelism: Parallelism,
    grad: &mut Array2<T>,
    eta: T,
    decay: T,
) {
    let g = grad
        .as_slice_mut()
        .expect("workspace buffers are contiguous");
    fusion::product(
        group,
        &packed.xt,
        delta.as_slice().expect("workspace buffers are contiguous"),
        g,
        parallelism,
    );
    let w = w1.as_slice_mut().expect("weights are contiguous");
    for (w, &g) in w.iter_mut().zip(g.iter()) {
        *w = decay * *w - eta * g;
    }
}
