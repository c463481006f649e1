//! The elementwise work of a training step, in f64 or f32: the sigmoid with its bias (and, for
//! the Gram engine, the `c·w1(0)·X` term) in one pass over each buffer.
//!
//! libm's `exp` is a scalar call: on MNIST-small the 20 000 sigmoids of a step cost more than a
//! third of the step (measured by `benches/step.rs`). [`Real::exp_fast`] is the classic
//! Cody–Waite reduction `x = k·ln2 + r`, a Taylor polynomial for `e^r` and `2^k` built in the
//! exponent bits: no branch and no table, so the compiler vectorises the loops that call it.
//! Its error is a couple of ulps in f64 (tested against libm), far below what training notices.
//!
//! On x86-64 the loops are compiled twice, for the baseline (SSE2) and for AVX2+FMA, and the
//! second is taken when the processor has it (checked once, cached by std). A machine always
//! takes the same path, so a run's numbers do not depend on anything but its inputs.

use ndarray::LinalgScalar;
use std::fmt::Debug;

/// The floating-point types a network trains in.
pub trait Real:
    LinalgScalar + PartialOrd + Debug + Send + Sync + std::ops::Neg<Output = Self>
{
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `e^x` by polynomial, NaN in NaN out; see the module doc. `FMA`: fused multiply-adds.
    fn exp_poly<const FMA: bool>(x: Self) -> Self;

    /// `e^x` through the vectorisable polynomial, on the path this processor takes.
    fn exp_fast(x: Self) -> Self {
        exp_dispatch(x)
    }
}

/// `a·b + c`, fused when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn madd32<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

impl Real for f64 {
    #[inline(always)]
    fn from_f64(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_poly<const FMA: bool>(x: f64) -> f64 {
        // Beyond ±708 e^x over- or underflows the exponent built below; σ is 0 or 1 there to
        // the last bit anyway. `clamp` (unlike min/max) lets NaN through: a diverging run must
        // see its NaN cost.
        let x = x.clamp(-708.0, 708.0);
        // 1.5·2^52: adding it rounds to an integer k kept in the low mantissa bits.
        const SHIFT: f64 = 6_755_399_441_055_744.0;
        // ln 2 in two parts (fdlibm's): k·LN2_HI is exact for |k| < 2^11.
        const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
        const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
        let y = madd::<FMA>(x, std::f64::consts::LOG2_E, SHIFT);
        let k = y - SHIFT;
        let r = madd::<FMA>(k, -LN2_LO, madd::<FMA>(k, -LN2_HI, x));
        // e^r for |r| ≤ ln2/2 by Taylor to degree 13 (the first omitted term is below 1e-17),
        // evaluated by Estrin's scheme: a dependency chain of 5 multiply-adds instead of
        // Horner's 13, which is what limits a vectorised loop (measured: 1.9 → 1.1 ns each).
        const C: [f64; 14] = [
            1.0,
            1.0,
            1.0 / 2.0,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5_040.0,
            1.0 / 40_320.0,
            1.0 / 362_880.0,
            1.0 / 3_628_800.0,
            1.0 / 39_916_800.0,
            1.0 / 479_001_600.0,
            1.0 / 6_227_020_800.0,
        ];
        let r2 = r * r;
        let r4 = r2 * r2;
        let r8 = r4 * r4;
        let q = |i: usize| madd::<FMA>(C[i + 1], r, C[i]);
        let s0 = madd::<FMA>(q(2), r2, q(0));
        let s1 = madd::<FMA>(q(6), r2, q(4));
        let s2 = madd::<FMA>(q(10), r2, q(8));
        let t0 = madd::<FMA>(s1, r4, s0);
        let t1 = madd::<FMA>(q(12), r4, s2);
        let p = madd::<FMA>(t1, r8, t0);
        // 2^k: y's low bits hold k (two's complement over the 2^51 of SHIFT); shifted into the
        // exponent field with its bias, everything above falls off the top.
        let scale = f64::from_bits(y.to_bits().wrapping_add(1023) << 52);
        p * scale
    }
}

impl Real for f32 {
    #[inline(always)]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn exp_poly<const FMA: bool>(x: f32) -> f32 {
        let x = x.clamp(-87.0, 87.0);
        const SHIFT: f32 = 12_582_912.0; // 1.5·2^23
        const LN2_HI: f32 = f32::from_bits(0x3f31_8000);
        const LN2_LO: f32 = f32::from_bits(0xb95e_8083);
        let y = madd32::<FMA>(x, std::f32::consts::LOG2_E, SHIFT);
        let k = y - SHIFT;
        let r = madd32::<FMA>(k, -LN2_LO, madd32::<FMA>(k, -LN2_HI, x));
        let mut p = 1.0 / 5_040.0; // Taylor to degree 7: first omitted term ~1e-8
        for c in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = madd32::<FMA>(p, r, c);
        }
        let scale = f32::from_bits(y.to_bits().wrapping_add(127) << 23);
        p * scale
    }
}

#[inline(always)]
fn sigmoid_poly<T: Real, const FMA: bool>(z: T) -> T {
    T::one() / (T::one() + T::exp_poly::<FMA>(-z))
}

/// The logistic function through the fast `exp`, as the training loop computes it.
pub fn sigmoid<T: Real>(z: T) -> T {
    T::one() / (T::one() + T::exp_fast(-z))
}

/// `e^x` on the path this processor takes (one element: for tests and scalar callers).
fn exp_dispatch<T: Real>(x: T) -> T {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA.
        return unsafe { exp_avx2(x) };
    }
    T::exp_poly::<false>(x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_avx2<T: Real>(x: T) -> T {
    T::exp_poly::<true>(x)
}

/// AVX-512 computes exactly what AVX2+FMA does (the same fused operations, element by
/// element), only more elements at a time: the choice between them changes no result.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && has_avx2_fma()
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// Whether this processor takes the AVX2+FMA path.
pub fn vector_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        return "avx512f";
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return "avx2+fma";
    }
    "baseline"
}

/// `z ← σ(z + b_i)` on each row `i` of the row-major `rows × cols` buffer `z`, and with the
/// Gram engine's term, `z ← σ(z + c·p + b_i)`.
pub fn activate<T: Real>(z: &mut [T], bias: &[T], extra: Option<(T, &[T])>) {
    let cols = z.len() / bias.len().max(1);
    debug_assert_eq!(cols * bias.len(), z.len());
    if let Some((_, p)) = extra {
        assert_eq!(p.len(), z.len());
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the processor has AVX-512F, checked just above.
        unsafe { activate_avx512(z, bias, extra, cols) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA, checked just above.
        unsafe { activate_avx2(z, bias, extra, cols) };
        return;
    }
    activate_body::<T, false>(z, bias, extra, cols);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn activate_avx512<T: Real>(z: &mut [T], bias: &[T], extra: Option<(T, &[T])>, cols: usize) {
    activate_body::<T, true>(z, bias, extra, cols);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn activate_avx2<T: Real>(z: &mut [T], bias: &[T], extra: Option<(T, &[T])>, cols: usize) {
    activate_body::<T, true>(z, bias, extra, cols);
}

#[inline(always)]
fn activate_body<T: Real, const FMA: bool>(
    z: &mut [T],
    bias: &[T],
    extra: Option<(T, &[T])>,
    cols: usize,
) {
    if cols == 0 {
        return;
    }
    match extra {
        None => {
            for (row, &b) in z.chunks_exact_mut(cols).zip(bias) {
                for v in row {
                    *v = sigmoid_poly::<T, FMA>(*v + b);
                }
            }
        }
        Some((c, p)) => {
            for ((row, prow), &b) in z.chunks_exact_mut(cols).zip(p.chunks_exact(cols)).zip(bias) {
                for (v, &pv) in row.iter_mut().zip(prow) {
                    *v = sigmoid_poly::<T, FMA>(*v + c * pv + b);
                }
            }
        }
    }
}

/// `δ ← δ ∘ a(1 − a)` (the hidden layers' σ' applied to `wᵀδ`) on each row of `delta`, with
/// the row's sum, the bias gradient, from the same pass into `sums`.
pub fn times_sigmoid_prime<T: Real>(delta: &mut [T], a: &[T], sums: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the processor has AVX-512F, checked just above.
        return unsafe { wide::times_sigmoid_prime_avx512(delta, a, sums) };
    } else if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA, checked just above.
        return unsafe { wide::times_sigmoid_prime_avx2(delta, a, sums) };
    }
    times_sigmoid_prime_body(delta, a, sums);
}

#[inline(always)]
fn times_sigmoid_prime_body<T: Real>(delta: &mut [T], a: &[T], sums: &mut [T]) {
    let cols = delta.len() / sums.len().max(1);
    if cols == 0 {
        return;
    }
    for ((d, a), sum) in delta
        .chunks_exact_mut(cols)
        .zip(a.chunks_exact(cols))
        .zip(sums)
    {
        for (d, &a) in d.iter_mut().zip(a) {
            *d = *d * (a * (T::one() - a));
        }
        *sum = lane_sum(d);
    }
}

/// The Gram engine's first layer, row by row while the row is in L1: with `g = w2ᵀδ2`,
/// `g ← δ = g ∘ a(1 − a)`, `A ← decay·A − eta·δ`, and `Σ_cols δ` into `sums`.
pub fn gram_first_layer<T: Real>(
    a_mat: &mut [T],
    g: &mut [T],
    act: &[T],
    decay: T,
    eta: T,
    sums: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the processor has AVX-512F, checked just above.
        return unsafe { wide::gram_first_layer_avx512(a_mat, g, act, decay, eta, sums) };
    } else if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA, checked just above.
        return unsafe { wide::gram_first_layer_avx2(a_mat, g, act, decay, eta, sums) };
    }
    gram_first_layer_body(a_mat, g, act, decay, eta, sums);
}

#[inline(always)]
fn gram_first_layer_body<T: Real>(
    a_mat: &mut [T],
    g: &mut [T],
    act: &[T],
    decay: T,
    eta: T,
    sums: &mut [T],
) {
    let cols = a_mat.len() / sums.len().max(1);
    if cols == 0 {
        return;
    }
    let rows = a_mat.chunks_exact_mut(cols).zip(g.chunks_exact_mut(cols));
    for ((a_row, g_row), (act_row, sum)) in rows.zip(act.chunks_exact(cols).zip(sums)) {
        for (g, &x) in g_row.iter_mut().zip(act_row) {
            *g = *g * (x * (T::one() - x));
        }
        for (a, &d) in a_row.iter_mut().zip(g_row.iter()) {
            *a = decay * *a - eta * d;
        }
        *sum = lane_sum(g_row);
    }
}

/// The multiply-add passes compiled for wider vectors. They contain no fused operation (Rust
/// never contracts `a*b + c`), so every path gives the same bits.
#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{gram_first_layer_body, times_sigmoid_prime_body, Real};

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn times_sigmoid_prime_avx512<T: Real>(d: &mut [T], a: &[T], s: &mut [T]) {
        times_sigmoid_prime_body(d, a, s);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn times_sigmoid_prime_avx2<T: Real>(d: &mut [T], a: &[T], s: &mut [T]) {
        times_sigmoid_prime_body(d, a, s);
    }

    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn gram_first_layer_avx512<T: Real>(
        m: &mut [T],
        g: &mut [T],
        x: &[T],
        decay: T,
        eta: T,
        s: &mut [T],
    ) {
        gram_first_layer_body(m, g, x, decay, eta, s);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gram_first_layer_avx2<T: Real>(
        m: &mut [T],
        g: &mut [T],
        x: &[T],
        decay: T,
        eta: T,
        s: &mut [T],
    ) {
        gram_first_layer_body(m, g, x, decay, eta, s);
    }
}

/// The sum of `v` in eight partial sums, so that the loop vectorises (a single running sum is a
/// serial chain the compiler may not reorder).
#[inline(always)]
fn lane_sum<T: Real>(v: &[T]) -> T {
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    let mut acc = [T::zero(); 8];
    for c in chunks {
        for k in 0..8 {
            acc[k] = acc[k] + c[k];
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &x in rest {
        sum = sum + x;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_to_a_few_ulps() {
        let mut worst: f64 = 0.0;
        for i in -70_000..=70_000 {
            let x = i as f64 * 0.01 + 0.003_7;
            let (fast, exact) = (f64::exp_fast(x), x.exp());
            worst = worst.max(((fast - exact) / exact).abs());
            let ulps = f64::exp_poly::<false>(x)
                .to_bits()
                .abs_diff(exact.to_bits());
            assert!(ulps <= 4, "{x}: {ulps} ulps");
        }
        assert!(worst < 5e-16, "worst relative error {worst}");
        let mut worst: f64 = 0.0;
        for i in -8_000..=8_000 {
            let x = i as f32 * 0.01 + 0.003_7;
            let (fast, exact) = (f64::from(f32::exp_fast(x)), f64::from(x).exp());
            worst = worst.max(((fast - exact) / exact).abs());
        }
        assert!(worst < 3e-7, "f32 worst relative error {worst}");
    }

    #[test]
    fn exp_saturates_and_lets_nan_through() {
        assert!(f64::exp_fast(f64::NAN).is_nan());
        assert!(f32::exp_fast(f32::NAN).is_nan());
        assert!(f64::exp_fast(800.0) > 1e300);
        assert!(f64::exp_fast(-800.0) < 1e-300);
        assert!(sigmoid(-1e6_f64) < 1e-300);
        assert_eq!(sigmoid(1e6_f64), 1.0);
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert!(sigmoid(f64::NAN).is_nan());
    }

    #[test]
    fn activate_adds_bias_and_gram_term_per_row() {
        let mut z: Vec<f64> = vec![0.0, 1.0, -1.0, 2.0, 0.5, -0.5];
        let p: Vec<f64> = vec![1.0, 1.0, 1.0, -1.0, -1.0, -1.0];
        let b = [0.25_f64, -0.25];
        let expect: Vec<f64> = (0..6)
            .map(|i| 1.0 / (1.0 + (-(z[i] + 0.5 * p[i] + b[i / 3])).exp()))
            .collect();
        activate(&mut z, &b, Some((0.5, &p)));
        for (a, e) in z.iter().zip(&expect) {
            assert!((a - e).abs() < 1e-15);
        }
        let mut z32 = vec![0.0_f32, 3.0];
        activate(&mut z32, &[1.0_f32], None);
        assert!((z32[1] - 1.0 / (1.0 + (-4.0_f32).exp())).abs() < 1e-7);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_vector_path_gives_the_same_bits() {
        if !has_avx2_fma() {
            return;
        }
        let z: Vec<f64> = (0..4003).map(|i| (i as f64 - 2000.0) * 0.013_7).collect();
        let p: Vec<f64> = z.iter().map(|v| v.sin()).collect();
        let bias = [0.3, -0.2, 0.1];
        let mut fma = z[..4002].to_vec();
        // SAFETY: AVX2 and FMA are present, checked above.
        unsafe { activate_avx2(&mut fma, &bias, Some((0.7, &p[..4002])), 1334) };
        if has_avx512() {
            let mut wide = z[..4002].to_vec();
            // SAFETY: AVX-512F is present.
            unsafe { activate_avx512(&mut wide, &bias, Some((0.7, &p[..4002])), 1334) };
            assert!(fma
                .iter()
                .zip(&wide)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        let mut scalar = z[..4002].to_vec();
        for (i, v) in scalar.iter_mut().enumerate() {
            let x = -(*v + 0.7 * p[i] + bias[i / 1334]);
            // SAFETY: AVX2 and FMA are present.
            *v = 1.0 / (1.0 + unsafe { exp_avx2(x) });
        }
        assert!(fma
            .iter()
            .zip(&scalar)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
