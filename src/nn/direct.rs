//! The direct engine's first layer: `z1 = w1·X`, and `w1 ← (1 − eta·l2)·w1 − eta·δ1·Xᵀ`
//! straight into the weights (BLAS's beta does the decay, so no gradient buffer is needed).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};

use super::kernels::Real;
use super::network::Network;
use super::passes::{dispatch, Activate, Func};

/// The first layer's weights in `T`.
pub(super) fn initial_weights<T: Real>(net: &Network) -> Array2<T> {
    net.weights[0].mapv(T::from_f64)
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
    dispatch(Activate {
        f,
        z: z.as_slice_mut().expect("workspace buffers are contiguous"),
        bias,
        extra: None,
    });
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
