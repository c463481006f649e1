//! `C = A·G` with G packed once: the Gram engine's one large product per step.
//!
//! G (n×n) is the same at every step of every run on the same samples, yet BLAS repacks it into
//! its panel layout at each call: 13 % of a Gram step with OpenBLAS (profiled with `perf`), as
//! much as all the elementwise work. Here G is packed once, in panels of four vectors' width
//! (32 columns in f64: k rows of 32 contiguous values, zero-padded), and an AVX-512 kernel keeps
//! a 6-row block of C in 24 registers while it runs down k. Each element of C is one chain of fused multiply-adds in the
//! order of k, so the result depends only on the inputs.
//!
//! On processors with AVX-512F, f64 and f32; elsewhere [`Packed::new`] gives `None` and the
//! engine keeps calling BLAS.

use ndarray::ArrayView2;

use super::engine::Parallelism;

/// Rows of C computed together.
const R: usize = 6;

/// The element types with a packed kernel: f64 (8 lanes a vector) and f32 (16).
pub trait Element: Copy + Default + Send + Sync + 'static {
    /// Lanes of one AVX-512 vector; a panel is four vectors wide.
    const LANES: usize;
    #[cfg(target_arch = "x86_64")]
    type V: Copy;
    #[cfg(target_arch = "x86_64")]
    unsafe fn vzero() -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn load(p: *const Self) -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat(v: Self) -> Self::V;
    /// `a·b + c`, fused.
    #[cfg(target_arch = "x86_64")]
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    #[cfg(target_arch = "x86_64")]
    unsafe fn store(p: *mut Self, v: Self::V);
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

impl Element for f64 {
    const LANES: usize = 8;
    #[cfg(target_arch = "x86_64")]
    type V = __m512d;
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn vzero() -> __m512d {
        _mm512_setzero_pd()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(p: *const f64) -> __m512d {
        _mm512_loadu_pd(p)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(v: f64) -> __m512d {
        _mm512_set1_pd(v)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn fmadd(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
        _mm512_fmadd_pd(a, b, c)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store(p: *mut f64, v: __m512d) {
        _mm512_storeu_pd(p, v)
    }
}

impl Element for f32 {
    const LANES: usize = 16;
    #[cfg(target_arch = "x86_64")]
    type V = __m512;
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn vzero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(v: f32) -> __m512 {
        _mm512_set1_ps(v)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, c)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
}

/// G packed for [`Packed::mul`].
#[derive(Debug)]
pub struct Packed<T> {
    k: usize,
    n: usize,
    panels: Vec<T>,
}

impl<T: Element> Packed<T> {
    /// Columns of one panel: four vectors.
    const W: usize = 4 * T::LANES;

    /// Packs `g` (k×n), or `None` where there is no kernel for this processor.
    pub fn new(g: ArrayView2<'_, T>) -> Option<Packed<T>> {
        if !available() {
            return None;
        }
        let w = Self::W;
        let (k, n) = g.dim();
        let count = n.div_ceil(w);
        let mut panels = vec![T::default(); count * k * w];
        for p in 0..count {
            for kk in 0..k {
                for c in 0..w.min(n - p * w) {
                    panels[(p * k + kk) * w + c] = g[[kk, p * w + c]];
                }
            }
        }
        Some(Packed { k, n, panels })
    }

    /// `c ← a·G`, with `a` (m×k) and `c` (m×n) row-major and contiguous; with
    /// `Parallelism::Pool`, panels are split over the caller's rayon pool.
    pub fn mul(&self, a: &[T], c: &mut [T], parallelism: Parallelism) {
        let m = a.len() / self.k.max(1);
        assert_eq!(a.len(), m * self.k);
        assert_eq!(c.len(), m * self.n);
        let out = Out(c.as_mut_ptr());
        let split = parallelism == Parallelism::Pool;
        self.panels(a, m, out, 0..self.n.div_ceil(Self::W), split);
    }

    /// The columns of panels `range`. When told to `split` (the caller is a worker of the
    /// runner's pool), halves go to `join`: at the end of a sweep, workers with no run left take
    /// panels of the runs still going, and while every worker is busy the split costs a few
    /// pushes a step. Each panel is computed by one thread in one fixed order, so which thread
    /// it was changes no bit.
    fn panels(&self, a: &[T], m: usize, out: Out<T>, range: std::ops::Range<usize>, split: bool) {
        if split && range.len() > 2 {
            let mid = range.start + range.len() / 2;
            rayon::join(
                || self.panels(a, m, out, range.start..mid, split),
                || self.panels(a, m, out, mid..range.end, split),
            );
            return;
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Packed` exists only where `available()` said AVX-512F is there; `mul`
        // checked the lengths, and panels write disjoint columns of C.
        unsafe {
            mul_avx512(self, a, m, out.get(), range)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("no packed kernel on this architecture")
    }
}

/// C's storage, shared by the threads that write its panels (disjoint columns).
struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Through a method, so that closures capture the `Out` (which is `Send`), not the pointer.
    fn get(self) -> *mut T {
        self.0
    }
}

impl<T> Clone for Out<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Out<T> {}
// SAFETY: the threads sharing an `Out` write disjoint elements, and `mul` outlives them (join).
unsafe impl<T: Send> Send for Out<T> {}
unsafe impl<T: Send> Sync for Out<T> {}

fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mul_avx512<T: Element>(
    p: &Packed<T>,
    a: &[T],
    m: usize,
    c: *mut T,
    panels: std::ops::Range<usize>,
) {
    let w = Packed::<T>::W;
    for panel in panels {
        let g = &p.panels[panel * p.k * w..(panel + 1) * p.k * w];
        let mut i = 0;
        while i + R <= m {
            block::<T, R>(p, a, i, g, panel, c);
            i += R;
        }
        match m - i {
            1 => block::<T, 1>(p, a, i, g, panel, c),
            2 => block::<T, 2>(p, a, i, g, panel, c),
            3 => block::<T, 3>(p, a, i, g, panel, c),
            4 => block::<T, 4>(p, a, i, g, panel, c),
            5 => block::<T, 5>(p, a, i, g, panel, c),
            _ => {}
        }
    }
}

/// Rows `i..i + ROWS` of C, the columns of one panel: 4·ROWS accumulators in registers.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block<T: Element, const ROWS: usize>(
    p: &Packed<T>,
    a: &[T],
    i: usize,
    g: &[T],
    panel: usize,
    c: *mut T,
) {
    let (k, lanes) = (p.k, T::LANES);
    let w = 4 * lanes;
    let mut acc = [[T::vzero(); 4]; ROWS];
    let ap = a.as_ptr().add(i * k);
    let gp = g.as_ptr();
    for kk in 0..k {
        let gk = gp.add(kk * w);
        let g0 = T::load(gk);
        let g1 = T::load(gk.add(lanes));
        let g2 = T::load(gk.add(2 * lanes));
        let g3 = T::load(gk.add(3 * lanes));
        for (r, acc) in acc.iter_mut().enumerate() {
            let av = T::splat(*ap.add(r * k + kk));
            acc[0] = T::fmadd(av, g0, acc[0]);
            acc[1] = T::fmadd(av, g1, acc[1]);
            acc[2] = T::fmadd(av, g2, acc[2]);
            acc[3] = T::fmadd(av, g3, acc[3]);
        }
    }
    let j = panel * w;
    let width = w.min(p.n - j);
    let mut row = [T::default(); 64];
    for (r, acc) in acc.iter().enumerate() {
        for (q, v) in acc.iter().enumerate() {
            T::store(row.as_mut_ptr().add(q * lanes), *v);
        }
        std::ptr::copy_nonoverlapping(row.as_ptr(), c.add((i + r) * p.n + j), width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn the_packed_product_is_the_product() {
        for (m, k, n) in [(30, 50, 70), (7, 33, 32), (1, 5, 3), (13, 64, 65)] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let g = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 13) % 17) as f64 / 8.0);
            let Some(p) = Packed::new(g.view()) else {
                return; // no AVX-512 here: the engine uses BLAS
            };
            let mut c = vec![f64::NAN; m * n];
            p.mul(a.as_slice().unwrap(), &mut c, Parallelism::Sequential);
            let expect = a.dot(&g);
            // Small integers and eighths: every sum is exact, whatever the order.
            assert_eq!(c, expect.into_raw_vec_and_offset().0, "{m}×{k}×{n}");
            let (a32, g32) = (a.mapv(|v| v as f32), g.mapv(|v| v as f32));
            let p32 = Packed::new(g32.view()).expect("f64 had a kernel");
            let mut c32 = vec![f32::NAN; m * n];
            p32.mul(a32.as_slice().unwrap(), &mut c32, Parallelism::Pool);
            assert_eq!(c32, a32.dot(&g32).into_raw_vec_and_offset().0);
        }
    }
}
