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

use super::functions::Activation;
use super::passes;
use std::fmt::Debug;

/// The floating-point types a network trains in.
pub trait Real:
    LinalgScalar + PartialOrd + Debug + Send + Sync + std::ops::Neg<Output = Self>
{
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    /// `e^x` by polynomial, NaN in NaN out; see the module doc. `FMA`: fused multiply-adds.
    fn exp_poly<const FMA: bool>(x: Self) -> Self;
    /// `ln x` for a positive normal (or NaN) `x`, by the same habits as `exp_poly`: the
    /// exponent from the bits, `ln m = 2·atanh((m − 1)/(m + 1))` by polynomial for the
    /// mantissa m in [√½, √2). No branch and no table, so loops calling it vectorise.
    fn ln_poly<const FMA: bool>(x: Self) -> Self;

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

    #[inline(always)]
    fn ln_poly<const FMA: bool>(x: f64) -> f64 {
        const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
        const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
        let bits = x.to_bits();
        // The biased exponent as a float without an int-to-float conversion (which AVX2
        // lacks for 64-bit lanes): placed in the mantissa of 2^52, then 2^52 taken away.
        let e = f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000)
            - (4_503_599_627_370_496.0 + 1023.0);
        let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
        let big = m > std::f64::consts::SQRT_2;
        let m = if big { m * 0.5 } else { m };
        let e = if big { e + 1.0 } else { e };
        // s in [−0.172, 0.172]; ln m = 2s·Σ s^{2i}/(2i + 1), to s^22 (next term < 1e-18).
        let s = (m - 1.0) / (m + 1.0);
        let s2 = s * s;
        let mut p = 1.0 / 23.0;
        for i in (0..11).rev() {
            p = madd::<FMA>(p, s2, 1.0 / (2 * i + 1) as f64);
        }
        let r = madd::<FMA>(e, LN2_HI, madd::<FMA>(2.0 * s, p, e * LN2_LO));
        if x.is_nan() {
            x
        } else {
            r
        }
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

    #[inline(always)]
    fn ln_poly<const FMA: bool>(x: f32) -> f32 {
        const LN2_HI: f32 = f32::from_bits(0x3f31_8000);
        const LN2_LO: f32 = f32::from_bits(0xb95e_8083);
        let bits = x.to_bits();
        let e = f32::from_bits((bits >> 23) | 0x4b00_0000) - (8_388_608.0 + 127.0);
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
        let big = m > std::f32::consts::SQRT_2;
        let m = if big { m * 0.5 } else { m };
        let e = if big { e + 1.0 } else { e };
        let s = (m - 1.0) / (m + 1.0);
        let s2 = s * s;
        let mut p = 1.0 / 13.0;
        for i in (0..6).rev() {
            p = madd32::<FMA>(p, s2, 1.0 / (2 * i + 1) as f32);
        }
        let r = madd32::<FMA>(e, LN2_HI, madd32::<FMA>(2.0 * s, p, e * LN2_LO));
        if x.is_nan() {
            x
        } else {
            r
        }
    }
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
pub(super) fn has_avx512() -> bool {
    std::is_x86_feature_detected!("avx512f") && has_avx2_fma()
}

#[cfg(target_arch = "x86_64")]
#[inline]
pub(super) fn has_avx2_fma() -> bool {
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
/// Gram engine's term, `z ← σ(z + c·p + b_i)`: the lecture's layer (`passes.rs` has the others).
pub fn activate<T: Real>(z: &mut [T], bias: &[T], extra: Option<(T, &[T])>) {
    activate_as(Activation::Sigmoid, z, bias, extra);
}

/// [`activate`] with the hidden function `f`.
pub fn activate_as<T: Real>(f: Activation, z: &mut [T], bias: &[T], extra: Option<(T, &[T])>) {
    debug_assert_eq!(z.len() / bias.len().max(1) * bias.len(), z.len());
    passes::dispatch(passes::Activate {
        f: passes::Func::Hidden(f),
        z,
        bias,
        extra,
    });
}

/// `δ ← δ ∘ f'(z)` (f' from the activations `a`: a(1 − a) for the sigmoid) on each row of
/// `delta`, with the row's sum, the bias gradient, from the same pass into `sums`.
pub fn times_prime<T: Real>(f: Activation, delta: &mut [T], a: &[T], sums: &mut [T]) {
    passes::dispatch(passes::TimesPrime { f, delta, a, sums });
}

/// The Gram engine's first layer, row by row while the row is in L1: with `g = w2ᵀδ2`,
/// `g ← δ = g ∘ f'(z)`, `A ← decay·A − eta·δ`, and `Σ_cols δ` into `sums`.
pub fn gram_first_layer<T: Real>(
    f: Activation,
    a_mat: &mut [T],
    g: &mut [T],
    act: &[T],
    decay: T,
    eta: T,
    sums: &mut [T],
) {
    passes::dispatch(passes::GramFirstLayer {
        f,
        a_mat,
        g,
        act,
        decay,
        eta,
        sums,
    });
}

/// The sum of `v` in eight partial sums, so that the loop vectorises (a single running sum is a
/// serial chain the compiler may not reorder).
#[inline(always)]
pub(super) fn lane_sum<T: Real>(v: &[T]) -> T {
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
    fn ln_matches_libm_to_a_few_ulps() {
        for i in 0..200_000 {
            let x = (i as f64 * 0.003_7 - 300.0).exp();
            let exact = x.ln();
            for got in [f64::ln_poly::<false>(x), f64::ln_poly::<true>(x)] {
                let err = (got - exact).abs();
                assert!(
                    err <= 4.0 * f64::EPSILON * exact.abs().max(1e-300)
                        || err < 1e-300
                        || err <= 2.0 * f64::EPSILON,
                    "ln {x}: {got} vs {exact}"
                );
            }
        }
        for x in [1.0, 1.0 + 1e-12, 1.5, 2.0, std::f64::consts::E, 10.0] {
            let rel = ((f64::ln_poly::<true>(x) - x.ln()) / x.ln().max(1e-300)).abs();
            assert!(
                x == 1.0 && f64::ln_poly::<true>(x) == 0.0 || rel < 1e-15,
                "{x}: {rel}"
            );
        }
        assert!(f64::ln_poly::<true>(f64::NAN).is_nan());
        assert!(f32::ln_poly::<true>(f32::NAN).is_nan());
        for i in 1..10_000 {
            let x = i as f32 * 0.01;
            let err = (f64::from(f32::ln_poly::<true>(x)) - f64::from(x).ln()).abs();
            assert!(
                err < 3e-7 * f64::from(x).ln().abs().max(1.0),
                "f32 ln {x}: {err}"
            );
        }
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
            eprintln!("SKIPPED: this processor has no AVX2+FMA path to compare");
            return;
        }
        let z: Vec<f64> = (0..4003).map(|i| (i as f64 - 2000.0) * 0.013_7).collect();
        let p: Vec<f64> = z.iter().map(|v| v.sin()).collect();
        let bias = [0.3, -0.2, 0.1];
        let run = |path| {
            let mut v = z[..4002].to_vec();
            let pass = passes::Activate {
                f: passes::Func::Hidden(Activation::Sigmoid),
                z: &mut v,
                bias: &bias,
                extra: Some((0.7, &p[..4002])),
            };
            passes::run_on(path, pass).map(|()| v)
        };
        let fma = run(passes::VectorPath::Avx2).expect("AVX2 checked above");
        if let Some(wide) = run(passes::VectorPath::Avx512) {
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
