//! The elementwise passes of a step for every function of the recipe (sigmoid, tanh, ReLU,
//! softmax, and the log in the cross-entropy), each compiled for the vector paths of
//! `kernels.rs` (baseline, AVX2+FMA, AVX-512) and run on the one this processor takes.
//!
//! A pass is a small struct implementing [`Pass`]; [`dispatch`] runs it through a
//! `#[target_feature]` function per path, so each loop body is written once. The AVX2 and
//! AVX-512 paths perform the same operations element by element (fused multiply-adds in both,
//! reductions in the same eight lanes), so they give the same bits; only the baseline, without
//! FMA, rounds differently (and a machine always takes the same path).

use super::functions::Activation;
use super::kernels::{has_avx2_fma, has_avx512, lane_sum, Real};

/// A loop over buffers, compiled once per vector path. `FMA`: whether `exp`/`ln` fuse.
pub(super) trait Pass {
    type Out;
    fn run<const FMA: bool>(self) -> Self::Out;
}

/// A vector path a processor may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorPath {
    Baseline,
    Avx2,
    Avx512,
}

/// The path this processor takes (detected once, cached by std).
pub(super) fn path() -> VectorPath {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        return VectorPath::Avx512;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return VectorPath::Avx2;
    }
    VectorPath::Baseline
}

/// Runs `pass` on the path this processor takes.
#[inline]
pub(super) fn dispatch<P: Pass>(pass: P) -> P::Out {
    run_on(path(), pass).expect("this processor takes its own path")
}

/// Runs `pass` on `path`, or `None` when this processor lacks it (tests compare the paths).
pub(super) fn run_on<P: Pass>(path: VectorPath, pass: P) -> Option<P::Out> {
    match path {
        VectorPath::Baseline => Some(pass.run::<false>()),
        #[cfg(target_arch = "x86_64")]
        VectorPath::Avx2 if has_avx2_fma() => {
            // SAFETY: the processor has AVX2 and FMA, checked just above.
            Some(unsafe { run_avx2(pass) })
        }
        #[cfg(target_arch = "x86_64")]
        VectorPath::Avx512 if has_avx512() => {
            // SAFETY: the processor has AVX-512F (and AVX2, FMA), checked just above.
            Some(unsafe { run_avx512(pass) })
        }
        _ => None,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<P: Pass>(pass: P) -> P::Out {
    pass.run::<true>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<P: Pass>(pass: P) -> P::Out {
    pass.run::<true>()
}

/// A layer's function as the passes select it (a const parameter, so each loop is its own).
const SIGMOID: u8 = 0;
const TANH: u8 = 1;
const RELU: u8 = 2;
const IDENTITY: u8 = 3;

#[inline(always)]
fn apply<T: Real, const FMA: bool, const F: u8>(z: T) -> T {
    match F {
        SIGMOID => T::one() / (T::one() + T::exp_poly::<FMA>(-z)),
        // 1 − 2/(1 + e^{2z}): saturates to ±1 without overflow (exp is clamped).
        TANH => {
            let two = T::one() + T::one();
            T::one() - two / (T::one() + T::exp_poly::<FMA>(two * z))
        }
        // `z < 0` is false for NaN, which passes: a diverging run must see it.
        RELU => {
            if z < T::zero() {
                T::zero()
            } else {
                z
            }
        }
        _ => z,
    }
}

/// The derivative of the function at `z`, from its value `a` = f(z).
#[inline(always)]
fn prime<T: Real, const F: u8>(a: T) -> T {
    match F {
        SIGMOID => a * (T::one() - a),
        TANH => T::one() - a * a,
        _ => {
            if a > T::zero() {
                T::one()
            } else {
                T::zero()
            }
        }
    }
}

/// A layer's function: a hidden activation, or none (outputs that softmax will take).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Hidden(Activation),
    Identity,
}

/// `z ← f(z + b_i)` on each row `i` of the row-major buffer `z`, and with the Gram engine's
/// term, `z ← f(z + c·p + b_i)`.
pub(super) struct Activate<'a, T> {
    pub f: Func,
    pub z: &'a mut [T],
    pub bias: &'a [T],
    pub extra: Option<(T, &'a [T])>,
}

impl<T: Real> Pass for Activate<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        match self.f {
            Func::Hidden(Activation::Sigmoid) => self.body::<FMA, SIGMOID>(),
            Func::Hidden(Activation::Tanh) => self.body::<FMA, TANH>(),
            Func::Hidden(Activation::Relu) => self.body::<FMA, RELU>(),
            Func::Identity => self.body::<FMA, IDENTITY>(),
        }
    }
}

impl<T: Real> Activate<'_, T> {
    #[inline(always)]
    fn body<const FMA: bool, const F: u8>(self) {
        let cols = self.z.len() / self.bias.len().max(1);
        if cols == 0 {
            return;
        }
        match self.extra {
            None => {
                for (row, &b) in self.z.chunks_exact_mut(cols).zip(self.bias) {
                    for v in row {
                        *v = apply::<T, FMA, F>(*v + b);
                    }
                }
            }
            Some((c, p)) => {
                assert_eq!(p.len(), self.z.len());
                let rows = self.z.chunks_exact_mut(cols).zip(p.chunks_exact(cols));
                for ((row, prow), &b) in rows.zip(self.bias) {
                    for (v, &pv) in row.iter_mut().zip(prow) {
                        *v = apply::<T, FMA, F>(*v + c * pv + b);
                    }
                }
            }
        }
    }
}

/// `δ ← δ ∘ f'(z)` (f' from the activations `a`) on each row of `delta`, with the row's sum,
/// the bias gradient, from the same pass into `sums`.
pub(super) struct TimesPrime<'a, T> {
    pub f: Activation,
    pub delta: &'a mut [T],
    pub a: &'a [T],
    pub sums: &'a mut [T],
}

impl<T: Real> Pass for TimesPrime<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        match self.f {
            Activation::Sigmoid => self.body::<SIGMOID>(),
            Activation::Tanh => self.body::<TANH>(),
            Activation::Relu => self.body::<RELU>(),
        }
    }
}

impl<T: Real> TimesPrime<'_, T> {
    #[inline(always)]
    fn body<const F: u8>(self) {
        let cols = self.delta.len() / self.sums.len().max(1);
        if cols == 0 {
            return;
        }
        let rows = self
            .delta
            .chunks_exact_mut(cols)
            .zip(self.a.chunks_exact(cols));
        for ((d, a), sum) in rows.zip(self.sums) {
            for (d, &a) in d.iter_mut().zip(a) {
                *d = *d * prime::<T, F>(a);
            }
            *sum = lane_sum(d);
        }
    }
}

/// The Gram engine's first layer, row by row while the row is in L1: with `g = w2ᵀδ2`,
/// `g ← δ = g ∘ f'(z)`, `A ← decay·A − eta·δ`, and `Σ_cols δ` into `sums`.
pub(super) struct GramFirstLayer<'a, T> {
    pub f: Activation,
    pub a_mat: &'a mut [T],
    pub g: &'a mut [T],
    pub act: &'a [T],
    pub decay: T,
    pub eta: T,
    pub sums: &'a mut [T],
}

impl<T: Real> Pass for GramFirstLayer<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        match self.f {
            Activation::Sigmoid => self.body::<SIGMOID>(),
            Activation::Tanh => self.body::<TANH>(),
            Activation::Relu => self.body::<RELU>(),
        }
    }
}

impl<T: Real> GramFirstLayer<'_, T> {
    #[inline(always)]
    fn body<const F: u8>(self) {
        let cols = self.a_mat.len() / self.sums.len().max(1);
        if cols == 0 {
            return;
        }
        let (decay, eta) = (self.decay, self.eta);
        let rows = self
            .a_mat
            .chunks_exact_mut(cols)
            .zip(self.g.chunks_exact_mut(cols));
        for ((a_row, g_row), (act_row, sum)) in rows.zip(self.act.chunks_exact(cols).zip(self.sums))
        {
            for (g, &x) in g_row.iter_mut().zip(act_row) {
                *g = *g * prime::<T, F>(x);
            }
            for (a, &d) in a_row.iter_mut().zip(g_row.iter()) {
                *a = decay * *a - eta * d;
            }
            *sum = lane_sum(g_row);
        }
    }
}

/// Softmax of each column of the row-major `rows × cols` buffer `z` (pre-activations), in
/// place: `e^{z − max} / Σ e^{z − max}`, with the columns' maxima and sums in the scratch
/// buffers (length `cols`). Row by row, so that every loop runs along the columns.
pub(super) struct Softmax<'a, T> {
    pub z: &'a mut [T],
    pub max: &'a mut [T],
    pub sum: &'a mut [T],
}

impl<T: Real> Pass for Softmax<'_, T> {
    type Out = ();
    #[inline(always)]
    fn run<const FMA: bool>(self) {
        let cols = self.max.len();
        if cols == 0 {
            return;
        }
        column_max(self.z, self.max);
        self.sum.fill(T::zero());
        for row in self.z.chunks_exact_mut(cols) {
            for ((v, &m), s) in row.iter_mut().zip(&*self.max).zip(self.sum.iter_mut()) {
                *v = T::exp_poly::<FMA>(*v - m);
                *s = *s + *v;
            }
        }
        for row in self.z.chunks_exact_mut(cols) {
            for (v, &s) in row.iter_mut().zip(&*self.sum) {
                *v = *v / s;
            }
        }
    }
}

/// Each column's largest entry into `max` (NaN-propagating as `>` allows: a NaN column's
/// outputs are NaN anyway, through `exp`).
#[inline(always)]
fn column_max<T: Real>(z: &[T], max: &mut [T]) {
    let cols = max.len();
    for (i, row) in z.chunks_exact(cols).enumerate() {
        if i == 0 {
            max.copy_from_slice(row);
        } else {
            for (m, &v) in max.iter_mut().zip(row) {
                *m = if v > *m { v } else { *m };
            }
        }
    }
}

/// The cross-entropy of sigmoid outputs from their pre-activations `z` and one-hot targets `y`:
/// Σ softplus(z) − y·z = −Σ [y ln σ(z) + (1 − y) ln(1 − σ(z))], finite for any finite z
/// (`softplus(z) = max(z, 0) + ln(1 + e^{−|z|})`).
pub(super) struct SigmoidCrossEntropy<'a, T> {
    pub z: &'a [T],
    pub y: &'a [T],
}

impl<T: Real> Pass for SigmoidCrossEntropy<'_, T> {
    type Out = f64;
    #[inline(always)]
    fn run<const FMA: bool>(self) -> f64 {
        let mut acc = [T::zero(); 8];
        let body = self.z.len() / 8 * 8;
        let term = |z: T, y: T| {
            let abs = if z < T::zero() { -z } else { z };
            let pos = if z > T::zero() { z } else { T::zero() };
            pos + T::ln_poly::<FMA>(T::one() + T::exp_poly::<FMA>(-abs)) - y * z
        };
        let chunks = self.z[..body]
            .chunks_exact(8)
            .zip(self.y[..body].chunks_exact(8));
        for (z, y) in chunks {
            for l in 0..8 {
                acc[l] = acc[l] + term(z[l], y[l]);
            }
        }
        let mut sum: f64 = acc.iter().map(|v| v.to_f64()).sum();
        for (&z, &y) in self.z[body..].iter().zip(&self.y[body..]) {
            sum += term(z, y).to_f64();
        }
        sum
    }
}

/// The log-likelihood cost of softmax outputs from their pre-activations `z` (classes × n,
/// row-major) and one-hot targets `y`: Σ_j (max_j + ln Σ_i e^{z_ij − max_j}) − Σ_ij y_ij z_ij,
/// finite for any finite z. `max` and `sum` are scratch (length n).
pub(super) struct SoftmaxCrossEntropy<'a, T> {
    pub z: &'a [T],
    pub y: &'a [T],
    pub max: &'a mut [T],
    pub sum: &'a mut [T],
}

impl<T: Real> Pass for SoftmaxCrossEntropy<'_, T> {
    type Out = f64;
    #[inline(always)]
    fn run<const FMA: bool>(self) -> f64 {
        let cols = self.max.len();
        if cols == 0 {
            return 0.0;
        }
        column_max(self.z, self.max);
        self.sum.fill(T::zero());
        let mut picked = T::zero();
        for (row, y) in self.z.chunks_exact(cols).zip(self.y.chunks_exact(cols)) {
            for ((&v, &m), s) in row.iter().zip(&*self.max).zip(self.sum.iter_mut()) {
                *s = *s + T::exp_poly::<FMA>(v - m);
            }
            let mut acc = [T::zero(); 8];
            let body = cols / 8 * 8;
            for (v, y) in row[..body].chunks_exact(8).zip(y[..body].chunks_exact(8)) {
                for l in 0..8 {
                    acc[l] = acc[l] + v[l] * y[l];
                }
            }
            let mut s =
                ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
            for (&v, &y) in row[body..].iter().zip(&y[body..]) {
                s = s + v * y;
            }
            picked = picked + s;
        }
        for (s, &m) in self.sum.iter_mut().zip(&*self.max) {
            *s = m + T::ln_poly::<FMA>(*s);
        }
        lane_sum(self.sum).to_f64() - picked.to_f64()
    }
}

/// The quadratic cost's output delta through softmax's Jacobian: with g = a − y,
/// δ_i = a_i (g_i − Σ_k a_k g_k) per column. `dot` is scratch (length n).
pub(super) fn softmax_quadratic_delta<T: Real>(delta: &mut [T], a: &[T], y: &[T], dot: &mut [T]) {
    let cols = dot.len();
    if cols == 0 {
        return;
    }
    dot.fill(T::zero());
    let rows = delta.chunks_exact_mut(cols).zip(a.chunks_exact(cols));
    for ((d, a), y) in rows.zip(y.chunks_exact(cols)) {
        for (((d, &a), &y), s) in d.iter_mut().zip(a).zip(y).zip(dot.iter_mut()) {
            *d = a - y;
            *s = *s + a * *d;
        }
    }
    for (d, a) in delta.chunks_exact_mut(cols).zip(a.chunks_exact(cols)) {
        for ((d, &a), &s) in d.iter_mut().zip(a).zip(&*dot) {
            *d = a * (*d - s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logistic(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    #[test]
    fn functions_match_their_definitions() {
        let z: Vec<f64> = (-40..=40).map(|i| i as f64 * 0.37).collect();
        for (f, exact) in [
            (Activation::Sigmoid, logistic as fn(f64) -> f64),
            (Activation::Tanh, f64::tanh),
            (Activation::Relu, |z: f64| z.max(0.0)),
        ] {
            let mut got = z.clone();
            dispatch(Activate {
                f: Func::Hidden(f),
                z: &mut got,
                bias: &[0.0],
                extra: None,
            });
            for (g, &z) in got.iter().zip(&z) {
                assert!((g - exact(z)).abs() < 1e-15, "{f:?}({z}) = {g}");
            }
        }
        let mut nan = [f64::NAN];
        for f in Activation::ALL {
            dispatch(Activate {
                f: Func::Hidden(f),
                z: &mut nan,
                bias: &[0.0],
                extra: None,
            });
            assert!(nan[0].is_nan(), "{f:?} lets NaN through");
        }
        assert_eq!(apply::<f64, false, TANH>(1e6), 1.0);
        assert_eq!(apply::<f64, false, TANH>(-1e6), -1.0);
    }

    #[test]
    fn softmax_and_cross_entropies_are_exact_and_finite() {
        // 3 classes × 4 samples, one sample far out (z = ±800).
        let z = [
            1.0, -2.0, 800.0, 0.5, //
            0.0, 3.0, -800.0, 0.5, //
            -1.0, 0.0, 0.0, 0.5,
        ];
        let y = [
            1.0, 0.0, 0.0, 0.0, //
            0.0, 1.0, 1.0, 0.0, //
            0.0, 0.0, 0.0, 1.0,
        ];
        let (mut max, mut sum) = ([0.0; 4], [0.0; 4]);
        let mut a = z;
        dispatch(Softmax {
            z: &mut a,
            max: &mut max,
            sum: &mut sum,
        });
        let mut expected = 0.0;
        for j in 0..4 {
            let col: Vec<f64> = (0..3).map(|i| z[i * 4 + j]).collect();
            let m = col.iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + col.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            for i in 0..3 {
                assert!((a[i * 4 + j] - (col[i] - lse).exp()).abs() < 1e-15);
                expected -= y[i * 4 + j] * (col[i] - lse);
            }
        }
        let ce = dispatch(SoftmaxCrossEntropy {
            z: &z,
            y: &y,
            max: &mut max,
            sum: &mut sum,
        });
        assert!(
            (ce - expected).abs() < 1e-12 * expected,
            "{ce} vs {expected}"
        );
        assert!(
            ce > 1599.0,
            "the far-out sample costs its 1600, not infinity"
        );
        let ce = dispatch(SigmoidCrossEntropy { z: &z, y: &y });
        let expected: f64 = z
            .iter()
            .zip(&y)
            .map(|(&z, &y)| (1.0 + (-z.abs()).exp()).ln() + z.max(0.0) - y * z)
            .sum();
        assert!(
            (ce - expected).abs() < 1e-12 * expected,
            "{ce} vs {expected}"
        );
    }

    /// The same bits on the AVX2 and AVX-512 paths, for every pass that calls `exp` or `ln`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_and_avx512_paths_give_the_same_bits() {
        if !has_avx2_fma() {
            eprintln!("SKIPPED: this processor has no AVX2+FMA path to compare");
            return;
        }
        let n = 1003;
        let z: Vec<f64> = (0..3 * n).map(|i| (i as f64 - 1500.0) * 0.031_7).collect();
        let p: Vec<f64> = z.iter().map(|v| v.sin()).collect();
        let y: Vec<f64> = (0..3 * n).map(|i| f64::from(i % 3 == 0)).collect();
        let run = |path: VectorPath| {
            let mut outs: Vec<Vec<u64>> = Vec::new();
            for f in [
                Func::Hidden(Activation::Sigmoid),
                Func::Hidden(Activation::Tanh),
                Func::Hidden(Activation::Relu),
                Func::Identity,
            ] {
                let mut v = z.clone();
                let bias = [0.3, -0.2, 0.1];
                run_on(
                    path,
                    Activate {
                        f,
                        z: &mut v,
                        bias: &bias,
                        extra: Some((0.7, &p)),
                    },
                )?;
                outs.push(v.iter().map(|x| x.to_bits()).collect());
            }
            let (mut max, mut sum) = (vec![0.0; n], vec![0.0; n]);
            let mut v = z.clone();
            run_on(
                path,
                Softmax {
                    z: &mut v,
                    max: &mut max,
                    sum: &mut sum,
                },
            )?;
            outs.push(v.iter().map(|x| x.to_bits()).collect());
            let ce = run_on(
                path,
                SoftmaxCrossEntropy {
                    z: &z,
                    y: &y,
                    max: &mut max,
                    sum: &mut sum,
                },
            )?;
            let ce2 = run_on(path, SigmoidCrossEntropy { z: &z, y: &y })?;
            outs.push(vec![ce.to_bits(), ce2.to_bits()]);
            Some(outs)
        };
        let avx2 = run(VectorPath::Avx2).expect("checked above");
        match run(VectorPath::Avx512) {
            Some(wide) => assert!(avx2 == wide, "AVX2 and AVX-512 differ"),
            None => eprintln!("SKIPPED the AVX-512 half: this processor has no AVX-512F"),
        }
        // And the dispatched path is one of them.
        let mut v = z.clone();
        dispatch(Activate {
            f: Func::Hidden(Activation::Tanh),
            z: &mut v,
            bias: &[0.3, -0.2, 0.1],
            extra: Some((0.7, &p)),
        });
        assert!(v.iter().map(|x| x.to_bits()).eq(avx2[1].iter().copied()));
    }
}
