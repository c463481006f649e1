//! The Gram engine's first layer (see `engine.rs`): `w1 = c·w1(0) + A·Xᵀ`, so that
//! `z1 = c·w1(0)·X + A·(XᵀX)` and the update only touches A (m×n) and c.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};

use super::engine::Parallelism;
use super::functions::Activation;
use super::kernels::{gram_first_layer, times_prime, Real};
use super::network::Network;
use super::packed::{Element, Packed};
use super::passes::{dispatch, Activate, Func};

/// The Gram engine's products of the training samples X with a set of samples S.
pub(super) struct Gram<T> {
    /// `XᵀX` (n×n), and packed for the kernel of `packed` where there is one.
    pub g: Array2<T>,
    pub packed: Option<Packed<T>>,
}

impl<T: Real + Element> Gram<T> {
    /// `XᵀS`, packed when `pack` (only the training products are used every step).
    pub fn of(x: ArrayView2<'_, T>, s: ArrayView2<'_, T>, pack: bool) -> Gram<T> {
        let mut g = Array2::zeros((x.ncols(), s.ncols()));
        general_mat_mul(T::one(), &x.t(), &s, T::zero(), &mut g);
        let packed = if pack { Packed::new(g.view()) } else { None };
        Gram { g, packed }
    }
}

/// A = 0: the initial weights are all in `c·w1(0)`.
pub(super) fn initial_coefficients<T: Real>(init: &Network, n: usize) -> Array2<T> {
    Array2::zeros((init.weights[0].nrows(), n))
}

/// `w1(0)·s`, the fixed part of the first layer's input on samples `s`.
pub(super) fn projection<T: Real>(init: &Network, s: ArrayView2<'_, T>) -> Array2<T> {
    let w0 = init.weights[0].mapv(T::from_f64);
    let mut p = Array2::zeros((w0.nrows(), s.ncols()));
    general_mat_mul(T::one(), &w0, &s, T::zero(), &mut p);
    p
}

/// The f64 first-layer weights `c·w1(0) + A·Xᵀ`.
pub(super) fn first_weights<T: Real>(
    init: &Network,
    a: &Array2<T>,
    c: T,
    x: ArrayView2<'_, f64>,
) -> Array2<f64> {
    let mut w1 = init.weights[0].clone();
    let a = a.mapv(T::to_f64);
    general_mat_mul(1.0, &a, &x.t(), c.to_f64(), &mut w1);
    w1
}

/// `z ← f(A·g + c·p0 + b1)`; `z` is m×n, contiguous.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward<T: Real + Element>(
    f: Func,
    a: &Array2<T>,
    c: T,
    g: ArrayView2<'_, T>,
    packed: Option<&Packed<T>>,
    p0: ArrayView2<'_, T>,
    bias: &[T],
    z: &mut Array2<T>,
    parallelism: Parallelism,
) {
    match packed {
        Some(packed) => packed.mul(
            a.as_slice().expect("contiguous"),
            z.as_slice_mut().expect("contiguous"),
            parallelism,
        ),
        None => general_mat_mul(T::one(), a, &g, T::zero(), z),
    }
    let p0 = p0.to_slice().expect("projections are contiguous");
    dispatch(Activate {
        f,
        z: z.as_slice_mut().expect("workspace buffers are contiguous"),
        bias,
        extra: Some((c, p0)),
    });
}

/// The first layer's update: on every training sample ([`update_full`]), or on a mini-batch's
/// columns `cols` of A ([`update_batch`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn update<T: Real>(
    f: Activation,
    a: &mut Array2<T>,
    c: &mut T,
    g: &mut Array2<T>,
    act: &Array2<T>,
    sums: &mut [T],
    cols: Option<&[usize]>,
    eta: T,
    decay: T,
) {
    match cols {
        None => update_full(f, a, c, g, act, sums, eta, decay),
        Some(cols) => update_batch(f, a, c, g, act, sums, cols, eta, decay),
    }
}

/// `δ1 = g ∘ f'(z1)` (g = w2ᵀδ2, f' not yet applied), its row sums into `sums`, and
/// `A ← decay·A − eta·δ1`, `c ← decay·c`, in one pass.
#[allow(clippy::too_many_arguments)]
fn update_full<T: Real>(
    f: Activation,
    a: &mut Array2<T>,
    c: &mut T,
    g: &mut Array2<T>,
    act: &Array2<T>,
    sums: &mut [T],
    eta: T,
    decay: T,
) {
    gram_first_layer(
        f,
        a.as_slice_mut().expect("contiguous"),
        g.as_slice_mut().expect("contiguous"),
        act.as_slice().expect("contiguous"),
        decay,
        eta,
        sums,
    );
    *c = *c * decay;
}

/// A mini-batch's update: `δ1 = g ∘ f'(z1)` on the batch (row sums into `sums`), then
/// `A ← decay·A` and `A[:, cols] −= eta·δ1`, `c ← decay·c`: `w1 = c·w1(0) + A·Xᵀ` takes the
/// step `decay·w1 − eta·δ1·X_Bᵀ`, touching only the batch's columns of A (and all of them
/// only when there is an L2 decay).
#[allow(clippy::too_many_arguments)]
fn update_batch<T: Real>(
    f: Activation,
    a: &mut Array2<T>,
    c: &mut T,
    g: &mut Array2<T>,
    act: &Array2<T>,
    sums: &mut [T],
    cols: &[usize],
    eta: T,
    decay: T,
) {
    times_prime(
        f,
        g.as_slice_mut().expect("contiguous"),
        act.as_slice().expect("contiguous"),
        sums,
    );
    if decay != T::one() {
        a.mapv_inplace(|v| decay * v);
    }
    for (mut a_row, g_row) in a.rows_mut().into_iter().zip(g.rows()) {
        for (&j, &d) in cols.iter().zip(g_row) {
            a_row[j] = a_row[j] - eta * d;
        }
    }
    *c = *c * decay;
}
